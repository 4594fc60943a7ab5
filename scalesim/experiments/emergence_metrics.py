"""``emergence-metrics``: emergence as a metric artefact (Schaeffer, Miranda & Koyejo 2023).

Two parts, one sweep:

(a) *analytic family* (point ``part="analytic"``, no training): per-token success
``p(N) = exp(-(N/c)^-alpha)`` on a log grid of ``N``; at each ``N`` and target length ``L`` a
finite test set of ``n_test`` sequences of ``L`` independently sampled tokens. Smooth metrics
(token accuracy, token edit distance, Brier) and thresholded ones (exact match, two-option
grade) are measured against the closed forms of :mod:`scalesim.theory.metric_artefacts`. The
exact-match curve is fitted in its linearising coordinate ``log(-log EM) = b + s log N`` by
binomial maximum likelihood over every grid point (those that read 0 below the resolution
``1/n_test`` included, see :mod:`._metric_fits`); the fitted slope, 10-90 % window and ``N_50``
are compared with ``-alpha``, ``ln(ln 10/-ln 0.9)/alpha`` and ``c (L/ln 2)^(1/alpha)``
(bootstrap CIs over test sequences), and ``N_50 ∝ L^(1/alpha)`` across lengths.

(b) *trained ensembles* (points ``part="trained"``, one per width): multitask sparse parity
MLPs (:mod:`scalesim.models.quanta`, trained by :func:`scalesim.engine.train_ensemble`), then
held-out sequences of ``L`` queries drawn from the Zipf mixture. Exact match (sampled and
greedy), greedy edit distance and Brier measured on the sequences are compared with their
prediction from per-token statistics of a separate calibration set: ``(E p)^L``, ``q^L``,
``L (1 - q)``, ``E 2 (1 - p)^2`` (within ``z_max`` standard errors; binomial SE at the
prediction combined with the prediction's own SE). In part (a) the per-grid-point checks of exact
match and edit distance are exact binomial tests, Bonferroni-corrected over the grid and reported
as the equivalent normal deviate (so ``z_max = 4`` is a family-wise false-alarm rate of 6e-5). At the quick size (widths 8-64, 2000 steps)
the trained part shows the amplification, not a sharp jump: the greedy token accuracy rises by a
factor ~1.2 over the widths while the ``L = 16`` exact match rises ~8-fold, as ``q^L`` says; the
sharp, "emergent" looking rise is shown by the analytic family's wide range of ``N``.
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from ..engine import geometric_steps, train_ensemble, warn_diverged
from ..fit.records import comparison
from ..preflight import Cost, ensemble_cost
from ..rng import root_key, stream
from ..stats import binomial_pvalue, normal_quantile, percentile_ci, resample_indices
from ..theory import metric_artefacts as theory
from ..validate import MAX_STEPS, check_choice, check_int, check_positive_ints, check_range, check_resamples, \
    check_seed, check_tolerance, check_unique
from . import _metric_plots
from ._metric_fits import loglog_mle_many, start_wls
from ._metric_trained import evaluate_members, trained_records
from .base import Experiment

__all__ = ["Settings", "Point", "EXPERIMENT"]


@dataclasses.dataclass(frozen=True)
class Settings:
    """Knobs of ``emergence-metrics`` (each settable with ``--set key=value``)."""

    alpha: float = 0.5  # per-token CE exponent of the analytic family, l(N) = (N/c)^-alpha
    c: float = 100.0  # scale of N in l(N)
    lengths: tuple[int, ...] = (1, 4, 16)  # target lengths L (tokens per sequence)
    n_min: float = 1.0  # smallest N of the analytic grid
    n_max: float = 1e8  # largest N of the analytic grid
    n_grid: int = 41  # log-spaced grid points
    n_test: int = 2000  # test sequences per grid point (analytic) and per member (trained)
    n_boot: int = 1000  # bootstrap resamples over test sequences
    rtol: float = 0.02  # stated relative systematic tolerance on fitted slope, window, N_50
    z_max: float = 4.0  # "agrees" means within z_max standard errors (grid-corrected in part (a); per width in (b))
    widths: tuple[int, ...] = (8, 16, 32, 128)  # MLP widths of the trained part (one compiled program each)
    seeds: int = 2  # ensemble members per width
    steps: int = 3000  # Adam steps
    batch: int = 1024  # batch size
    lr: float = 1e-3  # Adam learning rate
    n_tasks: int = 24  # subtasks (quanta)
    n_bits: int = 24  # task bits
    k: int = 2  # bits per parity
    zipf_alpha: float = 0.5  # the quanta Zipf exponent (subtask i has frequency ∝ i^-(alpha+1))
    n_cal: int = 20000  # calibration queries per member (per-token statistics)
    seed: int = 0  # root PRNG seed

    def __post_init__(self):
        check_range("alpha", self.alpha, 0.0, 10.0, lo_open=True)
        check_range("c", self.c, 0.0, 1e12, lo_open=True)
        check_positive_ints("lengths", self.lengths, 4096)
        check_unique("lengths", self.lengths)
        check_range("n_min", self.n_min, 0.0, 1e15, lo_open=True)
        check_range("n_max", self.n_max, 0.0, 1e15, lo_open=True)
        if not self.n_max > self.n_min:
            raise ValueError(f"n_max must be > n_min={self.n_min}; got {self.n_max}")
        check_int("n_grid", self.n_grid, 4, 1000)
        check_int("n_test", self.n_test, 1, 10**6)
        check_resamples("n_boot", self.n_boot, 10)
        check_tolerance("rtol", self.rtol)
        check_range("z_max", self.z_max, 1.0, 10.0)
        check_positive_ints("widths", self.widths, 65536)
        check_unique("widths", self.widths)
        check_int("seeds", self.seeds, 1, 4096)
        check_positive_ints("steps", self.steps, MAX_STEPS)
        check_int("batch", self.batch, 1, 10**6)
        check_range("lr", self.lr, 0.0, 1.0, lo_open=True)
        check_int("n_tasks", self.n_tasks, 1, 4096)
        check_int("n_bits", self.n_bits, 1, 4096)
        check_int("k", self.k, 1, self.n_bits)
        if math.comb(self.n_bits, self.k) < self.n_tasks:
            raise ValueError(f"n_tasks must be <= C(n_bits, k) = {math.comb(self.n_bits, self.k)}; got {self.n_tasks}")
        check_range("zipf_alpha", self.zipf_alpha, 0.0, 10.0, lo_open=True)
        check_int("n_cal", self.n_cal, 2, 10**7)
        check_seed("seed", self.seed)


@dataclasses.dataclass(frozen=True)
class Point:
    part: str  # "analytic" or "trained"
    width: int  # MLP width (trained); 0 for the analytic family

    def __post_init__(self):
        check_choice("part", self.part, ("analytic", "trained"))
        check_int("width", self.width, 0 if self.part == "analytic" else 1, 65536)


def settings(quick: bool) -> Settings:
    if quick:
        return Settings(n_boot=400, widths=(8, 16, 64), steps=2000)
    return Settings(n_test=10000, widths=(4, 8, 16, 32, 64, 128, 256), seeds=4, steps=6000, n_cal=100000)


def sweep(s: Settings) -> list[Point]:
    return [Point("analytic", 0)] + [Point("trained", w) for w in s.widths]


def n_grid(s: Settings) -> np.ndarray:
    """The analytic family's grid of ``N`` (log-spaced, float64)."""
    return np.geomspace(s.n_min, s.n_max, s.n_grid)


