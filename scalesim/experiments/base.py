"""The experiment contract and the runner that every ``scalesim run NAME`` goes through.

An :class:`Experiment` is a plain record of functions, registered in the dict
``scalesim.experiments.REGISTRY``. The runner turns its settings into a sweep of point
configs, trains each point of its share that has no finished run directory yet, saves it
atomically, then, once every point of the sweep is in the store, summarises
(``summary.json``), plots (``figure.png``/``figure.pdf``) and prints the measured-vs-theory
table. :func:`report` redoes the last three from the store alone.

Sweep points can be spread over processes (:mod:`scalesim.workers`): each worker runs its
share into the same store; the run that finds every point present writes the summary.

Execution settings change how a sweep runs, never what it computes, so they are not part of
the experiment's settings or of any point id: ``max_members`` (members per compiled call,
:func:`scalesim.engine.member_chunking`), given as ``--set max_members=K|auto``, and
``preflight`` (``--set preflight=off`` skips the memory and FLOP estimate of
:mod:`scalesim.preflight` that every point passes before the sweep starts).
"""

from __future__ import annotations

import dataclasses
import io
import sys
import time
from pathlib import Path
from typing import Any, Callable

from .. import __version__
from ..config import from_dict, replace_from_strings, stable_id, to_dict
from ..fit.records import format_table
from ..prediction import verify_refs
from ..engine import check_max_members, member_chunking
from ..memory import free_bytes
from ..preflight import check_point, check_preflight
from ..store import (
    DamagedRun,
    Run,
    atomic_write_bytes,
    clean_partial,
    load_run,
    point_state,
    quarantine,
    read_json,
    run_dir,
    save_run,
    write_json,
)
from ..workers import Worker

__all__ = [
    "Experiment",
    "run_experiment",
    "report",
    "status",
    "SweepStatus",
    "point_id",
    "default_out_dir",
    "Progress",
    "check_theory_refs",
    "StoredResults",
    "load_results",
    "EXECUTION_SETTINGS",
]

EXECUTION_SETTINGS = {"max_members": check_max_members, "preflight": check_preflight}  # name -> parser; not in point ids


@dataclasses.dataclass(frozen=True)
class Experiment:
    """A named experiment.

    - ``settings(quick) -> frozen dataclass`` of knobs (overridable by ``--set key=value``)
    - ``sweep(settings) -> list`` of frozen point configs (one run directory each)
    - ``run_point(point, settings) -> (metrics: dict, arrays: dict)``
    - ``summarize(runs, settings) -> list[dict]`` of :func:`scalesim.fit.records.comparison` records
    - ``plot(runs, settings, records) -> matplotlib Figure`` (``records`` is what ``summarize``
      returned; a plot never summarizes again)
    - ``theory``: the theory modules whose ``exponents`` the records' ``theory_ref`` name
    - ``papers``: citation keys of the papers behind the experiment (:func:`scalesim.citation`)
    - ``cost(point, settings) -> Cost``: closed-form estimate of a point's memory and FLOPs
      (:mod:`scalesim.preflight`), checked for every point before anything runs
    """

    name: str
    description: str
    settings: Callable[[bool], Any]
    sweep: Callable[[Any], list]
    run_point: Callable[[Any, Any], tuple]
    summarize: Callable[[list, Any], list]
    plot: Callable[[list, Any, list], Any]
    theory: tuple = ()
    papers: tuple = ()
    cost: Callable[[Any, Any], Any] | None = None


def point_id(point, settings) -> str:
    """Stable id of a sweep point: :func:`~scalesim.config.stable_id` of the point config *and*
    the settings it ran under."""
    return stable_id(
        {"point": [type(point).__name__, to_dict(point)], "settings": [type(settings).__name__, to_dict(settings)]}
    )


def check_theory_refs(exp: Experiment, records: list[dict]) -> None:
    """Raise ``AssertionError`` unless every record's ``theory_ref`` re-evaluates to its theory.

    The referenced module must be one of ``exp.theory``: an experiment's theory column comes
    from the theory modules it declares, through their ``exponents`` function.
    """
    mods = {m.__name__: m for m in exp.theory}

    def exponents_of(name):
        if name not in mods:
            raise AssertionError(f"{exp.name}: theory_ref names {name}, not one of its theory modules {sorted(mods)}")
        return mods[name].exponents

    verify_refs(records, exponents_of)


def default_out_dir(name: str, quick: bool) -> Path:
    return Path("results") / (f"{name}-quick" if quick else name)


