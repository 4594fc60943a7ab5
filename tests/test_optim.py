"""Signed weight decay and the Liu et al. AdamW (scalesim.optim)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from scalesim import optim


def _reference_step(W, b, gW, gb, state, lr, lr_b, gamma, eps=1e-8, b1=0.9, b2=0.999):
    """numpy transcription of the update rule described in the authors' exp/adamw.py."""
    t, mW, vW, mb, vb = state
    t += 1
    if gamma >= 0:
        W = W * (1 - gamma * lr)
    else:
        rn = np.linalg.norm(W, axis=1, keepdims=True) + eps
        W = W + lr * gamma * W * (1 - 1 / rn)
    out = []
    for p, g, m, v, l in ((W, gW, mW, vW, lr), (b, gb, mb, vb, lr_b)):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        denom = np.sqrt(v) / np.sqrt(1 - b2 ** t) + eps
        p = p - (l / (1 - b1 ** t)) * m / denom
        out.append((p, m, v))
    (W, mW, vW), (b, mb, vb) = out
    return W, b, (t, mW, vW, mb, vb)


@pytest.mark.parametrize("gamma", [0.5, -0.7])
def test_liu_adamw_matches_reference_rule(gamma):
    rng = np.random.default_rng(0)
    W = rng.normal(size=(7, 3)); b = rng.normal(size=7)
    total, warm, peak, peak_b = 20, 5, 0.05, 0.2
    opt = optim.liu_adamw(peak, gamma, lr_b=peak_b, total_steps=total, warmup_steps=warm)
    params = {"W": jnp.asarray(W), "b": jnp.asarray(b)}
    st = opt.init(params)
    ref = (0, np.zeros_like(W), np.zeros_like(W), np.zeros_like(b), np.zeros_like(b))
    lrs = np.asarray(optim.learning_rates(1.0, total, warm))
    for t in range(8):
        gW = rng.normal(size=W.shape); gb = rng.normal(size=b.shape)
        upd, st = opt.update({"W": jnp.asarray(gW), "b": jnp.asarray(gb)}, st, params)
        params = optax.apply_updates(params, upd)
        W, b, ref = _reference_step(W, b, gW, gb, ref, peak * lrs[t], peak_b * lrs[t], gamma)
        np.testing.assert_allclose(np.asarray(params["W"]), W, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(np.asarray(params["b"]), b, rtol=1e-5, atol=1e-6)


def test_schedule_shape():
    lrs = np.asarray(optim.learning_rates(1.0, 1000, 100))
    assert lrs[0] == pytest.approx(1 / 100)
    assert lrs[98] == pytest.approx(0.99, abs=1e-6)
    assert lrs.max() == pytest.approx(1.0, abs=1e-4)
    assert lrs[-1] == pytest.approx(0.05, abs=1e-4)
    assert np.all(np.diff(lrs[100:]) <= 1e-7)  # monotone cosine decay after warm-up
    with pytest.raises(ValueError, match="total_steps"):
        optim.liu_schedule_factor(0, 0)


def test_negative_gamma_pulls_row_norms_to_one():
    """γ < 0 with zero loss gradient: rows of norm 0.2 grow and rows of norm 3 shrink to 1."""
    W = jnp.array([[0.2, 0.0], [0.0, 3.0], [1.2, -1.6]], jnp.float32)  # norms .2, 3, 2
    tx = optax.chain(optim.signed_weight_decay(-1.0), optax.scale(-0.05))
    st = tx.init(W)
    for _ in range(400):
        u, st = tx.update(jnp.zeros_like(W), st, W)
        W = optax.apply_updates(W, u)
    np.testing.assert_allclose(np.linalg.norm(np.asarray(W), axis=1), 1.0, atol=1e-4)
    # directions are preserved
    np.testing.assert_allclose(np.asarray(W[2]) / np.linalg.norm(W[2]), [0.6, -0.8], atol=1e-6)


def test_positive_gamma_is_decoupled_decay():
    """γ > 0 with zero gradient shrinks every row geometrically: W_T = W_0 (1 − ηγ)^T."""
    W0 = jnp.array([[0.2, 0.0], [0.0, 3.0]], jnp.float32)
    tx = optax.chain(optim.signed_weight_decay(0.5), optax.scale(-0.1))
    W, st = W0, tx.init(W0)
    for _ in range(50):
        u, st = tx.update(jnp.zeros_like(W), st, W)
        W = optax.apply_updates(W, u)
    np.testing.assert_allclose(np.asarray(W), np.asarray(W0) * 0.95 ** 50, rtol=1e-5)


def test_decay_masked_to_W_and_vmapped_over_signed_gamma():
    """One vmapped program trains members with γ of both signs; b is never decayed."""
    params = {"W": jnp.full((4, 2), 2.0), "b": jnp.full((4,), 2.0)}
    gammas = jnp.array([-1.0, 0.0, 1.0])

    def run(gamma):
        tx = optim.liu_adamw(0.05, gamma, total_steps=200, warmup_steps=1)
        p, st = params, tx.init(params)

        def body(carry, _):
            p, st = carry
            g = jax.tree_util.tree_map(jnp.zeros_like, p)
            u, st = tx.update(g, st, p)
            return (optax.apply_updates(p, u), st), None

        (p, _), _ = jax.lax.scan(body, (p, st), None, length=200)
        return p

    out = jax.jit(jax.vmap(run))(gammas)
    norms = np.linalg.norm(np.asarray(out["W"]), axis=-1)
    assert np.allclose(np.asarray(out["b"]), 2.0)
    assert np.all(np.abs(norms[0] - 1.0) < 0.05)          # γ < 0: pulled towards 1
    assert np.allclose(norms[1], np.sqrt(8.0), rtol=1e-5)  # γ = 0: untouched
    assert np.all(norms[2] < 0.75 * np.sqrt(8.0))         # γ > 0: decayed


def test_liu_adamw_factory_is_a_value():
    """Equal settings compare and hash equal (the engine's compile cache key); bad settings raise."""
    a, b = optim.LiuAdamW(100, 10), optim.LiuAdamW(total_steps=100, warmup_steps=10, final_frac=0.05)
    assert a == b and hash(a) == hash(b) and a != optim.LiuAdamW(100, 11)
    assert repr(a) == "LiuAdamW(total_steps=100, warmup_steps=10, final_frac=0.05)"
    with pytest.raises(Exception):
        a.total_steps = 5  # frozen
    with pytest.raises(ValueError, match="warmup_steps"):
        optim.LiuAdamW(100, -1)
    with pytest.raises(ValueError, match="final_frac"):
        optim.LiuAdamW(100, 10, 1.5)