def _run_analytic(s: Settings):
    grid = n_grid(s)
    p = np.asarray(theory.token_prob(grid, alpha=s.alpha, c=s.c), float)
    counts = []
    for j, L in enumerate(s.lengths):  # correct tokens per sequence: [n_grid, n_test]
        rng = np.random.default_rng([s.seed, 1, j])  # one stream per (seed, part, length)
        counts.append((rng.random((s.n_grid, s.n_test, L)) < p[:, None, None]).sum(-1).astype(np.int32))
    metrics = {"part": "analytic", "lengths": list(s.lengths)}
    return metrics, {"n": grid, "p": p, "correct": np.stack(counts)}


def run_point(pt: Point, s: Settings):
    if pt.part == "analytic":
        return _run_analytic(s)
    from ..models import quanta

    cfg = quanta.Config(n_tasks=s.n_tasks, n_bits=s.n_bits, k=s.k, alpha=s.zipf_alpha, width=pt.width, n_eval=64)
    hyper = quanta.make_hyper(np.full(s.seeds, s.lr))
    rec = geometric_steps(s.steps, 12)
    t0 = time.perf_counter()
    res = train_ensemble(quanta.MODEL, cfg, hyper, quanta.adam, key=root_key(s.seed), steps=s.steps,
                         batch_size=s.batch, record_steps=rec)
    wall = time.perf_counter() - t0
    ev = evaluate_members(res.params, cfg, stream(root_key(s.seed), "heldout"), res.member_ids,
                          s.n_cal, s.n_test, max(s.lengths))
    arrays = {"steps": rec, "loss_bits": res.metrics["loss_bits"], "acc": res.metrics["acc"],
              "diverged": res.diverged, "member_ids": res.member_ids, **ev}
    metrics = {"part": "trained", "width": pt.width, "n_params": int(quanta.n_params(pt.width, s.n_tasks, s.n_bits)),
               "train_seconds": wall, "diverged": int(res.diverged.sum())}
    return metrics, arrays


