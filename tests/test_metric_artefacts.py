"""Emergence as a metric artefact: closed-form identities, finite test sets, the metric algebra
on trained sequences, validation, and the quick experiment."""

from __future__ import annotations

import dataclasses
import math

import jax
import numpy as np
import pytest

from scalesim.experiments import emergence_metrics as exp
from scalesim.experiments._metric_fits import loglog_mle
from scalesim.experiments._metric_trained import sequence_stats
from scalesim.theory import metric_artefacts as ma

ALPHA, C = 0.37, 250.0


def test_loglog_slope_is_minus_alpha_on_exact_curves():
    n = np.geomspace(1.0, 1e9, 60)
    for L in (1, 3, 10, 64):
        em = np.asarray(ma.exact_match(n, alpha=ALPHA, c=C, length=L))
        y = np.log(-np.log(em))
        slope = np.polyfit(np.log(n), y, 1)[0]
        assert abs(slope - (-ALPHA)) < 1e-6
        assert np.allclose(y, np.asarray(ma.log_neg_log_exact_match(n, alpha=ALPHA, c=C, length=L)), atol=1e-9)
        # edit distance is L (1 - p) and the PassUntil law with a = L c^alpha is the same curve
        p = np.asarray(ma.token_prob(n, alpha=ALPHA, c=C))
        assert np.allclose(np.asarray(ma.edit_distance(n, alpha=ALPHA, c=C, length=L)), L * (1 - p), rtol=1e-12)
        a = ma.pass_until_coeff(alpha=ALPHA, c=C, length=L)
        assert np.allclose(np.asarray(ma.pass_until(n, alpha=ALPHA, coeff=a)), em, rtol=1e-12, atol=0)


def test_n50_scales_as_length_to_one_over_alpha_and_window_is_length_free():
    lengths = np.array([1.0, 2.0, 5.0, 20.0, 100.0])
    n50 = np.array([float(ma.n50(alpha=ALPHA, c=C, length=L)) for L in lengths])
    for L, n in zip(lengths, n50):  # N_50 really is where EM = 1/2
        assert abs(float(ma.exact_match(n, alpha=ALPHA, c=C, length=L)) - 0.5) < 1e-12
    assert abs(np.polyfit(np.log(lengths), np.log(n50), 1)[0] - 1 / ALPHA) < 1e-9
    widths = [math.log(float(ma.n_at_level(0.9, alpha=ALPHA, c=C, length=L)) /
                       float(ma.n_at_level(0.1, alpha=ALPHA, c=C, length=L))) for L in lengths]
    want = math.log(math.log(10) / -math.log(0.9)) / ALPHA
    assert np.allclose(widths, want, rtol=1e-12)
    assert abs(float(ma.window_width(ALPHA)) - want) < 1e-12
    ex = ma.exponents(alpha=ALPHA, c=C, length=5.0)
    assert ex["window_10_90"].value == pytest.approx(want, rel=1e-12)
    assert ex["log_n50"].value == pytest.approx(math.log(n50[2]), rel=1e-12)
    assert ex["log_mc_threshold"].value == pytest.approx(math.log(float(ma.mc_threshold(alpha=ALPHA, c=C))), rel=1e-12)
    p_at = float(ma.token_prob(float(ma.mc_threshold(alpha=ALPHA, c=C)), alpha=ALPHA, c=C))
    assert abs(p_at - 0.5) < 1e-12


def test_grad_of_exact_match_wrt_alpha_matches_finite_differences():
    f = lambda a: ma.exact_match(3e3, alpha=a, c=C, length=8.0)
    g = float(jax.grad(f)(ALPHA))
    h = 1e-6
    fd = (float(f(ALPHA + h)) - float(f(ALPHA - h))) / (2 * h)
    assert np.isfinite(g) and abs(g - fd) < 1e-7 * max(1.0, abs(fd))
    # analytic: d/dalpha exp(-L x^-a) = EM * L x^-a ln x, x = N/c
    x = 3e3 / C
    assert g == pytest.approx(float(f(ALPHA)) * 8.0 * x ** -ALPHA * math.log(x), rel=1e-10)


def test_finite_test_sets_recover_slope_and_n50():
    """Binomial MLE over every grid point (zeros included) vs the closed form; 20 test sets."""
    n = np.geomspace(1.0, 1e8, 41)
    L, n_test = 8, 2000
    em = np.asarray(ma.exact_match(n, alpha=0.5, c=100.0, length=L))
    rng = np.random.default_rng(7)
    fits = np.array([loglog_mle(np.log(n), rng.binomial(n_test, em), n_test) for _ in range(20)])
    slopes = fits[:, 1]
    se = slopes.std(ddof=1) / np.sqrt(len(slopes))
    assert abs(slopes.mean() + 0.5) < max(4 * se, 1e-4)  # unbiased within 4 SE of the mean
    assert np.all(np.abs(slopes + 0.5) < 0.02 * 0.5 + 4 * slopes.std(ddof=1))  # each within 2 % + 4 SD
    ln50 = (np.log(np.log(2)) - fits[:, 0]) / fits[:, 1]
    assert abs(ln50.mean() - math.log(float(ma.n50(alpha=0.5, c=100.0, length=L)))) < 4 * ln50.std(ddof=1) / np.sqrt(20)
    # resolution: EM below 1/n_test reads 0, and the fit still uses those points
    assert (rng.binomial(n_test, em) == 0).sum() >= 5


