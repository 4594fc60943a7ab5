"""The conformance suite every registered model and simulator passes (the optax pattern).

``tests/test_conformance.py`` runs these checks over ``scalesim.registry.model_modules()``; each
module supplies a small case through ``example(dtype)``. A model (:class:`scalesim.engine.Model`):

- shapes: a batch has a leading ``batch_size`` axis, the loss and metrics are finite scalars,
  ``float32`` params for a float32 config;
- ``vmap`` over members equals a Python loop over the same members;
- ``train_ensemble(..., max_members=K)`` chunks give the bits of the unchunked run;
- no recompilation when the ensemble trainer is called again with new hyperparameter values
  (compilations counted with :mod:`jax.monitoring`);
- same seed -> same bits;
- float32 vs float64: the same params and batch give the same loss, gradient and metrics within
  tolerance (needs x64);
- a one-step golden value: member-0 metrics after one optimizer step in float64
  (``tests/golden/conformance.json``; needs x64).

A simulator (:class:`scalesim.simulator.Simulator`): finite outputs with a leading member axis, ``run_simulator``
equals a loop of single members, chunked equals unchunked, no recompilation for new hyper
values, same seed -> same bits, and a golden value (needs x64).

Run ``python tests/conformance.py --update`` to rewrite the golden file (see GOLDEN_HELP).
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from scalesim.engine import train_ensemble
from scalesim.rng import member_keys, root_key
from scalesim.simulator import run_simulator

GOLDEN = Path(__file__).with_name("golden") / "conformance.json"
GOLDEN_HELP = (
    "Update tests/golden/conformance.json (python tests/conformance.py --update) ONLY when the change is "
    "intended: a deliberate change of the model's definition, initialisation, sampling or example(), or a "
    "JAX/XLA release that changes random bits or float rounding (then say so in the commit). Anything else "
    "is a regression: every stored result of this model would change."
)
_COMPILES = [0]


def _on_event(name, *_args, **_kw):
    if name == "/jax/core/compile/backend_compile_duration":
        _COMPILES[0] += 1


jax.monitoring.register_event_duration_secs_listener(_on_event)


@contextlib.contextmanager
def count_compilations():
    """Yields a one-element list holding the number of XLA compilations inside the block."""
    start = _COMPILES[0]
    out = [0]
    try:
        yield out
    finally:
        out[0] = _COMPILES[0] - start


def x64() -> bool:
    return bool(jax.config.jax_enable_x64)


def _member(tree, i):
    return jax.tree.map(lambda x: x[i], tree)


def _scale(tree, f=0.9):
    return jax.tree.map(lambda x: x * f if jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating) else x, tree)


def _up(tree):
    return jax.tree.map(lambda x: x.astype(jnp.float64) if jnp.issubdtype(x.dtype, jnp.floating) else x, tree)


def _m(hyper) -> int:
    return int(np.shape(jax.tree.leaves(hyper)[0])[0])


# ------------------------------------------------------------------------------------------ models
def check_model_shapes(mod):
    ex, model = mod.example("float32"), mod.MODEL
    cfg, h0, bs = ex["cfg"], _member(ex["hyper"], 0), ex["batch_size"]
    assert _m(ex["hyper"]) >= 2, "example() must give >= 2 members"
    params = model.init(jax.random.PRNGKey(1), cfg, h0)
    batch = model.sample(jax.random.PRNGKey(2), cfg, h0, bs)
    for leaf in jax.tree.leaves(batch):
        assert leaf.shape[0] == bs, f"batch leaf has shape {leaf.shape}; want leading {bs}"
    lval = model.loss(params, batch, cfg, h0)
    assert jnp.shape(lval) == (), f"loss must be a scalar; got shape {jnp.shape(lval)}"
    assert jnp.isfinite(lval), "loss at init is not finite"
    for k, v in model.metrics(params, cfg, h0).items():
        assert jnp.shape(v) == () and jnp.isfinite(v), f"metric {k} must be a finite scalar; got {v}"
    for leaf in jax.tree.leaves(params):
        assert leaf.dtype == jnp.float32, f"float32 example must have float32 params; got {leaf.dtype}"


def check_model_vmap_equals_loop(mod):
    ex, model = mod.example("float32"), mod.MODEL
    cfg, hyper, bs = ex["cfg"], ex["hyper"], ex["batch_size"]
    m = _m(hyper)
    keys = member_keys(root_key(0), np.arange(m))
    one = lambda k, h: model.loss(model.init(k, cfg, h), model.sample(k, cfg, h, bs), cfg, h)
    vm = jax.vmap(one)(keys, hyper)
    loop = jnp.stack([one(keys[i], _member(hyper, i)) for i in range(m)])
    np.testing.assert_allclose(np.asarray(vm), np.asarray(loop), rtol=1e-5, atol=1e-6)


def _train(mod, ex, hyper, steps=None, **kw):
    return train_ensemble(mod.MODEL, ex["cfg"], hyper, ex["optimizer"], key=root_key(0),
                          steps=ex["steps"] if steps is None else steps, batch_size=ex["batch_size"], **kw)


def check_model_no_recompile_same_bits(mod):
    ex = mod.example("float32")
    r1 = _train(mod, ex, ex["hyper"])
    hyper2 = jax.block_until_ready(_scale(ex["hyper"]))  # outside the count: eager ops compile too
    with count_compilations() as n:
        _train(mod, ex, hyper2)
    assert n[0] == 0, f"second call with new hyper values compiled {n[0]} program(s)"
    r1b = _train(mod, ex, ex["hyper"])
    for k in r1.metrics:
        np.testing.assert_array_equal(r1.metrics[k], r1b.metrics[k], err_msg=f"same seed, different bits in {k}")
    assert not r1.diverged.any(), "example members diverged"


def check_model_chunked(mod):
    """``max_members`` chunks give the bits of the unchunked run: 37 members as 16 + 21."""
    ex = mod.example("float32")
    for m, limits in ((37, (16,)),):
        hyper = jax.tree.map(lambda x: jnp.concatenate([x] * m)[:m], ex["hyper"])  # members differ by id
        whole = _train(mod, ex, hyper)
        for k in limits:
            part = _train(mod, ex, hyper, max_members=k)
            where = f"M={m}, max_members={k}"
            for name in whole.metrics:
                np.testing.assert_array_equal(whole.metrics[name], part.metrics[name],
                                              err_msg=f"{where}: {name} differs from the unchunked run")
            for a, b in zip(jax.tree.leaves(whole.params), jax.tree.leaves(part.params)):
                np.testing.assert_array_equal(a, b, err_msg=f"{where}: params differ from the unchunked run")


def check_model_f32_vs_f64(mod, rtol=2e-3, atol=1e-5):
    ex32, ex64, model = mod.example("float32"), mod.example("float64"), mod.MODEL
    h0 = _member(ex32["hyper"], 0)
    params = jax.tree.map(lambda x: x + 0.01, model.init(jax.random.PRNGKey(1), ex32["cfg"], h0))
    batch = model.sample(jax.random.PRNGKey(2), ex32["cfg"], h0, ex32["batch_size"])
    l32, g32 = jax.value_and_grad(model.loss)(params, batch, ex32["cfg"], h0)
    l64, g64 = jax.value_and_grad(model.loss)(_up(params), _up(batch), ex64["cfg"], _up(h0))
    np.testing.assert_allclose(l32, l64, rtol=rtol, atol=atol, err_msg="f32 vs f64 loss")
    for a, b in zip(jax.tree.leaves(g32), jax.tree.leaves(g64)):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg="f32 vs f64 gradient")
    m32, m64 = model.metrics(params, ex32["cfg"], h0), model.metrics(_up(params), ex64["cfg"], _up(h0))
    for k in m32:
        np.testing.assert_allclose(m32[k], m64[k], rtol=rtol, atol=atol, err_msg=f"f32 vs f64 metric {k}")
    r64 = _train(mod, ex64, ex64["hyper"], steps=1, record_steps=[0, 1])
    assert all(np.asarray(v).dtype == np.float64 for v in jax.tree.leaves(r64.params)), "float64 example must train in float64"


def model_golden(mod) -> dict:
    """Member-0 metrics after one optimizer step of the float64 example (the program of the
    float32-vs-float64 check, so it is compiled once)."""
    ex = mod.example("float64")
    r = _train(mod, ex, ex["hyper"], steps=1, record_steps=[0, 1])
    return {k: float(v[0, -1]) for k, v in sorted(r.metrics.items())}


# -------------------------------------------------------------------------------------- simulators
def _simulate(mod, ex, hyper=None, **kw):
    return run_simulator(mod.SIMULATOR, ex["cfg"], ex["hyper"] if hyper is None else hyper, key=root_key(0), **kw)


def check_simulator(mod):
    ex, sim = mod.example("float32"), mod.SIMULATOR
    if sim.x64_only and not x64():  # refuses float32 with a clear error instead of NaNs
        try:
            _simulate(mod, ex)
        except ValueError as e:
            assert "needs float64" in str(e)
            return
        raise AssertionError(f"{sim.name} is x64_only but ran with x64 off")
    hyper, m = ex["hyper"], _m(ex["hyper"])
    assert m >= 2, "example() must give >= 2 members"
    out = _simulate(mod, ex)
    assert out, "simulate must return a non-empty dict"
    for k, v in out.items():
        assert v.shape[:1] == (m,), f"output {k} has shape {v.shape}; want leading axis {m}"
        if np.issubdtype(v.dtype, np.floating):
            assert np.all(np.isfinite(v)), f"output {k} not finite: {v}"
    # member i is the same whether run alone, in a loop, or in chunks
    key = root_key(0)
    for i in range(m):
        alone = sim.simulate(jax.random.fold_in(key, i), ex["cfg"], _member(hyper, i))
        for k in out:
            np.testing.assert_allclose(out[k][i], np.asarray(alone[k]), rtol=2e-5, atol=1e-9,
                                       err_msg=f"member {i} run alone differs in {k}")
    chunked = _simulate(mod, ex, chunk=1)
    for k in out:
        np.testing.assert_array_equal(out[k], chunked[k], err_msg=f"chunked run differs in {k}")
    hyper2 = jax.block_until_ready(_scale(hyper, 0.95))
    with count_compilations() as n:
        _simulate(mod, ex, hyper2)
    assert n[0] == 0, f"second call with new hyper values compiled {n[0]} program(s)"
    again = _simulate(mod, ex)
    for k in out:
        np.testing.assert_array_equal(out[k], again[k], err_msg=f"same seed, different bits in {k}")


def simulator_golden(mod) -> dict:
    """Member-0 outputs of the float64 example (array outputs: their mean)."""
    out = _simulate(mod, mod.example("float64"))
    return {k: float(np.mean(v[0])) for k, v in sorted(out.items())}


# ------------------------------------------------------------------------------------------ golden
def golden_of(mod) -> dict:
    return model_golden(mod) if hasattr(mod, "MODEL") else simulator_golden(mod)


def check_golden(mod, rtol=1e-6):
    want = json.loads(GOLDEN.read_text()).get(mod.__name__)
    assert want is not None, f"no golden value for {mod.__name__}. {GOLDEN_HELP}"
    got = golden_of(mod)
    assert sorted(got) == sorted(want), f"{mod.__name__}: golden keys {sorted(want)} -> {sorted(got)}. {GOLDEN_HELP}"
    for k in want:
        ok = np.isclose(got[k], want[k], rtol=rtol, atol=1e-12) or (np.isnan(got[k]) and np.isnan(want[k]))
        assert ok, f"{mod.__name__}: one-step {k} = {got[k]!r}, golden {want[k]!r}. {GOLDEN_HELP}"


def update_golden():
    from scalesim.registry import model_modules

    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_threefry_partitionable", True)
    GOLDEN.parent.mkdir(exist_ok=True)
    data = {m.__name__: golden_of(m) for m in model_modules()}
    GOLDEN.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN} ({len(data)} models)")


if __name__ == "__main__":
    if sys.argv[1:] == ["--update"]:
        update_golden()
    else:
        print(__doc__)
