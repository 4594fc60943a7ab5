"""Geometry of trained superposition weights: row norms, squared overlaps, feature dimensionality.

Shared by the Liu et al. and Elhage et al. models (``scalesim.models.superposition``,
``scalesim.models.elhage``) and their experiments.  Rows W_i [n, m] represent features; Ŵ_i
are the normalised rows.  Pure jnp functions (jit/vmap-able).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["row_norms", "mean_sq_overlap", "overlap_stats", "feature_dimensionality", "dims_per_feature"]


def row_norms(W: jax.Array) -> jax.Array:
    """‖W_i‖ [n] of the rows of W [n, m]."""
    return jnp.linalg.norm(W, axis=-1)


def _unit_rows(W, eps=1e-8):
    return W / (row_norms(W)[:, None] + eps)


def mean_sq_overlap(W: jax.Array) -> jax.Array:
    """Mean over i ≠ j of (Ŵ_i·Ŵ_j)² (Liu et al. 2025 Sec. 5, Fig. 5d), via the m×m matrix ŴᵀŴ.

    Σ_{i≠j} (Ŵ_i·Ŵ_j)² = ‖ŴᵀŴ‖_F² − Σ_i ‖Ŵ_i‖⁴ (no n×n Gram matrix); returns a scalar.
    """
    U = _unit_rows(W)
    n = U.shape[0]
    C = U.T @ U
    off = jnp.sum(C * C) - jnp.sum(jnp.sum(U * U, axis=-1) ** 2)
    return off / (n * (n - 1))


def overlap_stats(W: jax.Array, weights: jax.Array | None = None, block: int = 256) -> dict:
    """Mean and variance of squared overlaps (Ŵ_i·Ŵ_j)² over pairs i ≠ j, blockwise in rows.

    Args:
      W: [n, m] weights. weights: optional [n] (e.g. a 0/1 mask of represented rows); pair
        (i, j) is weighted by w_i w_j. block: rows per step (memory: block × n).

    Returns:
      {"overlap_mean": scalar, "overlap_var": scalar}.
    """
    U = _unit_rows(W)
    n = U.shape[0]
    w = jnp.ones((n,), U.dtype) if weights is None else jnp.asarray(weights, U.dtype)
    pad = (-n) % block
    Up = jnp.pad(U, ((0, pad), (0, 0)))
    wp = jnp.pad(w, (0, pad))
    ids = jnp.arange(n + pad)

    def one(carry, start):
        rows = jax.lax.dynamic_slice_in_dim(Up, start, block)
        wr = jax.lax.dynamic_slice_in_dim(wp, start, block)
        ir = jax.lax.dynamic_slice_in_dim(ids, start, block)
        G2 = (rows @ U.T) ** 2
        pw = wr[:, None] * w[None, :] * (ir[:, None] != ids[None, :n])
        s0, s1, s2 = carry
        return (s0 + jnp.sum(pw), s1 + jnp.sum(pw * G2), s2 + jnp.sum(pw * G2 * G2)), None

    z = jnp.zeros((), U.dtype)
    (s0, s1, s2), _ = jax.lax.scan(one, (z, z, z), jnp.arange(0, n + pad, block))
    mean = s1 / s0
    return {"overlap_mean": mean, "overlap_var": s2 / s0 - mean ** 2}


def feature_dimensionality(W: jax.Array, block: int = 256) -> jax.Array:
    """D_i = ‖W_i‖² / Σ_j (Ŵ_i·W_j)² [n] (Elhage et al. 2022, "feature dimensionality")."""
    U = _unit_rows(W)
    n = W.shape[0]
    pad = (-n) % block
    Up = jnp.pad(U, ((0, pad), (0, 0)))
    denom = jax.lax.map(lambda r: jnp.sum((r @ W.T) ** 2, axis=-1),
                        Up.reshape(-1, block, W.shape[1]))
    return row_norms(W) ** 2 / jnp.reshape(denom, (-1,))[:n]


def dims_per_feature(W: jax.Array, m=None) -> jax.Array:
    """D* = m / ‖W‖_F² (Elhage et al. 2022, "dimensions per feature"); m defaults to W.shape[1]."""
    return (W.shape[1] if m is None else m) / jnp.sum(W * W)
