# %% [markdown]
# # Fitting L(N, D) = E + A N^-alpha + B D^-beta: Approach 3 vs VPNLS vs Approach 2
#
# Three estimators from `scalesim.fit` on the vendored public data (`scalesim.datasets`) and on a
# noise-free synthetic surface with known truth (see `shared/research/fitting.md`):
#
# * **Approach 3** (Hoffmann et al. 2022 App. D.2, Epoch's replication): LSE parameterisation,
#   summed Huber(1e-3) on log L, multi-start L-BFGS over the Hoffmann grid.
# * **VPNLS** (Czech 2026): exact inner NNLS for (E, A, B), 2-D search over (alpha, beta).
# * **Approach 2**: IsoFLOP parabolas, then power laws N*(C), D*(C).
#
# With `SCALESIM_QUICK=1` Approach 3 uses every 10th Hoffmann start (450); it reaches the same
# optimum (tests/test_fit_chinchilla.py checks both).

# %%
import os
import numpy as np
import matplotlib.pyplot as plt
from scalesim.datasets import load_epoch_chinchilla, load_llama3_isoflops
from scalesim.fit import chinchilla as ch, vpnls, approach2 as a2, likelihood as lk
from scalesim.fit import allocation as al, synthetic as syn, bootstrap as bs

QUICK = os.environ.get("SCALESIM_QUICK", "0") == "1"
GRID = ch.hoffmann_grid()[::10] if QUICK else ch.hoffmann_grid()
N_BOOT = 200 if QUICK else 1000

# %% [markdown]
# ## 1. Epoch's Chinchilla points (240 after dropping 5 outliers)
#
# Oracle 1 (pure Huber, fitting.md §7): A=477.9, B=2143, E=1.8172, alpha=0.3473, beta=0.3672,
# objective 1.0183e-3. Oracle 2 (Epoch's Huber likelihood): A=482.0, B=2085, E=1.8169,
# alpha=0.3478, beta=0.3659.

# %%
d = load_epoch_chinchilla()
fits = {
    "approach3": ch.fit_approach3(d["N"], d["D"], d["L"], grid=GRID),
    "huber_likelihood": lk.fit_huber_likelihood(d["N"], d["D"], d["L"]),
    "vpnls (raw-loss LS)": vpnls.fit_vpnls(d["N"], d["D"], d["L"]),
}
print(f"{'method':<22}" + "".join(f"{k:>10}" for k in ["E", "A", "B", "alpha", "beta", "a"]))
for name, f in fits.items():
    p = f.params
    print(f"{name:<22}{p['E']:>10.4f}{p['A']:>10.1f}{p['B']:>10.0f}{p['alpha']:>10.4f}"
          f"{p['beta']:>10.4f}{f.a:>10.4f}")
print("approach3 objective", fits["approach3"].objective, "grad norm", fits["approach3"].grad_norm)

# %%
boot = bs.bootstrap_fit(fits["approach3"], d["N"], d["D"], d["L"], n_boot=N_BOOT, seed=0)
for k in ["E", "A", "B", "alpha", "beta", "a", "tokens_per_param"]:
    lo, hi = boot.ci[k]
    print(f"{k:<18} 95% percentile CI [{lo:.4g}, {hi:.4g}]")
print("Epoch (4000 resamples): A (285.2, 743.6), B (1042.4, 5810.3), E (1.769, 1.871),",
      "alpha (0.317, 0.373), beta (0.331, 0.415)")

# %% [markdown]
# ## 2. Llama 3 IsoFLOP points: the three estimators disagree on D*
#
# Meta's published Approach-2 fit is D*(C) = 0.29 C^0.53 (fitting.md §3.4).

