"""Deterministic equivalents of KRR / linear RF: limits, identities, gradients, validation."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

jax.config.update("jax_enable_x64", True)

from scalesim.theory import random_features as rf  # noqa: E402

M = 1500


def _err(a, b, n, p, ridge, sigma2, m=M):
    lam, w2 = rf.power_law_spectrum(a, b, m)
    return rf.rf_error(lam, w2, n_features=n, n_samples=p, ridge=ridge, sigma2=sigma2)


def test_kappa_solves_its_equation():
    lam, _ = rf.power_law_spectrum(2.0, 2.0, M)
    for n, p, ridge in [(100.0, 400.0, 1e-3), (400.0, 100.0, 1e-6), (300.0, 300.0, 1e-2)]:
        k = float(rf.rf_kappa(lam, n_features=n, n_samples=p, ridge=ridge))
        d1 = float(rf.df1(k, lam))
        assert k * (1 - d1 / p) * (1 - d1 / n) == pytest.approx(ridge, rel=1e-10)
    k0 = float(rf.rf_kappa(lam, n_features=100.0, n_samples=400.0, ridge=0.0))  # ridgeless: df1 = min(N, P)
    assert float(rf.df1(k0, lam)) == pytest.approx(100.0, rel=1e-10)


def test_krr_is_infinite_width_limit_and_gap_is_one_over_n():
    lam, w2 = rf.power_law_spectrum(2.5, 1.5, M)
    krr = float(rf.krr_error(lam, w2, n_samples=300.0, ridge=1e-3, sigma2=0.05))
    gaps = [float(rf.rf_error(lam, w2, n_features=n, n_samples=300.0, ridge=1e-3, sigma2=0.05)) - krr for n in (1e5, 2e5, 4e5)]
    assert gaps[0] > 0
    assert gaps[0] / gaps[1] == pytest.approx(2.0, rel=1e-3)
    assert gaps[1] / gaps[2] == pytest.approx(2.0, rel=1e-3)
    c_n, _ = rf.variance_limited_coefficients(lam, w2, n_features=1.0, n_samples=300.0, ridge=1e-3, sigma2=0.05)
    assert gaps[2] * 4e5 == pytest.approx(float(c_n), rel=1e-3)


def test_ridgeless_underparameterised_pole_and_variance_coefficient():
    lam, w2 = rf.power_law_spectrum(2.0, 2.0, M)
    floor = float(rf.rf_error(lam, w2, n_features=100.0, n_samples=jnp.inf, ridge=0.0))
    # ridgeless, N < P: E_g = (kappa tf + sigma^2)/(1 - N/P)
    assert float(rf.rf_error(lam, w2, n_features=100.0, n_samples=400.0, ridge=0.0)) == pytest.approx(floor / 0.75, rel=1e-9)
    _, c_p = rf.variance_limited_coefficients(lam, w2, n_features=100.0, n_samples=1.0, ridge=0.0)
    assert float(c_p) == pytest.approx(100.0 * floor, rel=1e-8)


def test_duality_exact_for_isotropic_broken_for_anisotropic():
    iso = [float(_err(2.0, 2.0, n, p, 1e-4, 0.0)) for n, p in [(150.0, 600.0), (600.0, 150.0)]]
    assert iso[0] == pytest.approx(iso[1], rel=1e-9)
    ani = [float(_err(3.0, 2.0, n, p, 1e-4, 0.0)) for n, p in [(150.0, 600.0), (600.0, 150.0)]]
    assert abs(ani[0] / ani[1] - 1) > 0.1


def test_maloney_closed_form_matches_deterministic_equivalent():
    lam, w2 = rf.power_law_spectrum(2.0, 2.0, 200_000)
    for n, t in [(100.0, 400.0), (300.0, 2000.0), (1000.0, 4000.0)]:
        de = float(rf.rf_error(lam, w2, n_features=n, n_samples=t, ridge=0.0))
        cf = float(rf.maloney_closed_form(1.0, n_features=n, n_samples=t))
        assert de / cf == pytest.approx(1.0, abs=0.015)


@pytest.mark.parametrize("wrt", ["a", "b", "ridge", "sigma2", "n", "p"])
def test_gradients_match_finite_differences(wrt):
    base = dict(a=2.3, b=1.6, n=200.0, p=300.0, ridge=1e-3, sigma2=0.05)
    f = lambda x: _err(**{**base, wrt: x})
    x0 = base[wrt]
    h = 1e-5 * abs(x0)
    fd = (float(f(x0 + h)) - float(f(x0 - h))) / (2 * h)
    g = float(jax.grad(f)(x0))
    assert g == pytest.approx(fd, rel=1e-5)


def test_gradient_of_ridgeless_error_wrt_exponents():
    for wrt in ("a", "b"):
        base = dict(a=2.0, b=1.5, n=100.0, p=400.0, ridge=0.0, sigma2=0.0)
        f = lambda x: _err(**{**base, wrt: x})
        h = 1e-5
        fd = (float(f(base[wrt] + h)) - float(f(base[wrt] - h))) / (2 * h)
        assert float(jax.grad(f)(base[wrt])) == pytest.approx(fd, rel=1e-5)


def test_grid_matches_pointwise_and_vmaps():
    lam, w2 = rf.power_law_spectrum(2.0, 1.5, 800)
    n = jnp.array([[50.0, 100.0], [200.0, 400.0]])
    p = jnp.array([[80.0, 80.0], [300.0, 300.0]])
    grid = rf.rf_error_grid(lam, w2, n_features=n, n_samples=p, ridge=1e-3, sigma2=0.01)
    for i in range(2):
        for j in range(2):
            pt = rf.rf_error(lam, w2, n_features=float(n[i, j]), n_samples=float(p[i, j]), ridge=1e-3, sigma2=0.01)
            assert float(grid[i, j]) == pytest.approx(float(pt), rel=1e-12)


def test_model_and_data_exponents_from_theory():
    lam, w2 = rf.power_law_spectrum(2.0, 1.5, 40_000)
    ex = {k: p.value for k, p in rf.exponents(a=2.0, b=1.5).items()}
    ns = np.array([64.0, 128.0, 256.0])
    model = [float(rf.rf_error(lam, w2, n_features=n, n_samples=jnp.inf, ridge=0.0)) for n in ns]
    data = [float(rf.krr_error(lam, w2, n_samples=n, ridge=0.0)) for n in ns]
    slope = lambda y: -np.polyfit(np.log(ns), np.log(y), 1)[0]
    assert slope(model) == pytest.approx(ex["model"], abs=0.05)
    assert slope(data) == pytest.approx(ex["data"], abs=0.05)


@pytest.mark.parametrize("kwargs, field", [
    (dict(n_features=0.0), "n_features"), (dict(n_samples=-3.0), "n_samples"),
    (dict(ridge=-1e-3), "ridge"), (dict(sigma2=-0.1), "sigma2"),
])
def test_invalid_sizes_raise_before_compilation(kwargs, field):
    lam, w2 = rf.power_law_spectrum(2.0, 2.0, 10)
    args = dict(n_features=10.0, n_samples=10.0, ridge=1e-3, sigma2=0.0) | kwargs
    with pytest.raises(ValueError, match=field):
        rf.rf_error(lam, w2, **args)


def test_invalid_exponents_raise():
    with pytest.raises(ValueError, match="a must"):
        rf.power_law_spectrum(1.0, 2.0, 10)
    with pytest.raises(ValueError, match="b must"):
        rf.power_law_spectrum(2.0, 0.0, 10)
    with pytest.raises(ValueError, match="alpha"):
        rf.maloney_closed_form(-0.5, n_features=10.0, n_samples=20.0)
    with pytest.raises(ValueError, match="ridge must be > 0"):
        lam, w2 = rf.power_law_spectrum(2.0, 2.0, 10)
        rf.rf_error(lam, w2, n_features=jnp.inf, n_samples=jnp.inf, ridge=0.0)


def test_table_grid_matches_exact_solver_including_ridgeless_and_krr():
    """The tabulated grid solver (default) agrees with the pointwise Newton solver."""
    lam, w2 = rf.power_law_spectrum(2.2, 1.6, 1500)
    sizes = np.geomspace(10, 800, 12)
    n, p = np.meshgrid(sizes, sizes * 1.37, indexing="ij")   # no N = P (ridgeless divergence)
    for ridge in (1e-4, 1e-2, 0.0):
        tab = rf.rf_error_grid(lam, w2, n_features=n, n_samples=p, ridge=ridge, sigma2=0.01)
        ex = rf.rf_error_grid(lam, w2, n_features=n, n_samples=p, ridge=ridge, sigma2=0.01, method="exact")
        np.testing.assert_allclose(tab, ex, rtol=1e-9)
    krr = rf.rf_error_grid(lam, w2, n_features=jnp.inf, n_samples=sizes, ridge=1e-3, sigma2=0.0)
    np.testing.assert_allclose(krr, [float(rf.krr_error(lam, w2, n_samples=s, ridge=1e-3)) for s in sizes], rtol=1e-9)


def test_table_grid_gradients_match_finite_differences():
    sizes = jnp.array([40.0, 150.0, 600.0])

    def total(b, ridge):
        lam, w2 = rf.power_law_spectrum(2.0, b, 1000)
        return jnp.sum(rf.rf_error_grid(lam, w2, n_features=sizes, n_samples=sizes[::-1] * 1.5, ridge=ridge, sigma2=0.01))

    for i, x0 in ((0, 1.5), (1, 1e-3)):
        f = lambda x: total(x, 1e-3) if i == 0 else total(1.5, x)
        h = 1e-6 * x0
        fd = (float(f(x0 + h)) - float(f(x0 - h))) / (2 * h)
        assert float(jax.grad(f)(x0)) == pytest.approx(fd, rel=1e-5)


def test_grid_rejects_unknown_method():
    lam, w2 = rf.power_law_spectrum(2.0, 1.5, 100)
    with pytest.raises(ValueError, match="method"):
        rf.rf_error_grid(lam, w2, n_features=10.0, n_samples=20.0, ridge=1e-3, method="fast")


def test_declared_exponents():
    ex = rf.exponents(a=3.0, b=1.5, alpha_k=0.7)
    assert ex["data"].value == 2.0 and ex["model"].value == 1.5
    assert ex["variance_limited_data"].value == ex["variance_limited_model"].value == 1.0
    assert ex["resolution_limited_model"].value == 0.7
    assert all(p.module == "scalesim.theory.random_features" for p in ex.values())
    assert set(rf.exponents()) == {"variance_limited_data", "variance_limited_model"}
    with pytest.raises(ValueError, match="a must"):
        rf.exponents(a=1.0, b=1.0)
    with pytest.raises(ValueError, match="together"):
        rf.exponents(a=2.0)
