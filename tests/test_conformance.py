"""The conformance suite, parametrized over every registered model and simulator.

Runs with x64 on (the default of the test configuration) and, in CI, again with
``SCALESIM_X64=0``; float64-only checks are skipped in the second run.
"""

import pytest

import conformance as C
from scalesim.registry import model_modules

MODELS = [m for m in model_modules() if hasattr(m, "MODEL")]
SIMULATORS = [m for m in model_modules() if hasattr(m, "SIMULATOR")]
ids = lambda m: m.__name__.rsplit(".", 1)[-1]
needs_x64 = pytest.mark.skipif(not C.x64(), reason="float64 checks need jax_enable_x64")


@pytest.mark.parametrize("mod", MODELS, ids=ids)
def test_model_shapes_and_finite(mod):
    C.check_model_shapes(mod)


@pytest.mark.parametrize("mod", MODELS, ids=ids)
def test_model_vmap_equals_loop(mod):
    C.check_model_vmap_equals_loop(mod)


@pytest.mark.parametrize("mod", MODELS, ids=ids)
def test_model_no_recompile_same_bits(mod):
    C.check_model_no_recompile_same_bits(mod)


@pytest.mark.parametrize("mod", MODELS, ids=ids)
def test_model_chunked_equals_unchunked(mod):
    C.check_model_chunked(mod)


@needs_x64
@pytest.mark.parametrize("mod", MODELS, ids=ids)
def test_model_float32_vs_float64(mod):
    C.check_model_f32_vs_f64(mod)


@pytest.mark.parametrize("mod", SIMULATORS, ids=ids)
def test_simulator(mod):
    C.check_simulator(mod)


@needs_x64
@pytest.mark.parametrize("mod", MODELS + SIMULATORS, ids=ids)
def test_golden_value(mod):
    C.check_golden(mod)


def test_compilation_counter_counts():
    import jax
    import jax.numpy as jnp

    f = jax.jit(lambda x: x * 3.0 + 1.0)
    a = jnp.ones(7)
    b = jax.block_until_ready(a * 2)  # eager ops compile too: keep them outside the count
    with C.count_compilations() as n:
        f(a)
        f(b)  # new values, same shape: no second compilation
    assert n[0] == 1
    with C.count_compilations() as n:
        f(a[:3])  # a new shape compiles (the slice too)
    assert n[0] >= 1
