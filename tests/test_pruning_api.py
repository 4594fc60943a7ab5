"""Public data-pruning theory (scalesim.theory.pruning_frontier; Sorscher et al. 2022): the Pareto
frontier, the keep-hard/keep-easy crossover and the kept size within a factor of the full-data
error, against grids of scalesim.theory.perceptron.predict and the pruning-frontier experiment.
Every call here shares the compiled programs of predict (theta = 0 solver, its warm-start Newton
and the fixed-size branch chunk)."""
import inspect
import math

import jax.numpy as jnp
import numpy as np
import pytest

from scalesim.roots import bisect
from scalesim.theory import perceptron as P
from scalesim.theory import pruning_frontier as PF

TH10 = math.radians(10.0)
EXPERIMENT_A_TOT = np.geomspace(0.5, 100.0, 8)     # pruning-frontier's crossover grid


def _first_flip(eps):
    """The experiment's bracket: first sign change of eps_hard - eps_easy over finite points."""
    d = eps[:, 0] - eps[:, 1]
    ok = np.flatnonzero(np.isfinite(d))
    j = np.flatnonzero(np.diff(np.sign(d[ok])) != 0)[0]
    return EXPERIMENT_A_TOT[ok[j]], EXPERIMENT_A_TOT[ok[j + 1]]


@pytest.fixture(scope="module")
def frontier10():
    return PF.pareto_frontier(12.0, TH10, n_grid=12, xtol=1e-5)


def test_frontier_theta10_below_grid_and_at_dense_minimum(frontier10):
    r = frontier10
    assert np.all(r["status"] == P.OK)
    assert r["eps"] <= np.nanmin(r["grid_eps"])                          # never above a grid value
    assert np.all(r["eps_by_mode"] <= np.nanmin(r["grid_eps"], axis=0))
    assert r["mode"] == 0 and 0.05 < r["f"] < 0.5       # keep-hard wins, at an interior f*
    assert r["f_by_mode"][1] == 1.0                     # keep-easy: no pruning is best here
    # a dense f grid (one branch, spacing 1/20 of the bracket grid's) around the minimum: the
    # refined minimum is at or below it and agrees to the dense grid's resolution
    i = np.argmin(np.abs(r["grid_f"] - r["f"]))
    fd = np.geomspace(r["grid_f"][max(i - 1, 0)], r["grid_f"][i + 1], 41)
    dense = P.predict(12.0, fd, TH10, "hard")
    assert np.all(dense["status"] == P.OK)
    k = np.argmin(dense["eps"])
    assert 0 < k < fd.size - 1
    assert r["eps"] <= dense["eps"][k] + 1e-12
    assert r["eps"] == pytest.approx(dense["eps"][k], rel=2e-4)
    assert abs(math.log(r["f"] / fd[k])) <= math.log(fd[1] / fd[0])
    # the value reported is predict's at f*
    again = P.predict(12.0, r["f"], TH10, "hard")["eps"]
    assert r["eps"] == pytest.approx(float(again), rel=1e-9)


def test_crossover_theta10_root_inside_experiment_bracket():
    r = PF.crossover_alpha_tot(0.2, TH10, rtol=1e-5)
    assert r["found"] and r["status"] == P.OK
    lo, hi = _first_flip(r["grid_eps"])
    assert (lo, hi) == tuple(r["bracket"])
    assert lo < r["alpha_tot"] < hi
    assert r["alpha_tot"] == pytest.approx(14.890745, rel=2e-5)
    # the two modes have the same error there (predict, fresh branches)
    e = P.predict(0.2 * r["alpha_tot"], 0.2, TH10, np.array(["hard", "easy"]))["eps"]
    assert abs(e[0] - e[1]) < 2e-6            # |d| ~ |dd/dln alpha_tot| * rtol
    assert r["eps"] == pytest.approx(e, rel=1e-9)


def test_crossover_theta0_matches_quick_experiment_bracket():
    r = PF.crossover_alpha_tot([0.2, 0.5], 0.0)
    assert r["found"].all() and np.all(r["status"] == P.OK)
    lo, hi = _first_flip(r["grid_eps"][0])
    assert lo == pytest.approx(10.3239118) and hi == pytest.approx(22.0071021)
    assert lo < r["alpha_tot"][0] < hi
    np.testing.assert_allclose(r["eps"][..., 0], r["eps"][..., 1], rtol=1e-8)
    # f alpha_tot* near the capacity 2 at small f (keep-hard needs alpha_prune > 2)
    assert 2.0 < r["alpha_prune"][0] < 2.2
    np.testing.assert_allclose(r["alpha_prune"], 0.2 * r["alpha_tot"] * np.array([1.0, 2.5]))


