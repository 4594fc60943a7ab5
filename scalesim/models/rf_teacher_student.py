"""Bahri et al.'s linear random-feature teacher-student model in its four limits.

Bahri, Dyer, Kaplan, Lee & Sharma, "Explaining Neural Scaling Laws" (2102.06701) §3: teacher
``F(x) = sum_M omega_M F_M(x)`` on S latent Gaussian features with covariance ``lam_M``, student
``f = theta . (Proj F)`` on P random projections, trained on D samples to the min-norm global
optimum.  Here S = ``lam.shape[0]``, the projection is ``F_ij ~ N(0, 1/N)`` (N = Bahri's P) and
the teacher is ``omega_M ~ N(0, w2_M)`` (isotropic ``w2 = 1/S`` is Bahri's choice;
``random_teacher=True``) or fixed at ``omega_M = sqrt(w2_M)`` (same mean loss, lower variance;
the target of the deterministic equivalent).  Losses are
exact population MSEs (Bahri's loss is half of these).  Each function is one draw; ensembles
are ``vmap`` over ``fold_in(key, i)`` keys (:func:`draws`).

Every function evaluates a whole *ladder* of sizes on one draw, with nested features (first N
columns of one projection) or nested samples (first D rows), i.e. common random numbers:

* :func:`resolution_model` — D = inf: ``L(P) = Tr[C - C Proj^T (Proj C Proj^T)^-1 Proj C]``.
* :func:`resolution_data` — N = inf: min-norm kernel regression on D samples, ``L(D)``.
* :func:`variance_data` — finite N < D: ``(L(D, N), L(inf, N))`` on the same draw (paired).
* :func:`variance_model` — finite D < N: ``(L(D, N), L(D, inf), control variate)``, paired.
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp


class _Sequencer:
    """Chains linear solves through ``optimization_barrier`` so they execute one at a time.

    Several independent LAPACK custom calls in one XLA:CPU program may run concurrently; on the
    shared test machine that deadlocked (0% CPU, never returned).  Each solve here depends on
    the previous one's output, which serialises them at no cost in flops.
    """

    def __init__(self):
        self.token = None

    def solve(self, a, b):
        if self.token is not None:
            _, a, b = jax.lax.optimization_barrier((self.token, a, b))
        x = jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(a, lower=True), b)
        self.token = x
        return x


def _teacher(key, lam, w2, random_teacher):
    w = jnp.sqrt(w2)
    if random_teacher:
        w = w * jax.random.normal(key, lam.shape, lam.dtype)
    return w


def _nested_projection(key, lam, n_max):
    """Unit-variance ``F_max`` (S x N_max); the N-feature student uses ``F_max[:, :N] / sqrt(N)``.

    Nesting gives common random numbers along a ladder of N (and the min-norm / best-fit losses
    do not depend on the overall scale of F, except where noted).
    """
    return jax.random.normal(key, (lam.shape[0], n_max), lam.dtype)


@partial(jax.jit, static_argnames=("sizes", "random_teacher"))
def resolution_model(key, lam, w2, sizes: tuple, random_teacher: bool = False):
    """Infinite-data loss of the best student on N random features (Bahri's ``L(P)``), N in sizes.

    ``L(N) = w^T C w - b_N^T K_N^-1 b_N`` with ``K = F^T C F``, ``b = F^T C w`` (nested F).
    """
    seq = _Sequencer()
    kf, kw = jax.random.split(key)
    w = _teacher(kw, lam, w2, random_teacher)
    f = _nested_projection(kf, lam, max(sizes))
    k = f.T @ (lam[:, None] * f)
    b = f.T @ (lam * w)
    c = jnp.dot(lam * w, w)
    return jnp.stack([c - b[:n] @ seq.solve(k[:n, :n], b[:n]) for n in sizes])


@partial(jax.jit, static_argnames=("sizes", "random_teacher"))
def resolution_data(key, lam, w2, sizes: tuple, random_teacher: bool = False):
    """Infinite-feature (kernel) min-norm interpolant on the first D samples (Bahri's ``L(D)``)."""
    seq = _Sequencer()
    kw, kx = jax.random.split(key)
    w = _teacher(kw, lam, w2, random_teacher)
    x = jax.random.normal(kx, (max(sizes), lam.shape[0]), lam.dtype) * jnp.sqrt(lam)
    gram, y = x @ x.T, x @ w
    out = []
    for d in sizes:
        e = x[:d].T @ seq.solve(gram[:d, :d], y[:d]) - w
        out.append(jnp.dot(lam * e, e))
    return jnp.stack(out)


@partial(jax.jit, static_argnames=("n_features", "sizes", "random_teacher"))
def variance_data(key, lam, w2, n_features: int, sizes: tuple, random_teacher: bool = False):
    """``(L(D, N), L(inf, N))`` for N < D, D in sizes (nested samples), on one draw.

    Conditional on (teacher, F), the pair (features, label) is a Gaussian vector of dimension
    N + 1 with covariance ``[[K, b], [b^T, c]]``, ``K = F^T C F``, ``b = F^T C omega``,
    ``c = omega^T C omega``; sampling it directly is exact and costs D (N+1) normals, not D S.
    """
    seq = _Sequencer()
    kd, kw, kx = jax.random.split(key, 3)
    w = _teacher(kw, lam, w2, random_teacher)
    f = _nested_projection(kd, lam, n_features) / jnp.sqrt(n_features)
    k = f.T @ (lam[:, None] * f)
    b = f.T @ (lam * w)
    c = jnp.dot(lam * w, w)
    cov = jnp.block([[k, b[:, None]], [b[None, :], c[None, None]]])
    z = jax.random.normal(kx, (max(sizes), n_features + 1), lam.dtype) @ jnp.linalg.cholesky(cov).T
    phi, y = z[:, :n_features], z[:, n_features]
    out = []
    for d in sizes:
        v = seq.solve(phi[:d].T @ phi[:d], phi[:d].T @ y[:d])
        out.append(c - 2 * v @ b + v @ (k @ v))
    limit = c - b @ seq.solve(k, b)
    return jnp.stack(out), jnp.full((len(sizes),), limit)


@partial(jax.jit, static_argnames=("sizes", "n_samples", "random_teacher"))
def variance_model(key, lam, w2, sizes: tuple, n_samples: int, random_teacher: bool = False):
    """``(L(D, N), L(D, inf), cv)`` for D < N, N in sizes (nested features), on one draw.

    ``L(D, N) - L(D, inf)`` has mean O(1/N) but per-draw fluctuations O(N^-1/2) from the term
    linear in ``G - I``, ``G = F F^T`` (``E_F[G] = I``).  ``cv`` is that first-order term,
    ``2 (P_perp C e_inf)^T (G - I) X^T alpha`` with ``alpha = (X X^T)^-1 y`` and ``P_perp`` the
    projector orthogonal to the rows of X; ``E_F[cv] = 0`` exactly, so
    ``L(D, N) - L(D, inf) - cv`` is an unbiased, low-variance estimate of the same mean (a
    control variate; its residual is second order in ``G - I``).
    """
    seq = _Sequencer()
    kd, kw, kx = jax.random.split(key, 3)
    w = _teacher(kw, lam, w2, random_teacher)
    f_max = _nested_projection(kd, lam, max(sizes))
    x = jax.random.normal(kx, (n_samples, lam.shape[0]), lam.dtype) * jnp.sqrt(lam)
    y = x @ w
    gram = x @ x.T
    u = x.T @ seq.solve(gram, y)                    # kernel (N = inf) interpolant
    e_k = u - w
    c_e = lam * e_k
    a = c_e - x.T @ seq.solve(gram, x @ c_e)        # P_perp C e_inf
    fa, fu = f_max.T @ a, f_max.T @ u
    xf = x @ f_max
    rf_loss, cvs = [], []
    for n in sizes:
        phi = xf[:, :n]
        e_rf = f_max[:, :n] @ (phi.T @ seq.solve(phi @ phi.T, y)) - w
        rf_loss.append(jnp.dot(lam * e_rf, e_rf))
        cvs.append(2.0 * (fa[:n] @ fu[:n] / n - a @ u))
    limit = jnp.dot(lam * e_k, e_k)
    return jnp.stack(rf_loss), jnp.full((len(sizes),), limit), jnp.stack(cvs)


def draws(fn, key, n_draws: int, *args, chunk: int = 16, **static):
    """``fn(key_i, *args, **static)`` for ``key_i = fold_in(key, i)``, i < n_draws.

    Draws run as a Python loop over chunks of ``chunk`` draws (one compiled program; the last
    chunk is padded), each chunk a :func:`jax.lax.map` — a loop, not a ``vmap``.  Batched
    (vmapped) LAPACK calls deadlocked jaxlib 0.10's CPU thread pool (two batched triangular
    solves each waiting in ParallelBatchMap on a 2-thread pool, seen under gdb); unbatched
    solves in a loop cannot, and the draws' matrices are large enough that batching them
    bought little.
    """
    n, chunk = int(n_draws), int(min(chunk, n_draws))
    ids = jnp.arange(-(-n // chunk) * chunk)
    keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(ids)
    mapped = jax.jit(lambda ks: jax.lax.map(lambda k: fn(k, *args, **static), ks))
    parts = [jax.block_until_ready(mapped(keys[i:i + chunk])) for i in range(0, ids.size, chunk)]
    return jax.tree.map(lambda *xs: jnp.concatenate(xs)[:n], *parts)
