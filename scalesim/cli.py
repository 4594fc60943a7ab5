"""``scalesim list | run | report | status | fit``: the command-line front end.

Bad input (unknown experiment, bad ``--set`` key or value, invalid setting, a file that cannot
be read, a damaged store) prints one line ``scalesim: error: ...`` to stderr and exits with
status 2, without a traceback. An unexpected internal error prints one line asking for a bug
report and exits with status 1; an interrupt exits with 130 and keeps finished points. Set
``SCALESIM_DEBUG=1`` to get the traceback instead.
"""

from __future__ import annotations

import argparse
import os
import sys

# One BLAS thread unless the user says otherwise: the ensembles are already parallel, and on a
# loaded 2-core machine oversubscribed OpenBLAS made small solves ~100x slower. Must precede
# the first numpy/jax import.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse prints usage + message otherwise)
        raise _UsageError(message)


class _UsageError(Exception):
    pass


def _parse_sets(pairs):
    out = {}
    for item in pairs or ():
        if "=" not in item or item.startswith("="):
            raise ValueError(f"--set expects key=value; got {item!r}")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="scalesim", description="Differentiable scaling simulator.")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    sub.add_parser("list", help="list experiments")
    r = sub.add_parser("run", help="run (or resume) an experiment")
    r.add_argument("name")
    r.add_argument("--quick", action="store_true", help="small sweep for a smoke run (< 2 min on a laptop CPU)")
    r.add_argument("--out", default=None, help="output directory (default results/NAME[-quick])")
    r.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a setting (repeatable)")
    r.add_argument("--no-progress", action="store_true", help="do not draw the progress bar")
    r.add_argument("--cite", action="store_true", help="print BibTeX for the papers behind the experiment")
    r.add_argument("--worker", metavar="I/N", default=None,
                   help="run only the sweep points with index = I mod N (default: detected from a SLURM job "
                        "array, else the whole sweep)")
    r.add_argument("--distributed", action="store_true",
                   help="call jax.distributed.initialize() and run this JAX process's share of the points")
    st = sub.add_parser("status", help="done, pending and damaged sweep points of a run directory")
    st.add_argument("dir")
    ver = sub.add_parser("verify", help="check every point of a run directory against its manifest (exit 2 if damaged)")
    ver.add_argument("dir")
    rep = sub.add_parser("report", help="redraw figure and table from a finished run directory")
    rep.add_argument("dir")
    rep.add_argument("--cite", action="store_true", help="print BibTeX for the papers behind the experiment")
    try:
        from .fit.command import add_fit_parser
    except ImportError:
        pass
    else:
        add_fit_parser(sub)
    return p


def _cite(args, exp) -> None:
    if getattr(args, "cite", False):
        from .bibliography import citation

        print(f"\n% Please cite the papers behind {exp.name}:\n{citation(exp)}")


def _run(args) -> int:
    if args.command == "fit":  # needs no experiment module
        from .fit.command import run_fit

        return run_fit(args)
    from .experiments import REGISTRY, report, run_experiment

    if args.command == "list":
        width = max(len(n) for n in REGISTRY)
        for name, exp in sorted(REGISTRY.items()):
            print(f"{name.ljust(width)}  {exp.description}")
        return 0
    if args.command == "run":
        from .registry import experiment
        from .workers import detect_worker

        exp = experiment(args.name)
        worker = detect_worker(args.worker, distributed=args.distributed)
        run_experiment(exp, args.out, quick=args.quick, overrides=_parse_sets(args.set), progress=not args.no_progress,
                       worker=worker)
        _cite(args, exp)
        return 0
    if args.command in ("status", "verify"):
        from .experiments import status

        st = status(args.dir, REGISTRY)
        print(f"{st.name}: {st.done}/{st.total} points done, {len(st.pending)} pending, {len(st.damaged)} damaged"
              f"{f' ({st.unverified} written before manifests, unverified)' if st.unverified else ''}; "
              f"summary.json {'present' if st.summary else 'absent'}")
        for index, pid, label in st.pending:
            print(f"  pending #{index} {pid}  {label}")
        for index, pid, reason in st.damaged:
            print(f"  damaged #{index} {pid}  {reason}")
        if args.command == "verify" and st.damaged:
            raise ValueError(f"{len(st.damaged)} damaged point(s) in {args.dir}; `scalesim run` recomputes them")
        return 0
    if args.command == "report":
        report(args.dir, REGISTRY)
        if args.cite:
            from pathlib import Path

            from .registry import experiment
            from .store import read_json

            _cite(args, experiment(read_json(Path(args.dir) / "experiment.json")["name"]))
        return 0
    raise _UsageError("a command is required: list, run, report, status, verify" + (", fit" if "fit" in sys.modules else ""))


def main(argv=None) -> int:
    import jax

    jax.config.update("jax_enable_x64", True)  # theory in float64; models choose their own dtype
    jax.config.update("jax_threefry_partitionable", True)  # pinned: flipping it changes random draws
    argv = list(sys.argv[1:] if argv is None else argv)
    for i in range(len(argv) - 1):  # `--worker -1/2` is a (bad) value, not an option
        if argv[i] == "--worker" and argv[i + 1].startswith("-"):
            argv[i : i + 2] = [f"--worker={argv[i + 1]}"]
            break
    debug = bool(os.environ.get("SCALESIM_DEBUG"))
    try:
        args = _build_parser().parse_args(argv)
        if args.command is None:
            raise _UsageError("a command is required (list, run, report, status, verify, fit); see `scalesim --help`")
        return _run(args)
    except (_UsageError, ValueError) as e:
        if debug:
            raise
        return _fail(str(e), 2)
    except OSError as e:  # e.g. --out under a file, or no permission: one line, earlier results kept
        if debug:
            raise
        where = f" {e.filename}" if getattr(e, "filename", None) else ""
        return _fail(f"cannot access{where}: {e.strerror or e}", 2)
    except MemoryError:
        if debug:
            raise
        return _fail("out of memory; use smaller sizes, or --set max_members=auto for large ensembles", 2)
    except KeyboardInterrupt:
        return _fail("interrupted; finished sweep points are kept, and the same command resumes", 130)
    except Exception as e:  # a bug, not bad input: one line that asks for a report
        if debug:
            raise
        if "RESOURCE_EXHAUSTED" in str(e):  # XLA could not allocate: too large for this device
            return _fail(f"out of device memory ({str(e).splitlines()[0][:300]}); use smaller sizes, or "
                         f"--set max_members=auto for large ensembles", 2)
        return _fail(f"internal error ({type(e).__name__}: {e}); this is a bug in scalesim, please report it "
                     f"with the command line; rerun with SCALESIM_DEBUG=1 to see the traceback", 1)


def _fail(message: str, code: int) -> int:
    """Print ``scalesim: error: MESSAGE`` as one line on stderr and return the exit code."""
    msg = " ".join(str(message).split())
    if len(msg) > 2000:
        msg = msg[:2000] + " ..."
    print(f"scalesim: error: {msg}", file=sys.stderr)
    return code

if __name__ == "__main__":
    sys.exit(main())
