"""PLRF (Paquette et al. 2024): floor F_0, exact SGD risk vs engine SGD, compute-optimal table."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

jax.config.update("jax_enable_x64", True)

from scalesim.engine import geometric_steps, train_ensemble  # noqa: E402
from scalesim.models import plrf as mplrf  # noqa: E402
from scalesim.rng import root_key  # noqa: E402
from scalesim.theory import plrf  # noqa: E402


def test_compute_optimal_table_matches_reference_values():
    # reference values (fits of the exact SGD recursion at alpha = 1): Ia, II, III
    for (a, b), (phase, xi, eta) in {(1.0, 0.25): ("Ia", 1 / 3, 0.5),
                                     (1.0, 0.75): ("II", 0.429, 0.714),
                                     (1.0, 1.5): ("III", 0.5, 0.75)}.items():
        co = plrf.compute_optimal_exponents(a, b)
        assert co.phase == phase and co.status == "derived"
        assert co.xi == pytest.approx(xi, abs=1e-3) and co.eta == pytest.approx(eta, abs=1e-3)


def test_phase_boundaries_are_continuous():
    for alpha in (0.7, 1.0, 1.6):
        lo = plrf.compute_optimal_exponents(alpha, 0.5 - 1e-9)   # Ia side of 2 beta = 1
        hi = plrf.compute_optimal_exponents(alpha, 0.5 + 1e-9)   # II side
        assert (lo.phase, hi.phase) == ("Ia", "II")
        assert lo.xi == pytest.approx(hi.xi, abs=1e-6) and lo.eta == pytest.approx(hi.eta, abs=1e-6)
        ii = plrf.compute_optimal_exponents(alpha, alpha - 1e-9)
        iii = plrf.compute_optimal_exponents(alpha, alpha + 1e-9)
        assert (ii.phase, iii.phase) == ("II", "III")
        assert ii.xi == pytest.approx(iii.xi, abs=1e-6) and ii.eta == pytest.approx(iii.eta, abs=1e-6)
    assert plrf.compute_optimal_exponents(0.4, 0.3).status == "quoted"
    assert np.isnan(plrf.compute_optimal_exponents(0.4, 0.8).xi)


@pytest.mark.parametrize("alpha", [0.6, 0.7, 1.0, 1.6])
def test_boundary_points_are_labelled_and_equal_both_neighbouring_limits(alpha):
    """On 2 beta = 1 and beta = alpha (2 alpha > 1) the exponents are the limits of both phases'
    formulas from either side (to 1e-6 at a 1e-8 offset), the label names the boundary, and the
    closed forms hold: II/III xi = 1/2, eta = 1 - 1/(4 alpha); Ia/II xi = 1/(2 alpha + 1),
    eta = 2 alpha / (2 alpha + 1)."""
    for beta, label, (xi, eta) in ((0.5, "Ia/II boundary", (1 / (2 * alpha + 1), 2 * alpha / (2 * alpha + 1))),
                                   (alpha, "II/III boundary", (0.5, 1 - 1 / (4 * alpha)))):
        on = plrf.compute_optimal_exponents(alpha, beta)
        assert on.phase == plrf.paquette_phase(alpha, beta) == label and on.status == "boundary"
        sides = [plrf.compute_optimal_exponents(alpha, beta + s) for s in (-1e-8, 1e-8)]
        assert tuple(c.phase for c in sides) == plrf.BOUNDARIES[label]
        for c in sides:
            assert c.status == "derived"
            assert on.xi == pytest.approx(c.xi, abs=1e-6) and on.eta == pytest.approx(c.eta, abs=1e-6)
        assert on.xi == pytest.approx(xi, abs=1e-12) and on.eta == pytest.approx(eta, abs=1e-12)
        # the terms of both neighbouring balances are listed
        assert {t[0] for t in on.terms} == {n for c in sides for n, _, _ in c.terms}
        pred = plrf.exponents(alpha=alpha, beta=beta)
        assert pred["eta"].value == on.eta and pred["xi"].value == on.xi
        assert pred["eta"].valid_when.startswith(f"{label} (not a phase)")
        assert "continuity" in pred["eta"].valid_when


def test_boundary_label_tolerance_and_paquette_anchor():
    """Paquette et al.'s example alpha = beta = 0.7 is a II/III boundary point (eta = 9/14)."""
    co = plrf.compute_optimal_exponents(0.7, 0.7)
    assert co.phase == "II/III boundary" and co.eta == pytest.approx(9 / 14) and co.xi == pytest.approx(0.5)
    assert plrf.paquette_phase(0.1 * 7, 0.7) == "II/III boundary"     # 0.7000000000000001
    assert plrf.paquette_phase(0.7, 0.7 + 1e-9) == "III" and plrf.paquette_phase(0.7, 0.7 - 1e-9) == "II"
    assert plrf.paquette_phase(0.4, 0.5) == "IV"       # 2 alpha < 1: no derived boundary there


