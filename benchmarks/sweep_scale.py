"""Scale-out on one machine: sweep points over worker processes, and memory-bounded ensembles.

Two measurements, each against a baseline measured in the same run:

1. **Points over processes.** One quick sweep run by one process (``scalesim run NAME``) vs the
   same sweep split over ``--workers`` concurrent processes (``--worker I/N``), each into its own
   fresh store, no compilation cache. Prints both wall times and the speed-up; the two stores'
   arrays are compared bit for bit.
2. **Peak memory of a chunked ensemble.** One superposition ensemble (``--members`` members,
   n = 1000, m = 100, batch 2048) trained unchunked vs with ``max_members=16``, each in a fresh
   child process whose peak resident memory (max RSS, ``os.wait4``) is read from the kernel.
   Prints both peaks and their ratio, and checks the two runs' losses are equal bit for bit.

    PYTHONPATH=. python benchmarks/sweep_scale.py [--experiment sgd-powerlaw] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

_TRAIN = """
import sys, numpy as np, jax
from scalesim.engine import train_ensemble
from scalesim.models import superposition as sp
from scalesim.optim import LiuAdamW
from scalesim.rng import root_key
members, limit, steps, out = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
cfg = sp.Config(n=1000, m=100)
hyper = sp.make_hyper(alpha=np.linspace(0.5, 2.0, members), gamma=0.1)
r = train_ensemble(sp.MODEL, cfg, hyper, LiuAdamW(steps, steps // 10), key=root_key(0), steps=steps,
                   batch_size=2048, record_steps=[0, steps], max_members=None if limit == "all" else int(limit))
np.save(out, r.metrics["loss"])
"""


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "JAX_COMPILATION_CACHE"))}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["MPLBACKEND"] = "Agg"
    return env


def _run_cli(args: list[str], cwd) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "scalesim.cli", *args], env=_env(), cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait(procs) -> None:
    for p in procs:
        _, err = p.communicate()
        if p.returncode != 0:
            raise RuntimeError(f"worker failed ({p.returncode}): {err.strip().splitlines()[-1:]}")


def _arrays(out: Path) -> dict:
    from scalesim.store import load_runs

    return {r.path.name: r.arrays for r in load_runs(out)}


def points_over_processes(name: str, workers: int, sets: list[str], tmp: Path) -> dict:
    """Wall time of one process vs ``workers`` concurrent workers on the same sweep."""
    base = ["run", name, "--quick", "--no-progress", *sum((["--set", s] for s in sets), [])]
    t0 = time.perf_counter()
    _wait([_run_cli([*base, "--out", str(tmp / "one")], tmp)])
    one = time.perf_counter() - t0
    t0 = time.perf_counter()
    _wait([_run_cli([*base, "--out", str(tmp / "many"), "--worker", f"{i}/{workers}"], tmp) for i in range(workers)])
    many = time.perf_counter() - t0
    a, b = _arrays(tmp / "one"), _arrays(tmp / "many")
    same = sorted(a) == sorted(b) and all(np.array_equal(a[p][k], b[p][k]) for p in a for k in a[p])
    return {"points": len(a), "one_process_s": one, "workers_s": many, "speedup": one / many, "bit_identical": same}


def _peak_rss(members: int, limit: str, steps: int, out: Path) -> tuple[float, float]:
    """(max RSS in bytes, wall seconds) of a child training one ensemble."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", _TRAIN, str(members), limit, str(steps), str(out)], env=_env())
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"training child failed with status {proc.returncode}")
    return usage.ru_maxrss * 1024.0, time.perf_counter() - t0  # ru_maxrss is in KiB on Linux


def chunked_memory(members: int, steps: int, tmp: Path) -> dict:
    """Peak RSS of an unchunked vs a ``max_members=16`` ensemble of ``members`` members."""
    whole, t_whole = _peak_rss(members, "all", steps, tmp / "whole.npy")
    chunked, t_chunked = _peak_rss(members, "16", steps, tmp / "chunked.npy")
    same = np.array_equal(np.load(tmp / "whole.npy"), np.load(tmp / "chunked.npy"))
    return {"members": members, "unchunked_max_rss_bytes": whole, "chunked_max_rss_bytes": chunked,
            "ratio": whole / chunked, "unchunked_s": t_whole, "chunked_s": t_chunked, "bit_identical": same}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experiment", default="sgd-powerlaw")
    ap.add_argument("--set", action="append", default=None, help="settings of the sweep (repeatable)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--members", type=int, default=128)
    ap.add_argument("--steps", type=int, default=20)
    args = ap.parse_args(argv)
    sets = args.set if args.set is not None else ["dims=48,64,80,96", "steps=300", "seeds=2", "n_boot=50"]
    from scalesim.memory import format_bytes

    print(f"cores: {os.cpu_count()}; load average: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as d:
        r = points_over_processes(args.experiment, args.workers, sets, Path(d))
        print(f"points over processes ({args.experiment} --quick, {r['points']} points): one process "
              f"{r['one_process_s']:.1f} s, {args.workers} workers {r['workers_s']:.1f} s -> {r['speedup']:.2f}x; "
              f"arrays bit-identical: {r['bit_identical']}")
        c = chunked_memory(args.members, args.steps, Path(d))
        print(f"chunked ensemble ({c['members']} superposition members, n=1000, m=100, batch 2048): max RSS "
              f"unchunked {format_bytes(c['unchunked_max_rss_bytes'])} ({c['unchunked_s']:.1f} s), max_members=16 "
              f"{format_bytes(c['chunked_max_rss_bytes'])} ({c['chunked_s']:.1f} s) -> {c['ratio']:.2f}x less memory; "
              f"losses bit-identical: {c['bit_identical']}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
