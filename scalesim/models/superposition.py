"""The superposition toy model of Liu, Liu & Gore 2025 (arXiv 2505.10465).

y = ReLU(W Wᵀ x + b),  W ∈ R^{n×m} (row W_i represents feature i),  b ∈ R^n.
Features x_i = u_i v_i, u_i ~ Bernoulli(p_i) independent, v_i ~ U(0, 2)
(E v = 1, E v² = 4/3); fresh data each step (online).  Frequencies p are a power law
p_i ∝ i^{-α} (paper α; the authors' code uses ``alpha_code = α - 1``), or one of the
named non-power-law distributions of their exp-17, always normalised to Σ p = 1.
The activation-density experiment (exp-15) rescales p ← p (1 + s (1/p_1 - 1)).

The loss the paper reports is summed over features, ⟨‖y - x‖²⟩ (Fig. 2a); the authors'
code minimises ``nn.MSELoss`` (a mean over features, i.e. paper loss / n), which only
matters through Adam's ε.  ``SuperpositionConfig.loss_scale`` (default 1/n) multiplies the
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

DISTRIBUTIONS = ("power", "exponential", "exponential1", "linear", "custom")
EV, EV2 = 1.0, 4.0 / 3.0  # moments of v ~ U(0, 2)
_P_MAX = 1.0 - 1e-6  # clip so that λ = -log(1 - p) stays finite when p_1 -> 1 (exp-15, s = 1)


@dataclasses.dataclass(frozen=True)
class SuperpositionConfig:
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
        if not (isinstance(self.n, (int, np.integer)) and self.n >= 1):
            raise ValueError(f"n must be an integer >= 1, got {self.n!r}")
        if not (isinstance(self.m, (int, np.integer)) and 1 <= self.m <= self.n):
            raise ValueError(f"m must be an integer in [1, n={self.n}], got {self.m!r}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        if self.distribution not in DISTRIBUTIONS:
            raise ValueError(f"distribution must be one of {DISTRIBUTIONS}, got {self.distribution!r}")
        if self.distribution == "custom":
            if self.probs is None or len(self.probs) != self.n:
                raise ValueError(f"probs must have length n={self.n} for distribution='custom'")
            p = np.asarray(self.probs, dtype=np.float64)
            if np.any(~np.isfinite(p)) or np.any(p < 0) or np.any(p > 1):
                raise ValueError("probs must lie in [0, 1]")
            if abs(p.sum() - 1.0) > 1e-6:
                raise ValueError(f"probs must sum to 1 (got {p.sum():.6g})")
        elif self.probs is not None:
            raise ValueError("probs is only used with distribution='custom'")
        if not (isinstance(self.max_active, (int, np.integer)) and 1 <= self.max_active <= self.n):
            raise ValueError(f"max_active must be an integer in [1, n], got {self.max_active!r}")
        if self.loss_scale is not None and not (np.isfinite(self.loss_scale) and self.loss_scale > 0):
            raise ValueError(f"loss_scale must be > 0 (or None for 1/n), got {self.loss_scale!r}")
        if not (isinstance(self.eval_batch, (int, np.integer)) and self.eval_batch >= 1):
            raise ValueError(f"eval_batch must be an integer >= 1, got {self.eval_batch!r}")


class SuperpositionHyper(NamedTuple):
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


def make_hyper(*, alpha=1.0, gamma=0.0, lr=1e-2, lr_b=None, density=0.0, width=0) -> SuperpositionHyper:
    """Broadcast hyperparameters to member arrays [M] (float32) and validate them.

    Raises ValueError naming the field: alpha < 0, density ∉ [0, 1], lr ≤ 0, or
    lr·|γ| ≥ 1 (the decoupled decay step p ← p(1 - lr γ) would overshoot zero).
    """
    lr_b = lr if lr_b is None else lr_b
    arrs = np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, dtype=np.float64))
                                 for v in (alpha, gamma, lr, lr_b, density, width)))
    a, g, l, lb, d, w = arrs
    if a.ndim != 1:
        raise ValueError("hyperparameters must be scalars or 1-D member arrays")
    for name, v in zip(("alpha", "gamma", "lr", "lr_b", "density", "width"), arrs):
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{name} must be finite")
    if np.any(a < 0):
        raise ValueError(f"alpha (data exponent) must be >= 0, got min {a.min()}")
    if np.any((d < 0) | (d > 1)):
        raise ValueError("density must lie in [0, 1]")
    if np.any(l <= 0) or np.any(lb <= 0):
        raise ValueError("lr and lr_b must be > 0")
    if np.any(w < 0) or np.any(w != np.round(w)):
        raise ValueError("width must be a non-negative integer (0: the config's m)")
    if np.any(l * np.abs(g) >= 1):
        raise ValueError("gamma out of range: need lr*|gamma| < 1 (decay step would overshoot)")
    return SuperpositionHyper(*(jnp.asarray(v, jnp.float32) for v in arrs))


def frequencies(cfg: SuperpositionConfig, hyper: SuperpositionHyper) -> jax.Array:
    """Feature frequencies p [n] of one member (Liu et al. 2025 Sec. 3; exp-17; exp-15)."""
    n = cfg.n
    dtype = jnp.dtype(cfg.dtype)
    i0 = jnp.arange(n, dtype=dtype)  # 0-based, as torch.arange in exp-17
    if cfg.distribution == "power":
        w = (i0 + 1.0) ** (-jnp.asarray(hyper.alpha, dtype))
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
    """[P(N ≤ k)]_{k=0..K-1} for N ~ Poisson(lam), by the cumulative product of lam/j."""
    j = jnp.arange(1, K, dtype=jnp.result_type(lam, jnp.float32))
    terms = jnp.exp(-lam) * jnp.concatenate([jnp.ones((1,), j.dtype), jnp.cumprod(lam / j)])
    return jnp.cumsum(terms)


def truncation_mass(cfg: SuperpositionConfig, hyper: SuperpositionHyper) -> jax.Array:
    """P(N > max_active) per sample: the sparse sampler's only deviation from exactness."""
    lam = jnp.sum(_event_rates(cfg, hyper))
    K = cfg.max_active
    tail = jnp.exp(-lam) * jnp.prod(lam / jnp.arange(1, K + 2, dtype=lam.dtype))  # P(N = K+1)
    # P(N > K) = P(N = K+1) Σ_{j≥0} lam^j (K+1)!/(K+1+j)! ≤ P(N = K+1) / (1 − lam/(K+2))
    return tail / jnp.maximum(1.0 - lam / (K + 2.0), 1e-12)


