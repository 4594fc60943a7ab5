"""Throughput of the superposition training step: scalesim vs the matmul limit and vs PyTorch.

Workload (Liu, Liu & Gore 2025, exp-10 style): n features, width m, batch B, members =
alphas × gammas (8 by default), ``--steps`` steps of the signed-decay AdamW with warm-up + cosine
schedule (``scalesim.optim.LiuAdamW``), fresh sparse data every step.  Per width m, one run prints:

* **member-steps/s** of ``scalesim.engine.train_ensemble`` (one ``jit(vmap(scan(step)))``
  program; compile excluded; metrics recorded once, at the last step);
* **matmul limit**: the same number of steps of a jitted ``scan`` that does only the step's three
  dense products for the same members, ``z = H Wᵀ`` [B, n], ``dh = G W`` [B, m] and
  ``dW = Gᵀ H`` [n, m] (batched ``jnp.einsum`` over the member axis, outputs fed back so that
  nothing is hoisted);
* **achieved FLOP/s** and the **fraction of the limit**.  The FLOP count is the dense matmul work
  only, 6·B·n·m per member-step (forward W Wᵀ x and the two backward products).  Not counted: the
  sparse first layer h = Σ_k v_k W[idx_k] and its scatter-add gradient (4·B·K·m with K =
  ``max_active`` slots, < 1 % of the dense work at n = 1000), the B×n elementwise work
  (ReLU, residual, bias), the sampler and the optimizer.  So the fraction is simply
  t(three matmuls) / t(training step): 100 % would mean everything else is free;
* the **per-model PyTorch loop** (one model at a time, as the authors' code trains) and the ratio.
  Written as a careful PyTorch user would: ``torch.set_num_threads(os.cpu_count())``,
  preallocated buffers, in-place ops, ``out=`` sampling, hand-written backward (no autograd
  graph), the same AdamW arithmetic.  Two variants are timed and the faster is the baseline:
  *dense* (the authors' formulation: x = (rand < p)·2·rand [B, n], h = x W) and *sparse* (the
  same Poissonised sparse sampler as scalesim and an index-gather first layer, i.e. the same
  algorithm).  ``--torch-compile`` also times the dense step under ``torch.compile``.

Timings are the best of ``--rounds`` interleaved rounds (the machine may be shared; ratios are
within one run).

    python benchmarks/superposition_throughput.py [--quick] [--ms 10,100] [--steps 100]

PyTorch is optional (``pip install .[bench]``); without it the baseline is skipped with a message.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import time

import jax
import jax.numpy as jnp
import numpy as np

from scalesim.engine import train_ensemble
from scalesim.models import superposition as sp
from scalesim.optim import LiuAdamW, liu_schedule_factor
from scalesim.rng import root_key

B1, B2, EPS = 0.9, 0.999, 1e-8  # optax.scale_by_adam defaults, as in LiuAdamW


def matmul_flops(n: int, m: int, batch: int) -> float:
    """Dense matmul FLOPs of one member-step: 3 products of 2·B·n·m (forward, dh, dW)."""
    return 6.0 * batch * n * m


def hyper_grid(alphas, gammas, shift=0.0) -> sp.Hyper:
    """Members = alphas × gammas (alpha-major), lr 1e-2; ``shift`` moves α (no recompilation)."""
    A, G = np.meshgrid(alphas, gammas, indexing="ij")
    return sp.make_hyper(alpha=A.ravel() + shift, gamma=G.ravel(), lr=1e-2)


def scalesim_runner(n, m, alphas, gammas, steps, batch):
    """A callable that trains the ensemble once (blocking) and the compile+first-run time.

    Returns:
      (run, first_s): ``run(shift)`` trains with α shifted by ``shift``.
    """
    cfg = sp.Config(n=n, m=m)
    opt = LiuAdamW(steps, steps // 10)

    def run(shift):
        r = train_ensemble(sp.MODEL, cfg, hyper_grid(alphas, gammas, shift), opt, key=root_key(0),
                           steps=steps, batch_size=batch, record_steps=[steps])
        return jax.block_until_ready(r.params)

    t0 = time.perf_counter()
    run(0.0)
    return run, time.perf_counter() - t0


def _unit(x):
    return x * jax.lax.rsqrt(jnp.sum(x * x))


def matmul_runner(n, m, members, steps, batch):
    """``steps`` iterations of the step's three batched matmuls (the same-shape limit).

    Each iteration computes z = H Wᵀ, dh = G W, dW = Gᵀ H for every member and feeds
    (dh, dW, z) back as the next (H, W, G); H and W are rescaled to unit norm (a B×m and an
    n×m pass) so values stay O(1).

    Returns:
      ``run()`` (blocking).
    """
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(0), 3)
    H = jax.random.normal(k1, (members, batch, m), jnp.float32)
    W = jax.random.normal(k2, (members, n, m), jnp.float32)
    G = jax.random.normal(k3, (members, batch, n), jnp.float32)

    def body(carry, _):
        H, W, G = carry
        z = jnp.einsum("ebm,enm->ebn", H, W)
        dh = jnp.einsum("ebn,enm->ebm", G, W)
        dW = jnp.einsum("ebn,ebm->enm", G, H)
        return (_unit(dh), _unit(dW), z), None

    fn = jax.jit(lambda H, W, G: jax.lax.scan(body, (_unit(H), _unit(W), G), None, length=steps)[0])

    def run():
        return jax.block_until_ready(fn(H, W, G))

    run()
    return run


# --------------------------------------------------------------------------------- PyTorch loop
class _TorchAdamW:
    """In-place LiuAdamW on {W, b}: Adam (optax.scale_by_adam), signed decay on W, schedule."""

    def __init__(self, torch, W, b, lr, gamma, steps):
        self.torch, self.W, self.b, self.lr, self.gamma = torch, W, b, lr, gamma
        f = liu_schedule_factor(steps, steps // 10)
        self.factors = [float(f(t)) for t in range(steps)]
        self.mW, self.vW = torch.zeros_like(W), torch.zeros_like(W)
        self.mb, self.vb = torch.zeros_like(b), torch.zeros_like(b)
        self.tW, self.tb = torch.empty_like(W), torch.empty_like(b)

    def _adam(self, p, g, m1, v, tmp, t, lr_t):
        m1.mul_(B1).add_(g, alpha=1 - B1)
        v.mul_(B2).addcmul_(g, g, value=1 - B2)
        self.torch.sqrt(v, out=tmp).div_(math.sqrt(1 - B2 ** t)).add_(EPS)
        p.addcdiv_(m1, tmp, value=-lr_t / (1 - B1 ** t))

    def step(self, t, gW, gb):
        """Update W, b in place with gradients gW, gb at step t (0-based)."""
        lr_t = self.lr * self.factors[t]
        if self.gamma >= 0:  # decoupled decay, applied to the pre-update W like optax's chain
            self.W.mul_(1 - lr_t * self.gamma)
        else:  # row norms pulled to 1
            norm = self.torch.linalg.vector_norm(self.W, dim=1, keepdim=True).add_(EPS)
            self.W.mul_(norm.reciprocal_().sub_(1).mul_(-lr_t * self.gamma).add_(1))
        self._adam(self.W, gW, self.mW, self.vW, self.tW, t + 1, lr_t)
        self._adam(self.b, gb, self.mb, self.vb, self.tb, t + 1, lr_t)


class TorchDense:
    """The authors' dense formulation, one model: x = (rand < p)·2·rand, y = ReLU(x W Wᵀ + b)."""

    def __init__(self, torch, p, m, batch, lr, gamma, steps, seed=0, device="cpu"):
        n = p.shape[0]
        gen = torch.Generator(device=device).manual_seed(seed)
        self.torch, self.p, self.B = torch, torch.as_tensor(p, dtype=torch.float32), batch
        self.W = torch.randn(n, m, generator=gen) / math.sqrt(m)
        self.b = torch.randn(n, generator=gen)
        self.opt = _TorchAdamW(torch, self.W, self.b, lr, gamma, steps)
        e = torch.empty
        self.u, self.x, self.z = e(batch, n), e(batch, n), e(batch, n)
        self.on, self.pos = e(batch, n, dtype=torch.bool), e(batch, n, dtype=torch.bool)
        self.h, self.dh = e(batch, m), e(batch, m)
        self.gW, self.gb = e(n, m), e(n)
        self.scale = 2.0 / (batch * n)  # nn.MSELoss: mean over B·n

    def sample(self):
        """x [B, n] = (rand < p)·2·rand, into a preallocated buffer."""
        torch, x = self.torch, self.x
        torch.rand(self.u.shape, out=self.u)
        torch.lt(self.u, self.p, out=self.on)
        torch.rand(x.shape, out=x)
        return x.mul_(2.0).mul_(self.on)

    def grads(self, x):
        """Gradients (gW, gb) of nn.MSELoss(ReLU(x W Wᵀ + b), x), written by hand."""
        torch, z = self.torch, self.z
        torch.mm(x, self.W, out=self.h)
        torch.addmm(self.b, self.h, self.W.t(), out=z)
        z.relu_()                                  # y
        torch.gt(z, 0, out=self.pos)
        z.sub_(x).mul_(self.pos)                   # dL/dz up to the scale
        torch.sum(z, 0, out=self.gb)
        torch.mm(z, self.W, out=self.dh)
        torch.mm(z.t(), self.h, out=self.gW)
        self.gW.addmm_(x.t(), self.dh)
        return self.gW.mul_(self.scale), self.gb.mul_(self.scale)

    def sampled_grads(self):
        """Gradients on a fresh batch."""
        return self.grads(self.sample())

    def step(self, t):
        """One training step (sample, forward, hand-written backward, AdamW)."""
        self.opt.step(t, *self.sampled_grads())


