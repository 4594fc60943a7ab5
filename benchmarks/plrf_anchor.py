"""The compute-optimal anchor of Paquette et al. 2024 at alpha = beta = 0.7 (the II/III boundary).

Paquette, Paquette, Xiao & Pennington 2024 (arXiv 2405.15074) use alpha = beta = 0.7 as their
worked compute-optimal example. It lies on the Phase II/III boundary, where the asymptotic
exponents are the common limit of both phases (``scalesim.theory.plrf.compute_optimal_exponents``:
``xi = 1/2``, ``eta = 1 - 1/(4 alpha) = 0.643``) and finite-size drift is strong. Simulating SGD
at d in the thousands (v = 10 d inputs) is out of reach of a CPU, so this script uses the exact
expected SGD risk of each drawn embedding (``plrf.exact_risk_draws``, no SGD simulation; the
same frontier, window and slope fits as ``plrf.compute_optimal_fit`` and the
``rf-compute-optimal`` experiment) on a half-octave ladder of sizes up to d = 4096, and reports:

* eta and xi fitted over the whole window (where the best ladder size is interior) and over its
  top decade of compute, with 95% percentile-bootstrap CIs over W draws (resampled
  independently per size: with nested draws this ignores the positive correlation between
  sizes, so the CIs are conservative);
* the local exponents (slopes over a sliding sub-window of ``--local`` grid points, ~half a
  decade) against compute and d*, with bootstrap bands: the drift towards the asymptote.

Each size's per-draw risk curves are cached in ``--out`` (``risk_d{d}.npz``), so the ladder
can be extended or the run resumed; the cache is keyed by the settings.

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python benchmarks/plrf_anchor.py --out /tmp/anchor \\
        [--alpha 0.7 --beta 0.7 --dims 32,45,...,4096 --f-max 2e8]

Writes ``anchor.json`` (numbers) and ``anchor.png`` (local exponents vs compute) in ``--out``.
"""
import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

from scalesim.stats import percentile_ci  # noqa: E402
from scalesim.theory import plrf  # noqa: E402

LADDER = (32, 45, 64, 91, 128, 181, 256, 362, 512, 724, 1024, 1448, 2048, 2896, 4096)


