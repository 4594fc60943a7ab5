"""Compute-optimal frontier of PLRF + one-pass SGD, and its exponents fitted from exact risk.

Private support code of :mod:`scalesim.theory.plrf`, which re-exports the public names (the
``rf-compute-optimal`` experiment fits its simulated curves with the same functions).

Paquette, Paquette, Xiao & Pennington 2024 (arXiv 2405.15074), Sec. 3 and Table 2: at compute
``f = d B t`` (d parameters, batch B, t steps) the compute-optimal risk is
``P*(f) = min_d P(f, d) ~ f^-eta``, reached at ``d*(f) ~ f^xi``. On a finite ladder of sizes the
frontier is estimated by :func:`compute_optimal_frontier` (parabola in ``log d`` through the best
size and its neighbours), the fit window by :func:`frontier_window` (compute values where the
best size is interior to the ladder) and the exponents by :func:`frontier_slopes`
(least-squares slopes of ``log d*`` and ``-log P*`` against ``log f`` over the window).
:func:`compute_optimal_fit` does all of it on the exact expected SGD risk
(:func:`scalesim.theory.plrf.plrf_sgd_risk_betas`) of drawn embeddings, without simulating SGD.
"""
from __future__ import annotations

import math
from functools import partial
from typing import Callable, NamedTuple, Sequence

import jax
import numpy as np

from scalesim.precision import as_float
from scalesim.validate import check_positive_ints, check_range, check_seed, check_unique

__all__ = ["compute_grid", "compute_optimal_frontier", "frontier_window", "frontier_slopes",
           "ComputeOptimalFit", "exact_risk_draws", "nested_draw", "compute_optimal_fit", "compute_optimal_fits"]

_MAX_ELEMENTS = 2**25   # W elements per vmapped chunk of draws (256 MiB in float64)


