"""The one generic ensemble trainer: ``jit(vmap(scan(step)))``.

A *model* is four pure functions (see :class:`Model`); an *ensemble* is that model trained
for many members at once, members differing in PRNG key and in any shape-preserving
hyperparameter carried in the ``hyper`` pytree (learning rate, weight decay, sparsity,
noise...). Values in ``hyper`` are traced arrays, so a new value never recompiles.

Member ``i`` is initialised with ``fold_in(stream(key, "init"), i)`` and its step-``t`` batch
is drawn with ``fold_in(fold_in(stream(key, "data"), i), t)``: a member's trajectory does not
depend on the ensemble size, nor on which device it runs.

Memory: ``max_members=K`` runs the member axis in chunks of ``K`` members through one compiled
program; the last chunk holds the rest (one more compilation). Member ``i``'s trajectory depends
only on ``i``, but XLA:CPU vectorises the member axis in groups of up to 8 and lowers batches of
fewer than 16 members differently, so the last bits of a member's reductions can depend on the
batch it ran in. Chunks are therefore whole multiples of ``CHUNK_QUANTUM`` = 8 members and at
least ``CHUNK_MIN`` = 16 (a smaller ``K`` is raised to 16; a rest shorter than 16 joins the chunk
before it), and the last chunk ends where the ensemble ends: every member keeps the position it
has in the unchunked run, and chunked and unchunked runs give the same bits (checked for every
model by the conformance suite, on ensembles of 16 or more members).
``max_members="auto"`` picks ``K`` from the device's free memory and the one-member program's
memory analysis (:mod:`scalesim.memory`). :func:`member_chunking` sets the default for every
``train_ensemble`` call in a block (the experiment runner uses it for ``--set max_members``).

Metrics are recorded at ``record_steps`` (geometric by default) inside the compiled program:
a ``lax.cond`` on a step mask that is shared by all members, so no host sync per step and
no metric cost on other steps. Diverged members (any non-finite metric or parameter) are
flagged in :attr:`EnsembleResult.diverged`; :func:`good_members` names them in a warning.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import warnings
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import memory, rng
from .sharding import shard_members

__all__ = [
    "Model",
    "EnsembleResult",
    "geometric_steps",
    "train_ensemble",
    "ensemble_outputs",
    "good_members",
    "warn_diverged",
    "check_max_members",
    "member_chunking",
    "chunk_size",
    "chunk_plan",
    "member_bytes",
]


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


CHUNK_QUANTUM = 8  # members per chunk are a multiple of this ...
CHUNK_MIN = 16  # ... and at least this (module docstring)
_MAX_MEMBERS: contextvars.ContextVar = contextvars.ContextVar("scalesim_max_members", default=None)


def check_max_members(value):
    """Validate a member-chunk limit: ``None`` (all members at once), ``"auto"`` or an int >= 1.

    Args:
      value: ``None``, ``"auto"``, a positive integer, or its text (``"all"``/``"none"`` mean
        ``None``; as given to ``--set max_members=...``).

    Returns:
      ``None``, ``"auto"`` or a positive ``int``.

    Raises:
      ValueError: anything else, naming ``max_members`` and the allowed values.
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("auto",):
            return "auto"
        if text in ("all", "none", ""):
            return None
        if text.isascii() and text.isdigit():
            value = int(text)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and 1 <= int(value) < 2**31:
        return int(value)
    raise ValueError(f"max_members must be a positive integer (< 2^31), 'auto' or 'all'; got {value!r}")


@contextlib.contextmanager
def member_chunking(max_members):
    """Default ``max_members`` for every :func:`train_ensemble` call in the ``with`` block.

    Args:
      max_members: as :func:`check_max_members` accepts; an explicit argument to
        ``train_ensemble`` wins over it.
    """
    token = _MAX_MEMBERS.set(check_max_members(max_members))
    try:
        yield
    finally:
        _MAX_MEMBERS.reset(token)


@functools.lru_cache(maxsize=64)
def _one_member_bytes(model, cfg, optimizer, steps, batch_size, n_records, hyper_avals):
    """Device bytes of the one-member program (memory analysis of an ahead-of-time compile)."""
    treedef, leaves = hyper_avals
    hyper1 = jax.tree.unflatten(treedef, [jax.ShapeDtypeStruct((1,) + shape, dtype) for shape, dtype in leaves])
    key = jax.ShapeDtypeStruct(rng.root_key(0).shape, rng.root_key(0).dtype)
    fn = _compiled(model, cfg, optimizer, steps, batch_size, n_records)
    lowered = fn.lower(
        jax.ShapeDtypeStruct((1,), jnp.uint32), hyper1, key, key,
        jax.ShapeDtypeStruct((steps + 1,), jnp.bool_), jax.ShapeDtypeStruct((steps + 1,), jnp.int32),
    )
    return memory.program_bytes(lowered.compile())


