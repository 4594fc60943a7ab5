"""Conformance suite every model must pass (in the spirit of optax's shared optimizer tests).

``check_model(model, cfg32, cfg64, hyper)`` checks, for a model following the
:class:`scalesim.engine.Model` contract:

- output shapes: a batch has a leading ``batch_size`` axis; the loss is a scalar; metrics are scalars;
- finite loss and metrics at initialisation;
- ``vmap`` over member keys equals a Python loop over the same keys (bit-for-bit up to ``atol``);
- no recompilation on a second call of the ensemble trainer with new hyperparameter values;
- float32 and float64 agree within tolerance on the same params and batch (loss, gradient, metrics);
- same seed -> same bits.

``hyper`` is a per-member pytree with leading axis ``M >= 2``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from scalesim.engine import _compiled, train_ensemble
from scalesim.rng import member_keys, root_key


def _member(hyper, i):
    return jax.tree.map(lambda x: x[i], hyper)


def check_model(model, cfg32, cfg64, hyper, optimizer, *, steps=20, batch_size=4, rtol64=2e-3, atol64=1e-5):
    m = jax.tree.leaves(hyper)[0].shape[0]
    assert m >= 2, "conformance needs >= 2 members"
    key = root_key(0)
    h0 = _member(hyper, 0)

    # shapes and finiteness
    params = model.init(jax.random.PRNGKey(1), cfg32, h0)
    batch = model.sample(jax.random.PRNGKey(2), cfg32, h0, batch_size)
    for leaf in jax.tree.leaves(batch):
        assert leaf.shape[0] == batch_size, f"batch leaf has shape {leaf.shape}; want leading {batch_size}"
    lval = model.loss(params, batch, cfg32, h0)
    assert jnp.shape(lval) == (), f"loss must be a scalar; got shape {jnp.shape(lval)}"
    assert jnp.isfinite(lval), "loss at init is not finite"
    for k, v in model.metrics(params, cfg32, h0).items():
        assert jnp.shape(v) == (), f"metric {k} must be a scalar"
        assert jnp.isfinite(v), f"metric {k} at init is not finite"
    for leaf in jax.tree.leaves(params):
        assert leaf.dtype == jnp.float32, f"cfg32 params must be float32; got {leaf.dtype}"

    # vmap over member keys == Python loop
    keys = member_keys(key, np.arange(m))
    vm = jax.vmap(lambda k, h: model.loss(model.init(k, cfg32, h), model.sample(k, cfg32, h, batch_size), cfg32, h))(
        keys, hyper
    )
    loop = jnp.stack(
        [
            model.loss(model.init(keys[i], cfg32, _member(hyper, i)), model.sample(keys[i], cfg32, _member(hyper, i), batch_size), cfg32, _member(hyper, i))
            for i in range(m)
        ]
    )
    np.testing.assert_allclose(np.asarray(vm), np.asarray(loop), rtol=1e-5, atol=1e-6)

    # no recompilation on a second call with new hyper values; same seed -> same bits
    _compiled.cache_clear()
    r1 = train_ensemble(model, cfg32, hyper, optimizer, key=key, steps=steps, batch_size=batch_size)
    fn = _compiled(model, cfg32, optimizer, steps, batch_size, r1.steps.size)
    n_before = fn._cache_size()
    hyper2 = jax.tree.map(lambda x: x * 0.9 if jnp.issubdtype(x.dtype, jnp.floating) else x, hyper)
    train_ensemble(model, cfg32, hyper2, optimizer, key=key, steps=steps, batch_size=batch_size)
    assert fn._cache_size() == n_before == 1, "second call with new hyper values recompiled"
    r1b = train_ensemble(model, cfg32, hyper, optimizer, key=key, steps=steps, batch_size=batch_size)
    for k in r1.metrics:
        np.testing.assert_array_equal(r1.metrics[k], r1b.metrics[k], err_msg=f"same seed, different bits in {k}")
    assert not r1.diverged.any()

    # float32 vs float64: the same params and batch (drawn in float32, upcast) give the same
    # loss, gradient and metrics (random draws themselves differ between dtypes in JAX)
    up = lambda t: jax.tree.map(lambda x: x.astype(jnp.float64) if jnp.issubdtype(x.dtype, jnp.floating) else x, t)
    p32 = jax.tree.map(lambda x: x + 0.01, params)  # away from a trivial initial point
    l32, g32 = jax.value_and_grad(model.loss)(p32, batch, cfg32, h0)
    l64, g64 = jax.value_and_grad(model.loss)(up(p32), up(batch), cfg64, up(h0))
    np.testing.assert_allclose(l32, l64, rtol=rtol64, atol=atol64, err_msg="f32 vs f64 loss")
    for a, b in zip(jax.tree.leaves(g32), jax.tree.leaves(g64)):
        np.testing.assert_allclose(a, b, rtol=rtol64, atol=atol64, err_msg="f32 vs f64 gradient")
    m32, m64 = model.metrics(p32, cfg32, h0), model.metrics(up(p32), cfg64, up(h0))
    for k in m32:
        np.testing.assert_allclose(m32[k], m64[k], rtol=rtol64, atol=atol64, err_msg=f"f32 vs f64 metric {k}")
    r64 = train_ensemble(model, cfg64, hyper, optimizer, key=key, steps=steps, batch_size=batch_size)
    assert all(v.dtype == np.float64 for v in jax.tree.leaves(r64.params)), "cfg64 must train in float64"
    return r1
