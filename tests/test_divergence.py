"""Diverged members in every experiment that trains members.

Each experiment's ``summarize`` is fed synthetic stored runs laid out as its ``run_point`` stores
them, with some members of a cell diverged (flagged, or a NaN loss only) and with every member
of a cell diverged. It must warn (RuntimeWarning from :func:`scalesim.engine.warn_diverged`,
naming the member ids), keep every record it emits for a healthy run, and give a cell left
without an estimate ``measured`` NaN, ``ci`` NaN, ``agrees`` false and a ``note``.

The other experiments train no members: ``bahri-regimes``, ``rf-duality`` (closed-form
simulators), ``pruning-theory-vs-sim``, ``pruning-prototypes`` (max-margin / k-means
simulators, whose unconverged solves have their own records) and ``pruning-frontier``
(theory only).
"""

import inspect
import io
import json
import math
import warnings

import numpy as np
import pytest

from scalesim.engine import geometric_steps
from scalesim.experiments import REGISTRY
from scalesim.experiments import _superposition as X
from scalesim.experiments import elhage_phase as EP
from scalesim.experiments import rf_compute_optimal as CO
from scalesim.experiments import sgd_powerlaw as SGD
from scalesim.experiments import superposition_density as SD
from scalesim.experiments import superposition_grid as SG
from scalesim.experiments import superposition_large as SL
from scalesim.experiments import teacher_student_mlp as TS
from scalesim.fit.records import comparison, diverged_note
from scalesim.store import Run
from scalesim.theory import elhage as elhage_theory

TRAINS = {"elhage-phase", "emergence-metrics", "quanta-scaling", "rf-compute-optimal", "sgd-powerlaw",
          "superposition-density", "superposition-grid", "superposition-large", "teacher-student-mlp"}


def _quantities(recs):
    return [r["quantity"] for r in recs]


def _no_estimate(rec, note="diverged"):
    assert rec["measured"] is not None and math.isnan(rec["measured"]), rec
    assert all(math.isnan(c) for c in rec["ci"]), rec
    assert rec["agrees"] is False, rec
    assert note in rec.get("note", ""), rec


