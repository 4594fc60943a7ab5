"""``rf-compute-optimal``: compute-optimal PLRF under one-pass SGD (Paquette et al. 2024).

Power-law random features (Paquette, Paquette, Xiao & Pennington, arXiv 2405.15074;
:mod:`scalesim.models.plrf`): ``x_j ~ N(0, j^-2 alpha)`` (j <= v = v_ratio d),
target ``<x, b>`` with ``b_j = j^-beta``, features ``W^T x`` (``W_ij ~ N(0, 1/d)``), risk
``P = (1/2) E(<W^T x, theta> - y)^2``, one-pass batch-mean SGD from ``theta_0 = 0`` with
``lr = lr_scale / tr(K)``, ``K = W^T D W`` (so ``lr`` ~ Paquette's ``0.5 / sum_j j^-2 alpha``).

One sweep point = one phase point ``(alpha, beta)`` and one model size ``d``: an ensemble of
``seeds`` members (each its own ``W`` and data stream) trained by
:func:`scalesim.engine.train_ensemble` for ``ceil(f_max / (d B))`` steps.  Compute is
``f = d * B * t`` (``d`` parameters times ``r = B t`` samples).

Summary, per phase point:

* the compute-optimal frontier ``P*(f) = min_d P(f, d)`` on a common geometric compute grid,
  with ``d*(f)`` and ``P*(f)`` interpolated by a parabola in ``log d`` through the best ladder
  size and its two neighbours; ``eta`` (``P* ~ f^-eta``) and ``xi`` (``d* ~ f^xi``) are
  least-squares slopes over the window of ``f`` where the theory's best size is interior to the
  ladder; CIs by bootstrapping members. The grid, frontier, window and slopes are
  :mod:`scalesim.theory.plrf`'s (``compute_grid``, ``compute_optimal_frontier``,
  ``frontier_window``, ``frontier_slopes``), the same code with which
  :func:`scalesim.theory.plrf.compute_optimal_fit` fits exact risk curves without simulating SGD.
* theory: the same frontier and fits built from the exact expected SGD risk
  (:func:`scalesim.theory.plrf.plrf_sgd_risk`) of the *same* ``W`` draws — the finite-size
  prediction on the same window, which ``agrees`` is decided against. The asymptotic
  exponents declared by :func:`scalesim.theory.plrf.exponents` are reported next to it
  (``asymptotic``): finite ladders converge to them slowly.
* ``sim_over_theory``: seed-averaged simulated risk over the exact risk for ``t >= t_min``.

The W draws are keyed by ``(alpha, beta, d)`` and one point is one beta, so each point's exact
risk (:func:`scalesim.theory.plrf.plrf_sgd_risk`) has its own eigendecompositions; sharing them
across beta (:func:`scalesim.theory.plrf.plrf_sgd_risk_betas`) would need draws shared across
phase points, i.e. other records.

Cost: ``--quick`` (d = 8..64, 96 seeds) ~30 s on 2 CPU cores; the full sweep (d = 16..512, 48 seeds,
f up to 4e6) ~15-25 min on 2 shared cores, dominated by d = 256, 512.

Phases: only ``2 alpha > 1`` (Paquette Ia, II, III) is accepted, the region where ``v -> inf``
is allowed and the exponents are derived here; Ib/Ic/IV need ``lr ~ 1/tr(D)`` scaling with ``v``.
Points on the boundaries ``2 beta = 1`` and ``beta = alpha`` are accepted and labelled as such
(``"Ia/II boundary"``, ``"II/III boundary"`` in the record names and ``phase`` fields); their
asymptotic exponents are the common limit of both phases (``asymptotic_status`` "boundary").
Paquette et al.'s own example ``alpha = beta = 0.7`` lies on the II/III boundary, where
finite-size drift is strong: a small simulated check of it is
``--quick --set alphas=0.7 --set betas=0.7``; for sizes d in the thousands use the exact risk
without SGD (:func:`scalesim.theory.plrf.compute_optimal_fit`, ``benchmarks/plrf_anchor.py``).
"""
from __future__ import annotations

import dataclasses
import math
import time
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ..engine import geometric_steps, train_ensemble, warn_diverged
from ..fit.records import comparison, diverged_note
from ..models import plrf as mplrf
from ..plots import COLORS, figure
from ..rng import root_key, stream
from ..stats import percentile_ci, resample_indices
from ..theory import plrf
from ..validate import MAX_STEPS, check_positive_ints, check_range, check_resamples, check_seed, check_tolerance, check_unique
from ._random_features import resample_groups
from .base import Experiment
from ..preflight import Cost, ensemble_cost

