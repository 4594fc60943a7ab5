# %% [markdown]
# # Data pruning beyond power laws (Sorscher et al. 2022): perceptron theory and simulation
#
# Reads the stored results of `pruning-theory-vs-sim` and `pruning-frontier` (run directories under
# `results/`, or `$SCALESIM_RESULTS`): the full runs (`scalesim run NAME`) where they are stored,
# else the quick runs, which are created when missing. `SCALESIM_QUICK=1` forces the quick runs,
# `SCALESIM_QUICK=0` the full ones.
#
# Setup: teacher T, Gaussian inputs, labels sign(T·x); a probe at angle θ to T ranks the data by
# |J_probe·x|; keep-hard keeps the fraction f with the smallest |field|, keep-easy the largest; a
# max-margin student is trained on the kept α_prune·N examples. Theory: the replica functional B
# (`scalesim.theory.perceptron`), solved by continuation in f.

# %%
import os
from pathlib import Path

import numpy as np
import matplotlib.pyplot as plt

root = Path.cwd()
while not (root / "scalesim").is_dir() and root != root.parent:
    root = root.parent
os.chdir(root)

from scalesim import load_results
from scalesim.experiments import pruning_frontier, pruning_prototypes, pruning_theory_vs_sim

QUICK = {"1": True, "0": False}.get(os.environ.get("SCALESIM_QUICK", ""))  # None: full run if stored
BASE = Path(os.environ.get("SCALESIM_RESULTS", "results"))


def stored(exp):
    got = load_results(exp, BASE, quick=QUICK, run_missing=QUICK is not False)
    print(f"{exp.name}: {got.out}")
    return got.runs, got.records, got.settings


sim_runs, sim_summary, ss = stored(pruning_theory_vs_sim.EXPERIMENT)
fr_runs, fr_summary, fs_ = stored(pruning_frontier.EXPERIMENT)
print(f"simulation: N = {ss.n}, alpha_prune = {ss.alpha_prune}, {ss.seeds} seeds, thetas {ss.thetas_deg} deg")

# %% [markdown]
# ## Theory vs simulation (Fig.-1 style)
#
# Test error against the kept fraction f at fixed α_prune: lines are the replica theory, points the
# mean over seeds with ±2 standard errors.

# %%
fig, axes = plt.subplots(1, len(ss.modes), figsize=(5 * len(ss.modes), 3.8), squeeze=False)
for j, mode in enumerate(ss.modes):
    ax = axes[0][j]
    for c, r in enumerate(sorted(sim_runs, key=lambda r: r.metrics["theta_deg"])):
        A = r.arrays
        sel = A["easy"] == (mode == "easy")
        e = A["eps"][sel]
        ax.errorbar(A["f"][sel], e.mean(1), yerr=2 * e.std(1, ddof=1) / np.sqrt(e.shape[1]),
                    fmt="o", color=f"C{c}", ms=4, label=f"θ={r.metrics['theta_deg']:g}° sim")
        k = int(np.flatnonzero(A["curve_easy"] == (mode == "easy"))[0])
        ax.plot(A["curve_f"], A["curve_eps"][:, k], "-", color=f"C{c}", lw=1)
    ax.set(xscale="log", xlabel="kept fraction f", ylabel="test error ε", title=f"keep-{mode}")
    ax.legend(fontsize=7)
plt.show()
agree = sum(r["agrees"] for r in sim_summary)
pts = [r for r in sim_summary if "within_2se" in r]
print(f"{agree}/{len(sim_summary)} records agree (Bonferroni t band, family-wise level {ss.level:g}); "
      f"{sum(r['within_2se'] for r in pts)}/{len(pts)} points within 2 standard errors")

# %% [markdown]
# ## Keep-hard minus keep-easy
#
# ε_hard − ε_easy over (α_tot = α_prune/f, f) from the theory grid: negative (blue) where keeping
# the hard examples is better. Keep-easy wins with scarce data, keep-hard with abundant data.

# %%
fig, axes = plt.subplots(1, len(fr_runs), figsize=(4.5 * len(fr_runs), 3.8), squeeze=False)
for ax, r in zip(axes[0], sorted(fr_runs, key=lambda r: r.metrics["theta_deg"])):
    A = r.arrays
    diff = A["eps"][..., 0] - A["eps"][..., 1]          # [alpha, f]
    a_tot = A["alpha"][:, None] / A["f"][None, :]
    ff = np.broadcast_to(A["f"][None, :], diff.shape)
    lim = np.nanmax(np.abs(diff))
    sc = ax.scatter(a_tot.ravel(), ff.ravel(), c=diff.ravel(), cmap="coolwarm", vmin=-lim, vmax=lim, s=25)
    ax.set(xscale="log", yscale="log", xlabel="α_tot", ylabel="f", title=f"θ={r.metrics['theta_deg']:g}°")
    fig.colorbar(sc, ax=ax, label="ε_hard − ε_easy")
plt.show()

# %% [markdown]
# ## Pareto frontier
#
# ε*(α_prune) = min over f (and mode) for each θ, against the unpruned learning curve (≈ 0.5/α),
# and the optimal kept fraction f*.

# %%
fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
for c, r in enumerate(sorted(fr_runs, key=lambda r: r.metrics["theta_deg"])):
    A = r.arrays
    ax.plot(A["alpha"], A["frontier"], "o-", color=f"C{c}", label=f"θ={r.metrics['theta_deg']:g}°")
    ax2.plot(A["alpha"], A["f_star"], "o-", color=f"C{c}", label=f"θ={r.metrics['theta_deg']:g}°")
ax.plot(A["alpha"], A["unpruned"], "k--", label="unpruned")
ax.set(xscale="log", yscale="log", xlabel="α_prune", ylabel="ε*")
ax2.set(xscale="log", yscale="log", xlabel="α_prune", ylabel="f*")
ax.legend(fontsize=7); ax2.legend(fontsize=7)
plt.show()
for rec in fr_summary:
    print(f"{rec['quantity']:<70} {'holds' if rec['agrees'] else 'FAILS'}")

# %% [markdown]
# ## Label-free prototype metric (toy Gaussian mixture)
#
# Inputs x = c·m·T + g; spherical k-means on the unlabeled inputs, score = cosine distance to the
# nearest centroid, prune from the easy end. The metric's effective probe angle θ_eff (angle between
# T and the centroids' principal direction) is measured; for isotropic data (m = 0) it is a random
# direction (θ_eff ≈ 90°) and pruning cannot help.

# %%
pr_runs, pr_summary, ps = stored(pruning_prototypes.EXPERIMENT)
fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
for c, r in enumerate(sorted(pr_runs, key=lambda r: r.metrics["separation"])):
    A = r.arrays
    e, th = A["eps"], np.degrees(A["theta_eff"])
    ax.errorbar(A["f"], e.mean(1), yerr=2 * e.std(1, ddof=1) / np.sqrt(e.shape[1]), fmt="o-", color=f"C{c}",
                label=f"m={r.metrics['separation']:g}")
    ax2.plot(A["f"], th.mean(1), "o-", color=f"C{c}", label=f"m={r.metrics['separation']:g}")
ax.set(xscale="log", yscale="log", xlabel="kept fraction f", ylabel="test error ε")
ax2.set(xscale="log", xlabel="kept fraction f", ylabel="θ_eff (deg)")
ax.legend(fontsize=7); ax2.legend(fontsize=7)
plt.show()
for rec in pr_summary:
    print(f"{rec['quantity']:<50} measured {rec['measured']:.4g}  theory {rec['theory']:.4g}  agrees {rec['agrees']}")
