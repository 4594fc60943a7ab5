"""Bahri et al.'s linear random-feature teacher-student model along a ladder of sizes (simulator).

Bahri, Dyer, Kaplan, Lee & Sharma 2021, "Explaining Neural Scaling Laws" (arXiv 2102.06701),
Sec. 3: teacher ``F(x) = sum_M omega_M F_M(x)`` on S latent Gaussian features with covariance
``lam_M``, student ``f = theta . (Proj F)`` on P random projections, trained on D samples to the
min-norm global optimum. Here S = ``lam.shape[0]``, the projection is ``F_ij ~ N(0, 1/N)``
(N = Bahri's P) and the teacher is ``omega_M ~ N(0, w2_M)`` (isotropic ``w2 = 1/S`` is Bahri's
choice; ``random_teacher=True``) or fixed at ``omega_M = sqrt(w2_M)`` (same mean loss, lower
variance; the target of the deterministic equivalent). Losses are exact population MSEs
(Bahri's loss is half of these).

One member (one draw of teacher, projection and data) evaluates a whole *ladder* of sizes with
nested features (first N columns of one projection) or nested samples (first D rows), i.e.
common random numbers; :class:`Config` selects the ladder:

* ``"res_model"`` (:func:`resolution_model`) D = inf:
  ``L(N) = Tr[C - C Proj^T (Proj C Proj^T)^-1 Proj C]``;
* ``"res_data"`` (:func:`resolution_data`) N = inf: min-norm kernel regression on D samples;
* ``"var_data"`` (:func:`variance_data`) finite N < D: ``(L(D, N), L(inf, N))``, paired;
* ``"var_model"`` (:func:`variance_model`) finite D < N: ``(L(D, N), L(D, inf), control
  variate)``, paired.

``simulate`` returns, per member, arrays over the ladder (``[len(sizes)]``): ``loss``,
``limit`` (the paired infinite-resource loss; 0 for the resolution ladders) and ``cv`` (the
control variate of ``var_model``; 0 otherwise). ``run_simulator(SIMULATOR, cfg, hyper, key=key,
chunk=16)`` runs draw ``i`` with key ``fold_in(key, i)``.
"""
from __future__ import annotations

import dataclasses
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..precision import float_dtype
from ..simulator import Simulator
from ..validate import check_choice, check_nonneg, check_positive, check_positive_ints

__all__ = ["Config", "Hyper", "make_hyper", "simulate", "SIMULATOR", "PAPERS", "example", "LADDERS",
           "resolution_model", "resolution_data", "variance_data", "variance_model"]


class _Sequencer:
    """Chains linear solves through ``optimization_barrier`` so they execute one at a time.

    Several independent LAPACK custom calls in one XLA:CPU program may run concurrently; on the
    2-core CPU test machines that deadlocked (0% CPU, never returned).  Each solve here depends on
    the previous one's output, which serialises them at no cost in flops.
    """

    def __init__(self):
        self.token = None

    def solve(self, a, b):
        if self.token is not None:
            _, a, b = jax.lax.optimization_barrier((self.token, a, b))
        x = jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(a, lower=True), b)
        self.token = x
        return x


def _teacher(key, lam, w2, random_teacher):
    w = jnp.sqrt(w2)
    if random_teacher:
        w = w * jax.random.normal(key, lam.shape, lam.dtype)
    return w


def _nested_projection(key, lam, n_max):
    """Unit-variance ``F_max`` (S x N_max); the N-feature student uses ``F_max[:, :N] / sqrt(N)``.

    Nesting gives common random numbers along a ladder of N (and the min-norm / best-fit losses
    do not depend on the overall scale of F, except where noted).
    """
    return jax.random.normal(key, (lam.shape[0], n_max), lam.dtype)


