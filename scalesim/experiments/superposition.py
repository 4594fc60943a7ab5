"""Liu, Liu & Gore 2025 superposition experiments: ``superposition-grid``, ``-large``, ``-density``.

* ``superposition-grid`` (authors' exp-10 / exp-10-3): n = 1000, m ∈ {10, …, 100},
  γ ∈ linspace(−1, 1, 10), α ∈ [0, 2]; one compiled program per m, members = α × γ × seeds.
* ``superposition-large`` (exp-17, paper Fig. 1): n = 10240, m = 8 … 1024, distributions
  power(1.2) / exponential1 / linear, γ ∈ {−1 (strong), +0.1 (weak)}, lr_W = 0.02 (8/m)^¼,
  lr_b = 2/m, 5 % warm-up, loss ×100/n; sized for a GPU (quick mode is tiny).
* ``superposition-density`` (exp-15): α = 1, p ← p (1 + s(1/p_1 − 1)), s ∈ linspace(0, 1, 9).

Each point trains with :func:`scalesim.engine.train_ensemble` and the signed-decay AdamW of
:mod:`scalesim.optim`.  The reported loss is the paper loss (summed over features) at the
final parameters on a fixed evaluation batch.  Theory: :mod:`scalesim.theory.superposition`.
"""

from __future__ import annotations

import dataclasses
import time
import warnings

import jax
import numpy as np

from ..validate import check_positive_ints, check_range
from ..engine import geometric_steps, train_ensemble
from ..fit.powerlaw import bootstrap_exponent, fit_power_law
from ..fit.records import comparison
from ..models import superposition as sp
from ..optim import LiuAdamW
from ..plots import COLORS, figure
from ..rng import root_key
from ..theory import superposition as theory
from .base import Experiment

__all__ = ["GRID", "LARGE", "DENSITY", "GridSettings", "LargeSettings", "DensitySettings", "train_point"]

_overlap_stats = jax.jit(jax.vmap(sp.overlap_stats))


def _check_common(s):
    check_range("n", s.n, 2, None)
    check_positive_ints("ms", s.ms)
    if max(s.ms) > s.n:
        raise ValueError(f"ms must be <= n={s.n}; got max {max(s.ms)}")
    if len(s.ms) < 2:
        raise ValueError("ms needs >= 2 widths for an exponent fit")
    check_positive_ints("seeds", s.seeds)
    check_positive_ints("steps", s.steps)
    check_positive_ints("batch", s.batch)
    check_range("warmup_frac", s.warmup_frac, 0.0, 1.0)
    for g in s.gammas:
        check_range("gammas", g, -1.0, 1.0)


def train_point(cfg: sp.SuperpositionConfig, hyper: sp.SuperpositionHyper, *, steps, batch, warmup, seed,
                member_ids, n_records=24):
    """Train one width's ensemble; returns (arrays, seconds).  Final diagnostics: row norms
    and the mean/variance of squared overlaps of normalised rows per member."""
    rec = geometric_steps(steps, n_records)
    t0 = time.perf_counter()
    res = train_ensemble(sp.MODEL, cfg, hyper, LiuAdamW(steps, warmup), key=root_key(seed), steps=steps,
                         batch_size=batch, record_steps=rec, member_ids=member_ids)
    W = res.params["W"]
    ov = _overlap_stats(W)
    arrays = {k: np.asarray(v) for k, v in res.metrics.items()}
    arrays.update(steps=rec, row_norms=np.asarray(sp.row_norms(W)), overlap_mean=np.asarray(ov["overlap_mean"]),
                  overlap_var=np.asarray(ov["overlap_var"]), diverged=res.diverged)
    return arrays, time.perf_counter() - t0


def _members(alphas, gammas, seeds):
    A, G, S = np.meshgrid(np.asarray(alphas, float), np.asarray(gammas, float), np.arange(seeds), indexing="ij")
    return A.ravel(), G.ravel(), S.ravel()


