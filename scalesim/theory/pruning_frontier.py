"""Pareto frontier, keep-hard/keep-easy crossover and the kept size that stays within a factor
of the full-data error, for the pruned max-margin perceptron.

Sorscher, Geirhos, Shekhar, Ganguli, Morcos (2022), "Beyond neural scaling laws: beating power
law scaling via data pruning", NeurIPS 2022, arXiv:2206.14486.  All three are functions of the
replica test error eps(alpha_prune, f, theta, mode) = arccos(R)/pi of App. A, saddle-point
equations (1)-(3) (:func:`scalesim.theory.perceptron.predict`), with alpha_prune = f alpha_tot
kept examples per input dimension, kept fraction f, probe-teacher angle theta and pruning mode
keep-hard / keep-easy.  Sec. 2's claims: (a) keep easy examples with scarce data and hard ones
with abundant data (the crossover alpha_tot*(f)); (b) a Pareto-optimal kept fraction f* that
depends on the data size gives better-than-power-law scaling of eps*(alpha_prune).

The minimum over f is a golden-section search in log f, the crossover and the kept size are
roots found by bisection (:func:`scalesim.roots.bisect`), each inside the bracket of a coarse
grid of :func:`~scalesim.theory.perceptron.predict`; evaluations are warm-started from the grid.
Every compiled program is shared with ``predict`` and has a fixed size: no grid length, number
of points or option here compiles anything new.  Values only (no ``jax.grad``), float64.

UNITS: theta in RADIANS everywhere (the experiments' settings are in degrees and convert once
with ``math.radians``); eps is a fraction of test inputs misclassified; alpha_tot, alpha_prune
are examples per input dimension; f is a fraction of alpha_tot.
"""
from __future__ import annotations

import math

import numpy as np

from scalesim.prediction import Prediction, prediction
from scalesim.roots import bisect
from scalesim.validate import check_choice, check_int, check_range

from . import perceptron as _p

__all__ = ["PAPERS", "exponents", "pareto_frontier", "crossover_alpha_tot", "kept_size_for_error_factor"]

PAPERS = _p.PAPERS
_INVPHI = (math.sqrt(5.0) - 1.0) / 2.0
_THETA = "theta (probe angle, radians)"


def exponents() -> dict[str, Prediction]:
    """The closed-form limit of the Pareto frontier.

    Returns:
      name -> :class:`~scalesim.prediction.Prediction`: "frontier_step_theta0": 2, the
      alpha_prune above which the theta = 0 frontier eps*(alpha_prune) -> 0 as f_min -> 0
      (keep-hard keeps the support vectors: eps* ~ 0.5 f*/alpha_prune); below it keep-hard
      leaves eps -> 1/2 (Gardner capacity alpha_c(kappa = 0) = 2; App. A eqs. (1)-(2) at
      theta = 0, f -> 0).
    """
    return {"frontier_step_theta0": prediction(
        __name__, {}, "frontier_step_theta0", 2.0, "eps*(alpha_prune) -> 0 for alpha_prune > 2",
        "theta = 0, f_min -> 0", "Sorscher et al. 2022, App. A eqs. (1)-(2), theta = 0, f -> 0 limit")}


# ------------------------------------------------------------------ evaluations
def _theta0(alpha, f, easy, warm):
    """theta = 0: eps (inf where not OK) and the roots (eps, kappa) for the next warm start."""
    r = _p._theta0_points(alpha, f, easy, x0=warm)
    ok = r["status"] == _p.OK
    return np.where(ok, r["eps"], np.inf), np.stack([r["eps"], r["kappa"]], -1), ok


def _fresh(alpha, f, theta, easy, warm_full=None):
    """theta > 0: each point on its branch continued from f = 1 (as ``predict``).  warm_full:
    the unpruned roots (eps, kappa) at nearby alpha.  Returns eps (inf where not OK), the
    unpruned roots at these alpha, ok."""
    alpha, f, easy = np.broadcast_arrays(np.asarray(alpha, float), np.asarray(f, float),
                                         np.asarray(easy, bool))
    full = _p._theta0_points(alpha, 1.0, False, x0=warm_full)
    eps = np.full(alpha.shape, np.inf)
    for i in range(alpha.size):
        r = _p._branch_points(_p._start(full["eps"][i], full["kappa"][i]), alpha[i], [f[i]],
                              theta, easy[i])
        if r["status"][0] == _p.OK:
            eps[i] = r["eps"][0]
    return eps, np.stack([full["eps"], full["kappa"]], -1), np.isfinite(eps)