__all__ = ["Settings", "Point", "EXPERIMENT", "frontier", "phase_curves"]


@dataclasses.dataclass(frozen=True)
class Settings:
    """Knobs of ``rf-compute-optimal`` (each settable with ``--set key=value``)."""

    alphas: tuple[float, ...] = (1.0, 1.0, 1.0)  # phase points (alphas[i], betas[i]): data exponent, 2 alpha > 1
    betas: tuple[float, ...] = (0.25, 0.75, 1.5)  # target exponents: Ia (2 beta < 1), II (beta < alpha), III;
                                                  # 2 beta = 1 and beta = alpha are boundary points
    dims: tuple[int, ...] = (16, 32, 64, 128, 256, 512)  # model sizes d (one compiled program each)
    v_ratio: int = 10  # v = v_ratio * d latent dimensions (Paquette et al. use v = 10 d)
    seeds: int = 48  # ensemble members (W draw + data stream) per (phase, d)
    batch: int = 1  # SGD batch B
    lr_scale: float = 0.5  # lr = lr_scale / tr(K)
    f_max: float = 4.0e6  # compute budget f = d B t: size d runs ceil(f_max / (d B)) steps
    n_records: int = 60  # recorded steps per run (geometric)
    n_compute: int = 48  # points of the common compute grid
    t_min: int = 30  # sim-vs-theory ratios use t >= t_min
    ratio_tol: float = 0.02  # stated systematic tolerance on sim/theory
    n_boot: int = 400  # bootstrap resamples (members, independently per d)
    seed: int = 0  # root PRNG seed

    def __post_init__(self):
        if not self.alphas or len(self.alphas) != len(self.betas):
            raise ValueError(f"alphas and betas must be non-empty and of equal length (one phase point "
                             f"each); got {len(self.alphas)} and {len(self.betas)}")
        check_unique("phases (alphas, betas)", self.phases)
        for alpha, beta in self.phases:
            check_range("alphas", alpha, 0.5, 50.0, lo_open=True)  # 2 alpha > 1: Ia, II, III
            check_range("betas", beta, 0.0, 50.0, lo_open=True)  # boundaries 2 beta = 1, beta = alpha allowed
        check_positive_ints("dims", self.dims)
        check_unique("dims", self.dims)
        if len(self.dims) < 3 or list(self.dims) != sorted(self.dims):
            raise ValueError(f"dims must be >= 3 increasing sizes (a parabola needs 3); got {self.dims}")
        check_positive_ints("v_ratio", self.v_ratio)
        check_range("v_ratio", self.v_ratio, 2, 1000)  # v > d
        check_positive_ints("seeds", self.seeds)
        check_range("seeds", self.seeds, 2)  # a bootstrap CI needs two members
        check_positive_ints("batch", self.batch)
        check_range("lr_scale", self.lr_scale, 0.0, 2.0, lo_open=True, hi_open=True)
        check_range("f_max", self.f_max, 0.0, 1e18, lo_open=True)
        if self.f_max < 100 * max(self.dims) * self.batch:
            raise ValueError(f"f_max must be >= 100 * max(dims) * batch (>= 100 steps for every d); got {self.f_max}")
        check_positive_ints("n_records", self.n_records)
        check_range("n_records", self.n_records, 8, 10**4)
        check_positive_ints("n_compute", self.n_compute)
        check_range("n_compute", self.n_compute, 8, 10**4)
        check_positive_ints("t_min", self.t_min)
        if self.t_min >= self.f_max / (max(self.dims) * self.batch):
            raise ValueError(f"t_min must be < the step count at the largest d, f_max / (max(dims) * batch) = "
                             f"{self.f_max / (max(self.dims) * self.batch):g}; got {self.t_min}")
        if self.f_max / (min(self.dims) * self.batch) > MAX_STEPS:
            raise ValueError(f"f_max must give <= {MAX_STEPS} steps at the smallest d (f_max <= {MAX_STEPS} * "
                             f"min(dims) * batch); got {self.f_max:g}")
        check_tolerance("ratio_tol", self.ratio_tol)
        check_resamples("n_boot", self.n_boot)
        check_seed("seed", self.seed)

    @property
    def phases(self) -> tuple[tuple[float, float], ...]:
        """The phase points ``(alpha, beta)``."""
        return tuple((float(a), float(b)) for a, b in zip(self.alphas, self.betas))


@dataclasses.dataclass(frozen=True)
class Point:
    alpha: float
    beta: float
    d: int


