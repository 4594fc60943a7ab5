"""One scalar root-finder: bisection on a monotone function, inside or outside ``jit``."""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["bisect"]


def bisect(f, lo, hi, n_iter: int, *, increasing: bool = True, traced: bool = True):
    """Halve the bracket ``[lo, hi]`` of the root of a monotone ``f`` ``n_iter`` times.

    Elementwise on arrays (``f`` must act elementwise); traceable, so it runs under
    ``jit``/``vmap``. Each step evaluates ``f(mid)`` at ``mid = (lo + hi) / 2`` and keeps the half
    that holds the sign change.

    Args:
      f: monotone function; ``f(lo) < 0 <= f(hi)`` when ``increasing`` (reversed otherwise).
      lo, hi: bracket (scalars or arrays of one shape).
      n_iter: number of halvings (static); the bracket shrinks by ``2**-n_iter``.
      increasing: whether ``f`` increases through the root.
      traced: True (default): the halvings run in ``lax.fori_loop`` and ``f`` is traced. False:
        a Python loop, so ``f`` may run on the host and call compiled programs of its own
        (they stay shared with other callers instead of being traced into a new program).

    Returns:
      ``(lo, hi)`` after ``n_iter`` halvings; the root lies in between.
    """

    def step(_, b):
        a, c = b
        mid = 0.5 * (a + c)
        v = f(mid)
        right = v < 0 if increasing else v > 0  # the root lies above mid
        return jnp.where(right, mid, a), jnp.where(right, c, mid)

    bracket = (jnp.asarray(lo), jnp.asarray(hi))
    if not traced:
        for i in range(int(n_iter)):
            bracket = step(i, bracket)
        return bracket
    return jax.lax.fori_loop(0, int(n_iter), step, bracket)
