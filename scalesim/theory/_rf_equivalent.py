"""The deterministic-equivalent solver behind :mod:`scalesim.theory.random_features`.

Private support code: the renormalised ridge ``kappa_2`` of linear random-feature ridge
regression as a function of the inverse sizes ``1/N``, ``1/P`` (so that ``N, P -> inf`` are
regular points), the test error built on it, and the tabulated grid solver. The public API,
with validation and documentation, is :mod:`scalesim.theory.random_features`.

Equations (Atanasov, Zavatone-Veth & Pehlevan 2024, arXiv 2405.00592; Bordelon, Canatar &
Pehlevan 2020, arXiv 2002.02561): with ``df1(k) = sum lam/(lam + k)`` and
``df2(k) = sum lam^2/(lam + k)^2``, ``kappa_2`` solves ``kappa (1 - df1/P)(1 - df1/N) = ridge``
on the branch ``df1 < min(N, P)``, and the test MSE is
``E_g = [rho kappa^2 sum w2 lam/(lam+kappa)^2 + (1 - rho) kappa tf(kappa) + sigma2] / (1 - gamma1)``
with ``rho = (1 - df1/N)/(1 - df2/N)``, ``gamma1 = (df1 - rho (df1 - df2))/P`` and
``tf(kappa) = sum w2 lam / (lam + kappa)``.

The root is found by a safeguarded Newton solve in ``log kappa`` wrapped in
:func:`jax.lax.custom_root`, so derivatives come from the implicit function theorem, not from
unrolling the iteration.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from scalesim.precision import as_float
from scalesim.roots import bisect
from scalesim.spectra import power_law
from scalesim.validate import check_positive_ints, check_range

__all__ = ["power_law_spectrum", "kappa_inv", "rf_error_inv", "table_error", "table_error_jit", "moments"]

_MAXIT = 60
_TOL = 1e-9  # relative step; quadratic convergence => returned kappa is ~1e-16 accurate


def power_law_spectrum(a, b, n_modes: int, *, scale=1.0):
    """Power-law spectrum ``lam_k = scale k^-b`` and target ``w2_k = k^-(a-b)``, k = 1..n_modes.

    The task power is ``w2_k lam_k = scale k^-a``. Bahri et al. (arXiv 2102.06701, Sec. 3) and
    Maloney et al. (arXiv 2210.16859) use isotropic teachers, ``a = b = 1 + alpha``; Paquette et
    al. (arXiv 2405.15074) have ``a = 2 alpha + 2 beta``, ``b = 2 alpha``.

    Args:
      a: task-power exponent, > 1 (the task power is summable as ``n_modes -> inf``); may be
        traced (differentiable).
      b: spectrum exponent, > 0; may be traced.
      n_modes: number of modes (static), >= 1.
      scale: overall scale of the spectrum (and of the task power).

    Returns:
      ``(lam, w2)``, each ``[n_modes]`` in :func:`scalesim.precision.float_dtype`.
    """
    check_range("a", a, lo=1.0, lo_open=True)
    check_range("b", b, lo=0.0, lo_open=True)
    check_positive_ints("n_modes", n_modes)
    lam = scale * power_law(int(n_modes), as_float(b))
    w2 = power_law(int(n_modes), as_float(a) - as_float(b))
    return lam, w2


def _tuple_sum(*xs):
    """Several sums over the last axis in ONE variadic reduction.

    XLA:CPU compiles separate sums of a shared elementwise expression into a multi-output fusion
    that runs ~10x slower than a single sum; a variadic ``lax.reduce`` keeps it one pass.
    """
    zeros = tuple(jnp.zeros((), x.dtype) for x in xs)
    add = lambda a, b: tuple(u + v for u, v in zip(a, b))
    return jax.lax.reduce(xs, zeros, add, (xs[0].ndim - 1,))


@jax.custom_jvp
def moments(kappa, lam, power):
    """``(df1, df2, kappa tf, kappa^2 |tf'|)`` at kappa: sums of r, r^2, p(1-r), p(1-r)^2."""
    r = lam / (lam + kappa)
    q = 1.0 - r
    return _tuple_sum(r, r * r, power * q, power * q * q)


@moments.defjvp
def _moments_jvp(primals, tangents):
    kappa, lam, power = primals
    dk, dl, dp = tangents
    out = moments(kappa, lam, power)
    r = lam / (lam + kappa)
    q = 1.0 - r
    dr = (dl * kappa - lam * dk) / (lam + kappa) ** 2
    tan = (jnp.sum(dr), jnp.sum(2 * r * dr), jnp.sum(dp * q - power * dr),
           jnp.sum(dp * q * q - 2 * power * q * dr))
    return out, tan


@jax.custom_jvp
def _d1_and_slope(kappa, lam):
    """``(df1(kappa), sum lam/(lam+kappa)^2 = -df1'(kappa))`` in one pass."""
    t = 1.0 / (lam + kappa)
    r = lam * t
    return _tuple_sum(r, r * t)


@_d1_and_slope.defjvp
def _d1_and_slope_jvp(primals, tangents):
    kappa, lam = primals
    dk, dl = tangents
    out = _d1_and_slope(kappa, lam)
    t = 1.0 / (lam + kappa)
    dt = -(dl + dk) * t * t
    return out, (jnp.sum(dl * t + lam * dt), jnp.sum(dl * t * t + 2 * lam * t * dt))


def _residual(kappa, lam, inv_n, inv_p, ridge):
    """``F(kappa) = kappa (1 - df1/P)(1 - df1/N) - ridge``, ``F'`` and the off-branch flag.

    F is increasing on the physical branch ``df1 < min(N, P)``, whose left end (F = -ridge) is the
    ridgeless root ``df1 = min(N, P)``: the largest root of F is the solution for every ridge >= 0.
    """
    d1, s = _d1_and_slope(kappa, lam)
    a = 1.0 - d1 * inv_p
    c = 1.0 - d1 * inv_n
    off = d1 * jnp.maximum(inv_n, inv_p) >= 1.0
    return kappa * a * c - ridge, a * c + kappa * s * (inv_p * c + inv_n * a), off


def _initial_bracket(lam, inv_n, inv_p, ridge, n_table=96):
    """Bracket [lo, hi] of the largest root from a kappa table shared by all grid points.

    The table (df1 at ``n_table`` log-spaced kappas) depends on ``lam`` only, so under ``vmap``
    over (N, P, ridge) it is computed once; each point then costs O(n_table), not O(modes).
    """
    ks = jnp.geomspace(jnp.min(lam) * 1e-4, jnp.sum(lam) * 10.0, n_table)
    d1 = jax.vmap(lambda k: _d1_and_slope(k, lam)[0])(ks)
    f = ks * (1.0 - d1 * inv_p) * (1.0 - d1 * inv_n) - ridge
    hi_abs = ridge + jnp.sum(lam) * (inv_n + inv_p)      # F(hi_abs) >= 0 always
    off = d1 * jnp.maximum(inv_n, inv_p) >= 1.0        # unphysical branch df1 >= min(N, P)
    neg = ((f < 0) | off) & (ks < hi_abs)
    j = jnp.max(jnp.where(neg, jnp.arange(n_table), -1))
    lo = jnp.where(j >= 0, ks[jnp.maximum(j, 0)], 0.0)
    hi = jnp.where(j + 1 < n_table, jnp.minimum(ks[jnp.minimum(j + 1, n_table - 1)], hi_abs),
                   hi_abs)
    hi = jnp.where(j >= 0, hi, jnp.minimum(ks[0], hi_abs))
    return lo, hi


def _solve_d1(kappa_k, d1_k, slope_k, inv_n, inv_p, ridge, n_bisect=32, n_newton=2):
    """Root y = df1 of the local model ``kappa(y) (1 - y/P)(1 - y/N) = ridge``.

    Local model: ``kappa(y) = kappa_k (y/d1_k)^(-1/s)`` with ``s = -dlog df1/dlog kappa`` at
    kappa_k (exact value and slope there).  ``g(y) = log kappa(y) + log(1-y/P) + log(1-y/N)
    - log ridge`` decreases strictly from +inf (y -> 0) to -inf (y -> min(N, P)), so bisection
    in ``t = y/min(N, P)`` is safe (the near-double root at N = P is handled exactly); a few
    bracketed Newton steps then polish t to machine precision.
    """
    m = 1.0 / jnp.maximum(inv_n, inv_p)
    a_n, a_p = inv_n * m, inv_p * m          # in [0, 1]; the larger one is exactly 1
    c0 = jnp.log(kappa_k) + jnp.log(d1_k / m) / slope_k - jnp.log(jnp.where(ridge > 0, ridge, 1.0))

    def g(t):
        return c0 - jnp.log(t) / slope_k + jnp.log1p(-t * a_p) + jnp.log1p(-t * a_n)

    def dg(t):
        return -1.0 / (slope_k * t) - a_p / (1.0 - t * a_p) - a_n / (1.0 - t * a_n)

    lo, hi = bisect(g, jnp.zeros_like(m), jnp.ones_like(m), n_bisect, increasing=False)

    def newton(_, t):
        return jnp.clip(t - g(t) / dg(t), lo, hi)

    t = jax.lax.fori_loop(0, n_newton, newton, 0.5 * (lo + hi))
    t = jnp.where(ridge > 0, t, 1.0)   # ridgeless: df1 = min(N, P) exactly
    return t * m


def _model_newton(lam, inv_n, inv_p, ridge, k0):
    """Newton-type iteration in (log kappa, log df1) using the exact local power-law model.

    Each step matches df1 and its log-slope at the current kappa (one variadic pass over the
    modes) and solves the model equation exactly in df1 (:func:`_solve_d1`); convergence is
    quadratic and needs no bracket, including the near-double root at N = P.
    """

    def cond(state):
        _, it, rel = state
        return (it < _MAXIT) & (rel > _TOL)

    def body(state):
        k, it, _ = state
        d1, s_sum = _d1_and_slope(k, lam)
        slope = k * s_sum / d1
        y = _solve_d1(k, d1, slope, inv_n, inv_p, ridge)
        kn = k * jnp.exp(-jnp.log(y / d1) / slope)
        return kn, it + 1, jnp.abs(kn - k) / kn

    return jax.lax.while_loop(cond, body, (k0, jnp.asarray(0), jnp.asarray(jnp.inf, k0.dtype)))


@jax.jit
def kappa_inv(lam, inv_n, inv_p, ridge):
    """kappa_2 for one (1/N, 1/P, ridge) point; differentiable by the implicit function theorem."""
    f = lambda k: _residual(k, lam, inv_n, inv_p, ridge)[0]
    sg = jax.lax.stop_gradient
    lam_s, inv_n_s, inv_p_s, ridge_s = sg(lam), sg(inv_n), sg(inv_p), sg(ridge)
    lo, hi = _initial_bracket(lam_s, inv_n_s, inv_p_s, ridge_s)
    k0 = jnp.where(lo > 0, jnp.sqrt(lo * hi), hi)
    solve = lambda g, k: _model_newton(lam_s, inv_n_s, inv_p_s, ridge_s, k)[0]
    return jax.lax.custom_root(f, k0, solve, lambda g, y: y / g(1.0))



@jax.jit
def rf_error_inv(lam, w2, inv_n, inv_p, ridge, sigma2):
    """Expected test MSE at inverse sizes ``1/N``, ``1/P`` (the formula of the module docstring)."""
    kappa = kappa_inv(lam, inv_n, inv_p, ridge)
    # df1, df2, kappa tf(kappa), -kappa^2 tf'(kappa)
    d1, d2, ktf, bias2 = moments(kappa, lam, w2 * lam)
    rho = (1.0 - d1 * inv_n) / (1.0 - d2 * inv_n)
    gamma1 = (d1 - rho * (d1 - d2)) * inv_p
    return (rho * bias2 + (1.0 - rho) * ktf + sigma2) / (1.0 - gamma1)


def _hermite(y0, d0, y1, d1, s, h):
    """Cubic Hermite interpolant on one table interval (values y, x-derivatives d, s in [0, 1])."""
    s2, s3 = s * s, s * s * s
    return ((2 * s3 - 3 * s2 + 1) * y0 + (s3 - 2 * s2 + s) * h * d0 + (3 * s2 - 2 * s3) * y1
            + (s3 - s2) * h * d1)


def _moment_table(x, lam, power):
    """Moments (df1, df2, kappa tf, kappa^2|tf'|) and their ``d/dlog kappa`` at ``kappa = e^x``.

    With ``r = lam/(lam+kappa)``, ``q = 1 - r``: ``dr/dx = -r q``, so the derivatives are
    ``-sum r q``, ``-2 sum r^2 q``, ``sum p r q`` and ``2 sum p r q^2`` (one variadic pass).
    """
    r = lam / (lam + jnp.exp(x))
    q = 1.0 - r
    rq = r * q
    pq = power * q
    vals = _tuple_sum(r, r * r, pq, pq * q, -rq, -2.0 * r * rq, power * rq, 2.0 * pq * rq)
    return jnp.stack(vals[:4]), jnp.stack(vals[4:])


def table_error(lam, w2, inv_n, inv_p, ridge, sigma2, n_table):
    """Tabulated deterministic equivalent on a whole grid (the engine of ``rf_error_grid``).

    Every quantity of the error formula depends on (N, P, ridge) only through the scalar kappa2, and
    the four spectral moments are functions of ``x = log kappa`` alone.  They are tabulated once
    (with exact x-derivatives) on ``n_table`` log-spaced nodes spanning every root of the grid,
    so the cost is O(n_table x modes) for the table plus O(log n_table) per grid point, instead
    of O(modes) per Newton step per point.  Per point: binary search for the node interval of
    the root, then the root of the cubic-Hermite model of ``log kappa + log(1 - df1/P) +
    log(1 - df1/N) = log ridge`` (or ``df1 = min(N, P)`` when ridge = 0) by bisection wrapped in
    :func:`jax.lax.custom_root` (implicit-function gradients), and Hermite moments at the root.
    Interpolation error ~ h^4/384 times the 4th x-derivative, h the node spacing (tests compare
    with the exact solver).
    """
    power = w2 * lam
    sg = jax.lax.stop_gradient
    lam_s = sg(lam)
    n_modes = lam.shape[-1]
    m_all = 1.0 / jnp.maximum(inv_n, inv_p)                   # min(N, P)
    # table range: kappa >= ridge when ridge > 0; for ridge = 0, df1 = m needs
    # kappa >= (M - m) / sum(1/lam) (because df1 >= M - kappa sum 1/lam)
    lo_free = jnp.maximum((n_modes - m_all) / jnp.sum(1.0 / lam_s), jnp.min(lam_s) * 1e-12)
    lo = jnp.min(jnp.where(ridge > 0, ridge, lo_free))
    hi = jnp.max(ridge + jnp.sum(lam_s) * (inv_n + inv_p))
    hi = jnp.maximum(hi, lo * 1.0001)
    xs = sg(jnp.linspace(jnp.log(lo), jnp.log(hi), n_table))
    h = xs[1] - xs[0]
    vals, ders = jax.vmap(lambda x: _moment_table(x, lam, power), out_axes=1)(xs)  # [4, n_table]
    steps = int(np.ceil(np.log2(n_table))) + 1

    def point(inv_n, inv_p, ridge, sigma2):
        m = 1.0 / jnp.maximum(inv_n, inv_p)
        log_r = jnp.log(jnp.where(ridge > 0, ridge, 1.0))

        def right_of_root(j):                  # node j lies right of the root
            d1 = vals[0, j]
            g = (xs[j] + jnp.log1p(-jnp.minimum(d1 * inv_p, 1.0))
                 + jnp.log1p(-jnp.minimum(d1 * inv_n, 1.0)) - log_r)
            return (d1 < m) & ((ridge <= 0) | (g > 0))

        def search(_, ab):                     # invariant: node a left of the root, node b right
            a, b = ab
            c = (a + b) // 2
            right = right_of_root(c)
            return jnp.where(right, a, c), jnp.where(right, c, b)

        j, _ = jax.lax.fori_loop(0, steps, search, (jnp.asarray(0), jnp.asarray(n_table - 1)))

        def at(i, x):
            return _hermite(vals[i, j], ders[i, j], vals[i, j + 1], ders[i, j + 1],
                            (x - xs[j]) / h, h)

        def f(x):
            d1 = at(0, x)
            return jnp.where(ridge > 0,
                             x + jnp.log1p(-d1 * inv_p) + jnp.log1p(-d1 * inv_n) - log_r,
                             jnp.log(m) - jnp.log(d1))

        def solve(f, x0):                      # f increases on [xs[j], xs[j+1]]
            # not roots.bisect: a NaN f(c) (log1p of < -1 where the Hermite df1 overshoots
            # min(N, P), i.e. left of the root) must move the lower end, as `not f(c) > 0` does
            def bis(_, ab):
                a, b = ab
                c = 0.5 * (a + b)
                right = f(c) > 0
                return jnp.where(right, a, c), jnp.where(right, c, b)
            a, b = jax.lax.fori_loop(0, 4, bis, (xs[j], xs[j + 1]))

            def newton(_, x):                  # f is near-linear on the bracket: 3 steps
                fx, dfx = jax.jvp(f, (x,), (jnp.ones_like(x),))
                return jnp.clip(x - fx / dfx, a, b)
            return jax.lax.fori_loop(0, 3, newton, 0.5 * (a + b))

        x = jax.lax.custom_root(f, xs[j], solve, lambda g, y: y / g(1.0))
        d1, d2, ktf, bias2 = (at(i, x) for i in range(4))
        rho = (1.0 - d1 * inv_n) / (1.0 - d2 * inv_n)
        gamma1 = (d1 - rho * (d1 - d2)) * inv_p
        return (rho * bias2 + (1.0 - rho) * ktf + sigma2) / (1.0 - gamma1)

    return jax.vmap(point)(inv_n, inv_p, ridge, sigma2)


table_error_jit = jax.jit(table_error, static_argnames=("n_table",))
