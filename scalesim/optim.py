"""Optimisers shared by the toy models: signed weight decay and the Liu et al. AdamW.

Liu, Liu & Gore 2025 (arXiv 2505.10465; authors' ``exp/adamw.py``) train with an AdamW
whose "weight decay" γ may be negative:

* γ ≥ 0: decoupled decay p ← p (1 − η_t γ) (Loshchilov & Hutter 2019);
* γ < 0: per row, W_i ← W_i + η_t γ (1 − 1/(‖W_i‖ + ε)) W_i, a decoupled gradient step
  on |γ|/2 Σ_i (‖W_i‖ − 1)² that pulls every row norm to 1 (not plain negative L2, which
  would diverge).

Both are applied to W only (the bias has no decay), before the Adam step as in torch's
AdamW; the strength follows the learning-rate schedule η_t: linear warm-up then cosine
decay to 5 % of the peak (authors' ``get_lr``).  Every numeric argument may be a traced
scalar, so γ, α and learning rates are vmapped per ensemble member without recompiling.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

from .validate import check_range


def liu_schedule_factor(total_steps: int, warmup_steps: int, final_frac: float = 0.05) -> Callable:
    """Schedule multiplier f(count) ∈ [final_frac, 1] of the authors' ``get_lr``.

    With s = count + 1: s < warmup → s / warmup; otherwise
    final + (1 − final) · ½ (1 + cos(π (s − warmup)/(total − warmup))).
    If warmup ≥ total the authors use the cosine from s = 0 without warm-up.  Written out rather
    than composed from ``optax.warmup_cosine_decay_schedule``, whose step offset (count, not
    count + 1) and arithmetic differ from the authors' float32 schedule.

    Args:
      total_steps: schedule length in optimiser steps (>= 1).
      warmup_steps: linear warm-up steps (>= 0).
      final_frac: final learning rate as a fraction of the peak, in [0, 1].

    Returns:
      ``factor(count) -> float32`` scalar, jit-able (``count`` may be traced).
    """
    check_range("total_steps", total_steps, 1)
    check_range("warmup_steps", warmup_steps, 0)
    check_range("final_frac", final_frac, 0.0, 1.0)

    def factor(count):
        s = jnp.asarray(count, jnp.float32) + 1.0
        if warmup_steps < total_steps:
            cos = 0.5 * (1.0 + jnp.cos(jnp.pi * (s - warmup_steps) / (total_steps - warmup_steps)))
            decay = final_frac + (1.0 - final_frac) * cos
            return jnp.where(s < warmup_steps, s / max(warmup_steps, 1), decay)
        cos = 0.5 * (1.0 + jnp.cos(jnp.pi * s / total_steps))
        return final_frac + (1.0 - final_frac) * cos

    return factor


def signed_decay_direction(w: jax.Array, gamma, norm_axis: int = -1, eps: float = 1e-8) -> jax.Array:
    """The decay "gradient" d with p ← p − η d: γ p for γ ≥ 0, |γ| (1 − 1/(‖p_i‖+ε)) p_i for γ < 0."""
    gamma = jnp.asarray(gamma, w.dtype)
    norm = jnp.linalg.norm(w, axis=norm_axis, keepdims=True) + eps
    pull = (1.0 - 1.0 / norm) * w
    return jnp.where(gamma >= 0, gamma * w, -gamma * pull)


def signed_weight_decay(gamma, norm_axis: int = -1, eps: float = 1e-8) -> optax.GradientTransformation:
    """Add the signed-decay direction to the updates (apply before the −learning-rate scaling).

    Like ``optax.add_decayed_weights`` but γ < 0 pulls each row norm (norm over
    ``norm_axis``) to 1.  Use with ``optax.masked`` to restrict it to W.
    """

    def init_fn(params):
        return optax.EmptyState()

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError("signed_weight_decay needs params")
        new = jax.tree_util.tree_map(
            lambda u, p: u + signed_decay_direction(p, gamma, norm_axis, eps).astype(u.dtype),
            updates, params)
        return new, state

    return optax.GradientTransformation(init_fn, update_fn)


class ScheduleState(NamedTuple):
    count: jax.Array


def scale_by_peak_schedule(peaks: Any, factor: Callable) -> optax.GradientTransformation:
    """updates ← −peak_leaf · factor(count) · updates, with a peak per leaf (a pytree prefix)."""

    def init_fn(params):
        return ScheduleState(jnp.zeros((), jnp.int32))

    def update_fn(updates, state, params=None):
        f = factor(state.count)
        new = jax.tree_util.tree_map(
            lambda pk, u: jax.tree_util.tree_map(lambda x: (-pk * f).astype(x.dtype) * x, u),
            peaks, updates, is_leaf=lambda x: x is None)
        return new, ScheduleState(state.count + 1)

    return optax.GradientTransformation(init_fn, update_fn)


def liu_adamw(lr, gamma, *, total_steps: int, warmup_steps: int, lr_b=None, final_frac: float = 0.05,
              b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> optax.GradientTransformation:
    """Liu et al. 2025 AdamW for params {"W", "b"}: signed decay γ on W only, warm-up + cosine.

    lr: peak learning rate of W (and of b unless lr_b is given); gamma: signed decay γ.
    The row-norm ε is Adam's ε, as in the authors' code.
    """
    lr_b = lr if lr_b is None else lr_b
    return optax.chain(
        optax.scale_by_adam(b1=b1, b2=b2, eps=eps),
        optax.masked(signed_weight_decay(gamma, norm_axis=-1, eps=eps), {"W": True, "b": False}),
        scale_by_peak_schedule({"W": lr, "b": lr_b}, liu_schedule_factor(total_steps, warmup_steps, final_frac)),
    )


def learning_rates(lr, total_steps: int, warmup_steps: int, final_frac: float = 0.05):
    """η_t for t = 0 … total_steps − 1 (for plots and tests)."""
    f = liu_schedule_factor(total_steps, warmup_steps, final_frac)
    return lr * jax.vmap(f)(jnp.arange(total_steps))


@dataclasses.dataclass(frozen=True)
class LiuAdamW:
    """Hashable ``hyper -> GradientTransformation`` factory for the ensemble engine.

    Reads ``hyper.lr``, ``hyper.gamma`` and (if present) ``hyper.lr_b``; the schedule
    lengths are static fields.  Equal settings compare and hash equal (frozen dataclass), so
    the engine's compilation cache is reused across calls.

    Attributes:
      total_steps: schedule length in optimiser steps (>= 1).
      warmup_steps: linear warm-up steps (>= 0; >= total_steps: cosine without warm-up).
      final_frac: final learning rate as a fraction of the peak, in [0, 1].
    """

    total_steps: int
    warmup_steps: int
    final_frac: float = 0.05

    def __post_init__(self):
        object.__setattr__(self, "total_steps", int(self.total_steps))
        object.__setattr__(self, "warmup_steps", int(self.warmup_steps))
        object.__setattr__(self, "final_frac", float(self.final_frac))
        liu_schedule_factor(self.total_steps, self.warmup_steps, self.final_frac)  # validates

    def __call__(self, hyper) -> optax.GradientTransformation:
        return liu_adamw(hyper.lr, hyper.gamma, lr_b=getattr(hyper, "lr_b", None), total_steps=self.total_steps,
                         warmup_steps=self.warmup_steps, final_frac=self.final_frac)
