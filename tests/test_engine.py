import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from scalesim.engine import (check_max_members, chunk_plan, chunk_size, ensemble_outputs, geometric_steps, good_members,
                             member_bytes, member_chunking, train_ensemble)
from scalesim.models import linear_sgd as lin
from scalesim.rng import root_key


def sgd(h):
    return optax.sgd(h.lr)


def test_geometric_steps():
    s = geometric_steps(1000, 20)
    assert s[0] == 0 and s[-1] == 1000 and np.all(np.diff(s) > 0)
    ratios = s[2:] / s[1:-1]
    np.testing.assert_allclose(ratios[-8:], 1000 ** (1 / 19), rtol=0.05)  # geometric once steps are large


def test_member_trajectory_independent_of_ensemble_size():
    cfg = lin.Config(d=8)
    h4 = lin.make_hyper(0.1, np.full(4, 2.0), 1.5, 0.1)
    h9 = lin.make_hyper(0.1, np.full(9, 2.0), 1.5, 0.1)
    r4 = train_ensemble(lin.MODEL, cfg, h4, sgd, key=root_key(0), steps=30, batch_size=2)
    r9 = train_ensemble(lin.MODEL, cfg, h9, sgd, key=root_key(0), steps=30, batch_size=2)
    np.testing.assert_array_equal(r4.metrics["mse"], r9.metrics["mse"][:4])
    # explicit ids: member 7 alone equals member 7 of the big ensemble
    r7 = train_ensemble(
        lin.MODEL, cfg, lin.make_hyper(0.1, [2.0, 2.0], 1.5, 0.1), sgd, key=root_key(0), steps=30, batch_size=2,
        member_ids=[7, 8],
    )
    np.testing.assert_array_equal(r7.metrics["mse"], r9.metrics["mse"][7:9])


def test_records_only_requested_steps_and_learns():
    cfg = lin.Config(d=16)
    rec = np.array([0, 5, 50, 200])
    r = train_ensemble(lin.MODEL, cfg, lin.make_hyper(0.2, [2.0, 2.0], 1.5), sgd, key=root_key(1), steps=200,
                       batch_size=4, record_steps=rec)
    np.testing.assert_array_equal(r.steps, rec)
    assert r.metrics["mse"].shape == (2, 4) and r.metrics["train_loss"].shape == (2, 4)
    assert np.all(r.metrics["mse"][:, -1] < 0.2 * r.metrics["mse"][:, 0])
    with pytest.raises(ValueError, match="record_steps"):
        train_ensemble(lin.MODEL, cfg, lin.make_hyper(0.2, [2.0, 2.0], 1.5), sgd, key=root_key(1), steps=10,
                       batch_size=4, record_steps=[0, 20])


def test_diverged_member_flagged_and_named():
    cfg = lin.Config(d=16)
    hyper = lin.make_hyper(lr=[0.1, 50.0, 0.1], a=2.0, b=1.5)  # member 1: lr far past stability
    r = train_ensemble(lin.MODEL, cfg, hyper, sgd, key=root_key(0), steps=200, batch_size=1)
    np.testing.assert_array_equal(r.diverged, [False, True, False])
    with pytest.warns(RuntimeWarning, match=r"1 of 3 members diverged.*member ids \[1\]"):
        ok = good_members(r, "lr sweep")
    np.testing.assert_array_equal(ok, [True, False, True])


def test_training_outcome_is_differentiable_in_hyperparameters():
    cfg = lin.Config(d=8, dtype="float64")
    key = root_key(0)

    def final_mse(lr):
        h = lin.make_hyper(0.1, [2.0, 2.5], 1.5, 0.0)._replace(lr=jnp.full((2,), lr))
        _, metrics, _ = ensemble_outputs(lin.MODEL, cfg, h, sgd, key=key, steps=40, batch_size=2, record_steps=[0, 40])
        return metrics["mse"][:, -1].mean()

    g = jax.grad(final_mse)(0.1)
    eps = 1e-5
    fd = (final_mse(0.1 + eps) - final_mse(0.1 - eps)) / (2 * eps)
    np.testing.assert_allclose(g, fd, rtol=1e-5)
    assert g < 0  # a larger (stable) step size learns faster here


def test_max_members_chunks_are_bit_identical():
    cfg = lin.Config(d=8)
    hyper = lin.make_hyper(np.linspace(0.05, 0.2, 41), 2.0, 1.5, 0.1)
    whole = train_ensemble(lin.MODEL, cfg, hyper, sgd, key=root_key(3), steps=20, batch_size=2)
    for k in (1, 16, 24, "auto", 1000):
        part = train_ensemble(lin.MODEL, cfg, hyper, sgd, key=root_key(3), steps=20, batch_size=2, max_members=k)
        for name in whole.metrics:
            np.testing.assert_array_equal(whole.metrics[name], part.metrics[name], err_msg=f"max_members={k}")
        for a, b in zip(jax.tree.leaves(whole.params), jax.tree.leaves(part.params)):
            np.testing.assert_array_equal(a, b)
    with member_chunking(16):  # the runner's default for every call in the block
        part = train_ensemble(lin.MODEL, cfg, hyper, sgd, key=root_key(3), steps=20, batch_size=2)
    np.testing.assert_array_equal(whole.metrics["mse"], part.metrics["mse"])


def test_chunk_sizes_and_auto():
    assert chunk_size(None, 100) == 100 and chunk_size(7, 100) == 7 and chunk_size(500, 100) == 100
    # "auto": half the free memory over the one-member program's bytes, within [1, M]
    assert chunk_size("auto", 100, per_member_bytes=10, budget=400) == 20
    assert chunk_size("auto", 100, per_member_bytes=10**12, budget=400) == 1
    assert chunk_size("auto", 100, per_member_bytes=lambda: 1, budget=10**9) == 100
    assert chunk_size("auto", 100, per_member_bytes=None) == 100  # no memory analysis: all at once
    # on this CPU "auto" finds a finite K from the host's memory
    k = chunk_size("auto", 10**9, per_member_bytes=10**6)
    assert 1 <= k < 10**9


@pytest.mark.parametrize("bad", [0, -1, 1.5, "0", "-3", "many", True, 2**31])
def test_max_members_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="max_members must be"):
        check_max_members(bad)
    with pytest.raises(ValueError, match="max_members must be"):
        train_ensemble(lin.MODEL, lin.Config(d=4), lin.make_hyper(0.1, [2.0, 2.0], 1.5), sgd, key=root_key(0),
                       steps=2, batch_size=1, max_members=bad)


def test_max_members_accepts_text():
    assert check_max_members("auto") == "auto" and check_max_members(" 32 ") == 32
    assert check_max_members("all") is None and check_max_members(None) is None


def test_chunk_plan():
    assert chunk_plan(None, 37) == [(0, 37)]
    assert chunk_plan(16, 37) == [(0, 16), (16, 37)]  # the rest (5) joins the last chunk
    assert chunk_plan(20, 64) == [(0, 16), (16, 32), (32, 48), (48, 64)]  # multiples of 8
    assert chunk_plan(3, 40) == [(0, 16), (16, 40)]  # at least 16
    assert chunk_plan(16, 40, n_devices=3) == [(0, 18), (18, 40)]
    assert chunk_plan("auto", 100, per_member_bytes=10, budget=640) == [(0, 32), (32, 64), (64, 100)]


def test_member_bytes_positive():
    b = member_bytes(lin.MODEL, lin.Config(d=8), lin.make_hyper(0.1, [2.0, 2.0], 1.5), sgd, steps=5, batch_size=2)
    assert b is None or b > 0