def settings(quick: bool) -> Settings:
    if quick:
        return Settings(dims=(8, 16, 32, 64), seeds=96, f_max=3.0e4, n_records=40, n_compute=32,
                        n_boot=200)
    return Settings()


def sweep(s: Settings) -> list[Point]:
    return [Point(float(a), float(b), int(d)) for a, b in s.phases for d in s.dims]


def _steps(d: int, s: Settings) -> int:
    return int(math.ceil(s.f_max / (d * s.batch)))


@partial(jax.jit, static_argnames=("batch",))
def _theory(ws, alpha, beta, lr_scale, batch, t):
    """Exact expected SGD risk of every member's W (float64), its lr and kernel norm."""
    one = lambda w: plrf.plrf_sgd_risk(w.astype(jnp.float64), alpha, beta, lr_scale, batch, t)
    return jax.vmap(one)(ws)


def run_point(p: Point, s: Settings):
    cfg = mplrf.Config(alpha=p.alpha, beta=p.beta, v=s.v_ratio * p.d, d=p.d)
    steps = _steps(p.d, s)
    rec = geometric_steps(steps, s.n_records)
    # W draws: member i of (phase, d) uses fold_in(stream, i); simulated in float32, the theory
    # sees exactly the same (float32-valued) W in float64
    wkey = stream(root_key(s.seed), f"plrf-w/{p.alpha:g}/{p.beta:g}/{p.d}")
    ws = jax.vmap(lambda i: mplrf.draw_w(jax.random.fold_in(wkey, i), cfg, jnp.float32))(
        jnp.arange(s.seeds))
    t0 = time.perf_counter()
    risk_th, lr, knorm = map(np.asarray, _theory(ws, p.alpha, p.beta, s.lr_scale, s.batch,
                                                 jnp.asarray(rec, jnp.float64)))
    theory_seconds = time.perf_counter() - t0
    if np.any(~np.isfinite(knorm)) or np.any(knorm >= 1):
        raise ValueError(f"lr_scale={s.lr_scale} is unstable at d={p.d}, B={s.batch}: "
                         f"max ||K|| = {np.max(knorm):.3f} >= 1")
    hyper = mplrf.make_hyper(lr=jnp.asarray(lr, jnp.float32), w=ws)
    t0 = time.perf_counter()
    res = train_ensemble(mplrf.MODEL, cfg, hyper, mplrf.sgd,
                         key=stream(root_key(s.seed), f"plrf-sgd/{p.alpha:g}/{p.beta:g}/{p.d}"),
                         steps=steps, batch_size=s.batch, record_steps=rec)
    wall = time.perf_counter() - t0
    metrics = {"alpha": p.alpha, "beta": p.beta, "d": p.d, "v": cfg.v, "steps": steps,
               "members": s.seeds, "diverged": int(res.diverged.sum()),
               "kernel_norm_max": float(knorm.max()), "train_seconds": wall,
               "theory_seconds": theory_seconds}
    arrays = {"steps": rec, "risk": res.metrics["risk"].astype(np.float64), "theory_risk": risk_th,
              "lr": lr, "diverged": res.diverged, "member_ids": res.member_ids}
    return metrics, arrays


# --------------------------------------------------------------------------- frontier
def compute_grid(s: Settings) -> np.ndarray:
    """Common geometric compute grid ``f`` from ``min(dims) B t_min`` to ``f_max``."""
    return plrf.compute_grid(min(s.dims), s.batch, s.t_min, s.f_max, s.n_compute)


def _interp_loglog(t_rec, curves, t):
    """Risk curves ``[..., T]`` (at record steps) at steps ``t`` (log-log linear); NaN outside."""
    lt = np.log(t_rec[1:])
    lc = np.log(np.maximum(curves[..., 1:], 1e-300))
    out = np.full(curves.shape[:-1] + (t.size,), np.nan)
    ok = (t >= t_rec[1]) & (t <= t_rec[-1])
    flat = lc.reshape(-1, lc.shape[-1])
    vals = np.stack([np.interp(np.log(t[ok]), lt, row) for row in flat])
    out[..., ok] = np.exp(vals.reshape(curves.shape[:-1] + (int(ok.sum()),)))
    return out


# the frontier, window and slope fits are shared with plrf.compute_optimal_fit (exact risk, no SGD)
frontier = plrf.compute_optimal_frontier


