"""One power-law spectrum: ``k^-exponent`` for ``k = 1 .. n``.

Eigenvalue spectra, teacher coefficients and feature frequencies of the random-feature,
linear-SGD and superposition models are all of this form.
"""

from __future__ import annotations

import jax.numpy as jnp

from .precision import float_dtype

__all__ = ["power_law"]


def power_law(n: int, exponent, *, dtype=None):
    """``k ** -exponent`` for ``k = 1, ..., n`` (unnormalised; differentiable in ``exponent``).

    Args:
      n: number of modes (static), >= 1.
      exponent: decay exponent (scalar; may be traced).
      dtype: float dtype (default: :func:`scalesim.precision.float_dtype`).

    Returns:
      array ``[n]``.
    """
    dtype = dtype or float_dtype()
    k = jnp.arange(1, int(n) + 1, dtype=dtype)
    return k ** (-jnp.asarray(exponent, dtype))