def chunk_size(max_members, n_members: int, per_member_bytes=None, budget=None) -> int:
    """Members per compiled call for a limit ``max_members`` and an ensemble of ``n_members``.

    Args:
      max_members: ``None`` (all), a positive int, or ``"auto"``.
      n_members: the ensemble size M.
      per_member_bytes: for ``"auto"``: device bytes of the one-member program (a callable
        returning it is also accepted, so the estimate is only computed when needed).
      budget: for ``"auto"``: free device bytes (default :func:`scalesim.memory.free_bytes`).

    Returns:
      an integer in ``[1, n_members]``. ``"auto"`` with no memory analysis available runs all
      members at once.
    """
    limit = check_max_members(max_members)
    if limit is None:
        return n_members
    if limit != "auto":
        return min(limit, n_members)
    per = per_member_bytes() if callable(per_member_bytes) else per_member_bytes
    if per is None:
        return n_members
    free = memory.free_bytes().bytes if budget is None else int(budget)
    return memory.members_that_fit(per, free, n_members)


def chunk_plan(max_members, n_members: int, per_member_bytes=None, budget=None, n_devices: int = 1) -> list:
    """The member chunks ``[(lo, hi), ...]`` that :func:`train_ensemble` runs, in order.

    Args:
      max_members: ``None`` (all), a positive int, or ``"auto"`` (:func:`chunk_size`).
      n_members: the ensemble size M.
      per_member_bytes, budget: for ``"auto"``, as in :func:`chunk_size`.
      n_devices: devices of the member mesh (chunks hold whole multiples of it).

    Returns:
      half-open member ranges covering ``0..M``: one range when everything fits, else chunks of
      a multiple of ``CHUNK_QUANTUM`` members (at least ``CHUNK_MIN``), the last one ending at M
      (a rest shorter than ``CHUNK_MIN`` joins the chunk before it).
    """
    m = int(n_members)
    size = chunk_size(max_members, m, per_member_bytes, budget)
    if size < m:  # whole vector groups per chunk, never a small batch (module docstring)
        size = max(CHUNK_MIN, size - size % CHUNK_QUANTUM)
    if n_devices > 1 and size < m:  # whole devices per chunk
        size = min(m, -(-size // n_devices) * n_devices)
    starts = list(range(0, m, size))
    if len(starts) > 1 and m - starts[-1] < CHUNK_MIN:  # a short rest joins the chunk before it
        starts.pop()
    return list(zip(starts, starts[1:] + [m]))


def _avals(hyper):
    leaves, treedef = jax.tree.flatten(hyper)
    return treedef, tuple((tuple(np.shape(x)[1:]), jnp.asarray(x).dtype) for x in leaves)


def member_bytes(model: Model, cfg, hyper, optimizer: Callable, *, steps: int, batch_size: int, record_steps=None):
    """Device bytes of the one-member training program (what ``max_members="auto"`` divides by).

    Args:
      model, cfg, hyper, optimizer, steps, batch_size, record_steps: as for :func:`train_ensemble`
        (only the shapes and dtypes of ``hyper`` matter).

    Returns:
      bytes (arguments + outputs + temporaries of the compiled program), or ``None`` when the
      backend gives no memory analysis.
    """
    _, _, rec, _, _ = _prepare(hyper, steps, batch_size, record_steps, None)
    return _one_member_bytes(model, cfg, optimizer, int(steps), int(batch_size), int(rec.size), _avals(hyper))


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
    max_members=None,
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
      max_members: members per compiled call (``None``: all; an int >= 1, rounded down to a
        multiple of 8 and raised to at least 16; ``"auto"``: as many as fit in half the
        device's free memory, see :mod:`scalesim.memory`). Default: the enclosing
        :func:`member_chunking`, else all. Results are bit-identical whatever the chunking on CPU; on a GPU the
        kernels depend on the member count, so last bits can differ.

    Returns:
      :class:`EnsembleResult` (NumPy arrays) with metrics of shape ``[M, len(record_steps)]``.
    """
    m, ids, rec, mask, slot = _prepare(hyper, steps, batch_size, record_steps, member_ids)
    limit = check_max_members(_MAX_MEMBERS.get() if max_members is None else max_members)
    hyper = jax.tree.map(jnp.asarray, hyper)
    static = (model, cfg, optimizer, int(steps), int(batch_size), int(rec.size))
    plan = chunk_plan(limit, m, lambda: _one_member_bytes(*static, _avals(hyper)),
                      n_devices=1 if mesh is None else mesh.devices.size)
    fn = _compiled(*static)
    keys = (rng.stream(key, "init"), rng.stream(key, "data"))
    parts = []
    for lo, hi in plan:
        sel = np.arange(lo, hi)
        ids_in, hyper_in = ids[sel], (jax.tree.map(lambda x: x[sel], hyper) if len(plan) > 1 else hyper)
        if mesh is not None:
            ids_in, hyper_in, _ = shard_members(mesh, ids_in, hyper_in)
        params, buf, diverged = fn(jnp.asarray(ids_in), hyper_in, *keys, mask, slot)
        parts.append(jax.tree.map(lambda x: np.asarray(x)[: sel.size], (params, buf, diverged)))
    params, buf, diverged = jax.tree.map(lambda *xs: np.concatenate(xs), *parts) if len(parts) > 1 else parts[0]
    return EnsembleResult(ids, rec, dict(buf), params, diverged)


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