def _golden(ev, a, b, n_iter):
    """Minimise ev (vectorised, inf where undefined) on [a, b] elementwise by golden-section
    search; returns the best point evaluated and its value."""
    c, d = b - _INVPHI * (b - a), a + _INVPHI * (b - a)
    fc, fd = ev(c), ev(d)
    xb, vb = np.where(fc <= fd, c, d), np.minimum(fc, fd)
    for _ in range(n_iter):
        left = fc < fd                       # the minimum lies in [a, d]; ties move up in f
        a, b = np.where(left, a, c), np.where(left, d, b)
        x = np.where(left, b - _INVPHI * (b - a), a + _INVPHI * (b - a))
        fx = ev(x)
        c, d, fc, fd = (np.where(left, x, d), np.where(left, c, x), np.where(left, fx, fd),
                        np.where(left, fc, fx))
        xb, vb = np.where(fx < vb, x, xb), np.minimum(fx, vb)
    return xb, vb


def _check(theta, n_grid):
    check_range(_THETA, theta, 0.0, math.pi / 2, hi_open=True)
    if np.ndim(theta):
        raise ValueError(f"{_THETA} must be one number; got {theta!r}")
    check_int("n_grid", n_grid, 3, 10**4)


# ------------------------------------------------------------------ public API
def pareto_frontier(alpha_prune, theta, *, f_min=0.01, n_grid=16, modes=_p.MODES, xtol=1e-6):
    """Pareto frontier eps*(alpha_prune) = min over kept fraction f in [f_min, 1] and over the
    pruning modes of the test error at fixed kept-set size alpha_prune, and the optimal f*.

    Sorscher et al. 2022, Sec. 2 claim (b) and App. A eqs. (1)-(3): eps(alpha_prune, f) is the
    replica error of :func:`~scalesim.theory.perceptron.predict`.  Each (alpha_prune, mode):
    the grid f = geomspace(f_min, 1, n_grid) brackets the minimum around the grid's best point,
    then a golden-section search in log f refines it to ``xtol``; the result is the best point
    evaluated, so it is never above a grid value.  A minimum at f_min is a boundary minimum (a
    smaller f_min may do better: at theta = 0 keep-hard improves down to f -> 0).

    Args:
      alpha_prune: kept examples per input dimension, > 0 (array-like; vectorised).
      theta: probe-teacher angle in RADIANS, one number in [0, pi/2).
      f_min: smallest kept fraction searched, in (0, 1).
      n_grid: points of the bracketing grid in f, >= 3 (any length; nothing recompiles).
      modes: pruning modes searched, a subset of ("hard", "easy").
      xtol: width of the final bracket in log f.

    Returns:
      dict of NumPy arrays over alpha_prune's shape: eps (eps*, fraction), f (f*, kept
      fraction), mode (index into ``modes`` of the winner, -1 where none), status (OK, or
      NOT_CONVERGED where no grid point of any mode had status OK: eps = f = nan),
      eps_by_mode and f_by_mode [..., len(modes)] (the minimum of each mode); grid_f
      [n_grid] and grid_eps / grid_status [..., n_grid, len(modes)] (the bracketing grid,
      eps = nan where status is not OK).

    Raises:
      ValueError: naming the field, for inputs out of range.
    """
    _check(theta, n_grid)
    check_range("f_min (kept fraction)", f_min, 0.0, 1.0, lo_open=True, hi_open=True)
    check_range("xtol (log f)", xtol, 0.0, 1.0, lo_open=True)
    modes = tuple(modes)
    for m in modes:
        check_choice("modes", m, _p.MODES)
    if not modes or len(set(modes)) < len(modes):
        raise ValueError(f"modes must be distinct, non-empty; got {modes!r}")
    check_range("alpha_prune", alpha_prune, 0.0, lo_open=True)
    shape = np.shape(alpha_prune)
    al = np.asarray(alpha_prune, float).reshape(-1)
    fs = np.geomspace(f_min, 1.0, n_grid)
    md = np.array(modes)
    g = _p.predict(al[:, None, None], fs[None, :, None], theta, md[None, None, :])    # [A, F, M]
    ok = g["status"] == _p.OK
    grid = np.where(ok, g["eps"], np.inf)
    eps_m, f_m = np.full((al.size, len(modes)), np.nan), np.full((al.size, len(modes)), np.nan)
    for m, easy in enumerate(md == "easy"):
        k = np.flatnonzero(ok[:, :, m].any(1))          # alphas with a frontier in this mode
        if not k.size:
            continue
        i = np.argmin(grid[k, :, m], axis=1)
        top = np.minimum(i + 1, n_grid - 1)
        lo, hi = np.log(fs[np.maximum(i - 1, 0)]), np.log(fs[top])
        if theta == 0:
            warm = np.stack([g["eps"][k, i, m], g["kappa"][k, i, m]], -1)
            ev = lambda x: _theta0(al[k], np.exp(x), easy, warm)[0]
        else:   # continue each branch from f = 1 to the top of its bracket, then into it
            full = _p._theta0_points(al[k], 1.0, False)
            starts = [_p._branch_points(_p._start(full["eps"][j], full["kappa"][j]), al[kk],
                                        [fs[top[j]]], theta, easy)["tracks"][-1]
                      for j, kk in enumerate(k)]

            def ev(x):
                rs = [_p._branch_points(starts[j], al[kk], [math.exp(x[j])], theta, easy)
                      for j, kk in enumerate(k)]
                return np.array([r["eps"][0] if r["status"][0] == _p.OK else np.inf for r in rs])
        n_iter = max(0, math.ceil(math.log(xtol / np.max(hi - lo)) / math.log(_INVPHI)))
        xb, vb = _golden(ev, lo, hi, n_iter)
        if theta == 0:     # the value at the minimiser from the global solver (as predict)
            vb = _theta0(al[k], np.exp(xb), easy, None)[0]
        gi = grid[k, i, m]
        better = vb < gi
        eps_m[k, m] = np.where(better, vb, gi)
        f_m[k, m] = np.where(better, np.exp(xb), fs[i])
    found = np.isfinite(eps_m).any(1)
    best = np.argmin(np.where(np.isfinite(eps_m), eps_m, np.inf), axis=1)
    pick = lambda v: np.where(found, v[np.arange(al.size), best], np.nan)
    out = dict(eps=pick(eps_m), f=pick(f_m), mode=np.where(found, best, -1),
               status=np.where(found, _p.OK, _p.NOT_CONVERGED))
    out = {k: v.reshape(shape) for k, v in out.items()}
    out.update(eps_by_mode=eps_m.reshape(shape + (len(modes),)),
               f_by_mode=f_m.reshape(shape + (len(modes),)), grid_f=fs,
               grid_eps=np.where(ok, g["eps"], np.nan).reshape(shape + (n_grid, len(modes))),
               grid_status=g["status"].reshape(shape + (n_grid, len(modes))))
    return out


