"""Test-wide JAX flags: float64 for theory (``SCALESIM_X64=0`` turns it off, for the
conformance suite's float32 run) and no implicit rank promotion (broadcasts must be explicit)."""

import os

os.environ.setdefault("SCALESIM_QUICK", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the CLI: no BLAS oversubscription

import jax  # noqa: E402

jax.config.update("jax_enable_x64", os.environ.get("SCALESIM_X64", "1") != "0")
jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_threefry_partitionable", True)  # as the CLI: random draws must not depend on the default


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def quick_results(tmp_path_factory):
    """One results root per test session: quick runs made by tests are reused by the notebooks."""
    return tmp_path_factory.mktemp("results")


@pytest.fixture(scope="session")
def compile_cache_env(tmp_path_factory):
    """Environment for CLI subprocesses: one persistent JAX compilation cache shared by every
    subprocess of the test session (concurrent workers of one sweep compile the same programs)."""
    return {
        "JAX_COMPILATION_CACHE_DIR": str(tmp_path_factory.mktemp("jax-cache")),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "-1",
    }