# %%
ll = load_llama3_isoflops()
f2 = a2.fit_approach2(ll["N"], ll["D"], ll["L"], C=ll["C"], n_boot=N_BOOT)
fv = vpnls.fit_vpnls(ll["N"], ll["D"], ll["L"])
f3 = ch.fit_approach3(ll["N"], ll["D"], ll["L"], grid=GRID)
C_T = 3.8e25
print(f"approach2: b = {f2.b:.3f} (CI {f2.ci['b'][0]:.3f}-{f2.ci['b'][1]:.3f}), "
      f"D* = {np.exp(f2.log_kD):.3f} C^{f2.b:.3f}; D*(3.8e25) = {f2.D_opt(C_T):.3e}")
for name, f in (("vpnls", fv), ("approach3", f3)):
    o = al.compute_optimal(f.params, C_T)
    print(f"{name}: b = {f.b:.3f}; D*(3.8e25) = {float(o['D_opt']):.3e}")

# %% [markdown]
# ## 3. Synthetic asymmetric surface (alpha = 0.465, beta = 0.155), noise-free
#
# Five budgets, 15 centred points each. Approach 2 gets the exponent right here but its
# intercept is biased by the surface asymmetry, so N*(C) and D*(C) extrapolate with a constant
# relative error; a sampling centre that drifts with C also biases the exponent. VPNLS and
# Approach 3 recover the truth.

# %%
surf = syn.ASYMMETRIC_SURFACE
C_FAR = 1e24
truth = al.compute_optimal(surf, C_FAR)
rows = []
for label, kw in (("centred", {}), ("offset 0.3 dex", {"offset": 0.3}),
                  ("drift 0.1 dex/decade", {"drift": 0.1})):
    s = syn.isoflop_design(surf, **kw)
    g2 = a2.fit_approach2(s["N"], s["D"], s["L"], C=s["C"], n_boot=0)
    gv = vpnls.fit_vpnls(s["N"], s["D"], s["L"])
    g3 = ch.fit_approach3(s["N"], s["D"], s["L"], grid=GRID)
    errs = [g2.N_opt(C_FAR) / truth["N_opt"] - 1]
    errs += [float(al.compute_optimal(g.params, C_FAR)["N_opt"] / truth["N_opt"] - 1)
             for g in (gv, g3)]
    rows.append((label, g2.a, gv.a, g3.a, *errs))
print(f"true a = {truth['a']:.4f}")
print(f"{'sampling':<22}{'a (A2)':>9}{'a (VP)':>9}{'a (A3)':>9}{'N* err A2':>11}{'VP':>10}{'A3':>10}")
for r in rows:
    print(f"{r[0]:<22}{r[1]:>9.4f}{r[2]:>9.4f}{r[3]:>9.4f}{r[4]:>11.2%}{r[5]:>10.1e}{r[6]:>10.1e}")

# %%
s = syn.isoflop_design(surf)
g2 = a2.fit_approach2(s["N"], s["D"], s["L"], C=s["C"], n_boot=0)
gv = vpnls.fit_vpnls(s["N"], s["D"], s["L"])
fig, ax = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
for c in np.unique(s["C"]):
    m = s["C"] == c
    ax[0].plot(s["N"][m], s["L"][m], ".", ms=4)
ax[0].plot(g2.N_star, g2.L_star, "kx", label="parabola vertices")
opt = al.compute_optimal(surf, np.unique(s["C"]))
ax[0].plot(opt["N_opt"], opt["L_opt"], "r+", ms=10, label="true optima")
ax[0].set(xscale="log", xlabel="N", ylabel="L", title="IsoFLOP curves (noise-free)")
ax[0].legend()
cs = np.geomspace(1e17, 1e25, 50)
ax[1].loglog(cs, g2.N_opt(cs) / al.compute_optimal(surf, cs)["N_opt"], label="Approach 2")
ax[1].loglog(cs, al.compute_optimal(gv.params, cs)["N_opt"] / al.compute_optimal(surf, cs)["N_opt"],
             "--", label="VPNLS")
ax[1].axvline(1e21, color="grey", lw=0.5)
ax[1].set(xlabel="C (FLOP)", ylabel="N*(C) / true N*(C)", title="extrapolated allocation")
ax[1].legend();
