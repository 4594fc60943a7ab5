"""``superposition-large``: loss against width at n = 10240 (Liu, Liu & Gore 2025 Fig. 1, authors' exp-17).

m = 8 … 1024, frequency laws power(1.2) / exponential1 / linear, γ ∈ {−1 (strong), +0.1 (weak)},
lr_W = 0.02 (8/m)^¼, lr_b = 2/m, 5 % warm-up, loss × 100/n; sized for a GPU.  Records: the
fitted slope of loss vs m, against 1 in the strong regime
(:func:`scalesim.theory.superposition.exponents`) and against the slope of the ideal top-m loss
L_weak over the same widths in the weak regime (a numerical theory value).

Quick mode (n = 128, m = 4-16, 2000 steps) shows the strong-regime 1/m law for all three
frequency laws, the paper's claim that the strong-regime exponent does not depend on the
frequency law.  It runs no weak regime, because this size has none: with n/m = 8-32 the trained
models store features in superposition at γ = +0.1 (losses within 10 % of γ = −1 at every width)
and still partly at γ = +1 (at m = 16 the exponential law's loss is 0.68 against the top-m
loss 1.14), so a weak slope here measures leaked superposition, not L_weak.

CPU scale (27 min on 2 cores): ``--set n=1024 --set ms=8,16,32,64,128 --set steps=20000 --set batch=256
--set seeds=2``.  The strong slope is 0.94 to 1.07 for all three laws; at γ = +0.1 the weak losses
flatten like L_weak for the exponential and linear laws, while the model still keeps 2 to 14
times m rows (docs/reproductions.md).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..fit.powerlaw import fit_power_law
from ..engine import warn_diverged
from ..fit.records import comparison, diverged_note
from ..models import superposition as sp
from ..plots import COLORS, figure
from ..theory import superposition as theory
from ..validate import check_positive_ints, check_range
from ._superposition import NAN_CI, PAPERS, check_common, ci_kind, exponent, member_ids, members, train_point, width_cost
from .base import Experiment

__all__ = ["EXPERIMENT", "LargeSettings"]


@dataclasses.dataclass(frozen=True)
class LargeSettings:
    """Knobs of ``superposition-large`` (authors' exp-17; GPU-sized by default)."""

    n: int = 10240
    ms: tuple[int, ...] = (8, 16, 32, 64, 128, 256, 512, 1024)
    distributions: tuple[str, ...] = ("power", "exponential1", "linear")
    gammas: tuple[float, ...] = (-1.0, 0.1)
    seeds: int = 1
    steps: int = 40000
    batch: int = 8192
    lr: float = 0.02  # lr_W = lr (8/m)^0.25; lr_b = 2/m
    warmup_frac: float = 0.05
    fit_min_m: int = 32  # fit range m ≥ fit_min_m (authors' nonlinearfit-3: 32–1024 for power/linear)
    n_boot: int = 400
    fuse_widths: bool = False
    seed: int = 0

    def __post_init__(self):
        check_common(self)
        for d in self.distributions:
            if d not in ("power", "exponential", "exponential1", "linear"):
                raise ValueError(f"distributions must be exp-17 names; got {d!r}")
        check_positive_ints("fit_min_m", self.fit_min_m)
        if sum(m >= self.fit_min_m for m in self.ms) < 2:
            raise ValueError("fit_min_m leaves fewer than 2 widths to fit")


def settings(quick: bool) -> LargeSettings:
    if quick:
        # The strong regime only: at n = 128, m = 4-16 a positive decay does not select weak
        # superposition (gamma = +0.1 and even +1 give strong-regime losses), so the quick run checks
        # the claim this size can show, the 1/m law for every frequency law (see the module docstring).
        return LargeSettings(n=128, ms=(4, 8, 16), distributions=("power", "exponential1", "linear"), gammas=(-1.0,),
                             seeds=2, steps=2000, batch=256, fit_min_m=4, n_boot=200, fuse_widths=True)
    return LargeSettings()


@dataclasses.dataclass(frozen=True)
class DistWidthPoint:
    distribution: str
    ms: tuple  # widths trained together (one program; lr_W, lr_b and width are member hypers)


def sweep(s: LargeSettings) -> list:
    if s.fuse_widths:
        return [DistWidthPoint(d, tuple(int(m) for m in s.ms)) for d in s.distributions]
    return [DistWidthPoint(d, (int(m),)) for d in s.distributions for m in s.ms]


def run_point(p: DistWidthPoint, s: LargeSettings):
    _, G0, S0 = members([1.2], s.gammas, s.seeds)
    k = G0.size
    G, S = np.tile(G0, len(p.ms)), np.tile(S0, len(p.ms))
    Wd = np.repeat(np.asarray(p.ms, float), k)
    cfg = sp.Config(n=s.n, m=max(p.ms), distribution=p.distribution, loss_scale=100.0 / s.n)
    hyper = sp.make_hyper(alpha=1.2, gamma=G, lr=s.lr * (8.0 / Wd) ** 0.25, lr_b=2.0 / Wd, width=Wd)
    arrays, wall = train_point(cfg, hyper, steps=s.steps, batch=s.batch, warmup=int(s.warmup_frac * s.steps),
                               seed=s.seed, member_ids=np.tile(np.arange(k), len(p.ms)))
    arrays.update(gamma=G, seed=S, width=Wd)
    return {"distribution": p.distribution, "ms": list(p.ms), "members": int(G.size), "train_seconds": wall,
            "diverged": int(arrays["diverged"].sum())}, arrays


def _curves(runs, s):
    """{(dist, γ): (ms, loss [seeds, widths])}; seeds that diverged at any width are dropped (warned)."""
    out = {}
    for d in s.distributions:
        rs = [r for r in runs if r.metrics["distribution"] == d]
        if not rs:
            continue
        cat = lambda k: np.concatenate([r.arrays[k] for r in rs])
        width, G, S, L = cat("width"), cat("gamma"), cat("seed"), cat("loss")[:, -1]
        ids = np.concatenate([member_ids(r.arrays) for r in rs])
        D = cat("diverged").astype(bool)
        ms = np.unique(width)
        for g in np.unique(G):
            cols = []
            for m in ms:
                c = np.flatnonzero((width == m) & (G == g))
                cols.append(c[np.argsort(S[c], kind="stable")])  # rows = seeds, same order at every width
            Y = np.stack([L[c] for c in cols], 1)
            div = np.stack([D[c] for c in cols], 1).any(1) | ~np.isfinite(Y).all(1)
            warn_diverged(div, ids[cols[0]], f"superposition-large[{d}, gamma={float(g):g}] (a member diverged "
                          f"at any width drops its seed)")
            out[(d, float(g))] = (ms, Y[~div])
    return out


def _weak_losses(d, n, ms):
    """L_weak(m) of distribution ``d`` at the widths ``ms`` (paper units)."""
    p = theory.named_frequencies(d, n)
    return np.array([float(theory.weak_loss(p, int(m))) for m in ms])


def summarize(runs, s: LargeSettings) -> list:
    recs = []
    for (d, g), (ms, Y) in sorted(_curves(runs, s).items()):
        win = ms >= s.fit_min_m
        extra = {"ci_kind": ci_kind(Y.shape[0]), "distribution": d, "gamma": g}
        if Y.shape[0] < min(2, s.seeds):  # diverged members left too few seeds for the intended fit
            est, ci = float("nan"), NAN_CI
            extra["note"] = diverged_note(s.seeds - Y.shape[0], s.seeds, need=min(2, s.seeds), unit="seeds")
        else:
            est, ci = exponent(ms[win], Y[:, win], s.n_boot, s.seed)
        Lw = _weak_losses(d, s.n, ms)
        ref = float(fit_power_law(ms[win], Lw[win]).exponent)
        if g > 0:  # weak regime: same fit applied to the ideal top-m loss
            extra.setdefault("note", "theory = log-log slope of L_weak over the same m range")
            recs.append(comparison(f"slope weak[{d}, gamma={g:g}]", est, ci, ref, tol=0.15, **extra))
        else:
            recs.append(comparison(f"slope strong[{d}, gamma={g:g}]", est, ci, theory.exponents()["alpha_m_strong"],
                                   tol=0.15, **extra))
    return recs


def plot(runs, s: LargeSettings, records: list[dict]):
    fig, axes = figure(ncols=2)
    ax, ax2 = axes[0]
    for (d, g), (ms, Y) in sorted(_curves(runs, s).items()):
        if Y.shape[0] == 0:
            continue
        c = COLORS[s.distributions.index(d) % len(COLORS)]
        (ax if g > 0 else ax2).plot(ms, Y.mean(0), "o-", color=c, ms=3, label=f"{d}")
        if g > 0:
            ax.plot(ms, _weak_losses(d, s.n, ms), ":", color=c)
        else:
            ax2.plot(ms, Y.mean(0)[0] * ms[0] / ms, ":", color=c, lw=1)
    ax.set(xscale="log", yscale="log", xlabel="m", ylabel="loss", title=f"weak (γ>0); dotted: L_weak (n={s.n})")
    ax2.set(xscale="log", yscale="log", xlabel="m", ylabel="loss", title="strong (γ<0); dotted: ∝ 1/m")
    for a, weak in ((ax, True), (ax2, False)):  # the records' fitted slopes (m >= fit_min_m)
        text = "; ".join(f"{r['distribution']} {r['measured']:.2f}" for r in records
                         if "distribution" in r and (r["gamma"] > 0) == weak)
        if text:
            a.text(0.02, 0.02, f"slope (m ≥ {s.fit_min_m}): {text}", transform=a.transAxes, fontsize=6)
    ax.legend(fontsize=7)
    ax2.legend(fontsize=7)
    return fig


def cost(p: DistWidthPoint, s: LargeSettings):
    """Pre-flight estimate (:func:`._superposition.width_cost`; one α per γ and seed)."""
    return width_cost(p, s, 1)


EXPERIMENT = Experiment(
    name="superposition-large",
    description="Liu et al. 2025 exp-17 (Fig. 1): n=10240 loss vs width, 3 distributions, strong vs weak (GPU-sized).",
    settings=settings, sweep=sweep, run_point=run_point, summarize=summarize, plot=plot,
    theory=(theory,), papers=PAPERS, cost=cost,
)
