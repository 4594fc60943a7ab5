"""``pruning-frontier``: the replica theory of pruning on its own (Sorscher et al. 2022, App. A
eqs. (1)-(3); :mod:`scalesim.theory.perceptron`).

The Pareto frontier eps*(alpha_prune) = min over f (both modes) at fixed theta, the optimal f*
(:func:`scalesim.theory.pruning_frontier.pareto_frontier`: golden-section search in f inside the
bracket of the f grid), its comparison with the unpruned learning curve (f = 1), the keep-hard vs
keep-easy crossover in alpha_tot (:func:`~scalesim.theory.pruning_frontier.crossover_alpha_tot`:
root-found inside the first sign change on an 8-point alpha_tot grid), the theta = 0 keep-hard
threshold at alpha_prune = 2 and, for theta > 0, the small-f collapse eps -> 1/2 - theta/pi.
The qualitative laws are decided by code and reported as records (theory 1.0 = "holds"); the
crossover record carries the root (``crossover_alpha_tot``) and its grid bracket
(``crossover_grid_bracket``); the collapse record takes its theory value from
:func:`scalesim.theory.perceptron.exponents`.  Settings give theta in degrees; the theory takes
radians.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import jax
import numpy as np

from ..fit.records import comparison
from ..plots import COLORS, figure
from ..theory import perceptron as theory
from ..theory import pruning_frontier as frontier_theory
from ..validate import check_positive_ints, check_range, check_tolerance
from ._pruning import PAPERS, ThetaPoint, check_thetas, law
from .base import Experiment
from ..preflight import Cost, ensemble_cost

__all__ = ["EXPERIMENT", "FrontierSettings", "settings", "sweep", "run_point", "summarize", "plot"]


@dataclasses.dataclass(frozen=True)
class FrontierSettings:
    """Knobs of ``pruning-frontier`` (each settable with ``--set key=value``)."""

    thetas_deg: tuple[float, ...] = (0.0, 10.0, 20.0)   # probe angles (DEGREES), one run each
    alpha_min: float = 1.0
    alpha_max: float = 30.0
    n_alpha: int = 8
    f_min: float = 0.01
    n_f: int = 16
    crossover_f: float = 0.2          # fixed f of the keep-hard vs keep-easy crossover scan
    collapse_tol: float = 0.01        # |eps(f_min) - (1/2 - theta/pi)| allowed for the collapse law

    def __post_init__(self):
        check_thetas("thetas_deg", self.thetas_deg)
        check_range("alpha_min", self.alpha_min, 0.0, 1e4, lo_open=True)
        check_range("alpha_max", self.alpha_max, self.alpha_min, 1e4, lo_open=True)
        check_positive_ints("n_alpha", self.n_alpha, 10**4)
        check_range("f_min", self.f_min, 0.0, 1.0, lo_open=True, hi_open=True)
        check_positive_ints("n_f", self.n_f, 10**4)
        check_range("crossover_f", self.crossover_f, 0.0, 1.0, lo_open=True, hi_open=True)
        check_tolerance("collapse_tol", self.collapse_tol)


def settings(quick: bool) -> FrontierSettings:
    if quick:
        return FrontierSettings(thetas_deg=(0.0,), alpha_min=1.5, alpha_max=12.0, n_alpha=4,
                                n_f=6)
    return FrontierSettings()


def sweep(s: FrontierSettings) -> list[ThetaPoint]:
    return [ThetaPoint(float(t)) for t in s.thetas_deg]


def run_point(p: ThetaPoint, s: FrontierSettings):
    with jax.enable_x64(True):
        return _run_point(p, s)


def _run_point(p: ThetaPoint, s: FrontierSettings):
    th = math.radians(p.theta_deg)      # settings in degrees; the theory takes radians
    alphas = np.geomspace(s.alpha_min, s.alpha_max, s.n_alpha)
    # the f grid (geomspace(f_min, 1, n_f)) brackets each minimum; eps = nan where not OK
    fr = frontier_theory.pareto_frontier(alphas, th, f_min=s.f_min, n_grid=s.n_f, modes=("hard", "easy"))
    fs, eps = fr["grid_f"], fr["grid_eps"]                              # [A, F, 2]
    has_ok = fr["status"] == theory.OK   # alpha with no (f, mode) of status OK: no frontier
    if not has_ok.all():
        warnings.warn(f"pruning-frontier theta={p.theta_deg:g}: no (f, mode) has theory status OK at "
                      f"alpha_prune={[float(a) for a in alphas[~has_ok]]}; frontier = nan there",
                      stacklevel=2)
    full = theory.predict(alphas, 1.0, 0.0, "hard")["eps"]
    cross = frontier_theory.crossover_alpha_tot(s.crossover_f, th, alpha_tot_min=0.5,
                                                alpha_tot_max=100.0, n_grid=8)
    arrays = {"alpha": alphas, "f": fs, "eps": eps, "status": fr["grid_status"],
              "frontier": fr["eps"], "f_star": fr["f"], "mode_star": fr["mode"], "unpruned": full,
              "alpha_tot": cross["grid_alpha_tot"], "cross_eps": cross["grid_eps"],
              "crossover_alpha_tot": cross["alpha_tot"], "crossover_bracket": cross["bracket"]}
    return {"theta_deg": p.theta_deg, "alpha_no_ok": [float(a) for a in alphas[~has_ok]]}, arrays


def _theta_pos_laws(A, tdeg, th, s):
    """Records at theta > 0: frontier slope, f* trend and the small-f collapse."""
    recs, hard = [], A["eps"][..., 0]
    # where keep-hard is Pareto-optimal, the frontier falls faster than the unpruned learning
    # curve (local log-log slope over the first three such alpha) ...
    hard_opt = A["mode_star"] == 0
    j = np.flatnonzero(hard_opt)[:3]
    if j.size == 3:
        la = np.log(A["alpha"][j])
        k_front = -np.polyfit(la, np.log(A["frontier"][j]), 1)[0]
        k_full = -np.polyfit(la, np.log(A["unpruned"][j]), 1)[0]
        recs.append(law(f"frontier_steeper_than_unpruned_power_law[theta={tdeg:g}]",
                        bool(k_front > k_full), frontier_slope=float(k_front),
                        unpruned_slope=float(k_full),
                        alpha_range=[float(A["alpha"][j[0]]), float(A["alpha"][j[-1]])]))
    # ... and the optimal kept fraction falls with alpha
    fsh = A["f_star"][hard_opt]
    recs.append(law(f"optimal_keep_hard_f_decreases_with_alpha[theta={tdeg:g}]",
                    bool(fsh.size >= 2 and fsh[-1] < fsh[0]),
                    f_star_first=float(fsh[0]) if fsh.size else float("nan"),
                    f_star_last=float(fsh[-1]) if fsh.size else float("nan")))
    # collapse at the smallest f, at the grid alpha nearest 4 (above the capacity 2: below it
    # the orthogonal component is not even learned and eps stays higher)
    i = int(np.argmin(np.abs(np.log(A["alpha"] / 4.0))))
    recs.append(comparison(f"collapse_eps_small_f[theta={tdeg:g},alpha={A['alpha'][i]:.3g}]",
                           float(hard[i, 0]), (float(hard[i, 0]),) * 2,
                           theory.exponents(theta=th)["collapse_keep_hard"],
                           tol=s.collapse_tol, f=float(A["f"][0])))
    return recs


def summarize(runs, s: FrontierSettings) -> list[dict]:
    recs = []
    for r in sorted(runs, key=lambda r: r.metrics["theta_deg"]):
        A, tdeg = r.arrays, r.metrics["theta_deg"]
        th = math.radians(tdeg)
        n0 = len(recs)
        ratio = A["frontier"] / A["unpruned"]
        big = ratio[A["alpha"] >= 2.5]
        recs.append(law(f"frontier_beats_unpruned_power_law[theta={tdeg:g}]",
                        bool(big.size and np.all(big < 1.0)),     # nan (no frontier) fails
                        max_ratio_alpha_ge_2p5=float(np.max(big)) if big.size else float("nan")))
        d = A["cross_eps"][:, 0] - A["cross_eps"][:, 1]                     # hard - easy
        ok = np.isfinite(d)
        sgn = np.sign(d[ok])
        flips = np.flatnonzero(np.diff(sgn) != 0)
        bracket = (A["alpha_tot"][ok][flips[0]: flips[0] + 2].tolist() if flips.size
                   else [float("nan")] * 2)
        # root-found inside the grid bracket (a store written before the root existed: nan)
        a_cross = float(A["crossover_alpha_tot"]) if "crossover_alpha_tot" in A else float("nan")
        recs.append(law(f"easy_wins_small_data_hard_wins_large_data[theta={tdeg:g},f={s.crossover_f:g}]",
                        bool(sgn.size and sgn[0] > 0 and sgn[-1] < 0),
                        crossover_alpha_tot=a_cross, crossover_grid_bracket=bracket))
        if tdeg > 0:      # at theta = 0 the frontier is degenerate (f* = f_min beyond alpha = 2)
            recs += _theta_pos_laws(A, tdeg, th, s)
        else:
            # threshold at the declared alpha_c = 2 at the smallest f: eps ~ 1/2 below 0.9
            # alpha_c, eps ~ 0.5 f/alpha (small) above 1.15 alpha_c
            a_c = theory.exponents()["keep_hard_threshold_theta0"].value
            small = A["eps"][:, 0, 0]
            below, above = small[A["alpha"] < 0.9 * a_c], small[A["alpha"] > 1.15 * a_c]
            recs.append(law("theta0_keep_hard_threshold_near_alpha_2",
                            bool(below.size and above.size and np.all(below > 0.3) and np.all(above < 0.1)),
                            f=float(A["f"][0])))
        missing = A["alpha"][~np.isfinite(A["frontier"])]
        if missing.size:      # name the alpha where no (f, mode) had theory status OK
            for rec in recs[n0:]:
                rec["note"] = (f"no (f, mode) with theory status OK at alpha_prune="
                               f"{[round(float(a), 4) for a in missing]}: frontier/f* = nan there")
    return recs


def plot(runs, s: FrontierSettings, records: list[dict]):
    fig, axes = figure(ncols=2)
    ax, ax2 = axes[0]
    for c, r in enumerate(sorted(runs, key=lambda r: r.metrics["theta_deg"])):
        A, col = r.arrays, COLORS[c % len(COLORS)]
        ax.plot(A["alpha"], A["frontier"], "o-", color=col, label=f"frontier theta={r.metrics['theta_deg']:g} deg")
        ax2.plot(A["alpha"], A["f_star"], "o-", color=col, label=f"theta={r.metrics['theta_deg']:g} deg")
        if c == 0:
            ax.plot(A["alpha"], A["unpruned"], "k--", label="unpruned (f = 1, ~0.5/alpha)")
    ax.set(xscale="log", yscale="log", xlabel="alpha_prune", ylabel="eps* = min_f eps",
           title="Pareto frontier (theory)")
    ax2.set(xscale="log", yscale="log", xlabel="alpha_prune", ylabel="optimal kept fraction f*")
    ax.legend(fontsize=7)
    ax2.legend(fontsize=7)
    return fig


def cost(p: ThetaPoint, s: FrontierSettings) -> Cost:
    """Pre-flight estimate: the float64 theory grid alpha x f x mode with its quadrature nodes."""
    grid = s.n_alpha * s.n_f * 2 + 16
    return ensemble_cost(1, 0, 64 * 256 * grid, 1000 * 256 * grid)


EXPERIMENT = Experiment(
    name="pruning-frontier",
    description="Replica theory of pruning: Pareto frontier eps*(alpha_prune), f*, hard/easy crossover, collapse.",
    settings=settings, sweep=sweep, run_point=run_point,
    summarize=summarize, plot=plot,
    theory=(theory, frontier_theory), papers=PAPERS, cost=cost)