@partial(jax.jit, static_argnames=("sizes", "random_teacher"))
def resolution_model(key, lam, w2, sizes: tuple, random_teacher: bool = False):
    """Infinite-data loss of the best student on N random features (Bahri et al. 2021 Sec. 3, ``L(P)``).

    ``L(N) = w^T C w - b_N^T K_N^-1 b_N`` with ``C = diag(lam)``, ``K = F^T C F``,
    ``b = F^T C w`` (nested F: the N-feature student uses the first N columns).

    Args:
      key: PRNG key of the draw.
      lam: eigenvalues ``[S]`` of the latent covariance C.
      w2: squared teacher coefficients ``[S]``.
      sizes: feature counts N (static), each < S.
      random_teacher: draw ``w ~ N(0, w2)`` instead of ``sqrt(w2)``.

    Returns:
      population MSE ``[len(sizes)]``.
    """
    seq = _Sequencer()
    kf, kw = jax.random.split(key)
    w = _teacher(kw, lam, w2, random_teacher)
    f = _nested_projection(kf, lam, max(sizes))
    k = f.T @ (lam[:, None] * f)
    b = f.T @ (lam * w)
    c = jnp.dot(lam * w, w)
    return jnp.stack([c - b[:n] @ seq.solve(k[:n, :n], b[:n]) for n in sizes])


@partial(jax.jit, static_argnames=("sizes", "random_teacher"))
def resolution_data(key, lam, w2, sizes: tuple, random_teacher: bool = False):
    """Loss of the infinite-feature (kernel) min-norm interpolant on the first D samples.

    Bahri et al. 2021 Sec. 3, ``L(D)``: ``e = X_D^T (X_D X_D^T)^-1 y_D - w``, loss ``e^T C e``.

    Args:
      key: PRNG key of the draw.
      lam: eigenvalues ``[S]``; w2: squared teacher coefficients ``[S]``.
      sizes: sample counts D (static), each < S.
      random_teacher: draw ``w ~ N(0, w2)`` instead of ``sqrt(w2)``.

    Returns:
      population MSE ``[len(sizes)]``.
    """
    seq = _Sequencer()
    kw, kx = jax.random.split(key)
    w = _teacher(kw, lam, w2, random_teacher)
    x = jax.random.normal(kx, (max(sizes), lam.shape[0]), lam.dtype) * jnp.sqrt(lam)[None, :]
    gram, y = x @ x.T, x @ w
    out = []
    for d in sizes:
        e = x[:d].T @ seq.solve(gram[:d, :d], y[:d]) - w
        out.append(jnp.dot(lam * e, e))
    return jnp.stack(out)


@partial(jax.jit, static_argnames=("n_features", "sizes", "random_teacher"))
def variance_data(key, lam, w2, n_features: int, sizes: tuple, random_teacher: bool = False):
    """``(L(D, N), L(inf, N))`` for N < D, D in sizes (nested samples), on one draw.

    Conditional on (teacher, F), the pair (features, label) is a Gaussian vector of dimension
    N + 1 with covariance ``[[K, b], [b^T, c]]``, ``K = F^T C F``, ``b = F^T C omega``,
    ``c = omega^T C omega``; sampling it directly is exact and costs D (N+1) normals, not D S.

    Args:
      key: PRNG key of the draw.
      lam: eigenvalues ``[S]``; w2: squared teacher coefficients ``[S]``.
      n_features: the fixed feature count N (static).
      sizes: sample counts D (static), each > N.
      random_teacher: draw ``omega ~ N(0, w2)`` instead of ``sqrt(w2)``.

    Returns:
      ``(loss, limit)``, each ``[len(sizes)]``: ``L(D, N)`` and ``L(inf, N)`` (repeated).
    """
    seq = _Sequencer()
    kd, kw, kx = jax.random.split(key, 3)
    w = _teacher(kw, lam, w2, random_teacher)
    f = _nested_projection(kd, lam, n_features) / jnp.sqrt(n_features)
    k = f.T @ (lam[:, None] * f)
    b = f.T @ (lam * w)
    c = jnp.dot(lam * w, w)
    cov = jnp.block([[k, b[:, None]], [b[None, :], c[None, None]]])
    z = jax.random.normal(kx, (max(sizes), n_features + 1), lam.dtype) @ jnp.linalg.cholesky(cov).T
    phi, y = z[:, :n_features], z[:, n_features]
    out = []
    for d in sizes:
        v = seq.solve(phi[:d].T @ phi[:d], phi[:d].T @ y[:d])
        out.append(c - 2 * v @ b + v @ (k @ v))
    limit = c - b @ seq.solve(k, b)
    return jnp.stack(out), jnp.full((len(sizes),), limit)