def test_f0_matches_mean_irreducible_risk_of_w_draws():
    cfg = mplrf.Config(alpha=1.0, beta=0.7, v=800, d=80)
    keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.PRNGKey(1), i))(jnp.arange(16))
    risks = jax.jit(jax.vmap(lambda k: mplrf.problem(mplrf.draw_w(k, cfg), cfg)[2]))(keys)
    ratio = float(np.mean(risks)) / float(plrf.plrf_f0(1.0, 0.7, d=80, v=800))
    assert ratio == pytest.approx(1.0, abs=0.03)


def _sgd(h):
    return optax.sgd(h.lr)


def test_engine_sgd_matches_exact_recursion_within_2_percent_after_30_steps():
    cfg = mplrf.Config(alpha=1.0, beta=0.7, v=160, d=16, dtype="float64")
    w = mplrf.draw_w(jax.random.PRNGKey(3), cfg)
    steps, members, batch = 600, 512, 2
    rec = geometric_steps(steps, 24)
    theory, lr, knorm = plrf.plrf_sgd_risk(w, cfg.alpha, cfg.beta, 0.5, batch, jnp.asarray(rec))
    assert float(knorm) < 1
    hyper = mplrf.make_hyper(lr=jnp.full((members,), float(lr)), w=jnp.broadcast_to(w, (members,) + w.shape))
    res = train_ensemble(mplrf.MODEL, cfg, hyper, _sgd, key=root_key(0), steps=steps,
                         batch_size=batch, record_steps=rec)
    assert not res.diverged.any()
    ratio = res.metrics["risk"].mean(0) / np.asarray(theory)
    late = rec >= 30
    assert ratio[late].mean() == pytest.approx(1.0, abs=0.02)
    assert np.all(np.abs(ratio[late] - 1) < 0.06)   # pointwise, MC noise of 512 runs
    assert ratio[0] == pytest.approx(1.0, abs=1e-6)   # t = 0 is deterministic


def test_invalid_plrf_inputs():
    with pytest.raises(ValueError, match="alpha"):
        plrf.compute_optimal_exponents(-1.0, 0.5)
    with pytest.raises(ValueError, match="alpha \\+ beta"):
        plrf.plrf_spectrum(0.2, 0.2, 10)
    with pytest.raises(ValueError, match="v must be > d"):
        plrf.plrf_f0(1.0, 0.5, d=100, v=100)


def test_declared_exponents_are_the_compute_optimal_table():
    for a, b in ((1.0, 0.25), (1.0, 0.75), (1.0, 1.5)):
        co = plrf.compute_optimal_exponents(a, b)
        ex = plrf.exponents(alpha=a, beta=b)
        assert ex["xi"].value == co.xi and ex["eta"].value == co.eta
        assert ex["xi"].module == "scalesim.theory.plrf" and dict(ex["xi"].params) == {"alpha": a, "beta": b}
        assert ex["floor"].value == pytest.approx(2 * a - max(0.0, 1 - 2 * b))
    assert plrf.exponents() == {}
    with pytest.raises(ValueError, match="together"):
        plrf.exponents(alpha=1.0)
