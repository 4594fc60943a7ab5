"""``bahri-regimes`` and ``rf-duality``: the linear random-feature anchor experiments.

``bahri-regimes`` (Bahri et al. 2102.06701 §2-3, Fig. 2a analogue): one sweep over four ladders
of the linear RF teacher-student model with ``lam_k = k^-(1+alpha_K)`` and an isotropic teacher
(a = b = 1 + alpha_K):

* ``res_model``  D = inf, N grows: resolution-limited in model size, ``L ~ N^-alpha_K``;
* ``res_data``   N = inf, D grows: resolution-limited in data, ``L ~ D^-alpha_K``;
* ``var_data``   N fixed, D >> N: variance-limited, ``L(D, N) - L(inf, N) ~ 1/D``;
* ``var_model``  D fixed, N >> D: variance-limited, ``L(D, N) - L(D, inf) ~ 1/N``.

Every loss is an exact population MSE of one random draw; members are draws
``fold_in(key, i)``.  Theory: the deterministic equivalent of notes §3.2
(:func:`scalesim.theory.random_features.rf_error`), its exponent over the same fitting window
(the finite-size prediction) and the asymptotic exponents alpha_K and 1.

``rf-duality`` (Bahri §3 duality; notes §3.2 and §4.x): ``L(N, P)`` vs ``L(P, N)`` for the
linear RF ridge model, exact for isotropic targets, broken for anisotropic ones.
"""
from __future__ import annotations

import dataclasses
import time

import jax
import jax.numpy as jnp
import numpy as np

from ..validate import check_positive_ints, check_range
from ..fit.records import comparison
from ..models import random_features as mrf
from ..models import rf_teacher_student as ts
from ..plots import COLORS, figure, records_errorbar
from ..rng import root_key, stream
from ..theory import random_features as rf
from .base import Experiment

__all__ = ["BahriSettings", "DualitySettings", "BAHRI_REGIMES", "RF_DUALITY"]

REGIMES = ("res_model", "res_data", "var_data", "var_model")


# --------------------------------------------------------------------------- shared helpers
def bootstrap_slope(x, Y, n_boot=1000, seed=0, level=0.95):
    """Exponent of ``mean_rows(Y) ~ x^-e`` with a row-bootstrap CI (rows = draws).

    Like :func:`scalesim.fit.powerlaw.bootstrap_exponent` but tolerates per-draw values <= 0
    (paired differences), dropping the rare resamples whose mean curve is not positive.
    """
    x, Y = np.asarray(x, float), np.asarray(Y, float)
    lx = np.log(x)

    def fit(y):
        ly = np.log(y)
        return -np.polyfit(lx, ly, 1)[0]

    est = fit(Y.mean(0))
    idx = np.random.default_rng(seed).integers(0, Y.shape[0], (n_boot, Y.shape[0]))
    means = Y[idx].mean(1)
    ok = np.all(means > 0, axis=1)
    lm = np.log(np.where(means > 0, means, 1.0))
    xc = lx - lx.mean()
    slopes = -(lm - lm.mean(1, keepdims=True)) @ xc / (xc @ xc)
    q = (1 - level) / 2
    lo, hi = np.quantile(slopes[ok], [q, 1 - q])
    return float(est), (float(lo), float(hi))


def _isotropic(alpha_k, n_modes):
    lam, _ = rf.power_law_spectrum(1.0 + alpha_k, 1.0 + alpha_k, n_modes)
    return lam, jnp.full((n_modes,), 1.0 / n_modes, lam.dtype)


# --------------------------------------------------------------------------- bahri-regimes
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
        check_range("alpha_k", self.alpha_k, 0.0, None, lo_open=True)
        check_positive_ints("n_modes", self.n_modes)
        check_positive_ints("draws", self.draws)
        if self.draws < 2:
            raise ValueError(f"draws must be >= 2 for a bootstrap CI; got {self.draws}")
        check_positive_ints("res_sizes", self.res_sizes)
        check_positive_ints("var_sizes", self.var_sizes)
        check_positive_ints("var_fixed", self.var_fixed)
        if len(self.res_sizes) < 3 or len(self.var_sizes) < 3:
            raise ValueError("res_sizes and var_sizes need >= 3 entries for a slope with CI")
        if max(self.res_sizes) >= self.n_modes:
            raise ValueError(f"res_sizes must stay below n_modes={self.n_modes} (ridgeless fits)")
        if min(self.var_sizes) < 4 * self.var_fixed:
            raise ValueError("var_sizes must be >= 4 * var_fixed (variance-limited hierarchy)")
        check_range("slope_tol", self.slope_tol, 0.0, None)
        check_positive_ints("n_boot", self.n_boot)


