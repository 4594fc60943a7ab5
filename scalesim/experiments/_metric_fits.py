"""Binomial fits in the linearising coordinate of exact match, ``log(-log EM) = b + s log N``.

A measured exact-match rate is a count ``k`` of successes among ``n`` test sequences; below
``1/n`` it reads 0 and above ``1 - 1/n`` it reads 1, where ``log(-log k/n)`` is undefined.
Instead of dropping those points (which biases the slope) the fit maximises the binomial
likelihood with ``EM(N) = exp(-exp(b + s log N))`` over *every* grid point, zeros and ones
included (a generalised linear model with a log-log link). Fisher scoring with a step-length
search from a weighted least-squares start; float64; ``vmap``-able
over bootstrap resamples.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["loglog_mle", "loglog_mle_many", "start_wls"]

_STEPS = 2.0 ** -np.arange(12)  # Newton step lengths tried at each iteration (the best is taken)


def _loglik(theta, x, k, n):
    mu = jnp.exp(jnp.minimum(theta[0] + theta[1] * x, 700.0))  # -log EM
    log_fail = jnp.log(-jnp.expm1(-mu))  # log(1 - EM)
    return jnp.sum(-k * mu + jnp.where(n - k > 0, (n - k) * log_fail, 0.0))


def _newton(theta0, x, k, n, iters: int = 40):
    """Fisher scoring (expected information ``n mu^2 / (e^mu - 1)`` per point, ``mu = -log EM``)
    with the best of 12 step lengths at each iteration; never lowers the likelihood."""
    design = jnp.stack([jnp.ones_like(x), x], 1)
    steps = jnp.asarray(_STEPS)

    def body(theta, _):
        mu = jnp.exp(jnp.minimum(design @ theta, 700.0))
        em1 = jnp.expm1(mu)
        score = mu * (-k + (n - k) / em1)  # d loglik / d eta
        info = n * mu * (mu / em1)
        g = design.T @ score
        h = design.T @ (info[:, None] * design) + 1e-12 * jnp.eye(2)
        d = jnp.linalg.solve(h, g)
        cand = theta[None, :] + steps[:, None] * d[None, :]
        vals = jax.vmap(lambda t: _loglik(t, x, k, n))(cand)
        vals = jnp.where(jnp.isfinite(vals), vals, -jnp.inf)
        best = jnp.argmax(vals)
        better = vals[best] >= _loglik(theta, x, k, n)
        return jnp.where(better, cand[best], theta), None

    theta, _ = jax.lax.scan(body, theta0, None, length=iters)
    return theta


_newton_many = jax.jit(jax.vmap(_newton, in_axes=(None, None, 0, None)), static_argnames="iters")


def start_wls(x, k, n):
    """Weighted least squares of ``log(-log(k/n))`` on ``x`` over points with ``0 < k < n``
    (delta-method weights ``n p log(p)^2 / (1 - p)``); ``(b, s)`` or NaNs with < 2 such points."""
    x, k = np.asarray(x, float), np.asarray(k, float)
    n = np.broadcast_to(np.asarray(n, float), x.shape)
    ok = (k > 0) & (k < n)
    if ok.sum() < 2:
        return np.array([np.nan, np.nan])
    p = k[ok] / n[ok]
    y = np.log(-np.log(p))
    w = n[ok] * p * np.log(p) ** 2 / (1 - p)
    a = np.stack([np.ones(ok.sum()), x[ok]], 1)
    return np.linalg.solve(a.T @ (w[:, None] * a), a.T @ (w * y))


def loglog_mle(log_n, k, n):
    """Maximum-likelihood ``(b, s)`` of ``EM(N) = exp(-exp(b + s log N))`` from counts.

    Args:
      log_n: ``ln N`` of the grid ``[G]``.
      k: exact-match successes ``[G]`` (zeros and ``n`` included).
      n: test sequences per grid point (scalar or ``[G]``).

    Returns:
      ``(b, s)`` as a float64 NumPy array (``s`` estimates ``-alpha``); NaNs when fewer than two
      grid points are resolved (``0 < k < n``).
    """
    x = np.asarray(log_n, float)
    n = np.broadcast_to(np.asarray(n, float), x.shape)
    theta0 = start_wls(x, k, n)
    if not np.all(np.isfinite(theta0)):
        return theta0
    return loglog_mle_many(x, np.asarray(k, float)[None, :], n, theta0)[0]


def loglog_mle_many(log_n, ks, n, theta0):
    """:func:`loglog_mle` for many count vectors ``ks [R, G]`` (bootstrap resamples), all started
    from ``theta0`` (the full-sample estimate); returns ``[R, 2]``. One compiled program per
    ``(R, G)``: pass the full sample as a row of the resamples to share it."""
    x = np.asarray(log_n, float)
    n = np.broadcast_to(np.asarray(n, float), x.shape)
    with jax.enable_x64(True):
        out = _newton_many(jnp.asarray(theta0, float), jnp.asarray(x), jnp.asarray(ks, float), jnp.asarray(n))
    return np.asarray(out)
