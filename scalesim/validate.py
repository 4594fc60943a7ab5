"""The one vocabulary of input checks: ``ValueError`` naming the field and the allowed range.

Configs call these from ``__post_init__`` and public functions call them on entry, so bad input
fails before anything is compiled. Checks are skipped for traced values (inside
``jit``/``vmap``/``grad`` the caller is responsible); :func:`is_concrete` is the one tracer
guard. Messages read ``NAME must be > LO; got VALUE`` (one bound) or ``NAME must be in
[LO, HI); got VALUE`` (two bounds). Values must be finite unless a check says otherwise.

Every count has a finite ceiling (:data:`MAX_COUNT`; steps :data:`MAX_STEPS`; resamples
:data:`MAX_RESAMPLES`), seeds
are integers in ``[0, 2**32)`` and tolerances lie in ``(0, MAX_TOLERANCE]``, so no setting can
ask for an impossible size before the pre-flight estimate sees it, or make a comparison vacuous.
"""

from __future__ import annotations

import math
import re

import jax
import numpy as np

__all__ = [
    "is_concrete",
    "check_range",
    "check_positive",
    "check_nonneg",
    "check_choice",
    "check_positive_ints",
    "check_unique",
    "check_int",
    "check_seed",
    "check_resamples",
    "check_tolerance",
    "MAX_COUNT",
    "MAX_STEPS",
    "MAX_RESAMPLES",
    "MAX_TOLERANCE",
    "SEED_LIMIT",
    "DECIMAL",
    "BOOL_WORDS",
    "parse_number",
]

MAX_COUNT = 10**9  # ceiling of any count (size, steps, members); larger work is refused by the pre-flight estimate first
MAX_STEPS = 10**8  # optimiser steps of one run (papers use 1e4 - 1e7)
MAX_RESAMPLES = 100_000  # bootstrap resamples: CIs stop changing long before this
MAX_TOLERANCE = 1.0  # relative tolerances: 100 % would accept any measurement of the right sign
SEED_LIMIT = 2**32  # PRNG seeds are uint32


def is_concrete(*xs) -> bool:
    """True when none of ``xs`` is a JAX tracer (so its value can be checked eagerly)."""
    return not any(isinstance(x, jax.core.Tracer) for x in xs)


def _bounds(lo, hi, lo_open, hi_open) -> str:
    if hi is None:
        return f"{'>' if lo_open else '>='} {lo}"
    if lo is None:
        return f"{'<' if hi_open else '<='} {hi}"
    return f"in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"


def check_range(name: str, value, lo=None, hi=None, *, lo_open=False, hi_open=False, allow_inf=False) -> None:
    """Raise ``ValueError`` unless every entry of ``value`` is a number in the interval.

    Args:
      name: the field named in the message.
      value: a number or array (checked elementwise; skipped when traced).
      lo, hi: bounds (``None``: unbounded on that side).
      lo_open, hi_open: exclude the bound itself.
      allow_inf: accept ``+-inf`` where the bounds allow it (NaN is always refused).
    """
    if not is_concrete(value):
        return
    rng = _bounds(lo, hi, lo_open, hi_open) if (lo is not None or hi is not None) else "a finite number"
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be {rng}; got {value!r}") from None
    bad = np.isnan(arr) if allow_inf else ~np.isfinite(arr)
    if lo is not None:
        bad |= arr <= lo if lo_open else arr < lo
    if hi is not None:
        bad |= arr >= hi if hi_open else arr > hi
    if arr.size == 0 or np.any(bad):
        raise ValueError(f"{name} must be {rng}; got {value!r}")


def check_positive(name: str, value, *, allow_inf: bool = True) -> None:
    """All entries of ``value`` > 0 (``inf`` allowed unless ``allow_inf=False``)."""
    check_range(name, value, 0.0, lo_open=True, allow_inf=allow_inf)


def check_nonneg(name: str, value) -> None:
    """All entries of ``value`` finite and >= 0."""
    check_range(name, value, 0.0)


def check_choice(name: str, value, choices) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}; got {value!r}")


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def check_positive_ints(name: str, values, hi: int = MAX_COUNT) -> None:
    """Raise ``ValueError`` unless ``values`` is an integer in ``[1, hi]`` or a non-empty sequence of them."""
    vals = tuple(values) if isinstance(values, (tuple, list)) else (values,)
    if not vals or any(not _is_int(v) or not 1 <= v <= hi for v in vals):
        raise ValueError(f"{name} must be integer(s) in [1, {hi}]; got {values!r}")


def check_int(name: str, value, lo: int = 1, hi: int = MAX_COUNT) -> None:
    """Raise ``ValueError`` unless ``value`` is one integer in ``[lo, hi]``."""
    if not _is_int(value) or not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}]; got {value!r}")


def check_seed(name: str, value) -> None:
    """A PRNG seed: an integer in ``[0, 2**32)``."""
    check_int(name, value, 0, SEED_LIMIT - 1)


def check_resamples(name: str, value, lo: int = 1) -> None:
    """A number of bootstrap resamples: an integer in ``[lo, MAX_RESAMPLES]``."""
    check_int(name, value, lo, MAX_RESAMPLES)


def check_tolerance(name: str, value, hi: float = MAX_TOLERANCE) -> None:
    """A stated tolerance: finite, > 0 and <= ``hi`` (an infinite one would make a check vacuous)."""
    check_range(name, value, 0.0, hi, lo_open=True)


def check_unique(name: str, values) -> None:
    """Raise ``ValueError`` if a sweep tuple repeats a value (duplicates would alias run data)."""
    vals = tuple(values)
    if len(set(vals)) != len(vals):
        raise ValueError(f"{name} must not repeat values; got {values!r}")


# words accepted for a true/false setting (lower case)
BOOL_WORDS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}
DECIMAL = re.compile(  # plain ASCII decimal notation, the only number syntax accepted from text
    r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def parse_number(text: str, name: str, *, integer: bool = False):
    """Parse ``text`` strictly as a finite decimal number (an integer when ``integer``).

    Only ASCII digits, one sign, one point and one exponent are accepted: ``inf``, ``nan``,
    values that overflow to infinity (``1e400``), Unicode digits and ``_`` separators are
    refused with a ``ValueError`` naming ``name``. Integers may be written ``1e6`` when exact.

    Args:
      text: the value as typed.
      name: the setting or option named in the message.
      integer: require an integer.

    Returns:
      ``int`` or ``float``.
    """
    t = text.strip()
    kind = "an integer" if integer else "a finite number"
    if not DECIMAL.fullmatch(t):
        raise ValueError(f"{name}: expected {kind}; got {text!r}")
    if integer and re.fullmatch(r"[+-]?[0-9]+", t):
        return int(t)
    value = float(t)
    if not math.isfinite(value):
        raise ValueError(f"{name}: expected {kind}; got {text!r} (overflows a float)")
    if integer:
        if not value.is_integer() or abs(value) > 2**53:
            raise ValueError(f"{name}: expected {kind}; got {text!r}")
        return int(value)
    return value