def _ci_mean(x, level=0.95):
    x = np.asarray(x, float)
    se = x.std(ddof=1) / np.sqrt(x.size) if x.size > 1 else 0.0
    return float(x.mean()), (float(x.mean() - 1.96 * se), float(x.mean() + 1.96 * se))


def _exponent(ms, Y, n_boot, seed):
    """α_m from loss-vs-m rows Y [seeds, widths]: bootstrap over seeds when there are ≥ 2."""
    if Y.shape[0] >= 2:
        b = bootstrap_exponent(ms, Y, "power", n_boot=n_boot, seed=seed)
        return b.estimate, b.ci
    e = float(fit_power_law(np.asarray(ms, float), Y[0]).exponent)
    return e, (e, e)


def _ci_kind(n_seeds: int) -> str:
    """How a record's CI was obtained (``_exponent``): 1 seed gives a degenerate CI (e, e)."""
    if n_seeds >= 2:
        return f"bootstrap over {n_seeds} seeds"
    return "none (1 seed): agreement by tolerance only"


_NAN_CI = (float("nan"), float("nan"))


def _warn_dropped(label: str, bad: np.ndarray, seeds: np.ndarray) -> None:
    """Warn naming the seeds dropped as diverged (as :func:`scalesim.engine.good_members` does)."""
    if bad.any():
        ids = ", ".join(str(int(i)) for i in np.asarray(seeds)[bad])
        warnings.warn(f"{label}: {int(bad.sum())} of {bad.size} members diverged (non-finite loss or params) "
                      f"and are excluded from fits: seeds [{ids}]", RuntimeWarning, stacklevel=3)


# --------------------------------------------------------------------------- grid (exp-10)

@dataclasses.dataclass(frozen=True)
class GridSettings:
    """Knobs of ``superposition-grid`` (``--set key=value``)."""

    n: int = 1000  # features
    ms: tuple[int, ...] = (10, 15, 25, 39, 63, 100)  # widths: floor(exp(linspace(ln 10, ln 100, 6)))
    gammas: tuple[float, ...] = tuple(np.round(np.linspace(-1, 1, 10), 4))  # signed weight decay
    alphas: tuple[float, ...] = tuple(np.round(np.linspace(0, 2, 17), 4))  # data exponents (paper α)
    seeds: int = 1  # replicates (the authors ran one)
    steps: int = 20000
    batch: int = 2048
    lr: float = 1e-2
    warmup_frac: float = 0.1
    weak_tol: float = 0.15  # stated systematic tolerance on α_m − (α − 1) (optimisation-limited weak regime)
    strong_exp_tol: float = 0.15  # tolerance on strong-regime α_m vs 1 (α ≤ 1)
    overlap_tol: float = 0.10  # overlap·m within 10 % of 1
    n_boot: int = 400
    fuse_widths: bool = False  # train all widths in one program (width as a per-member hyper)
    seed: int = 0

    def __post_init__(self):
        _check_common(self)
        for a in self.alphas:
            check_range("alphas", a, 0.0, None)
        check_range("lr", self.lr, 0.0, None, lo_open=True)


def grid_settings(quick: bool) -> GridSettings:
    if quick:
        return GridSettings(n=128, ms=(4, 8, 16), gammas=(-1.0, 0.5), alphas=(1.0, 1.5), seeds=2,
                            steps=2000, batch=256, n_boot=200, fuse_widths=True)
    return GridSettings()


@dataclasses.dataclass(frozen=True)
class WidthPoint:
    ms: tuple  # widths trained together in one program (cfg.m = max; width is a member hyper)


def grid_sweep(s) -> list:
    if s.fuse_widths:
        return [WidthPoint(tuple(int(m) for m in s.ms))]
    return [WidthPoint((int(m),)) for m in s.ms]


