"""Benchmark: scalesim's batched JAX fitters vs a fair scipy baseline, same data, same run.

Data: Epoch's 240 Chinchilla points (fitting.md Sec. 7 oracle 1).
1. Approach 3 from the 4,500-start Hoffmann grid. Baseline: scipy L-BFGS-B from every start,
   analytic gradient (vectorised numpy), the same centred coordinates and L-BFGS memory as
   scalesim, BLAS pinned to one thread. Both must reach the same optimum (objective within 1e-6 relative).
2. VPNLS: 32 x 32 (alpha, beta) grid with exact NNLS, then refinement. Baseline: scipy.nnls
   on the grid, L-BFGS-B with the envelope gradient from the best cell.
3. Bootstrap, 1,000 plain resamples of Approach 3 refitted from the optimum. Baseline:
   scipy L-BFGS-B per resample (weighted objective, analytic gradient).
Reports cold (first call, includes jit compilation) and warm (second call) times and the
warm/cold speed ratios scipy_time / jax_time. ``--quick`` uses every 10th start and 200
resamples; ``--raw-coords`` also times scipy in Epoch's uncentred coordinates (slower).

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python benchmarks/fit_speed.py [--quick]
"""

import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import time  # noqa: E402

import jax  # noqa: E402
import numpy as np  # noqa: E402
from scipy.optimize import minimize, nnls  # noqa: E402

from scalesim.datasets import load_epoch_chinchilla  # noqa: E402
from scalesim.fit import bootstrap as bs  # noqa: E402
from scalesim.fit import chinchilla as ch  # noqa: E402
from scalesim.fit import vpnls  # noqa: E402

DELTA = 1e-3
MAXCOR = 5   # L-BFGS memory, the same as scalesim's Approach 3 (scipy's default is 10)


def a3_value_grad(t, cN, cD, lL, w):
    """Centred Approach-3 objective and gradient in numpy (same maths as scalesim)."""
    u = t[0] - t[3] * cN
    v = t[1] - t[4] * cD
    e = np.full_like(cN, t[2])
    m = np.maximum(np.maximum(u, v), e)
    pu, pv, pe = np.exp(u - m), np.exp(v - m), np.exp(e - m)
    s = pu + pv + pe
    r = m + np.log(s) - lL
    ar = np.abs(r)
    f = np.sum(w * np.where(ar <= DELTA, 0.5 * r * r, DELTA * (ar - 0.5 * DELTA)))
    psi = w * np.clip(r, -DELTA, DELTA)
    pu, pv, pe = pu / s, pv / s, pe / s
    g = np.array([np.sum(psi * pu), np.sum(psi * pv), np.sum(psi * pe),
                  -np.sum(psi * pu * cN), -np.sum(psi * pv * cD)])
    return f, g


def scipy_approach3(grid_c, cN, cD, lL, w):
    best = (np.inf, None)
    for x0 in grid_c:
        r = minimize(a3_value_grad, x0, args=(cN, cD, lL, w), jac=True, method="L-BFGS-B",
                     options={"maxcor": MAXCOR})
        if r.fun < best[0]:
            best = (r.fun, r.x)
    return best


def scipy_vpnls(N, D, L, grid=32):
    lN, lD = np.log(N), np.log(D)
    ax = np.linspace(0.05, 0.95, grid)

    def inner(a, b):
        X = np.stack([np.ones_like(L), N ** -a, D ** -b], 1)
        sc = np.linalg.norm(X, axis=0)
        c, rn = nnls(X / sc, L)
        return c / sc, rn ** 2, X

    rss = np.array([[inner(a, b)[1] for b in ax] for a in ax])
    i, j = np.unravel_index(np.argmin(rss), rss.shape)

    def fg(x):
        a, b = np.exp(x)
        c, r2, X = inner(a, b)
        r = L - X @ c
        ga = 2 * c[1] * np.sum(r * lN * N ** -a) * a
        gb = 2 * c[2] * np.sum(r * lD * D ** -b) * b
        return r2, np.array([ga, gb])

    res = minimize(fg, np.log([ax[i], ax[j]]), jac=True, method="L-BFGS-B",
                   options={"ftol": 1e-15, "gtol": 1e-12})
    return res.fun, np.exp(res.x)


