"""Teacher–student MLP on inputs of intrinsic dimension ``d``: the resolution-limited law.

Setup (after Bahri, Dyer, Kaplan, Lee & Sharma 2021, "Explaining Neural Scaling Laws",
arXiv 2102.06701, §3 teacher–student; ``shared/research/random_features.md`` §1):

- inputs ``z`` uniform on the cube ``[-1, 1]^d`` (the d-dimensional data manifold), embedded
  linearly in an ambient space of dimension ``ambient >= d`` by a fixed Gaussian matrix
  ``Q ~ N(0, 1/ambient)`` (``E[Q^T Q] = I``), ``x = Q z`` (``ambient == d`` means no embedding);
- a fixed random *smooth* teacher ``F(z) = v . tanh(W z + c) / sqrt(k)`` with ``k`` hidden
  units, ``W ~ N(0, scale^2 / d)``, ``c ~ N(0, scale^2 / 4)``, ``v ~ N(0, 1)`` (one teacher per
  data seed; smoothness is what the piecewise-linear-approximation argument for ``4/d`` needs);
- a ReLU student MLP (``depth`` hidden layers of ``width`` units, He init) trained with
  minibatches drawn *with replacement* from a fixed training set of ``D`` points.

The training set is never materialised: point ``j`` of data seed ``s`` is drawn from
``fold_in(stream(PRNGKey(s), "train"), j)``, so ``sample(key, ...)`` draws ``batch_size``
indices ``j < D`` with the step key and regenerates those points. ``D`` (``n_train``), the
data seed and the learning rate are per-member hyperparameters (:class:`Hyper`), so one
compiled program trains every (D, seed) pair as vmapped members. ``metrics`` evaluates the
test MSE on ``n_test`` fresh points of the same data seed, normalised by the teacher's output
variance on those points (so ``test_nmse = 1`` is the trivial predictor's loss).

The student's parameter count is held fixed (``P`` large against ``D``: the hierarchy
``1 << D << P`` of the resolution-limited regime, Bahri §2.2).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..validate import check_choice, check_positive_ints, check_range
from ..engine import Model
from ..rng import stream

__all__ = [
    "Config",
    "Hyper",
    "MODEL",
    "make_hyper",
    "teacher_params",
    "teacher_fn",
    "inputs",
    "student_fn",
    "n_params",
    "init",
    "sample",
    "loss",
    "metrics",
]


@dataclasses.dataclass(frozen=True)
class Config:
    """Static sizes (changing one recompiles).

    ``d``: intrinsic input dimension; ``ambient``: embedding dimension (>= d);
    ``teacher_width``: hidden units k of the tanh teacher; ``teacher_scale``: its weight scale;
    ``width``/``depth``: the ReLU student; ``n_test``: test points; ``dtype``: training precision.
    """

    d: int = 2
    ambient: int = 2
    teacher_width: int = 32
    teacher_scale: float = 2.0
    width: int = 64
    depth: int = 2
    n_test: int = 2048
    dtype: str = "float32"

    def __post_init__(self):
        check_positive_ints("d", self.d)
        check_positive_ints("ambient", self.ambient)
        if self.ambient < self.d:
            raise ValueError(f"ambient must be >= d = {self.d}; got {self.ambient}")
        check_positive_ints("teacher_width", self.teacher_width)
        check_range("teacher_scale", self.teacher_scale, 0.0, None, lo_open=True)
        check_positive_ints("width", self.width)
        check_positive_ints("depth", self.depth)
        check_positive_ints("n_test", self.n_test)
        check_choice("dtype", self.dtype, ("float32", "float64"))


class Hyper(NamedTuple):
    """Per-member hyperparameters (scalars inside the model, ``[M]`` arrays in an ensemble)."""

    lr: jax.Array  # optimizer learning rate (float)
    n_train: jax.Array  # training-set size D (int32)
    data_seed: jax.Array  # seed of the teacher, training set and test set (int32)


def make_hyper(lr, n_train, data_seed) -> Hyper:
    """Broadcast to equal-length 1-D arrays; ``ValueError`` for ``lr <= 0``, ``D < 1``, seed < 0."""
    lr = np.atleast_1d(np.asarray(lr, dtype=float))
    n = np.atleast_1d(np.asarray(n_train))
    s = np.atleast_1d(np.asarray(data_seed))
    m = max(lr.size, n.size, s.size)
    lr, n, s = (np.broadcast_to(x, (m,)) for x in (lr, n, s))
    if not np.all(np.isfinite(lr)) or np.any(lr <= 0):
        raise ValueError(f"lr must be > 0 (finite); got {lr.tolist()}")
    if np.any(n != np.round(n)) or np.any(n < 1):
        raise ValueError(f"n_train must be integers >= 1; got {n.tolist()}")
    if np.any(s != np.round(s)) or np.any(s < 0):
        raise ValueError(f"data_seed must be integers >= 0; got {s.tolist()}")
    return Hyper(jnp.asarray(lr), jnp.asarray(n.astype(np.int32)), jnp.asarray(s.astype(np.int32)))


def _seed_key(data_seed):
    return jax.random.fold_in(jax.random.PRNGKey(0), data_seed)


def teacher_params(cfg: Config, data_seed, dtype=None):
    """``(W [k, d], c [k], v [k])`` of the tanh teacher, and the embedding ``Q [ambient, d]``."""
    dt = jnp.dtype(cfg.dtype if dtype is None else dtype)
    kw, kc, kv, kq = jax.random.split(stream(_seed_key(data_seed), "teacher"), 4)
    k, d = cfg.teacher_width, cfg.d
    f32 = jnp.float32  # draws in float32 then cast: the same teacher and data for every dtype
    w = (jax.random.normal(kw, (k, d), f32) * float(cfg.teacher_scale / np.sqrt(d))).astype(dt)
    c = (jax.random.normal(kc, (k,), f32) * float(cfg.teacher_scale / 2)).astype(dt)
    v = jax.random.normal(kv, (k,), f32).astype(dt)
    if cfg.ambient == d:
        q = jnp.eye(d, dtype=dt)
    else:  # Gaussian embedding, E[Q^T Q] = I (a near-isometry; no QR: its signs are backend-defined)
        q = (jax.random.normal(kq, (cfg.ambient, d), f32) / float(np.sqrt(cfg.ambient))).astype(dt)
    return (w, c, v), q


def teacher_fn(tparams, z):
    """``F(z) = v . tanh(W z + c) / sqrt(k)`` on intrinsic coordinates ``z [..., d]``."""
    w, c, v = tparams
    return jnp.tanh(z @ w.T + c) @ v / float(np.sqrt(v.shape[0]))


def inputs(cfg: Config, data_seed, split: str, idx, dtype=None):
    """Intrinsic points ``z [n, d]`` uniform on ``[-1, 1]^d``: point ``idx[j]`` of ``split``."""
    dt = jnp.dtype(cfg.dtype if dtype is None else dtype)
    base = stream(_seed_key(data_seed), split)
    return jax.vmap(lambda j: jax.random.uniform(jax.random.fold_in(base, j), (cfg.d,), jnp.float32, -1.0, 1.0))(idx).astype(dt)


def _labelled(cfg: Config, data_seed, split, idx, dt):
    tp, q = teacher_params(cfg, data_seed, dt)
    z = inputs(cfg, data_seed, split, idx, dt)
    return z @ q.T, teacher_fn(tp, z)


def student_fn(params, x):
    """ReLU MLP: ``params = [(W_1, b_1), ..., (W_L, b_L), (w_out, b_out)]``."""
    h = x
    for w, b in params[:-1]:
        h = jax.nn.relu(h @ w + b)
    w, b = params[-1]
    return h @ w + b


def n_params(cfg: Config) -> int:
    """Number of student parameters P."""
    sizes = [cfg.ambient] + [cfg.width] * cfg.depth + [1]
    return int(sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])))


def init(key, cfg: Config, hyper: Hyper):
    """He-normal weights, zero biases; the output layer is a vector (scalar output)."""
    del hyper
    dt = jnp.dtype(cfg.dtype)
    sizes = [cfg.ambient] + [cfg.width] * cfg.depth
    keys = jax.random.split(key, cfg.depth + 1)
    params = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        params.append((jax.random.normal(keys[i], (a, b), dt) * float(np.sqrt(2.0 / a)), jnp.zeros((b,), dt)))
    params.append((jax.random.normal(keys[-1], (cfg.width,), dt) * float(np.sqrt(1.0 / cfg.width)), jnp.zeros((), dt)))
    return params


def sample(key, cfg: Config, hyper: Hyper, batch_size: int):
    """``batch_size`` points drawn with replacement from the member's fixed training set of size D."""
    dt = jnp.dtype(cfg.dtype)
    idx = jax.random.randint(key, (batch_size,), 0, hyper.n_train)
    return _labelled(cfg, hyper.data_seed, "train", idx, dt)


def loss(params, batch, cfg: Config, hyper: Hyper):
    """Mean squared error ``mean (f(x) - F(x))^2`` on the batch."""
    del cfg, hyper
    x, y = batch
    return jnp.mean((student_fn(params, x) - y) ** 2)


def metrics(params, cfg: Config, hyper: Hyper):
    """Test MSE on ``n_test`` fresh points, and normalised by the teacher's output variance."""
    dt = jnp.dtype(cfg.dtype)  # the draws depend on the dtype: always cfg.dtype, as in ``sample``
    x, y = _labelled(cfg, hyper.data_seed, "test", jnp.arange(cfg.n_test), dt)
    x = x.astype(jax.tree.leaves(params)[0].dtype)
    mse = jnp.mean((student_fn(params, x) - y) ** 2)
    return {"test_mse": mse, "test_nmse": mse / jnp.var(y)}


MODEL = Model(init=init, sample=sample, loss=loss, metrics=metrics, name="teacher_student_mlp")
