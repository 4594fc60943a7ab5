"""Code shared by the Liu, Liu & Gore 2025 superposition experiments.

``superposition-grid`` (:mod:`.superposition_grid`), ``superposition-large``
(:mod:`.superposition_large`) and ``superposition-density`` (:mod:`.superposition_density`)
train ensembles of :mod:`scalesim.models.superposition` with the signed-decay AdamW of
:mod:`scalesim.optim` and fit the model exponent α_m of the final loss against the width m.
Widths share one compiled program when fused (width is a per-member hyperparameter).
"""

from __future__ import annotations

import dataclasses
import time

import jax
import numpy as np

from ..engine import geometric_steps, train_ensemble
from ..fit.powerlaw import bootstrap_exponent, fit_power_law
from ..models import superposition as sp
from ..models._geometry import overlap_stats
from ..optim import LiuAdamW
from ..preflight import Cost, ensemble_cost
from ..rng import root_key
from ..validate import MAX_STEPS, check_int, check_positive_ints, check_range, check_resamples, check_seed, check_tolerance

PAPERS = ("liu2025superposition",)
NAN_CI = (float("nan"), float("nan"))

_overlap_stats = jax.jit(jax.vmap(overlap_stats))


def check_common(s) -> None:
    """Validate the knobs every superposition experiment has (n, ms, seeds, steps, batch, warm-up, γ,
    lr, n_boot, seed, tolerances)."""
    check_int("n", s.n, 2)
    check_positive_ints("ms", s.ms)
    if max(s.ms) > s.n:
        raise ValueError(f"ms must be <= n={s.n}; got max {max(s.ms)}")
    if len(s.ms) < 2:
        raise ValueError("ms needs >= 2 widths for an exponent fit")
    check_positive_ints("seeds", s.seeds)
    check_positive_ints("steps", s.steps, MAX_STEPS)
    check_positive_ints("batch", s.batch)
    check_range("warmup_frac", s.warmup_frac, 0.0, 1.0)
    if not s.gammas:
        raise ValueError("gammas must be non-empty")
    for g in s.gammas:
        check_range("gammas", g, -1.0, 1.0)
    check_range("lr", s.lr, 0.0, 10.0, lo_open=True)
    check_resamples("n_boot", s.n_boot)
    check_seed("seed", s.seed)
    for name in ("weak_tol", "strong_exp_tol", "overlap_tol"):
        if hasattr(s, name):
            check_tolerance(name, getattr(s, name))


def train_point(cfg: sp.Config, hyper: sp.Hyper, *, steps, batch, warmup, seed, member_ids, n_records=24):
    """Train one ensemble (all members share ``cfg``); returns (arrays, seconds).

    Arrays: the recorded metrics [M, records], ``steps``, and the final diagnostics per member:
    row norms [M, n], mean/variance of squared overlaps of normalised rows [M], ``diverged`` [M].
    """
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


def members(xs, gammas, seeds):
    """Flattened member grid (x, γ, seed index) with x-major order."""
    A, G, S = np.meshgrid(np.asarray(xs, float), np.asarray(gammas, float), np.arange(seeds), indexing="ij")
    return A.ravel(), G.ravel(), S.ravel()


def exponent(ms, Y, n_boot, seed):
    """α_m from loss-vs-m rows Y [seeds, widths]: bootstrap over seeds when there are ≥ 2."""
    if Y.shape[0] >= 2:
        b = bootstrap_exponent(ms, Y, "power", n_boot=n_boot, seed=seed)
        return b.estimate, b.ci
    e = float(fit_power_law(np.asarray(ms, float), Y[0]).exponent)
    return e, (e, e)


def point_exponent(ms, Y) -> float:
    """The estimate of :func:`exponent` alone (fit of the seed-mean curve), without a bootstrap."""
    return float(fit_power_law(np.asarray(ms, float), np.asarray(Y, float).mean(0)).exponent)


def ci_kind(n_seeds: int) -> str:
    """How a record's CI was obtained (:func:`exponent`): 1 seed gives a degenerate CI (e, e)."""
    if n_seeds >= 2:
        return f"bootstrap over {n_seeds} seeds"
    if n_seeds == 0:
        return "none (no finite member)"
    return "none (1 seed): agreement by tolerance only"


