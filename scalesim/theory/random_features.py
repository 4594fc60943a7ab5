"""Deterministic equivalents for kernel ridge regression and linear random-feature regression.

One notation for every paper: the feature covariance has eigenvalues ``lam_k`` and the target
has squared coefficients ``w2_k`` in that eigenbasis; the *task power* is ``w2_k * lam_k``.
Power laws are ``lam_k = k^-b`` and ``w2_k lam_k = k^-a`` (:func:`power_law_spectrum`).

Sizes: ``n_features`` (N, the random-feature count; Bahri's P, Maloney's N, Paquette's d) and
``n_samples`` (P, the training-set size; Bahri's D, Maloney's T). Either may be ``inf`` (KRR is
``n_features=inf``; the approximation floor is ``n_samples=inf``). Sizes, the ridge and the
noise are keyword-only in every function (``rf_error(lam, w2, n_features=N, n_samples=P,
ridge=r)``): N and P enter asymmetrically for anisotropic targets, so a positional (N, P) vs
(P, N) swap would be silent; a positional size raises ``TypeError``. Internally the theory is
written in the inverse sizes ``1/N`` and ``1/P``, which makes the ``N, P -> inf`` limits regular
points and gives the variance-limited coefficients of Bahri et al. as derivatives at ``1/N = 0``
(:func:`variance_limited_coefficients`).

Everything is float64 when ``jax_enable_x64`` is on (the tests turn it on); with x64 off the
functions still run in float32 but lose accuracy for steep spectra (kappa spans decades). All
functions are jit/vmap-able and differentiable; the renormalised ridge is found by a safeguarded
Newton solve in ``log kappa`` wrapped in :func:`jax.lax.custom_root`, so its derivatives come
from the implicit function theorem (the solver is :mod:`scalesim.theory._rf_equivalent`).

Inverse use (:func:`fit_exponents`): recover ``(a, b)`` from measured learning curves through
the differentiable theory. :func:`exponents` declares the closed-form exponents.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from scalesim.precision import as_float
from scalesim.prediction import Prediction, prediction
from scalesim.validate import check_choice, check_nonneg, check_positive, check_range, is_concrete

from ._rf_equivalent import kappa_inv, power_law_spectrum, rf_error_inv, table_error_jit

__all__ = ["PAPERS", "exponents", "power_law_spectrum", "df1", "df2", "rf_kappa", "rf_error", "krr_error",
           "rf_error_grid", "variance_limited_coefficients", "maloney_closed_form", "maloney_constant",
           "Curve", "InverseFit", "curve_prediction", "fit_exponents"]

PAPERS = ("bahri2021explaining", "maloney2022solvable", "bordelon2020spectrum", "atanasov2024scaling",
          "bordelon2024dynamical")
_BAHRI = "Bahri, Dyer, Kaplan, Lee & Sharma 2021 (arXiv 2102.06701)"


def exponents(a: float | None = None, b: float | None = None, alpha_k: float | None = None) -> dict[str, Prediction]:
    """The scaling exponents of linear random-feature regression (``L ~ x^-exponent``).

    Args:
      a: task-power exponent (``w2_k lam_k = k^-a``, > 1); with ``b``, adds the bottlenecks.
      b: spectrum exponent (``lam_k = k^-b``, > 0).
      alpha_k: Bahri's kernel exponent (``lam_k = k^-(1 + alpha_K)``, isotropic teacher, > 0);
        adds the resolution-limited exponents.

    Returns:
      name -> :class:`~scalesim.prediction.Prediction`:

      - "variance_limited_data": 1, ``L(D, N) - L(inf, N) ~ D^-1`` at fixed N (Bahri Sec. 2.1);
      - "variance_limited_model": 1, ``L(D, N) - L(D, inf) ~ N^-1`` at fixed D (Bahri Sec. 2.1);
      - "data": ``min(a - 1, 2b)``, ``L ~ P^-exponent`` with N = inf (Bordelon, Canatar &
        Pehlevan 2020; Bordelon, Atanasov & Pehlevan 2024, Sec. 3);
      - "model": ``min(a - 1, b)``, ``L ~ N^-exponent`` with P = inf (Bordelon et al. 2024,
        Sec. 3; Paquette et al.'s F_0);
      - "resolution_limited_data", "resolution_limited_model": ``alpha_K``, ``L ~ D^-alpha_K``
        (N = inf) and ``L ~ N^-alpha_K`` (D = inf) (Bahri Sec. 2.2 and Sec. 3).
    """
    params = {k: v for k, v in (("a", a), ("b", b), ("alpha_k", alpha_k)) if v is not None}

    def pred(name, value, expression, valid_when, reference):
        return prediction(__name__, params, name, value, expression, valid_when, reference)

    out = {
        "variance_limited_data": pred("variance_limited_data", 1.0, "1  (L(D, N) - L(inf, N) ~ 1/D)",
                                      "fixed N, D >> N", f"{_BAHRI}, Sec. 2.1"),
        "variance_limited_model": pred("variance_limited_model", 1.0, "1  (L(D, N) - L(D, inf) ~ 1/N)",
                                       "fixed D, N >> D", f"{_BAHRI}, Sec. 2.1"),
    }
    if (a is None) != (b is None):
        raise ValueError("a and b must be given together")
    if a is not None:
        check_range("a", a, lo=1.0, lo_open=True)
        check_range("b", b, lo=0.0, lo_open=True)
        a, b = float(a), float(b)
        ref = "Bordelon, Atanasov & Pehlevan 2024 (arXiv 2402.01092), Sec. 3"
        out["data"] = pred("data", min(a - 1.0, 2.0 * b), "min(a - 1, 2b)", "N = inf, ridge -> 0, P -> inf",
                           ref + "; Bordelon, Canatar & Pehlevan 2020 (arXiv 2002.02561)")
        out["model"] = pred("model", min(a - 1.0, b), "min(a - 1, b)", "P = inf, ridgeless, N -> inf",
                            ref + "; Paquette et al. 2024 (arXiv 2405.15074), F_0")
    if alpha_k is not None:
        check_range("alpha_k", alpha_k, lo=0.0, lo_open=True)
        for kind, axis in (("data", "D, N = inf"), ("model", "N, D = inf")):
            name = f"resolution_limited_{kind}"
            out[name] = pred(name, float(alpha_k), "alpha_K", f"lam_k = k^-(1 + alpha_K), isotropic teacher, {axis}",
                             f"{_BAHRI}, Sec. 2.2 and Sec. 3")
    return out


def df1(kappa, lam):
    """Degrees of freedom ``df1(kappa) = sum_k lam_k / (lam_k + kappa)``.

    Atanasov, Zavatone-Veth & Pehlevan 2024 (arXiv 2405.00592), the first of their two
    degrees-of-freedom functions.

    Args:
      kappa: renormalised ridge (> 0; same units as ``lam``).
      lam: eigenvalues ``[..., S]``.

    Returns:
      ``df1`` (sum over the last axis).
    """
    return jnp.sum(lam / (lam + kappa), axis=-1)


def df2(kappa, lam):
    """Degrees of freedom ``df2(kappa) = sum_k lam_k^2 / (lam_k + kappa)^2`` (Atanasov et al. 2024).

    Args:
      kappa: renormalised ridge (> 0). lam: eigenvalues ``[..., S]``.

    Returns:
      ``df2`` (sum over the last axis).
    """
    return jnp.sum((lam / (lam + kappa)) ** 2, axis=-1)


def _inv(n):
    return 1.0 / as_float(n)


def _check_sizes(n_features, n_samples, ridge, sigma2=0.0):
    for name, v in (("n_features", n_features), ("n_samples", n_samples)):
        check_positive(name, v)
    check_nonneg("ridge", ridge)
    check_nonneg("sigma2", sigma2)
    if is_concrete(n_features, n_samples, ridge):
        both_inf = np.isinf(np.asarray(n_features)) & np.isinf(np.asarray(n_samples))
        if np.any(both_inf & (np.asarray(ridge) == 0)):
            raise ValueError("ridge must be > 0 when n_features and n_samples are both infinite")


def rf_kappa(lam, *, n_features, n_samples, ridge):
    """Renormalised ridge ``kappa_2`` of linear random-feature ridge regression.

    Solves ``kappa2 (1 - df1(kappa2)/P)(1 - df1(kappa2)/N) = ridge`` on the branch
    ``df1 < min(N, P)`` (Atanasov, Zavatone-Veth & Pehlevan 2024, arXiv 2405.00592, the
    linear-RF S-transform result). With ``ridge = 0`` the root is ``df1(kappa2) = min(N, P)``;
    ``n_features = inf`` gives the KRR ``kappa`` of Bordelon, Canatar & Pehlevan 2020 (arXiv
    2002.02561, Eq. for kappa).

    Args:
      lam: eigenvalues ``[S]`` (> 0).
      n_features: N, the random-feature count (keyword-only; > 0, may be inf).
      n_samples: P, the training-set size (keyword-only; > 0, may be inf; not both inf at ridge 0).
      ridge: ridge penalty (keyword-only; >= 0, units of ``lam``).

    Returns:
      scalar ``kappa_2`` (units of ``lam``); differentiable (implicit function theorem).
    """
    _check_sizes(n_features, n_samples, ridge)
    return kappa_inv(as_float(lam), _inv(n_features), _inv(n_samples), as_float(ridge))


def rf_error(lam, w2, *, n_features, n_samples, ridge, sigma2=0.0):
    """Test MSE (label noise included) of linear random-feature ridge regression.

    ``E_g = [rho kappa2^2 sum w2 lam/(lam+kappa2)^2 + (1-rho) kappa2 tf(kappa2) + sigma2] / (1-gamma1)``
    with ``rho = (1 - df1/N)/(1 - df2/N)`` and ``gamma1 = (df1 - rho (df1 - df2))/P`` at kappa2
    (Atanasov, Zavatone-Veth & Pehlevan 2024, arXiv 2405.00592, linear random features).
    Features ``phi = F^T x`` with ``F_ij ~ N(0, 1/N)``; estimator
    ``argmin (1/P)|Phi v - y|^2 + ridge |v|^2``. Limits: N = inf is KRR (:func:`krr_error`);
    P = inf and ridge = 0 is the approximation floor ``kappa2 tf(kappa2)`` with ``df1 = N``.

    Args:
      lam: eigenvalues ``[S]`` (> 0).
      w2: squared target coefficients ``[S]`` (>= 0).
      n_features: N, the random-feature count (keyword-only; > 0, may be inf).
      n_samples: P, the training-set size (keyword-only; > 0, may be inf; not both inf at ridge 0).
      ridge: ridge penalty (keyword-only; >= 0, units of ``lam``).
      sigma2: label-noise variance (keyword-only; >= 0, units of ``w2 * lam``).

    Returns:
      scalar expected test MSE (units of ``w2 * lam``).
    """
    _check_sizes(n_features, n_samples, ridge, sigma2)
    return rf_error_inv(as_float(lam), as_float(w2), _inv(n_features), _inv(n_samples), as_float(ridge),
                        as_float(sigma2))


def krr_error(lam, w2, *, n_samples, ridge, sigma2=0.0):
    """KRR / linear ridge test MSE ``(kappa^2 sum w2 lam/(lam+kappa)^2 + sigma2)/(1 - df2/P)``.

    Bordelon, Canatar & Pehlevan 2020 (arXiv 2002.02561), Eq. for E_g; Canatar, Bordelon &
    Pehlevan 2021 with label noise. Equal to :func:`rf_error` at ``n_features = inf``.

    Args:
      lam, w2: as in :func:`rf_error`.
      n_samples, ridge, sigma2: keyword-only, as in :func:`rf_error`.

    Returns:
      scalar expected test MSE (units of ``w2 * lam``).
    """
    return rf_error(lam, w2, n_features=jnp.inf, n_samples=n_samples, ridge=ridge, sigma2=sigma2)


def rf_error_grid(lam, w2, *, n_features, n_samples, ridge, sigma2=0.0, method="table", n_table=2048):
    """:func:`rf_error` on broadcast arrays of (N, P, ridge, sigma2) in one jitted call.

    ``method="table"`` (default) tabulates the spectral moments once on ``n_table`` log-kappa
    nodes and solves every point on the table (differentiable; agrees with the exact solver to
    ~1e-9 relative, tested); ``method="exact"`` vmaps the pointwise Newton solver of
    :func:`rf_error` (one O(modes) pass per Newton step per point).

    Args:
      lam, w2: spectrum and target, ``[S]``.
      n_features, n_samples, ridge, sigma2: keyword-only arrays (or scalars) of N, P, the
        ridge and the noise variance that broadcast together; ridgeless points need
        ``min(N, P) < S``.
      method: ``"table"`` or ``"exact"``.
      n_table: table nodes (>= 16).

    Returns:
      expected test MSE with the broadcast shape (units of ``w2 * lam``).
    """
    _check_sizes(n_features, n_samples, ridge, sigma2)
    check_choice("method", method, ("table", "exact"))
    check_range("n_table", n_table, 16)
    n, p, r, s = jnp.broadcast_arrays(_inv(n_features), _inv(n_samples), as_float(ridge), as_float(sigma2))
    if method == "exact":
        fn = jax.vmap(lambda a, b, c, d: rf_error_inv(as_float(lam), as_float(w2), a, b, c, d))
        return fn(n.ravel(), p.ravel(), r.ravel(), s.ravel()).reshape(n.shape)
    out = table_error_jit(as_float(lam), as_float(w2), n.ravel(), p.ravel(), r.ravel(), s.ravel(),
                          n_table=int(n_table))
    return out.reshape(n.shape)


def variance_limited_coefficients(lam, w2, *, n_features, n_samples, ridge, sigma2=0.0):
    """Bahri et al. (arXiv 2102.06701, Sec. 2.1) variance-limited corrections, as exact derivatives.

    ``E_g(N, P) = E_g(inf, P) + c_N / N + O(N^-2)`` (at fixed P) and
    ``E_g(N, P) = E_g(N, inf) + c_P / P + O(P^-2)`` (at fixed N), i.e. ``dE_g/d(1/N)`` at
    ``1/N = 0`` and ``dE_g/d(1/P)`` at ``1/P = 0``. For ridge = 0, sigma2 = 0 and N < P the
    second coefficient is ``N * L(N)`` (the expansion of ``1/(1 - N/P)``).

    Args:
      lam, w2: as in :func:`rf_error`; ridge, sigma2: keyword-only, as in :func:`rf_error`.
      n_features: the fixed N of ``c_P`` (keyword-only); n_samples: the fixed P of ``c_N``
        (keyword-only).

    Returns:
      ``(c_N, c_P)`` (units of the MSE times a size).
    """
    _check_sizes(n_features, n_samples, ridge, sigma2)
    lam, w2, ridge, sigma2 = as_float(lam), as_float(w2), as_float(ridge), as_float(sigma2)
    zero = as_float(0.0)
    c_n = jax.grad(lambda e: rf_error_inv(lam, w2, e, _inv(n_samples), ridge, sigma2))(zero)
    c_p = jax.grad(lambda e: rf_error_inv(lam, w2, _inv(n_features), e, ridge, sigma2))(zero)
    return c_n, c_p


def maloney_closed_form(alpha, *, n_features, n_samples, w2=1.0, lam_plus=1.0):
    """Maloney, Roberts & Sully (arXiv 2210.16859) ridgeless linear-RF loss for 1 << N, T << M.

    ``L(N, T) = w2 lam_+ c^(1+alpha) min(N,T)^-alpha / (1 - min/max)`` with
    ``c = (pi/(1+alpha)) / sin(pi/(1+alpha))``: the continuum limit of :func:`rf_error` for
    ``lam_I = lam_+ I^-(1+alpha)`` and an isotropic teacher (Maloney et al., Sec. 4; agrees with
    the deterministic equivalent to ~1%, tested). Symmetric in N <-> T.

    Args:
      alpha: spectral exponent (> 0).
      n_features: N (keyword-only; > 0). n_samples: T (keyword-only; > 0).
      w2: teacher power per mode; lam_plus: the largest eigenvalue.

    Returns:
      scalar loss.
    """
    check_range("alpha", alpha, lo=0.0, lo_open=True)
    check_positive("n_features", n_features)
    check_positive("n_samples", n_samples)
    n, t, alpha = as_float(n_features), as_float(n_samples), as_float(alpha)
    lo, hi = jnp.minimum(n, t), jnp.maximum(n, t)
    c = (jnp.pi / (1 + alpha)) / jnp.sin(jnp.pi / (1 + alpha))
    return w2 * lam_plus * c ** (1 + alpha) * lo ** (-alpha) / (1.0 - lo / hi)


def maloney_constant(alpha) -> float:
    """The prefactor ``c_alpha^(1+alpha)`` of :func:`maloney_closed_form` (Python float).

    Args:
      alpha: spectral exponent (> 0).

    Returns:
      ``((pi/(1+alpha)) / sin(pi/(1+alpha)))^(1+alpha)``.
    """
    c = (math.pi / (1 + alpha)) / math.sin(math.pi / (1 + alpha))
    return c ** (1 + alpha)


# the inverse fit lives in a private module; its public names are re-exported here
from ._rf_inverse import Curve, InverseFit, curve_prediction, fit_exponents  # noqa: E402
