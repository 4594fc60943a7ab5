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

from scalesim.theory._validate import check_array_positive, check_nonneg, check_scalar_range

_MAXIT = 100
_TOL = 1e-13


def _f64(x):
    dtype = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
    return jnp.asarray(x, dtype)


# --------------------------------------------------------------------------- spectra
def power_law_spectrum(a, b, n_modes: int, *, scale=1.0):
    """Power-law spectrum ``lam_k = scale k^-b`` and target ``w2_k = k^-(a-b)``, k = 1..n_modes.

    The task power is ``w2_k lam_k = scale k^-a`` (notes §0).  Bahri et al. (2102.06701 §3) and
    Maloney et al. (2210.16859) use isotropic teachers, ``a = b = 1 + alpha``; Paquette et al.
    (2405.15074) have ``a = 2 alpha + 2 beta, b = 2 alpha``.  Differentiable in ``a`` and ``b``.
    """
    if not isinstance(a, jax.core.Tracer):
        check_scalar_range("a", a, lo=1.0, lo_open=True)  # task power summable as n_modes -> inf
    if not isinstance(b, jax.core.Tracer):
        check_scalar_range("b", b, lo=0.0, lo_open=True)
    if int(n_modes) < 1:
        raise ValueError(f"n_modes must be a positive integer, got {n_modes}")
    k = jnp.arange(1, int(n_modes) + 1, dtype=_f64(0.0).dtype)
    lam = scale * k ** (-_f64(b))
    w2 = k ** (-(_f64(a) - _f64(b)))
    return lam, w2


def df1(kappa, lam):
    """``df1(kappa) = sum_k lam_k / (lam_k + kappa)`` (notes §3.1; Atanasov et al. 2405.00592)."""
    return jnp.sum(lam / (lam + kappa), axis=-1)


def df2(kappa, lam):
    """``df2(kappa) = sum_k lam_k^2 / (lam_k + kappa)^2`` (notes §3.1)."""
    return jnp.sum((lam / (lam + kappa)) ** 2, axis=-1)


# --------------------------------------------------------------------------- root solve
def _residual(u, lam, inv_n, inv_p, ridge):
    """Monotone (increasing in u) residual of the kappa_2 equation, notes §3.2.

    ridge > 0: ``log kappa + log(1 - df1/P) + log(1 - df1/N) - log ridge`` (= -inf off-branch);
    ridge = 0: ``-log(df1 * max(1/N, 1/P))``, whose root is ``df1(kappa) = min(N, P)``.
    """
    kappa = jnp.exp(u)
    d1 = df1(kappa, lam)
    inv_max = jnp.maximum(inv_n, inv_p)
    valid = d1 * inv_max < 1.0
    d1s = jnp.where(valid, d1, 0.0)
    ridge_s = jnp.where(ridge > 0, ridge, 1.0)
    h_ridge = u + jnp.log1p(-d1s * inv_p) + jnp.log1p(-d1s * inv_n) - jnp.log(ridge_s)
    h_ridge = jnp.where(valid, h_ridge, -jnp.inf)
    inv_max_s = jnp.where(inv_max > 0, inv_max, 1.0)
    h_less = -jnp.log(d1) - jnp.log(inv_max_s)
    return jnp.where(ridge > 0, h_ridge, h_less)


def _newton_bisect(f, u0, lo, hi):
    """Safeguarded Newton on an increasing scalar function with bracket [lo, hi]."""

    def cond(state):
        _, _, _, it, du = state
        return (it < _MAXIT) & (du > _TOL)

    def body(state):
        u, lo, hi, it, _ = state
        h, dh = jax.value_and_grad(f)(u)
        neg = (~jnp.isfinite(h)) | (h < 0)
        lo = jnp.where(neg, u, lo)
        hi = jnp.where(neg, hi, u)
        step = jnp.where(jnp.isfinite(h) & (dh > 0), h / jnp.where(dh > 0, dh, 1.0), jnp.inf)
        un = u - step
        inside = (un > lo) & (un < hi)
        un = jnp.where(inside, un, 0.5 * (lo + hi))
        return un, lo, hi, it + 1, jnp.abs(un - u) + 0.0 * (hi - lo)

    state = (u0, lo, hi, jnp.asarray(0), jnp.asarray(jnp.inf, u0.dtype))
    return jax.lax.while_loop(cond, body, state)[0]


@jax.jit
def _kappa_inv(lam, inv_n, inv_p, ridge):
    """kappa_2 for one (1/N, 1/P, ridge) point; differentiable by the implicit function theorem."""
    f = lambda u: _residual(u, lam, inv_n, inv_p, ridge)
    sg = jax.lax.stop_gradient
    lam_s, inv_n_s, inv_p_s, ridge_s = sg(lam), sg(inv_n), sg(inv_p), sg(ridge)
    # bracket (notes §3.2): kappa_2 in (max(ridge, kappa0), ridge + sum(lam) (1/P + 1/N)]
    hi = jnp.log(ridge_s + jnp.sum(lam_s) * (inv_n_s + inv_p_s))
    lo = jnp.where(ridge_s > 0, jnp.log(jnp.where(ridge_s > 0, ridge_s, 1.0)),
                   jnp.log(jnp.min(lam_s)) - 40.0)
    solve = lambda g, u0: _newton_bisect(g, u0, lo, hi)
    u = jax.lax.custom_root(f, hi, solve, lambda g, y: y / g(1.0))
    return jnp.exp(u)