def test_metric_algebra_on_sequences_within_4_se():
    """Heterogeneous per-token p (bimodal as in the quanta task): EM of sampled tokens is (E p)^L,
    greedy EM q^L, greedy edit L (1 - q); exp(-CE)^L underestimates the sampled EM."""
    rng = np.random.default_rng(3)
    M, n_cal, n_test, L = 2, 50000, 4000, 6

    def draw(size):
        learned = rng.random(size) < 0.7
        return np.where(learned, rng.beta(30, 1, size), rng.beta(8, 8, size))

    p_cal = draw((M, n_cal))
    p_test = draw((M, n_test, L))
    sampled = rng.random(p_test.shape) < p_test
    stats = sequence_stats(p_cal, p_test, sampled, L)
    for name, (meas, pred, se_m, se_p) in stats.items():
        assert abs(meas - pred) <= 4 * math.hypot(se_m, se_p), (name, meas, pred)
    geo = np.exp(np.log(p_cal).mean()) ** L
    assert geo < stats["em_sampled"][1] - 10 * math.hypot(*stats["em_sampled"][2:])


@pytest.mark.parametrize("kwargs,field", [
    ({"alpha": 0.0, "c": 1.0}, "alpha"), ({"alpha": -1.0, "c": 1.0}, "alpha"), ({"alpha": 0.5, "c": 0.0}, "c"),
])
def test_theory_validation(kwargs, field):
    with pytest.raises(ValueError, match=field):
        ma.token_loss(10.0, **kwargs)


def test_theory_length_and_settings_validation():
    with pytest.raises(ValueError, match="length"):
        ma.exact_match(10.0, alpha=0.5, c=1.0, length=0.5)
    with pytest.raises(ValueError, match="alpha"):
        ma.exponents(alpha=-0.1)
    base = exp.settings(True)
    for field, bad in (("lengths", (0, 4)), ("alpha", 0.0), ("alpha", -1.0), ("n_test", 0), ("c", -1.0),
                       ("n_max", 0.5), ("widths", ()), ("n_tasks", 300)):
        with pytest.raises(ValueError, match=field) as e:
            dataclasses.replace(base, **{field: bad})
        assert "\n" not in str(e.value)


def test_quick_analytic_part_agrees():
    """The analytic half of the quick run: every record agrees (no training; a few seconds)."""
    s = exp.settings(True)
    metrics, arrays = exp.run_point(exp.Point("analytic", 0), s)

    class Run:
        pass

    run = Run()
    run.metrics, run.arrays = metrics, arrays
    recs = exp.summarize([run], s)
    assert len(recs) == 6 * len(s.lengths) + 2
    bad = [r for r in recs if not r["agrees"]]
    assert not bad, bad


def test_grid_check_is_calibrated_under_the_null_and_sees_a_shift():
    """The grid-corrected exact binomial check: under the null (counts drawn at the theory's
    probabilities on the analytic grid, including tiny n p) it exceeds the 5 % two-sided normal
    deviate at most ~5 % of the time (Bonferroni is conservative); a 15 % relative shift of one
    mid-grid probability is seen."""
    s = exp.settings(True)
    grid = exp.n_grid(s)
    prob = np.asarray(ma.exact_match(grid, alpha=s.alpha, c=s.c, length=4), float)
    rng = np.random.default_rng(7)
    z = np.array([exp._grid_z(rng.binomial(s.n_test, prob), s.n_test, prob) for _ in range(400)])
    assert np.mean(z > 1.96) <= 0.07
    assert np.mean(z > s.z_max) == 0.0
    mid = int(np.argmin(np.abs(prob - 0.5)))
    k = np.round(s.n_test * prob).astype(int)
    k[mid] = int(round(s.n_test * prob[mid] * 1.15))
    assert exp._grid_z(k, s.n_test, prob) > s.z_max


@pytest.mark.slow
def test_quick_experiment_all_records_agree(tmp_path):
    from scalesim.experiments import run_experiment

    recs = run_experiment(exp.EXPERIMENT, tmp_path / "q", quick=True, progress=False, stream=None)
    assert recs and all(r["agrees"] for r in recs), [r for r in recs if not r["agrees"]]
    assert any(r["quantity"].startswith("em_greedy[") for r in recs)
    assert (tmp_path / "q" / "figure.png").is_file()
