"""VPNLS: variable projection for the Chinchilla law (Czech, "Problems with Chinchilla
Approach 2", Open-Athena 2026, Sec. 6 and appendix; Golub & Pereyra 1973).

For fixed (alpha, beta) the model L = E + A N^-alpha + B D^-beta is linear in c = (E, A, B):
X(alpha, beta) = [1, N^-alpha, D^-beta]. The inner problem min_{c >= 0} ||L - X c||^2 is
solved *exactly*: the NNLS optimum is the unconstrained least-squares solution on its
support, so enumerating the 8 supports of 3 columns (the empty one included) and keeping
the feasible one with the smallest residual is exact. The outer problem RSS(alpha, beta)
is searched on a dense grid (vmapped), then refined with batched L-BFGS in
(log alpha, log beta). The
gradient is the envelope-theorem one (Czech, App. "VPNLS"):
dRSS/dalpha = 2 A r . (log N N^-alpha), dRSS/dbeta = 2 B r . (log D D^-beta), obtained here
by differentiating ||L - X(alpha, beta) c||^2 with c* held fixed (``stop_gradient``).

The objective is the raw-loss sum of squares (Gaussian MLE), not Approach 3's log-Huber, so
the estimates differ from Approach 3 on real data.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np

from scalesim.fit.chinchilla import ChinchillaFit, check_data
from scalesim.fit.optim import minimize_batch

__all__ = ["nnls3", "profile_rss", "fit_vpnls", "inner_solve"]

_SUPPORTS = np.array(list(itertools.product([0.0, 1.0], repeat=3)))


def _solve3(G, h):
    """Solve the 3x3 system G c = h by the adjugate (closed form: cheap to compile and to
    vmap, unlike a batched LU); G here is a column-scaled Gram matrix (unit diagonal)."""
    a, b, c = G[0, 0], G[0, 1], G[0, 2]
    d, e, f = G[1, 0], G[1, 1], G[1, 2]
    g, k, m = G[2, 0], G[2, 1], G[2, 2]
    adj = jnp.array([[e * m - f * k, c * k - b * m, b * f - c * e],
                     [f * g - d * m, a * m - c * g, c * d - a * f],
                     [d * k - e * g, b * g - a * k, a * e - b * d]])
    det = a * adj[0, 0] + b * adj[1, 0] + c * adj[2, 0]
    return adj @ h / det


def nnls3(X, y, w=None):
    """Exact non-negative least squares min_{c>=0} sum_i w_i (y_i - X_i c)^2 for 3 columns.

    Enumerates the 8 supports (c = 0 included); each is an unconstrained weighted LS on
    the column-scaled normal equations (the NNLS optimum is the LS solution on its support;
    Lawson & Hanson 1974, Ch. 23). jit/vmap-able; float64 recommended.

    Args:
      X: design ``[n, 3]``.
      y: targets ``[n]``.
      w: optional weights ``[n]`` (default ones).

    Returns:
      ``(c, rss)``: coefficients ``[3]`` (>= 0) and the weighted residual sum of squares.
    """
    w = jnp.ones_like(y) if w is None else w
    scale = jnp.sqrt(jnp.sum(w[:, None] * X * X, axis=0))
    scale = jnp.where(scale > 0, scale, 1.0)
    Xs = X / scale[None, :]
    G = Xs.T @ (w[:, None] * Xs)
    h = Xs.T @ (w * y)

    def solve(mask):
        Gm = G * mask[:, None] * mask[None, :] + jnp.diag(1.0 - mask)
        c = _solve3(Gm, h * mask) * mask
        r = y - Xs @ c
        rss = jnp.sum(w * r * r)
        feasible = jnp.all(c >= 0) & jnp.all(jnp.isfinite(c))
        return c, jnp.where(feasible, rss, jnp.inf)

    cs, rss = jax.vmap(solve)(jnp.asarray(_SUPPORTS, X.dtype))
    i = jnp.argmin(rss)
    return cs[i] / scale, rss[i]


def _design(alpha, beta, logN, logD):
    return jnp.stack([jnp.ones_like(logN), jnp.exp(-alpha * logN), jnp.exp(-beta * logD)], 1)


def inner_solve(alpha, beta, logN, logD, L, w=None):
    """The inner VPNLS problem (Czech 2026, Sec. 6): best (E, A, B) >= 0 at fixed exponents.

    Args:
      alpha, beta: exponents of N and D.
      logN, logD: natural logs of parameters and tokens ``[n]``.
      L: losses ``[n]``.
      w: optional weights ``[n]``.

    Returns:
      ``(c, rss)``: ``c = (E, A, B)`` and the weighted RSS of L = E + A N^-alpha + B D^-beta.
    """
    return nnls3(_design(alpha, beta, logN, logD), L, w)


def profile_rss(log_ab, args):
    """The VPNLS profile objective RSS(alpha, beta) with the inner NNLS (Czech 2026, Sec. 6).

    Differentiating gives the envelope-theorem gradient, because the inner coefficients are
    held fixed by ``stop_gradient``.

    Args:
      log_ab: ``(log alpha, log beta)``.
      args: ``(logN, logD, L, w)``.

    Returns:
      The weighted residual sum of squares (scalar, units of L squared).
    """
    logN, logD, L, w = args
    alpha, beta = jnp.exp(log_ab[0]), jnp.exp(log_ab[1])
    X = _design(alpha, beta, logN, logD)
    c, _ = nnls3(jax.lax.stop_gradient(X), L, w)
    r = L - X @ jax.lax.stop_gradient(c)
    return jnp.sum(w * r * r)


_inner_solve_jit = jax.jit(inner_solve)


@jax.jit
def _grid_rss(alphas, betas, args):
    logN, logD, L, w = args
    f = lambda a, b: inner_solve(a, b, logN, logD, L, w)[1]  # noqa: E731
    return jax.vmap(lambda a: jax.vmap(lambda b: f(a, b))(betas))(alphas)


def fit_vpnls(N, D, L, *, grid_size: int = 32, grid_lo: float = 0.05, grid_hi: float = 0.95,
              refine_top: int = 4, gtol: float = 1e-13, max_iter: int = 500,
              weights=None) -> ChinchillaFit:
    """VPNLS fit of L = E + A N^-alpha + B D^-beta (Hoffmann et al. 2022, Eq. 2) by least
    squares on raw L (Czech 2026, Sec. 6).

    A ``grid_size`` x ``grid_size`` grid over alpha, beta in [grid_lo, grid_hi] (Czech's
    default: 32 x 32 on [0.05, 0.95]) with the exact NNLS inside; the ``refine_top`` best
    grid cells are refined with batched L-BFGS on the profile RSS; the best is kept. Float64
    regardless of the global x64 flag.

    Args:
      N: parameter counts (> 0).
      D: training tokens (> 0).
      L: losses (> 0).
      grid_size: grid points per exponent axis (>= 2).
      grid_lo, grid_hi: exponent range of the grid, ``0 < grid_lo < grid_hi``.
      refine_top: grid cells refined by L-BFGS.
      gtol: gradient-norm tolerance of the refinement.
      max_iter: iteration cap of the refinement.
      weights: optional per-point weights.

    Returns:
      :class:`~scalesim.fit.chinchilla.ChinchillaFit` with ``method="vpnls"``, ``objective``
      the RSS; ``extra``: ``grid_rss``, ``grid_axis``, ``n_iter``.
    """
    N, D, L = check_data(N, D, L)
    if grid_size < 2:
        raise ValueError(f"grid_size: must be >= 2, got {grid_size}")
    if not 0 < grid_lo < grid_hi:
        raise ValueError(f"grid_lo, grid_hi: need 0 < grid_lo < grid_hi, got {grid_lo}, {grid_hi}")
    w = np.ones_like(L) if weights is None else np.asarray(weights, np.float64)
    with jax.enable_x64(True):
        args = (jnp.log(jnp.asarray(N)), jnp.log(jnp.asarray(D)), jnp.asarray(L),
                jnp.asarray(w))
        ax = jnp.linspace(grid_lo, grid_hi, grid_size, dtype=jnp.float64)
        rss = np.asarray(_grid_rss(ax, ax, args))
        flat = np.where(np.isfinite(rss), rss, np.inf).ravel()
        top = np.argsort(flat)[:max(1, refine_top)]
        ia, ib = np.unravel_index(top, rss.shape)
        x0 = np.log(np.stack([np.asarray(ax)[ia], np.asarray(ax)[ib]], 1))
        res = minimize_batch(profile_rss, jnp.asarray(x0), args, gtol=gtol, ftol=0.0,
                             max_iter=max_iter)
        i = res.best()
        alpha, beta = np.exp(res.x[i])
        c, rss_best = _inner_solve_jit(alpha, beta, *args)
        c = np.asarray(c)
    params = {"E": float(c[0]), "A": float(c[1]), "B": float(c[2]),
              "alpha": float(alpha), "beta": float(beta)}
    return ChinchillaFit(method="vpnls", params=params, objective=float(rss_best),
                         n_points=len(L), grad_norm=float(res.grad_norm[i]),
                         converged=bool(np.isfinite(res.value[i])),
                         extra={"grid_rss": rss, "grid_axis": np.asarray(ax),
                                "n_iter": int(res.n_iter[i])})
