"""``pass-at-k``: pass@k power laws of a scaled-Beta benchmark and PassUntil (sampling laws).

Simulator :mod:`scalesim.models.sampling`: per member a benchmark of P problems with rates
p = c Beta(a, b), n samples each, graded with the unbiased Chen estimator (Chen et al. 2021,
Eq. 1); and Q PassUntil runs (Hu et al. 2024) at tiny rates. Members are Beta shapes x PassUntil
rates x seeds in one compiled program; a shape's statistics pool all members of that shape
(independent benchmark draws), a rate's pool all members of that rate.

Records (every interval is the estimate +- ``n_se`` standard errors; with ~20 records a 95 %
interval would miss somewhere in most runs):

- ``pass_at_k[shape, k]`` at the first, middle and last k of the grid: Monte Carlo mean over
  problems vs the exact pass_D@k (:func:`scalesim.theory.sampling.pass_at_k`); bootstrap over
  PROBLEMS (not over k: estimates at different k share samples).
- ``passk_window_slope[shape]``: least-squares slope of log(-log pass@k) vs log k over the window
  [window_lo n, n] of the grid, vs the slope of the EXACT curve at the same ks. This is the
  finite-window exponent; the asymptotic exponent a (Schaeffer et al. 2025, Thm 3.1) is reached
  only at far larger k, so the record also carries a and the exact local slope at k = n.
- ``beta_binomial_a[shape]`` (shapes with c = 1 only): the Beta-binomial MLE a-hat
  (:func:`scalesim.fit.curves.fit_beta_binomial`) of each member's counts, mean over members,
  vs the Beta's a (= the asymptotic exponent). For c < 1 the two-parameter fit is misspecified
  (the scale c is weakly identified; a three-parameter fit is not implemented), so no record.
- ``chen_estimator_bias[shape]``: mean over problems of Chen_i(k) - (1 - (1 - p_i)^k) at the
  middle k of the grid, vs 0 (the estimator is unbiased given each p_i); the plug-in
  1 - (1 - x/n)^k's bias is carried along (it is negative).
- PassUntil per rate: the fraction of fixed-budget (n samples) estimates that read 0 vs
  (1 - p)^n; the pooled censoring-aware MLE sum(successes)/sum(attempts) vs p; the censored
  fraction vs P(Bin(K_max, p) < r); and, where censoring is negligible (< 1e-6), the mean of the
  unbiased (r-1)/(K-1) vs p and of the MLE r/K vs its (biased) mean E[r/K].
"""

from __future__ import annotations

import dataclasses
import math
import time

import jax
import numpy as np

from ..fit.curves import fit_beta_binomial
from ..fit.records import comparison
from ..models import sampling as model
from ..plots import COLORS, figure
from ..preflight import Cost, ensemble_cost
from ..rng import root_key
from ..simulator import run_simulator
from ..stats import pass_at_k_unbiased, wilson_interval
from ..theory import sampling as theory
from ..validate import check_int, check_range, check_resamples, check_seed, check_unique
from .base import Experiment

__all__ = ["Settings", "Point", "EXPERIMENT", "settings", "sweep", "run_point", "summarize", "plot", "cost"]

MAX_PROBLEMS = 10**6
MAX_SAMPLES = 10**5
MAX_SHAPES = 32


