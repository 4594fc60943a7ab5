"""More laws through one interface: recovery on synthetic data, real-data extrapolation."""

import numpy as np
import pytest

from scalesim.datasets import load_bnsl_4digit_addition, load_epoch_chinchilla
from scalesim.fit import curves as cv
from scalesim.fit import laws as lw


def test_kaplan_recovers_published_constants():
    """Kaplan et al. 2020 Eq. 1.5 constants (Sec. 1.2), noise-free."""
    rng = np.random.default_rng(0)
    N, D = 10 ** rng.uniform(7, 10, 120), 10 ** rng.uniform(9, 11, 120)
    true = {"N_c": 8.8e13, "D_c": 5.4e13, "alpha_N": 0.076, "alpha_D": 0.095}
    y = ((true["N_c"] / N) ** (true["alpha_N"] / true["alpha_D"]) + true["D_c"] / D) \
        ** true["alpha_D"]
    fit = lw.fit_law(lw.KAPLAN, {"N": N, "D": D}, y)
    for k, v in true.items():
        assert fit.params[k] == pytest.approx(v, rel=1e-6), k


@pytest.mark.slow
def test_lr_annealing_recovers_and_transfers_across_schedules():
    """Tissue et al. 2024: fit on a WSD schedule, predict a cosine schedule."""
    peak, T = 3e-4, 2000
    wsd = peak * np.concatenate([np.ones(1600), np.linspace(1.0, 0.0, 400)])
    cos = peak * 0.5 * (1 + np.cos(np.pi * np.arange(T) / T))
    true = {"L0": 2.0, "A": 0.3, "alpha": 0.5, "C": 2.0}

    def law(lrs):
        S1, S2 = lw.annealing_areas(lrs)
        return S1, S2, true["L0"] + true["A"] * S1 ** -true["alpha"] - true["C"] * S2

    S1, S2, L = law(wsd)
    fit = lw.fit_law(lw.LR_ANNEALING, {"S1": S1[10:], "S2": S2[10:]}, L[10:])
    for k, v in true.items():
        assert fit.params[k] == pytest.approx(v, rel=1e-6), k
    S1c, S2c, Lc = law(cos)
    np.testing.assert_allclose(fit.predict({"S1": S1c[10:], "S2": S2c[10:]}), Lc[10:],
                               rtol=1e-6)


def test_annealing_areas_limits():
    lrs = np.array([1.0, 1.0, 0.5, 0.25, 0.25])
    S1, S2 = lw.annealing_areas(lrs, lam=0.0)   # lam = 0: m_i = eta_{i-1} - eta_i
    np.testing.assert_allclose(S1, np.cumsum(lrs))
    np.testing.assert_allclose(S2, np.cumsum([0, 0, 0.5, 0.25, 0]))
    with pytest.raises(ValueError, match="lam"):
        lw.annealing_areas(lrs, lam=1.0)


def test_bnsl_extrapolates_4digit_addition():
    """Caballero et al. 2023 Fig. 4 (left): fit 14 points, extrapolate the last 3."""
    b = load_bnsl_4digit_addition()
    fit = lw.fit_law(lw.BNSL1, {"x": b["x"][b["fit"]]}, b["y"][b["fit"]])
    pred = fit.predict({"x": b["x"][~b["fit"]]})
    rmsle = np.sqrt(np.mean((np.log1p(pred) - np.log1p(b["y"][~b["fit"]])) ** 2))
    assert rmsle < 0.02, rmsle


@pytest.mark.slow
def test_heldout_extrapolation_comparison_on_epoch_data():
    """Hitchhiker's-guide-style check: fit below the top-10% compute, score on the top."""
    d = load_epoch_chinchilla()
    hold = d["C"] >= np.quantile(d["C"], 0.9)
    X = {"N": d["N"], "D": d["D"]}
    tr = {k: v[~hold] for k, v in X.items()}
    te = {k: v[hold] for k, v in X.items()}
    are = {}
    for law in (lw.CHINCHILLA, lw.KAPLAN, lw.FARSEER):
        fit = lw.fit_law(law, tr, d["L"][~hold])
        are[law.name] = lw.extrapolation_error(fit, te, d["L"][hold])
    assert all(0 < v < 0.05 for v in are.values()), are
    assert are["chinchilla"] < are["kaplan"], are   # the additive form extrapolates better


@pytest.mark.slow
def test_muennighoff_recovers_repetition_constant():
    rng = np.random.default_rng(3)
    N = 10 ** rng.uniform(8, 10, 150)
    U = 10 ** rng.uniform(9, 10, 150)
    D = U * rng.uniform(1, 40, 150)
    true = {"E": 1.87, "A": 521.0, "B": 1488.0, "alpha": 0.353, "beta": 0.353, "R_star": 15.4}
    R = D / U - 1
    Dp = U + U * true["R_star"] * (1 - np.exp(-R / true["R_star"]))
    y = true["E"] + true["A"] * N ** -true["alpha"] + true["B"] * Dp ** -true["beta"]
    fit = lw.fit_law(lw.MUENNIGHOFF, {"N": N, "D": D, "U": U}, y)
    for k, v in true.items():
        assert fit.params[k] == pytest.approx(v, rel=1e-4), k


@pytest.mark.slow
def test_beta_binomial_passk_exponent():
    """Schaeffer et al. 2025: the pass@k power-law exponent is the Beta's a."""
    rng = np.random.default_rng(0)
    p = rng.beta(0.3, 3.0, 3000)
    x = rng.binomial(200, p)
    r = cv.fit_beta_binomial(x, 200)
    assert r["a"] == pytest.approx(0.3, rel=0.1)
    assert cv.passk_exponent(r["a"], r["b"], 1e5, 1e7) == pytest.approx(r["a"], rel=0.02)
    k = np.array([1.0, 10.0, 100.0])
    np.testing.assert_allclose(cv.pass_at_k(r["a"], r["b"], k)[0], r["a"] / (r["a"] + r["b"]))


def test_m4_recovers_synthetic_curve():
    true = {"eps_inf": 0.2, "eps0": 1.0, "alpha": 0.6, "beta": 30.0, "c": -0.4}
    xs = np.geomspace(1e3, 1e7, 30)
    e = cv.m4_predict(true, xs)
    fit = cv.fit_m4(xs, e)
    for k, v in true.items():
        assert fit[k] == pytest.approx(v, rel=1e-5), k
    np.testing.assert_allclose(cv.m4_predict(fit, xs * 10), cv.m4_predict(true, xs * 10),
                               rtol=1e-6)


def test_law_input_errors():
    with pytest.raises(ValueError, match="missing"):
        lw.fit_law(lw.KAPLAN, {"N": np.ones(5)}, np.ones(5))
    with pytest.raises(ValueError, match="> 0"):
        lw.fit_law(lw.BNSL1, {"x": np.arange(1.0, 6.0)}, -np.ones(5))
