"""Prototype (k-means) pruning metric on a Gaussian mixture (scalesim.models.prototypes)."""
import io
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scalesim.experiments import pruning_prototypes
from scalesim.experiments.base import run_experiment
from scalesim.models import prototypes as PR


def test_mixture_error_formula():
    # m = 0 reduces to the Gaussian arccos(R)/pi
    assert float(PR.test_error_mixture(0.9, 0.0)) == pytest.approx(math.acos(0.9) / math.pi, abs=1e-12)
    # Monte Carlo check at m = 1.5
    n = 10
    T = jnp.zeros(n).at[0].set(1.0)
    w = jnp.zeros(n).at[0].set(0.8).at[1].set(0.6)
    X, y = PR.mixture(jax.random.PRNGKey(0), T, 200000, 1.5)
    mc = float(jnp.mean(jnp.sign(X @ w) != y))
    se = math.sqrt(mc * (1 - mc) / 200000)
    assert abs(mc - float(PR.test_error_mixture(0.8, 1.5))) < 3 * se


def test_kmeans_finds_the_two_clusters():
    n = 30
    T = jnp.zeros(n).at[0].set(1.0)
    X, _ = PR.mixture(jax.random.PRNGKey(1), T, 2000, 3.0)
    C, assign = jax.jit(PR.kmeans, static_argnums=(2,))(jax.random.PRNGKey(2), X, 2)
    assert float(PR.effective_theta(C, T)) < math.radians(15)
    # cluster assignment agrees with the mixture sign up to relabelling
    agree = float(jnp.mean(assign == (X[:, 0] > 0)))
    assert max(agree, 1 - agree) > 0.95


@pytest.mark.slow
def test_prototypes_quick_experiment(tmp_path):
    recs = run_experiment(pruning_prototypes.EXPERIMENT, tmp_path, quick=True, progress=False, stream=io.StringIO())
    assert all(r["agrees"] for r in recs), recs


def test_simulator_contract_example():
    from scalesim.simulator import run_simulator

    ex = PR.example()
    r = run_simulator(PR.SIMULATOR, ex["cfg"], ex["hyper"], key=jax.random.PRNGKey(0))
    assert set(r) == {"eps", "theta_eff", "converged"}
    assert all(v.shape == (2,) for v in r.values()) and np.all(r["converged"])
    assert np.all((r["eps"] >= 0) & (r["eps"] < 0.5)) and np.all((r["theta_eff"] >= 0) & (r["theta_eff"] <= math.pi / 2))
    with pytest.raises(ValueError, match="n_clusters"):
        PR.Config(n_clusters=1)
    with pytest.raises(ValueError, match="f"):
        PR.make_hyper(f=0.0)