# ---------------------------------------------------------------- summaries of part (a)

def _fit_boot(logn, per_seq, trials, idx):
    """MLE ``(b, s)`` of the counts ``per_seq.sum(1)`` (``per_seq [G, n]``: successes of each
    test sequence) and of each bootstrap resample ``idx [R, n]`` of the sequences, in one call."""
    full = per_seq.sum(1)
    ks = np.concatenate([full[None, :], np.stack([per_seq[:, i].sum(1) for i in idx])])
    theta0 = start_wls(logn, full, trials)
    if not np.all(np.isfinite(theta0)):  # fewer than two resolved grid points
        return theta0, np.full((len(idx), 2), np.nan)
    out = loglog_mle_many(logn, ks, trials, theta0)
    return out[0], out[1:]


def _log_n50(theta):
    return (np.log(np.log(2.0)) - theta[..., 0]) / theta[..., 1]


def _grid_z(k, n, prob):
    """Grid-corrected exact binomial check of counts ``k`` of ``n`` against ``prob`` at every grid
    point: the smallest two-sided exact p-value times the number of points (Bonferroni), as the
    equivalent two-sided normal deviate ``z = -Phi^-1(p_adj / 2)`` (0 when ``p_adj = 1``, inf when
    it underflows to 0)."""
    p_adj = min(1.0, float(np.min(binomial_pvalue(k, n, prob))) * np.size(k))
    if p_adj >= 1.0:
        return 0.0
    return -normal_quantile(p_adj / 2) if p_adj > 0 else float("inf")


