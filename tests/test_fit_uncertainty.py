"""Bootstrap (plain, block-by-run), percentile and delta-method CIs, compute-optimal allocation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scalesim.datasets import load_epoch_chinchilla
from scalesim.fit import allocation as al
from scalesim.fit import bootstrap as bs
from scalesim.fit import chinchilla as ch

# Besiroglu et al. 2024, Table 1: 95% bootstrap percentile CIs
EPOCH_CI = {"A": (285.2, 743.6), "B": (1042.4, 5810.3), "E": (1.769, 1.871),
            "alpha": (0.317, 0.373), "beta": (0.331, 0.415)}


def test_resample_weights_plain_and_block():
    W = bs.resample_weights(10, 50, seed=1)
    assert W.shape == (50, 10) and np.all(W.sum(1) == 10)
    groups = np.repeat(["r0", "r1", "r2", "r3"], [2, 3, 4, 1])
    Wb = bs.resample_weights(10, 50, seed=1, groups=groups)
    for g in np.unique(groups):  # every checkpoint of a run shares the run's count
        m = groups == g
        assert np.all(Wb[:, m] == Wb[:, m][:, :1])
    assert np.all(Wb[:, groups == "r0"].sum(1) % 2 == 0)
    with pytest.raises(ValueError, match="groups"):
        bs.resample_weights(10, 5, groups=groups[:3])


def test_resample_weights_count_the_library_resampler():
    from scalesim.stats import resample_indices

    idx = resample_indices(10, 50, seed=4)
    W = bs.resample_weights(10, 50, seed=4)
    np.testing.assert_array_equal(W, [np.bincount(r, minlength=10) for r in idx])
    groups = np.repeat([3, 1, 2], [4, 4, 2])  # labels sorted: run 1 is group 0, ...
    Wb = bs.resample_weights(10, 50, seed=4, groups=groups)
    counts = np.array([np.bincount(r, minlength=3) for r in resample_indices(3, 50, seed=4)])
    np.testing.assert_array_equal(Wb, counts[:, np.unique(groups, return_inverse=True)[1]])


def test_compute_optimal_identities():
    p = ch.HOFFMANN_PARAMS
    o = al.compute_optimal(p, 1e22)
    assert 6 * o["N_opt"] * o["D_opt"] == pytest.approx(1e22, rel=1e-12)
    assert o["a"] + o["b"] == pytest.approx(1.0)
    # N_opt minimises L along the IsoFLOP curve
    for f in (0.98, 1.02):
        N = o["N_opt"] * f
        assert ch.chinchilla_loss(p, N, 1e22 / (6 * N)) > o["L_opt"]
    # C(L) inverts L_opt(C)
    assert al.compute_for_loss(p, o["L_opt"]) == pytest.approx(1e22, rel=1e-9)


def test_delta_method_matches_analytic_linear_case():
    cov = np.diag([0.04, 0.09])
    v, se, (lo, hi) = al.delta_method(lambda t: 2 * t[0] + 3 * t[1], np.array([1.0, 1.0]), cov)
    assert float(se) == pytest.approx(np.sqrt(4 * 0.04 + 9 * 0.09))
    assert float(hi - lo) == pytest.approx(2 * 1.959964 * float(se), rel=1e-5)


def test_epoch_bootstrap_cis_match_published():
    """Plain bootstrap of Approach 3 (refit from the optimum) reproduces Epoch's CIs."""
    d = load_epoch_chinchilla()
    fit = ch.fit_approach3(d["N"], d["D"], d["L"], grid=ch.hoffmann_grid()[::10])
    r = bs.bootstrap_fit(fit, d["N"], d["D"], d["L"], n_boot=200, seed=0)
    assert r.n_failed == 0
    for k, (lo, hi) in EPOCH_CI.items():
        mlo, mhi = r.ci[k]
        assert mlo == pytest.approx(lo, rel=0.12) and mhi == pytest.approx(hi, rel=0.15), k
    assert r.se["a"] == pytest.approx(0.020, abs=0.004)   # Epoch: SE(a) = 0.020
    lo, hi = r.delta_ci["a"]
    assert lo < fit.a < hi
    # block-by-run bootstrap with one point per run equals a plain bootstrap in distribution;
    # with runs of 8 correlated points it must be at least roughly as wide
    runs = np.arange(240) // 8
    rb = bs.bootstrap_fit(fit, d["N"], d["D"], d["L"], n_boot=200, seed=0, groups=runs)
    assert rb.se["alpha"] > 0.5 * r.se["alpha"]
