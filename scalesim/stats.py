"""Statistics helpers shared by every summary: bootstrap resampling, intervals, t quantiles.

One definition of each: :func:`resample_indices` (the bootstrap resampler), :func:`percentile_ci`
(percentile bootstrap interval, Efron & Tibshirani 1993, Sec. 13.3), :func:`normal_quantile`,
:func:`t_quantile` and :func:`t_within` (Student's t), :func:`mean_ci` (mean with a normal or t
interval) and :func:`wilson_interval` (binomial proportion; Wilson 1927), :func:`binomial_pvalue` (exact two-sided
binomial test) and :func:`pass_at_k_unbiased` (the unbiased pass@k of a problem from n samples;
Chen et al. 2021). Inputs are NumPy arrays; results are Python floats or NumPy arrays
(float64), except :func:`pass_at_k_unbiased`, a JAX function usable inside compiled programs.
"""

from __future__ import annotations

import functools
import warnings
from statistics import NormalDist

import jax
import jax.numpy as jnp
import numpy as np

from .validate import is_concrete

__all__ = ["resample_indices", "percentile_ci", "normal_quantile", "t_quantile", "t_within", "mean_ci", "wilson_interval",
           "pass_at_k_unbiased", "binomial_pvalue"]


def resample_indices(n: int, n_boot: int, seed: int = 0) -> np.ndarray:
    """Bootstrap row indices ``[n_boot, n]`` drawn with replacement (``numpy`` PCG64, ``seed``).

    Args:
      n: rows in the sample (members, draws, points), >= 1.
      n_boot: resamples, >= 1.
      seed: integer seed; the same seed gives the same indices.

    Returns:
      int64 array of shape ``[n_boot, n]`` with entries in ``[0, n)``.
    """
    if int(n) < 1 or int(n_boot) < 1:
        raise ValueError(f"n and n_boot must be >= 1; got n={n}, n_boot={n_boot}")
    return np.random.default_rng(seed).integers(0, int(n), (int(n_boot), int(n)))


