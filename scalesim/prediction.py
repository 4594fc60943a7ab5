"""Declared theory predictions in one typed form.

Every theory module declares what it predicts with one public function

    ``exponents(**params) -> dict[str, Prediction]``

(exponents, asymptotes and other closed-form scaling quantities, each with the condition under
which it holds and the paper + equation it comes from). Experiments take their theory column
from these objects, never by restating a formula: :func:`scalesim.fit.records.comparison`
accepts a :class:`Prediction` as ``theory`` and stores :meth:`Prediction.ref` in the record as
``theory_ref``, and the experiment runner re-evaluates every ``theory_ref`` against the theory
module before it writes ``summary.json``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

__all__ = ["Prediction", "prediction", "verify_refs"]


@dataclasses.dataclass(frozen=True)
class Prediction:
    """One declared prediction.

    Attributes:
      name: the key under which the theory module's ``exponents`` returns it (e.g.
        ``"alpha_m_weak"``).
      value: the predicted number (a Python float).
      expression: the closed form in words or symbols (``"alpha - 1"``).
      valid_when: the regime in which it holds (``"weak superposition, alpha > 1"``).
      reference: paper and equation (``"Liu, Liu & Gore 2025, Eq. (5)"``).
      module: the theory module's ``__name__`` (set by :func:`prediction`).
      params: the keyword arguments of ``exponents`` that produced it (JSON scalars).
    """

    name: str
    value: float
    expression: str
    valid_when: str
    reference: str
    module: str
    params: tuple = ()

    def ref(self) -> dict:
        """JSON-ready provenance: ``{"module", "name", "params"}``."""
        return {"module": self.module, "name": self.name, "params": dict(self.params)}


def _plain(v):
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        return int(v)
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return float(v)


def prediction(module: str, params: dict, name: str, value, expression: str, valid_when: str, reference: str) -> Prediction:
    """Build a :class:`Prediction` (``value`` converted to ``float``; ``params`` frozen)."""
    frozen = tuple(sorted((k, _plain(v)) for k, v in params.items()))
    return Prediction(name, float(value), expression, valid_when, reference, module, frozen)


def _thaw(v):
    return tuple(_thaw(x) for x in v) if isinstance(v, list) else v


def verify_refs(records: list[dict], exponents_of: Callable[[str], Callable[..., dict[str, Any]]]) -> None:
    """Raise ``AssertionError`` unless each record's ``theory`` equals its ``theory_ref``.

    Args:
      records: summary records; those without ``theory_ref`` are skipped.
      exponents_of: maps a theory module name to its ``exponents`` function.
    """
    for r in records:
        ref = r.get("theory_ref")
        if ref is None:
            continue
        fn = exponents_of(ref["module"])
        params = {k: _thaw(v) for k, v in ref["params"].items()}
        want = fn(**params)[ref["name"]].value
        got = r["theory"]
        same = (math.isnan(want) and (got is None or math.isnan(got))) or want == got
        if not same:
            raise AssertionError(
                f"record {r['quantity']!r}: theory {got!r} is not what {ref['module']}.exponents"
                f"(**{ref['params']})[{ref['name']!r}] returns ({want!r})"
            )