def test_kept_size_inverts_the_error():
    at = np.array([10.0, 50.0])
    r = PF.kept_size_for_error_factor(at, 1.05, 0.0, f_min=0.05, n_grid=7)
    assert r["found"].all() and np.all(r["status"] == P.OK)
    both = P.predict(np.r_[at, r["alpha_prune"]], np.r_[1.0, 1.0, r["f"]], 0.0, "hard")["eps"]
    full, eps = both[:2], both[2:]                  # full-data error; error at the kept size
    np.testing.assert_allclose(r["eps_full"], full, rtol=1e-12)
    np.testing.assert_allclose(eps, 1.05 * full, rtol=1e-8)
    assert np.all(eps <= 1.05 * full * (1 + 1e-12))
    # the kept size levels off above the capacity 2 as alpha_tot grows
    assert np.all((r["alpha_prune"] > 2.0) & (r["alpha_prune"] < 4.0))
    np.testing.assert_allclose(r["f"] * at, r["alpha_prune"])
    # never exceeded down to f_min: not found
    none = PF.kept_size_for_error_factor(10.0, 10.0, 0.0, f_min=0.5, n_grid=3)
    assert not none["found"] and np.isnan(none["alpha_prune"])


def test_theta0_frontier_step_at_alpha_2():
    step = PF.exponents()["frontier_step_theta0"].value
    r = PF.pareto_frontier([1.5, 3.0], 0.0, f_min=0.005, n_grid=4, xtol=1e-3)
    # above alpha_prune = 2 keep-hard at f_min holds the support vectors: eps ~ 0.5 f/alpha
    assert r["mode"][1] == 0 and r["f"][1] == pytest.approx(0.005)
    assert r["eps"][1] * 3.0 / 0.005 == pytest.approx(0.5, rel=0.15)
    # below it keep-hard at f_min is near 1/2; keep-easy wins, far above the step's eps
    assert 1.5 < step < 3.0 and r["grid_eps"][0, 0, 0] > 0.3 and r["eps"][0] > 50 * r["eps"][1]


def test_theta_is_radians_at_the_public_boundary():
    for fn in (PF.pareto_frontier, PF.crossover_alpha_tot, PF.kept_size_for_error_factor, P.predict):
        doc = inspect.getdoc(fn)
        assert "theta: probe-teacher angle in RADIANS" in " ".join(doc.split()), fn.__name__
    with pytest.raises(ValueError, match="radians"):        # 10 degrees passed as 10
        PF.pareto_frontier(3.0, 10.0)
    with pytest.raises(ValueError, match="radians"):
        PF.crossover_alpha_tot(0.2, 10.0)
    with pytest.raises(ValueError, match="radians"):
        PF.kept_size_for_error_factor(10.0, 1.1, 10.0)
    with pytest.raises(ValueError, match="factor"):
        PF.kept_size_for_error_factor(10.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="n_grid"):
        PF.pareto_frontier(3.0, 0.0, n_grid=2)


def test_bisect_on_the_host_equals_traced():
    f = lambda x: x ** 3 - 2.0
    lo, hi = bisect(f, jnp.array([0.0, 1.0]), jnp.array([2.0, 3.0]), 40)
    calls = []
    g = lambda x: (calls.append(1), np.asarray(x) ** 3 - 2.0)[1]       # a host function
    hlo, hhi = bisect(g, np.array([0.0, 1.0]), np.array([2.0, 3.0]), 40, traced=False)
    assert len(calls) == 40
    np.testing.assert_array_equal(np.asarray(lo), np.asarray(hlo))
    np.testing.assert_array_equal(np.asarray(hi), np.asarray(hhi))


def test_no_recompilation_for_new_grid_lengths(frontier10):
    """predict and the new functions run every f grid through the same fixed-size compiled
    programs: here grids of 2 and 5 points after the fixture's 12 and the dense 41, and (last in
    the file) after the other tests' grids of 4, 7 and 8 points."""
    assert P._chunk_j._cache_size() == 1       # the fixture's grid and the dense grid: one program
    for n in (2, 5):
        r = P.predict(12.0, np.geomspace(0.9, 1.0, n), TH10, "easy")
        assert r["eps"].shape == (n,) and np.all(r["status"] == P.OK)
        P.predict(12.0, np.geomspace(0.9, 1.0, n), 0.0, "easy")
    assert P._chunk_j._cache_size() == 1
    assert P._solve0_v._cache_size() == 1
    assert P._newton0_v._cache_size() <= 1
