"""``rf-duality``: ``L(N, P)`` vs ``L(P, N)`` for linear random-feature ridge regression.

Bahri, Dyer, Kaplan, Lee & Sharma 2021 (arXiv 2102.06701), Sec. 3, and Maloney, Roberts & Sully
2022 (arXiv 2210.16859): the test loss of the linear random-feature model is symmetric under
exchanging the number of features N and of samples P for an isotropic target (``a = b``) and
not otherwise. Simulation: :mod:`scalesim.models.rf_ridge` draws (closed-form ridge readout,
exact test MSE), members with key ``fold_in(key, i)``. Theory: the ratio of deterministic
equivalents (:func:`scalesim.theory.random_features.rf_error`) at the same ``(N, P)`` pairs.
"""
from __future__ import annotations

import dataclasses

import jax
import numpy as np

from ..fit.records import comparison
from ..models import rf_ridge
from ..plots import COLORS, figure, records_errorbar
from ..rng import root_key, stream
from ..simulator import run_simulator
from ..stats import percentile_ci
from ..theory import random_features as rf
from ..validate import check_positive_ints, check_range, check_resamples, check_seed, check_tolerance
from ._random_features import resample_groups
from .base import Experiment
from ..preflight import Cost, ensemble_cost

__all__ = ["DualitySettings", "DualityPoint", "EXPERIMENT"]


@dataclasses.dataclass(frozen=True)
class DualitySettings:
    """Knobs of ``rf-duality`` (the class name enters the run-directory ids: keep it)."""

    b: float = 2.0  # spectrum exponent lam_k = k^-b
    a_values: tuple[float, ...] = (2.0, 3.0)  # a = b: isotropic (exact duality); a != b: broken
    pairs: tuple[tuple[int, int], ...] = ((50, 200), (100, 400), (200, 800))  # (N, P), also run as (P, N)
    n_modes: int = 2000
    ridge: float = 1e-4
    draws: int = 32
    ratio_tol: float = 0.03  # systematic tolerance on sim ratios vs theory ratios
    n_boot: int = 1000
    seed: int = 0

    def __post_init__(self):
        check_range("b", self.b, 0.0, 50.0, lo_open=True)
        for a in self.a_values:
            check_range("a_values", a, 1.0, 50.0, lo_open=True)
        for n, p in self.pairs:
            check_positive_ints("pairs", (n, p))
            if n == p:
                raise ValueError(f"pairs must have N != P (a pair (N, N) is trivially dual); got {(n, p)}")
            if max(n, p) >= self.n_modes:
                raise ValueError(f"pairs must stay below n_modes={self.n_modes}")
        check_positive_ints("n_modes", self.n_modes)
        check_range("ridge", self.ridge, 0.0, 1e6, lo_open=True)
        check_positive_ints("draws", self.draws)
        check_range("draws", self.draws, 2)  # a bootstrap CI needs two draws
        check_tolerance("ratio_tol", self.ratio_tol)
        check_resamples("n_boot", self.n_boot)
        check_seed("seed", self.seed)


@dataclasses.dataclass(frozen=True)
class DualityPoint:
    """One sweep point: the sizes ``(N, P)`` (the class name enters the run-directory id)."""

    n_features: int
    n_samples: int


def settings(quick: bool) -> DualitySettings:
    if quick:
        return DualitySettings(pairs=((40, 160), (80, 320)), n_modes=1000, draws=24, n_boot=400)
    return DualitySettings()


def sweep(s: DualitySettings) -> list[DualityPoint]:
    return [DualityPoint(*q) for n, p in s.pairs for q in ((n, p), (p, n))]


def run_point(p: DualityPoint, s: DualitySettings):
    key = jax.random.fold_in(stream(root_key(s.seed), "duality"), p.n_features * 100003 + p.n_samples)
    cfg = rf_ridge.Config(n_features=p.n_features, n_samples=p.n_samples)
    losses, theory = [], []
    for a in s.a_values:
        lam, w2 = rf.power_law_spectrum(a, s.b, s.n_modes)
        hyper = rf_ridge.make_hyper(lam, w2, s.ridge, 0.0, members=s.draws)
        losses.append(run_simulator(rf_ridge.SIMULATOR, cfg, hyper, key=key)["test_mse"])
        theory.append(float(rf.rf_error(lam, w2, n_features=p.n_features, n_samples=p.n_samples, ridge=s.ridge, sigma2=0.0)))
    metrics = {"n_features": p.n_features, "n_samples": p.n_samples, "theory": theory}
    return metrics, {"loss": np.stack(losses), "a": np.asarray(s.a_values, float)}


