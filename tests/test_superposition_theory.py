"""Theory of the Liu et al. model: weak-regime loss/exponent, strong-regime overlap bound."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scalesim.theory import superposition as th

jax.config.update("jax_enable_x64", True)


def test_continuous_form_matches_explicit_sum_at_integers():
    for alpha in (1.1, 1.5, 2.0):  # jax's Hurwitz zeta needs s > 1
        for m in (1, 10, 63, 500):
            a = float(th.weak_loss_power(alpha, 1000, m))
            b = float(th.weak_loss_continuous(alpha, m, 1000))
            assert b == pytest.approx(a, rel=1e-9)


def test_weak_loss_gradients_match_finite_differences():
    f = lambda a: th.weak_loss_power(a, 1000, 25)
    h = 1e-6
    fd = (f(1.4 + h) - f(1.4 - h)) / (2 * h)
    assert float(jax.grad(f)(1.4)) == pytest.approx(float(fd), rel=1e-6)
    # with respect to the frequency vector: dL/dp_i = E v² − 2 p_i (E v)² for i ≥ m, else 0
    p = th.power_law_frequencies(1.2, 50)
    g = np.asarray(jax.grad(th.weak_loss)(p, 10))
    expected = np.where(np.arange(50) >= 10, 4 / 3 - 2 * np.asarray(p), 0.0)
    np.testing.assert_allclose(g, expected, rtol=1e-12)
    # the fitted finite-range exponent is differentiable in α too
    fe = lambda a: th.fitted_weak_exponent(a, 1000, jnp.array([10, 15, 25, 39, 63, 100]))
    fd = (fe(1.6 + h) - fe(1.6 - h)) / (2 * h)
    assert float(jax.grad(fe)(1.6)) == pytest.approx(float(fd), rel=1e-5)


@pytest.mark.parametrize("alpha", [1.25, 1.5, 2.0])
def test_weak_exponent_is_alpha_minus_one_asymptotically(alpha):
    loc = float(th.weak_local_exponent(alpha, 1e5))
    assert loc == pytest.approx(float(th.weak_exponent(alpha)), abs=2e-3)
    ratio = th.weak_loss_continuous(alpha, 1e4) / th.weak_loss_asymptotic(alpha, 1e4)
    assert float(ratio) == pytest.approx(1.0, abs=1e-3)
    # a power-law fit on a geometric sweep of the n = ∞ form recovers α − 1
    ms = jnp.geomspace(1e3, 1e5, 8)
    L = jax.vmap(lambda m: th.weak_loss_continuous(alpha, m))(ms)
    assert float(th.loglog_slope(ms, L)) == pytest.approx(alpha - 1, abs=5e-3)


def test_exp17_weak_predictions_at_m8():
    """Precomputed reference values of Σ_{i>8}(4/3 p_i − p_i²) at n = 10240."""
    for name, want in (("power", 0.684), ("exponential1", 1.306), ("linear", 1.331)):
        got = float(th.weak_loss(th.named_frequencies(name, 10240), 8))
        assert got == pytest.approx(want, abs=2e-3)
    assert float(th.weak_loss(th.named_frequencies("power", 10240), 1024)) == pytest.approx(0.13, abs=0.01)


def test_overlap_bound_tight_for_simplex_and_below_random():
    m = 5
    # n = m + 1 vectors of a regular simplex are a tight frame: bound attained
    E = np.eye(m + 1) - 1.0 / (m + 1)
    U, S, Vt = np.linalg.svd(E)
    V = U[:, :m] * S[:m]
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    G = (V @ V.T) ** 2
    off = G[~np.eye(m + 1, dtype=bool)].mean()
    assert off == pytest.approx(float(th.overlap_lower_bound(m + 1, m)), rel=1e-10)
    # random unit vectors: mean 1/m ≥ bound
    X = np.random.default_rng(0).normal(size=(400, m))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    G = (X @ X.T) ** 2
    off = G[~np.eye(400, dtype=bool)]
    assert off.mean() >= float(th.overlap_lower_bound(400, m))
    assert off.mean() == pytest.approx(float(th.random_overlap(m)), rel=0.05)
    assert off.var() == pytest.approx(float(th.random_overlap_var(m)), rel=0.1)
    # 1/m scaling of the bound for n ≫ m, with slope exactly 1 in the limit
    ms = jnp.array([10.0, 100.0, 1000.0])
    assert float(th.loglog_slope(ms, th.overlap_lower_bound(1e9, ms))) == pytest.approx(1.0, abs=1e-6)
    assert float(jax.grad(th.overlap_lower_bound, argnums=1)(1000.0, 10.0)) < 0


def test_strong_exponent_hypothesis_shape():
    assert float(th.strong_exponent(0.5)) == 1.0
    assert float(th.strong_exponent(2.0)) == pytest.approx(2.0)


def test_declared_exponents():
    from scalesim.prediction import Prediction

    base = th.exponents()
    assert set(base) == {"alpha_m_strong", "overlap_exponent_strong", "overlap_times_m"}
    assert all(isinstance(p, Prediction) and p.value == 1.0 and p.params == () for p in base.values())
    for alpha in (1.25, 1.5, 2.0):
        ex = th.exponents(alpha=alpha)
        assert ex["alpha_m_weak"].value == alpha - 1.0 == float(th.weak_exponent(alpha))
        assert ex["alpha_m_weak"].ref() == {"module": th.__name__, "name": "alpha_m_weak", "params": {"alpha": alpha}}
        assert ex["alpha_m_strong_hypothesis"].value == pytest.approx(float(th.strong_exponent(alpha)))
    assert th.exponents(alpha=0.5)["alpha_m_strong_hypothesis"].value == base["alpha_m_strong"].value
    # the overlap asymptote: m times the Welch bound tends to 1 for n >> m
    assert float(th.overlap_lower_bound(1e9, 10.0)) * 10 == pytest.approx(base["overlap_times_m"].value, abs=1e-6)