class TorchSparse:
    """The same algorithm as scalesim: Poissonised sparse sampler, gathered first layer."""

    def __init__(self, torch, p, m, batch, lr, gamma, steps, max_active=12, seed=0, device="cpu"):
        n = p.shape[0]
        gen = torch.Generator(device=device).manual_seed(seed)
        lam = -np.log1p(-np.minimum(np.asarray(p, np.float64), 1.0 - 1e-6))
        cdf = np.cumsum(lam)
        j = np.arange(max_active)
        pois = np.exp(-cdf[-1]) * np.cumprod(np.concatenate([[1.0], cdf[-1] / np.arange(1, max_active)]))
        self.torch, self.B, self.K, self.n = torch, batch, max_active, n
        self.cdf = torch.as_tensor(cdf, dtype=torch.float32)
        self.cdf_n = torch.as_tensor(np.cumsum(pois), dtype=torch.float32)
        self.total = float(cdf[-1])
        self.slot = torch.as_tensor(j)
        self.earlier = torch.tril(torch.ones(max_active, max_active, dtype=torch.bool), diagonal=-1)
        self.W = torch.randn(n, m, generator=gen) / math.sqrt(m)
        self.b = torch.randn(n, generator=gen)
        self.opt = _TorchAdamW(torch, self.W, self.b, lr, gamma, steps)
        e = torch.empty
        self.uc, self.u, self.val = e(batch, 1), e(batch, max_active), e(batch, max_active)
        self.z, self.dh = e(batch, n), e(batch, m)
        self.gW, self.gb = e(n, m), e(n)
        self.scale = 2.0 / (batch * n)

    def sample(self):
        """idx, val [B, K] as ``superposition.sample`` (duplicates merged, empty slots 0)."""
        torch = self.torch
        torch.rand(self.uc.shape, out=self.uc)
        count = (self.uc > self.cdf_n).sum(-1, keepdim=True)
        torch.rand(self.u.shape, out=self.u)
        idx = torch.searchsorted(self.cdf, self.u.mul_(self.total), right=True).clamp_(max=self.n - 1)
        valid = self.slot < count
        same = (idx[:, :, None] == idx[:, None, :]) & valid[:, None, :] & self.earlier
        keep = valid & ~same.any(-1)
        torch.rand(self.val.shape, out=self.val)
        return idx.mul_(keep), self.val.mul_(2.0).mul_(keep)

    def grads(self, idx, val):
        """Gradients (gW, gb) of the loss for a sparse batch, written by hand."""
        torch, F, z = self.torch, self.torch.nn.functional, self.z
        h = F.embedding_bag(idx, self.W, per_sample_weights=val, mode="sum")
        torch.addmm(self.b, h, self.W.t(), out=z)
        z.relu_()                                  # y
        y_at = z.gather(1, idx)
        z.scatter_add_(1, idx, torch.where(y_at > 0, -val, 0.0))   # (y − x)·[y > 0], up to the scale
        torch.sum(z, 0, out=self.gb)
        torch.mm(z, self.W, out=self.dh)
        torch.mm(z.t(), h, out=self.gW)
        self.gW.index_add_(0, idx.view(-1), (val[:, :, None] * self.dh[:, None, :]).view(-1, self.W.shape[1]))
        return self.gW.mul_(self.scale), self.gb.mul_(self.scale)

    def sampled_grads(self):
        """Gradients on a fresh batch."""
        return self.grads(*self.sample())

    def step(self, t):
        """One training step (sample, forward, hand-written backward, AdamW)."""
        self.opt.step(t, *self.sampled_grads())


