"""Exact expected risk of one-pass SGD on Gaussian linear regression, and its exponents.

For batch-mean SGD ``theta <- theta - (eta/B) sum_i x_i (x_i . theta - y_i)`` with Gaussian
features of covariance eigenvalues ``lambda_k`` and label noise of variance ``sigma^2``, the
per-mode errors ``C_k = E[(theta - theta*)_k^2]`` obey exactly (Wick's theorem; Bordelon &
Pehlevan 2022; ``shared/research/random_features.md`` §3.4)::

    C_k(t+1) = (1 - 2 eta lam_k + (1 + 1/B) eta^2 lam_k^2) C_k(t)
               + (eta^2 / B) lam_k (sum_l lam_l C_l(t) + sigma^2)
    E[MSE](t) = sum_k lam_k C_k(t) + sigma^2

i.e. ``C(t+1) = A C(t) + g`` with the *symmetric* ``A = diag(s) + (eta^2/B) lam lam^T``.
:func:`sgd_risk` steps it with ``lax.scan``; :func:`sgd_risk_at` evaluates any ``t`` in
closed form from one ``eigh`` of ``A`` (random_features.md §4.x). Both are float64,
jit/vmap-able and differentiable in ``eta``, ``lam`` and the initial errors.

Declared exponents (generic ``(a, b)`` notation, random_features.md §0): time-limited
``L ~ t^-(a-1)/b`` (Paquette et al. 2024 ``F_pp``; Bordelon et al. 2024).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gamma
from scalesim.precision import as_float

__all__ = [
    "sgd_risk",
    "sgd_risk_at",
    "kernel_norm",
    "time_exponent",
    "sgd_time_exponent",
    "time_limited_risk",
    "power_law_problem",
    "EXPONENTS",
]


def kernel_norm(lam, eta, batch):
    """Volterra kernel norm ``||K|| = (eta/B) sum_k lam_k / (2 - (1 + 1/B) eta lam_k)``.

    SGD is stable iff ``||K|| < 1`` and ``eta lam_max < 2B/(B+1)``; the noise floor is
    inflated by ``1/(1 - ||K||)`` (Paquette et al. 2024; random_features.md §4.x). Returns
    ``inf`` when ``eta lam_max >= 2B/(B+1)``.
    """
    lam, eta = as_float(lam), as_float(eta)
    denom = 2 - (1 + 1 / batch) * eta * lam
    norm = (eta / batch) * jnp.sum(lam / denom)
    return jnp.where(jnp.all(denom > 0), norm, jnp.inf)  # eta lam_max >= 2B/(B+1): unstable


def _recursion_parts(lam, eta, batch, sigma2):
    s = 1 - 2 * eta * lam + (1 + 1 / batch) * eta**2 * lam**2
    coup = eta**2 / batch
    g = coup * lam * sigma2
    return s, coup, g


def sgd_risk(lam, c0, eta, batch: int, sigma2, steps: int):
    """Expected population MSE ``E[MSE](t)`` for ``t = 0..steps`` by exact stepping (``[steps+1]``).

    Args:
      lam: feature-covariance eigenvalues ``[d]``.
      c0: initial per-mode squared errors ``[d]`` (``theta*_k^2`` for ``theta_0 = 0``).
      eta: learning rate; batch: batch size B (static); sigma2: label-noise variance.
    """
    lam, c0, eta, sigma2 = as_float(lam), as_float(c0), as_float(eta), as_float(sigma2)
    s, coup, g = _recursion_parts(lam, eta, batch, sigma2)

    def step(c, _):
        risk = jnp.dot(lam, c)
        return s * c + coup * lam * risk + g, risk

    c_last, risks = jax.lax.scan(step, c0, None, length=steps)
    return jnp.concatenate([risks, jnp.dot(lam, c_last)[None]]) + sigma2


def sgd_risk_at(lam, c0, eta, batch: int, sigma2, t):
    """``E[MSE](t)`` at arbitrary step counts ``t`` (array) from one ``eigh`` of ``A``.

    ``C(t) = C_inf + A^t (C_0 - C_inf)`` with ``C_inf = (I - A)^{-1} g``; exact to round-off
    against :func:`sgd_risk` when SGD is stable (random_features.md §4.x).
    """
    lam, c0, eta, sigma2 = as_float(lam), as_float(c0), as_float(eta), as_float(sigma2)
    s, coup, g = _recursion_parts(lam, eta, batch, sigma2)
    a_mat = jnp.diag(s) + coup * jnp.outer(lam, lam)
    mu, q = jnp.linalg.eigh(a_mat)
    # (I - A)^{-1} g from the same eigendecomposition (A is symmetric): no separate LU, whose
    # batched LAPACK call could run concurrently with the batched eigh under vmap and deadlock
    # jaxlib 0.10's CPU thread pool (both block in ParallelBatchMap on a 2-thread pool)
    c_inf = q @ ((q.T @ g) / (1 - mu))
    left = q.T @ lam
    right = q.T @ (c0 - c_inf)
    t = as_float(t)
    decay = jnp.sign(mu)[None, :] ** jnp.round(t)[..., None] * jnp.abs(mu)[None, :] ** t[..., None]
    return (decay * (left * right)[None, :]).sum(-1).reshape(jnp.shape(t)) + jnp.dot(lam, c_inf) + sigma2


def time_exponent(a, b):
    """Time-limited exponent ``(a - 1)/b`` of ``L ~ t^-(a-1)/b`` (random_features.md §0).

    This is the gradient-flow ("F_pp") exponent. SGD noise adds a term decaying as
    ``t^-(2 - 1/b)`` (Paquette et al. 2024's ``K_pp`` with ``b = 2 alpha``), which dominates
    when ``a > 2b``; see :func:`sgd_time_exponent`.
    """
    return (as_float(a) - 1) / as_float(b)


def sgd_time_exponent(a, b):
    """``min((a-1)/b, 2 - 1/b)``: the slower of the signal (F_pp) and SGD-noise (K_pp) terms.

    [D] from the asymptotics of Paquette et al. 2024 (random_features.md §4, term table) in
    the generic notation; at ``a = 2b`` the two coincide.
    """
    return jnp.minimum(time_exponent(a, b), 2 - 1 / as_float(b))


def time_limited_risk(a, b, eta_t):
    """Continuum gradient-flow asymptote ``(1/b) Gamma((a-1)/b) (2 eta t)^{-(a-1)/b}``.

    From ``sum_k k^-a exp(-2 eta t k^-b) ~ int dk k^-a exp(-2 eta t k^-b)`` (infinite width, no
    SGD noise); the leading term of Paquette et al. 2024's ``F_pp`` in the generic notation.
    """
    a, b, eta_t = as_float(a), as_float(b), as_float(eta_t)
    e = (a - 1) / b
    return gamma(e) / b * (2 * eta_t) ** (-e)


def power_law_problem(d: int, a, b):
    """``(lam, c0)`` of the power-law problem: ``lam_k = k^-b``, ``c0_k = theta*_k^2 = k^-(a-b)``.

    Concrete (non-traced) exponents are validated: ``a > 1`` and ``b > 0``, else ``ValueError``.
    """
    if not any(isinstance(v, jax.core.Tracer) for v in (a, b)):
        _check_exponents(a, b)
    k = jnp.arange(1, d + 1, dtype=as_float(0.0).dtype)
    return k ** (-as_float(b)), k ** (-(as_float(a) - as_float(b)))


def _check_exponents(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    if np.any(~np.isfinite(a)) or np.any(a <= 1):
        raise ValueError(f"a must be > 1 for a decaying time-limited law; got {a.tolist()}")
    if np.any(~np.isfinite(b)) or np.any(b <= 0):
        raise ValueError(f"b must be > 0; got {b.tolist()}")


EXPONENTS = {"time": sgd_time_exponent}
"""Exponents this theory predicts, by axis (``L ~ axis^-exponent``)."""