def _inv(n):
    return 1.0 / _f64(n)


def _check_sizes(n_features, n_samples, ridge, sigma2=0.0):
    for name, v in (("n_features", n_features), ("n_samples", n_samples)):
        check_array_positive(name, v)
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
    return _kappa_inv(_f64(lam), _inv(n_features), _inv(n_samples), _f64(ridge))


@jax.jit
def _rf_error_inv(lam, w2, inv_n, inv_p, ridge, sigma2):
    kappa = _kappa_inv(lam, inv_n, inv_p, ridge)
    r = lam / (lam + kappa)
    d1, d2 = jnp.sum(r), jnp.sum(r * r)
    power = w2 * lam
    ktf = jnp.sum(power * (1.0 - r))                # kappa * tf(kappa)
    bias2 = jnp.sum(power * (1.0 - r) ** 2)         # -kappa^2 tf'(kappa)
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
    return _rf_error_inv(_f64(lam), _f64(w2), _inv(n_features), _inv(n_samples), _f64(ridge),
                         _f64(sigma2))


def krr_error(lam, w2, n_samples, ridge, sigma2=0.0):
    """KRR / linear ridge test MSE ``(kappa^2 sum w2 lam/(lam+kappa)^2 + sigma2)/(1 - df2/P)``.

    Bordelon, Canatar & Pehlevan 2020 (2002.02561) eq. for E_g; Canatar et al. 2021 with noise;
    notes §3.1.  Equal to :func:`rf_error` at ``n_features = inf``.
    """
    return rf_error(lam, w2, jnp.inf, n_samples, ridge, sigma2)


def rf_error_grid(lam, w2, n_features, n_samples, ridge, sigma2=0.0):
    """:func:`rf_error` on broadcast arrays of (N, P, ridge, sigma2) in one vmapped call."""
    _check_sizes(n_features, n_samples, ridge, sigma2)
    n, p, r, s = jnp.broadcast_arrays(_inv(n_features), _inv(n_samples), _f64(ridge), _f64(sigma2))
    fn = jax.vmap(lambda a, b, c, d: _rf_error_inv(_f64(lam), _f64(w2), a, b, c, d))
    return fn(n.ravel(), p.ravel(), r.ravel(), s.ravel()).reshape(n.shape)


def variance_limited_coefficients(lam, w2, n_features, n_samples, ridge, sigma2=0.0):
    """Bahri et al. (2102.06701, §2.2) variance-limited corrections, as exact derivatives.

    Returns ``(c_N, c_P)`` with ``E_g(N, P) = E_g(inf, P) + c_N / N + O(N^-2)`` (at fixed P) and
    ``E_g(N, P) = E_g(N, inf) + c_P / P + O(P^-2)`` (at fixed N), i.e. ``dE_g/d(1/N)`` at
    ``1/N = 0`` and ``dE_g/d(1/P)`` at ``1/P = 0``.  The arguments ``n_features``/``n_samples``
    give the *other* size for each coefficient.  For ridge = 0, sigma2 = 0 and N < P the second
    coefficient is ``N * L(N)`` (the expansion of ``1/(1 - N/P)``, notes §2).
    """
    _check_sizes(n_features, n_samples, ridge, sigma2)
    lam, w2, ridge, sigma2 = _f64(lam), _f64(w2), _f64(ridge), _f64(sigma2)
    zero = _f64(0.0)
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
        check_scalar_range("alpha", alpha, lo=0.0, lo_open=True)
    check_array_positive("n_features", n_features)
    check_array_positive("n_samples", n_samples)
    n, t, alpha = _f64(n_features), _f64(n_samples), _f64(alpha)
    lo, hi = jnp.minimum(n, t), jnp.maximum(n, t)
    c = (jnp.pi / (1 + alpha)) / jnp.sin(jnp.pi / (1 + alpha))
    return w2 * lam_plus * c ** (1 + alpha) * lo ** (-alpha) / (1.0 - lo / hi)


def bottleneck_exponents(a, b):
    """Scaling exponents of the three bottlenecks (notes §0; Bordelon et al. 2402.01092).

    data-limited ``L ~ P^-min(a-1, 2b)``, model-limited ``L ~ N^-min(a-1, b)`` ([C], Paquette's
    F_0), time-limited ``L ~ t^-(a-1)/b``.  Returns a dict of floats.
    """
    check_scalar_range("a", a, lo=1.0, lo_open=True)
    check_scalar_range("b", b, lo=0.0, lo_open=True)
    return {"data": min(a - 1.0, 2.0 * b), "model": min(a - 1.0, b), "time": (a - 1.0) / b}


def maloney_constant(alpha) -> float:
    """``c_alpha^(1+alpha)``, the prefactor of :func:`maloney_closed_form`."""
    c = (math.pi / (1 + alpha)) / math.sin(math.pi / (1 + alpha))
    return c ** (1 + alpha)
