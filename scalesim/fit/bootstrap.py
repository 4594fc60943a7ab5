"""Bootstrap uncertainty for Chinchilla-form fits: plain and block-by-run resampling.

A resample is a vector of integer weights (how often each point is drawn), so refitting
every resample is one batched L-BFGS over a [n_boot, n_points] weight matrix: the weighted
objective sum_i w_i loss_i equals the objective on the resampled data set.

- plain: multinomial counts over points (Efron 1979).
- block-by-run (``groups``): whole runs are drawn with replacement and every checkpoint of
  a drawn run gets its run's count (cluster bootstrap; Davison & Hinkley 1997, Sec. 3.8).
  Use it for intermediate checkpoints, which are correlated within a run.

Each resample is refitted from the full-data optimum (Epoch refit from a fixed start,
Besiroglu et al. 2024, Sec. 3). Percentile CIs for the 5 parameters and, by the same
samples, for derived quantities (a, b, N_opt, D_opt, tokens/param); the delta-method
alternative uses the bootstrap covariance (``allocation.delta_method``). Draws come from the
library's one resampler, :func:`scalesim.stats.resample_indices`, and intervals from
:func:`scalesim.stats.percentile_ci`.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from scalesim.fit import chinchilla as ch
from scalesim.fit import vpnls as vp
from scalesim.fit.allocation import DERIVED_NAMES, delta_method, derived_quantities
from scalesim.fit.optim import minimize_batch
from scalesim.stats import percentile_ci, resample_indices

__all__ = ["resample_weights", "BootstrapResult", "bootstrap_fit"]


def _counts(idx: np.ndarray, n: int) -> np.ndarray:
    """How often each of ``n`` rows is drawn in each resample: ``[n_boot, n]`` float64."""
    return np.stack([np.bincount(r, minlength=n) for r in idx]).astype(np.float64)


def resample_weights(n: int, n_boot: int, *, seed: int = 0, groups=None) -> np.ndarray:
    """Bootstrap resamples as integer weights (Efron 1979; cluster bootstrap for ``groups``).

    Args:
      n: points in the sample (>= 1).
      n_boot: resamples (>= 1).
      seed: integer seed of :func:`scalesim.stats.resample_indices`.
      groups: optional run label per point ``[n]``: whole runs are drawn with replacement and
        every point of a run gets its run's count (Davison & Hinkley 1997, Sec. 3.8).

    Returns:
      float64 ``[n_boot, n]``: how often each point is drawn in each resample.
    """
    if groups is None:
        return _counts(resample_indices(n, n_boot, seed), n)
    groups = np.asarray(groups)
    if groups.shape != (n,):
        raise ValueError(f"groups: expected shape ({n},), got {groups.shape}")
    labels, inv = np.unique(groups, return_inverse=True)
    g = len(labels)
    return _counts(resample_indices(g, n_boot, seed), g)[:, inv]


@dataclass(frozen=True)
class BootstrapResult:
    """Bootstrap samples and CIs of a Chinchilla-form fit.

    Attributes:
      method: the refitted estimator.
      samples: ``[n_boot, 5]`` refitted parameters in ``PARAM_NAMES`` order (NaN rows failed).
      ci: name -> (lo, hi) percentile interval, for the parameters and the derived quantities.
      se: name -> bootstrap standard deviation.
      delta_ci: derived quantity -> (lo, hi) by the delta method on the log scale.
      level: coverage.
      n_failed: resamples whose refit did not give finite parameters.
    """

    method: str
    samples: np.ndarray
    ci: dict            # name -> (lo, hi), percentile, params and derived quantities
    se: dict            # name -> bootstrap standard deviation
    delta_ci: dict      # derived -> (lo, hi): delta method on log scale, bootstrap covariance
    level: float
    n_failed: int

    def to_dict(self) -> dict:
        """Plain-dict summary (no samples)."""
        return {"method": self.method, "level": self.level, "n_boot": len(self.samples),
                "n_failed": self.n_failed,
                "ci": {k: [float(v[0]), float(v[1])] for k, v in self.ci.items()},
                "se": {k: float(v) for k, v in self.se.items()},
                "delta_ci": {k: [float(v[0]), float(v[1])] for k, v in self.delta_ci.items()}}


def _refit_approach3(fit, N, D, L, W, delta):
    cen = ch._Centering(N, D)
    t0 = cen.to_centered(fit.extra["theta"])
    with jax.enable_x64(True):
        base = cen.args(N, D, L, delta)
        args = tuple(jnp.broadcast_to(a, (len(W),) + jnp.shape(a)) for a in base)
        args = args[:3] + (jnp.asarray(W),) + args[4:]
        x0 = jnp.broadcast_to(jnp.asarray(t0), (len(W), 5))
        res = minimize_batch(ch._centered_fun, x0, args, gtol=1e-10, ftol=1e-12,
                             max_iter=500, batched_args=True)
    theta = cen.from_centered(res.x)
    return np.stack([np.exp(theta[:, 2]), np.exp(theta[:, 0]), np.exp(theta[:, 1]),
                     theta[:, 3], theta[:, 4]], 1)


def _refit_vpnls(fit, N, D, L, W):
    x0 = np.log([fit.params["alpha"], fit.params["beta"]])
    with jax.enable_x64(True):
        base = (jnp.log(jnp.asarray(N)), jnp.log(jnp.asarray(D)), jnp.asarray(L))
        args = tuple(jnp.broadcast_to(a, (len(W), len(L))) for a in base) + (jnp.asarray(W),)
        res = minimize_batch(vp.profile_rss, jnp.broadcast_to(jnp.asarray(x0), (len(W), 2)),
                             args, gtol=1e-13, ftol=1e-14, max_iter=500, batched_args=True)
        ab = np.exp(res.x)
        c = np.asarray(jax.vmap(lambda a, b, w: vp.inner_solve(a, b, args[0][0], args[1][0],
                                                                args[2][0], w)[0])(
            jnp.asarray(ab[:, 0]), jnp.asarray(ab[:, 1]), jnp.asarray(W)))
    return np.concatenate([c, ab], 1)


def bootstrap_fit(fit, N, D, L, *, n_boot: int = 1000, seed: int = 0, groups=None,
                  level: float = 0.95, C_ref: float = 5.88e23, delta: float = 1e-3
                  ) -> BootstrapResult:
    """Bootstrap CIs of a Chinchilla fit: refit on ``n_boot`` resamples from the full-data optimum.

    As Besiroglu et al. 2024 (arXiv 2404.10102), Sec. 3 and Table 1: every resample is refitted
    (one batched L-BFGS over the weight matrix) from the fitted parameters; percentile CIs
    (Efron & Tibshirani 1993, Sec. 13.3) for the parameters of Hoffmann et al. 2022, Eq. 2 and
    the allocation of Eq. 4.

    Args:
      fit: an ``approach3`` or ``vpnls`` :class:`~scalesim.fit.chinchilla.ChinchillaFit`.
      N: parameter counts (> 0).
      D: training tokens (> 0).
      L: losses (> 0).
      n_boot: resamples.
      seed: integer seed of the resampler.
      groups: run label per point for the block-by-run bootstrap (default: plain).
      level: two-sided coverage.
      C_ref: compute in FLOP at which N_opt, D_opt, tokens/param are evaluated (default
        Chinchilla's 5.88e23).
      delta: Huber threshold of the approach3 refits.

    Returns:
      :class:`BootstrapResult`.
    """
    if fit.method not in ("approach3", "vpnls"):
        raise ValueError(f"fit.method: bootstrap supports approach3 and vpnls, got {fit.method}")
    N, D, L = ch.check_data(N, D, L)
    W = resample_weights(len(L), n_boot, seed=seed, groups=groups)
    if fit.method == "approach3":
        S = _refit_approach3(fit, N, D, L, W, delta)
    else:
        S = _refit_vpnls(fit, N, D, L, W)
    ok = np.all(np.isfinite(S), axis=1)
    S_ok = S[ok]
    with jax.enable_x64(True):
        derived = np.asarray(jax.vmap(lambda v: derived_quantities(v, C_ref))(jnp.asarray(S_ok)))
        point = np.array([fit.params[k] for k in ch.PARAM_NAMES])
        cov = np.cov(S_ok.T)
        # all derived quantities are positive: delta method on the log scale, exponentiated
        _, _, (dlo, dhi) = delta_method(lambda v: jnp.log(derived_quantities(v, C_ref)),
                                        point, cov, level)
        dlo, dhi = np.exp(dlo), np.exp(dhi)
    names = list(ch.PARAM_NAMES) + list(DERIVED_NAMES)
    allv = np.concatenate([S_ok, derived], 1)
    lo, hi = percentile_ci(allv, level)
    return BootstrapResult(
        method=fit.method, samples=S, level=level, n_failed=int((~ok).sum()),
        ci={k: (lo[i], hi[i]) for i, k in enumerate(names)},
        se={k: float(np.std(allv[:, i], ddof=1)) for i, k in enumerate(names)},
        delta_ci={k: (dlo[i], dhi[i]) for i, k in enumerate(DERIVED_NAMES)})
