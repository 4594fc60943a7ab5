"""Inverse use of the deterministic equivalents: recover (a, b) from measured learning curves.

Private support code of :mod:`scalesim.theory.random_features`, which re-exports
:class:`Curve`, :class:`InverseFit`, :func:`curve_prediction` and :func:`fit_exponents`.

Given loss curves of a linear random-feature / kernel problem — loss vs model size N (data
unlimited), loss vs data size P (width unlimited), or loss vs N at a fixed finite P — fit the
spectrum exponent ``b`` (``lam_k = k^-b``), the task exponent ``a`` (``w2_k lam_k = A k^-a``) and
the amplitude ``A`` by Levenberg-Marquardt on log-loss residuals. The Jacobian is exact:
``jax.jacfwd`` through the deterministic equivalent
(:func:`scalesim.theory.random_features.rf_error`), whose root solve is differentiated by the
implicit function theorem.

Identifiability: the bottleneck exponents alone give ``min(a-1, b)`` (model) and
``min(a-1, 2b)`` (data); the full curves (crossovers, prefactors, finite-size shape) carry more
information, but the cleanest recovery uses curves where both exponents show, e.g.
``b < a-1 < 2b`` with one model- and one data-limited curve.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from scalesim.precision import float_dtype
from scalesim.validate import check_choice, check_nonneg, check_positive

from ._rf_equivalent import power_law_spectrum, rf_error_inv

_KINDS = ("model", "data", "rf")


@dataclasses.dataclass(frozen=True)
class Curve:
    """One measured learning curve.

    kind: ``"model"`` (x = N, P = inf), ``"data"`` (x = P, N = inf) or ``"rf"`` (x = N at the
    finite ``n_samples``).  ``loss`` is the test MSE (label noise included when sigma2 > 0).
    """

    kind: str
    x: tuple
    loss: tuple
    n_samples: float = float("inf")
    ridge: float = 0.0
    sigma2: float = 0.0

    def __post_init__(self):
        check_choice("kind", self.kind, _KINDS)
        if len(self.x) != len(self.loss) or len(self.x) < 2:
            raise ValueError("x and loss must have the same length >= 2")
        check_positive("x", self.x)
        check_positive("loss", self.loss)
        check_nonneg("ridge", self.ridge)
        check_nonneg("sigma2", self.sigma2)
        if self.kind == "rf":
            check_positive("n_samples", self.n_samples)


@dataclasses.dataclass(frozen=True)
class InverseFit:
    """Result of :func:`fit_exponents`: fitted exponents and amplitude, the RMS log residual,
    the number of iterations and the per-iteration ``(a, b)`` history."""

    a: float
    b: float
    amplitude: float
    rms_log_residual: float
    iterations: int
    history: tuple


def curve_prediction(a, b, log_amp, curve: Curve, n_modes: int):
    """Theory loss of ``curve`` at exponents (a, b) and amplitude ``exp(log_amp)``.

    The deterministic equivalent (Atanasov, Zavatone-Veth & Pehlevan 2024, arXiv 2405.00592) of
    the spectrum ``lam_k = k^-b``, ``w2_k lam_k = A k^-a`` on ``n_modes`` modes at each size of
    the curve; jit/grad-able in ``(a, b, log_amp)``.

    Args:
      a: task-power exponent (> 1). b: spectrum exponent (> 0). log_amp: ``log A``.
      curve: :class:`Curve` (its kind, sizes, P, ridge and noise).
      n_modes: number of modes (static; must exceed the sizes).

    Returns:
      expected test MSE ``[len(curve.x)]``.
    """
    lam, w2 = power_law_spectrum(a, b, n_modes)
    w2 = w2 * jnp.exp(log_amp)
    x = jnp.asarray(curve.x, lam.dtype)
    if curve.kind == "model":
        inv_n, inv_p = 1.0 / x, jnp.zeros_like(x)
    elif curve.kind == "data":
        inv_n, inv_p = jnp.zeros_like(x), 1.0 / x
    else:
        inv_n, inv_p = 1.0 / x, jnp.full_like(x, 1.0 / curve.n_samples)
    fn = lambda i_n, i_p: rf_error_inv(lam, w2, i_n, i_p, jnp.asarray(curve.ridge, lam.dtype),
                                       jnp.asarray(curve.sigma2, lam.dtype))
    return jax.vmap(fn)(inv_n, inv_p)


def fit_exponents(curves, *, n_modes: int = 4000, init=(2.0, 1.5), max_iter: int = 60,
                  tol: float = 1e-10) -> InverseFit:
    """Levenberg-Marquardt fit of (a, b, log A) to ``curves`` through the deterministic equivalent.

    Residuals are ``log(theory) - log(measured)`` over all points of all curves; the Jacobian is
    ``jax.jacfwd`` of the theory (implicit-function-theorem derivatives of the kappa solve).
    ``n_modes`` must exceed every size in the curves (the ridgeless solve needs more modes than
    min(N, P)).

    Args:
      curves: non-empty sequence of :class:`Curve`.
      n_modes: modes of the theory spectrum.
      init: starting ``(a, b)``; the amplitude starts at the mean log-loss offset.
      max_iter: Levenberg-Marquardt iterations.
      tol: stop when the relative cost decrease falls below it.

    Returns:
      :class:`InverseFit`.
    """
    curves = tuple(curves)
    if not curves:
        raise ValueError("curves must be non-empty")
    largest = max(max(c.x) for c in curves)
    if n_modes <= largest:
        raise ValueError(f"n_modes must exceed the largest size in the curves ({largest}), "
                         f"got {n_modes}")
    obs = jnp.concatenate([jnp.log(jnp.asarray(c.loss, float_dtype())) for c in curves])

    def residual(theta):
        a, b, log_amp = theta[0], theta[1], theta[2]
        pred = jnp.concatenate([curve_prediction(a, b, log_amp, c, n_modes) for c in curves])
        return jnp.log(pred) - obs

    res_fn = jax.jit(residual)
    jac_fn = jax.jit(jax.jacfwd(residual))
    a0, b0 = float(init[0]), float(init[1])
    # amplitude start: match the mean log loss at (a0, b0)
    theta = jnp.asarray([a0, b0, 0.0])
    theta = theta.at[2].set(-float(jnp.mean(res_fn(theta))))
    r = res_fn(theta)
    cost = float(r @ r)
    mu = 1e-3
    history = [(float(theta[0]), float(theta[1]))]
    it = 0
    for it in range(1, max_iter + 1):
        j = jac_fn(theta)
        jtj, jtr = j.T @ j, j.T @ r
        accepted = False
        for _ in range(20):
            step = jnp.linalg.solve(jtj + mu * jnp.diag(jnp.diag(jtj)) + 1e-12 * jnp.eye(3), -jtr)
            cand = theta + step
            # stay inside the convergent range a > 1, b > 0
            if float(cand[0]) <= 1.0 + 1e-6 or float(cand[1]) <= 1e-6:
                mu *= 10.0
                continue
            r_c = res_fn(cand)
            cost_c = float(r_c @ r_c)
            if np.isfinite(cost_c) and cost_c < cost:
                accepted = True
                theta, r, mu = cand, r_c, max(mu / 3.0, 1e-9)
                rel = (cost - cost_c) / max(cost, 1e-300)
                cost = cost_c
                break
            mu *= 10.0
        history.append((float(theta[0]), float(theta[1])))
        if not accepted or rel < tol:
            break
    return InverseFit(a=float(theta[0]), b=float(theta[1]), amplitude=float(jnp.exp(theta[2])),
                      rms_log_residual=float(np.sqrt(cost / obs.size)), iterations=it,
                      history=tuple(history))
