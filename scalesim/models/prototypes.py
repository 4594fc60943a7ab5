"""Label-free "self-supervised prototype" pruning metric on a toy Gaussian mixture.

Sorscher et al. (2022), arXiv:2206.14486, section 5 (note /work/shared/research/data_pruning.md
section 6): embed, run k-means, score each example by its cosine distance to the nearest
centroid ("prototype"); close = easy, far = hard; prune from the easy end.

Toy analogue used here: inputs x = c m T + g, with c = +-1 equiprobable, g ~ N(0, I_N), the
teacher labels y = sign(T.x) (m = 0 is the isotropic Gaussian of the perceptron theory).  k-means
runs on X without labels; the score is the cosine distance to the nearest centroid.  Because
|x| is nearly constant in high dimension, that ranking is a ranking by |x.mu_hat| for the
centroid direction mu_hat: the metric acts like a probe whose *effective* angle theta_eff to T is
measured as the angle between T and the leading principal direction of the centroids.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from scalesim.precision import float_dtype


def mixture(key, T, p, m):
    """p points x = c m T + g (c = +-1, g ~ N(0, I)); labels y = sign(T.x)."""
    kc, kg = jax.random.split(key)
    c = jnp.where(jax.random.bernoulli(kc, 0.5, (p,)), 1.0, -1.0).astype(T.dtype)
    X = c[:, None] * m * T[None, :] + jax.random.normal(kg, (p, T.shape[0]), T.dtype)
    return X, jnp.where(X @ T >= 0, 1.0, -1.0).astype(T.dtype)


def _normalise(X):
    return X / jnp.linalg.norm(X, axis=-1, keepdims=True)


def kmeans(key, X, k, iters=30, valid=None):
    """Spherical k-means (cosine similarity, as the paper's prototypes) by Lloyd iterations.

    Init: k distinct random valid points.  valid: optional bool mask of rows to use.  Returns
    centroids [k, n] (unit norm) and the assignment of every row.  jit/vmap-able."""
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
    """Cosine distance to the nearest centroid: 1 - max_c cos(x, mu_c) (high = hard = keep)."""
    return 1.0 - jnp.max(_normalise(X) @ C.T, axis=1)


def effective_theta(C, T):
    """Angle between T and the leading principal direction of the centroids (the direction the
    prototype ranking effectively probes), in [0, pi/2]."""
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


def test_error_mixture(R, m):
    """Error of a student at overlap R with T on the mixture x = c m T + g (exact 1-D integral):
    P(sign(c m R + u) != sign(c m + v)), (v, u) standard normal with correlation R.  Equals
    arccos(R)/pi at m = 0."""
    R = jnp.clip(R, -1.0 + 1e-15, 1.0 - 1e-15)
    sq = jnp.sqrt(1.0 - R * R)
    vl, wl = _graded(-m, -m - 12.0)           # v < -m (teacher says -1), graded towards -m
    vr, wr = _graded(-m, -m + 12.0)           # v > -m (teacher says +1)
    phi = lambda v: jnp.exp(-0.5 * v * v) / np.sqrt(2 * np.pi)
    ndtr = jax.scipy.special.ndtr
    right = jnp.sum(wr * phi(vr) * ndtr((-m * R - R * vr) / sq))          # student says -1
    left = jnp.sum(-wl * phi(vl) * (1.0 - ndtr((-m * R - R * vl) / sq)))  # student says +1
    return right + left


def simulate(n, alpha_prune, fs, m, n_clusters, seeds, key, iters=30):
    """Prototype pruning + max-margin student, variants fs[v] x seeds in one compiled program.

    For each f: p = round(k/f) mixture points (k = round(alpha_prune n) kept), spherical k-means
    with n_clusters on the unlabeled inputs, keep the k examples FARTHEST from their prototype
    (prune from the easy end), train the max-margin student.  Returns numpy arrays [V, S]:
    eps, theta_eff, converged.
    """
    from . import perceptron as pm

    fs = np.asarray(fs, float)
    k = max(1, int(round(alpha_prune * n)))
    p_max = max(k, int(round(k / fs.min())))

    def one(f, seed):
        kk = jax.random.fold_in(key, seed)
        k_t, k_x, k_km = jax.random.split(kk, 3)
        dt = float_dtype()
        T = pm._unit(jax.random.normal(k_t, (n,), dt))
        X, y = mixture(k_x, T, p_max, m)
        valid = jnp.arange(p_max) < jnp.maximum(k, jnp.round(k / f)).astype(jnp.int32)
        C, _ = kmeans(k_km, X, n_clusters, iters, valid)
        idx = pm.keep_indices(prototype_scores(X, C), k, True, valid)   # keep the far (hard) ones
        w, kappa, conv = pm.max_margin(X[idx], y[idx])
        eps = test_error_mixture(w @ T, m)
        return dict(eps=eps, theta_eff=effective_theta(C, T), converged=conv)

    V, S = len(fs), len(seeds)        # lax.map, not vmap: see perceptron.simulate
    grid = (jnp.asarray(np.repeat(fs, S)), jnp.asarray(np.tile(np.asarray(seeds), V)))
    out = jax.jit(lambda xs: jax.lax.map(lambda a: one(*a), xs))(grid)
    return {k_: np.asarray(v).reshape(V, S) for k_, v in out.items()}
