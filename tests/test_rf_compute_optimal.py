"""rf-compute-optimal: frontier fitting, settings validation, a quick run through the CLI."""
import json

import jax
import numpy as np
import pytest

jax.config.update("jax_enable_x64", True)

from scalesim.cli import main  # noqa: E402
from scalesim.experiments import REGISTRY  # noqa: E402
from scalesim.experiments import rf_compute_optimal as E  # noqa: E402
from scalesim.experiments.base import run_experiment  # noqa: E402
from scalesim.theory import plrf  # noqa: E402


@pytest.mark.parametrize("alpha, beta", [(1.0, 0.25), (1.0, 0.75), (1.0, 1.5)])
def test_frontier_fit_recovers_balanced_exponents_of_a_two_term_law(alpha, beta):
    """L(f, d) = the two balanced terms d^-p r^-q of the phase, r = f/d: slopes = balance_exponents."""
    co = plrf.compute_optimal_exponents(alpha, beta)
    (_, p1, q1), (_, p2, q2) = co.terms
    dims = 2.0 ** np.arange(2, 16, 0.5)
    f = np.geomspace(1e6, 1e9, 24)
    r = f[None, :] / dims[:, None]
    loss = dims[:, None] ** -p1 * r**-q1 + dims[:, None] ** -p2 * r**-q2
    i, ld, lp = plrf.compute_optimal_frontier(dims, loss)
    assert np.all((i > 0) & (i < dims.size - 1))   # optimum bracketed by the ladder
    assert plrf.frontier_window(dims, loss).all()
    xi, eta = plrf.frontier_slopes(dims, f, loss, np.ones(f.size, bool))
    assert xi == pytest.approx(co.xi, abs=0.01) and eta == pytest.approx(co.eta, abs=0.01)


def test_frontier_marks_missing_sizes_and_clips_to_the_ladder():
    dims = [8, 16, 32, 64]
    loss = np.array([[1.0, 0.5], [0.5, 0.4], [0.9, 0.3], [np.nan, 0.35]])
    i, ld, lp = plrf.compute_optimal_frontier(dims, loss)
    assert i.tolist() == [1, 2]
    assert np.log(8) <= ld[0] <= np.log(32) and np.log(16) <= ld[1] <= np.log(64)
    assert np.exp(lp[1]) <= 0.3 + 1e-12   # the parabola vertex is at or below the best point


@pytest.mark.parametrize("kwargs, field", [
    (dict(alphas=(0.4,), betas=(0.3,)), "alphas"),         # 2 alpha <= 1: not Ia/II/III
    (dict(alphas=(1.0, 1.0), betas=(0.3,)), "alphas and betas"),
    (dict(dims=(16, 32)), "dims"), (dict(dims=(32, 16, 64)), "dims"),
    (dict(v_ratio=1), "v_ratio"), (dict(seeds=1), "seeds"), (dict(lr_scale=2.5), "lr_scale"),
    (dict(f_max=1000.0), "f_max"), (dict(batch=0), "batch"),
])
def test_invalid_settings_raise_value_error(kwargs, field):
    with pytest.raises(ValueError, match=field):
        E.Settings(**kwargs)


@pytest.mark.parametrize("alpha, beta, label", [(1.0, 0.5, "Ia/II boundary"), (0.7, 0.7, "II/III boundary")])
def test_boundary_points_are_accepted_and_labelled_as_boundaries(alpha, beta, label):
    s = E.Settings(alphas=(alpha,), betas=(beta,))
    assert s.phases == ((alpha, beta),) and len(E.sweep(s)) == len(s.dims)
    assert plrf.compute_optimal_exponents(alpha, beta).phase == label


@pytest.mark.slow
def test_ii_iii_boundary_run_labels_records_and_agrees_with_exact_risk(tmp_path):
    """A small simulated run at Paquette et al.'s alpha = beta = 0.7 (II/III boundary): records
    are named and marked as boundary points, and the simulated fit agrees with the exact risk
    of the same W draws (the experiment's own criterion)."""
    out = tmp_path / "b"
    run_experiment(REGISTRY["rf-compute-optimal"], out, quick=True, progress=False,
                   overrides={"alphas": "0.7", "betas": "0.7"})
    records = {r["quantity"]: r for r in json.loads((out / "summary.json").read_text())}
    for name, asym in (("eta", 1 - 1 / 2.8), ("xi", 0.5)):
        r = records[f"{name}[II/III boundary: alpha=0.7 beta=0.7]"]
        assert r["phase"] == "II/III boundary" and r["asymptotic_status"] == "boundary"
        assert r["asymptotic"] == pytest.approx(asym) and "common limit" in r["note"]
        assert r["n_window"] >= 3 and r["agrees"], r
    ratios = [r for q, r in records.items() if q.startswith("sim_over_theory")]
    assert len(ratios) == 4 and all(r["agrees"] for r in ratios), ratios


def test_invalid_override_raises_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match="dims"):
        run_experiment(REGISTRY["rf-compute-optimal"], tmp_path / "o", quick=True,
                       overrides={"dims": "8,16"}, progress=False)
    assert not (tmp_path / "o").exists()


def test_quick_run_through_cli_agrees_with_theory(quick_results, capsys):
    """The quick sweep via ``scalesim run`` (~40 s): records exist; sim/theory within 2% + CI."""
    assert "rf-compute-optimal" in REGISTRY
    out = quick_results / "rf-compute-optimal-quick"   # reused by the notebook test
    assert main(["run", "rf-compute-optimal", "--quick", "--out", str(out), "--no-progress"]) == 0
    assert "rf-compute-optimal: measured vs theory" in capsys.readouterr().out
    records = json.loads((out / "summary.json").read_text())
    s = E.settings(True)
    for alpha, beta in s.phases:
        co = plrf.compute_optimal_exponents(alpha, beta)
        for name, asym in (("eta", co.eta), ("xi", co.xi)):
            r = next(r for r in records if r["quantity"] == f"{name}[{co.phase}: alpha={alpha:g} beta={beta:g}]")
            assert np.isfinite(r["measured"]) and r["n_window"] >= 3
            assert r["asymptotic"] == pytest.approx(asym)
            assert r["agrees"], r      # measured vs the finite-window theory, within the bootstrap CI
    ratios = [r for r in records if r["quantity"].startswith("sim_over_theory")]
    assert len(ratios) == len(s.phases) * len(s.dims)
    assert all(r["agrees"] and abs(r["measured"] - 1) < 0.05 for r in ratios), ratios
    assert (out / "figure.png").exists()
