"""Compute-optimal allocation under the Chinchilla law, with C = 6 N D.

Hoffmann et al. (2022) Eq. 4 / App. D.3 (fitting.md Sec. 1.5):
    G = (alpha A / (beta B))^(1/(alpha+beta)),  a = beta/(alpha+beta),  b = alpha/(alpha+beta),
    N_opt(C) = G (C/6)^a,  D_opt(C) = G^-1 (C/6)^b,  tokens per parameter = D_opt / N_opt.
Also the inverse C(L) (the compute needed to reach loss L) and the delta-method CI for any
smooth derived quantity (``delta_method``), with the gradient from ``jax.jacfwd``.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtri

from scalesim.fit.chinchilla import PARAM_NAMES

__all__ = ["compute_optimal", "compute_for_loss", "delta_method", "derived_quantities",
           "percentile_ci"]


def compute_optimal(params, C):
    """N_opt(C), D_opt(C), tokens per parameter, L at the optimum (Hoffmann Eq. 4).

    ``params`` is a dict with E, A, B, alpha, beta (floats or jax scalars); jit/grad-able.
    """
    E, A, B, al, be = (params[k] for k in PARAM_NAMES)
    G = (al * A / (be * B)) ** (1.0 / (al + be))
    a, b = be / (al + be), al / (al + be)
    N = G * (C / 6.0) ** a
    D = (C / 6.0) ** b / G
    return {"N_opt": N, "D_opt": D, "tokens_per_param": D / N,
            "L_opt": E + A * N ** -al + B * D ** -be, "a": a, "b": b, "G": G}


def compute_for_loss(params, L):
    """C(L) = 6 [(L - E) / (A G^-alpha + B G^beta)]^(-(alpha+beta)/(alpha beta)) (Sec. 1.5)."""
    E, A, B, al, be = (params[k] for k in PARAM_NAMES)
    G = (al * A / (be * B)) ** (1.0 / (al + be))
    return 6.0 * ((L - E) / (A * G ** -al + B * G ** be)) ** (-(al + be) / (al * be))


def _z(level):
    return float(ndtri(0.5 + level / 2.0))


def percentile_ci(samples, level: float = 0.95, axis: int = 0):
    """Percentile bootstrap interval (Efron & Tibshirani 1993, Sec. 13.3), NaNs ignored
    (failed resamples); NaN bounds when every sample is NaN."""
    if not 0 < level < 1:
        raise ValueError(f"level: must be in (0, 1), got {level}")
    q = 100 * np.array([(1 - level) / 2, (1 + level) / 2])
    with warnings.catch_warnings():   # all-NaN columns give NaN bounds, without a warning
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = np.nanpercentile(np.asarray(samples, np.float64), q, axis=axis)
    return lo, hi


def delta_method(fn, theta, cov, level: float = 0.95):
    """First-order delta-method CI for fn(theta) (Casella & Berger 2002, Thm. 5.5.24).

    Var[fn] ~= J cov J^T with J = d fn / d theta (``jax.jacfwd``). Returns
    (value, se, (lo, hi)) with normal quantiles; fn may return a vector.
    """
    with jax.enable_x64(True):
        theta = jnp.asarray(theta, jnp.float64)
        value = np.asarray(fn(theta))
        J = np.atleast_2d(np.asarray(jax.jacfwd(fn)(theta)))
    se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", J, np.asarray(cov), J), 0.0))
    se = se.reshape(value.shape)
    z = _z(level)
    return value, se, (value - z * se, value + z * se)


def derived_quantities(vec, C=5.88e23):
    """Vector of derived quantities from (E, A, B, alpha, beta): a, b, N_opt(C), D_opt(C),
    tokens/param at compute C (default: Chinchilla's 5.88e23 FLOP)."""
    p = dict(zip(PARAM_NAMES, (vec[i] for i in range(5))))
    o = compute_optimal(p, C)
    return jnp.stack([o["a"], o["b"], o["N_opt"], o["D_opt"], o["tokens_per_param"]])


DERIVED_NAMES = ("a", "b", "N_opt", "D_opt", "tokens_per_param")
