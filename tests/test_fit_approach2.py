"""Approach 2 (IsoFLOP parabolas): its bias on a noise-free asymmetric surface, VPNLS unbiased
(Czech 2026, Sec. 3-4); Llama 3 IsoFLOP data vs Meta's published fit."""

import numpy as np
import pytest

from scalesim.datasets import load_llama3_isoflops
from scalesim.fit import allocation as al
from scalesim.fit import approach2 as a2
from scalesim.fit import synthetic as syn
from scalesim.fit import vpnls

SURF = syn.ASYMMETRIC_SURFACE
C_FAR = 1e24  # extrapolation target, 3 decades beyond the largest budget


def test_group_budgets_within_ten_percent():
    labels = a2.group_budgets([1e18, 1.05e18, 0.97e18, 1e19, 1.02e19, 1e20])
    np.testing.assert_array_equal(labels, [0, 0, 0, 1, 1, 2])


def test_approach2_intercept_bias_on_asymmetric_surface_and_vpnls_unbiased():
    d = syn.isoflop_design(SURF)  # centred sampling, 5 budgets x 15 points, noise-free
    true = al.compute_optimal(SURF, C_FAR)
    f2 = a2.fit_approach2(d["N"], d["D"], d["L"], C=d["C"], n_boot=0)
    # centred, constant-width sampling: exponent exact, intercept biased (alpha != beta)
    assert f2.a == pytest.approx(true["a"], abs=1e-9)
    n_err = f2.N_opt(C_FAR) / true["N_opt"] - 1
    assert n_err > 0.10, n_err          # Approach 2 overestimates N* by ~20% here
    assert f2.D_opt(C_FAR) / true["D_opt"] - 1 < -0.10
    fv = vpnls.fit_vpnls(d["N"], d["D"], d["L"])
    vo = al.compute_optimal(fv.params, C_FAR)
    assert vo["N_opt"] / true["N_opt"] - 1 == pytest.approx(0, abs=1e-6)
    assert fv.a == pytest.approx(true["a"], rel=1e-8)


def test_approach2_exponent_bias_from_drifting_offset():
    d = syn.isoflop_design(SURF, drift=0.1)   # sampling centre drifts 0.1 dex per decade
    f2 = a2.fit_approach2(d["N"], d["D"], d["L"], C=d["C"], n_boot=0)
    fv = vpnls.fit_vpnls(d["N"], d["D"], d["L"])
    assert abs(f2.a - 0.25) > 5e-3
    assert fv.a == pytest.approx(0.25, rel=1e-8)


def test_symmetric_surface_centred_sampling_is_unbiased():
    sym = dict(SURF, alpha=0.3, beta=0.3, A=400.0, B=400.0)
    d = syn.isoflop_design(sym)
    f2 = a2.fit_approach2(d["N"], d["D"], d["L"], C=d["C"], n_boot=0)
    true = al.compute_optimal(sym, C_FAR)
    assert f2.N_opt(C_FAR) / true["N_opt"] == pytest.approx(1.0, abs=1e-9)


def test_llama3_isoflops_matches_meta_fit():
    d = load_llama3_isoflops()
    f = a2.fit_approach2(d["N"], d["D"], d["L"], C=d["C"], n_boot=300)
    assert len(f.budgets) == 10 and np.all(f.curvature > 0)
    # Llama 3 paper (arXiv 2407.21783, Sec. 3.2.1): D*(C) = 0.29 C^0.53
    assert f.b == pytest.approx(0.53, abs=0.01)
    assert np.exp(f.log_kD) == pytest.approx(0.29, rel=0.1)
    lo, hi = f.ci["b"]
    assert lo < f.b < hi and hi - lo < 0.15
    assert f.a + f.b == pytest.approx(1.0, abs=1e-12)


def test_approach2_errors():
    d = syn.isoflop_design(SURF, budgets=(1e18,))
    with pytest.raises(ValueError, match=">= 2 IsoFLOP budgets"):
        a2.fit_approach2(d["N"], d["D"], d["L"], C=d["C"])
    d = syn.isoflop_design(SURF, budgets=(1e18, 1e19))
    L = d["L"].copy()
    L[:15] = 5.0 - (L[:15] - L[:15].min())  # turn the first curve upside down
    with pytest.raises(ValueError, match="opens downward"):
        a2.fit_approach2(d["N"], d["D"], L, C=d["C"])
