"""The contract machinery: declared predictions and their provenance, the simulator runner, the
results loader."""

import dataclasses
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scalesim.experiments.base import Experiment, check_theory_refs
from scalesim.fit.records import comparison
from scalesim.prediction import prediction, verify_refs
from scalesim.simulator import Simulator, run_simulator


def exponents(alpha=1.5):
    """A stand-in theory module's declaration: alpha_m = alpha - 1."""
    p = {"alpha": alpha}
    return {"alpha_m": prediction(__name__, p, "alpha_m", alpha - 1.0, "alpha - 1", "weak regime", "test")}


_FakeTheory = types.SimpleNamespace(__name__=__name__, exponents=exponents)


def _exp(theory=(_FakeTheory,)):
    f = lambda *a: None
    return Experiment("x", "x", f, f, f, f, f, theory=theory)


def test_prediction_record_carries_a_checkable_reference():
    pred = exponents(2.0)["alpha_m"]
    rec = comparison("alpha_m", 1.02, (0.95, 1.1), pred)
    assert rec["theory"] == 1.0 and rec["agrees"]
    assert rec["theory_ref"] == {"module": __name__, "name": "alpha_m", "params": {"alpha": 2.0}}
    check_theory_refs(_exp(), [rec])  # consistent: no error


def test_a_restated_or_tampered_theory_value_is_caught():
    rec = comparison("alpha_m", 1.02, (0.95, 1.1), exponents(2.0)["alpha_m"])
    rec["theory"] = 1.0000001
    with pytest.raises(AssertionError, match="is not what"):
        check_theory_refs(_exp(), [rec])


def test_a_reference_to_an_undeclared_theory_module_is_caught():
    rec = comparison("alpha_m", 1.02, (0.95, 1.1), exponents(2.0)["alpha_m"])
    with pytest.raises(AssertionError, match="not one of its theory modules"):
        check_theory_refs(_exp(theory=()), [rec])


def test_verify_refs_skips_plain_numbers():
    verify_refs([comparison("eps", 0.1, (0.09, 0.11), 0.1)], lambda name: None)


@dataclasses.dataclass(frozen=True)
class _Cfg:
    n: int = 5


def _draw(key, cfg, hyper):
    x = jax.random.normal(key, (cfg.n,))
    return {"mean": jnp.mean(x) * hyper, "max": jnp.max(x)}


SIM = Simulator(_draw, "toy")


def test_run_simulator_members_depend_only_on_their_id():
    key = jax.random.PRNGKey(3)
    h = np.array([1.0, 2.0, 3.0, 4.0])
    full = run_simulator(SIM, _Cfg(), h, key=key)
    sub = run_simulator(SIM, _Cfg(), h[2:], key=key, member_ids=[2, 3])
    np.testing.assert_array_equal(full["mean"][2:], sub["mean"])
    chunked = run_simulator(SIM, _Cfg(), h, key=key, chunk=3)
    np.testing.assert_array_equal(full["max"], chunked["max"])
    alone = _draw(jax.random.fold_in(key, 1), _Cfg(), 2.0)
    np.testing.assert_allclose(full["mean"][1], alone["mean"], rtol=1e-6)


def test_run_simulator_rejects_ragged_members():
    with pytest.raises(ValueError, match="leading member axis"):
        run_simulator(SIM, _Cfg(), (np.ones(3), np.ones(2)), key=jax.random.PRNGKey(0))


def test_load_results_reads_the_store_without_rerunning(tmp_path):
    from scalesim.experiments.base import load_results, run_experiment
    from scalesim.registry import experiment

    exp = experiment("pruning-frontier")
    with pytest.raises(FileNotFoundError, match="no finished run"):
        load_results(exp, tmp_path)
    recs = run_experiment(exp, tmp_path / "pruning-frontier-quick", quick=True, progress=False, stream=None)
    got = load_results(exp, tmp_path)
    assert got.records == [dict(r) for r in recs] or [r["quantity"] for r in got.records] == [r["quantity"] for r in recs]
    assert len(got.runs) == len(exp.sweep(got.settings))


def test_load_results_prefers_a_stored_full_run_when_asked(tmp_path):
    """quick=None reads the full run when one is stored, else the quick run."""
    from scalesim.experiments.base import load_results, run_experiment
    from scalesim.registry import experiment

    exp = experiment("pruning-frontier")
    run_experiment(exp, tmp_path / "pruning-frontier-quick", quick=True, progress=False, stream=None)
    assert load_results(exp, tmp_path, quick=None).settings == exp.settings(True)
    # a "full" store: the full settings with one theta (cheap), written where the full run lives
    run_experiment(exp, tmp_path / "pruning-frontier", quick=False, progress=False, stream=None,
                   overrides={"thetas_deg": "0", "n_alpha": "3", "n_f": "4"})
    got = load_results(exp, tmp_path, quick=None)
    assert got.out == tmp_path / "pruning-frontier" and got.settings.thetas_deg == (0.0,)
