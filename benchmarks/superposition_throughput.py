"""Throughput: scalesim's vmapped superposition ensemble vs a faithful per-model PyTorch loop.

Both train the same exp-10-style sub-grid (Liu, Liu & Gore 2025: n features, widths ms,
members = alphas × gammas, batch 2048, signed-decay AdamW, warm-up + cosine schedule).
The baseline follows the authors' loop one model at a time: dense data
``(rand(B, n) < p) * rand(B, n) * 2``, ``relu(x @ W @ W.T + b)``, ``nn.MSELoss``, and an AdamW
whose decay step is p(1 − ηγ) for γ ≥ 0 and the row-norm pull for γ < 0 (written here from the
paper's description).  Both time ``--steps`` steps per model after a warm-up/compile, and the
script prints model-steps per second and the ratio.

    PYTHONPATH=. python benchmarks/superposition_throughput.py [--steps 200] [--ms 10,100]

PyTorch is optional (``pip install .[bench]``); without it the baseline is skipped with a message.
"""

from __future__ import annotations

import argparse
import math
import time

import jax
import numpy as np

from scalesim.engine import train_ensemble
from scalesim.models import superposition as sp
from scalesim.optim import LiuAdamW
from scalesim.rng import root_key


def scalesim_rate(n, m, alphas, gammas, steps, batch):
    A, G = np.meshgrid(alphas, gammas, indexing="ij")
    cfg = sp.Config(n=n, m=m)
    opt = LiuAdamW(steps, steps // 10)

    def go(shift):
        h = sp.make_hyper(alpha=A.ravel() + shift, gamma=G.ravel(), lr=1e-2)
        r = train_ensemble(sp.MODEL, cfg, h, opt, key=root_key(0), steps=steps, batch_size=batch,
                           record_steps=[0, steps])
        jax.block_until_ready(r.params)

    t0 = time.perf_counter()
    go(0.0)  # compile + run
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    go(0.01)  # new hyper values: no recompilation
    dt = time.perf_counter() - t0
    return A.size * steps / dt, first - dt


def torch_rate(n, m, alphas, gammas, steps, batch):
    import torch
    from torch import nn

    def lr_at(step, lr, n_steps, warm):
        s, lo = step + 1, 0.05 * lr
        if s < warm:
            return lr * s / warm
        return (lr - lo) * 0.5 * (1 + math.cos(math.pi * (s - warm) / (n_steps - warm))) + lo

    def train(alpha, gamma):
        prob = torch.tensor([1.0 / i ** alpha for i in range(1, n + 1)])
        prob = prob / prob.sum()
        W = nn.Parameter(torch.randn(n, m) / math.sqrt(m))
        b = nn.Parameter(torch.randn(n))
        state = {p: (torch.zeros_like(p), torch.zeros_like(p)) for p in (W, b)}
        crit = nn.MSELoss()
        for t in range(steps):
            x = (torch.rand(batch, n) < prob).float() * torch.rand(batch, n) * 2
            lr = lr_at(t, 1e-2, steps, steps // 10)
            loss = crit(torch.relu(x @ W @ W.T + b), x)
            W.grad = b.grad = None
            loss.backward()
            with torch.no_grad():
                if gamma >= 0:
                    W.mul_(1 - gamma * lr)
                else:
                    rn = W.norm(dim=1, keepdim=True) + 1e-8
                    W.add_(gamma * W * (1 - 1 / rn), alpha=lr)
                for p in (W, b):
                    m1, v = state[p]
                    m1.mul_(0.9).add_(p.grad, alpha=0.1)
                    v.mul_(0.999).addcmul_(p.grad, p.grad, value=0.001)
                    denom = (v.sqrt() / math.sqrt(1 - 0.999 ** (t + 1))).add_(1e-8)
                    p.addcdiv_(m1, denom, value=-lr / (1 - 0.9 ** (t + 1)))

    train(alphas[0], gammas[0])  # warm-up
    t0 = time.perf_counter()
    for a in alphas:
        for g in gammas:
            train(a, g)
    dt = time.perf_counter() - t0
    return len(alphas) * len(gammas) * steps / dt


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--ms", default="10,100")
    ap.add_argument("--alphas", default="0.5,1.0,1.5,2.0")
    ap.add_argument("--gammas", default="-1.0,0.5")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--batch", type=int, default=2048)
    args = ap.parse_args(argv)
    alphas = [float(a) for a in args.alphas.split(",")]
    gammas = [float(g) for g in args.gammas.split(",")]
    print(f"device: {jax.devices()[0].platform}; n={args.n}, batch={args.batch}, steps={args.steps}, "
          f"members per width={len(alphas) * len(gammas)}")
    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
        print("PyTorch not installed (pip install .[bench]): skipping the per-model PyTorch baseline.")
    for m in (int(x) for x in args.ms.split(",")):
        ours, compile_s = scalesim_rate(args.n, m, alphas, gammas, args.steps, args.batch)
        line = f"m={m:5d}  scalesim: {ours:8.1f} model-steps/s (compile {compile_s:.1f}s)"
        if have_torch:
            theirs = torch_rate(args.n, m, alphas, gammas, args.steps, args.batch)
            line += f"  torch per-model loop: {theirs:8.1f} model-steps/s  ratio: {ours / theirs:.2f}x"
        print(line, flush=True)


if __name__ == "__main__":
    main()
