"""Linear random-feature ridge regression, one draw in closed form (simulator).

The linear teacher-student model of Bahri, Dyer, Kaplan, Lee & Sharma 2021 (arXiv 2102.06701,
Sec. 3) and the linear case of Maloney, Roberts & Sully 2022 (arXiv 2210.16859): latent
Gaussian features ``x ~ N(0, diag(lam))`` on ``S`` modes, target ``y = wbar . x + eps`` with
``eps ~ N(0, sigma2)``, random features ``phi = F^T x`` with ``F_ij ~ N(0, 1/N)``, and the ridge
estimator ``v = argmin (1/P) |Phi v - y|^2 + ridge |v|^2`` on ``P`` samples. Its test MSE is
exact: ``(F v - wbar)^T diag(lam) (F v - wbar) + sigma2``. (Bahri et al.'s student is a random
projection of the S teacher features; their loss carries an extra 1/2 and their teacher is
isotropic, ``omega ~ N(0, 1/S)``.) The deterministic equivalent of its mean is
:func:`scalesim.theory.random_features.rf_error`.

Sizes are static (:class:`Config`); the spectrum ``lam``, the teacher power ``w2``, the ridge
and the noise are per-member values (:class:`Hyper`). ``run_simulator(SIMULATOR, cfg, hyper,
key=key)`` gives member ``i`` the draw of key ``fold_in(key, i)``.
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

__all__ = ["Config", "Hyper", "make_hyper", "test_mse", "simulate", "SIMULATOR", "PAPERS", "example"]

PAPERS = ("bahri2021explaining", "maloney2022solvable", "atanasov2024scaling")
TEACHERS = ("fixed", "gaussian")


@dataclasses.dataclass(frozen=True)
class Config:
    """Static sizes of one draw.

    Attributes:
      n_features: random features ``N`` (Bahri's P, Maloney's N), >= 1.
      n_samples: training samples ``P`` (Bahri's D, Maloney's T), >= 1.
      teacher: ``"fixed"``: ``wbar_k = sqrt(w2_k)`` (the target of the deterministic
        equivalent); ``"gaussian"``: ``wbar_k ~ N(0, w2_k)`` (Bahri's isotropic teacher when
        ``w2 = 1/S``).
    """

    n_features: int
    n_samples: int
    teacher: str = "fixed"

    def __post_init__(self):
        check_positive_ints("n_features", self.n_features)
        check_positive_ints("n_samples", self.n_samples)
        check_choice("teacher", self.teacher, TEACHERS)


class Hyper(NamedTuple):
    """Per-member values (leading member axis ``M`` in an ensemble)."""

    lam: jax.Array  # [S] feature-covariance eigenvalues
    w2: jax.Array  # [S] squared teacher coefficients (variances for a gaussian teacher)
    ridge: jax.Array  # ridge penalty >= 0
    sigma2: jax.Array  # label-noise variance >= 0


def make_hyper(lam, w2, ridge=0.0, sigma2=0.0, *, members: int) -> Hyper:
    """``members`` copies of one spectrum, ridge and noise (validated before anything compiles).

    Args:
      lam: eigenvalues ``[S]`` (> 0) of the latent feature covariance.
      w2: squared teacher coefficients ``[S]`` (>= 0) in that eigenbasis.
      ridge: ridge penalty (>= 0; 0 is the min-norm interpolant).
      sigma2: label-noise variance (>= 0).
      members: ensemble size ``M``.

    Returns:
      :class:`Hyper` with leaves ``[M, S]`` (spectra) and ``[M]`` (scalars), dtypes kept.
    """
    check_positive("lam", lam)
    check_nonneg("w2", w2)
    check_nonneg("ridge", ridge)
    check_nonneg("sigma2", sigma2)
    return Hyper(**per_member(members, {"lam": lam, "w2": w2}, {"ridge": ridge, "sigma2": sigma2}))


def test_mse(key, cfg: Config, hyper: Hyper):
    """Exact test MSE of one draw ``(F, X, noise[, teacher])`` (Bahri et al. 2021, Sec. 3).

    Args:
      key: PRNG key of the draw (split into projection, inputs, noise and teacher keys).
      cfg: :class:`Config`.
      hyper: one member's :class:`Hyper` (unbatched leaves).

    Returns:
      scalar ``(F v - wbar)^T diag(lam) (F v - wbar) + sigma2``, in the dtype of ``lam``.
    """
    lam, w2, ridge, sigma2 = hyper
    kf, kx, ke, kw = jax.random.split(key, 4)
    m = lam.shape[0]
    f = jax.random.normal(kf, (m, cfg.n_features), lam.dtype) / jnp.sqrt(cfg.n_features)
    x = jax.random.normal(kx, (cfg.n_samples, m), lam.dtype) * jnp.sqrt(lam)[None, :]
    wbar = jnp.sqrt(w2)
    if cfg.teacher == "gaussian":
        wbar = wbar * jax.random.normal(kw, (m,), lam.dtype)
    y = x @ wbar + jnp.sqrt(sigma2) * jax.random.normal(ke, (cfg.n_samples,), lam.dtype)
    v = ridge_readout(x @ f, y, ridge)
    e = f @ v - wbar
    return jnp.sum(lam * e * e) + sigma2


def simulate(key, cfg: Config, hyper: Hyper) -> dict:
    """One member: ``{"test_mse": scalar}`` (see :func:`test_mse`)."""
    return {"test_mse": test_mse(key, cfg, hyper)}


SIMULATOR = Simulator(simulate, "rf_ridge")


def example(dtype: str = "float32") -> dict:
    """A small case for the conformance suite: 60 modes, N = 12, P = 20, two members
    (isotropic ``lam_k = k^-2``, two ridges); the spectrum is in ``dtype``."""
    lam = power_law(60, 2.0, dtype=jnp.dtype(dtype))
    hyper = make_hyper(lam, jnp.ones_like(lam) / 60, 1e-3, 0.01, members=2)
    return {"cfg": Config(n_features=12, n_samples=20),
            "hyper": hyper._replace(ridge=jnp.asarray([1e-3, 1e-2], lam.dtype))}
