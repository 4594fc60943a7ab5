"""Finite-N simulation of data pruning for the teacher-student perceptron.

Sorscher et al. (2022), arXiv:2206.14486, section 2 / App. A setup (note
/work/shared/research/data_pruning.md, sections 1 and 5):

* teacher T (unit), inputs x ~ N(0, I_N), labels y = sign(T.x), P_tot = round(alpha_tot N);
* a probe J_probe at angle theta to T, either built exactly (cos(theta) T + sin(theta) e, e a
  random unit vector orthogonal to T) or trained for a few epochs on all the data (then theta
  is *measured*);
* ranking by the probe field |J_probe.x| (note section 1, "Ranking criterion"): keep the
  k = round(f P_tot) smallest (keep-hard) or largest (keep-easy);
* a max-margin student trained from scratch on the kept set; test error eps = arccos(R)/pi.

The max-margin solver is a batched JAX primal Newton method on the squared-hinge L2-SVM without
bias, 1/2 |w|^2 + C sum_i (1 - y_i x_i.w)_+^2, with C raised 1, 1e2, ..., 1e10 towards the
hard-margin limit (note section 5 "Simulation").  The kept set has a fixed size k for fixed
alpha_prune, so problems at different f, theta, mode and seed share one shape and are solved in
one ``vmap``.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

# The batched solver does many small (n x n) LAPACK solves.  With the default BLAS thread pool
# on a shared, oversubscribed CPU each 200 x 200 solve took ~250 ms instead of ~1 ms (measured).
# Takes effect only if LAPACK has not been loaded yet in this process (jaxlib loads it lazily).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import jax
import jax.numpy as jnp
import numpy as np
from scalesim.precision import float_dtype

MODES = ("hard", "easy")
PROBES = ("exact", "trained")


@dataclass(frozen=True)
class PruneSimConfig:
    """One simulated pruning point.  alpha_prune = k/N is the kept-set size; alpha_tot =
    alpha_prune / f is the size of the data set before pruning."""
    n: int = 200
    alpha_prune: float = 3.0
    f: float = 1.0
    theta: float = 0.0          # probe angle (radians); for probe="trained", a target only
    mode: str = "hard"
    probe: str = "exact"
    probe_epochs: int = 2       # epochs of logistic SGD for probe="trained"

    def __post_init__(self):
        if not (isinstance(self.n, int) and self.n >= 2):
            raise ValueError(f"n must be an integer >= 2, got {self.n!r}")
        if not (self.alpha_prune > 0 and math.isfinite(self.alpha_prune)):
            raise ValueError(f"alpha_prune must be > 0, got {self.alpha_prune!r}")
        if not (0 < self.f <= 1):
            raise ValueError(f"f must be in (0, 1], got {self.f!r}")
        if not (0 <= self.theta < math.pi / 2):
            raise ValueError(f"theta must be in [0, pi/2), got {self.theta!r}")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.probe not in PROBES:
            raise ValueError(f"probe must be one of {PROBES}, got {self.probe!r}")
        if not (isinstance(self.probe_epochs, int) and self.probe_epochs >= 1):
            raise ValueError(f"probe_epochs must be an integer >= 1, got {self.probe_epochs!r}")

    @property
    def k(self) -> int:
        return max(1, int(round(self.alpha_prune * self.n)))

    @property
    def p_tot(self) -> int:
        return max(self.k, int(round(self.k / self.f)))


# ----------------------------------------------------------------------------------------------
# Data, teacher, probe, ranking
# ----------------------------------------------------------------------------------------------

def _unit(v):
    return v / jnp.linalg.norm(v)


def teacher_and_probe(key, n, theta):
    """T uniform on the sphere; J_probe = cos(theta) T + sin(theta) e with e _|_ T (exact)."""
    kt, ke = jax.random.split(key)
    T = _unit(jax.random.normal(kt, (n,)))
    e = jax.random.normal(ke, (n,))
    e = _unit(e - (e @ T) * T)
    return T, jnp.cos(theta) * T + jnp.sin(theta) * e


def sample(key, T, p):
    """p Gaussian inputs and teacher labels y = sign(T.x)."""
    X = jax.random.normal(key, (p, T.shape[0]), T.dtype)
    return X, jnp.where(X @ T >= 0, 1.0, -1.0).astype(T.dtype)


def train_probe(key, X, y, epochs, valid=None, lr=0.05, batch=20):
    """A probe trained on all the (valid) data: logistic-regression SGD for a few epochs from a
    small random start (the paper's probe is "trained for a few epochs"); its angle to T is
    measured, not set.  valid: optional bool mask [p] of the rows that exist."""
    p, n = X.shape
    valid = jnp.ones((p,), X.dtype) if valid is None else valid.astype(X.dtype)
    nb = p // batch
    J0 = 1e-3 * jax.random.normal(jax.random.fold_in(key, 0), (n,), X.dtype)

    def epoch(J, ek):
        perm = jax.random.permutation(ek, p)[: nb * batch].reshape(nb, batch)

        def step(J, idx):
            xb, yb, vb = X[idx], y[idx], valid[idx]
            m = yb * (xb @ J)
            g = -(xb * (vb * yb * jax.nn.sigmoid(-m))[:, None]).sum(0) / batch
            return J - lr * g * n ** 0.5, None

        J, _ = jax.lax.scan(step, J, perm)
        return J, None

    keys = jax.random.split(jax.random.fold_in(key, 1), epochs)
    J, _ = jax.lax.scan(epoch, J0, keys)
    return _unit(J)


def keep_indices(scores, k, easy, valid=None):
    """Indices of the k kept points: smallest scores (keep-hard) or largest (keep-easy); rows
    with valid == False are never kept."""
    key = jnp.where(easy, -scores, scores)
    if valid is not None:
        key = jnp.where(valid, key, jnp.inf)
    return jnp.argsort(key)[:k]


def make_problem(key, n, k, p_max, f, theta, easy, probe="exact", probe_epochs=2):
    """Draw teacher, probe and p = round(k/f) <= p_max inputs; prune to k points.

    Shapes depend only on (n, k, p_max), so f, theta and easy may be traced (vmapped): rows
    beyond p are drawn but masked out.  Returns (X_kept [k, n], y_kept [k], T, J_probe)."""
    k_tp, k_x, k_pr = jax.random.split(key, 3)
    dt = float_dtype()
    T, Jp = teacher_and_probe(k_tp, n, jnp.asarray(theta, dt))
    X, y = sample(k_x, T, p_max)
    p = jnp.maximum(k, jnp.round(k / f)).astype(jnp.int32)
    valid = jnp.arange(p_max) < p
    if probe == "trained":
        Jp = train_probe(k_pr, X, y, probe_epochs, valid)
    idx = keep_indices(jnp.abs(X @ Jp), k, easy, valid)
    return X[idx], y[idx], T, Jp


# ----------------------------------------------------------------------------------------------
# Batched max-margin solver
# ----------------------------------------------------------------------------------------------

C_STAGES = (1.0, 1e2, 1e4, 1e6, 1e8, 1e10)


def _exact_step(w, d, r, q, C, n_bisect=60):
    """Exact line search on the piecewise-quadratic objective along d: root of the monotone
    phi'(t) = w.d + t|d|^2 - 2C sum q_i (r_i - t q_i)_+ by bisection (cheap: O(k) per test)."""
    wd, dd = w @ d, d @ d
    dphi = lambda t: wd + t * dd - 2.0 * C * jnp.sum(q * jnp.maximum(r - t * q, 0.0))
    hi = jax.lax.while_loop(lambda h: (dphi(h) < 0) & (h < 1e6), lambda h: 2.0 * h,
                            jnp.asarray(1.0, w.dtype))

    def bis(_, lohi):
        lo, hi = lohi
        mid = 0.5 * (lo + hi)
        neg = dphi(mid) < 0
        return jnp.where(neg, mid, lo), jnp.where(neg, hi, mid)

    lo, hi = jax.lax.fori_loop(0, n_bisect, bis, (jnp.zeros_like(hi), hi))
    return 0.5 * (lo + hi)


def max_margin(X, y, iters=100, tol=1e-12):
    """Max-margin (hard-margin, no bias) direction for separable data (X [k, n], y [k]).

    Primal squared-hinge L2-SVM, min 1/2|w|^2 + C sum (1 - y x.w)_+^2, solved by Newton's method
    with an exact line search (Keerthi & DeCoste's finite Newton method for L2-SVMs), at
    C = 1, 1e2, ..., 1e10, each stage warm-started from the previous one (note section 5:
    hard-margin limit).  Returns (w_unit, kappa, converged), kappa = min_i y_i x_i.w_unit.
    vmap-able over a leading problem axis.
    """
    k, n = X.shape
    Z = X * y[:, None]                       # rows y_i x_i
    eye = jnp.eye(n, dtype=X.dtype)

    def stage(w, C):
        def body(st):
            w, it, _ = st
            r = 1.0 - Z @ w
            act = (r > 0).astype(X.dtype)
            g = w - 2.0 * C * (Z.T @ (act * r))
            H = eye + 2.0 * C * (Z.T * act) @ Z
            d = -jnp.linalg.solve(H, g)
            t = _exact_step(w, d, r, Z @ d, C)
            wn = w + t * d
            return wn, it + 1, jnp.linalg.norm(t * d) / (jnp.linalg.norm(wn) + 1e-30)

        def cond(st):
            _, it, rel = st
            return (it < iters) & (rel > tol)

        w, it, rel = jax.lax.while_loop(cond, body, (w, 0, jnp.asarray(jnp.inf, X.dtype)))
        return w, rel

    w = jnp.zeros((n,), X.dtype)
    rel = jnp.asarray(jnp.inf, X.dtype)
    for C in C_STAGES:
        w, rel = stage(w, jnp.asarray(C, X.dtype))
    wu = w / jnp.linalg.norm(w)
    kappa = jnp.min(Z @ wu)
    # hard-margin KKT: all margins >= 1 up to O(1/C)
    return wu, kappa, (rel <= 1e-8) & (jnp.min(Z @ w) > 1.0 - 1e-6)


def test_error(w, T):
    """eps = arccos(R)/pi with R = w.T/(|w||T|) (generalisation error on unpruned inputs)."""
    R = jnp.clip(w @ T / (jnp.linalg.norm(w) * jnp.linalg.norm(T)), -1.0, 1.0)
    return jnp.arccos(R) / jnp.pi, R


def simulate(n, alpha_prune, fs, thetas, modes, seeds, key, probe="exact", probe_epochs=2):
    """Simulate variants (fs[v], thetas[v], modes[v]) x seeds at one (n, alpha_prune) in ONE
    compiled program: kept size k = round(alpha_prune n) is shared, the data set before
    pruning has round(k / f) points.  Member keys: fold_in(key, seed) (teacher, data and probe
    of seed s are the same for every variant).  Returns numpy dict of arrays [V, S]: eps, R,
    kappa, theta_measured (probe-teacher angle), converged.
    """
    for f, th, m in zip(*np.broadcast_arrays(fs, thetas, np.asarray(modes))):
        PruneSimConfig(n=n, alpha_prune=alpha_prune, f=float(f), theta=float(th), mode=str(m),
                       probe=probe, probe_epochs=probe_epochs)           # validation
    fs, thetas, modes = np.broadcast_arrays(np.asarray(fs, float), np.asarray(thetas, float),
                                            np.asarray(modes))
    k = max(1, int(round(alpha_prune * n)))
    p_max = max(k, int(round(k / fs.min())))
    easys = modes == "easy"

    def one(f, th, ez, seed):
        X, y, T, Jp = make_problem(jax.random.fold_in(key, seed), n, k, p_max, f, th, ez,
                                   probe, probe_epochs)
        w, kappa, conv = max_margin(X, y)
        eps, R = test_error(w, T)
        th_m = jnp.arccos(jnp.clip(Jp @ T, -1.0, 1.0))
        return dict(eps=eps, R=R, kappa=kappa, theta_measured=th_m, converged=conv)

    # One compiled program; problems run through lax.map (sequentially) rather than vmap: the
    # solver's while-loops would otherwise run in lockstep at the slowest problem's iteration
    # count, and batched small LAPACK solves were slower per problem on CPU (measured 1.1 vs
    # 2.9 problems/s at N = 200, k = 600).
    V, S = len(fs), len(seeds)
    grid = (np.repeat(fs, S), np.repeat(thetas, S), np.repeat(easys, S),
            np.tile(np.asarray(seeds), V))
    fn = jax.jit(lambda xs: jax.lax.map(lambda a: one(*a), xs))
    out = fn(tuple(jnp.asarray(x) for x in grid))
    return {k_: np.asarray(v).reshape(V, S) for k_, v in out.items()}
