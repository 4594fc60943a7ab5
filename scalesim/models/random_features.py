"""Linear random-feature teacher-student models (Bahri et al., Maloney et al., Paquette et al.).

Simulators sharing the notation of ``shared/research/random_features.md`` §0:

* :func:`rf_ridge_test_mse` — linear random-feature ridge / min-norm regression, closed form.
  Latent Gaussian features ``x ~ N(0, diag(lam))`` (M modes), target ``y = wbar . x + eps``,
  random features ``phi = F^T x`` with ``F_ij ~ N(0, 1/N)``, estimator
  ``v = argmin (1/P)|Phi v - y|^2 + ridge |v|^2``, exact test MSE
  ``(F v - wbar)^T diag(lam) (F v - wbar) + sigma2``.  This is Bahri et al.'s (2102.06701 §3)
  linear teacher-student model (their student is a random projection of the S teacher features,
  their loss carries an extra 1/2 and an isotropic teacher ``omega ~ N(0, 1/S)``) and the linear
  case of Maloney et al. (2210.16859).
* :data:`RF_GD_MODEL` — the same model trained by full-batch gradient descent with the generic
  ensemble trainer (engine Model contract; the draw is a per-member hyper, :func:`rf_gd_hyper`);
  from ``v = 0`` it converges to the min-norm solution of :func:`rf_ridge_test_mse`.
* :func:`maloney_test_mse` — Maloney et al.'s setup with a nonlinear feature map
  ``phi_j = sigma(sum_I u_jI x_I)``, ridge readout, Monte-Carlo test loss.
* PLRF (Paquette et al. 2405.15074): ``x_j ~ N(0, j^-2alpha)``, ``b_j = j^-beta``, embedding
  ``W_ij ~ N(0, 1/d)``; :data:`plrf_model` follows the engine's Model contract for one-pass SGD
  (the embedding ``W`` is a per-member *hyper* leaf, :class:`PLRFHyper`, so optimizers never
  touch it).

Nothing here knows about ensembles: ensembles are ``vmap`` over keys (``fold_in(key, i)``).
"""
from __future__ import annotations

import dataclasses
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp

from scalesim.engine import Model
from scalesim.validate import check_positive, check_nonneg, check_range
from scalesim.precision import float_dtype


# --------------------------------------------------------------------------- linear RF ridge
def _ridge_readout(phi, y, ridge):
    """``argmin (1/P)|phi v - y|^2 + ridge |v|^2``; ridge = 0 gives the min-norm solution."""
    p, n = phi.shape
    # Cholesky (the systems are Gram matrices): batched LU solves stalled XLA:CPU here
    solve = lambda a, b: jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(a, lower=True), b)
    if n <= p:
        return solve(phi.T @ phi + p * ridge * jnp.eye(n, dtype=phi.dtype), phi.T @ y)
    return phi.T @ solve(phi @ phi.T + p * ridge * jnp.eye(p, dtype=phi.dtype), y)


@partial(jax.jit, static_argnames=("n_features", "n_samples", "teacher"))
def rf_ridge_test_mse(key, lam, w2, n_features: int, n_samples: int, ridge, sigma2,
                      teacher: str = "fixed"):
    """Exact test MSE of one draw (F, X, noise[, teacher]) of linear RF ridge regression.

    ``teacher="fixed"``: ``wbar_k = sqrt(w2_k)`` (the deterministic equivalent's target);
    ``teacher="gaussian"``: ``wbar_k ~ N(0, w2_k)`` (Bahri's isotropic teacher when w2 = 1/S).
    """
    kf, kx, ke, kw = jax.random.split(key, 4)
    m = lam.shape[0]
    f = jax.random.normal(kf, (m, n_features), lam.dtype) / jnp.sqrt(n_features)
    x = jax.random.normal(kx, (n_samples, m), lam.dtype) * jnp.sqrt(lam)
    wbar = jnp.sqrt(w2)
    if teacher == "gaussian":
        wbar = wbar * jax.random.normal(kw, (m,), lam.dtype)
    y = x @ wbar + jnp.sqrt(sigma2) * jax.random.normal(ke, (n_samples,), lam.dtype)
    v = _ridge_readout(x @ f, y, ridge)
    e = f @ v - wbar
    return jnp.sum(lam * e * e) + sigma2


