"""Run store: one directory per sweep point, written atomically, resumable, no pickle.

Layout of an experiment's output directory::

    OUT/
      experiment.json          name, settings, scalesim version
      runs/<config_id>/        one per sweep point (appears atomically, complete or not at all)
        config.json            the point's config
        metrics.json           scalar results (JSON)
        arrays.npz             arrays, loaded with allow_pickle=False
        manifest.json          size and sha256 of each file above (written last)
      summary.json             measured-vs-theory records
      figure.png, figure.pdf

A point's directory is assembled under ``runs/.tmp-<id>-<host>-<pid>-*`` and renamed into
place, so a sweep killed at any moment (even SIGKILL) leaves only complete points; re-running
skips them. Several processes may write one store at once (sweep points spread over workers,
or the same command started twice): a point that lands twice keeps the first copy, and
:func:`clean_partial` removes only partial directories whose writer is provably gone (a dead
process on this host, or no change for ``STALE_SECONDS`` when written from another host).

Integrity: :func:`load_run` verifies every file against ``manifest.json`` and raises
:class:`DamagedRun` naming the point and the fault (a missing, truncated or altered file).
:func:`quarantine` moves a damaged point aside (``runs/.damaged-<id>-<time>``, never deleted) so
that the next run recomputes it. Points written before manifests existed have none; they load
unverified (:func:`point_state` reports them as ``"unverified"``).
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import math
import os
import shutil
import socket
import tempfile
import time
import zipfile
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
    "DamagedRun",
    "check_run",
    "point_state",
    "quarantine",
    "MANIFEST",
]

MANIFEST = "manifest.json"
_FILES = ("arrays.npz", "metrics.json", "config.json")

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
    """A point has landed iff its directory exists (it only ever appears complete); whether it
    is intact is :func:`check_run`'s question."""
    return Path(path).is_dir()


class DamagedRun(ValueError):
    """A run directory that fails verification against its manifest."""

    def __init__(self, path, reason: str):
        self.path, self.reason = Path(path), reason
        super().__init__(f"damaged run {self.path.name}: {reason}")


def _digest(data: bytes) -> dict:
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def check_run(path) -> str | None:
    """Why the run directory ``path`` is damaged, or ``None`` when it is intact.

    Args:
      path: a point's run directory.

    Returns:
      ``None`` (every file matches ``manifest.json``; or no manifest but all files present, a
      point written before manifests), else a one-line reason.
    """
    path = Path(path)
    present = {n for n in _FILES if (path / n).is_file()}
    if not (path / MANIFEST).is_file():
        lost = [n for n in _FILES if n not in present]
        if lost:
            return f"missing {', '.join(lost)}"
        try:  # written with a manifest (its config says so) that has since been deleted
            lost_manifest = "_manifest" in json.loads((path / "config.json").read_bytes())
        except (OSError, ValueError):
            return "config.json is unreadable"
        return f"missing {MANIFEST}" if lost_manifest else None
    try:
        manifest = json.loads((path / MANIFEST).read_bytes())
        files = manifest["files"]
        assert isinstance(files, dict) and set(files) >= set(_FILES)
    except (OSError, ValueError, KeyError, TypeError, AssertionError):
        return f"{MANIFEST} is unreadable"
    for name in _FILES:
        if name not in present:
            return f"missing {name}"
        try:
            got = _digest((path / name).read_bytes())
        except OSError as e:
            return f"cannot read {name}: {e.strerror or e}"
        want = files[name]
        if not isinstance(want, dict) or got["bytes"] != want.get("bytes"):
            return f"{name} has {got['bytes']} bytes; the manifest says {want.get('bytes') if isinstance(want, dict) else '?'}"
        if got["sha256"] != want.get("sha256"):
            return f"{name} does not match its checksum (altered)"
    return None


def point_state(path) -> tuple[str, str | None]:
    """``(state, reason)`` of a point directory: ``"missing"``, ``"done"``, ``"unverified"``
    (written before manifests; loads without checks) or ``"damaged"`` (with the reason)."""
    path = Path(path)
    if not path.is_dir():
        return "missing", None
    reason = check_run(path)
    if reason is not None:
        return "damaged", reason
    return ("done" if (path / MANIFEST).is_file() else "unverified"), None


def quarantine(path) -> Path:
    """Move a damaged point directory aside (``.damaged-<id>-<time>``) and return the new path;
    nothing is deleted, and the point counts as missing, so the next run recomputes it."""
    path = Path(path)
    dest = path.with_name(f".damaged-{path.name}-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}")
    os.rename(path, dest)
    return dest


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
        files = {
            "arrays.npz": _npz_bytes(arrays),
            "metrics.json": (json.dumps(jsonable(metrics), indent=2, sort_keys=True) + "\n").encode(),
            "config.json": (json.dumps(jsonable({**config, "_manifest": MANIFEST}), indent=2, sort_keys=True) + "\n").encode(),
        }
        manifest = {"format": 1, "files": {n: _digest(d) for n, d in files.items()}}
        files[MANIFEST] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()  # last
        for name, data in files.items():
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


def load_run(path, verify: bool = True) -> Run:
    """Load one finished run directory (config, metrics, arrays without pickle).

    Args:
      path: the point's run directory.
      verify: check every file against ``manifest.json`` first (:func:`check_run`).

    Returns:
      :class:`Run`.

    Raises:
      DamagedRun: the directory fails verification (or a file cannot be parsed).
    """
    path = Path(path)
    if verify:
        reason = check_run(path)
        if reason is not None:
            raise DamagedRun(path, reason)
    try:
        return _read_run(path)
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as e:  # e.g. an unverified legacy point
        raise DamagedRun(path, f"unreadable: {' '.join(str(e).split())[:200]}") from None


def _read_run(path: Path) -> Run:
    with np.load(path / "arrays.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return Run(read_json(path / "config.json"), read_json(path / "metrics.json"), arrays, path)


_RUN_FILES = ("config.json", "metrics.json", "arrays.npz", MANIFEST)


def load_runs(out_dir) -> list[Run]:
    """All finished points under ``OUT/runs``, in the order of their ``config['index']`` (if any).

    Directories holding none of a run's files (``config.json``, ``metrics.json``,
    ``arrays.npz``, ``manifest.json``) are not runs: they are skipped with a warning. A run
    directory that fails verification raises :class:`DamagedRun`."""
    root = Path(out_dir) / "runs"
    if not root.is_dir():
        return []
    dirs = [p for p in sorted(root.iterdir()) if not p.name.startswith(".") and p.is_dir()]
    stray = [p.name for p in dirs if not any((p / f).exists() for f in _RUN_FILES)]
    if stray:
        import warnings

        warnings.warn(f"{root}: skipping {len(stray)} director{'y' if len(stray) == 1 else 'ies'} that are not sweep "
                      f"points: {', '.join(stray[:5])}{' ...' if len(stray) > 5 else ''}", RuntimeWarning, stacklevel=2)
    runs = [load_run(p) for p in dirs if p.name not in stray]
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
