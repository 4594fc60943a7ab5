"""Run store: one directory per sweep point, written atomically, resumable, no pickle.

Layout of an experiment's output directory::

    OUT/
      experiment.json          name, settings, scalesim version
      runs/<config_id>/        one per sweep point (appears atomically, complete or not at all)
        config.json            the point's config
        metrics.json           scalar results (JSON)
        arrays.npz             arrays, loaded with allow_pickle=False
      summary.json             measured-vs-theory records
      figure.png, figure.pdf

A point's directory is assembled under ``runs/.tmp-<id>-<host>-<pid>-*`` and renamed into
place, so a sweep killed at any moment (even SIGKILL) leaves only complete points; re-running
skips them. Several processes may write one store at once (sweep points spread over workers,
or the same command started twice): a point that lands twice keeps the first copy, and
:func:`clean_partial` removes only partial directories whose writer is provably gone (a dead
process on this host, or no change for ``STALE_SECONDS`` when written from another host).
"""

from __future__ import annotations

import errno
import io
import json
import math
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = [
    "Run",
    "jsonable",
    "atomic_write_bytes",
    "write_json",
    "read_json",
    "save_run",
    "load_run",
    "load_runs",
    "is_done",
    "run_dir",
    "load_summary",
    "clean_partial",
    "STALE_SECONDS",
]

STALE_SECONDS = 3600.0  # a partial directory from another host untouched this long is abandoned


class Run(NamedTuple):
    config: dict
    metrics: dict
    arrays: dict
    path: Path


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file in the same directory + ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def jsonable(x):
    """The one JSON sanitizer: plain Python containers and scalars that ``json.dumps`` accepts.

    Dict keys become strings, tuples lists, NumPy/JAX arrays and scalars Python values; NaN
    becomes ``None`` (JSON ``null``) and ``+-inf`` the strings ``"inf"``/``"-inf"``, so the
    output is strict JSON (``allow_nan=False`` holds).

    Args:
      x: a nested structure of dicts, lists, tuples, numbers, arrays and strings.

    Returns:
      The sanitized structure (new containers; leaves that need no change are returned as is).
    """
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, (np.ndarray, np.generic)):
        return jsonable(x.tolist())
    if isinstance(x, float) and not math.isfinite(x):
        return None if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if hasattr(x, "__array__"):
        return jsonable(np.asarray(x).tolist())
    return x


def write_json(path, obj) -> None:
    """Atomically write ``obj`` as indented JSON (NaN -> null, inf -> "inf")."""
    atomic_write_bytes(path, (json.dumps(jsonable(obj), indent=2, sort_keys=True) + "\n").encode())


def read_json(path):
    """Parse the JSON file at ``path``."""
    with open(path) as f:
        return json.load(f)


def _npz_bytes(arrays: dict) -> bytes:
    buf = io.BytesIO()
    clean = {}
    for k, v in arrays.items():
        a = np.asarray(v)
        if a.dtype == object:
            raise ValueError(f"array {k!r} has dtype object; only numeric/bool/str arrays are stored")
        clean[k] = a
    np.savez(buf, **clean)
    return buf.getvalue()


def run_dir(out_dir, point_id: str) -> Path:
    """The run directory ``OUT/runs/<point_id>`` of a sweep point."""
    return Path(out_dir) / "runs" / point_id


def is_done(path) -> bool:
    """A point is done iff its directory exists (it only ever appears complete)."""
    return (Path(path) / "config.json").is_file()


def _host() -> str:
    return "".join(c if c.isalnum() else "_" for c in socket.gethostname())[:40] or "host"


def save_run(path, config: dict, metrics: dict, arrays: dict) -> Path:
    """Atomically create the run directory ``path`` with config, metrics and arrays.

    The files are written to a private ``.tmp-<id>-<host>-<pid>-*`` directory beside ``path``
    and renamed into place. When another process landed the same point first, its copy is
    kept and this one discarded (both hold the same results: a point's id fixes its inputs).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{path.name}-{_host()}-{os.getpid()}-", dir=path.parent))
    try:
        for name, data in (
            ("arrays.npz", _npz_bytes(arrays)),
            ("metrics.json", (json.dumps(jsonable(metrics), indent=2, sort_keys=True) + "\n").encode()),
            ("config.json", (json.dumps(jsonable(config), indent=2, sort_keys=True) + "\n").encode()),
        ):
            with open(tmp / name, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        _fsync_dir(tmp)
        try:
            os.rename(tmp, path)
        except OSError as e:  # a twin (same id) landed first: keep it
            if e.errno not in (errno.EEXIST, errno.ENOTEMPTY) or not is_done(path):
                raise
            shutil.rmtree(tmp, ignore_errors=True)
            return path
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(path.parent)
    return path


def load_run(path) -> Run:
    """Load one finished run directory (config, metrics, arrays without pickle)."""
    path = Path(path)
    with np.load(path / "arrays.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return Run(read_json(path / "config.json"), read_json(path / "metrics.json"), arrays, path)


def load_runs(out_dir) -> list[Run]:
    """All finished points under ``OUT/runs``, in the order of their ``config['index']`` (if any)."""
    root = Path(out_dir) / "runs"
    if not root.is_dir():
        return []
    runs = [load_run(p) for p in sorted(root.iterdir()) if not p.name.startswith(".") and is_done(p)]
    return sorted(runs, key=lambda r: (r.config.get("_index", 0), str(r.path)))


def load_summary(out_dir) -> list[dict]:
    """The measured-vs-theory records of ``OUT/summary.json``."""
    return read_json(Path(out_dir) / "summary.json")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _is_stale(p: Path, now: float) -> bool:
    """Whether the partial directory ``p`` was abandoned by its writer."""
    parts = p.name.split("-")  # .tmp-<id>-<host>-<pid>-<random>
    try:
        age = now - p.stat().st_mtime
    except OSError:
        return False
    if len(parts) >= 5 and parts[-3] == _host() and parts[-2].isdigit():
        return not _pid_alive(int(parts[-2])) or age > STALE_SECONDS
    return age > STALE_SECONDS


def clean_partial(out_dir) -> int:
    """Remove abandoned ``.tmp-*`` directories of interrupted writers; returns how many.

    Only directories whose writer is provably gone are removed: written by a process of this
    host that no longer runs, or untouched for :data:`STALE_SECONDS` (another host's writer,
    or a directory of an older scalesim). Another process's in-flight point is never touched.
    """
    root = Path(out_dir) / "runs"
    n = 0
    if root.is_dir():
        now = time.time()
        for p in root.iterdir():
            if p.name.startswith(".tmp-") and _is_stale(p, now):
                shutil.rmtree(p, ignore_errors=True)
                n += 1
    return n
