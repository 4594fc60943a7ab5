"""Experiment records of the superposition family: settings validation and summary logic."""

import numpy as np
import pytest

from scalesim.experiments import _superposition as X
from scalesim.experiments import superposition_density as D
from scalesim.experiments import superposition_grid as G
from scalesim.experiments import superposition_large as L
from scalesim.store import Run


@pytest.mark.parametrize("kw, field", [
    (dict(n=100, ms=(10, 200)), "ms"),
    (dict(gammas=(-1.5, 0.5)), "gammas"),
    (dict(alphas=(-0.5, 1.0)), "alphas"),
    (dict(ms=(10,)), "ms"),
    (dict(seeds=0), "seeds"),
    (dict(weak_gamma=0.0), "weak_gamma"),
])
def test_grid_settings_validation(kw, field):
    with pytest.raises(ValueError, match=field):
        G.GridSettings(**kw)


def test_weak_records_use_the_positive_gamma_nearest_weak_gamma():
    """The default grid's weak records sit at the authors' smallest positive γ = 0.1111, not at the
    largest decay γ = 1 (decay-limited at n = 1000); a grid with only one positive γ uses it; none
    gives NaN."""
    assert G.regime_gammas(G.GridSettings()) == (0.1111, -1.0)
    assert G.regime_gammas(G.GridSettings(gammas=(-1.0, 0.3333, 1.0))) == (0.3333, -1.0)
    assert G.regime_gammas(G.settings(quick=True)) == (0.5, -1.0)
    assert G.regime_gammas(G.GridSettings(gammas=(-1.0, 1.0))) == (1.0, -1.0)
    g_weak, g_strong = G.regime_gammas(G.GridSettings(gammas=(-1.0, -0.5)))
    assert np.isnan(g_weak) and g_strong == -1.0


def test_large_and_density_settings_validation():
    with pytest.raises(ValueError, match="distributions"):
        L.LargeSettings(distributions=("zipf",))
    with pytest.raises(ValueError, match="fit_min_m"):
        L.LargeSettings(ms=(8, 16, 32), fit_min_m=64)
    with pytest.raises(ValueError, match="densities"):
        D.DensitySettings(densities=(1.5,))


def _fake_grid_run(s):
    """Synthetic stored run obeying the theory exactly: L = m^-(α−1) (weak), L ∝ 1/m and
    overlap = 1/m (strong); the summary must report agreement everywhere."""
    A, G, S = X.members(s.alphas, s.gammas, s.seeds)
    rows = {k: [] for k in ("loss", "phi_half", "phi_one", "overlap_mean", "overlap_var", "diverged",
                            "alpha", "gamma", "seed", "width", "row_norms")}
    rng = np.random.default_rng(0)
    for m in s.ms:
        noise = 1 + 0.01 * rng.standard_normal(A.size)
        L = np.where(G > 0, m ** -(A - 1.0), 1.0 / m) * noise
        rows["loss"].append(np.stack([np.full_like(L, 9.0), L], 1))
        rows["phi_half"].append(np.ones((A.size, 2)))
        rows["phi_one"].append(np.zeros((A.size, 2)))
        rows["overlap_mean"].append(noise / m)
        rows["overlap_var"].append(np.zeros(A.size))
        rows["diverged"].append(np.zeros(A.size, bool))
        rows["row_norms"].append(np.ones((A.size, s.n)))
        for k, v in (("alpha", A), ("gamma", G), ("seed", S), ("width", np.full(A.size, float(m)))):
            rows[k].append(v)
    arrays = {k: np.concatenate(v) for k, v in rows.items()}
    return Run(config={}, metrics={"ms": list(s.ms)}, arrays=arrays, path=None)


def test_grid_summary_recovers_planted_exponents():
    s = G.GridSettings(n=64, ms=(4, 8, 16, 32), gammas=(-1.0, 1.0), alphas=(0.5, 1.0, 1.5, 2.0), seeds=3, n_boot=100)
    recs = G.summarize([_fake_grid_run(s)], s)
    names = [r["quantity"] for r in recs]
    assert "alpha_m weak[gamma=1, alpha=1.5]" in names and "alpha_m strong[gamma=-1, alpha=0.5]" in names
    assert sum(n.startswith("overlap*m") for n in names) == 4
    assert all(r["agrees"] for r in recs), [r for r in recs if not r["agrees"]]
    for r in recs:
        if r["quantity"].startswith("alpha_m weak"):
            assert abs(r["measured"] - r["theory"]) < 0.02
    fig = G.plot([_fake_grid_run(s)], s, recs)
    assert len(fig.axes) == 3


def _fake_large_run(s, dist, diverged_seed=None):
    """Synthetic exp-17 run (one fused program): L ∝ 1/m (strong), L_weak-like m^-0.2 (weak);
    optionally one seed of the weak regime diverged at the widest m (NaN loss)."""
    _, G0, S0 = X.members([1.2], s.gammas, s.seeds)
    k = G0.size
    G, S = np.tile(G0, len(s.ms)), np.tile(S0, len(s.ms))
    Wd = np.repeat(np.asarray(s.ms, float), k)
    noise = 1 + 0.01 * np.random.default_rng(1).standard_normal(G.size)
    L = np.where(G > 0, Wd ** -0.2, 1.0 / Wd) * noise
    div = np.zeros(G.size, bool)
    if diverged_seed is not None:
        div = (G > 0) & (S == diverged_seed) & (Wd == max(s.ms))
        L = np.where(div, np.nan, L)
    arrays = {"loss": np.stack([np.full_like(L, 9.0), L], 1), "diverged": div, "gamma": G, "seed": S, "width": Wd}
    return {"distribution": dist, "ms": list(s.ms), "members": int(G.size), "diverged": int(div.sum())}, arrays


