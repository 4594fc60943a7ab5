import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from scalesim import store

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--set", "dims=48,64,80", "--set", "steps=300", "--set", "seeds=2", "--set", "n_boot=50", "--no-progress"]


def test_save_load_roundtrip_no_pickle(tmp_path):
    d = store.save_run(tmp_path / "runs" / "abc", {"x": (1, 2)}, {"loss": float("nan"), "n": 3},
                       {"a": np.arange(6.0).reshape(2, 3), "flag": np.array([True, False])})
    r = store.load_run(d)
    assert r.config == {"x": [1, 2], "_manifest": "manifest.json"} and r.metrics["loss"] is None and r.metrics["n"] == 3
    np.testing.assert_array_equal(r.arrays["a"], np.arange(6.0).reshape(2, 3))
    with pytest.raises(ValueError, match="dtype object"):
        store.save_run(tmp_path / "runs" / "bad", {}, {}, {"o": np.array([{}, 1], dtype=object)})
    assert not (tmp_path / "runs" / "bad").exists()
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["abc"]  # no temp dirs left behind


def test_atomic_write_replaces_whole_file(tmp_path):
    p = tmp_path / "s.json"
    store.write_json(p, {"a": 1})
    store.write_json(p, {"b": [1.5, float("inf")]})
    assert store.read_json(p) == {"b": [1.5, "inf"]}
    assert [q.name for q in tmp_path.iterdir()] == ["s.json"]


def test_jsonable_is_strict_json():
    import json

    import jax.numpy as jnp

    x = {1: (np.float64(np.nan), float("inf"), -np.inf), "a": np.arange(3), "b": np.bool_(True),
         "j": jnp.asarray([1.5, jnp.inf]), "n": [np.int64(7), None, "s"]}
    out = store.jsonable(x)
    assert out == {"1": [None, "inf", "-inf"], "a": [0, 1, 2], "b": True, "j": [1.5, "inf"],
                   "n": [7, None, "s"]}
    assert type(out["b"]) is bool and type(out["n"][0]) is int
    json.dumps(out, allow_nan=False)  # strict JSON


def test_fit_command_uses_the_store_sanitizer():
    from scalesim.fit import command

    assert command.jsonable is store.jsonable


def _cli(out, env=None):
    return [sys.executable, "-m", "scalesim.cli", "run", "sgd-powerlaw", "--quick", "--out", str(out), *TINY]


def _env(extra=None):
    env = dict(os.environ)
    env.update(extra or {})
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _arrays(out):
    return {r.path.name: r.arrays for r in store.load_runs(out)}


def test_sigkill_then_resume_is_bit_identical(tmp_path, compile_cache_env):
    ref, killed = tmp_path / "ref", tmp_path / "killed"
    subprocess.run(_cli(ref), check=True, env=_env(compile_cache_env), capture_output=True, cwd=tmp_path)
    proc = subprocess.Popen(_cli(killed), env=_env(compile_cache_env), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    runs = killed / "runs"
    deadline = time.time() + 240
    while time.time() < deadline:  # kill as soon as the first point has landed
        if runs.is_dir() and any(store.is_done(p) for p in runs.iterdir() if not p.name.startswith(".")):
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    n_done = sum(1 for p in runs.iterdir() if not p.name.startswith("."))
    assert 1 <= n_done < 3, f"expected a partial sweep after SIGKILL, found {n_done} points"
    assert not (killed / "summary.json").exists()
    subprocess.run(_cli(killed), check=True, env=_env(compile_cache_env), capture_output=True, cwd=tmp_path)
    a, b = _arrays(ref), _arrays(killed)
    assert sorted(a) == sorted(b) and len(a) == 3
    for pid in a:
        for k in a[pid]:
            np.testing.assert_array_equal(a[pid][k], b[pid][k], err_msg=f"{pid}/{k}")
    assert store.read_json(ref / "summary.json") == store.read_json(killed / "summary.json")
    assert not [p for p in runs.iterdir() if p.name.startswith(".")]
