"""Closed-form phase energies of the Elhage et al. 2022 two-features-in-one-dimension toy.

Toy Models of Superposition (Elhage et al. 2022, "Phase Change" section): a ReLU-output
model x' = ReLU(Wᵀ W x + b) with W ∈ R^{1×2}, feature values x_i = 0 with probability
1 − s (s is the density 1 − S) and U[0, 1] otherwise, loss Σ_i I_i (x_i − x'_i)² with
importances I = (1, r): feature 0 is the reference, feature 1 the "extra" feature.

Expected loss per sample of the three candidate configurations (derived here; they match the
closed forms quoted for the article's phase diagram):

* "not learned" — W = (1, 0), b = (0, E x_1): the extra feature costs its variance,
  r Var(x_1) = r (s/3 − s²/4);
* "dedicated" — W = (0, 1): the extra feature owns the dimension and feature 0 costs
  s/3 − s²/4;
* "antipodal" — W = (1, −1), b = 0: both stored in superposition; only when both are active
  (probability s²) does the loss become min(x_0, x_1)² per feature, with E min(U, V)² = 1/6,
  so (1 + r) s²/6.

The phase at (r, s) is the argmin.  Boundaries: not learned / antipodal at r = 2s/(4 − 5s),
antipodal / dedicated at r = 2/s − 5/2, not learned / dedicated at r = 1 (s ≥ 4/7).
All functions are float64, jit/vmap-able and differentiable in r and s.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from scalesim.precision import as_float
from scalesim.prediction import Prediction, prediction

PAPERS = ("elhage2022toy",)
PHASES = ("not_learned", "antipodal", "dedicated")
_REF = "Elhage et al. 2022, Phase Change section (2 features in 1 dimension); energies derived here"


def exponents(s: float | None = None) -> dict[str, Prediction]:
    """The closed-form features of the phase diagram.

    Args:
      s: density 1 − S in (0, 1]; the boundaries at that density are returned only when given.

    Returns:
      name -> :class:`~scalesim.prediction.Prediction`:

      - "triple_point_density", "triple_point_importance": (s, r) = (4/7, 1), where the three
        phases meet;
      - "boundary_slope_sparse": 1, r* ∝ s¹ for not learned / antipodal as s → 0 (r* ≈ s/2);
      - "boundary_exponent_antipodal_dedicated": −1, r* ∝ s^-1 as s → 0 (r* ≈ 2/s);
      - "boundary_not_learned_antipodal", "boundary_antipodal_dedicated": r* at the given s.
    """
    params = {} if s is None else {"s": s}

    def pred(name, value, expression, valid_when):
        return prediction(__name__, params, name, value, expression, valid_when, _REF)

    out = {
        "triple_point_density": pred("triple_point_density", 4.0 / 7.0, "s = 4/7",
                                     "r = 1: the three energies are equal"),
        "triple_point_importance": pred("triple_point_importance", 1.0, "r = 1", "s = 4/7"),
        "boundary_slope_sparse": pred("boundary_slope_sparse", 1.0, "r* = 2s/(4 - 5s) ~ s/2",
                                      "not learned / antipodal boundary, s -> 0"),
        "boundary_exponent_antipodal_dedicated": pred("boundary_exponent_antipodal_dedicated", -1.0,
                                                      "r* = 2/s - 5/2 ~ 2 s^-1",
                                                      "antipodal / dedicated boundary, s -> 0"),
    }
    if s is not None:
        x = float(s)
        out["boundary_not_learned_antipodal"] = pred("boundary_not_learned_antipodal", 2.0 * x / (4.0 - 5.0 * x),
                                                     "2s/(4 - 5s)", "0 < s < 4/7")
        out["boundary_antipodal_dedicated"] = pred("boundary_antipodal_dedicated", 2.0 / x - 2.5, "2/s - 5/2",
                                                   "0 < s < 4/7")
    return out


def ignored_feature_loss(s) -> jax.Array:
    """Loss of a feature replaced by its best constant output.

    Args:
      s: density 1 − S (probability that x ~ U[0, 1] is non-zero).

    Returns:
      Var(x) = s/3 − s²/4.
    """
    s = as_float(s)
    return s / 3.0 - s ** 2 / 4.0


def phase_energies(r, s) -> jax.Array:
    """Expected loss per sample of the three candidate configurations.

    Args:
      r: importance of the extra feature relative to the reference feature (I = (1, r)).
      s: density 1 − S.

    Returns:
      [..., 3] losses [not_learned r Var, antipodal (1 + r) s²/6, dedicated Var] (Var from
      `ignored_feature_loss`), summed over the two features.
    """
    r, s = as_float(r), as_float(s)
    v = ignored_feature_loss(s)
    return jnp.stack([r * v, (1.0 + r) * s ** 2 / 6.0, v * jnp.ones_like(r)], axis=-1)


def phase(r, s) -> jax.Array:
    """The lowest-energy configuration at (r, s) (Elhage et al. 2022, "Phase Change" section).

    Args:
      r: importance of the extra feature relative to the reference feature.
      s: density 1 − S in (0, 1].

    Returns:
      int array (broadcast shape of r and s) indexing ``PHASES``.
    """
    return jnp.argmin(phase_energies(r, s), axis=-1)


def energy_margin(r, s) -> jax.Array:
    """Relative energy gap to the next configuration: a distance from the phase boundaries.

    Args:
      r: relative importance of the extra feature.
      s: density 1 − S in (0, 1].

    Returns:
      (second-lowest − lowest) / lowest energy, broadcast shape of r and s (dimensionless).
    """
    e = jnp.sort(phase_energies(r, s), axis=-1)
    return (e[..., 1] - e[..., 0]) / e[..., 0]


def boundary_not_learned_antipodal(s) -> jax.Array:
    """Boundary between "not learned" and "antipodal": r Var = (1 + r) s²/6.

    Args:
      s: density 1 − S in (0, 4/5).

    Returns:
      the relative importance r* = 2s/(4 − 5s).
    """
    s = as_float(s)
    return 2.0 * s / (4.0 - 5.0 * s)


def boundary_antipodal_dedicated(s) -> jax.Array:
    """Boundary between "antipodal" and "dedicated": (1 + r) s²/6 = Var.

    Args:
      s: density 1 − S in (0, 1].

    Returns:
      the relative importance r* = 2/s − 5/2.
    """
    s = as_float(s)
    return 2.0 / s - 2.5
