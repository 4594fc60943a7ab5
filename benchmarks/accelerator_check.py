"""One prepared accelerator check: throughput, FLOP/s fraction, precision and memory, in one run.

Runs seven independent parts and writes one JSON file plus a printed table:

  a  exp-10 sub-grid throughput: scalesim's vmapped ensemble vs the per-model PyTorch loop of
     ``superposition_throughput.py`` on the same device (n = 1000, m = 10 and 100, batch 2048).
  b  wall time of the full exp-10 grid (1,620 models x 20,000 steps; also the repository's
     ``superposition-grid`` settings), extrapolated from a timed slice (all members of one width
     ensemble, a few hundred steps, after compilation) linearly in steps and members, and
     linearly in the width m between the measured widths.
  c  exp-17 sizes (n = 10240, m = 1024, batch 8192): achieved FLOP/s of a training step as a
     fraction of the matmul peak of the same shapes measured in the same run, in float32
     ("highest"), TF32 and bf16 (dot algorithm presets where the backend has them).
  d  final loss of TF32 and bf16 training vs float32 on a small case (same seed, same members).
  e  a 10^6-point linear-RF deterministic-equivalent grid (``theory_grid.py``'s code path).
  f  the warm Approach-3 fit of ``fit_speed.py`` (Epoch's Chinchilla points, Hoffmann grid).
  g  an ensemble larger than the device's free memory, trained with ``max_members="auto"``;
     a few members are compared with an unchunked run of just those member ids.

Every part runs in its own ``try`` (a failure is recorded as ``"error: ..."`` and the others
still run) and a global time budget skips what would not fit.  ``--smoke`` runs the same code
paths at tiny sizes on CPU (about a minute on two idle cores; part g rehearses a small device
through ``SCALESIM_MEMORY_BYTES``); its numbers are not benchmarks.

    PYTHONPATH=. python benchmarks/accelerator_check.py [--out accel.json] [--smoke] [--parts a_throughput,...]
"""

from __future__ import annotations

import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import dataclasses  # noqa: E402
import functools  # noqa: E402
import importlib.util  # noqa: E402
import inspect  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from pathlib import Path  # noqa: E402

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)  # as the CLI: theory in float64, models in their own dtype
jax.config.update("jax_threefry_partitionable", True)  # as the CLI

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from scalesim import engine, memory  # noqa: E402
from scalesim.models import superposition as sp  # noqa: E402
from scalesim.optim import LiuAdamW  # noqa: E402
from scalesim.rng import root_key  # noqa: E402

HERE = Path(__file__).resolve().parent
PARTS = ("a_throughput", "b_grid_walltime", "c_flops", "d_precision_loss", "e_theory_grid", "f_fit", "g_chunked")
PRECISIONS = {  # name -> settings of jax.default_matmul_precision, first one the backend accepts
    "fp32": ("highest",),
    "tf32": ("TF32_TF32_F32", "tensorfloat32"),
    "bf16": ("BF16_BF16_F32", "bfloat16"),
}
PAPER_GRID = {"models": 1620, "widths": (10, 15, 25, 39, 63, 100), "steps": 20000, "batch": 2048, "n": 1000}


@dataclasses.dataclass(frozen=True)
class Sizes:
    """Problem sizes of every part (``GPU`` for the real check, ``SMOKE`` for the CPU rehearsal)."""

    budget_s: float
    a_n: int
    a_ms: tuple
    a_alphas: tuple
    a_gammas: tuple
    a_steps: int
    a_batch: int
    a_threads: tuple  # PyTorch CPU threads tried (empty: all cores and one)
    b_n: int
    b_ms: tuple  # widths timed
    b_members: int  # members per width ensemble in the slice (the paper grid has 1620 / 6 = 270)
    b_steps: int
    b_batch: int
    c_n: int
    c_m: int
    c_batch: int
    c_steps: int
    c_members: int
    c_reps: int
    d_n: int
    d_m: int
    d_batch: int
    d_steps: int
    d_members: int
    e_grid: int  # points per axis
    e_modes: int
    f_stride: int  # every k-th start of the Hoffmann grid
    g_n: int
    g_m: int
    g_batch: int
    g_steps: int
    g_rehearse: bool  # set SCALESIM_MEMORY_BYTES so the "device" is small


GPU = Sizes(budget_s=420.0, a_n=1000, a_ms=(10, 100), a_alphas=(0.5, 1.0, 1.5, 2.0), a_gammas=(-1.0, 0.5),
            a_steps=200, a_batch=2048, a_threads=(), b_n=1000, b_ms=(10, 100), b_members=270, b_steps=300, b_batch=2048,
            c_n=10240, c_m=1024, c_batch=8192, c_steps=30, c_members=1, c_reps=20, d_n=1024, d_m=64,
            d_batch=2048, d_steps=3000, d_members=4, e_grid=1000, e_modes=4000, f_stride=1, g_n=10240, g_m=64,
            g_batch=8192, g_steps=10, g_rehearse=False)
