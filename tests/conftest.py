"""Test-wide JAX flags: float64 available for theory."""

import os

os.environ.setdefault("SCALESIM_QUICK", "1")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
