"""The Chinchilla law L(N, D) = E + A N^-alpha + B D^-beta and its Approach-3 fit.

Approach 3 (Hoffmann et al. 2022, App. D.2; replicated by Besiroglu et al. 2024, arXiv
2404.10102): with theta = (a, b, e, alpha, beta), A = e^a, B = e^b, E = e^e,

    log L_hat(N, D) = LSE(a - alpha log N, b - beta log D, e)                  (D.2)
    objective(theta) = sum_i Huber_delta(log L_hat_i - log L_i),  delta = 1e-3,

summed, not averaged (Besiroglu et al. 2024, Sec. 3: the original fit stopped early),
minimised with L-BFGS from every point of the 4,500-point Hoffmann grid in one vmapped batch;
the best start is kept and its gradient norm reported. Huber_delta is
``optax.losses.huber_loss`` (Huber 1964): r^2/2 for |r| <= delta, delta (|r| - delta/2)
otherwise.

Also here: the data checks shared by every Chinchilla-form estimator and the result record
``ChinchillaFit`` (params, objective, compute-optimal exponents a = beta/(alpha+beta),
b = alpha/(alpha+beta)).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
import optax

from scalesim.fit.optim import minimize_queue

__all__ = [
    "PARAM_NAMES", "HOFFMANN_PARAMS", "ChinchillaFit", "check_data", "chinchilla_loss",
    "log_loss_lse", "approach3_objective", "hoffmann_grid", "fit_approach3",
    "params_from_theta", "theta_from_params",
]

PARAM_NAMES = ("E", "A", "B", "alpha", "beta")

#: Hoffmann et al. (2022) Approach 3 as printed (Sec. 3.3, Eq. 10).
HOFFMANN_PARAMS = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


def check_data(N, D, L, *, min_points: int = 5):
    """Validate (N, D, L) for a Chinchilla-form fit and convert them to float64 arrays.

    Args:
      N: parameter counts (> 0).
      D: training tokens (> 0).
      L: losses (> 0, nats per token).
      min_points: the fewest points the estimator accepts.

    Returns:
      ``(N, D, L)`` as 1-D float64 NumPy arrays of one length.

    Raises:
      ValueError: naming the array and the problem (non-numeric, NaN/inf, <= 0, lengths, too few).
    """
    out = []
    for name, v in (("N", N), ("D", D), ("L", L)):
        try:
            arr = np.asarray(v, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}: values must be numeric ({exc})") from None
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name}: contains NaN or infinite values")
        if np.any(arr <= 0):
            raise ValueError(f"{name}: all values must be > 0 (got min {arr.min():.4g})")
        out.append(arr)
    n = {len(a) for a in out}
    if len(n) != 1:
        raise ValueError(f"N, D, L: lengths differ ({[len(a) for a in out]})")
    if len(out[0]) < min_points:
        raise ValueError(f"need at least {min_points} points for this law, got {len(out[0])}")
    return tuple(out)


def chinchilla_loss(params, N, D):
    """The Chinchilla law L = E + A N^-alpha + B D^-beta (Hoffmann et al. 2022, Eq. 2).

    Args:
      params: dict with ``E``, ``A``, ``B``, ``alpha``, ``beta``.
      N: parameter counts (NumPy or JAX array).
      D: training tokens, broadcastable against ``N``.

    Returns:
      The predicted loss, same units as ``E`` (nats per token for language models).
    """
    return params["E"] + params["A"] * N ** -params["alpha"] + params["B"] * D ** -params["beta"]


def params_from_theta(theta) -> dict:
    """Named parameters from the log-parametrisation of Hoffmann et al. 2022, App. D.2.

    Args:
      theta: ``(a, b, e, alpha, beta)`` with ``A = e^a``, ``B = e^b``, ``E = e^e``.

    Returns:
      ``{"E", "A", "B", "alpha", "beta"}`` as floats.
    """
    a, b, e, alpha, beta = (float(t) for t in np.asarray(theta))
    return {"E": float(np.exp(e)), "A": float(np.exp(a)), "B": float(np.exp(b)),
            "alpha": alpha, "beta": beta}


def theta_from_params(p) -> np.ndarray:
    """Inverse of :func:`params_from_theta`.

    Args:
      p: dict with ``E``, ``A``, ``B`` (> 0), ``alpha``, ``beta``.

    Returns:
      float64 array ``(log A, log B, log E, alpha, beta)``.
    """
    return np.array([np.log(p["A"]), np.log(p["B"]), np.log(p["E"]), p["alpha"], p["beta"]])


def log_loss_lse(theta, logN, logD):
    """Log of the Chinchilla law as a log-sum-exp (Hoffmann et al. 2022, App. D.2).

    Args:
      theta: ``(a, b, e, alpha, beta)`` (see :func:`params_from_theta`).
      logN: natural log of the parameter counts.
      logD: natural log of the training tokens, same shape as ``logN``.

    Returns:
      ``log L_hat = LSE(a - alpha log N, b - beta log D, e)``, shape of ``logN``.
    """
    a, b, e, alpha, beta = theta[0], theta[1], theta[2], theta[3], theta[4]
    terms = jnp.stack([a - alpha * logN, b - beta * logD, jnp.broadcast_to(e, logN.shape)])
    return jax.nn.logsumexp(terms, axis=0)


def approach3_objective(theta, args):
    """The Approach-3 objective (Hoffmann et al. 2022, App. D.2, summed as Besiroglu et al. 2024).

    Args:
      theta: ``(a, b, e, alpha, beta)``.
      args: ``(logN, logD, logL, w, delta)``: log data, per-point weights (bootstrap counts)
        and the Huber threshold (1e-3 in both papers).

    Returns:
      ``sum_i w_i Huber_delta(LSE_i(theta) - log L_i)`` (scalar).
    """
    logN, logD, logL, w, delta = args
    r = log_loss_lse(theta, logN, logD) - logL
    return jnp.sum(w * optax.losses.huber_loss(r, delta=delta))


def hoffmann_grid() -> np.ndarray:
    """The 4,500-start initialisation grid of Hoffmann et al. 2022, App. D.2.

    alpha, beta in {0, 0.5, ..., 2}; e in {-1, -0.5, ..., 1}; a, b in {0, 5, ..., 25}, in the
    order of Besiroglu et al.'s (2024) replication notebook.

    Returns:
      float64 array ``[4500, 5]`` of rows ``(a, b, e, alpha, beta)``.
    """
    alphas = betas = np.linspace(0.0, 2.0, 5)
    es = np.linspace(-1.0, 1.0, 5)
    ab = np.arange(0.0, 30.0, 5.0)
    rows = [(a, b, e, al, be) for al, be, e, a, b in itertools.product(alphas, betas, es, ab, ab)]
    return np.array(rows, dtype=np.float64)


@dataclass(frozen=True)
class ChinchillaFit:
    """A fitted Chinchilla law (Hoffmann et al. 2022, Eq. 2).

    Attributes:
      method: the estimator (``"approach3"``, ``"vpnls"``, ``"huber_likelihood"``).
      params: ``E``, ``A``, ``B``, ``alpha``, ``beta`` (floats).
      objective: the estimator's objective at the optimum.
      n_points: points fitted.
      grad_norm: gradient 2-norm at the optimum (check it: early stopping biased the original fit).
      converged: whether the estimator's stopping rule was met.
      extra: estimator-specific diagnostics.
    """

    method: str
    params: dict
    objective: float
    n_points: int
    grad_norm: float = float("nan")
    converged: bool = True
    extra: dict = field(default_factory=dict)

    @property
    def a(self) -> float:
        """Compute-optimal exponent N* ∝ C^a, a = beta/(alpha+beta) (Hoffmann et al. Eq. 4)."""
        return self.params["beta"] / (self.params["alpha"] + self.params["beta"])

    @property
    def b(self) -> float:
        """Compute-optimal exponent D* ∝ C^b, b = alpha/(alpha+beta) (Hoffmann et al. Eq. 4)."""
        return self.params["alpha"] / (self.params["alpha"] + self.params["beta"])

    def predict(self, N, D):
        """The fitted law at (N parameters, D tokens).

        Args:
          N, D: broadcastable arrays of parameters and tokens.

        Returns:
          The predicted loss (float64 NumPy array).
        """
        return np.asarray(chinchilla_loss(self.params, np.asarray(N, np.float64),
                                          np.asarray(D, np.float64)))

    def to_dict(self) -> dict:
        """Method, params, objective, diagnostics and the exponents a, b as a plain dict."""
        return {"method": self.method, "params": dict(self.params),
                "objective": self.objective, "n_points": self.n_points,
                "grad_norm": self.grad_norm, "converged": self.converged,
                "a": self.a, "b": self.b}


_EXP_CLIP = {jnp.dtype(jnp.float64): 700.0,   # exp(+-clip) stays finite and nonzero
             jnp.dtype(jnp.float32): 80.0}     # (float32: the stage-1 screen of Approach 3)


def _huber_lse_fwd_parts(theta, cN, cD, logL, w, delta):
    """Residuals r = LSE - log L and the softmax weights (pu, pv, pe) of the three terms.

    The LSE is taken without a max shift, with each log-term clipped to +-700 so exp stays
    finite and nonzero in float64: exp(e) is then one scalar per start and each point
    costs 2 exp + 1 log. Only starts whose predicted loss leaves [e^-700, e^700] see the
    clip (their gradient in the clipped term vanishes), never a sensible fit.
    """
    c = _EXP_CLIP[jnp.dtype(theta.dtype)]
    eu = jnp.exp(jnp.clip(theta[0] - theta[3] * cN, -c, c))
    ev = jnp.exp(jnp.clip(theta[1] - theta[4] * cD, -c, c))
    ee = jnp.exp(jnp.clip(theta[2], -c, c))
    s = eu + ev + ee
    inv = 1.0 / s
    r = jnp.log(s) - logL
    return r, eu * inv, ev * inv, ee * inv


@jax.custom_vjp
def centered_objective(theta, cN, cD, logL, w, delta):
    """Approach-3 objective (:func:`approach3_objective`) in centred coordinates, with a fused
    analytic gradient.

    theta = (a', b', e, alpha, beta) with a' = a - alpha mean(log N), b' = b - beta mean(log D);
    cN = log N - mean(log N), cD likewise. This is a linear change of variables of the same
    objective (``approach3_objective``), which removes the near-collinearity of (a, alpha)
    and (b, beta) that slows L-BFGS. Gradient: d/dtheta LSE = softmax weights (pu, pv, pe)
    times (1, 1, 1, -cN, -cD); Huber'(r) = clip(r, -delta, delta).

    Args:
      theta: centred parameters ``(a', b', e, alpha, beta)``.
      cN, cD: centred log N and log D ``[n]``.
      logL: log losses ``[n]``.
      w: per-point weights ``[n]``.
      delta: Huber threshold.

    Returns:
      ``sum_i w_i Huber_delta(LSE_i - log L_i)`` (scalar), equal to :func:`approach3_objective`.
    """
    r, _, _, _ = _huber_lse_fwd_parts(theta, cN, cD, logL, w, delta)
    return jnp.sum(w * optax.losses.huber_loss(r, delta=delta))


def _centered_fwd(theta, cN, cD, logL, w, delta):
    r, pu, pv, _ = _huber_lse_fwd_parts(theta, cN, cD, logL, w, delta)
    value = jnp.sum(w * optax.losses.huber_loss(r, delta=delta))
    psi = w * jnp.clip(r, -delta, delta)            # = w Huber'(r)
    qu, qv = psi * pu, psi * pv
    su, sv = jnp.sum(qu), jnp.sum(qv)
    # pe = 1 - pu - pv, so sum psi pe = sum psi - su - sv
    grad = jnp.stack([su, sv, jnp.sum(psi) - su - sv, -jnp.sum(qu * cN), -jnp.sum(qv * cD)])
    return value, (grad, cN, cD, logL, w, delta)


def _centered_bwd(res, g):
    grad, cN, cD, logL, w, delta = res
    z = jnp.zeros_like
    return (g * grad, z(cN), z(cD), z(logL), z(w), z(delta))


centered_objective.defvjp(_centered_fwd, _centered_bwd)


def _centered_fun(theta, args):
    return centered_objective(theta, *args)


class _Centering:
    """Maps (a, b, e, alpha, beta) <-> centred coordinates for given data."""

    def __init__(self, N, D):
        self.mN = float(np.mean(np.log(N)))
        self.mD = float(np.mean(np.log(D)))

    def to_centered(self, theta):
        t = np.array(theta, dtype=np.float64, copy=True)
        t[..., 0] -= t[..., 3] * self.mN
        t[..., 1] -= t[..., 4] * self.mD
        return t

    def from_centered(self, t):
        theta = np.array(t, dtype=np.float64, copy=True)
        theta[..., 0] += theta[..., 3] * self.mN
        theta[..., 1] += theta[..., 4] * self.mD
        return theta

    def args(self, N, D, L, delta, weights=None):
        w = np.ones(len(L)) if weights is None else np.asarray(weights, np.float64)
        return (jnp.asarray(np.log(N) - self.mN), jnp.asarray(np.log(D) - self.mD),
                jnp.asarray(np.log(L)), jnp.asarray(w), jnp.asarray(delta, jnp.float64))


def fit_approach3(N, D, L, *, delta: float = 1e-3, grid=None, gtol: float = 1e-10,
                  max_iter: int = 300, polish_top: int = 8, polish_iter: int = 2000,
                  width: int = 256, memory_size: int = 5,
                  screen_dtype: str = "float32") -> ChinchillaFit:
    """Approach 3: fit L = E + A N^-alpha + B D^-beta by log-Huber minimisation.

    Hoffmann et al. 2022, App. D.2 (objective D.2, see :func:`approach3_objective`), summed
    over points and run to convergence as in Besiroglu et al. 2024 (arXiv 2404.10102), Sec. 3.
    Stage 1: L-BFGS from every grid start, ``width`` starts at a time as a work queue in one
    jitted program (:func:`~scalesim.fit.optim.minimize_queue`), each stopped by scipy
    L-BFGS-B's default rule (relative decrease <= 2.2e-9 with floor 1, or gradient norm
    <= 1e-5) or ``max_iter``. Stage 2: the ``polish_top`` best results are refined in float64,
    stopping only on gradient norm <= ``gtol`` (or ``polish_iter``); the best is kept and its
    gradient norm reported (an optimizer stopped early gave Hoffmann et al.'s printed values).
    Stage 1 only *ranks* the starts, so by default it runs in float32 (2-3x faster on CPU);
    every reported number comes from the float64 polish. On Besiroglu et al.'s data a float32
    and a float64 screen polish to the same optimum (objective within 1e-15 relative; tested).
    A float32 screen could only mislead when two distinct basins differ by less than float32
    resolution (~1e-6 relative); both are then equally good fits to that precision. Float64
    regardless of the global x64 flag.

    Args:
      N: parameter counts (> 0).
      D: training tokens (> 0).
      L: losses (> 0, nats per token).
      delta: Huber threshold on log-loss residuals (1e-3 in both papers).
      grid: starts ``[S, 5]`` of ``(a, b, e, alpha, beta)`` (default :func:`hoffmann_grid`).
      gtol: gradient-norm tolerance of the float64 polish.
      max_iter: stage-1 iteration cap per start.
      polish_top: how many of the best stage-1 results are polished.
      polish_iter: stage-2 iteration cap.
      width: lanes of the stage-1 work queue.
      memory_size: L-BFGS memory (5 took ~10% fewer iterations than scipy's 10 here).
      screen_dtype: ``"float32"`` or ``"float64"`` for stage 1.

    Returns:
      :class:`ChinchillaFit` with ``method="approach3"``, the objective (D.2) and gradient norm;
      ``extra``: ``theta`` (a, b, e, alpha, beta), ``n_starts``, ``start_objectives`` (stage 1,
      per start), ``n_iter``, ``stage1_iters``.
    """
    if not delta > 0:
        raise ValueError(f"delta: must be > 0, got {delta}")
    N, D, L = check_data(N, D, L)
    grid = hoffmann_grid() if grid is None else np.asarray(grid, np.float64)
    if grid.ndim != 2 or grid.shape[1] != 5 or grid.shape[0] == 0:
        raise ValueError(f"grid: expected shape [starts, 5], got {grid.shape}")
    if screen_dtype not in ("float32", "float64"):
        raise ValueError(f"screen_dtype: must be 'float32' or 'float64', got {screen_dtype!r}")
    cen = _Centering(N, D)
    with jax.enable_x64(True):
        args = cen.args(N, D, L, delta)
        x0 = cen.to_centered(grid)
        sdt = jnp.dtype(screen_dtype)
        res = minimize_queue(_centered_fun, jnp.asarray(x0, sdt),
                             tuple(jnp.asarray(a, sdt) for a in args), width=width, gtol=1e-5,
                             ftol=2.2e-9, ftol_floor=1.0, patience=1, max_iter=max_iter,
                             memory_size=memory_size)
        vals = np.where(np.isfinite(res.value), res.value, np.inf)
        top = np.argsort(vals)[:max(1, min(polish_top, len(vals)))]
        pol = minimize_queue(_centered_fun, jnp.asarray(res.x[top], jnp.float64), args,
                             width=len(top), gtol=gtol, ftol=0.0, patience=1,
                             max_iter=polish_iter, memory_size=memory_size)
    i = pol.best()
    theta = cen.from_centered(pol.x[i])
    return ChinchillaFit(
        method="approach3", params=params_from_theta(theta), objective=float(pol.value[i]),
        n_points=len(L), grad_norm=float(pol.grad_norm[i]),
        converged=bool(pol.grad_norm[i] <= 1e-6 * delta * np.sqrt(len(L))),
        extra={"theta": theta, "n_starts": len(grid), "start_objectives": np.asarray(res.value, np.float64),
               "n_iter": int(pol.n_iter[i]), "stage1_iters": res.n_iter})