def rf_ridge_draws(key, lam, w2, n_features: int, n_samples: int, ridge, sigma2, n_draws: int,
                   teacher: str = "fixed"):
    """Test MSE of ``n_draws`` independent draws; draw i uses ``fold_in(key, i)``."""
    check_positive("n_features", n_features)
    check_positive("n_samples", n_samples)
    check_nonneg("ridge", ridge)
    check_nonneg("sigma2", sigma2)
    if teacher not in ("fixed", "gaussian"):
        raise ValueError(f"teacher must be 'fixed' or 'gaussian', got {teacher!r}")
    keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(int(n_draws)))
    # lax.map, not vmap: batched LAPACK solves can deadlock jaxlib 0.10's CPU thread pool
    # (see rf_teacher_student.draws)
    return _ridge_map(keys, lam, w2, int(n_features), int(n_samples), ridge, sigma2, teacher)


@partial(jax.jit, static_argnames=("n_features", "n_samples", "teacher"))
def _ridge_map(keys, lam, w2, n_features, n_samples, ridge, sigma2, teacher):
    return jax.lax.map(lambda k: rf_ridge_test_mse(k, lam, w2, n_features, n_samples, ridge,
                                                   sigma2, teacher), keys)


# --------------------------------------------------------------------------- Maloney nonlinear
_ACTIVATIONS = {"linear": lambda z: z, "relu": jax.nn.relu, "tanh": jnp.tanh}


@partial(jax.jit, static_argnames=("n_features", "n_samples", "n_test", "activation"))
def maloney_test_mse(key, lam, n_features: int, n_samples: int, ridge, *, n_test: int = 2000,
                     activation: str = "linear", sigma_w2=1.0, sigma_u2=1.0):
    """Maloney, Roberts & Sully (2210.16859) model, one draw, Monte-Carlo test MSE.

    Latent ``x_I ~ N(0, lam_I)``, teacher ``w ~ N(0, sigma_w2/M)``, features
    ``phi_j = sigma(sum_I u_jI x_I)`` with ``u ~ N(0, sigma_u2/M)``, ridge readout on T
    (= ``n_samples``) points.  Nonlinear features get an intercept-free readout; the reported
    loss is ``mean (phi v - y)^2`` on ``n_test`` fresh points.
    """
    kw, ku, kx, kt = jax.random.split(key, 4)
    m = lam.shape[0]
    act = _ACTIVATIONS[activation]
    w = jax.random.normal(kw, (m,), lam.dtype) * jnp.sqrt(sigma_w2 / m)
    u = jax.random.normal(ku, (m, n_features), lam.dtype) * jnp.sqrt(sigma_u2 / m)
    scale = jnp.sqrt(m / sigma_u2)  # keeps pre-activations O(1) for any M
    x = jax.random.normal(kx, (n_samples, m), lam.dtype) * jnp.sqrt(lam)
    xt = jax.random.normal(kt, (n_test, m), lam.dtype) * jnp.sqrt(lam)
    feats = lambda z: act(scale * (z @ u))
    v = _ridge_readout(feats(x), x @ w, ridge)
    r = feats(xt) @ v - xt @ w
    return jnp.mean(r * r)


# --------------------------------------------------------------------------- PLRF + online SGD
@dataclasses.dataclass(frozen=True)
class PLRFConfig:
    """Power-law random features (Paquette et al. 2405.15074 §2; notes §4).

    ``x in R^v, x_j ~ N(0, j^-2 alpha)``, target ``<x, b>`` with ``b_j = j^-beta``, features
    ``W^T x`` with ``W in R^{v x d}``, ``W_ij ~ N(0, 1/d)``.  Risk = ``(1/2) E (<W^T x, theta> -
    <x, b>)^2`` (Paquette's convention: MSE/2).
    """

    alpha: float
    beta: float
    v: int
    d: int

    def __post_init__(self):
        check_range("alpha", self.alpha, lo=0.0, lo_open=True)
        check_range("beta", self.beta, lo=0.0, lo_open=True)
        if 2 * (self.alpha + self.beta) <= 1:
            raise ValueError("alpha + beta must be > 1/2 (below 2(alpha+beta) = 1 the PLRF "
                             f"problem is degenerate), got alpha={self.alpha}, beta={self.beta}")
        if int(self.d) < 1:
            raise ValueError(f"d must be a positive integer, got {self.d}")
        if int(self.v) <= int(self.d):
            raise ValueError(f"v must be > d (Paquette et al. require v > d), got v={self.v}, "
                             f"d={self.d}")


