"""Root finding for the replica theory of the pruned max-margin perceptron.

Sorscher, Geirhos, Shekhar, Ganguli, Morcos (2022), "Beyond neural scaling laws: beating power
law scaling via data pruning", NeurIPS 2022, arXiv:2206.14486, App. A, saddle-point equations
(1)-(3), written as the stationary points of the Gardner functional B of
:mod:`scalesim.theory._perceptron_quadrature`.

* :func:`newton`: damped Newton on F(x) = 0 inside a box.
* :func:`global_theta0`: theta = 0 start point, kappa_max = the largest margin with
  max_eps B0 >= 0 (bisection with :func:`scalesim.roots.bisect`), which avoids spurious roots.
* :func:`theta0_newton`: the same root by Newton from a nearby root (warm start).
* :func:`root_with_ift`: a root with implicit-function-theorem derivatives
  (``jax.lax.custom_root``).
* :func:`track_start` / :func:`continue_branch`: continuation in log f from the unpruned
  solution at f = 1 down to the target f, with fold (end of branch) detection.
* :func:`is_max`: is a root a maximum of B over (phi, psi)?

All angles are in radians.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from scalesim.precision import float_dtype
from scalesim.roots import bisect

from ._perceptron_quadrature import B0, residual, residual0

# Box of the theta > 0 unknowns x = (phi, psi, kappa): angles in [0, pi] (radians), kappa >= 0.
LOWER = (0.0, 0.0, 0.0)
UPPER = (math.pi, math.pi, math.inf)


def newton(F, x0, lower, upper, iters=40, tol=1e-12):
    """Damped Newton on F(x) = 0 keeping lower < x < upper.

    Returns (x, max|F(x_last)|, J(x_last)) where x_last is the iterate before the final step
    (one jacfwd pass gives both F and its Jacobian); the residual is inf unless the last step
    was below 1e-8."""
    FJ = jax.jacfwd(lambda y: (F(y), F(y)), has_aux=True)
    n = x0.shape[0]

    def body(state):
        x, it, _, _, _ = state
        J, r = FJ(x)
        dx = jnp.linalg.solve(J, -r)
        dx = jnp.where(jnp.all(jnp.isfinite(dx)), dx, jnp.zeros_like(dx))
        # keep inside the box: shrink the step to at most 90% of the distance to a wall
        room = jnp.where(dx > 0, (upper - x) / jnp.where(dx > 0, dx, 1.0),
                         (lower - x) / jnp.where(dx < 0, dx, -1.0))
        room = jnp.where(dx == 0, jnp.inf, jnp.abs(room))
        t = jnp.minimum(1.0, 0.9 * jnp.min(room))
        return x + t * dx, it + 1, jnp.max(jnp.abs(t * dx)), jnp.max(jnp.abs(r)), J

    def cond(state):
        x, it, step, res, _ = state
        return (it < iters) & (step > tol) & ~(res < 1e-300)

    inf = jnp.asarray(jnp.inf, x0.dtype)
    st0 = (x0, 0, inf, inf, jnp.zeros((n, n), x0.dtype))
    x, _, step, res, J = jax.lax.while_loop(cond, body, st0)
    # the residual is measured at the last linearisation point; a converged Newton step is tiny
    res = jnp.where(step < 1e-8, res, inf)
    return x, res, J


def max_eps_grid():
    """Grid of test errors eps on which max_eps B0 is taken (graded towards eps = 0)."""
    return np.concatenate([np.geomspace(1e-7, 0.05, 32, endpoint=False),
                           np.linspace(0.05, 0.995, 48)])


def global_theta0(alpha, f, mode, n_bisect=40):
    """Start point (eps, kappa) of the theta = 0 Newton polish: kappa_max = the largest kappa
    with max_eps B0(eps, kappa) >= 0 (B0 decreases in kappa), found by doubling then bisection,
    and the grid eps that maximises B0 there.  A global scheme: avoids spurious roots."""
    grid = jnp.asarray(max_eps_grid(), float_dtype())
    bmax = lambda k: jnp.max(jax.vmap(lambda e: B0(e, k, alpha, f, mode))(grid))

    hi = jax.lax.while_loop(lambda k: bmax(k) >= 0.0, lambda k: 2.0 * k,
                            jnp.asarray(0.5, float_dtype()))
    # -bmax increases through kappa_max: lo moves up while bmax(mid) > 0 (a mid with bmax
    # exactly 0 moves hi; either half holds kappa_max)
    lo, hi = bisect(lambda k: -bmax(k), jnp.zeros_like(hi), hi, n_bisect)
    vals = jax.vmap(lambda e: B0(e, lo, alpha, f, mode))(grid)
    return jnp.stack([grid[jnp.argmax(vals)], lo])


def _tangent_solve(g, y):
    return jnp.linalg.solve(jax.jacobian(g)(y), y)


def root_with_ift(F, x0, lower, upper):
    """Newton root of F from x0 with implicit-function-theorem derivatives
    (``jax.lax.custom_root``).  Returns (x, residual)."""
    def solve(g, x):
        xs, res, _ = newton(g, x, lower, upper)
        return xs, res

    return jax.lax.custom_root(F, x0, solve, _tangent_solve, has_aux=True)


def attach_ift(F, x):
    """``x`` (an already converged root of F) with implicit-function-theorem derivatives."""
    return jax.lax.custom_root(F, x, lambda g, x0: x0, _tangent_solve)


def theta0_root(alpha, f, mode):
    """theta = 0 root x = (eps, kappa) of (dB0/deps, B0) = 0 (App. A eqs. (1)-(2) at theta = 0):
    global start (:func:`global_theta0`), Newton polish, IFT derivatives w.r.t. alpha and f.
    Returns (x, residual)."""
    dt = float_dtype()
    alpha, f = jnp.asarray(alpha, dt), jnp.asarray(f, dt)
    x0 = jax.lax.stop_gradient(global_theta0(alpha, f, mode))
    F = lambda x: residual0(x, alpha, f, mode)
    lower = jnp.asarray([0.0, 0.0], dt)
    upper = jnp.asarray([1.0, jnp.inf], dt)
    return root_with_ift(F, x0, lower, upper)


def theta0_newton(x0, alpha, f, mode):
    """theta = 0 root x = (eps, kappa) of (dB0/deps, B0) = 0 by damped Newton from a nearby
    root ``x0`` (a warm start, no global search; values only).  Returns (x, max|F|): the
    residual is inf unless Newton converged, and a root with eps >= 1/2 (R <= 0) is spurious."""
    dt = float_dtype()
    F = lambda x: residual0(x, alpha, f, mode)
    x, res, _ = newton(F, jnp.asarray(x0, dt), jnp.asarray([0.0, 0.0], dt),
                       jnp.asarray([1.0, jnp.inf], dt))
    return x, res


def polish(xc, alpha, f, theta, mode):
    """The converged continuation point ``xc`` as a root of App. A eqs. (1)-(3) with IFT
    derivatives w.r.t. alpha, f and theta (radians).  Returns (x, max|F(x)|)."""
    F = lambda x: residual(x, alpha, f, theta, mode)
    x = attach_ift(F, xc)
    return x, jnp.max(jnp.abs(F(x)))


def track_start(alpha, h0=0.1):
    """Continuation state (x, log f, previous x, previous log f, step) at f = 1: the unpruned
    solution mapped to (phi, psi, kappa) = (pi eps_full, pi/2, kappa_full); no gradient."""
    full, _ = theta0_root(jax.lax.stop_gradient(alpha), 1.0, "hard")
    x1 = jnp.stack([jnp.pi * full[0], jnp.asarray(jnp.pi / 2, alpha.dtype), full[1]])
    x1 = jax.lax.stop_gradient(x1)
    lf = jnp.zeros((), x1.dtype)
    return x1, lf, x1, lf, jnp.asarray(h0, x1.dtype)


def continue_branch(track, alpha, f_target, theta, mode, h_min=2e-4, max_steps=400, h_max=0.3,
                    newton_iters=15):
    """Continuation in log f from the state ``track`` (see :func:`track_start`) down to f_target.

    Each step predicts by secant extrapolation through the last two accepted roots, then
    Newton-corrects.  A step is accepted when Newton converges (|F| < 1e-10) to a maximum of B
    over (phi, psi) and the solution moved by < 0.2 (no jump to another branch); a rejected step
    is retried at half the size, so a numerical failure is not mistaken for a fold.  When the
    step shrinks below h_min the branch has ended (fold / collapse): failed=True and the state
    holds the last f reached.  Returns (track, failed, J, steps) with J the residual Jacobian
    near the root; the step size carries over to the next call.  theta in radians."""
    x0 = track[0]
    dt = x0.dtype
    lo, hi = jnp.asarray(LOWER, dt), jnp.asarray(UPPER, dt)
    lft = jnp.log(jnp.asarray(f_target, dt))

    def cond(st):
        (x, lf, xp, lfp, h), k, failed, J = st
        return ((lf > lft) | (k == 0)) & (~failed) & (k < max_steps)

    def body(st):
        (x, lf, xp, lfp, h), k, failed, J = st
        lf_try = jnp.maximum(lft, lf - h)
        slope = jnp.where(lf != lfp, (lf_try - lf) / jnp.where(lf != lfp, lf - lfp, 1.0), 0.0)
        pred = jnp.clip(x + slope * (x - xp), lo + 1e-9, hi - 1e-9)
        F = lambda y: residual(y, alpha, jnp.exp(lf_try), theta, mode)
        xn, res, Jn = newton(F, pred, lo, hi, iters=newton_iters)
        good = ((res < 1e-10) & jnp.all(jnp.abs(xn - x) < 0.2) & jnp.all(jnp.isfinite(xn))
                & is_max(Jn)[0])
        h2 = jnp.where(good, jnp.minimum(1.5 * h, h_max), 0.5 * h)
        tr = (jnp.where(good, xn, x), jnp.where(good, lf_try, lf), jnp.where(good, x, xp),
              jnp.where(good, lf, lfp), h2)
        return tr, k + 1, h2 < h_min, jnp.where(good, Jn, J)

    st0 = (track, 0, jnp.asarray(False), jnp.full((3, 3), jnp.nan, dt))
    track, k, failed, J = jax.lax.while_loop(cond, body, st0)
    failed = failed | (track[1] > lft)
    return track, failed, J, k


def is_max(J):
    """Is the root a maximum of B over (phi, psi)?  J[:2, :2] is that Hessian.  Returns
    (no clearly positive eigenvalue, largest eigenvalue); near-zero eigenvalues are accepted
    (keep-easy at small f has a flat direction as the student aligns with the probe)."""
    lmin, lmax = jnp.linalg.eigvalsh(0.5 * (J[:2, :2] + J[:2, :2].T))
    return lmax <= 1e-6 * jnp.maximum(1.0, jnp.abs(lmin)), lmax
