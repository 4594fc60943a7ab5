"""Label-free "self-supervised prototype" pruning on a toy Gaussian mixture (a Simulator).

Sorscher et al. (2022), arXiv:2206.14486, Sec. 5: embed, run k-means, score each example by
its cosine distance to the nearest centroid ("prototype"); close = easy, far = hard; prune from
the easy end.

Toy analogue used here: inputs x = c m T + g, with c = +-1 equiprobable, g ~ N(0, I_N), the
teacher labels y = sign(T.x) (m = 0 is the isotropic Gaussian of the perceptron theory).  k-means
runs on X without labels; the score is the cosine distance to the nearest centroid.  Because
|x| is nearly constant in high dimension, that ranking is a ranking by |x.mu_hat| for the
centroid direction mu_hat: the metric acts like a probe whose *effective* angle theta_eff to T is
measured as the angle between T and the leading principal direction of the centroids.

One member = one (f, seed) problem at the separation m of the Config: the k examples FARTHEST from their prototype are kept and
a max-margin student is trained on them (shared solver: ``_max_margin``).
"""
from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from scalesim.precision import float_dtype
from scalesim.simulator import Simulator
from scalesim.validate import check_positive_ints, check_range

from ._max_margin import KeptSet, keep_indices, max_margin, unit

__all__ = ["Config", "Hyper", "make_hyper", "SIMULATOR", "PAPERS", "example", "simulate", "mixture",
           "kmeans", "prototype_scores", "effective_theta", "test_error_mixture"]

PAPERS = ("sorscher2022beyond",)


@dataclasses.dataclass(frozen=True)
class Config(KeptSet):
    """Static sizes of one prototype-pruning point.

    Attributes:
      n: input dimension N (>= 2).
      alpha_prune: kept examples per dimension (> 0); k = round(alpha_prune n) are kept.
      f_min: the smallest kept fraction among the members, in (0, 1]; fixes the drawn data set
        size p_max = round(k / f_min).
      m: mixture separation along T, >= 0 (x = c m T + g; m = 0 is isotropic).  Static, not a
        per-member value: as a compile-time constant the quadrature nodes of the mixture error
        are computed in NumPy; traced, XLA contracts their multiply-add and moves the last bits
        of eps.
      n_clusters: k-means clusters (>= 2).
      iters: Lloyd iterations.
    """

    n: int = 200
    alpha_prune: float = 3.0
    f_min: float = 1.0
    m: float = 0.0
    n_clusters: int = 2
    iters: int = 30

    def __post_init__(self):
        self.check_kept_set()
        check_range("m", self.m, 0.0)
        check_positive_ints("n_clusters", self.n_clusters)
        check_range("n_clusters", self.n_clusters, 2)
        check_positive_ints("iters", self.iters)


class Hyper(NamedTuple):
    """Per-member values: f (kept fraction)."""

    f: np.ndarray


def make_hyper(f) -> Hyper:
    """Member arrays (leading axis M) with validation.

    Args:
      f: kept fraction in (0, 1], scalar or [M].

    Returns:
      :class:`Hyper` of a float64 NumPy array [M].
    """
    f = np.atleast_1d(np.asarray(f, float)).copy()
    check_range("f", f, 0.0, 1.0, lo_open=True)
    return Hyper(f)


def mixture(key, T, p, m):
    """p points x = c m T + g (c = +-1, g ~ N(0, I)) [p, n] and labels y = sign(T.x) [p]."""
    kc, kg = jax.random.split(key)
    c = jnp.where(jax.random.bernoulli(kc, 0.5, (p,)), 1.0, -1.0).astype(T.dtype)
    X = c[:, None] * m * T[None, :] + jax.random.normal(kg, (p, T.shape[0]), T.dtype)
    return X, jnp.where(X @ T >= 0, 1.0, -1.0).astype(T.dtype)


def _normalise(X):
    return X / jnp.linalg.norm(X, axis=-1, keepdims=True)


def kmeans(key, X, k, iters=30, valid=None):
    """Spherical k-means (cosine similarity, as the paper's prototypes) by Lloyd iterations.

    Args:
      key: PRNG key (init: k distinct random valid points). X: [p, n]. k: clusters (static).
      iters: Lloyd iterations. valid: optional bool mask [p] of rows to use.

    Returns:
      (centroids [k, n] of unit norm, assignment [p] of every row).  jit/vmap-able.
    """
    p = X.shape[0]
    valid = jnp.ones((p,), bool) if valid is None else valid
    U = _normalise(X)
    logits = jnp.where(valid, 0.0, -jnp.inf)
    idx = jax.random.choice(key, p, (k,), replace=False, p=jax.nn.softmax(logits))
    C = U[idx]

    def step(C, _):
        a = jnp.argmax(U @ C.T, axis=1)
        onehot = jax.nn.one_hot(a, k, dtype=X.dtype) * valid[:, None]
        S = onehot.T @ U
        Cn = jnp.where(jnp.sum(onehot, 0)[:, None] > 0, S, C)
        return _normalise(Cn), None

    C, _ = jax.lax.scan(step, C, None, length=iters)
    return C, jnp.argmax(U @ C.T, axis=1)