def test_large_summary_drops_diverged_members(tmp_path):
    """Regression: one diverged (NaN-loss) member must not break summarize (the seed is dropped,
    with a warning naming it); too few finite seeds gives a NaN record, not an exception."""
    from scalesim.store import load_runs, save_run

    s = L.LargeSettings(n=256, ms=(8, 16, 32), distributions=("power",), seeds=3, fit_min_m=8, n_boot=50)
    metrics, arrays = _fake_large_run(s, "power", diverged_seed=1)
    save_run(tmp_path / "runs" / "p0", {"_index": 0}, metrics, arrays)
    runs = load_runs(tmp_path)
    with pytest.warns(RuntimeWarning, match=r"member ids \[4\]"):
        recs = L.summarize(runs, s)
    assert len(recs) == 2 and all(np.isfinite(r["measured"]) for r in recs)
    assert all(r["ci_kind"] == "bootstrap over 3 seeds" for r in recs if "strong" in r["quantity"])
    weak = next(r for r in recs if "weak" in r["quantity"])
    assert weak["ci_kind"] == "bootstrap over 2 seeds"
    strong = next(r for r in recs if "strong" in r["quantity"])
    assert strong["agrees"] and abs(strong["measured"] - 1.0) < 0.05
    with pytest.warns(RuntimeWarning):
        L.plot(runs, s, recs)

    # only one seed, and it diverged: NaN record with a note
    s1 = L.LargeSettings(n=256, ms=(8, 16, 32), distributions=("power",), seeds=1, fit_min_m=8, n_boot=50)
    metrics, arrays = _fake_large_run(s1, "power", diverged_seed=0)
    save_run(tmp_path / "one" / "runs" / "p0", {"_index": 0}, metrics, arrays)
    with pytest.warns(RuntimeWarning, match=r"member ids \[1\]"):
        recs = L.summarize(load_runs(tmp_path / "one"), s1)
    weak = next(r for r in recs if "weak" in r["quantity"])
    assert np.isnan(weak["measured"]) and np.isnan(weak["ci"]).all() and not weak["agrees"] and "note" in weak
    strong = next(r for r in recs if "strong" in r["quantity"])
    assert strong["ci_kind"] == "none (1 seed): agreement by tolerance only" and strong["ci"][0] == strong["ci"][1]


def test_density_summary_survives_fully_diverged_cell():
    """Regression: a (γ, density) cell whose every member diverged yields a NaN record (no IndexError)."""
    s = D.DensitySettings(n=64, ms=(4, 8, 16), densities=(0.0, 0.5), gammas=(-1.0, 1.0), seeds=2, n_boot=50)
    dens, gam, sd = X.members(s.densities, s.gammas, s.seeds)
    rows = {k: [] for k in ("loss", "phi_half", "phi_one", "overlap_mean", "overlap_var", "diverged",
                            "density", "gamma", "seed", "width")}
    for m in s.ms:
        bad = (gam < 0) & (dens == 0.5)
        rows["loss"].append(np.stack([np.full(dens.size, 9.0), np.where(bad, np.nan, 1.0 / m)], 1))
        rows["phi_half"].append(np.ones((dens.size, 2)))
        rows["phi_one"].append(np.zeros((dens.size, 2)))
        rows["overlap_mean"].append(np.full(dens.size, 1.0 / m))
        rows["overlap_var"].append(np.zeros(dens.size))
        rows["diverged"].append(bad)
        for k, v in (("density", dens), ("gamma", gam), ("seed", sd), ("width", np.full(dens.size, float(m)))):
            rows[k].append(v)
    run = Run(config={}, metrics={"ms": list(s.ms)}, arrays={k: np.concatenate(v) for k, v in rows.items()}, path=None)
    with pytest.warns(RuntimeWarning, match=r"member ids \[4, 5\]"):
        recs = D.summarize([run], s)
    assert len(recs) == 4
    dead = [r for r in recs if np.isnan(r["measured"])]
    assert len(dead) == 1 and "strong" in dead[0]["quantity"] and not dead[0]["agrees"] and "note" in dead[0]
    live_strong = [r for r in recs if "strong" in r["quantity"] and np.isfinite(r["measured"])]
    assert live_strong[0]["agrees"] and live_strong[0]["ci_kind"] == "bootstrap over 2 seeds"
    D.plot([run], s, recs)


def test_single_seed_records_state_ci_kind():
    s = G.GridSettings(n=64, ms=(4, 8, 16, 32), gammas=(-1.0, 1.0), alphas=(0.5, 1.5), seeds=1, n_boot=100)
    recs = [r for r in G.summarize([_fake_grid_run(s)], s) if r["quantity"].startswith("alpha_m")]
    assert recs and all(r["ci_kind"] == "none (1 seed): agreement by tolerance only" for r in recs)
