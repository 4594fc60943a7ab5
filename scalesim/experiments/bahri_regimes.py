"""``bahri-regimes``: the four scaling regimes of the linear random-feature teacher-student model.

Bahri, Dyer, Kaplan, Lee & Sharma 2021 (arXiv 2102.06701), Sec. 2-3, a Fig. 2a analogue: one
sweep over four ladders of the linear RF teacher-student model
(:mod:`scalesim.models.rf_teacher_student`) with ``lam_k = k^-(1+alpha_K)`` and an isotropic
teacher (a = b = 1 + alpha_K):

* ``res_model``  D = inf, N grows: resolution-limited in model size, ``L ~ N^-alpha_K``;
* ``res_data``   N = inf, D grows: resolution-limited in data, ``L ~ D^-alpha_K``;
* ``var_data``   N fixed, D >> N: variance-limited, ``L(D, N) - L(inf, N) ~ 1/D``;
* ``var_model``  D fixed, N >> D: variance-limited, ``L(D, N) - L(D, inf) ~ 1/N``.

Every loss is an exact population MSE of one random draw; members are draws with key
``fold_in(key, i)`` (:func:`scalesim.simulator.run_simulator`). Theory: the deterministic
equivalent (:func:`scalesim.theory.random_features.rf_error`), its exponent over the same
fitting window (the finite-size prediction of the resolution-limited records), and the declared
exponents of :func:`scalesim.theory.random_features.exponents` (1 for the variance-limited
records; the asymptotic alpha_K is reported next to the resolution-limited ones).
"""
from __future__ import annotations

import dataclasses
import time

import jax.numpy as jnp
import numpy as np

from ..fit.records import comparison
from ..models import rf_teacher_student as ts
from ..plots import COLORS, figure
from ..rng import root_key, stream
from ..simulator import run_simulator
from ..stats import percentile_ci, resample_indices
from ..theory import random_features as rf
from ..validate import check_positive_ints, check_range, check_resamples, check_seed, check_tolerance
from .base import Experiment
from ..preflight import Cost, ensemble_cost

__all__ = ["BahriSettings", "BahriPoint", "EXPERIMENT", "REGIMES", "bootstrap_slope", "curves"]

REGIMES = ("res_model", "res_data", "var_data", "var_model")
_DECLARED = {"res_model": "resolution_limited_model", "res_data": "resolution_limited_data",
             "var_data": "variance_limited_data", "var_model": "variance_limited_model"}


def bootstrap_slope(x, Y, n_boot=1000, seed=0, level=0.95):
    """Exponent of ``mean_rows(Y) ~ x^-e`` with a row-bootstrap percentile CI (rows = draws).

    Like :func:`scalesim.fit.powerlaw.bootstrap_exponent` but tolerates per-draw values <= 0
    (paired differences), dropping the rare resamples whose mean curve is not positive.

    Args:
      x: sizes ``[n_x]`` (> 0).
      Y: per-draw values ``[n_draws, n_x]``.
      n_boot: bootstrap resamples. seed: resampling seed. level: CI coverage.

    Returns:
      ``(estimate, (lo, hi))``.
    """
    x, Y = np.asarray(x, float), np.asarray(Y, float)
    lx = np.log(x)
    est = -np.polyfit(lx, np.log(Y.mean(0)), 1)[0]
    means = Y[resample_indices(Y.shape[0], n_boot, seed)].mean(1)
    ok = np.all(means > 0, axis=1)
    lm = np.log(np.where(means > 0, means, 1.0))
    xc = lx - lx.mean()
    slopes = -(lm - lm.mean(1, keepdims=True)) @ xc / (xc @ xc)
    return float(est), percentile_ci(slopes[ok], level)


def _isotropic(alpha_k, n_modes):
    lam, _ = rf.power_law_spectrum(1.0 + alpha_k, 1.0 + alpha_k, n_modes)
    return lam, jnp.full((n_modes,), 1.0 / n_modes, lam.dtype)


