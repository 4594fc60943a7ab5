"""The ReLU-output toy model of Elhage et al. 2022 (Toy Models of Superposition).

x' = ReLU(Wᵀ W x + b), W ∈ R^{m×n} (column W_i represents feature i; transposed with
respect to Liu et al.), b ∈ R^n.  Data: x_i = 0 with probability S (sparsity), otherwise
x_i ~ U[0, 1); the density is 1 − S.  Loss Σ_i I_i (x_i − x'_i)² with importances I_i,
averaged over the batch and over features, as in the authors' notebook
(``importance * (batch - out)**2`` reduced by a mean over batch and features).

In the notebook a batch of independent *instances* (one per sparsity level) is trained
jointly with the per-instance losses summed; instances never interact, so one ensemble
member per instance under ``jax.vmap`` is exact.  Density and importance are therefore
per-member hyperparameters here.  The optimiser is AdamW(lr = 1e-3, weight decay 0.01 — torch's
default, which ``optax.adamw`` does not share), constant learning rate.

Initialisation: the notebook uses torch ``xavier_normal_`` on the 3-D [instances, n, m]
tensor, so its scale depends on the number of instances; we use the per-instance Glorot
normal std √(2/(n + m)) unless ``init_std`` is given.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..engine import Model

PHASES = ("not_learned", "antipodal", "dedicated")  # same order as scalesim.theory.elhage


@dataclasses.dataclass(frozen=True)
class ElhageConfig:
    """n features, m hidden dimensions (m ≤ n); init_std (None: Glorot); eval_batch/eval_seed
    fix the evaluation batch of the ``loss`` metric; dtype: training precision."""

    n: int = 2
    m: int = 1
    init_std: float | None = None
    eval_batch: int = 8192
    eval_seed: int = 0
    dtype: str = "float32"

    def __post_init__(self):
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        if not (isinstance(self.n, (int, np.integer)) and self.n >= 1):
            raise ValueError(f"n must be an integer >= 1, got {self.n!r}")
        if not (isinstance(self.m, (int, np.integer)) and 1 <= self.m <= self.n):
            raise ValueError(f"m must be an integer in [1, n={self.n}], got {self.m!r}")
        if self.init_std is not None and not (np.isfinite(self.init_std) and self.init_std > 0):
            raise ValueError(f"init_std must be > 0 (or None), got {self.init_std!r}")
        if not (isinstance(self.eval_batch, (int, np.integer)) and self.eval_batch >= 1):
            raise ValueError(f"eval_batch must be an integer >= 1, got {self.eval_batch!r}")


class ElhageHyper(NamedTuple):
    """Per-member hyperparameters: density 1 − S ∈ (0, 1], importance [n] (> 0), lr, weight_decay."""

    density: jax.Array
    importance: jax.Array
    lr: jax.Array
    weight_decay: jax.Array


def make_hyper(n: int, *, density, importance=None, lr=1e-3, weight_decay=0.01) -> ElhageHyper:
    """Member arrays (leading axis M) with validation; importance is [n] or [M, n] (default 1)."""
    d = np.atleast_1d(np.asarray(density, np.float64))
    imp = np.ones((n,)) if importance is None else np.asarray(importance, np.float64)
    if imp.shape[-1] != n:
        raise ValueError(f"importance must have last dimension n={n}, got shape {imp.shape}")
    M = max(d.shape[0], imp.shape[0] if imp.ndim == 2 else 1,
            np.atleast_1d(lr).shape[0], np.atleast_1d(weight_decay).shape[0])
    d = np.broadcast_to(d, (M,))
    imp = np.broadcast_to(imp, (M, n))
    lr = np.broadcast_to(np.asarray(lr, np.float64), (M,))
    wd = np.broadcast_to(np.asarray(weight_decay, np.float64), (M,))
    if np.any(~(d > 0)) or np.any(d > 1):
        raise ValueError("density (1 - sparsity) must lie in (0, 1]")
    if np.any(~(imp > 0)) or np.any(~np.isfinite(imp)):
        raise ValueError("importance must be finite and > 0")
    if np.any(~(lr > 0)):
        raise ValueError("lr must be > 0")
    if np.any(wd < 0) or np.any(lr * wd >= 1):
        raise ValueError("weight_decay must be >= 0 with lr*weight_decay < 1")
    return ElhageHyper(*(jnp.asarray(v, jnp.float32) for v in (d, imp, lr, wd)))


def notebook_setup(name: str):
    """(config, hyper) of the instance sets in the authors' notebook (Elhage et al. 2022, E1).

    "intro": n=5, m=2, I_i = 0.9^i, density 20^{-linspace(0,1,10)};
    "basic": n=20, m=5, I_i = 0.7^i, density ∈ {1, .3, .1, .03, .01, .003, .001}.
    """
    if name == "intro":
        n, m, imp, dens = 5, 2, 0.9 ** np.arange(5), 20.0 ** -np.linspace(0, 1, 10)
    elif name == "basic":
        n, m, imp, dens = 20, 5, 0.7 ** np.arange(20), np.array([1, .3, .1, .03, .01, .003, .001])
    else:
        raise ValueError(f"name must be 'intro' or 'basic', got {name!r}")
    return ElhageConfig(n=n, m=m), make_hyper(n, density=dens, importance=imp)


def init(key, cfg: ElhageConfig, hyper=None) -> dict:
    std = np.sqrt(2.0 / (cfg.n + cfg.m)) if cfg.init_std is None else cfg.init_std
    return {"W": float(std) * jax.random.normal(key, (cfg.m, cfg.n), cfg.dtype), "b": jnp.zeros((cfg.n,), cfg.dtype)}


def sample(key, cfg: ElhageConfig, hyper: ElhageHyper, batch_size: int) -> jax.Array:
    """x [B, n]: U[0, 1) where a uniform draw ≤ density, 0 otherwise (notebook ``generate_batch``)."""
    kv, ks = jax.random.split(key)
    x = jax.random.uniform(kv, (batch_size, cfg.n), cfg.dtype)
    return jnp.where(jax.random.uniform(ks, (batch_size, cfg.n), cfg.dtype) <= hyper.density, x, 0.0)


def forward(params: dict, x: jax.Array) -> jax.Array:
    """x' = ReLU(Wᵀ W x + b) for a batch x [B, n]."""
    W = params["W"]
    return jax.nn.relu((x @ W.T) @ W + params["b"])