def torch_models(kind, n, m, alphas, gammas, steps, batch, count, device="cpu"):
    """``count`` PyTorch models of ``kind`` ("dense" or "sparse") for the first (α, γ) members.

    Args:
      kind: "dense" (:class:`TorchDense`) or "sparse" (:class:`TorchSparse`).
      n, m, batch: sizes. alphas, gammas: the member grid (α-major, as scalesim's).
      steps: schedule length. count: number of models. device: torch device of every tensor.

    Returns:
      list of models (each has ``step(t)``).
    """
    import torch

    cls = {"dense": TorchDense, "sparse": TorchSparse}[kind]
    cfg = sp.Config(n=n, m=m)
    members = [(a, g) for a in alphas for g in gammas][:count]
    out = []
    for i, (a, g) in enumerate(members):
        h = jax.tree.map(lambda x: x[0], sp.make_hyper(alpha=a, gamma=g))
        p = np.asarray(sp.frequencies(cfg, h), np.float64)
        with torch.device(device):
            out.append(cls(torch, p, m, batch, 1e-2, g, steps, seed=i, device=device))
    return out


def torch_runner(models, steps, threads, compiled=False):
    """A callable training each model for ``steps`` steps, one model after the other.

    ``compiled``: the sampling + forward + backward of each step runs under ``torch.compile``
    (the optimizer, whose scalars change every step, stays eager).
    """
    import torch

    if compiled:
        for mod in models:
            mod.sampled_grads = torch.compile(mod.sampled_grads)

    def run():
        torch.set_num_threads(threads)
        with torch.no_grad():
            for mod in models:
                for t in range(steps):
                    mod.step(t)

    return run


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(run) -> tuple[float, float]:
    """Wall and process CPU seconds of one ``run()``."""
    c0, t0 = _cpu_seconds(), time.perf_counter()
    run()
    return time.perf_counter() - t0, _cpu_seconds() - c0


