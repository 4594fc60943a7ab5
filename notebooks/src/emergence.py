# %% [markdown]
# # Emergence: quanta, metric artefacts and sampling laws
#
# Reads the stored results of `quanta-scaling`, `emergence-metrics` and `pass-at-k` (run
# directories under `$SCALESIM_RESULTS`, default `results/`): the full runs where they are stored,
# else the quick runs, which are created when missing. `SCALESIM_QUICK=1` forces the quick runs,
# `SCALESIM_QUICK=0` the full ones. Nothing here retrains: every number is read from the store.
#
# * **Michaud et al. 2023** (quantization model): multitask sparse parity with Zipfian subtask
#   frequencies $p_k \propto k^{-(\alpha+1)}$; each subtask (quantum) is learned abruptly, in order of
#   frequency, and the mean loss $L = \sum_{k\,\mathrm{unlearned}} p_k$ adds up to a power law.
# * **Schaeffer, Miranda & Koyejo 2023**: with a per-token loss $\ell(N) = (N/c)^{-\alpha}$, exact match
#   over $L$ tokens is $\exp(-L\,\ell(N))$: a sharp-looking curve on linear axes that is a straight
#   line in $\log(-\log \mathrm{EM})$ vs $\log N$.
# * **Chen et al. 2021; Schaeffer et al. 2025; Hu et al. 2024**: the unbiased pass@k estimator, the
#   power law $-\log \mathrm{pass@}k \sim k^{-a}$ from a Beta(a, b) left tail, and PassUntil for tiny
#   pass rates.

# %%
import os
from pathlib import Path

import numpy as np
import matplotlib.pyplot as plt

import jax

jax.config.update("jax_enable_x64", True)
QUICK = {"1": True, "0": False}.get(os.environ.get("SCALESIM_QUICK", ""))  # None: full run if stored
RESULTS = Path(os.environ.get("SCALESIM_RESULTS", "../results")).resolve()  # relative to notebooks/
root = Path.cwd()
while not (root / "scalesim").is_dir() and root != root.parent:
    root = root.parent
os.chdir(root)

from scalesim import experiment, load_results
from scalesim.fit.records import format_table


def stored(name):
    got = load_results(experiment(name), RESULTS, quick=QUICK, run_missing=QUICK is not False)
    print(f"{name}: {got.out}; {sum(r['agrees'] for r in got.records)} of {len(got.records)} records agree")
    return got

# %% [markdown]
# ## 1. Quanta are learned in order of frequency
#
# Steps-to-learn of each subtask (first recorded step with loss below the `learned_bits`
# threshold; subtasks never learned are right-censored, drawn at the right edge) against its
# frequency rank, per member. The quantization model predicts a monotone order; the record
# `order_rho` is the Spearman correlation of rank and steps-to-learn.

# %%
from scalesim.experiments.quanta_scaling import learn_steps, spearman

qs = stored("quanta-scaling")
fig, ax = plt.subplots(figsize=(5, 3.5))
for r in qs.runs:
    if "sub_loss" not in r.arrays:
        continue
    t = learn_steps(r.arrays["sub_loss"], r.arrays["steps"], qs.settings.learned_bits)
    rank = np.arange(1, t.shape[-1] + 1)
    for i, ti in enumerate(t.reshape(-1, t.shape[-1])):
        ok = np.isfinite(ti)
        rho = spearman(rank[ok], ti[ok]) if ok.sum() > 2 else float("nan")
        ax.plot(rank[ok], ti[ok], "o-", ms=3, alpha=0.6,
                label=f"width {r.metrics.get('width', '?')}, member {i}: rho={rho:.2f}" if i == 0 else None)
ax.set(xscale="log", yscale="log", xlabel="frequency rank k", ylabel="steps to learn")
ax.legend(fontsize=7)
print(format_table(qs.records))

# %% [markdown]
# The experiment's own figure (loss vs steps with the quantization model's prediction, and the
# per-subtask loss map), drawn from the store:

# %%
qs.experiment.plot(qs.runs, qs.settings, qs.records);

# %% [markdown]
# ## 2. Emergence as a metric artefact
#
# The same runs seen through a smooth metric (per-token accuracy, edit distance) and a thresholded
# one (exact match over L tokens). Exact match looks "emergent" on linear axes; in
# $\log(-\log \mathrm{EM})$ it is a line of slope $-\alpha$, and its measured value follows the closed
# form from the per-token statistics.

# %%
em = stored("emergence-metrics")
print(format_table(em.records))
em.experiment.plot(em.runs, em.settings, em.records);

# %% [markdown]
# ## 3. pass@k power laws and PassUntil
#
# Monte Carlo pass@k (Chen estimator over problems) against the exact curve for p ~ c Beta(a, b);
# the window slope of $-\log \mathrm{pass@}k$ approaches $a$ only at large k. PassUntil recovers a
# pass rate that a fixed sampling budget reads as 0.

# %%
pk = stored("pass-at-k")
print(format_table(pk.records))
pk.experiment.plot(pk.runs, pk.settings, pk.records);