def loss(params, x, cfg: ElhageConfig, hyper: ElhageHyper) -> jax.Array:
    """mean over batch and features of I_i (x_i − x'_i)² (the notebook's reduction)."""
    return jnp.mean(hyper.importance.astype(x.dtype) * (x - forward(params, x)) ** 2)


def optimizer(hyper: ElhageHyper) -> optax.GradientTransformation:
    """AdamW with the notebook's torch defaults (weight decay 0.01 on all parameters)."""
    return optax.adamw(hyper.lr, weight_decay=hyper.weight_decay)


def two_feature_phase(W: jax.Array, threshold: float = 0.5) -> jax.Array:
    """Classify a trained 2-features-in-1-dimension W [1, 2] into PHASES (−1: none of them).

    A feature is represented when |W_i| > threshold; both represented with opposite signs is
    the antipodal pair.
    """
    w0, w1 = W[0, 0], W[0, 1]
    on0, on1 = jnp.abs(w0) > threshold, jnp.abs(w1) > threshold
    return jnp.where(on0 & ~on1, 0, jnp.where(on0 & on1 & (w0 * w1 < 0), 1, jnp.where(on1 & ~on0, 2, -1)))


def metrics(params: dict, cfg: ElhageConfig, hyper: ElhageHyper) -> dict:
    """Loss on a fixed evaluation batch, D* = m/‖W‖_F², fraction of columns with norm > 1/2,
    and (for n = 2, m = 1) the phase index of `two_feature_phase`."""
    W = params["W"]
    x = sample(jax.random.PRNGKey(cfg.eval_seed), dataclasses.replace(cfg, dtype="float32"), hyper,
               cfg.eval_batch).astype(W.dtype)  # same samples for float32 and float64 runs
    out = {
        "loss": loss(params, x, cfg, hyper),
        "dims_per_feature": cfg.m / jnp.sum(W * W),
        "represented": jnp.mean(jnp.linalg.norm(W, axis=0) > 0.5),
    }
    if cfg.n == 2 and cfg.m == 1:
        out["phase"] = two_feature_phase(W).astype(jnp.float32)
    return out


MODEL = Model(init=init, sample=sample, loss=loss, metrics=metrics, name="elhage")
