"""Deterministic equivalents for kernel ridge regression and linear random-feature regression.

One notation for every paper (see ``shared/research/random_features.md`` §0): the feature
covariance has eigenvalues ``lam_k`` and the target has squared coefficients ``w2_k`` in that
eigenbasis; the *task power* is ``w2_k * lam_k``.  Power laws are ``lam_k = k^-b`` and
``w2_k lam_k = k^-a``.

Sizes: ``n_features`` (N, the random-feature count; Bahri's P, Maloney's N, Paquette's d) and
``n_samples`` (P, the training-set size; Bahri's D, Maloney's T).  Either may be ``inf``
(KRR is ``n_features=inf``; the approximation floor is ``n_samples=inf``).  Internally the
theory is written in the inverse sizes ``1/N`` and ``1/P``, which makes the ``N, P -> inf``
limits regular points and lets the variance-limited coefficients of Bahri et al. be computed
as derivatives at ``1/N = 0`` (:func:`variance_limited_coefficients`).

Everything is float64 when ``jax_enable_x64`` is on (the tests turn it on); with x64 off the
functions still run in float32 but lose accuracy for steep spectra (kappa spans decades).
All functions are jit/vmap-able and differentiable; the renormalised ridge is found by a
safeguarded Newton solve in ``u = log kappa`` wrapped in :func:`jax.lax.custom_root`, so its
derivatives come from the implicit function theorem, not from unrolling the iteration.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from scalesim.validate import check_positive, check_nonneg, check_range
from scalesim.precision import as_float

_MAXIT = 60
_TOL = 1e-9  # relative step; quadratic convergence => returned kappa is ~1e-16 accurate


# --------------------------------------------------------------------------- spectra
def power_law_spectrum(a, b, n_modes: int, *, scale=1.0):
    """Power-law spectrum ``lam_k = scale k^-b`` and target ``w2_k = k^-(a-b)``, k = 1..n_modes.

    The task power is ``w2_k lam_k = scale k^-a`` (notes §0).  Bahri et al. (2102.06701 §3) and
    Maloney et al. (2210.16859) use isotropic teachers, ``a = b = 1 + alpha``; Paquette et al.
    (2405.15074) have ``a = 2 alpha + 2 beta, b = 2 alpha``.  Differentiable in ``a`` and ``b``.
    """
    if not isinstance(a, jax.core.Tracer):
        check_range("a", a, lo=1.0, lo_open=True)  # task power summable as n_modes -> inf
    if not isinstance(b, jax.core.Tracer):
        check_range("b", b, lo=0.0, lo_open=True)
    if int(n_modes) < 1:
        raise ValueError(f"n_modes must be a positive integer, got {n_modes}")
    k = jnp.arange(1, int(n_modes) + 1, dtype=as_float(0.0).dtype)
    lam = scale * k ** (-as_float(b))
    w2 = k ** (-(as_float(a) - as_float(b)))
    return lam, w2


def df1(kappa, lam):
    """``df1(kappa) = sum_k lam_k / (lam_k + kappa)`` (notes §3.1; Atanasov et al. 2405.00592)."""
    return jnp.sum(lam / (lam + kappa), axis=-1)


def df2(kappa, lam):
    """``df2(kappa) = sum_k lam_k^2 / (lam_k + kappa)^2`` (notes §3.1)."""
    return jnp.sum((lam / (lam + kappa)) ** 2, axis=-1)


# --------------------------------------------------------------------------- root solve
def _tuple_sum(*xs):
    """Several sums over the last axis in ONE variadic reduction.

    XLA:CPU compiles separate sums of a shared elementwise expression into a multi-output fusion
    that runs ~10x slower than a single sum; a variadic ``lax.reduce`` keeps it one pass.
    """
    zeros = tuple(jnp.zeros((), x.dtype) for x in xs)
    add = lambda a, b: tuple(u + v for u, v in zip(a, b))
    return jax.lax.reduce(xs, zeros, add, (xs[0].ndim - 1,))


@jax.custom_jvp
def _moments(kappa, lam, power):
    """``(df1, df2, kappa tf, kappa^2 |tf'|)`` at kappa: sums of r, r^2, p(1-r), p(1-r)^2."""
    r = lam / (lam + kappa)
    q = 1.0 - r
    return _tuple_sum(r, r * r, power * q, power * q * q)


@_moments.defjvp
def _moments_jvp(primals, tangents):
    kappa, lam, power = primals
    dk, dl, dp = tangents
    out = _moments(kappa, lam, power)
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
    """``F(kappa) = kappa (1 - df1/P)(1 - df1/N) - ridge`` (notes §3.2), ``F'`` and off-branch flag.

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

    def bisect(_, lohi):
        lo, hi = lohi
        mid = 0.5 * (lo + hi)
        pos = g(mid) > 0
        return jnp.where(pos, mid, lo), jnp.where(pos, hi, mid)

    lo, hi = jax.lax.fori_loop(0, n_bisect, bisect, (jnp.zeros_like(m), jnp.ones_like(m)))

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
def _kappa_inv(lam, inv_n, inv_p, ridge):
    """kappa_2 for one (1/N, 1/P, ridge) point; differentiable by the implicit function theorem."""
    f = lambda k: _residual(k, lam, inv_n, inv_p, ridge)[0]
    sg = jax.lax.stop_gradient
    lam_s, inv_n_s, inv_p_s, ridge_s = sg(lam), sg(inv_n), sg(inv_p), sg(ridge)
    lo, hi = _initial_bracket(lam_s, inv_n_s, inv_p_s, ridge_s)
    k0 = jnp.where(lo > 0, jnp.sqrt(lo * hi), hi)
    solve = lambda g, k: _model_newton(lam_s, inv_n_s, inv_p_s, ridge_s, k)[0]
    return jax.lax.custom_root(f, k0, solve, lambda g, y: y / g(1.0))


def _inv(n):
    return 1.0 / as_float(n)


def _check_sizes(n_features, n_samples, ridge, sigma2=0.0):
    for name, v in (("n_features", n_features), ("n_samples", n_samples)):
        check_positive(name, v)
    check_nonneg("ridge", ridge)
    check_nonneg("sigma2", sigma2)
    if not any(isinstance(v, jax.core.Tracer) for v in (n_features, n_samples, ridge)):
        both_inf = np.isinf(np.asarray(n_features)) & np.isinf(np.asarray(n_samples))
        if np.any(both_inf & (np.asarray(ridge) == 0)):
            raise ValueError("ridge must be > 0 when n_features and n_samples are both infinite")


def rf_kappa(lam, n_features, n_samples, ridge):
    """Renormalised ridge ``kappa_2`` of linear random-feature ridge regression.

    Solves ``kappa2 (1 - df1(kappa2)/P)(1 - df1(kappa2)/N) = ridge`` on the branch
    ``df1 < min(N, P)`` (Atanasov, Zavatone-Veth & Pehlevan 2024, 2405.00592, linear-RF
    S-transform result; the form of Ruben & Pehlevan's ``EnsRFTheory.py``; notes §3.2).  With
    ``ridge = 0`` the root is ``df1(kappa2) = min(N, P)``.  ``n_features = inf`` gives the KRR
    ``kappa`` of Bordelon, Canatar & Pehlevan 2020 (2002.02561), notes §3.1.
    Sizes and ridge broadcast (scalars here; use vmap for grids).
    """
    _check_sizes(n_features, n_samples, ridge)
    return _kappa_inv(as_float(lam), _inv(n_features), _inv(n_samples), as_float(ridge))


@jax.jit
def _rf_error_inv(lam, w2, inv_n, inv_p, ridge, sigma2):
    kappa = _kappa_inv(lam, inv_n, inv_p, ridge)
    # df1, df2, kappa tf(kappa), -kappa^2 tf'(kappa)
    d1, d2, ktf, bias2 = _moments(kappa, lam, w2 * lam)
    rho = (1.0 - d1 * inv_n) / (1.0 - d2 * inv_n)
    gamma1 = (d1 - rho * (d1 - d2)) * inv_p
    return (rho * bias2 + (1.0 - rho) * ktf + sigma2) / (1.0 - gamma1)


def rf_error(lam, w2, n_features, n_samples, ridge, sigma2=0.0):
    """Test MSE (label noise included) of linear random-feature ridge regression.

    ``E_g = [rho kappa2^2 sum w2 lam/(lam+kappa2)^2 + (1-rho) kappa2 tf(kappa2) + sigma2] / (1-gamma1)``
    with ``rho = (1 - df1/N)/(1 - df2/N)`` and ``gamma1 = (df1 - rho (df1 - df2))/P`` at kappa2
    (notes §3.2, from Atanasov et al. 2405.00592 via Ruben & Pehlevan ``EnsRFTheory.py``).
    Features ``phi = F^T x`` with ``F_ij ~ N(0, 1/N)``; estimator
    ``argmin (1/P)|Phi v - y|^2 + ridge |v|^2``.  Limits: N = inf is KRR (:func:`krr_error`),
    P = inf and ridge = 0 is the approximation floor ``kappa2 tf(kappa2)``, ``df1 = N``.
    """
    _check_sizes(n_features, n_samples, ridge, sigma2)
    return _rf_error_inv(as_float(lam), as_float(w2), _inv(n_features), _inv(n_samples), as_float(ridge),
                         as_float(sigma2))


def krr_error(lam, w2, n_samples, ridge, sigma2=0.0):
    """KRR / linear ridge test MSE ``(kappa^2 sum w2 lam/(lam+kappa)^2 + sigma2)/(1 - df2/P)``.

    Bordelon, Canatar & Pehlevan 2020 (2002.02561) eq. for E_g; Canatar et al. 2021 with noise;
    notes §3.1.  Equal to :func:`rf_error` at ``n_features = inf``.
    """
    return rf_error(lam, w2, jnp.inf, n_samples, ridge, sigma2)


# --------------------------------------------------------------------------- grids
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


def _table_error(lam, w2, inv_n, inv_p, ridge, sigma2, n_table):
    """Tabulated deterministic equivalent on a whole grid (the engine of ``rf_error_grid``).

    Every quantity of notes §3.2 depends on (N, P, ridge) only through the scalar kappa2, and
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


_table_error_jit = jax.jit(_table_error, static_argnames=("n_table",))


def rf_error_grid(lam, w2, n_features, n_samples, ridge, sigma2=0.0, *, method="table",
                  n_table=2048):
    """:func:`rf_error` on broadcast arrays of (N, P, ridge, sigma2) in one jitted call.

    ``method="table"`` (default) tabulates the spectral moments once and solves every point
    on the table (:func:`_table_error`; differentiable, agrees with the exact solver to ~1e-9
    relative, tested); ``method="exact"`` vmaps the pointwise Newton solver of :func:`rf_error`
    (one O(modes) pass per Newton step per point).  Ridge-less points need
    ``min(N, P) < len(lam)``.
    """
    _check_sizes(n_features, n_samples, ridge, sigma2)
    if method not in ("table", "exact"):
        raise ValueError(f"method must be 'table' or 'exact', got {method!r}")
    if int(n_table) < 16:
        raise ValueError(f"n_table must be >= 16, got {n_table}")
    n, p, r, s = jnp.broadcast_arrays(_inv(n_features), _inv(n_samples), as_float(ridge), as_float(sigma2))
    if method == "exact":
        fn = jax.vmap(lambda a, b, c, d: _rf_error_inv(as_float(lam), as_float(w2), a, b, c, d))
        return fn(n.ravel(), p.ravel(), r.ravel(), s.ravel()).reshape(n.shape)
    out = _table_error_jit(as_float(lam), as_float(w2), n.ravel(), p.ravel(), r.ravel(), s.ravel(),
                           n_table=int(n_table))
    return out.reshape(n.shape)


def variance_limited_coefficients(lam, w2, n_features, n_samples, ridge, sigma2=0.0):
    """Bahri et al. (2102.06701, §2.2) variance-limited corrections, as exact derivatives.

    Returns ``(c_N, c_P)`` with ``E_g(N, P) = E_g(inf, P) + c_N / N + O(N^-2)`` (at fixed P) and
    ``E_g(N, P) = E_g(N, inf) + c_P / P + O(P^-2)`` (at fixed N), i.e. ``dE_g/d(1/N)`` at
    ``1/N = 0`` and ``dE_g/d(1/P)`` at ``1/P = 0``.  The arguments ``n_features``/``n_samples``
    give the *other* size for each coefficient.  For ridge = 0, sigma2 = 0 and N < P the second
    coefficient is ``N * L(N)`` (the expansion of ``1/(1 - N/P)``, notes §2).
    """
    _check_sizes(n_features, n_samples, ridge, sigma2)
    lam, w2, ridge, sigma2 = as_float(lam), as_float(w2), as_float(ridge), as_float(sigma2)
    zero = as_float(0.0)
    c_n = jax.grad(lambda e: _rf_error_inv(lam, w2, e, _inv(n_samples), ridge, sigma2))(zero)
    c_p = jax.grad(lambda e: _rf_error_inv(lam, w2, _inv(n_features), e, ridge, sigma2))(zero)
    return c_n, c_p


# --------------------------------------------------------------------------- closed forms
def maloney_closed_form(n_features, n_samples, alpha, *, w2=1.0, lam_plus=1.0):
    """Maloney, Roberts & Sully (2210.16859) ridgeless linear-RF loss for 1 << N, T << M.

    ``L(N, T) = w2 lam_+ c^(1+alpha) min(N,T)^-alpha / (1 - min/max)``,
    ``c = (pi/(1+alpha)) / sin(pi/(1+alpha))`` (notes §2, the continuum limit of §3.2 with
    ``lam_I = lam_+ I^-(1+alpha)`` and isotropic teacher; [C] to 0.4-1%).  Symmetric in N <-> T.
    """
    if not isinstance(alpha, jax.core.Tracer):
        check_range("alpha", alpha, lo=0.0, lo_open=True)
    check_positive("n_features", n_features)
    check_positive("n_samples", n_samples)
    n, t, alpha = as_float(n_features), as_float(n_samples), as_float(alpha)
    lo, hi = jnp.minimum(n, t), jnp.maximum(n, t)
    c = (jnp.pi / (1 + alpha)) / jnp.sin(jnp.pi / (1 + alpha))
    return w2 * lam_plus * c ** (1 + alpha) * lo ** (-alpha) / (1.0 - lo / hi)


def bottleneck_exponents(a, b):
    """Scaling exponents of the three bottlenecks (notes §0; Bordelon et al. 2402.01092).

    data-limited ``L ~ P^-min(a-1, 2b)``, model-limited ``L ~ N^-min(a-1, b)`` ([C], Paquette's
    F_0), time-limited ``L ~ t^-(a-1)/b``.  Returns a dict of floats.
    """
    check_range("a", a, lo=1.0, lo_open=True)
    check_range("b", b, lo=0.0, lo_open=True)
    return {"data": min(a - 1.0, 2.0 * b), "model": min(a - 1.0, b), "time": (a - 1.0) / b}


def maloney_constant(alpha) -> float:
    """``c_alpha^(1+alpha)``, the prefactor of :func:`maloney_closed_form`."""
    c = (math.pi / (1 + alpha)) / math.sin(math.pi / (1 + alpha))
    return c ** (1 + alpha)
