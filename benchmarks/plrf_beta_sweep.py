"""Benchmark: exact PLRF SGD risk for a sweep over beta, eigendecompositions shared vs per beta.

``plrf.plrf_sgd_risk_betas`` (one ``eigh`` of ``K = W^T D W`` and one of the SGD recursion
matrix per W draw, reused by every beta) against the per-beta path ``plrf.plrf_sgd_risk`` called
once per beta (both ``eigh`` redone each time), same W draws, same run. Sizes: the
``rf-compute-optimal`` experiment's full settings (alpha = 1, betas 0.25 / 0.75 / 1.5,
d = 16..512, v = 10 d, 48 draws per d vmapped in float64 as the experiment does, lr = 0.5 /
tr(K), B = 1, its 60 geometric record steps up to f_max / d). Warm timings (each jitted program
compiled by a first call), and the largest relative difference between the two paths.

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python benchmarks/plrf_beta_sweep.py [--dims 16,32,64]
"""
import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
from functools import partial  # noqa: E402

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_threefry_partitionable", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from scalesim.engine import geometric_steps  # noqa: E402
from scalesim.experiments import rf_compute_optimal as E  # noqa: E402
from scalesim.theory import plrf  # noqa: E402


@partial(jax.jit, static_argnames=("batch",))
def per_beta(ws, alpha, beta, lr_scale, batch, t):
    return jax.vmap(lambda w: plrf.plrf_sgd_risk(w, alpha, beta, lr_scale, batch, t))(ws)


@partial(jax.jit, static_argnames=("batch",))
def shared(ws, alpha, betas, lr_scale, batch, t):
    return jax.vmap(lambda w: plrf.plrf_sgd_risk_betas(w, alpha, betas, lr_scale, batch, t))(ws)


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn(*args, **kwargs))
    return time.perf_counter() - t0, out


def main():
    s = E.settings(False)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dims", default=",".join(map(str, s.dims)))
    ap.add_argument("--seeds", type=int, default=s.seeds)
    ap.add_argument("--betas", default=",".join(map(str, s.betas)))
    ap.add_argument("--alpha", type=float, default=1.0)
    args = ap.parse_args()
    dims = [int(x) for x in args.dims.split(",")]
    betas = [float(x) for x in args.betas.split(",")]
    print(f"alpha={args.alpha}, betas={betas}, dims={dims}, {args.seeds} draws per d, v = {s.v_ratio} d, "
          f"lr_scale={s.lr_scale}, B={s.batch}, {s.n_records} record steps up to f_max/d (f_max={s.f_max:g})")
    tot_old = tot_new = 0.0
    worst = 0.0
    for d in dims:
        t = jnp.asarray(geometric_steps(int(math.ceil(s.f_max / (d * s.batch))), s.n_records), jnp.float64)
        key = jax.random.PRNGKey(d)
        ws = jax.random.normal(key, (args.seeds, s.v_ratio * d, d), jnp.float64) / math.sqrt(d)
        run_old = lambda: [per_beta(ws, args.alpha, b, s.lr_scale, s.batch, t) for b in betas]
        run_new = lambda: shared(ws, args.alpha, jnp.asarray(betas), s.lr_scale, s.batch, t)
        c_old, _ = timed(run_old)     # compile + first run
        c_new, _ = timed(run_new)
        w_old, old = timed(run_old)
        w_new, new = timed(run_new)
        r_old = np.stack([np.asarray(o[0]) for o in old], axis=1)      # [seeds, n_beta, T]
        diff = float(np.max(np.abs(r_old / np.asarray(new[0]) - 1)))
        diff = max(diff, float(np.max(np.abs(np.asarray(old[0][2]) / np.asarray(new[2]) - 1))))
        worst = max(worst, diff)
        tot_old += w_old
        tot_new += w_new
        print(f"d={d:4d}: per-beta {w_old:8.3f} s, shared {w_new:8.3f} s, ratio {w_old / w_new:5.2f}x "
              f"(first calls incl. compile {c_old:.2f} / {c_new:.2f} s); max rel diff {diff:.1e}", flush=True)
    print(f"total warm: per-beta {tot_old:.2f} s, shared {tot_new:.2f} s: {tot_old / tot_new:.2f}x faster "
          f"for {len(betas)} betas; max rel diff {worst:.1e}")


if __name__ == "__main__":
    main()
