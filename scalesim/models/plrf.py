"""Power-law random features trained by one-pass SGD (model).

Paquette, Paquette, Xiao & Pennington 2024, "4+3 Phases of Compute-Optimal Neural Scaling Laws"
(arXiv 2405.15074), Sec. 2: inputs ``x in R^v`` with ``x_j ~ N(0, j^-2 alpha)``, target
``<x, b>`` with ``b_j = j^-beta``, features ``W^T x`` with a fixed embedding ``W in R^{v x d}``,
``W_ij ~ N(0, 1/d)``, and the risk ``P(theta) = (1/2) E (<W^T x, theta> - <x, b>)^2`` (MSE/2,
the paper's convention). SGD starts at ``theta_0 = 0`` and sees fresh samples every step.

The embedding ``W`` is a per-member *hyperparameter* (:class:`Hyper`), so optimizers never touch
it and one compiled program trains many draws. Conditional on ``W`` the task is Gaussian least
squares with covariance ``K = W^T D W`` (:func:`problem`), whose exact expected SGD risk is
:func:`scalesim.theory.plrf.plrf_sgd_risk`.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from ..engine import Model
from ..precision import float_dtype
from ..spectra import power_law
from ..validate import check_choice, check_positive, check_positive_ints, check_range

__all__ = ["Config", "Hyper", "make_hyper", "MODEL", "PAPERS", "example", "sgd", "spectrum", "draw_w", "problem",
           "risk", "init", "sample", "loss", "metrics"]

PAPERS = ("paquette2024phases",)


@dataclasses.dataclass(frozen=True)
class Config:
    """Static exponents and sizes (Paquette et al. 2024, Sec. 2).

    Attributes:
      alpha: data exponent, ``x_j ~ N(0, j^-2 alpha)``, > 0.
      beta: target exponent, ``b_j = j^-beta``, > 0; ``alpha + beta > 1/2``.
      v: input dimension, > d (Paquette et al. use v = 10 d).
      d: model size (features), >= 1.
      dtype: training precision (``"float32"`` or ``"float64"``).
    """

    alpha: float
    beta: float
    v: int
    d: int
    dtype: str = "float32"

    def __post_init__(self):
        check_range("alpha", self.alpha, 0.0, lo_open=True)
        check_range("beta", self.beta, 0.0, lo_open=True)
        # below 2 (alpha + beta) = 1 the target is not square-summable: the problem is degenerate
        check_range("alpha + beta", self.alpha + self.beta, 0.5, lo_open=True)
        check_positive_ints("d", self.d)
        check_positive_ints("v", self.v)
        if self.v <= self.d:
            raise ValueError(f"v must be > d = {self.d} (Paquette et al. require v > d); got {self.v}")
        check_choice("dtype", self.dtype, ("float32", "float64"))


class Hyper(NamedTuple):
    """Per-member values: SGD learning rate and the embedding W (never trained)."""

    lr: jax.Array
    w: jax.Array  # [v, d] per member ([M, v, d] in an ensemble)


def make_hyper(lr, w) -> Hyper:
    """Members from learning rates and embedding draws.

    Args:
      lr: learning rates ``[M]`` (> 0); dtype kept.
      w: embeddings ``[M, v, d]`` (e.g. stacked :func:`draw_w`).

    Returns:
      :class:`Hyper` of JAX arrays.
    """
    check_positive("lr", lr, allow_inf=False)
    return Hyper(lr=jnp.asarray(lr), w=jnp.asarray(w))


def sgd(hyper: Hyper):
    """``optax.sgd(hyper.lr)``: plain one-pass SGD (a module-level factory: compilations are cached)."""
    return optax.sgd(hyper.lr)


def spectrum(cfg: Config, dtype=None):
    """Input covariance diagonal and target (Paquette et al. 2024, Sec. 2).

    Args:
      cfg: :class:`Config`.
      dtype: float dtype (default :func:`scalesim.precision.float_dtype`).

    Returns:
      ``(D, b)``, each ``[v]``: ``D_jj = j^-2 alpha``, ``b_j = j^-beta``.
    """
    dtype = dtype or float_dtype()
    return power_law(cfg.v, 2.0 * cfg.alpha, dtype=dtype), power_law(cfg.v, cfg.beta, dtype=dtype)


def draw_w(key, cfg: Config, dtype=None):
    """Embedding ``W in R^{v x d}``, ``W_ij ~ N(0, 1/d)`` (Paquette et al. 2024, Sec. 2).

    Args:
      key: PRNG key.
      cfg: :class:`Config`.
      dtype: float dtype (default :func:`scalesim.precision.float_dtype`).

    Returns:
      ``W`` ``[v, d]``.
    """
    dtype = dtype or float_dtype()
    return jax.random.normal(key, (cfg.v, cfg.d), dtype) / jnp.sqrt(cfg.d)


def problem(w, cfg: Config):
    """Gaussian least-squares problem of one W draw: ``K = W^T D W``, ``theta*``, ``P*``.

    Conditional on W the PLRF task is exactly linear regression with feature covariance K and
    label-noise variance ``2 P*`` (the irreducible error acts as independent Gaussian noise).

    Args:
      w: embedding ``[v, d]``.
      cfg: :class:`Config`.

    Returns:
      ``(K [d, d], theta* [d], P*)`` with ``theta* = K^-1 W^T D b`` and ``P*`` the irreducible
      risk (MSE/2) of this draw.
    """
    dg, b = spectrum(cfg, w.dtype)
    k = w.T @ (dg[:, None] * w)
    rhs = w.T @ (dg * b)
    theta = jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(k, lower=True), rhs)
    resid = w @ theta - b
    return k, theta, 0.5 * jnp.sum(dg * resid * resid)


def risk(theta, w, cfg: Config):
    """Population risk ``P(theta) = (1/2) |D^{1/2} (W theta - b)|^2`` (Paquette et al. 2024, Sec. 2).

    Args:
      theta: parameters ``[d]``; w: embedding ``[v, d]``; cfg: :class:`Config`.

    Returns:
      scalar risk (MSE/2).
    """
    dg, b = spectrum(cfg, w.dtype)
    r = w @ theta - b
    return 0.5 * jnp.sum(dg * r * r)


def init(key, cfg: Config, hyper: Hyper):
    """Initial parameters ``theta_0 = 0`` (Paquette et al. 2024).

    Args:
      key: unused. cfg: :class:`Config`. hyper: unused.

    Returns:
      ``{"theta": [d]}`` in ``cfg.dtype``.
    """
    del key, hyper
    return {"theta": jnp.zeros((cfg.d,), cfg.dtype)}


def sample(key, cfg: Config, hyper: Hyper, batch_size: int):
    """A fresh batch: one-pass SGD never reuses samples.

    Args:
      key: PRNG key. cfg: :class:`Config`. hyper: unused. batch_size: B.

    Returns:
      ``{"x": [B, v], "y": [B]}`` with ``x_j ~ N(0, j^-2 alpha)``, ``y = <x, b>``.
    """
    del hyper
    dg, b = spectrum(cfg, jnp.dtype(cfg.dtype))
    x = jax.random.normal(key, (batch_size, cfg.v), dg.dtype) * jnp.sqrt(dg)[None, :]
    return {"x": x, "y": x @ b}


def loss(params, batch, cfg: Config, hyper: Hyper):
    """Batch-mean ``(1/2)(<W^T x, theta> - y)^2`` (Paquette et al.'s risk on a batch).

    Args:
      params: ``{"theta": [d]}``. batch: from :func:`sample`. cfg: :class:`Config`.
      hyper: one member's :class:`Hyper` (its embedding W).

    Returns:
      scalar loss.
    """
    pred = (batch["x"] @ hyper.w.astype(cfg.dtype)) @ params["theta"]
    return 0.5 * jnp.mean((pred - batch["y"]) ** 2)


def metrics(params, cfg: Config, hyper: Hyper):
    """Population risk of the member's parameters.

    Args:
      params: ``{"theta": [d]}``. cfg: :class:`Config`. hyper: one member's :class:`Hyper`.

    Returns:
      ``{"risk": scalar}`` (:func:`risk`, MSE/2).
    """
    return {"risk": risk(params["theta"], hyper.w.astype(cfg.dtype), cfg)}


MODEL = Model(init=init, sample=sample, loss=loss, metrics=metrics, name="plrf")


def example(dtype: str = "float32") -> dict:
    """A small case for the conformance suite: alpha = 1, beta = 0.7, v = 40, d = 8, two members
    (two W draws, two learning rates), 20 SGD steps at batch 4."""
    cfg = Config(alpha=1.0, beta=0.7, v=40, d=8, dtype=dtype)
    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    w = jax.vmap(lambda k: draw_w(k, cfg, jnp.float32))(keys)
    return {"cfg": cfg, "hyper": make_hyper(jnp.asarray([0.2, 0.4], jnp.float32), w), "optimizer": sgd,
            "steps": 20, "batch_size": 4}