@partial(jax.jit, static_argnames=("sizes", "n_samples", "random_teacher"))
def variance_model(key, lam, w2, sizes: tuple, n_samples: int, random_teacher: bool = False):
    """``(L(D, N), L(D, inf), cv)`` for D < N, N in sizes (nested features), on one draw.

    ``L(D, N) - L(D, inf)`` has mean O(1/N) but per-draw fluctuations O(N^-1/2) from the term
    linear in ``G - I``, ``G = F F^T`` (``E_F[G] = I``).  ``cv`` is that first-order term,
    ``2 (P_perp C e_inf)^T (G - I) X^T alpha`` with ``alpha = (X X^T)^-1 y`` and ``P_perp`` the
    projector orthogonal to the rows of X; ``E_F[cv] = 0`` exactly, so
    ``L(D, N) - L(D, inf) - cv`` is an unbiased, low-variance estimate of the same mean (a
    control variate; its residual is second order in ``G - I``).

    Args:
      key: PRNG key of the draw.
      lam: eigenvalues ``[S]``; w2: squared teacher coefficients ``[S]``.
      sizes: feature counts N (static), each > D.
      n_samples: the fixed sample count D (static).
      random_teacher: draw ``omega ~ N(0, w2)`` instead of ``sqrt(w2)``.

    Returns:
      ``(loss, limit, cv)``, each ``[len(sizes)]``: ``L(D, N)``, ``L(D, inf)`` (repeated) and
      the control variate.
    """
    seq = _Sequencer()
    kd, kw, kx = jax.random.split(key, 3)
    w = _teacher(kw, lam, w2, random_teacher)
    f_max = _nested_projection(kd, lam, max(sizes))
    x = jax.random.normal(kx, (n_samples, lam.shape[0]), lam.dtype) * jnp.sqrt(lam)[None, :]
    y = x @ w
    gram = x @ x.T
    u = x.T @ seq.solve(gram, y)                    # kernel (N = inf) interpolant
    e_k = u - w
    c_e = lam * e_k
    a = c_e - x.T @ seq.solve(gram, x @ c_e)        # P_perp C e_inf
    fa, fu = f_max.T @ a, f_max.T @ u
    xf = x @ f_max
    rf_loss, cvs = [], []
    for n in sizes:
        phi = xf[:, :n]
        e_rf = f_max[:, :n] @ (phi.T @ seq.solve(phi @ phi.T, y)) - w
        rf_loss.append(jnp.dot(lam * e_rf, e_rf))
        cvs.append(2.0 * (fa[:n] @ fu[:n] / n - a @ u))
    limit = jnp.dot(lam * e_k, e_k)
    return jnp.stack(rf_loss), jnp.full((len(sizes),), limit), jnp.stack(cvs)


PAPERS = ("bahri2021explaining",)
LADDERS = ("res_model", "res_data", "var_data", "var_model")


