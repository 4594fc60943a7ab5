"""Sharded (4 simulated CPU devices) == unsharded: run in a subprocess so XLA_FLAGS take effect."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import jax, numpy as np, optax
assert len(jax.devices()) == 4, jax.devices()
from scalesim.engine import train_ensemble
from scalesim.sharding import member_mesh
from scalesim.models import linear_sgd as lin
from scalesim.rng import root_key
sgd = lambda h: optax.sgd(h.lr)
hyper = lin.make_hyper(lr=np.linspace(0.05, 0.3, 6), a=2.0, b=1.5, sigma=0.1)  # 6 members -> padded to 8
cfg = lin.Config(d=32)
one = train_ensemble(lin.MODEL, cfg, hyper, sgd, key=root_key(0), steps=100, batch_size=4)
mesh = member_mesh()
many = train_ensemble(lin.MODEL, cfg, hyper, sgd, key=root_key(0), steps=100, batch_size=4, mesh=mesh)
for k in one.metrics:
    np.testing.assert_allclose(one.metrics[k], many.metrics[k], rtol=1e-6, atol=0, err_msg=k)
np.testing.assert_allclose(one.params, many.params, rtol=1e-6)
exact = all(np.array_equal(one.metrics[k], many.metrics[k]) for k in one.metrics)
print("OK", "bit-identical" if exact else "equal-to-1e-6", many.metrics["mse"].shape)
"""


def test_sharded_equals_unsharded_on_4_cpu_devices():
    env = dict(os.environ)
    env["XLA_FLAGS"] = env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4"
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.startswith("OK"), out.stdout
