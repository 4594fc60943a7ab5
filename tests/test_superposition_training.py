"""Liu et al. model trained as ensembles through the generic engine, against the theory.

The quick (default) test trains a tiny sub-grid (n = 128, m = 4…16, 2,000 steps, batch 256);
the slow one n = 256, m = 4…32, 3,000 steps, batch 512.  All widths share one compiled
program (width is a per-member hyperparameter).  What is asserted, and why the bands:

* weak regime (γ > 0): the loss equals the "activated but unlearned features" loss
  Σ_{i unrepresented} p_i (E v² − p_i) of the rows the model actually represents (‖W_i‖ > ½),
  on the seed average, within 15 % (quick) / 25 % (slow: its worst cell, m = 4 at α = 2,
  measured 1.20, because rows counted as represented are not all perfectly stored yet).
  Members with more represented rows than dimensions are skipped (those rows are superposed,
  not stored, and also pay interference).  The model exponent α_m at α = 1.5 is within
  0.2 (quick) / 0.15 (slow) of α − 1.  Short runs represent fewer than m features (optimisation-
  limited), which biases α_m at steeper α (α = 2 gave 0.82 at the slow size), so α = 2
  is not asserted.
* strong regime (γ < 0): every row is represented with an O(1) norm and the mean squared
  overlap of normalised rows is ≈ 1/m: fitted slope within 0.2 of 1, m·overlap within 20 %
  (quick) / 35 % (slow) of 1, at α ≥ 1.5.  At these small n/m and short runs, flat
  distributions (α = 0.5) give m·overlap up to ≈ 2 (many near-antipodal pairs, which the ReLU
  makes cheap); they are reported by the experiments rather than asserted here.
"""

import numpy as np
import pytest

from scalesim.experiments._superposition import train_point
from scalesim.fit.powerlaw import fit_power_law
from scalesim.models import superposition as sp
from scalesim.theory import superposition as th


def _train(n, ms, members, steps, batch):
    """All widths in ONE compiled program: width is a per-member hyperparameter (cfg.m = max)."""
    rows = [(a, g, sd, m) for m in ms for (a, g, sd) in members]
    A, G, _, Wd = (np.array(c, float) for c in zip(*rows))
    arrays, _ = train_point(sp.Config(n=n, m=max(ms), eval_batch=4096),
                            sp.make_hyper(alpha=A, gamma=G, width=Wd), steps=steps, batch=batch,
                            warmup=steps // 10, seed=0, member_ids=np.arange(len(rows)), n_records=4)
    assert not arrays["diverged"].any()
    out = {}
    k = len(members)
    for i, m in enumerate(ms):
        out[m] = {key: v[i * k:(i + 1) * k] for key, v in arrays.items() if key != "steps"}
    return A[:k], G[:k], out


def _check(n, ms, A, G, out, *, weak_alpha, weak_tol, mech_tol, slope_tol, pref_tol):
    ms_arr = np.asarray(ms, float)
    # weak regime: mechanism (loss of unlearned features), averaged over seeds per (width, α)
    for m in ms:
        arr = out[m]
        for a in np.unique(A[G > 0]):
            ratios = []
            for j in np.flatnonzero((G > 0) & (A == a)):
                p = np.asarray(th.power_law_frequencies(A[j], n))
                rep = arr["row_norms"][j] > 0.5
                if rep.sum() > m:  # more represented rows than dimensions: superposed, not "stored"
                    continue
                ratios.append(arr["loss"][j, -1] / float(th.unlearned_loss(p, rep)))
            if ratios:
                assert abs(np.mean(ratios) - 1.0) <= mech_tol, (m, a, ratios)
    # weak regime exponent at weak_alpha
    sel = (G > 0) & (A == weak_alpha)
    Y = np.stack([out[m]["loss"][sel, -1] for m in ms], 1).mean(0)
    am = float(fit_power_law(ms_arr, Y).exponent)
    assert abs(am - (weak_alpha - 1)) <= weak_tol, f"weak alpha_m = {am:.3f} vs alpha-1 = {weak_alpha - 1}"
    # strong regime: all rows represented, norms ≈ 1, overlap ∝ 1/m
    strong = G < 0
    for m in ms:
        norms = out[m]["row_norms"][strong]
        assert np.all(out[m]["phi_half"][strong, -1] == 1.0)
        assert np.all((norms > 0.5) & (norms < 2.0))  # all O(1): frequent > 1, rare < 1 (paper Fig. 5a)
    ov = np.stack([out[m]["overlap_mean"][strong] for m in ms], 1).mean(0)
    slope = float(fit_power_law(ms_arr, ov).exponent)
    assert abs(slope - 1.0) <= slope_tol, f"overlap ~ m^-{slope:.3f}"
    assert np.all(np.abs(ov * ms_arr - 1.0) <= pref_tol), ov * ms_arr
    return am, slope, ov * ms_arr


def test_weak_and_strong_regimes_quick():
    members = [(1.5, 0.5, 0), (1.5, 0.5, 1), (1.5, -1.0, 0), (1.5, -1.0, 1)]
    n, ms = 128, (4, 8, 16)
    A, G, out = _train(n, ms, members, steps=2000, batch=256)
    _check(n, ms, A, G, out, weak_alpha=1.5, weak_tol=0.2, mech_tol=0.15, slope_tol=0.2, pref_tol=0.2)


@pytest.mark.slow
def test_weak_and_strong_regimes_slow():
    """n = 256, m = 4…32, 3000 steps, batch 512: α = 1.5 and 2 in both regimes, 2 seeds."""
    members = [(a, g, s) for a in (1.5, 2.0) for g in (-1.0, 0.5) for s in (0, 1)]
    n, ms = 256, (4, 8, 16, 32)
    A, G, out = _train(n, ms, members, steps=3000, batch=512)
    _check(n, ms, A, G, out, weak_alpha=1.5, weak_tol=0.15, mech_tol=0.25, slope_tol=0.2, pref_tol=0.35)
