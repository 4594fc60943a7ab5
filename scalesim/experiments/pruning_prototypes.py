"""``pruning-prototypes``: the label-free k-means prototype metric (Sorscher et al. 2022, Sec. 5)
on a Gaussian mixture x = c m T + g (:mod:`scalesim.models.prototypes`).

One run directory per separation m; all (f, seed) problems run as members of one simulator
ensemble at that m (member id = seed).  Records: on isotropic data (m = 0) the effective probe angle of
the prototype ranking is that of a random direction, pi/2 - sqrt(2/pi)/sqrt(N) (derived: the
expected |cos| of a random unit vector with T is E|z|/sqrt(N)); on separated data pruning with
the prototype metric beats no pruning.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import numpy as np

from ..fit.records import comparison
from ..models import prototypes
from ..plots import COLORS, figure
from ..simulator import run_simulator
from ..stats import mean_ci
from ..theory import perceptron as theory
from ..validate import check_positive_ints, check_range, check_seed
from ._pruning import PAPERS, check_fs, check_seeds, law, nan_record, problems_cost
from .base import Experiment
from ..preflight import Cost

__all__ = ["EXPERIMENT", "ProtoSettings", "SepPoint", "settings", "sweep", "run_point", "summarize", "plot"]


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
        check_range("alpha_prune", self.alpha_prune, 0.0, 1e4, lo_open=True)
        check_fs("fs", self.fs)
        for m in self.separations:
            check_range("separations", m, 0.0, 1e3)
        check_positive_ints("n_clusters", self.n_clusters)
        check_range("n_clusters", self.n_clusters, 2, min(1000, self.alpha_prune * self.n))
        check_seeds(self.seeds)
        check_seed("seed", self.seed)


@dataclasses.dataclass(frozen=True)
class SepPoint:
    separation: float


def settings(quick: bool) -> ProtoSettings:
    if quick:
        return ProtoSettings(n=80, fs=(1.0, 0.3), separations=(0.0, 2.0), seeds=4)
    return ProtoSettings()


def sweep(s: ProtoSettings) -> list[SepPoint]:
    return [SepPoint(float(m)) for m in s.separations]


def run_point(p: SepPoint, s: ProtoSettings):
    fs = np.asarray(s.fs, float)
    V, S = len(fs), s.seeds
    with jax.enable_x64(True):
        key = jax.random.fold_in(jax.random.PRNGKey(s.seed), int(round(p.separation * 1000)))
        cfg = prototypes.Config(n=s.n, alpha_prune=s.alpha_prune, f_min=float(fs.min()),
                                m=p.separation, n_clusters=s.n_clusters)
        hyper = prototypes.make_hyper(np.repeat(fs, S))
        r = run_simulator(prototypes.SIMULATOR, cfg, hyper, key=key, member_ids=np.tile(np.arange(S), V))
    r = {k: v.reshape(V, S) for k, v in r.items()}
    arrays = {"f": fs, "eps": r["eps"], "theta_eff": r["theta_eff"], "converged": r["converged"]}
    return {"separation": p.separation, "converged": int(r["converged"].sum())}, arrays


def summarize(runs, s: ProtoSettings) -> list[dict]:
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
                recs.append(nan_record(name, expected, f"only {t.size} of {conv.size} max-margin "
                                       "solves converged: not compared", **counts))
                continue
            mean, ci = mean_ci(t, 0.95)
            recs.append(comparison(name, mean, ci, expected, **counts))
        else:
            name = f"prototype_pruning_beats_no_pruning[m={m:g}]"
            nc = conv.sum(1)
            if np.any(nc < 2):
                bad = [float(f) for f in A["f"][nc < 2]]
                recs.append(nan_record(name, 1.0, f"fewer than 2 converged max-margin solves at "
                                       f"f={bad}: not compared", **counts))
                continue
            e = np.where(conv, A["eps"], np.nan)
            mean = np.nanmean(e, 1)
            se = np.nanstd(e, 1, ddof=1) / np.sqrt(nc)
            best = int(np.argmin(mean))
            helps = mean[best] + 2 * se[best] < mean[0]
            recs.append(law(name, bool(helps),
                            eps_unpruned=float(mean[0]), eps_best=float(mean[best]),
                            f_best=float(A["f"][best]),
                            theta_eff_deg_at_f_best=float(np.degrees(th[best][conv[best]].mean())),
                            **counts))
    return recs


def plot(runs, s: ProtoSettings, records: list[dict]):
    """Per-f mean +- 2 SE of the stored eps and theta_eff (the records hold no per-f values)."""
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


def cost(p: SepPoint, s: ProtoSettings) -> Cost:
    """Pre-flight estimate (:func:`._pruning.problems_cost`): one problem per f and seed."""
    return problems_cost(s, len(s.fs) * s.seeds)


EXPERIMENT = Experiment(
    name="pruning-prototypes",
    description="Label-free k-means prototype pruning on a Gaussian mixture: error vs f and effective theta.",
    settings=settings, sweep=sweep, run_point=run_point,
    summarize=summarize, plot=plot,
    theory=(theory,), papers=PAPERS, cost=cost)
