"""Batched lock-step L-BFGS for small smooth fitting problems: many starts, one program.

``minimize_batch(fun, x0s, args)`` minimises ``fun(x, args)`` from every row of ``x0s`` inside
one ``jit(vmap(while_loop))``. The search direction is optax's L-BFGS two-loop recursion
(``optax.scale_by_lbfgs``; Nocedal & Wright 2006, Alg. 7.4/7.5). The step length uses
Armijo backtracking (Nocedal & Wright Alg. 3.1, c1 = 1e-4, safeguarded quadratic
interpolation) done *in lock step*: every outer iteration costs exactly one fused
value-and-gradient evaluation per start. A start whose trial step fails the Armijo test keeps
its point and direction and shrinks the step for the next iteration, instead of running an
inner line-search loop that, under ``vmap``, would make every start wait for the slowest.
The L-BFGS memory is updated only on accepted steps.

Stopping, per start: gradient 2-norm <= ``gtol``; or ``patience`` consecutive accepted steps
with relative decrease <= ``ftol``; or a step shorter than 1e-20 (line-search failure); or
``max_iter`` iterations. Finished starts are frozen. Check ``grad_norm`` of the result (an
optimizer that stopped early gave Hoffmann et al.'s 2022 estimates; Besiroglu et al. 2024,
Sec. 3).

``fun(x, args) -> scalar`` must be a module-level function (a static jit argument: a new
closure per call recompiles). ``args`` is a pytree of arrays shared by all starts, or with
``batched_args=True`` a pytree whose leaves carry a leading axis matching ``x0s`` (bootstrap).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax

__all__ = ["BatchResult", "minimize_batch", "minimize_queue"]

_C1 = 1e-4


@dataclass(frozen=True)
class BatchResult:
    """Per-start results (NumPy): ``x`` [S, P], ``value`` [S], ``grad_norm`` [S], ``n_iter`` [S]."""

    x: np.ndarray
    value: np.ndarray
    grad_norm: np.ndarray
    n_iter: np.ndarray

    def best(self) -> int:
        """Index of the start with the lowest finite objective."""
        v = np.where(np.isfinite(self.value), self.value, np.inf)
        return int(np.argmin(v))


def _solve_one(fun, x0, args, gtol, ftol, *, max_iter, memory_size, patience):
    vg = jax.value_and_grad(lambda x: fun(x, args))
    precond = optax.scale_by_lbfgs(memory_size=memory_size)
    f0, g0 = vg(x0)
    u0, s0 = precond.update(g0, precond.init(x0), x0)
    gn0 = jnp.linalg.norm(g0)
    done0 = ~jnp.isfinite(f0) | (gn0 <= gtol)
    init = dict(x=x0, f=f0, g=g0, d=-u0, t=jnp.ones_like(f0), s=s0, k=jnp.asarray(0),
                stall=jnp.asarray(0), done=done0)

    def cond(c):
        return ~c["done"] & (c["k"] < max_iter)

    def body(c):
        x, f, g, d, t = c["x"], c["f"], c["g"], c["d"], c["t"]
        slope = jnp.vdot(g, d)
        xn = x + t * d
        fn, gn = vg(xn)
        ok = jnp.isfinite(fn) & (fn <= f + _C1 * t * slope)
        # accepted: new L-BFGS direction from the updated memory
        u, s_new = precond.update(gn, c["s"], xn)
        d_new = jnp.where(jnp.vdot(gn, -u) < 0, -u, -gn)
        rel = (f - fn) <= ftol * jnp.maximum(jnp.abs(f), jnp.abs(fn))
        stall = jnp.where(ok, jnp.where(rel, c["stall"] + 1, 0), c["stall"])
        # rejected: quadratic-interpolation step, safeguarded to [0.1 t, 0.5 t]
        denom = 2.0 * (jnp.where(jnp.isfinite(fn), fn, f + 1e30) - f - slope * t)
        t_q = jnp.where(denom > 0, -slope * t * t / denom, 0.5 * t)
        t_rej = jnp.clip(t_q, 0.1 * t, 0.5 * t)
        new = dict(x=jnp.where(ok, xn, x), f=jnp.where(ok, fn, f), g=jnp.where(ok, gn, g),
                   d=jnp.where(ok, d_new, d), t=jnp.where(ok, 1.0, t_rej),
                   s=optax.tree_utils.tree_where(ok, s_new, c["s"]), k=c["k"] + 1, stall=stall)
        gnorm = jnp.linalg.norm(new["g"])
        new["done"] = (gnorm <= gtol) | (stall >= patience) | (new["t"] < 1e-20)
        return new

    out = jax.lax.while_loop(cond, body, init)
    return out["x"], out["f"], jnp.linalg.norm(out["g"]), out["k"]


@partial(jax.jit, static_argnames=("fun", "max_iter", "memory_size", "patience",
                                   "batched_args"))
def _solve_batch(fun, x0s, args, gtol, ftol, *, max_iter, memory_size, patience,
                 batched_args):
    one = partial(_solve_one, fun, max_iter=max_iter, memory_size=memory_size,
                  patience=patience)
    in_axes = (0, 0 if batched_args else None, None, None)
    return jax.vmap(one, in_axes=in_axes)(x0s, args, gtol, ftol)


def minimize_batch(fun, x0s, args=(), *, gtol=1e-10, ftol=1e-10, max_iter=1000,
                   memory_size=10, patience=5, batched_args=False) -> BatchResult:
    """Minimise ``fun(x, args)`` from every row of ``x0s`` with batched lock-step L-BFGS.

    L-BFGS two-loop direction (Nocedal & Wright 2006, Alg. 7.4) with Armijo backtracking
    (Alg. 3.1) taken one trial step per iteration for every start at once. Uses the dtype of
    ``x0s`` (pass float64 under ``jax.enable_x64`` for fitting work).

    Args:
      fun: module-level ``(x [P], args) -> scalar`` (a static jit argument).
      x0s: starts ``[S, P]``.
      args: pytree of arrays shared by all starts, or (``batched_args``) with a leading ``S`` axis.
      gtol: stop when the gradient 2-norm is <= gtol.
      ftol: stop after ``patience`` accepted steps with relative decrease <= ftol.
      max_iter: iteration cap per start.
      memory_size: L-BFGS memory.
      patience: consecutive small-decrease steps before stopping.
      batched_args: whether ``args`` carries one problem per start.

    Returns:
      :class:`BatchResult`: per-start x, objective, gradient norm and iteration count.
    """
    x0s = jnp.asarray(x0s)
    if x0s.ndim != 2 or x0s.shape[0] == 0 or x0s.shape[1] == 0:
        raise ValueError(f"x0s: expected a non-empty [starts, params] array, got {x0s.shape}")
    for name, v, lo in (("max_iter", max_iter, 1), ("memory_size", memory_size, 1),
                        ("patience", patience, 1)):
        if int(v) < lo:
            raise ValueError(f"{name}: must be >= {lo}, got {v}")
    out = _solve_batch(fun, x0s, args, jnp.asarray(gtol, x0s.dtype),
                       jnp.asarray(ftol, x0s.dtype), max_iter=int(max_iter),
                       memory_size=int(memory_size), patience=int(patience),
                       batched_args=bool(batched_args))
    x, v, gn, k = jax.device_get(out)
    return BatchResult(np.asarray(x), np.asarray(v), np.asarray(gn), np.asarray(k))


# --- work-queue variant ---------------------------------------------------------------------
# Many multi-start problems have a long tail: most starts converge in tens of iterations, a
# few wander for hundreds. In a plain vmapped while_loop every start pays for the slowest.
# ``minimize_queue`` keeps a fixed number of lanes (``width``) busy instead: when a lane's
# start finishes, its result is written out and the lane is refilled with the next start
# from the queue, all inside one jitted while_loop (one compilation per (starts, width)).


def _lane_fresh(precond, x0):
    z = jnp.zeros_like(x0)
    return dict(x=x0, f=jnp.asarray(jnp.inf, x0.dtype), g=z, d=z,
                t=jnp.asarray(1.0, x0.dtype), s=precond.init(x0), k=jnp.asarray(0),
                stall=jnp.asarray(0))


def _lane_step(vg, precond, c, gtol, ftol, max_iter, patience, ffloor):
    x, f, g, d, t = c["x"], c["f"], c["g"], c["d"], c["t"]
    first = ~jnp.isfinite(f)          # fresh lane: evaluate the start itself (d = 0)
    slope = jnp.vdot(g, d)
    xn = x + t * d
    fn, gn = vg(xn)
    finite = jnp.isfinite(fn) & jnp.all(jnp.isfinite(gn))
    ok = finite & (first | (fn <= f + _C1 * t * slope))
    u, s_new = precond.update(gn, c["s"], xn)
    d_new = jnp.where(jnp.vdot(gn, -u) < 0, -u, -gn)
    scale = jnp.maximum(jnp.maximum(jnp.abs(f), jnp.abs(fn)), ffloor)
    rel = ~first & ((f - fn) <= ftol * scale)
    stall = jnp.where(ok, jnp.where(rel, c["stall"] + 1, 0), c["stall"])
    f_safe = jnp.where(first, fn, f)
    denom = 2.0 * (jnp.where(finite, fn, f_safe + 1e30) - f_safe - slope * t)
    t_q = jnp.where(denom > 0, -slope * t * t / denom, 0.5 * t)
    t_rej = jnp.clip(t_q, 0.1 * t, 0.5 * t)
    new = dict(x=jnp.where(ok, xn, x), f=jnp.where(ok, fn, f), g=jnp.where(ok, gn, g),
               d=jnp.where(ok, d_new, d), t=jnp.where(ok, 1.0, t_rej).astype(t.dtype),
               s=optax.tree_utils.tree_where(ok, s_new, c["s"]), k=c["k"] + 1, stall=stall)
    failed_start = first & ~finite
    done = (failed_start | (jnp.linalg.norm(new["g"]) <= gtol) | (stall >= patience)
            | (new["t"] < 1e-20) | (new["k"] >= max_iter))
    return new, done


def _bselect(mask, new, old):
    """Per-lane ``tree_where``: ``mask`` [W] selects along the leading lane axis of every leaf."""

    def pick(a, b):
        return jnp.where(mask.reshape(mask.shape + (1,) * (a.ndim - 1)), a, b)
    return jax.tree.map(pick, new, old)


@partial(jax.jit, static_argnames=("fun", "width", "memory_size", "patience"))
def _solve_queue(fun, x0s, args, n_valid, gtol, ftol, max_iter, ffloor, *, width,
                 memory_size, patience):
    S, P = x0s.shape
    vg = jax.value_and_grad(lambda x: fun(x, args))
    precond = optax.scale_by_lbfgs(memory_size=memory_size)
    fresh = jax.vmap(partial(_lane_fresh, precond))
    step = jax.vmap(partial(_lane_step, vg, precond),
                    in_axes=(0, None, None, None, None, None))
    idx0 = jnp.arange(width)
    idx0 = jnp.where(idx0 < n_valid, idx0, -1)
    init = dict(lanes=fresh(x0s[jnp.clip(idx0, 0, S - 1)]), idx=idx0,
                ptr=jnp.minimum(width, n_valid),
                out_x=x0s, out_f=jnp.full((S,), jnp.inf, x0s.dtype),
                out_g=jnp.full((S,), jnp.inf, x0s.dtype), out_k=jnp.zeros((S,), jnp.int32))

    def cond(st):
        return jnp.any(st["idx"] >= 0)

    def body(st):
        lanes, done = step(st["lanes"], gtol, ftol, max_iter, patience, ffloor)
        fin = done & (st["idx"] >= 0)
        w = jnp.where(fin, st["idx"], S)          # out of bounds: dropped
        out_x = st["out_x"].at[w].set(lanes["x"], mode="drop")
        out_f = st["out_f"].at[w].set(jnp.where(jnp.isfinite(lanes["f"]), lanes["f"], jnp.inf),
                                      mode="drop")
        out_g = st["out_g"].at[w].set(jnp.linalg.norm(lanes["g"], axis=-1), mode="drop")
        out_k = st["out_k"].at[w].set(lanes["k"].astype(jnp.int32), mode="drop")
        rank = jnp.cumsum(fin) - 1
        new_idx = st["ptr"] + rank
        refill = fin & (new_idx < n_valid)
        idx = jnp.where(fin, jnp.where(refill, new_idx, -1), st["idx"])
        lanes = _bselect(refill, fresh(x0s[jnp.clip(new_idx, 0, S - 1)]), lanes)
        return dict(lanes=lanes, idx=idx, ptr=st["ptr"] + jnp.sum(fin), out_x=out_x,
                    out_f=out_f, out_g=out_g, out_k=out_k)

    st = jax.lax.while_loop(cond, body, init)
    return st["out_x"], st["out_f"], st["out_g"], st["out_k"]


def minimize_queue(fun, x0s, args=(), *, width=256, gtol=1e-10, ftol=1e-10, max_iter=1000,
                   memory_size=10, patience=5, n_valid=None, ftol_floor=0.0) -> BatchResult:
    """Like :func:`minimize_batch` (same step, same stopping rule, shared ``args`` only), but
    ``width`` lanes work through the starts as a queue so a few slow starts do not hold the
    batch.

    Args:
      fun: module-level ``(x [P], args) -> scalar``.
      x0s: starts ``[S, P]``.
      args: pytree of arrays shared by all starts.
      width: lanes working at once (at most S).
      gtol, ftol, max_iter, memory_size, patience: as for :func:`minimize_batch`.
      n_valid: solve only the first ``n_valid`` rows (default: all; a dynamic value, so padded
        inputs reuse the compiled program); the rest come back with objective inf.
      ftol_floor: the decrease test is ``f_k - f_k+1 <= ftol * max(|f_k|, |f_k+1|,
        ftol_floor)``; ftol = 2.2e-9, ftol_floor = 1, patience = 1 is scipy L-BFGS-B's
        default ``factr`` rule (Byrd et al. 1995; Zhu et al. 1997).

    Returns:
      :class:`BatchResult` in the order of ``x0s``.
    """
    x0s = jnp.asarray(x0s)
    if x0s.ndim != 2 or x0s.shape[0] == 0 or x0s.shape[1] == 0:
        raise ValueError(f"x0s: expected a non-empty [starts, params] array, got {x0s.shape}")
    for name, v in (("width", width), ("max_iter", max_iter), ("memory_size", memory_size),
                    ("patience", patience)):
        if int(v) < 1:
            raise ValueError(f"{name}: must be >= 1, got {v}")
    S = x0s.shape[0]
    n_valid = S if n_valid is None else int(n_valid)
    if not 1 <= n_valid <= S:
        raise ValueError(f"n_valid: must be in [1, {S}], got {n_valid}")
    out = _solve_queue(fun, x0s, args, jnp.asarray(n_valid), jnp.asarray(gtol, x0s.dtype),
                       jnp.asarray(ftol, x0s.dtype), jnp.asarray(max_iter),
                       jnp.asarray(ftol_floor, x0s.dtype), width=min(int(width), S),
                       memory_size=int(memory_size), patience=int(patience))
    x, v, gn, k = jax.device_get(out)
    return BatchResult(np.asarray(x), np.asarray(v), np.asarray(gn), np.asarray(k))