def _default_draws(d: int) -> int:
    return min(2048, max(16, 16384 // d))


def compute_grid(min_dim: int, batch: int, t_min: float, f_max: float, n_compute: int) -> np.ndarray:
    """Common geometric compute grid ``f = d B t`` from ``min_dim B t_min`` to ``f_max``.

    The grid on which every size's risk curve is compared (Paquette et al. 2024, Sec. 3:
    compute = parameters x samples, ``f = d B t``).

    Args:
      min_dim: the smallest model size of the ladder (parameters).
      batch: batch size B (samples per step).
      t_min: steps of the smallest size at the first grid point.
      f_max: the largest compute (parameter-samples).
      n_compute: number of grid points.

    Returns:
      ``f`` ``[n_compute]`` (float64, parameter-samples).
    """
    return np.geomspace(min_dim * batch * t_min, f_max, n_compute)


def compute_optimal_frontier(dims, loss):
    """Compute-optimal frontier from ``loss[n_d, n_f]`` (NaN = size not available at that f).

    The ladder argmin over sizes and the vertex of the parabola in ``log d`` through the best
    size and its two neighbours (the best index clipped to the interior), i.e. a continuous-``d``
    estimate of ``d*(f)`` and ``P*(f) = min_d P(f, d)`` (Paquette et al. 2024, Sec. 3).
    Works on leading batch axes (``loss[..., n_d, n_f]``).

    Args:
      dims: the model sizes ``[n_d]`` (increasing).
      loss: risk ``[..., n_d, n_f]`` of each size at each compute (> 0; NaN where missing).

    Returns:
      ``(i_best [..., n_f], log_dstar [..., n_f], log_pstar [..., n_f])``: the ladder index of
      the best size, and ``log d*`` and ``log P*`` at the parabola's vertex.
    """
    ld = np.log(np.asarray(dims, float))
    ll = np.log(np.where(np.isfinite(loss), loss, np.inf))
    i_best = np.argmin(ll, axis=-2)
    i = np.clip(i_best, 1, ld.size - 2)
    y = [np.take_along_axis(ll, (i + k)[..., None, :], axis=-2)[..., 0, :] for k in (-1, 0, 1)]
    x = [ld[i + k] for k in (-1, 0, 1)]
    # Lagrange parabola through three points: vertex of y = c2 x^2 + c1 x + c0
    d01, d12, d02 = x[0] - x[1], x[1] - x[2], x[0] - x[2]
    with np.errstate(invalid="ignore", divide="ignore"):
        c2 = y[0] / (d01 * d02) - y[1] / (d01 * d12) + y[2] / (d02 * d12)
        c1 = (-y[0] * (x[1] + x[2]) / (d01 * d02) + y[1] * (x[0] + x[2]) / (d01 * d12)
              - y[2] * (x[0] + x[1]) / (d02 * d12))
        c0 = y[0] - c2 * x[0] ** 2 - c1 * x[0]
        xv = np.where(c2 > 0, -c1 / (2 * c2), x[1])
        xv = np.clip(xv, x[0], x[2])   # stay within the bracketing sizes
        yv = c2 * xv**2 + c1 * xv + c0
    return i_best, xv, yv


def frontier_window(dims, loss, *, finite=None) -> np.ndarray:
    """Compute values usable for a frontier fit: the best ladder size is interior.

    A compute value is in the window when the ladder argmin of ``loss`` is neither the smallest
    nor the largest size and the best size and both neighbours are finite in ``loss`` (and in
    ``finite``, e.g. the simulated curves judged on the theory's window).

    Args:
      dims: the model sizes ``[n_d]`` (>= 3, increasing).
      loss: risk ``[n_d, n_f]`` that decides the window (NaN = missing).
      finite: optional second ``[n_d, n_f]`` array that must also be finite there.

    Returns:
      boolean mask ``[n_f]``.
    """
    n = len(dims)
    i_best, _, _ = compute_optimal_frontier(dims, loss)
    interior = (i_best >= 1) & (i_best <= n - 2)
    avail = np.isfinite(loss)
    if finite is not None:
        avail = avail & np.isfinite(finite)
    nb = np.zeros_like(interior)
    for j in np.flatnonzero(interior):
        nb[j] = avail[i_best[j] - 1:i_best[j] + 2, j].all()
    return interior & nb


def _slopes(lf, lx, ly):
    """Least-squares slopes of ``lx`` and ``ly`` against ``lf`` along the last axis."""
    fc = lf - lf.mean()
    den = fc @ fc
    xi = ((lx - lx.mean(-1, keepdims=True)) @ fc) / den
    eta = -((ly - ly.mean(-1, keepdims=True)) @ fc) / den
    return xi, eta


def frontier_slopes(dims, f, loss, window):
    """Fitted compute-optimal exponents ``(xi, eta)`` over a window of the compute grid.

    Least-squares slopes of ``log d*(f)`` (``d* ~ f^xi``) and ``-log P*(f)`` (``P* ~ f^-eta``)
    against ``log f`` on the window, with ``d*`` and ``P*`` from :func:`compute_optimal_frontier`
    (Paquette et al. 2024, Table 2 exponents). Works on leading batch axes (bootstrap).

    Args:
      dims: the model sizes ``[n_d]``.
      f: the compute grid ``[n_f]`` (parameter-samples).
      loss: risk ``[..., n_d, n_f]``.
      window: boolean mask ``[n_f]`` (>= 2 points; :func:`frontier_window`).

    Returns:
      ``(xi, eta)`` (dimensionless; arrays with the leading batch shape of ``loss``).
    """
    _, lx, ly = compute_optimal_frontier(dims, loss[..., window])
    return _slopes(np.log(f[window]), lx, ly)


class ComputeOptimalFit(NamedTuple):
    """Compute-optimal exponents fitted from exact risk curves (:func:`compute_optimal_fit`)."""

    alpha: float
    beta: float
    phase: str                 # Paquette et al.'s phase of (alpha, beta)
    eta: float                 # fitted P*(f) ~ f^-eta (NaN: fewer than 3 window points)
    xi: float                  # fitted d*(f) ~ f^xi
    asymptotic_eta: float      # compute_optimal_exponents(alpha, beta).eta (f -> inf)
    asymptotic_xi: float
    dims: tuple                # the ladder of model sizes
    window: tuple              # (f_lo, f_hi) of the fit window, () if empty
    n_window: int              # compute-grid points in the window
    d_star: tuple              # (min, max) of the fitted d*(f) over the window, () if empty
    f: np.ndarray              # the compute grid [n_f]
    risk: np.ndarray           # mean exact risk (MSE/2) [n_d, n_f]; NaN where t < 1
    window_mask: np.ndarray    # [n_f]


def _nested_w(seed: int, members, v: int, d: int) -> np.ndarray:
    """Nested embeddings ``[n, v, d]`` drawn on the host (nothing to compile per size).

    Column j of member i's W is the first v entries of the standard-normal stream of
    ``numpy.random.default_rng((seed, i, j))``, over sqrt(d): every size takes the leading rows
    and columns of the same draws (common random numbers across the ladder).
    """
    out = np.empty((len(members), v, d))
    for a, i in enumerate(np.asarray(members)):
        for j in range(d):
            out[a, :, j] = np.random.default_rng((seed, int(i), j)).standard_normal(v)
    return out / math.sqrt(d)


def nested_draw(seed: int, v_ratio: int) -> Callable:
    """The default embedding draws of :func:`compute_optimal_fit`: ``draw(d, members) -> W``.

    Nested across sizes (common random numbers): size d's member i is the leading
    ``(v_ratio d) x d`` block of one standard-normal stream per (seed, member, column), over
    sqrt(d) (``W_ij ~ N(0, 1/d)``, Paquette et al. 2024, Sec. 2).

    Args:
      seed: seed of the draws. v_ratio: ``v = v_ratio d``.

    Returns:
      ``draw(d, members) -> W [len(members), v_ratio d, d]`` (float64 numpy).
    """
    return lambda d, members: _nested_w(seed, members, v_ratio * d, d)


@partial(jax.jit, static_argnames=("batch",))
def _exact_risk(ws, alpha, betas, lr_scale, batch: int, t):
    from .plrf import plrf_sgd_risk_betas
    return jax.vmap(lambda w: plrf_sgd_risk_betas(w, alpha, betas, lr_scale, batch, t))(ws)


def exact_risk_draws(alpha: float, betas: Sequence[float], d: int, f, *, lr_scale: float, batch: int,
                     v_ratio: int, members, draw: Callable) -> np.ndarray:
    """Exact expected SGD risk of each drawn embedding of size d on a compute grid.

    The per-draw curves that :func:`compute_optimal_fits` averages (and that a bootstrap over
    draws resamples): :func:`scalesim.theory.plrf.plrf_sgd_risk_betas` at steps ``t = f/(d B)``
    (Paquette et al. 2024, Sec. 3, conditional on W), in chunks of draws of at most
    ``2^25`` W elements.

    Args:
      alpha: data exponent; betas: target exponents (validated by the caller).
      d: model size (parameters). f: compute grid ``[n_f]`` (parameter-samples).
      lr_scale: learning rate in units of ``1/tr(K)``; batch: batch size B.
      v_ratio: ``v = v_ratio d`` rows of each W (sets the chunk of draws per call).
      members: integer array of draw indices. draw: ``draw(d, members) -> W [n, v, d]``.

    Returns:
      risk (MSE/2) ``[len(members), len(betas), n_f]``; NaN where ``t < 1``.

    Raises:
      ValueError: SGD is unstable (kernel norm >= 1) for some draw.
    """
    f = np.asarray(f, float)
    t = f / (d * batch)
    ok = t >= 1.0                          # at least one step (all of t is evaluated: one
                                           # compiled program per size, reused across calls)
    members = np.asarray(members)
    out = np.full((members.size, len(betas), f.size), np.nan)
    chunk = max(1, min(members.size, _MAX_ELEMENTS // (v_ratio * d * d)))
    for i0 in range(0, members.size, chunk):
        ws = draw(d, members[i0:i0 + chunk])
        r, _, knorm = _exact_risk(as_float(ws), as_float(alpha), as_float(betas), as_float(lr_scale),
                                  int(batch), as_float(np.maximum(t, 1.0)))
        knorm = np.asarray(knorm)
        if np.any(~np.isfinite(knorm)) or np.any(knorm >= 1):
            raise ValueError(f"lr_scale={lr_scale} is unstable at d={d}, B={batch}: "
                             f"max ||K|| = {np.max(knorm):.3f} >= 1")
        out[i0:i0 + ws.shape[0]][..., ok] = np.asarray(r)[..., ok]
    return out


def compute_optimal_fits(alpha: float, betas: Sequence[float], dims: Sequence[int], *, f_max: float,
                         lr_scale: float = 0.5, batch: int = 1, n_compute: int = 48, t_min: float = 30,
                         v_ratio: int = 10, draws: int | Callable[[int], int] | None = None, seed: int = 0,
                         draw: Callable | None = None) -> tuple[ComputeOptimalFit, ...]:
    """:func:`compute_optimal_fit` for several target exponents on the same embedding draws.

    Each draw's two eigendecompositions are shared by every beta
    (:func:`scalesim.theory.plrf.plrf_sgd_risk_betas`).

    Args:
      alpha: data exponent; betas: target exponents (each with alpha a valid PLRF point).
      dims, f_max, lr_scale, batch, n_compute, t_min, v_ratio, draws, seed, draw: as in
        :func:`compute_optimal_fit` (``draw`` returns the same W for every beta).

    Returns:
      one :class:`ComputeOptimalFit` per beta, in order.
    """
    from . import plrf
    betas = tuple(float(b) for b in betas)
    for beta in betas:
        plrf._check(alpha, beta)
    check_positive_ints("dims", dims)
    check_unique("dims", dims)
    dims = tuple(int(d) for d in dims)
    if len(dims) < 3 or list(dims) != sorted(dims):
        raise ValueError(f"dims must be >= 3 increasing sizes (a parabola needs 3); got {dims}")
    check_range("lr_scale", lr_scale, 0.0, 2.0, lo_open=True, hi_open=True)
    check_positive_ints("batch", batch)
    check_positive_ints("n_compute", n_compute)
    check_range("n_compute", n_compute, 8, 10**5)
    check_range("t_min", t_min, 1.0)
    check_range("f_max", f_max, min(dims) * batch * t_min, 1e30, lo_open=True)
    check_positive_ints("v_ratio", v_ratio)
    check_range("v_ratio", v_ratio, 2, 1000)
    n_draws = {d: draws(d) if callable(draws) else (_default_draws(d) if draws is None else draws) for d in dims}
    check_positive_ints("draws", tuple(n_draws.values()))
    check_seed("seed", seed)
    if draw is None:
        draw = nested_draw(seed, v_ratio)
    f = compute_grid(min(dims), batch, t_min, f_max, n_compute)
    risk = np.full((len(betas), len(dims), f.size), np.nan)
    for k, d in enumerate(dims):
        risk[:, k] = exact_risk_draws(alpha, betas, d, f, lr_scale=lr_scale, batch=batch,
                                      v_ratio=v_ratio, members=np.arange(n_draws[d]), draw=draw).mean(0)
    out = []
    for j, beta in enumerate(betas):
        co = plrf.compute_optimal_exponents(alpha, beta)
        win = frontier_window(dims, risk[j])
        if win.sum() >= 3:
            xi, eta = (float(x) for x in frontier_slopes(dims, f, risk[j], win))
            _, ld, _ = compute_optimal_frontier(dims, risk[j][:, win])
            window = (float(f[win].min()), float(f[win].max()))
            d_star = (float(np.exp(ld.min())), float(np.exp(ld.max())))
        else:
            xi = eta = float("nan")
            window = d_star = ()
        out.append(ComputeOptimalFit(float(alpha), beta, co.phase, eta, xi, co.eta, co.xi, dims, window,
                                     int(win.sum()), d_star, f, risk[j], win))
    return tuple(out)


def compute_optimal_fit(alpha: float, beta: float, dims: Sequence[int], *, f_max: float,
                        lr_scale: float = 0.5, batch: int = 1, n_compute: int = 48, t_min: float = 30,
                        v_ratio: int = 10, draws: int | Callable[[int], int] | None = None, seed: int = 0,
                        draw: Callable | None = None) -> ComputeOptimalFit:
    """Compute-optimal exponents fitted from the exact expected SGD risk, without simulating SGD.

    For each size d of the ladder: ``draws`` embeddings ``W [v_ratio d, d]``, the exact expected
    one-pass SGD risk of each (:func:`scalesim.theory.plrf.plrf_sgd_risk_betas`, the
    deterministic-equivalent risk of Paquette et al. 2024, Sec. 3, conditional on W; lr =
    ``lr_scale / tr(K)``) at the steps ``t = f / (d B)`` of the common compute grid
    (:func:`compute_grid`; ``t < 1`` is missing), averaged over draws. Then the frontier, window
    and slopes exactly as the ``rf-compute-optimal`` experiment fits its simulated curves
    (:func:`compute_optimal_frontier`, :func:`frontier_window`, :func:`frontier_slopes`).
    Compare with the asymptotic ``compute_optimal_exponents(alpha, beta)`` (Paquette et al.
    2024, Table 2), which finite ladders approach slowly.

    Args:
      alpha: data exponent (``x_j ~ N(0, j^-2 alpha)``); beta: target exponent (``b_j = j^-beta``).
      dims: model sizes d (>= 3, increasing; parameters).
      f_max: the largest compute ``f = d B t`` (parameter-samples; keyword-only).
      lr_scale: learning rate in units of ``1 / tr(K)`` (0 < lr_scale < 2; SGD must be stable).
      batch: batch size B.
      n_compute: points of the geometric compute grid.
      t_min: steps of the smallest size at the grid's first point.
      v_ratio: input dimension ``v = v_ratio d`` (Paquette et al. use 10).
      draws: embeddings averaged per size: an int, a function of d, or None for
        ``min(2048, max(16, 16384 // d))``. W-draw noise dominates fitted exponents (one draw's
        risk scatters by 10-30% at small d and the frontier's minimum in d is flat); with the
        default, the fitted eta of one ladder varies by ~0.01 between seeds.
      seed: seed of the default draws (nested: size d uses the first ``v_ratio d`` rows and
        ``d`` columns of one larger standard-normal draw per member, over sqrt(d); drawn with
        numpy, column j of member i from ``default_rng((seed, i, j))``).
      draw: optional ``draw(d, members) -> W [len(members), v, d]`` (``members``: an integer
        array of member indices of size d) replacing the default draws, e.g. to
        reproduce another run's embeddings.

    Returns:
      :class:`ComputeOptimalFit`: fitted ``eta``, ``xi`` (NaN when fewer than 3 compute points
      lie in the window), the asymptotic values, the ladder ``dims``, the window
      ``(f_lo, f_hi)`` (parameter-samples) and the range of ``d*`` over it, the grid and the
      mean risk curves (MSE/2).
    """
    return compute_optimal_fits(alpha, (beta,), dims, f_max=f_max, lr_scale=lr_scale, batch=batch,
                                n_compute=n_compute, t_min=t_min, v_ratio=v_ratio, draws=draws, seed=seed,
                                draw=draw)[0]
