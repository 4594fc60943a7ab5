"""Online SGD on linear regression with a power-law spectrum (the simplest random-feature case).

Features ``x ~ N(0, diag(lambda))`` with ``lambda_k = k^-b`` (k = 1..d); a fixed teacher with
task power ``theta*_k^2 lambda_k = k^-a``, i.e. ``theta*_k = k^{-(a-b)/2}``; labels
``y = x . theta* + sigma * eps``. The student starts at ``theta = 0`` and takes batch-mean SGD
steps on ``(1/2) mean (x . theta - y)^2`` with fresh data every step (one-pass SGD).

In the generic notation of ``shared/research/random_features.md`` §0 this is the
``(a, b)`` model: Bordelon, Atanasov & Pehlevan 2024 (``L ~ t^-(a-1)/b``) and Paquette et al.
2024 (PLRF with ``a = 2alpha + 2beta``, ``b = 2alpha``) at infinite width. The exact
expected-loss recursion is in :mod:`scalesim.theory.linear_sgd`.

The exponents ``a``, ``b``, the noise ``sigma`` and the learning rate ``lr`` are per-member
hyperparameters (:class:`Hyper`), so one compiled program trains every combination.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp

from ..validate import check_choice, check_positive_ints
from ..engine import Model

__all__ = ["Config", "Hyper", "MODEL", "spectrum", "teacher", "init", "sample", "loss", "metrics", "make_hyper"]


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

    Raises ``ValueError`` (naming the field) for ``lr <= 0``, ``a <= 1``, ``b <= 0`` or ``sigma < 0``.
    """
    import numpy as np

    arrs = [np.atleast_1d(np.asarray(v, dtype=float)) for v in (lr, a, b, sigma)]
    m = max(x.size for x in arrs)
    arrs = [np.broadcast_to(x, (m,)) for x in arrs]
    for name, x, lo in (("lr", arrs[0], 0.0), ("a", arrs[1], 1.0), ("b", arrs[2], 0.0)):
        if not np.all(np.isfinite(x)) or np.any(x <= lo):
            raise ValueError(f"{name} must be > {lo:g} (finite); got {x.tolist()}")
    if not np.all(np.isfinite(arrs[3])) or np.any(arrs[3] < 0):
        raise ValueError(f"sigma must be >= 0; got {arrs[3].tolist()}")
    return Hyper(*(jnp.asarray(x) for x in arrs))


def spectrum(d: int, b, dtype=jnp.float32):
    """``lambda_k = k^-b``, k = 1..d."""
    k = jnp.arange(1, d + 1, dtype=dtype)
    return k ** (-jnp.asarray(b, dtype))


def teacher(d: int, a, b, dtype=jnp.float32):
    """``theta*_k = k^{-(a-b)/2}`` so that the task power is ``theta*_k^2 lambda_k = k^-a``."""
    k = jnp.arange(1, d + 1, dtype=dtype)
    return k ** (-(jnp.asarray(a, dtype) - jnp.asarray(b, dtype)) / 2)


def init(key, cfg: Config, hyper: Hyper):
    """``theta_0 = 0`` (the key is unused: the initial condition of the theory)."""
    del key, hyper
    return jnp.zeros((cfg.d,), cfg.dtype)


def sample(key, cfg: Config, hyper: Hyper, batch_size: int):
    """A fresh batch ``(x [B, d], y [B])``."""
    dt = jnp.dtype(cfg.dtype)
    kx, ke = jax.random.split(key)
    lam = spectrum(cfg.d, hyper.b, dt)
    x = jax.random.normal(kx, (batch_size, cfg.d), dt) * jnp.sqrt(lam)[None, :]
    y = x @ teacher(cfg.d, hyper.a, hyper.b, dt) + hyper.sigma.astype(dt) * jax.random.normal(ke, (batch_size,), dt)
    return x, y


def loss(theta, batch, cfg: Config, hyper: Hyper):
    """``(1/2) mean_i (x_i . theta - y_i)^2``; its gradient is the batch-mean SGD direction."""
    del cfg, hyper
    x, y = batch
    return 0.5 * jnp.mean((x @ theta - y) ** 2)


def metrics(theta, cfg: Config, hyper: Hyper):
    """Exact population errors: ``excess = sum_k lambda_k (theta_k - theta*_k)^2``, ``mse = excess + sigma^2``."""
    dt = theta.dtype
    lam = spectrum(cfg.d, hyper.b, dt)
    excess = jnp.sum(lam * (theta - teacher(cfg.d, hyper.a, hyper.b, dt)) ** 2)
    return {"excess": excess, "mse": excess + hyper.sigma.astype(dt) ** 2}


MODEL = Model(init=init, sample=sample, loss=loss, metrics=metrics, name="linear_sgd")