class Progress:
    """A one-line text progress bar on stderr (no dependency; silent when ``enabled=False``)."""

    def __init__(self, total: int, label: str, enabled: bool = True, stream=None):
        self.total, self.label, self.enabled = total, label, enabled
        self.stream = stream or sys.stderr
        self.t0 = time.perf_counter()

    def update(self, done: int, note: str = "") -> None:
        if not self.enabled:
            return
        width = 24
        fill = int(width * done / max(self.total, 1))
        bar = "#" * fill + "-" * (width - fill)
        el = time.perf_counter() - self.t0
        end = "\n" if done >= self.total else ""
        self.stream.write(f"\r{self.label} [{bar}] {done}/{self.total} {el:6.1f}s {note[:40]:<40}{end}")
        self.stream.flush()


def _point_label(point) -> str:
    return " ".join(f"{k}={v}" if not isinstance(v, list) else f"{k}={','.join(map(str, v))}"
                    for k, v in to_dict(point).items() if not isinstance(v, dict))


def _load_sweep_runs(out: Path, exp: Experiment, settings) -> tuple[list[Run], int, list[str]]:
    """``(runs, number missing, damaged)`` of the sweep; ``damaged`` holds one line per
    point that fails verification (see :func:`scalesim.store.check_run`)."""
    runs, missing, damaged = [], 0, []
    for p in exp.sweep(settings):
        d = run_dir(out, point_id(p, settings))
        if not d.is_dir():
            missing += 1
            continue
        try:
            runs.append(load_run(d))
        except DamagedRun as e:
            damaged.append(f"{d.name} ({e.reason})")
    return runs, missing, damaged


def _damage_error(out: Path, exp: Experiment, quick: bool, damaged: list[str]) -> ValueError:
    return ValueError(
        f"{out}: {len(damaged)} damaged point(s): {'; '.join(damaged[:5])}{' ...' if len(damaged) > 5 else ''}; "
        f"`scalesim run {exp.name}{' --quick' if quick else ''} --out {out}` moves them aside and recomputes them"
    )


def _save_figure(fig, out: Path) -> None:
    import matplotlib.pyplot as plt

    for ext in ("png", "pdf"):
        buf = io.BytesIO()
        fig.savefig(buf, dpi=130, bbox_inches="tight", format=ext)
        atomic_write_bytes(out / f"figure.{ext}", buf.getvalue())  # unique temp name + os.replace
    plt.close(fig)


def _finish(exp: Experiment, out: Path, settings, runs: list[Run], stream, read_only_ok: bool = False) -> list[dict]:
    """Summarise, check theory refs, write ``summary.json`` and the figure, print the table.

    With ``read_only_ok`` (``report``), a store that cannot be written (read-only) still prints
    its table; the files already there are left as they are."""
    records = exp.summarize(runs, settings)
    check_theory_refs(exp, records)
    try:
        write_json(out / "summary.json", records)
        fig = exp.plot(runs, settings, records)
        if fig is not None:
            _save_figure(fig, out)
    except PermissionError as e:
        if not read_only_ok:
            raise
        import matplotlib.pyplot as plt

        plt.close("all")
        sys.stderr.write(f"{exp.name}: {out} is read-only ({e.strerror}); summary.json and the figure were not "
                         f"rewritten\n")
    if stream is not None:
        stream.write(f"\n{exp.name}: measured vs theory ({out / 'summary.json'})\n")
        stream.write(format_table(records) + "\n")
    return records


def _split_overrides(overrides: dict | None) -> tuple[dict, dict]:
    """``(settings overrides, execution settings)`` of the ``--set`` pairs."""
    plain, execution = {}, {}
    for key, text in (overrides or {}).items():
        if key in EXECUTION_SETTINGS:
            execution[key] = EXECUTION_SETTINGS[key](text)
        else:
            plain[key] = text
    return plain, execution


def _preflight(exp: Experiment, points: list, settings, execution: dict):
    """Check every point of this run's share against memory and the FLOP limit before any work.

    Returns the ``max_members`` to run with (``"auto"`` when only chunked ensembles fit)."""
    max_members = execution.get("max_members")
    if exp.cost is None or not execution.get("preflight", True) or not points:
        return max_members
    available = free_bytes().bytes
    chosen = max_members
    for p in points:
        got = check_point(exp.cost(p, settings), f"{exp.name} point {_point_label(p) or type(p).__name__}",
                          available, max_members)
        chosen = got if got == "auto" else chosen
    if chosen != max_members:
        sys.stderr.write(f"{exp.name}: an ensemble does not fit in memory at once; training members in chunks "
                         f"(max_members=auto; results are bit-identical on CPU)\n")
    return chosen


