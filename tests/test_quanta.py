"""Multitask sparse parity (Michaud et al. 2023): generator, parameter count, theory, experiment."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scalesim.models import quanta as q


def _h0(n_train=0, data_seed=0):
    return jax.tree.map(lambda x: x[0], q.make_hyper(1e-3, n_train, data_seed))


# ----------------------------------------------------------------------------------- generator
def test_generator_frequencies_labels_one_hot():
    cfg = q.Config(n_tasks=12, n_bits=40, k=3, alpha=0.6)
    n = 200_000
    x, y, task = jax.jit(lambda k: q.sample(k, cfg, _h0(), n))(jax.random.PRNGKey(3))
    x, y, task = np.asarray(x), np.asarray(y), np.asarray(task)
    control, bits = x[:, :cfg.n_tasks], x[:, cfg.n_tasks:]
    # one-hot control bits naming the subtask
    np.testing.assert_array_equal(control.sum(1), 1.0)
    np.testing.assert_array_equal(control.argmax(1), task)
    assert set(np.unique(bits)) <= {0.0, 1.0}
    # labels: parity of the subtask's bits, exactly
    sub = q.subsets(cfg)
    want = bits[np.arange(n)[:, None], sub[task]].sum(1) % 2
    np.testing.assert_array_equal(y, want)
    # subtask frequencies vs p_k: chi-square goodness of fit (p > 1e-3)
    from scipy.stats import chisquare

    counts = np.bincount(task, minlength=cfg.n_tasks)
    p = q.frequencies(cfg)
    assert chisquare(counts, n * p).pvalue > 1e-3
    # task bits fair and independent of the subtask
    assert abs(bits.mean() - 0.5) < 4 * 0.5 / math.sqrt(bits.size)
    assert abs(y.mean() - 0.5) < 4 * 0.5 / math.sqrt(n)


def test_subsets_distinct_deterministic_and_frequencies():
    cfg = q.Config(n_tasks=40, n_bits=10, k=3, task_seed=7)
    s = q.subsets(cfg)
    assert s.shape == (40, 3) and len({tuple(r) for r in s}) == 40
    assert np.all(np.diff(s, axis=1) > 0) and s.max() < 10
    np.testing.assert_array_equal(s, q.subsets(q.Config(n_tasks=40, n_bits=10, k=3, task_seed=7)))
    assert not np.array_equal(s, q.subsets(q.Config(n_tasks=40, n_bits=10, k=3, task_seed=8)))
    p = q.frequencies(cfg)
    np.testing.assert_allclose(p.sum(), 1.0, rtol=1e-14)
    np.testing.assert_allclose(p[1:] / p[:-1], (np.arange(2, 41) / np.arange(1, 40)) ** -1.5, rtol=1e-12)


def test_data_limited_mode_repeats_examples():
    """n_train = D: every batch is drawn from the same D examples (a function of data seed and index)."""
    cfg = q.Config(n_tasks=6, n_bits=12, k=2)
    f = jax.jit(lambda k, h: q.sample(k, cfg, h, 256))
    rows = lambda h, s: {tuple(r) for r in np.asarray(f(jax.random.PRNGKey(s), h)[0]).astype(int)}
    h = _h0(n_train=5, data_seed=2)
    seen = set().union(*(rows(h, s) for s in range(4)))
    assert len(seen) <= 5
    assert seen != set().union(*(rows(_h0(n_train=5, data_seed=3), s) for s in range(4)))
    assert len(rows(_h0(), 0)) > 200  # online: fresh examples


def test_eval_probs_shapes_and_metrics_consistent():
    cfg = q.Config(n_tasks=5, n_bits=8, k=2, width=16, n_eval=64)
    params = q.init(jax.random.PRNGKey(0), cfg, _h0())
    p, task = q.eval_probs(params, cfg)
    assert p.shape == (5, 64) and np.all((np.asarray(p) > 0) & (np.asarray(p) < 1))
    np.testing.assert_array_equal(np.asarray(task), np.repeat(np.arange(5), 64).reshape(5, 64))
    m = q.metrics(params, cfg, _h0())
    sub = np.array([float(m[f"sub_loss_{i:03d}"]) for i in range(5)])
    np.testing.assert_allclose(sub, -np.log2(np.asarray(p, float)).mean(1), rtol=1e-5)
    np.testing.assert_allclose(float(m["loss_bits"]), np.sum(q.frequencies(cfg) * sub), rtol=1e-5)


def test_param_count_exact_and_torch_init():
    for w in (1, 7, 128):
        cfg = q.Config(n_tasks=9, n_bits=11, k=2, width=w)
        params = q.init(jax.random.PRNGKey(0), cfg, _h0())
        assert sum(x.size for x in jax.tree.leaves(params)) == q.n_params(w, 9, 11)
    cfg = q.Config(n_tasks=9, n_bits=11, k=2, width=300)
    params = q.init(jax.random.PRNGKey(1), cfg, _h0())
    for name, fan in (("W1", 20), ("b1", 20), ("W2", 300), ("b2", 300)):
        a = np.abs(np.asarray(params[name]))
        assert a.max() <= 1 / math.sqrt(fan) and a.max() > 0.5 / math.sqrt(fan)


@pytest.mark.parametrize("kw,field", [
    (dict(n_bits=4, k=5), "k"),
    (dict(alpha=0.0), "alpha"),
    (dict(alpha=-1.0), "alpha"),
    (dict(n_tasks=11, n_bits=5, k=2), "n_tasks"),  # C(5, 2) = 10 distinct subsets
    (dict(width=0), "width"),
    (dict(n_tasks=0), "n_tasks"),
    (dict(dtype="float16"), "dtype"),
])
def test_invalid_config_names_field(kw, field):
    with pytest.raises(ValueError, match=field):
        q.Config(**kw)


def test_invalid_hyper_names_field():
    with pytest.raises(ValueError, match="lr"):
        q.make_hyper(-1.0)
    with pytest.raises(ValueError, match="n_train"):
        q.make_hyper(1e-3, -3)
    with pytest.raises(ValueError, match="n_train"):
        q.make_hyper(1e-3, 2.5)


# ------------------------------------------------------------------------------------------ theory
from scalesim.theory import quanta as th  # noqa: E402


def test_theory_frequencies_match_model():
    cfg = q.Config(n_tasks=30, n_bits=12, k=2, alpha=0.7)
    np.testing.assert_allclose(np.asarray(th.frequencies(30, 0.7)), q.frequencies(cfg), rtol=1e-14)


@pytest.mark.parametrize("n", [0, 1, 5, 17, 30])
def test_oracle_learner_loss_is_exact(n):
    """A learner perfect on the n most frequent subtasks and at chance elsewhere has loss L(n) bits."""
    cfg = q.Config(n_tasks=30, n_bits=12, k=2, alpha=0.7, n_eval=50)
    x, y, task = q.eval_set(cfg, dtype="float64")
    y, task = np.asarray(y), np.asarray(task)
    p_correct = np.where(task < n, 1.0, 0.5)  # oracle: certain on learned subtasks, 1/2 elsewhere
    sub = np.array([np.mean(-np.log2(p_correct[task == i])) for i in range(30)])
    measured = float(np.sum(q.frequencies(cfg) * sub))
    assert abs(measured - float(th.loss_learned(n, 30, 0.7))) < 1e-12


def test_loss_learned_tail_and_local_slope():
    a, nt = 0.5, 10**7
    n = np.array([10, 100, 1000])
    L = np.asarray(th.loss_learned(n, 10**4, a))
    p = np.asarray(th.frequencies(10**4, a))
    np.testing.assert_allclose(L, [p[m:].sum() for m in n], rtol=1e-12)
    # local slope -> alpha for 1 << n << n_tasks (finite-size flattening near n_tasks)
    assert abs(float(th.local_slope(300.0, nt, a)) - a) < 0.01
    assert float(th.local_slope(9000.0, 10**4, a)) > 2 * a
    g = jax.grad(lambda al: th.loss_learned(5.0, 50, al))(0.5)  # differentiable in alpha
    assert np.isfinite(g) and g < 0


def test_threshold_learner_n_of_D_slope():
    """Subtask k learned once its count in a training set of D reaches tau: E[n(D)] slope 1/(alpha+1)."""
    alpha, n_tasks, tau = 0.5, 2000, 20
    p = np.asarray(th.frequencies(n_tasks, alpha))
    rng = np.random.default_rng(0)
    D = np.geomspace(2e4, 3e6, 8)
    draws = np.array([[np.sum(rng.poisson(d * p) >= tau) for d in D] for _ in range(64)], float)  # [draws, D]
    mean = draws.mean(0)
    win = (mean >= 10) & (mean <= n_tasks / 3)
    assert win.sum() >= 4
    slope = lambda y: np.polyfit(np.log(D[win]), np.log(y[win]), 1)[0]
    boot = [slope(draws[rng.integers(0, 64, 64)].mean(0)) for _ in range(200)]
    lo, hi = np.percentile(boot, [2.5, 97.5])
    want = float(th.exponents(alpha)["n_D"].value)
    assert abs(slope(mean) - want) < 0.03 and lo - 0.03 <= want <= hi + 0.03
    # the deterministic threshold count and its continuous form agree to within one quantum
    nd = np.asarray(th.n_learned_threshold(D, tau, n_tasks, alpha))
    nc = np.asarray(th.n_learned_continuous(D, tau, n_tasks, alpha))
    assert np.all(np.abs(nd - nc) <= 1.0)


def test_exponents_and_nam_curve():
    e = th.exponents(alpha=0.4, n_tasks=100)
    assert e["alpha_N"].value == pytest.approx(0.4)
    for name in ("alpha_D", "alpha_S"):
        assert e[name].value == pytest.approx(0.4 / 1.4)
    assert e["n_D"].value == pytest.approx(1 / 1.4) and e["order_rho"].value == 1.0
    with pytest.raises(ValueError, match="alpha"):
        th.exponents(alpha=0.0)
    # NAM Eq. 11: sigmoid from R0/S to 1, half-way at t = log(S/R0 - 1) / (2 eta p S)
    p_k, r0 = 0.1, 1e-3
    t_half = np.log(1 / r0 - 1) / (2 * p_k)
    np.testing.assert_allclose(float(th.nam_skill_curve(t_half, p_k, R0=r0)), 0.5, rtol=1e-12)
    np.testing.assert_allclose(float(th.nam_skill_curve(0.0, p_k, R0=r0)), r0, rtol=1e-12)


# -------------------------------------------------------------------------------------- experiment
def test_experiment_helpers():
    from scalesim.experiments.quanta_scaling import learn_steps, spearman

    steps = np.array([0, 10, 100])
    L = np.array([[1.0, 1.0, 1.0], [0.05, 1.0, 1.0], [0.0, 0.05, 1.0]])  # [T, n_tasks]
    np.testing.assert_array_equal(learn_steps(L, steps, 0.1), [10, 100, np.inf])
    assert spearman([1, 2, 3, 4], [5, 6, 7, 9]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [9, 7, 6, 5]) == pytest.approx(-1.0)


def test_invalid_settings_name_field():
    from scalesim.experiments.quanta_scaling import Settings

    with pytest.raises(ValueError, match="k"):
        Settings(n_bits=3, k=4)
    with pytest.raises(ValueError, match="n_tasks"):
        Settings(n_tasks=40, n_bits=6, k=2)
    with pytest.raises(ValueError, match="seeds"):
        Settings(seeds=1)


@pytest.mark.slow
def test_quick_experiment_records_agree(tmp_path):
    from scalesim.experiments import REGISTRY, run_experiment

    records = run_experiment(REGISTRY["quanta-scaling"], tmp_path, quick=True, progress=False, stream=None)
    assert len(records) == 3 and all(r["agrees"] for r in records), records


def _synthetic_width_run(width, s, n_final, rng):
    """A stored online run whose members learn quanta 1..n (frequency order) at geometric steps."""
    from scalesim.models import quanta as qm
    from scalesim.store import Run

    steps = np.geomspace(1, s.steps, 12).astype(int)
    sub = np.ones((s.seeds, steps.size, s.n_tasks))
    for m in range(s.seeds):
        n = int(round(n_final * np.exp(0.05 * rng.standard_normal())))
        for k in range(min(n, s.n_tasks)):
            sub[m, steps >= s.steps * ((k + 1) / max(n, 1)) ** 2, k] = 0.01
    metrics = {"width": width, "data_limited": False, "params": int(qm.n_params(width, s.n_tasks, s.n_bits))}
    arrays = {"steps": steps, "sub_loss": sub, "diverged": np.zeros(s.seeds, bool),
              "loss_bits": sub.mean(-1), "n_train": np.zeros(s.seeds, int), "seed": np.arange(s.seeds)}
    return Run({}, metrics, arrays, None)


def test_parameter_count_record_recovers_linear_capacity():
    """n_N: counts ∝ parameters (n = N / C) give an exponent 1 within the CI; a width whose count
    stays below n_tasks/3 gets no n_S record and is named in n_N's no_n_S_fit; one that learns
    fewer than 3 quanta gets no order record."""
    from scalesim.experiments.quanta_scaling import Settings, summarize

    s = Settings(n_tasks=48, widths=(2, 8, 24, 40), seeds=4, train_sizes=(), n_boot=200)
    rng = np.random.default_rng(0)
    runs = [_synthetic_width_run(w, s, 1.0 * w, rng) for w in s.widths]
    recs = {r["quantity"]: r for r in summarize(runs, s)}
    n_n = recs["n_N"]
    assert abs(n_n["measured"] - 1.0) < 0.1 and n_n["agrees"], n_n
    assert n_n["theory_ref"]["name"] == "n_N" and n_n["theory"] == 1.0
    assert n_n["no_n_S_fit"] == [2, 8] and "n_S[w=2]" not in recs and "n_S[w=40]" in recs
    # two quanta give no rank correlation: no order record for that width, its loss accounting stays
    assert "order_rho[w=2]" not in recs and "loss_accounting_bits[w=2]" in recs and "order_rho[w=8]" in recs
    # fewer than 3 widths: no parameter record at all
    assert "n_N" not in {r["quantity"] for r in summarize(runs[:2], s)}