@dataclasses.dataclass(frozen=True)
class BahriPoint:
    regime: str


def bahri_settings(quick: bool) -> BahriSettings:
    if quick:
        return BahriSettings(n_modes=1000, draws=64, res_sizes=(32, 64, 128, 256),
                             var_sizes=(256, 512, 1024, 2048), var_fixed=16, n_boot=400)
    return BahriSettings()


def bahri_sweep(s: BahriSettings) -> list[BahriPoint]:
    return [BahriPoint(r) for r in REGIMES]


def _bahri_sizes(regime: str, size: int, s: BahriSettings):
    """(N, D) of one ladder entry, ``inf`` for the unlimited resource."""
    return {"res_model": (size, np.inf), "res_data": (np.inf, size),
            "var_data": (s.var_fixed, size), "var_model": (size, s.var_fixed)}[regime]


def bahri_run_point(p: BahriPoint, s: BahriSettings):
    """One regime = one ladder, all sizes on each draw (nested features / samples)."""
    lam, w2 = _isotropic(s.alpha_k, s.n_modes)
    key = stream(root_key(s.seed), p.regime)
    t0 = time.perf_counter()
    kw = {"random_teacher": s.random_teacher}
    if p.regime == "res_model":
        sizes = tuple(s.res_sizes)
        loss = np.asarray(ts.draws(ts.resolution_model, key, s.draws, lam, w2, sizes, **kw))
        limit = np.zeros_like(loss)
    elif p.regime == "res_data":
        sizes = tuple(s.res_sizes)
        loss = np.asarray(ts.draws(ts.resolution_data, key, s.draws, lam, w2, sizes, **kw))
        limit = np.zeros_like(loss)
    elif p.regime == "var_data":
        sizes = tuple(s.var_sizes)
        loss, limit = map(np.asarray, ts.draws(ts.variance_data, key, s.draws, lam, w2,
                                               s.var_fixed, sizes, **kw))
    else:
        sizes = tuple(s.var_sizes)
        loss, limit, cv = map(np.asarray, ts.draws(ts.variance_model, key, s.draws, lam, w2,
                                                   sizes, s.var_fixed, **kw))
        limit = limit + cv   # control variate with E[cv] = 0 (see variance_model)
    theory, theory_limit = [], []
    for size in sizes:
        n, d = _bahri_sizes(p.regime, size, s)
        theory.append(float(rf.rf_error(lam, w2, n, d, 0.0)))
        if p.regime == "var_data":
            theory_limit.append(float(rf.rf_error(lam, w2, n, np.inf, 0.0)))
        elif p.regime == "var_model":
            theory_limit.append(float(rf.rf_error(lam, w2, np.inf, d, 0.0)))
        else:
            theory_limit.append(0.0)
    metrics = {"regime": p.regime, "seconds": time.perf_counter() - t0}
    arrays = {"sizes": np.asarray(sizes, float), "loss": loss, "limit": limit,
              "theory": np.asarray(theory), "theory_limit": np.asarray(theory_limit)}
    return metrics, arrays


def _bahri_groups(runs):
    return {r.metrics["regime"]: r for r in runs}


def _curves(r):
    """(sizes, per-draw excess loss [draws, sizes], theory excess [sizes])."""
    A = r.arrays
    return A["sizes"], A["loss"] - A["limit"], A["theory"] - A["theory_limit"]


def bahri_summarize(runs, s: BahriSettings) -> list[dict]:
    records = []
    for regime, r in sorted(_bahri_groups(runs).items(), key=lambda kv: REGIMES.index(kv[0])):
        x, Y, th = _curves(r)
        est, ci = bootstrap_slope(x, Y, s.n_boot, s.seed)
        de_slope = float(-np.polyfit(np.log(x), np.log(th), 1)[0])
        window = [float(x.min()), float(x.max())]
        if regime.startswith("res"):
            records.append(comparison(f"exponent[{regime}]", est, ci, de_slope, window=window,
                                      asymptotic_alpha_k=s.alpha_k,
                                      note="theory = deterministic equivalent over the window"))
        else:
            records.append(comparison(f"slope[{regime}]", est, ci, 1.0, tol=s.slope_tol,
                                      window=window, deterministic_equivalent=de_slope,
                                      fixed=s.var_fixed))
        ratio = Y.mean(0) / th
        se = Y.std(0, ddof=1) / np.sqrt(Y.shape[0]) / th
        worst = int(np.argmax(np.abs(ratio - 1)))
        records.append(comparison(f"sim_over_theory[{regime}, worst size]", float(ratio[worst]),
                                  (ratio[worst] - 2 * se[worst], ratio[worst] + 2 * se[worst]),
                                  1.0, tol=0.03, size=float(x[worst])))
    return records