def _pairs(runs, s: DualitySettings):
    by = {(r.metrics["n_features"], r.metrics["n_samples"]): r for r in runs}
    return [(by[(n, p)], by[(p, n)]) for n, p in s.pairs if (n, p) in by and (p, n) in by]


def summarize(runs, s: DualitySettings) -> list[dict]:
    cells = [(fwd, bwd, j, a) for fwd, bwd in _pairs(runs, s) for j, a in enumerate(s.a_values)]
    sizes = [r.arrays["loss"][j].size for fwd, bwd, j, _ in cells for r in (fwd, bwd)]
    idx = iter(resample_groups(sizes, s.n_boot, s.seed)) if cells else iter(())
    records = []
    for fwd, bwd, j, a in cells:
        n, p = fwd.metrics["n_features"], fwd.metrics["n_samples"]
        l1, l2 = fwd.arrays["loss"][j], bwd.arrays["loss"][j]
        ratio = l1.mean() / l2.mean()
        boots = l1[next(idx)].mean(1) / l2[next(idx)].mean(1)
        th = fwd.metrics["theory"][j] / bwd.metrics["theory"][j]
        kind = "isotropic" if a == s.b else "anisotropic"
        records.append(comparison(f"L(N={n},P={p})/L(N={p},P={n}) [{kind} a={a:g}]", ratio,
                                  percentile_ci(boots, 0.95), th, tol=s.ratio_tol))
    return records


def plot(runs, s: DualitySettings, records: list[dict]):
    fig, axes = figure(ncols=2)
    ax, ax2 = axes[0]
    for j, a in enumerate(s.a_values):
        c = COLORS[j]
        kind = "isotropic" if a == s.b else "anisotropic"
        for k, (fwd, bwd) in enumerate(_pairs(runs, s)):
            l1, l2 = fwd.arrays["loss"][j], bwd.arrays["loss"][j]
            ax.errorbar(l2.mean(), l1.mean(), xerr=l2.std() / np.sqrt(l2.size),
                        yerr=l1.std() / np.sqrt(l1.size), fmt="o", color=c,
                        label=f"a={a:g} ({kind}) sim" if k == 0 else None)
            ax.plot(bwd.metrics["theory"][j], fwd.metrics["theory"][j], "x", color=c, ms=8,
                    label=f"a={a:g} theory" if k == 0 else None)
    lims = np.array(ax.get_xlim() + ax.get_ylim())
    lo, hi = lims.min(), lims.max()
    ax.plot([lo, hi], [lo, hi], "k--", lw=0.8, label="L(N,P) = L(P,N)")
    ax.set(xscale="log", yscale="log", xlabel="L(N = P0, P = N0)", ylabel="L(N = N0, P = P0), N0 < P0",
           title=f"duality, b={s.b:g}, ridge={s.ridge:g}")
    ax.legend(fontsize=7)
    xs = np.arange(len(records))
    records_errorbar(ax2, xs, records, label="sim ratio (95% CI)", theory_label="theory ratio")
    ax2.axhline(1.0, color="gray", lw=0.8)
    ax2.set_xticks(xs, [r["quantity"].split(" [")[1].rstrip("]") for r in records], rotation=60, fontsize=7)
    ax2.set(ylabel="L(N,P)/L(P,N)", title="duality ratio")
    ax2.legend(fontsize=7)
    return fig


def cost(p: DualityPoint, s: DualitySettings) -> Cost:
    """Pre-flight estimate: per draw (float64, all draws at once) features [modes, N], inputs [P, modes],
    their product and the N x N solve."""
    m, n, q = s.n_modes, p.n_features, p.n_samples
    per = m * n + q * m + q * n + n * n + m
    flops = len(s.a_values) * s.draws * (2 * q * m * n + 2 * n**3 + 2 * q * n * n)
    return ensemble_cost(1, 0, per * s.draws + m, flops)


EXPERIMENT = Experiment(
    name="rf-duality",
    description="Linear RF ridge: L(N,P) vs L(P,N), exact for isotropic teachers, broken for anisotropic ones.",
    settings=settings, sweep=sweep, run_point=run_point, summarize=summarize, plot=plot,
    theory=(rf,), papers=("bahri2021explaining", "maloney2022solvable", "atanasov2024scaling"), cost=cost,
)
