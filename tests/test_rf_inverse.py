"""Inverse fit: recover (a, b) of synthetic learning curves through the differentiable theory."""
import jax
import numpy as np
import pytest

jax.config.update("jax_enable_x64", True)

from scalesim.theory.random_features import Curve, curve_prediction, fit_exponents  # noqa: E402

XS = tuple(np.geomspace(16, 512, 8))


def _synthetic(a, b, amp, kinds, noise, seed=0, **kw):
    rng = np.random.default_rng(seed)
    out = []
    for kind in kinds:
        c = Curve(kind, XS, tuple(np.ones(len(XS))), **kw)
        loss = np.asarray(curve_prediction(a, b, np.log(amp), c, 4000))
        out.append(Curve(kind, XS, tuple(loss * np.exp(noise * rng.standard_normal(len(XS)))), **kw))
    return out


def test_recovers_a_b_from_noisy_model_and_data_curves_within_2_percent():
    a, b = 2.5, 1.2  # b < a - 1 < 2b: model exponent b, data exponent a - 1
    fit = fit_exponents(_synthetic(a, b, 3.0, ("model", "data"), noise=0.01), init=(2.0, 1.5))
    assert fit.a == pytest.approx(a, rel=0.02)
    assert fit.b == pytest.approx(b, rel=0.02)
    assert fit.rms_log_residual < 0.02


def test_recovers_exactly_without_noise_from_finite_p_curve_with_label_noise():
    a, b = 2.2, 1.6
    curves = _synthetic(a, b, 1.0, ("rf",), noise=0.0, n_samples=300.0, ridge=1e-3, sigma2=0.01)
    curves += _synthetic(a, b, 1.0, ("data",), noise=0.0)
    fit = fit_exponents(curves, init=(2.6, 1.2))
    assert fit.a == pytest.approx(a, rel=1e-5)
    assert fit.b == pytest.approx(b, rel=1e-5)


def test_invalid_curves_raise():
    with pytest.raises(ValueError, match="kind"):
        Curve("time", XS, XS)
    with pytest.raises(ValueError, match="loss"):
        Curve("model", XS, tuple(-np.ones(len(XS))))
    with pytest.raises(ValueError, match="n_modes"):
        fit_exponents([Curve("model", XS, XS)], n_modes=100)
