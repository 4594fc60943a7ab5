"""The experiment contract and the runner that every ``scalesim run NAME`` goes through.

An :class:`Experiment` is a plain record of functions, registered in the dict
``scalesim.experiments.REGISTRY``. The runner turns its settings into a sweep of point
configs, trains each point that has no finished run directory yet, saves it atomically,
then summarises (``summary.json``), plots (``figure.png``/``figure.pdf``) and prints the
measured-vs-theory table. :func:`report` redoes the last three from the store alone.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path
from typing import Any, Callable

from .. import __version__
from ..config import from_dict, replace_from_strings, stable_id, to_dict
from ..fit.records import format_table
from ..prediction import verify_refs
from ..store import Run, clean_partial, is_done, load_run, read_json, run_dir, save_run, write_json

__all__ = ["Experiment", "run_experiment", "report", "point_id", "default_out_dir", "Progress", "check_theory_refs", "StoredResults", "load_results"]


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
    return " ".join(f"{k}={v}" for k, v in to_dict(point).items() if not isinstance(v, (list, dict)))


def _load_sweep_runs(out: Path, exp: Experiment, settings) -> tuple[list[Run], int]:
    runs, missing = [], 0
    for p in exp.sweep(settings):
        d = run_dir(out, point_id(p, settings))
        if is_done(d):
            runs.append(load_run(d))
        else:
            missing += 1
    return runs, missing


def _finish(exp: Experiment, out: Path, settings, runs: list[Run], stream) -> list[dict]:
    records = exp.summarize(runs, settings)
    check_theory_refs(exp, records)
    write_json(out / "summary.json", records)
    fig = exp.plot(runs, settings, records)
    if fig is not None:
        import matplotlib.pyplot as plt

        for ext in ("png", "pdf"):
            tmp = out / f".figure.tmp.{ext}"
            fig.savefig(tmp, dpi=130, bbox_inches="tight", format=ext)
            tmp.replace(out / f"figure.{ext}")
        plt.close(fig)
    if stream is not None:
        stream.write(f"\n{exp.name}: measured vs theory ({out / 'summary.json'})\n")
        stream.write(format_table(records) + "\n")
    return records


def run_experiment(
    exp: Experiment,
    out_dir=None,
    *,
    quick: bool = True,
    overrides: dict | None = None,
    progress: bool = True,
    stream=None,
) -> list[dict]:
    """Run (or resume) ``exp`` into ``out_dir``; returns the summary records.

    Finished points are skipped, so an interrupted sweep resumes where it stopped and ends
    with the same results as an uninterrupted one. Setting errors raise ``ValueError``
    before anything is trained or written.
    """
    settings = exp.settings(quick)
    if overrides:
        settings = replace_from_strings(settings, overrides)
    points = exp.sweep(settings)
    out = Path(out_dir) if out_dir is not None else default_out_dir(exp.name, quick)
    out.mkdir(parents=True, exist_ok=True)
    clean_partial(out)
    write_json(
        out / "experiment.json",
        {"name": exp.name, "quick": quick, "settings": to_dict(settings), "scalesim_version": __version__},
    )
    bar = Progress(len(points), exp.name, enabled=progress)
    for i, p in enumerate(points):
        d = run_dir(out, point_id(p, settings))
        bar.update(i, _point_label(p))
        if is_done(d):
            continue
        metrics, arrays = exp.run_point(p, settings)
        config = {"experiment": exp.name, "point": to_dict(p), "settings": to_dict(settings), "_index": i}
        save_run(d, config, metrics, arrays)
    bar.update(len(points), "done")
    runs, missing = _load_sweep_runs(out, exp, settings)
    assert missing == 0
    return _finish(exp, out, settings, runs, sys.stdout if stream is None else stream)


@dataclasses.dataclass(frozen=True)
class StoredResults:
    """A finished experiment read back from the run store (see :func:`load_results`)."""

    experiment: Experiment
    settings: Any
    runs: list
    records: list
    out: Path


def load_results(exp: Experiment, results=None, *, quick: bool = True, run_missing: bool = False) -> StoredResults:
    """Read an experiment's runs and ``summary.json`` from the store, without retraining.

    Args:
      exp: the registered experiment (``scalesim.registry.experiment(name)``).
      results: the results root (default ``results``); the run directory is
        ``results/NAME`` or ``results/NAME-quick``.
      quick: read the quick run (``NAME-quick``) or the full one.
      run_missing: when the store lacks the run, run it (quick mode only) instead of raising.

    Returns:
      :class:`StoredResults` with the settings the run used (from ``experiment.json``), its
      runs (in sweep order) and its summary records.

    Raises:
      FileNotFoundError: the run is missing or unfinished (and ``run_missing`` is off).
    """
    out = (Path("results") if results is None else Path(results)) / (f"{exp.name}-quick" if quick else exp.name)
    meta = out / "experiment.json"
    if not (out / "summary.json").is_file() or not meta.is_file():
        if not (run_missing and quick):
            raise FileNotFoundError(f"{out}: no finished run; run `scalesim run {exp.name}{' --quick' if quick else ''} --out {out}`")
        run_experiment(exp, out, quick=True, progress=False, stream=None)
    stored = read_json(meta)
    settings = from_dict(type(exp.settings(bool(stored.get("quick", quick)))), stored["settings"])
    runs, missing = _load_sweep_runs(out, exp, settings)
    if missing:
        raise FileNotFoundError(f"{out}: {missing} sweep point(s) not finished; resume with `scalesim run {exp.name}`")
    return StoredResults(exp, settings, runs, read_json(out / "summary.json"), out)


def report(out_dir, registry: dict, stream=None) -> list[dict]:
    """Redraw the figure and table of a finished run directory from the store alone."""
    out = Path(out_dir)
    meta_path = out / "experiment.json"
    if not meta_path.is_file():
        raise ValueError(f"{out} is not a scalesim run directory (no experiment.json)")
    meta = read_json(meta_path)
    if meta.get("name") not in registry:
        raise ValueError(f"{out}: unknown experiment {meta.get('name')!r}")
    exp = registry[meta["name"]]
    settings = from_dict(type(exp.settings(bool(meta.get("quick", True)))), meta["settings"])
    runs, missing = _load_sweep_runs(out, exp, settings)
    if missing:
        raise ValueError(f"{out}: {missing} sweep point(s) not finished; resume with `scalesim run {exp.name}`")
    return _finish(exp, out, settings, runs, sys.stdout if stream is None else stream)
