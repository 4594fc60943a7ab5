"""Sequence metrics of trained multitask-sparse-parity ensembles vs per-token predictions.

Per member: a *calibration* set of ``n_cal`` queries from the Zipf mixture gives the per-token
statistics (mean probability of the correct label ``E p``, greedy accuracy ``q = P(p > 1/2)``,
mean Brier ``E 2 (1 - p)^2``); an independent *test* set of ``n_test`` sequences of ``L``
queries gives the sequence metrics. Predictions (Schaeffer et al. 2023, Sec. 2, for independent
tokens; :mod:`scalesim.theory.metric_artefacts`): sampled exact match ``(E p)^L``, greedy exact
match ``q^L``, greedy edit distance ``L (1 - q)``, Brier per token unchanged.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from ..fit.records import comparison, diverged_note
from ..stats import normal_quantile
from ..theory import metric_artefacts as theory

__all__ = ["evaluate_members", "trained_records", "sequence_stats"]


@functools.lru_cache(maxsize=16)
def _evaluator(cfg, n_cal: int, n_test: int, max_len: int):
    """One compiled program per (config, sizes): ``(params [M], key, member_ids [M]) -> arrays``."""
    from ..models import quanta

    def probs(prm, k, count):
        x, y, _ = quanta.generate(jax.random.split(k, count), cfg)
        logp = jax.nn.log_softmax(quanta.mlp(prm, x.astype(prm["W1"].dtype)), axis=-1)
        return jnp.exp(jnp.take_along_axis(logp, y[:, None], axis=1)[:, 0])

    def one(prm, key, mid):
        kc, kt, ks = jax.random.split(jax.random.fold_in(key, mid), 3)
        p_test = probs(prm, kt, n_test * max_len).reshape(n_test, max_len)
        sampled = jax.random.uniform(ks, (n_test, max_len), p_test.dtype) < p_test
        return probs(prm, kc, n_cal), p_test, sampled

    return jax.jit(jax.vmap(one, in_axes=(0, None, 0)))


def evaluate_members(params, cfg, key, member_ids, n_cal: int, n_test: int, max_len: int) -> dict:
    """Probabilities of the correct label on fresh Zipf-mixture queries, per member.

    Args:
      params: ensemble parameters (leading member axis). cfg: the quanta ``Config``.
      key: the held-out stream; member ``i`` uses ``fold_in(key, member_ids[i])``.
      member_ids: ``[M]`` ints. n_cal: calibration queries. n_test: test sequences.
      max_len: queries per test sequence (the longest ``L``).

    Returns:
      ``{"p_cal": [M, n_cal], "p_test": [M, n_test, max_len], "sampled": [M, n_test, max_len]}``:
      probabilities (float32) and whether a token sampled from the model is correct (bool).
    """
    fn = _evaluator(cfg, int(n_cal), int(n_test), int(max_len))
    p_cal, p_test, sampled = fn(params, key, jnp.asarray(member_ids))
    return {"p_cal": np.asarray(p_cal, np.float32), "p_test": np.asarray(p_test, np.float32),
            "sampled": np.asarray(sampled, bool)}


def sequence_stats(p_cal, p_test, sampled, length: int) -> dict:
    """Measured sequence metrics and their per-token predictions, each with a standard error.

    Args:
      p_cal: ``[M, n_cal]`` calibration probabilities. p_test: ``[M, n, >= L]``. sampled: same shape.
      length: ``L``.

    Returns:
      metric -> ``(measured, predicted, se_measured, se_predicted)`` (member means), for
      ``em_sampled``, ``em_greedy``, ``edit_greedy``, ``brier``. Standard errors: binomial (or
      sample) variance at the *prediction* over the test set, delta method over the calibration
      set.
    """
    L = int(length)
    p_cal = np.asarray(p_cal, float)
    pt, sm = np.asarray(p_test, float)[:, :, :L], np.asarray(sampled, bool)[:, :, :L]
    m, n = pt.shape[0], pt.shape[1]
    ncal = p_cal.shape[1]
    greedy = pt > 0.5
    mu, q = p_cal.mean(1), (p_cal > 0.5).mean(1)
    em_s = np.asarray(theory.em_sampling(mu, L))
    em_g = np.asarray(theory.em_greedy(q, L))
    ed = np.asarray(theory.edit_greedy(q, L))
    b_cal = np.asarray(theory.brier_two_option(p_cal))
    b_test = np.asarray(theory.brier_two_option(pt)).reshape(m, -1)

    def pooled(v):  # SE of a mean over members of independent per-member estimates
        return float(np.sqrt(np.sum(v)) / m)

    out = {
        "em_sampled": (sm.all(-1).mean(), em_s.mean(), pooled(em_s * (1 - em_s) / n),
                       pooled((L * mu ** (L - 1)) ** 2 * p_cal.var(1) / ncal)),
        "em_greedy": (greedy.all(-1).mean(), em_g.mean(), pooled(em_g * (1 - em_g) / n),
                      pooled((L * q ** (L - 1)) ** 2 * q * (1 - q) / ncal)),
        "edit_greedy": ((L - greedy.sum(-1)).mean(), ed.mean(), pooled(L * q * (1 - q) / n),
                        pooled(L ** 2 * q * (1 - q) / ncal)),
        "brier": (b_test.mean(), b_cal.mean(), pooled(b_cal.var(1) / (n * L)), pooled(b_cal.var(1) / ncal)),
    }
    return {k: tuple(float(x) for x in v) for k, v in out.items()}


def _z_record(name, measured, predicted, se_m, se_p, z_max, **extra) -> dict:
    """Agrees iff ``|measured - predicted| <= z_max * sqrt(se_m^2 + se_p^2)``; CI = +-1.96 SE."""
    se = float(np.hypot(se_m, se_p))
    half = normal_quantile(0.975) * se
    z = abs(measured - predicted) / se if se > 0 else (0.0 if measured == predicted else float("inf"))
    return comparison(name, measured, (measured - half, measured + half), predicted, tol=max(z_max * se - half, 0.0),
                      z=float(z), se_measured=se_m, se_prediction=se_p, **extra)


_WHAT = {
    "em_sampled": "exact match of sampled tokens vs (E p)^L",
    "em_greedy": "greedy exact match vs q^L",
    "edit_greedy": "greedy token edit distance vs L (1 - q)",
    "brier": "per-token Brier 2 (1 - p)^2 on sequences vs calibration mean",
}


def trained_records(run, ok, s) -> list[dict]:
    """The records of one width: every metric of :func:`sequence_stats` at every ``L`` of ``s.lengths``."""
    A, w, n_par = run.arrays, run.metrics["width"], run.metrics["n_params"]
    recs = []
    for L in s.lengths:
        if ok.sum() < 1:
            note = diverged_note(len(ok), len(ok))
            recs += [comparison(f"{k}[w={w} L={L}]", float("nan"), None, float("nan"), note=note) for k in _WHAT]
            continue
        stats = sequence_stats(A["p_cal"][ok], A["p_test"][ok], A["sampled"][ok], L)
        for k, (meas, pred, se_m, se_p) in stats.items():
            recs.append(_z_record(f"{k}[w={w} L={L}]", meas, pred, se_m, se_p, s.z_max, width=w, n_params=n_par,
                                  length=L, members=int(ok.sum()), check=_WHAT[k]))
    return recs