def plrf_spectrum(cfg: PLRFConfig, dtype=None):
    """Diagonal ``D_jj = j^-2 alpha`` and target ``b_j = j^-beta`` (numpy -> jax arrays)."""
    dtype = dtype or float_dtype()
    j = jnp.arange(1, cfg.v + 1, dtype=dtype)
    return j ** (-2.0 * cfg.alpha), j ** (-cfg.beta)


def plrf_draw_w(key, cfg: PLRFConfig, dtype=None):
    """Embedding ``W in R^{v x d}``, ``W_ij ~ N(0, 1/d)``."""
    dtype = dtype or float_dtype()
    return jax.random.normal(key, (cfg.v, cfg.d), dtype) / jnp.sqrt(cfg.d)


def plrf_problem(w, cfg: PLRFConfig):
    """Gaussian least-squares problem of one W draw: ``K = W^T D W``, ``theta*``, ``P*``.

    Returns ``(K, theta_star, risk_star)`` with ``theta* = K^-1 W^T D b`` and ``risk_star`` the
    irreducible risk (MSE/2) of this draw.  Conditional on W the PLRF task is exactly linear
    regression with feature covariance K and label noise variance ``2 risk_star`` (notes §3.4).
    """
    dg, b = plrf_spectrum(cfg, w.dtype)
    k = w.T @ (dg[:, None] * w)
    rhs = w.T @ (dg * b)
    theta = jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(k, lower=True), rhs)
    resid = w @ theta - b
    return k, theta, 0.5 * jnp.sum(dg * resid * resid)


def plrf_risk(theta, w, cfg: PLRFConfig):
    """Population risk ``(1/2) |D^{1/2} (W theta - b)|^2`` (Paquette et al. eq. for P(theta))."""
    dg, b = plrf_spectrum(cfg, w.dtype)
    r = w @ theta - b
    return 0.5 * jnp.sum(dg * r * r)


class PLRFHyper(NamedTuple):
    """Per-member PLRF hyperparameters: SGD learning rate and the embedding W (never trained)."""

    lr: jax.Array
    w: jax.Array  # [v, d] per member ([M, v, d] in an ensemble)


def plrf_init(key, cfg: PLRFConfig, hyper: PLRFHyper):
    """theta_0 = 0 (Paquette et al.)."""
    del key
    return {"theta": jnp.zeros((cfg.d,), hyper.w.dtype)}


def plrf_sample(key, cfg: PLRFConfig, hyper: PLRFHyper, batch_size: int):
    """Fresh batch ``(x, y)`` of size B: one-pass SGD never reuses samples."""
    dg, b = plrf_spectrum(cfg, hyper.w.dtype)
    x = jax.random.normal(key, (batch_size, cfg.v), dg.dtype) * jnp.sqrt(dg)
    return {"x": x, "y": x @ b}


def plrf_loss(params, batch, cfg: PLRFConfig, hyper: PLRFHyper):
    """Batch-mean ``(1/2)(<W^T x, theta> - y)^2`` (optax-style averaged batch; notes §4)."""
    pred = (batch["x"] @ hyper.w) @ params["theta"]
    return 0.5 * jnp.mean((pred - batch["y"]) ** 2)


def plrf_metrics(params, cfg: PLRFConfig, hyper: PLRFHyper):
    """``{"risk": population risk (MSE/2)}``."""
    return {"risk": plrf_risk(params["theta"], hyper.w, cfg)}


PLRF_MODEL = Model(init=plrf_init, sample=plrf_sample, loss=plrf_loss, metrics=plrf_metrics,
                   name="plrf")
