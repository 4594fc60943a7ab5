"""Public random-feature theory APIs: keyword-only sizes, eigendecompositions shared across beta,
compute-optimal exponents fitted from the exact SGD risk (no SGD simulation)."""
import inspect
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

jax.config.update("jax_enable_x64", True)

from scalesim.experiments import REGISTRY  # noqa: E402
from scalesim.experiments import rf_compute_optimal as E  # noqa: E402
from scalesim.experiments.base import run_experiment  # noqa: E402
from scalesim.models import plrf as mplrf  # noqa: E402
from scalesim.rng import root_key, stream  # noqa: E402
from scalesim.theory import linear_sgd, plrf  # noqa: E402
from scalesim.theory import random_features as rf  # noqa: E402

LAM, W2 = rf.power_law_spectrum(3.0, 2.0, 200)   # anisotropic target: E_g(N, P) != E_g(P, N)

# (function, positional data arguments, size keywords)
SIZED = [
    (rf.rf_kappa, (LAM,), dict(n_features=40.0, n_samples=90.0, ridge=1e-3)),
    (rf.rf_error, (LAM, W2), dict(n_features=40.0, n_samples=90.0, ridge=1e-3, sigma2=0.01)),
    (rf.krr_error, (LAM, W2), dict(n_samples=90.0, ridge=1e-3, sigma2=0.01)),
    (rf.rf_error_grid, (LAM, W2), dict(n_features=jnp.array([40.0]), n_samples=jnp.array([90.0]), ridge=1e-3,
                                       sigma2=0.01)),
    (rf.variance_limited_coefficients, (LAM, W2), dict(n_features=40.0, n_samples=90.0, ridge=1e-3, sigma2=0.01)),
    (rf.maloney_closed_form, (1.0,), dict(n_features=40.0, n_samples=90.0)),
    (plrf.plrf_f0, (1.0, 0.75), dict(d=20, v=200)),
    (plrf.plrf_f0_continuum, (1.0, 0.75), dict(d=20, v=200)),
]


@pytest.mark.parametrize("fn, data, sizes", SIZED, ids=lambda x: getattr(x, "__name__", ""))
def test_sizes_are_keyword_only_and_positional_sizes_raise_type_error(fn, data, sizes):
    params = inspect.signature(fn).parameters
    assert all(params[k].kind is inspect.Parameter.KEYWORD_ONLY for k in sizes), fn.__name__
    fn(*data, **sizes)                                  # the keyword call works
    with pytest.raises(TypeError):
        fn(*data, *sizes.values())                      # the old positional call no longer does


def test_keyword_sizes_keep_the_asymmetry_of_anisotropic_targets():
    a = float(rf.rf_error(LAM, W2, n_features=40.0, n_samples=90.0, ridge=1e-4))
    b = float(rf.rf_error(LAM, W2, n_features=90.0, n_samples=40.0, ridge=1e-4))
    assert abs(a / b - 1) > 0.05   # a swap of N and P is not harmless: it must be spelled out


def _draws(n, d, v, seed=0):
    return jax.random.normal(jax.random.PRNGKey(seed), (n, v, d)) / np.sqrt(d)


def test_beta_sweep_shares_eigendecompositions_and_equals_per_beta_results():
    betas = jnp.array([0.25, 0.75, 1.5])
    t = jnp.asarray([0.0, 1.0, 3.0, 10.0, 31.0, 100.0, 1e3, 1e4, 1e5])
    for w in _draws(3, 24, 240):
        risk, lr, knorm = plrf.plrf_sgd_risk_betas(w, 1.0, betas, 0.5, 2, t)
        assert risk.shape == (3, t.size)
        for j, beta in enumerate(betas):
            r1, lr1, k1 = plrf.plrf_sgd_risk(w, 1.0, float(beta), 0.5, 2, t)
            np.testing.assert_allclose(risk[j], r1, rtol=1e-12, atol=0)
            assert float(lr) == pytest.approx(float(lr1), rel=1e-12)
            assert float(knorm) == pytest.approx(float(k1), rel=1e-12)
    # one eigh of K and one of the recursion matrix for the whole sweep (two per beta before)
    count = lambda fn, *a: str(jax.make_jaxpr(fn)(*a)).count("name=eigh ")   # calls of jnp.linalg.eigh
    w = _draws(1, 8, 80)[0]
    assert count(lambda w, b: plrf.plrf_sgd_risk_betas(w, 1.0, b, 0.5, 1, t)[0], w, betas) == 2
    assert count(lambda w, b: plrf.plrf_sgd_risk(w, 1.0, b, 0.5, 1, t)[0], w, 0.75) == 2


def test_sgd_risk_at_many_equals_sgd_risk_at():
    lam, c0 = linear_sgd.power_law_problem(30, 2.5, 1.5)
    c0s = jnp.stack([c0, 2.0 * c0[::-1], jnp.ones_like(c0)])
    s2 = jnp.array([0.0, 0.01, 0.3])
    t = jnp.asarray([0.0, 5.0, 50.0, 500.0])
    many = linear_sgd.sgd_risk_at_many(lam, c0s, 0.3, 4, s2, t)
    for i in range(3):
        np.testing.assert_allclose(many[i], linear_sgd.sgd_risk_at(lam, c0s[i], 0.3, 4, s2[i], t), rtol=1e-12)