def bahri_plot(runs, s: BahriSettings, records: list[dict]):
    fig, axes = figure(ncols=2, nrows=2)
    labels = {"res_model": "resolution-limited, D = inf: L vs N",
              "res_data": "resolution-limited, N = inf: L vs D",
              "var_data": f"variance-limited, N = {s.var_fixed}: L - L(inf, N) vs D",
              "var_model": f"variance-limited, D = {s.var_fixed}: L - L(D, inf) vs N"}
    recs = {r["quantity"].split("[")[1].rstrip("]"): r for r in records
            if r["quantity"].startswith(("exponent", "slope"))}
    groups = _bahri_groups(runs)
    for ax, regime in zip(axes.flat, REGIMES):
        if regime not in groups:
            continue
        x, Y, th = _curves(groups[regime])
        c = COLORS[REGIMES.index(regime)]
        rec = recs[regime]
        ax.errorbar(x, Y.mean(0), yerr=Y.std(0, ddof=1) / np.sqrt(Y.shape[0]), fmt="o", color=c,
                    label=f"sim: exponent {rec['measured']:.3f} [{rec['ci'][0]:.3f}, {rec['ci'][1]:.3f}]")
        ax.plot(x, th, "-", color="k", lw=1, label=f"deterministic equivalent ({rec['theory']:.3f})"
                if regime.startswith("res") else "deterministic equivalent")
        slope = s.alpha_k if regime.startswith("res") else 1.0
        ax.plot(x, th[0] * (x / x[0]) ** -slope, ":", color="gray",
                label=f"x^-{slope:g} ({'alpha_K' if regime.startswith('res') else 'Bahri 1/x'})")
        ax.set(xscale="log", yscale="log", title=labels[regime], xlabel="size", ylabel="test MSE")
        ax.legend(fontsize=7)
    return fig


BAHRI_REGIMES = Experiment(
    name="bahri-regimes",
    description="Linear RF teacher-student: the four Bahri regimes (variance/resolution-limited in D and N) vs theory.",
    settings=bahri_settings, sweep=bahri_sweep, run_point=bahri_run_point,
    summarize=bahri_summarize, plot=bahri_plot,
    theory=(rf,), papers=("bahri2021explaining", "bordelon2020spectrum", "atanasov2024scaling"),
)


# --------------------------------------------------------------------------- rf-duality
@dataclasses.dataclass(frozen=True)
class DualitySettings:
    """Knobs of ``rf-duality``."""

    b: float = 2.0  # spectrum exponent lam_k = k^-b
    a_values: tuple[float, ...] = (2.0, 3.0)  # a = b: isotropic (exact duality); a != b: broken
    pairs: tuple[tuple[int, int], ...] = ((50, 200), (100, 400), (200, 800))  # (N, P), also run as (P, N)
    n_modes: int = 2000
    ridge: float = 1e-4
    draws: int = 32
    ratio_tol: float = 0.03  # systematic tolerance on sim ratios vs theory ratios
    n_boot: int = 1000
    seed: int = 0

    def __post_init__(self):
        check_range("b", self.b, 0.0, None, lo_open=True)
        for a in self.a_values:
            check_range("a_values", a, 1.0, None, lo_open=True)
        for n, p in self.pairs:
            check_positive_ints("pairs", (n, p))
            if n == p:
                raise ValueError(f"pairs must have N != P (a pair (N, N) is trivially dual); got {(n, p)}")
            if max(n, p) >= self.n_modes:
                raise ValueError(f"pairs must stay below n_modes={self.n_modes}")
        check_positive_ints("n_modes", self.n_modes)
        check_range("ridge", self.ridge, 0.0, None, lo_open=True)
        check_positive_ints("draws", self.draws)
        if self.draws < 2:
            raise ValueError("draws must be >= 2")
        check_range("ratio_tol", self.ratio_tol, 0.0, None)
        check_positive_ints("n_boot", self.n_boot)


@dataclasses.dataclass(frozen=True)
class DualityPoint:
    n_features: int
    n_samples: int


def duality_settings(quick: bool) -> DualitySettings:
    if quick:
        return DualitySettings(pairs=((40, 160), (80, 320)), n_modes=1000, draws=24, n_boot=400)
    return DualitySettings()


def duality_sweep(s: DualitySettings) -> list[DualityPoint]:
    return [DualityPoint(*q) for n, p in s.pairs for q in ((n, p), (p, n))]


