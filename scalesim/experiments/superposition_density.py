"""``superposition-density``: model exponent against activation density (Liu, Liu & Gore 2025, authors' exp-15).

α = 1 frequencies rescaled p ← p (1 + s (1/p_1 − 1)), s ∈ linspace(0, 1, 9), so that the expected
number of active features E = Σ p grows from 1; strong (γ < 0) and weak (γ > 0) regimes.
Records: the strong-regime α_m against 1 (:func:`scalesim.theory.superposition.exponents`) and
the weak-regime α_m against the slope of L_weak(m) for the rescaled p (a numerical theory value).

CPU scale (33 min on 2 cores): ``--set densities=0,0.375,0.75 --set gammas=-1,0.1111 --set seeds=2
--set batch=256``.  The strong α_m is 1.00 to 1.13 at E = 1 to 5.9; the weak slope at γ = 0.111
is steeper than the L_weak slope, because at α = 1 that decay keeps 2 to 6 times m rows, and the
weak slope at α = 1 depends on the decay (docs/reproductions.md).
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from ..fit.powerlaw import fit_power_law
from ..engine import warn_diverged
from ..fit.records import comparison, diverged_note
from ..models import superposition as sp
from ..plots import COLORS, figure
from ..theory import superposition as theory
from ..validate import check_range
from ._superposition import NAN_CI, PAPERS, WidthPoint, check_common, ci_kind, exponent, record_points, run_widths, \
    table, width_cost, width_sweep
from .base import Experiment

__all__ = ["EXPERIMENT", "DensitySettings"]


@dataclasses.dataclass(frozen=True)
class DensitySettings:
    """Knobs of ``superposition-density`` (authors' exp-15: α = 1, activation density sweep)."""

    n: int = 1000
    ms: tuple[int, ...] = (10, 15, 25, 39, 63, 100)
    densities: tuple[float, ...] = tuple(np.round(np.linspace(0, 1, 9), 4))  # s in p(1 + s(1/p_1 − 1))
    gammas: tuple[float, ...] = (-1.0, 1.0)
    alpha: float = 1.0
    seeds: int = 1
    steps: int = 20000
    batch: int = 2048
    lr: float = 1e-2
    warmup_frac: float = 0.1
    max_trunc: float = 1e-7  # sparse-sampler truncation mass allowed per sample
    strong_exp_tol: float = 0.15
    n_boot: int = 400
    fuse_widths: bool = False
    seed: int = 0

    def __post_init__(self):
        check_common(self)
        for d in self.densities:
            check_range("densities", d, 0.0, 1.0)
        check_range("alpha", self.alpha, 0.0, 50.0)
        check_range("max_trunc", self.max_trunc, 0.0, 1.0, lo_open=True)


def settings(quick: bool) -> DensitySettings:
    if quick:
        return DensitySettings(n=128, ms=(4, 8, 16), densities=(0.0, 0.5), seeds=2, steps=2000, batch=256, n_boot=200,
                               fuse_widths=True)
    return DensitySettings()


def _member_hyper(s, density):
    return jax.tree_util.tree_map(lambda x: x[0], sp.make_hyper(alpha=s.alpha, density=density))


def _max_active(s: DensitySettings) -> int:
    """Smallest multiple of 4 event slots whose truncation mass at the largest density is ≤ max_trunc."""
    h = _member_hyper(s, max(s.densities))
    for K in range(4, s.n + 1, 4):
        if float(sp.truncation_mass(sp.Config(n=s.n, m=1, max_active=K), h)) <= s.max_trunc:
            return K
    return s.n


def run_point(p: WidthPoint, s: DensitySettings):
    return run_widths(p, s, None, s.gammas, density=s.densities, max_active=_max_active(s))


def _frequencies(s, d):
    return np.asarray(sp.frequencies(sp.Config(n=s.n, m=1), _member_hyper(s, d)), float)


def _expected_active(s, d):
    return float(np.sum(np.asarray(sp.frequencies(sp.Config(n=s.n, m=1), _member_hyper(s, d)))))


def _cells(runs):
    """{(γ, s): (ms, loss [finite members, widths])} over all cells (possibly with no member)."""
    ms, T = table(runs, key="density")
    out = {}
    for g in np.unique(T["gamma"]):
        for d in np.unique(T["density"]):
            sel = (T["gamma"] == g) & (T["density"] == d) & ~T["diverged"]
            out[(float(g), float(d))] = (ms, T["loss"][:, sel].T)
    return out


def density_exponents(runs, s):
    """{(γ, s): (ms, Y, (α_m, ci))}; a cell whose every member diverged gets a NaN exponent."""
    return {c: (ms, Y, exponent(ms, Y, s.n_boot, s.seed) if Y.shape[0] else (float("nan"), NAN_CI))
            for c, (ms, Y) in _cells(runs).items()}


def summarize(runs, s: DensitySettings) -> list:
    recs = []
    _, T = table(runs, key="density")
    for (g, d), (ms, Y, (est, ci)) in sorted(density_exponents(runs, s).items()):
        cell = (T["gamma"] == g) & (T["density"] == d)
        warn_diverged(T["diverged"][cell], T["member_id"][cell], f"superposition-density[gamma={g:g}, s={d:g}]")
        E = _expected_active(s, d)
        extra = {"ci_kind": ci_kind(Y.shape[0]), "gamma": g, "density": d, "expected_active": E}
        if Y.shape[0] == 0:
            extra["note"] = diverged_note(cell.sum(), cell.sum())
        if g < 0:
            recs.append(comparison(f"alpha_m strong[gamma={g:g}, E={E:.2f}]", est, ci,
                                   theory.exponents()["alpha_m_strong"], tol=s.strong_exp_tol, **extra))
        else:
            p = _frequencies(s, d)
            ref = float(fit_power_law(ms, np.array([float(theory.weak_loss(p, int(m))) for m in ms])).exponent)
            extra.setdefault("note", "theory = slope of L_weak(m) for the rescaled p")
            recs.append(comparison(f"alpha_m weak[gamma={g:g}, E={E:.2f}]", est, ci, ref, tol=0.25, **extra))
    return recs


def plot(runs, s: DensitySettings, records: list[dict]):
    fig, axes = figure(ncols=2)
    ax, ax2 = axes[0]
    E = {r["density"]: r["expected_active"] for r in records if "density" in r}
    for (g, d), (ms, Y) in sorted(_cells(runs).items()):
        if Y.shape[0] == 0:
            continue
        c = COLORS[list(s.densities).index(d) % len(COLORS)] if d in s.densities else "k"
        label = f"E={E[d]:.2f}, γ={g:g}" if d in E else f"s={d:g}, γ={g:g}"
        ax.plot(ms, Y.mean(0), "o-" if g < 0 else "s--", color=c, ms=3, label=label)
    ax.set(xscale="log", yscale="log", xlabel="m", ylabel="loss", title=f"activation density (α={s.alpha:g})")
    ax.legend(fontsize=6)
    for g, mk in ((min(s.gammas), "o"), (max(s.gammas), "s")):
        pts = record_points(records, g, "expected_active")
        if not pts:
            continue
        E_, e_, ci_ = zip(*pts)
        ax2.errorbar(E_, e_, yerr=np.abs(np.array(ci_, float).T - np.array(e_)), fmt=mk, label=f"γ={g:g}")
    weak = sorted((r["expected_active"], r["theory"]) for r in records if r.get("gamma", -1) > 0 and "theory" in r)
    if weak:
        ax2.plot(*zip(*weak), "k:", lw=1, label="slope of L_weak (weak theory)")
    ax2.axhline(1.0, color="k", lw=1, label="1 (strong theory)")
    ax2.set(xlabel="expected active features E", ylabel="model exponent α_m", title="α_m vs density")
    ax2.legend(fontsize=7)
    return fig


def cost(p: WidthPoint, s: DensitySettings):
    """Pre-flight estimate (:func:`._superposition.width_cost`)."""
    return width_cost(p, s, len(s.densities))


EXPERIMENT = Experiment(
    name="superposition-density",
    description="Liu et al. 2025 exp-15: model exponent vs activation density E (α=1), strong and weak.",
    settings=settings, sweep=width_sweep, run_point=run_point, summarize=summarize, plot=plot,
    theory=(theory,), papers=PAPERS, cost=cost,
)