def test_default_draws_are_nested_across_the_ladder():
    """Size d's W is the leading (10 d) x d block of size 2d's, rescaled (common random numbers)."""
    from scalesim.theory._plrf_fit import _nested_w
    small, big = _nested_w(0, np.arange(3), 80, 8), _nested_w(0, np.arange(3), 160, 16)
    np.testing.assert_allclose(small * np.sqrt(8), big[:, :80, :8] * np.sqrt(16), rtol=1e-14)
    assert abs(np.std(big * np.sqrt(16)) - 1) < 0.05


def _quick_records(quick_results):
    """The experiment's quick run (shared with test_rf_compute_optimal and the notebook test:
    whichever test runs first trains it, the others resume the stored points)."""
    out = quick_results / "rf-compute-optimal-quick"
    run_experiment(REGISTRY["rf-compute-optimal"], out, quick=True, progress=False)
    return {r["quantity"]: r for r in json.loads((out / "summary.json").read_text())}


def test_fitted_eta_from_exact_risk_agrees_with_the_experiments_simulated_fit(quick_results):
    """Phases Ia and II on the experiment's quick ladder (d = 8..64, f <= 3e4): the exponents fitted
    from the exact SGD risk (no SGD run; one eigendecomposition pair per draw for both beta) lie
    inside the simulated fit's 95% bootstrap CI and within 0.05 of its value."""
    s = E.settings(True)
    recs = _quick_records(quick_results)
    fits = plrf.compute_optimal_fits(1.0, (0.25, 0.75), s.dims, f_max=s.f_max, lr_scale=s.lr_scale, batch=s.batch,
                                     n_compute=s.n_compute, t_min=s.t_min, v_ratio=s.v_ratio)
    for fit in fits:
        rec = recs[f"eta[{fit.phase}: alpha=1 beta={fit.beta:g}]"]
        assert fit.phase in ("Ia", "II") and fit.dims == s.dims and fit.n_window >= 3
        assert fit.asymptotic_eta == pytest.approx(rec["asymptotic"])
        assert rec["ci"][0] <= fit.eta <= rec["ci"][1], (fit.eta, rec)
        assert abs(fit.eta - rec["measured"]) < 0.05, (fit.eta, rec)
        assert min(s.dims) <= fit.d_star[0] < fit.d_star[1] <= max(s.dims)
    # on the experiment's own W draws it reproduces the experiment's theory fit: same frontier,
    # window and slopes (exact risk at the grid's steps vs the experiment's log-log
    # interpolation between its record steps: ~1e-3)
    rec = recs["eta[II: alpha=1 beta=0.75]"]

    def draw(d, members):
        cfg = mplrf.Config(alpha=1.0, beta=0.75, v=s.v_ratio * d, d=d)
        wkey = stream(root_key(s.seed), f"plrf-w/1/0.75/{d}")
        return jax.vmap(lambda i: mplrf.draw_w(jax.random.fold_in(wkey, i), cfg, jnp.float32))(jnp.asarray(members))

    fit = plrf.compute_optimal_fit(1.0, 0.75, s.dims, f_max=s.f_max, lr_scale=s.lr_scale, batch=s.batch,
                                   n_compute=s.n_compute, t_min=s.t_min, v_ratio=s.v_ratio, draws=s.seeds, draw=draw)
    assert list(fit.window) == pytest.approx(rec["window"], rel=1e-12)
    assert fit.eta == pytest.approx(rec["theory"], abs=2e-3)


def test_fitted_eta_approaches_the_asymptote_as_dims_grow():
    """Phase Ia near alpha = 1/2 (alpha = 0.6, beta = 0.3: strong finite-size effects), three
    ladders of four sizes shifted by an octave (d = 8..64, 16..128, 32..256; f_max scaled by
    2^(1/xi) so the optimum stays interior): the fitted eta rises monotonically towards the
    asymptotic (2 alpha + 2 beta - 1)/(2 alpha + 1) = 0.364 (measured 0.286, 0.303, 0.330)."""
    co = plrf.compute_optimal_exponents(0.6, 0.3)
    gaps = []
    for k in range(3):
        dims = tuple(8 * 2 ** (i + k) for i in range(4))
        fit = plrf.compute_optimal_fit(0.6, 0.3, dims, f_max=3e4 * 2 ** (k / co.xi), n_compute=32)
        assert fit.phase == "Ia" and fit.asymptotic_eta == pytest.approx(co.eta) and fit.n_window >= 10
        gaps.append(co.eta - fit.eta)
    assert gaps[0] > gaps[1] > gaps[2] > 0, gaps


def test_exact_risk_draws_are_the_per_draw_curves_that_compute_optimal_fit_averages():
    """``exact_risk_draws`` (per-draw exact risk, for bootstraps over W) averages to the fit's risk;
    NaN exactly where a size has t < 1 step on the compute grid."""
    dims = (8, 16, 32)
    fit = plrf.compute_optimal_fit(1.0, 0.75, dims, f_max=3e3, draws=3, n_compute=16, t_min=2)
    draw = plrf.nested_draw(0, 10)
    per = [plrf.exact_risk_draws(1.0, (0.75,), d, fit.f, lr_scale=0.5, batch=1, v_ratio=10,
                                 members=np.arange(3), draw=draw)[:, 0] for d in dims]
    np.testing.assert_allclose(np.stack([p.mean(0) for p in per]), fit.risk, rtol=1e-12)
    for d, p in zip(dims, per):
        assert p.shape == (3, fit.f.size)
        assert np.array_equal(np.isnan(p[0]), fit.f / d < 1)
        assert np.nanmax(np.abs(p[0] / p[1] - 1)) > 1e-3     # distinct W draws
