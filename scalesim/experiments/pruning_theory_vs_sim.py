"""``pruning-theory-vs-sim``: finite-N max-margin students trained on pruned Gaussian data vs the
replica theory (Sorscher et al. 2022, App. A eqs. (1)-(3); :mod:`scalesim.theory.perceptron`).

Keep-hard / keep-easy, several probe angles theta (settings in degrees, converted to radians for
the simulator and the theory) and kept fractions f.  One run directory per theta; all
(f, mode, seed) problems of a theta run as members of one simulator ensemble
(:mod:`scalesim.models.perceptron`, member id = seed).  Records compare the mean test error of
the converged solves with the theory's eps at the same point (a pure numerical theory value).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import numpy as np

from ..fit.records import comparison
from ..models import perceptron as sim
from ..plots import COLORS, figure
from ..simulator import run_simulator
from ..stats import t_quantile, t_within
from ..theory import perceptron as theory
from ..validate import check_choice, check_positive_ints, check_range, check_seed
from ._pruning import PAPERS, ThetaPoint, check_fs, check_seeds, check_thetas, nan_record, problems_cost
from .base import Experiment
from ..preflight import Cost

__all__ = ["EXPERIMENT", "SimSettings", "settings", "sweep", "run_point", "summarize", "plot"]


@dataclasses.dataclass(frozen=True)
class SimSettings:
    """Knobs of ``pruning-theory-vs-sim`` (each settable with ``--set key=value``)."""

    n: int = 200                                   # input dimension N
    alpha_prune: float = 3.0                       # kept examples per dimension
    fs: tuple[float, ...] = (1.0, 0.5, 0.2, 0.1)   # kept fractions
    thetas_deg: tuple[float, ...] = (0.0, 10.0, 20.0)  # probe angles (DEGREES), one run each
    modes: tuple[str, ...] = ("hard", "easy")
    seeds: int = 6
    # agreement band: +- z_band standard errors, z_band the two-sided t quantile (d.o.f. = converged
    # seeds - 1) at family-wise level ``level``, Bonferroni-corrected over all points compared
    level: float = 0.95
    seed: int = 0

    def __post_init__(self):
        check_positive_ints("n", self.n)
        check_range("alpha_prune", self.alpha_prune, 0.0, 1e4, lo_open=True)
        check_fs("fs", self.fs)
        check_thetas("thetas_deg", self.thetas_deg)
        for m in self.modes:
            check_choice("modes", m, sim.MODES)
        check_seeds(self.seeds)
        check_range("level", self.level, 0.0, 1.0, lo_open=True, hi_open=True)
        check_seed("seed", self.seed)


def settings(quick: bool) -> SimSettings:
    if quick:
        return SimSettings(n=100, fs=(1.0, 0.4, 0.15), thetas_deg=(0.0,), seeds=8)
    return SimSettings()


def sweep(s: SimSettings) -> list[ThetaPoint]:
    return [ThetaPoint(float(t)) for t in s.thetas_deg]


def run_point(p: ThetaPoint, s: SimSettings):
    with jax.enable_x64(True):          # theory and the max-margin solver in float64
        return _run_point(p, s)


def _run_point(p: ThetaPoint, s: SimSettings):
    th = math.radians(p.theta_deg)      # settings in degrees; simulator and theory take radians
    fs = np.repeat(np.asarray(s.fs, float), len(s.modes))
    modes = np.tile(np.asarray(s.modes), len(s.fs))
    V, S = len(fs), s.seeds
    key = jax.random.fold_in(jax.random.PRNGKey(s.seed), int(round(p.theta_deg * 1000)))
    cfg = sim.Config(n=s.n, alpha_prune=s.alpha_prune, f_min=float(fs.min()))
    hyper = sim.make_hyper(np.repeat(fs, S), th, np.repeat(modes, S))
    r = run_simulator(sim.SIMULATOR, cfg, hyper, key=key, member_ids=np.tile(np.arange(S), V))
    r = {k: v.reshape(V, S) for k, v in r.items()}
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


def summarize(runs, s: SimSettings) -> list[dict]:
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
        A, tdeg = r.arrays, r.metrics["theta_deg"]
        for i in range(len(A["f"])):
            mode = "easy" if A["easy"][i] else "hard"
            name = f"eps[theta={tdeg:g},f={A['f'][i]:g},{mode}]"
            conv = np.asarray(A["converged"][i], bool)
            e = A["eps"][i][conv]
            common = dict(n=s.n, seeds=int(A["eps"][i].size), n_converged=int(conv.sum()),
                          n_total=int(conv.size),
                          theory_status=theory.STATUS_NAMES[int(A["theory_status"][i])],
                          kappa_theory=float(A["theory_kappa"][i]),
                          theta_deg=float(tdeg), f=float(A["f"][i]), mode=mode)
            if e.size < 2:
                recs.append(nan_record(name, float(A["theory_eps"][i]),
                                       f"only {e.size} of {conv.size} max-margin solves converged: "
                                       "no standard error, point not compared", **common))
                continue
            # mean +- k SE with the Bonferroni t quantile k; z_band and z need k and SE
            # themselves, so the interval is formed here rather than by stats.mean_ci
            m, se = float(e.mean()), float(e.std(ddof=1) / math.sqrt(e.size))
            k = float(t_quantile(p_point, e.size - 1))
            z = (m - float(A["theory_eps"][i])) / se if se > 0 else float("nan")
            within2.append(bool(abs(z) <= 2.0))
            p2.append(float(t_within(2.0, e.size - 1)))
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


def plot(runs, s: SimSettings, records: list[dict]):
    """Measured eps with the records' bands (points) and the theory curve (lines) against f."""
    fig, axes = figure(ncols=len(s.modes))
    pts = [r for r in records if "theta_deg" in r and math.isfinite(r["measured"])]
    for j, mode in enumerate(s.modes):
        ax = axes[0][j]
        for c, r in enumerate(sorted(runs, key=lambda r: r.metrics["theta_deg"])):
            A, col, tdeg = r.arrays, COLORS[c % len(COLORS)], r.metrics["theta_deg"]
            mine = [q for q in pts if q["theta_deg"] == tdeg and q["mode"] == mode]
            if mine:
                m = np.array([q["measured"] for q in mine])
                lo, hi = np.array([q["ci"] for q in mine]).T
                ax.errorbar([q["f"] for q in mine], m, yerr=np.stack([m - lo, hi - m]), fmt="o",
                            color=col, ms=4, label=f"sim theta={tdeg:g} deg")
            k = int(np.flatnonzero(A["curve_easy"] == (mode == "easy"))[0])
            ax.plot(A["curve_f"], A["curve_eps"][:, k], "-", color=col, lw=1)
        ax.set(xscale="log", xlabel="kept fraction f", ylabel="test error eps",
               title=f"keep-{mode}, alpha_prune={s.alpha_prune:g}, N={s.n}")
        ax.legend(fontsize=7)
    return fig


def cost(p: ThetaPoint, s: SimSettings) -> Cost:
    """Pre-flight estimate (:func:`._pruning.problems_cost`): one problem per f, mode and seed."""
    return problems_cost(s, len(s.fs) * len(s.modes) * s.seeds)


EXPERIMENT = Experiment(
    name="pruning-theory-vs-sim",
    description="Pruned max-margin perceptron: finite-N simulation vs replica theory (keep-hard/easy, theta, f).",
    settings=settings, sweep=sweep, run_point=run_point,
    summarize=summarize, plot=plot,
    theory=(theory,), papers=PAPERS, cost=cost)
