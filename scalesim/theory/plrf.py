"""Power-law random features (Paquette, Paquette, Xiao & Pennington 2024, arXiv 2405.15074).

PLRF: ``x_j ~ N(0, j^-2 alpha)`` (j <= v), target ``<x, b>`` with ``b_j = j^-beta``, features
``W^T x`` with ``W_ij ~ N(0, 1/d)``; risk ``P(theta) = (1/2) E(<W^T x, theta> - <x, b>)^2``.
Generic notation (notes §0): ``a = 2 alpha + 2 beta``, ``b = 2 alpha``.

* :func:`plrf_f0` — the approximation floor F_0 (risk at t = inf) as the §3.2 deterministic
  equivalent at N = d, P = inf (notes §3.3 [D], checked [C]); :func:`plrf_f0_continuum` is
  Paquette et al.'s own continuum kappa formula (``theory_limit_loss`` in their code).
* :func:`plrf_sgd_risk` — expected one-pass SGD risk of one drawn W, exactly: conditional on W
  the task is Gaussian least squares with covariance ``K = W^T D W`` and label-noise variance
  ``2 P*`` (notes §3.4), evaluated in closed form with one ``eigh``
  (:func:`scalesim.theory.linear_sgd.sgd_risk_at`, the recursion is not duplicated here).
* :func:`paquette_phase`, :func:`compute_optimal_exponents` — the phase diagram and the
  compute-optimal exponents ``d* ~ f^xi``, ``P* ~ f^-eta`` (``f = d t`` at fixed batch).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from scalesim.theory import linear_sgd
from scalesim.theory import random_features as rf
from scalesim.precision import as_float, float_dtype
from scalesim.validate import check_range


def _check(alpha, beta):
    check_range("alpha", alpha, lo=0.0, lo_open=True)
    check_range("beta", beta, lo=0.0, lo_open=True)
    if not isinstance(alpha, jax.core.Tracer) and not isinstance(beta, jax.core.Tracer):
        if 2 * (float(alpha) + float(beta)) <= 1:
            raise ValueError(f"alpha + beta must be > 1/2 (PLRF degenerate below), got "
                             f"alpha={alpha}, beta={beta}")


def plrf_spectrum(alpha, beta, v: int):
    """``(lam_j = j^-2 alpha, w2_j = b_j^2 = j^-2 beta)`` for j = 1..v (differentiable)."""
    _check(alpha, beta)
    j = jnp.arange(1, int(v) + 1, dtype=float_dtype())
    return j ** (-2.0 * as_float(alpha)), j ** (-2.0 * as_float(beta))


def plrf_f0(alpha, beta, d, v: int):
    """F_0(d): ``(1/2) kappa2 tf(kappa2)`` with ``df1(kappa2) = d`` (notes §3.3, [D] + [C]).

    Equals the ridgeless RF deterministic equivalent at N = d, P = inf, halved (risk = MSE/2).
    Asymptotically ``F_0 ~ d^(-2 alpha + max(0, 1 - 2 beta))`` (Paquette et al., notes §4).
    """
    if int(v) <= int(d):
        raise ValueError(f"v must be > d, got v={v}, d={d}")
    lam, w2 = plrf_spectrum(alpha, beta, v)
    return 0.5 * rf.rf_error(lam, w2, d, jnp.inf, 0.0)


def plrf_f0_continuum(alpha, beta, d, v: int):
    """Paquette et al.'s F_0 with the v/d -> inf kappa (their ``theory_limit_loss``, 2 alpha > 1).

    ``F_0 = (1/2) sum_j j^-2(alpha+beta) / (1 + kappa d^(2 alpha) j^-2 alpha)``,
    ``kappa = c^-2alpha``, ``c = int_0^inf dx/(1 + x^(2 alpha)) = (pi/2alpha)/sin(pi/2alpha)``.
    """
    _check(alpha, beta)
    check_range("alpha", 2 * alpha, lo=1.0, lo_open=True)
    c = (math.pi / (2 * alpha)) / math.sin(math.pi / (2 * alpha))
    kappa = c ** (-2 * alpha)
    j = jnp.arange(1, int(v) + 1, dtype=float_dtype())
    return 0.5 * jnp.sum(j ** (-2 * (alpha + beta)) / (1 + kappa * d ** (2 * alpha) * j ** (-2 * alpha)))


def plrf_problem(w, alpha, beta):
    """``(lam_K, c0, sigma2)`` of one W draw in the eigenbasis of ``K = W^T D W``.

    ``c0_k = (theta* . q_k)^2`` for theta_0 = 0, ``theta* = K^-1 W^T D b``; ``sigma2 = 2 P*`` is
    the MSE of the best predictor (the irreducible error acts as independent Gaussian noise).
    """
    v = w.shape[0]
    dg, w2 = plrf_spectrum(alpha, beta, v)
    b = jnp.sqrt(w2)
    k = w.T @ (dg[:, None] * w)
    rhs = w.T @ (dg * b)
    lam, q = jnp.linalg.eigh(k)
    coef = (q.T @ rhs) / lam                   # theta* in the eigenbasis
    theta = q @ coef
    resid = w @ theta - b
    return lam, coef ** 2, jnp.sum(dg * resid * resid)


def plrf_sgd_risk(w, alpha, beta, lr_scale, batch: int, t):
    """Exact expected SGD risk (MSE/2) of one W draw at steps ``t``; lr = lr_scale / tr(K).

    Batch-mean one-pass SGD from theta_0 = 0 (notes §3.4); ``sgd_risk_at`` is the lead's closed
    form (one ``eigh`` of the recursion matrix).  Returns ``(risk[t], lr, kernel_norm)``.
    """
    lam, c0, sigma2 = plrf_problem(w, alpha, beta)
    lr = lr_scale / jnp.sum(lam)
    risk = 0.5 * linear_sgd.sgd_risk_at(lam, c0, lr, batch, sigma2, t)
    return risk, lr, linear_sgd.kernel_norm(lam, lr, batch)


# --------------------------------------------------------------------------- phases
def paquette_phase(alpha: float, beta: float) -> str:
    """Phase of (alpha, beta) in Paquette et al.'s diagram (notes §4: Ib/Ic [V], others [D])."""
    _check(alpha, beta)
    if 2 * beta < 1:
        if 2 * alpha > 1:
            return "Ia"
        return "Ib" if alpha > 0.25 else "Ib/Ic-boundary"
    if alpha < 0.25:
        return "Ic"
    if alpha < 0.5:
        return "IV"
    return "II" if beta < alpha else "III"