def phase_curves(runs, s: Settings, alpha: float, beta: float):
    """Mean sim and theory risks of one phase point on the compute grid.

    Returns a dict with ``dims``, ``f`` (compute grid), ``sim [n_d, n_f]``, ``theory [n_d, n_f]``,
    the per-member sim curves ``members`` (list over d of ``[M_d, n_f]``), the fit window mask
    and the runs by d; ``ok`` {d: finite-member mask} (diverged members warned about and left
    out), ``dead`` the sizes whose every member diverged (left out of ``dims``: no ladder entry).
    """
    by_d = {r.metrics["d"]: r for r in runs
            if r.metrics["alpha"] == alpha and r.metrics["beta"] == beta}
    f = compute_grid(s)
    sim, theory, members, dims, dead, oks = [], [], [], [], [], {}
    for d in [d for d in s.dims if d in by_d]:
        A = by_d[d].arrays
        bad = A["diverged"].astype(bool) | ~np.isfinite(A["risk"]).all(1)
        ok = oks[d] = warn_diverged(bad, A["member_ids"], f"rf-compute-optimal alpha={alpha:g} beta={beta:g} d={d}")
        if not ok.any():
            dead.append(d)
            continue
        dims.append(d)
        t = f / (d * s.batch)
        mem = _interp_loglog(A["steps"].astype(float), A["risk"][ok], t)
        members.append(mem)
        sim.append(mem.mean(0))
        theory.append(_interp_loglog(A["steps"].astype(float), A["theory_risk"][ok].mean(0), t))
    sim, theory = np.asarray(sim), np.asarray(theory)
    n = len(dims)
    if n < 3:  # no parabola through three sizes: no frontier window
        return {"dims": dims, "f": f, "sim": sim, "theory": theory, "members": members,
                "window": np.zeros(f.size, bool), "runs": by_d, "ok": oks, "dead": dead}
    # window: the theory's best ladder size is interior and its neighbours are available
    window = plrf.frontier_window(dims, theory, finite=sim)
    return {"dims": dims, "f": f, "sim": sim, "theory": theory, "members": members,
            "window": window, "runs": by_d, "ok": oks, "dead": dead}


def summarize(runs, s: Settings) -> list[dict]:
    records = []
    for alpha, beta in s.phases:
        pc = phase_curves(runs, s, alpha, beta)
        if not pc["dims"] and not pc["dead"]:
            continue
        co = plrf.compute_optimal_exponents(alpha, beta)
        declared = plrf.exponents(alpha=alpha, beta=beta)
        label = f"{co.phase}: alpha={alpha:g} beta={beta:g}"
        dims, f, win = pc["dims"], pc["f"], pc["window"]
        window = [float(f[win].min()), float(f[win].max())] if win.any() else []
        if win.sum() >= 3:
            xi_m, eta_m = plrf.frontier_slopes(dims, f, pc["sim"], win)
            xi_t, eta_t = plrf.frontier_slopes(dims, f, pc["theory"], win)
            idx = resample_groups([m.shape[0] for m in pc["members"]], s.n_boot, s.seed)
            boot = np.stack([m[i].mean(1) for m, i in zip(pc["members"], idx)], axis=1)   # [n_boot, n_d, n_f]
            xi_b, eta_b = plrf.frontier_slopes(dims, f, boot, win)
            xi_ci, eta_ci = percentile_ci(xi_b, 0.95), percentile_ci(eta_b, 0.95)
        else:   # the ladder never brackets the optimum: report, do not fit
            xi_m = eta_m = xi_t = eta_t = float("nan")
            xi_ci = eta_ci = (float("nan"), float("nan"))
        note = "theory = exact SGD risk of the same W draws, same frontier fit and window"
        if co.status == "boundary":
            note += f"; {co.phase}: asymptotic = the common limit of both phases' formulas"
        if pc["dead"]:
            note += f"; every member diverged at d={pc['dead']}: left out of the ladder"
        common = dict(phase=co.phase, asymptotic_status=co.status, window=window,
                      n_window=int(win.sum()), dims=[int(d) for d in dims], note=note)
        records.append(comparison(f"eta[{label}]", eta_m, eta_ci, eta_t, asymptotic=declared["eta"].value, **common))
        records.append(comparison(f"xi[{label}]", xi_m, xi_ci, xi_t, asymptotic=declared["xi"].value, **common))
        for d in [d for d in s.dims if d in pc["ok"]]:
            A, ok = pc["runs"][d].arrays, pc["ok"][d]
            if ok.sum() < 2:  # too few finite members for the ratio's bootstrap CI
                records.append(comparison(f"sim_over_theory[{label} d={d}]", float("nan"), (float("nan"),) * 2, 1.0,
                                          tol=s.ratio_tol, t_min=s.t_min, members=int(ok.sum()),
                                          note=diverged_note((~ok).sum(), ok.size, need=2)))
                continue
            late = A["steps"] >= s.t_min
            sim_m, th_m = A["risk"][ok][:, late], A["theory_risk"][ok][:, late]
            ratio = (sim_m.mean(0) / th_m.mean(0)).mean()
            idx = resample_indices(sim_m.shape[0], s.n_boot, s.seed + d)
            bs = (sim_m[idx].mean(1) / th_m[idx].mean(1)).mean(1)
            records.append(comparison(f"sim_over_theory[{label} d={d}]", float(ratio),
                                      percentile_ci(bs, 0.95), 1.0, tol=s.ratio_tol,
                                      t_min=s.t_min, members=int(ok.sum())))
    return records