# Smoke sizes are chosen so that parts share compiled programs (a with b; c with d and g): on a loaded
# 2-core CPU each new training program costs seconds of XLA compilation, the run itself milliseconds.
SMOKE = Sizes(budget_s=240.0, a_n=64, a_ms=(4, 8), a_alphas=(1.0, 1.5), a_gammas=(-1.0, 0.5), a_steps=20,
              a_batch=64, a_threads=(1,), b_n=64, b_ms=(4, 8), b_members=4, b_steps=20, b_batch=64, c_n=64, c_m=8,
              c_batch=32, c_steps=5, c_members=16, c_reps=5, d_n=64, d_m=8, d_batch=32, d_steps=5, d_members=16,
              e_grid=100, e_modes=400, f_stride=100, g_n=64, g_m=8, g_batch=32, g_steps=5, g_rehearse=True)
# XLA:CPU compiles a training program ~10x faster with these (the smoke numbers are not benchmarks)
SMOKE_XLA_FLAGS = "--xla_backend_optimization_level=0 --xla_cpu_use_fusion_emitters=false"


# ---------------------------------------------------------------------------------------- helpers

class Clock:
    """The global time budget: a deadline and the seconds left before it."""

    def __init__(self, budget_s: float):
        self.t0 = time.perf_counter()
        self.budget_s = budget_s

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def left(self) -> float:
        return self.budget_s - self.elapsed()


def timed(fn, *args, **kwargs):
    """``(seconds, result)`` of one call, with every JAX output ready."""
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn(*args, **kwargs))
    return time.perf_counter() - t0, out


