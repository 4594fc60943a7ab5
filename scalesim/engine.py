"""The one generic ensemble trainer: ``jit(vmap(scan(step)))``.

A *model* is four pure functions (see :class:`Model`); an *ensemble* is that model trained
for many members at once, members differing in PRNG key and in any shape-preserving
hyperparameter carried in the ``hyper`` pytree (learning rate, weight decay, sparsity,
noise...). Values in ``hyper`` are traced arrays, so a new value never recompiles.

Member ``i`` is initialised with ``fold_in(stream(key, "init"), i)`` and its step-``t`` batch
is drawn with ``fold_in(fold_in(stream(key, "data"), i), t)``: a member's trajectory does not
depend on the ensemble size, nor on which device it runs.

Metrics are recorded at ``record_steps`` (geometric by default) inside the compiled program:
a ``lax.cond`` on a step mask that is shared by all members, so no host sync per step and
no metric cost on other steps. Diverged members (any non-finite metric or parameter) are
flagged in :attr:`EnsembleResult.diverged`; :func:`good_members` names them in a warning.
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import rng
from .sharding import shard_members

__all__ = ["Model", "EnsembleResult", "geometric_steps", "train_ensemble", "ensemble_outputs", "good_members", "warn_diverged"]


@dataclasses.dataclass(frozen=True)
class Model:
    """The model contract: pure functions that know nothing of ensembles, devices or disks.

    - ``init(key, cfg, hyper) -> params``
    - ``sample(key, cfg, hyper, batch_size) -> batch``
    - ``loss(params, batch, cfg, hyper) -> scalar`` (what the optimizer minimises)
    - ``metrics(params, cfg, hyper) -> dict[str, scalar]`` (evaluation, e.g. population loss)

    ``cfg`` is a frozen (hashable) dataclass of static sizes; ``hyper`` is one member's slice
    of the hyperparameter pytree.
    """

    init: Callable
    sample: Callable
    loss: Callable
    metrics: Callable
    name: str = "model"


class EnsembleResult(NamedTuple):
    member_ids: np.ndarray  # [M]
    steps: np.ndarray  # [T] recorded step counts
    metrics: dict  # name -> [M, T]; always has "train_loss"
    params: Any  # final params, leading axis M
    diverged: np.ndarray  # [M] bool


def geometric_steps(total_steps: int, n_points: int = 32) -> np.ndarray:
    """0 and ~geometrically spaced integer steps up to ``total_steps`` inclusive (unique)."""
    if total_steps < 1:
        raise ValueError(f"total_steps must be >= 1; got {total_steps}")
    pts = np.round(np.geomspace(1, total_steps, max(n_points - 1, 1))).astype(np.int64)
    return np.unique(np.concatenate([[0], pts, [total_steps]]))


@functools.lru_cache(maxsize=64)
def _compiled(model: Model, cfg, optimizer: Callable, steps: int, batch_size: int, n_records: int):
    """Build the jitted ensemble program for one static shape (cached)."""

    def train_one(member_id, hyper, init_key, data_key, record_mask, record_slot):
        ikey = jax.random.fold_in(init_key, member_id)
        dkey = jax.random.fold_in(data_key, member_id)
        params = model.init(ikey, cfg, hyper)
        opt = optimizer(hyper)
        opt_state = opt.init(params)

        def batch_at(t):
            return model.sample(jax.random.fold_in(dkey, t), cfg, hyper, batch_size)

        def evaluate(p, train_loss):
            out = dict(model.metrics(p, cfg, hyper))
            out["train_loss"] = train_loss
            return {k: jnp.asarray(v) for k, v in out.items()}

        # Shapes/dtypes of the record buffers; the values are dead code that XLA removes.
        probe = evaluate(params, model.loss(params, batch_at(0), cfg, hyper))
        buf = {k: jnp.full((n_records,) + v.shape, jnp.nan, v.dtype) for k, v in probe.items()}

        def record(buf, t, p, train_loss):
            def write(b):
                vals = evaluate(p, train_loss)
                return {k: b[k].at[record_slot[t]].set(vals[k].astype(b[k].dtype)) for k in b}

            return jax.lax.cond(record_mask[t], write, lambda b: b, buf)

        def step(carry, t):
            p, s, b = carry
            lval, grads = jax.value_and_grad(model.loss)(p, batch_at(t), cfg, hyper)
            b = record(b, t, p, lval)
            updates, s = opt.update(grads, s, p)
            p = optax.apply_updates(p, updates)  # p + u, cast back to the param dtype
            return (p, s, b), None

        (params, opt_state, buf), _ = jax.lax.scan(step, (params, opt_state, buf), jnp.arange(steps))
        final_loss = model.loss(params, batch_at(steps), cfg, hyper)
        buf = record(buf, steps, params, final_loss)
        finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(v)) for v in jax.tree.leaves(buf)]))
        finite &= jnp.all(jnp.stack([jnp.all(jnp.isfinite(v)) for v in jax.tree.leaves(params)]))
        return params, buf, ~finite

    return jax.jit(jax.vmap(train_one, in_axes=(0, 0, None, None, None, None)))


def _prepare(hyper, steps, batch_size, record_steps, member_ids):
    m, ids = rng.member_axis(hyper, member_ids)
    if int(steps) < 1:
        raise ValueError(f"steps must be >= 1; got {steps}")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    rec = geometric_steps(steps) if record_steps is None else np.asarray(record_steps, dtype=np.int64)
    if rec.ndim != 1 or rec.size == 0 or np.any(np.diff(rec) <= 0) or rec[0] < 0 or rec[-1] > steps:
        raise ValueError(f"record_steps must be strictly increasing integers in [0, {steps}]")
    mask = np.zeros(steps + 1, dtype=bool)
    mask[rec] = True
    slot = np.zeros(steps + 1, dtype=np.int32)
    slot[rec] = np.arange(rec.size, dtype=np.int32)
    return m, ids, rec, jnp.asarray(mask), jnp.asarray(slot)


def ensemble_outputs(
    model: Model, cfg, hyper, optimizer: Callable, *, key, steps: int, batch_size: int, record_steps=None, member_ids=None
):
    """The trainer as a pure JAX function: ``(params, metrics, diverged)`` as JAX arrays.

    Differentiable with respect to ``hyper`` (reverse mode through ``scan``/``cond``), e.g.
    ``jax.grad(lambda lr: ensemble_outputs(..., Hyper(lr=lr, ...))[1]["mse"][:, -1].mean())``.
    Same arguments as :func:`train_ensemble` (no sharding).
    """
    _, ids, rec, mask, slot = _prepare(hyper, steps, batch_size, record_steps, member_ids)
    fn = _compiled(model, cfg, optimizer, int(steps), int(batch_size), int(rec.size))
    return fn(jnp.asarray(ids), hyper, rng.stream(key, "init"), rng.stream(key, "data"), mask, slot)


def train_ensemble(
    model: Model,
    cfg,
    hyper,
    optimizer: Callable,
    *,
    key: jax.Array,
    steps: int,
    batch_size: int,
    record_steps=None,
    member_ids=None,
    mesh=None,
) -> EnsembleResult:
    """Train an ensemble of ``M`` members of ``model`` in one compiled program.

    Args:
      model: the :class:`Model` contract.
      cfg: frozen, hashable config with the static sizes (changing it recompiles).
      hyper: pytree whose leaves have a leading member axis ``M`` (per-member values).
      optimizer: ``hyper_member -> optax.GradientTransformation``; pass a module-level
        function (it is part of the compilation cache key).
      key: the experiment's root key; streams ``"init"`` and ``"data"`` are folded from it.
      steps: number of optimizer steps (static).
      batch_size: examples per step (static).
      record_steps: sorted step counts in ``[0, steps]`` at which metrics are recorded
        (default :func:`geometric_steps`). Changing them keeps the compiled program as long
        as their number is unchanged.
      member_ids: integer ids of the members (default ``0..M-1``); member ``i``'s
        trajectory depends only on ``i``.
      mesh: optional ``jax.sharding.Mesh`` with one axis; the member axis is sharded over it
        (padded to a multiple of the mesh size with extra members that are dropped).

    Returns:
      :class:`EnsembleResult` (NumPy arrays) with metrics of shape ``[M, len(record_steps)]``.
    """
    m, ids, rec, mask, slot = _prepare(hyper, steps, batch_size, record_steps, member_ids)
    hyper = jax.tree.map(jnp.asarray, hyper)
    ids_in, hyper_in = jnp.asarray(ids), hyper
    if mesh is not None:
        ids_in, hyper_in, _ = shard_members(mesh, ids, hyper)
    fn = _compiled(model, cfg, optimizer, int(steps), int(batch_size), int(rec.size))
    params, buf, diverged = fn(ids_in, hyper_in, rng.stream(key, "init"), rng.stream(key, "data"), mask, slot)
    metrics = {k: np.asarray(v)[:m] for k, v in buf.items()}
    params = jax.tree.map(lambda x: np.asarray(x)[:m], params)
    return EnsembleResult(ids, rec, metrics, params, np.asarray(diverged)[:m])


def good_members(result: EnsembleResult, label: str = "ensemble") -> np.ndarray:
    """Boolean mask of non-diverged members; warns naming every diverged member id."""
    return warn_diverged(result.diverged, result.member_ids, label)


def warn_diverged(diverged, member_ids, label: str = "ensemble") -> np.ndarray:
    """Like :func:`good_members` for stored arrays: ``~diverged``, warning with the bad ids."""
    bad = np.asarray(diverged, dtype=bool)
    if bad.any():
        ids = ", ".join(str(int(i)) for i in np.asarray(member_ids)[bad])
        warnings.warn(
            f"{label}: {int(bad.sum())} of {bad.size} members diverged (non-finite loss or params) "
            f"and are excluded from fits: member ids [{ids}]",
            RuntimeWarning,
            stacklevel=2,
        )
    return ~bad
