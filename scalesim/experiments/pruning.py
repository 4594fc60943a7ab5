"""Data-pruning experiments (Sorscher et al. 2022, arXiv:2206.14486; note
/work/shared/research/data_pruning.md).

* ``pruning-theory-vs-sim``: finite-N max-margin students trained on pruned Gaussian data vs the
  replica theory (:mod:`scalesim.theory.perceptron`), keep-hard / keep-easy, several probe
  angles theta and kept fractions f.  One run directory per theta; all (f, mode, seed) problems
  of a theta are solved in one vmapped program.
* ``pruning-frontier``: theory only.  The Pareto frontier eps*(alpha_prune) = min over f (both
  modes) at fixed theta, the optimal f*, its comparison with the unpruned power law
  eps ~ 0.5/alpha, the keep-hard vs keep-easy crossover in alpha_tot, and the small-f collapse
  eps -> 1/2 - theta/pi.  The qualitative laws are decided by code and reported as records.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import numpy as np

from ..config import check_choice, check_positive_ints, check_range
from ..fit.records import comparison
from ..models import perceptron as sim
from ..plots import COLORS, figure
from ..theory import perceptron as theory
from .base import Experiment

__all__ = ["SimSettings", "FrontierSettings", "ProtoSettings", "THEORY_VS_SIM", "FRONTIER", "PROTOTYPES"]


def _check_thetas(name, values):
    for t in values:
        check_range(name, t, 0.0, 90.0, hi_open=True)


def _check_fs(name, values):
    if not values:
        raise ValueError(f"{name} must be non-empty")
    for f in values:
        check_range(name, f, 0.0, 1.0, lo_open=True)


# ----------------------------------------------------------------------------------------------
# pruning-theory-vs-sim
# ----------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class SimSettings:
    """Knobs of ``pruning-theory-vs-sim`` (each settable with ``--set key=value``)."""

    n: int = 200                                   # input dimension N
    alpha_prune: float = 3.0                       # kept examples per dimension
    fs: tuple[float, ...] = (1.0, 0.5, 0.2, 0.1)   # kept fractions
    thetas_deg: tuple[float, ...] = (0.0, 10.0, 20.0)  # probe angles (degrees), one run each
    modes: tuple[str, ...] = ("hard", "easy")
    seeds: int = 6
    n_se: float = 2.0                              # agreement band: +- n_se standard errors
    seed: int = 0

    def __post_init__(self):
        check_positive_ints("n", self.n)
        check_range("alpha_prune", self.alpha_prune, 0.0, None, lo_open=True)
        _check_fs("fs", self.fs)
        _check_thetas("thetas_deg", self.thetas_deg)
        for m in self.modes:
            check_choice("modes", m, sim.MODES)
        check_positive_ints("seeds", self.seeds)
        if self.seeds < 2:
            raise ValueError(f"seeds must be >= 2 for a standard error; got {self.seeds}")
        check_range("n_se", self.n_se, 0.0, None, lo_open=True)


@dataclasses.dataclass(frozen=True)
class ThetaPoint:
    theta_deg: float


def sim_settings(quick: bool) -> SimSettings:
    if quick:
        return SimSettings(n=100, fs=(1.0, 0.4, 0.15), thetas_deg=(0.0,), seeds=8)
    return SimSettings()


def sim_sweep(s: SimSettings) -> list[ThetaPoint]:
    return [ThetaPoint(float(t)) for t in s.thetas_deg]


def sim_run_point(p: ThetaPoint, s: SimSettings):
    with jax.enable_x64(True):          # theory and the max-margin solver in float64
        return _sim_run_point(p, s)


def _sim_run_point(p: ThetaPoint, s: SimSettings):
    th = math.radians(p.theta_deg)
    fs = np.repeat(np.asarray(s.fs, float), len(s.modes))
    modes = np.tile(np.asarray(s.modes), len(s.fs))
    key = jax.random.fold_in(jax.random.PRNGKey(s.seed), int(round(p.theta_deg * 1000)))
    r = sim.simulate(s.n, s.alpha_prune, fs, th, modes, np.arange(s.seeds), key)
    th_pts = theory.predict(s.alpha_prune, fs, th, modes)
    f_curve = np.geomspace(min(s.fs), 1.0, 8)
    curve = theory.predict(s.alpha_prune, f_curve[:, None], th, np.asarray(s.modes)[None, :])
    arrays = {"f": fs, "easy": modes == "easy", "eps": r["eps"], "kappa": r["kappa"],
              "converged": r["converged"], "theta_measured": r["theta_measured"],
              "theory_eps": th_pts["eps"], "theory_kappa": th_pts["kappa"],
              "theory_status": th_pts["status"], "curve_f": f_curve,
              "curve_eps": curve["eps"], "curve_easy": np.asarray(s.modes) == "easy"}
    metrics = {"theta_deg": p.theta_deg, "problems": int(r["eps"].size),
               "converged": int(r["converged"].sum())}
    return metrics, arrays


def sim_summarize(runs, s: SimSettings) -> list[dict]:
    recs = []
    for r in sorted(runs, key=lambda r: r.metrics["theta_deg"]):
        A = r.arrays
        for i in range(len(A["f"])):
            e = A["eps"][i]
            m, se = float(e.mean()), float(e.std(ddof=1) / math.sqrt(e.size))
            mode = "easy" if A["easy"][i] else "hard"
            recs.append(comparison(
                f"eps[theta={r.metrics['theta_deg']:g},f={A['f'][i]:g},{mode}]", m,
                (m - s.n_se * se, m + s.n_se * se), float(A["theory_eps"][i]),
                n=s.n, seeds=int(e.size), theory_status=theory.STATUS_NAMES[int(A["theory_status"][i])],
                kappa_sim=float(A["kappa"][i].mean()), kappa_theory=float(A["theory_kappa"][i])))
    return recs


def sim_plot(runs, s: SimSettings):
    fig, axes = figure(ncols=len(s.modes))
    for j, mode in enumerate(s.modes):
        ax = axes[0][j]
        for c, r in enumerate(sorted(runs, key=lambda r: r.metrics["theta_deg"])):
            A, col = r.arrays, COLORS[c % len(COLORS)]
            sel = A["easy"] == (mode == "easy")
            e = A["eps"][sel]
            ax.errorbar(A["f"][sel], e.mean(1), yerr=2 * e.std(1, ddof=1) / math.sqrt(e.shape[1]),
                        fmt="o", color=col, ms=4, label=f"sim theta={r.metrics['theta_deg']:g}")
            k = int(np.flatnonzero(A["curve_easy"] == (mode == "easy"))[0])
            ax.plot(A["curve_f"], A["curve_eps"][:, k], "-", color=col, lw=1)
        ax.set(xscale="log", xlabel="kept fraction f", ylabel="test error eps",
               title=f"keep-{mode}, alpha_prune={s.alpha_prune:g}, N={s.n}")
        ax.legend(fontsize=7)
    return fig


THEORY_VS_SIM = Experiment(
    name="pruning-theory-vs-sim",
    description="Pruned max-margin perceptron: finite-N simulation vs replica theory (keep-hard/easy, theta, f).",
    settings=sim_settings, sweep=sim_sweep, run_point=sim_run_point,
    summarize=sim_summarize, plot=sim_plot)


# ----------------------------------------------------------------------------------------------
# pruning-frontier (theory)
# ----------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class FrontierSettings:
    """Knobs of ``pruning-frontier`` (each settable with ``--set key=value``)."""

    thetas_deg: tuple[float, ...] = (0.0, 10.0, 20.0)
    alpha_min: float = 1.0
    alpha_max: float = 30.0
    n_alpha: int = 8
    f_min: float = 0.01
    n_f: int = 16
    crossover_f: float = 0.2          # fixed f of the keep-hard vs keep-easy crossover scan
    collapse_tol: float = 0.01        # |eps(f_min) - (1/2 - theta/pi)| allowed for the collapse law

    def __post_init__(self):
        _check_thetas("thetas_deg", self.thetas_deg)
        check_range("alpha_min", self.alpha_min, 0.0, None, lo_open=True)
        check_range("alpha_max", self.alpha_max, self.alpha_min, None, lo_open=True)
        check_positive_ints("n_alpha", self.n_alpha)
        check_range("f_min", self.f_min, 0.0, 1.0, lo_open=True, hi_open=True)
        check_positive_ints("n_f", self.n_f)
        check_range("crossover_f", self.crossover_f, 0.0, 1.0, lo_open=True, hi_open=True)
        check_range("collapse_tol", self.collapse_tol, 0.0, None, lo_open=True)


def frontier_settings(quick: bool) -> FrontierSettings:
    if quick:
        return FrontierSettings(thetas_deg=(0.0,), alpha_min=1.5, alpha_max=12.0, n_alpha=4,
                                n_f=6)
    return FrontierSettings()


def frontier_sweep(s: FrontierSettings) -> list[ThetaPoint]:
    return [ThetaPoint(float(t)) for t in s.thetas_deg]


def frontier_run_point(p: ThetaPoint, s: FrontierSettings):
    with jax.enable_x64(True):
        return _frontier_run_point(p, s)


def _frontier_run_point(p: ThetaPoint, s: FrontierSettings):
    th = math.radians(p.theta_deg)
    alphas = np.geomspace(s.alpha_min, s.alpha_max, s.n_alpha)
    fs = np.geomspace(s.f_min, 1.0, s.n_f)
    modes = np.array(["hard", "easy"])
    r = theory.predict(alphas[:, None, None], fs[None, :, None], th, modes[None, None, :])
    eps = np.where(r["status"] == theory.OK, r["eps"], np.nan)        # [A, F, 2]
    flat = eps.reshape(len(alphas), -1)
    best = np.nanargmin(flat, axis=1)
    frontier = flat[np.arange(len(alphas)), best]
    f_star = fs[best // 2]
    full = theory.predict(alphas, 1.0, 0.0, "hard")["eps"]
    a_tot = np.geomspace(0.5, 100.0, 8)
    cross = theory.predict(s.crossover_f * a_tot[:, None], s.crossover_f, th, modes[None, :])
    arrays = {"alpha": alphas, "f": fs, "eps": eps, "status": r["status"], "frontier": frontier,
              "f_star": f_star, "mode_star": best % 2, "unpruned": full, "alpha_tot": a_tot,
              "cross_eps": cross["eps"]}
    return {"theta_deg": p.theta_deg}, arrays


def _law(name, holds, **detail):
    """A qualitative law decided by code: measured 1.0 when it holds (theory: 1.0)."""
    v = 1.0 if holds else 0.0
    return comparison(name, v, (v, v), 1.0, **detail)


def frontier_summarize(runs, s: FrontierSettings) -> list[dict]:
    recs = []
    for r in sorted(runs, key=lambda r: r.metrics["theta_deg"]):
        A, tdeg = r.arrays, r.metrics["theta_deg"]
        th = math.radians(tdeg)
        ratio = A["frontier"] / A["unpruned"]
        recs.append(_law(f"frontier_beats_unpruned_power_law[theta={tdeg:g}]",
                         bool(np.all(ratio[A["alpha"] >= 2.5] < 1.0)),
                         max_ratio_alpha_ge_2p5=float(np.nanmax(ratio[A["alpha"] >= 2.5]))))
        d = A["cross_eps"][:, 0] - A["cross_eps"][:, 1]                     # hard - easy
        ok = np.isfinite(d)
        sgn = np.sign(d[ok])
        flips = np.flatnonzero(np.diff(sgn) != 0)
        a_cross = float(A["alpha_tot"][ok][flips[0] + 1]) if flips.size else float("nan")
        recs.append(_law(f"easy_wins_small_data_hard_wins_large_data[theta={tdeg:g},f={s.crossover_f:g}]",
                         bool(sgn.size and sgn[0] > 0 and sgn[-1] < 0),
                         crossover_alpha_tot=a_cross))
        hard = A["eps"][..., 0]
        if tdeg > 0:      # at theta = 0 the frontier is degenerate (f* = f_min beyond alpha = 2)
            # where keep-hard is Pareto-optimal, the frontier falls faster than the unpruned
            # learning curve (local log-log slope over the first three such alpha) ...
            hard_opt = A["mode_star"] == 0
            j = np.flatnonzero(hard_opt)[:3]
            if j.size == 3:
                la = np.log(A["alpha"][j])
                k_front = -np.polyfit(la, np.log(A["frontier"][j]), 1)[0]
                k_full = -np.polyfit(la, np.log(A["unpruned"][j]), 1)[0]
                recs.append(_law(f"frontier_steeper_than_unpruned_power_law[theta={tdeg:g}]",
                                 bool(k_front > k_full), frontier_slope=float(k_front),
                                 unpruned_slope=float(k_full),
                                 alpha_range=[float(A["alpha"][j[0]]), float(A["alpha"][j[-1]])]))
            # ... and the optimal kept fraction falls with alpha
            fsh = A["f_star"][hard_opt]
            recs.append(_law(f"optimal_keep_hard_f_decreases_with_alpha[theta={tdeg:g}]",
                             bool(fsh.size >= 2 and fsh[-1] < fsh[0]),
                             f_star_first=float(fsh[0]) if fsh.size else float("nan"),
                             f_star_last=float(fsh[-1]) if fsh.size else float("nan")))
            # collapse at the smallest f, at the grid alpha nearest 4 (above the capacity 2:
            # below it the orthogonal component is not even learned and eps stays higher)
            i = int(np.argmin(np.abs(np.log(A["alpha"] / 4.0))))
            recs.append(comparison(f"collapse_eps_small_f[theta={tdeg:g},alpha={A['alpha'][i]:.3g}]",
                                   float(hard[i, 0]), (float(hard[i, 0]),) * 2, 0.5 - th / math.pi,
                                   tol=s.collapse_tol, f=float(A["f"][0])))
        else:
            # threshold near alpha_prune = 2 at the smallest f: eps ~ 1/2 below, ~0.5 f/alpha above
            small = hard[:, 0]
            below, above = small[A["alpha"] < 1.8], small[A["alpha"] > 2.3]
            recs.append(_law("theta0_keep_hard_threshold_near_alpha_2",
                             bool(below.size and above.size and np.all(below > 0.3) and np.all(above < 0.1)),
                             f=float(A["f"][0])))
    return recs


def frontier_plot(runs, s: FrontierSettings):
    fig, axes = figure(ncols=2)
    ax, ax2 = axes[0]
    for c, r in enumerate(sorted(runs, key=lambda r: r.metrics["theta_deg"])):
        A, col = r.arrays, COLORS[c % len(COLORS)]
        ax.plot(A["alpha"], A["frontier"], "o-", color=col, label=f"frontier theta={r.metrics['theta_deg']:g}")
        ax2.plot(A["alpha"], A["f_star"], "o-", color=col, label=f"theta={r.metrics['theta_deg']:g}")
        if c == 0:
            ax.plot(A["alpha"], A["unpruned"], "k--", label="unpruned (~0.5/alpha)")
    ax.set(xscale="log", yscale="log", xlabel="alpha_prune", ylabel="eps* = min_f eps",
           title="Pareto frontier (theory)")
    ax2.set(xscale="log", yscale="log", xlabel="alpha_prune", ylabel="optimal kept fraction f*")
    ax.legend(fontsize=7)
    ax2.legend(fontsize=7)
    return fig


FRONTIER = Experiment(
    name="pruning-frontier",
    description="Replica theory of pruning: Pareto frontier eps*(alpha_prune), f*, hard/easy crossover, collapse.",
    settings=frontier_settings, sweep=frontier_sweep, run_point=frontier_run_point,
    summarize=frontier_summarize, plot=frontier_plot)


# ----------------------------------------------------------------------------------------------
# pruning-prototypes (label-free k-means metric on a Gaussian mixture)
# ----------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class ProtoSettings:
    """Knobs of ``pruning-prototypes`` (each settable with ``--set key=value``)."""

    n: int = 200
    alpha_prune: float = 3.0
    fs: tuple[float, ...] = (1.0, 0.5, 0.3, 0.2, 0.1)
    separations: tuple[float, ...] = (0.0, 1.0, 2.0)   # mixture x = c m T + g; m = 0: isotropic
    n_clusters: int = 2
    seeds: int = 6
    seed: int = 0

    def __post_init__(self):
        check_positive_ints("n", self.n)
        check_range("alpha_prune", self.alpha_prune, 0.0, None, lo_open=True)
        _check_fs("fs", self.fs)
        for m in self.separations:
            check_range("separations", m, 0.0, None)
        check_positive_ints("n_clusters", self.n_clusters)
        if self.n_clusters < 2:
            raise ValueError(f"n_clusters must be >= 2; got {self.n_clusters}")
        check_positive_ints("seeds", self.seeds)
        if self.seeds < 2:
            raise ValueError(f"seeds must be >= 2 for a standard error; got {self.seeds}")


@dataclasses.dataclass(frozen=True)
class SepPoint:
    separation: float


def proto_settings(quick: bool) -> ProtoSettings:
    if quick:
        return ProtoSettings(n=80, fs=(1.0, 0.3), separations=(0.0, 2.0), seeds=4)
    return ProtoSettings()


def proto_sweep(s: ProtoSettings) -> list[SepPoint]:
    return [SepPoint(float(m)) for m in s.separations]


def proto_run_point(p: SepPoint, s: ProtoSettings):
    from ..models import prototypes

    with jax.enable_x64(True):
        key = jax.random.fold_in(jax.random.PRNGKey(s.seed), int(round(p.separation * 1000)))
        r = prototypes.simulate(s.n, s.alpha_prune, s.fs, p.separation, s.n_clusters,
                                np.arange(s.seeds), key)
    arrays = {"f": np.asarray(s.fs, float), "eps": r["eps"], "theta_eff": r["theta_eff"],
              "converged": r["converged"]}
    return {"separation": p.separation, "converged": int(r["converged"].sum())}, arrays


def proto_summarize(runs, s: ProtoSettings) -> list[dict]:
    recs = []
    for r in sorted(runs, key=lambda r: r.metrics["separation"]):
        A, m = r.arrays, r.metrics["separation"]
        th = A["theta_eff"]
        if m == 0:
            # isotropic data: the centroid direction is random, so theta_eff is the angle of a
            # random direction to T: pi/2 - E|z|/sqrt(N) = pi/2 - sqrt(2/pi)/sqrt(N) [derived]
            expected = math.degrees(math.pi / 2 - math.sqrt(2 / math.pi) / math.sqrt(s.n))
            t = np.degrees(th.ravel())
            se = t.std(ddof=1) / math.sqrt(t.size)
            recs.append(comparison("theta_eff_deg[isotropic]", float(t.mean()),
                                   (t.mean() - 2 * se, t.mean() + 2 * se), expected))
        else:
            e = A["eps"]
            best = int(np.argmin(e.mean(1)))
            helps = e.mean(1)[best] + 2 * e[best].std(ddof=1) / math.sqrt(e.shape[1]) < e.mean(1)[0]
            recs.append(_law(f"prototype_pruning_beats_no_pruning[m={m:g}]", bool(helps),
                             eps_unpruned=float(e.mean(1)[0]), eps_best=float(e.mean(1)[best]),
                             f_best=float(A["f"][best]),
                             theta_eff_deg_at_f_best=float(np.degrees(th[best].mean()))))
    return recs


def proto_plot(runs, s: ProtoSettings):
    fig, axes = figure(ncols=2)
    ax, ax2 = axes[0]
    for c, r in enumerate(sorted(runs, key=lambda r: r.metrics["separation"])):
        A, col = r.arrays, COLORS[c % len(COLORS)]
        e, th = A["eps"], np.degrees(A["theta_eff"])
        ax.errorbar(A["f"], e.mean(1), yerr=2 * e.std(1, ddof=1) / math.sqrt(e.shape[1]), fmt="o-",
                    color=col, ms=4, label=f"m={r.metrics['separation']:g}")
        ax2.errorbar(A["f"], th.mean(1), yerr=2 * th.std(1, ddof=1) / math.sqrt(th.shape[1]),
                     fmt="o-", color=col, ms=4, label=f"m={r.metrics['separation']:g}")
    ax.set(xscale="log", yscale="log", xlabel="kept fraction f", ylabel="test error eps",
           title=f"prototype pruning, alpha_prune={s.alpha_prune:g}")
    ax2.set(xscale="log", xlabel="kept fraction f", ylabel="effective probe angle (deg)")
    ax.legend(fontsize=7)
    ax2.legend(fontsize=7)
    return fig


PROTOTYPES = Experiment(
    name="pruning-prototypes",
    description="Label-free k-means prototype pruning on a Gaussian mixture: error vs f and effective theta.",
    settings=proto_settings, sweep=proto_sweep, run_point=proto_run_point,
    summarize=proto_summarize, plot=proto_plot)
