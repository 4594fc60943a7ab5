"""Quick-mode runs of the data-pruning experiments (scalesim.experiments.pruning)."""
import io
import math

import pytest

from scalesim.experiments import pruning
from scalesim.experiments.base import run_experiment
from scalesim.store import load_runs


def test_frontier_quick_laws_hold(tmp_path):
    recs = run_experiment(pruning.FRONTIER, tmp_path, quick=True, progress=False, stream=io.StringIO())
    names = [r["quantity"] for r in recs]
    assert any(n.startswith("frontier_beats_unpruned_power_law") for n in names)
    assert any(n.startswith("easy_wins_small_data_hard_wins_large_data") for n in names)
    assert "theta0_keep_hard_threshold_near_alpha_2" in names
    assert all(r["agrees"] for r in recs), recs
    assert (tmp_path / "figure.png").is_file()


@pytest.mark.slow
def test_theory_vs_sim_quick(tmp_path):
    recs = run_experiment(pruning.THEORY_VS_SIM, tmp_path, quick=True, progress=False, stream=io.StringIO())
    assert len(recs) == 6 and all(r["agrees"] for r in recs), recs
    run, = load_runs(tmp_path)
    assert run.arrays["converged"].all()


@pytest.mark.parametrize("kw", [dict(fs=(0.0,)), dict(thetas_deg=(90.0,)), dict(modes=("mid",)),
                                dict(alpha_prune=0.0), dict(seeds=1)])
def test_settings_validation(kw):
    with pytest.raises(ValueError, match=list(kw)[0]):
        pruning.SimSettings(**kw)


def test_frontier_settings_validation():
    with pytest.raises(ValueError, match="f_min"):
        pruning.FrontierSettings(f_min=1.0)
    with pytest.raises(ValueError, match="thetas_deg"):
        pruning.FrontierSettings(thetas_deg=(-1.0,))
    assert math.isclose(pruning.frontier_settings(True).f_min, 0.01)
