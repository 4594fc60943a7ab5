"""Linear random-feature ridge simulation vs its deterministic equivalent (notes §3.2)."""
import jax
import jax.numpy as jnp
import optax
import numpy as np
import pytest

jax.config.update("jax_enable_x64", True)

from scalesim.engine import train_ensemble  # noqa: E402
from scalesim.models import random_features as mrf  # noqa: E402
from scalesim.rng import root_key  # noqa: E402
from scalesim.theory import random_features as rf  # noqa: E402

# (P samples, N features, ridge, sigma^2): under-/over-parameterised, N = P, noisy, ridgeless.
POINTS = [(100, 300, 1e-3, 0.02), (300, 100, 1e-3, 0.0), (150, 150, 1e-2, 0.0),
          (200, 400, 1e-2, 0.05), (250, 100, 0.0, 0.05)]


@pytest.mark.parametrize("i", range(len(POINTS)))
def test_rf_ridge_simulation_matches_theory_within_3_percent(i):
    p, n, ridge, sigma2 = POINTS[i]
    lam, w2 = rf.power_law_spectrum(2.0, 2.0, 1000)
    sims = np.asarray(mrf.rf_ridge_draws(jax.random.PRNGKey(i), lam, w2, n, p, ridge, sigma2, 40))
    theory = float(rf.rf_error(lam, w2, n, p, ridge, sigma2))
    se = sims.std(ddof=1) / np.sqrt(sims.size) / theory
    assert se < 0.025  # the comparison below is informative at this draw count
    assert sims.mean() / theory == pytest.approx(1.0, abs=0.03)


@pytest.mark.slow
@pytest.mark.parametrize("i", range(5))
def test_note_points_64_draws(i):
    """The five (P, N, ridge, sigma^2) points of notes §3.2 at M = 1500, 64 draws."""
    p, n, ridge, sigma2 = [(100, 400, 1e-3, 0), (400, 100, 1e-3, 0), (200, 200, 1e-3, 0),
                           (300, 600, 1e-2, .05), (600, 300, 1e-4, .05)][i]
    lam, w2 = rf.power_law_spectrum(2.0, 2.0, 1500)
    sims = np.asarray(mrf.rf_ridge_draws(jax.random.PRNGKey(100 + i), lam, w2, n, p, ridge,
                                         sigma2, 64))
    assert sims.mean() / float(rf.rf_error(lam, w2, n, p, ridge, sigma2)) == pytest.approx(
        1.0, abs=0.03)


@pytest.mark.slow
def test_gaussian_teacher_averages_to_fixed_teacher_theory():
    lam, w2 = rf.power_law_spectrum(2.0, 2.0, 600)
    sims = np.asarray(mrf.rf_ridge_draws(jax.random.PRNGKey(7), lam, w2, 80, 160, 1e-3, 0.0, 48,
                                         teacher="gaussian"))
    theory = float(rf.rf_error(lam, w2, 80, 160, 1e-3, 0.0))
    assert sims.mean() / theory == pytest.approx(1.0, abs=3 * sims.std() / np.sqrt(48) / theory)


def test_invalid_simulation_inputs():
    lam, w2 = rf.power_law_spectrum(2.0, 2.0, 10)
    with pytest.raises(ValueError, match="ridge"):
        mrf.rf_ridge_draws(jax.random.PRNGKey(0), lam, w2, 5, 5, -1.0, 0.0, 2)
    with pytest.raises(ValueError, match="teacher"):
        mrf.rf_ridge_draws(jax.random.PRNGKey(0), lam, w2, 5, 5, 1.0, 0.0, 2, teacher="x")
    with pytest.raises(ValueError, match="v must be > d"):
        mrf.PLRFConfig(alpha=1.0, beta=0.5, v=10, d=10)
    with pytest.raises(ValueError, match="alpha \\+ beta"):
        mrf.PLRFConfig(alpha=0.2, beta=0.2, v=20, d=10)


def _gd(h):
    return optax.sgd(h.lr)


def test_engine_gradient_descent_converges_to_the_closed_form_min_norm_loss():
    """Bahri's linear RF teacher-student trained by full-batch GD with the generic trainer
    ends at the closed-form min-norm test MSE of the same draws (under- and over-parameterised).
    (The closed form itself is checked against the deterministic equivalent above, at sizes
    where the DE's finite-size bias is small; at these tiny sizes it is ~4%.)"""
    lam, w2 = rf.power_law_spectrum(2.0, 2.0, 200)
    for n, p in ((12, 40), (40, 12)):
        cfg = mrf.RFGDConfig(n_modes=200, n_features=n, n_samples=p)
        keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.PRNGKey(5), i))(jnp.arange(64))
        hyper = jax.vmap(lambda k: mrf.rf_gd_hyper(k, lam, w2, cfg, 0.01))(keys)
        res = train_ensemble(mrf.RF_GD_MODEL, cfg, hyper, _gd, key=root_key(0), steps=20000,
                             batch_size=p, record_steps=np.array([0, 20000]))
        assert not res.diverged.any()
        closed = np.asarray(jax.vmap(lambda k: mrf.rf_ridge_test_mse(k, lam, w2, n, p, 0.0, 0.01))(keys))
        gd = res.metrics["test_mse"][:, -1]
        np.testing.assert_allclose(gd, closed, rtol=2e-3)
