"""Reading (N, D, L) tables for the fitters: CSV files or toy-model run directories.

Every problem with the input becomes a one-line ``ValueError`` naming the file, column and
row, so the CLI can print it without a traceback. A ``C`` column with either ``N`` or ``D`` is
enough: the other follows from C = 6 N D (Kaplan et al. 2020, Sec. 2.1).

A CSV file is checked before it is parsed, and refused when:

- it is not a regular file: a FIFO, socket or device (``/dev/zero``) is never read, so it
  cannot hang or fill memory (it is opened with ``O_NONBLOCK`` and checked again by ``fstat``);
- it is larger than :data:`MAX_CSV_BYTES` (64 MiB; at most that many bytes + 1 are read);
- a line is longer than :data:`MAX_LINE_BYTES` (1 MiB);
- it is not UTF-8 text (a BOM is allowed) or contains NUL bytes;
- it has more than :data:`MAX_ROWS` (100,000) data rows, or a row whose field count differs
  from the header's;
- a header name is blank, appears twice (after stripping surrounding whitespace), or a
  requested column is ambiguous (another name differs from it only by case); two roles name
  the same column; a needed column is missing (the message lists the columns there are).

Cells are strict decimal numbers (ASCII digits, optional sign, ``.``, exponent): ``nan``,
``inf``, ``1e400`` (overflow), full-width digits (``１２``), ``1_000``, ``0x10`` and ``1+2j``
are refused, as is any value <= 0 (N, D, L and C must all be positive and finite).
Run directories are read as before; their JSON files get the same file checks and values the
same finiteness and sign checks.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import stat
from pathlib import Path

import numpy as np

from scalesim.validate import DECIMAL as _NUMBER

__all__ = ["read_ndl", "read_csv_columns", "read_run_dir"]

MAX_CSV_BYTES = 64 * 2**20  # a CSV (or run-dir JSON) file larger than this is refused unread
MAX_LINE_BYTES = 2**20      # longest line of a CSV file
MAX_ROWS = 100_000          # data rows (or run directories) per table

_NON_FINITE = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity",
               "-infinity"}


def _strict_float(text: str) -> float:
    """``text`` as a finite float, accepting only plain ASCII decimal notation.

    Raises ``ValueError`` whose message is the reason (``not a number``, ``NaN/inf``,
    ``overflows``); unlike ``float()`` it refuses ``nan``, ``inf``, ``1_000``, Unicode digits.
    """
    if not isinstance(text, str) or not _NUMBER.fullmatch(text):
        if isinstance(text, str) and text.strip().lower() in _NON_FINITE:
            raise ValueError(f"value is {text!r} (NaN/inf not allowed)")
        raise ValueError(f"not a number: {text!r} (plain decimal notation expected)")
    x = float(text)
    if not math.isfinite(x):
        raise ValueError(f"value {text!r} overflows float64 (|x| > 1.8e308)")
    return x


def _num(value, col, row, path):
    """A positive finite float from a CSV cell (str) or a JSON number (int/float)."""
    where = f"{path}: column {col!r} row {row}"
    if isinstance(value, str):
        try:
            x = _strict_float(value)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    else:
        try:
            x = float(value)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"{where}: not a finite number: {str(value)[:40]!r}") from None
        if not math.isfinite(x):
            raise ValueError(f"{where}: value is {value!r} (NaN/inf)")
    if x <= 0:
        extra = " (underflows to 0)" if x == 0 and isinstance(value, str) \
            and any(c in "123456789" for c in value.split("e")[0].split("E")[0]) else ""
        raise ValueError(f"{where}: must be > 0, got {value!r}{extra}")
    return x


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def _check_regular(path, s: os.stat_result, what: str) -> None:
    if not stat.S_ISREG(s.st_mode):
        raise ValueError(f"{path}: {_kind(s.st_mode)}, not a regular file; give a {what}")
    if s.st_size > MAX_CSV_BYTES:
        raise ValueError(f"{path}: file is {s.st_size / 2**20:.1f} MiB ({s.st_size} bytes), "
                         f"over the {MAX_CSV_BYTES // 2**20} MiB limit for a {what}")


def _read_bytes(path, what: str = "CSV file") -> bytes:
    """At most :data:`MAX_CSV_BYTES` bytes of a regular file; never blocks on a FIFO."""
    try:
        _check_regular(path, os.stat(path), what)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
                     | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot open ({exc.strerror or exc})") from None
    try:  # check the opened file again: the path may have been replaced meanwhile
        _check_regular(path, os.fstat(fd), what)
        with open(fd, "rb", closefd=False) as fh:
            data = fh.read(MAX_CSV_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if len(data) > MAX_CSV_BYTES:
        raise ValueError(f"{path}: file grew past the {MAX_CSV_BYTES // 2**20} MiB limit "
                         f"for a {what} while being read")
    return data


def _longest_line(data: bytes) -> tuple[int, int]:
    """(length, start offset) of the longest line (\\n or \\r ends a line), in 4 MiB chunks."""
    arr = np.frombuffer(data, np.uint8)
    best, start, last = 0, 0, -1  # last: offset of the previous line end
    for lo in range(0, len(arr), 4 * 2**20):
        seg = arr[lo:lo + 4 * 2**20]
        pos = np.flatnonzero((seg == 10) | (seg == 13)) + lo
        if len(pos):
            gaps = np.diff(pos, prepend=last) - 1
            j = int(np.argmax(gaps))
            if gaps[j] > best:
                best, start = int(gaps[j]), int(pos[j - 1] if j else last) + 1
            last = int(pos[-1])
    if len(arr) - last - 1 > best:
        best, start = len(arr) - last - 1, last + 1
    return best, start


def _csv_text(path) -> str:
    """The checked text of a CSV file (regular, size and line limits, UTF-8, no NUL)."""
    data = _read_bytes(path, "CSV file")
    length, start = _longest_line(data)
    if length > MAX_LINE_BYTES:
        line = data.count(b"\n", 0, start) + 1
        raise ValueError(f"{path}: line {line} has {length} bytes, "
                         f"over the limit of {MAX_LINE_BYTES} bytes (1 MiB) per line")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                         f"{exc.start})") from None
    if "\x00" in text:
        raise ValueError(f"{path}: contains NUL bytes; not a text CSV")
    return text


def _header_index(path, raw, wanted) -> dict:
    """role -> column index (None when absent), after the header checks."""
    header = [h.strip() for h in raw]
    seen = {}
    for j, h in enumerate(header):
        if not h:
            raise ValueError(f"{path}: header column {j + 1} has a blank name; every column "
                             f"needs a name (header: {', '.join(map(repr, raw))})")
        if h in seen:
            k = seen[h]
            how = (f": {raw[k]!r} and {raw[j]!r} differ only by surrounding whitespace"
                   if raw[k] != raw[j] else "")
            raise ValueError(f"{path}: duplicate column name {h!r} (columns {k + 1} and "
                             f"{j + 1}{how})")
        seen[h] = j
    for col in wanted.values():
        if col is None:
            continue
        col = col.strip()
        near = [h for h in header if h.casefold() == col.casefold()]
        if col in seen and len(near) > 1:
            raise ValueError(f"{path}: column {col!r} is ambiguous: the header also has "
                             f"{', '.join(repr(h) for h in near if h != col)} (names differ "
                             f"only by case); rename one")
    return {role: (seen.get(col.strip()) if col is not None else None)
            for role, col in wanted.items()}


def read_csv_columns(path, wanted: dict[str, str | None]) -> dict[str, np.ndarray | None]:
    """Read numeric columns from a CSV file (header row first), with the checks above.

    Args:
      path: the CSV file (UTF-8).
      wanted: role -> header name (or None); a name absent from the header gives None.

    Returns:
      role -> float64 array (or None), plus ``"_header"``: the header names.

    Raises:
      ValueError: naming file, column and row of the first problem.
    """
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"{path}: is a directory")
    reader = csv.reader(io.StringIO(_csv_text(p), newline=""))
    rows, lines = [], []
    try:
        for r in reader:
            if any(c.strip() for c in r):
                if len(rows) > MAX_ROWS:
                    raise ValueError(f"{path}: more than {MAX_ROWS} data rows (the limit)")
                rows.append(r)
                lines.append(reader.line_num)
    except csv.Error as exc:
        raise ValueError(f"{path}: malformed CSV at line {reader.line_num} ({exc})") from None
    if not rows:
        raise ValueError(f"{path}: empty file (no header)")
    header = [h.strip() for h in rows[0]]
    index = _header_index(path, rows[0], wanted)
    for r, i in zip(rows[1:], lines[1:]):
        if len(r) != len(header):
            raise ValueError(f"{path}: row {i} has {len(r)} fields, header has {len(header)}")
    out = {}
    for role, j in index.items():
        out[role] = None if j is None else np.array(
            [_num(r[j].strip(), header[j], i, path) for r, i in zip(rows[1:], lines[1:])],
            dtype=np.float64)
    out["_header"] = header
    return out


def _read_json(f):
    data = _read_bytes(f, "JSON file")
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, RecursionError, ValueError):  # JSONDecodeError is a ValueError
        raise ValueError(f"{f}: not valid JSON") from None


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
    try:
        runs = sorted(q for q in p.iterdir()
                      if q.is_dir() and not q.name.startswith(".") and (q / "config.json").exists())
    except OSError as exc:
        raise ValueError(f"{path}: cannot list ({exc.strerror or exc})") from None
    if len(runs) > MAX_ROWS:
        raise ValueError(f"{path}: {len(runs)} run directories, more than the limit of {MAX_ROWS}")
    records = []
    for q in runs:
        rec = {}
        for name in ("config.json", "metrics.json"):
            f = q / name
            if f.exists():
                data = _read_json(f)
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
      ``(N, D, L, C)`` float64 arrays (all finite and > 0); ``C`` is None when absent.

    Raises:
      ValueError: a one-line message naming file, column and row.
    """
    wanted = {"N": n_col, "D": d_col, "L": l_col, "C": c_col}
    for role, col in wanted.items():
        if col is not None and (not isinstance(col, str) or not col.strip()):
            raise ValueError(f"column name for {role}: must be a non-empty string, got {col!r}")
    named = [(role, col.strip()) for role, col in wanted.items() if col is not None]
    for i, (role, col) in enumerate(named):
        for other, col2 in named[:i]:
            if col == col2:
                raise ValueError(f"the {other} and {role} columns are both {col!r}; "
                                 f"each role needs its own column")
    p = Path(path)
    cols = read_run_dir(p, wanted) if p.is_dir() else read_csv_columns(p, wanted)
    header = cols.pop("_header")
    have = f"columns: {', '.join(header) or '(none)'}"
    N, D, L, C = cols["N"], cols["D"], cols["L"], cols["C"]
    if L is None:
        raise ValueError(f"{path}: missing loss column {l_col!r} ({have})")
    if N is None and D is None:
        raise ValueError(f"{path}: need column {n_col!r} or {d_col!r} (with {c_col!r}); {have}")
    if N is None or D is None:
        if C is None:
            missing = n_col if N is None else d_col
            raise ValueError(f"{path}: missing column {missing!r}; give it or a compute "
                             f"column {c_col!r} (C = 6 N D); {have}")
        with np.errstate(all="ignore"):
            N = C / (6.0 * D) if N is None else N
            D = C / (6.0 * N) if D is None else D
        for name, v in (("N", N), ("D", D)):
            bad = ~(np.isfinite(v) & (v > 0))
            if bad.any():
                raise ValueError(f"{path}: derived {name} = C / (6 {'D' if name == 'N' else 'N'})"
                                 f" is {v[bad][0]!r} (not finite and > 0) at data row "
                                 f"{int(np.argmax(bad)) + 1}")
    if len(L) == 0:
        raise ValueError(f"{path}: no data rows")
    return N, D, L, C
