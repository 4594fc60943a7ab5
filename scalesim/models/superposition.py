"""The superposition toy model of Liu, Liu & Gore 2025 (arXiv 2505.10465).

y = ReLU(W Wᵀ x + b),  W ∈ R^{n×m} (row W_i represents feature i),  b ∈ R^n.
Features x_i = u_i v_i, u_i ~ Bernoulli(p_i) independent, v_i ~ U(0, 2)
(E v = 1, E v² = 4/3); fresh data each step (online).  Frequencies p are a power law
p_i ∝ i^{-α} (paper α; the authors' code uses ``alpha_code = α - 1``), or one of the
named non-power-law distributions of their exp-17, always normalised to Σ p = 1.
The activation-density experiment (exp-15) rescales p ← p (1 + s (1/p_1 - 1)).

The loss the paper reports is summed over features, ⟨‖y - x‖²⟩ (Fig. 2a); the authors'
code minimises ``nn.MSELoss`` (a mean over features, i.e. paper loss / n), which only
matters through Adam's ε.  ``Config.loss_scale`` (default 1/n) multiplies the
paper loss to give what the optimiser minimises; the ``loss`` metric is always the paper's.

Sparse sampler.  Dense sampling needs 2·B·n uniforms per step although only ≈ Σp = 1
feature is active per sample.  We use an exact Poissonisation: with λ_i = -log(1 - p_i),
draw N ~ Poisson(Σλ) events per sample, each landing on feature i with probability
λ_i / Σλ; feature i is active iff at least one event lands on it, which happens
independently with probability 1 - e^{-λ_i} = p_i.  Events are stored in ``max_active``
fixed slots (duplicates merged); the only approximation is truncation at N ≤ max_active,
whose probability mass `truncation_mass` returns (≈ 1e-9 per sample for E = 1, K = 12).

Parameters are a dict {"W": [n, m], "b": [n]}, initialised as in the authors' code:
W ~ N(0, 1/m) (row norms ≈ 1) and b ~ N(0, 1).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..engine import Model
from ._geometry import dims_per_feature, mean_sq_overlap, row_norms
from ..optim import LiuAdamW
from ..spectra import power_law
from ..validate import check_choice, check_nonneg, check_positive_ints, check_range

PAPERS = ("liu2025superposition", "elhage2022toy")  # model: Liu et al.; feature dimensionality: Elhage et al.
DISTRIBUTIONS = ("power", "exponential", "exponential1", "linear", "custom")
EV, EV2 = 1.0, 4.0 / 3.0  # moments of v ~ U(0, 2)
_P_MAX = 1.0 - 1e-6  # clip so that λ = -log(1 - p) stays finite when p_1 -> 1 (exp-15, s = 1)


@dataclasses.dataclass(frozen=True)
class Config:
    """Static sizes and choices of one Liu et al. model (shared by every ensemble member).

    n: number of features; m: hidden width (1 ≤ m ≤ n); distribution: frequency law
    ("power" uses the per-member ``alpha``); probs: the frequency vector for "custom"
    (length n, entries in [0, 1], summing to 1); max_active: event slots per sample of the
    sparse sampler; loss_scale: factor on the paper loss that the optimiser minimises
    (None: 1/n, the authors' nn.MSELoss; exp-17 used 100/n); eval_batch / eval_seed: the
    fixed evaluation batch of the ``loss`` metric; dtype: training precision.
    """

    n: int = 1000
    m: int = 10
    distribution: str = "power"
    probs: tuple | None = None
    max_active: int = 12
    loss_scale: float | None = None
    eval_batch: int = 4096
    eval_seed: int = 0
    dtype: str = "float32"

    def __post_init__(self):
        check_positive_ints("n", self.n)
        check_positive_ints("m", self.m)
        check_range("m", self.m, 1, self.n)
        check_choice("dtype", self.dtype, ("float32", "float64"))
        check_choice("distribution", self.distribution, DISTRIBUTIONS)
        if self.distribution == "custom":
            if self.probs is None or len(self.probs) != self.n:
                raise ValueError(f"probs must have length n={self.n} for distribution='custom'")
            check_range("probs", self.probs, 0.0, 1.0)
            total = float(np.sum(np.asarray(self.probs, np.float64)))
            if abs(total - 1.0) > 1e-6:
                raise ValueError(f"probs must sum to 1; got {total:.6g}")
        elif self.probs is not None:
            raise ValueError("probs is only used with distribution='custom'")
        check_positive_ints("max_active", self.max_active)
        check_range("max_active", self.max_active, 1, self.n)
        if self.loss_scale is not None:
            check_range("loss_scale", self.loss_scale, 0.0, lo_open=True)
        check_positive_ints("eval_batch", self.eval_batch)


class Hyper(NamedTuple):
    """Per-member hyperparameters (leaves have a leading member axis M in an ensemble).

    alpha: paper data exponent α ≥ 0 (p_i ∝ i^-α; used by distribution="power");
    gamma: signed weight decay γ (>0 decay, <0 row norms pulled to 1); lr, lr_b: peak
    learning rates of W and b; density: exp-15's s ∈ [0, 1] (0 keeps Σ p = 1); width: the
    member's active width m' ≤ cfg.m (0: all cfg.m columns).  Columns ≥ m' start at zero and
    stay exactly zero (their gradient and decay vanish), so members of several widths share
    one compiled program of width cfg.m.
    """

    alpha: jax.Array
    gamma: jax.Array
    lr: jax.Array
    lr_b: jax.Array
    density: jax.Array
    width: jax.Array


def make_hyper(*, alpha=1.0, gamma=0.0, lr=1e-2, lr_b=None, density=0.0, width=0) -> Hyper:
    """Broadcast hyperparameters to member arrays [M] (float32) and validate them.

    Args:
      alpha: data exponent α ≥ 0 (dimensionless). gamma: signed weight decay γ.
      lr, lr_b: peak learning rates of W and b (> 0; lr_b defaults to lr).
      density: exp-15 rescaling s ∈ [0, 1]. width: active width m' (integer ≥ 0; 0 = cfg.m).

    Returns:
      :class:`Hyper` of float32 arrays [M].  Raises ``ValueError`` naming the field: alpha < 0,
      density ∉ [0, 1], lr ≤ 0, or lr·|γ| ≥ 1 (the decoupled decay step p ← p(1 − lr γ) would
      overshoot zero).
    """
    lr_b = lr if lr_b is None else lr_b
    arrs = np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, dtype=np.float64))
                                 for v in (alpha, gamma, lr, lr_b, density, width)))
    a, g, l, lb, d, w = arrs
    if a.ndim != 1:
        raise ValueError("hyperparameters must be scalars or 1-D member arrays")
    check_range("alpha", a, 0.0)
    check_range("gamma", g)
    check_range("lr", l, 0.0, lo_open=True)
    check_range("lr_b", lb, 0.0, lo_open=True)
    check_range("density", d, 0.0, 1.0)
    check_nonneg("width", w)
    if np.any(w != np.round(w)):
        raise ValueError(f"width must be a non-negative integer (0: the config's m); got {width!r}")
    check_range("lr*|gamma| (decay step)", l * np.abs(g), 0.0, 1.0, hi_open=True)
    return Hyper(*(jnp.asarray(v, jnp.float32) for v in arrs))


def frequencies(cfg: Config, hyper: Hyper) -> jax.Array:
    """Feature frequencies of one member (Liu et al. 2025 Sec. 3; authors' exp-17 and exp-15).

    Args:
      cfg: the model config (``distribution``, ``n``, ``dtype``).
      hyper: one member's :class:`Hyper` (``alpha`` for "power", ``density`` s for the
        exp-15 rescaling p ← p (1 + s (1/p_1 − 1))).

    Returns:
      p [n] in cfg.dtype: activation probabilities in [0, 1], Σ p = 1 when s = 0.
    """
    n = cfg.n
    dtype = jnp.dtype(cfg.dtype)
    i0 = jnp.arange(n, dtype=dtype)  # 0-based, as torch.arange in exp-17
    if cfg.distribution == "power":
        w = power_law(n, hyper.alpha, dtype=dtype)
    elif cfg.distribution == "exponential":
        w = jnp.exp(-i0 / 1000.0)
    elif cfg.distribution == "exponential1":
        w = jnp.exp(-i0 / 400.0)
    elif cfg.distribution == "linear":
        w = (n - i0) / n
    else:
        w = jnp.asarray(cfg.probs, dtype)
    p = w / jnp.sum(w)
    p = p * (1.0 + jnp.asarray(hyper.density, dtype) * (1.0 / p[0] - 1.0))
    return jnp.clip(p, 0.0, 1.0)


def _event_rates(cfg, hyper):
    p = jnp.minimum(frequencies(cfg, hyper), _P_MAX)
    return -jnp.log1p(-p)


def _poisson_cdf(lam, K):
    """[P(N ≤ k)]_{k=0..K-1} for N ~ Poisson(lam), by the cumulative product of lam/j.

    Kept instead of ``jax.scipy.stats.poisson.cdf`` (regularised incomplete gamma): that differs
    in the last float32 bits, which moves event counts of the sampler and so every trained record.
    """
    j = jnp.arange(1, K, dtype=jnp.result_type(lam, jnp.float32))
    terms = jnp.exp(-lam) * jnp.concatenate([jnp.ones((1,), j.dtype), jnp.cumprod(lam / j)])
    return jnp.cumsum(terms)


def truncation_mass(cfg: Config, hyper: Hyper) -> jax.Array:
    """Bound on P(N > max_active) per sample: the sparse sampler's only deviation from exactness.

    Args:
      cfg: the model config (``max_active`` = K).
      hyper: one member's :class:`Hyper`.

    Returns:
      scalar probability: P(N = K+1) / (1 − λ/(K+2)) for N ~ Poisson(λ), λ = Σ_i −log(1 − p_i).
    """
    lam = jnp.sum(_event_rates(cfg, hyper))
    K = cfg.max_active
    tail = jnp.exp(-lam) * jnp.prod(lam / jnp.arange(1, K + 2, dtype=lam.dtype))  # P(N = K+1)
    # P(N > K) = P(N = K+1) Σ_{j≥0} lam^j (K+1)!/(K+1+j)! ≤ P(N = K+1) / (1 − lam/(K+2))
    return tail / jnp.maximum(1.0 - lam / (K + 2.0), 1e-12)


def active_width(cfg: Config, hyper=None):
    """The member's width m' (hyper.width, or cfg.m when it is 0 / no hyper is given), in cfg.dtype."""
    if hyper is None:
        return jnp.asarray(cfg.m, cfg.dtype)
    return jnp.where(hyper.width > 0, jnp.minimum(hyper.width, cfg.m), cfg.m).astype(cfg.dtype)


def init(key, cfg: Config, hyper=None) -> dict:
    """Initial parameters as in the authors' ``FeatureRecovery``.

    Args:
      key: PRNG key. cfg: the model config. hyper: optional member :class:`Hyper` (its width m').

    Returns:
      {"W": [n, m], "b": [n]}: W ~ N(0, 1/m') on the first m' columns (row norms ≈ 1), zero on
      the others; b ~ N(0, 1).
    """
    kw, kb = jax.random.split(key)
    width = active_width(cfg, hyper)
    mask = jnp.arange(cfg.m) < width
    W = jax.random.normal(kw, (cfg.n, cfg.m), cfg.dtype) * (mask / jnp.sqrt(width))[None, :]
    return {"W": W, "b": jax.random.normal(kb, (cfg.n,), cfg.dtype)}


_THREEFRY_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def _threefry2x32(k1, k2, x1, x2):
    """Threefry-2x32 with 20 rounds (Salmon et al. 2011), written out so that XLA fuses it.

    The same hash as ``jax.random``'s ``threefry2x32`` (whose CPU lowering is a rolled loop).

    Args:
      k1, k2: the key words (uint32 scalars). x1, x2: counter words (uint32 arrays, same shape).

    Returns:
      (y1, y2): the two hashed words, uint32 arrays of that shape.
    """
    ks = (k1, k2, k1 ^ k2 ^ np.uint32(0x1BD11BDA))
    x1, x2 = x1 + ks[0], x2 + ks[1]
    for i in range(5):
        for r in _THREEFRY_ROTATIONS[i % 2]:
            x1 = x1 + x2
            x2 = ((x2 << np.uint32(r)) | (x2 >> np.uint32(32 - r))) ^ x1
        x1 = x1 + ks[(i + 1) % 3]
        x2 = x2 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return x1, x2


def _fused_uniform_applies(key) -> bool:
    return (jax.config.jax_threefry_partitionable and jax.config.jax_default_prng_impl == "threefry2x32"
            and key.dtype == jnp.uint32 and key.shape == (2,))


def _uniform(key, shape: tuple, dtype, minval=0.0, maxval=1.0) -> jax.Array:
    """``jax.random.uniform(key, shape, dtype, minval, maxval)``, bit for bit, in one fused loop.

    For raw threefry keys with ``jax_threefry_partitionable`` (JAX's default) the bits are those
    of ``jax.random.bits``: element j hashes the 64-bit counter j and takes y1 ^ y2 (float32) or
    y1·2³² + y2 (float64); the mantissa trick then maps them to [minval, maxval).  Otherwise this
    is ``jax.random.uniform`` itself.

    Args:
      key: PRNG key. shape: output shape (static). dtype: float32 or float64.
      minval, maxval: the interval.

    Returns:
      array of ``shape`` in ``dtype``.
    """
    dtype = jnp.dtype(dtype)
    if not _fused_uniform_applies(key):
        return jax.random.uniform(key, shape, dtype, minval, maxval)
    size = int(np.prod(shape))
    if size >= 2 ** 32:
        return jax.random.uniform(key, shape, dtype, minval, maxval)
    counter = jax.lax.iota(jnp.uint32, size).reshape(shape)
    y1, y2 = _threefry2x32(key[0], key[1], jnp.zeros(shape, jnp.uint32), counter)
    if dtype == jnp.float32:
        mantissa = ((y1 ^ y2) >> np.uint32(9)) | np.uint32(0x3F800000)
    else:
        bits = (y1.astype(jnp.uint64) << np.uint64(32)) | y2.astype(jnp.uint64)
        mantissa = (bits >> np.uint64(12)) | np.uint64(0x3FF0000000000000)
    floats = jax.lax.bitcast_convert_type(mantissa, dtype) - jnp.asarray(1.0, dtype)
    lo, hi = jnp.asarray(minval, dtype), jnp.asarray(maxval, dtype)
    return jax.lax.max(lo, floats * (hi - lo) + lo)


def sample(key, cfg: Config, hyper: Hyper, batch_size: int) -> dict:
    """Sparse batch drawn by Poissonisation (module docstring); exact up to `truncation_mass`.

    Returns:
      {"idx": int32 [B, K], "val": cfg.dtype [B, K]}: feature indices and values v ~ U(0, 2) of
      the active features, val = 0 (idx = 0) on empty slots; K = cfg.max_active.
    """
    K = cfg.max_active
    lam = _event_rates(cfg, hyper)
    cdf = jnp.cumsum(lam)
    total = cdf[-1]
    kc, ki, kv = jax.random.split(key, 3)
    # N ~ Poisson(Σλ) by inverse CDF, truncated at K: N = #{k < K : u > F(k)}
    cdf_n = _poisson_cdf(total, K)
    count = jnp.sum(_uniform(kc, (batch_size, 1), cdf.dtype) > cdf_n[None, :], axis=-1)
    u = _uniform(ki, (batch_size, K), cdf.dtype) * total
    idx = jnp.clip(jnp.searchsorted(cdf, u, side="right"), 0, cfg.n - 1).astype(jnp.int32)
    valid = jnp.arange(K)[None, :] < count[:, None]
    # merge duplicate events: keep slot k only if no earlier valid slot holds the same index
    same = (idx[:, :, None] == idx[:, None, :]) & valid[:, None, :]
    earlier = jnp.tril(jnp.ones((K, K), bool), k=-1)
    keep = valid & ~jnp.any(same & earlier[None], axis=-1)
    val = _uniform(kv, (batch_size, K), cfg.dtype, minval=0.0, maxval=2.0)
    return {"idx": jnp.where(keep, idx, 0), "val": jnp.where(keep, val, 0.0)}


def sample_dense(key, cfg: Config, hyper: Hyper, batch_size: int) -> jax.Array:
    """Reference dense sampler of the authors' code: (rand < p) · rand · 2, x [B, n] in cfg.dtype."""
    p = frequencies(cfg, hyper)
    ku, kv = jax.random.split(key)
    on = jax.random.uniform(ku, (batch_size, cfg.n), cfg.dtype) < p[None, :]
    return on * jax.random.uniform(kv, (batch_size, cfg.n), cfg.dtype, minval=0.0, maxval=2.0)


def densify(batch: dict, n: int) -> jax.Array:
    """Dense x [B, n] from a sparse batch of `sample`."""
    B = batch["idx"].shape[0]
    rows = jnp.arange(B)[:, None]
    return jnp.zeros((B, n), batch["val"].dtype).at[rows, batch["idx"]].add(batch["val"])


def _embed(W, idx, val):
    """h = Σ_k val_k W[idx_k] [B, m]: one gather-multiply-add per event slot (fused by XLA)."""
    h = val[:, 0, None] * W[idx[:, 0]]
    for k in range(1, idx.shape[1]):
        h = h + val[:, k, None] * W[idx[:, k]]
    return h


def _embed_transpose(idx, val, dh, n):
    """The adjoint of `_embed` in W: Σ_{b,k} val_bk e_{idx_bk} ⊗ dh_b [n, m] (a scatter-add)."""
    return jnp.zeros((n, dh.shape[1]), dh.dtype).at[idx].add(val[:, :, None] * dh[:, None, :])


def forward(params: dict, batch: dict) -> jax.Array:
    """y = ReLU(W Wᵀ x + b) [B, n] for a sparse batch (Liu et al. 2025 Eq. 1); h = Σ_k v_k W[idx_k]."""
    W, b = params["W"], params["b"]
    h = _embed(W, batch["idx"], batch["val"])
    return jax.nn.relu(h @ W.T + b[None, :])


@jax.custom_vjp
def _paper_loss(W, b, idx, val):
    y = forward({"W": W, "b": b}, {"idx": idx, "val": val})
    y_at = jnp.take_along_axis(y, idx, axis=1)
    per = jnp.sum(y * y, axis=-1) + jnp.sum(val * val - 2.0 * val * y_at, axis=-1)
    return jnp.mean(per)


def _paper_loss_and_grad(W, b, idx, val):
    """The loss and its gradient in (W, b) in one pass over the B×n pre-activations.

    With z = h Wᵀ + b, y = ReLU(z) and x the dense batch, G = ∂L/∂z = (2/B)(y − x)[z > 0] is
    (2/B) ReLU(z) with −(2/B) v_k [z > 0] added at the event slots (B·K entries).  Then
    ∂L/∂b = Σ_b G, ∂L/∂W = Gᵀh + Σ_{b,k} v_k e_{idx_k} ⊗ (G W)_b, and, since y·z = y²,
    L = ½(⟨Gᵀh, W⟩ + ⟨Σ_b G, b⟩) + (1/B) Σ_k v_k (v_k − y_{idx_k}): no B×n reduction beyond the
    matmuls.  The bias column rides along the Gᵀh product ([h, 1]).

    Returns:
      (loss, (dW, db)).
    """
    B, n = idx.shape[0], W.shape[0]
    c = 2.0 / B
    h = _embed(W, idx, val)
    z = h @ W.T + b[None, :]
    z_at = jnp.take_along_axis(z, idx, axis=1)
    G = (c * jax.nn.relu(z)).at[jnp.arange(B)[:, None], idx].add(jnp.where(z_at > 0, -c * val, 0.0))
    dWb = G.T @ jnp.concatenate([h, jnp.ones((B, 1), h.dtype)], axis=1)
    dW_out, db = dWb[:, :-1], dWb[:, -1]
    dW = dW_out + _embed_transpose(idx, val, G @ W, n)
    loss = 0.5 * (jnp.vdot(dW_out, W) + jnp.vdot(db, b)) + jnp.sum(val * (val - jax.nn.relu(z_at))) / B
    return loss, (dW, db)


def _paper_loss_bwd(grads, g):
    dW, db = grads
    return g * dW, g * db, None, None


_paper_loss.defvjp(_paper_loss_and_grad, _paper_loss_bwd)


def paper_loss(params: dict, batch: dict) -> jax.Array:
    """⟨‖y − x‖²⟩ summed over features, mean over the batch (Liu et al. 2025, Fig. 2a); scalar.

    ‖y − x‖² = Σ_i y_i² + Σ_k (v_k² − 2 v_k y_{idx_k}) over the kept event slots.  Reverse-mode
    differentiable (to any order) in params through a hand-fused value-and-gradient
    (`_paper_loss_and_grad`); the batch gets no gradient and forward mode is not defined.
    """
    return _paper_loss(params["W"], params["b"], batch["idx"], batch["val"])


def loss(params, batch, cfg: Config, hyper=None) -> jax.Array:
    """What the optimiser minimises: loss_scale × `paper_loss` (default 1/n = nn.MSELoss); scalar."""
    scale = 1.0 / cfg.n if cfg.loss_scale is None else cfg.loss_scale
    return scale * paper_loss(params, batch)


def metrics(params: dict, cfg: Config, hyper: Hyper) -> dict:
    """Population loss (paper units, fixed eval batch) and regime diagnostics, all scalars.

    phi_half / phi_one: fractions of rows with ‖W_i‖ > 1/2 / > 1 (Liu et al. 2025 Sec. 3);
    overlap: mean squared overlap of normalised rows; dims_per_feature: D*.
    """
    W = params["W"]
    # the evaluation batch is drawn in float32 whatever the training dtype, so that float32 and
    # float64 runs are evaluated on the same samples
    batch = sample(jax.random.PRNGKey(cfg.eval_seed), dataclasses.replace(cfg, dtype="float32"), hyper,
                   cfg.eval_batch)
    batch = {"idx": batch["idx"], "val": batch["val"].astype(W.dtype)}
    norms = row_norms(W)
    return {
        "loss": paper_loss(params, batch),
        "phi_half": jnp.mean(norms > 0.5),
        "phi_one": jnp.mean(norms > 1.0),
        "overlap": mean_sq_overlap(W),
        "dims_per_feature": dims_per_feature(W, active_width(cfg, hyper)),
    }


MODEL = Model(init=init, sample=sample, loss=loss, metrics=metrics, name="superposition")

_EXAMPLE_OPTIMIZER = LiuAdamW(total_steps=5, warmup_steps=1)


def example(dtype: str = "float32") -> dict:
    """A small case for the conformance suite: n = 16 features, width 3, two members of
    different width, sign of γ and α, trained 5 steps at batch 4 (runs in well under 2 s)."""
    return {"cfg": Config(n=16, m=3, max_active=4, eval_batch=16, dtype=dtype),
            "hyper": make_hyper(alpha=[1.5, 2.0], gamma=[-1.0, 0.5], width=[2, 3]),
            "optimizer": _EXAMPLE_OPTIMIZER, "steps": 5, "batch_size": 4}
