"""Theory for the Liu, Liu & Gore 2025 superposition model (arXiv 2505.10465).

Float64 (under ``jax_enable_x64``), differentiable in the data exponent α and in the
frequency vector p.  Losses are in the paper's units: summed over features, per sample.

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
(paper Fig. 5d), so the loss scales as 1/m (α_m = 1) for a broad range of frequency laws
(paper Fig. 1).  For n unit vectors in R^m the frame-potential (Welch) bound gives
mean_{i≠j} (Ŵ_i·Ŵ_j)² ≥ (n − m)/(m (n − 1)) (Welch 1974; Benedetto & Fickus 2003), equal for
tight frames; independent uniform unit vectors have E = 1/m and Var = 2(m − 1)/(m² (m + 2)).
For steep power laws the strong-regime model exponent α_m ≈ max(1, 2(α − 1)) is the working
hypothesis read off the guide lines of paper Fig. 5e [unverified against the paper text].

:func:`exponents` declares these predictions (:class:`scalesim.prediction.Prediction`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import zeta

from scalesim.precision import as_float
from scalesim.prediction import Prediction, prediction
from scalesim.spectra import power_law

PAPERS = ("liu2025superposition",)
EV, EV2 = 1.0, 4.0 / 3.0  # moments of v ~ U(0, 2)
_LIU = "Liu, Liu & Gore 2025"


def exponents(alpha: float | None = None) -> dict[str, Prediction]:
    """The exponents and asymptotes the family predicts in closed form.

    Args:
      alpha: paper data exponent α (p_i ∝ i^-α, dimensionless); the α-dependent predictions
        ("alpha_m_weak", "alpha_m_strong_hypothesis") are returned only when it is given.

    Returns:
      name -> :class:`~scalesim.prediction.Prediction`:

      - "alpha_m_strong": 1, loss ∝ 1/m in strong superposition (Sec. 5, Fig. 1);
      - "overlap_exponent_strong": 1, ⟨(Ŵ_i·Ŵ_j)²⟩ ∝ m^-1 (Fig. 5d);
      - "overlap_times_m": 1, m ⟨(Ŵ_i·Ŵ_j)²⟩ → 1 for n ≫ m (Fig. 5d);
      - "alpha_m_weak": α − 1, weak superposition, α > 1, n → ∞ (Sec. 4, Fig. 4b);
      - "alpha_m_strong_hypothesis": max(1, 2(α − 1)) (Fig. 5e guide lines) [unverified].
    """
    params = {} if alpha is None else {"alpha": alpha}

    def pred(name, value, expression, valid_when, reference):
        return prediction(__name__, params, name, value, expression, valid_when, reference)

    strong = "strong superposition (gamma < 0), all rows of norm ~1"
    out = {
        "alpha_m_strong": pred("alpha_m_strong", 1.0, "1  (loss ~ 1/m)",
                               strong + "; power laws with max(1, 2(alpha - 1)) = 1, exp-17 laws",
                               f"{_LIU}, Sec. 5 and Fig. 1"),
        "overlap_exponent_strong": pred("overlap_exponent_strong", 1.0, "1  (<(W_i.W_j)^2> ~ 1/m)", strong,
                                        f"{_LIU}, Fig. 5d"),
        "overlap_times_m": pred("overlap_times_m", 1.0, "m <(W_i.W_j)^2> -> 1", strong + ", n >> m",
                                f"{_LIU}, Fig. 5d"),
    }
    if alpha is not None:
        a = float(alpha)
        out["alpha_m_weak"] = pred("alpha_m_weak", a - 1.0, "alpha - 1",
                                   "weak superposition (gamma > 0), alpha > 1, n -> inf, m -> inf",
                                   f"{_LIU}, Sec. 4, Fig. 4b guide line")
        out["alpha_m_strong_hypothesis"] = pred("alpha_m_strong_hypothesis", max(1.0, 2.0 * (a - 1.0)),
                                                "max(1, 2(alpha - 1))", strong + " [unverified hypothesis]",
                                                f"{_LIU}, Fig. 5e guide lines")
    return out


def power_law_frequencies(alpha, n: int) -> jax.Array:
    """Normalised power-law frequencies (Liu et al. 2025 Sec. 3).

    Args:
      alpha: paper data exponent α (the authors' code uses α − 1); may be traced.
      n: number of features (static).

    Returns:
      p [n] with p_i = i^{-α} / Σ_{j≤n} j^{-α}, i = 1 … n.
    """
    alpha = as_float(alpha)
    w = power_law(n, alpha, dtype=alpha.dtype)
    return w / jnp.sum(w)


def named_frequencies(name: str, n: int) -> jax.Array:
    """The frequency laws of the authors' exp-17 (Liu et al. 2025 Fig. 1), normalised.

    Args:
      name: "exponential" (e^{-i/1000}), "exponential1" (e^{-i/400}), "linear" ((n − i)/n) or
        "power" ((i + 1)^{-1.2}), with 0-based i.
      n: number of features.

    Returns:
      p [n] summing to 1.
    """
    i = jnp.arange(n, dtype=as_float(0.0).dtype)
    table = {"exponential": lambda: jnp.exp(-i / 1000.0), "exponential1": lambda: jnp.exp(-i / 400.0),
             "linear": lambda: (n - i) / n, "power": lambda: (i + 1.0) ** -1.2}
    if name not in table:
        raise ValueError(f"name must be one of {sorted(table)}; got {name!r}")
    w = table[name]()
    return w / jnp.sum(w)


def weak_loss(p, m, ev=EV, ev2=EV2) -> jax.Array:
    """Weak-superposition loss L_weak(m) = Σ_{i>m} p_i (E v² − p_i (E v)²) (Liu et al. 2025 Sec. 4).

    Args:
      p: frequencies [..., n], sorted descending (differentiable).
      m: number of stored features (may be a traced integer; features 1..m are represented).
      ev, ev2: E v and E v² of the feature values (U(0, 2): 1 and 4/3).

    Returns:
      loss summed over features, shape p.shape[:-1].
    """
    p = as_float(p)
    tail = jnp.arange(p.shape[-1]) >= m
    return jnp.sum(jnp.where(tail, p * (ev2 - p * ev ** 2), 0.0), axis=-1)


def unlearned_loss(p, represented, ev=EV, ev2=EV2) -> jax.Array:
    """Loss of a model that stores the flagged features perfectly and ignores the rest (Sec. 4).

    Args:
      p: frequencies [..., n]. represented: bool / 0-1 [..., n] flags of the stored features.
      ev, ev2: E v and E v² of the feature values.

    Returns:
      Σ_{i not represented} p_i (E v² − p_i (E v)²), summed over features.
    """
    p = as_float(p)
    return jnp.sum((1.0 - as_float(represented)) * p * (ev2 - p * ev ** 2), axis=-1)


def weak_loss_power(alpha, n: int, m) -> jax.Array:
    """L_weak(m) for p_i ∝ i^{-α} over n features (explicit finite sum; :func:`weak_loss`).

    Args:
      alpha: data exponent α (dimensionless).
      n: number of features.
      m: width (number of features stored); scalar or array.

    Returns:
      The weak-superposition loss (summed over features, the paper's units), shape of ``m``.
    """
    return weak_loss(power_law_frequencies(alpha, n), m)


def _tail(s, m, n):
    """Σ_{i=m+1}^{n} i^{-s} via Hurwitz zeta (n=None: to infinity, needs s > 1)."""
    t = zeta(s, m + 1.0)
    return t if n is None else t - zeta(s, n + 1.0)


def weak_loss_continuous(alpha, m, n: int | None = None) -> jax.Array:
    """L_weak as a smooth function of a continuous m (Hurwitz-zeta form of the tail sums).

    Args:
      alpha: data exponent α > 1 (jax's Hurwitz ζ(s, q) is only defined for s > 1; for α ≤ 1
        use `weak_loss_power`).
      m: width (continuous). n: number of features (None: the n → ∞ limit).

    Returns:
      (4/3) T_α(m) / Z − T_{2α}(m) / Z², T_s(m) = Σ_{m<i≤n} i^{-s}, Z = T_α(0); equals
      `weak_loss_power` at integer m.
    """
    alpha, m = as_float(alpha), as_float(m)
    Z = _tail(alpha, 0.0, n)
    return EV2 * _tail(alpha, m, n) / Z - EV ** 2 * _tail(2.0 * alpha, m, n) / Z ** 2


def weak_loss_asymptotic(alpha, m) -> jax.Array:
    """Leading large-m, n → ∞ weak loss (4/3) m^{1−α} / ((α − 1) ζ(α)) (Liu et al. 2025 Sec. 4).

    Args:
      alpha: data exponent α > 1.
      m: width (continuous).

    Returns:
      The asymptotic loss, shape of ``m``.
    """
    alpha, m = as_float(alpha), as_float(m)
    return EV2 * m ** (1.0 - alpha) / ((alpha - 1.0) * zeta(alpha, 1.0))


def weak_local_exponent(alpha, m, n: int | None = None) -> jax.Array:
    """Local exponent −d log L_weak / d log m at a continuous m; → α − 1 as m → ∞ with n = ∞.

    Args:
      alpha: data exponent α > 1.
      m: width (continuous scalar).
      n: number of features (None: infinitely many).

    Returns:
      The local exponent (scalar), differentiated with ``jax.grad``.
    """
    m = as_float(m)
    return -m * jax.grad(lambda mm: jnp.log(weak_loss_continuous(alpha, mm, n)))(m)


def weak_exponent(alpha) -> jax.Array:
    """Asymptotic weak-regime model exponent α_m = α − 1 (Liu et al. 2025, Sec. 4, Fig. 4b).

    Args:
      alpha: data exponent α (> 1 for the law to hold).

    Returns:
      α − 1 as an array (the declared form is ``exponents(alpha)["alpha_m_weak"]``).
    """
    return as_float(alpha) - 1.0


def loglog_slope(x, y) -> jax.Array:
    """−(least-squares slope of log y on log x): the exponent a finite sweep would report.

    Args:
      x, y: positive arrays of equal shape [k].

    Returns:
      scalar exponent (positive for a decreasing power law).
    """
    lx, ly = jnp.log(as_float(x)), jnp.log(as_float(y))
    lx0 = lx - jnp.mean(lx)
    return -jnp.sum(lx0 * (ly - jnp.mean(ly))) / jnp.sum(lx0 ** 2)


def fitted_weak_exponent(alpha, n: int, ms) -> jax.Array:
    """Exponent of a log-log fit of L_weak over the widths ``ms`` (finite n, finite range).

    Args:
      alpha: data exponent α (differentiable). n: number of features. ms: integer widths [k].

    Returns:
      scalar: `loglog_slope` of `weak_loss_power` over ``ms``, the prediction to compare with a
      simulated sweep over the same widths.
    """
    ms = jnp.asarray(ms)
    L = jax.vmap(lambda m: weak_loss_power(alpha, n, m))(ms)
    return loglog_slope(ms, L)


def overlap_lower_bound(n, m) -> jax.Array:
    """Welch / frame-potential bound on mean_{i≠j} (Ŵ_i·Ŵ_j)² for n unit vectors in R^m.

    Welch 1974; Benedetto & Fickus 2003 (attained by tight frames).

    Args:
      n: number of vectors (features).
      m: dimension (width).

    Returns:
      (n − m) / (m (n − 1)) (0 if n ≤ m); ≈ 1/m for n ≫ m.
    """
    n, m = as_float(n), as_float(m)
    return jnp.maximum(n - m, 0.0) / (m * (n - 1.0))


def random_overlap(m) -> jax.Array:
    """E (u·v)² = 1/m for independent uniform unit vectors u, v in R^m.

    Args:
      m: dimension (width).

    Returns:
      1/m, shape of ``m``.
    """
    return 1.0 / as_float(m)


def random_overlap_var(m) -> jax.Array:
    """Var (u·v)² = 3/(m(m+2)) − 1/m² = 2(m − 1)/(m² (m + 2)) for uniform unit vectors in R^m.

    Args:
      m: dimension (width).

    Returns:
      The variance, shape of ``m``.
    """
    m = as_float(m)
    return 2.0 * (m - 1.0) / (m ** 2 * (m + 2.0))


def strong_exponent(alpha) -> jax.Array:
    """Working hypothesis α_m,strong ≈ max(1, 2(α − 1)) (Liu et al. 2025 Fig. 5e guide lines; unverified).

    Args:
      alpha: data exponent α.

    Returns:
      max(1, 2(α − 1)) as an array.
    """
    return jnp.maximum(1.0, 2.0 * (as_float(alpha) - 1.0))