def _quiet(fn, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a healthy run warns about nothing
        return fn(*args)


# ------------------------------------------------------------------ records and the audit
def test_comparison_nan_never_agrees_and_note():
    rec = comparison("q", float("nan"), (float("nan"), float("nan")), 1.0, tol=10.0, note=diverged_note(4, 4))
    assert rec["agrees"] is False and rec["note"] == "all 4 members diverged (non-finite loss or params): no estimate"
    assert diverged_note(3, 4, need=2, unit="seeds") == (
        "3 of 4 seeds diverged (non-finite loss or params); 1 finite, 2 needed: no estimate")


def test_every_training_experiment_uses_the_one_warner():
    """Experiments that train members call engine.warn_diverged; no experiment has its own copy."""
    import scalesim.experiments._superposition as shared

    assert not hasattr(shared, "warn_dropped")
    for name, exp in REGISTRY.items():
        src = inspect.getsource(inspect.getmodule(exp.summarize))
        trains = "train_ensemble" in src or "run_widths" in src or "train_point" in src
        assert trains == (name in TRAINS), name
        if trains:
            assert "warn_diverged" in src, name
        assert "excluded from fits" not in src, f"{name}: a second copy of the divergence warning"


# ------------------------------------------------------------------ sgd-powerlaw
def _sgd_run(s, d=256, bad=()):
    """Stored sgd-powerlaw point: excess ~ t^-(a-1)/b; members ``bad`` (indices) get NaN losses."""
    rec = geometric_steps(s.steps, 30).astype(float)
    a = np.repeat(np.asarray(s.a_values, float), s.seeds)
    seed = np.tile(np.arange(s.seeds), len(s.a_values))
    noise = 1 + 0.01 * np.random.default_rng(0).standard_normal((a.size, 1))
    excess = noise * (1 + rec[None, :]) ** (-(a[:, None] - 1) / s.b)
    theo = np.stack([(1 + rec) ** (-(av - 1) / s.b) for av in s.a_values])
    div = np.zeros(a.size, bool)
    div[list(bad)] = True
    excess[div] = np.nan
    arrays = {"steps": rec.astype(np.int64), "mse": excess.copy(), "excess": excess, "train_loss": excess,
              "a": a, "seed": seed, "diverged": div, "theory_mse": theo, "theory_a": np.asarray(s.a_values, float)}
    return Run({}, {"d": d, "eta": SGD._eta(d, s.b, s.lr_scale)}, arrays, None)


def test_sgd_powerlaw_diverged_members():
    s = SGD.Settings(dims=(256,), a_values=(2.0, 2.5), seeds=4, steps=2000, n_boot=50)
    normal = _quiet(SGD.summarize, [_sgd_run(s)], s)
    assert len(normal) == 4 and all(np.isfinite(r["measured"]) for r in normal)
    # member 1 (a = 2, seed 1) diverged; every a = 2.5 member (ids 1 << 16 + seed) diverged
    with pytest.warns(RuntimeWarning) as got:
        recs = SGD.summarize([_sgd_run(s, bad=[1, 4, 5, 6, 7])], s)
    text = " ".join(str(w.message) for w in got)
    assert "member ids [1]" in text and "member ids [65536, 65537, 65538, 65539]" in text
    assert _quantities(recs) == _quantities(normal)
    part = {r["quantity"]: r for r in recs if "a=2 " in r["quantity"]}
    assert all(np.isfinite(r["measured"]) and "note" not in r for r in part.values())
    assert part["time_exponent[d=256 a=2 b=1.5]"]["members"] == 3
    for r in recs:
        if "a=2.5" in r["quantity"]:
            _no_estimate(r, "all 4 members diverged")
    with pytest.warns(RuntimeWarning):
        SGD.plot([_sgd_run(s, bad=range(8))], s, SGD.summarize([_sgd_run(s, bad=range(8))], s))


# ------------------------------------------------------------------ rf-compute-optimal
def _co_run(s, d, bad=()):
    steps = CO._steps(d, s)
    rec = geometric_steps(steps, s.n_records)
    t = rec.astype(float)
    rng = np.random.default_rng(d)
    risk = (1 + t[None, :]) ** -0.6 * (1 + 0.02 * rng.standard_normal((s.seeds, 1))) + d ** -0.8
    theory = (1 + t[None, :]) ** -0.6 + d ** -0.8 + np.zeros((s.seeds, 1))
    div = np.zeros(s.seeds, bool)
    div[list(bad)] = True
    risk[div] = np.nan
    metrics = {"alpha": 1.0, "beta": 0.75, "d": d}
    arrays = {"steps": rec, "risk": risk, "theory_risk": theory, "lr": np.full(s.seeds, 0.1), "diverged": div,
              "member_ids": np.arange(s.seeds)}
    return Run({}, metrics, arrays, None)


def test_rf_compute_optimal_diverged_members():
    s = CO.Settings(alphas=(1.0,), betas=(0.75,), dims=(8, 16, 32, 64), seeds=4, f_max=3.0e4, n_records=20,
                    n_compute=16, n_boot=50)
    normal = _quiet(CO.summarize, [_co_run(s, d) for d in s.dims], s)
    assert len(normal) == 2 + len(s.dims)
    # d = 8: one member diverged; d = 16: all of them (left out of the ladder)
    runs = [_co_run(s, d, bad={8: [2], 16: range(4)}.get(d, ())) for d in s.dims]
    with pytest.warns(RuntimeWarning) as got:
        recs = CO.summarize(runs, s)
    text = " ".join(str(w.message) for w in got)
    assert "d=8: 1 of 4 members diverged" in text and "member ids [2]" in text
    assert "d=16: 4 of 4 members diverged" in text and "member ids [0, 1, 2, 3]" in text
    assert _quantities(recs) == _quantities(normal)
    by = {r["quantity"].split("[")[0] + r["quantity"].split(" ")[-1]: r for r in recs}
    _no_estimate(by["sim_over_theoryd=16]"], "all 4 members diverged")
    assert np.isfinite(by["sim_over_theoryd=8]"]["measured"]) and by["sim_over_theoryd=8]"]["members"] == 3
    eta = next(r for r in recs if r["quantity"].startswith("eta"))
    assert eta["dims"] == [8, 32, 64] and "every member diverged at d=[16]" in eta["note"]
    # every member of every size diverged: all records stay, none has an estimate
    dead = [_co_run(s, d, bad=range(4)) for d in s.dims]
    with pytest.warns(RuntimeWarning):
        recs = CO.summarize(dead, s)
    assert _quantities(recs) == _quantities(normal)
    for r in recs:
        _no_estimate(r, "diverged")
    with pytest.warns(RuntimeWarning):
        CO.plot(dead, s, recs)


# ------------------------------------------------------------------ teacher-student-mlp
def _ts_run(s, d, bad=()):
    sizes = np.asarray(s.train_sizes)
    n_train = np.repeat(sizes, s.seeds)
    seed = np.tile(np.arange(s.seeds), sizes.size)
    noise = 1 + 0.02 * np.random.default_rng(d).standard_normal(n_train.size)
    test = (n_train / 16.0) ** (-4.0 / d) * noise
    test_nmse = np.stack([np.ones_like(test), test], 1)
    div = np.zeros(n_train.size, bool)
    div[list(bad)] = True
    test_nmse[div, -1] = np.nan
    arrays = {"steps": np.array([0, 10]), "n_train": n_train, "seed": seed, "test_nmse": test_nmse,
              "test_mse": test_nmse, "train_nmse": 0.01 * test_nmse, "diverged": div}
    return Run({}, {"d": d, "params": 1000}, arrays, None)


def test_teacher_student_mlp_diverged_members():
    s = TS.Settings(dims=(2, 4), train_sizes=(16, 32, 64, 128), seeds=3, n_boot=50)
    normal = _quiet(TS.summarize, [_ts_run(s, d) for d in s.dims], s)
    assert len(normal) == 3
    # d = 2: member 4 (D = 32, seed 1) has a NaN loss only (no flag); d = 4: every member diverged
    with pytest.warns(RuntimeWarning) as got:
        recs = TS.summarize([_ts_run(s, 2, bad=[4]), _ts_run(s, 4, bad=range(12))], s)
    text = " ".join(str(w.message) for w in got)
    assert "d=2" in text and "member ids [4]" in text and "seeds [1]" in text
    assert "member ids [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]" in text
    assert _quantities(recs) == _quantities(normal)
    a2, a4, n = recs
    assert np.isfinite(a2["measured"]) and a2["members"] == 2
    _no_estimate(a4, "all 3 seeds diverged")
    _no_estimate(n, "fewer than 2 dimensions")
    TS.plot([_ts_run(s, 2, bad=[4]), _ts_run(s, 4, bad=range(12))], s, recs)


# ------------------------------------------------------------------ elhage-phase
def _elhage_run(s, bad=()):
    R, S = EP.phase_grid(s)
    ph = np.asarray(elhage_theory.phase(R, S))
    div = np.zeros((R.size, s.seeds), bool)
    div.ravel()[list(bad)] = True
    loss = np.where(div, np.nan, 1.0)
    arrays = {"r": R, "density": S, "W": np.zeros((R.size, s.seeds, 1, 2)), "loss": loss,
              "phase": np.stack([ph] * s.seeds, 1), "diverged": np.zeros_like(div)}  # NaN loss, flag unset
    return Run({}, {}, arrays, None)


def test_elhage_phase_diverged_members():
    s = EP.PhaseSettings(n_r=3, n_s=3, seeds=2, margin=0.0)
    normal = _quiet(EP.summarize, [_elhage_run(s)], s)
    assert [r["measured"] for r in normal] == [1.0, 1.0]
    # member 1 (point 0, seed 1) and both members of point 4 diverged
    with pytest.warns(RuntimeWarning, match=r"3 of 18 members diverged.*member ids \[1, 8, 9\]"):
        recs = EP.summarize([_elhage_run(s, bad=[1, 8, 9])], s)
    assert _quantities(recs) == _quantities(normal)
    for r in recs:
        assert r["measured"] == 1.0 and r["points"] == 8 and r["points_all_diverged"] == 1 and "note" in r
    with pytest.warns(RuntimeWarning, match="18 of 18 members diverged"):
        recs = EP.summarize([_elhage_run(s, bad=range(18))], s)
    assert _quantities(recs) == _quantities(normal)
    for r in recs:
        _no_estimate(r, "all 18 members diverged")
        assert r["points"] == 0


# ------------------------------------------------------------------ superposition family
def _grid_run(s, bad=lambda A, G, S, m: np.zeros(A.size, bool), nan_only=False, key="alpha"):
    """A fused stored run of superposition-grid (or -density with ``key="density"``)."""
    A, G, S = X.members(s.alphas if key == "alpha" else s.densities, s.gammas, s.seeds)
    rows = {k: [] for k in ("loss", "phi_half", "phi_one", "overlap_mean", "overlap_var", "diverged",
                            key, "gamma", "seed", "width")}
    rng = np.random.default_rng(0)
    for m in s.ms:
        noise = 1 + 0.01 * rng.standard_normal(A.size)
        L = np.where(G > 0, m ** -(A - 1.0) if key == "alpha" else m ** -0.5, 1.0 / m) * noise
        b = bad(A, G, S, m)
        L = np.where(b, np.nan, L)
        rows["loss"].append(np.stack([np.full_like(L, 9.0), L], 1))
        rows["phi_half"].append(np.ones((A.size, 2)))
        rows["phi_one"].append(np.zeros((A.size, 2)))
        rows["overlap_mean"].append(np.where(b, np.nan, noise / m))
        rows["overlap_var"].append(np.zeros(A.size))
        rows["diverged"].append(np.zeros(A.size, bool) if nan_only else b)
        for k, v in ((key, A), ("gamma", G), ("seed", S), ("width", np.full(A.size, float(m)))):
            rows[k].append(v)
    return Run({}, {"ms": list(s.ms)}, {k: np.concatenate(v) for k, v in rows.items()}, None)


def test_superposition_grid_diverged_members():
    s = SG.GridSettings(n=64, ms=(4, 8, 16), gammas=(-1.0, 1.0), alphas=(0.5, 1.5), seeds=2, n_boot=50)
    normal = _quiet(SG.summarize, [_grid_run(s)], s)
    assert len(normal) == 2 + len(s.ms)
    # member order (α, γ, seed): the strong cell (γ=-1, α=0.5) = ids 0, 1 diverges at the widest m
    # (NaN loss only, no flag); one weak member (α=1.5, γ=1, seed 1 = id 7) diverges too
    bad = lambda A, G, S, m: (((G < 0) & (A == 0.5)) | ((G > 0) & (A == 1.5) & (S == 1))) & (m == 16)
    with pytest.warns(RuntimeWarning) as got:
        recs = SG.summarize([_grid_run(s, bad, nan_only=True)], s)
    text = " ".join(str(w.message) for w in got)
    assert "superposition-grid[gamma=-1, alpha=0.5]: 2 of 2 members diverged" in text and "member ids [0, 1]" in text
    assert "member ids [7]" in text
    assert _quantities(recs) == _quantities(normal)
    strong = next(r for r in recs if r["quantity"] == "alpha_m strong[gamma=-1, alpha=0.5]")
    _no_estimate(strong, "all 2 members diverged")
    weak = next(r for r in recs if r["quantity"].startswith("alpha_m weak"))
    assert np.isfinite(weak["measured"]) and weak["ci_kind"].startswith("none (1 seed)")
    # every strong-regime member diverged: the overlap records stay, without an estimate
    every = lambda A, G, S, m: G < 0
    with pytest.warns(RuntimeWarning):
        recs = SG.summarize([_grid_run(s, every)], s)
    assert _quantities(recs) == _quantities(normal)
    for r in recs:
        if "strong" in r["quantity"]:
            _no_estimate(r, "all")
    SG.plot([_grid_run(s, every)], s, recs)


def test_superposition_grid_summary_json_keeps_dead_cell(tmp_path):
    """End to end through the runner's report: the dead cell is a row of summary.json."""
    from scalesim.config import to_dict
    from scalesim.experiments.base import point_id, report
    from scalesim.store import run_dir, save_run, write_json

    s = SG.GridSettings(n=64, ms=(4, 8, 16), gammas=(-1.0, 1.0), alphas=(0.5, 1.5), seeds=2, n_boot=50,
                        fuse_widths=True)
    write_json(tmp_path / "experiment.json", {"name": "superposition-grid", "quick": True, "settings": to_dict(s)})
    run = _grid_run(s, lambda A, G, S, m: (G < 0) & (A == 0.5))
    p = SG.EXPERIMENT.sweep(s)[0]
    save_run(run_dir(tmp_path, point_id(p, s)), {"_index": 0}, run.metrics, run.arrays)
    with pytest.warns(RuntimeWarning, match=r"member ids \[0, 1\]"):
        report(tmp_path, REGISTRY, stream=io.StringIO())
    rows = json.loads((tmp_path / "summary.json").read_text())
    dead = next(r for r in rows if r["quantity"] == "alpha_m strong[gamma=-1, alpha=0.5]")
    assert dead["measured"] is None and dead["ci"] == [None, None] and dead["agrees"] is False
    assert dead["note"] == "all 2 members diverged (non-finite loss or params): no estimate"


def test_superposition_density_diverged_members():
    s = SD.DensitySettings(n=64, ms=(4, 8, 16), densities=(0.0, 0.5), gammas=(-1.0, 1.0), seeds=2, n_boot=50)
    normal = _quiet(SD.summarize, [_grid_run(s, key="density")], s)
    # cell (s=0.5, γ=1) = member ids 6, 7 diverged
    with pytest.warns(RuntimeWarning, match=r"superposition-density\[gamma=1, s=0.5\].*member ids \[6, 7\]"):
        recs = SD.summarize([_grid_run(s, lambda A, G, S, m: (A == 0.5) & (G > 0), key="density")], s)
    assert _quantities(recs) == _quantities(normal)
    dead = next(r for r in recs if r["gamma"] == 1.0 and r["density"] == 0.5)
    _no_estimate(dead, "all 2 members diverged")
    assert dead["ci_kind"] == "none (no finite member)"


def _large_run(s, dist, bad=lambda G, S, W: np.zeros(G.size, bool)):
    _, G0, S0 = X.members([1.2], s.gammas, s.seeds)
    k = G0.size
    G, S = np.tile(G0, len(s.ms)), np.tile(S0, len(s.ms))
    Wd = np.repeat(np.asarray(s.ms, float), k)
    L = np.where(G > 0, Wd ** -0.2, 1.0 / Wd) * (1 + 0.01 * np.random.default_rng(1).standard_normal(G.size))
    div = bad(G, S, Wd)
    L = np.where(div, np.nan, L)
    arrays = {"loss": np.stack([np.full_like(L, 9.0), L], 1), "diverged": div, "gamma": G, "seed": S, "width": Wd}
    return Run({}, {"distribution": dist, "ms": list(s.ms)}, arrays, None)


def test_superposition_large_diverged_members():
    s = SL.LargeSettings(n=256, ms=(8, 16, 32), distributions=("power",), seeds=2, fit_min_m=8, n_boot=50)
    normal = _quiet(SL.summarize, [_large_run(s, "power")], s)
    # every weak-regime seed (member ids 2, 3: γ index 1) diverged at some width
    with pytest.warns(RuntimeWarning, match=r"gamma=0.1\].*2 of 2 members diverged.*member ids \[2, 3\]"):
        recs = SL.summarize([_large_run(s, "power", lambda G, S, W: (G > 0) & (W == 16 * (1 + S)))], s)
    assert _quantities(recs) == _quantities(normal)
    weak = next(r for r in recs if "weak" in r["quantity"])
    _no_estimate(weak, "all 2 seeds diverged")
    strong = next(r for r in recs if "strong" in r["quantity"])
    assert strong["agrees"] and "note" not in strong
