"""One-dimensional curve laws: Alabdulmohsin M4 and the pass@k Beta-binomial forecaster.

- M4 (Alabdulmohsin, Neyshabur, Zhai 2022, "Revisiting Neural Scaling Laws", Eq. 4):
  (eps_x - eps_inf) / (eps_0 - eps_x)^alpha = beta x^c, c < 0. Fitted by least squares on
  the implicit log residual log(eps - eps_inf) - alpha log(eps_0 - eps) - log beta - c log x
  (the quantity their alternating scheme regresses), jointly over (eps_inf, eps_0, alpha,
  beta, c) with batched L-BFGS, 0 < eps_inf < min eps (without this bound the implicit
  residual vanishes as eps_inf -> -inf, beta -> inf, c -> 0); predictions solve
  w = beta x^c (b - w)^alpha for w = eps - eps_inf, b = eps_0 - eps_inf, by bisection
  (:func:`scalesim.roots.bisect`; the left side increases and the right side decreases in w:
  the root in (0, b) is unique).
- pass@k (Schaeffer et al. 2025, "How Do Large Language Monkeys Get Their Power (Laws)?",
  Sec. 4): per-problem success counts x_i of n_i samples follow a
  Beta-binomial, log P(x) = log C(n, x) + log B(x + a, n - x + b) - log B(a, b); fitted by
  maximum likelihood. Then pass_D@k = 1 - B(a, b + k) / B(a, b) and
  -log pass_D@k ~ k^-a for large k: the power-law exponent is the Beta's a.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import betaln, gammaln

from scalesim.fit.optim import minimize_batch
from scalesim.roots import bisect

__all__ = ["fit_m4", "m4_predict", "fit_beta_binomial", "pass_at_k", "passk_exponent"]


def _m4_unpack(t, emin, emax):
    eps_inf = emin * jax.nn.sigmoid(t[0])    # 0 < eps_inf < min eps (loss >= 0)
    eps0 = emax + jnp.exp(t[1])
    return eps_inf, eps0, jnp.exp(t[2]), t[3], -jnp.exp(t[4])


def _m4_objective(t, args):
    x, eps, emin, emax = args
    eps_inf, eps0, alpha, logb, c = _m4_unpack(t, emin, emax)
    r = jnp.log(eps - eps_inf) - alpha * jnp.log(eps0 - eps) - logb - c * jnp.log(x)
    return jnp.sum(r * r)


def fit_m4(x, eps, *, eps0=None) -> dict:
    """Fit the M4 law to a learning curve (Alabdulmohsin et al. 2022, Eq. 4).

    Least squares on the implicit log residual, jointly in all five parameters, from a small
    grid of starts (batched L-BFGS); best kept. Float64.

    Args:
      x: 1-D data size or examples seen (> 0), >= 5 points.
      eps: loss or error at ``x`` (> 0).
      eps0: the random-guess loss, if known; starts are then placed at it (it is still fitted).

    Returns:
      ``{"eps_inf", "eps0", "alpha", "beta", "c", "objective"}`` (floats; ``c < 0``).
    """
    x = np.asarray(x, np.float64)
    eps = np.asarray(eps, np.float64)
    if x.shape != eps.shape or x.ndim != 1 or len(x) < 5:
        raise ValueError("x, eps: need two 1-D arrays of the same length >= 5")
    if np.any(x <= 0) or not np.all(np.isfinite(eps)) or np.any(eps <= 0):
        raise ValueError("x: must be > 0; eps: must be finite and > 0")
    emin, emax = float(eps.min()), float(eps.max())
    span = max(emax - emin, 1e-12)
    g0 = [-2.0, 0.0, 2.0]
    g1 = [np.log(span * s) for s in (0.1, 1.0)] if eps0 is None \
        else [np.log(max(eps0 - emax, 1e-12))]
    starts = np.array([[a, b, np.log(al), 0.0, np.log(c)] for a in g0 for b in g1
                       for al in (0.1, 1.0) for c in (0.1, 0.5)])
    with jax.enable_x64(True):
        args = (jnp.asarray(x), jnp.asarray(eps), emin, emax)
        res = minimize_batch(_m4_objective, jnp.asarray(starts), args, gtol=1e-12,
                             ftol=1e-14, max_iter=3000)
        i = res.best()
        eps_inf, e0, alpha, logb, c = (float(v) for v in _m4_unpack(jnp.asarray(res.x[i]),
                                                                    emin, emax))
    return {"eps_inf": eps_inf, "eps0": e0, "alpha": alpha, "beta": float(np.exp(logb)),
            "c": c, "objective": float(res.value[i])}


def m4_predict(p: dict, x, n_bisect: int = 200) -> np.ndarray:
    """The M4 learning curve eps(x) (Alabdulmohsin et al. 2022, Eq. 4), solved by bisection.

    Solves ``w = beta x^c (b - w)^alpha`` for ``w = eps - eps_inf`` in ``(0, b)``,
    ``b = eps0 - eps_inf`` (:func:`scalesim.roots.bisect`). Float64.

    Args:
      p: M4 parameters ``eps_inf``, ``eps0``, ``alpha``, ``beta``, ``c`` (from :func:`fit_m4`).
      x: data sizes (> 0).
      n_bisect: halvings of the bracket.

    Returns:
      float64 array of eps at ``x``.
    """
    x = np.asarray(x, np.float64)
    b = p["eps0"] - p["eps_inf"]
    f = p["beta"] * x ** p["c"]
    # 0 < w <= f b^alpha, since (b - w)^alpha <= b^alpha: a tight bracket even for huge b
    lo, hi = np.zeros_like(x), np.minimum(b, f * b ** p["alpha"])
    with jax.enable_x64(True):
        lo, hi = bisect(lambda w: w - f * (b - w) ** p["alpha"], lo, hi, n_bisect)
        return p["eps_inf"] + 0.5 * (np.asarray(lo) + np.asarray(hi))


def _bb_nll(t, args):
    x, n, w = args
    a, b = jnp.exp(t[0]), jnp.exp(t[1])
    logc = gammaln(n + 1) - gammaln(x + 1) - gammaln(n - x + 1)
    return -jnp.sum(w * (logc + betaln(x + a, n - x + b) - betaln(a, b))) / jnp.sum(w)


def fit_beta_binomial(successes, n) -> dict:
    """Maximum-likelihood Beta(a, b) of per-problem success rates (Schaeffer et al. 2025, Sec. 4).

    Beta-binomial likelihood of the successes, batched L-BFGS in (log a, log b) from a grid
    of starts; best kept. Float64.

    Args:
      successes: 1-D successes per problem (>= 2 problems), ``0 <= successes <= n``.
      n: attempts per problem (scalar or per problem, >= 1).

    Returns:
      ``{"a", "b", "nll"}``; ``nll`` is the mean negative log-likelihood per problem.
    """
    x = np.asarray(successes, np.float64)
    n = np.broadcast_to(np.asarray(n, np.float64), x.shape)
    if x.ndim != 1 or len(x) < 2 or np.any(x < 0) or np.any(x > n) or np.any(n < 1):
        raise ValueError("successes: need >= 2 counts with 0 <= successes <= n, n >= 1")
    # the likelihood depends on the problems only through the distinct (x, n) pairs and their
    # multiplicities; padded (weight 0) to a power of two so that new data rarely recompiles
    pairs, mult = np.unique(np.stack([x, n], 1), axis=0, return_counts=True)
    size = 1 << int(np.ceil(np.log2(len(pairs))))
    pad = size - len(pairs)
    xu, nu = np.pad(pairs[:, 0], (0, pad)), np.pad(pairs[:, 1], (0, pad), constant_values=1.0)
    wu = np.pad(mult.astype(np.float64), (0, pad))
    starts = np.log(np.array([[a, b] for a in (0.1, 0.5, 2.0) for b in (0.5, 2.0, 10.0)]))
    with jax.enable_x64(True):
        res = minimize_batch(_bb_nll, jnp.asarray(starts), (jnp.asarray(xu), jnp.asarray(nu), jnp.asarray(wu)),
                             gtol=1e-10, ftol=1e-14, max_iter=2000)
    i = res.best()
    a, b = np.exp(res.x[i])
    return {"a": float(a), "b": float(b), "nll": float(res.value[i])}


def pass_at_k(a: float, b: float, k) -> np.ndarray:
    """Expected pass@k over problems with p ~ Beta(a, b) (Schaeffer et al. 2025, Eq. 5).

    Args:
      a, b: Beta parameters (> 0).
      k: attempts (scalar or array).

    Returns:
      ``pass_D@k = 1 - B(a, b + k) / B(a, b)`` (float64 array).
    """
    with jax.enable_x64(True):
        k = jnp.asarray(k, jnp.float64)
        return np.asarray(1.0 - jnp.exp(betaln(a, b + k) - betaln(a, b)))


def passk_exponent(a: float, b: float, k_lo: float = 1e3, k_hi: float = 1e5) -> float:
    """Power-law exponent of -log pass_D@k between k_lo and k_hi (Schaeffer et al. 2025, Sec. 4).

    It tends to the Beta's ``a`` as k grows.

    Args:
      a, b: Beta parameters (> 0).
      k_lo, k_hi: range of attempts (32 log-spaced points, least-squares slope).

    Returns:
      The exponent (float).
    """
    k = np.geomspace(k_lo, k_hi, 32)
    y = -np.log(pass_at_k(a, b, k))
    return float(-np.polyfit(np.log(k), np.log(y), 1)[0])
