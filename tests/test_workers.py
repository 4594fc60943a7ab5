"""Sweep points over processes: the partition, SLURM detection, and concurrent workers on one store."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from scalesim import store
from scalesim.workers import Worker, detect_worker, parse_worker, slurm_worker

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--set", "dims=48,64,80,96", "--set", "steps=300", "--set", "seeds=2", "--set", "n_boot=50", "--no-progress"]


def _cli(out, *extra):
    return [sys.executable, "-m", "scalesim.cli", "run", "sgd-powerlaw", "--quick", "--out", str(out), *TINY, *extra]


def _env(extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    env.update(extra)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["MPLBACKEND"] = "Agg"
    return env


def test_shares_partition_the_sweep():
    for n in (1, 2, 3, 7):
        shares = [Worker(i, n).share(10) for i in range(n)]
        assert sorted(sum(shares, [])) == list(range(10))
        assert all(all(j % n == i for j in s) for i, s in enumerate(shares))


def test_parse_worker():
    assert parse_worker("2/5") == (2, 5, "--worker") and str(parse_worker(" 0 / 1 ")) == "0/1"
    for bad in ("3/3", "-1/2", "1/0", "1", "a/b", "1/2/3", "", "１/２", "0/10000000"):
        with pytest.raises(ValueError, match="--worker"):
            parse_worker(bad)


def test_slurm_array_detection():
    env = {"SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_MIN": "5", "SLURM_ARRAY_TASK_COUNT": "4"}
    assert slurm_worker(env)[:2] == (2, 4)
    assert slurm_worker({**env, "SLURM_ARRAY_TASK_ID": "9", "SLURM_ARRAY_TASK_STEP": "2"})[:2] == (2, 4)
    assert slurm_worker({}) is None
    assert detect_worker(environ={}) == Worker()
    assert detect_worker("1/2", environ=env)[:2] == (1, 2)  # the flag wins
    with pytest.raises(ValueError, match="SLURM"):
        slurm_worker({"SLURM_ARRAY_TASK_ID": "3"})  # no count
    with pytest.raises(ValueError, match="SLURM"):
        slurm_worker({**env, "SLURM_ARRAY_TASK_ID": "12"})  # index 7 of 4


def _wait_all(procs, timeout=600):
    deadline = time.time() + timeout
    for p in procs:
        p.wait(timeout=max(1.0, deadline - time.time()))


def test_concurrent_workers_match_one_process(tmp_path, compile_cache_env):
    env = _env(compile_cache_env)
    ref, shared = tmp_path / "ref", tmp_path / "shared"
    subprocess.run(_cli(ref), check=True, env=env, capture_output=True, cwd=tmp_path)
    # four workers at once on one store: share 0 given twice by mistake, share 1 killed early
    run = lambda w: subprocess.Popen(_cli(shared, "--worker", w), env=env, cwd=tmp_path,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    procs = [run("0/3"), run("0/3"), run("1/3"), run("2/3")]
    time.sleep(1.0)
    procs[2].send_signal(signal.SIGKILL)
    _wait_all(procs)
    assert [p.returncode for p in procs] == [0, 0, -signal.SIGKILL, 0], [p.stderr.read() for p in procs]
    assert "remain for other workers" in procs[0].stdout.read()
    assert not (shared / "summary.json").exists()
    st = subprocess.run([sys.executable, "-m", "scalesim.cli", "status", str(shared)], env=env, cwd=tmp_path,
                        capture_output=True, text=True, check=True).stdout
    assert "3/4 points done, 1 pending" in st and "pending #1 " in st
    # re-running the killed share completes the store, and that run writes the summary and figure
    out = subprocess.run(_cli(shared, "--worker", "1/3"), env=env, cwd=tmp_path, capture_output=True, text=True,
                         check=True).stdout
    assert "measured vs theory" in out and (shared / "figure.png").is_file()
    a = {r.path.name: r.arrays for r in store.load_runs(ref)}
    b = {r.path.name: r.arrays for r in store.load_runs(shared)}
    assert sorted(a) == sorted(b) and len(a) == 4
    for pid in a:
        for k in a[pid]:
            np.testing.assert_array_equal(a[pid][k], b[pid][k], err_msg=f"{pid}/{k}")
    assert store.read_json(ref / "summary.json") == store.read_json(shared / "summary.json")
    assert not [p for p in (shared / "runs").iterdir() if p.name.startswith(".")]
    # two identical commands started together on one --out: both exit 0 with the reference results
    twin = tmp_path / "twin"
    procs = [subprocess.Popen(_cli(twin), env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    _wait_all(procs)
    assert [p.returncode for p in procs] == [0, 0], [p.stderr.read() for p in procs]
    assert store.read_json(twin / "summary.json") == store.read_json(ref / "summary.json")
    c = {r.path.name: r.arrays for r in store.load_runs(twin)}
    assert sorted(c) == sorted(a)
    for pid in a:
        for k in a[pid]:
            np.testing.assert_array_equal(a[pid][k], c[pid][k], err_msg=f"twin {pid}/{k}")
    assert not [p for p in twin.rglob(".*")]  # no temp file or partial directory left behind


def test_clean_partial_keeps_live_writers(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    host = store._host()
    live = runs / f".tmp-abc-{host}-{os.getpid()}-x1"  # this process: in flight
    dead = runs / f".tmp-abd-{host}-999999999-x2"  # no such process: abandoned
    other = runs / ".tmp-abe-otherhost-12-x3"  # another host, fresh: maybe in flight
    old = runs / ".tmp-abf-otherhost-12-x4"  # another host, untouched for long: abandoned
    for d in (live, dead, other, old):
        d.mkdir()
    long_ago = time.time() - store.STALE_SECONDS - 10
    os.utime(old, (long_ago, long_ago))
    assert store.clean_partial(tmp_path) == 2
    assert sorted(p.name for p in runs.iterdir()) == sorted([live.name, other.name])


def test_save_run_twin_keeps_first(tmp_path):
    d = tmp_path / "runs" / "p1"
    store.save_run(d, {"c": 1}, {"m": 1}, {"a": np.zeros(2)})
    store.save_run(d, {"c": 1}, {"m": 2}, {"a": np.ones(2)})  # a twin landing second is discarded
    assert store.load_run(d).metrics == {"m": 1}
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["p1"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--worker", "3/3"], "--worker needs 0 <= I < N"),
        (["--worker", "-1/2"], "--worker needs 0 <= I < N"),
        (["--worker", "1/two"], "--worker expects I/N"),
        (["--set", "max_members=0"], "max_members must be"),
        (["--set", "max_members=-4"], "max_members must be"),
        (["--out", ""], "--out must name a directory"),
    ],
)
def test_bad_scale_options_one_line_exit_2(args, message, capsys, tmp_path, monkeypatch):
    from scalesim.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["run", "sgd-powerlaw", "--quick", "--no-progress", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("scalesim: error: ") and message in err[0], err
    assert not any(tmp_path.iterdir())  # nothing was written


def test_status_of_a_missing_store(capsys, tmp_path):
    from scalesim.cli import main

    assert main(["status", str(tmp_path)]) == 2
    assert "not a scalesim run directory" in capsys.readouterr().err
