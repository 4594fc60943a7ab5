"""Sampling laws: the unbiased pass@k estimator, the exact pass_D@k of a scaled-Beta benchmark,
its power law, PassUntil, and the ``pass-at-k`` experiment."""

from decimal import Decimal, localcontext
import numpy as np
import pytest
from scipy import stats as sps
from scipy.special import comb

from scalesim.fit import curves
from scalesim.models import sampling as model
from scalesim.rng import root_key
from scalesim.simulator import run_simulator
from scalesim.stats import pass_at_k_unbiased
from scalesim.theory import sampling as theory


def test_chen_estimator_exact_enumeration():
    """sum_c Bin(c; n, p) (1 - C(n-c, k)/C(n, k)) = 1 - (1 - p)^k, and the product form = the binomials."""
    n, ks = 40, np.array([1, 3, 10, 40])
    c = np.arange(n + 1)
    est = np.asarray(pass_at_k_unbiased(c, n, ks))
    ref = 1.0 - comb(n - c[:, None], ks[None, :]) / comb(n, ks[None, :])
    np.testing.assert_allclose(est, ref, rtol=0, atol=1e-13)
    for p in (1e-3, 0.2, 0.7):
        mean = sps.binom.pmf(c, n, p) @ est
        np.testing.assert_allclose(mean, 1.0 - (1.0 - p) ** ks, rtol=0, atol=1e-12)
    assert float(pass_at_k_unbiased(3, 10, 10)) == 1.0        # n - c < k: every k-subset has a success
    assert float(pass_at_k_unbiased(0, 10, 1)) == 0.0


def test_chen_estimator_mean_over_draws_and_plugin_bias():
    n, k, p, draws = 50, 10, 0.05, 200_000
    x = np.random.default_rng(0).binomial(n, p, draws)
    est = np.asarray(pass_at_k_unbiased(x, n, k))
    truth = 1.0 - (1.0 - p) ** k
    se = est.std(ddof=1) / np.sqrt(draws)
    assert abs(est.mean() - truth) < 4 * se
    plug = 1.0 - (1.0 - x / n) ** k
    assert plug.mean() < truth - 4 * plug.std(ddof=1) / np.sqrt(draws)   # the plug-in is biased low


@pytest.mark.parametrize("k", [0, 11, [1, 11], 2.5])
def test_chen_estimator_needs_k_le_n(k):
    with pytest.raises(ValueError, match=r"^k must be integer\(s\) in \[1, n=10\]"):
        pass_at_k_unbiased(np.arange(3), 10, k)


def _hyp2f1(a, b, c, k):
    """2F1(-k, a; a+b; c) as its terminating series in 400-digit decimal arithmetic (stdlib)."""
    a, b, c = Decimal(a), Decimal(b), Decimal(c)
    with localcontext() as ctx:
        ctx.prec = 400  # the alternating terms reach ~2^k = 1e301 at k = 1000
        term, total = Decimal(1), Decimal(1)
        for j in range(k):
            term *= (j - k) * (a + j) / ((a + b + j) * (j + 1)) * c
            total += term
        return float(total)


@pytest.mark.parametrize("a,b,c", [(0.3, 3.0, 0.5), (0.05, 0.5, 0.9), (2.0, 0.4, 0.7), (0.6, 1.5, 0.999)])
def test_quadrature_vs_exact_series(a, b, c):
    """F(k) = 2F1(-k, a; a+b; c) (terminating series at 60 digits) vs the log-space quadrature."""
    ks = np.array([1.0, 7.0, 100.0, 1000.0])
    got = np.exp(np.asarray(theory.log_fail(a, b, ks, c)))
    want = np.array([_hyp2f1(a, b, c, int(k)) for k in ks])
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_quadrature_continuous_at_c_one_and_closed_form_is_fit_curves():
    ks = np.array([1.0, 30.0, 1e4, 1e7])
    near = np.asarray(theory.log_fail(0.4, 2.0, ks, 1.0 - 1e-9))
    one = np.asarray(theory.log_fail(0.4, 2.0, ks, 1.0))
    np.testing.assert_allclose(near, one, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(theory.pass_at_k(0.4, 2.0, ks)), curves.pass_at_k(0.4, 2.0, ks), rtol=1e-13)


