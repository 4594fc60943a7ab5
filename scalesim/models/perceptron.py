"""Finite-N simulation of data pruning for the teacher-student perceptron (a Simulator).

Sorscher et al. (2022), arXiv:2206.14486, Sec. 2 and App. A (the setting of saddle-point
equations (1)-(3)):

* teacher T (unit), inputs x ~ N(0, I_N), labels y = sign(T.x), P_tot = round(k / f) examples;
* a probe J_probe at angle theta (radians) to T, either built exactly (cos(theta) T + sin(theta) e,
  e a random unit vector orthogonal to T) or trained for a few epochs on all the data (then
  theta is *measured*);
* ranking by the probe field |J_probe.x|: keep the k = round(alpha_prune N) smallest
  (keep-hard) or largest (keep-easy);
* a max-margin student trained from scratch on the kept set; test error eps = arccos(R)/pi.

One member = one (f, theta, mode, seed) problem.  The kept set has the fixed size k, and the
data set before pruning is drawn at the static size p_max = round(k / f_min) (rows beyond
round(k / f) masked out), so every member of a :class:`Config` shares one shape and f, theta
and the mode are per-member values (:class:`Hyper`).
"""
from __future__ import annotations

import dataclasses
import math
import os
from typing import NamedTuple

# The simulator does many small (n x n) LAPACK solves.  With the default BLAS thread pool on a
# shared, oversubscribed CPU each 200 x 200 solve took ~250 ms instead of ~1 ms (measured).
# Takes effect only if LAPACK has not been loaded yet in this process (jaxlib loads it lazily).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import jax
import jax.numpy as jnp
import numpy as np

from scalesim.precision import float_dtype
from scalesim.simulator import Simulator
from scalesim.validate import check_choice, check_positive_ints, check_range

from ._max_margin import KeptSet, keep_indices, max_margin, unit

__all__ = ["Config", "Hyper", "make_hyper", "SIMULATOR", "PAPERS", "example", "simulate", "make_problem",
           "teacher_and_probe", "sample", "train_probe", "test_error", "keep_indices", "max_margin"]

PAPERS = ("sorscher2022beyond",)
MODES = ("hard", "easy")
PROBES = ("exact", "trained")


@dataclasses.dataclass(frozen=True)
class Config(KeptSet):
    """Static sizes of one simulated pruning point.

    Attributes:
      n: input dimension N (>= 2).
      alpha_prune: kept examples per dimension (> 0); k = round(alpha_prune n) are kept.
      f_min: the smallest kept fraction among the members, in (0, 1]; fixes the drawn data set
        size p_max = round(k / f_min).
      probe: "exact" (angle theta set) or "trained" (logistic SGD; angle measured).
      probe_epochs: epochs of logistic SGD for probe = "trained".
    """

    n: int = 200
    alpha_prune: float = 3.0
    f_min: float = 1.0
    probe: str = "exact"
    probe_epochs: int = 2

    def __post_init__(self):
        self.check_kept_set()
        check_choice("probe", self.probe, PROBES)
        check_positive_ints("probe_epochs", self.probe_epochs)


class Hyper(NamedTuple):
    """Per-member values: f (kept fraction), theta (probe-teacher angle in RADIANS; for
    probe = "trained" unused), easy (bool: keep-easy instead of keep-hard)."""

    f: np.ndarray
    theta: np.ndarray
    easy: np.ndarray


def make_hyper(f, theta=0.0, mode="hard") -> Hyper:
    """Member arrays (leading axis M, broadcast) with validation.

    Args:
      f: kept fraction in (0, 1], scalar or [M].
      theta: probe-teacher angle in radians, in [0, pi/2), scalar or [M].
      mode: "hard" or "easy", scalar or [M].

    Returns:
      :class:`Hyper` of NumPy arrays [M]: f, theta (float64) and easy (bool).
    """
    f, theta, mode = np.broadcast_arrays(np.atleast_1d(np.asarray(f, float)),
                                         np.atleast_1d(np.asarray(theta, float)),
                                         np.atleast_1d(np.asarray(mode)))
    check_range("f", f, 0.0, 1.0, lo_open=True)
    check_range("theta", theta, 0.0, math.pi / 2, hi_open=True)
    for m in np.unique(mode):
        check_choice("mode", m, MODES)
    return Hyper(f.copy(), theta.copy(), mode == "easy")