@dataclasses.dataclass(frozen=True)
class Settings:
    """Knobs of ``pass-at-k`` (each settable with ``--set key=value``)."""

    a_values: tuple[float, ...] = (0.3, 0.6, 1.0)   # Beta a of each shape (the power-law exponent)
    b_values: tuple[float, ...] = (3.0, 1.5, 4.0)   # Beta b of each shape
    c_values: tuple[float, ...] = (1.0, 0.5, 1.0)   # rate scale c of each shape, p = c z
    problems: int = 4000      # P, problems per benchmark draw
    samples: int = 1024       # n, samples per problem (k <= n)
    n_ks: int = 24            # log-spaced k grid in [1, n]
    window_lo: float = 0.0625  # the slope window is [window_lo n, n]
    seeds: int = 8            # benchmark draws per (shape, PassUntil rate)
    pu_rates: tuple[float, ...] = (1e-4, 1e-6)  # PassUntil single-attempt rates
    pu_r: int = 3             # successes PassUntil waits for
    pu_max: int = 10**6       # PassUntil attempt cap K_max
    pu_instances: int = 64    # PassUntil runs per member
    n_boot: int = 1000        # bootstrap resamples (over problems / instances)
    n_se: float = 4.0         # half-width of every interval in standard errors
    seed: int = 0             # root PRNG seed

    def __post_init__(self):
        for name in ("a_values", "b_values", "c_values", "pu_rates"):
            if not 1 <= len(getattr(self, name)) <= MAX_SHAPES:
                raise ValueError(f"{name} must hold 1 to {MAX_SHAPES} values; got {getattr(self, name)!r}")
        if not len(self.a_values) == len(self.b_values) == len(self.c_values):
            raise ValueError(f"a_values, b_values, c_values must have the same length; got "
                             f"{len(self.a_values)}, {len(self.b_values)}, {len(self.c_values)}")
        check_range("a_values", self.a_values, 0.0, 100.0, lo_open=True)
        check_range("b_values", self.b_values, 0.0, 1e3, lo_open=True)
        check_range("c_values", self.c_values, 0.0, 1.0, lo_open=True)
        check_unique("shapes (a_values, b_values, c_values)", tuple(zip(self.a_values, self.b_values, self.c_values)))
        check_int("problems", self.problems, 2, MAX_PROBLEMS)
        check_int("samples", self.samples, 2, MAX_SAMPLES)
        check_int("n_ks", self.n_ks, 3, 200)
        check_range("window_lo", self.window_lo, 0.0, 1.0, lo_open=True, hi_open=True)
        if len(self.window()) < 3:
            raise ValueError(f"window_lo={self.window_lo} leaves fewer than 3 ks of the grid in the window "
                             f"[window_lo samples, samples]; lower window_lo or raise n_ks/samples")
        check_int("seeds", self.seeds, 2, 4095)
        check_range("pu_rates", self.pu_rates, 0.0, 1.0, lo_open=True)
        check_unique("pu_rates", self.pu_rates)
        check_int("pu_r", self.pu_r, 1, 1000)
        check_int("pu_max", self.pu_max, self.pu_r, model.MAX_CAP)
        check_int("pu_instances", self.pu_instances, 2, 10**5)
        check_resamples("n_boot", self.n_boot, 50)
        check_range("n_se", self.n_se, 1.0, 10.0)
        check_seed("seed", self.seed)

    def ks(self) -> np.ndarray:
        """The k grid: up to ``n_ks`` distinct log-spaced integers in [1, samples]."""
        return np.unique(np.round(np.geomspace(1, self.samples, self.n_ks)).astype(int))

    def window(self) -> np.ndarray:
        """The ks of the slope window [window_lo samples, samples]."""
        ks = self.ks()
        return ks[ks >= self.window_lo * self.samples]


@dataclasses.dataclass(frozen=True)
class Point:
    samples: int


def settings(quick: bool) -> Settings:
    if quick:
        return Settings(problems=2000, samples=256, n_ks=16, window_lo=0.0625, seeds=4, n_boot=400)
    return Settings()


def sweep(s: Settings) -> list[Point]:
    return [Point(s.samples)]


def _layout(s: Settings):
    """Member (shape j, rate i, seed) arrays and stable member ids (j << 20) + (i << 12) + seed."""
    J, R, S = len(s.a_values), len(s.pu_rates), s.seeds
    j, i, seed = (g.ravel() for g in np.meshgrid(np.arange(J), np.arange(R), np.arange(S), indexing="ij"))
    return j, i, seed, (j << 20) + (i << 12) + seed


def run_point(p: Point, s: Settings):
    j, i, seed, ids = _layout(s)
    a, b, c = (np.asarray(v, float)[j] for v in (s.a_values, s.b_values, s.c_values))
    hyper = model.make_hyper(a=a, b=b, c=c, zero_mass=0.0, pu_rate=np.asarray(s.pu_rates, float)[i])
    cfg = model.Config(problems=s.problems, samples=p.samples, ks=tuple(int(k) for k in s.ks()),
                       pu_instances=s.pu_instances, pu_r=s.pu_r, pu_max=s.pu_max,
                       dtype="float64" if jax.config.jax_enable_x64 else "float32")
    t0 = time.perf_counter()
    out = run_simulator(model.SIMULATOR, cfg, hyper, key=root_key(s.seed), member_ids=ids)
    wall = time.perf_counter() - t0
    arrays = {"ks": s.ks(), "shape": j, "rate_index": i, "seed": seed, "rates": out["rates"],
              "successes": out["successes"].astype(np.int32), "pass_at_k": out["pass_at_k"],
              "pu_attempts": out["pu_attempts"], "pu_successes": out["pu_successes"].astype(np.int32),
              "pu_censored": out["pu_censored"], "pu_fixed": out["pu_fixed"].astype(np.int32)}
    return {"samples": p.samples, "members": int(ids.size), "simulate_seconds": wall}, arrays