"""PLRF under the engine's Model contract; use ``optimizer = lambda h: optax.sgd(h.lr)``."""


# --------------------------------------------------------------------------- Bahri GD (engine)
@dataclasses.dataclass(frozen=True)
class RFGDConfig:
    """Static sizes of the linear RF teacher-student trained by full-batch gradient descent.

    ``n_modes`` teacher features (S), ``n_features`` random features (N; Bahri's P) and
    ``n_samples`` training points (P; Bahri's D).  Same model as :func:`rf_ridge_test_mse`.
    """

    n_modes: int
    n_features: int
    n_samples: int

    def __post_init__(self):
        for name in ("n_modes", "n_features", "n_samples"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)}")


class RFGDHyper(NamedTuple):
    """Per-member draw (projection, training set, teacher) and GD learning rate."""

    lr: jax.Array
    lam: jax.Array      # [S] feature spectrum
    wbar: jax.Array     # [S] teacher
    f: jax.Array        # [S, N] projection, F_ij ~ N(0, 1/N)
    x: jax.Array        # [P, S] training inputs
    y: jax.Array        # [P] training labels (noise included)
    sigma2: jax.Array   # label-noise variance (enters the test MSE)


def rf_gd_hyper(key, lam, w2, cfg: RFGDConfig, sigma2=0.0, lr_scale=1.0):
    """The draw of :func:`rf_ridge_test_mse` (same key, ``teacher="fixed"``) as GD hyper-leaves.

    ``lr = lr_scale / lambda_max(Phi^T Phi / P)``: full-batch GD on ``(1/2P)|Phi v - y|^2``
    from ``v = 0`` is stable for ``lr_scale < 2`` and converges to the min-norm least-squares
    solution, i.e. to :func:`rf_ridge_test_mse` at ridge 0 (its iterates stay in the row space
    of Phi).
    """
    kf, kx, ke, _ = jax.random.split(key, 4)
    m, n, p = lam.shape[0], cfg.n_features, cfg.n_samples
    f = jax.random.normal(kf, (m, n), lam.dtype) / jnp.sqrt(n)
    x = jax.random.normal(kx, (p, m), lam.dtype) * jnp.sqrt(lam)
    wbar = jnp.sqrt(w2)
    y = x @ wbar + jnp.sqrt(sigma2) * jax.random.normal(ke, (p,), lam.dtype)
    phi = x @ f
    top = jnp.linalg.norm(phi, ord=2) ** 2 / p
    return RFGDHyper(lr=lr_scale / top, lam=lam, wbar=wbar, f=f, x=x, y=y,
                     sigma2=jnp.asarray(sigma2, lam.dtype))


def _gd_init(key, cfg: RFGDConfig, hyper: RFGDHyper):
    del key
    return {"v": jnp.zeros((cfg.n_features,), hyper.f.dtype)}


def _gd_sample(key, cfg: RFGDConfig, hyper: RFGDHyper, batch_size: int):
    """The fixed training set (full batch; ``batch_size`` must equal ``n_samples``)."""
    del key, batch_size
    return {"x": hyper.x, "y": hyper.y}


def _gd_loss(params, batch, cfg: RFGDConfig, hyper: RFGDHyper):
    """Training loss ``(1/2P) |X F v - y|^2`` (Bahri et al. 2102.06701 §3 carry the 1/2)."""
    r = (batch["x"] @ hyper.f) @ params["v"] - batch["y"]
    return 0.5 * jnp.mean(r * r)


def _gd_metrics(params, cfg: RFGDConfig, hyper: RFGDHyper):
    """``{"test_mse": (F v - wbar)^T diag(lam) (F v - wbar) + sigma2}`` (exact population MSE)."""
    e = hyper.f @ params["v"] - hyper.wbar
    return {"test_mse": jnp.sum(hyper.lam * e * e) + hyper.sigma2}


RF_GD_MODEL = Model(init=_gd_init, sample=_gd_sample, loss=_gd_loss, metrics=_gd_metrics,
                    name="rf-gd")
"""Linear RF teacher-student under the engine's Model contract (full-batch GD, fixed data);
use ``optimizer = lambda h: optax.sgd(h.lr)`` and ``batch_size = n_samples``."""
