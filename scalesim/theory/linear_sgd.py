"""Exact expected risk of one-pass SGD on Gaussian linear regression, and its exponents.

For batch-mean SGD ``theta <- theta - (eta/B) sum_i x_i (x_i . theta - y_i)`` with Gaussian
features of covariance eigenvalues ``lambda_k`` and label noise of variance ``sigma^2``, the
per-mode errors ``C_k = E[(theta - theta*)_k^2]`` obey exactly (Wick's theorem; Bordelon &
Pehlevan 2022, "Learning curves for SGD on structured features", Sec. 3)::

    C_k(t+1) = (1 - 2 eta lam_k + (1 + 1/B) eta^2 lam_k^2) C_k(t)
               + (eta^2 / B) lam_k (sum_l lam_l C_l(t) + sigma^2)
    E[MSE](t) = sum_k lam_k C_k(t) + sigma^2

i.e. ``C(t+1) = A C(t) + g`` with the *symmetric* ``A = diag(s) + (eta^2/B) lam lam^T``.
:func:`sgd_risk` steps it with ``lax.scan``; :func:`sgd_risk_at` evaluates any ``t`` in
closed form from one ``eigh`` of ``A``. Both are float64, jit/vmap-able and differentiable in
``eta``, ``lam`` and the initial errors.

Declared exponents (:func:`exponents`; spectrum ``lambda_k = k^-b``, task power
``theta*_k^2 lambda_k = k^-a``): time-limited ``L ~ t^-(a-1)/b`` (Paquette et al. 2024 ``F_pp``;
Bordelon, Atanasov & Pehlevan 2024), slowed to ``t^-(2 - 1/b)`` by SGD noise when ``a > 2b``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import gamma

from scalesim.precision import as_float
from scalesim.prediction import Prediction, prediction
from scalesim.spectra import power_law
from scalesim.validate import check_range

__all__ = [
    "PAPERS",
    "exponents",
    "sgd_risk",
    "sgd_risk_at",
    "sgd_risk_at_many",
    "kernel_norm",
    "time_exponent",
    "sgd_time_exponent",
    "time_limited_risk",
    "power_law_problem",
]

PAPERS = ("paquette2024phases", "bordelon2024dynamical")


def exponents(a: float | None = None, b: float | None = None) -> dict[str, Prediction]:
    """The time exponents of one-pass SGD on the power-law problem (``L - sigma^2 ~ t^-exponent``).

    Args:
      a: task-power exponent (> 1); b: spectrum exponent (> 0). Without them nothing is
        predicted (the exponents depend on both).

    Returns:
      name -> :class:`~scalesim.prediction.Prediction`:

      - "time_gradient_flow": ``(a - 1)/b`` (:func:`time_exponent`), the signal term
        (Paquette et al. 2024 ``F_pp``; Bordelon, Atanasov & Pehlevan 2024, Sec. 3);
      - "time": ``min((a - 1)/b, 2 - 1/b)`` (:func:`sgd_time_exponent`), the slower of the signal
        and the SGD-noise term (Paquette et al. 2024 ``K_pp`` with ``b = 2 alpha``).
    """
    if a is None and b is None:
        return {}
    if a is None or b is None:
        raise ValueError("a and b must be given together")
    _check_exponents(a, b)
    params = {"a": a, "b": b}
    window = "infinite width (finite d: while (2 eta t)^(1/b) << d), eta ||K|| < 1, t >> 1"
    return {
        "time_gradient_flow": prediction(__name__, params, "time_gradient_flow", float(time_exponent(a, b)),
                                         "(a - 1)/b", window + ", no SGD noise (a < 2b)",
                                         "Paquette et al. 2024 (arXiv 2405.15074), F_pp; Bordelon et al. 2024"),
        "time": prediction(__name__, params, "time", float(sgd_time_exponent(a, b)), "min((a - 1)/b, 2 - 1/b)",
                           window, "Paquette et al. 2024 (arXiv 2405.15074), F_pp and K_pp, in (a, b) notation"),
    }


def kernel_norm(lam, eta, batch):
    """Volterra kernel norm ``||K|| = (eta/B) sum_k lam_k / (2 - (1 + 1/B) eta lam_k)``.

    SGD is stable iff ``||K|| < 1`` and ``eta lam_max < 2B/(B+1)``; the noise floor is
    inflated by ``1/(1 - ||K||)`` (Paquette et al. 2024, arXiv 2405.15074, Volterra kernel).

    Args:
      lam: feature-covariance eigenvalues ``[d]``.
      eta: learning rate (units of 1/lam).
      batch: batch size B.

    Returns:
      scalar ``||K||``; ``inf`` when ``eta lam_max >= 2B/(B+1)``.
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

    The per-mode recursion of the module docstring (Bordelon & Pehlevan 2022, Sec. 3).

    Args:
      lam: feature-covariance eigenvalues ``[d]``.
      c0: initial per-mode squared errors ``[d]`` (``theta*_k^2`` for ``theta_0 = 0``).
      eta: learning rate; batch: batch size B (static); sigma2: label-noise variance.
      steps: number of steps (static).

    Returns:
      expected MSE ``[steps + 1]`` (noise included).
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
    against :func:`sgd_risk` when SGD is stable (``A`` is the recursion matrix of the module
    docstring; Bordelon & Pehlevan 2022, Sec. 3).

    Args:
      lam, c0, eta, batch, sigma2: as in :func:`sgd_risk`.
      t: step counts (array of any shape; non-integer values interpolate ``|mu|^t``).

    Returns:
      expected MSE with the shape of ``t``.
    """
    lam, c0, eta, sigma2 = as_float(lam), as_float(c0), as_float(eta), as_float(sigma2)
    mu, q = _recursion_eigh(lam, eta, batch)
    return _risk_from_eigh(lam, c0, eta, batch, sigma2, mu, q, t)


def sgd_risk_at_many(lam, c0, eta, batch: int, sigma2, t):
    """:func:`sgd_risk_at` for several targets on one spectrum, from ONE ``eigh`` of ``A``.

    The recursion matrix ``A = diag(s) + (eta^2/B) lam lam^T`` depends on the spectrum, the
    learning rate and the batch only; the initial errors and the noise enter linearly afterwards
    (Bordelon & Pehlevan 2022, Sec. 3). So targets that share ``lam`` and ``eta`` (a sweep over
    the target exponent, e.g. Paquette et al. 2024's beta) share the O(d^3) eigendecomposition
    and cost O(d^2 + d |t|) each. Equal to stacking :func:`sgd_risk_at` calls to round-off.

    Args:
      lam: feature-covariance eigenvalues ``[d]``.
      c0: initial per-mode squared errors of each target ``[n, d]``.
      eta: learning rate (units of ``1/lam``); batch: batch size B (static).
      sigma2: label-noise variance of each target ``[n]`` (units of the MSE).
      t: step counts (array of any shape).

    Returns:
      expected MSE ``[n, *t.shape]`` (noise included).
    """
    lam, c0, eta, sigma2 = as_float(lam), as_float(c0), as_float(eta), as_float(sigma2)
    mu, q = _recursion_eigh(lam, eta, batch)
    one = lambda c, s2: _risk_from_eigh(lam, c, eta, batch, s2, mu, q, t)
    return jax.vmap(one)(c0, sigma2)


def _recursion_eigh(lam, eta, batch):
    """Eigendecomposition ``(mu, q)`` of the symmetric recursion matrix ``A`` (no sigma2 in it)."""
    s, coup, _ = _recursion_parts(lam, eta, batch, 0.0)
    a_mat = jnp.diag(s) + coup * jnp.outer(lam, lam)
    return jnp.linalg.eigh(a_mat)


def _risk_from_eigh(lam, c0, eta, batch, sigma2, mu, q, t):
    """``E[MSE](t)`` of one target given the eigendecomposition of ``A``."""
    _, _, g = _recursion_parts(lam, eta, batch, sigma2)
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
    """Time-limited exponent ``(a - 1)/b`` of ``L ~ t^-(a-1)/b`` (Bordelon et al. 2024, Sec. 3).

    This is the gradient-flow ("F_pp") exponent. SGD noise adds a term decaying as
    ``t^-(2 - 1/b)`` (Paquette et al. 2024's ``K_pp`` with ``b = 2 alpha``), which dominates
    when ``a > 2b``; see :func:`sgd_time_exponent`.

    Args:
      a: task-power exponent; b: spectrum exponent (may be traced).

    Returns:
      ``(a - 1)/b`` (float array).
    """
    return (as_float(a) - 1) / as_float(b)


def sgd_time_exponent(a, b):
    """``min((a-1)/b, 2 - 1/b)``: the slower of the signal (F_pp) and SGD-noise (K_pp) terms.

    From the asymptotics of the loss terms of Paquette et al. 2024 (arXiv 2405.15074) with
    ``a = 2 alpha + 2 beta``, ``b = 2 alpha``; at ``a = 2b`` the two coincide.

    Args:
      a: task-power exponent; b: spectrum exponent (may be traced).

    Returns:
      the exponent (float array).
    """
    return jnp.minimum(time_exponent(a, b), 2 - 1 / as_float(b))


def time_limited_risk(a, b, eta_t):
    """Continuum gradient-flow asymptote ``(1/b) Gamma((a-1)/b) (2 eta t)^{-(a-1)/b}``.

    From ``sum_k k^-a exp(-2 eta t k^-b) ~ int dk k^-a exp(-2 eta t k^-b)`` (infinite width, no
    SGD noise); the leading term of Paquette et al. 2024's ``F_pp`` in the ``(a, b)`` notation.

    Args:
      a: task-power exponent (> 1); b: spectrum exponent (> 0).
      eta_t: learning rate times steps (array).

    Returns:
      excess risk with the shape of ``eta_t``.
    """
    a, b, eta_t = as_float(a), as_float(b), as_float(eta_t)
    e = (a - 1) / b
    return gamma(e) / b * (2 * eta_t) ** (-e)


def power_law_problem(d: int, a, b):
    """``(lam, c0)`` of the power-law problem: ``lam_k = k^-b``, ``c0_k = theta*_k^2 = k^-(a-b)``.

    The problem of :mod:`scalesim.models.linear_sgd` started at ``theta_0 = 0``.

    Args:
      d: number of modes (static).
      a: task-power exponent (> 1); b: spectrum exponent (> 0); concrete values are validated
        (``ValueError``), traced ones are not.

    Returns:
      ``(lam, c0)``, each ``[d]`` in :func:`scalesim.precision.float_dtype`.
    """
    _check_exponents(a, b)
    return power_law(d, as_float(b)), power_law(d, as_float(a) - as_float(b))


def _check_exponents(a, b):
    check_range("a", a, 1.0, lo_open=True)  # a > 1: the time-limited law decays
    check_range("b", b, 0.0, lo_open=True)
