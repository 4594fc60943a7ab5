"""Teacher–student MLP on inputs of intrinsic dimension ``d``: the resolution-limited law.

Setup (after Bahri, Dyer, Kaplan, Lee & Sharma 2021, "Explaining Neural Scaling Laws",
arXiv 2102.06701, Sec. 3 teacher–student):

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
``1 << D << P`` of the resolution-limited regime, Bahri et al. Sec. 2.2).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..engine import Model
from ..rng import stream
from ..validate import check_choice, check_nonneg, check_positive_ints, check_range

__all__ = [
    "Config",
    "Hyper",
    "MODEL",
    "PAPERS",
    "example",
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
    "adam",
]

PAPERS = ("bahri2021explaining",)


@dataclasses.dataclass(frozen=True)
class Config:
    """Static sizes (changing one recompiles).

    Attributes:
      d: intrinsic input dimension.
      ambient: embedding dimension (>= d; the student's input size).
      teacher_width: hidden units k of the tanh teacher.
      teacher_scale: the teacher's weight scale (dimensionless).
      width, depth: hidden width and number of hidden layers of the ReLU student.
      n_test: test points per data seed.
      dtype: training precision (``"float32"`` or ``"float64"``).
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
        check_range("ambient", self.ambient, self.d)
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
    """Broadcast to equal-length 1-D member arrays, with validation.

    Args:
      lr: learning rate (> 0).
      n_train: training-set size D (integer >= 1).
      data_seed: seed of the teacher and data (integer >= 0).

    Returns:
      :class:`Hyper`: lr float ``[M]``, n_train and data_seed int32 ``[M]``; ``ValueError``
      naming the field for an out-of-range or non-integer value.
    """
    lr = np.atleast_1d(np.asarray(lr, dtype=float))
    n = np.atleast_1d(np.asarray(n_train))
    s = np.atleast_1d(np.asarray(data_seed))
    m = max(lr.size, n.size, s.size)
    lr, n, s = (np.broadcast_to(x, (m,)) for x in (lr, n, s))
    check_range("lr", lr, 0.0, lo_open=True)
    check_range("n_train", n, 1)
    check_nonneg("data_seed", s)
    for name, x in (("n_train", n), ("data_seed", s)):
        if np.any(x != np.round(x)):
            raise ValueError(f"{name} must be integers; got {x.tolist()}")
    return Hyper(jnp.asarray(lr), jnp.asarray(n.astype(np.int32)), jnp.asarray(s.astype(np.int32)))


def _seed_key(data_seed):
    return jax.random.fold_in(jax.random.PRNGKey(0), data_seed)


def teacher_params(cfg: Config, data_seed, dtype=None):
    """The fixed random tanh teacher and the input embedding of one data seed.

    Weights are drawn in float32 and cast, so every dtype sees the same teacher:
    ``W ~ N(0, scale^2 / d)``, ``c ~ N(0, scale^2 / 4)``, ``v ~ N(0, 1)``; the embedding is
    ``Q ~ N(0, 1/ambient)`` (``E[Q^T Q] = I``), or the identity when ``ambient == d``.

    Args:
      cfg: :class:`Config`.
      data_seed: integer seed (may be traced).
      dtype: output dtype (default ``cfg.dtype``).

    Returns:
      ``((W [k, d], c [k], v [k]), Q [ambient, d])``.
    """
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
    """Teacher output ``F(z) = v . tanh(W z + c) / sqrt(k)`` (Bahri et al. 2021, Sec. 3 setup).

    Args:
      tparams: ``(W, c, v)`` from :func:`teacher_params`.
      z: intrinsic coordinates ``[n, d]``.

    Returns:
      ``[n]``.
    """
    w, c, v = tparams
    return jnp.tanh(z @ w.T + c[None, :]) @ v / float(np.sqrt(v.shape[0]))


def inputs(cfg: Config, data_seed, split: str, idx, dtype=None):
    """Intrinsic points uniform on the cube ``[-1, 1]^d``, drawn in float32 and cast.

    Args:
      cfg: :class:`Config`.
      data_seed: integer seed (may be traced).
      split: stream name (``"train"`` or ``"test"``).
      idx: point indices ``[n]``; point ``j`` of a split is the same for every call.
      dtype: output dtype (default ``cfg.dtype``).

    Returns:
      ``z [n, d]``.
    """
    dt = jnp.dtype(cfg.dtype if dtype is None else dtype)
    base = stream(_seed_key(data_seed), split)
    return jax.vmap(lambda j: jax.random.uniform(jax.random.fold_in(base, j), (cfg.d,), jnp.float32, -1.0, 1.0))(idx).astype(dt)


def _labelled(cfg: Config, data_seed, split, idx, dt):
    tp, q = teacher_params(cfg, data_seed, dt)
    z = inputs(cfg, data_seed, split, idx, dt)
    return z @ q.T, teacher_fn(tp, z)


def student_fn(params, x):
    """The ReLU student MLP.

    Args:
      params: ``[(W_1, b_1), ..., (W_L, b_L), (w_out, b_out)]`` (:func:`init`).
      x: ambient inputs ``[n, ambient]``.

    Returns:
      outputs ``[n]``.
    """
    h = x
    for w, b in params[:-1]:
        h = jax.nn.relu(h @ w + b[None, :])
    w, b = params[-1]
    return h @ w + b


def n_params(cfg: Config) -> int:
    """Number of student parameters P (weights and biases of every layer)."""
    sizes = [cfg.ambient] + [cfg.width] * cfg.depth + [1]
    return int(sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])))


