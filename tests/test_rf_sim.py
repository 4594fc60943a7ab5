"""Linear random-feature ridge simulation vs its deterministic equivalent; simulators and models."""
import jax
import jax.numpy as jnp
import optax
import numpy as np
import pytest

jax.config.update("jax_enable_x64", True)

from scalesim.engine import train_ensemble  # noqa: E402
from scalesim.models import plrf as mplrf  # noqa: E402
from scalesim.models import rf_gd, rf_maloney, rf_ridge, rf_teacher_student  # noqa: E402
from scalesim.rng import root_key  # noqa: E402
from scalesim.simulator import run_simulator  # noqa: E402
from scalesim.theory import random_features as rf  # noqa: E402


def _draws(key, lam, w2, n, p, ridge, sigma2, draws, teacher="fixed"):
    """Test MSE of ``draws`` rf_ridge members (member i: key fold_in(key, i))."""
    hyper = rf_ridge.make_hyper(lam, w2, ridge, sigma2, members=draws)
    return run_simulator(rf_ridge.SIMULATOR, rf_ridge.Config(n, p, teacher), hyper, key=key)["test_mse"]

# (P samples, N features, ridge, sigma^2): under-/over-parameterised, N = P, noisy, ridgeless.
POINTS = [(100, 300, 1e-3, 0.02), (300, 100, 1e-3, 0.0), (150, 150, 1e-2, 0.0),
          (200, 400, 1e-2, 0.05), (250, 100, 0.0, 0.05)]


@pytest.mark.parametrize("i", range(len(POINTS)))
def test_rf_ridge_simulation_matches_theory_within_3_percent(i):
    p, n, ridge, sigma2 = POINTS[i]
    lam, w2 = rf.power_law_spectrum(2.0, 2.0, 1000)
    sims = _draws(jax.random.PRNGKey(i), lam, w2, n, p, ridge, sigma2, 40)
    theory = float(rf.rf_error(lam, w2, n_features=n, n_samples=p, ridge=ridge, sigma2=sigma2))
    se = sims.std(ddof=1) / np.sqrt(sims.size) / theory
    assert se < 0.025  # the comparison below is informative at this draw count
    assert sims.mean() / theory == pytest.approx(1.0, abs=0.03)


@pytest.mark.slow
@pytest.mark.parametrize("i", range(5))
def test_note_points_64_draws(i):
    """Five (P, N, ridge, sigma^2) points at M = 1500 modes, 64 draws."""
    p, n, ridge, sigma2 = [(100, 400, 1e-3, 0), (400, 100, 1e-3, 0), (200, 200, 1e-3, 0),
                           (300, 600, 1e-2, .05), (600, 300, 1e-4, .05)][i]
    lam, w2 = rf.power_law_spectrum(2.0, 2.0, 1500)
    sims = _draws(jax.random.PRNGKey(100 + i), lam, w2, n, p, ridge, sigma2, 64)
    assert sims.mean() / float(rf.rf_error(lam, w2, n_features=n, n_samples=p, ridge=ridge, sigma2=sigma2)) == pytest.approx(
        1.0, abs=0.03)


@pytest.mark.slow
def test_gaussian_teacher_averages_to_fixed_teacher_theory():
    lam, w2 = rf.power_law_spectrum(2.0, 2.0, 600)
    sims = _draws(jax.random.PRNGKey(7), lam, w2, 80, 160, 1e-3, 0.0, 48, teacher="gaussian")
    theory = float(rf.rf_error(lam, w2, n_features=80, n_samples=160, ridge=1e-3, sigma2=0.0))
    assert sims.mean() / theory == pytest.approx(1.0, abs=3 * sims.std() / np.sqrt(48) / theory)


def test_invalid_simulation_inputs():
    lam, w2 = rf.power_law_spectrum(2.0, 2.0, 10)
    with pytest.raises(ValueError, match="ridge"):
        _draws(jax.random.PRNGKey(0), lam, w2, 5, 5, -1.0, 0.0, 2)
    with pytest.raises(ValueError, match="teacher"):
        _draws(jax.random.PRNGKey(0), lam, w2, 5, 5, 1.0, 0.0, 2, teacher="x")
    with pytest.raises(ValueError, match="v must be > d"):
        mplrf.Config(alpha=1.0, beta=0.5, v=10, d=10)
    with pytest.raises(ValueError, match="alpha \\+ beta"):
        mplrf.Config(alpha=0.2, beta=0.2, v=20, d=10)
    with pytest.raises(ValueError, match="activation"):
        rf_maloney.Config(n_features=5, n_samples=5, activation="gelu")


