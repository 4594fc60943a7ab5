"""Theory vs simulation for online SGD on power-law linear regression."""

import jax
import numpy as np
import optax
import pytest

from scalesim.engine import train_ensemble
from scalesim.fit.powerlaw import fit_power_law
from scalesim.models import linear_sgd as lin
from scalesim.rng import root_key
from scalesim.theory import linear_sgd as th


def sgd(h):
    return optax.sgd(h.lr)


def test_closed_form_equals_stepping():
    lam, c0 = th.power_law_problem(64, 2.2, 1.3)
    eta = 0.4 / float(lam.sum())
    steps = np.array([0, 1, 7, 100, 999])
    for batch, sigma2 in ((1, 0.0), (3, 0.05)):
        stepped = np.asarray(th.sgd_risk(lam, c0, eta, batch, sigma2, 999))[steps]
        closed = np.asarray(th.sgd_risk_at(lam, c0, eta, batch, sigma2, steps.astype(float)))
        np.testing.assert_allclose(closed, stepped, rtol=1e-9)


def test_recursion_matches_simulation_within_2_percent():
    """Exact theory: seed-averaged SGD (512 members) within 2% of the recursion for t >= 30."""
    d, a, b, B, sigma = 48, 2.5, 1.5, 2, 0.1
    lam, c0 = th.power_law_problem(d, a, b)
    eta = 0.5 / float(lam.sum())
    rec = np.unique(np.geomspace(1, 600, 14).astype(int))
    rec = np.concatenate([[0], rec])
    res = train_ensemble(lin.MODEL, lin.Config(d=d, dtype="float64"), lin.make_hyper(eta, np.full(512, a), b, sigma),
                         sgd, key=root_key(0), steps=600, batch_size=B, record_steps=rec)
    sim = res.metrics["mse"].mean(0)
    theory = np.asarray(th.sgd_risk_at(lam, c0, eta, B, sigma**2, rec.astype(float)))
    late = rec >= 30
    np.testing.assert_allclose(sim[late], theory[late], rtol=0.02)
    np.testing.assert_allclose(sim[0], theory[0], rtol=1e-12)  # t = 0 is deterministic


def test_time_exponent_from_recursion_matches_a_minus_1_over_b():
    """Diffrax-style order test on the exact theory: d = 2e4 (finite-d tail < 2%), fit t in [100, 3e4]."""
    for a, b in ((2.0, 1.5), (2.5, 2.0)):
        lam, c0 = th.power_law_problem(20000, a, b)
        eta = 0.5 / float(lam.sum())
        t = np.geomspace(100, 3e4, 12)
        risk = np.asarray(th.sgd_risk(lam, c0, eta, 1, 0.0, 30000))[t.round().astype(int)]
        order = float(fit_power_law(t, risk).exponent)
        assert abs(order - float(th.time_exponent(a, b))) < 0.02 * float(th.time_exponent(a, b))


def test_theory_gradients_match_finite_differences():
    lam, c0 = th.power_law_problem(32, 2.0, 1.5)

    def risk(eta, sig2):
        return th.sgd_risk_at(lam, c0, eta, 2, sig2, np.array([50.0]))[0]

    g = jax.grad(risk, argnums=(0, 1))(0.2, 0.01)
    eps = 1e-6
    fd_eta = (risk(0.2 + eps, 0.01) - risk(0.2 - eps, 0.01)) / (2 * eps)
    fd_sig = (risk(0.2, 0.01 + eps) - risk(0.2, 0.01 - eps)) / (2 * eps)
    np.testing.assert_allclose(g, [fd_eta, fd_sig], rtol=1e-5)
    ga = jax.grad(lambda a: th.time_limited_risk(a, 1.5, 100.0))(2.0)
    fa = (th.time_limited_risk(2.0 + eps, 1.5, 100.0) - th.time_limited_risk(2.0 - eps, 1.5, 100.0)) / (2 * eps)
    np.testing.assert_allclose(ga, fa, rtol=1e-5)


def test_stability_and_sgd_noise_exponent():
    lam, _ = th.power_law_problem(100, 2.0, 1.5)
    assert th.kernel_norm(lam, 0.5 / float(lam.sum()), 1) < 1
    assert th.kernel_norm(lam, 1.5 / float(lam.sum()), 1) > 1
    assert th.kernel_norm(lam, 2.5 / float(lam.sum()), 1) == np.inf  # eta lam_max > 2B/(B+1)
    assert float(th.sgd_time_exponent(2.0, 1.5)) == pytest.approx(2 / 3)
    assert float(th.sgd_time_exponent(4.0, 1.5)) == pytest.approx(2 - 1 / 1.5)  # noise-limited when a > 2b


def test_declared_time_exponents():
    ex = th.exponents(a=2.0, b=1.5)
    assert ex["time"].value == float(th.sgd_time_exponent(2.0, 1.5)) == pytest.approx(2 / 3)
    assert ex["time_gradient_flow"].value == pytest.approx(2 / 3)
    assert th.exponents(a=4.0, b=1.5)["time"].value == pytest.approx(2 - 1 / 1.5)  # SGD-noise limited
    assert ex["time"].ref() == {"module": "scalesim.theory.linear_sgd", "name": "time", "params": {"a": 2.0, "b": 1.5}}
    with pytest.raises(ValueError, match="a must be > 1"):
        th.exponents(a=1.0, b=1.5)


def test_spectrum_and_teacher_are_the_power_law_problem():
    lam, c0 = th.power_law_problem(50, 2.5, 1.5)
    np.testing.assert_array_equal(lin.spectrum(50, 1.5, lam.dtype), lam)
    np.testing.assert_allclose(np.asarray(lin.teacher(50, 2.5, 1.5, lam.dtype)) ** 2, c0, rtol=1e-14)


@pytest.mark.parametrize("kw, msg", [({"a": 0.5}, "a must be > 1"), ({"b": -1.0}, "b must be > 0"),
                                     ({"lr": 0.0}, "lr must be > 0"), ({"sigma": -0.1}, "sigma must be >= 0")])
def test_invalid_hyper_raises(kw, msg):
    args = {"lr": 0.1, "a": 2.0, "b": 1.5, "sigma": 0.0} | kw
    with pytest.raises(ValueError, match=msg):
        lin.make_hyper(**args)
    if "a" in kw or "b" in kw:
        with pytest.raises(ValueError, match=msg):
            th.power_law_problem(10, args["a"], args["b"])


@pytest.mark.slow
def test_sgd_powerlaw_full_experiment_agrees(tmp_path):
    from scalesim.experiments import REGISTRY, run_experiment

    records = run_experiment(REGISTRY["sgd-powerlaw"], tmp_path, quick=False, progress=False)
    assert all(r["agrees"] for r in records), [r for r in records if not r["agrees"]]


def test_sgd_powerlaw_quick_experiment_agrees(quick_results):
    from scalesim.experiments import REGISTRY, run_experiment

    records = run_experiment(REGISTRY["sgd-powerlaw"], quick_results / "sgd-powerlaw-quick", quick=True, progress=False)
    exps = [r for r in records if r["quantity"].startswith("time_exponent")]
    assert len(exps) == 3 and all(r["agrees"] for r in records), records