@dataclasses.dataclass(frozen=True)
class BahriSettings:
    """Knobs of ``bahri-regimes`` (each settable with ``--set key=value``)."""

    alpha_k: float = 1.0  # kernel spectrum lam_k = k^-(1 + alpha_K)
    n_modes: int = 4000  # S, latent teacher features
    draws: int = 256  # random draws (teacher/projection/data) per point
    res_sizes: tuple[int, ...] = (32, 64, 128, 256, 512)  # ladder of the growing resource (res_*)
    var_sizes: tuple[int, ...] = (256, 512, 1024, 2048, 4096)  # ladder of the large resource (var_*)
    var_fixed: int = 16  # the fixed small resource in var_* (N for var_data, D for var_model)
    random_teacher: bool = False  # True: omega ~ N(0, 1/S) as Bahri; False: fixed |omega_k| = S^-1/2
    slope_tol: float = 0.1  # variance-limited slopes must be 1 +- slope_tol
    n_boot: int = 1000
    seed: int = 0

    def __post_init__(self):
        check_range("alpha_k", self.alpha_k, 0.0, 50.0, lo_open=True)
        check_positive_ints("n_modes", self.n_modes)
        check_positive_ints("draws", self.draws)
        check_range("draws", self.draws, 2)  # a bootstrap CI needs two draws
        check_positive_ints("res_sizes", self.res_sizes)
        check_positive_ints("var_sizes", self.var_sizes)
        check_positive_ints("var_fixed", self.var_fixed)
        if len(self.res_sizes) < 3 or len(self.var_sizes) < 3:
            raise ValueError("res_sizes and var_sizes need >= 3 entries for a slope with CI")
        if max(self.res_sizes) >= self.n_modes:
            raise ValueError(f"res_sizes must stay below n_modes={self.n_modes} (ridgeless fits)")
        if min(self.var_sizes) < 4 * self.var_fixed:
            raise ValueError("var_sizes must be >= 4 * var_fixed (variance-limited hierarchy)")
        check_tolerance("slope_tol", self.slope_tol)
        check_resamples("n_boot", self.n_boot)
        check_seed("seed", self.seed)


@dataclasses.dataclass(frozen=True)
class BahriPoint:
    """One sweep point: a regime (the class name enters the run-directory id: keep it)."""

    regime: str


def settings(quick: bool) -> BahriSettings:
    if quick:
        return BahriSettings(n_modes=1000, draws=64, res_sizes=(32, 64, 128, 256),
                        var_sizes=(256, 512, 1024, 2048), var_fixed=16, n_boot=400)
    return BahriSettings()


def sweep(s: BahriSettings) -> list[BahriPoint]:
    return [BahriPoint(r) for r in REGIMES]


def _sizes(regime: str, size: int, s: BahriSettings):
    """(N, D) of one ladder entry, ``inf`` for the unlimited resource."""
    return {"res_model": (size, np.inf), "res_data": (np.inf, size),
            "var_data": (s.var_fixed, size), "var_model": (size, s.var_fixed)}[regime]


def run_point(p: BahriPoint, s: BahriSettings):
    """One regime = one ladder, all sizes on each draw (nested features / samples)."""
    lam, w2 = _isotropic(s.alpha_k, s.n_modes)
    key = stream(root_key(s.seed), p.regime)
    t0 = time.perf_counter()
    res = p.regime.startswith("res")
    sizes = tuple(s.res_sizes) if res else tuple(s.var_sizes)
    cfg = ts.Config(p.regime, sizes, lam, w2, fixed=None if res else s.var_fixed, random_teacher=s.random_teacher)
    out = run_simulator(ts.SIMULATOR, cfg, ts.make_hyper(members=s.draws), key=key, chunk=16)
    loss = out["loss"]
    if res:
        limit = np.zeros_like(loss)
    elif p.regime == "var_data":
        limit = out["limit"]
    else:
        limit = out["limit"] + out["cv"]   # control variate with E[cv] = 0 (see variance_model)
    theory, theory_limit = [], []
    for size in sizes:
        n, d = _sizes(p.regime, size, s)
        theory.append(float(rf.rf_error(lam, w2, n_features=n, n_samples=d, ridge=0.0)))
        if p.regime == "var_data":
            theory_limit.append(float(rf.rf_error(lam, w2, n_features=n, n_samples=np.inf, ridge=0.0)))
        elif p.regime == "var_model":
            theory_limit.append(float(rf.rf_error(lam, w2, n_features=np.inf, n_samples=d, ridge=0.0)))
        else:
            theory_limit.append(0.0)
    metrics = {"regime": p.regime, "seconds": time.perf_counter() - t0}
    arrays = {"sizes": np.asarray(sizes, float), "loss": loss, "limit": limit,
              "theory": np.asarray(theory), "theory_limit": np.asarray(theory_limit)}
    return metrics, arrays


def _groups(runs):
    return {r.metrics["regime"]: r for r in runs}


def curves(run):
    """One stored regime as curves.

    Args:
      run: a stored run of this experiment.

    Returns:
      ``(sizes [n], per-draw excess loss [draws, n], theory excess [n])``: the loss minus its
      paired infinite-resource limit (0 for the resolution ladders).
    """
    A = run.arrays
    return A["sizes"], A["loss"] - A["limit"], A["theory"] - A["theory_limit"]


