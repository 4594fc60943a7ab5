"""Pre-flight estimates (scalesim.preflight): absurd sizes are refused with the estimate and the
limit before anything is written; an ensemble that only fits in chunks runs chunked; every
registered experiment declares a cost and its default sweeps pass on the CI machine."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from scalesim.experiments import REGISTRY
from scalesim.experiments.base import _preflight
from scalesim.preflight import Cost, check_point, ensemble_cost, flop_limit, needed_bytes

GiB = 2**30


def test_check_point_decisions():
    c = ensemble_cost(members=64, member_values=2**20, fixed_values=2**10, flops=10**9)  # 4 MiB per member
    assert needed_bytes(c) == 64 * 4 * 2**20 + 8 * 2**10
    assert check_point(c, "p", available=GiB) is None
    assert check_point(c, "p", available=100 * 2**20) == "auto"  # 16 members fit, 64 do not
    assert check_point(c, "p", available=100 * 2**20, max_members=8) == 8
    with pytest.raises(ValueError, match=r"p needs ~64\.0 MiB of memory; this machine has 10\.0 MiB available"):
        check_point(c, "p", available=10 * 2**20, max_members=16)
    with pytest.raises(ValueError, match="even one member at a time"):
        check_point(c, "p", available=2**20)
    with pytest.raises(ValueError, match=r"needs ~1e\+09 FLOP, more than this machine could do in 30 days"):
        check_point(c, "p", available=GiB, max_flops=1e8)


def test_flop_limit_scales_with_the_device():
    assert flop_limit("cpu", cores=2) == pytest.approx(2e11 * 30 * 86400)
    assert flop_limit("gpu") > 1000 * flop_limit("cpu", cores=2)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_experiment_declares_a_cost_and_its_default_sweeps_pass(name, monkeypatch):
    """No valid default stops working: quick and full sweeps fit a 2-core, 24 GiB machine."""
    monkeypatch.setenv("SCALESIM_MEMORY_BYTES", str(20 * GiB))
    monkeypatch.setattr("scalesim.preflight.os.cpu_count", lambda: 2, raising=False)
    exp = REGISTRY[name]
    assert exp.cost is not None
    for quick in (True, False):
        s = exp.settings(quick)
        for p in exp.sweep(s):
            c = exp.cost(p, s)
            assert isinstance(c, Cost) and c.flops > 0 and needed_bytes(c) > 0
            check_point(c, name, 20 * GiB, max_flops=flop_limit("cpu", cores=2))
        assert _preflight(exp, exp.sweep(s), s, {}) in (None, "auto")


def test_only_chunked_ensemble_fits_runs_chunked(monkeypatch, capsys):
    exp = REGISTRY["superposition-grid"]
    s = exp.settings(True)
    costs = [exp.cost(p, s) for p in exp.sweep(s)]
    between = (max(needed_bytes(c, "auto") for c in costs) + max(needed_bytes(c) for c in costs)) // 2
    monkeypatch.setenv("SCALESIM_MEMORY_BYTES", str(between))
    assert _preflight(exp, exp.sweep(s), s, {}) == "auto"
    assert "training members in chunks" in capsys.readouterr().err
    assert _preflight(exp, exp.sweep(s), s, {"preflight": False}) is None


@pytest.mark.parametrize("sets,match", [
    (["batch=1e9"], r"needs ~[0-9.]+ [PTE]iB of memory even one member at a time; this machine has"),
    (["n=1e9", "ms=10,20"], r"of memory"),
    (["steps=1e8", "batch=10000", "n=1000", "ms=100,200"], r"FLOP, more than this machine could do in 30 days"),
])
def test_cli_refuses_before_writing(tmp_path, sets, match, compile_cache_env):
    out = tmp_path / "store"
    args = [sys.executable, "-m", "scalesim.cli", "run", "superposition-grid", "--quick", "--out", str(out), "--no-progress"]
    for kv in sets:
        args += ["--set", kv]
    r = subprocess.run(args, capture_output=True, text=True, timeout=300, env={**os.environ, **compile_cache_env})
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("scalesim: error: superposition-grid point"), r.stderr
    import re

    assert re.search(match, lines[0]), lines[0]
    assert not out.exists()  # nothing written


def test_preflight_off_is_an_execution_setting():
    from scalesim.experiments.base import _split_overrides

    plain, execution = _split_overrides({"preflight": "off", "steps": "10"})
    assert plain == {"steps": "10"} and execution == {"preflight": False}
    with pytest.raises(ValueError, match="preflight must be on or off"):
        _split_overrides({"preflight": "maybe"})
