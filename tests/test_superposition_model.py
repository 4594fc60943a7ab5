"""Liu et al. superposition model: config validation, sparse sampler, loss, metrics."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scalesim.models import _geometry as geo
from scalesim.models import superposition as sp


_sample = jax.jit(sp.sample, static_argnums=(1, 3))
_sample_dense = jax.jit(sp.sample_dense, static_argnums=(1, 3))
_densify = jax.jit(sp.densify, static_argnums=1)
_metrics = jax.jit(sp.metrics, static_argnums=1)


def _h(**kw):
    return jax.tree_util.tree_map(lambda x: x[0], sp.make_hyper(**kw))


@pytest.mark.parametrize("kwargs, field", [
    (dict(n=10, m=11), "m"),
    (dict(n=0), "n"),
    (dict(distribution="zipf"), "distribution"),
    (dict(n=3, m=1, distribution="custom", probs=(0.5, 0.2, 0.2)), "sum to 1"),
    (dict(n=3, m=1, distribution="custom", probs=(0.5, 0.5)), "probs"),
    (dict(n=3, m=2, max_active=0), "max_active"),
    (dict(loss_scale=-1.0), "loss_scale"),
])
def test_invalid_config_raises(kwargs, field):
    with pytest.raises(ValueError, match=field):
        sp.Config(**kwargs)


@pytest.mark.parametrize("kwargs, field", [
    (dict(alpha=-0.5), "alpha"),
    (dict(gamma=200.0, lr=1e-2), "gamma"),
    (dict(density=1.5), "density"),
    (dict(lr=0.0), "lr"),
])
def test_invalid_hyper_raises(kwargs, field):
    with pytest.raises(ValueError, match=field):
        sp.make_hyper(**kwargs)


@pytest.mark.parametrize("dist", ["power", "exponential", "exponential1", "linear"])
def test_frequencies_normalised_and_decreasing(dist):
    cfg = sp.Config(n=500, m=5, distribution=dist)
    p = np.asarray(sp.frequencies(cfg, _h(alpha=1.3)))
    assert p.sum() == pytest.approx(1.0, rel=1e-5)
    assert np.all(np.diff(p) <= 1e-12)
    if dist == "power":
        np.testing.assert_allclose(p[1] / p[0], 2.0 ** -1.3, rtol=1e-5)


def test_density_rescaling_matches_exp15():
    cfg = sp.Config(n=1000, m=5)
    p = np.asarray(sp.frequencies(cfg, _h(alpha=1.0, density=1.0)))
    assert p[0] == pytest.approx(1.0)
    assert p.sum() == pytest.approx(np.sum(1.0 / np.arange(1, 1001)), rel=1e-4)  # E = H_1000


def test_sparse_sampler_marginals_values_and_independence():
    cfg = sp.Config(n=50, m=5, max_active=12)
    h = _h(alpha=1.0)
    B = 200_000
    x = np.asarray(_densify(_sample(jax.random.PRNGKey(1), cfg, h, B), cfg.n))
    p = np.asarray(sp.frequencies(cfg, h))
    on = x > 0
    freq = on.mean(0)
    # every marginal within 5 binomial standard errors
    se = np.sqrt(p * (1 - p) / B)
    assert np.all(np.abs(freq - p) < 5 * se + 1e-6)
    # values U(0, 2): mean 1, second moment 4/3
    v = x[on]
    assert v.min() > 0 and v.max() < 2
    assert v.mean() == pytest.approx(1.0, abs=0.01)
    assert (v ** 2).mean() == pytest.approx(4 / 3, abs=0.015)
    # independence: co-activation of features 0 and 1 (and 0 and 2) ≈ p_0 p_j
    for j in (1, 2):
        co = np.mean(on[:, 0] & on[:, j])
        assert co == pytest.approx(p[0] * p[j], rel=0.05)
    assert float(sp.truncation_mass(cfg, h)) < 1e-8


def test_sparse_and_dense_data_give_same_expected_loss():
    cfg = sp.Config(n=200, m=8)
    h = _h(alpha=1.2)
    params = sp.init(jax.random.PRNGKey(0), cfg)
    B = 100_000
    sparse = float(jax.jit(sp.paper_loss)(params, _sample(jax.random.PRNGKey(2), cfg, h, B)))

    @jax.jit
    def dense_loss(params, key):
        x = sp.sample_dense(key, cfg, h, B)
        y = jax.nn.relu(x @ params["W"] @ params["W"].T + params["b"][None, :])
        return jnp.mean(jnp.sum((y - x) ** 2, axis=-1))

    dense = float(dense_loss(params, jax.random.PRNGKey(3)))
    assert sparse == pytest.approx(dense, rel=0.01)


def test_sparse_loss_equals_dense_formula_on_same_batch():
    cfg = sp.Config(n=60, m=4)
    h = _h(alpha=0.5)
    params = sp.init(jax.random.PRNGKey(4), cfg)
    batch = _sample(jax.random.PRNGKey(5), cfg, h, 512)
    x = _densify(batch, cfg.n)
    y = jax.nn.relu(x @ params["W"] @ params["W"].T + params["b"][None, :])
    np.testing.assert_allclose(sp.forward(params, batch), y, rtol=1e-5, atol=1e-5)
    dense = jnp.mean(jnp.sum((y - x) ** 2, -1))
    assert float(sp.paper_loss(params, batch)) == pytest.approx(float(dense), rel=1e-5)
    assert float(sp.loss(params, batch, cfg, h)) == pytest.approx(float(dense) / cfg.n, rel=1e-5)


def test_init_row_norms_near_one_and_bias_standard_normal():
    cfg = sp.Config(n=2000, m=100)
    p = sp.init(jax.random.PRNGKey(0), cfg)
    assert np.mean(np.asarray(sp.row_norms(p["W"]))) == pytest.approx(1.0, abs=0.02)
    assert np.std(np.asarray(p["b"])) == pytest.approx(1.0, abs=0.05)


def test_overlap_metrics_against_explicit_gram():
    W = jax.random.normal(jax.random.PRNGKey(0), (300, 16)) * 0.7
    U = W / jnp.linalg.norm(W, axis=1, keepdims=True)
    G = np.asarray(U @ U.T) ** 2
    off = G[~np.eye(300, dtype=bool)]
    st = geo.overlap_stats(W, block=64)
    assert float(st["overlap_mean"]) == pytest.approx(off.mean(), rel=1e-4)
    assert float(st["overlap_var"]) == pytest.approx(off.var(), rel=1e-3)
    assert float(geo.mean_sq_overlap(W)) == pytest.approx(off.mean(), rel=1e-4)
    # random unit vectors in R^m: E (u·v)² = 1/m, Var = 2(m−1)/(m²(m+2))
    assert off.mean() == pytest.approx(1 / 16, rel=0.05)
    assert off.var() == pytest.approx(2 * 15 / (16 ** 2 * 18), rel=0.1)
    # weighted version restricted to the first 100 rows
    w = (jnp.arange(300) < 100).astype(jnp.float32)
    sub = G[:100, :100][~np.eye(100, dtype=bool)]
    assert float(geo.overlap_stats(W, w, block=64)["overlap_mean"]) == pytest.approx(sub.mean(), rel=1e-4)


def test_regime_metrics_on_known_matrices():
    # antipodal pair + one orthogonal feature + one dead row in m = 2
    W = jnp.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    D = np.asarray(geo.feature_dimensionality(W, block=2))
    np.testing.assert_allclose(D[:3], [0.5, 0.5, 1.0], atol=1e-6)
    assert float(geo.dims_per_feature(W)) == pytest.approx(2 / 3)
    cfg = sp.Config(n=4, m=2, max_active=4, eval_batch=64)
    met = _metrics({"W": W, "b": jnp.zeros(4)}, cfg, _h(alpha=1.0))
    assert float(met["phi_half"]) == pytest.approx(0.75)
    assert float(met["phi_one"]) == pytest.approx(0.0)
    assert np.isfinite(float(met["loss"]))


def test_example_for_the_conformance_suite():
    from scalesim.optim import LiuAdamW

    ex, ex64 = sp.example(), sp.example("float64")
    kw = dict(n=16, m=3, max_active=4, eval_batch=16)
    assert ex["cfg"] == sp.Config(**kw) and ex64["cfg"] == sp.Config(**kw, dtype="float64")
    assert ex["optimizer"] == LiuAdamW(5, 1) and hash(ex["optimizer"]) == hash(LiuAdamW(5, 1))
    assert jax.tree.leaves(ex["hyper"])[0].shape[0] >= 2


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_uniform_is_jax_random_uniform_bit_for_bit(dtype):
    if dtype == "float64" and not jax.config.jax_enable_x64:
        pytest.skip("float64 needs jax_enable_x64")
    key = jax.random.fold_in(jax.random.PRNGKey(7), 3)
    uniform = jax.jit(sp._uniform, static_argnums=(1, 2))
    for shape in [(2048, 1), (33, 12), (5,)]:
        for lo, hi in [(0.0, 1.0), (0.0, 2.0)]:
            want = jax.random.uniform(key, shape, dtype, lo, hi)
            np.testing.assert_array_equal(np.asarray(uniform(key, shape, dtype, lo, hi)), np.asarray(want))
    # under vmap (the engine's member axis) too
    keys = jax.random.split(key, 3)
    got = jax.vmap(lambda k: sp._uniform(k, (4, 6), dtype))(keys)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(jax.vmap(lambda k: jax.random.uniform(k, (4, 6), dtype))(keys)))


def _dense_reference_loss(params, x):
    y = jax.nn.relu(x @ params["W"] @ params["W"].T + params["b"][None, :])
    return jnp.mean(jnp.sum((y - x) ** 2, axis=-1))


def test_fused_value_and_gradient_match_autodiff_of_the_dense_loss():
    dtype = "float64" if jax.config.jax_enable_x64 else "float32"
    tol = 1e-10 if dtype == "float64" else 2e-5
    cfg = sp.Config(n=40, m=5, max_active=6, dtype=dtype)
    h = _h(alpha=0.8, width=4)
    params = jax.tree.map(lambda x: x + 0.05, sp.init(jax.random.PRNGKey(0), cfg, h))
    batch = _sample(jax.random.PRNGKey(1), cfg, h, 64)
    x = _densify(batch, cfg.n)
    lval, grads = jax.value_and_grad(sp.paper_loss)(params, batch)
    lref, gref = jax.value_and_grad(_dense_reference_loss)(params, x)
    assert float(lval) == pytest.approx(float(lref), rel=tol)
    for k in ("W", "b"):
        np.testing.assert_allclose(grads[k], gref[k], rtol=tol, atol=tol)
    # reverse over reverse (the trainer differentiated in its hyperparameters needs it)
    second = lambda f, arg: jax.grad(lambda s: jnp.sum(jax.grad(f)(jax.tree.map(lambda p: p * s, params), arg)["W"]))(1.0)
    assert float(second(sp.paper_loss, batch)) == pytest.approx(float(second(_dense_reference_loss, x)), rel=100 * tol)