def active_width(cfg: SuperpositionConfig, hyper=None):
    """The member's width m' (hyper.width, or cfg.m when it is 0 / no hyper is given)."""
    if hyper is None:
        return jnp.asarray(cfg.m, cfg.dtype)
    return jnp.where(hyper.width > 0, jnp.minimum(hyper.width, cfg.m), cfg.m).astype(cfg.dtype)


def init(key, cfg: SuperpositionConfig, hyper=None) -> dict:
    """W ~ N(0, 1/m') on the first m' columns (row norms ≈ 1), b ~ N(0, 1) (authors' FeatureRecovery)."""
    kw, kb = jax.random.split(key)
    width = active_width(cfg, hyper)
    mask = jnp.arange(cfg.m) < width
    W = jax.random.normal(kw, (cfg.n, cfg.m), cfg.dtype) * (mask / jnp.sqrt(width))
    return {"W": W, "b": jax.random.normal(kb, (cfg.n,), cfg.dtype)}


def sample(key, cfg: SuperpositionConfig, hyper: SuperpositionHyper, batch_size: int) -> dict:
    """Sparse batch {"idx": int32[B, K], "val": float32[B, K]} (val = 0 on empty slots).

    Exact up to `truncation_mass` (see the module docstring for the Poissonisation).
    """
    K = cfg.max_active
    lam = _event_rates(cfg, hyper)
    cdf = jnp.cumsum(lam)
    total = cdf[-1]
    kc, ki, kv = jax.random.split(key, 3)
    # N ~ Poisson(Σλ) by inverse CDF, truncated at K: N = #{k < K : u > F(k)}
    cdf_n = _poisson_cdf(total, K)
    count = jnp.sum(jax.random.uniform(kc, (batch_size, 1), dtype=cdf.dtype) > cdf_n, axis=-1)
    u = jax.random.uniform(ki, (batch_size, K), dtype=cdf.dtype) * total
    idx = jnp.clip(jnp.searchsorted(cdf, u, side="right"), 0, cfg.n - 1).astype(jnp.int32)
    valid = jnp.arange(K)[None, :] < count[:, None]
    # merge duplicate events: keep slot k only if no earlier valid slot holds the same index
    same = (idx[:, :, None] == idx[:, None, :]) & valid[:, None, :]
    earlier = jnp.tril(jnp.ones((K, K), bool), k=-1)
    keep = valid & ~jnp.any(same & earlier[None], axis=-1)
    val = jax.random.uniform(kv, (batch_size, K), cfg.dtype, minval=0.0, maxval=2.0)
    return {"idx": jnp.where(keep, idx, 0), "val": jnp.where(keep, val, 0.0)}


def sample_dense(key, cfg: SuperpositionConfig, hyper: SuperpositionHyper, batch_size: int) -> jax.Array:
    """Reference dense sampler of the authors' code: (rand < p) * rand * 2, shape [B, n]."""
    p = frequencies(cfg, hyper)
    ku, kv = jax.random.split(key)
    on = jax.random.uniform(ku, (batch_size, cfg.n), cfg.dtype) < p
    return on * jax.random.uniform(kv, (batch_size, cfg.n), cfg.dtype, minval=0.0, maxval=2.0)


def densify(batch: dict, n: int) -> jax.Array:
    """Dense x [B, n] from a sparse batch."""
    B = batch["idx"].shape[0]
    rows = jnp.arange(B)[:, None]
    return jnp.zeros((B, n), batch["val"].dtype).at[rows, batch["idx"]].add(batch["val"])


