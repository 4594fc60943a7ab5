"""Theory for the Liu, Liu & Gore 2025 superposition model (arXiv 2505.10465).

Float64, differentiable in the data exponent α and in the frequency vector p.

Weak superposition (γ > 0, Sec. 4 of the paper; "the loss is well described by the expected
number of activated but unlearned features").  If the m most frequent features are stored
perfectly and every other feature is ignored (its output is the best constant, E[x_i]),

    L_weak(m) = Σ_{i>m} Var(x_i) = Σ_{i>m} p_i (E v² − p_i (E v)²),   E v = 1, E v² = 4/3,

and for p_i ∝ i^{-α}, α > 1, n → ∞:  L_weak ≈ (4/3) m^{1−α} / ((α − 1) ζ(α)),  so α_m = α − 1
(paper Fig. 4, guide line α_m = α − 1).  For finite n the tail sums are Hurwitz zeta
differences, Σ_{i=m+1}^{n} i^{-s} = ζ(s, m+1) − ζ(s, n+1), which makes L_weak a smooth function
of a continuous m and gives the local exponent −d log L / d log m.

Strong superposition (γ < 0, Sec. 5): all n rows have norm ≈ 1 and the loss is set by
interference, tracked by the mean squared overlap of normalised rows ⟨(Ŵ_i·Ŵ_j)²⟩ ≈ 1/m
(paper Fig. 5d).  For n unit vectors in R^m the frame-potential (Welch) bound gives
mean_{i≠j} (Ŵ_i·Ŵ_j)² ≥ (n − m)/(m (n − 1)) (Welch 1974; Benedetto & Fickus 2003), equal for
tight frames; independent uniform unit vectors have E = 1/m and Var = 2(m − 1)/(m² (m + 2)).
The strong-regime model exponent α_m ≈ max(1, 2(α − 1)) is the working hypothesis read off the
guide lines of paper Fig. 5e [unverified against the paper text].
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import zeta
from scalesim.precision import as_float

EV, EV2 = 1.0, 4.0 / 3.0  # moments of v ~ U(0, 2)

#: Exponents the family predicts (the "order" a solver would declare).
EXPONENTS = {
    "weak_model_exponent": "alpha - 1  (alpha > 1; Liu et al. 2025 Fig. 4b guide line)",
    "strong_overlap_exponent": "1  (<(W_i.W_j)^2> ~ 1/m; Liu et al. 2025 Fig. 5d)",
    "strong_model_exponent": "max(1, 2(alpha - 1))  (Fig. 5e guide lines) [unverified]",
}


def power_law_frequencies(alpha, n: int) -> jax.Array:
    """p_i = i^{-α} / Σ_{j≤n} j^{-α}, i = 1 … n (paper α; the authors' code uses α − 1)."""
    alpha = as_float(alpha)
    w = jnp.arange(1, n + 1, dtype=alpha.dtype) ** (-alpha)
    return w / jnp.sum(w)


def named_frequencies(name: str, n: int) -> jax.Array:
    """The non-power-law distributions of the authors' exp-17 (0-based i), normalised."""
    i = jnp.arange(n, dtype=as_float(0.0).dtype)
    table = {"exponential": lambda: jnp.exp(-i / 1000.0), "exponential1": lambda: jnp.exp(-i / 400.0),
             "linear": lambda: (n - i) / n, "power": lambda: (i + 1.0) ** -1.2}
    if name not in table:
        raise ValueError(f"name must be one of {sorted(table)}, got {name!r}")
    w = table[name]()
    return w / jnp.sum(w)


def weak_loss(p, m, ev=EV, ev2=EV2) -> jax.Array:
    """L_weak(m) = Σ_{i>m} p_i (E v² − p_i (E v)²) for frequencies p sorted descending.

    m may be a traced integer (features 1..m are the represented ones); differentiable in p.
    """
    p = as_float(p)
    tail = jnp.arange(p.shape[-1]) >= m
    return jnp.sum(jnp.where(tail, p * (ev2 - p * ev ** 2), 0.0), axis=-1)


def unlearned_loss(p, represented, ev=EV, ev2=EV2) -> jax.Array:
    """Σ_{i not represented} p_i (E v² − p_i (E v)²): the weak-regime loss of a model that stores
    the features flagged in ``represented`` (bool/0-1 [n]) perfectly and ignores the rest."""
    p = as_float(p)
    return jnp.sum((1.0 - as_float(represented)) * p * (ev2 - p * ev ** 2), axis=-1)


def weak_loss_power(alpha, n: int, m) -> jax.Array:
    """L_weak(m) for p_i ∝ i^{-α} over n features (explicit finite sum)."""
    return weak_loss(power_law_frequencies(alpha, n), m)


def _tail(s, m, n):
    """Σ_{i=m+1}^{n} i^{-s} via Hurwitz zeta (n=None: to infinity, needs s > 1)."""
    t = zeta(s, m + 1.0)
    return t if n is None else t - zeta(s, n + 1.0)


def weak_loss_continuous(alpha, m, n: int | None = None) -> jax.Array:
    """L_weak as a smooth function of a continuous m (Hurwitz-zeta form of the tail sums).

    Equals `weak_loss_power` at integer m.  Requires α > 1 (jax's Hurwitz ζ(s, q) is only
    defined for s > 1; for α ≤ 1 use the explicit sum); n=None is the n → ∞ limit.
    """
    alpha, m = as_float(alpha), as_float(m)
    Z = _tail(alpha, 0.0, n)
    return EV2 * _tail(alpha, m, n) / Z - EV ** 2 * _tail(2.0 * alpha, m, n) / Z ** 2


def weak_loss_asymptotic(alpha, m) -> jax.Array:
    """(4/3) m^{1−α} / ((α − 1) ζ(α)): the leading large-m, n → ∞ behaviour (α > 1)."""
    alpha, m = as_float(alpha), as_float(m)
    return EV2 * m ** (1.0 - alpha) / ((alpha - 1.0) * zeta(alpha, 1.0))


def weak_local_exponent(alpha, m, n: int | None = None) -> jax.Array:
    """−d log L_weak / d log m at (continuous) m; tends to α − 1 as m → ∞ with n = ∞."""
    m = as_float(m)
    return -m * jax.grad(lambda mm: jnp.log(weak_loss_continuous(alpha, mm, n)))(m)


def weak_exponent(alpha) -> jax.Array:
    """Asymptotic weak-regime model exponent α_m = α − 1 (Liu et al. 2025, Fig. 4b)."""
    return as_float(alpha) - 1.0


def loglog_slope(x, y) -> jax.Array:
    """−(least-squares slope of log y on log x): the exponent a finite sweep would report."""
    lx, ly = jnp.log(as_float(x)), jnp.log(as_float(y))
    lx0 = lx - jnp.mean(lx)
    return -jnp.sum(lx0 * (ly - jnp.mean(ly))) / jnp.sum(lx0 ** 2)


def fitted_weak_exponent(alpha, n: int, ms) -> jax.Array:
    """The exponent of a log-log fit of L_weak over the widths ``ms`` (finite-n, finite-range
    prediction to compare with a simulated sweep); differentiable in α."""
    ms = jnp.asarray(ms)
    L = jax.vmap(lambda m: weak_loss_power(alpha, n, m))(ms)
    return loglog_slope(ms, L)


def overlap_lower_bound(n, m) -> jax.Array:
    """Welch / frame-potential bound on mean_{i≠j} (Ŵ_i·Ŵ_j)² for n unit vectors in R^m:
    (n − m) / (m (n − 1)) (0 if n ≤ m); ≈ 1/m for n ≫ m."""
    n, m = as_float(n), as_float(m)
    return jnp.maximum(n - m, 0.0) / (m * (n - 1.0))


def random_overlap(m) -> jax.Array:
    """E (u·v)² = 1/m for independent uniform unit vectors in R^m."""
    return 1.0 / as_float(m)


def random_overlap_var(m) -> jax.Array:
    """Var (u·v)² = 3/(m(m+2)) − 1/m² = 2(m − 1)/(m² (m + 2)) for uniform unit vectors."""
    m = as_float(m)
    return 2.0 * (m - 1.0) / (m ** 2 * (m + 2.0))


def strong_exponent(alpha) -> jax.Array:
    """Working hypothesis α_m,strong ≈ max(1, 2(α − 1)) (paper Fig. 5e guide lines) [unverified]."""
    return jnp.maximum(1.0, 2.0 * (as_float(alpha) - 1.0))
