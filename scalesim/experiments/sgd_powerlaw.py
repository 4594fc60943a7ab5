"""``sgd-powerlaw``: online SGD on power-law linear regression, loss vs time.

Theory: the exact per-mode SGD recursion (:mod:`scalesim.theory.linear_sgd`) and the declared
time exponent ``min((a - 1)/b, 2 - 1/b)`` (:func:`scalesim.theory.linear_sgd.exponents`;
Paquette et al. 2024, Bordelon et al. 2024). Members are
``a_values x seeds`` in one compiled program per dimension ``d``; the learning rate is
``eta = lr_scale / tr(K)`` per member (stable: ``||K|| < 1`` is checked before training).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from ..engine import geometric_steps, train_ensemble, warn_diverged
from ..fit.powerlaw import bootstrap_exponent, fit_power_law
from ..fit.records import comparison, diverged_note
from ..models import linear_sgd as model
from ..plots import COLORS, figure, records_errorbar
from ..rng import root_key
from ..stats import percentile_ci, resample_indices
from ..theory import linear_sgd as theory
from ..validate import MAX_STEPS, check_positive_ints, check_range, check_resamples, check_seed, check_tolerance, check_unique
from .base import Experiment
from ..preflight import Cost, ensemble_cost

__all__ = ["Settings", "Point", "EXPERIMENT"]


@dataclasses.dataclass(frozen=True)
class Settings:
    """Knobs of ``sgd-powerlaw`` (each settable with ``--set key=value``)."""

    dims: tuple[int, ...] = (512, 2048)  # feature dimensions d (one compiled program each)
    a_values: tuple[float, ...] = (2.0, 2.5, 3.0)  # task-power exponents (vmapped; keep a <= 2b, see theory)
    b: float = 1.5  # spectrum exponent lambda_k = k^-b
    seeds: int = 32  # ensemble members per a
    steps: int = 20000  # SGD steps
    batch: int = 1  # batch size B
    lr_scale: float = 0.5  # eta = lr_scale / tr(K)
    sigma: float = 0.0  # label-noise std
    fit_min_step: int = 30  # first step of the exponent-fit window
    tail_frac: float = 0.05  # fit window ends when the untrained tail (k*/d)^(a-1) reaches this, k* = (2 eta t)^(1/b)
    n_boot: int = 1000  # bootstrap resamples
    exponent_rtol: float = 0.03  # stated relative systematic tolerance on the exponent (finite d and window)
    ratio_tol: float = 0.02  # stated tolerance on sim/recursion
    seed: int = 0  # root PRNG seed

    def __post_init__(self):
        check_positive_ints("dims", self.dims)
        check_unique("dims", self.dims)
        if not self.a_values:
            raise ValueError("a_values must be non-empty")
        check_unique("a_values", self.a_values)
        for a in self.a_values:
            check_range("a_values", a, 1.0, 50.0, lo_open=True)
        check_range("b", self.b, 0.0, 50.0, lo_open=True)
        check_positive_ints("seeds", self.seeds)
        check_range("seeds", self.seeds, 2)  # a bootstrap CI needs two members
        check_positive_ints("steps", self.steps, MAX_STEPS)
        check_positive_ints("batch", self.batch)
        check_range("lr_scale", self.lr_scale, 0.0, 2.0, lo_open=True, hi_open=True)
        check_range("sigma", self.sigma, 0.0, 1e6)
        check_positive_ints("fit_min_step", self.fit_min_step)
        if self.fit_min_step >= self.steps:
            raise ValueError(f"fit_min_step must be < steps={self.steps}; got {self.fit_min_step}")
        check_range("tail_frac", self.tail_frac, 0.0, 1.0, lo_open=True, hi_open=True)
        check_resamples("n_boot", self.n_boot)
        check_tolerance("exponent_rtol", self.exponent_rtol)
        check_tolerance("ratio_tol", self.ratio_tol)
        check_seed("seed", self.seed)


@dataclasses.dataclass(frozen=True)
class Point:
    d: int


def settings(quick: bool) -> Settings:
    if quick:
        return Settings(dims=(1024,), seeds=16, steps=4000, n_boot=400)
    return Settings()


def sweep(s: Settings) -> list[Point]:
    return [Point(d) for d in s.dims]


def _eta(d: int, b: float, lr_scale: float) -> float:
    return lr_scale / float(np.sum(np.arange(1, d + 1, dtype=float) ** -b))


def run_point(p: Point, s: Settings):
    eta = _eta(p.d, s.b, s.lr_scale)
    lam, _ = theory.power_law_problem(p.d, s.a_values[0], s.b)
    knorm = float(theory.kernel_norm(lam, eta, s.batch))
    if knorm >= 1:
        raise ValueError(f"lr_scale={s.lr_scale} is unstable at d={p.d}, B={s.batch}: ||K|| = {knorm:.3f} >= 1")
    a = np.repeat(np.asarray(s.a_values, float), s.seeds)
    seed_idx = np.tile(np.arange(s.seeds), len(s.a_values))
    # member id = (a-group << 16) + seed: independent draws across groups, and member (j, s)
    # keeps its id when seeds or a_values grow (a_values keep their order)
    member_ids = (np.repeat(np.arange(len(s.a_values)), s.seeds) << 16) + seed_idx
    hyper = model.make_hyper(eta, a, s.b, s.sigma)
    rec = geometric_steps(s.steps, 40)
    t0 = time.perf_counter()
    res = train_ensemble(
        model.MODEL, model.Config(d=p.d), hyper, model.sgd, key=root_key(s.seed),
        steps=s.steps, batch_size=s.batch, record_steps=rec, member_ids=member_ids,
    )
    wall = time.perf_counter() - t0
    theo = np.stack(
        [
            np.asarray(theory.sgd_risk_at(*theory.power_law_problem(p.d, av, s.b), eta, s.batch, s.sigma**2, rec))
            for av in s.a_values
        ]
    )
    arrays = {
        "steps": rec,
        "mse": res.metrics["mse"],
        "excess": res.metrics["excess"],
        "train_loss": res.metrics["train_loss"],
        "a": a,
        "seed": seed_idx,
        "diverged": res.diverged,
        "theory_mse": theo,
        "theory_a": np.asarray(s.a_values, float),
    }
    metrics = {
        "d": p.d,
        "eta": eta,
        "kernel_norm": knorm,
        "members": int(a.size),
        "diverged": int(res.diverged.sum()),
        "train_seconds": wall,
    }
    return metrics, arrays


def _window(steps, d, eta, a, s: Settings):
    """Steps where the finite-d tail is negligible: ``(k*/d)^(a-1) <= tail_frac``, ``k* = (2 eta t)^(1/b)``."""
    t_max = (d * s.tail_frac ** (1 / (a - 1))) ** s.b / (2 * eta)
    return (steps >= s.fit_min_step) & (steps <= min(t_max, s.steps))


def summarize(runs, s: Settings) -> list[dict]:
    records = []
    for r in runs:
        d, eta, A = r.metrics["d"], r.metrics["eta"], r.arrays
        steps = A["steps"].astype(float)
        for j, av in enumerate(A["theory_a"]):
            win = _window(steps, d, eta, av, s)
            sel = A["a"] == av
            label = f"d={d} a={av:g} b={s.b:g}"
            bad = (A["diverged"][sel].astype(bool) | ~np.isfinite(A["mse"][sel]).all(1)
                   | ~np.isfinite(A["excess"][sel]).all(1))
            ok = warn_diverged(bad, (j << 16) + A["seed"][sel], label)  # the member ids of run_point
            mse, excess = A["mse"][sel][ok], A["excess"][sel][ok]
            dead = {} if ok.sum() >= 2 else {"note": diverged_note(bad.sum(), bad.size, need=2)}
            th = A["theory_mse"][j]
            expected = theory.exponents(a=float(av), b=s.b)["time"]
            window = [float(steps[win].min()), float(steps[win].max())] if win.any() else []
            if win.sum() >= 3 and ok.sum() >= 2:
                boot = bootstrap_exponent(steps[win], excess[:, win], "power", n_boot=s.n_boot, seed=s.seed + j)
                finite = float(fit_power_law(steps[win], th[win] - s.sigma**2).exponent)
                measured, ci = boot.estimate, boot.ci
            else:  # too few points before the finite-d tail matters (or members): report, do not fit
                measured, ci, finite = float("nan"), (float("nan"), float("nan")), float("nan")
            records.append(
                comparison(
                    f"time_exponent[{label}]", measured, ci, expected,
                    tol=s.exponent_rtol * expected.value, recursion_window_fit=finite,
                    window=window, members=int(ok.sum()), **dead,
                )
            )
            late = steps >= 30
            if dead:  # too few finite members for the ratio and its bootstrap CI
                ratio, ci = float("nan"), (float("nan"), float("nan"))
            else:
                ratios = mse[:, late] / th[late][None, :]
                bs = ratios[resample_indices(ratios.shape[0], s.n_boot, s.seed + j)].mean(1).mean(1)
                ratio, ci = float(ratios.mean()), percentile_ci(bs, 0.95)
            records.append(
                comparison(
                    f"sim_over_recursion[{label}]", ratio, ci, 1.0,
                    tol=s.ratio_tol, t_min=30, **dead,
                )
            )
    return records


def plot(runs, s: Settings, records: list[dict]):
    fig, axes = figure(ncols=2)
    ax, ax2 = axes[0]
    big = max(runs, key=lambda r: r.metrics["d"])
    A, eta = big.arrays, big.metrics["eta"]
    steps = A["steps"].astype(float)
    pos = steps > 0
    for j, av in enumerate(A["theory_a"]):
        c = COLORS[j % len(COLORS)]
        sel = (A["a"] == av) & ~A["diverged"]
        if not sel.any():  # every member of this a diverged (the record says so)
            continue
        m = A["mse"][sel].mean(0)
        se = A["mse"][sel].std(0) / np.sqrt(sel.sum())
        ax.errorbar(steps[pos], m[pos], yerr=se[pos], fmt="o", ms=3, color=c, label=f"a={av:g} (sim)")
        ax.plot(steps[pos], A["theory_mse"][j][pos], "-", color=c, lw=1)
        ax.plot(steps[pos], np.asarray(theory.time_limited_risk(av, s.b, eta * steps[pos])), ":", color=c, lw=1)
    ax.set(xscale="log", yscale="log", xlabel="SGD step t", ylabel="population MSE",
           title=f"d={big.metrics['d']}, b={s.b:g}: sim (o), recursion (-), asymptote (:)")
    ax.legend(fontsize=7)
    recs = records
    exps = [r for r in recs if r["quantity"].startswith("time_exponent")]
    xs = np.arange(len(exps))
    records_errorbar(ax2, xs, exps, theory_label="min((a-1)/b, 2-1/b)")
    ax2.set_xticks(xs, [r["quantity"][len("time_exponent["):-1].replace(" b=" + f"{s.b:g}", "") for r in exps],
                   rotation=60, fontsize=7)
    ax2.set(ylabel="loss-vs-time exponent", title="fitted vs theory")
    ax2.legend(fontsize=7)
    return fig


def cost(p: Point, s: Settings) -> Cost:
    """Pre-flight estimate: per member the weights and a batch of d features; the recursion over d modes."""
    members = len(s.a_values) * s.seeds
    flops = members * s.steps * 6 * s.batch * p.d + len(s.a_values) * s.steps * 8 * p.d
    return ensemble_cost(members, 4 * p.d + 2 * s.batch * p.d, 60 * p.d * len(s.a_values), flops, 160 + p.d)


EXPERIMENT = Experiment(
    name="sgd-powerlaw",
    description="Online SGD on power-law linear regression: L ~ t^-(a-1)/b vs the exact SGD recursion.",
    settings=settings,
    sweep=sweep,
    run_point=run_point,
    summarize=summarize,
    plot=plot,
    theory=(theory,),
    papers=("paquette2024phases", "bordelon2024dynamical"), cost=cost,
)