def run_experiment(
    exp: Experiment,
    out_dir=None,
    *,
    quick: bool = True,
    overrides: dict | None = None,
    progress: bool = True,
    stream=None,
    worker: Worker | None = None,
) -> list[dict] | None:
    """Run (or resume) ``exp`` into ``out_dir``; returns the summary records.

    Finished points are skipped, so an interrupted sweep resumes where it stopped and ends
    with the same results as an uninterrupted one. Setting errors raise ``ValueError``
    before anything is trained or written.

    Args:
      exp: the experiment.
      out_dir: the run store (default ``results/NAME[-quick]``).
      quick: the quick settings (else the full ones).
      overrides: ``{"setting": "text"}`` from ``--set``; ``max_members`` is an execution
        setting (members per compiled call; ``"auto"`` sizes chunks from device memory).
      progress: draw the progress bar on stderr.
      stream: where the table goes (default stdout; ``None`` in :func:`load_results`).
      worker: this process's share of the sweep (:class:`scalesim.workers.Worker`; default
        the whole sweep).

    Returns:
      The summary records, or ``None`` when this worker's share is done but other points of
      the sweep are not yet in the store (the last worker to finish writes the summary).
    """
    plain, execution = _split_overrides(overrides)
    settings = exp.settings(quick)
    if plain:
        settings = replace_from_strings(settings, plain)
    points = exp.sweep(settings)
    worker = Worker() if worker is None else worker
    if out_dir is not None and str(out_dir).strip() == "":
        raise ValueError("--out must name a directory; got an empty path")
    out = Path(out_dir) if out_dir is not None else default_out_dir(exp.name, quick)
    share = worker.share(len(points))
    max_members = _preflight(exp, [points[i] for i in share], settings, execution)
    out.mkdir(parents=True, exist_ok=True)
    clean_partial(out)
    write_json(
        out / "experiment.json",
        {"name": exp.name, "quick": quick, "settings": to_dict(settings), "scalesim_version": __version__},
    )
    label = exp.name if worker.count == 1 else f"{exp.name} [worker {worker}]"
    bar = Progress(len(share), label, enabled=progress)
    with member_chunking(max_members):
        for done, i in enumerate(share):
            p = points[i]
            d = run_dir(out, point_id(p, settings))
            bar.update(done, _point_label(p))
            state, reason = point_state(d)
            if state == "damaged":
                moved = quarantine(d)
                sys.stderr.write(f"\n{exp.name}: point {d.name} is damaged ({reason}); moved to {moved.name}, recomputing\n")
            elif state != "missing":
                continue
            metrics, arrays = exp.run_point(p, settings)
            config = {"experiment": exp.name, "point": to_dict(p), "settings": to_dict(settings), "_index": i}
            save_run(d, config, metrics, arrays)
    bar.update(len(share), "done")
    out_stream = sys.stdout if stream is None else stream
    runs, missing, damaged = _load_sweep_runs(out, exp, settings)
    if damaged and worker.count == 1:  # damaged after this run checked them: refuse, never use
        raise _damage_error(out, exp, quick, damaged)
    if missing or damaged:
        if out_stream is not None:
            out_stream.write(
                f"{exp.name}: worker {worker} ran its {len(share)} point(s); {missing + len(damaged)} of "
                f"{len(points)} sweep point(s) remain for other workers{f' ({len(damaged)} damaged)' if damaged else ''} "
                f"(`scalesim status {out}`). The last worker to finish writes summary.json; "
                f"`scalesim report {out}` also does once all are present.\n"
            )
        return None
    return _finish(exp, out, settings, runs, out_stream)


@dataclasses.dataclass(frozen=True)
class StoredResults:
    """A finished experiment read back from the run store (see :func:`load_results`)."""

    experiment: Experiment
    settings: Any
    runs: list
    records: list
    out: Path


