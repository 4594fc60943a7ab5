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
import warnings

import jax
import numpy as np

from ..validate import check_choice, check_positive_ints, check_range
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
    # agreement band: +- z_band standard errors, z_band the two-sided t quantile (d.o.f. = converged
    # seeds - 1) at family-wise level ``level``, Bonferroni-corrected over all points compared
    level: float = 0.95
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
        check_range("level", self.level, 0.0, 1.0, lo_open=True, hi_open=True)


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


def t_quantile(p, df):
    """Quantile of Student's t with ``df`` degrees of freedom (p in (1/2, 1); arrays broadcast).

    Bisection on the CDF 1 - I_{df/(df+t^2)}(df/2, 1/2)/2 (regularized incomplete beta,
    ``jax.scipy.special.betainc``), float64; agrees with scipy.stats.t.ppf (tests)."""
    p, df = np.broadcast_arrays(np.asarray(p, float), np.asarray(df, float))
    if np.any((p <= 0.5) | (p >= 1)) or np.any(df <= 0):
        raise ValueError(f"t_quantile needs 1/2 < p < 1 and df > 0; got p={p}, df={df}")
    with jax.enable_x64(True):
        tail = lambda t: 0.5 * np.asarray(jax.scipy.special.betainc(df / 2, 0.5, df / (df + t * t)))
        lo, hi = np.zeros(p.shape), np.ones(p.shape)
        while np.any(tail(hi) > 1 - p):            # grow the bracket (df = 1 has heavy tails)
            hi = np.where(tail(hi) > 1 - p, 2 * hi, hi)
        for _ in range(80):
            mid = 0.5 * (lo + hi)
            above = tail(mid) > 1 - p               # mid still below the quantile
            lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return 0.5 * (lo + hi)


def _t_within(z, df):
    """P(|T_df| <= z) for Student's t (the chance a point lands within z standard errors)."""
    with jax.enable_x64(True):
        df = np.asarray(df, float)
        return 1.0 - np.asarray(jax.scipy.special.betainc(df / 2, 0.5, df / (df + z * z)))


def sim_summarize(runs, s: SimSettings) -> list[dict]:
    """One record per (theta, f, mode) point: mean test error of the CONVERGED max-margin
    solves (a solve stopped at the iteration cap is not a max-margin solution and is left out;
    n_converged / n_total are recorded) vs theory.  Agreement band: +- z_band standard errors,
    z_band = t quantile (d.o.f. n_converged - 1) at two-sided level 1 - (1 - level)/n_points
    (Bonferroni over all points, so that ALL points agree with chance >= level when the theory
    is exact).  The plain z = (measured - theory)/se is recorded too, and a last record counts
    the points within 2 standard errors against the t-distribution expectation."""
    runs = sorted(runs, key=lambda r: r.metrics["theta_deg"])
    n_points = sum(len(r.arrays["f"]) for r in runs)
    p_point = 1.0 - (1.0 - s.level) / (2 * max(n_points, 1))      # one-sided, per point
    recs, within2, p2 = [], [], []
    for r in runs:
        A = r.arrays
        for i in range(len(A["f"])):
            mode = "easy" if A["easy"][i] else "hard"
            name = f"eps[theta={r.metrics['theta_deg']:g},f={A['f'][i]:g},{mode}]"
            conv = np.asarray(A["converged"][i], bool)
            e = A["eps"][i][conv]
            common = dict(n=s.n, seeds=int(A["eps"][i].size), n_converged=int(conv.sum()),
                          n_total=int(conv.size),
                          theory_status=theory.STATUS_NAMES[int(A["theory_status"][i])],
                          kappa_theory=float(A["theory_kappa"][i]))
            if e.size < 2:
                note = (f"only {e.size} of {conv.size} max-margin solves converged: "
                        "no standard error, point not compared")
                warnings.warn(f"{name}: {note}", stacklevel=2)
                recs.append(comparison(name, float("nan"), (float("nan"),) * 2,
                                       float(A["theory_eps"][i]), note=note, **common))
                continue
            m, se = float(e.mean()), float(e.std(ddof=1) / math.sqrt(e.size))
            k = float(t_quantile(p_point, e.size - 1))
            z = (m - float(A["theory_eps"][i])) / se if se > 0 else float("nan")
            within2.append(bool(abs(z) <= 2.0))
            p2.append(float(_t_within(2.0, e.size - 1)))
            recs.append(comparison(
                name, m, (m - k * se, m + k * se), float(A["theory_eps"][i]),
                z=z, z_band=k,
                band=f"+-{k:.3g} SE: t quantile, {e.size - 1} d.o.f., family-wise level "
                     f"{s.level:g} Bonferroni over {n_points} points",
                within_2se=within2[-1],
                kappa_sim=float(A["kappa"][i][conv].mean()), **common))
    if within2:
        # count of points within 2 SE vs its expectation sum_i P(|T_i| <= 2) under an exact
        # theory; tolerance 2 binomial standard deviations (normal approximation)
        n2, exp2 = sum(within2), sum(p2)
        sd2 = math.sqrt(sum(q * (1 - q) for q in p2))
        recs.append(comparison("eps_points_within_2se", float(n2), (float(n2),) * 2, exp2,
                               tol=2 * sd2, n_points=len(within2),
                               note="count of compared points with |z| <= 2 vs its expectation "
                                    "under Student t; tol = 2 binomial SD"))
    return recs


