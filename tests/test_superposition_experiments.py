"""Experiment records of the superposition family: settings validation and summary logic."""

import numpy as np
import pytest

from scalesim.experiments import superposition as E
from scalesim.store import Run


@pytest.mark.parametrize("kw, field", [
    (dict(n=100, ms=(10, 200)), "ms"),
    (dict(gammas=(-1.5, 0.5)), "gammas"),
    (dict(alphas=(-0.5, 1.0)), "alphas"),
    (dict(ms=(10,)), "ms"),
    (dict(seeds=0), "seeds"),
])
def test_grid_settings_validation(kw, field):
    with pytest.raises(ValueError, match=field):
        E.GridSettings(**kw)


def test_large_and_density_settings_validation():
    with pytest.raises(ValueError, match="distributions"):
        E.LargeSettings(distributions=("zipf",))
    with pytest.raises(ValueError, match="fit_min_m"):
        E.LargeSettings(ms=(8, 16, 32), fit_min_m=64)
    with pytest.raises(ValueError, match="densities"):
        E.DensitySettings(densities=(1.5,))


def _fake_grid_run(s):
    """Synthetic stored run obeying the theory exactly: L = m^-(α−1) (weak), L ∝ 1/m and
    overlap = 1/m (strong); the summary must report agreement everywhere."""
    A, G, S = E._members(s.alphas, s.gammas, s.seeds)
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
    s = E.GridSettings(n=64, ms=(4, 8, 16, 32), gammas=(-1.0, 1.0), alphas=(0.5, 1.0, 1.5, 2.0), seeds=3, n_boot=100)
    recs = E.grid_summarize([_fake_grid_run(s)], s)
    names = [r["quantity"] for r in recs]
    assert "alpha_m weak[gamma=1, alpha=1.5]" in names and "alpha_m strong[gamma=-1, alpha=0.5]" in names
    assert sum(n.startswith("overlap*m") for n in names) == 4
    assert all(r["agrees"] for r in recs), [r for r in recs if not r["agrees"]]
    for r in recs:
        if r["quantity"].startswith("alpha_m weak"):
            assert abs(r["measured"] - r["theory"]) < 0.02
    fig = E.grid_plot([_fake_grid_run(s)], s)
    assert len(fig.axes) == 3
