"""The prepared accelerator check (benchmarks/accelerator_check.py) runs end to end: its --smoke
mode, on CPU in a subprocess, reports every part ok and writes the documented JSON keys."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "accelerator_check.py"

PART_KEYS = {
    "a_throughput": {"n", "batch", "steps", "members", "torch_baseline", "rows"},
    "b_grid_walltime": {"slice", "paper_exp10_grid", "repo_superposition_grid", "extrapolation"},
    "c_flops": {"n", "m", "batch", "members", "flops_counted", "precisions"},
    "d_precision_loss": {"n", "m", "steps", "fp32_replica_rel_diff", "precisions"},
    "e_theory_grid": {"points", "first_call_s", "warm_s", "all_finite"},
    "f_fit": {"starts", "cold_s", "warm_s", "objective"},
    "g_chunked": {"members", "per_member_bytes", "estimate_bytes", "free_bytes", "chunk_members", "chunks", "wall_s",
                  "check_vs_unchunked"},
}
PRECISION_KEYS = {"setting", "step_s", "flop_per_s", "matmul_peak_flop_per_s", "fraction_of_peak"}


def test_smoke_run_reports_every_part(tmp_path):
    out = tmp_path / "accel.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"}
    env.pop("SCALESIM_MEMORY_BYTES", None)
    proc = subprocess.run([sys.executable, str(SCRIPT), "--smoke", "--out", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads(out.read_text())
    assert doc["meta"]["mode"] == "smoke" and doc["meta"]["platform"] == "cpu"
    parts = doc["parts"]
    assert set(parts) == set(PART_KEYS)
    for name, keys in PART_KEYS.items():
        assert parts[name]["status"] == "ok", (name, parts[name]["status"], parts[name].get("traceback"))
        assert keys <= set(parts[name]), (name, keys - set(parts[name]))
        assert parts[name]["elapsed_s"] >= 0

    a = parts["a_throughput"]
    assert a["torch_baseline"] in ("ok", "skipped: torch not installed")
    assert all(r["scalesim_model_steps_per_s"] > 0 for r in a["rows"])
    if a["torch_baseline"] == "ok":
        assert all(r["torch_model_steps_per_s"] > 0 and r["ratio"] > 0 for r in a["rows"])

    b = parts["b_grid_walltime"]
    assert b["paper_exp10_grid"]["models"] == 1620 and b["paper_exp10_grid"]["steps"] == 20000
    assert b["paper_exp10_grid"]["total_s"] > 0 and b["repo_superposition_grid"]["total_s"] > 0

    c = parts["c_flops"]["precisions"]
    assert set(c) == {"fp32", "tf32", "bf16"}
    for row in c.values():
        assert PRECISION_KEYS <= set(row) and row["flop_per_s"] > 0 and row["fraction_of_peak"] > 0

    d = parts["d_precision_loss"]["precisions"]
    for name in ("tf32", "bf16"):
        assert d[name]["max_rel_diff"] >= 0 and len(d[name]["final_loss"]) == len(d["fp32"]["final_loss"])

    g = parts["g_chunked"]
    assert g["free_source"] == "SCALESIM_MEMORY_BYTES"
    assert g["estimate_bytes"] > g["free_bytes"] and g["chunks"] >= 2 and g["chunk_members"] < g["members"]
    assert g["check_vs_unchunked"]["bit_equal"]  # on CPU chunked == unchunked, bit for bit