class ComputeOptimal(NamedTuple):
    phase: str
    xi: float        # d* ~ f^xi
    eta: float       # P*(f) ~ f^-eta
    status: str      # "derived" (balanced in balance_exponents) or "quoted" (notes' [D] formula)
    terms: tuple     # the two balanced terms (name, p, q) for derived phases


def balance_exponents(term1, term2):
    """Compute-optimal exponents from balancing two terms ``d^-p r^-q`` at fixed ``f = d r``.

    With ``r = f/d`` each term is ``f^-q d^(q-p)``; equating them gives
    ``xi = (q1 - q2) / ((q1 - p1) - (q2 - p2))`` and ``eta = q1 - xi (q1 - p1)``.
    """
    (p1, q1), (p2, q2) = term1, term2
    xi = (q1 - q2) / ((q1 - p1) - (q2 - p2))
    return xi, q1 - xi * (q1 - p1)


def loss_terms(alpha: float, beta: float) -> dict:
    """Exponents (p, q) of the PLRF risk terms ``d^-p r^-q`` (notes §4 term table, 2 alpha > 1).

    F_0 ~ d^-(2 alpha - max(0, 1 - 2 beta)); F_pp ~ r^-(2 alpha + 2 beta - 1)/(2 alpha);
    F_ac ~ d^-1 r^-(1 - 1/(2 alpha)) (only for 2 beta > 1); K_pp ~ r^-(2 - 1/(2 alpha)).
    """
    e = 2 * alpha + 2 * beta - 1
    return {"F0": (2 * alpha - max(0.0, 1 - 2 * beta), 0.0), "Fpp": (0.0, e / (2 * alpha)),
            "Fac": (1.0, 1 - 1 / (2 * alpha)), "Kpp": (0.0, 2 - 1 / (2 * alpha))}


def compute_optimal_exponents(alpha: float, beta: float) -> ComputeOptimal:
    """Compute-optimal (xi, eta) of PLRF + one-pass SGD at fixed batch (notes §4 table).

    Derived here (by :func:`balance_exponents` on :func:`loss_terms`): Ia (F_pp vs F_0),
    II (F_pp vs F_ac), III (K_pp vs F_ac) — these reproduce the notes' [D]/[C] table and its
    continuity at 2 beta = 1 and beta = alpha.  Quoted (notes §4 [D], assuming lr ~ 1/tr(D) and
    v ~ d; not re-derived here): Ib (xi = 1/2, eta = alpha + beta - 1/2) and Ic.  Phase IV:
    not known from the sources (NaN).
    """
    phase = paquette_phase(alpha, beta)
    t = loss_terms(alpha, beta)
    pairs = {"Ia": ("Fpp", "F0"), "II": ("Fpp", "Fac"), "III": ("Kpp", "Fac")}
    if phase in pairs:
        n1, n2 = pairs[phase]
        xi, eta = balance_exponents(t[n1], t[n2])
        return ComputeOptimal(phase, xi, eta, "derived", ((n1,) + t[n1], (n2,) + t[n2]))
    if phase == "Ib":
        return ComputeOptimal(phase, 0.5, alpha + beta - 0.5, "quoted", ())
    if phase == "Ic":
        xi = 1.0 / (2 - 2 * alpha + 4 * alpha**2 / (2 * alpha + 2 * beta - 1))
        return ComputeOptimal(phase, xi, 2 * alpha * xi, "quoted", ())
    return ComputeOptimal(phase, float("nan"), float("nan"), "open", ())
