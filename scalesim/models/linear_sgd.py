"""Online SGD on linear regression with a power-law spectrum (the simplest random-feature case).

Features ``x ~ N(0, diag(lambda))`` with ``lambda_k = k^-b`` (k = 1..d); a fixed teacher with
task power ``theta*_k^2 lambda_k = k^-a``, i.e. ``theta*_k = k^{-(a-b)/2}``; labels
``y = x . theta* + sigma * eps``. The student starts at ``theta = 0`` and takes batch-mean SGD
steps on ``(1/2) mean (x . theta - y)^2`` with fresh data every step (one-pass SGD).

In the generic ``(a, b)`` notation of the random-feature family (spectrum ``k^-b``, task power
``k^-a``) this is the model of Bordelon, Atanasov & Pehlevan 2024 (``L ~ t^-(a-1)/b``) and of
Paquette et al. 2024 (PLRF with ``a = 2alpha + 2beta``, ``b = 2alpha``) at infinite width. The
exact expected-loss recursion is in :mod:`scalesim.theory.linear_sgd`.

The exponents ``a``, ``b``, the noise ``sigma`` and the learning rate ``lr`` are per-member
hyperparameters (:class:`Hyper`), so one compiled program trains every combination.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..engine import Model
from ..spectra import power_law
from ..validate import check_choice, check_nonneg, check_positive_ints, check_range

__all__ = ["Config", "Hyper", "MODEL", "PAPERS", "example", "sgd", "spectrum", "teacher", "init", "sample", "loss",
           "metrics", "make_hyper"]

PAPERS = ("bordelon2024dynamical", "paquette2024phases")


@dataclasses.dataclass(frozen=True)
class Config:
    """Static sizes. ``d``: number of feature dimensions; ``dtype``: training precision."""

    d: int = 512
    dtype: str = "float32"

    def __post_init__(self):
        check_positive_ints("d", self.d)
        check_choice("dtype", self.dtype, ("float32", "float64"))


class Hyper(NamedTuple):
    """Per-member hyperparameters (scalars inside the model, ``[M]`` arrays in an ensemble)."""

    lr: jax.Array  # SGD learning rate eta
    a: jax.Array  # task-power exponent: theta*_k^2 lambda_k = k^-a
    b: jax.Array  # spectrum exponent: lambda_k = k^-b
    sigma: jax.Array  # label-noise standard deviation


def make_hyper(lr, a, b, sigma=0.0) -> Hyper:
    """Broadcast scalars/arrays to a per-member :class:`Hyper` of equal-length 1-D arrays.

    Args:
      lr: SGD learning rate (> 0).
      a: task-power exponent (> 1: the excess risk decays).
      b: spectrum exponent (> 0).
      sigma: label-noise standard deviation (>= 0).

    Returns:
      :class:`Hyper` of float arrays ``[M]`` (float64 under x64); ``ValueError`` naming the field
      for an out-of-range value.
    """
    arrs = [np.atleast_1d(np.asarray(v, dtype=float)) for v in (lr, a, b, sigma)]
    m = max(x.size for x in arrs)
    arrs = [np.broadcast_to(x, (m,)) for x in arrs]
    check_range("lr", arrs[0], 0.0, lo_open=True)
    check_range("a", arrs[1], 1.0, lo_open=True)
    check_range("b", arrs[2], 0.0, lo_open=True)
    check_nonneg("sigma", arrs[3])
    return Hyper(*(jnp.asarray(x) for x in arrs))


def sgd(hyper: Hyper):
    """``optax.sgd(hyper.lr)``: batch-mean one-pass SGD (a module-level factory: compilations are cached)."""
    return optax.sgd(hyper.lr)


def spectrum(d: int, b, dtype=jnp.float32):
    """Feature-covariance eigenvalues ``lambda_k = k^-b``, k = 1..d (Bordelon et al. 2024, Sec. 2).

    Args:
      d: number of modes (static). b: spectrum exponent (may be traced). dtype: float dtype.

    Returns:
      ``[d]``.
    """
    return power_law(d, b, dtype=dtype)


def teacher(d: int, a, b, dtype=jnp.float32):
    """Teacher ``theta*_k = k^{-(a-b)/2}``: the task power is ``theta*_k^2 lambda_k = k^-a``.

    Args:
      d: number of modes (static). a, b: task-power and spectrum exponents (may be traced).
      dtype: float dtype.

    Returns:
      ``[d]``.
    """
    return power_law(d, (jnp.asarray(a, dtype) - jnp.asarray(b, dtype)) / 2, dtype=dtype)


def init(key, cfg: Config, hyper: Hyper):
    """Initial parameters ``theta_0 = 0`` (the initial condition of the theory).

    Args:
      key: unused. cfg: :class:`Config`. hyper: unused.

    Returns:
      ``theta`` ``[d]`` in ``cfg.dtype``.
    """
    del key, hyper
    return jnp.zeros((cfg.d,), cfg.dtype)


def sample(key, cfg: Config, hyper: Hyper, batch_size: int):
    """A fresh batch (one-pass SGD): ``x ~ N(0, diag(k^-b))``, ``y = x . theta* + sigma eps``.

    Args:
      key: PRNG key. cfg: :class:`Config`. hyper: one member's :class:`Hyper`.
      batch_size: B.

    Returns:
      ``(x [B, d], y [B])`` in ``cfg.dtype``.
    """
    dt = jnp.dtype(cfg.dtype)
    kx, ke = jax.random.split(key)
    lam = spectrum(cfg.d, hyper.b, dt)
    x = jax.random.normal(kx, (batch_size, cfg.d), dt) * jnp.sqrt(lam)[None, :]
    y = x @ teacher(cfg.d, hyper.a, hyper.b, dt) + hyper.sigma.astype(dt) * jax.random.normal(ke, (batch_size,), dt)
    return x, y


def loss(theta, batch, cfg: Config, hyper: Hyper):
    """Batch loss ``(1/2) mean_i (x_i . theta - y_i)^2``; its gradient is the batch-mean SGD direction.

    Args:
      theta: parameters ``[d]``. batch: ``(x, y)`` from :func:`sample`. cfg, hyper: unused.

    Returns:
      scalar loss.
    """
    del cfg, hyper
    x, y = batch
    return 0.5 * jnp.mean((x @ theta - y) ** 2)


def metrics(theta, cfg: Config, hyper: Hyper):
    """Exact population errors (no sampling).

    Args:
      theta: parameters ``[d]``. cfg: :class:`Config`. hyper: one member's :class:`Hyper`.

    Returns:
      ``{"excess": sum_k lambda_k (theta_k - theta*_k)^2, "mse": excess + sigma^2}`` (scalars).
    """
    dt = theta.dtype
    lam = spectrum(cfg.d, hyper.b, dt)
    excess = jnp.sum(lam * (theta - teacher(cfg.d, hyper.a, hyper.b, dt)) ** 2)
    return {"excess": excess, "mse": excess + hyper.sigma.astype(dt) ** 2}


MODEL = Model(init=init, sample=sample, loss=loss, metrics=metrics, name="linear_sgd")


def example(dtype: str = "float32") -> dict:
    """A small case for the conformance suite: d = 16, three members (three task exponents,
    learning rates and noise levels), 20 SGD steps at batch 4."""
    return {"cfg": Config(d=16, dtype=dtype),
            "hyper": make_hyper(lr=[0.05, 0.1, 0.2], a=[2.0, 2.5, 3.0], b=1.5, sigma=[0.0, 0.1, 0.2]),
            "optimizer": sgd, "steps": 20, "batch_size": 4}
