"""Resolution-limited data scaling of a teacher–student MLP: ``alpha_D ~ 4/d``.

Bahri, Dyer, Kaplan, Lee & Sharma 2021, "Explaining Neural Scaling Laws" (arXiv 2102.06701,
§2.2 and §3; ``shared/research/random_features.md`` §1):

- **Bound** (their Theorems 2 and 3): for a Lipschitz loss, with model and target Lipschitz on
  a d-dimensional data manifold, ``L(D) = O(D^(-1/d))`` (and ``L(P) = O(P^(-1/d))``).
- **Estimate** (§2.2): ``D`` points cover the manifold at spacing ``h ~ D^(-1/d)``. A model that
  is an accurate piecewise-linear interpolant of a smooth (C^2) target makes pointwise errors
  ``O(h^2)``, so the squared loss is ``O(h^4)``: ``L ∝ D^(-n/d)`` with ``n >= 4`` generically,
  i.e. ``alpha_D ≈ 4/d``. Their teacher–student experiments follow ``4/alpha_D ≈ d`` (Fig. 1,
  an approximate trend, not an identity).

**Regime of validity** (Bahri §2.2, §3): the resolution-limited hierarchy ``1 << D << P`` (the
student is effectively infinitely wide for the data it sees), the model trained to (near)
interpolation (optimisation error below the approximation error), a smooth target of
intrinsic dimension ``d``, and ``D`` large enough that the spacing ``h`` is below the target's
curvature scale. It breaks down when the hierarchy is lost (``D ~ P``), when optimisation
limits the train loss (a floor in ``L(D)``), or pre-asymptotically at small ``D`` (a simple
teacher can be learned faster than a generic smooth function, giving ``alpha_D > 4/d``).
``n = 4`` is a lower-bound-like estimate: smoother targets and models can exceed it.

All functions are jit/vmap-able and differentiable in ``d`` (float64 when x64 is enabled;
float32 otherwise). Concrete invalid inputs raise ``ValueError`` before any compilation.
"""

from __future__ import annotations

from ..validate import check_positive
from ..precision import as_float

__all__ = ["resolution_exponent", "bound_exponent", "resolution_loss", "intrinsic_dimension", "REFERENCE"]

REFERENCE = "Bahri et al. 2021 (arXiv 2102.06701) §2.2, Theorems 2-3, Fig. 1: alpha_D ~ n/d with n >= 4"


def resolution_exponent(d, n=4.0):
    """Predicted data exponent ``alpha_D = n / d`` (Bahri §2.2; ``n = 4`` for a piecewise-linear
    interpolant of a smooth target under squared loss)."""
    check_positive("d", d)
    check_positive("n", n)
    return as_float(n) / as_float(d)


def bound_exponent(d):
    """Exponent of the rigorous bound ``L = O(D^(-1/d))`` for a Lipschitz loss (Bahri Thm. 2)."""
    check_positive("d", d)
    return 1.0 / as_float(d)


def resolution_loss(D, d, prefactor=1.0, n=4.0):
    """Resolution-limited loss curve ``L(D) = prefactor * D^(-n/d)`` (Bahri §2.2)."""
    check_positive("D", D)
    check_positive("prefactor", prefactor)
    return as_float(prefactor) * as_float(D) ** (-resolution_exponent(d, n))


def intrinsic_dimension(alpha, n=4.0):
    """Invert the estimate: the dimension ``d = n / alpha_D`` implied by a measured exponent."""
    check_positive("alpha", alpha)
    check_positive("n", n)
    return as_float(n) / as_float(alpha)