def member_ids(arrays) -> np.ndarray:
    """Member ids of a stored run, in stored order: :func:`run_widths` and ``superposition-large``
    lay members out as equal width blocks with ids ``tile(arange(k), widths)``."""
    w = np.asarray(arrays["width"])
    return np.arange(w.size) % int((w == w[0]).sum())


@dataclasses.dataclass(frozen=True)
class WidthPoint:
    ms: tuple  # widths trained together in one program (cfg.m = max; width is a member hyper)


def width_sweep(s) -> list:
    """One point with all widths (``fuse_widths``) or one point per width."""
    if s.fuse_widths:
        return [WidthPoint(tuple(int(m) for m in s.ms))]
    return [WidthPoint((int(m),)) for m in s.ms]


def width_cost(p, s, n_x: int) -> Cost:
    """Pre-flight estimate of a width point: per member the [m, n] weights with AdamW state, a
    batch of n features in and out, and the [batch, m] hidden layer (float32); ``n_x`` alphas or
    densities per γ and seed."""
    m = max(p.ms)
    members = len(p.ms) * n_x * len(s.gammas) * s.seeds
    per = 4 * m * s.n + 4 * s.n + 3 * s.batch * s.n + 2 * s.batch * m
    return ensemble_cost(members, per, 0, members * s.steps * 6 * s.batch * s.n * m, 100 + m * s.n + 2 * s.n)

def run_widths(p: WidthPoint, s, alphas, gammas, density=None, max_active=12):
    """Members = widths × alphas × gammas × seeds (or densities × gammas × seeds) in one program."""
    base = members(alphas, gammas, s.seeds) if density is None else members(density, gammas, s.seeds)
    k = base[0].size
    X, G, S = (np.tile(v, len(p.ms)) for v in base)
    Wd = np.repeat(np.asarray(p.ms, float), k)
    ids = np.tile(np.arange(k), len(p.ms))  # member i has the same streams at every width
    kw = dict(alpha=X, gamma=G, lr=s.lr, width=Wd) if density is None else \
        dict(alpha=s.alpha, density=X, gamma=G, lr=s.lr, width=Wd)
    cfg = sp.Config(n=s.n, m=max(p.ms), max_active=max_active)
    arrays, wall = train_point(cfg, sp.make_hyper(**kw), steps=s.steps, batch=s.batch,
                               warmup=int(s.warmup_frac * s.steps), seed=s.seed, member_ids=ids)
    arrays.update({"alpha" if density is None else "density": X, "gamma": G, "seed": S, "width": Wd})
    meta = {"ms": list(p.ms), "members": int(X.size), "diverged": int(arrays["diverged"].sum()),
            "train_seconds": wall, "max_active": cfg.max_active}
    return meta, arrays


def table(runs, key="alpha"):
    """Group members of all runs by width: ms [W], final loss / overlaps [W, M], member labels [M].

    ``diverged`` [M]: the member diverged, or its final loss is not finite, at some width;
    ``member_id`` [M]: its id (the same at every width)."""
    cat = lambda k: np.concatenate([r.arrays[k] for r in runs])
    width = cat("width")
    ms = np.unique(width)
    rows = [np.flatnonzero(width == m) for m in ms]
    fin = lambda k: np.stack([cat(k)[i][:, -1] for i in rows]) if cat(k).ndim == 2 else np.stack([cat(k)[i] for i in rows])
    lab = lambda k: cat(k)[rows[0]]
    loss = fin("loss")
    ids = np.concatenate([member_ids(r.arrays) for r in runs])[rows[0]]
    return ms, {"loss": loss, "phi_half": fin("phi_half"), "phi_one": fin("phi_one"),
                "overlap": fin("overlap_mean"), "overlap_var": fin("overlap_var"),
                "diverged": fin("diverged").astype(bool).any(0) | ~np.isfinite(loss).all(0), key: lab(key),
                "gamma": lab("gamma"), "seed": lab("seed"), "member_id": ids}


def record_points(records, gamma, x_key):
    """(x, α_m, ci) of the α_m records of regime ``gamma`` (for plots; records carry gamma and x_key)."""
    return [(r[x_key], r["measured"], r["ci"]) for r in records if r.get("gamma") == gamma and x_key in r]
