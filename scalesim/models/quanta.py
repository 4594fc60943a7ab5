"""Multitask sparse parity: the toy task of the quantization model of neural scaling.

Michaud, Liu, Girit & Tegmark 2023, "The Quantization Model of Neural Scaling" (NeurIPS 2023,
arXiv 2303.13506), Sec. 3.1 (task) and Sec. 3.2 (model, training):

- ``n_tasks`` subtasks, each a parity of a fixed ``k``-subset ``S_i`` of ``n_bits`` task bits. The
  subsets are distinct and drawn deterministically from ``Config.task_seed`` (:func:`subsets`), so
  every member of an ensemble (and every width of a sweep) sees the same task.
- An input is ``n_tasks`` one-hot control bits (which subtask) followed by ``n_bits`` i.i.d.
  uniform task bits; the label is ``sum_{j in S_i} x_j mod 2`` (two classes).
- Subtask ``i`` (1-based rank) has frequency ``p_i = (i + offset)^-(alpha+1) / Z`` with the finite
  normalisation ``Z = sum_{i=1}^{n_tasks} (i + offset)^-(alpha+1)``. ``alpha`` is the *paper's*
  Zipf exponent (the authors' code calls ``alpha + 1`` "alpha").
- Model: ``Linear(n_tasks + n_bits -> width) -> ReLU -> Linear(width -> 2)`` with PyTorch's
  default initialisation ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` for weights *and* biases;
  cross-entropy; Adam at a constant learning rate (:func:`adam`).

Data: online (a fresh batch each step, ``Hyper.n_train = 0``) or data-limited (``n_train = D``:
example ``j`` of the training set of data seed ``s`` is generated from
``fold_in(stream(fold_in(PRNGKey(0), s), "train"), j)``, and a batch draws ``j`` uniform in
``[0, D)`` with replacement). ``D``, the data seed and the learning rate are per-member
hyperparameters, so one compiled program trains every ``(D, seed)`` pair.

Metrics (recorded inside the compiled program): for each subtask ``i`` the mean cross-entropy in
**bits** (``sub_loss_{i:03d}``) and the accuracy (``sub_acc_{i:03d}``) on a fixed evaluation set
of ``n_eval`` samples per subtask (the same for every member and width), plus their
frequency-weighted means ``loss_bits = sum_i p_i L_i`` and ``acc``. :func:`subtask_arrays`
stacks the per-subtask scalars into ``[member, record, subtask]`` arrays. Chance is 1 bit.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..engine import Model
from ..rng import stream
from ..validate import check_choice, check_int, check_nonneg, check_range

__all__ = [
    "Config", "Hyper", "MODEL", "PAPERS", "example", "make_hyper", "frequencies", "subsets", "task_masks",
    "generate", "mlp", "n_params", "init", "sample", "loss", "metrics", "eval_set", "eval_probs",
    "subtask_arrays", "adam", "LN2",
]

PAPERS = ("michaud2023quantization",)
LN2 = math.log(2.0)
_MAX_TASKS = 4096  # metrics are one scalar per subtask; beyond this the compiled program is unwieldy


@dataclasses.dataclass(frozen=True)
class Config:
    """Static sizes of the task and the MLP (changing one recompiles).

    Attributes:
      n_tasks: number of subtasks (quanta), in ``[1, 4096]``.
      n_bits: task bits ``n`` per input.
      k: bits per parity (sparsity), ``1 <= k <= n_bits``.
      alpha: the paper's Zipf exponent (> 0): ``p_i ∝ (i + offset)^-(alpha+1)``.
      offset: rank offset (0 in the paper's runs).
      width: hidden units of the MLP.
      task_seed: seed of the subtask subsets and of the fixed evaluation set.
      n_eval: evaluation samples per subtask.
      dtype: training precision (``"float32"`` or ``"float64"``).
    """

    n_tasks: int = 24
    n_bits: int = 24
    k: int = 2
    alpha: float = 0.5
    offset: int = 0
    width: int = 128
    task_seed: int = 0
    n_eval: int = 256
    dtype: str = "float32"

    def __post_init__(self):
        check_int("n_tasks", self.n_tasks, 1, _MAX_TASKS)
        check_int("n_bits", self.n_bits, 1, 4096)
        check_int("k", self.k, 1, self.n_bits)
        check_range("alpha", self.alpha, 0.0, 100.0, lo_open=True)
        check_int("offset", self.offset, 0, 10**6)
        check_int("width", self.width, 1, 10**6)
        check_int("task_seed", self.task_seed, 0, 2**32 - 1)
        check_int("n_eval", self.n_eval, 1, 10**6)
        check_choice("dtype", self.dtype, ("float32", "float64"))
        if math.comb(self.n_bits, self.k) < self.n_tasks:
            raise ValueError(f"n_tasks must be <= C(n_bits, k) = {math.comb(self.n_bits, self.k)} distinct "
                             f"{self.k}-subsets of {self.n_bits} bits; got n_tasks={self.n_tasks}")


class Hyper(NamedTuple):
    """Per-member hyperparameters (scalars inside the model, ``[M]`` arrays in an ensemble)."""

    lr: jax.Array  # Adam learning rate (float)
    n_train: jax.Array  # training-set size D (int32); 0 = online (a fresh batch every step)
    data_seed: jax.Array  # seed of the training set (int32; unused online)


def make_hyper(lr=1e-3, n_train=0, data_seed=0) -> Hyper:
    """Broadcast to equal-length 1-D member arrays, with validation.

    Args:
      lr: learning rate (> 0).
      n_train: training-set size D (integer >= 0; 0 means online data).
      data_seed: seed of the training set (integer >= 0).

    Returns:
      :class:`Hyper` (lr float ``[M]``; n_train and data_seed int32 ``[M]``); ``ValueError``
      naming the field otherwise.
    """
    lr = np.atleast_1d(np.asarray(lr, dtype=float))
    n = np.atleast_1d(np.asarray(n_train))
    s = np.atleast_1d(np.asarray(data_seed))
    m = max(lr.size, n.size, s.size)
    lr, n, s = (np.broadcast_to(x, (m,)) for x in (lr, n, s))
    check_range("lr", lr, 0.0, 10.0, lo_open=True)
    check_range("n_train", n, 0, 2**31 - 1)
    check_range("data_seed", s, 0, 2**31 - 1)
    for name, x in (("n_train", n), ("data_seed", s)):
        if np.any(x != np.round(x)):
            raise ValueError(f"{name} must be integers; got {x.tolist()}")
    return Hyper(jnp.asarray(lr), jnp.asarray(n.astype(np.int32)), jnp.asarray(s.astype(np.int32)))


def frequencies(cfg: Config) -> np.ndarray:
    """Subtask frequencies ``p_i = (i + offset)^-(alpha+1) / Z``, ``i = 1..n_tasks`` (float64, sum 1).

    Michaud et al. 2023 Sec. 3.1 (finite normalisation over the ``n_tasks`` subtasks).
    """
    w = (np.arange(1, cfg.n_tasks + 1) + cfg.offset) ** (-(cfg.alpha + 1.0))
    return w / w.sum()


@functools.lru_cache(maxsize=64)
def _subsets(n_tasks: int, n_bits: int, k: int, task_seed: int) -> tuple:
    rng = np.random.default_rng(task_seed)
    total = math.comb(n_bits, k)
    if total <= max(4 * n_tasks, 10_000):  # few subsets: choose without replacement from all of them
        allc = list(itertools.combinations(range(n_bits), k))
        return tuple(allc[i] for i in rng.choice(total, n_tasks, replace=False))
    seen, out = set(), []
    while len(out) < n_tasks:  # many subsets: rejection of repeats
        s = tuple(sorted(int(j) for j in rng.choice(n_bits, k, replace=False)))
        if s not in seen:
            seen.add(s)
            out.append(s)
    return tuple(out)


def subsets(cfg: Config) -> np.ndarray:
    """The distinct ``k``-subsets ``S_i`` (sorted bit indices), ``[n_tasks, k]`` int, fixed by ``task_seed``."""
    return np.asarray(_subsets(cfg.n_tasks, cfg.n_bits, cfg.k, cfg.task_seed), dtype=np.int64)


def task_masks(cfg: Config) -> np.ndarray:
    """0/1 matrix ``[n_tasks, n_bits]``: row ``i`` marks the bits of ``S_i``."""
    m = np.zeros((cfg.n_tasks, cfg.n_bits), dtype=np.int32)
    np.put_along_axis(m, subsets(cfg), 1, axis=1)
    return m


def _one(key, cfg: Config, task=None):
    """One example from its key: ``(task, bits)``; ``task`` is drawn by inverse CDF unless given.

    One draw of ``1 + ceil(n_bits / 32)`` uint32 words: the first gives a uniform ``u`` on a 2^-24
    grid (subtask ``= #{i: cdf_i <= u}``), the others are the task bits, one bit each.
    """
    words = jax.random.bits(key, (1 + (cfg.n_bits + 31) // 32,), jnp.uint32)
    if task is None:
        cdf = jnp.asarray(np.cumsum(frequencies(cfg))[:-1], jnp.float32)
        u = (words[0] >> 8).astype(jnp.float32) * jnp.float32(2.0**-24)
        task = jnp.sum(cdf <= u)
    j = np.arange(cfg.n_bits)
    bits = (words[1 + j // 32] >> jnp.asarray(j % 32, jnp.uint32)) & jnp.uint32(1)
    return jnp.asarray(task).astype(jnp.int32), bits.astype(jnp.int32)


def generate(keys, cfg: Config, tasks=None, dtype=None):
    """Examples from one key each (example ``j`` is a function of ``keys[j]`` alone).

    Args:
      keys: PRNG keys ``[B, 2]``.
      cfg: :class:`Config`.
      tasks: optional subtask ids ``[B]`` (0-based); default drawn from the Zipf frequencies.
      dtype: dtype of ``x`` (default ``cfg.dtype``).

    Returns:
      ``(x [B, n_tasks + n_bits], y [B] int32 in {0, 1}, task [B] int32)``: one-hot control bits
      then task bits; ``y`` the parity of the bits of ``S_task``.
    """
    dt = jnp.dtype(cfg.dtype if dtype is None else dtype)
    if tasks is None:
        task, bits = jax.vmap(lambda k: _one(k, cfg))(keys)
    else:
        task, bits = jax.vmap(lambda k, t: _one(k, cfg, t))(keys, jnp.asarray(tasks, jnp.int32))
    masks = jnp.asarray(task_masks(cfg))
    y = jnp.sum(masks[task] * bits, axis=1) % 2
    x = jnp.concatenate([jax.nn.one_hot(task, cfg.n_tasks, dtype=dt), bits.astype(dt)], axis=1)
    return x, y.astype(jnp.int32), task


def mlp(params, x):
    """Logits ``[B, 2]`` of the one-hidden-layer ReLU MLP (``params`` from :func:`init`)."""
    h = jax.nn.relu(x @ params["W1"] + params["b1"][None, :])
    return h @ params["W2"] + params["b2"][None, :]


def n_params(width, n_tasks: int = 24, n_bits: int = 24):
    """Parameter count ``N = (n_tasks + n_bits + 1) w + 2 (w + 1)`` (Michaud et al. 2023, logged ``P``).

    Args:
      width: hidden width ``w`` (int or array).
      n_tasks, n_bits: input sizes.

    Returns:
      ``N`` (same type as ``width``).
    """
    return (n_tasks + n_bits + 1) * width + 2 * (width + 1)


def init(key, cfg: Config, hyper: Hyper):
    """PyTorch-default initialisation: weights and biases ``U(±1/sqrt(fan_in))``.

    Args:
      key: PRNG key. cfg: :class:`Config`. hyper: unused.

    Returns:
      ``{"W1": [n_in, w], "b1": [w], "W2": [w, 2], "b2": [2]}`` in ``cfg.dtype``.
    """
    del hyper
    dt = jnp.dtype(cfg.dtype)
    n_in, w = cfg.n_tasks + cfg.n_bits, cfg.width
    k1, k2, k3, k4 = jax.random.split(key, 4)
    u = lambda k, shape, fan: jax.random.uniform(k, shape, dt, -1.0 / math.sqrt(fan), 1.0 / math.sqrt(fan))
    return {"W1": u(k1, (n_in, w), n_in), "b1": u(k2, (w,), n_in), "W2": u(k3, (w, 2), w), "b2": u(k4, (2,), w)}


def _train_key(data_seed):
    return stream(jax.random.fold_in(jax.random.PRNGKey(0), data_seed), "train")


def sample(key, cfg: Config, hyper: Hyper, batch_size: int):
    """A batch: fresh examples online (``n_train == 0``), else draws with replacement from the D examples.

    Args:
      key: the step's PRNG key. cfg: :class:`Config`. hyper: one member's :class:`Hyper`.
      batch_size: B.

    Returns:
      ``(x [B, n_tasks + n_bits], y [B], task [B])`` as :func:`generate`.
    """
    k_idx, k_new = jax.random.split(key)
    idx = jax.random.randint(k_idx, (batch_size,), 0, jnp.maximum(hyper.n_train, 1))
    base = _train_key(hyper.data_seed)
    stored = jax.vmap(lambda j: jax.random.fold_in(base, j))(idx)
    fresh = jax.random.split(k_new, batch_size)
    keys = jnp.where(hyper.n_train > 0, stored, fresh)
    return generate(keys, cfg)


def loss(params, batch, cfg: Config, hyper: Hyper):
    """Mean cross-entropy (nats) of the batch, the objective Adam minimises."""
    del cfg, hyper
    x, y, _ = batch
    logits = mlp(params, x.astype(params["W1"].dtype))
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, y))


def eval_set(cfg: Config, n_per_task: int | None = None, key=None, dtype=None):
    """The fixed evaluation set: ``n_per_task`` examples of each subtask, subtask-major.

    Args:
      cfg: :class:`Config`.
      n_per_task: examples per subtask (default ``cfg.n_eval``).
      key: PRNG key (default: the fixed stream ``"eval"`` of ``task_seed``, shared by all members).
      dtype: dtype of ``x`` (default ``cfg.dtype``).

    Returns:
      ``(x [n_tasks * n, n_in], y [n_tasks * n], task [n_tasks * n])``; rows ``i*n .. (i+1)*n - 1``
      are subtask ``i``.
    """
    n = cfg.n_eval if n_per_task is None else int(n_per_task)
    key = stream(jax.random.PRNGKey(cfg.task_seed), "eval") if key is None else key
    tasks = jnp.repeat(jnp.arange(cfg.n_tasks, dtype=jnp.int32), n)
    keys = jax.vmap(lambda j: jax.random.fold_in(key, j))(jnp.arange(cfg.n_tasks * n))
    return generate(keys, cfg, tasks, dtype)


def eval_probs(params, cfg: Config, key=None, n_per_task: int | None = None):
    """Per-sample probability of the correct label on ``n_per_task`` samples of every subtask.

    Args:
      params: one member's parameters. cfg: :class:`Config`.
      key: PRNG key of the samples (default: the fixed evaluation set of :func:`eval_set`).
      n_per_task: samples per subtask (default ``cfg.n_eval``).

    Returns:
      ``(p_correct [n_tasks, n], task [n_tasks, n])``: softmax probability of the true label and
      the subtask id (0-based rank: subtask 0 is the most frequent).
    """
    n = cfg.n_eval if n_per_task is None else int(n_per_task)
    dt = params["W1"].dtype
    x, y, task = eval_set(cfg, n, key, dt)
    logp = jax.nn.log_softmax(mlp(params, x), axis=-1)
    p = jnp.exp(jnp.take_along_axis(logp, y[:, None], axis=1)[:, 0])
    return p.reshape(cfg.n_tasks, n), task.reshape(cfg.n_tasks, n)


def metrics(params, cfg: Config, hyper: Hyper):
    """Per-subtask loss (bits) and accuracy on the fixed evaluation set, and their Zipf means.

    Args:
      params: parameters. cfg: :class:`Config`. hyper: unused.

    Returns:
      ``{"loss_bits", "acc", "sub_loss_000", ..., "sub_acc_000", ...}`` scalars: ``sub_loss_i`` is
      the mean cross-entropy of subtask ``i`` in bits (chance 1), ``loss_bits = sum_i p_i sub_loss_i``.
    """
    del hyper
    dt = params["W1"].dtype
    x, y, _ = eval_set(cfg, dtype=dt)
    logits = mlp(params, x)
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, y).reshape(cfg.n_tasks, cfg.n_eval) / LN2
    correct = (jnp.argmax(logits, axis=-1) == y).astype(dt).reshape(cfg.n_tasks, cfg.n_eval)
    sub_loss, sub_acc = ce.mean(1), correct.mean(1)
    p = jnp.asarray(frequencies(cfg), dt)
    out = {"loss_bits": jnp.sum(p * sub_loss), "acc": jnp.sum(p * sub_acc)}
    for i in range(cfg.n_tasks):
        out[f"sub_loss_{i:03d}"] = sub_loss[i]
        out[f"sub_acc_{i:03d}"] = sub_acc[i]
    return out


def subtask_arrays(recorded: dict, n_tasks: int) -> dict:
    """Stack recorded per-subtask scalars into ``[member, record, subtask]`` arrays.

    Args:
      recorded: ``EnsembleResult.metrics`` (name -> ``[M, T]``).
      n_tasks: number of subtasks.

    Returns:
      ``{"sub_loss": [M, T, n_tasks] bits, "sub_acc": [M, T, n_tasks]}``.
    """
    return {name: np.stack([np.asarray(recorded[f"{name}_{i:03d}"]) for i in range(n_tasks)], axis=-1)
            for name in ("sub_loss", "sub_acc")}


MODEL = Model(init=init, sample=sample, loss=loss, metrics=metrics, name="quanta")


def adam(hyper: Hyper):
    """``optax.adam(hyper.lr)`` at a constant learning rate (PyTorch AdamW with weight decay 0, as
    in the authors' runs; Adam's defaults b1 = 0.9, b2 = 0.999, eps = 1e-8)."""
    return optax.adam(hyper.lr)


def example(dtype: str = "float32") -> dict:
    """A small case for the conformance suite: 4 subtasks of 2-bit parities on 6 bits, width 8,
    two members (online, and D = 32), 20 Adam steps at batch 8."""
    return {"cfg": Config(n_tasks=4, n_bits=6, k=2, alpha=0.5, width=8, n_eval=8, dtype=dtype),
            "hyper": make_hyper([1e-3, 2e-3], [0, 32], [0, 1]), "optimizer": adam, "steps": 20, "batch_size": 8}