def _label(s: Settings, j: int) -> str:
    return f"a={s.a_values[j]:g} b={s.b_values[j]:g} c={s.c_values[j]:g}"


def _interval(est, se, s: Settings):
    return (est - s.n_se * se, est + s.n_se * se)


def _slope(ks, mean_pass):
    """Minus the least-squares slope of log(-log pass) vs log k (last axis of mean_pass)."""
    x = np.log(ks) - np.log(ks).mean()
    y = np.log(-np.log(mean_pass))
    return -np.sum((y - y.mean(-1, keepdims=True)) * x, -1) / np.sum(x * x)


def _shape_records(A, s: Settings, j: int, n: int) -> list[dict]:
    ks = A["ks"]
    sel = A["shape"] == j
    a, b, c = s.a_values[j], s.b_values[j], s.c_values[j]
    x, rates = A["successes"][sel].ravel(), A["rates"][sel].ravel()
    N, label = x.size, _label(s, j)
    table = np.asarray(pass_at_k_unbiased(np.arange(n + 1), n, ks))        # [n + 1, K]
    hist = np.bincount(x, minlength=n + 1)
    mean = hist @ table / N
    # bootstrap over problems: the statistics depend on a problem only through its count, so a
    # resample of problems is a multinomial draw of the count histogram
    w = np.random.default_rng([s.seed, j]).multinomial(N, hist / N, size=s.n_boot)
    boot = w @ table / N                                                  # [n_boot, K]
    se = boot.std(0, ddof=1)
    recs = []
    for idx in sorted({0, len(ks) // 2, len(ks) - 1}):
        k = int(ks[idx])
        recs.append(comparison(f"pass_at_k[{label} k={k}]", mean[idx], _interval(mean[idx], se[idx], s),
                               theory.exponents(a=a, b=b, c=c, k=k)["pass_at_k"], problems=N,
                               ci_kind=f"+-{s.n_se:g} bootstrap SE over problems"))
    win = ks >= s.window_lo * n
    est, bs = _slope(ks[win], mean[win]), _slope(ks[win], boot[:, win])
    recs.append(comparison(f"passk_window_slope[{label}]", est, _interval(est, bs.std(ddof=1), s),
                           theory.exponents(a=a, b=b, c=c, ks=[int(k) for k in ks[win]])["passk_window_slope"],
                           window=[int(ks[win][0]), int(ks[win][-1])], asymptotic_exponent=a,
                           exact_local_slope_at_n=float(theory.local_exponent(a, b, float(n), c)),
                           ci_kind=f"+-{s.n_se:g} bootstrap SE over problems"))
    if c == 1.0:
        a_hat = np.array([fit_beta_binomial(m, n)["a"] for m in A["successes"][sel]])
        se_a = a_hat.std(ddof=1) / np.sqrt(a_hat.size)
        recs.append(comparison(f"beta_binomial_a[{label}]", a_hat.mean(), _interval(a_hat.mean(), se_a, s),
                               theory.exponents(a=a, b=b, c=c)["passk_exponent"], members=int(a_hat.size),
                               problems_per_member=s.problems, relative_error=float(abs(a_hat.mean() / a - 1)),
                               ci_kind=f"+-{s.n_se:g} SE over members (one fit each)"))
    km = int(ks[len(ks) // 2])
    truth = -np.expm1(km * np.log1p(-rates))
    d = table[x, len(ks) // 2] - truth
    plug = -np.expm1(km * np.log1p(-x / n)) - truth
    m, sd = d.mean(), d.std(ddof=1) / np.sqrt(N)
    recs.append(comparison(f"chen_estimator_bias[{label} k={km}]", m, _interval(m, sd, s),
                           theory.exponents()["chen_estimator_bias"], plugin_bias=float(plug.mean()),
                           plugin_bias_se=float(plug.std(ddof=1) / np.sqrt(N)), problems=N,
                           ci_kind=f"+-{s.n_se:g} SE over problems"))
    return recs


def _passuntil_records(A, s: Settings, i: int, n: int) -> list[dict]:
    sel = A["rate_index"] == i
    p, r = s.pu_rates[i], s.pu_r
    K, succ = A["pu_attempts"][sel].ravel(), A["pu_successes"][sel].ravel().astype(float)
    cens, fixed = A["pu_censored"][sel].ravel().astype(float), A["pu_fixed"][sel].ravel()
    Q, label = K.size, f"p={p:g} r={r} K_max={s.pu_max:g}"
    th = theory.exponents(p=p, r=r, k_max=s.pu_max, n=n)
    kind = f"+-{s.n_se:g} SE over {Q} instances"

    def mean_rec(name, v, pred, **extra):
        m, se = v.mean(), v.std(ddof=1) / np.sqrt(v.size)
        return comparison(name, m, _interval(m, se, s), pred, instances=int(v.size), ci_kind=kind, **extra)

    def fraction_rec(name, hits, pred, **extra):  # Wilson interval at the n_se-sigma level (0 hits allowed)
        level = math.erf(s.n_se / math.sqrt(2))
        return comparison(name, hits.mean(), wilson_interval(int(hits.sum()), hits.size, level), pred,
                          instances=int(hits.size), ci_kind=f"Wilson interval at +-{s.n_se:g} sigma", **extra)

    recs = [fraction_rec(f"fixed_budget_reads_zero[p={p:g} n={n}]", fixed == 0, th["fixed_budget_zero"],
                         fixed_budget_pass_at_1=float(fixed.sum() / (n * Q))),
            fraction_rec(f"passuntil_censored[{label}]", cens, th["passuntil_censored"])]
    idx = np.random.default_rng([s.seed, 1000 + i]).integers(0, Q, (s.n_boot, Q))
    pooled = succ.sum() / K.sum()
    bs = succ[idx].sum(1) / K[idx].sum(1)
    recs.append(comparison(f"passuntil_pooled_mle[{label}]", pooled, _interval(pooled, bs.std(ddof=1), s),
                           th["passuntil_rate"], censored_fraction=float(cens.mean()),
                           ci_kind=f"+-{s.n_se:g} bootstrap SE over instances"))
    if th["passuntil_censored"].value < 1e-6:        # the uncensored estimators need no cap
        if r >= 2:
            recs.append(mean_rec(f"passuntil_unbiased[{label}]", (r - 1) / (K - 1), th["passuntil_unbiased"]))
        recs.append(mean_rec(f"passuntil_mle_mean[{label}]", r / K, th["passuntil_mle_mean"]))
    return recs


def summarize(runs, s: Settings) -> list[dict]:
    (run,) = runs
    A, n = run.arrays, run.metrics["samples"]
    recs = [rec for j in range(len(s.a_values)) for rec in _shape_records(A, s, j, n)]
    return recs + [rec for i in range(len(s.pu_rates)) for rec in _passuntil_records(A, s, i, n)]


def plot(runs, s: Settings, records: list[dict]):
    """-log pass@k vs k per shape (Monte Carlo mean +- n_se SE over problems, exact curve,
    asymptote, slope window) and the PassUntil estimates vs the true rates."""
    (run,) = runs
    A, n = run.arrays, run.metrics["samples"]
    ks = A["ks"]
    J = len(s.a_values)
    ncols = 2
    nrows = (J + 2) // ncols
    fig, axes = figure(ncols=ncols, nrows=nrows)
    kk = np.geomspace(1, 30 * n, 200)
    table = np.asarray(pass_at_k_unbiased(np.arange(n + 1), n, ks))
    for j in range(J):
        ax, col = axes.flat[j], COLORS[j % len(COLORS)]
        a, b, c = s.a_values[j], s.b_values[j], s.c_values[j]
        vals = table[A["successes"][A["shape"] == j].ravel()]
        mean, se = vals.mean(0), vals.std(0, ddof=1) / np.sqrt(vals.shape[0])
        y = -np.log(mean)
        dy = s.n_se * se / mean
        ax.errorbar(ks, y, yerr=dy, fmt="o", ms=3, color=col, label=f"Monte Carlo (+-{s.n_se:g} SE)")
        ax.plot(kk, np.asarray(theory.neg_log_pass_at_k(a, b, kk, c)), "k-", lw=1, label="exact")
        ax.plot(kk, np.asarray(theory.asymptote(a, b, kk, c)), "k:", lw=1, label=f"asymptote ~ k^-{a:g}")
        ax.axvspan(s.window_lo * n, n, color=col, alpha=0.08, label="slope window")
        slope = next((r for r in records if r["quantity"] == f"passk_window_slope[{_label(s, j)}]"), None)
        title = _label(s, j) + (f": slope {slope['measured']:.3f} vs {slope['theory']:.3f}" if slope else "")
        ax.set(xscale="log", yscale="log", xlabel="k (attempts)", ylabel="-log pass@k", title=title)
        ax.title.set_fontsize(8)
        ax.legend(fontsize=6)
    ax = axes.flat[J]
    names = ("fixed_budget_reads_zero", "passuntil_mle_mean", "passuntil_unbiased", "passuntil_pooled_mle")
    ticks = ("fixed n: pass@1", "r/K", "(r-1)/(K-1)", "pooled MLE")
    for i, p in enumerate(s.pu_rates):
        col = COLORS[i % len(COLORS)]
        recs = {r["quantity"].split("[")[0]: r for r in records
                if r["quantity"].split("[")[0] in names and f"[p={p:g} " in r["quantity"]}
        floor = p / 100
        for x, name in enumerate(names):
            r = recs.get(name)
            if r is None:        # heavy censoring: the uncensored estimators are not shown
                continue
            xx = x + 0.12 * i
            if name == "fixed_budget_reads_zero":
                m = r["fixed_budget_pass_at_1"]
                ax.plot(xx, max(m, floor), "v" if m <= 0 else "s", color=col)
                ax.annotate(f"{100 * r['measured']:.1f}% read 0", (xx, max(m, floor)), fontsize=6,
                            xytext=(4, 4), textcoords="offset points")
                continue
            lo, hi = r["ci"]
            ax.errorbar(xx, r["measured"], yerr=[[r["measured"] - max(lo, floor)], [hi - r["measured"]]], fmt="o",
                        color=col, ms=4)
            ax.plot(xx, r["theory"], "k_", ms=10)
        ax.axhline(p, color=col, lw=0.8, ls="--", label=f"p={p:g}")
    ax.set_xticks(range(len(ticks)), ticks, fontsize=7, rotation=20)
    ax.set(yscale="log", ylabel="estimated pass rate",
           title=f"PassUntil r={s.pu_r}, K_max={s.pu_max:g}: +-{s.n_se:g} SE, theory (-), v: reads 0")
    ax.title.set_fontsize(8)
    ax.legend(fontsize=7)
    for extra in axes.flat[J + 1:]:
        extra.set_visible(False)
    return fig


def cost(p: Point, s: Settings) -> Cost:
    """Pre-flight estimate per member: rates and counts of P + Q problems, one block of uniforms
    [P + Q, 256], the Chen table [K, n] and its per-problem estimates [P, K]; FLOPs dominated by
    the n uniforms per problem."""
    members = len(s.a_values) * len(s.pu_rates) * s.seeds
    K, P, Q = len(s.ks()), s.problems, s.pu_instances
    live = 4 * (P + Q) + (P + Q) * min(p.samples, 256) + 2 * K * p.samples + P * K + Q * s.pu_r
    flops = members * (20 * (P + Q) * p.samples + 4 * K * p.samples + 4 * P * K + 200 * P)
    return ensemble_cost(members, live, 0, flops, 2 * P + K + 4 * Q, itemsize=8)


EXPERIMENT = Experiment(
    name="pass-at-k",
    description="pass@k power laws of a scaled-Beta benchmark (Chen estimator vs exact curve, window slope, "
                "Beta-binomial a) and PassUntil at tiny pass rates.",
    settings=settings, sweep=sweep, run_point=run_point, summarize=summarize, plot=plot,
    theory=(theory,), papers=model.PAPERS, cost=cost)