def analytic_records(run, s: Settings) -> list[dict]:
    A = run.arrays
    grid, p = A["n"], A["p"]
    logn = np.log(grid)
    n = s.n_test
    records, n50_boot, n50_est = [], [], []
    for j, L in enumerate(s.lengths):
        correct = A["correct"][j]  # [n_grid, n_test]
        em_seq = correct == L
        k = em_seq.sum(1)
        th = theory.exponents(alpha=s.alpha, c=s.c, length=float(L))
        em_th = np.asarray(theory.exact_match(grid, alpha=s.alpha, c=s.c, length=L))
        idx = resample_indices(n, s.n_boot, s.seed + j)  # the same resamples for both fits of this L
        theta, boot = _fit_boot(logn, em_seq, n, idx)
        zeros = int((k == 0).sum())
        lab = f"L={L}"
        extra = {"length": L, "reads_zero": zeros, "expected_zero_reads": float(np.sum((1 - em_th) ** n))}
        slope_ci = percentile_ci(boot[:, 1])
        records.append(comparison(f"loglog_slope[{lab}]", theta[1], slope_ci, th["loglog_slope"],
                                  tol=s.rtol * s.alpha, fit="binomial MLE, every grid point",
                                  intercept=float(theta[0]), **extra))
        width = np.log(np.log(10.0) / -np.log(0.9)) / np.abs(boot[:, 1])
        records.append(comparison(f"window_10_90[{lab}]", np.log(np.log(10.0) / -np.log(0.9)) / abs(theta[1]),
                                  percentile_ci(width), th["window_10_90"], tol=s.rtol * th["window_10_90"].value,
                                  length=L, units="ln N"))
        ln50 = _log_n50(theta)
        n50_est.append(ln50)
        n50_boot.append(_log_n50(boot))
        records.append(comparison(f"log_n50[{lab}]", ln50, percentile_ci(n50_boot[-1]), th["log_n50"],
                                  tol=s.rtol * th["window_10_90"].value, length=L, units="ln N"))
        records.append(comparison(f"em_grid_z[{lab}]", _grid_z(k, n, em_th), None, 0.0, tol=s.z_max, length=L,
                                  check="exact binomial test of exact match vs exp(-L (N/c)^-alpha) at every grid "
                                        "point, Bonferroni over the grid, as a normal deviate <= z_max",
                                  reads_zero=zeros))
        tok_k = correct.sum(1)  # correct tokens of n L at each N: the smooth counterpart
        records.append(comparison(f"edit_grid_z[{lab}]", _grid_z(tok_k, n * L, p), None, 0.0, tol=s.z_max, length=L,
                                  check="exact binomial test of correct tokens (mean edit distance L (1 - p(N))) at "
                                        "every grid point, Bonferroni over the grid, as a normal deviate <= z_max"))
        tok_theta, tok_boot = _fit_boot(logn, correct, n * L, idx)  # -log(token acc) = (N/c)^-alpha
        records.append(comparison(f"token_loss_exponent[{lab}]", -tok_theta[1], percentile_ci(-tok_boot[:, 1]),
                                  th["token_loss_exponent"], tol=s.rtol * s.alpha, length=L,
                                  fit="binomial MLE of token accuracy = exp(-(N/c)^-alpha)"))
    if len(s.lengths) >= 2:
        logl = np.log(np.asarray(s.lengths, float))
        est = np.polyfit(logl, np.asarray(n50_est), 1)[0]
        bs = np.asarray([np.polyfit(logl, col, 1)[0] if np.all(np.isfinite(col)) else np.nan
                         for col in np.stack(n50_boot, 1)])
        records.append(comparison("n50_length_exponent", est, percentile_ci(bs),
                                  theory.exponents(alpha=s.alpha)["n50_length_exponent"], tol=s.rtol / s.alpha,
                                  lengths=list(s.lengths)))
    mc = np.asarray(theory.mc_grade_two_option(p)) > 0.5  # two-option grade of the model's probabilities
    jump = int(np.argmax(mc)) if mc.any() and not mc[0] else -1
    if jump > 0:
        lo, hi = float(logn[jump - 1]), float(logn[jump])
        records.append(comparison("log_mc_threshold", 0.5 * (lo + hi), (lo, hi),
                                  theory.exponents(alpha=s.alpha, c=s.c)["log_mc_threshold"], units="ln N",
                                  note="grade 1[p > 1/2] jumps between two grid points (CI = that interval)"))
    return records


def summarize(runs, s: Settings) -> list[dict]:
    records = []
    for r in runs:
        if r.metrics["part"] == "analytic":
            records += analytic_records(r, s)
    trained = sorted((r for r in runs if r.metrics["part"] == "trained"), key=lambda r: r.metrics["width"])
    for r in trained:
        ok = warn_diverged(r.arrays["diverged"].astype(bool), r.arrays["member_ids"], f"width={r.metrics['width']}")
        records += trained_records(r, ok, s)
    return records


def plot(runs, s: Settings, records: list[dict]):
    return _metric_plots.plot(runs, s, records)


def cost(pt: Point, s: Settings) -> Cost:
    """Pre-flight estimate: the analytic token draws, or the MLP ensemble (params, Adam state,
    a batch of activations) plus the held-out evaluation."""
    if pt.part == "analytic":
        vals = len(s.lengths) * s.n_grid * s.n_test * max(s.lengths)
        return ensemble_cost(1, 0, 2 * vals, 4 * vals, 0)
    n_in = s.n_tasks + s.n_bits
    params = (n_in + 1) * pt.width + 2 * (pt.width + 1)
    evals = s.n_cal + s.n_test * max(s.lengths)
    member = 4 * params + s.batch * (n_in + pt.width + 2) + evals * (n_in + pt.width + 4)
    flops = s.seeds * (6 * s.steps * s.batch * params + 2 * evals * params)
    return ensemble_cost(s.seeds, member, 0, flops, params + 4 * evals)


EXPERIMENT = Experiment(
    name="emergence-metrics",
    description="Emergence as a metric artefact: exact match vs smooth per-token metrics, analytic and trained "
                "(Schaeffer et al. 2023; Hu et al. 2024).",
    settings=settings,
    sweep=sweep,
    run_point=run_point,
    summarize=summarize,
    plot=plot,
    theory=(theory,),
    papers=("schaeffer2023mirage", "hu2024passuntil", "michaud2023quantization"),
    cost=cost,
)