def test_asymptotic_exponent_and_its_slow_approach():
    a, b, c = 0.3, 3.0, 0.5
    ks = np.array([16.0, 100.0, 256.0, 1e10, 1e12])      # one array shape: one compilation
    loc = np.asarray(theory.local_exponent(a, b, ks, c))
    np.testing.assert_allclose(loc[3:], a, rtol=2e-3)
    ratio = np.asarray(theory.neg_log_pass_at_k(a, b, ks, c)) / np.asarray(theory.asymptote(a, b, ks, c))
    np.testing.assert_allclose(ratio[3:], 1.0, rtol=2e-3)
    # within a sampling budget the slope is far from a (state which exponent a test means)
    assert loc[1] > a + 0.05
    slope = theory.window_slope(a, b, [16, 32, 64, 128, 256], c)
    assert min(loc[0], loc[2]) < slope < max(loc[0], loc[2])
    # a point mass at zero stops the power law: -log pass -> -log(1 - w)
    np.testing.assert_allclose(np.asarray(theory.neg_log_pass_at_k(a, b, ks * 1e2, c, 0.2))[-1], -np.log(0.8),
                               rtol=1e-3)


@pytest.fixture(scope="module")
def benchmark():
    cfg = model.Config(problems=4000, samples=64, ks=(1, 4, 16, 64), pu_instances=4000, pu_r=3, pu_max=10**7,
                       dtype="float64")
    hyper = model.make_hyper(a=[0.6, 0.3], b=[1.5, 3.0], c=[0.5, 1.0], zero_mass=[0.0, 0.2], pu_rate=[1e-3, 1e-4])
    return cfg, hyper, run_simulator(model.SIMULATOR, cfg, hyper, key=root_key(3))


def test_rates_are_scaled_beta_with_point_mass(benchmark):
    cfg, hyper, out = benchmark
    assert sps.kstest(out["rates"][0] / 0.5, sps.beta(0.6, 1.5).cdf).pvalue > 1e-3
    zero = out["rates"][1] == 0
    assert abs(zero.mean() - 0.2) < 4 * np.sqrt(0.2 * 0.8 / zero.size)
    assert sps.kstest(out["rates"][1][~zero], sps.beta(0.3, 3.0).cdf).pvalue > 1e-3


def test_exact_pass_at_k_vs_monte_carlo(benchmark):
    """Chen estimates averaged over problems vs the exact curve, within 4 bootstrap SE over problems."""
    cfg, hyper, out = benchmark
    rng = np.random.default_rng(0)
    for m in range(2):
        est = np.asarray(pass_at_k_unbiased(out["successes"][m], cfg.samples, np.array(cfg.ks)))   # [P, K]
        np.testing.assert_allclose(est.mean(0), out["pass_at_k"][m], rtol=1e-12)
        boot = est[rng.integers(0, est.shape[0], (300, est.shape[0]))].mean(1)
        want = np.asarray(theory.pass_at_k(hyper.a[m], hyper.b[m], np.array(cfg.ks, float), hyper.c[m],
                                           hyper.zero_mass[m]))
        assert np.all(np.abs(est.mean(0) - want) < 4 * boot.std(0, ddof=1)), (m, est.mean(0), want)


def test_passuntil_estimators(benchmark):
    cfg, hyper, out = benchmark
    for m in range(2):
        p, r = hyper.pu_rate[m], cfg.pu_r
        K = out["pu_attempts"][m]
        assert not out["pu_censored"][m].any()        # P(censored) < 1e-40 at K_max = 1e7
        for v, want in (((r - 1) / (K - 1), p), (r / K, float(theory.passuntil_mle_mean(p, r)))):
            assert abs(v.mean() - want) < 4 * v.std(ddof=1) / np.sqrt(v.size), (m, v.mean(), want)
        zero = out["pu_fixed"][m] == 0
        q = (1 - p) ** cfg.samples
        assert abs(zero.mean() - q) < 4 * np.sqrt(q * (1 - q) / zero.size) + 1e-12


