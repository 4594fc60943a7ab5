"""Linear random-feature teacher-student trained by full-batch gradient descent (model).

The model of :mod:`scalesim.models.rf_ridge` (Bahri, Dyer, Kaplan, Lee & Sharma 2021, arXiv
2102.06701, Sec. 3) under the engine's Model contract: the draw (projection ``F``, training set
``(X, y)``, teacher, spectrum) is a per-member hyperparameter (:class:`Hyper`, built by
:func:`make_hyper`), the parameters are the readout ``v``, and the loss is the training loss
``(1/2P) |X F v - y|^2``. From ``v = 0`` full-batch gradient descent with step
``lr_scale / lambda_max(Phi^T Phi / P)`` (``lr_scale < 2``) stays in the row space of ``Phi``
and converges to the min-norm least-squares solution, i.e. to
:func:`scalesim.models.rf_ridge.test_mse` at ridge 0 on the same draw.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from ..engine import Model
from ..spectra import power_law
from ..validate import check_choice, check_nonneg, check_positive, check_positive_ints

__all__ = ["Config", "Hyper", "make_hyper", "draw", "MODEL", "PAPERS", "example", "sgd", "init", "sample", "loss",
           "metrics"]

PAPERS = ("bahri2021explaining",)


@dataclasses.dataclass(frozen=True)
class Config:
    """Static sizes and training precision.

    Attributes:
      n_modes: teacher features S, >= 1.
      n_features: random features N (Bahri's P), >= 1.
      n_samples: training points P (Bahri's D), >= 1; the batch size must equal it.
      dtype: precision of the readout ``v`` (``"float32"`` or ``"float64"``).
    """

    n_modes: int
    n_features: int
    n_samples: int
    dtype: str = "float32"

    def __post_init__(self):
        for name in ("n_modes", "n_features", "n_samples"):
            check_positive_ints(name, getattr(self, name))
        check_choice("dtype", self.dtype, ("float32", "float64"))


class Hyper(NamedTuple):
    """Per-member draw (projection, training set, teacher) and GD learning rate."""

    lr: jax.Array
    lam: jax.Array  # [S] feature spectrum
    wbar: jax.Array  # [S] teacher
    f: jax.Array  # [S, N] projection, F_ij ~ N(0, 1/N)
    x: jax.Array  # [P, S] training inputs
    y: jax.Array  # [P] training labels (noise included)
    sigma2: jax.Array  # label-noise variance (enters the test MSE)


def draw(key, lam, w2, cfg: Config, sigma2=0.0, lr_scale=1.0) -> Hyper:
    """One member: the draw of :func:`scalesim.models.rf_ridge.test_mse` (same key, fixed teacher).

    Args:
      key: PRNG key of the draw.
      lam: eigenvalues ``[S]`` (the draw is in their dtype).
      w2: squared teacher coefficients ``[S]``; the teacher is ``sqrt(w2)``.
      cfg: :class:`Config`.
      sigma2: label-noise variance (>= 0).
      lr_scale: ``lr = lr_scale / lambda_max(Phi^T Phi / P)``; GD is stable for ``lr_scale < 2``.

    Returns:
      one member's :class:`Hyper` (unbatched leaves).
    """
    kf, kx, ke, _ = jax.random.split(key, 4)
    m, n, p = lam.shape[0], cfg.n_features, cfg.n_samples
    f = jax.random.normal(kf, (m, n), lam.dtype) / jnp.sqrt(n)
    x = jax.random.normal(kx, (p, m), lam.dtype) * jnp.sqrt(lam)[None, :]
    wbar = jnp.sqrt(w2)
    y = x @ wbar + jnp.sqrt(sigma2) * jax.random.normal(ke, (p,), lam.dtype)
    phi = x @ f
    top = jnp.linalg.norm(phi, ord=2) ** 2 / p
    return Hyper(lr=lr_scale / top, lam=lam, wbar=wbar, f=f, x=x, y=y, sigma2=jnp.asarray(sigma2, lam.dtype))


def make_hyper(keys, lam, w2, cfg: Config, sigma2=0.0, lr_scale=1.0) -> Hyper:
    """Members from draw keys ``[M]`` (:func:`draw` for each; the leaves get a leading axis M).

    Args:
      keys: PRNG keys ``[M]`` (e.g. ``fold_in(key, i)``).
      lam, w2, cfg, sigma2, lr_scale: as in :func:`draw` (shared by all members).

    Returns:
      :class:`Hyper` with leading member axis ``M``.
    """
    check_positive("lam", lam)
    check_nonneg("w2", w2)
    check_nonneg("sigma2", sigma2)
    check_positive("lr_scale", lr_scale, allow_inf=False)
    if jnp.shape(lam) != (cfg.n_modes,):
        raise ValueError(f"lam must have n_modes = {cfg.n_modes} entries; got shape {jnp.shape(lam)}")
    return jax.vmap(lambda k: draw(k, lam, w2, cfg, sigma2, lr_scale))(keys)


def sgd(hyper: Hyper):
    """``optax.sgd(hyper.lr)``: full-batch gradient descent when ``batch_size = n_samples``."""
    return optax.sgd(hyper.lr)


def init(key, cfg: Config, hyper: Hyper):
    """Initial readout ``v = 0`` (GD from zero converges to the min-norm solution).

    Args:
      key: unused. cfg: :class:`Config`. hyper: unused.

    Returns:
      ``{"v": [N]}`` in ``cfg.dtype``.
    """
    del key, hyper
    return {"v": jnp.zeros((cfg.n_features,), cfg.dtype)}


def sample(key, cfg: Config, hyper: Hyper, batch_size: int):
    """The member's fixed training set (full batch).

    Args:
      key: unused. cfg: :class:`Config`. hyper: one member's :class:`Hyper`.
      batch_size: must equal ``cfg.n_samples``.

    Returns:
      ``{"x": [P, S], "y": [P]}``.
    """
    del key, batch_size
    return {"x": hyper.x, "y": hyper.y}


def loss(params, batch, cfg: Config, hyper: Hyper):
    """Training loss ``(1/2P) |X F v - y|^2`` (Bahri et al. 2021, Sec. 3, carry the 1/2).

    Args:
      params: ``{"v": [N]}``. batch: from :func:`sample`. cfg: :class:`Config`.
      hyper: one member's :class:`Hyper` (its projection F).

    Returns:
      scalar loss.
    """
    r = (batch["x"] @ hyper.f) @ params["v"] - batch["y"]
    return 0.5 * jnp.mean(r * r)


def metrics(params, cfg: Config, hyper: Hyper):
    """Exact population test MSE of the readout.

    Args:
      params: ``{"v": [N]}``. cfg: :class:`Config`. hyper: one member's :class:`Hyper`.

    Returns:
      ``{"test_mse": (F v - wbar)^T diag(lam) (F v - wbar) + sigma2}`` (scalar).
    """
    e = hyper.f @ params["v"] - hyper.wbar
    return {"test_mse": jnp.sum(hyper.lam * e * e) + hyper.sigma2}


MODEL = Model(init=init, sample=sample, loss=loss, metrics=metrics, name="rf-gd")


def example(dtype: str = "float32") -> dict:
    """A small case for the conformance suite: S = 30, N = 6, P = 10, two draws, 20 GD steps
    (full batch of 10); the draw is in float32, the readout in ``dtype``."""
    cfg = Config(n_modes=30, n_features=6, n_samples=10, dtype=dtype)
    lam = power_law(30, 2.0, dtype=jnp.float32)
    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    return {"cfg": cfg, "hyper": make_hyper(keys, lam, jnp.ones_like(lam) / 30, cfg, 0.01), "optimizer": sgd,
            "steps": 20, "batch_size": 10}
