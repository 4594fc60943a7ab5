"""Closed-form phase energies of the Elhage et al. 2-feature toy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scalesim.theory import elhage as th

jax.config.update("jax_enable_x64", True)


def test_energies_against_monte_carlo():
    rng = np.random.default_rng(0)
    r, s, B = 2.5, 0.3, 2_000_000
    x = (rng.random((B, 2)) < s) * rng.random((B, 2))
    I = np.array([1.0, r])
    # antipodal W = (1, -1), b = 0
    h = x[:, 0] - x[:, 1]
    y = np.maximum(np.stack([h, -h], 1), 0)
    anti = np.mean(np.sum(I * (x - y) ** 2, 1))
    # not learned: W = (1, 0), b = (0, E x1)
    y = np.stack([x[:, 0], np.full(B, s / 2)], 1)
    notl = np.mean(np.sum(I * (x - y) ** 2, 1))
    e = np.asarray(th.phase_energies(r, s))
    assert e[1] == pytest.approx(anti, rel=0.02)
    assert e[0] == pytest.approx(notl, rel=0.01)


def test_phase_map_and_boundaries():
    assert int(th.phase(0.1, 0.5)) == th.PHASES.index("not_learned")
    assert int(th.phase(10.0, 0.5)) == th.PHASES.index("dedicated")
    assert int(th.phase(1.0, 0.05)) == th.PHASES.index("antipodal")
    for s in (0.05, 0.2, 0.5):
        e = th.phase_energies(th.boundary_not_learned_antipodal(s), s)
        assert float(e[0]) == pytest.approx(float(e[1]), rel=1e-12)
        e = th.phase_energies(th.boundary_antipodal_dedicated(s), s)
        assert float(e[1]) == pytest.approx(float(e[2]), rel=1e-12)
    # dense features: no superposition anywhere
    rs = jnp.geomspace(0.1, 10, 50)
    assert not np.any(np.asarray(th.phase(rs, 0.9)) == 1)


def test_energies_differentiable():
    f = lambda r, s: th.phase_energies(r, s)[1] - th.phase_energies(r, s)[0]
    g = jax.grad(f, argnums=(0, 1))(0.7, 0.2)
    h = 1e-6
    assert float(g[1]) == pytest.approx(float((f(0.7, 0.2 + h) - f(0.7, 0.2 - h)) / (2 * h)), rel=1e-6)
    # implicit derivative of the boundary: dr*/ds = -(∂f/∂s)/(∂f/∂r)
    dr = jax.grad(th.boundary_not_learned_antipodal)(0.2)
    r_star = th.boundary_not_learned_antipodal(0.2)
    assert float(dr) == pytest.approx(float(-jax.grad(f, 1)(r_star, 0.2) / jax.grad(f, 0)(r_star, 0.2)), rel=1e-8)
    assert float(th.energy_margin(1.0, 0.05)) > 0


def test_declared_predictions_match_the_energies():
    from scalesim.prediction import Prediction

    ex = th.exponents()
    assert all(isinstance(p, Prediction) and p.module == th.__name__ for p in ex.values())
    s_tp, r_tp = ex["triple_point_density"].value, ex["triple_point_importance"].value
    e = np.asarray(th.phase_energies(r_tp, s_tp))
    np.testing.assert_allclose(e, e[0], rtol=1e-12)  # the three phases meet
    for s in (0.05, 0.3, 0.5):
        ex = th.exponents(s=s)
        assert ex["boundary_not_learned_antipodal"].value == pytest.approx(float(th.boundary_not_learned_antipodal(s)), rel=1e-14)
        assert ex["boundary_antipodal_dedicated"].value == pytest.approx(float(th.boundary_antipodal_dedicated(s)), rel=1e-14)
        assert ex["boundary_not_learned_antipodal"].ref() == {"module": th.__name__, "name": "boundary_not_learned_antipodal",
                                                              "params": {"s": s}}
    # sparse limit: r* ~ s^1 (not learned / antipodal) and r* ~ s^-1 (antipodal / dedicated)
    ss = jnp.array([1e-6, 1e-5])
    slope = lambda r: float(jnp.diff(jnp.log(r))[0] / jnp.diff(jnp.log(ss))[0])
    assert slope(th.boundary_not_learned_antipodal(ss)) == pytest.approx(th.exponents()["boundary_slope_sparse"].value, abs=1e-4)
    assert slope(th.boundary_antipodal_dedicated(ss)) == pytest.approx(
        th.exponents()["boundary_exponent_antipodal_dedicated"].value, abs=1e-4)