def timed(fn, *a, **k):
    t = time.perf_counter()
    out = fn(*a, **k)
    return time.perf_counter() - t, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--raw-coords", action="store_true",
                    help="also time scipy in Epoch's raw (a, b, e, alpha, beta) coordinates")
    args = ap.parse_args()
    d = load_epoch_chinchilla()
    N, D, L = d["N"], d["D"], d["L"]
    grid = ch.hoffmann_grid()[::10] if args.quick else ch.hoffmann_grid()
    n_boot = 200 if args.quick else 1000
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; {len(grid)} starts, "
          f"{n_boot} resamples, {os.cpu_count()} cpus, load avg {os.getloadavg()[0]:.1f}")

    # 1. Approach 3 ---------------------------------------------------------------------
    cold, f = timed(ch.fit_approach3, N, D, L, grid=grid)
    warm, f = timed(ch.fit_approach3, N, D, L, grid=grid)
    cen = ch._Centering(N, D)
    cN, cD, lL = np.log(N) - cen.mN, np.log(D) - cen.mD, np.log(L)
    ts, (fs, _) = timed(scipy_approach3, cen.to_centered(grid), cN, cD, lL, np.ones_like(L))
    rel = abs(f.objective - fs) / fs
    print(f"approach3: jax cold {cold:.2f}s warm {warm:.2f}s | scipy {ts:.2f}s | "
          f"objective jax {f.objective:.8e} scipy {fs:.8e} (rel diff {rel:.1e}, "
          f"{'OK' if rel <= 1e-6 else 'MISMATCH'})")
    print(f"  ratio scipy/jax: warm {ts / warm:.1f}x, cold {ts / cold:.1f}x")
    if args.raw_coords:   # the literal Epoch setup: no centring (a, alpha nearly collinear)
        lN, lD = np.log(N), np.log(D)
        tr, (fr, _) = timed(scipy_approach3, grid, lN, lD, lL, np.ones_like(L))
        print(f"  scipy in raw coordinates: {tr:.2f}s, objective {fr:.8e} "
              f"(ratio to jax warm {tr / warm:.1f}x, cold {tr / cold:.1f}x)")

    # 2. VPNLS ----------------------------------------------------------------------------
    cold, fv = timed(vpnls.fit_vpnls, N, D, L)
    warm, fv = timed(vpnls.fit_vpnls, N, D, L)
    ts, (fsv, _) = timed(scipy_vpnls, N, D, L)
    rel = abs(fv.objective - fsv) / fsv
    print(f"vpnls: jax cold {cold:.2f}s warm {warm:.3f}s | scipy {ts:.2f}s | RSS jax "
          f"{fv.objective:.8e} scipy {fsv:.8e} (rel diff {rel:.1e})")
    print(f"  ratio scipy/jax: warm {ts / warm:.1f}x, cold {ts / cold:.1f}x")

    # 3. Bootstrap of Approach 3 ------------------------------------------------------------
    cold, _ = timed(bs.bootstrap_fit, f, N, D, L, n_boot=n_boot, seed=1)
    warm, rb = timed(bs.bootstrap_fit, f, N, D, L, n_boot=n_boot, seed=0)
    W = bs.resample_weights(len(L), n_boot, seed=0)
    t0 = cen.to_centered(f.extra["theta"])

    def scipy_boot():
        out = []
        for w in W:
            r = minimize(a3_value_grad, t0, args=(cN, cD, lL, w), jac=True, method="L-BFGS-B",
                         options={"maxcor": MAXCOR})
            out.append(cen.from_centered(r.x))
        return np.array(out)

    ts, S = timed(scipy_boot)
    alpha_ci = np.percentile(S[:, 3], [2.5, 97.5])
    print(f"bootstrap ({n_boot}): jax cold {cold:.2f}s warm {warm:.2f}s | scipy {ts:.2f}s | "
          f"alpha CI jax [{rb.ci['alpha'][0]:.4f}, {rb.ci['alpha'][1]:.4f}] scipy "
          f"[{alpha_ci[0]:.4f}, {alpha_ci[1]:.4f}]")
    print(f"  ratio scipy/jax: warm {ts / warm:.1f}x, cold {ts / cold:.1f}x")


if __name__ == "__main__":
    main()
