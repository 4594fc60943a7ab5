"""Replica theory of data pruning (scalesim.theory.perceptron; Sorscher et al. 2022, App. A) against
the classic max-margin teacher-student values and against its own finite differences."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scalesim.theory import _perceptron_quadrature as Q
from scalesim.theory import _perceptron_solver as S
from scalesim.theory import perceptron as P

# Classic unpruned max-margin teacher-student values (theta = 0, f = 1).
CLASSIC = {0.5: 0.32885, 1: 0.26571, 2: 0.18848, 3: 0.14284, 5: 0.093827, 10: 0.049183,
           20: 0.024913, 50: 0.010003, 100: 0.005004}
TH10 = math.radians(10)

_s0 = P._solve0_v         # the jit(vmap(solve_theta0)) that P.predict uses: shared compiles


def theta0(alpha, f, easy):
    a, f, e = np.broadcast_arrays(np.asarray(alpha, float), np.asarray(f, float),
                                  np.asarray(easy, bool))
    n = a.size
    assert n <= P._CHUNK
    size = P._CHUNK                  # the fixed chunk P.predict uses
    pad = lambda x, v: np.concatenate([x.ravel(), np.full(size - n, v, x.dtype)])
    r = _s0(jnp.asarray(pad(a, 1.0)), jnp.asarray(pad(f, 1.0)), jnp.asarray(pad(e, False)))
    return {k: np.asarray(v)[:n].reshape(a.shape) for k, v in r.items()}


def _eps(alpha, f, theta, easy):
    r = P.solve(alpha, f, theta, easy)
    return r["eps"], r["residual"]


# one compiled program for all theta > 0 checks: values, the stationarity residual and
# d eps / d(f, theta)
_vga = jax.jit(jax.value_and_grad(_eps, argnums=(1, 2), has_aux=True))


def _vg(alpha, f, theta, easy):
    (e, _), g = _vga(alpha, f, theta, easy)
    return e, g


def test_unpruned_classic_values():
    alphas = np.array(list(CLASSIC))
    r = theta0(alphas, 1.0, False)
    assert np.all(r["status"] == P.OK)
    np.testing.assert_allclose(r["eps"], list(CLASSIC.values()), atol=1e-4, rtol=0)
    assert abs(r["eps"][list(CLASSIC).index(1)] - 0.26571) < 1e-5
    assert abs(r["eps"][list(CLASSIC).index(10)] - 0.049183) < 1e-5


def test_unpruned_asymptote_alpha_eps_to_half():
    alphas = np.array([20.0, 50.0, 200.0])
    ae = alphas * theta0(alphas, 1.0, False)["eps"]
    assert np.all(np.diff(ae) > 0)                 # increases towards the asymptote
    assert abs(ae[-1] - 0.5) < 1e-3                # 0.50047 at alpha = 200


def test_theta0_keep_hard_threshold_near_alpha_2():
    """theta = 0, keep-hard, f -> 0: eps -> 1/2 below alpha_prune = 2 and eps ~ 0.5 f/alpha
    (the full-data error) above it."""
    alphas = np.array([1.0, 1.4, 1.7, 1.9, 2.1, 2.3, 2.6, 3.0, 4.0])
    f = 0.005
    eps = theta0(alphas, f, False)["eps"]
    below, above = eps[alphas < 2], eps[alphas > 2]
    assert np.all(below > 0.3) and np.all(above < 0.05)
    # above the threshold the kept set holds the support vectors: eps ~ 0.5 / alpha_tot
    big = alphas >= 3
    np.testing.assert_allclose(eps[big] * alphas[big] / f, 0.5, rtol=0.15)
    # threshold located by the code: where eps crosses 1/4
    thr = np.interp(0.25, eps[::-1], alphas[::-1])
    assert 1.8 < thr < 2.3


def test_theta0_easy_wins_small_data_hard_wins_large_data():
    """Fixed f: keep-easy beats keep-hard at small alpha_tot, keep-hard wins at large alpha_tot."""
    f = 0.2
    a_tot = np.geomspace(0.5, 50, 9)
    hard = theta0(f * a_tot, f, False)["eps"]
    easy = theta0(f * a_tot, f, True)["eps"]
    diff = hard - easy
    assert diff[0] > 0 and diff[-1] < 0
    sign_changes = np.flatnonzero(np.diff(np.sign(diff)) != 0)
    assert len(sign_changes) == 1


@pytest.mark.slow
def test_theta0_grad_f_matches_finite_differences():
    g = jax.jit(jax.grad(lambda f, e: P.solve_theta0(3.0, f, e)["eps"]))
    for easy in (False, True):
        h = 1e-5
        fd = (theta0(3.0, 0.3 + h, easy)["eps"] - theta0(3.0, 0.3 - h, easy)["eps"]) / (2 * h)
        assert float(g(0.3, easy)) == pytest.approx(float(fd), rel=1e-5)


def test_general_theta_limits_and_gradients():
    # f = 1: pruning does nothing, eps is the unpruned value whatever theta
    e1, _ = _vg(3.0, 1.0, TH10, False)
    assert float(e1) == pytest.approx(CLASSIC[3], abs=2e-5)
    # solve reports the stationarity residual max|F(x)|: tiny at solved points
    for easy in (False, True):
        (e, res), _ = _vga(3.0, 0.4, TH10, easy)
        assert np.isfinite(float(e)) and 0.0 <= float(res) < 1e-9, float(res)
    # theta -> 0 joins the reduced theta = 0 theory
    for easy in (False, True):
        e, _ = _vg(3.0, 0.4, 1e-3, easy)
        assert float(e) == pytest.approx(float(theta0(3.0, 0.4, easy)["eps"]), abs=2e-5)
    # jax.grad (implicit function theorem through custom_root) vs central differences
    for easy in (False, True):
        e, (gf, gt) = _vg(3.0, 0.4, TH10, easy)
        h = 1e-5
        fd_f = (_vg(3.0, 0.4 + h, TH10, easy)[0] - _vg(3.0, 0.4 - h, TH10, easy)[0]) / (2 * h)
        fd_t = (_vg(3.0, 0.4, TH10 + h, easy)[0] - _vg(3.0, 0.4, TH10 - h, easy)[0]) / (2 * h)
        assert float(gf) == pytest.approx(float(fd_f), rel=1e-4, abs=1e-7)
        assert float(gt) == pytest.approx(float(fd_t), rel=1e-4, abs=1e-7)


def test_no_spurious_root_where_student_teacher_component_vanishes():
    """Keep-easy, alpha = 6.31, f = 0.1, theta = 10 deg: the student's independent teacher
    component a is ~0.003 there.  Differentiating through the v-rule's kink breakpoints (~1/a)
    once made x_bad an exact root of the discretised equations, 1.4e-4 away in eps from the
    true one (the coarse benchmark grid landed on it).  With stop_gradient on the kinks x_bad is
    not a root and Newton from it reaches the branch's root."""
    alpha, f = float(np.geomspace(1.0, 10.0, 6)[4]), 0.1
    x_bad = jnp.asarray([0.19389832, 0.46143439, 1.70434995])
    F = lambda x: Q.residual(x, alpha, f, TH10, True)
    assert float(jnp.max(jnp.abs(F(x_bad)))) > 1e-5
    lo, hi = jnp.asarray(S.LOWER), jnp.asarray(S.UPPER)
    x, res, _ = S.newton(F, x_bad, lo, hi)
    e_branch, _ = _vg(alpha, f, TH10, True)            # continuation from f = 1
    coarse = P.predict(alpha, np.geomspace(f, 1.0, 6), TH10, "easy")   # the benchmark grid
    assert float(res) < 1e-10
    assert float(x[0]) / math.pi == pytest.approx(float(e_branch), abs=1e-9)
    assert float(coarse["eps"][0]) == pytest.approx(float(e_branch), abs=1e-9)


