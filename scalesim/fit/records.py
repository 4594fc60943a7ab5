"""Measured-vs-theory comparison records, the rows of every ``summary.json``."""

from __future__ import annotations

import math

__all__ = ["comparison", "diverged_note", "format_table"]


def comparison(quantity: str, measured, ci, theory, *, tol: float = 0.0, **extra) -> dict:
    """One measured-vs-theory record, a row of ``summary.json``.

    ``agrees`` is true when ``theory`` lies in ``[lo - tol, hi + tol]``: the confidence
    interval widened by a stated systematic tolerance. A NaN measurement never agrees.

    Args:
      quantity: name of the measured quantity (e.g. an exponent).
      measured: the measured value.
      ci: ``(lo, hi)`` confidence interval, or None for a zero-width interval at ``measured``.
      theory: a number, or a :class:`scalesim.prediction.Prediction`; a prediction adds its
        provenance to the record as ``theory_ref`` (checked against the theory module when the
        summary is written).
      tol: systematic tolerance added on both sides of the interval (recorded when non-zero).
      **extra: further JSON-ready fields of the record.

    Returns:
      ``{"quantity", "measured", "ci": [lo, hi], "theory", "agrees", ["tol"], ["theory_ref"],
      **extra}``.
    """
    ref = theory.ref() if hasattr(theory, "ref") else None
    if ref is not None:
        theory = theory.value
    lo, hi = (float(ci[0]), float(ci[1])) if ci is not None else (float(measured), float(measured))
    m, t = float(measured), float(theory)
    ok = all(math.isfinite(v) for v in (m, t, lo, hi)) and (lo - tol) <= t <= (hi + tol)
    rec = {"quantity": quantity, "measured": m, "ci": [lo, hi], "theory": t, "agrees": bool(ok)}
    if tol:
        rec["tol"] = float(tol)
    if ref is not None:
        rec["theory_ref"] = ref
    rec.update(extra)
    return rec


def diverged_note(n_bad: int, n_total: int, need: int = 1, unit: str = "members") -> str:
    """The ``note`` of a record left without an estimate because members diverged.

    Such a record is still emitted, with ``measured`` and ``ci`` NaN (``agrees`` is then false,
    see :func:`comparison`), so that a cell never silently disappears from ``summary.json``.

    Args:
      n_bad: diverged (non-finite) members of the record's cell.
      n_total: members of the cell.
      need: finite members the estimate needs.
      unit: what is counted (``"members"``, ``"seeds"``, ``"grid points"``).

    Returns:
      e.g. ``"all 4 members diverged (non-finite loss or params): no estimate"``.
    """
    n_bad, n_total = int(n_bad), int(n_total)
    if n_bad >= n_total:
        return f"all {n_total} {unit} diverged (non-finite loss or params): no estimate"
    return (f"{n_bad} of {n_total} {unit} diverged (non-finite loss or params); {n_total - n_bad} finite, "
            f"{int(need)} needed: no estimate")


def _num(x) -> str:
    return "n/a" if x is None or x != x else f"{x:.4g}"


def format_table(records: list[dict], *, markdown: bool = False) -> str:
    """Table of records, plain text or Markdown.

    Args:
      records: :func:`comparison` records (``measured``/``ci`` may be ``None`` or NaN when no
        estimate exists; they print as ``n/a``).
      markdown: a GitHub-flavoured Markdown table instead of aligned plain-text columns.

    Returns:
      Columns quantity, measured, 95% CI, theory, agrees (``NO`` marks disagreement).
    """
    rows = [("quantity", "measured", "95% CI", "theory", "agrees")]
    for r in records:
        lo, hi = r["ci"] if r.get("ci") is not None else (None, None)
        rows.append((str(r["quantity"]), _num(r["measured"]), f"[{_num(lo)}, {_num(hi)}]", _num(r["theory"]),
                     "yes" if r["agrees"] else "NO"))
    if markdown:
        esc = [tuple(c.replace("|", "\\|") for c in row) for row in rows]
        lines = ["| " + " | ".join(row) + " |" for row in esc]
        lines.insert(1, "|" + "---|" * 5)
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
