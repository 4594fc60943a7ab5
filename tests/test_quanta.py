"""Multitask sparse parity (Michaud et al. 2023): generator, parameter count, theory, experiment."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scalesim.models import quanta as q


def _h0(n_train=0, data_seed=0):
    return jax.tree.map(lambda x: x[0], q.make_hyper(1e-3, n_train, data_seed))


# ----------------------------------------------------------------------------------- generator
def test_generator_frequencies_labels_one_hot():
    cfg = q.Config(n_tasks=12, n_bits=40, k=3, alpha=0.6)
    n = 200_000
    x, y, task = jax.jit(lambda k: q.sample(k, cfg, _h0(), n))(jax.random.PRNGKey(3))
    x, y, task = np.asarray(x), np.asarray(y), np.asarray(task)
    control, bits = x[:, :cfg.n_tasks], x[:, cfg.n_tasks:]
    # one-hot control bits naming the subtask
    np.testing.assert_array_equal(control.sum(1), 1.0)
    np.testing.assert_array_equal(control.argmax(1), task)
    assert set(np.unique(bits)) <= {0.0, 1.0}
    # labels: parity of the subtask's bits, exactly
    sub = q.subsets(cfg)
    want = bits[np.arange(n)[:, None], sub[task]].sum(1) % 2
    np.testing.assert_array_equal(y, want)
    # subtask frequencies vs p_k: chi-square goodness of fit (p > 1e-3)
    from scipy.stats import chisquare

    counts = np.bincount(task, minlength=cfg.n_tasks)
    p = q.frequencies(cfg)
    assert chisquare(counts, n * p).pvalue > 1e-3
    # task bits fair and independent of the subtask
    assert abs(bits.mean() - 0.5) < 4 * 0.5 / math.sqrt(bits.size)
    assert abs(y.mean() - 0.5) < 4 * 0.5 / math.sqrt(n)


def test_subsets_distinct_deterministic_and_frequencies():
    cfg = q.Config(n_tasks=40, n_bits=10, k=3, task_seed=7)
    s = q.subsets(cfg)
    assert s.shape == (40, 3) and len({tuple(r) for r in s}) == 40
    assert np.all(np.diff(s, axis=1) > 0) and s.max() < 10
    np.testing.assert_array_equal(s, q.subsets(q.Config(n_tasks=40, n_bits=10, k=3, task_seed=7)))
    assert not np.array_equal(s, q.subsets(q.Config(n_tasks=40, n_bits=10, k=3, task_seed=8)))
    p = q.frequencies(cfg)
    np.testing.assert_allclose(p.sum(), 1.0, rtol=1e-14)
    np.testing.assert_allclose(p[1:] / p[:-1], (np.arange(2, 41) / np.arange(1, 40)) ** -1.5, rtol=1e-12)


def test_data_limited_mode_repeats_examples():
    """n_train = D: every batch is drawn from the same D examples (a function of data seed and index)."""
    cfg = q.Config(n_tasks=6, n_bits=12, k=2)
    f = jax.jit(lambda k, h: q.sample(k, cfg, h, 256))
    rows = lambda h, s: {tuple(r) for r in np.asarray(f(jax.random.PRNGKey(s), h)[0]).astype(int)}
    h = _h0(n_train=5, data_seed=2)
    seen = set().union(*(rows(h, s) for s in range(4)))
    assert len(seen) <= 5
    assert seen != set().union(*(rows(_h0(n_train=5, data_seed=3), s) for s in range(4)))
    assert len(rows(_h0(), 0)) > 200  # online: fresh examples


def test_eval_probs_shapes_and_metrics_consistent():
    cfg = q.Config(n_tasks=5, n_bits=8, k=2, width=16, n_eval=64)
    params = q.init(jax.random.PRNGKey(0), cfg, _h0())
    p, task = q.eval_probs(params, cfg)
    assert p.shape == (5, 64) and np.all((np.asarray(p) > 0) & (np.asarray(p) < 1))
    np.testing.assert_array_equal(np.asarray(task), np.repeat(np.arange(5), 64).reshape(5, 64))
    m = q.metrics(params, cfg, _h0())
    sub = np.array([float(m[f"sub_loss_{i:03d}"]) for i in range(5)])
    np.testing.assert_allclose(sub, -np.log2(np.asarray(p, float)).mean(1), rtol=1e-5)
    np.testing.assert_allclose(float(m["loss_bits"]), np.sum(q.frequencies(cfg) * sub), rtol=1e-5)


def test_param_count_exact_and_torch_init():
    for w in (1, 7, 128):
        cfg = q.Config(n_tasks=9, n_bits=11, k=2, width=w)
        params = q.init(jax.random.PRNGKey(0), cfg, _h0())
        assert sum(x.size for x in jax.tree.leaves(params)) == q.n_params(w, 9, 11)
    cfg = q.Config(n_tasks=9, n_bits=11, k=2, width=300)
    params = q.init(jax.random.PRNGKey(1), cfg, _h0())
    for name, fan in (("W1", 20), ("b1", 20), ("W2", 300), ("b2", 300)):
        a = np.abs(np.asarray(params[name]))
        assert a.max() <= 1 / math.sqrt(fan) and a.max() > 0.5 / math.sqrt(fan)


@pytest.mark.parametrize("kw,field", [
    (dict(n_bits=4, k=5), "k"),
    (dict(alpha=0.0), "alpha"),
    (dict(alpha=-1.0), "alpha"),
    (dict(n_tasks=11, n_bits=5, k=2), "n_tasks"),  # C(5, 2) = 10 distinct subsets
    (dict(width=0), "width"),
    (dict(n_tasks=0), "n_tasks"),
    (dict(dtype="float16"), "dtype"),
])
def test_invalid_config_names_field(kw, field):
    with pytest.raises(ValueError, match=field):
        q.Config(**kw)


def test_invalid_hyper_names_field():
    with pytest.raises(ValueError, match="lr"):
        q.make_hyper(-1.0)
    with pytest.raises(ValueError, match="n_train"):
        q.make_hyper(1e-3, -3)
    with pytest.raises(ValueError, match="n_train"):
        q.make_hyper(1e-3, 2.5)