def duality_run_point(p: DualityPoint, s: DualitySettings):
    key = jax.random.fold_in(stream(root_key(s.seed), "duality"), p.n_features * 100003 + p.n_samples)
    losses, theory = [], []
    for a in s.a_values:
        lam, w2 = rf.power_law_spectrum(a, s.b, s.n_modes)
        losses.append(np.asarray(mrf.rf_ridge_draws(key, lam, w2, p.n_features, p.n_samples,
                                                    s.ridge, 0.0, s.draws)))
        theory.append(float(rf.rf_error(lam, w2, p.n_features, p.n_samples, s.ridge, 0.0)))
    metrics = {"n_features": p.n_features, "n_samples": p.n_samples, "theory": theory}
    return metrics, {"loss": np.stack(losses), "a": np.asarray(s.a_values, float)}


def _duality_pairs(runs, s: DualitySettings):
    by = {(r.metrics["n_features"], r.metrics["n_samples"]): r for r in runs}
    return [(by[(n, p)], by[(p, n)]) for n, p in s.pairs if (n, p) in by and (p, n) in by]


def duality_summarize(runs, s: DualitySettings) -> list[dict]:
    records = []
    rng = np.random.default_rng(s.seed)
    for fwd, bwd in _duality_pairs(runs, s):
        n, p = fwd.metrics["n_features"], fwd.metrics["n_samples"]
        for j, a in enumerate(s.a_values):
            l1, l2 = fwd.arrays["loss"][j], bwd.arrays["loss"][j]
            ratio = l1.mean() / l2.mean()
            i1 = rng.integers(0, l1.size, (s.n_boot, l1.size))
            i2 = rng.integers(0, l2.size, (s.n_boot, l2.size))
            boots = l1[i1].mean(1) / l2[i2].mean(1)
            th = fwd.metrics["theory"][j] / bwd.metrics["theory"][j]
            kind = "isotropic" if a == s.b else "anisotropic"
            records.append(comparison(f"L(N={n},P={p})/L(N={p},P={n}) [{kind} a={a:g}]", ratio,
                                      np.quantile(boots, [0.025, 0.975]), th, tol=s.ratio_tol))
    return records


def duality_plot(runs, s: DualitySettings, records: list[dict]):
    fig, axes = figure(ncols=2)
    ax, ax2 = axes[0]
    for j, a in enumerate(s.a_values):
        c = COLORS[j]
        kind = "isotropic" if a == s.b else "anisotropic"
        for k, (fwd, bwd) in enumerate(_duality_pairs(runs, s)):
            l1, l2 = fwd.arrays["loss"][j], bwd.arrays["loss"][j]
            ax.errorbar(l2.mean(), l1.mean(), xerr=l2.std() / np.sqrt(l2.size),
                        yerr=l1.std() / np.sqrt(l1.size), fmt="o", color=c,
                        label=f"a={a:g} ({kind}) sim" if k == 0 else None)
            ax.plot(bwd.metrics["theory"][j], fwd.metrics["theory"][j], "x", color=c, ms=8,
                    label=f"a={a:g} theory" if k == 0 else None)
    lims = np.array(ax.get_xlim() + ax.get_ylim())
    lo, hi = lims.min(), lims.max()
    ax.plot([lo, hi], [lo, hi], "k--", lw=0.8, label="L(N,P) = L(P,N)")
    ax.set(xscale="log", yscale="log", xlabel="L(N = P0, P = N0)", ylabel="L(N = N0, P = P0), N0 < P0",
           title=f"duality, b={s.b:g}, ridge={s.ridge:g}")
    ax.legend(fontsize=7)
    recs = records
    xs = np.arange(len(recs))
    records_errorbar(ax2, xs, recs, label="sim ratio (95% CI)", theory_label="theory ratio")
    ax2.axhline(1.0, color="gray", lw=0.8)
    ax2.set_xticks(xs, [r["quantity"].split(" [")[1].rstrip("]") for r in recs], rotation=60,
                   fontsize=7)
    ax2.set(ylabel="L(N,P)/L(P,N)", title="duality ratio")
    ax2.legend(fontsize=7)
    return fig


RF_DUALITY = Experiment(
    name="rf-duality",
    description="Linear RF ridge: L(N,P) vs L(P,N), exact for isotropic teachers, broken for anisotropic ones.",
    settings=duality_settings, sweep=duality_sweep, run_point=duality_run_point,
    summarize=duality_summarize, plot=duality_plot,
    theory=(rf,), papers=("bahri2021explaining", "maloney2022solvable", "atanasov2024scaling"),
)