def ladder_risks(args, dims, f, log=print):
    """Per-draw exact risk curves ``{d: [n_draws, n_f]}``, cached per size in ``args.out``."""
    draw = plrf.nested_draw(args.seed, args.v_ratio)
    key = dict(alpha=args.alpha, beta=args.beta, lr_scale=args.lr_scale, batch=1, v_ratio=args.v_ratio,
               seed=args.seed, f=f.tolist())
    out, seconds = {}, {}
    for d in dims:
        n = args.draws_at.get(d, int(np.clip(args.draw_budget // d, args.min_draws, args.max_draws)))
        path = Path(args.out) / f"risk_d{d}.npz"
        have, spent = np.zeros((0, f.size)), 0.0
        if path.exists():
            z = np.load(path)
            if json.loads(str(z["key"])) == key:          # same settings: reuse (and extend) its draws
                have, spent = z["risk"], float(z["seconds"])
        if len(have) < n:
            t0 = time.perf_counter()
            r = plrf.exact_risk_draws(args.alpha, (args.beta,), d, f, lr_scale=args.lr_scale, batch=1,
                                      v_ratio=args.v_ratio, members=np.arange(len(have), n), draw=draw)[:, 0]
            spent += time.perf_counter() - t0
            have = np.concatenate([have, r])
            np.savez(path, risk=have, key=json.dumps(key), seconds=spent)
            log(f"d={d}: {len(have)} draws, {spent:.1f} s")
        else:
            log(f"d={d}: {len(have)} draws (cached, {spent:.0f} s)")
        out[d], seconds[d] = have, spent                   # every cached draw is used
    return out, seconds


def boot_means(risks, dims, n_boot, seed):
    """Bootstrap means ``[n_boot, n_d, n_f]``: draws resampled independently per size."""
    rng = np.random.default_rng(seed)
    return np.stack([risks[d][rng.integers(0, len(risks[d]), (n_boot, len(risks[d])))].mean(1)
                     for d in dims], axis=1)


def fit(dims, f, mean, boot, mask):
    """(xi, eta) fitted over ``mask`` and their 95% bootstrap CIs."""
    xi, eta = (float(x) for x in plrf.frontier_slopes(dims, f, mean, mask))
    xb, eb = plrf.frontier_slopes(dims, f, boot, mask)
    return {"eta": eta, "eta_ci": list(percentile_ci(eb, 0.95)), "xi": xi, "xi_ci": list(percentile_ci(xb, 0.95)),
            "f_window": [float(f[mask].min()), float(f[mask].max())], "n_points": int(mask.sum())}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--alpha", type=float, default=0.7)
    ap.add_argument("--beta", type=float, default=0.7)
    ap.add_argument("--dims", default=",".join(map(str, LADDER)))
    ap.add_argument("--f-max", type=float, default=2e8, help="largest compute f = d B t")
    ap.add_argument("--n-compute", type=int, default=72, help="points of the geometric compute grid")
    ap.add_argument("--t-min", type=float, default=30, help="steps of the smallest size at the first grid point")
    ap.add_argument("--grid-dim", type=int, default=None,
                    help="size whose t-min steps start the compute grid (default: min of --dims); fix it to "
                         "fill the cache of part of the ladder in a separate process")
    ap.add_argument("--lr-scale", type=float, default=0.5)
    ap.add_argument("--v-ratio", type=int, default=10)
    ap.add_argument("--draw-budget", type=int, default=16384, help="draws per size = budget // d, clipped")
    ap.add_argument("--min-draws", type=int, default=4)
    ap.add_argument("--max-draws", type=int, default=256)
    ap.add_argument("--draws-at", default="", help="per-size draw counts overriding the budget, e.g. 4096:1")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--local", type=int, default=13, help="grid points per local-exponent sub-window")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    args.draws_at = {int(k): int(v) for k, v in (x.split(":") for x in args.draws_at.split(",") if x)}
    Path(args.out).mkdir(parents=True, exist_ok=True)
    dims = tuple(int(x) for x in args.dims.split(","))
    co = plrf.compute_optimal_exponents(args.alpha, args.beta)
    f = plrf.compute_grid(args.grid_dim or min(dims), 1, args.t_min, args.f_max, args.n_compute)
    print(f"alpha={args.alpha} beta={args.beta}: {co.phase} (asymptotic xi={co.xi:.4f}, eta={co.eta:.4f}); "
          f"dims={dims}, f in [{f[0]:.3g}, {f[-1]:.3g}] ({f.size} points)", flush=True)
    t0 = time.perf_counter()
    risks, seconds = ladder_risks(args, dims, f, log=lambda m: print(m, flush=True))
    mean = np.stack([risks[d].mean(0) for d in dims])
    win = plrf.frontier_window(dims, mean) if len(dims) >= 3 else np.zeros(f.size, bool)
    if win.sum() < args.local:
        raise SystemExit(f"only {int(win.sum())} compute points with an interior optimum: raise f_max or the ladder")
    boot = boot_means(risks, dims, args.n_boot, args.seed)
    _, ld, lp = plrf.compute_optimal_frontier(dims, mean)
    idx = np.flatnonzero(win)
    whole = fit(dims, f, mean, boot, win)
    top = np.zeros_like(win)
    top[idx[f[idx] >= f[idx[-1]] / 10]] = True          # the top decade of the window
    top_fit = fit(dims, f, mean, boot, top)
    local = []
    for a in range(idx.size - args.local + 1):
        m = np.zeros_like(win)
        m[idx[a:a + args.local]] = True
        r = fit(dims, f, mean, boot, m)
        r["f_center"] = float(np.exp(np.log(f[m]).mean()))
        r["d_star_center"] = float(np.exp(ld[m].mean()))
        local.append(r)
    wall = time.perf_counter() - t0
    res = {
        "alpha": args.alpha, "beta": args.beta, "phase": co.phase, "asymptotic_status": co.status,
        "asymptotic": {"eta": co.eta, "xi": co.xi}, "dims": list(dims),
        "draws": {str(d): int(len(risks[d])) for d in dims}, "seconds_per_size": {str(d): seconds[d] for d in dims},
        "f_grid": [float(f[0]), float(f[-1]), int(f.size)],
        "window": whole["f_window"], "d_star_range": [float(np.exp(ld[win].min())), float(np.exp(ld[win].max()))],
        "whole_window": whole, "top_decade": top_fit, "local": local,
        "settings": {k: (str(v) if k == "draws_at" else v) for k, v in vars(args).items() if k not in ("out", "dims")},
        "ci": "95% percentile bootstrap over W draws, resampled independently per size",
        "wall_seconds_this_run": wall,
    }
    (Path(args.out) / "anchor.json").write_text(json.dumps(res, indent=1))
    for name, r in (("whole window", whole), ("top decade", top_fit)):
        print(f"{name}: f in [{r['f_window'][0]:.3g}, {r['f_window'][1]:.3g}] ({r['n_points']} pts): "
              f"eta = {r['eta']:.4f} [{r['eta_ci'][0]:.4f}, {r['eta_ci'][1]:.4f}] (asymptotic {co.eta:.4f}), "
              f"xi = {r['xi']:.4f} [{r['xi_ci'][0]:.4f}, {r['xi_ci'][1]:.4f}] (asymptotic {co.xi:.4f})")
    print(f"d* over the window: {res['d_star_range'][0]:.0f} .. {res['d_star_range'][1]:.0f}; wall {wall:.0f} s")
    plot(res, Path(args.out) / "anchor.png")


def plot(res, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2), dpi=110)
    loc = res["local"]
    fc = np.array([r["f_center"] for r in loc])
    for ax, name in zip(axes, ("eta", "xi")):
        y = np.array([r[name] for r in loc])
        ci = np.array([r[name + "_ci"] for r in loc])
        ax.fill_between(fc, ci[:, 0], ci[:, 1], color="C0", alpha=0.25, lw=0, label="95% CI (W draws)")
        ax.plot(fc, y, "C0-", label=f"local {name} ({res['settings']['local']} grid pts)")
        ax.axhline(res["asymptotic"][name], color="k", ls=":", label=f"asymptotic {res['asymptotic'][name]:.3f}")
        ax.set(xscale="log", xlabel="compute f = d B t (sub-window centre)", ylabel=name,
               title=f"{name}: {res['phase']}, alpha={res['alpha']:g}, beta={res['beta']:g}")
        for r in loc[::max(1, len(loc) // 5)]:    # d* at a few sub-window centres
            ax.annotate(f"d*={r['d_star_center']:.0f}", (r["f_center"], r[name]), fontsize=6,
                        xytext=(0, -14), textcoords="offset points", ha="center")
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path)


if __name__ == "__main__":
    main()
