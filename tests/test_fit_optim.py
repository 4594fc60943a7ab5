"""Batched L-BFGS solvers: both reach the Rosenbrock minimum; queue semantics (n_valid)."""

import jax.numpy as jnp
import numpy as np
import pytest

from scalesim.fit import optim


def rosenbrock(x, args):
    (scale,) = args
    return scale * (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


STARTS = np.array([[-1.2, 1.0], [0.0, 0.0], [2.0, 2.0], [-3.0, 5.0], [0.5, -1.0]])


@pytest.mark.parametrize("solver", ["batch", "queue"])
def test_rosenbrock_minimum_from_every_start(solver):
    args = (jnp.asarray(1.0),)
    if solver == "batch":
        r = optim.minimize_batch(rosenbrock, STARTS, args, gtol=1e-9, ftol=0.0, max_iter=2000)
    else:
        r = optim.minimize_queue(rosenbrock, STARTS, args, gtol=1e-9, ftol=0.0, max_iter=2000,
                                 width=2)
    np.testing.assert_allclose(r.x, np.ones_like(STARTS), atol=1e-6)
    assert np.all(r.grad_norm <= 1e-9) and np.all(r.n_iter < 2000)


def test_queue_n_valid_leaves_padding_untouched():
    r = optim.minimize_queue(rosenbrock, STARTS, (jnp.asarray(1.0),), gtol=1e-9, ftol=0.0,
                             max_iter=2000, width=2, n_valid=3)
    assert np.all(np.isfinite(r.value[:3])) and np.all(np.isinf(r.value[3:]))
    np.testing.assert_allclose(r.x[3:], STARTS[3:])


def test_batched_args_give_each_start_its_own_problem():
    scales = jnp.asarray([1.0, 2.0, 4.0])
    r = optim.minimize_batch(rosenbrock, STARTS[:3], (scales,), batched_args=True, gtol=1e-9,
                             ftol=0.0, max_iter=2000)
    np.testing.assert_allclose(r.x, 1.0, atol=1e-6)


def test_validation_errors():
    with pytest.raises(ValueError, match="x0s"):
        optim.minimize_batch(rosenbrock, np.zeros((0, 2)), (1.0,))
    with pytest.raises(ValueError, match="n_valid"):
        optim.minimize_queue(rosenbrock, STARTS, (1.0,), n_valid=9)
    with pytest.raises(ValueError, match="width"):
        optim.minimize_queue(rosenbrock, STARTS, (1.0,), width=0)
