"""Sampling laws: exact pass_D@k of a scaled-Beta benchmark, its power law, and PassUntil.

A benchmark's single-attempt success rates are ``p = c z``, ``z ~ Beta(a, b)``, with a point mass
``w`` at p = 0 (problems never solved). A problem is solved within k independent attempts with
probability ``1 - (1 - p)^k`` (Schaeffer et al. 2025, "How Do Large Language Monkeys Get Their
Power (Laws)?", Eq. 7-10), so over the benchmark

    pass_D@k = (1 - w) (1 - F(k)),   F(k) = E_z[(1 - c z)^k].

- c = 1: ``F(k) = B(a, b + k) / B(a, b)`` (log-space Beta functions; the same closed form as
  :func:`scalesim.fit.curves.pass_at_k`, which forecasts from a fitted Beta).
- c < 1: ``F(k) = 2F1(-k, a; a + b; c)``; the terminating series cancels catastrophically for
  large k (scipy's ``hyp2f1`` returns NaN near k ~ 1e4), so F is computed by Gauss-Legendre
  quadrature of the log integrand: z = e^u on (0, 1/2] and 1 - z = e^v on [1/2, 1), 96 panels
  of 16 nodes each, the far tails (where the integrand is e^{a u}, resp. e^{b v} (1 - c)^k, to
  double precision) added in closed form. Relative accuracy ~1e-13 against the exact terminating series (tests).
- Asymptote (Schaeffer et al. 2025, Thm 3.1/3.2; the rate density behaves as p^(a-1) at 0):
  ``-log pass_D@k ~ F(k) ~ Gamma(a + b)/Gamma(b) (c k)^-a`` for w = 0, a power law with
  exponent a. It is reached only once F(k) is small: over a finite window the log-slope of the
  exact curve is steeper than a (:func:`local_exponent`, :func:`window_slope`). With w > 0,
  -log pass_D@k tends to -log(1 - w): no power law.

PassUntil (Hu et al. 2024, Sec. 4.1, Eq. 2): sample until r successes; the attempts K follow a
negative binomial. ``r/K`` is the MLE, biased upwards for small r: ``E[r/K] = r int_0^1
(1 - s)^(r-1) (p / (p + (1 - p) s))^r ds`` (from the PGF, derived here; = -p log p / (1 - p) for
r = 1); ``(r - 1)/(K - 1)`` is unbiased for r >= 2 (derived here). A cap K_max censors a run
with probability ``P(Bin(K_max, p) <= r - 1)``. Task scaling law (Hu et al. 2024, Sec. 5; as
cited in reviews): ``PU(N) = exp(-C N^-alpha)``, so ``log(-log PU)`` is linear in ``log N`` with
slope -alpha.

All functions are float64 under ``jax_enable_x64`` and differentiable in a, b, c, k.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import betaln, gammaln, logsumexp

from scalesim.precision import as_float
from scalesim.prediction import Prediction, prediction
from scalesim.validate import check_int, check_range

__all__ = ["log_fail", "pass_at_k", "neg_log_pass_at_k", "asymptote", "local_exponent", "window_slope",
           "passuntil_mle_mean", "passuntil_censored", "pu_scaling", "exponents", "PAPERS"]

PAPERS = ("chen2021evaluating", "brown2024monkeys", "schaeffer2025monkeys", "hu2024passuntil")
_POW = "Schaeffer et al. 2025 (arXiv 2502.17578)"
_PANELS, _NODES = 96, 16
_GX, _GW = np.polynomial.legendre.leggauss(_NODES)
_EDGES = np.linspace(0.0, 1.0, _PANELS + 1)
_T = (_EDGES[:-1, None] + np.diff(_EDGES)[:, None] * (_GX[None, :] + 1) / 2).ravel()  # nodes on [0, 1]
_LOGW = np.log((np.diff(_EDGES)[:, None] * _GW[None, :] / 2).ravel())                # log weights
_DEPTH = 40.0  # the quadrature stops where e^u < e^-40 (relative to the integrand's scale)


def _quad_log(lo, hi, log_f):
    """log of int_lo^hi exp(log_f(x)) dx by composite Gauss-Legendre (lo, hi: [...])."""
    shape = (1,) * jnp.ndim(lo) + (-1,)
    x = lo[..., None] + (hi - lo)[..., None] * _T.reshape(shape)
    return logsumexp(log_f(x) + _LOGW.reshape(shape), axis=-1) + jnp.log(hi - lo)


def _check(a, b, c, zero_mass=0.0):
    check_range("a", a, 0.0, lo_open=True)
    check_range("b", b, 0.0, lo_open=True)
    check_range("c", c, 0.0, 1.0, lo_open=True)
    check_range("zero_mass", zero_mass, 0.0, 1.0, hi_open=True)


def log_fail(a, b, k, c=1.0):
    """log F(k) = log E[(1 - c z)^k], z ~ Beta(a, b): the log of the mean failure after k attempts.

    Args:
      a, b: Beta shape (> 0). k: attempts (> 0, real; array). c: rate scale in (0, 1].

    Returns:
      float array of the broadcast shape (exact for c = 1; quadrature otherwise, see module).
    """
    _check(a, b, c)
    return _log_fail(*jnp.broadcast_arrays(as_float(a), as_float(b), as_float(k), as_float(c)))


@jax.jit
def _log_fail(a, b, k, c):
    norm = betaln(a, b)
    # c = 1: closed form; the zero-valued term carries d log F / dc = -k B(a+1, b+k-1)/B(a, b+k)
    dlogf_dc = -k * jnp.exp(betaln(a + 1.0, b + k - 1.0) - betaln(a, b + k))
    closed = betaln(a, b + k) - norm + (c - jax.lax.stop_gradient(c)) * dlogf_dc
    cs = jnp.where(c < 1.0, c, 0.5)      # the quadrature branch never sees c = 1 (no NaN gradients)
    half = jnp.log(0.5)
    # z = e^u in (0, 1/2]: integrand e^{a u} (1 - c e^u)^k (1 - e^u)^(b - 1)
    u_lo = -jnp.log1p(cs * k) - _DEPTH
    left = _quad_log(u_lo, jnp.full_like(u_lo, half), lambda u: a[..., None] * u + k[..., None] * jnp.log1p(
        -cs[..., None] * jnp.exp(u)) + (b[..., None] - 1.0) * jnp.log1p(-jnp.exp(u)))
    left = jnp.logaddexp(left, a * u_lo - jnp.log(a))
    # 1 - z = e^v in (0, 1/2]: integrand e^{b v} (1 - e^v)^(a - 1) (1 - c + c e^v)^k
    v_lo = -_DEPTH - jnp.log1p(cs * k / (1.0 - cs))
    right = _quad_log(v_lo, jnp.full_like(v_lo, half), lambda v: b[..., None] * v + (a[..., None] - 1.0) * jnp.log1p(
        -jnp.exp(v)) + k[..., None] * jnp.log((1.0 - cs[..., None]) + cs[..., None] * jnp.exp(v)))
    right = jnp.logaddexp(right, b * v_lo - jnp.log(b) + k * jnp.log1p(-cs))
    return jnp.where(c < 1.0, jnp.logaddexp(left, right) - norm, closed)


def pass_at_k(a, b, k, c=1.0, zero_mass=0.0):
    """Exact pass_D@k = (1 - w)(1 - F(k)) (Schaeffer et al. 2025, Eq. 10, with p = c Beta(a, b)).

    Args:
      a, b: Beta shape (> 0). k: attempts (array). c: scale in (0, 1]. zero_mass: w in [0, 1).

    Returns:
      float array of the broadcast shape.
    """
    _check(a, b, c, zero_mass)
    return (1.0 - as_float(zero_mass)) * -jnp.expm1(log_fail(a, b, k, c))


def neg_log_pass_at_k(a, b, k, c=1.0, zero_mass=0.0):
    """-log pass_D@k, accurate both where pass is small and where it is close to 1.

    Args: as :func:`pass_at_k`.

    Returns:
      float array (dimensionless, >= -log(1 - w)).
    """
    _check(a, b, c, zero_mass)
    lf = log_fail(a, b, k, c)
    small = lf < jnp.log(0.5)
    lf_lo, lf_hi = jnp.where(small, lf, jnp.log(0.25)), jnp.where(small, jnp.log(0.75), lf)
    log1mexp = jnp.where(small, jnp.log1p(-jnp.exp(lf_lo)), jnp.log(-jnp.expm1(lf_hi)))
    return -jnp.log1p(-as_float(zero_mass)) - log1mexp


def asymptote(a, b, k, c=1.0):
    """Large-k form -log pass_D@k ~ Gamma(a + b)/Gamma(b) (c k)^-a (Schaeffer et al. 2025,
    Thm 3.1/3.2 for the scaled Beta; no point mass).

    Args:
      a, b: Beta shape (> 0). k: attempts (array). c: rate scale in (0, 1].

    Returns:
      float array of the broadcast shape.
    """
    _check(a, b, c)
    a, b, k, c = (as_float(x) for x in (a, b, k, c))
    return jnp.exp(gammaln(a + b) - gammaln(b) - a * jnp.log(c * k))


def local_exponent(a, b, k, c=1.0, zero_mass=0.0):
    """Local power-law exponent -d log(-log pass_D@k) / d log k (automatic derivative).

    Tends to a as k -> infinity (w = 0); larger than a where F(k) is not yet small.

    Args: as :func:`pass_at_k` (k a 1-D array or scalar).

    Returns:
      float array shaped like k.
    """
    _check(a, b, c, zero_mass)
    k = as_float(k)
    return _local_exponent(as_float(a), as_float(b), jnp.log(k).ravel(), as_float(c), as_float(zero_mass)).reshape(k.shape)


@jax.jit
def _local_exponent(a, b, logk, c, zero_mass):
    def f(lk):
        return jnp.log(neg_log_pass_at_k(a, b, jnp.exp(lk), c, zero_mass))

    return -jax.vmap(jax.grad(f))(logk)


def window_slope(a, b, ks, c=1.0, zero_mass=0.0) -> float:
    """Least-squares exponent of the exact curve over a window: minus the slope of
    log(-log pass_D@k) against log k at the given ks (the fit an experiment applies to its data).

    Args:
      a, b, c, zero_mass: as :func:`pass_at_k`. ks: the k values of the window (>= 2 distinct).

    Returns:
      The exponent (float).
    """
    ks = np.asarray(ks, float)
    if ks.ndim != 1 or len(np.unique(ks)) < 2:
        raise ValueError(f"ks must hold >= 2 distinct attempts; got {ks!r}")
    x = np.log(ks)
    y = np.log(np.asarray(neg_log_pass_at_k(a, b, ks, c, zero_mass), float))
    return float(-np.polyfit(x, y, 1)[0])


def passuntil_mle_mean(p, r: int):
    """E[r/K] of PassUntil's MLE, K the attempts to the r-th success (derived from the negative
    binomial PGF): r int_0^1 (1 - s)^(r-1) (p / (p + (1 - p) s))^r ds, by quadrature in log s.

    Args:
      p: single-attempt rate in (0, 1] (array). r: successes waited for (>= 1).

    Returns:
      float array shaped like p (> p for p < 1: the MLE is biased upwards).
    """
    check_range("p", p, 0.0, 1.0, lo_open=True)
    check_int("r", r, 1, 10**6)
    return _mle_mean(as_float(p), int(r))


@functools.partial(jax.jit, static_argnums=1)
def _mle_mean(p, r: int):
    lo = jnp.log(p) - _DEPTH
    hi = jnp.zeros_like(lo)

    def log_f(v):
        s = jnp.exp(v)
        pp = p[..., None]
        return jnp.log(float(r)) + v + (r - 1) * jnp.log1p(-s) + r * (jnp.log(pp) - jnp.log(pp + (1.0 - pp) * s))

    return jnp.exp(jnp.logaddexp(_quad_log(lo, hi, log_f), jnp.log(float(r)) + lo))


def passuntil_censored(p, r: int, k_max: int):
    """Probability that PassUntil is censored at K_max: fewer than r successes in K_max attempts.

    ``sum_{j < r} C(K_max, j) p^j (1 - p)^(K_max - j)`` in log space (log C(K, j) as a sum of
    log((K - i)/(i + 1)), exact for huge K).

    Args:
      p: rate in (0, 1] (array). r: successes (>= 1). k_max: attempt cap (>= r).

    Returns:
      float array shaped like p.
    """
    check_range("p", p, 0.0, 1.0, lo_open=True)
    check_int("r", r, 1, 10**6)
    check_int("k_max", k_max, r, 10**12)
    p = as_float(p)
    i = jnp.arange(r, dtype=p.dtype)
    logc = jnp.concatenate([jnp.zeros(1, p.dtype), jnp.cumsum(jnp.log((k_max - i[:-1]) / (i[:-1] + 1.0)))])
    j = i.reshape((1,) * p.ndim + (r,))
    terms = logc.reshape(j.shape) + j * jnp.log(p)[..., None] + (k_max - j) * jnp.log1p(-p)[..., None]
    return jnp.exp(logsumexp(terms, axis=-1))


def pu_scaling(n, scale, alpha):
    """Task scaling law of PassUntil, PU(N) = exp(-C N^-alpha) (Hu et al. 2024, Sec. 5).

    Args:
      n: model size N (> 0). scale: C (> 0). alpha: exponent (> 0).

    Returns:
      float array: the pass rate at N.
    """
    n, scale, alpha = as_float(n), as_float(scale), as_float(alpha)
    return jnp.exp(-scale * n ** -alpha)


def exponents(a=None, b=None, c=1.0, zero_mass=0.0, ks=None, k=None, p=None, r=None, k_max=None, n=None,
              alpha=None) -> dict[str, Prediction]:
    """Declared predictions of the sampling laws (only those whose parameters are given).

    Args:
      a, b, c, zero_mass: the benchmark's scaled Beta (with point mass at 0).
      ks: a window of attempts (list) for "passk_window_slope". k: one k for "pass_at_k".
      p, r: a PassUntil rate and its r; k_max: its cap; n: a fixed sample budget.
      alpha: exponent of the PassUntil task scaling law.

    Returns:
      name -> :class:`~scalesim.prediction.Prediction`:

      - "chen_estimator_bias": 0 (the Chen estimator is unbiased; always);
      - "passk_exponent": a (asymptotic, w = 0); "passk_prefactor": Gamma(a+b)/Gamma(b) c^-a;
      - "passk_window_slope": least-squares exponent of the exact curve at ``ks``;
      - "pass_at_k": exact pass_D@k at ``k``;
      - "passuntil_rate": p (the pooled MLE, consistent under censoring);
      - "passuntil_unbiased": p (E[(r-1)/(K-1)], r >= 2); "passuntil_mle_mean": E[r/K];
      - "passuntil_censored": P(censored at k_max); "fixed_budget_zero": (1 - p)^n, the chance
        that n samples all fail (pass@1 reads 0);
      - "pu_loglog_slope": -alpha.
    """
    params = {key: v for key, v in dict(a=a, b=b, c=c, zero_mass=zero_mass, ks=ks, k=k, p=p, r=r, k_max=k_max,
                                         n=n, alpha=alpha).items() if v is not None}

    def pred(name, value, expression, valid_when, reference):
        return prediction(__name__, params, name, value, expression, valid_when, reference)

    out = {"chen_estimator_bias": pred("chen_estimator_bias", 0.0, "E[1 - C(n-x,k)/C(n,k)] - (1 - (1-p)^k) = 0",
                                       "x ~ Bin(n, p), k <= n", "Chen et al. 2021, Eq. 1")}
    if a is not None and b is not None:
        _check(a, b, c, zero_mass)
        out["passk_exponent"] = pred("passk_exponent", a, "a", "k -> infinity, zero_mass = 0",
                                     f"{_POW}, Thm 3.1/3.2")
        out["passk_prefactor"] = pred("passk_prefactor", float(np.exp(gammaln(a + b) - gammaln(b)) * c ** -a),
                                      "Gamma(a+b)/Gamma(b) c^-a", "k -> infinity, zero_mass = 0",
                                      f"{_POW}, Thm 3.1 (derived for the scaled Beta)")
        if ks is not None:
            out["passk_window_slope"] = pred("passk_window_slope", window_slope(a, b, ks, c, zero_mass),
                                             "-d log(-log pass_D@k)/d log k, least squares over ks",
                                             "the window ks", f"{_POW}, Eq. 10 (exact curve)")
        if k is not None:
            out["pass_at_k"] = pred("pass_at_k", float(pass_at_k(a, b, k, c, zero_mass)),
                                    "(1 - w)(1 - E[(1 - c z)^k])", "z ~ Beta(a, b)", f"{_POW}, Eq. 10")
    if p is not None:
        check_range("p", p, 0.0, 1.0, lo_open=True)
        out["passuntil_rate"] = pred("passuntil_rate", p, "sum(successes) / sum(attempts) -> p",
                                     "many instances; any cap (censored runs count their attempts)",
                                     "Hu et al. 2024, Sec. 4.1 (censoring-aware MLE derived)")
    if p is not None and r is not None:
        if r >= 2:
            out["passuntil_unbiased"] = pred("passuntil_unbiased", p, "E[(r-1)/(K-1)] = p", "r >= 2, no cap",
                                             "Hu et al. 2024, Sec. 4.1 (unbiasedness derived)")
        out["passuntil_mle_mean"] = pred("passuntil_mle_mean", float(passuntil_mle_mean(p, r)), "E[r/K]", "no cap",
                                         "Hu et al. 2024, Eq. 2 (mean derived)")
        if k_max is not None:
            out["passuntil_censored"] = pred("passuntil_censored", float(passuntil_censored(p, r, k_max)),
                                             "P(Bin(K_max, p) <= r - 1)", "cap K_max", "derived")
    if p is not None and n is not None:
        out["fixed_budget_zero"] = pred("fixed_budget_zero", float(np.exp(n * np.log1p(-p))), "(1 - p)^n",
                                        "n samples", "Hu et al. 2024, Sec. 3 (resolution)")
    if alpha is not None:
        out["pu_loglog_slope"] = pred("pu_loglog_slope", -alpha, "d log(-log PU)/d log N = -alpha",
                                      "PU(N) = exp(-C N^-alpha)", "Hu et al. 2024, Sec. 5")
    return out
