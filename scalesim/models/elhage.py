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
from ._geometry import dims_per_feature
from ..validate import check_choice, check_positive_ints, check_range

PAPERS = ("elhage2022toy",)
PHASES = ("not_learned", "antipodal", "dedicated")  # same order as scalesim.theory.elhage


@dataclasses.dataclass(frozen=True)
class Config:
    """n features, m hidden dimensions (m ≤ n); init_std (None: Glorot); eval_batch/eval_seed
    fix the evaluation batch of the ``loss`` metric; dtype: training precision."""

    n: int = 2
    m: int = 1
    init_std: float | None = None
    eval_batch: int = 8192
    eval_seed: int = 0
    dtype: str = "float32"

    def __post_init__(self):
        check_choice("dtype", self.dtype, ("float32", "float64"))
        check_positive_ints("n", self.n)
        check_positive_ints("m", self.m)
        check_range("m", self.m, 1, self.n)
        if self.init_std is not None:
            check_range("init_std", self.init_std, 0.0, lo_open=True)
        check_positive_ints("eval_batch", self.eval_batch)


class Hyper(NamedTuple):
    """Per-member hyperparameters: density 1 − S ∈ (0, 1], importance [n] (> 0), lr, weight_decay."""

    density: jax.Array
    importance: jax.Array
    lr: jax.Array
    weight_decay: jax.Array


def make_hyper(n: int, *, density, importance=None, lr=1e-3, weight_decay=0.01) -> Hyper:
    """Member arrays (leading axis M) with validation.

    Args:
      n: number of features. density: 1 − S ∈ (0, 1], scalar or [M]. importance: I_i > 0,
        [n] or [M, n] (default 1). lr: learning rate > 0. weight_decay: AdamW decay ≥ 0 with
        lr · weight_decay < 1.

    Returns:
      :class:`Hyper` of float32 arrays: density, lr, weight_decay [M]; importance [M, n].
    """
    d = np.atleast_1d(np.asarray(density, np.float64))
    imp = np.ones((n,)) if importance is None else np.asarray(importance, np.float64)
    if imp.shape[-1] != n:
        raise ValueError(f"importance must have last dimension n={n}; got shape {imp.shape}")
    M = max(d.shape[0], imp.shape[0] if imp.ndim == 2 else 1,
            np.atleast_1d(lr).shape[0], np.atleast_1d(weight_decay).shape[0])
    d = np.broadcast_to(d, (M,))
    imp = np.broadcast_to(imp, (M, n))
    lr = np.broadcast_to(np.asarray(lr, np.float64), (M,))
    wd = np.broadcast_to(np.asarray(weight_decay, np.float64), (M,))
    check_range("density (1 - sparsity)", d, 0.0, 1.0, lo_open=True)
    check_range("importance", imp, 0.0, lo_open=True)
    check_range("lr", lr, 0.0, lo_open=True)
    check_range("weight_decay", wd, 0.0)
    check_range("lr*weight_decay", lr * wd, 0.0, 1.0, hi_open=True)
    return Hyper(*(jnp.asarray(v, jnp.float32) for v in (d, imp, lr, wd)))


def init(key, cfg: Config, hyper=None) -> dict:
    """{"W": [m, n] ~ N(0, init_std²) (default Glorot std √(2/(n + m))), "b": zeros [n]}."""
    std = np.sqrt(2.0 / (cfg.n + cfg.m)) if cfg.init_std is None else cfg.init_std
    return {"W": float(std) * jax.random.normal(key, (cfg.m, cfg.n), cfg.dtype), "b": jnp.zeros((cfg.n,), cfg.dtype)}


def sample(key, cfg: Config, hyper: Hyper, batch_size: int) -> jax.Array:
    """x [B, n] in cfg.dtype: U[0, 1) where a uniform draw ≤ density, 0 otherwise (notebook ``generate_batch``)."""
    kv, ks = jax.random.split(key)
    x = jax.random.uniform(kv, (batch_size, cfg.n), cfg.dtype)
    return jnp.where(jax.random.uniform(ks, (batch_size, cfg.n), cfg.dtype) <= hyper.density, x, 0.0)


def forward(params: dict, x: jax.Array) -> jax.Array:
    """x' = ReLU(Wᵀ W x + b) [B, n] for a batch x [B, n] (Elhage et al. 2022, ReLU output model)."""
    W = params["W"]
    return jax.nn.relu((x @ W.T) @ W + params["b"][None, :])


def loss(params, x, cfg: Config, hyper: Hyper) -> jax.Array:
    """Scalar mean over batch and features of I_i (x_i − x'_i)² (the notebook's reduction)."""
    return jnp.mean(hyper.importance.astype(x.dtype)[None, :] * (x - forward(params, x)) ** 2)


def optimizer(hyper: Hyper) -> optax.GradientTransformation:
    """AdamW with the notebook's torch defaults (weight decay 0.01 on all parameters)."""
    return optax.adamw(hyper.lr, weight_decay=hyper.weight_decay)


def two_feature_phase(W: jax.Array, threshold: float = 0.5) -> jax.Array:
    """Classify a trained 2-features-in-1-dimension W [1, 2] into PHASES.

    A feature is represented when |W_i| > threshold; both represented with opposite signs is
    the antipodal pair.  Returns an int scalar: the index into PHASES, −1 for none of them.
    """
    w0, w1 = W[0, 0], W[0, 1]
    on0, on1 = jnp.abs(w0) > threshold, jnp.abs(w1) > threshold
    return jnp.where(on0 & ~on1, 0, jnp.where(on0 & on1 & (w0 * w1 < 0), 1, jnp.where(on1 & ~on0, 2, -1)))


def metrics(params: dict, cfg: Config, hyper: Hyper) -> dict:
    """Scalars: loss on a fixed evaluation batch, D* = m/‖W‖_F², fraction of columns with norm
    > 1/2, and (for n = 2, m = 1) the phase index of `two_feature_phase`."""
    W = params["W"]
    x = sample(jax.random.PRNGKey(cfg.eval_seed), dataclasses.replace(cfg, dtype="float32"), hyper,
               cfg.eval_batch).astype(W.dtype)  # same samples for float32 and float64 runs
    out = {
        "loss": loss(params, x, cfg, hyper),
        "dims_per_feature": dims_per_feature(W, cfg.m),
        "represented": jnp.mean(jnp.linalg.norm(W, axis=0) > 0.5),
    }
    if cfg.n == 2 and cfg.m == 1:
        out["phase"] = two_feature_phase(W).astype(jnp.float32)
    return out


MODEL = Model(init=init, sample=sample, loss=loss, metrics=metrics, name="elhage")


def example(dtype: str = "float32") -> dict:
    """A small case for the conformance suite: n = 5 features in m = 2 dimensions, two members
    of different density, importance 0.9^i, 5 AdamW steps at batch 4."""
    return {"cfg": Config(n=5, m=2, eval_batch=64, dtype=dtype),
            "hyper": make_hyper(5, density=[0.1, 0.5], importance=0.9 ** np.arange(5)),
            "optimizer": optimizer, "steps": 5, "batch_size": 4}
