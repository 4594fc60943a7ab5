"""``elhage-phase``: the 2-features-in-1-dimension phase diagram of Elhage et al. 2022.

Grid over the extra feature's relative importance r ∈ [0.1, 10] and density s = 1 − S ∈
[0.01, 1] (log-spaced), several models per point (the article trained 10 and discarded the
highest-loss one; we keep the lowest-loss one as the point's phase).  Each trained W [1, 2] is
classified as not learned / antipodal / dedicated (:func:`scalesim.models.elhage.two_feature_phase`)
and compared with the argmin of the closed-form energies (:mod:`scalesim.theory.elhage`).
Agreement is reported over all points and over points away from the boundaries (relative
energy gap ≥ ``margin``).  All grid points × seeds are one vmapped program.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from ..engine import train_ensemble, warn_diverged
from ..fit.records import comparison, diverged_note
from ..models import elhage as model
from ..plots import figure
from ..rng import root_key
from ..stats import wilson_interval
from ..theory import elhage as theory
from ..validate import MAX_STEPS, check_positive_ints, check_range, check_seed
from .base import Experiment
from ..preflight import Cost, ensemble_cost

__all__ = ["EXPERIMENT", "PhaseSettings", "phase_grid", "agreement", "notebook_setup"]


@dataclasses.dataclass(frozen=True)
class PhaseSettings:
    """Knobs of ``elhage-phase`` (``--set key=value``)."""

    n_r: int = 13  # importance-ratio grid points, r ∈ geomspace(r_min, r_max)
    n_s: int = 13  # density grid points, s ∈ geomspace(s_min, 1)
    r_min: float = 0.1
    r_max: float = 10.0
    s_min: float = 0.01
    seeds: int = 5  # models per grid point (lowest final loss kept)
    steps: int = 6000
    batch: int = 1024
    lr: float = 1e-2  # constant-lr AdamW (the notebook's 1e-3 needs ~10k steps to settle)
    weight_decay: float = 0.01  # torch AdamW default, as in the notebook
    margin: float = 0.2  # "away from boundary": (E_2nd − E_min)/E_min ≥ margin
    target: float = 0.9  # required agreement away from the boundaries
    seed: int = 0

    def __post_init__(self):
        check_positive_ints("n_r", self.n_r)
        check_positive_ints("n_s", self.n_s)
        check_range("r_min", self.r_min, 0.0, 1e6, lo_open=True)
        check_range("r_max", self.r_max, self.r_min, 1e6, lo_open=True)
        check_range("s_min", self.s_min, 0.0, 1.0, lo_open=True)
        check_positive_ints("seeds", self.seeds)
        check_positive_ints("steps", self.steps, MAX_STEPS)
        check_positive_ints("batch", self.batch)
        check_range("lr", self.lr, 0.0, 1.0, lo_open=True, hi_open=True)
        check_range("weight_decay", self.weight_decay, 0.0, 10.0)
        check_range("margin", self.margin, 0.0, 1e3)
        check_range("target", self.target, 0.0, 1.0)
        check_seed("seed", self.seed)


def settings(quick: bool) -> PhaseSettings:
    if quick:
        return PhaseSettings(n_r=7, n_s=7, seeds=3, steps=3000, batch=1024)
    return PhaseSettings()


@dataclasses.dataclass(frozen=True)
class PhasePoint:
    n: int = 2
    m: int = 1


def sweep(s: PhaseSettings) -> list:
    return [PhasePoint()]


def phase_grid(s: PhaseSettings):
    """(r [P], density [P]) of the grid points, r-major."""
    R, S = np.meshgrid(np.geomspace(s.r_min, s.r_max, s.n_r), np.geomspace(s.s_min, 1.0, s.n_s), indexing="ij")
    return R.ravel(), S.ravel()


def notebook_setup(name: str):
    """(config, hyper) of the instance sets in the authors' notebook (Elhage et al. 2022, intro and
    basic results), for :mod:`scalesim.models.elhage`.

    "intro": n=5, m=2, I_i = 0.9^i, density 20^{-linspace(0,1,10)};
    "basic": n=20, m=5, I_i = 0.7^i, density ∈ {1, .3, .1, .03, .01, .003, .001}.
    """
    if name == "intro":
        n, m, imp, dens = 5, 2, 0.9 ** np.arange(5), 20.0 ** -np.linspace(0, 1, 10)
    elif name == "basic":
        n, m, imp, dens = 20, 5, 0.7 ** np.arange(20), np.array([1, .3, .1, .03, .01, .003, .001])
    else:
        raise ValueError(f"name must be 'intro' or 'basic'; got {name!r}")
    return model.Config(n=n, m=m), model.make_hyper(n, density=dens, importance=imp)


def run_point(p: PhasePoint, s: PhaseSettings):
    R, S = phase_grid(s)
    Rm, Sm = np.repeat(R, s.seeds), np.repeat(S, s.seeds)
    cfg = model.Config(n=p.n, m=p.m)
    hyper = model.make_hyper(p.n, density=Sm, importance=np.stack([np.ones_like(Rm), Rm], 1), lr=s.lr,
                             weight_decay=s.weight_decay)
    t0 = time.perf_counter()
    res = train_ensemble(model.MODEL, cfg, hyper, model.optimizer, key=root_key(s.seed), steps=s.steps,
                         batch_size=s.batch, record_steps=[0, s.steps], member_ids=np.arange(Rm.size))
    wall = time.perf_counter() - t0
    arrays = {"r": R, "density": S, "W": np.asarray(res.params["W"]).reshape(R.size, s.seeds, p.m, p.n),
              "loss": res.metrics["loss"][:, -1].reshape(R.size, s.seeds),
              "phase": res.metrics["phase"][:, -1].reshape(R.size, s.seeds).astype(int),
              "diverged": res.diverged.reshape(R.size, s.seeds)}
    return {"points": int(R.size), "members": int(Rm.size), "train_seconds": wall,
            "diverged": int(res.diverged.sum())}, arrays


def _diverged(arrays):
    """[P, seeds]: the member diverged or its final loss is not finite."""
    return np.asarray(arrays["diverged"], bool) | ~np.isfinite(arrays["loss"])


def agreement(arrays, margin: float):
    """(best-model phase [P], theory phase [P], energy margin [P]); the best model is the lowest
    final loss among members that did not diverge (see :func:`_diverged`)."""
    loss = np.where(_diverged(arrays), np.inf, arrays["loss"])
    best = arrays["phase"][np.arange(loss.shape[0]), np.argmin(loss, 1)]
    th = np.asarray(theory.phase(arrays["r"], arrays["density"]))
    mg = np.asarray(theory.energy_margin(arrays["r"], arrays["density"]))
    return best, th, mg


def summarize(runs, s: PhaseSettings) -> list:
    A = runs[0].arrays
    bad = _diverged(A)
    warn_diverged(bad.ravel(), np.arange(bad.size), "elhage-phase (member id = grid point * seeds + seed)")
    best, th, mg = agreement(A, s.margin)
    live = ~bad.all(1)  # grid points with at least one finite member (the others have no phase)
    away = mg >= s.margin
    recs = []
    for name, sel in (("away from boundaries", away), ("all points", np.ones_like(away))):
        dead_sel, sel = sel & ~live, sel & live
        dead = int(dead_sel.sum())
        k, N = int((best == th)[sel].sum()), int(sel.sum())
        if N == 0:  # e.g. a large margin leaves no point away from the boundaries, or all members diverged
            note = (diverged_note(bad[dead_sel].sum(), bad[dead_sel].size) if dead
                    else f"no grid point has energy margin >= {s.margin}: nothing to compare")
            recs.append(comparison(f"phase agreement ({name})", float("nan"), (float("nan"), float("nan")),
                                   s.target, points=0, margin=s.margin if name.startswith("away") else 0.0,
                                   criterion=f"measured >= {s.target}" if name.startswith("away") else "informative",
                                   note=note))
            continue
        frac = k / N
        rec = comparison(f"phase agreement ({name})", frac, wilson_interval(k, N), s.target, points=N,
                         margin=s.margin if name.startswith("away") else 0.0)
        rec["agrees"] = bool(frac >= s.target) if name.startswith("away") else rec["agrees"]
        rec["criterion"] = f"measured >= {s.target}" if name.startswith("away") else "informative"
        if dead:
            rec["points_all_diverged"] = dead
            rec["note"] = f"{dead} of {N + dead} grid points left out: every member diverged there"
        recs.append(rec)
    return recs


def plot(runs, s: PhaseSettings, records: list[dict]):
    A = runs[0].arrays
    best, th, mg = agreement(A, s.margin)
    fig, axes = figure(ncols=2)
    rs, ds = np.geomspace(s.r_min, s.r_max, s.n_r), np.geomspace(s.s_min, 1.0, s.n_s)
    cmap = {-1: "0.6", 0: "tab:blue", 1: "tab:orange", 2: "tab:green"}
    s_tp = theory.exponents()["triple_point_density"].value  # not learned / dedicated at r = 1 for s >= 4/7
    away = next((r for r in records if "away" in r["quantity"] and r["points"]), None)
    trained = "trained (best of seeds)" + (f": {away['measured']:.0%} agree off-boundary" if away else "")
    for ax, ph, title in ((axes[0][0], th, "closed-form argmin"), (axes[0][1], best, trained)):
        for k, lab in [(-1, "other")] + list(enumerate(theory.PHASES)):
            sel = ph == k
            ax.scatter(A["density"][sel], A["r"][sel], c=cmap[k], s=40, marker="s", label=lab)
        if ph is best:
            wrong = best != th
            ax.scatter(A["density"][wrong], A["r"][wrong], facecolors="none", edgecolors="k", s=80, label="≠ theory")
        ss = np.geomspace(s.s_min, 1.0, 200)
        b1 = np.asarray(theory.boundary_not_learned_antipodal(ss))
        b2 = np.asarray(theory.boundary_antipodal_dedicated(ss))
        ax.plot(ss[(b1 > 0) & (b1 < 1)], b1[(b1 > 0) & (b1 < 1)], "k-", lw=1)
        ax.plot(ss[b2 > 1], b2[b2 > 1], "k-", lw=1)
        ax.plot(ss[ss >= s_tp], np.ones((ss >= s_tp).sum()), "k-", lw=1)
        ax.set(xscale="log", yscale="log", xlabel="density 1 − S", ylabel="relative importance r",
               title=title, ylim=(rs[0] * 0.8, rs[-1] * 1.25), xlim=(ds[0] * 0.8, 1.25))
    axes[0][1].legend(fontsize=6, loc="lower left")
    return fig


def cost(p: PhasePoint, s: PhaseSettings) -> Cost:
    """Pre-flight estimate: every grid point x seed is a member holding a batch of n features."""
    members = s.n_r * s.n_s * s.seeds
    return ensemble_cost(members, 4 * p.n * p.m + 4 * s.batch * p.n, s.n_r * s.n_s,
                         members * s.steps * 24 * s.batch * p.n * p.m, 8 + 3 * p.n * p.m)


EXPERIMENT = Experiment(
    name="elhage-phase",
    description="Elhage et al. 2022: 2 features in 1 dimension, trained phase vs closed-form argmin phase map.",
    settings=settings, sweep=sweep, run_point=run_point, summarize=summarize, plot=plot,
    theory=(theory,), papers=("elhage2022toy",), cost=cost,
)
