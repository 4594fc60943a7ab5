"""Exponent fitting core: power laws on log-log axes, power law with offset, bootstrap CIs.

All fits are written in ``jax.numpy`` with no data-dependent Python control flow, so they
``jit``, ``vmap`` (the bootstrap is one vmapped batch of fits) and differentiate.

- :func:`fit_power_law`: ``y = A x^-alpha`` by ordinary least squares on ``(log x, log y)``.
- :func:`fit_power_law_offset`: ``y = L_inf + A x^-alpha`` by variable projection: for each
  ``alpha`` the optimal ``(L_inf, A)`` solve a 2x2 weighted linear least-squares problem
  (relative residuals ``(model - y)/y``); the 1-D profile in ``alpha`` is scanned on a grid and
  refined by golden-section search (Golub & Pereyra 1973 for variable projection; Kiefer 1953
  for golden section). ``L_inf`` is constrained to ``>= 0``.
- :func:`bootstrap_exponent`: percentile CI over ensemble members (Efron & Tibshirani 1993,
  Sec. 13.3), with the library's resampler :func:`scalesim.stats.resample_indices`.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from scalesim.stats import percentile_ci, resample_indices
from scalesim.validate import is_concrete

__all__ = [
    "PowerLawFit",
    "OffsetFit",
    "Bootstrap",
    "fit_power_law",
    "fit_power_law_offset",
    "bootstrap_exponent",
    "local_exponent",
]


class PowerLawFit(NamedTuple):
    """``y = prefactor * x^-exponent``."""

    exponent: jax.Array  # alpha in y = A x^-alpha
    prefactor: jax.Array  # A


class OffsetFit(NamedTuple):
    """``y = offset + prefactor * x^-exponent``."""

    offset: jax.Array  # L_inf
    prefactor: jax.Array  # A
    exponent: jax.Array  # alpha
    objective: jax.Array  # sum of squared relative residuals


class Bootstrap(NamedTuple):
    """A bootstrapped exponent: full-sample estimate, percentile CI ``(lo, hi)``, resampled fits."""

    estimate: float
    ci: tuple
    samples: np.ndarray


def _check_xy(x, y):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape[-1] != np.shape(y)[-1] or x.size < 2:
        raise ValueError(f"x must be 1-D with >= 2 points matching y's last axis; got {x.shape} and {np.shape(y)}")
    if not (np.all(np.isfinite(x)) and np.all(x > 0)):
        raise ValueError("x must be finite and > 0 for a power-law fit")
    if not np.all(np.isfinite(y)):
        raise ValueError("y contains NaN or inf: drop diverged members before fitting")
    if not np.all(y > 0):
        raise ValueError("y must be > 0 for a power-law fit")


def _fit_power_law(x, y):
    lx, ly = jnp.log(x), jnp.log(y)
    mx, my = lx.mean(), ly.mean()
    slope = jnp.sum((lx - mx) * (ly - my)) / jnp.sum((lx - mx) ** 2)
    return PowerLawFit(-slope, jnp.exp(my - slope * mx))


def fit_power_law(x, y) -> PowerLawFit:
    """Fit ``y = A x^-alpha`` by ordinary least squares in log-log space (jit/vmap/grad-able).

    The slope of ``log y`` on ``log x``: ``alpha = -cov(log x, log y) / var(log x)``.

    Args:
      x: 1-D positive abscissae (sizes, steps, widths), >= 2 points.
      y: positive values on the last axis matching ``x`` (losses, errors).

    Returns:
      :class:`PowerLawFit` ``(exponent alpha, prefactor A)``.

    Raises:
      ValueError: on concrete inputs that are not positive and finite.
    """
    if is_concrete(x, y):
        _check_xy(x, y)
    return _fit_power_law(jnp.asarray(x), jnp.asarray(y))


def _profile(alpha, x, y):
    """Best (L_inf >= 0, A) and objective for fixed alpha (weighted 2x2 least squares)."""
    w = 1.0 / y**2
    f = x ** (-alpha)
    s1, sf, sff = jnp.sum(w), jnp.sum(w * f), jnp.sum(w * f * f)
    sy, sfy = jnp.sum(w * y), jnp.sum(w * f * y)
    det = s1 * sff - sf**2
    c = (sff * sy - sf * sfy) / det
    a = (s1 * sfy - sf * sy) / det
    # constrained branch c = 0
    a0 = sfy / sff
    c, a = jnp.where(c < 0, 0.0, c), jnp.where(c < 0, a0, a)
    obj = jnp.sum(w * (c + a * f - y) ** 2)
    return c, a, obj


def _fit_offset(x, y, lo=1e-3, hi=6.0, n_grid=600, n_golden=60):
    grid = jnp.geomspace(lo, hi, n_grid)
    objs = jax.vmap(lambda al: _profile(al, x, y)[2])(grid)
    i = jnp.argmin(objs)
    a_lo = grid[jnp.maximum(i - 1, 0)]
    a_hi = grid[jnp.minimum(i + 1, n_grid - 1)]
    g = (jnp.sqrt(5.0) - 1) / 2

    def body(_, ab):
        a_, b_ = ab
        c_ = b_ - g * (b_ - a_)
        d_ = a_ + g * (b_ - a_)
        fc = _profile(c_, x, y)[2]
        fd = _profile(d_, x, y)[2]
        return jnp.where(fc < fd, a_, c_), jnp.where(fc < fd, d_, b_)

    a_, b_ = jax.lax.fori_loop(0, n_golden, body, (a_lo, a_hi))
    alpha = 0.5 * (a_ + b_)
    c, a, obj = _profile(alpha, x, y)
    return OffsetFit(c, a, alpha, obj)


def fit_power_law_offset(x, y) -> OffsetFit:
    """Fit ``y = L_inf + A x^-alpha`` with ``L_inf >= 0`` and ``alpha`` in ``[1e-3, 6]``.

    Variable projection (Golub & Pereyra 1973) on relative residuals ``(model - y) / y``:
    ``(L_inf, A)`` in closed form for each ``alpha``; ``alpha`` from a 600-point log grid
    refined by 60 golden-section steps.

    Args:
      x: 1-D positive abscissae, >= 3 points.
      y: positive values matching ``x``.

    Returns:
      :class:`OffsetFit` ``(offset L_inf, prefactor A, exponent alpha, objective)``; the
      objective is the sum of squared relative residuals.

    Raises:
      ValueError: on concrete inputs that are not positive and finite, or fewer than 3 points.
    """
    if is_concrete(x, y):
        _check_xy(x, y)
    if np.shape(x)[-1] < 3:
        raise ValueError("a power law with offset needs >= 3 points")
    return _fit_offset(jnp.asarray(x), jnp.asarray(y))


def local_exponent(x, y) -> np.ndarray:
    """Local slope ``-d log y / d log x`` between consecutive points (for plots of drift).

    Args:
      x: 1-D positive abscissae.
      y: positive values matching ``x``.

    Returns:
      float64 array of ``len(x) - 1`` finite-difference exponents.
    """
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    return -np.diff(ly) / np.diff(lx)


def bootstrap_exponent(x, Y, fit: str = "power", n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> Bootstrap:
    """Bootstrap CI of a fitted exponent over ensemble members.

    Each resample draws members with replacement (:func:`scalesim.stats.resample_indices`),
    averages them and fits the mean curve; all resamples are fitted in one vmapped call. The
    estimate is the fit of the full-ensemble mean; the CI is the percentile interval
    (:func:`scalesim.stats.percentile_ci`; Efron & Tibshirani 1993, Sec. 13.3).

    Args:
      x: 1-D positive abscissae ``[points]``.
      Y: positive values ``[members >= 2, points]``.
      fit: ``"power"`` (:func:`fit_power_law`) or ``"offset"`` (:func:`fit_power_law_offset`).
      n_boot: resamples.
      seed: integer seed of the resampler.
      level: two-sided coverage in (0, 1).

    Returns:
      :class:`Bootstrap` ``(estimate, (lo, hi), samples [n_boot])``.
    """
    Y = np.asarray(Y, dtype=float)
    if Y.ndim != 2 or Y.shape[0] < 2:
        raise ValueError(f"Y must be [members >= 2, points]; got shape {Y.shape}")
    _check_xy(x, Y)
    if fit not in ("power", "offset"):
        raise ValueError(f"fit must be 'power' or 'offset'; got {fit!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1); got {level}")
    fn = _fit_power_law if fit == "power" else _fit_offset
    xj = jnp.asarray(x, dtype=float)
    Yj = jnp.asarray(Y)
    est = float(fn(xj, Yj.mean(0)).exponent)
    idx = jnp.asarray(resample_indices(Y.shape[0], n_boot, seed))
    samples = np.asarray(jax.jit(jax.vmap(lambda i: fn(xj, Yj[i].mean(0)).exponent))(idx))
    return Bootstrap(est, percentile_ci(samples, level), samples)
