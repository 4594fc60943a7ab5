"""Quick-mode runs of the data-pruning experiments (scalesim.experiments.pruning_*)."""
import io
import math

import numpy as np
import pytest

from scalesim.experiments import pruning_frontier, pruning_theory_vs_sim
from scalesim.experiments._pruning import ThetaPoint
from scalesim.experiments.base import run_experiment
from scalesim.stats import t_quantile
from scalesim.store import load_runs


def test_frontier_quick_laws_hold(tmp_path):
    recs = run_experiment(pruning_frontier.EXPERIMENT, tmp_path, quick=True, progress=False, stream=io.StringIO())
    names = [r["quantity"] for r in recs]
    assert any(n.startswith("frontier_beats_unpruned_power_law") for n in names)
    assert any(n.startswith("easy_wins_small_data_hard_wins_large_data") for n in names)
    assert "theta0_keep_hard_threshold_near_alpha_2" in names
    assert all(r["agrees"] for r in recs), recs
    assert (tmp_path / "figure.png").is_file()


@pytest.mark.slow
def test_theory_vs_sim_quick(tmp_path):
    recs = run_experiment(pruning_theory_vs_sim.EXPERIMENT, tmp_path, quick=True, progress=False, stream=io.StringIO())
    assert len(recs) == 7 and all(r["agrees"] for r in recs), recs
    eps_recs = [r for r in recs if r["quantity"].startswith("eps[")]
    assert len(eps_recs) == 6
    for r in eps_recs:           # Bonferroni t band over 6 points, 7 d.o.f.; plain z recorded
        assert r["n_converged"] == r["n_total"] == 8 and r["z_band"] > 2.0
        assert r["within_2se"] == (abs(r["z"]) <= 2.0)
    count, = [r for r in recs if r["quantity"] == "eps_points_within_2se"]
    assert count["measured"] == sum(r["within_2se"] for r in eps_recs) and count["n_points"] == 6
    run, = load_runs(tmp_path)
    assert run.arrays["converged"].all()


def _fake_run(eps, converged, theta_deg=0.0):
    from scalesim.store import Run
    from scalesim.theory import perceptron as P
    k = len(eps)
    arrays = {"f": np.linspace(1.0, 0.5, k), "easy": np.zeros(k, bool), "eps": np.asarray(eps, float),
              "kappa": np.ones_like(np.asarray(eps, float)), "converged": np.asarray(converged, bool),
              "theory_eps": np.full(k, 0.15), "theory_kappa": np.ones(k),
              "theory_status": np.full(k, P.OK)}
    return Run({}, {"theta_deg": theta_deg}, arrays, None)


def test_sim_summarize_uses_converged_solves_only():
    rng = np.random.default_rng(0)
    eps = 0.15 + 0.01 * rng.standard_normal((3, 6))
    conv = np.ones((3, 6), bool)
    eps[0, :2] = 0.9                 # two solves stopped at the iteration cap: wildly off
    conv[0, :2] = False
    conv[2, 1:] = False              # only one converged solve: no standard error
    s = pruning_theory_vs_sim.SimSettings(seeds=6)
    with pytest.warns(UserWarning, match=r"eps\[theta=0,f=0.5,hard\].*only 1 of 6"):
        recs = pruning_theory_vs_sim.summarize([_fake_run(eps, conv)], s)
    r0, r1, r2, count = recs
    assert r0["measured"] == pytest.approx(eps[0, 2:].mean()) and r0["n_converged"] == 4
    assert r0["n_total"] == 6 and r0["agrees"]
    assert r1["n_converged"] == 6
    assert math.isnan(r2["measured"]) and not r2["agrees"] and "note" in r2
    assert r2["n_converged"] == 1
    # band: t quantile, Bonferroni over the 3 points, d.o.f. = converged - 1
    assert r0["z_band"] == pytest.approx(float(t_quantile(1 - 0.05 / 6, 3)))
    assert r1["z_band"] == pytest.approx(float(t_quantile(1 - 0.05 / 6, 5)))
    assert count["quantity"] == "eps_points_within_2se" and count["n_points"] == 2


def test_frontier_alpha_without_ok_setting_is_named(monkeypatch):
    from scalesim.theory import perceptron as P

    def fake_predict(alpha, f, theta=0.0, mode="hard"):
        a, ff, _, m = np.broadcast_arrays(np.asarray(alpha, float), np.asarray(f, float),
                                          np.asarray(theta, float), np.asarray(mode))
        eps = 0.5 * ff / a + 0.01 * (m == "easy")
        status = np.where(a < 1.6, P.FOLD, P.OK)      # nothing solvable at the smallest alpha
        return {"eps": eps, "status": status, "kappa": eps}

    def fake_theta0(alpha, f, easy, warm):         # the frontier's refinement between grid points
        eps = 0.5 * np.asarray(f) / np.asarray(alpha) + 0.01 * np.asarray(easy)
        return eps, np.stack([eps, eps], -1), np.ones(eps.shape, bool)

    monkeypatch.setattr(pruning_frontier.theory, "predict", fake_predict)
    monkeypatch.setattr(pruning_frontier.frontier_theory, "_theta0", fake_theta0)
    s = pruning_frontier.settings(True)
    with pytest.warns(UserWarning, match=r"alpha_prune=\[1.5\]"):
        metrics, A = pruning_frontier.run_point(ThetaPoint(0.0), s)
    assert metrics["alpha_no_ok"] == [1.5]
    assert np.isnan(A["frontier"][0]) and np.isnan(A["f_star"][0]) and A["mode_star"][0] == -1
    assert np.all(np.isfinite(A["frontier"][1:]))
    from scalesim.store import Run
    recs = pruning_frontier.summarize([Run({}, metrics, A, None)], s)
    assert recs and all("alpha_prune=[1.5]" in r["note"] for r in recs)


@pytest.mark.parametrize("kw", [dict(fs=(0.0,)), dict(thetas_deg=(90.0,)), dict(modes=("mid",)),
                                dict(alpha_prune=0.0), dict(seeds=1)])
def test_settings_validation(kw):
    with pytest.raises(ValueError, match=list(kw)[0]):
        pruning_theory_vs_sim.SimSettings(**kw)


def test_frontier_settings_validation():
    with pytest.raises(ValueError, match="f_min"):
        pruning_frontier.FrontierSettings(f_min=1.0)
    with pytest.raises(ValueError, match="thetas_deg"):
        pruning_frontier.FrontierSettings(thetas_deg=(-1.0,))
    assert math.isclose(pruning_frontier.settings(True).f_min, 0.01)
