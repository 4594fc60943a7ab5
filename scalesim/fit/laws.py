"""More scaling laws behind one interface, fitted like Approach 3 (log-Huber, multi-start).

A ``Law`` maps an unconstrained parameter vector theta and a dict of inputs X to the
predicted log loss. ``fit_law`` minimises sum_i Huber_delta(log y_hat_i - log y_i)
(Hoffmann et al. 2022 App. D.2's objective, delta = 1e-3; ``optax.losses.huber_loss``) from
every row of the law's start grid with batched L-BFGS (``minimize_queue``) and keeps the best.
``extrapolation_error`` compares laws on held-out points (the mean absolute relative error of
Choshen et al. 2025, "A Hitchhiker's Guide to Scaling Law Estimation", Sec. 3, computed on
the largest runs).

Laws:
- ``CHINCHILLA``: L = E + A N^-alpha + B D^-beta (Hoffmann et al. 2022 Eq. 2).
- ``KAPLAN``: L = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D (Kaplan et al. 2020 Eq. 1.5).
- ``FARSEER``: L = exp(a3 n^g + b3) + exp(a2 n^h + b2) D^(-exp(a1 n^k + b1)), n = N / 1e9
  (Li et al. 2025, "Farseer", arXiv 2506.10972, Eq. 3; the 1e9 rescaling of N is ours, for
  conditioning).
- ``BNSL1``: y = a + b x^-c0 (1 + (x/d1)^(1/f1))^(-c1 f1) (Caballero et al. 2023, Eq. 1,
  one break).
- ``LR_ANNEALING``: L = L0 + A S1^-alpha - C S2 (Tissue et al. 2024, arXiv 2408.11029,
  Eq. 1), with S1, S2 from ``annealing_areas``.
- ``MUENNIGHOFF``: L = E + A N^-alpha + B D'^-beta, D' = U + U R* (1 - exp(-R/R*)),
  R = D/U - 1 (Muennighoff et al. 2023, Eq. 5; the parameter-repetition term N' is
  omitted: N' = N).
M4 (Alabdulmohsin et al. 2022) and the pass@k Beta-binomial are in ``scalesim.fit.curves``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from scalesim.fit.chinchilla import log_loss_lse
from scalesim.fit.optim import minimize_queue

__all__ = ["Law", "LawFit", "fit_law", "extrapolation_error", "annealing_areas", "LAWS",
           "CHINCHILLA", "KAPLAN", "FARSEER", "BNSL1", "LR_ANNEALING", "MUENNIGHOFF"]


@dataclass(frozen=True, eq=False)
class Law:
    """A scaling law for :func:`fit_law`.

    Attributes:
      name: short name (key of :data:`LAWS`).
      inputs: names of the input columns of ``X`` (e.g. ``("N", "D")``).
      log_predict: ``(theta, X) -> log y_hat`` (jax; theta unconstrained).
      starts: ``(X, y) -> [S, P]`` start grid for the multi-start fit.
      to_params: ``theta -> dict`` of named (constrained) parameters.
      objective: ``sum_i w_i Huber_delta(log y_hat_i - log y_i)``, built once per law.
    """

    name: str
    inputs: tuple
    log_predict: Callable
    starts: Callable
    to_params: Callable
    objective: Callable = field(init=False, repr=False)

    def __post_init__(self):
        log_predict = self.log_predict

        def objective(theta, args):   # one function object per law: jit cache hits
            X, logy, w, delta = args
            r = log_predict(theta, X) - logy
            return jnp.sum(w * optax.losses.huber_loss(r, delta=delta))

        object.__setattr__(self, "objective", objective)


@dataclass(frozen=True)
class LawFit:
    """The best start of :func:`fit_law`: ``theta``, named ``params``, objective, gradient norm."""

    law: Law
    theta: np.ndarray
    params: dict
    objective: float
    grad_norm: float
    n_points: int

    def predict(self, X) -> np.ndarray:
        """The fitted law at new inputs.

        Args:
          X: dict of arrays named as ``law.inputs``.

        Returns:
          Predicted y (float64 NumPy array).
        """
        with jax.enable_x64(True):
            Xj = {k: jnp.asarray(np.asarray(X[k], np.float64)) for k in self.law.inputs}
            return np.exp(np.asarray(self.law.log_predict(jnp.asarray(self.theta), Xj)))


def _prepare(law, X, y):
    missing = [k for k in law.inputs if k not in X]
    if missing:
        raise ValueError(f"X: law {law.name} needs inputs {list(law.inputs)}, missing {missing}")
    y = np.asarray(y, np.float64).reshape(-1)
    Xn = {k: np.asarray(X[k], np.float64).reshape(-1) for k in law.inputs}
    for k, v in list(Xn.items()) + [("y", y)]:
        if len(v) != len(y):
            raise ValueError(f"{k}: length {len(v)} differs from y ({len(y)})")
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{k}: contains NaN or infinite values")
    if np.any(y <= 0):
        raise ValueError("y: all values must be > 0 (the fit is on log y)")
    return Xn, y


def fit_law(law: Law, X: dict, y, *, delta: float = 1e-3, starts=None, gtol: float = 1e-10,
            max_iter: int = 2000) -> LawFit:
    """Fit ``law`` to (X, y) by log-Huber minimisation from every start (Hoffmann et al. 2022,
    App. D.2's objective); the best start is kept. Float64.

    Args:
      law: a :class:`Law` (e.g. ``KAPLAN``, ``BNSL1``).
      X: dict of 1-D input arrays named as ``law.inputs`` (N parameters, D tokens, ...).
      y: target values (> 0; loss in nats or an error rate).
      delta: Huber threshold on log residuals.
      starts: ``[S, P]`` starts (default ``law.starts(X, y)``).
      gtol: gradient-norm tolerance of L-BFGS.
      max_iter: iteration cap per start.

    Returns:
      :class:`LawFit` of the start with the lowest objective.

    Raises:
      ValueError: bad inputs, or no start reached a finite objective.
    """
    Xn, y = _prepare(law, X, y)
    x0 = np.asarray(law.starts(Xn, y) if starts is None else starts, np.float64)
    with jax.enable_x64(True):
        args = ({k: jnp.asarray(v) for k, v in Xn.items()}, jnp.log(jnp.asarray(y)),
                jnp.ones(len(y)), jnp.asarray(delta, jnp.float64))
        res = minimize_queue(law.objective, jnp.asarray(x0), args, gtol=gtol, ftol=1e-12,
                             max_iter=max_iter, width=min(64, len(x0)))
    i = res.best()
    if not np.isfinite(res.value[i]):
        raise ValueError(f"{law.name}: no start reached a finite objective")
    return LawFit(law=law, theta=res.x[i], params=law.to_params(res.x[i]),
                  objective=float(res.value[i]), grad_norm=float(res.grad_norm[i]),
                  n_points=len(y))


def extrapolation_error(fit: LawFit, X: dict, y) -> float:
    """Mean absolute relative error of a fit on held-out points (Choshen et al. 2025, Sec. 3).

    Args:
      fit: a :class:`LawFit`.
      X: dict of held-out inputs.
      y: held-out targets (> 0).

    Returns:
      ``mean |y_hat - y| / y`` (dimensionless).
    """
    y = np.asarray(y, np.float64)
    return float(np.mean(np.abs(fit.predict(X) - y) / y))


def _grid(*axes):
    return np.array(list(itertools.product(*axes)), dtype=np.float64)


# --- Chinchilla --------------------------------------------------------------------------
def _chin_logp(t, X):
    return log_loss_lse(t, jnp.log(X["N"]), jnp.log(X["D"]))


CHINCHILLA = Law(
    "chinchilla", ("N", "D"), _chin_logp,
    lambda X, y: _grid([0, 10, 20], [0, 10, 20], [-1, 0, 1], [0.1, 0.5, 1.0],
                       [0.1, 0.5, 1.0]),
    lambda t: {"E": float(np.exp(t[2])), "A": float(np.exp(t[0])), "B": float(np.exp(t[1])),
               "alpha": float(t[3]), "beta": float(t[4])})


# --- Kaplan ------------------------------------------------------------------------------
def _kaplan_logp(t, X):
    lNc, lDc, aN, aD = t[0], t[1], t[2], t[3]
    return aD * jnp.logaddexp(aN / aD * (lNc - jnp.log(X["N"])), lDc - jnp.log(X["D"]))


KAPLAN = Law(
    "kaplan", ("N", "D"), _kaplan_logp,
    lambda X, y: _grid(np.log([1e10, 1e13, 1e16]), np.log([1e10, 1e13, 1e16]),
                       [0.03, 0.08, 0.2], [0.03, 0.1, 0.3]),
    lambda t: {"N_c": float(np.exp(t[0])), "D_c": float(np.exp(t[1])),
               "alpha_N": float(t[2]), "alpha_D": float(t[3])})


# --- Farseer -----------------------------------------------------------------------------
def _farseer_logp(t, X):
    n = X["N"] / 1e9
    a3, b3, g, a2, b2, h, a1, b1, k = (t[i] for i in range(9))
    first = a3 * n ** g + b3
    data_exp = jnp.exp(a1 * n ** k + b1)
    second = a2 * n ** h + b2 - data_exp * jnp.log(X["D"])
    return jnp.logaddexp(first, second)


def _farseer_starts(X, y):
    rows = []
    for g, h, k in itertools.product([-0.3, 0.3], [-0.3, 0.3], [-0.3, 0.3]):
        for b2, b1 in itertools.product([3.0, 6.0, 9.0], [np.log(0.2), np.log(0.4)]):
            rows.append([0.2, np.log(np.min(y)) - 0.2, g, 0.0, b2, h, 0.0, b1, k])
    return np.array(rows)


FARSEER = Law(
    "farseer", ("N", "D"), _farseer_logp, _farseer_starts,
    lambda t: dict(zip(("a3", "b3", "gamma", "a2", "b2", "beta", "a1", "b1", "alpha"),
                       map(float, t))))


# --- BNSL, one break ---------------------------------------------------------------------
def _bnsl_logp(t, X):
    la, lb, c0, ld, c1, lf = (t[i] for i in range(6))
    lx = jnp.log(X["x"])
    f = jnp.exp(lf)
    power = lb - c0 * lx - c1 * f * jax.nn.softplus((lx - ld) / f)
    return jnp.logaddexp(la, power)


def _bnsl_starts(X, y):
    lx = np.log(X["x"])
    return _grid([np.log(0.05 * y.min()), np.log(0.5 * y.min())],
                 [np.log(y.max()), np.log(y.max()) + 3],
                 [0.0, 0.3], np.quantile(lx, [0.25, 0.5, 0.75, 0.95]), [0.5, 2.0, 8.0],
                 [np.log(0.1), np.log(1.0)])


BNSL1 = Law(
    "bnsl1", ("x",), _bnsl_logp, _bnsl_starts,
    lambda t: {"a": float(np.exp(t[0])), "b": float(np.exp(t[1])), "c0": float(t[2]),
               "d1": float(np.exp(t[3])), "c1": float(t[4]), "f1": float(np.exp(t[5]))})


# --- LR annealing (Tissue et al.) --------------------------------------------------------
def annealing_areas(lrs, lam: float = 0.999):
    """Forward and annealing areas of a learning-rate schedule (Tissue et al. 2024, Eq. 1-2).

    Args:
      lrs: learning rate per step, ``[steps]``, >= 0, at least 2 steps.
      lam: momentum of the annealing area, in [0, 1).

    Returns:
      ``(S1, S2)`` per step: ``S1`` the cumulative sum of eta; ``S2`` the cumulative sum of
      ``m_i = lam m_{i-1} + (eta_{i-1} - eta_i)``.
    """
    lrs = np.asarray(lrs, np.float64)
    if lrs.ndim != 1 or len(lrs) < 2 or np.any(lrs < 0):
        raise ValueError("lrs: need a 1-D schedule of >= 2 non-negative learning rates")
    if not 0 <= lam < 1:
        raise ValueError(f"lam: must be in [0, 1), got {lam}")
    S1 = np.cumsum(lrs)
    drops = np.concatenate([[0.0], lrs[:-1] - lrs[1:]])
    m = np.zeros_like(lrs)
    acc = 0.0
    for i, d in enumerate(drops):
        acc = lam * acc + d
        m[i] = acc
    return S1, np.cumsum(m)


def _anneal_logp(t, X):
    inside = (jnp.exp(t[0]) + jnp.exp(t[1]) * X["S1"] ** -t[2]
              - jnp.exp(t[3]) * X["S2"])
    return jnp.where(inside > 0, jnp.log(jnp.where(inside > 0, inside, 1.0)), jnp.nan)


LR_ANNEALING = Law(
    "lr_annealing", ("S1", "S2"), _anneal_logp,
    lambda X, y: _grid([np.log(0.5 * y.min()), np.log(0.9 * y.min())],
                       [np.log(y.max()), np.log(y.max()) + 2], [0.2, 0.5, 1.0],
                       [np.log(1e-3 * y.min() / max(X["S2"].max(), 1e-12)),
                        np.log(0.1 * y.min() / max(X["S2"].max(), 1e-12))]),
    lambda t: {"L0": float(np.exp(t[0])), "A": float(np.exp(t[1])), "alpha": float(t[2]),
               "C": float(np.exp(t[3]))})


# --- Muennighoff data-constrained -------------------------------------------------------
def _muen_logp(t, X):
    U, D = X["U"], X["D"]
    Rstar = jnp.exp(t[5])
    R = jnp.maximum(D / U - 1.0, 0.0)
    Dp = U + U * Rstar * (1.0 - jnp.exp(-R / Rstar))
    return log_loss_lse(t, jnp.log(X["N"]), jnp.log(Dp))   # Chinchilla form with D -> D'(U, D)


MUENNIGHOFF = Law(
    "muennighoff", ("N", "D", "U"), _muen_logp,
    lambda X, y: _grid([0, 5, 10], [0, 5, 10], [0.0, 0.5], [0.2, 0.4], [0.2, 0.4],
                       np.log([1.0, 5.0, 20.0])),
    lambda t: {"A": float(np.exp(t[0])), "B": float(np.exp(t[1])), "E": float(np.exp(t[2])),
               "alpha": float(t[3]), "beta": float(t[4]), "R_star": float(np.exp(t[5]))})

LAWS = {law.name: law for law in (CHINCHILLA, KAPLAN, FARSEER, BNSL1, LR_ANNEALING,
                                  MUENNIGHOFF)}
