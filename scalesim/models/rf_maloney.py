"""Maloney, Roberts & Sully's random-feature model with a nonlinear feature map (simulator).

Maloney, Roberts & Sully 2022, "A Solvable Model of Neural Scaling Laws" (arXiv 2210.16859),
Sec. 2: latent inputs ``x_I ~ N(0, lam_I)`` on M modes, a linear teacher ``y = w . x`` with
``w ~ N(0, sigma_w2 / M)``, N random features ``phi_j = sigma(sum_I u_jI x_I)`` with
``u ~ N(0, sigma_u2 / M)``, and a ridge readout trained on T (= ``n_samples``) points. The
linear activation is the linear random-feature model of :mod:`scalesim.models.rf_ridge`; for
nonlinear activations the test loss is a Monte-Carlo average over ``n_test`` fresh points.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp

from ..simulator import Simulator
from ..spectra import power_law
from ..validate import check_choice, check_nonneg, check_positive, check_positive_ints
from ._rf_common import per_member, ridge_readout

__all__ = ["Config", "Hyper", "make_hyper", "test_mse", "simulate", "SIMULATOR", "PAPERS", "example", "ACTIVATIONS"]

PAPERS = ("maloney2022solvable",)
ACTIVATIONS = {"linear": lambda z: z, "relu": jax.nn.relu, "tanh": jnp.tanh}


@dataclasses.dataclass(frozen=True)
class Config:
    """Static sizes and the activation.

    Attributes:
      n_features: random features N, >= 1.
      n_samples: training points T, >= 1.
      n_test: Monte-Carlo test points, >= 1.
      activation: one of ``"linear"``, ``"relu"``, ``"tanh"``.
    """

    n_features: int
    n_samples: int
    n_test: int = 2000
    activation: str = "linear"

    def __post_init__(self):
        check_positive_ints("n_features", self.n_features)
        check_positive_ints("n_samples", self.n_samples)
        check_positive_ints("n_test", self.n_test)
        check_choice("activation", self.activation, tuple(ACTIVATIONS))


class Hyper(NamedTuple):
    """Per-member values (leading member axis ``M`` in an ensemble)."""

    lam: jax.Array  # [M_modes] latent covariance eigenvalues
    ridge: jax.Array  # ridge penalty >= 0
    sigma_w2: jax.Array  # teacher weight variance (times M)
    sigma_u2: jax.Array  # feature weight variance (times M)


def make_hyper(lam, ridge=0.0, sigma_w2=1.0, sigma_u2=1.0, *, members: int) -> Hyper:
    """``members`` copies of one spectrum and of the scalar parameters.

    Args:
      lam: latent eigenvalues ``[M_modes]`` (> 0).
      ridge: ridge penalty (>= 0).
      sigma_w2: teacher weight variance times M (> 0).
      sigma_u2: feature weight variance times M (> 0).
      members: number of draws.

    Returns:
      :class:`Hyper` with leaves ``[members, M_modes]`` and ``[members]``.
    """
    check_positive("lam", lam)
    check_nonneg("ridge", ridge)
    check_positive("sigma_w2", sigma_w2, allow_inf=False)
    check_positive("sigma_u2", sigma_u2, allow_inf=False)
    return Hyper(**per_member(members, {"lam": lam},
                              {"ridge": ridge, "sigma_w2": sigma_w2, "sigma_u2": sigma_u2}))


def test_mse(key, cfg: Config, hyper: Hyper):
    """Monte-Carlo test MSE ``mean (phi v - y)^2`` of one draw (Maloney et al. 2022, Sec. 2).

    Pre-activations are scaled by ``sqrt(M / sigma_u2)`` so that they stay O(1) for any M; the
    readout has no intercept.

    Args:
      key: PRNG key of the draw (teacher, features, training and test inputs).
      cfg: :class:`Config`.
      hyper: one member's :class:`Hyper`.

    Returns:
      scalar test MSE on ``cfg.n_test`` fresh points, in the dtype of ``lam``.
    """
    lam, ridge, sigma_w2, sigma_u2 = hyper
    kw, ku, kx, kt = jax.random.split(key, 4)
    m = lam.shape[0]
    act = ACTIVATIONS[cfg.activation]
    w = jax.random.normal(kw, (m,), lam.dtype) * jnp.sqrt(sigma_w2 / m)
    u = jax.random.normal(ku, (m, cfg.n_features), lam.dtype) * jnp.sqrt(sigma_u2 / m)
    scale = jnp.sqrt(m / sigma_u2)
    x = jax.random.normal(kx, (cfg.n_samples, m), lam.dtype) * jnp.sqrt(lam)[None, :]
    xt = jax.random.normal(kt, (cfg.n_test, m), lam.dtype) * jnp.sqrt(lam)[None, :]
    feats = lambda z: act(scale * (z @ u))
    v = ridge_readout(feats(x), x @ w, ridge)
    r = feats(xt) @ v - xt @ w
    return jnp.mean(r * r)


def simulate(key, cfg: Config, hyper: Hyper) -> dict:
    """One member: ``{"test_mse": scalar}`` (see :func:`test_mse`)."""
    return {"test_mse": test_mse(key, cfg, hyper)}


SIMULATOR = Simulator(simulate, "rf_maloney")


def example(dtype: str = "float32") -> dict:
    """A small case for the conformance suite: 50 modes, N = 10 ReLU features, T = 20, 100 test
    points, two members (two ridges); the spectrum is in ``dtype``."""
    lam = power_law(50, 2.0, dtype=jnp.dtype(dtype))
    hyper = make_hyper(lam, 1e-3, members=2)
    return {"cfg": Config(n_features=10, n_samples=20, n_test=100, activation="relu"),
            "hyper": hyper._replace(ridge=jnp.asarray([1e-3, 1e-2], lam.dtype))}
