"""Power-law random features (Paquette, Paquette, Xiao & Pennington 2024, arXiv 2405.15074).

PLRF: ``x_j ~ N(0, j^-2 alpha)`` (j <= v), target ``<x, b>`` with ``b_j = j^-beta``, features
``W^T x`` with ``W_ij ~ N(0, 1/d)``; risk ``P(theta) = (1/2) E(<W^T x, theta> - <x, b>)^2``.
In the ``(a, b)`` notation of :mod:`scalesim.theory.random_features`: ``a = 2 alpha + 2 beta``,
``b = 2 alpha``.

* :func:`plrf_f0` — the approximation floor F_0 (risk at t = inf) as the linear-RF
  deterministic equivalent at N = d, P = inf; :func:`plrf_f0_continuum` is Paquette et al.'s
  own continuum kappa formula (``theory_limit_loss`` in their code).
* :func:`plrf_sgd_risk` — expected one-pass SGD risk of one drawn W, exactly: conditional on W
  the task is Gaussian least squares with covariance ``K = W^T D W`` and label-noise variance
  ``2 P*``, evaluated in closed form with one ``eigh``
  (:func:`scalesim.theory.linear_sgd.sgd_risk_at`, the recursion is not duplicated here).
  :func:`plrf_sgd_risk_betas` does several beta on one W with both eigendecompositions
  (of K, :func:`plrf_embedding`, and of the recursion matrix) computed once.
* :func:`paquette_phase`, :func:`compute_optimal_exponents` — the phase diagram and the
  asymptotic compute-optimal exponents ``d* ~ f^xi``, ``P* ~ f^-eta`` (``f = d t`` at fixed
  batch), declared by :func:`exponents`.
* :func:`compute_optimal_fit` — the same exponents fitted on a finite ladder of sizes from the
  exact SGD risk (no SGD simulation), with the frontier, window and slope fits
  (:func:`compute_optimal_frontier`, :func:`frontier_window`, :func:`frontier_slopes`) that
  the ``rf-compute-optimal`` experiment applies to its simulated curves.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from scalesim.precision import as_float, float_dtype
from scalesim.prediction import Prediction, prediction
from scalesim.spectra import power_law
from scalesim.theory import linear_sgd
from scalesim.theory import random_features as rf
from scalesim.validate import check_range, is_concrete

__all__ = ["PAPERS", "exponents", "plrf_spectrum", "plrf_f0", "plrf_f0_continuum", "plrf_problem", "Embedding",
           "plrf_embedding", "plrf_sgd_risk", "plrf_sgd_risk_betas",
           "paquette_phase", "BOUNDARIES", "ComputeOptimal", "balance_exponents", "loss_terms", "compute_optimal_exponents",
           "compute_grid", "compute_optimal_frontier", "frontier_window", "frontier_slopes", "ComputeOptimalFit",
           "compute_optimal_fit", "compute_optimal_fits", "exact_risk_draws", "nested_draw"]

PAPERS = ("paquette2024phases",)
_PAQUETTE = "Paquette, Paquette, Xiao & Pennington 2024 (arXiv 2405.15074)"


def _check(alpha, beta):
    check_range("alpha", alpha, lo=0.0, lo_open=True)
    check_range("beta", beta, lo=0.0, lo_open=True)
    if is_concrete(alpha, beta):  # below 2 (alpha + beta) = 1 the PLRF target is degenerate
        check_range("alpha + beta", float(alpha) + float(beta), 0.5, lo_open=True)


def exponents(alpha: float | None = None, beta: float | None = None) -> dict[str, Prediction]:
    """Compute-optimal and floor exponents of PLRF + one-pass SGD at phase point (alpha, beta).

    Args:
      alpha: data exponent (``x_j ~ N(0, j^-2 alpha)``, > 0); beta: target exponent
        (``b_j = j^-beta``, > 0); ``alpha + beta > 1/2``. Without them nothing is predicted.

    Returns:
      name -> :class:`~scalesim.prediction.Prediction` (values from
      :func:`compute_optimal_exponents`; NaN where the sources give none, phase IV; on the
      Ia/II and II/III boundaries the common limit of both phases, declared as a boundary):

      - "xi": compute-optimal size ``d* ~ f^xi`` (``f = d B t``);
      - "eta": compute-optimal risk ``P* ~ f^-eta``;
      - "floor": ``2 alpha - max(0, 1 - 2 beta)``, ``F_0(d) ~ d^-floor`` (2 alpha > 1).
    """
    if alpha is None and beta is None:
        return {}
    if alpha is None or beta is None:
        raise ValueError("alpha and beta must be given together")
    co = compute_optimal_exponents(alpha, beta)
    params = {"alpha": alpha, "beta": beta}
    if co.status == "boundary":
        a, b = BOUNDARIES[co.phase]
        how = (f"common limit of phases {a} ({' vs '.join(_BALANCED[a])}) and {b} ({' vs '.join(_BALANCED[b])}), "
               f"by continuity; up to logarithmic corrections")
        valid = f"{co.phase} (not a phase), fixed batch, lr ~ 1/tr(K), f -> inf ({how})"
    else:
        how = {"derived": "balancing " + " and ".join(t[0] for t in co.terms) if co.terms else "",
               "quoted": "quoted from the source (lr ~ 1/tr(D), v ~ d)", "open": "not known (phase IV)"}[co.status]
        valid = f"phase {co.phase}, fixed batch, lr ~ 1/tr(K), f -> inf ({how})"
    out = {
        "xi": prediction(__name__, params, "xi", co.xi, "d* ~ f^xi", valid, f"{_PAQUETTE}, Table 2 / Sec. 3"),
        "eta": prediction(__name__, params, "eta", co.eta, "P*(f) ~ f^-eta", valid, f"{_PAQUETTE}, Table 2 / Sec. 3"),
    }
    if 2 * alpha > 1:
        p, _ = loss_terms(alpha, beta)["F0"]
        out["floor"] = prediction(__name__, params, "floor", p, "2 alpha - max(0, 1 - 2 beta)",
                                  "2 alpha > 1, v/d -> inf, d -> inf" + (" (times log d on 2 beta = 1)"
                                                                         if co.phase == "Ia/II boundary" else ""),
                                  f"{_PAQUETTE}, F_0 asymptotics")
    return out


def plrf_spectrum(alpha, beta, v: int):
    """PLRF input spectrum and squared target coefficients (Paquette et al. 2024, Sec. 2).

    Args:
      alpha: data exponent (> 0); beta: target exponent (> 0); may be traced (differentiable).
      v: input dimension (static).

    Returns:
      ``(lam, w2)``, each ``[v]``: ``lam_j = j^-2 alpha``, ``w2_j = b_j^2 = j^-2 beta``.
    """
    _check(alpha, beta)
    return power_law(int(v), 2.0 * as_float(alpha)), power_law(int(v), 2.0 * as_float(beta))


def plrf_f0(alpha, beta, *, d, v: int):
    """The approximation floor F_0(d) = ``(1/2) kappa2 tf(kappa2)`` with ``df1(kappa2) = d``.

    The ridgeless linear-RF deterministic equivalent (:func:`scalesim.theory.random_features.rf_error`)
    at N = d, P = inf, halved (risk = MSE/2). Asymptotically
    ``F_0 ~ d^(-2 alpha + max(0, 1 - 2 beta))`` (Paquette et al. 2024, F_0).

    Args:
      alpha, beta: PLRF exponents.
      d: model size (keyword-only, like every size in this package).
      v: input dimension (keyword-only; > d).

    Returns:
      scalar risk (MSE/2; units of the target variance).
    """
    if int(v) <= int(d):
        raise ValueError(f"v must be > d = {d}; got {v}")
    lam, w2 = plrf_spectrum(alpha, beta, v)
    return 0.5 * rf.rf_error(lam, w2, n_features=d, n_samples=jnp.inf, ridge=0.0)


def plrf_f0_continuum(alpha, beta, *, d, v: int):
    """Paquette et al.'s F_0 with the v/d -> inf kappa (their ``theory_limit_loss``, 2 alpha > 1).

    ``F_0 = (1/2) sum_j j^-2(alpha+beta) / (1 + kappa d^(2 alpha) j^-2 alpha)``,
    ``kappa = c^-2alpha``, ``c = int_0^inf dx/(1 + x^(2 alpha)) = (pi/2alpha)/sin(pi/2alpha)``.

    Args:
      alpha: data exponent (2 alpha > 1); beta: target exponent.
      d: model size (keyword-only). v: modes summed (keyword-only).

    Returns:
      scalar risk (MSE/2; units of the target variance).
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
    the MSE of the best predictor (the irreducible error acts as independent Gaussian noise;
    Paquette et al. 2024, Sec. 2, the PLRF risk ``(1/2)|D^(1/2)(W theta - b)|^2``).

    Args:
      w: embedding ``[v, d]`` (``W_ij ~ N(0, 1/d)``). alpha, beta: PLRF exponents.

    Returns:
      ``(lam_K [d], c0 [d], sigma2)``: eigenvalues of K (units of the input variance), squared
      initial errors per mode, and the irreducible MSE (units of the MSE).
    """
    _check(alpha, beta)
    emb = plrf_embedding(w, alpha)
    return (emb.lam,) + _target(emb, beta)


class Embedding(NamedTuple):
    """The beta-independent part of one PLRF draw (:func:`plrf_embedding`)."""

    w: jnp.ndarray     # [v, d] embedding W
    dg: jnp.ndarray    # [v] input spectrum j^-2 alpha
    lam: jnp.ndarray   # [d] eigenvalues of K = W^T D W
    q: jnp.ndarray     # [d, d] eigenvectors of K (columns)


def plrf_embedding(w, alpha) -> Embedding:
    """The eigendecomposition of ``K = W^T D W``, shared by every target exponent beta.

    ``K`` depends on ``W`` and alpha only (``D = diag(j^-2 alpha)``, Paquette et al. 2024,
    Sec. 2), so a sweep over beta needs one ``eigh`` of it (:func:`plrf_sgd_risk_betas`).

    Args:
      w: embedding ``[v, d]``. alpha: data exponent (> 0).

    Returns:
      :class:`Embedding` ``(w, dg [v], lam [d], q [d, d])``.
    """
    check_range("alpha", alpha, lo=0.0, lo_open=True)
    dg = power_law(int(w.shape[0]), 2.0 * as_float(alpha))
    k = w.T @ (dg[:, None] * w)
    lam, q = jnp.linalg.eigh(k)
    return Embedding(w, dg, lam, q)


def _target(emb: Embedding, beta):
    """``(c0 [d], sigma2)`` of target exponent beta on a decomposed embedding (O(v d + d^2))."""
    w, dg, lam, q = emb
    b = jnp.sqrt(power_law(int(w.shape[0]), 2.0 * as_float(beta)))
    rhs = w.T @ (dg * b)
    coef = (q.T @ rhs) / lam                   # theta* in the eigenbasis
    theta = q @ coef
    resid = w @ theta - b
    return coef ** 2, jnp.sum(dg * resid * resid)


def plrf_sgd_risk(w, alpha, beta, lr_scale, batch: int, t):
    """Exact expected SGD risk (MSE/2) of one W draw at steps ``t``; lr = lr_scale / tr(K).

    Batch-mean one-pass SGD from theta_0 = 0 on the least-squares problem of :func:`plrf_problem`,
    by the closed form :func:`scalesim.theory.linear_sgd.sgd_risk_at` (one ``eigh`` of the
    recursion matrix); the deterministic-equivalent SGD risk of Paquette et al. 2024 (Sec. 3,
    their Volterra equation) conditional on W. For several beta on the same W use
    :func:`plrf_sgd_risk_betas` (both eigendecompositions shared).

    Args:
      w: embedding ``[v, d]``. alpha, beta: PLRF exponents.
      lr_scale: learning rate in units of ``1 / tr(K)``.
      batch: batch size B (static).
      t: step counts (array).

    Returns:
      ``(risk [t.shape], lr, kernel_norm)``: risk in units of the MSE/2, lr in units of
      ``1/lam_K``; SGD is stable when ``kernel_norm < 1``.
    """
    lam, c0, sigma2 = plrf_problem(w, alpha, beta)
    lr = lr_scale / jnp.sum(lam)
    risk = 0.5 * linear_sgd.sgd_risk_at(lam, c0, lr, batch, sigma2, t)
    return risk, lr, linear_sgd.kernel_norm(lam, lr, batch)


def plrf_sgd_risk_betas(w, alpha, betas, lr_scale, batch: int, t):
    """:func:`plrf_sgd_risk` for several target exponents on one W: two ``eigh`` in all.

    ``K = W^T D W`` and the SGD recursion matrix (hence lr and the kernel norm) do not depend on
    beta (Paquette et al. 2024, Sec. 2-3); only ``c0`` and the irreducible error do. So the
    eigendecompositions of K (:func:`plrf_embedding`) and of the recursion matrix
    (:func:`scalesim.theory.linear_sgd.sgd_risk_at_many`) are computed once and every beta
    costs O(v d + d^2 + d |t|). Equal to per-beta :func:`plrf_sgd_risk` calls to round-off.

    Args:
      w: embedding ``[v, d]``. alpha: data exponent.
      betas: target exponents ``[n]`` (concrete values are validated with alpha).
      lr_scale: learning rate in units of ``1 / tr(K)``.
      batch: batch size B (static).
      t: step counts (array).

    Returns:
      ``(risk [n, *t.shape], lr, kernel_norm)``: risk in units of the MSE/2; lr and the kernel
      norm are shared by every beta.
    """
    betas = as_float(betas)
    if is_concrete(alpha, betas):
        for beta in np.atleast_1d(np.asarray(betas)):
            _check(alpha, float(beta))
    emb = plrf_embedding(w, alpha)
    c0, sigma2 = jax.vmap(lambda beta: _target(emb, beta))(betas)
    lr = lr_scale / jnp.sum(emb.lam)
    risk = 0.5 * linear_sgd.sgd_risk_at_many(emb.lam, c0, lr, batch, sigma2, t)
    return risk, lr, linear_sgd.kernel_norm(emb.lam, lr, batch)


# --------------------------------------------------------------------------- phases
_BOUNDARY_TOL = 1e-12   # |beta - alpha|, |2 beta - 1| below this (relative) are on a boundary

# the boundaries with 2 alpha > 1 where two derived phases meet, and the phases on either side
BOUNDARIES = {"Ia/II boundary": ("Ia", "II"), "II/III boundary": ("II", "III")}


def _on(x: float, y: float) -> bool:
    return abs(x - y) <= _BOUNDARY_TOL * max(1.0, abs(x), abs(y))


def paquette_phase(alpha: float, beta: float) -> str:
    """Phase of (alpha, beta) in Paquette et al. 2024's phase diagram (their Fig. 1).

    Points on the two boundaries between derived phases (``2 alpha > 1``) are labelled as
    boundaries, not as either phase: ``"Ia/II boundary"`` (``2 beta = 1``) and
    ``"II/III boundary"`` (``beta = alpha``; Paquette et al.'s own compute-optimal example
    ``alpha = beta = 0.7`` lies on it). Equality is to a relative 1e-12.

    Args:
      alpha, beta: PLRF exponents (``alpha + beta > 1/2``).

    Returns:
      one of ``"Ia"``, ``"Ib"``, ``"Ic"``, ``"II"``, ``"III"``, ``"IV"``, ``"Ib/Ic-boundary"``,
      ``"Ia/II boundary"``, ``"II/III boundary"``.
    """
    _check(alpha, beta)
    if 2 * alpha > 1:
        if _on(2 * beta, 1.0):
            return "Ia/II boundary"
        if _on(beta, alpha):
            return "II/III boundary"
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
    """Compute-optimal exponents of one phase point (:func:`compute_optimal_exponents`)."""

    phase: str
    xi: float        # d* ~ f^xi
    eta: float       # P*(f) ~ f^-eta
    status: str      # "derived" (balance_exponents), "boundary" (common limit of the two
                     # neighbouring derived phases), "quoted" (the source's formula) or "open"
    terms: tuple     # the balanced terms (name, p, q): two for derived phases, three on a boundary


def balance_exponents(term1, term2):
    """Compute-optimal exponents from balancing two terms ``d^-p r^-q`` at fixed ``f = d r``.

    With ``r = f/d`` each term is ``f^-q d^(q-p)``; equating them gives
    ``xi = (q1 - q2) / ((q1 - p1) - (q2 - p2))`` and ``eta = q1 - xi (q1 - p1)``.

    Args:
      term1, term2: ``(p, q)`` exponent pairs.

    Returns:
      ``(xi, eta)``.
    """
    (p1, q1), (p2, q2) = term1, term2
    xi = (q1 - q2) / ((q1 - p1) - (q2 - p2))
    return xi, q1 - xi * (q1 - p1)


def loss_terms(alpha: float, beta: float) -> dict:
    """Exponents (p, q) of the PLRF risk terms ``d^-p r^-q`` (Paquette et al. 2024, 2 alpha > 1).

    F_0 ~ d^-(2 alpha - max(0, 1 - 2 beta)); F_pp ~ r^-(2 alpha + 2 beta - 1)/(2 alpha);
    F_ac ~ d^-1 r^-(1 - 1/(2 alpha)) (only for 2 beta > 1); K_pp ~ r^-(2 - 1/(2 alpha)).

    Args:
      alpha, beta: PLRF exponents.

    Returns:
      ``{"F0", "Fpp", "Fac", "Kpp"}`` -> ``(p, q)``.
    """
    e = 2 * alpha + 2 * beta - 1
    return {"F0": (2 * alpha - max(0.0, 1 - 2 * beta), 0.0), "Fpp": (0.0, e / (2 * alpha)),
            "Fac": (1.0, 1 - 1 / (2 * alpha)), "Kpp": (0.0, 2 - 1 / (2 * alpha))}


_BALANCED = {"Ia": ("Fpp", "F0"), "II": ("Fpp", "Fac"), "III": ("Kpp", "Fac")}


def compute_optimal_exponents(alpha: float, beta: float) -> ComputeOptimal:
    """Compute-optimal (xi, eta) of PLRF + one-pass SGD at fixed batch (Paquette et al. 2024).

    Derived here (by :func:`balance_exponents` on :func:`loss_terms`): Ia (F_pp vs F_0),
    II (F_pp vs F_ac), III (K_pp vs F_ac) — continuous at 2 beta = 1 and beta = alpha.
    On those two boundaries (``2 alpha > 1``; :func:`paquette_phase` labels them
    ``"Ia/II boundary"``, ``"II/III boundary"``) the result is the common limit of both
    neighbouring phases' formulas (status ``"boundary"``): at beta = alpha, F_pp and K_pp
    decay alike and ``xi = 1/2``, ``eta = 1 - 1/(4 alpha)``; at 2 beta = 1, F_0 and F_ac give
    the same balance with F_pp and ``xi = 1/(2 alpha + 1)``, ``eta = 2 alpha/(2 alpha + 1)``.
    This is continuity, not a separate derivation: on a boundary two terms of the same order
    add (and at 2 beta = 1 the F_0 and F_ac prefactors grow like ``log d``), so corrections are
    at most logarithmic and finite-size drift is slow (Paquette et al. stress it).
    Quoted (assuming lr ~ 1/tr(D) and v ~ d; not re-derived here): Ib (xi = 1/2,
    eta = alpha + beta - 1/2) and Ic. Phase IV: not known from the sources (NaN).
    :func:`exponents` declares the result.

    Args:
      alpha, beta: PLRF exponents.

    Returns:
      :class:`ComputeOptimal`; on a boundary ``terms`` lists the terms of both neighbouring
      balances (the shared one first).
    """
    phase = paquette_phase(alpha, beta)
    t = loss_terms(alpha, beta)
    if phase in _BALANCED:
        n1, n2 = _BALANCED[phase]
        xi, eta = balance_exponents(t[n1], t[n2])
        return ComputeOptimal(phase, xi, eta, "derived", ((n1,) + t[n1], (n2,) + t[n2]))
    if phase in BOUNDARIES:
        pairs = [_BALANCED[p] for p in BOUNDARIES[phase]]
        (xi, eta), (xi2, eta2) = (balance_exponents(t[a], t[b]) for a, b in pairs)
        assert abs(xi - xi2) < 1e-9 and abs(eta - eta2) < 1e-9, (phase, xi, xi2, eta, eta2)
        names = list(dict.fromkeys(n for pair in pairs for n in pair))
        names.sort(key=lambda n: -sum(n in pair for pair in pairs))   # the shared term first
        return ComputeOptimal(phase, xi, eta, "boundary", tuple((n,) + t[n] for n in names))
    if phase == "Ib":
        return ComputeOptimal(phase, 0.5, alpha + beta - 0.5, "quoted", ())
    if phase == "Ic":
        xi = 1.0 / (2 - 2 * alpha + 4 * alpha**2 / (2 * alpha + 2 * beta - 1))
        return ComputeOptimal(phase, xi, 2 * alpha * xi, "quoted", ())
    return ComputeOptimal(phase, float("nan"), float("nan"), "open", ())


# the fitted compute-optimal exponents live in a private module; its public names are re-exported here
from ._plrf_fit import (ComputeOptimalFit, compute_grid, compute_optimal_fit, compute_optimal_fits,  # noqa: E402
                        compute_optimal_frontier, exact_risk_draws, frontier_slopes, frontier_window,
                        nested_draw)