def sim_plot(runs, s: SimSettings, records: list[dict]):
    fig, axes = figure(ncols=len(s.modes))
    for j, mode in enumerate(s.modes):
        ax = axes[0][j]
        for c, r in enumerate(sorted(runs, key=lambda r: r.metrics["theta_deg"])):
            A, col = r.arrays, COLORS[c % len(COLORS)]
            sel = A["easy"] == (mode == "easy")
            e = np.where(A["converged"][sel], A["eps"][sel], np.nan)     # converged solves only
            nc = np.maximum(np.isfinite(e).sum(1), 1)
            ax.errorbar(A["f"][sel], np.nanmean(e, 1), yerr=2 * np.nanstd(e, 1, ddof=1) / np.sqrt(nc),
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
    summarize=sim_summarize, plot=sim_plot,
    theory=(theory,), papers=("sorscher2022beyond",))


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
    has_ok = np.isfinite(flat).any(axis=1)       # alpha with no (f, mode) of status OK: no frontier
    best = np.nanargmin(np.where(has_ok[:, None], flat, np.inf), axis=1)
    frontier = np.where(has_ok, flat[np.arange(len(alphas)), best], np.nan)
    f_star = np.where(has_ok, fs[best // 2], np.nan)
    if not has_ok.all():
        warnings.warn(f"pruning-frontier theta={p.theta_deg:g}: no (f, mode) has theory status OK at "
                      f"alpha_prune={[float(a) for a in alphas[~has_ok]]}; frontier = nan there",
                      stacklevel=2)
    full = theory.predict(alphas, 1.0, 0.0, "hard")["eps"]
    a_tot = np.geomspace(0.5, 100.0, 8)
    cross = theory.predict(s.crossover_f * a_tot[:, None], s.crossover_f, th, modes[None, :])
    arrays = {"alpha": alphas, "f": fs, "eps": eps, "status": r["status"], "frontier": frontier,
              "f_star": f_star, "mode_star": np.where(has_ok, best % 2, -1), "unpruned": full,
              "alpha_tot": a_tot, "cross_eps": cross["eps"]}
    return {"theta_deg": p.theta_deg, "alpha_no_ok": [float(a) for a in alphas[~has_ok]]}, arrays


def _law(name, holds, **detail):
    """A qualitative law decided by code: measured 1.0 when it holds (theory: 1.0)."""
    v = 1.0 if holds else 0.0
    return comparison(name, v, (v, v), 1.0, **detail)


def frontier_summarize(runs, s: FrontierSettings) -> list[dict]:
    recs = []
    for r in sorted(runs, key=lambda r: r.metrics["theta_deg"]):
        A, tdeg = r.arrays, r.metrics["theta_deg"]
        th = math.radians(tdeg)
        n0 = len(recs)
        ratio = A["frontier"] / A["unpruned"]
        big = ratio[A["alpha"] >= 2.5]
        recs.append(_law(f"frontier_beats_unpruned_power_law[theta={tdeg:g}]",
                         bool(big.size and np.all(big < 1.0)),     # nan (no frontier) fails
                         max_ratio_alpha_ge_2p5=float(np.max(big)) if big.size else float("nan")))
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
        missing = A["alpha"][~np.isfinite(A["frontier"])]
        if missing.size:      # name the alpha where no (f, mode) had theory status OK
            for rec in recs[n0:]:
                rec["note"] = (f"no (f, mode) with theory status OK at alpha_prune="
                               f"{[round(float(a), 4) for a in missing]}: frontier/f* = nan there")
    return recs


def frontier_plot(runs, s: FrontierSettings, records: list[dict]):
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
    summarize=frontier_summarize, plot=frontier_plot,
    theory=(theory,), papers=("sorscher2022beyond",))


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


def _nan_record(name, theory_value, note, **extra):
    """A point that cannot be compared (agrees False), with a warning naming it."""
    warnings.warn(f"{name}: {note}", stacklevel=3)
    return comparison(name, float("nan"), (float("nan"),) * 2, theory_value, note=note, **extra)


def proto_summarize(runs, s: ProtoSettings) -> list[dict]:
    """Statistics over CONVERGED max-margin solves only (n_converged / n_total recorded)."""
    recs = []
    for r in sorted(runs, key=lambda r: r.metrics["separation"]):
        A, m = r.arrays, r.metrics["separation"]
        th = A["theta_eff"]
        conv = np.asarray(A["converged"], bool)
        counts = dict(n_converged=int(conv.sum()), n_total=int(conv.size))
        if m == 0:
            # isotropic data: the centroid direction is random, so theta_eff is the angle of a
            # random direction to T: pi/2 - E|z|/sqrt(N) = pi/2 - sqrt(2/pi)/sqrt(N) [derived]
            expected = math.degrees(math.pi / 2 - math.sqrt(2 / math.pi) / math.sqrt(s.n))
            t = np.degrees(th[conv])
            name = "theta_eff_deg[isotropic]"
            if t.size < 2:
                recs.append(_nan_record(name, expected, f"only {t.size} of {conv.size} max-margin "
                                        "solves converged: not compared", **counts))
                continue
            se = t.std(ddof=1) / math.sqrt(t.size)
            recs.append(comparison(name, float(t.mean()),
                                   (t.mean() - 2 * se, t.mean() + 2 * se), expected, **counts))
        else:
            name = f"prototype_pruning_beats_no_pruning[m={m:g}]"
            nc = conv.sum(1)
            if np.any(nc < 2):
                bad = [float(f) for f in A["f"][nc < 2]]
                recs.append(_nan_record(name, 1.0, f"fewer than 2 converged max-margin solves at "
                                        f"f={bad}: not compared", **counts))
                continue
            e = np.where(conv, A["eps"], np.nan)
            mean = np.nanmean(e, 1)
            se = np.nanstd(e, 1, ddof=1) / np.sqrt(nc)
            best = int(np.argmin(mean))
            helps = mean[best] + 2 * se[best] < mean[0]
            recs.append(_law(name, bool(helps),
                             eps_unpruned=float(mean[0]), eps_best=float(mean[best]),
                             f_best=float(A["f"][best]),
                             theta_eff_deg_at_f_best=float(np.degrees(th[best][conv[best]].mean())),
                             **counts))
    return recs


def proto_plot(runs, s: ProtoSettings, records: list[dict]):
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
    summarize=proto_summarize, plot=proto_plot,
    theory=(theory,), papers=("sorscher2022beyond",))