def percentile_ci(samples, level: float = 0.95, axis: int = 0):
    """Percentile interval of bootstrap ``samples`` along ``axis``; NaNs (failed resamples) ignored.

    Args:
      samples: array of resampled statistics.
      level: two-sided coverage in (0, 1).
      axis: the resample axis.

    Returns:
      ``(lo, hi)``: floats for 1-D input, arrays otherwise; NaN where every sample is NaN.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1); got {level!r}")
    q = (1 - level) / 2
    with warnings.catch_warnings():  # all-NaN columns give NaN bounds, without a warning
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = np.nanquantile(np.asarray(samples, np.float64), [q, 1 - q], axis=axis)
    if np.ndim(lo) == 0:
        return float(lo), float(hi)
    return lo, hi


def normal_quantile(p: float) -> float:
    """Standard normal quantile ``Phi^-1(p)`` for ``p`` in (0, 1) (float64)."""
    if not 0 < p < 1:
        raise ValueError(f"p must be in (0, 1); got {p!r}")
    return NormalDist().inv_cdf(float(p))


def _t_tail(t, df):
    """``P(T_df > t)`` for ``t >= 0``: half the regularized incomplete beta ``I_{df/(df+t^2)}(df/2, 1/2)``."""
    return 0.5 * np.asarray(jax.scipy.special.betainc(df / 2, 0.5, df / (df + t * t)))


def t_quantile(p, df):
    """Quantile of Student's t with ``df`` degrees of freedom, ``p`` in (1/2, 1); arrays broadcast.

    Bisection (80 halvings after a doubling bracket) on the tail ``1 - p``; float64; agrees with
    ``scipy.stats.t.ppf`` (tests).

    Returns:
      float64 array of the broadcast shape.
    """
    p, df = np.broadcast_arrays(np.asarray(p, float), np.asarray(df, float))
    if np.any((p <= 0.5) | (p >= 1)) or np.any(df <= 0):
        raise ValueError(f"t_quantile needs 1/2 < p < 1 and df > 0; got p={p}, df={df}")
    with jax.enable_x64(True):
        lo, hi = np.zeros(p.shape), np.ones(p.shape)
        while np.any(_t_tail(hi, df) > 1 - p):  # grow the bracket (df = 1 has heavy tails)
            hi = np.where(_t_tail(hi, df) > 1 - p, 2 * hi, hi)
        for _ in range(80):
            mid = 0.5 * (lo + hi)
            above = _t_tail(mid, df) > 1 - p  # mid still below the quantile
            lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return 0.5 * (lo + hi)


def t_within(z, df):
    """``P(|T_df| <= z)``: the chance that a t-distributed statistic lies within ``z``."""
    with jax.enable_x64(True):
        df = np.asarray(df, float)
        return 1.0 - np.asarray(jax.scipy.special.betainc(df / 2, 0.5, df / (df + z * z)))


def mean_ci(x, level: float = 0.95, *, dist: str = "normal"):
    """Mean of ``x`` with a two-sided interval ``mean +- q * sd / sqrt(n)``.

    Args:
      x: 1-D sample.
      level: coverage in (0, 1).
      dist: ``"normal"`` (q = normal quantile) or ``"t"`` (Student's t with n - 1 d.o.f.).

    Returns:
      ``(mean, (lo, hi))`` as floats; a single value gives a zero-width interval.
    """
    x = np.asarray(x, float).ravel()
    if x.size == 0:
        raise ValueError("mean_ci needs at least one value")
    m = float(x.mean())
    if x.size == 1:
        return m, (m, m)
    se = float(x.std(ddof=1) / np.sqrt(x.size))
    if dist == "normal":
        q = normal_quantile(0.5 + level / 2)
    elif dist == "t":
        q = float(t_quantile(0.5 + level / 2, x.size - 1))
    else:
        raise ValueError(f"dist must be 'normal' or 't'; got {dist!r}")
    return m, (m - q * se, m + q * se)


def binomial_pvalue(k, n, prob) -> np.ndarray:
    """Exact two-sided binomial test of ``k`` successes in ``n`` trials at success probability ``prob``.

    ``p = min(1, 2 min(P(X <= k), P(X >= k)))`` for ``X ~ Binomial(n, prob)``, with the tails as
    regularized incomplete beta functions, ``P(X <= k) = I_{1-prob}(n - k, k + 1)`` and
    ``P(X >= k) = I_prob(k, n - k + 1)`` (float64; exact also where the normal approximation is
    poor, ``n prob`` or ``n (1 - prob)`` small). ``prob`` of 0 or 1 gives 1 where ``k`` is the sure
    outcome and 0 elsewhere. Arrays broadcast.

    Args:
      k: successes, integers in ``[0, n]``.
      n: trials, positive integers.
      prob: success probabilities in ``[0, 1]``.

    Returns:
      float64 array of two-sided p-values in ``[0, 1]``.
    """
    k, n, prob = np.broadcast_arrays(np.asarray(k, float), np.asarray(n, float), np.asarray(prob, float))
    if np.any((k < 0) | (k > n) | (k != np.round(k))) or np.any(n < 1) or np.any((prob < 0) | (prob > 1)):
        raise ValueError("binomial_pvalue needs integer 0 <= k <= n, n >= 1 and 0 <= prob <= 1")
    with jax.enable_x64(True):
        inc = lambda a, b, x: np.asarray(jax.scipy.special.betainc(np.maximum(a, 1.0), b, x))  # a = 0 masked below
        below = np.where(k >= n, 1.0, inc(n - k, k + 1, 1 - prob))
        above = np.where(k <= 0, 1.0, inc(k, n - k + 1, prob))
    return np.minimum(1.0, 2 * np.minimum(below, above))


def wilson_interval(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion ``k / n`` (Wilson 1927).

    Returns:
      ``(lo, hi)`` within [0, 1].
    """
    if n < 1 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n and n >= 1; got k={k}, n={n}")
    z = normal_quantile(0.5 + level / 2)
    frac = k / n
    c = (frac + z * z / (2 * n)) / (1 + z * z / n)
    h = z * np.sqrt(frac * (1 - frac) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(c - h), float(c + h)


def pass_at_k_unbiased(successes, n: int, k):
    """Unbiased pass@k of each problem from ``n`` samples of which ``successes`` are correct.

    Chen et al. 2021, Eq. 1 (Brown et al. 2024, Eq. 1): ``1 - C(n - c, k) / C(n, k)``, evaluated
    in its stable product form ``1 - prod_{j = n - c + 1}^{n} (1 - k / j)`` (``= 1`` when
    ``n - c < k``) as ``-expm1`` of a sum of ``log1p`` terms: one reverse cumulative sum over
    ``j`` per ``k`` serves every problem. Its mean over ``c ~ Bin(n, p)`` is exactly
    ``1 - (1 - p)^k``; the plug-in ``1 - (1 - c/n)^k`` is biased low.

    It lives here, not in :mod:`scalesim.fit`, because it is a statistic of samples (like
    :func:`wilson_interval`) and this is the one helper module that models, theory, fits and
    experiments may all import: a simulator calls it inside its compiled program, experiments
    and metric helpers on stored counts. Pure JAX (jit/vmap-able in ``successes``; ``n`` and, for
    the range check, ``k`` are concrete).

    Args:
      successes: correct samples per problem, any shape ``[...]``, integers in ``[0, n]`` (int or
        float dtype).
      n: samples per problem (Python int >= 1).
      k: attempts, an integer or a 1-D array ``[K]`` of integers in ``[1, n]`` (``k <= n``:
        the estimator is undefined beyond the samples drawn).

    Returns:
      float array ``[..., K]`` (``[...]`` for scalar ``k``) of pass@k estimates in [0, 1]
      (float64 under ``jax_enable_x64``).
    """
    n = int(n)
    if n < 1:
        raise ValueError(f"n must be >= 1 samples; got {n}")
    k_in = k
    k = jnp.asarray(k)
    if is_concrete(k_in):
        kv = np.asarray(k_in, dtype=float)
        if kv.ndim > 1 or kv.size == 0 or np.any(kv != np.round(kv)) or np.any(kv < 1) or np.any(kv > n):
            raise ValueError(f"k must be integer(s) in [1, n={n}] (k <= n samples); got {k_in!r}")
    scalar = k.ndim == 0
    out = _pass_at_k_unbiased(jnp.asarray(successes), jnp.atleast_1d(k), n)
    return out[..., 0] if scalar else out


@functools.partial(jax.jit, static_argnums=2)
def _pass_at_k_unbiased(c, k, n: int):
    dt = jnp.result_type(float)
    kf = k.astype(dt)[:, None]                                        # [K, 1]
    j = jnp.arange(1, n + 1, dtype=dt)[None, :]                      # [1, n]
    terms = jnp.log1p(-jnp.where(j > kf, kf / j, 0.0))                # log(1 - k/j), 0 where j <= k
    tail = jnp.cumsum(terms[:, ::-1], axis=1)[:, ::-1]               # [K, n]: sum over j >= m + 1
    tail = jnp.concatenate([tail, jnp.zeros_like(tail[:, :1])], axis=1)  # [K, n + 1], m = 0..n
    m = jnp.clip(n - jnp.round(c).astype(jnp.int32), 0, n)           # failures n - c
    log_fail = jnp.moveaxis(jnp.take(tail, m, axis=1), 0, -1)         # [..., K]
    kk = jnp.reshape(kf[:, 0], (1,) * m.ndim + (-1,))
    return jnp.where(m[..., None] >= kk, 0.0 - jnp.expm1(log_fail), 1.0)
