"""Elhage et al. 2022 toy: model contract, notebook setups, and the 2-feature phase diagram."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scalesim.experiments import elhage_phase as exp
from scalesim.models import elhage as el
from scalesim.theory import elhage as th


def test_invalid_configs_raise():
    with pytest.raises(ValueError, match="m must"):
        el.Config(n=2, m=3)
    with pytest.raises(ValueError, match="density"):
        el.make_hyper(2, density=[0.0, 0.5])
    with pytest.raises(ValueError, match="importance"):
        el.make_hyper(2, density=0.5, importance=[1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="r_max"):
        exp.PhaseSettings(r_min=1.0, r_max=0.5)


def test_sampler_forward_and_notebook_setups():
    cfg, h = exp.notebook_setup("basic")
    assert cfg.n == 20 and cfg.m == 5 and h.density.shape == (7,)
    np.testing.assert_allclose(np.asarray(h.importance[3]), 0.7 ** np.arange(20), rtol=1e-6)
    h1 = jax.tree_util.tree_map(lambda x: x[1], h)  # density 0.3
    x = jax.jit(el.sample, static_argnums=(1, 3))(jax.random.PRNGKey(0), cfg, h1, 20000)
    assert float(jnp.mean(x > 0)) == pytest.approx(0.3, abs=0.01)
    assert float(jnp.max(x)) < 1.0
    # antipodal W = (1, -1), b = 0 reproduces a lone active feature exactly
    p = {"W": jnp.array([[1.0, -1.0]]), "b": jnp.zeros(2)}
    np.testing.assert_allclose(el.forward(p, jnp.array([[0.7, 0.0], [0.0, 0.4]])), [[0.7, 0.0], [0.0, 0.4]])
    assert int(el.two_feature_phase(p["W"])) == th.PHASES.index("antipodal")
    assert int(el.two_feature_phase(jnp.array([[0.0, 1.1]]))) == th.PHASES.index("dedicated")
    assert int(el.two_feature_phase(jnp.array([[0.9, 0.1]]))) == th.PHASES.index("not_learned")


def _check_phase_diagram(s):
    metrics, arrays = exp.run_point(exp.PhasePoint(), s)
    assert metrics["diverged"] == 0
    best, theo, margin = exp.agreement(arrays, s.margin)
    away = margin >= s.margin
    frac = float(np.mean(best[away] == theo[away]))
    assert away.sum() >= 0.6 * best.size  # most of the grid is away from the boundaries
    assert frac >= 0.9, f"trained phase matches the argmin at only {frac:.0%} of {away.sum()} points"
    # the trained model's loss is close to the closed-form minimum energy (normalised by n = 2)
    emin = np.asarray(th.phase_energies(arrays["r"], arrays["density"])).min(-1) / 2
    ratio = arrays["loss"].min(1)[away] / emin[away]
    assert np.median(ratio) < 1.1
    return frac


def test_phase_diagram_quick():
    """5x5 grid, 3 models per point: ≥ 90 % of off-boundary points in the argmin phase."""
    s = dataclasses.replace(exp.settings(True), n_r=5, n_s=5, seeds=3, steps=2500, batch=512)
    _check_phase_diagram(s)


@pytest.mark.slow
def test_phase_diagram_full():
    _check_phase_diagram(exp.settings(False))


def test_example_for_the_conformance_suite():
    ex, ex64 = el.example(), el.example("float64")
    assert ex["cfg"] == el.Config(n=5, m=2, eval_batch=64) and ex64["cfg"].dtype == "float64"
    assert ex["optimizer"] is el.optimizer
    np.testing.assert_allclose(np.asarray(ex["hyper"].density), [0.1, 0.5], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(ex["hyper"].importance[1]), 0.9 ** np.arange(5), rtol=1e-6)


def test_summary_with_no_point_away_from_boundaries():
    """Regression: a margin larger than every energy gap leaves N = 0 points: a NaN record, not
    ZeroDivisionError; a negative margin is rejected by the settings."""
    from scalesim.store import Run

    with pytest.raises(ValueError, match="margin"):
        exp.PhaseSettings(margin=-0.1)
    s = exp.PhaseSettings(n_r=3, n_s=3, seeds=2, margin=1e3)
    R, S = exp.phase_grid(s)
    th_phase = np.asarray(th.phase(R, S))
    arrays = {"r": R, "density": S, "loss": np.ones((R.size, 2)), "phase": np.stack([th_phase] * 2, 1),
              "diverged": np.zeros((R.size, 2), bool)}
    recs = exp.summarize([Run({}, {}, arrays, None)], s)
    away = next(r for r in recs if "away" in r["quantity"])
    assert away["points"] == 0 and np.isnan(away["measured"]) and not away["agrees"] and "note" in away
    allp = next(r for r in recs if "all points" in r["quantity"])
    assert allp["points"] == R.size and allp["measured"] == 1.0