@dataclasses.dataclass(frozen=True)
class Config:
    """Which ladder, its sizes, the spectrum and the fixed resource (all static).

    The spectrum is part of the static config, not a per-member value: inside the compiled
    program it is a constant, so teacher-only quantities (``omega^T C omega`` for a fixed
    teacher) are evaluated once at compile time, and a new spectrum compiles a new program.

    Attributes:
      ladder: one of :data:`LADDERS`.
      sizes: the ladder of the growing resource (N for ``res_model``/``var_model``, D for
        ``res_data``/``var_data``), integers >= 1.
      lam: eigenvalues ``lam_k > 0`` of the latent covariance C (S entries; arrays are
        converted to a tuple of floats).
      w2: squared teacher coefficients ``w2_k >= 0`` (S entries).
      fixed: the fixed finite resource of a variance ladder (N for ``var_data``, D for
        ``var_model``); ``None`` for the resolution ladders.
      random_teacher: draw ``omega ~ N(0, w2)`` instead of the fixed ``sqrt(w2)``.
    """

    ladder: str
    sizes: tuple[int, ...]
    lam: tuple[float, ...] = dataclasses.field(repr=False)
    w2: tuple[float, ...] = dataclasses.field(repr=False)
    fixed: int | None = None
    random_teacher: bool = False

    def __post_init__(self):
        check_choice("ladder", self.ladder, LADDERS)
        check_positive_ints("sizes", self.sizes)
        if self.ladder.startswith("var"):
            check_positive_ints("fixed", self.fixed)
        elif self.fixed is not None:
            raise ValueError(f"fixed must be None for the {self.ladder} ladder; got {self.fixed!r}")
        for name in ("lam", "w2"):
            object.__setattr__(self, name, tuple(float(x) for x in np.asarray(getattr(self, name), np.float64).ravel()))
        check_positive("lam", self.lam)
        check_nonneg("w2", self.w2)
        if len(self.w2) != len(self.lam):
            raise ValueError(f"w2 must have as many entries as lam ({len(self.lam)}); got {len(self.w2)}")


class Hyper(NamedTuple):
    """Per-member values: only the draw index (the ladder has no per-member parameter; member
    ``i``'s randomness is its key ``fold_in(key, i)``)."""

    draw: jax.Array  # int, the member's draw index (returned as "draw")


def make_hyper(*, members: int) -> Hyper:
    """Draw indices ``0 .. members - 1``.

    Args:
      members: number of draws ``M`` (>= 1).

    Returns:
      :class:`Hyper` with ``draw`` ``[M]`` (int32).
    """
    check_positive_ints("members", members)
    return Hyper(draw=jnp.arange(members, dtype=jnp.int32))


def simulate(key, cfg: Config, hyper: Hyper) -> dict:
    """One draw along the ladder.

    Args:
      key: the member's PRNG key.
      cfg: :class:`Config`.
      hyper: the member's :class:`Hyper`.

    Returns:
      ``{"loss", "limit", "cv"}``, each ``[len(cfg.sizes)]`` (population MSEs; ``limit`` and
      ``cv`` are 0 where the ladder has none), and ``"draw"`` (the member's draw index).
    """
    lam = jnp.asarray(cfg.lam, float_dtype())
    w2 = jnp.asarray(cfg.w2, float_dtype())
    sizes, rt = tuple(cfg.sizes), cfg.random_teacher
    if cfg.ladder == "res_model":
        loss = resolution_model(key, lam, w2, sizes, random_teacher=rt)
        limit = cv = jnp.zeros_like(loss)
    elif cfg.ladder == "res_data":
        loss = resolution_data(key, lam, w2, sizes, random_teacher=rt)
        limit = cv = jnp.zeros_like(loss)
    elif cfg.ladder == "var_data":
        loss, limit = variance_data(key, lam, w2, cfg.fixed, sizes, random_teacher=rt)
        cv = jnp.zeros_like(loss)
    else:
        loss, limit, cv = variance_model(key, lam, w2, sizes, cfg.fixed, random_teacher=rt)
    return {"loss": loss, "limit": limit, "cv": cv, "draw": hyper.draw}


SIMULATOR = Simulator(simulate, "rf_teacher_student")


def example(dtype: str = "float32") -> dict:
    """A small case for the conformance suite: the ``var_model`` ladder (N = 16, 32 at D = 4)
    on 40 modes with ``lam_k = k^-2``, two draws. ``dtype`` is ignored (the simulator computes
    in :func:`scalesim.precision.float_dtype`)."""
    lam = np.arange(1, 41, dtype=np.float64) ** -2.0
    return {"cfg": Config("var_model", (16, 32), lam=lam, w2=np.full(40, 1 / 40), fixed=4),
            "hyper": make_hyper(members=2)}