def exp10_hyper(members: int, width=0) -> sp.Hyper:
    """``members`` exp-10-like members: α over [0, 2] x γ over [-1, 1] (values only matter for stability)."""
    k = np.arange(members)
    alpha = np.linspace(0.0, 2.0, 17)[k % 17]
    gamma = np.round(np.linspace(-1.0, 1.0, 10), 4)[(k // 17) % 10]
    return sp.make_hyper(alpha=alpha, gamma=gamma, lr=1e-2, width=width)


def train(cfg, hyper, steps, batch, *, warmup_frac=0.1, seed=0, **kw):
    """One ``train_ensemble`` call of the superposition model with the Liu et al. optimiser."""
    opt = LiuAdamW(steps, int(warmup_frac * steps))
    return engine.train_ensemble(sp.MODEL, cfg, hyper, opt, key=root_key(seed), steps=steps, batch_size=batch,
                                 record_steps=[steps], **kw)


def compile_then_time(cfg, hyper, steps, batch, trainer=None):
    """``(first_s, warm_s)``: a first call (compiles and runs) and a second, timed call of the same program."""
    trainer = train if trainer is None else trainer
    first, _ = timed(lambda: trainer(cfg, hyper, steps, batch).params)
    warm, _ = timed(lambda: trainer(cfg, hyper, steps, batch).params)
    return first, warm


def precision_setting(name: str) -> str:
    """The first setting of ``PRECISIONS[name]`` that the backend compiles (tried on a small matmul)."""
    errors = []
    for setting in PRECISIONS[name]:
        try:
            with jax.default_matmul_precision(setting):
                x = jnp.ones((8, 8), jnp.float32)
                jax.block_until_ready(jax.jit(lambda a: a @ a)(x))
            return setting
        except Exception as e:  # the backend refuses this algorithm
            errors.append(f"{setting}: {type(e).__name__}: {str(e)[:120]}")
    raise RuntimeError(f"no accepted matmul precision for {name}: {errors}")


def device_info() -> dict:
    """Platform, device kind and memory of the first device, library versions."""
    dev = jax.devices()[0]
    info = {"platform": dev.platform, "device_kind": getattr(dev, "device_kind", "?"), "jax": jax.__version__,
            "n_devices": jax.device_count(), "x64": bool(jax.config.jax_enable_x64)}
    try:
        stats = dev.memory_stats() or {}
        info["bytes_limit"] = int(stats["bytes_limit"]) if "bytes_limit" in stats else None
    except Exception:
        info["bytes_limit"] = None
    try:
        import torch
        info["torch"] = torch.__version__
        info["torch_cuda"] = bool(torch.cuda.is_available())
    except ImportError:
        info["torch"] = None
    return info


# ------------------------------------------------------------------ (a) throughput vs PyTorch loop
# The measurement is superposition_throughput.py's: its building blocks where it has them
# (scalesim_runner, matmul_runner, torch_models, torch_runner), else its rate functions
# (scalesim_rate, torch_rate). Functions are called by parameter name, so argument order and
# optional parameters (a PyTorch ``device``) may differ between versions of that script.

A_ROUNDS = 2  # timed rounds per runner (the best is kept)
TORCH_MODELS = 2  # PyTorch models timed per variant (rates are per model)


def load_throughput_module():
    """``benchmarks/superposition_throughput.py`` as a module."""
    spec = importlib.util.spec_from_file_location("superposition_throughput", HERE / "superposition_throughput.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def call_with(fn, values: dict):
    """Call ``fn`` with the entries of ``values`` that its signature names (a missing required
    parameter raises ``TypeError`` naming it)."""
    params = inspect.signature(fn).parameters
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    missing = [k for k, p in params.items() if p.default is p.empty and p.kind in named and k not in values]
    if missing:
        raise TypeError(f"{fn.__name__} needs {missing}, which this check does not know")
    return fn(**{k: v for k, v in values.items() if k in params})


def first_number(result) -> float:
    """A rate from whatever a rate function returns: a number, a tuple (rate first) or a dict."""
    if isinstance(result, dict):
        return float(result.get("rate", next(iter(result.values()))))
    if isinstance(result, (tuple, list)):
        return float(result[0])
    return float(result)


def torch_device():
    """``("cuda", torch.cuda.synchronize)`` when PyTorch sees a GPU, else ``("cpu", no-op)``."""
    import torch

    if torch.cuda.is_available():
        return "cuda", torch.cuda.synchronize
    return "cpu", lambda: None


def best_seconds(run, sync=lambda: None, rounds: int = A_ROUNDS) -> float:
    """Best of ``rounds`` timings of ``run()``, synchronising the device before each clock reading."""
    best = math.inf
    for _ in range(rounds):
        sync()
        t0 = time.perf_counter()
        jax.block_until_ready(run())
        sync()
        best = min(best, time.perf_counter() - t0)
    return best


@contextlib.contextmanager
def torch_on(device: str, takes_device: bool):
    """Torch's default-device context for a function without a ``device`` parameter on CUDA."""
    if device == "cpu" or takes_device:
        yield
        return
    import torch

    with torch.device(device):
        yield


def scalesim_by_runner(mod, spec: dict) -> dict:
    """Model-steps/s of ``scalesim_runner`` (second call, new α: no recompilation) and, when the
    script has ``matmul_runner``, the step's matmul time as a fraction of the step time."""
    run, first = call_with(mod.scalesim_runner, spec)
    warm = best_seconds(lambda: run(0.01))
    row = {"scalesim_model_steps_per_s": spec["members"] * spec["steps"] / warm,
           "scalesim_compile_s": max(first - warm, 0.0)}
    if hasattr(mod, "matmul_runner"):
        mm = call_with(mod.matmul_runner, spec)
        t_mm = best_seconds(mm)
        row.update(matmul_run_s=t_mm, scalesim_run_s=warm, matmul_fraction_of_step=t_mm / warm)
    return row


def torch_by_runner(mod, spec: dict, threads_tried: tuple = ()) -> dict:
    """Model-steps/s of each PyTorch variant (``dense``, ``sparse``; on CPU with all threads and
    with one) on the GPU when there is one; the fastest is the baseline."""
    import torch

    device, sync = torch_device()
    takes = "device" in inspect.signature(mod.torch_models).parameters
    threads = threads_tried or sorted({os.cpu_count() or 1, 1}, reverse=True)
    threads = threads if device == "cpu" else [os.cpu_count() or 1]
    rates, saved_threads = {}, torch.get_num_threads()
    try:
        with torch_on(device, takes):
            for kind, thr in itertools.product(("dense", "sparse"), threads):
                values = {**spec, "kind": kind, "count": TORCH_MODELS, "device": device, "threads": thr}
                models = call_with(mod.torch_models, values)
                run = call_with(mod.torch_runner, {**values, "models": models})
                run()  # warm-up
                rates[f"{kind} ({thr} thr)"] = len(models) * spec["steps"] / best_seconds(run, sync)
    finally:
        torch.set_num_threads(saved_threads)
    best = max(rates, key=rates.get)
    return {"torch_model_steps_per_s": rates[best], "torch_variant": best, "torch_variants": rates,
            "torch_device": device + ("" if device == "cpu" or takes else " (default-device context)")}


class SyncClock:
    """Stands in for the ``time`` module of the script: synchronises CUDA before every clock
    reading, so that asynchronously launched kernels are inside the timed interval."""

    def __init__(self, sync):
        self._sync = sync

    def perf_counter(self):
        self._sync()
        return time.perf_counter()

    def __getattr__(self, name):
        return getattr(time, name)


def torch_by_rate(mod, spec: dict) -> dict:
    """``torch_rate`` on the GPU when there is one (its ``device`` parameter, else torch's
    default-device context), with the script's clock synchronised."""
    device, sync = torch_device()
    takes = "device" in inspect.signature(mod.torch_rate).parameters
    saved = getattr(mod, "time", None)
    if saved is time and device != "cpu":
        mod.time = SyncClock(sync)
    try:
        with torch_on(device, takes):
            rate = first_number(call_with(mod.torch_rate, {**spec, "device": device}))
    finally:
        if saved is not None:
            mod.time = saved
    return {"torch_model_steps_per_s": rate,
            "torch_device": device + ("" if device == "cpu" or takes else " (default-device context)")}


def torch_status() -> str:
    """``"ok"`` when PyTorch imports, else the documented skip reason."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return "skipped: torch not installed"
    return "ok"


def throughput_api(mod) -> str:
    """Which interface of the throughput script is used: ``"runners"`` or ``"rates"``."""
    if all(hasattr(mod, f) for f in ("scalesim_runner", "torch_models", "torch_runner")):
        return "runners"
    if all(hasattr(mod, f) for f in ("scalesim_rate", "torch_rate")):
        return "rates"
    raise AttributeError("superposition_throughput.py has neither scalesim_runner/torch_models/torch_runner "
                         "nor scalesim_rate/torch_rate")


def part_a(z: Sizes, clock: Clock) -> dict:
    """Model-steps/s of the vmapped ensemble and of the per-model PyTorch loop, per width; float32
    matmuls in both (JAX 'highest'; torch's float32 matmul default)."""
    mod = load_throughput_module()
    api, status, rows = throughput_api(mod), torch_status(), []
    for m in z.a_ms:
        spec = {"n": z.a_n, "m": m, "alphas": list(z.a_alphas), "gammas": list(z.a_gammas), "steps": z.a_steps,
                "batch": z.a_batch, "members": len(z.a_alphas) * len(z.a_gammas)}
        with jax.default_matmul_precision("highest"):
            if api == "runners":
                row = {"m": m, **scalesim_by_runner(mod, spec)}
            else:
                out = call_with(mod.scalesim_rate, spec)
                row = {"m": m, "scalesim_model_steps_per_s": first_number(out),
                       "scalesim_compile_s": float(out[1]) if isinstance(out, (tuple, list)) else None}
        if status == "ok":
            try:
                row.update(torch_by_runner(mod, spec, z.a_threads) if api == "runners" else torch_by_rate(mod, spec))
                row["ratio"] = row["scalesim_model_steps_per_s"] / row["torch_model_steps_per_s"]
            except Exception as e:
                status = f"error: {type(e).__name__}: {str(e)[:300]}"
        rows.append(row)
    return {"n": z.a_n, "batch": z.a_batch, "steps": z.a_steps, "members": len(z.a_alphas) * len(z.a_gammas),
            "script_api": api, "matmul_precision": "float32 in both (JAX 'highest'; torch float32 default)",
            "torch_baseline": status, "rows": rows}


# ------------------------------------------------------------------- (b) full-grid wall time

def repo_grid() -> dict:
    """Sizes of the repository's full ``superposition-grid`` settings."""
    from scalesim.experiments import superposition_grid as g

    s = g.settings(False)
    per_width = len(s.alphas) * len(s.gammas) * s.seeds
    return {"models": per_width * len(s.ms), "widths": tuple(int(m) for m in s.ms), "steps": int(s.steps),
            "batch": int(s.batch), "n": int(s.n)}


def cost_line(ms, costs):
    """Seconds per member-step as a line in m through the measured widths (a constant for one width),
    never below half the smallest measured value (a line through noisy points must not go negative)."""
    if len(ms) == 1:
        return lambda m: costs[0]
    slope, icpt = np.polyfit(np.asarray(ms, float), np.asarray(costs, float), 1)
    return lambda m: max(icpt + slope * m, min(costs) * 0.5)


def grid_estimate(grid: dict, cost, compile_s: float) -> dict:
    """Seconds for ``grid``: Σ over widths of cost(m) x members per width x steps, plus one compile per width."""
    per_width = grid["models"] / len(grid["widths"])
    train_s = sum(cost(m) * per_width * grid["steps"] for m in grid["widths"])
    total = train_s + compile_s * len(grid["widths"])
    return {**grid, "members_per_width": per_width, "train_s": train_s, "compile_s": compile_s * len(grid["widths"]),
            "total_s": total, "total_h": total / 3600}


def part_b(z: Sizes, clock: Clock) -> dict:
    """Time every measured width's ensemble for ``b_steps`` steps (warm) and extrapolate to the grids."""
    measured, costs, compiles = [], [], []
    for m in z.b_ms:
        if measured and clock.left() < 2.5 * (compiles[-1] + costs[-1] * z.b_members * z.b_steps * 2):
            break  # not enough time for another width: extrapolate from what was measured
        cfg = sp.Config(n=z.b_n, m=m)
        with jax.default_matmul_precision("highest"):  # float32, as the paper (and part a)
            first, warm = compile_then_time(cfg, exp10_hyper(z.b_members), z.b_steps, z.b_batch)
        measured.append(m)
        costs.append(warm / (z.b_members * z.b_steps))
        compiles.append(max(first - warm, 0.0))
    cost = cost_line(measured, costs)
    compile_s = float(np.mean(compiles))
    paper, repo = grid_estimate(PAPER_GRID, cost, compile_s), grid_estimate(repo_grid(), cost, compile_s)
    how = (f"warm seconds per member-step measured at m = {measured} ({z.b_members} members x {z.b_steps} steps, "
           f"batch {z.b_batch}, n = {z.b_n}, after a compiling call); linear in steps and members; "
           f"{'linear in m through the measured widths' if len(measured) > 1 else 'constant in m (one width)'}"
           f"; plus the mean measured compile time once per width; float32 matmuls ('highest')")
    return {"slice": [{"m": m, "members": z.b_members, "steps": z.b_steps, "s_per_member_step": c,
                       "member_steps_per_s": 1.0 / c, "compile_s": k} for m, c, k in zip(measured, costs, compiles)],
            "paper_exp10_grid": paper, "repo_superposition_grid": repo, "extrapolation": how}


# ---------------------------------------------------------------- (c) FLOP/s vs matmul peak

def step_flops(n: int, m: int, batch: int) -> float:
    """Counted FLOPs of one member-step: the dense matmul h·Wᵀ and its two backward matmuls, 3 x 2·B·n·m."""
    return 6.0 * batch * n * m


def matmul_peak(n: int, m: int, batch: int, reps: int) -> dict:
    """FLOP/s of the three matmul shapes of a step ([B,m]x[m,n], [B,n]x[n,m], [n,B]x[B,m]), jitted,
    ``reps`` calls each queued before one wait; peak = 6·B·n·m / Σ per-call times."""
    k = jax.random.split(jax.random.PRNGKey(1), 3)
    h = jax.random.normal(k[0], (batch, m), jnp.float32)
    w = jax.random.normal(k[1], (n, m), jnp.float32)
    g = jax.random.normal(k[2], (batch, n), jnp.float32)
    shapes = {"fwd h@W.T": (jax.jit(lambda a, b: a @ b.T), h, w), "bwd g@W": (jax.jit(lambda a, b: a @ b), g, w),
              "bwd g.T@h": (jax.jit(lambda a, b: a.T @ b), g, h)}
    per_call = {}
    for name, (fn, a, b) in shapes.items():
        jax.block_until_ready(fn(a, b))
        t0 = time.perf_counter()
        for _ in range(reps):
            out = fn(a, b)
        jax.block_until_ready(out)  # calls run in order: the last one done means all are
        per_call[name] = (time.perf_counter() - t0) / reps
    total = sum(per_call.values())
    return {"per_call_s": per_call, "flop_per_s": step_flops(n, m, batch) / total}


def exp17_case(n: int, m: int, members: int):
    """exp-17 members at width m: power law α = 1.2, γ alternating −1 (strong) and +0.1 (weak),
    lr_W = 0.02 (8/m)^¼, lr_b = 2/m, loss × 100/n; members 2k and 2k+1 differ only in γ."""
    cfg = sp.Config(n=n, m=m, loss_scale=100.0 / n)
    gamma = np.where(np.arange(members) % 2 == 0, -1.0, 0.1)
    hyper = sp.make_hyper(alpha=1.2, gamma=gamma, lr=0.02 * (8 / m) ** 0.25, lr_b=2.0 / m)
    return cfg, hyper


def train17(cfg, hyper, steps, batch):
    """``train`` with exp-17's 5 % warm-up."""
    return train(cfg, hyper, steps, batch, warmup_frac=0.05)


def precision_row(name: str, z: Sizes) -> dict:
    """Step time, FLOP/s, matmul peak and their ratio at one precision."""
    setting = precision_setting(name)
    cfg, hyper = exp17_case(z.c_n, z.c_m, z.c_members)
    with jax.default_matmul_precision(setting):
        first, warm = compile_then_time(cfg, hyper, z.c_steps, z.c_batch, trainer=train17)
        peak = matmul_peak(z.c_n, z.c_m, z.c_batch, z.c_reps)
    step_s = warm / z.c_steps
    flops = z.c_members * step_flops(z.c_n, z.c_m, z.c_batch) / step_s
    return {"setting": setting, "step_s": step_s, "flop_per_s": flops, "matmul_peak_flop_per_s": peak["flop_per_s"],
            "fraction_of_peak": flops / peak["flop_per_s"], "matmul_per_call_s": peak["per_call_s"],
            "compile_s": max(first - warm, 0.0)}


def part_c(z: Sizes, clock: Clock) -> dict:
    """One member of exp-17 size per precision; FLOP/s as a fraction of the same-shape matmul peak."""
    rows, errors = {}, {}
    for name in PRECISIONS:
        if clock.left() < 20:
            errors[name] = "skipped: time budget"
            continue
        try:
            rows[name] = precision_row(name, z)
        except Exception as e:
            errors[name] = f"error: {type(e).__name__}: {str(e)[:300]}"
    if errors:
        raise RuntimeError(f"precisions failed: {errors} (done: {rows})")
    return {"n": z.c_n, "m": z.c_m, "batch": z.c_batch, "steps": z.c_steps, "members": z.c_members,
            "flops_counted": "6·B·n·m per member-step: h·Wᵀ forward and its two backward matmuls; not "
                             "counted: the sparse gather/scatter (4·B·K·m), elementwise work, sampling, optimiser",
            "step_time": "warm wall time of one train_ensemble call / steps (includes init, one metric record, "
                         "host copy of the parameters)",
            "precisions": rows}


# -------------------------------------------------------------------- (d) precision vs loss

@functools.lru_cache(maxsize=8)
def _eval_loss(cfg):
    """Jitted, member-vmapped paper loss on the fixed evaluation batch (one program per config)."""
    return jax.jit(jax.vmap(lambda p, h: sp.MODEL.metrics(p, cfg, h)["loss"]))


def final_losses_fp32(cfg, hyper, params) -> np.ndarray:
    """Paper loss of each member's final parameters on the fixed evaluation batch, in float32-highest."""
    with jax.default_matmul_precision("highest"):
        return np.asarray(_eval_loss(cfg)(jax.tree.map(jnp.asarray, params), hyper))


def part_d(z: Sizes, clock: Clock) -> dict:
    """Train the same exp-17-style members (same seed, same member ids) under each precision and
    compare final losses with float32; members 0/2 and 1/3 are replicas (same γ, other streams),
    whose float32 difference is the seed-to-seed scale to read the precision differences against."""
    cfg, hyper = exp17_case(z.d_n, z.d_m, z.d_members)
    out = {}
    for name in PRECISIONS:
        setting = precision_setting(name)
        with jax.default_matmul_precision(setting):
            res = train17(cfg, hyper, z.d_steps, z.d_batch)
        out[name] = {"setting": setting, "final_loss": final_losses_fp32(cfg, hyper, res.params).tolist(),
                     "final_train_loss": np.asarray(res.metrics["train_loss"])[:, -1].tolist()}
    ref = np.asarray(out["fp32"]["final_loss"])
    for name in ("tf32", "bf16"):
        rel = np.abs(np.asarray(out[name]["final_loss"]) - ref) / np.abs(ref)
        out[name].update(rel_diff_vs_fp32=rel.tolist(), max_rel_diff=float(rel.max()), mean_rel_diff=float(rel.mean()))
    replica = np.abs(ref[:2] - ref[2:4]) / np.abs(ref[:2])
    return {"n": z.d_n, "m": z.d_m, "batch": z.d_batch, "steps": z.d_steps, "seed": 0,
            "members": {"alpha": np.asarray(hyper.alpha).tolist(), "gamma": np.asarray(hyper.gamma).tolist()},
            "loss": "paper loss of the final parameters on the fixed eval batch, evaluated in float32-highest",
            "fp32_replica_rel_diff": replica.tolist(), "precisions": out}


# ------------------------------------------------------------------------ (e) theory grid

def part_e(z: Sizes, clock: Clock) -> dict:
    """``rf_error_grid`` on an e_grid² (N, P) grid with theory_grid.py's spectrum, ridge and noise."""
    from scalesim.theory import random_features as rf

    lam, w2 = rf.power_law_spectrum(2.2, 1.6, z.e_modes)
    sizes = np.geomspace(10, 1000, z.e_grid)
    n_grid, p_grid = (jnp.asarray(a) for a in np.meshgrid(sizes, sizes, indexing="ij"))
    first, _ = timed(rf.rf_error_grid, lam, w2, n_features=n_grid, n_samples=p_grid, ridge=1e-4, sigma2=0.01)
    warm, out = timed(rf.rf_error_grid, lam, w2, n_features=n_grid, n_samples=p_grid, ridge=1e-4, sigma2=0.01)
    return {"points": int(n_grid.size), "modes": z.e_modes, "ridge": 1e-4, "sigma2": 0.01, "method": "table",
            "first_call_s": first, "warm_s": warm, "all_finite": bool(jnp.all(jnp.isfinite(out)))}


# ------------------------------------------------------------------------ (f) Approach-3 fit

def part_f(z: Sizes, clock: Clock) -> dict:
    """``fit_approach3`` from the Hoffmann grid (every f_stride-th start): cold and warm seconds."""
    from scalesim.datasets import load_epoch_chinchilla
    from scalesim.fit import chinchilla as ch

    d = load_epoch_chinchilla()
    grid = ch.hoffmann_grid()[:: z.f_stride]
    t0 = time.perf_counter()
    ch.fit_approach3(d["N"], d["D"], d["L"], grid=grid)
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    fit = ch.fit_approach3(d["N"], d["D"], d["L"], grid=grid)
    warm = time.perf_counter() - t0
    return {"starts": int(len(grid)), "points": int(len(d["L"])), "cold_s": cold, "warm_s": warm,
            "objective": float(fit.objective)}


# -------------------------------------------------------------------- (g) chunked ensemble

def opt17(steps: int) -> LiuAdamW:
    """exp-17's optimiser factory (5 % warm-up), as :func:`train17` builds it."""
    return LiuAdamW(steps, int(0.05 * steps))


def ensemble_plan(per: int, free: int) -> list:
    """The chunk plan of an ensemble whose estimate is at least 1.3x the free memory, made of
    whole chunks (every chunk runs the same compiled program), at least two."""
    need = math.ceil(1.3 * free / per)
    first = engine.chunk_plan("auto", 4 * need + 64, per_member_bytes=per, budget=free)[0]  # a steady chunk
    size = first[1] - first[0]
    return engine.chunk_plan("auto", size * max(2, -(-need // size)), per_member_bytes=per, budget=free)


def compare(a, b) -> dict:
    """Bit-equality of two pytrees of arrays, else the largest absolute difference."""
    diffs = [float(np.max(np.abs(np.asarray(x, np.float64) - np.asarray(y, np.float64))))
             for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b))]
    equal = all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))
    return {"bit_equal": bool(equal), "max_abs_diff": max(diffs)}


def part_g(z: Sizes, clock: Clock) -> dict:
    """An exp-17-style ensemble whose estimate exceeds free memory, run with ``max_members="auto"``
    (float32 matmuls); 16 members (one aligned group) re-run alone, unchunked, compared bit for bit."""
    with jax.default_matmul_precision("highest"):
        return chunked_run(z)


def chunked_run(z: Sizes) -> dict:
    """The body of :func:`part_g` (under the caller's matmul precision)."""
    cfg, one = exp17_case(z.g_n, z.g_m, 1)
    per = engine.member_bytes(sp.MODEL, cfg, one, opt17(z.g_steps), steps=z.g_steps, batch_size=z.g_batch,
                              record_steps=[z.g_steps])
    if per is None:
        raise RuntimeError("the backend gives no memory analysis: max_members='auto' would run all members at once")
    saved = os.environ.get("SCALESIM_MEMORY_BYTES")
    try:
        if z.g_rehearse:
            os.environ["SCALESIM_MEMORY_BYTES"] = str(20 * per)
        budget = memory.free_bytes()
        plan = ensemble_plan(per, budget.bytes)
        n_members, chunk = plan[-1][1], plan[0][1] - plan[0][0]
        hyper = exp17_case(z.g_n, z.g_m, n_members)[1]
        wall, res = timed(lambda: train(cfg, hyper, z.g_steps, z.g_batch, warmup_frac=0.05, max_members="auto"))
    finally:
        if saved is None:
            os.environ.pop("SCALESIM_MEMORY_BYTES", None)
        else:
            os.environ["SCALESIM_MEMORY_BYTES"] = saved
    sel = np.arange(chunk, chunk + 16)  # the first 16 members of the second chunk
    small = train(cfg, jax.tree.map(lambda x: x[sel], hyper), z.g_steps, z.g_batch, warmup_frac=0.05, member_ids=sel,
                  max_members=None)
    check = compare((jax.tree.map(lambda x: x[sel], res.params), {k: v[sel] for k, v in res.metrics.items()}),
                    (small.params, small.metrics))
    return {"n": z.g_n, "m": z.g_m, "batch": z.g_batch, "steps": z.g_steps, "members": n_members,
            "per_member_bytes": per, "estimate_bytes": per * n_members, "free_bytes": budget.bytes,
            "free_source": budget.source, "estimate_over_free": per * n_members / budget.bytes,
            "usable_fraction": memory.USABLE_FRACTION, "chunk_members": chunk,
            "chunk_plan": [list(c) for c in plan], "chunks": len(plan), "wall_s": wall, "diverged": int(np.sum(res.diverged)),
            "checked_member_ids": [int(sel[0]), int(sel[-1])], "check_vs_unchunked": check}


# ------------------------------------------------------------------------------- driver

PART_FUNCS = {"a_throughput": part_a, "b_grid_walltime": part_b, "c_flops": part_c, "d_precision_loss": part_d,
              "e_theory_grid": part_e, "f_fit": part_f, "g_chunked": part_g}
MIN_LEFT_S = {"a_throughput": 60, "b_grid_walltime": 45, "c_flops": 60, "d_precision_loss": 45, "e_theory_grid": 20,
              "f_fit": 20, "g_chunked": 60}  # seconds a part needs to start (a tenth of it in --smoke)


def run_part(name: str, z: Sizes, clock: Clock) -> dict:
    """One part in its own ``try``: ``{"status": "ok" | "error: ..." | "skipped: ...", "elapsed_s", ...}``."""
    scale = 1.0 if z is GPU else 0.1
    if clock.left() < MIN_LEFT_S[name] * scale:
        return {"status": f"skipped: time budget ({clock.left():.0f} s left)", "elapsed_s": 0.0}
    t0 = time.perf_counter()
    try:
        out = {"status": "ok", **PART_FUNCS[name](z, clock)}
    except Exception as e:
        out = {"status": f"error: {type(e).__name__}: {str(e)[:500]}", "traceback": traceback.format_exc()[-2000:]}
    out["elapsed_s"] = time.perf_counter() - t0
    print(f"[{name}] {out['status'][:100]} in {out['elapsed_s']:.1f} s (total {clock.elapsed():.0f} s)", flush=True)
    return out


def fmt(x, unit="") -> str:
    """A number in 3 significant digits (engineering suffix for large values)."""
    if x is None:
        return "-"
    for div, suf in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.3g}{suf}{unit}"
    return f"{x:.3g}{unit}"


def _line_a(r):
    rows = "; ".join(f"m={w['m']}: {fmt(w['scalesim_model_steps_per_s'])} vs {fmt(w.get('torch_model_steps_per_s'))}"
                     f" model-steps/s" + (f" ({w['ratio']:.1f}x)" if "ratio" in w else "") for w in r["rows"])
    return rows + ("" if r["torch_baseline"] == "ok" else f" [{r['torch_baseline']}]")


def _line_b(r):
    p, q = r["paper_exp10_grid"], r["repo_superposition_grid"]
    return (f"paper {p['models']} models x {p['steps']} steps: {p['total_s']:.0f} s; "
            f"repo grid {q['models']}: {q['total_s']:.0f} s")


def _line_c(r):
    return "; ".join(f"{k}: {v['step_s'] * 1e3:.2f} ms/step {fmt(v['flop_per_s'], 'FLOP/s')} = "
                     f"{v['fraction_of_peak']:.2f} of {fmt(v['matmul_peak_flop_per_s'])}"
                     for k, v in r["precisions"].items())


def _line_d(r):
    return "; ".join(f"{k}: max rel diff {r['precisions'][k]['max_rel_diff']:.2e}" for k in ("tf32", "bf16")) + \
        f" (fp32 replicas {max(r['fp32_replica_rel_diff']):.2e})"


def _line_g(r):
    chk = r["check_vs_unchunked"]
    verdict = "bit-equal" if chk["bit_equal"] else f"max diff {chk['max_abs_diff']:.2e}"
    fb = memory.format_bytes
    return (f"{r['members']} x {fb(r['per_member_bytes'])} = {fb(r['estimate_bytes'])} vs free {fb(r['free_bytes'])}"
            f"; chunk {r['chunk_members']} ({r['chunks']} chunks), {r['wall_s']:.1f} s; check: {verdict}")


HEADLINES = {
    "a_throughput": _line_a, "b_grid_walltime": _line_b, "c_flops": _line_c, "d_precision_loss": _line_d,
    "e_theory_grid": lambda r: f"{r['points']} points: warm {r['warm_s']:.3f} s (first {r['first_call_s']:.2f} s)",
    "f_fit": lambda r: f"{r['starts']} starts: warm {r['warm_s']:.3f} s (cold {r['cold_s']:.2f} s)",
    "g_chunked": _line_g,
}


def headline(name: str, r: dict) -> str:
    """One line of the printed table: the part's headline numbers, or its status."""
    if r["status"] != "ok":
        return r["status"][:110]
    try:
        return HEADLINES[name](r)
    except Exception as e:  # a headline never hides the JSON
        return f"(no headline: {type(e).__name__})"


def print_table(results: dict) -> None:
    """The summary table: part, status, seconds, headline numbers."""
    print(f"\n{'part':<18} {'s':>6}  result")
    for name in PARTS:
        r = results[name]
        print(f"{name:<18} {r['elapsed_s']:6.1f}  {headline(name, r)}")


def to_json(obj):
    """JSON-safe copy: numpy scalars/arrays to Python, tuples to lists."""
    if isinstance(obj, dict):
        return {str(k): to_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_json(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def use_fast_compile_flags() -> None:
    """Add ``SMOKE_XLA_FLAGS`` to ``XLA_FLAGS`` if this jaxlib accepts them (XLA aborts on unknown
    flags, so they are tried in a child process first)."""
    flags = (os.environ.get("XLA_FLAGS", "") + " " + SMOKE_XLA_FLAGS).strip()
    env = {**os.environ, "XLA_FLAGS": flags, "JAX_PLATFORMS": "cpu"}
    probe = [sys.executable, "-c", "import jax.numpy as jnp; jnp.zeros(2).block_until_ready()"]
    if subprocess.run(probe, env=env, capture_output=True, timeout=120).returncode == 0:
        os.environ["XLA_FLAGS"] = flags


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="accelerator_check.json", help="JSON file to write")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes: the same code paths in about a minute on CPU")
    ap.add_argument("--parts", default=",".join(PARTS), help="comma-separated subset of " + ", ".join(PARTS))
    ap.add_argument("--budget", type=float, default=None,
                    help="global time budget in seconds (default: the sizes' own, 420 on a GPU)")
    args = ap.parse_args(argv)
    z = SMOKE if args.smoke else GPU
    if args.smoke:  # before the first computation initialises the backend
        use_fast_compile_flags()
    budget = z.budget_s if args.budget is None else args.budget
    clock = Clock(budget)
    meta = {"mode": "smoke" if args.smoke else "full", "budget_s": budget, "sizes": dataclasses.asdict(z),
            "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "xla_flags": os.environ.get("XLA_FLAGS", ""), **device_info()}
    print(f"accelerator check ({meta['mode']}): {meta['platform']} {meta['device_kind']}, jax {meta['jax']}, "
          f"torch {meta['torch']}, budget {budget:.0f} s", flush=True)
    wanted = [p for p in args.parts.split(",") if p]
    results = {}
    for name in PARTS:
        results[name] = run_part(name, z, clock) if name in wanted else {"status": "skipped: not requested",
                                                                         "elapsed_s": 0.0}
    meta["total_s"] = clock.elapsed()
    doc = to_json({"meta": meta, "parts": results})
    Path(args.out).write_text(json.dumps(doc, indent=1))
    print_table(results)
    print(f"\ntotal {meta['total_s']:.1f} s; wrote {args.out}")
    return doc


if __name__ == "__main__":
    main()
