"""Resolution-limited data scaling of a teacher–student MLP: ``alpha_D ~ 4/d``.

Bahri, Dyer, Kaplan, Lee & Sharma 2021, "Explaining Neural Scaling Laws" (arXiv 2102.06701,
Sec. 2.2 and Sec. 3):

- **Bound** (their Theorems 2 and 3): for a Lipschitz loss, with model and target Lipschitz on
  a d-dimensional data manifold, ``L(D) = O(D^(-1/d))`` (and ``L(P) = O(P^(-1/d))``).
- **Estimate** (Sec. 2.2): ``D`` points cover the manifold at spacing ``h ~ D^(-1/d)``. A model that
  is an accurate piecewise-linear interpolant of a smooth (C^2) target makes pointwise errors
  ``O(h^2)``, so the squared loss is ``O(h^4)``: ``L ∝ D^(-n/d)`` with ``n >= 4`` generically,
  i.e. ``alpha_D ≈ 4/d``. Their teacher–student experiments follow ``4/alpha_D ≈ d`` (Fig. 1,
  an approximate trend, not an identity).

**Regime of validity** (Bahri et al. Sec. 2.2 and Sec. 3): the resolution-limited hierarchy ``1 << D << P`` (the
student is effectively infinitely wide for the data it sees), the model trained to (near)
interpolation (optimisation error below the approximation error), a smooth target of
intrinsic dimension ``d``, and ``D`` large enough that the spacing ``h`` is below the target's
curvature scale. It breaks down when the hierarchy is lost (``D ~ P``), when optimisation
limits the train loss (a floor in ``L(D)``), or pre-asymptotically at small ``D`` (a simple
teacher can be learned faster than a generic smooth function, giving ``alpha_D > 4/d``).
``n = 4`` is a lower-bound-like estimate: smoother targets and models can exceed it.

All functions are jit/vmap-able and differentiable in ``d`` (float64 when x64 is enabled;
float32 otherwise). Concrete invalid inputs raise ``ValueError`` before any compilation.
:func:`exponents` declares the predictions.
"""

from __future__ import annotations

from ..precision import as_float
from ..prediction import Prediction, prediction
from ..validate import check_positive

__all__ = ["PAPERS", "exponents", "resolution_exponent", "bound_exponent", "resolution_loss", "intrinsic_dimension"]

PAPERS = ("bahri2021explaining",)
_REFERENCE = "Bahri et al. 2021 (arXiv 2102.06701) Sec. 2.2, Theorems 2-3, Fig. 1: alpha_D ~ n/d with n >= 4"
_VALID = ("resolution-limited hierarchy 1 << D << P, student trained to (near) interpolation, smooth (C^2) "
          "target on a d-dimensional manifold, D large enough that the spacing D^(-1/d) resolves the target")


def exponents(d: float | None = None, n: float = 4.0) -> dict[str, Prediction]:
    """The resolution-limited data exponents of a teacher-student MLP (``L ~ D^-exponent``).

    Args:
      d: intrinsic dimension of the data manifold (> 0); the d-dependent exponents are returned
        only when it is given.
      n: the order of the estimate ``L ~ D^(-n/d)`` (4: piecewise-linear interpolant of a smooth
        target under squared loss).

    Returns:
      name -> :class:`~scalesim.prediction.Prediction`:

      - "n": ``n``, the numerator of ``alpha_D = n/d`` (Bahri Sec. 2.2, Fig. 1: ``4/alpha_D ~ d``);
      - "alpha_D": ``n / d`` (:func:`resolution_exponent`);
      - "bound": ``1 / d``, the exponent of the rigorous bound ``L = O(D^(-1/d))`` for a
        Lipschitz loss (Bahri Theorem 2; :func:`bound_exponent`).
    """
    check_positive("n", n)
    params = {"n": n} if d is None else {"d": d, "n": n}
    out = {"n": prediction(__name__, params, "n", float(n), "n in alpha_D = n/d", _VALID, _REFERENCE)}
    if d is not None:
        out["alpha_D"] = prediction(__name__, params, "alpha_D", float(resolution_exponent(d, n)), "n / d", _VALID,
                                    _REFERENCE)
        out["bound"] = prediction(__name__, params, "bound", float(bound_exponent(d)), "1 / d",
                                  "Lipschitz loss, model and target Lipschitz on the manifold (an upper bound)",
                                  "Bahri et al. 2021 (arXiv 2102.06701), Theorems 2-3")
    return out


def resolution_exponent(d, n=4.0):
    """Predicted data exponent ``alpha_D = n / d`` (Bahri et al. 2021, Sec. 2.2).

    Args:
      d: intrinsic dimension (> 0; may be traced).
      n: order of the estimate (4 for a piecewise-linear interpolant of a smooth target under
        squared loss).

    Returns:
      ``n / d`` (float array).
    """
    check_positive("d", d)
    check_positive("n", n)
    return as_float(n) / as_float(d)


def bound_exponent(d):
    """Exponent ``1/d`` of the rigorous bound ``L = O(D^(-1/d))`` (Bahri et al. 2021, Theorem 2).

    Args:
      d: intrinsic dimension (> 0).

    Returns:
      ``1 / d`` (float array).
    """
    check_positive("d", d)
    return 1.0 / as_float(d)


def resolution_loss(D, d, prefactor=1.0, n=4.0):
    """Resolution-limited loss curve ``L(D) = prefactor * D^(-n/d)`` (Bahri et al. 2021, Sec. 2.2).

    Args:
      D: training-set sizes (> 0). d: intrinsic dimension. prefactor: loss at D = 1 (> 0).
      n: order of the estimate.

    Returns:
      loss with the shape of ``D`` (units of ``prefactor``).
    """
    check_positive("D", D)
    check_positive("prefactor", prefactor)
    return as_float(prefactor) * as_float(D) ** (-resolution_exponent(d, n))


def intrinsic_dimension(alpha, n=4.0):
    """Invert the estimate: the dimension ``d = n / alpha_D`` implied by a measured exponent.

    Args:
      alpha: measured data exponent alpha_D (> 0). n: order of the estimate.

    Returns:
      ``n / alpha`` (float array).
    """
    check_positive("alpha", alpha)
    check_positive("n", n)
    return as_float(n) / as_float(alpha)
