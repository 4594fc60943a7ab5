"""Replica theory of data pruning for the max-margin teacher-student perceptron.

Sorscher, Geirhos, Shekhar, Ganguli, Morcos (2022), "Beyond neural scaling laws: beating power
law scaling via data pruning", NeurIPS 2022, arXiv:2206.14486, App. A, saddle-point equations
(1)-(3) for the order parameters R (student-teacher overlap), rho (student-probe overlap) and
the margin kappa, at alpha_prune = kept examples per dimension, kept fraction f of the data and
probe-teacher angle theta, pruning by the probe field |z| (keep-hard: smallest; keep-easy:
largest).  The test error is eps = arccos(R) / pi.

The equations are the stationarity conditions of one Gardner functional B
(:func:`B`, :func:`B0`; quadrature in ``_perceptron_quadrature``); roots are found by damped
Newton, a global search at theta = 0 and continuation in f at theta > 0 (``_perceptron_solver``),
with implicit-function-theorem derivatives, so ``jax.grad`` works w.r.t. alpha, f and theta.

UNITS: every function here takes theta in RADIANS (the experiments' settings are in degrees and
convert with ``math.radians``).  Everything is float64 when ``jax_enable_x64`` is on (tests and
the CLI turn it on); with x64 off the code runs in float32 but loses the 1e-4 accuracy of the
classic values.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from scalesim.precision import float_dtype
from scalesim.prediction import Prediction, prediction
from scalesim.validate import check_choice, check_range

from . import _perceptron_solver as _solver
from ._perceptron_quadrature import MODES, QUAD, V_MAX, Z_MAX, B, B0, G, kept_interval, order_params

__all__ = ["PAPERS", "MODES", "OK", "FOLD", "SPURIOUS", "NOT_CONVERGED", "STATUS_NAMES", "exponents",
           "check_inputs", "predict", "solve", "solve_branch", "solve_theta0", "B", "B0", "G",
           "kept_interval", "QUAD", "Z_MAX", "V_MAX"]

PAPERS = ("sorscher2022beyond",)

# Status codes of a solve.
OK, FOLD, SPURIOUS, NOT_CONVERGED = 0, 1, 2, 3
STATUS_NAMES = {OK: "ok", FOLD: "fold", SPURIOUS: "spurious", NOT_CONVERGED: "not-converged"}

_REF = "Sorscher et al. 2022, App. A, eqs. (1)-(3)"


def exponents(theta: float | None = None) -> dict[str, Prediction]:
    """The closed-form limits of the pruning theory.

    Args:
      theta: probe-teacher angle in radians, in [0, pi/2); the small-f limits at that angle are
        returned only when given.

    Returns:
      name -> :class:`~scalesim.prediction.Prediction`:

      - "unpruned_exponent": 1, eps ~ alpha^-1 at f = 1 (the unpruned power law);
      - "keep_hard_threshold_theta0": 2, the alpha_prune below which keep-hard pruning with a
        perfect metric (theta = 0) leaves eps -> 1/2 as f -> 0 (above it eps -> 0);
      - "collapse_keep_hard": 1/2 - theta/pi, keep-hard eps as f -> 0 at fixed alpha_prune > 2,
        theta > 0 (the kept points have probe field ~ 0, so their labels reveal only the
        teacher's component orthogonal to the probe);
      - "limit_keep_easy": theta/pi, keep-easy eps as f -> 0 at large alpha_prune (the student
        aligns with the probe).
    """
    params = {} if theta is None else {"theta": theta}

    def pred(name, value, expression, valid_when, reference=_REF):
        return prediction(__name__, params, name, value, expression, valid_when, reference)

    out = {
        "unpruned_exponent": pred("unpruned_exponent", 1.0, "eps ~ c alpha^-1",
                                  "f = 1 (no pruning), alpha -> inf",
                                  "Sorscher et al. 2022, Sec. 2 and App. A eqs. (1)-(3) at f = 1"),
        "keep_hard_threshold_theta0": pred("keep_hard_threshold_theta0", 2.0, "alpha_prune = 2",
                                           "theta = 0, keep-hard, f -> 0",
                                           _REF + ", theta = 0, f -> 0 limit"),
    }
    if theta is not None:
        check_range("theta (probe angle, radians)", theta, 0.0, math.pi / 2, hi_open=True)
        out["collapse_keep_hard"] = pred("collapse_keep_hard", 0.5 - theta / math.pi, "1/2 - theta/pi",
                                         "theta > 0, keep-hard, f -> 0 at fixed alpha_prune > 2",
                                         _REF + ", f -> 0 limit")
        out["limit_keep_easy"] = pred("limit_keep_easy", theta / math.pi, "theta/pi",
                                      "theta > 0, keep-easy, f -> 0 then alpha_prune -> inf",
                                      _REF + ", f -> 0 limit")
    return out


def check_inputs(alpha, f, theta, mode):
    """Validate scalar (or array) inputs.

    Args:
      alpha: alpha_prune, > 0. f: kept fraction in (0, 1]. theta: probe-teacher angle in
        radians, in [0, pi/2). mode: "hard" or "easy".

    Returns:
      None; raises ValueError naming the field and its allowed range.
    """
    check_choice("mode", mode, MODES)
    check_range("alpha (alpha_prune)", alpha, 0.0, lo_open=True)
    check_range("f (kept fraction)", f, 0.0, 1.0, lo_open=True)
    check_range("theta (probe angle, radians)", theta, 0.0, math.pi / 2, hi_open=True)


def solve_theta0(alpha, f=1.0, mode="hard"):
    """Max-margin pruned perceptron with a perfect metric (theta = 0; App. A eqs. (1)-(2)).

    Global nested search for kappa_max, then Newton polish of (dB0/deps, B0) = 0, with IFT
    derivatives w.r.t. alpha and f.  jit/vmap-able.

    Args:
      alpha: alpha_prune = kept examples per input dimension, > 0.
      f: kept fraction in (0, 1].
      mode: "hard"/"easy" or a traced bool (easy = True).

    Returns:
      dict(eps, R, rho, kappa, residual, status): eps the test error (fraction), R = rho the
      overlap, kappa the margin, residual max|F| at the root, status OK / SPURIOUS (R <= 0) /
      NOT_CONVERGED.
    """
    dt = float_dtype()
    alpha, f = jnp.asarray(alpha, dt), jnp.asarray(f, dt)
    x, res = _solver.theta0_root(alpha, f, mode)
    eps, kappa = x[0], x[1]
    R = jnp.cos(jnp.pi * eps)
    ok = res < 1e-9
    status = jnp.where(ok, jnp.where(R > 0, OK, SPURIOUS), NOT_CONVERGED)
    return dict(eps=eps, R=R, rho=R, kappa=kappa, residual=res, status=status)


def _status(failed, J, R):
    is_max, lmax = _solver.is_max(J)
    return jnp.where(failed, FOLD, jnp.where(is_max & (R > 0), OK, SPURIOUS)), lmax


def solve(alpha, f, theta, mode="hard"):
    """Pruned max-margin perceptron at probe angle theta > 0 (App. A eqs. (1)-(3)).

    Continuation in f from f = 1 (where R = R_full, rho = R_full cos theta, kappa = kappa_full,
    i.e. phi = pi eps_full, psi = pi/2), then implicit-function-theorem derivatives through
    ``jax.lax.custom_root`` (the continuation's converged point is the root), so jax.grad works
    w.r.t. alpha, f and theta.  jit/vmap-able; one compiled program serves both modes.  For
    theta == 0 use :func:`solve_theta0` (B is singular there).

    Args:
      alpha: alpha_prune = kept examples per input dimension, > 0.
      f: kept fraction in (0, 1].
      theta: probe-teacher angle in radians, in (0, pi/2).
      mode: "hard"/"easy" or a traced bool (easy = True).

    Returns:
      dict(eps, R, rho, kappa, residual, status, f_end): status FOLD (eps = nan) when the
      tracked branch ends before f (f_end = the kept fraction where it ended, else nan);
      SPURIOUS when the root is not a maximum of B over (R, rho) or has R <= 0; residual is the
      stationarity residual max|F| at the root.
    """
    dt = float_dtype()
    alpha, f, theta = (jnp.asarray(v, dt) for v in (alpha, f, theta))
    sg = jax.lax.stop_gradient
    track, failed, J, _ = _solver.continue_branch(_solver.track_start(alpha), sg(alpha), sg(f),
                                                  sg(theta), mode)
    f_end = jnp.exp(track[1])
    x, res = _solver.polish(track[0], alpha, f, theta, mode)
    R, rho, *_ = order_params(x[0], x[1], theta)
    status, _ = _status(failed, J, R)
    return dict(eps=jnp.where(failed, jnp.nan, x[0] / jnp.pi), R=R, rho=rho, kappa=x[2],
                status=status, residual=res, f_end=jnp.where(failed, f_end, jnp.nan))


def _branch_step(alpha, theta, mode):
    """One grid point of a branch: continue the carry (track, failed) to f (see solve_branch)."""
    def step(carry, f):
        track, failed = carry
        # once the branch has ended, stay put (a no-op solve at the last f reached)
        f_eff = jnp.where(failed, jnp.exp(track[1]), f)
        track, fail_n, J, nsteps = _solver.continue_branch(track, alpha, f_eff, theta, mode)
        fail_n = failed | fail_n
        xn = track[0]
        R, rho, *_ = order_params(xn[0], xn[1], theta)
        status, lmax = _status(fail_n, J, R)
        out = dict(eps=jnp.where(fail_n, jnp.nan, xn[0] / jnp.pi), R=R, rho=rho, kappa=xn[2],
                   status=status, f_end=jnp.where(fail_n, jnp.exp(track[1]), jnp.nan),
                   steps=nsteps, hess_max=lmax)
        return (track, fail_n), out
    return step


def solve_branch(alpha, f_grid, theta, mode="hard"):
    """Track one branch in f from f = 1 through f_grid at theta > 0 (App. A eqs. (1)-(3)).

    One continuation passes through all grid points (lax.scan over the grid, adaptive steps in
    between); after the branch ends (fold) every later point has status FOLD and eps = nan.
    Values only (use :func:`solve` for derivatives).  Under ``jit`` each grid length is its own
    compiled program; :func:`predict` instead runs any grid through one fixed-size program.

    Args:
      alpha: alpha_prune, > 0.
      f_grid: kept fractions in (0, 1], DEcreasing.
      theta: probe-teacher angle in radians, in (0, pi/2).
      mode: "hard"/"easy" or a traced bool (easy = True).

    Returns:
      dict of arrays [len(f_grid)]: eps, R, rho, kappa, status, f_end, steps (continuation
      steps taken), hess_max (largest eigenvalue of B's Hessian over (phi, psi)).
    """
    dt = float_dtype()
    alpha, theta = jnp.asarray(alpha, dt), jnp.asarray(theta, dt)
    step = _branch_step(alpha, theta, mode)
    _, out = jax.lax.scan(step, (_solver.track_start(alpha), jnp.asarray(False)),
                          jnp.asarray(f_grid, dt))
    return out


_CHUNK = 16      # theta = 0 points per call of the vmapped solver
_BRANCH = 8      # grid points per call of the branch solver (any grid runs in chunks of it)


def _branch_chunk(carry, alpha, f_chunk, n_valid, theta, mode):
    """solve_branch's scan over one fixed-size chunk of f values from the carry (track, failed),
    skipping the entries from n_valid on; also returns the track state after every entry (a
    branch can be resumed from any grid point)."""
    step = _branch_step(alpha, theta, mode)

    def body(c, inp):
        f, i = inp
        go = lambda c: (lambda r: (r[0], (r[1], r[0])))(step(c, f))
        shapes = jax.eval_shape(go, c)
        skip = lambda c: (c, jax.tree.map(lambda s: jnp.full(s.shape, -1, s.dtype), shapes[1]))
        return jax.lax.cond(i < n_valid, go, skip, c)

    return jax.lax.scan(body, carry, (f_chunk, jnp.arange(f_chunk.shape[0])))


# One compiled branch solver for every grid length (fixed chunks of _BRANCH points), called
# once per branch: a vmapped while_loop runs every branch in lock-step with the slowest (folds
# retry with halving steps), which was ~3x slower on CPU.
_chunk_j = jax.jit(_branch_chunk)
_solve0_v = jax.jit(jax.vmap(solve_theta0))
_newton0_v = jax.jit(jax.vmap(_solver.theta0_newton))


def _chunks(n, size):
    return [np.arange(c, min(c + size, n)) for c in range(0, n, size)]


def _theta0_points(alpha, f, easy, x0=None):
    """theta = 0 solutions at flat arrays of points, in fixed chunks of _CHUNK (one compiled
    shape).  Without x0: the global solver (:func:`solve_theta0`).  With x0 [n, 2] (eps, kappa
    of nearby roots): Newton from x0, and the global solver where Newton fails.
    Returns dict of NumPy arrays: eps, kappa, R, rho, residual, status."""
    a, ff, md = (np.asarray(v).reshape(-1) for v in np.broadcast_arrays(
        np.asarray(alpha, float), np.asarray(f, float), np.asarray(easy, bool)))
    keys = ("eps", "R", "rho", "kappa", "residual")
    out = {k: np.full(a.shape, np.nan) for k in keys}
    out["status"] = np.full(a.shape, NOT_CONVERGED)
    todo = np.arange(a.size)
    if x0 is not None:
        x0 = np.broadcast_to(np.asarray(x0, float), a.shape + (2,))
        for part in _chunks(a.size, _CHUNK):
            pad = lambda x: np.concatenate([x[part], np.repeat(x[part[:1]], _CHUNK - part.size, 0)])
            x, res = (np.asarray(v)[: part.size] for v in _newton0_v(*map(pad, (x0, a, ff, md))))
            good = (res < 1e-9) & (x[:, 0] < 0.5)
            R = np.cos(np.pi * x[:, 0])
            for k, v in dict(eps=x[:, 0], kappa=x[:, 1], R=R, rho=R, residual=res).items():
                out[k][part] = v
            out["status"][part] = np.where(good, OK, NOT_CONVERGED)
        todo = np.flatnonzero(out["status"] != OK)
    for c in range(0, todo.size, _CHUNK):  # fixed chunks: one compiled shape for every call
        part = todo[c: c + _CHUNK]
        pad = lambda x, v: np.concatenate([x[part], np.full(_CHUNK - part.size, v, x.dtype)])
        r = _solve0_v(*(jnp.asarray(pad(x, v)) for x, v in ((a, 1.0), (ff, 1.0), (md, False))))
        for k in out:
            out[k][part] = np.asarray(r[k])[: part.size]
    return out


def _start(eps_full, kappa_full, h0=0.1):
    """Branch state at f = 1 from the unpruned theta = 0 root (as _solver.track_start)."""
    x1 = np.array([np.pi * eps_full, np.pi / 2, kappa_full])
    return (x1, 0.0, x1, 0.0, h0), False


def _branch_points(carry, alpha, fs, theta, easy):
    """Continue one branch from carry (``_start`` or an entry of a previous ``tracks``) through
    the decreasing fs (any length; fixed chunks of _BRANCH: one compiled program).  Returns a
    dict of NumPy arrays [len(fs)] (as solve_branch) and ``tracks``: the carry after each f."""
    fs = np.asarray(fs, float).reshape(-1)
    dt = float_dtype()
    outs, tracks = [], []
    for part in _chunks(fs.size, _BRANCH):
        fc = np.concatenate([fs[part], np.full(_BRANCH - part.size, fs[part[-1]])])
        carry = (tuple(jnp.asarray(v, dt) for v in carry[0]), jnp.asarray(carry[1], bool))
        carry, (o, (tr, fl)) = _chunk_j(carry, jnp.asarray(alpha, dt), jnp.asarray(fc, dt),
                                        jnp.asarray(part.size), jnp.asarray(theta, dt),
                                        jnp.asarray(easy, bool))
        outs.append({k: np.asarray(v)[: part.size] for k, v in o.items()})
        tracks += [(tuple(np.asarray(t[i]) for t in tr), bool(fl[i])) for i in range(part.size)]
    out = {k: np.concatenate([o[k] for o in outs]) for k in outs[0]}
    out["tracks"] = tracks
    return out


def predict(alpha, f, theta=0.0, mode="hard"):
    """Theory on a grid: broadcast (alpha, f, theta, mode) and solve every point.

    theta == 0 points use the reduced theta = 0 solver (vmapped, fixed chunks of 16).  theta > 0
    points are grouped by (alpha, theta, mode); each group is one continuation branch from
    f = 1 through its f values (one compiled branch solver, called per branch in fixed chunks
    of 8 grid points, so a new f-grid length compiles nothing new).

    Args:
      alpha: alpha_prune = kept examples per input dimension, > 0 (array-like).
      f: kept fraction in (0, 1] (array-like).
      theta: probe-teacher angle in RADIANS, in [0, pi/2) (array-like).
      mode: "hard" / "easy" (array-like of strings).

    Returns:
      dict of NumPy arrays of the broadcast shape: eps (test error, fraction), R, rho, kappa,
      status (OK/FOLD/SPURIOUS/NOT_CONVERGED) and f_end (where a folded branch ended).

    Raises:
      ValueError: naming the field, for inputs out of range.
    """
    modes = np.asarray(mode)
    for m in np.unique(modes):
        check_choice("mode", m, MODES)
    check_inputs(alpha, f, theta, "hard")
    a, ff, th, md = np.broadcast_arrays(np.asarray(alpha, float), np.asarray(f, float),
                                        np.asarray(theta, float), modes == "easy")
    shape = a.shape
    a, ff, th, md = (x.reshape(-1) for x in (a, ff, th, md))
    out = {k: np.full(a.shape, np.nan) for k in ("eps", "R", "rho", "kappa", "f_end")}
    out["status"] = np.zeros(a.shape, int)
    sel = np.flatnonzero(th == 0)
    r = _theta0_points(a[sel], ff[sel], md[sel])
    for k in out.keys() & r.keys():
        out[k][sel] = r[k]
    idx = np.flatnonzero(th > 0)
    if idx.size:
        groups = {}
        for i in idx:
            groups.setdefault((a[i], th[i], md[i]), []).append(i)
        fgrid = np.unique(ff[idx])[::-1]                    # one shared decreasing grid
        full = _theta0_points([g[0] for g in groups], 1.0, False)  # every branch starts at f = 1
        for n, ((ga, gth, gmd), members) in enumerate(groups.items()):
            r = _branch_points(_start(full["eps"][n], full["kappa"][n]), ga, fgrid, gth, gmd)
            for i in members:
                j = int(np.flatnonzero(fgrid == ff[i])[0])
                for k in out:
                    out[k][i] = r[k][j]
    return {k: v.reshape(shape) for k, v in out.items()}