def _run_widths(p: WidthPoint, s, alphas, gammas, density=None):
    """Members = widths × alphas × gammas × seeds (or densities × gammas × seeds) in one program."""
    base = _members(alphas, gammas, s.seeds) if density is None else _members(density, gammas, s.seeds)
    k = base[0].size
    X, G, S = (np.tile(v, len(p.ms)) for v in base)
    Wd = np.repeat(np.asarray(p.ms, float), k)
    ids = np.tile(np.arange(k), len(p.ms))  # member i has the same streams at every width
    kw = dict(alpha=X, gamma=G, lr=s.lr, width=Wd) if density is None else \
        dict(alpha=s.alpha, density=X, gamma=G, lr=s.lr, width=Wd)
    cfg = sp.SuperpositionConfig(n=s.n, m=max(p.ms), max_active=_max_active(s) if density is not None else 12)
    arrays, wall = train_point(cfg, sp.make_hyper(**kw), steps=s.steps, batch=s.batch,
                               warmup=int(s.warmup_frac * s.steps), seed=s.seed, member_ids=ids)
    arrays.update({"alpha" if density is None else "density": X, "gamma": G, "seed": S, "width": Wd})
    meta = {"ms": list(p.ms), "members": int(X.size), "diverged": int(arrays["diverged"].sum()),
            "train_seconds": wall, "max_active": cfg.max_active}
    return meta, arrays


def grid_run_point(p: WidthPoint, s: GridSettings):
    return _run_widths(p, s, s.alphas, s.gammas)


def _table(runs, key="alpha"):
    """Group members of all runs by width: ms [W], final loss / overlaps [W, M], member labels [M]."""
    cat = lambda k: np.concatenate([r.arrays[k] for r in runs])
    width = cat("width")
    ms = np.unique(width)
    rows = [np.flatnonzero(width == m) for m in ms]
    fin = lambda k: np.stack([cat(k)[i][:, -1] for i in rows]) if cat(k).ndim == 2 else np.stack([cat(k)[i] for i in rows])
    lab = lambda k: cat(k)[rows[0]]
    return ms, {"loss": fin("loss"), "phi_half": fin("phi_half"), "phi_one": fin("phi_one"),
                "overlap": fin("overlap_mean"), "overlap_var": fin("overlap_var"),
                "diverged": fin("diverged").any(0), key: lab(key), "gamma": lab("gamma"), "seed": lab("seed")}


def grid_exponents(runs, s) -> dict:
    """{(γ, α): (α_m, ci)} over all grid cells (final loss vs m, bootstrap over seeds)."""
    ms, T = _table(runs)
    out = {}
    for g in np.unique(T["gamma"]):
        for a in np.unique(T["alpha"]):
            sel = (T["gamma"] == g) & (T["alpha"] == a) & ~T["diverged"]
            if sel.sum() == 0:
                continue
            out[(float(g), float(a))] = _exponent(ms, T["loss"][:, sel].T, s.n_boot, s.seed)
    return out


def _finite_range_exponents(alphas, n, ms):
    """Slope of L_weak(m) over the widths ms for each α (one vmapped evaluation)."""
    ms = np.asarray(ms).astype(int)
    return np.asarray(jax.jit(jax.vmap(lambda a: theory.fitted_weak_exponent(a, n, ms)))(np.asarray(alphas, float)))


def grid_summarize(runs, s: GridSettings) -> list:
    ms, T = _table(runs)
    ex = grid_exponents(runs, s)
    g_weak, g_strong = max(s.gammas), min(s.gammas)
    recs = []
    for (g, a), (est, ci) in sorted(ex.items()):
        kind = _ci_kind(int(((T["gamma"] == g) & (T["alpha"] == a) & ~T["diverged"]).sum()))
        if g == g_weak and g > 0 and 1.25 <= a <= 2.0:
            fr = float(theory.fitted_weak_exponent(a, s.n, np.asarray(ms, int)))
            recs.append(comparison(f"alpha_m weak[gamma={g:g}, alpha={a:g}]", est, ci, a - 1.0, tol=s.weak_tol,
                                   finite_range_theory=fr, ci_kind=kind))
        if g == g_strong and g < 0 and a <= 1.0:
            recs.append(comparison(f"alpha_m strong[gamma={g:g}, alpha={a:g}]", est, ci, 1.0, tol=s.strong_exp_tol,
                                   ci_kind=kind))
    if g_strong < 0:
        sel = (T["gamma"] == g_strong) & ~T["diverged"]
        for j, m in enumerate(ms):
            val, ci = _ci_mean(T["overlap"][j, sel] * m)
            recs.append(comparison(f"overlap*m strong[gamma={g_strong:g}, m={int(m)}]", val, ci, 1.0,
                                   tol=s.overlap_tol, welch_bound_times_m=float(theory.overlap_lower_bound(s.n, m) * m)))
    return recs


