"""PRNG discipline: one root key, named streams, member keys by ``fold_in``.

``member_keys(key, ids)[i] == fold_in(key, ids[i])``, so member *i* draws the same numbers
whatever the ensemble size (``split(key, n)`` gives no such guarantee).
"""

from __future__ import annotations

import zlib

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["root_key", "stream", "member_keys", "stream_id", "member_axis"]


def root_key(seed: int) -> jax.Array:
    """The experiment's root key (a typed-free raw uint32 key, as ``jax.random.PRNGKey``)."""
    return jax.random.PRNGKey(int(seed))


def stream_id(name: str) -> int:
    """Stable 31-bit integer for a stream name (crc32, independent of Python's hash seed)."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def stream(key: jax.Array, name: str) -> jax.Array:
    """Independent named stream (``"init"``, ``"data"``, ``"teacher"``, ...) of ``key``."""
    return jax.random.fold_in(key, stream_id(name))


def member_keys(key: jax.Array, member_ids) -> jax.Array:
    """Keys ``fold_in(key, i)`` for each member id ``i`` (shape ``[M, 2]``)."""
    ids = jnp.asarray(np.asarray(member_ids, dtype=np.uint32))
    return jax.vmap(lambda i: jax.random.fold_in(key, i))(ids)


def member_axis(hyper, member_ids=None) -> tuple[int, np.ndarray]:
    """``(M, ids)`` of a per-member pytree: its leading axis and the members' uint32 ids.

    Raises ``ValueError`` when ``hyper`` has no leaf, when its leaves disagree on the leading
    axis, or when ``member_ids`` (default ``0..M-1``) does not have shape ``(M,)``.
    """
    leaves = jax.tree.leaves(hyper)
    if not leaves:
        raise ValueError("hyper must contain at least one per-member array")
    m = int(np.shape(leaves[0])[0])
    if any(np.shape(x)[:1] != (m,) for x in leaves):
        raise ValueError("every hyper leaf must have the same leading member axis")
    ids = np.arange(m, dtype=np.uint32) if member_ids is None else np.asarray(member_ids, dtype=np.uint32)
    if ids.shape != (m,):
        raise ValueError(f"member_ids must have shape ({m},); got {ids.shape}")
    return m, ids