def prototype_scores(X, C):
    """Cosine distance to the nearest centroid: 1 - max_c cos(x, mu_c) [p] (high = hard = keep)."""
    return 1.0 - jnp.max(_normalise(X) @ C.T, axis=1)


def effective_theta(C, T):
    """Angle (radians, in [0, pi/2]) between T and the leading principal direction of the
    centroids C [k, n] (the direction the prototype ranking effectively probes)."""
    Cc = C - C.mean(0, keepdims=True)
    _, _, vt = jnp.linalg.svd(Cc, full_matrices=False)
    return jnp.arccos(jnp.clip(jnp.abs(vt[0] @ T) / jnp.linalg.norm(T), 0.0, 1.0))


_REL = np.array([0.0, 1e-5, 1e-4, 1e-3, 4e-3, 0.015, 0.04, 0.1, 0.2, 0.35, 0.55, 0.78, 1.0])
_X, _W = np.polynomial.legendre.leggauss(12)


def _graded(lo, hi):
    left, width = _REL[:-1], np.diff(_REL)
    t = (left[:, None] + width[:, None] * (_X[None, :] + 1) / 2).ravel()
    w = (width[:, None] * _W[None, :] / 2).ravel()
    return lo + (hi - lo) * t, (hi - lo) * w


def _phi(v):
    # Standard normal pdf.  Not jax.scipy.stats.norm.pdf: that computes exp(-(log(2 pi) + v^2)/2),
    # which differs from this form in the last bits and changes the recorded test errors.
    return jnp.exp(-0.5 * v * v) / np.sqrt(2 * np.pi)


def test_error_mixture(R, m):
    """Error of a student at overlap R with T on the mixture x = c m T + g (exact 1-D integral).

    Args:
      R: student-teacher overlap (cosine) in [-1, 1].
      m: mixture separation >= 0.

    Returns:
      P(sign(c m R + u) != sign(c m + v)), (v, u) standard normal with correlation R; equals
      arccos(R)/pi at m = 0.
    """
    R = jnp.clip(R, -1.0 + 1e-15, 1.0 - 1e-15)
    sq = jnp.sqrt(1.0 - R * R)
    vl, wl = _graded(-m, -m - 12.0)           # v < -m (teacher says -1), graded towards -m
    vr, wr = _graded(-m, -m + 12.0)           # v > -m (teacher says +1)
    ndtr = jax.scipy.special.ndtr
    right = jnp.sum(wr * _phi(vr) * ndtr((-m * R - R * vr) / sq))          # student says -1
    left = jnp.sum(-wl * _phi(vl) * (1.0 - ndtr((-m * R - R * vl) / sq)))  # student says +1
    return right + left


def simulate(key, cfg: Config, hyper: Hyper) -> dict:
    """One member: p = round(k/f) mixture points, spherical k-means on the unlabeled inputs, keep
    the k examples farthest from their prototype, train the max-margin student.

    Args:
      key: the member's PRNG key.
      cfg: :class:`Config`.
      hyper: this member's :class:`Hyper` values (f).

    Returns:
      dict of scalars: eps (test error on the mixture), theta_eff (effective probe angle,
      radians), converged (bool).
    """
    k, p_max = cfg.k, cfg.p_max
    k_t, k_x, k_km = jax.random.split(key, 3)
    T = unit(jax.random.normal(k_t, (cfg.n,), float_dtype()))
    X, y = mixture(k_x, T, p_max, cfg.m)
    valid = jnp.arange(p_max) < jnp.maximum(k, jnp.round(k / hyper.f)).astype(jnp.int32)
    C, _ = kmeans(k_km, X, cfg.n_clusters, cfg.iters, valid)
    idx = keep_indices(prototype_scores(X, C), k, True, valid)   # keep the far (hard) ones
    w, kappa, conv = max_margin(X[idx], y[idx])
    return dict(eps=test_error_mixture(w @ T, cfg.m), theta_eff=effective_theta(C, T), converged=conv)


SIMULATOR = Simulator(simulate, name="prototype-pruning", x64_only=True)  # the max-margin solver needs float64


def example(dtype: str = "float32") -> dict:
    """A small case for the conformance suite: N = 10, k = 20, separation 2, two members
    (f = 1 and f = 0.5).  dtype is ignored (float_dtype() is used)."""
    return {"cfg": Config(n=10, alpha_prune=2.0, f_min=0.5, m=2.0, iters=5),
            "hyper": make_hyper(f=[1.0, 0.5])}