def grid_plot(runs, s: GridSettings, records: list[dict]):
    ms, T = _table(runs)
    fig, axes = figure(ncols=3)
    ax, ax2, ax3 = axes[0]
    g_weak, g_strong = max(s.gammas), min(s.gammas)
    alphas = sorted(np.unique(T["alpha"]))
    show = alphas[:: max(1, len(alphas) // 4)]
    for j, a in enumerate(show):
        c = COLORS[j % len(COLORS)]
        for g, mk in ((g_weak, "o-"), (g_strong, "s--")):
            sel = (T["gamma"] == g) & (T["alpha"] == a) & ~T["diverged"]
            if sel.any():
                ax.plot(ms, T["loss"][:, sel].mean(1), mk, color=c, ms=3, label=f"α={a:g}, γ={g:g}")
        ax.plot(ms, [float(theory.weak_loss_power(a, s.n, int(m))) for m in ms], ":", color=c, lw=1)
    ax.set(xscale="log", yscale="log", xlabel="width m", ylabel="loss (summed over features)",
           title="weak (o) / strong (s); L_weak(m) dotted")
    ax.legend(fontsize=6)
    ex = grid_exponents(runs, s)
    for g, mk, c in ((g_weak, "o", COLORS[0]), (g_strong, "s", COLORS[1])):
        pts = [(a, e, ci) for (gg, a), (e, ci) in sorted(ex.items()) if gg == g]
        if pts:
            a_, e_, ci_ = zip(*pts)
            err = np.abs(np.array(ci_).T - np.array(e_))
            ax2.errorbar(a_, e_, yerr=err, fmt=mk, color=c, ms=4, label=f"γ={g:g}")
    aa = np.linspace(0, 2, 50)
    ax2.plot(aa, aa - 1, "k-", lw=1, label="α−1 (weak)")
    af = np.linspace(0.05, 2, 40)
    ax2.plot(af, _finite_range_exponents(af, s.n, ms), "k:", lw=1,
             label=f"L_weak fit over these m (n={s.n})")
    ax2.plot(aa, np.maximum(1, 2 * (aa - 1)), "k--", lw=1, label="max(1, 2(α−1)) (strong, hyp.)")
    ax2.set(xlabel="data exponent α", ylabel="model exponent α_m", title="model vs data exponent", ylim=(-0.3, 2.5))
    ax2.legend(fontsize=6)
    if g_strong < 0:
        for j, a in enumerate(show):
            sel = (T["gamma"] == g_strong) & (T["alpha"] == a) & ~T["diverged"]
            ax3.plot(ms, T["overlap"][:, sel].mean(1) * ms, "o-", color=COLORS[j % len(COLORS)], ms=3, label=f"α={a:g}")
        ax3.plot(ms, np.asarray(theory.overlap_lower_bound(s.n, ms)) * ms, "k:", label="Welch bound ×m")
        ax3.axhline(1.0, color="k", lw=1)
        ax3.axhspan(0.9, 1.1, color="0.85", zorder=-1)
        ax3.set(xscale="log", xlabel="width m", ylabel="m ⟨(Ŵ_i·Ŵ_j)²⟩", title=f"strong regime γ={g_strong:g}")
        ax3.legend(fontsize=6)
    return fig


GRID = Experiment(
    name="superposition-grid",
    description="Liu et al. 2025 exp-10: loss vs width over (γ, α); weak α_m = α−1, strong overlap ≈ 1/m.",
    settings=grid_settings, sweep=grid_sweep, run_point=grid_run_point, summarize=grid_summarize, plot=grid_plot,
    theory=(theory,), papers=("liu2025superposition",),
)


# --------------------------------------------------------------------------- large (exp-17)

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
        _check_common(self)
        for d in self.distributions:
            if d not in ("power", "exponential", "exponential1", "linear"):
                raise ValueError(f"distributions must be exp-17 names; got {d!r}")
        check_range("lr", self.lr, 0.0, None, lo_open=True)
        if sum(m >= self.fit_min_m for m in self.ms) < 2:
            raise ValueError("fit_min_m leaves fewer than 2 widths to fit")


def large_settings(quick: bool) -> LargeSettings:
    if quick:
        return LargeSettings(n=256, ms=(8, 16, 32), distributions=("power", "exponential1"), seeds=2, steps=300,
                             batch=256, fit_min_m=8, n_boot=200, fuse_widths=True)
    return LargeSettings()


@dataclasses.dataclass(frozen=True)
class DistWidthPoint:
    distribution: str
    ms: tuple  # widths trained together (one program; lr_W, lr_b and width are member hypers)


def large_sweep(s: LargeSettings) -> list:
    if s.fuse_widths:
        return [DistWidthPoint(d, tuple(int(m) for m in s.ms)) for d in s.distributions]
    return [DistWidthPoint(d, (int(m),)) for d in s.distributions for m in s.ms]


def large_run_point(p: DistWidthPoint, s: LargeSettings):
    _, G0, S0 = _members([1.2], s.gammas, s.seeds)
    k = G0.size
    G, S = np.tile(G0, len(p.ms)), np.tile(S0, len(p.ms))
    Wd = np.repeat(np.asarray(p.ms, float), k)
    cfg = sp.SuperpositionConfig(n=s.n, m=max(p.ms), distribution=p.distribution, loss_scale=100.0 / s.n)
    hyper = sp.make_hyper(alpha=1.2, gamma=G, lr=s.lr * (8.0 / Wd) ** 0.25, lr_b=2.0 / Wd, width=Wd)
    arrays, wall = train_point(cfg, hyper, steps=s.steps, batch=s.batch, warmup=int(s.warmup_frac * s.steps),
                               seed=s.seed, member_ids=np.tile(np.arange(k), len(p.ms)))
    arrays.update(gamma=G, seed=S, width=Wd)
    return {"distribution": p.distribution, "ms": list(p.ms), "members": int(G.size), "train_seconds": wall,
            "diverged": int(arrays["diverged"].sum())}, arrays


def _large_curves(runs, s):
    """{(dist, γ): (ms, loss [seeds, widths])}; seeds that diverged at any width are dropped (warned)."""
    out = {}
    for d in s.distributions:
        rs = [r for r in runs if r.metrics["distribution"] == d]
        if not rs:
            continue
        cat = lambda k: np.concatenate([r.arrays[k] for r in rs])
        width, G, S, L = cat("width"), cat("gamma"), cat("seed"), cat("loss")[:, -1]
        D = cat("diverged").astype(bool)
        ms = np.unique(width)
        for g in np.unique(G):
            cols = []
            for m in ms:
                c = np.flatnonzero((width == m) & (G == g))
                cols.append(c[np.argsort(S[c], kind="stable")])  # rows = seeds, same order at every width
            Y = np.stack([L[c] for c in cols], 1)
            div = np.stack([D[c] for c in cols], 1).any(1) | ~np.isfinite(Y).all(1)
            _warn_dropped(f"superposition-large[{d}, gamma={float(g):g}]", div, S[cols[0]])
            out[(d, float(g))] = (ms, Y[~div])
    return out


def large_summarize(runs, s: LargeSettings) -> list:
    recs = []
    for (d, g), (ms, Y) in sorted(_large_curves(runs, s).items()):
        win = ms >= s.fit_min_m
        extra = {"ci_kind": _ci_kind(Y.shape[0])}
        if Y.shape[0] < min(2, s.seeds):  # diverged members left too few seeds for the intended fit
            est, ci = float("nan"), _NAN_CI
            extra["note"] = f"only {Y.shape[0]} of {s.seeds} seeds finite (rest diverged): no exponent"
        else:
            est, ci = _exponent(ms[win], Y[:, win], s.n_boot, s.seed)
        p = theory.named_frequencies(d, s.n)
        Lw = np.array([float(theory.weak_loss(p, int(m))) for m in ms])
        ref = float(fit_power_law(ms[win], Lw[win]).exponent)
        if g > 0:  # weak regime: same fit applied to the ideal top-m loss
            extra.setdefault("note", "theory = log-log slope of L_weak over the same m range")
            recs.append(comparison(f"slope weak[{d}, gamma={g:g}]", est, ci, ref, tol=0.15, **extra))
        else:
            recs.append(comparison(f"slope strong[{d}, gamma={g:g}]", est, ci, 1.0, tol=0.15, **extra))
    return recs


def large_plot(runs, s: LargeSettings, records: list[dict]):
    fig, axes = figure(ncols=2)
    ax, ax2 = axes[0]
    for j, ((d, g), (ms, Y)) in enumerate(sorted(_large_curves(runs, s).items())):
        if Y.shape[0] == 0:
            continue
        c = COLORS[s.distributions.index(d) % len(COLORS)]
        (ax if g > 0 else ax2).plot(ms, Y.mean(0), "o-", color=c, ms=3, label=f"{d}")
        if g > 0:
            p = theory.named_frequencies(d, s.n)
            ax.plot(ms, [float(theory.weak_loss(p, int(m))) for m in ms], ":", color=c)
        else:
            ax2.plot(ms, Y.mean(0)[0] * ms[0] / ms, ":", color=c, lw=1)
    ax.set(xscale="log", yscale="log", xlabel="m", ylabel="loss", title=f"weak (γ>0); dotted: L_weak (n={s.n})")
    ax2.set(xscale="log", yscale="log", xlabel="m", ylabel="loss", title="strong (γ<0); dotted: ∝ 1/m")
    ax.legend(fontsize=7)
    ax2.legend(fontsize=7)
    return fig


LARGE = Experiment(
    name="superposition-large",
    description="Liu et al. 2025 exp-17 (Fig. 1): n=10240 loss vs width, 3 distributions, strong vs weak (GPU-sized).",
    settings=large_settings, sweep=large_sweep, run_point=large_run_point, summarize=large_summarize,
    plot=large_plot,
    theory=(theory,), papers=("liu2025superposition",),
)


# --------------------------------------------------------------------------- density (exp-15)

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
        _check_common(self)
        for d in self.densities:
            check_range("densities", d, 0.0, 1.0)
        check_range("alpha", self.alpha, 0.0, None)
        check_range("max_trunc", self.max_trunc, 0.0, 1.0, lo_open=True)


def density_settings(quick: bool) -> DensitySettings:
    if quick:
        return DensitySettings(n=128, ms=(4, 8, 16), densities=(0.0, 0.5), seeds=2, steps=600, batch=256, n_boot=200,
                               fuse_widths=True)
    return DensitySettings()


def _max_active(s: DensitySettings) -> int:
    h = jax.tree_util.tree_map(lambda x: x[0], sp.make_hyper(alpha=s.alpha, density=max(s.densities)))
    for K in range(4, s.n + 1, 4):
        if float(sp.truncation_mass(sp.SuperpositionConfig(n=s.n, m=1, max_active=K), h)) <= s.max_trunc:
            return K
    return s.n


def density_run_point(p: WidthPoint, s: DensitySettings):
    return _run_widths(p, s, None, s.gammas, density=s.densities)


def _expected_active(s, d):
    h = jax.tree_util.tree_map(lambda x: x[0], sp.make_hyper(alpha=s.alpha, density=d))
    return float(np.sum(np.asarray(sp.frequencies(sp.SuperpositionConfig(n=s.n, m=1), h))))


def density_exponents(runs, s):
    ms, T = _table(runs, key="density")
    out = {}
    for g in np.unique(T["gamma"]):
        for d in np.unique(T["density"]):
            sel = (T["gamma"] == g) & (T["density"] == d) & ~T["diverged"]
            Y = T["loss"][:, sel].T
            if sel.sum() == 0:  # every member of the cell diverged: NaN exponent, reported as such
                out[(float(g), float(d))] = (ms, Y, (float("nan"), _NAN_CI))
                continue
            out[(float(g), float(d))] = (ms, Y, _exponent(ms, Y, s.n_boot, s.seed))
    return out


def density_summarize(runs, s: DensitySettings) -> list:
    recs = []
    for (g, d), (ms, Y, (est, ci)) in sorted(density_exponents(runs, s).items()):
        E = _expected_active(s, d)
        extra = {"ci_kind": _ci_kind(Y.shape[0])}
        if Y.shape[0] == 0:
            extra["note"] = "every member of this cell diverged: no exponent"
        if g < 0:
            recs.append(comparison(f"alpha_m strong[gamma={g:g}, E={E:.2f}]", est, ci, 1.0, tol=s.strong_exp_tol,
                                   **extra))
        else:
            h = jax.tree_util.tree_map(lambda x: x[0], sp.make_hyper(alpha=s.alpha, density=d))
            p = np.asarray(sp.frequencies(sp.SuperpositionConfig(n=s.n, m=1), h), float)
            ref = float(fit_power_law(ms, np.array([float(theory.weak_loss(p, int(m))) for m in ms])).exponent)
            extra.setdefault("note", "theory = slope of L_weak(m) for the rescaled p")
            recs.append(comparison(f"alpha_m weak[gamma={g:g}, E={E:.2f}]", est, ci, ref, tol=0.25, **extra))
    return recs


def density_plot(runs, s: DensitySettings, records: list[dict]):
    fig, axes = figure(ncols=2)
    ax, ax2 = axes[0]
    ex = density_exponents(runs, s)
    for (g, d), (ms, Y, _) in sorted(ex.items()):
        if Y.shape[0] == 0:
            continue
        c = COLORS[list(s.densities).index(d) % len(COLORS)] if d in s.densities else "k"
        ax.plot(ms, Y.mean(0), "o-" if g < 0 else "s--", color=c, ms=3,
                label=f"E={_expected_active(s, d):.2f}, γ={g:g}")
    ax.set(xscale="log", yscale="log", xlabel="m", ylabel="loss", title=f"activation density (α={s.alpha:g})")
    ax.legend(fontsize=6)
    for g, mk in ((min(s.gammas), "o"), (max(s.gammas), "s")):
        pts = [(_expected_active(s, d), e, ci) for (gg, d), (_, _, (e, ci)) in sorted(ex.items()) if gg == g]
        if not pts:
            continue
        E_, e_, ci_ = zip(*pts)
        ax2.errorbar(E_, e_, yerr=np.abs(np.array(ci_).T - np.array(e_)), fmt=mk, label=f"γ={g:g}")
    ax2.axhline(1.0, color="k", lw=1)
    ax2.set(xlabel="expected active features E", ylabel="model exponent α_m", title="α_m vs density")
    ax2.legend(fontsize=7)
    return fig


DENSITY = Experiment(
    name="superposition-density",
    description="Liu et al. 2025 exp-15: model exponent vs activation density E (α=1), strong and weak.",
    settings=density_settings, sweep=grid_sweep, run_point=density_run_point,
    summarize=density_summarize, plot=density_plot,
    theory=(theory,), papers=("liu2025superposition",),
)