def forward(params: dict, batch: dict) -> jax.Array:
    """y = ReLU(W Wᵀ x + b) for a sparse batch; h = Σ_k v_k W[idx_k] is a gather."""
    W, b = params["W"], params["b"]
    h = jnp.einsum("bk,bkm->bm", batch["val"], W[batch["idx"]])
    return jax.nn.relu(h @ W.T + b)


def paper_loss(params: dict, batch: dict) -> jax.Array:
    """⟨‖y - x‖²⟩ summed over features, mean over the batch (Liu et al. 2025, Fig. 2a).

    ‖y - x‖² = Σ_i y_i² + Σ_k (v_k² - 2 v_k y_{idx_k}) over the kept event slots.
    """
    y = forward(params, batch)
    v = batch["val"]
    y_at = jnp.take_along_axis(y, batch["idx"], axis=1)
    per = jnp.sum(y * y, axis=-1) + jnp.sum(v * v - 2.0 * v * y_at, axis=-1)
    return jnp.mean(per)


def loss(params, batch, cfg: SuperpositionConfig, hyper=None) -> jax.Array:
    """What the optimiser minimises: loss_scale × paper loss (default 1/n = nn.MSELoss)."""
    scale = 1.0 / cfg.n if cfg.loss_scale is None else cfg.loss_scale
    return scale * paper_loss(params, batch)


def row_norms(W: jax.Array) -> jax.Array:
    return jnp.linalg.norm(W, axis=-1)


def _unit_rows(W, eps=1e-8):
    return W / (row_norms(W)[:, None] + eps)


def mean_sq_overlap(W: jax.Array) -> jax.Array:
    """Mean over i ≠ j of (Ŵ_i·Ŵ_j)², computed through the m×m matrix ŴᵀŴ (no n×n Gram).

    Σ_{i≠j} (Ŵ_i·Ŵ_j)² = ‖ŴᵀŴ‖_F² − Σ_i ‖Ŵ_i‖⁴  (Liu et al. 2025 Sec. 5, Fig. 5d).
    """
    U = _unit_rows(W)
    n = U.shape[0]
    C = U.T @ U
    off = jnp.sum(C * C) - jnp.sum(jnp.sum(U * U, axis=-1) ** 2)
    return off / (n * (n - 1))


def overlap_stats(W: jax.Array, weights: jax.Array | None = None, block: int = 256) -> dict:
    """Mean and variance of squared overlaps (Ŵ_i·Ŵ_j)² over pairs i ≠ j, blockwise in rows.

    weights [n] (e.g. a 0/1 mask of represented rows) weight pair (i, j) by w_i w_j.
    """
    U = _unit_rows(W)
    n = U.shape[0]
    w = jnp.ones((n,), U.dtype) if weights is None else jnp.asarray(weights, U.dtype)
    pad = (-n) % block
    Up = jnp.pad(U, ((0, pad), (0, 0)))
    wp = jnp.pad(w, (0, pad))
    ids = jnp.arange(n + pad)

    def one(carry, start):
        rows = jax.lax.dynamic_slice_in_dim(Up, start, block)
        wr = jax.lax.dynamic_slice_in_dim(wp, start, block)
        ir = jax.lax.dynamic_slice_in_dim(ids, start, block)
        G2 = (rows @ U.T) ** 2
        pw = wr[:, None] * w[None, :] * (ir[:, None] != ids[None, :n])
        s0, s1, s2 = carry
        return (s0 + jnp.sum(pw), s1 + jnp.sum(pw * G2), s2 + jnp.sum(pw * G2 * G2)), None

    z = jnp.zeros((), U.dtype)
    (s0, s1, s2), _ = jax.lax.scan(one, (z, z, z), jnp.arange(0, n + pad, block))
    mean = s1 / s0
    return {"overlap_mean": mean, "overlap_var": s2 / s0 - mean ** 2}


def feature_dimensionality(W: jax.Array, block: int = 256) -> jax.Array:
    """D_i = ‖W_i‖² / Σ_j (Ŵ_i·W_j)² (Elhage et al. 2022, "feature dimensionality"), [n]."""
    U = _unit_rows(W)
    n = W.shape[0]
    pad = (-n) % block
    Up = jnp.pad(U, ((0, pad), (0, 0)))
    denom = jax.lax.map(lambda r: jnp.sum((r @ W.T) ** 2, axis=-1),
                        Up.reshape(-1, block, W.shape[1]))
    return row_norms(W) ** 2 / jnp.reshape(denom, (-1,))[:n]


def dims_per_feature(W: jax.Array, m=None) -> jax.Array:
    """D* = m / ‖W‖_F² (Elhage et al. 2022, "dimensions per feature")."""
    return (W.shape[1] if m is None else m) / jnp.sum(W * W)


def metrics(params: dict, cfg: SuperpositionConfig, hyper: SuperpositionHyper) -> dict:
    """Population loss (paper units, fixed eval batch) and regime diagnostics.

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