def _gd(h):
    return optax.sgd(h.lr)


def test_engine_gradient_descent_converges_to_the_closed_form_min_norm_loss():
    """Bahri's linear RF teacher-student trained by full-batch GD with the generic trainer
    ends at the closed-form min-norm test MSE of the same draws (under- and over-parameterised).
    (The closed form itself is checked against the deterministic equivalent above, at sizes
    where the DE's finite-size bias is small; at these tiny sizes it is ~4%.)"""
    lam, w2 = rf.power_law_spectrum(2.0, 2.0, 200)
    for n, p in ((12, 40), (40, 12)):
        cfg = rf_gd.Config(n_modes=200, n_features=n, n_samples=p, dtype="float64")
        keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.PRNGKey(5), i))(jnp.arange(64))
        hyper = rf_gd.make_hyper(keys, lam, w2, cfg, 0.01)
        res = train_ensemble(rf_gd.MODEL, cfg, hyper, _gd, key=root_key(0), steps=20000,
                             batch_size=p, record_steps=np.array([0, 20000]))
        assert not res.diverged.any()
        one = jax.tree.map(lambda x: x[0], rf_ridge.make_hyper(lam, w2, 0.0, 0.01, members=1))
        closed = np.asarray(jax.vmap(lambda k: rf_ridge.test_mse(k, rf_ridge.Config(n, p), one))(keys))
        gd = res.metrics["test_mse"][:, -1]
        np.testing.assert_allclose(gd, closed, rtol=2e-3)


def test_rf_ridge_members_are_the_draws_of_fold_in_keys():
    """run_simulator member i == test_mse with key fold_in(key, i) (the draws' key rule)."""
    lam, w2 = rf.power_law_spectrum(2.0, 2.0, 100)
    key = jax.random.PRNGKey(3)
    sims = _draws(key, lam, w2, 10, 30, 1e-3, 0.01, 3)
    one = jax.tree.map(lambda x: x[0], rf_ridge.make_hyper(lam, w2, 1e-3, 0.01, members=1))
    alone = float(rf_ridge.test_mse(jax.random.fold_in(key, 2), rf_ridge.Config(10, 30), one))
    assert sims[2] == pytest.approx(alone, rel=1e-12)


def test_maloney_linear_features_match_the_linear_model_theory():
    """Maloney et al.'s model with linear features is linear RF regression: its Monte-Carlo test
    loss (isotropic teacher, 48 draws) is within 5% of the deterministic equivalent."""
    m, n, t = 400, 40, 120
    lam, _ = rf.power_law_spectrum(2.0, 2.0, m)
    hyper = rf_maloney.make_hyper(lam, 1e-4, members=48)
    out = run_simulator(rf_maloney.SIMULATOR, rf_maloney.Config(n, t, n_test=4000), hyper, key=jax.random.PRNGKey(0))
    w2 = jnp.full((m,), 1.0 / m)  # E[w_I^2] = sigma_w2 / M
    # features scale * x @ u have unit-variance projections (not 1/N): the same ridge problem as
    # rf_error's F_ij ~ N(0, 1/N) at ridge / N
    theory = float(rf.rf_error(lam, w2, n_features=n, n_samples=t, ridge=1e-4 / n))
    assert out["test_mse"].mean() / theory == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("mod", [rf_ridge, rf_maloney, rf_teacher_student], ids=lambda m: m.__name__.rsplit(".", 1)[1])
def test_simulator_examples_are_finite_and_reproducible(mod):
    ex = mod.example()
    m = jax.tree.leaves(ex["hyper"])[0].shape[0]
    a = run_simulator(mod.SIMULATOR, ex["cfg"], ex["hyper"], key=jax.random.PRNGKey(0))
    b = run_simulator(mod.SIMULATOR, ex["cfg"], ex["hyper"], key=jax.random.PRNGKey(0), chunk=1)
    for k in a:
        assert a[k].shape[0] == m and np.all(np.isfinite(a[k])), k
        np.testing.assert_array_equal(a[k], b[k])


def test_ladder_config_validation():
    lam = np.arange(1, 11, dtype=float) ** -2.0
    with pytest.raises(ValueError, match="ladder"):
        rf_teacher_student.Config("res_x", (2, 4), lam, lam)
    with pytest.raises(ValueError, match="fixed"):
        rf_teacher_student.Config("var_data", (2, 4), lam, lam)
    with pytest.raises(ValueError, match="w2"):
        rf_teacher_student.Config("res_model", (2, 4), lam, lam[:5])