# ----------------------------------------------------------------------------------------------
# Data, teacher, probe, ranking
# ----------------------------------------------------------------------------------------------

def teacher_and_probe(key, n, theta):
    """T uniform on the sphere; J_probe = cos(theta) T + sin(theta) e with e _|_ T (exact).

    Args:
      key: PRNG key. n: dimension. theta: probe-teacher angle in radians.

    Returns:
      (T [n], J_probe [n]), both unit vectors.
    """
    kt, ke = jax.random.split(key)
    T = unit(jax.random.normal(kt, (n,)))
    e = jax.random.normal(ke, (n,))
    e = unit(e - (e @ T) * T)
    return T, jnp.cos(theta) * T + jnp.sin(theta) * e


def sample(key, T, p):
    """p Gaussian inputs X [p, n] and teacher labels y = sign(T.x) [p] (+-1)."""
    X = jax.random.normal(key, (p, T.shape[0]), T.dtype)
    return X, jnp.where(X @ T >= 0, 1.0, -1.0).astype(T.dtype)


def train_probe(key, X, y, epochs, valid=None, lr=0.05, batch=20):
    """A probe trained on all the (valid) data: logistic-regression SGD for a few epochs from a
    small random start (the paper's probe is "trained for a few epochs"); its angle to T is
    measured, not set.

    Args:
      key: PRNG key. X: [p, n] inputs. y: [p] labels. epochs: passes over the data.
      valid: optional bool mask [p] of the rows that exist. lr, batch: SGD step and batch size.

    Returns:
      the unit probe direction [n].
    """
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
    return unit(J)


def make_problem(key, n, k, p_max, f, theta, easy, probe="exact", probe_epochs=2):
    """Draw teacher, probe and p = round(k/f) <= p_max inputs; prune to k points.

    Shapes depend only on (n, k, p_max), so f, theta (radians) and easy may be traced: rows
    beyond p are drawn but masked out.

    Returns:
      (X_kept [k, n], y_kept [k], T [n], J_probe [n]).
    """
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


def test_error(w, T):
    """Test error on unpruned Gaussian inputs: (eps = arccos(R)/pi, R = w.T/(|w||T|))."""
    R = jnp.clip(w @ T / (jnp.linalg.norm(w) * jnp.linalg.norm(T)), -1.0, 1.0)
    return jnp.arccos(R) / jnp.pi, R


def simulate(key, cfg: Config, hyper: Hyper) -> dict:
    """One member: draw, prune and train the max-margin student.

    Args:
      key: the member's PRNG key (teacher, data and probe).
      cfg: :class:`Config`.
      hyper: this member's :class:`Hyper` values (f, theta in radians, easy).

    Returns:
      dict of scalars: eps (test error), R (student-teacher overlap), kappa (margin),
      theta_measured (probe-teacher angle, radians), converged (bool).
    """
    X, y, T, Jp = make_problem(key, cfg.n, cfg.k, cfg.p_max, hyper.f, hyper.theta, hyper.easy,
                               cfg.probe, cfg.probe_epochs)
    w, kappa, conv = max_margin(X, y)
    eps, R = test_error(w, T)
    th_m = jnp.arccos(jnp.clip(Jp @ T, -1.0, 1.0))
    return dict(eps=eps, R=R, kappa=kappa, theta_measured=th_m, converged=conv)


SIMULATOR = Simulator(simulate, name="pruned-perceptron", x64_only=True)  # penalty stages up to C = 1e10


def example(dtype: str = "float32") -> dict:
    """A small case for the conformance suite: N = 10, k = 20, two members (keep-hard f = 1,
    keep-easy f = 0.5 at theta = 0.2 rad).  dtype is ignored (float_dtype() is used)."""
    return {"cfg": Config(n=10, alpha_prune=2.0, f_min=0.5),
            "hyper": make_hyper(f=[1.0, 0.5], theta=[0.0, 0.2], mode=["hard", "easy"])}
