"""Benchmark: the JAX replica solver vs a scipy implementation of the same equations.

Table: 6 alpha_prune x 6 f x 2 modes at theta = 0 and theta = 10 degrees (Sorscher et al. 2022,
eqs. (1)-(3); scalesim.theory.perceptron).  Baseline: numpy/scipy code evaluating the same
functional B with the same quadrature rules (vectorised numpy), its gradient by central finite
differences, and ``scipy.optimize.fsolve`` (MINPACK hybrid) for the roots, with the same
continuation in f (theta > 0: secant predictor, step carried across the grid) / the same
global kappa bisection then fsolve (theta = 0).
Prints the wall-clock ratio and the max |eps_jax - eps_scipy|, then the batched max-margin
throughput (problems / s).

    PYTHONPATH=. python benchmarks/replica_solver.py [--quick] [--maxmargin-only]
"""
from __future__ import annotations

import math
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from scipy.optimize import brentq, fsolve  # noqa: E402
from scipy.special import erfinv, ndtr, ndtri  # noqa: E402

from scalesim.models import perceptron as sim  # noqa: E402
from scalesim.theory import _perceptron_quadrature as Q  # noqa: E402
from scalesim.theory import _perceptron_solver as S  # noqa: E402
from scalesim.theory import perceptron as T  # noqa: E402

QUICK = "--quick" in sys.argv
MM_ONLY = "--maxmargin-only" in sys.argv


# ---------------------------------------------------------------- scipy baseline (same rules)
def _panels(lo, hi, rel, n):
    x, w = np.polynomial.legendre.leggauss(n)
    x, w = (x + 1) / 2, w / 2
    left, width = rel[:-1], np.diff(rel)
    t = (left[:, None] + width[:, None] * x[None, :]).ravel()
    wt = (width[:, None] * w[None, :]).ravel()
    return lo + (hi - lo) * t, (hi - lo) * wt


_phi = lambda x: np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _G(d, s):
    r = d / s
    return (d * d + s * s) * ndtr(r) + s * d * _phi(r)


def _interval(f, easy):
    if easy:
        g = -ndtri(f / 2) if f < 1 else 0.0
        return g, g + T.Z_MAX
    return 0.0, (min(math.sqrt(2) * erfinv(f), T.Z_MAX) if f < 1 else T.Z_MAX)


def B0_np(eps, kappa, alpha, f, easy):
    R, s = math.cos(math.pi * eps), math.sin(math.pi * eps)
    lo, hi = _interval(f, easy)
    zk = min(max(kappa / R if R > 1e-12 else hi, lo), hi)
    z1, w1 = _panels(zk, lo, Q._GRADED, 10)
    z2, w2 = _panels(zk, hi, Q._GRADED, 10)
    z, w = np.concatenate([z1, z2]), np.concatenate([-w1, w2]) * _phi(np.concatenate([z1, z2]))
    return s * s - alpha * np.sum(w * _G(kappa - R * z, s)) / np.sum(w)


def solve0_np(alpha, f, easy):
    grid = S.max_eps_grid()
    bmax = lambda k: max(B0_np(e, k, alpha, f, easy) for e in grid)
    hi = 0.5
    while bmax(hi) >= 0:
        hi *= 2
    k = brentq(bmax, 0.0, hi, xtol=1e-10)
    e0 = grid[np.argmax([B0_np(e, k, alpha, f, easy) for e in grid])]
    h = 1e-7

    def F(x):
        e, kk = x
        return [(B0_np(e + h, kk, alpha, f, easy) - B0_np(e - h, kk, alpha, f, easy)) / (2 * h),
                B0_np(e, kk, alpha, f, easy)]

    return fsolve(F, [e0, k], xtol=1e-12)


def B_np(phi, psi, kappa, alpha, f, theta, easy):
    q = Q.QUAD[Q._RULE]
    ct, st = math.cos(theta), math.sin(theta)
    s = math.sin(phi) * math.sin(psi)
    a = math.cos(phi) - math.sin(phi) * math.cos(psi) * ct / st
    b = math.sin(phi) * math.cos(psi) / st
    lo, hi = _interval(f, easy)
    z, wz = _panels(lo, hi, q["z"], q["nz"])
    wz = wz * _phi(z)
    wz /= wz.sum()
    a_s = a if abs(a) > 1e-12 else 1e-12
    br = np.stack([-z * ct / st, ((kappa - b * z) / a_s - ct * z) / st, (-(kappa + b * z) / a_s - ct * z) / st], 1)
    br = np.sort(np.clip(br, -T.V_MAX, T.V_MAX), 1)
    edges = np.concatenate([np.full((len(z), 1), -T.V_MAX), br, np.full((len(z), 1), T.V_MAX)], 1)
    x, w = _panels(0.0, 1.0, Q._both(q["v"]), q["nv"])
    lo_e, width = edges[:, :-1, None], np.diff(edges, axis=1)[:, :, None]
    v = (lo_e + width * x).reshape(len(z), -1)
    wv = (width * w).reshape(len(z), -1) * _phi(v)
    u = ct * z[:, None] + st * v
    m = a * np.abs(u) + b * np.sign(u) * z[:, None]
    E = np.sum(wz * np.sum(wv * _G(kappa - m, s), 1))
    return s * s - alpha * E


