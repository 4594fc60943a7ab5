"""bahri-regimes / rf-duality: settings validation, a quick physics check, full quick runs (slow)."""
import dataclasses

import jax
import numpy as np
import pytest

jax.config.update("jax_enable_x64", True)

from scalesim.experiments import bahri_regimes as E  # noqa: E402
from scalesim.experiments import rf_duality as D  # noqa: E402
from scalesim.experiments._random_features import resample_groups  # noqa: E402
from scalesim.experiments.base import run_experiment  # noqa: E402


class _Run:
    def __init__(self, metrics, arrays):
        self.metrics, self.arrays = metrics, arrays


def test_variance_limited_in_data_slope_is_minus_one():
    """Quick variant: var_data ladder only (cheap: N + 1 dimensional Gaussian sampling)."""
    s = dataclasses.replace(E.settings(True), n_boot=300)
    run = _Run(*E.run_point(E.BahriPoint("var_data"), s))
    rec = E.summarize([run], s)
    slope = next(r for r in rec if r["quantity"] == "slope[var_data]")
    assert abs(slope["measured"] - 1.0) < 0.1
    assert slope["agrees"]
    assert slope["theory_ref"]["name"] == "variance_limited_data"


@pytest.mark.slow
def test_resolution_limited_model_exponent_matches_theory_ci():
    s = dataclasses.replace(E.settings(True), n_boot=300)
    run = _Run(*E.run_point(E.BahriPoint("res_model"), s))
    rec = next(r for r in E.summarize([run], s) if r["quantity"] == "exponent[res_model]")
    assert rec["agrees"], rec   # theory = deterministic equivalent over the same window


def test_bootstrap_slope_recovers_exact_power_law():
    x = np.array([10.0, 20.0, 40.0, 80.0])
    Y = np.outer(1 + 0.01 * np.arange(5), x ** -1.3)
    est, (lo, hi) = E.bootstrap_slope(x, Y, n_boot=50)
    assert est == pytest.approx(1.3, abs=1e-9) and lo <= 1.3 + 1e-9 and hi >= 1.3 - 1e-9


@pytest.mark.parametrize("kwargs, field", [
    (dict(alpha_k=0.0), "alpha_k"), (dict(draws=1), "draws"),
    (dict(res_sizes=(16, 32)), "res_sizes"), (dict(var_sizes=(20, 40, 80)), "var_sizes"),
    (dict(res_sizes=(16, 32, 5000)), "res_sizes"),
])
def test_bahri_settings_validation(kwargs, field):
    with pytest.raises(ValueError, match=field):
        E.BahriSettings(**kwargs)


def test_resample_groups_is_one_generator_stream():
    """Equal sizes: the draws of consecutive default_rng(seed).integers calls (one stream)."""
    rng = np.random.default_rng(7)
    want = [rng.integers(0, 24, (50, 24)) for _ in range(3)]
    got = resample_groups([24, 24, 24], 50, 7)
    assert all(np.array_equal(a, b) for a, b in zip(want, got))
    uneven = resample_groups([5, 8], 10, 0)
    assert [g.shape for g in uneven] == [(10, 5), (10, 8)] and uneven[1].max() < 8


def test_duality_settings_validation():
    with pytest.raises(ValueError, match="pairs"):
        D.DualitySettings(pairs=((100, 100),))
    with pytest.raises(ValueError, match="ridge"):
        D.DualitySettings(ridge=0.0)


@pytest.mark.slow
@pytest.mark.parametrize("exp", [E.EXPERIMENT, D.EXPERIMENT])
def test_quick_experiment_runs_and_agrees(exp, tmp_path):
    records = run_experiment(exp, tmp_path / exp.name, quick=True, progress=False)
    assert records and all(r["agrees"] for r in records), records
    assert (tmp_path / exp.name / "figure.png").exists()


def test_bahri_cost_counts_the_work_of_each_ladder():
    """The pre-flight estimate follows each ladder's arrays: the variance ladders solve only
    var_fixed x var_fixed systems, so their work is linear in the largest size, not quadratic."""
    s = E.settings(False)
    total = sum(E.cost(p, s).flops for p in E.sweep(s))
    # the default run took 3 min on a 2-core CPU (docs/reproductions.md): about 1e12 FLOP, not 1e14
    assert 1e11 < total < 1e13
    big = dataclasses.replace(s, var_sizes=tuple(2 * v for v in s.var_sizes))
    for regime in ("var_data", "var_model"):
        ratio = E.cost(E.BahriPoint(regime), big).flops / E.cost(E.BahriPoint(regime), s).flops
        assert 1.0 < ratio < 2.5, (regime, ratio)
    res_big = dataclasses.replace(s, res_sizes=tuple(2 * v for v in s.res_sizes))
    assert E.cost(E.BahriPoint("res_model"), res_big).flops > 3.5 * E.cost(E.BahriPoint("res_model"), s).flops
