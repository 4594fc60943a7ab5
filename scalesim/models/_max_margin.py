"""Shared pieces of the pruning simulators: the max-margin student and the pruning step.

The max-margin solver is a JAX primal Newton method on the squared-hinge L2-SVM without bias,
1/2 |w|^2 + C sum_i (1 - y_i x_i.w)_+^2, with C raised 1, 1e2, ..., 1e10 towards the
hard-margin limit (the student of Sorscher et al. 2022, Sec. 2 and App. A: the max-margin
perceptron trained on the kept examples).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from scalesim.roots import bisect
from scalesim.validate import check_positive_ints, check_range

__all__ = ["C_STAGES", "unit", "kept_sizes", "KeptSet", "keep_indices", "max_margin"]

C_STAGES = (1.0, 1e2, 1e4, 1e6, 1e8, 1e10)


def unit(v):
    """v / |v|."""
    return v / jnp.linalg.norm(v)


def kept_sizes(n: int, alpha_prune: float, f_min: float) -> tuple[int, int]:
    """``(k, p_max)``: the kept-set size ``round(alpha_prune n)`` (at least 1) and the rows drawn
    per member, ``round(k / f_min)`` (at least k), so that every f >= f_min keeps k rows."""
    k = max(1, int(round(alpha_prune * n)))
    return k, max(k, int(round(k / f_min)))


class KeptSet:
    """Mixin for pruning configs with fields ``n``, ``alpha_prune`` and ``f_min``."""

    def check_kept_set(self) -> None:
        """Validate the shared fields: n >= 2 (integer), alpha_prune > 0, f_min in (0, 1]."""
        check_positive_ints("n", self.n)
        check_range("n", self.n, 2)
        check_range("alpha_prune", self.alpha_prune, 0.0, lo_open=True)
        check_range("f_min", self.f_min, 0.0, 1.0, lo_open=True)

    @property
    def k(self) -> int:
        """Kept-set size round(alpha_prune n) (at least 1)."""
        return kept_sizes(self.n, self.alpha_prune, self.f_min)[0]

    @property
    def p_max(self) -> int:
        """Rows drawn per member: round(k / f_min) (at least k)."""
        return kept_sizes(self.n, self.alpha_prune, self.f_min)[1]


def keep_indices(scores, k, easy, valid=None):
    """Indices of the k kept points: smallest scores (keep-hard) or largest (keep-easy); rows
    with valid == False are never kept.

    Args:
      scores: [p] pruning scores (e.g. |probe field|).
      k: number kept (static).
      easy: bool (may be traced): keep the largest scores.
      valid: optional bool mask [p] of the rows that exist.

    Returns:
      int array [k] of row indices.
    """
    key = jnp.where(easy, -scores, scores)
    if valid is not None:
        key = jnp.where(valid, key, jnp.inf)
    return jnp.argsort(key)[:k]


def _exact_step(w, d, r, q, C, n_bisect=60):
    """Exact line search on the piecewise-quadratic objective along d: root of the monotone
    phi'(t) = w.d + t|d|^2 - 2C sum q_i (r_i - t q_i)_+ by bisection (cheap: O(k) per test)."""
    wd, dd = w @ d, d @ d
    dphi = lambda t: wd + t * dd - 2.0 * C * jnp.sum(q * jnp.maximum(r - t * q, 0.0))
    hi = jax.lax.while_loop(lambda h: (dphi(h) < 0) & (h < 1e6), lambda h: 2.0 * h,
                            jnp.asarray(1.0, w.dtype))
    lo, hi = bisect(dphi, jnp.zeros_like(hi), hi, n_bisect)
    return 0.5 * (lo + hi)


def max_margin(X, y, iters=100, tol=1e-12):
    """Max-margin (hard-margin, no bias) direction for separable data.

    Primal squared-hinge L2-SVM, min 1/2|w|^2 + C sum (1 - y x.w)_+^2, solved by Newton's method
    with an exact line search (Keerthi & DeCoste's finite Newton method for L2-SVMs), at
    C = 1, 1e2, ..., 1e10, each stage warm-started from the previous one.  vmap-able over a
    leading problem axis.

    Args:
      X: [k, n] inputs. y: [k] labels +-1.
      iters: Newton iterations per C stage. tol: relative step size that ends a stage.

    Returns:
      (w_unit [n], kappa, converged): kappa = min_i y_i x_i.w_unit; converged when the last
      stage's step fell below 1e-8 and all margins of w are >= 1 - 1e-6 (hard-margin KKT).
    """
    k, n = X.shape
    Z = X * y[:, None]                       # rows y_i x_i
    eye = jnp.eye(n, dtype=X.dtype)

    def stage(w, C):
        def body(st):
            w, it, _ = st
            r = 1.0 - Z @ w
            act = (r > 0).astype(X.dtype)
            g = w - 2.0 * C * (Z.T @ (act * r))
            H = eye + 2.0 * C * (Z.T * act[None, :]) @ Z
            d = -jnp.linalg.solve(H, g)
            t = _exact_step(w, d, r, Z @ d, C)
            wn = w + t * d
            return wn, it + 1, jnp.linalg.norm(t * d) / (jnp.linalg.norm(wn) + 1e-30)

        def cond(st):
            _, it, rel = st
            return (it < iters) & (rel > tol)

        w, it, rel = jax.lax.while_loop(cond, body, (w, 0, jnp.asarray(jnp.inf, X.dtype)))
        return w, rel

    w = jnp.zeros((n,), X.dtype)
    rel = jnp.asarray(jnp.inf, X.dtype)
    for C in C_STAGES:
        w, rel = stage(w, jnp.asarray(C, X.dtype))
    wu = w / jnp.linalg.norm(w)
    kappa = jnp.min(Z @ wu)
    return wu, kappa, (rel <= 1e-8) & (jnp.min(Z @ w) > 1.0 - 1e-6)
