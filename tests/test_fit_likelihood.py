"""Huber-likelihood estimator: Besiroglu et al. 2024's headline estimate (oracle 2)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import quad

from scalesim.datasets import load_epoch_chinchilla
from scalesim.fit import chinchilla as ch
from scalesim.fit import likelihood as lk

ORACLE2 = {"A": 482.0, "B": 2085.0, "E": 1.8169, "alpha": 0.3478, "beta": 0.3659}


@pytest.mark.parametrize("delta", [1e-3, 0.5, 1.345])
def test_huber_density_normalises(delta):
    with jax.enable_x64(True):
        z = np.exp(float(lk.huber_log_normaliser(jnp.float64(delta))))
    core, _ = quad(lambda x: np.exp(-0.5 * x * x), -delta, delta)
    tail = 2 * np.exp(-0.5 * delta ** 2) / delta
    assert z == pytest.approx(core + tail, rel=1e-10)


def test_oracle2_epoch_headline_estimate():
    d = load_epoch_chinchilla()
    fit = lk.fit_huber_likelihood(d["N"], d["D"], d["L"])
    for k, ref in ORACLE2.items():
        assert float(f"{fit.params[k]:.4g}") == pytest.approx(ref, rel=2e-4), (k, fit.params[k])
    assert fit.converged
    # it is a different estimator from pure Huber minimisation (oracle 1: B = 2143)
    assert abs(fit.params["B"] - 2143) > 30
    assert 0 < fit.extra["sigma"] < 1e-3
