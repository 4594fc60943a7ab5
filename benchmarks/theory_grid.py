"""Benchmark: linear-RF deterministic equivalent on a 100 x 100 (N, P) grid.

Baseline (named): a scipy loop, ``scipy.optimize.brentq`` on the same log-kappa residual with
a numpy residual vectorised over modes, one point at a time (the way reference numpy codes of
the deterministic equivalent do it).  Candidate: ``scalesim.theory.random_features.rf_error_grid``, all 10^4
points in one jitted call: the spectral moments are tabulated once on a log-kappa grid and every
point is solved on the table (binary search + Newton on a cubic-Hermite model, implicit-function
gradients).  Also timed: ``method="exact"``, the pointwise Newton solver vmapped over the grid.

Prints both timings, the ratio and the max relative difference between the two answers.
Usage: ``PYTHONPATH=. python benchmarks/theory_grid.py [--modes 4000] [--baseline-points N]``
(``--baseline-points`` < 10^4 times the scipy loop on an evenly strided subset and scales the
time to the full grid; the default times the full loop).
"""
from __future__ import annotations

import argparse
import time

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from scipy.optimize import brentq  # noqa: E402

from scalesim.theory import random_features as rf  # noqa: E402


def scipy_point(lam, w2, n, p, ridge, sigma2):
    """Reference numpy/scipy evaluation of the linear-RF deterministic equivalent at one point."""
    def h(u):
        d1 = np.sum(lam / (lam + np.exp(u)))
        if d1 >= min(n, p):
            return -1e300
        return u + np.log1p(-d1 / p) + np.log1p(-d1 / n) - np.log(ridge)
    hi = np.log(ridge + lam.sum() * (1 / n + 1 / p))
    kappa = np.exp(brentq(h, np.log(ridge), hi, xtol=1e-14, rtol=1e-14))
    r = lam / (lam + kappa)
    d1, d2 = r.sum(), (r * r).sum()
    power = w2 * lam
    rho = (1 - d1 / n) / (1 - d2 / n)
    gamma1 = (d1 - rho * (d1 - d2)) / p
    return (rho * np.sum(power * (1 - r) ** 2) + (1 - rho) * np.sum(power * (1 - r)) + sigma2) / (
        1 - gamma1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--modes", type=int, default=4000)
    ap.add_argument("--grid", type=int, default=100, help="points per axis (grid^2 in total)")
    ap.add_argument("--baseline-points", type=int, default=0, help="0 = full grid")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    ridge, sigma2 = 1e-4, 0.01
    lam, w2 = rf.power_law_spectrum(2.2, 1.6, args.modes)
    sizes = np.geomspace(10, 1000, args.grid)
    n_grid, p_grid = np.meshgrid(sizes, sizes, indexing="ij")
    n_j, p_j = jnp.asarray(n_grid), jnp.asarray(p_grid)

    t0 = time.perf_counter()
    out = rf.rf_error_grid(lam, w2, n_features=n_j, n_samples=p_j, ridge=ridge, sigma2=sigma2).block_until_ready()
    t_first = time.perf_counter() - t0
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        out = rf.rf_error_grid(lam, w2, n_features=n_j, n_samples=p_j, ridge=ridge, sigma2=sigma2).block_until_ready()
        times.append(time.perf_counter() - t0)
    t_jax = min(times)

    ex = rf.rf_error_grid(lam, w2, n_features=n_j, n_samples=p_j, ridge=ridge, sigma2=sigma2, method="exact").block_until_ready()
    t0 = time.perf_counter()
    ex = rf.rf_error_grid(lam, w2, n_features=n_j, n_samples=p_j, ridge=ridge, sigma2=sigma2, method="exact").block_until_ready()
    t_exact = time.perf_counter() - t0
    err_exact = float(jnp.max(jnp.abs(out / ex - 1)))

    lam_np, w2_np = np.asarray(lam), np.asarray(w2)
    flat = np.arange(n_grid.size)
    if args.baseline_points and args.baseline_points < flat.size:
        flat = flat[:: flat.size // args.baseline_points][: args.baseline_points]
    t0 = time.perf_counter()
    ref = np.array([scipy_point(lam_np, w2_np, n_grid.flat[i], p_grid.flat[i], ridge, sigma2)
                    for i in flat])
    t_scipy = (time.perf_counter() - t0) * n_grid.size / flat.size

    err = np.max(np.abs(np.asarray(out).ravel()[flat] / ref - 1))
    print(f"grid: {n_grid.size} (N, P) points, {args.modes} modes, ridge={ridge}, sigma2={sigma2}")
    print(f"jax  rf_error_grid (one jitted call): {t_jax:.3f} s  (first call incl. compile "
          f"{t_first:.2f} s)")
    print(f"jax  rf_error_grid(method='exact') (vmapped Newton): {t_exact:.3f} s; table vs "
          f"exact max rel diff {err_exact:.2e}")
    print(f"scipy brentq loop ({flat.size} points timed{'' if flat.size == n_grid.size else ', scaled'}"
          f"): {t_scipy:.2f} s")
    print(f"speed-up vs scipy loop: table {t_scipy / t_jax:.1f}x, exact {t_scipy / t_exact:.1f}x"
          f"   max rel diff table vs scipy: {err:.2e}")


if __name__ == "__main__":
    main()
