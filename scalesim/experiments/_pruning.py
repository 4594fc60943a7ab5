"""Shared pieces of the data-pruning experiments (Sorscher et al. 2022, arXiv:2206.14486):
``pruning-theory-vs-sim``, ``pruning-frontier`` and ``pruning-prototypes``.

Settings give probe angles in DEGREES (``thetas_deg``); the theory (:mod:`scalesim.theory.
perceptron`) and the simulator (:mod:`scalesim.models.perceptron`) take radians, and each
experiment converts once, explicitly, with ``math.radians``.
"""

from __future__ import annotations

import dataclasses
import warnings

from ..fit.records import comparison
from ..preflight import Cost, ensemble_cost
from ..validate import check_positive_ints, check_range

PAPERS = ("sorscher2022beyond",)


@dataclasses.dataclass(frozen=True)
class ThetaPoint:
    """One run directory: the probe-teacher angle in degrees."""

    theta_deg: float


def check_thetas(name, values):
    """Every probe angle (degrees) in [0, 90)."""
    for t in values:
        check_range(name, t, 0.0, 90.0, hi_open=True)


def check_fs(name, values):
    """A non-empty tuple of kept fractions in (0, 1]."""
    if not values:
        raise ValueError(f"{name} must be non-empty")
    for f in values:
        check_range(name, f, 0.0, 1.0, lo_open=True)


def check_seeds(seeds):
    """An integer number of seeds >= 2 (a standard error needs two)."""
    check_positive_ints("seeds", seeds)
    check_range("seeds", seeds, 2)


def law(name, holds, **detail):
    """A qualitative law decided by code: measured 1.0 when it holds (theory: 1.0)."""
    v = 1.0 if holds else 0.0
    return comparison(name, v, (v, v), 1.0, **detail)


def nan_record(name, theory_value, note, **extra):
    """A point that cannot be compared (agrees False), with a warning naming it."""
    warnings.warn(f"{name}: {note}", stacklevel=3)
    return comparison(name, float("nan"), (float("nan"),) * 2, theory_value, note=note, **extra)


def problems_cost(s, problems: int) -> Cost:
    """Pre-flight estimate of a pruning simulation: per problem (float64, all at once) the unpruned
    sample [alpha n / f_min, n] and the n x n solves of the max-margin fit on the kept alpha n
    examples.

    Args:
      s: settings with ``n``, ``alpha_prune`` and ``fs``.
      problems: max-margin problems solved together.

    Returns:
      The :class:`scalesim.preflight.Cost`.
    """
    kept = int(s.alpha_prune * s.n) + 1
    total = int(kept / min(s.fs)) + 1
    per = total * s.n + 4 * s.n * s.n + 2 * total
    return ensemble_cost(1, 0, per * problems, problems * (2 * total * s.n + 200 * kept * s.n * s.n))
