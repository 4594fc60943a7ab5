"""Sharding the ensemble's member axis over devices (mesh + ``NamedSharding``).

Members are independent, so the member axis shards with no collectives. One device is the
default (no mesh). For multi-host TPU runs, call ``jax.distributed.initialize()`` in every
process before building the mesh; :func:`member_mesh` then spans ``jax.devices()`` on all
hosts (see README, "Multi-device and multi-host").
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

__all__ = ["member_mesh", "shard_members", "MEMBER_AXIS"]

MEMBER_AXIS = "members"


def member_mesh(devices=None) -> jax.sharding.Mesh:
    """A 1-D mesh named ``"members"`` over ``devices`` (default: all devices)."""
    devs = np.asarray(jax.devices() if devices is None else devices)
    return jax.sharding.Mesh(devs.reshape(-1), (MEMBER_AXIS,))


def shard_members(mesh, member_ids: np.ndarray, hyper):
    """Pad the member axis to a multiple of the mesh size and place it on the mesh.

    Padding members get ids beyond the real ones (their results are dropped by the caller);
    since member ``i`` depends only on ``i``, padding never changes real members.
    Returns ``(ids, hyper, n_pad)``.
    """
    n_dev = mesh.devices.size
    m = member_ids.shape[0]
    n_pad = (-m) % n_dev
    ids = member_ids
    if n_pad:
        extra = np.arange(n_pad, dtype=np.uint32) + np.uint32(member_ids.max() + 1)
        ids = np.concatenate([member_ids, extra])
        hyper = jax.tree.map(lambda x: jnp.concatenate([x, jnp.repeat(x[-1:], n_pad, axis=0)]), hyper)
    spec = NamedSharding(mesh, PartitionSpec(MEMBER_AXIS))
    ids = jax.device_put(jnp.asarray(ids), spec)
    hyper = jax.tree.map(lambda x: jax.device_put(x, spec), hyper)
    return ids, hyper, n_pad