def test_passuntil_theory_closed_forms_and_censoring():
    p = np.array([1e-6, 1e-4, 0.3])
    np.testing.assert_allclose(np.asarray(theory.passuntil_mle_mean(p, 1)), -p * np.log(p) / (1 - p), rtol=1e-11)
    np.testing.assert_allclose(np.asarray(theory.passuntil_censored(p, 3, 10**5)), sps.binom.cdf(2, 10**5, p),
                               rtol=1e-9)
    # Monte Carlo of the censored sampler: censored fraction and the pooled MLE
    import jax.numpy as jnp
    att, succ, cens = model.passuntil(root_key(1), 1e-4, 2, 20_000, 20_000, jnp.float64)
    att, succ, cens = np.asarray(att), np.asarray(succ), np.asarray(cens)
    q = float(theory.passuntil_censored(1e-4, 2, 20_000))
    assert abs(cens.mean() - q) < 4 * np.sqrt(q * (1 - q) / cens.size)
    assert np.all(att[cens] == 20_000) and np.all(succ[cens] < 2) and np.all(succ[~cens] == 2)
    pooled = succ.sum() / att.sum()
    assert abs(pooled - 1e-4) < 4 * 1e-4 / np.sqrt(succ.sum())


def test_pu_scaling_law_is_linear_in_loglog():
    n = np.geomspace(1e6, 1e10, 9)
    y = np.log(-np.log(np.asarray(theory.pu_scaling(n, 30.0, 0.4))))
    np.testing.assert_allclose(np.diff(y) / np.diff(np.log(n)), theory.exponents(alpha=0.4)["pu_loglog_slope"].value,
                               rtol=1e-10)


@pytest.mark.parametrize("make,field", [
    (lambda: model.Config(samples=10, ks=(1, 20)), "ks"),
    (lambda: model.Config(pu_r=0), "pu_r"),
    (lambda: model.Config(pu_r=5, pu_max=3), "pu_max"),
    (lambda: model.make_hyper(a=0.0, b=1.0), "a"),
    (lambda: model.make_hyper(a=1.0, b=-1.0), "b"),
    (lambda: model.make_hyper(a=1.0, b=1.0, c=1.5), "c"),
    (lambda: model.make_hyper(a=1.0, b=1.0, c=0.0), "c"),
    (lambda: model.make_hyper(a=1.0, b=1.0, zero_mass=1.0), "zero_mass"),
    (lambda: theory.pass_at_k(-1.0, 1.0, 3.0), "a"),
    (lambda: theory.log_fail(1.0, 1.0, 3.0, 2.0), "c"),
    (lambda: theory.passuntil_mle_mean(1e-3, 0), "r"),
])
def test_validation_names_the_field(make, field):
    with pytest.raises(ValueError, match=rf"^{field}\b"):
        make()


def test_experiment_settings_validation():
    from scalesim.experiments.pass_at_k import Settings
    for kw, field in (({"c_values": (1.0, 0.5, 2.0)}, "c_values"), ({"a_values": (0.3, 0.6)}, "a_values"),
                      ({"pu_r": 0}, "pu_r"), ({"samples": 1}, "samples"), ({"window_lo": 0.999}, "window_lo"),
                      ({"b_values": (3.0, 0.0, 4.0)}, "b_values")):
        with pytest.raises(ValueError, match=field):
            Settings(**kw)


@pytest.mark.slow
def test_quick_experiment_records_all_agree(tmp_path):
    from scalesim.experiments import REGISTRY, run_experiment
    recs = run_experiment(REGISTRY["pass-at-k"], tmp_path, quick=True, progress=False)
    bad = [r["quantity"] for r in recs if not r["agrees"]]
    assert not bad, bad
    assert {r["quantity"].split("[")[0] for r in recs} >= {"pass_at_k", "passk_window_slope", "beta_binomial_a",
                                                           "chen_estimator_bias", "passuntil_pooled_mle",
                                                           "passuntil_unbiased", "fixed_budget_reads_zero"}