def bench_width(args, m, have_torch):
    """Interleaved timing rounds for one width.

    Returns:
      dict with the scalesim rate (member-steps/s), achieved and limit FLOP/s (best wall time of
      the rounds), the same fraction from CPU time, PyTorch rates, and the per-round times.
    """
    alphas = [float(a) for a in args.alphas.split(",")]
    gammas = [float(g) for g in args.gammas.split(",")]
    members = len(alphas) * len(gammas)
    ours, first_s = scalesim_runner(args.n, m, alphas, gammas, args.steps, args.batch)
    mm = matmul_runner(args.n, m, members, args.steps, args.batch)
    runners = {"scalesim": lambda: ours(0.01), "matmul": mm}
    torch_counts = {}
    if have_torch:
        kinds = ["dense", "sparse"] + (["dense+compile", "sparse+compile"] if args.torch_compile else [])
        steps = min(args.torch_steps or args.steps, args.steps)
        for kind in kinds:
            for threads in sorted({os.cpu_count(), 1}, reverse=True):
                name = f"torch {kind} ({threads} thr)"
                make = lambda: torch_models(kind.split("+")[0], args.n, m, alphas, gammas, args.steps,
                                            args.batch, args.torch_models)
                torch_runner(make(), steps, threads, compiled=kind.endswith("compile"))()  # warm-up/compile
                runners[name] = torch_runner(make(), steps, threads, compiled=kind.endswith("compile"))
                torch_counts[name] = args.torch_models * steps
    wall = {k: [] for k in runners}
    cpu = {k: [] for k in runners}
    for _ in range(args.rounds):
        for k, run in runners.items():
            w, c = timed(run)
            wall[k].append(w)
            cpu[k].append(c)
    t = {k: min(v) for k, v in wall.items()}
    flop = members * args.steps * matmul_flops(args.n, m, args.batch)
    return {"m": m, "first_s": first_s, "members": members, "wall": wall,
            "rate": members * args.steps / t["scalesim"], "flops": flop / t["scalesim"], "limit": flop / t["matmul"],
            "cpu_fraction": min(cpu["matmul"]) / min(cpu["scalesim"]),
            "torch": {k: torch_counts[k] / t[k] for k in torch_counts}}