def crossover_alpha_tot(f, theta, *, alpha_tot_min=0.5, alpha_tot_max=100.0, n_grid=8, rtol=1e-10):
    """Keep-hard vs keep-easy crossover alpha_tot*(f): the total data size at which keeping
    the hardest fraction f of the data starts to beat keeping the easiest.

    Sorscher et al. 2022, Sec. 2 claim (a) and App. A eqs. (1)-(3): the root in alpha_tot of
    d = eps_hard - eps_easy at alpha_prune = f alpha_tot, kept fraction f.  The grid
    alpha_tot = geomspace(alpha_tot_min, alpha_tot_max, n_grid) brackets the FIRST sign change
    of d (grid points whose status is not OK are skipped), then bisection in log alpha_tot
    narrows it to ``rtol``.

    Args:
      f: kept fraction in (0, 1) (array-like; vectorised).
      theta: probe-teacher angle in RADIANS, one number in [0, pi/2).
      alpha_tot_min, alpha_tot_max: range searched (total examples per input dimension),
        0 < alpha_tot_min < alpha_tot_max.
      n_grid: points of the bracketing grid, >= 3.
      rtol: relative width of the final bracket in alpha_tot.

    Returns:
      dict of NumPy arrays over f's shape: alpha_tot (the crossover; nan where d does not
      change sign on the grid), alpha_prune (= f alpha_tot), found (bool), status (OK;
      NOT_CONVERGED where an evaluation in the bisection failed), eps [..., 2] (eps_hard,
      eps_easy at the crossover; equal there), bracket [..., 2] (the grid points around the
      first sign change); grid_alpha_tot [n_grid] and grid_eps [..., n_grid, 2] (hard, easy;
      nan where status is not OK).

    Raises:
      ValueError: naming the field, for inputs out of range.
    """
    _check(theta, n_grid)
    check_range("f (kept fraction)", f, 0.0, 1.0, lo_open=True, hi_open=True)
    check_range("alpha_tot_min", alpha_tot_min, 0.0, lo_open=True)
    check_range("alpha_tot_max", alpha_tot_max, alpha_tot_min, lo_open=True)
    check_range("rtol", rtol, 0.0, 1.0, lo_open=True)
    shape = np.shape(f)
    ff = np.asarray(f, float).reshape(-1)
    a = np.geomspace(alpha_tot_min, alpha_tot_max, n_grid)
    g = _p.predict(ff[:, None, None] * a[None, :, None], ff[:, None, None], theta,
                   np.array(_p.MODES)[None, None, :])                               # [n, A, 2]
    geps = np.where(g["status"] == _p.OK, g["eps"], np.nan)
    d = geps[..., 0] - geps[..., 1]
    k, lo, hi, sign, warm = [], [], [], [], []       # crossings found on the grid
    for n in range(ff.size):
        j = np.flatnonzero(np.isfinite(d[n]))
        flips = np.flatnonzero(np.diff(np.sign(d[n, j])) != 0)
        if flips.size:
            jl, jh = j[flips[0]], j[flips[0] + 1]
            k.append(n), lo.append(a[jl]), hi.append(a[jh]), sign.append(np.sign(d[n, jl]))
            warm.append(np.stack([g["eps"][n, jl], g["kappa"][n, jl]], -1))    # [mode, 2]
    k, sign = np.array(k, int), np.array(sign)
    alpha = np.full(ff.size, np.nan)
    eps = np.full((ff.size, 2), np.nan)
    failed = np.zeros(ff.size, bool)
    if k.size:
        fk = ff[k]
        if theta == 0:   # warm starts: the last roots, per crossing and mode
            state = {"x": np.concatenate(warm)}
        else:
            full = _p._theta0_points(fk * np.array(lo), 1.0, False)
            state = {"x": np.stack([full["eps"], full["kappa"]], -1)}

        def both(x):
            ap = np.repeat(fk * np.exp(x), 2)
            fr = np.repeat(fk, 2)
            easy = np.tile([False, True], k.size)
            if theta == 0:
                e, state["x"], ok = _theta0(ap, fr, easy, state["x"])
            else:
                e, full_x, ok = _fresh(ap, fr, theta, easy, np.repeat(state["x"], 2, 0))
                state["x"] = full_x[::2]
            failed[k] |= ~ok.reshape(-1, 2).all(1)
            return e.reshape(-1, 2)

        # sign * d < 0 ... > 0 across the bracket: an increasing function through the root
        def h(x):
            e = both(np.asarray(x))
            return np.where(failed[k], 0.0, -sign * (e[:, 0] - e[:, 1]))

        n_iter = math.ceil(math.log2(max(math.log(max(hi_ / lo_ for lo_, hi_ in zip(lo, hi))) / rtol, 2.0)))
        blo, bhi = bisect(h, np.log(lo), np.log(hi), n_iter, traced=False)
        alpha[k] = np.exp(0.5 * (np.asarray(blo) + np.asarray(bhi)))
        if theta == 0:
            state["x"] = None        # the values at the root from the global solver (as predict)
        eps[k] = both(np.log(alpha[k]))
    found = np.isfinite(alpha) & ~failed
    br = np.full((ff.size, 2), np.nan)
    if k.size:
        br[k] = np.stack([lo, hi], -1)
    out = dict(alpha_tot=np.where(found, alpha, np.nan), alpha_prune=np.where(found, ff * alpha, np.nan),
               found=found, status=np.where(failed, _p.NOT_CONVERGED, _p.OK))
    out = {k_: v.reshape(shape) for k_, v in out.items()}
    out.update(eps=eps.reshape(shape + (2,)), bracket=br.reshape(shape + (2,)), grid_alpha_tot=a,
               grid_eps=geps.reshape(shape + (n_grid, 2)))
    return out