def summarize(runs, s: BahriSettings) -> list[dict]:
    declared = rf.exponents(alpha_k=s.alpha_k)
    records = []
    for regime, r in sorted(_groups(runs).items(), key=lambda kv: REGIMES.index(kv[0])):
        x, Y, th = curves(r)
        est, ci = bootstrap_slope(x, Y, s.n_boot, s.seed)
        de_slope = float(-np.polyfit(np.log(x), np.log(th), 1)[0])
        window = [float(x.min()), float(x.max())]
        if regime.startswith("res"):
            records.append(comparison(f"exponent[{regime}]", est, ci, de_slope, window=window,
                                      asymptotic_alpha_k=declared[_DECLARED[regime]].value,
                                      note="theory = deterministic equivalent over the window"))
        else:
            records.append(comparison(f"slope[{regime}]", est, ci, declared[_DECLARED[regime]], tol=s.slope_tol,
                                      window=window, deterministic_equivalent=de_slope, fixed=s.var_fixed))
        ratio = Y.mean(0) / th
        se = Y.std(0, ddof=1) / np.sqrt(Y.shape[0]) / th
        worst = int(np.argmax(np.abs(ratio - 1)))
        records.append(comparison(f"sim_over_theory[{regime}, worst size]", float(ratio[worst]),
                                  (ratio[worst] - 2 * se[worst], ratio[worst] + 2 * se[worst]),
                                  1.0, tol=0.03, size=float(x[worst])))
    return records


def plot(runs, s: BahriSettings, records: list[dict]):
    from matplotlib.ticker import NullFormatter  # noqa: PLC0415  (matplotlib only when plotting)

    fig, axes = figure(ncols=2, nrows=2)
    labels = {"res_model": "resolution-limited, D = inf: L vs N",
              "res_data": "resolution-limited, N = inf: L vs D",
              "var_data": f"variance-limited, N = {s.var_fixed}: L - L(inf, N) vs D",
              "var_model": f"variance-limited, D = {s.var_fixed}: L - L(D, inf) vs N"}
    recs = {r["quantity"].split("[")[1].rstrip("]"): r for r in records
            if r["quantity"].startswith(("exponent", "slope"))}
    groups = _groups(runs)
    for ax, regime in zip(axes.flat, REGIMES):
        if regime not in groups:
            continue
        x, Y, th = curves(groups[regime])
        c = COLORS[REGIMES.index(regime)]
        rec = recs[regime]
        res = regime.startswith("res")
        ax.errorbar(x, Y.mean(0), yerr=Y.std(0, ddof=1) / np.sqrt(Y.shape[0]), fmt="o", color=c,
                    label=f"sim: exponent {rec['measured']:.3f} [{rec['ci'][0]:.3f}, {rec['ci'][1]:.3f}]")
        ax.plot(x, th, "-", color="k", lw=1, label=f"deterministic equivalent ({rec['theory']:.3f})"
                if res else "deterministic equivalent")
        slope = rec["asymptotic_alpha_k"] if res else rec["theory"]
        ax.plot(x, th[0] * (x / x[0]) ** -slope, ":", color="gray",
                label=f"x^-{slope:g} ({'alpha_K' if res else 'Bahri 1/x'})")
        ax.set(xscale="log", yscale="log", title=labels[regime], xlabel="size", ylabel="test MSE")
        ax.xaxis.set_minor_formatter(NullFormatter())  # labelled minor ticks overlap on a < 2-decade axis
        ax.legend(fontsize=7)
    return fig


def _draw_work(regime: str, s: BahriSettings) -> tuple[int, int]:
    """(live float64 values, matmul and solve FLOP) of one draw of a ladder.

    Resolution ladders hold features or inputs [n_modes, size] and a size x size Gram matrix and
    solve it at every size.  Variance ladders hold [n_modes, size] and [n_modes, fixed] arrays, and
    their solves are only fixed x fixed: var_data is fixed features against up to max(size)
    samples, var_model is fixed samples against up to max(size) features.
    """
    S, k = s.n_modes, s.var_fixed
    if regime.startswith("res"):
        top = max(s.res_sizes)
        return S * top + top * top + S, 2 * S * top * top + sum(2 * n ** 3 + 2 * S * n for n in s.res_sizes)
    top = max(s.var_sizes)
    if regime == "var_data":
        return S * k + top * (k + 1) + S, 2 * S * k * k + sum(2 * d * k * k for d in s.var_sizes)
    return S * top + S * k + S, 6 * k * S * top + sum(2 * S * n for n in s.var_sizes)


def cost(p: BahriPoint, s: BahriSettings) -> Cost:
    """Pre-flight estimate: per draw (float64, 16 draws at a time) the arrays and matmul/solve work
    of the regime's ladder (:func:`_draw_work`)."""
    values, flops = _draw_work(p.regime, s)
    return ensemble_cost(1, 0, values * min(s.draws, 16), s.draws * flops)


EXPERIMENT = Experiment(
    name="bahri-regimes",
    description="Linear RF teacher-student: the four Bahri regimes (variance/resolution-limited in D and N) vs theory.",
    settings=settings, sweep=sweep, run_point=run_point, summarize=summarize, plot=plot,
    theory=(rf,), papers=("bahri2021explaining", "bordelon2020spectrum", "atanasov2024scaling"), cost=cost,
)