@pytest.mark.slow
def test_general_theta_collapse_and_easy_limit():
    """theta > 0, f -> 0: keep-hard collapses to eps -> 1/2 - theta/pi (labels only reveal T's
    component orthogonal to the probe); keep-easy tends to theta/pi."""
    lim = P.exponents(theta=TH10)
    e_hard, _ = _vg(3.0, 3e-3, TH10, False)
    assert float(e_hard) == pytest.approx(lim["collapse_keep_hard"].value, abs=1e-2)
    e_easy, _ = _vg(20.0, 3e-3, TH10, True)
    assert float(e_easy) == pytest.approx(lim["limit_keep_easy"].value, abs=1.5e-3)
    # before the collapse keep-hard pruning helps: eps(f = 0.3) < eps(f = 1)
    assert float(_vg(8.0, 0.3, TH10, False)[0]) < float(_vg(8.0, 1.0, TH10, False)[0])


@pytest.mark.parametrize("kw", [dict(alpha=0.0), dict(alpha=-1.0), dict(f=0.0), dict(f=1.5),
                                dict(theta=-0.1), dict(theta=math.pi / 2), dict(mode="medium")])
def test_invalid_inputs_raise(kw):
    args = dict(alpha=3.0, f=0.5, theta=0.1, mode="hard") | kw
    with pytest.raises(ValueError, match=list(kw)[0]):
        P.predict(**args)


def test_exponents_declare_the_closed_forms():
    from scalesim.prediction import Prediction
    base = P.exponents()
    assert set(base) == {"unpruned_exponent", "keep_hard_threshold_theta0"}
    assert base["unpruned_exponent"].value == 1.0 and base["keep_hard_threshold_theta0"].value == 2.0
    lim = P.exponents(theta=TH10)
    assert lim["collapse_keep_hard"].value == 0.5 - TH10 / math.pi
    assert lim["limit_keep_easy"].value == TH10 / math.pi
    for name, p in lim.items():
        assert isinstance(p, Prediction) and p.name == name and p.module == P.__name__
        assert p.ref()["params"] == {"theta": TH10} and "Sorscher" in p.reference
    # the unpruned learning curve falls as alpha^-exponent at large alpha
    a = np.array([50.0, 100.0])
    e = theta0(a, 1.0, False)["eps"]
    slope = -np.diff(np.log(e))[0] / np.diff(np.log(a))[0]
    assert slope == pytest.approx(base["unpruned_exponent"].value, abs=1e-2)
    with pytest.raises(ValueError, match="theta"):
        P.exponents(theta=2.0)
