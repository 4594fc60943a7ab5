"""The simulator contract: closed-form or solver-based simulations run as member ensembles.

Some families are not trained by gradient descent: a max-margin student is the solution of a
quadratic programme, a random-feature ridge readout is a linear solve, k-means prototypes are a
fixed-point iteration. Such a model is a :class:`Simulator`: one pure function

    ``simulate(key, cfg, hyper) -> dict[str, scalar array]``

for ONE member (one seed / draw), where ``cfg`` is a frozen, hashable dataclass of static sizes
and ``hyper`` is that member's slice of a per-member pytree (values that do not change shapes).
:func:`run_simulator` is the analogue of :func:`scalesim.engine.train_ensemble`: member ``i``
uses ``fold_in(key, member_ids[i])`` and ``hyper[i]``, so it never changes when the ensemble
grows, and all members run through one compiled program.

Members run through :func:`jax.lax.map` (a loop inside the compiled program), not ``vmap``:
solver while-loops under ``vmap`` run in lock-step with the slowest member, and batched small
LAPACK calls deadlocked the CPU thread pool of jaxlib 0.10. Long ensembles are cut into chunks
of ``chunk`` members (one program, the last chunk padded).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .rng import member_axis

__all__ = ["Simulator", "run_simulator"]


@dataclasses.dataclass(frozen=True)
class Simulator:
    """A simulation contract: ``simulate(key, cfg, hyper) -> dict[str, scalar]`` for one member.

    Attributes:
      simulate: pure function of one member's PRNG key, the static config and the member's
        hyperparameters; returns a dict of scalar arrays (``converged`` flags included).
      name: short name used in messages and compilation-cache keys.
      x64_only: the simulation is only correct in float64 (e.g. a solver whose penalty stages
        overflow float32); :func:`run_simulator` then refuses to run with ``jax_enable_x64`` off
        rather than return NaNs.
    """

    simulate: Callable
    name: str = "simulator"
    x64_only: bool = False


@functools.lru_cache(maxsize=64)
def _compiled(sim: Simulator, cfg):
    def one(key, member_id, hyper):
        return sim.simulate(jax.random.fold_in(key, member_id), cfg, hyper)

    return jax.jit(lambda key, ids, hyper: jax.lax.map(lambda a: one(key, *a), (ids, hyper)))


def run_simulator(sim: Simulator, cfg, hyper, *, key, member_ids=None, chunk: int | None = None) -> dict:
    """Run ``M`` members of ``sim`` in one compiled program.

    Args:
      sim: the :class:`Simulator`.
      cfg: frozen, hashable config of static sizes (a new value recompiles).
      hyper: pytree whose leaves have a leading member axis ``M``; a new value never recompiles.
      key: PRNG key; member ``i`` uses ``fold_in(key, member_ids[i])``.
      member_ids: integer ids (default ``0..M-1``).
      chunk: members per compiled call (default: all ``M`` at once); the last chunk is padded
        by repeating its final member, and the padding is dropped.

    Returns:
      dict of NumPy arrays with leading axis ``M``.
    """
    if sim.x64_only and not jax.config.jax_enable_x64:
        raise ValueError(f"simulator {sim.name} needs float64: enable it with jax.config.update('jax_enable_x64', True)")
    m, ids = member_axis(hyper, member_ids)
    fn = _compiled(sim, cfg)
    size = m if chunk is None else max(1, min(int(chunk), m))
    parts = []
    for lo in range(0, m, size):
        sel = np.minimum(np.arange(lo, lo + size), m - 1)
        out = fn(key, jnp.asarray(ids[sel]), jax.tree.map(lambda x: jnp.asarray(x)[sel], hyper))
        parts.append(jax.tree.map(lambda x: np.asarray(x)[: min(size, m - lo)], out))
    return jax.tree.map(lambda *xs: np.concatenate(xs), *parts)