def plot(runs, s: Settings, records: list[dict]):
    recs = {r["quantity"]: r for r in records}
    phases = [ab for ab in s.phases if any(r.metrics["alpha"] == ab[0] and r.metrics["beta"] == ab[1]
                                           for r in runs)]
    fig, axes = figure(ncols=len(phases) + 1, nrows=1)
    axes = axes[0]
    for ax, (alpha, beta) in zip(axes, phases):
        pc = phase_curves(runs, s, alpha, beta)
        co = plrf.compute_optimal_exponents(alpha, beta)
        f, win = pc["f"], pc["window"]
        for k, d in enumerate(pc["dims"]):
            c = COLORS[k % len(COLORS)]
            ax.plot(f, pc["sim"][k], "o", ms=2.5, color=c, label=f"d={d}")
            ax.plot(f, pc["theory"][k], "-", color=c, lw=0.8)
        if win.any():  # (no window: fewer than 3 sizes left, e.g. all members of some diverged)
            _, _, ly = frontier(pc["dims"], pc["theory"])
            ax.plot(f[win], np.exp(ly[win]), "k-", lw=2, alpha=0.5, label="frontier (theory)")
            rec = recs.get(f"eta[{co.phase}: alpha={alpha:g} beta={beta:g}]")
            if rec is not None:
                f0, p0 = f[win][0], np.exp(ly[win][0])
                ax.plot(f[win], p0 * (f[win] / f0) ** -rec["asymptotic"], "k:", lw=1,
                        label=f"f^-{rec['asymptotic']:.3f} (asymptotic)")
                ax.axvspan(f[win].min(), f[win].max(), color="gray", alpha=0.08)
        ax.set(xscale="log", yscale="log", xlabel="compute f = d B t", ylabel="risk P",
               title=f"{co.phase}: alpha={alpha:g}, beta={beta:g}")
        ax.legend(fontsize=6)
    ax = axes[-1]
    k = 0
    for name, marker in (("eta", "o"), ("xi", "s")):
        for alpha, beta in phases:
            co = plrf.compute_optimal_exponents(alpha, beta)
            r = recs.get(f"{name}[{co.phase}: alpha={alpha:g} beta={beta:g}]")
            if r is None:
                continue
            ax.errorbar([k], [r["measured"]], yerr=[[r["measured"] - r["ci"][0]], [r["ci"][1] - r["measured"]]],
                        fmt=marker, color="C0", label="measured (95% CI)" if k == 0 else None)
            ax.plot([k], [r["theory"]], "k_", ms=14, label="theory, same window" if k == 0 else None)
            ax.plot([k], [r["asymptotic"]], "rx", ms=7, label="asymptotic" if k == 0 else None)
            k += 1
    labels = [f"{n} {plrf.compute_optimal_exponents(a, b).phase}" for n in ("eta", "xi") for a, b in phases]
    ax.set_xticks(range(len(labels)), labels, rotation=60, fontsize=7)
    ax.set(ylabel="exponent", title="eta (P* ~ f^-eta), xi (d* ~ f^xi)")
    ax.legend(fontsize=6)
    return fig


def cost(p: Point, s: Settings) -> Cost:
    """Pre-flight estimate: per member its v x d features and a batch; float64 v x v theory spectra."""
    v = s.v_ratio * p.d
    flops = s.seeds * 6 * v * int(s.f_max) + 20 * v**3
    return ensemble_cost(s.seeds, v * p.d + 2 * s.batch * v + 4 * p.d, 4 * v * v, flops, 3 * s.n_records + p.d)


EXPERIMENT = Experiment(
    name="rf-compute-optimal",
    description="PLRF + one-pass SGD (Paquette et al. 2024): compute-optimal exponents eta, xi vs theory at phases Ia, II, III.",
    settings=settings, sweep=sweep, run_point=run_point, summarize=summarize, plot=plot,
    theory=(plrf,), papers=("paquette2024phases",), cost=cost,
)