def report(res, have_torch):
    """Print one width's results."""
    m, frac = res["m"], res["flops"] / res["limit"]
    print(f"m={m:4d}  scalesim {res['rate']:8.1f} member-steps/s  {res['flops'] / 1e9:6.1f} GFLOP/s  "
          f"(compile+first run {res['first_s']:.1f} s)")
    print(f"        matmul limit (same shapes, {res['members']} members) {res['limit'] / 1e9:6.1f} GFLOP/s  "
          f"-> {100 * frac:5.1f} % of the limit (by CPU time: {100 * res['cpu_fraction']:5.1f} %)")
    if have_torch:
        best = max(res["torch"], key=res["torch"].get)
        for k, r in res["torch"].items():
            mark = "  <- baseline (fastest)" if k == best else ""
            print(f"        {k:28s} {r:8.2f} model-steps/s   scalesim/torch {res['rate'] / r:6.2f}x{mark}")
    spread = ", ".join(f"{k} {min(v):.2f}-{max(v):.2f}" for k, v in res["wall"].items())
    print(f"        round wall times (s): {spread}", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--ms", default="10,100")
    ap.add_argument("--alphas", default="0.5,1.0,1.5,2.0")
    ap.add_argument("--gammas", default="-1.0,0.5")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--batch", type=int, default=2048)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--torch-models", type=int, default=2,
                    help="PyTorch models timed per variant (the first (α, γ) members; rates are per model)")
    ap.add_argument("--torch-steps", type=int, default=20,
                    help="PyTorch steps timed per model (0: --steps; the cost per step does not depend on it)")
    ap.add_argument("--torch-compile", action="store_true", help="also time both PyTorch steps under torch.compile")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--quick", action="store_true", help="steps=30, rounds=2: a couple of minutes")
    args = ap.parse_args(argv)
    if args.quick:
        args.steps, args.rounds = 30, 2
    have_torch = not args.no_torch
    if have_torch:
        try:
            import torch
        except ImportError:
            have_torch = False
            print("PyTorch not installed (pip install .[bench]): skipping the per-model PyTorch baseline.")
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')}  jax {jax.__version__}  device {jax.devices()[0].platform}  "
          f"cpus {os.cpu_count()}  load {os.getloadavg()[0]:.2f}"
          + (f"  torch {torch.__version__}" if have_torch else ""))
    print(f"n={args.n} batch={args.batch} steps={args.steps} rounds={args.rounds} "
          f"members={len(args.alphas.split(',')) * len(args.gammas.split(','))}")
    for m in (int(x) for x in args.ms.split(",")):
        report(bench_width(args, m, have_torch), have_torch)
    print(f"load at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