def kept_size_for_error_factor(alpha_tot, factor, theta, *, mode="hard", f_min=1e-3, n_grid=16,
                               rtol=1e-12):
    """The smallest kept set alpha_prune = f alpha_tot whose test error stays within ``factor``
    times the full-data error eps(alpha_tot, f = 1): pruning from f = 1 downwards, the root of
    eps(f alpha_tot, f) = factor * eps_full in f.

    Sorscher et al. 2022, App. A eqs. (1)-(3) (eps from
    :func:`~scalesim.theory.perceptron.predict`; eps_full is the unpruned theta = 0 error, the
    probe does not matter at f = 1).  The grid f = geomspace(1, f_min, n_grid) brackets the
    first f (from f = 1 down) whose error exceeds the target or whose branch has ended; then
    bisection in log f narrows it to ``rtol``.  The kept fraction returned is the bracket's end
    inside the target.

    Args:
      alpha_tot: total examples per input dimension, > 0 (array-like; broadcast with factor).
      factor: allowed error ratio eps / eps_full, > 1 (array-like).
      theta: probe-teacher angle in RADIANS, one number in [0, pi/2).
      mode: "hard" (keep the hardest examples) or "easy".
      f_min: smallest kept fraction searched, in (0, 1).
      n_grid: points of the bracketing grid, >= 3.
      rtol: width of the final bracket in log f.

    Returns:
      dict of NumPy arrays over the broadcast shape: alpha_prune (kept examples per input
      dimension; nan where the error stays within the target down to f_min), f (kept
      fraction), eps (error at that size), eps_full, target (= factor * eps_full), found
      (bool), status (OK: eps = target there to ~rtol; FOLD: the error jumps past the target
      there, e.g. the tracked branch ends, so eps < target; NOT_CONVERGED: no OK solution
      inside the target).

    Raises:
      ValueError: naming the field, for inputs out of range.
    """
    _check(theta, n_grid)
    check_choice("mode", mode, _p.MODES)
    check_range("alpha_tot", alpha_tot, 0.0, lo_open=True)
    check_range("factor (error ratio)", factor, 1.0, lo_open=True)
    check_range("f_min (kept fraction)", f_min, 0.0, 1.0, lo_open=True, hi_open=True)
    check_range("rtol", rtol, 0.0, 1.0, lo_open=True)
    at, fac = np.broadcast_arrays(np.asarray(alpha_tot, float), np.asarray(factor, float))
    shape = at.shape
    at, fac = at.reshape(-1), fac.reshape(-1)
    easy = mode == "easy"
    eps_full = _p._theta0_points(at, 1.0, False)["eps"]
    target = fac * eps_full
    fs = np.geomspace(1.0, f_min, n_grid)
    A, F = (v.reshape(-1) for v in np.broadcast_arrays(at[:, None], fs[None, :]))
    if theta == 0:
        e, x, _ = _theta0(A * F, F, easy, None)
    else:
        e, x, _ = _fresh(A * F, F, theta, easy)
    e, x = e.reshape(at.size, n_grid), x.reshape(at.size, n_grid, 2)
    over = ~(e <= target[:, None])                 # above the target, or no OK solution
    j = np.argmax(over, axis=1)
    found = over.any(1) & (j > 0)
    k = np.flatnonzero(found)
    f_out, eps_out = np.full(at.size, np.nan), np.full(at.size, np.nan)
    status = np.full(at.size, _p.NOT_CONVERGED)
    if k.size:
        jk = j[k]
        state = {"x": x[k, jk - 1]}

        def ev(lf):
            fk = np.exp(np.asarray(lf))
            if theta == 0:
                v, state["x"], _ = _theta0(at[k] * fk, fk, easy, state["x"])
            else:
                v, state["x"], _ = _fresh(at[k] * fk, fk, theta, easy, state["x"])
            return v

        # eps - target: > 0 at the low end of the bracket, <= 0 at the high end
        n_iter = math.ceil(math.log2(max((math.log(fs[0] / fs[1])) / rtol, 2.0)))
        _, bhi = bisect(lambda lf: ev(lf) - target[k], np.log(fs[jk]), np.log(fs[jk - 1]), n_iter,
                        increasing=False, traced=False)
        f_out[k] = np.exp(np.asarray(bhi))
        if theta == 0:
            state["x"] = None          # the value at the answer from the global solver (as predict)
        eps_out[k] = ev(np.log(f_out[k]))
        inside = eps_out[k] <= target[k] * (1 + 1e-9)
        cont = np.abs(eps_out[k] - target[k]) <= 1e-6 * target[k]
        status[k] = np.where(inside, np.where(cont, _p.OK, _p.FOLD), _p.NOT_CONVERGED)
    out = dict(alpha_prune=f_out * at, f=f_out, eps=eps_out, eps_full=eps_full, target=target,
               found=found, status=np.where(found, status, _p.NOT_CONVERGED))
    return {k_: v.reshape(shape) for k_, v in out.items()}
