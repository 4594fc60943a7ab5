"""Ensemble-trainer throughput: vmapped ensemble vs training the same members one at a time.

Model: ``scalesim.models.linear_sgd`` (online SGD, d features, batch B). Throughput is in
member-steps per second, warm (compilation excluded; compile time printed separately).

Baselines, measured in the same run on the same members:
  loop-scan : a Python loop over members, each trained by the same compiled program with M = 1
  loop-step : a Python loop over members and steps calling one jitted SGD step (the naive loop)

Usage: python benchmarks/ensemble_throughput.py [--d 256] [--steps 2000] [--batch 8] [--max-members 256]
"""

from __future__ import annotations

import argparse
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from scalesim.engine import train_ensemble
from scalesim.models import linear_sgd as lin
from scalesim.rng import root_key, stream


def sgd(h):
    return optax.sgd(h.lr)


def timed(fn, repeats=3):
    fn()  # warm-up / compile
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def ensemble_time(cfg, m, steps, batch):
    hyper = lin.make_hyper(0.1, np.full(m, 2.0), 1.5, 0.1)
    rec = np.array([0, steps])
    run = lambda: train_ensemble(lin.MODEL, cfg, hyper, sgd, key=root_key(0), steps=steps, batch_size=batch,
                                 record_steps=rec)
    t0 = time.perf_counter()
    run()
    first = time.perf_counter() - t0
    return timed(run), first


def loop_scan_time(cfg, m, steps, batch):
    hyper = lin.make_hyper(0.1, [2.0], 1.5, 0.1)
    rec = np.array([0, steps])

    def run():
        for i in range(m):
            train_ensemble(lin.MODEL, cfg, hyper, sgd, key=root_key(0), steps=steps, batch_size=batch,
                           record_steps=rec, member_ids=[i])

    return timed(run, repeats=1)


def loop_step_time(cfg, m, steps, batch):
    h = lin.make_hyper(0.1, [2.0], 1.5, 0.1)
    h = jax.tree.map(lambda x: x[0], h)
    opt = sgd(h)

    @jax.jit
    def step(theta, state, key):
        batch_ = lin.sample(key, cfg, h, batch)
        g = jax.grad(lin.loss)(theta, batch_, cfg, h)
        upd, state = opt.update(g, state, theta)
        return optax.apply_updates(theta, upd), state

    def run():
        for i in range(m):
            dkey = jax.random.fold_in(stream(root_key(0), "data"), i)
            theta = lin.init(None, cfg, h)
            state = opt.init(theta)
            for t in range(steps):
                theta, state = step(theta, state, jax.random.fold_in(dkey, t))
            theta.block_until_ready()

    return timed(run, repeats=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--d", type=int, default=256)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--max-members", type=int, default=256)
    ap.add_argument("--baseline-members", type=int, default=8)
    args = ap.parse_args()
    cfg = lin.Config(d=args.d)
    dev = jax.devices()[0]
    print(f"# ensemble_throughput  jax {jax.__version__}  device {dev.platform}:{dev.device_kind}  "
          f"cpu {platform.processor() or platform.machine()}  d={args.d} steps={args.steps} batch={args.batch}")
    mb = args.baseline_members
    t_scan = loop_scan_time(cfg, mb, args.steps, args.batch)
    t_step = loop_step_time(cfg, mb, min(args.steps, 500), args.batch)
    thr_scan = mb * args.steps / t_scan
    thr_step = mb * min(args.steps, 500) / t_step
    print(f"baseline loop-scan ({mb} members one at a time, same compiled program, M=1): {thr_scan:12.0f} member-steps/s")
    print(f"baseline loop-step ({mb} members, Python loop over jitted steps)          : {thr_step:12.0f} member-steps/s")
    print(f"{'members':>8} {'seconds':>9} {'compile+run s':>14} {'member-steps/s':>15} {'x loop-scan':>12} {'x loop-step':>12}")
    m = 1
    while m <= args.max_members:
        t, first = ensemble_time(cfg, m, args.steps, args.batch)
        thr = m * args.steps / t
        print(f"{m:8d} {t:9.3f} {first:14.2f} {thr:15.0f} {thr / thr_scan:12.1f} {thr / thr_step:12.1f}")
        m *= 2


if __name__ == "__main__":
    main()