def init(key, cfg: Config, hyper: Hyper):
    """Student initialisation: He-normal weights, zero biases; a vector output layer.

    Args:
      key: PRNG key. cfg: :class:`Config`. hyper: unused.

    Returns:
      ``[(W_1, b_1), ..., (W_L, b_L), (w_out, b_out)]`` in ``cfg.dtype``.
    """
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
    """Points drawn with replacement from the member's fixed training set of size D.

    Args:
      key: PRNG key (the indices). cfg: :class:`Config`. hyper: one member's :class:`Hyper`
        (``n_train`` D and ``data_seed``). batch_size: B.

    Returns:
      ``(x [B, ambient], y [B])``: embedded inputs and teacher labels.
    """
    dt = jnp.dtype(cfg.dtype)
    idx = jax.random.randint(key, (batch_size,), 0, hyper.n_train)
    return _labelled(cfg, hyper.data_seed, "train", idx, dt)


def loss(params, batch, cfg: Config, hyper: Hyper):
    """Mean squared error ``mean (f(x) - F(x))^2`` on the batch.

    Args:
      params: student parameters. batch: ``(x, y)``. cfg, hyper: unused.

    Returns:
      scalar loss.
    """
    del cfg, hyper
    x, y = batch
    return jnp.mean((student_fn(params, x) - y) ** 2)


def metrics(params, cfg: Config, hyper: Hyper):
    """Test error on ``cfg.n_test`` fresh points of the member's data seed.

    Args:
      params: student parameters. cfg: :class:`Config`. hyper: one member's :class:`Hyper`.

    Returns:
      ``{"test_mse", "test_nmse"}``: the MSE and the MSE over the teacher's output variance
      (1 = the trivial predictor).
    """
    dt = jnp.dtype(cfg.dtype)  # the draws depend on the dtype: always cfg.dtype, as in ``sample``
    x, y = _labelled(cfg, hyper.data_seed, "test", jnp.arange(cfg.n_test), dt)
    x = x.astype(jax.tree.leaves(params)[0].dtype)
    mse = jnp.mean((student_fn(params, x) - y) ** 2)
    return {"test_mse": mse, "test_nmse": mse / jnp.var(y)}


MODEL = Model(init=init, sample=sample, loss=loss, metrics=metrics, name="teacher_student_mlp")


def adam(hyper: Hyper):
    """``optax.adam(hyper.lr)`` at a constant learning rate (the conformance example's optimizer)."""
    return optax.adam(hyper.lr)


def example(dtype: str = "float32") -> dict:
    """A small case for the conformance suite: d = 2 embedded in 4 dimensions, a 4-unit teacher,
    an 8-wide depth-2 student, two members (D = 8, 16; two data seeds), 20 Adam steps at batch 4."""
    return {"cfg": Config(d=2, ambient=4, teacher_width=4, width=8, depth=2, n_test=32, dtype=dtype),
            "hyper": make_hyper([1e-3, 2e-3], [8, 16], [0, 1]), "optimizer": adam, "steps": 20,
            "batch_size": 4}
