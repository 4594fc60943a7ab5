"""Reading (N, D, L) tables for the fitters: CSV files or toy-model run directories.

Every problem with the input becomes a one-line ``ValueError`` naming the file, column and
row, so the CLI can print it without a traceback: missing file or column, non-numeric cell,
NaN/inf, non-positive N/D/L/C, ragged rows, empty table. A ``C`` column with either ``N`` or
``D`` is enough: the other follows from C = 6 N D (Kaplan et al. 2020, Sec. 2.1).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

__all__ = ["read_ndl", "read_csv_columns", "read_run_dir"]


def _num(value, col, row, path):
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{path}: column {col!r} row {row}: not a number: {value!r}") from None
    if not math.isfinite(x):
        raise ValueError(f"{path}: column {col!r} row {row}: value is {value!r} (NaN/inf)")
    if x <= 0:
        raise ValueError(f"{path}: column {col!r} row {row}: must be > 0, got {value!r}")
    return x


def read_csv_columns(path, wanted: dict[str, str | None]) -> dict[str, np.ndarray | None]:
    """Read numeric columns from a CSV file (header row first).

    Args:
      path: the CSV file (UTF-8).
      wanted: role -> header name (or None); a name absent from the header gives None.

    Returns:
      role -> float64 array (or None), plus ``"_header"``: the header names.

    Raises:
      ValueError: naming file, column and row of the first problem.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ValueError(f"{path}: is a directory") from None
    except (UnicodeDecodeError, OSError) as exc:
        raise ValueError(f"{path}: cannot read as UTF-8 text ({type(exc).__name__})") from None
    if "\x00" in text:
        raise ValueError(f"{path}: contains NUL bytes; not a text CSV")
    try:
        rows = list(csv.reader(text.splitlines()))
    except csv.Error as exc:
        raise ValueError(f"{path}: malformed CSV ({exc})") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise ValueError(f"{path}: empty file (no header)")
    header = [h.strip() for h in rows[0]]
    body = rows[1:]
    out = {}
    for role, col in wanted.items():
        if col is None:
            out[role] = None
            continue
        if col not in header:
            out[role] = None
            continue
        j = header.index(col)
        vals = []
        for i, r in enumerate(body, start=2):
            if j >= len(r):
                raise ValueError(f"{path}: row {i} has {len(r)} fields, header has {len(header)}")
            vals.append(_num(r[j].strip(), col, i, path))
        out[role] = np.array(vals, dtype=np.float64)
    out["_header"] = header
    return out


def read_run_dir(path, cols: dict[str, str | None]) -> dict[str, np.ndarray | None]:
    """Read columns from an experiment's run directories, one row per run.

    A row holds the numeric scalars of ``config.json`` and ``metrics.json`` (metrics override
    config); the store's nested ``config["settings"]`` and ``config["point"]`` scalars are
    flattened (point fields override settings). Columns are looked up by name like CSV headers.

    Args:
      path: an experiment output directory (its ``runs/`` is used) or a folder of run
        directories.
      cols: role -> field name (or None).

    Returns:
      role -> float64 array (or None when no run has the field), plus ``"_header"``.

    Raises:
      ValueError: no run directories, invalid JSON, a run missing a field, a bad value.
    """
    p = Path(path)
    if (p / "runs").is_dir():
        p = p / "runs"
    records = []
    runs = sorted(q for q in p.iterdir()
                  if q.is_dir() and not q.name.startswith(".") and (q / "config.json").exists())
    for q in runs:
        rec = {}
        for name in ("config.json", "metrics.json"):
            f = q / name
            if f.exists():
                try:
                    data = json.loads(f.read_text())
                except (json.JSONDecodeError, UnicodeDecodeError):
                    raise ValueError(f"{f}: not valid JSON") from None
                if isinstance(data, dict):
                    for part in (data.get("settings"), data.get("point"), data):
                        if isinstance(part, dict):
                            rec.update({k: v for k, v in part.items()
                                        if isinstance(v, (int, float)) and not isinstance(v, bool)})
        records.append(rec)
    if not records:
        raise ValueError(f"{path}: no run directories (subfolders with config.json) found")
    out = {}
    for role, col in cols.items():
        if col is None or not any(col in r for r in records):
            out[role] = None
            continue
        vals = []
        for i, r in enumerate(records):
            if col not in r:
                raise ValueError(f"{path}: run {runs[i].name} has no field {col!r}")
            vals.append(_num(r[col], col, runs[i].name, path))
        out[role] = np.array(vals, dtype=np.float64)
    out["_header"] = sorted(set().union(*records))
    return out


def read_ndl(path, *, n_col="N", d_col="D", l_col="L", c_col="C"):
    """Read a scaling-law table (N parameters, D tokens, L loss, C FLOP) for the fitters.

    A missing N or D is derived from C = 6 N D (Kaplan et al. 2020, Sec. 2.1).

    Args:
      path: a CSV file or an experiment output directory.
      n_col, d_col, l_col, c_col: column (field) names of N, D, L and C.

    Returns:
      ``(N, D, L, C)`` float64 arrays; ``C`` is None when absent.

    Raises:
      ValueError: a one-line message naming file, column and row.
    """
    wanted = {"N": n_col, "D": d_col, "L": l_col, "C": c_col}
    p = Path(path)
    cols = read_run_dir(p, wanted) if p.is_dir() else read_csv_columns(p, wanted)
    header = cols.pop("_header")
    N, D, L, C = cols["N"], cols["D"], cols["L"], cols["C"]
    if L is None:
        raise ValueError(f"{path}: missing loss column {l_col!r} (columns: {', '.join(header)})")
    if N is None and D is None:
        raise ValueError(f"{path}: need column {n_col!r} or {d_col!r} (with {c_col!r}); "
                         f"columns: {', '.join(header)}")
    if N is None or D is None:
        if C is None:
            missing = n_col if N is None else d_col
            raise ValueError(f"{path}: missing column {missing!r}; give it or a compute "
                             f"column {c_col!r} (C = 6 N D)")
        N = C / (6.0 * D) if N is None else N
        D = C / (6.0 * N) if D is None else D
    if len(L) == 0:
        raise ValueError(f"{path}: no data rows")
    return N, D, L, C
