"""The widest enabled float: float64 under ``jax_enable_x64`` (theory), else float32.

Theory modules compute in float64 when x64 is on (the CLI and the tests switch it on); with it
off they still run, in float32. One definition, shared by models and theory.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["float_dtype", "as_float"]


def float_dtype():
    """``jnp.float64`` if ``jax_enable_x64`` is on, else ``jnp.float32`` (read at call time)."""
    return jnp.float64 if jax.config.jax_enable_x64 else jnp.float32


def as_float(x):
    """``x`` as a JAX array of :func:`float_dtype`."""
    return jnp.asarray(x, dtype=float_dtype())