def _res_np(x, alpha, f, theta, easy, h=1e-6):
    p, q, k = x
    Bf = lambda p, q: B_np(p, q, k, alpha, f, theta, easy)
    return [(Bf(p + h, q) - Bf(p - h, q)) / (2 * h), (Bf(p, q + h) - Bf(p, q - h)) / (2 * h), Bf(p, q)]


def branch_np(alpha, fgrid, theta, easy):
    """Same continuation as T.solve_branch: secant predictor, step carried across the grid."""
    e, k = solve0_np(alpha, 1.0, False)
    x = np.array([math.pi * e, math.pi / 2, k])
    xp, lf, lfp, hstep = x, 0.0, 0.0, 0.1
    lo, hi = np.array(S.LOWER), np.array(S.UPPER)
    out = []
    for f in fgrid:
        lft = math.log(f)
        while lf > lft + 1e-15 and hstep > 2e-4:
            lt = max(lft, lf - hstep)
            pred = x + ((lt - lf) / (lf - lfp)) * (x - xp) if lf != lfp else x
            pred = np.clip(pred, lo + 1e-9, hi - 1e-9)
            xn, info, ier, _ = fsolve(_res_np, pred, args=(alpha, math.exp(lt), theta, easy),
                                      full_output=True, xtol=1e-12)
            if ier == 1 and np.max(np.abs(xn - x)) < 0.2:
                xp, lfp, x, lf, hstep = x, lf, xn, lt, min(1.5 * hstep, 0.3)
            else:
                hstep /= 2
        out.append(x[0] / math.pi if lf <= lft + 1e-15 else np.nan)
    return np.array(out)


# ---------------------------------------------------------------- the table
alphas = np.geomspace(1.0, 10.0, 6)
fs = np.geomspace(0.1, 1.0, 6)[::-1]
if QUICK:
    alphas, fs = alphas[:2], fs[:3]
modes = np.array(["hard", "easy"])

for theta_deg in (() if MM_ONLY else (0.0, 10.0)):
    th = math.radians(theta_deg)
    A, F, M = np.meshgrid(alphas, fs, modes, indexing="ij")
    T.predict(A, F, th, M)                                   # compile (not timed)
    t0 = time.perf_counter()
    ej = T.predict(A, F, th, M)["eps"]
    tj = time.perf_counter() - t0
    t0 = time.perf_counter()
    es = np.zeros_like(ej)
    for i, a in enumerate(alphas):
        for m, md in enumerate(modes):
            if th == 0:
                es[i, :, m] = [solve0_np(a, f, md == "easy")[0] for f in fs]
            else:
                es[i, :, m] = branch_np(a, fs, th, md == "easy")
    ts = time.perf_counter() - t0
    err = np.nanmax(np.abs(ej - es))
    print(f"theta={theta_deg:4.1f} deg  {ej.size} points: jax {tj:7.2f} s  scipy {ts:7.2f} s  "
          f"speed-up x{ts / tj:5.1f}  max|d eps| = {err:.1e}  "
          f"(target >= 10x at <= 1e-4: {'met' if ts / tj >= 10 and err <= 1e-4 else 'NOT met'})")

# ---------------------------------------------------------------- max-margin throughput
n, k = (100, 300) if QUICK else (200, 600)
for batch in (1, 16):
    keys = jax.random.split(jax.random.PRNGKey(0), batch)
    X, y, _, _ = jax.vmap(lambda kk: sim.make_problem(kk, n, k, 2 * k, 0.5, 0.1, False))(keys)
    for name, fn in (("vmap", jax.jit(jax.vmap(sim.max_margin))),
                     ("lax.map", jax.jit(lambda X, y: jax.lax.map(lambda a: sim.max_margin(*a), (X, y))))):
        jax.block_until_ready(fn(X, y))
        t0 = time.perf_counter()
        jax.block_until_ready(fn(X, y))
        dt = time.perf_counter() - t0
        print(f"max-margin N={n} k={k}: batch {batch:3d} {name:8s} {batch / dt:7.2f} problems/s")
