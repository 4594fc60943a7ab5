import jax
import numpy as np
import pytest

from scalesim.fit.powerlaw import bootstrap_exponent, fit_power_law, fit_power_law_offset, local_exponent
from scalesim.fit.records import comparison, format_table


def test_power_law_recovers_exact_exponent():
    x = np.geomspace(10, 1e4, 20)
    f = fit_power_law(x, 3.0 * x**-0.73)
    np.testing.assert_allclose([f.exponent, f.prefactor], [0.73, 3.0], rtol=1e-10)
    np.testing.assert_allclose(local_exponent(x, 3.0 * x**-0.73), 0.73, rtol=1e-10)


def test_offset_fit_recovers_parameters():
    x = np.geomspace(8, 4096, 25)
    y = 0.2 + 5.0 * x**-0.6
    f = fit_power_law_offset(x, y)
    np.testing.assert_allclose([f.offset, f.prefactor, f.exponent], [0.2, 5.0, 0.6], rtol=1e-4)
    g = fit_power_law_offset(x, 5.0 * x**-0.6)  # no offset: L_inf pinned at its bound 0
    assert g.offset >= 0 and abs(g.exponent - 0.6) < 1e-3


def test_bootstrap_ci_covers_truth_and_shrinks_with_members():
    rng = np.random.default_rng(0)
    x = np.geomspace(10, 1000, 12)
    truth = 0.5

    def members(n):
        return 2 * x**-truth * np.exp(0.1 * rng.standard_normal((n, x.size)))

    small = bootstrap_exponent(x, members(8), n_boot=500, seed=1)
    big = bootstrap_exponent(x, members(128), n_boot=500, seed=1)
    assert small.ci[0] <= truth <= small.ci[1]
    assert big.ci[0] <= truth <= big.ci[1]
    assert big.ci[1] - big.ci[0] < 0.5 * (small.ci[1] - small.ci[0])
    off = bootstrap_exponent(x, 0.1 + members(32), fit="offset", n_boot=200, seed=2)
    assert off.ci[0] <= truth <= off.ci[1]


def test_bootstrap_uses_the_library_resampler_and_interval():
    from scalesim.stats import percentile_ci, resample_indices

    rng = np.random.default_rng(5)
    x = np.geomspace(10, 1000, 8)
    Y = 3 * x**-0.4 * np.exp(0.05 * rng.standard_normal((6, x.size)))
    b = bootstrap_exponent(x, Y, n_boot=64, seed=7, level=0.9)
    idx = resample_indices(6, 64, seed=7)
    expect = [float(fit_power_law(x, Y[i].mean(0)).exponent) for i in idx]
    np.testing.assert_allclose(b.samples, expect, rtol=1e-12)
    assert b.ci == percentile_ci(b.samples, 0.9)
    assert b.estimate == pytest.approx(float(fit_power_law(x, Y.mean(0)).exponent), rel=1e-12)


def test_fit_is_differentiable():
    x = np.geomspace(1, 100, 10)
    g = jax.grad(lambda a: fit_power_law(x, x**-a).exponent)(0.7)
    np.testing.assert_allclose(g, 1.0, rtol=1e-8)


@pytest.mark.parametrize(
    "x, y, msg",
    [
        ([1, 2, 3], [1, np.nan, 3], "NaN"),
        ([1, 2, 3], [1, -1, 3], "> 0"),
        ([0, 2, 3], [1, 2, 3], "x must be finite and > 0"),
        ([1], [1], ">= 2 points"),
    ],
)
def test_bad_input_raises(x, y, msg):
    with pytest.raises(ValueError, match=msg):
        fit_power_law(np.asarray(x, float), np.asarray(y, float))


def test_comparison_record():
    r = comparison("exp", 0.52, (0.5, 0.54), 0.55, tol=0.02, window=[1, 2])
    assert r == {"quantity": "exp", "measured": 0.52, "ci": [0.5, 0.54], "theory": 0.55, "agrees": True,
                 "tol": 0.02, "window": [1, 2]}
    assert comparison("exp", 0.52, (0.5, 0.54), 0.57, tol=0.02)["agrees"] is False
    assert comparison("exp", float("nan"), (float("nan"),) * 2, 0.5)["agrees"] is False
    assert "NO" in format_table([comparison("exp", 0.52, (0.5, 0.54), 0.6)])
