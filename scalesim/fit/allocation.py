"""Compute-optimal allocation under the Chinchilla law, with C = 6 N D.

Hoffmann et al. (2022) Eq. 4 / App. D.3:
    G = (alpha A / (beta B))^(1/(alpha+beta)),  a = beta/(alpha+beta),  b = alpha/(alpha+beta),
    N_opt(C) = G (C/6)^a,  D_opt(C) = G^-1 (C/6)^b,  tokens per parameter = D_opt / N_opt.
Also the inverse C(L) (the compute needed to reach loss L) and the delta-method CI for any
smooth derived quantity (``delta_method``), with the gradient from ``jax.jacfwd``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from scalesim.fit.chinchilla import PARAM_NAMES
from scalesim.stats import normal_quantile

__all__ = ["compute_optimal", "compute_for_loss", "delta_method", "derived_quantities",
           "DERIVED_NAMES"]


def compute_optimal(params, C):
    """Compute-optimal allocation under the Chinchilla law (Hoffmann et al. 2022, Eq. 4).

    jit/grad-able.

    Args:
      params: dict with ``E``, ``A``, ``B``, ``alpha``, ``beta`` (floats or jax scalars).
      C: training compute in FLOP (C = 6 N D), scalar or array.

    Returns:
      dict: ``N_opt`` (parameters), ``D_opt`` (tokens), ``tokens_per_param``, ``L_opt`` (the
      loss at the optimum), exponents ``a``, ``b`` and the constant ``G``.
    """
    E, A, B, al, be = (params[k] for k in PARAM_NAMES)
    G = (al * A / (be * B)) ** (1.0 / (al + be))
    a, b = be / (al + be), al / (al + be)
    N = G * (C / 6.0) ** a
    D = (C / 6.0) ** b / G
    return {"N_opt": N, "D_opt": D, "tokens_per_param": D / N,
            "L_opt": E + A * N ** -al + B * D ** -be, "a": a, "b": b, "G": G}


def compute_for_loss(params, L):
    """Compute needed to reach loss ``L`` on the compute-optimal path (inverse of ``L_opt(C)``).

    From Hoffmann et al. 2022, Eq. 4: ``C(L) = 6 [(L - E) / (A G^-alpha + B G^beta)]^(-(alpha +
    beta) / (alpha beta))``.

    Args:
      params: dict with ``E``, ``A``, ``B``, ``alpha``, ``beta``.
      L: target loss (> E).

    Returns:
      Training compute in FLOP.
    """
    E, A, B, al, be = (params[k] for k in PARAM_NAMES)
    G = (al * A / (be * B)) ** (1.0 / (al + be))
    return 6.0 * ((L - E) / (A * G ** -al + B * G ** be)) ** (-(al + be) / (al * be))


def delta_method(fn, theta, cov, level: float = 0.95):
    """First-order delta-method CI for fn(theta) (Casella & Berger 2002, Thm. 5.5.24).

    Var[fn] ~= J cov J^T with J = d fn / d theta (``jax.jacfwd``), normal quantiles.

    Args:
      fn: jax function of ``theta``, scalar- or vector-valued.
      theta: the point estimate.
      cov: covariance matrix of ``theta`` (e.g. the bootstrap covariance).
      level: two-sided coverage in (0, 1).

    Returns:
      ``(value, se, (lo, hi))`` as NumPy arrays of the shape of ``fn(theta)``.
    """
    with jax.enable_x64(True):
        theta = jnp.asarray(theta, jnp.float64)
        value = np.asarray(fn(theta))
        J = np.atleast_2d(np.asarray(jax.jacfwd(fn)(theta)))
    se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", J, np.asarray(cov), J), 0.0))
    se = se.reshape(value.shape)
    z = normal_quantile(0.5 + level / 2.0)
    return value, se, (value - z * se, value + z * se)


def derived_quantities(vec, C=5.88e23):
    """Derived quantities of a Chinchilla parameter vector (Hoffmann et al. 2022, Eq. 4).

    Args:
      vec: ``(E, A, B, alpha, beta)`` (jax array).
      C: compute in FLOP at which N_opt, D_opt are taken (default Chinchilla's 5.88e23).

    Returns:
      jax array ``(a, b, N_opt(C), D_opt(C), tokens_per_param)`` in :data:`DERIVED_NAMES` order.
    """
    p = dict(zip(PARAM_NAMES, (vec[i] for i in range(5))))
    o = compute_optimal(p, C)
    return jnp.stack([o["a"], o["b"], o["N_opt"], o["D_opt"], o["tokens_per_param"]])


#: Names of the entries of :func:`derived_quantities`.
DERIVED_NAMES = ("a", "b", "N_opt", "D_opt", "tokens_per_param")