def load_results(exp: Experiment, results=None, *, quick: bool | None = True,
                 run_missing: bool = False) -> StoredResults:
    """Read an experiment's runs and ``summary.json`` from the store, without retraining.

    Args:
      exp: the registered experiment (``scalesim.registry.experiment(name)``).
      results: the results root (default ``results``); the run directory is
        ``results/NAME`` or ``results/NAME-quick``.
      quick: read the quick run (``NAME-quick``) or the full one (``NAME``); ``None`` reads the
        full run when a finished one is stored and the quick run otherwise.
      run_missing: when the store lacks the quick run it reads, run it instead of raising (full
        runs are never started here).

    Returns:
      :class:`StoredResults` with the settings the run used (from ``experiment.json``), its
      runs (in sweep order) and its summary records.

    Raises:
      FileNotFoundError: the run is missing or unfinished (and ``run_missing`` is off).
    """
    root = Path("results") if results is None else Path(results)
    if quick is None:
        quick = not (root / exp.name / "summary.json").is_file()
    out = root / (f"{exp.name}-quick" if quick else exp.name)
    meta = out / "experiment.json"
    if not (out / "summary.json").is_file() or not meta.is_file():
        if not (run_missing and quick):
            raise FileNotFoundError(f"{out}: no finished run; run `scalesim run {exp.name}{' --quick' if quick else ''} --out {out}`")
        run_experiment(exp, out, quick=True, progress=False, stream=None)
    _, settings, _ = _open_store(out, {exp.name: exp})
    runs, missing, damaged = _load_sweep_runs(out, exp, settings)
    if missing:
        raise FileNotFoundError(f"{out}: {missing} sweep point(s) not finished; resume with `scalesim run {exp.name}`")
    if damaged:
        raise _damage_error(out, exp, quick, damaged)
    return StoredResults(exp, settings, runs, read_json(out / "summary.json"), out)


def _open_store(out_dir, registry: dict):
    """``(exp, settings, quick)`` of a run store, from its ``experiment.json``."""
    out = Path(out_dir)
    meta_path = out / "experiment.json"
    if not meta_path.is_file():
        raise ValueError(f"{out} is not a scalesim run directory (no experiment.json)")
    try:
        meta = read_json(meta_path)
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{meta_path} is not valid JSON ({e}); the store is damaged") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or meta["name"] not in registry:
        name = meta.get("name") if isinstance(meta, dict) else meta
        raise ValueError(f"{meta_path}: unknown experiment {str(name)[:80]!r}")
    exp = registry[meta["name"]]
    quick, stored = meta.get("quick", True), meta.get("settings")
    if not isinstance(quick, bool) or not isinstance(stored, dict):
        raise ValueError(f"{meta_path} is malformed (needs 'quick': true/false and a 'settings' object); the store "
                         f"is damaged")
    try:
        settings = from_dict(type(exp.settings(quick)), stored)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{meta_path}: invalid settings ({' '.join(str(e).split())}); the store is damaged") from None
    return exp, settings, quick


def report(out_dir, registry: dict, stream=None) -> list[dict]:
    """Redraw the figure and table of a finished run directory from the store alone."""
    out = Path(out_dir)
    exp, settings, quick = _open_store(out, registry)
    runs, missing, damaged = _load_sweep_runs(out, exp, settings)
    if damaged:
        raise _damage_error(out, exp, quick, damaged)
    if missing:
        raise ValueError(
            f"{out}: {missing} sweep point(s) not finished (`scalesim status {out}` lists them); resume with "
            f"`scalesim run {exp.name}{' --quick' if quick else ''} --out {out}`"
        )
    return _finish(exp, out, settings, runs, sys.stdout if stream is None else stream, read_only_ok=True)


@dataclasses.dataclass(frozen=True)
class SweepStatus:
    """Which points of a stored sweep are done (see :func:`status`).

    Attributes:
      name: the experiment. total: number of sweep points. done: how many are in the store and
      intact (``unverified`` of them predate manifests). pending: ``(sweep index, point id,
      label)`` of each missing point. damaged: ``(sweep index, point id, reason)`` of each point
      that fails verification. summary: whether ``summary.json`` exists.
    """

    name: str
    total: int
    done: int
    pending: tuple
    damaged: tuple
    unverified: int
    summary: bool


def status(out_dir, registry: dict) -> SweepStatus:
    """Done, pending and damaged points of the run store ``out_dir`` (nothing is run or written).

    Args:
      out_dir: a run store written by :func:`run_experiment`.
      registry: name -> :class:`Experiment`.

    Returns:
      :class:`SweepStatus`.
    """
    out = Path(out_dir)
    exp, settings, _ = _open_store(out, registry)
    points = exp.sweep(settings)
    pending, damaged, unverified = [], [], 0
    for i, p in enumerate(points):
        pid = point_id(p, settings)
        state, reason = point_state(run_dir(out, pid))
        if state == "missing":
            pending.append((i, pid, _point_label(p)))
        elif state == "damaged":
            damaged.append((i, pid, reason))
        unverified += state == "unverified"
    done = len(points) - len(pending) - len(damaged)
    return SweepStatus(exp.name, len(points), done, tuple(pending), tuple(damaged), unverified,
                       (out / "summary.json").is_file())
