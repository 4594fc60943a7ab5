"""Eager array-aware input checks shared by models and theory (ValueError before any compilation).

Checks are skipped for traced values (inside jit/vmap/grad the caller is responsible); they run
on concrete Python numbers and arrays, which is how public entry points are called.
"""
from __future__ import annotations

import jax
import numpy as np


def _concrete(x):
    return not isinstance(x, jax.core.Tracer)


def check_array_positive(name, x):
    """All entries of ``x`` > 0 (``inf`` allowed)."""
    if _concrete(x):
        arr = np.asarray(x, dtype=float)
        if arr.size == 0 or np.any(~(arr > 0)):
            raise ValueError(f"{name} must be > 0 (inf allowed), got {x!r}")


def check_nonneg(name, x):
    """All entries of ``x`` finite and >= 0."""
    if _concrete(x):
        arr = np.asarray(x, dtype=float)
        if np.any(~np.isfinite(arr)) or np.any(arr < 0):
            raise ValueError(f"{name} must be finite and >= 0, got {x!r}")


def check_scalar_range(name, x, lo=None, hi=None, *, lo_open=False, hi_open=False):
    """Scalar range check with a message naming the field and the allowed range."""
    if not _concrete(x):
        return
    arr = np.asarray(x, dtype=float)
    bad = ~np.isfinite(arr)
    if lo is not None:
        bad |= (arr <= lo) if lo_open else (arr < lo)
    if hi is not None:
        bad |= (arr >= hi) if hi_open else (arr > hi)
    if np.any(bad):
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        rng = f"{left}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{right}"
        raise ValueError(f"{name} must lie in {rng}, got {x!r}")
