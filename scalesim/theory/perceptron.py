"""Replica theory of data pruning for the max-margin teacher-student perceptron.

Sorscher, Geirhos, Shekhar, Ganguli, Morcos (2022), "Beyond neural scaling laws: beating power
law scaling via data pruning", NeurIPS 2022, arXiv:2206.14486, App. A, saddle-point equations
(1)-(3) (see /work/shared/research/data_pruning.md, section 2).

The three saddle-point equations are the stationarity conditions of ONE Gardner-volume (q -> 1)
functional (note, section 2 "What the equations are"):

    B(R, rho, kappa) = 1 - Q - alpha * E,
    Q = (R^2 + rho^2 - 2 R rho cos(theta)) / sin^2(theta),
    E = E_kept[(kappa - y t)_+^2],

    eq. (2) <=> B = 0,  eq. (1) <=> dB/dR = 0,  eq. (3) <=> dB/drho = 0.

We code B once and let ``jax.grad`` supply (1) and (3).  E is evaluated in the robust "G form"
of the note: with the probe field z, teacher field u = cos(theta) z + sin(theta) v, and the
student field t = a u + b z + s w,

    E = < G(a|u| + b sgn(u) z, s) >_{z kept, v},
    G(m, s) = E_w[(kappa - m - s w)_+^2] = ((kappa-m)^2 + s^2) Phi((kappa-m)/s)
              + s (kappa-m) phi((kappa-m)/s).

Cancellation-free parametrisation (derived for scalesim): the student sits at polar angle phi
from the teacher and azimuth psi around it (measured from the probe plane), so

    R = cos(phi),  rho = cos(phi) cos(theta) + sin(phi) sin(theta) cos(psi),
    Lambda = sin(phi) sin(theta) sin(psi)  (the Gram determinant, exactly),
    s = sqrt(1 - Q) = sin(phi) sin(psi),  a = cos(phi) - sin(phi) cos(psi) cot(theta),
    b = sin(phi) cos(psi) / sin(theta),   eps = phi / pi.

theta = 0 (perfect metric) uses the reduced form B0(eps, kappa) = sin^2(pi eps) - alpha <G(R|z|, s)>.

Everything is float64 when ``jax_enable_x64`` is on (tests turn it on); with x64 off the code
still runs in float32 but loses the 1e-4 accuracy of the classic values.
"""
from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import erfinv, ndtri
from scalesim.precision import float_dtype

MODES = ("hard", "easy")
Z_MAX = 10.0     # truncation of Gaussian integrals (phi(10) ~ 8e-23)
V_MAX = 9.0

# Status codes of a solve.
OK, FOLD, SPURIOUS, NOT_CONVERGED = 0, 1, 2, 3
STATUS_NAMES = {OK: "ok", FOLD: "fold", SPURIOUS: "spurious", NOT_CONVERGED: "not-converged"}


def check_inputs(alpha, f, theta, mode):
    """Validate scalar (or array) inputs; raise ValueError naming the field and allowed range."""
    a, ff, th = (np.asarray(x, dtype=float) for x in (alpha, f, theta))
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ValueError(f"alpha (alpha_prune) must be > 0, got {alpha!r}")
    if not np.all(np.isfinite(ff)) or np.any(ff <= 0) or np.any(ff > 1):
        raise ValueError(f"f (kept fraction) must be in (0, 1], got {f!r}")
    if not np.all(np.isfinite(th)) or np.any(th < 0) or np.any(th >= math.pi / 2):
        raise ValueError(f"theta (probe angle, radians) must be in [0, pi/2), got {theta!r}")


# ----------------------------------------------------------------------------------------------
# Quadrature
# ----------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _gl(n):
    x, w = np.polynomial.legendre.leggauss(n)
    return (x + 1.0) / 2.0, w / 2.0          # on [0, 1]


# Relative panel edges graded towards 0 (resolve a kink / boundary layer of width ~ s there).
_GRADED = np.array([0.0, 1e-5, 1e-4, 5e-4, 2e-3, 6e-3, 0.015, 0.035, 0.07, 0.13, 0.22, 0.35,
                    0.52, 0.75, 1.0])
_UNIFORM8 = np.linspace(0.0, 1.0, 9)
# Graded towards both ends.
_BOTH = np.concatenate([0.5 * _GRADED[:-1], 1.0 - 0.5 * _GRADED[::-1]])


def _panels(lo, hi, rel_edges, n):
    """Composite Gauss-Legendre nodes/weights on [lo, hi] with panel edges lo + (hi-lo)*rel."""
    x, w = _gl(n)
    e = jnp.asarray(rel_edges)
    left, width = e[:-1], e[1:] - e[:-1]
    t = (left[:, None] + width[:, None] * x[None, :]).reshape(-1)
    wt = (width[:, None] * w[None, :]).reshape(-1)
    return lo + (hi - lo) * t, (hi - lo) * wt


def _phi(x):
    return jnp.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _is_easy(mode):
    """Mode as a (traceable) boolean: a string "hard"/"easy", or a bool / 0-1 array (easy=1)."""
    if isinstance(mode, str):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        return jnp.asarray(mode == "easy")
    return jnp.asarray(mode, bool)


def kept_interval(f, mode):
    """Kept |z| range: keep-hard |z| < gamma, f = erf(gamma/sqrt2); keep-easy |z| > gamma,
    f = 2 H(gamma) (note section 1).  Returns (lo, hi) of the z >= 0 half."""
    f = jnp.asarray(f, float_dtype())
    easy = _is_easy(mode)
    fs = jnp.where(f < 1.0, f, 0.5)
    g_hard = jnp.minimum(jnp.where(f < 1.0, math.sqrt(2.0) * erfinv(fs), Z_MAX), Z_MAX)
    g_easy = jnp.where(f < 1.0, -ndtri(fs / 2.0), 0.0)
    lo = jnp.where(easy, g_easy, 0.0)
    hi = jnp.where(easy, g_easy + Z_MAX, g_hard)
    return lo, hi


def _Phi(r):
    """Standard normal CDF through one erfc (absolute error ~1e-16, all that G needs)."""
    return 0.5 * jax.lax.erfc(-r / math.sqrt(2.0))


@jax.custom_jvp
def _K(d, s):
    """K = E_w[(d - s w)_+] = d Phi(d/s) + s phi(d/s);  dK/dd = Phi, dK/ds = phi."""
    r = d / s
    return d * _Phi(r) + s * _phi(r)


@_K.defjvp
def _K_jvp(primals, tangents):
    d, s = primals
    dd, ds = tangents
    r = d / s
    return _K(d, s), _Phi(r) * dd + _phi(r) * ds


@jax.custom_jvp
def G(d, s):
    """G = E_w[(d - s w)_+^2] for w ~ N(0,1), d = kappa - m (note eq. "G(m,s)").

    Closed-form derivatives (custom JVP): dG/dd = 2 K(d, s), dG/ds = 2 s Phi(d/s), with K the
    first moment; second derivatives follow from K's own rule.  ~2x cheaper Newton Jacobians
    than differentiating the formula."""
    r = d / s
    return (d * d + s * s) * _Phi(r) + s * d * _phi(r)


@G.defjvp
def _G_jvp(primals, tangents):
    d, s = primals
    dd, ds = tangents
    return G(d, s), 2.0 * _K(d, s) * dd + 2.0 * s * _Phi(d / s) * ds


# ----------------------------------------------------------------------------------------------
# theta = 0: reduced functional B0(eps, kappa)
# ----------------------------------------------------------------------------------------------

def _z_rule_kink(lo, hi, zk, n=10):
    """z rule on [lo, hi] split at the kink zk, graded towards the kink from both sides."""
    zk = jnp.clip(zk, lo, hi)
    z1, w1 = _panels(zk, lo, _GRADED, n)      # from the kink down to lo (negative widths)
    z2, w2 = _panels(zk, hi, _GRADED, n)
    return jnp.concatenate([z1, z2]), jnp.concatenate([-w1, w2])


def B0(eps, kappa, alpha, f, mode="hard"):
    """Reduced functional at theta = 0 (J_probe = T, rho = R), note section 2 "theta = 0":
    B0 = 1 - R^2 - alpha <G(R|z|, sqrt(1-R^2))>_kept,  R = cos(pi eps)."""
    R, s = jnp.cos(jnp.pi * eps), jnp.sin(jnp.pi * eps)
    lo, hi = kept_interval(f, mode)
    zk = kappa / jnp.maximum(R, 1e-12)
    zk = jnp.where(R > 1e-12, zk, hi)
    z, w = _z_rule_kink(lo, hi, zk)
    w = w * _phi(z)
    E = jnp.sum(w * G(kappa - R * z, s)) / jnp.sum(w)
    return s * s - alpha * E


def _residual0(x, alpha, f, mode):
    eps, kappa = x[0], x[1]
    dB = jax.grad(B0, argnums=0)(eps, kappa, alpha, f, mode)
    return jnp.stack([dB, B0(eps, kappa, alpha, f, mode)])


def _newton(F, x0, lower, upper, iters=40, tol=1e-12):
    """Damped Newton on F(x) = 0 keeping lower < x < upper.

    Returns (x, max|F(x_last)|, J(x_last)) where x_last is the iterate before the final step
    (one jacfwd pass gives both F and its Jacobian)."""
    FJ = jax.jacfwd(lambda y: (F(y), F(y)), has_aux=True)
    n = x0.shape[0]

    def body(state):
        x, it, _, _, _ = state
        J, r = FJ(x)
        dx = jnp.linalg.solve(J, -r)
        dx = jnp.where(jnp.all(jnp.isfinite(dx)), dx, jnp.zeros_like(dx))
        # keep inside the box: shrink the step to at most 90% of the distance to a wall
        room = jnp.where(dx > 0, (upper - x) / jnp.where(dx > 0, dx, 1.0),
                         (lower - x) / jnp.where(dx < 0, dx, -1.0))
        room = jnp.where(dx == 0, jnp.inf, jnp.abs(room))
        t = jnp.minimum(1.0, 0.9 * jnp.min(room))
        return x + t * dx, it + 1, jnp.max(jnp.abs(t * dx)), jnp.max(jnp.abs(r)), J

    def cond(state):
        x, it, step, res, _ = state
        return (it < iters) & (step > tol) & ~(res < 1e-300)

    inf = jnp.asarray(jnp.inf, x0.dtype)
    st0 = (x0, 0, inf, inf, jnp.zeros((n, n), x0.dtype))
    x, _, step, res, J = jax.lax.while_loop(cond, body, st0)
    # the residual is measured at the last linearisation point; a converged Newton step is tiny
    res = jnp.where(step < 1e-8, res, inf)
    return x, res, J


def _max_eps_grid():
    return np.concatenate([np.geomspace(1e-7, 0.05, 32, endpoint=False),
                           np.linspace(0.05, 0.995, 48)])


def _global_theta0(alpha, f, mode, n_bisect=40):
    """Nested global scheme (note: pitfalls): kappa_max = largest kappa with max_eps B0 >= 0.
    Returns a starting point (eps, kappa) for the Newton polish; avoids spurious roots."""
    grid = jnp.asarray(_max_eps_grid(), float_dtype())
    bmax = lambda k: jnp.max(jax.vmap(lambda e: B0(e, k, alpha, f, mode))(grid))

    hi = jax.lax.while_loop(lambda k: bmax(k) >= 0.0, lambda k: 2.0 * k,
                            jnp.asarray(0.5, float_dtype()))

    def bis(_, lohi):
        lo, hi = lohi
        mid = 0.5 * (lo + hi)
        ok = bmax(mid) >= 0.0
        return jnp.where(ok, mid, lo), jnp.where(ok, hi, mid)

    lo, hi = jax.lax.fori_loop(0, n_bisect, bis, (jnp.zeros_like(hi), hi))
    vals = jax.vmap(lambda e: B0(e, lo, alpha, f, mode))(grid)
    return jnp.stack([grid[jnp.argmax(vals)], lo])


def _solve_x(F, x0, lower, upper):
    """Root of F with implicit-function-theorem derivatives (jax.lax.custom_root)."""
    def solve(g, x):
        xs, res, _ = _newton(g, x, lower, upper)
        return xs, res

    def tangent_solve(g, y):
        return jnp.linalg.solve(jax.jacobian(g)(y), y)

    return jax.lax.custom_root(F, x0, solve, tangent_solve, has_aux=True)


def solve_theta0(alpha, f=1.0, mode="hard"):
    """Max-margin pruned perceptron at theta = 0 (perfect metric).

    Global nested search for kappa_max, then Newton polish of (dB0/deps, B0) = 0, with IFT
    derivatives w.r.t. alpha and f.  Returns dict(eps, R, rho, kappa, residual, status).
    """
    dt = float_dtype()
    alpha, f = jnp.asarray(alpha, dt), jnp.asarray(f, dt)
    x0 = jax.lax.stop_gradient(_global_theta0(alpha, f, mode))
    F = lambda x: _residual0(x, alpha, f, mode)
    lower = jnp.asarray([0.0, 0.0], dt)
    upper = jnp.asarray([1.0, jnp.inf], dt)
    x, res = _solve_x(F, x0, lower, upper)
    eps, kappa = x[0], x[1]
    R = jnp.cos(jnp.pi * eps)
    ok = res < 1e-9
    status = jnp.where(ok, jnp.where(R > 0, OK, SPURIOUS), NOT_CONVERGED)
    return dict(eps=eps, R=R, rho=R, kappa=kappa, residual=res, status=status)


# ----------------------------------------------------------------------------------------------
# General theta > 0: B(phi, psi, kappa)
# ----------------------------------------------------------------------------------------------

# Quadrature of the 2-D (z, v) average.  QUAD["fine"] is the reference rule; the default
# "standard" rule agrees with it to ~1e-6 in eps on the benchmark grid (tests check this).
QUAD = {
    "standard": dict(z=np.array([0.0, 0.01, 0.04, 0.1, 0.2, 0.35, 0.55, 0.78, 1.0]), nz=6,
                     v=np.array([0.0, 1e-3, 0.01, 0.05, 0.15, 0.35, 0.6, 1.0]), nv=5),
    "fine": dict(z=_GRADED, nz=8,
                 v=np.array([0.0, 1e-4, 1e-3, 0.01, 0.04, 0.12, 0.3, 0.6, 1.0]), nv=6),
}
_RULE = "standard"


def _both(rel):
    return np.concatenate([0.5 * rel[:-1], 1.0 - 0.5 * rel[::-1]])


def _z_rule(f, mode):
    q = QUAD[_RULE]
    lo, hi = kept_interval(f, mode)
    z, w = _panels(lo, hi, q["z"], q["nz"])
    w = w * _phi(z)
    return z, w / jnp.sum(w)


def _order_params(phi, psi, theta):
    ct, st = jnp.cos(theta), jnp.sin(theta)
    R = jnp.cos(phi)
    rho = jnp.cos(phi) * ct + jnp.sin(phi) * st * jnp.cos(psi)
    s = jnp.sin(phi) * jnp.sin(psi)
    a = jnp.cos(phi) - jnp.sin(phi) * jnp.cos(psi) * ct / st
    b = jnp.sin(phi) * jnp.cos(psi) / st
    return R, rho, s, a, b


def _E_given_z(z, kappa, s, a, b, theta):
    """<G(a|u| + b sgn(u) z, s)>_v at fixed probe field z; v-panels split at the jump u = 0 and
    at the two kinks m = kappa (u > 0) and m = kappa (u < 0)."""
    ct, st = jnp.cos(theta), jnp.sin(theta)
    a_safe = jnp.where(jnp.abs(a) > 1e-12, a, 1e-12)
    u_p = (kappa - b * z) / a_safe
    u_m = -(kappa + b * z) / a_safe
    # The kink breakpoints only place nodes: G is smooth across them (s > 0), so the integral's
    # derivative has no boundary term there and stop_gradient is exact.  Differentiating through
    # them instead amplifies quadrature error by d(breakpoint)/da ~ 1/a^2 near a = 0 and made
    # spurious roots (keep-easy, small f).  The jump at u = 0 keeps its gradient (theta only).
    kinks = jax.lax.stop_gradient(jnp.stack([(u_p - ct * z) / st, (u_m - ct * z) / st]))
    br = jnp.concatenate([(-z * ct / st)[None], kinks])
    br = jnp.sort(jnp.clip(jnp.where(jnp.isfinite(br), br, V_MAX), -V_MAX, V_MAX))
    edges = jnp.concatenate([jnp.asarray([-V_MAX], br.dtype), br, jnp.asarray([V_MAX], br.dtype)])
    q = QUAD[_RULE]
    vs, ws = jax.vmap(lambda l, h: _panels(l, h, _both(q["v"]), q["nv"]))(edges[:-1], edges[1:])
    v, w = vs.reshape(-1), ws.reshape(-1) * _phi(vs.reshape(-1))
    u = ct * z + st * v
    m = a * jnp.abs(u) + b * jnp.sign(u) * z
    return jnp.sum(w * G(kappa - m, s))


def B(phi, psi, kappa, alpha, f, theta, mode="hard"):
    """Gardner functional B = 1 - Q - alpha E for theta > 0 (module docstring; note section 2,
    "What the equations are" and "Robust numerical form").  1 - Q = s^2 exactly."""
    R, rho, s, a, b = _order_params(phi, psi, theta)
    z, w = _z_rule(f, mode)
    Ez = jax.vmap(lambda zz: _E_given_z(zz, kappa, s, a, b, theta))(z)
    return s * s - alpha * jnp.sum(w * Ez)


def _residual(x, alpha, f, theta, mode):
    gphi, gpsi = jax.grad(B, argnums=(0, 1))(x[0], x[1], x[2], alpha, f, theta, mode)
    return jnp.stack([gphi, gpsi, B(x[0], x[1], x[2], alpha, f, theta, mode)])


_LOWER = (0.0, 0.0, 0.0)
_UPPER = (math.pi, math.pi, math.inf)


def _track_start(alpha, h0=0.1):
    """Continuation state (x, log f, previous x, previous log f, step) at f = 1: the unpruned
    solution mapped to (phi, psi, kappa) = (pi eps_full, pi/2, kappa_full); no gradient."""
    full = solve_theta0(jax.lax.stop_gradient(alpha), 1.0, "hard")
    x1 = jnp.stack([jnp.pi * full["eps"], jnp.asarray(jnp.pi / 2, alpha.dtype), full["kappa"]])
    x1 = jax.lax.stop_gradient(x1)
    lf = jnp.zeros((), x1.dtype)
    return x1, lf, x1, lf, jnp.asarray(h0, x1.dtype)


def _continue(track, alpha, f_target, theta, mode, h_min=2e-4, max_steps=400, h_max=0.3,
              newton_iters=15):
    """Continuation in log f from the state ``track`` (see ``_track_start``) down to f_target.

    Each step predicts by secant extrapolation through the last two accepted roots, then
    Newton-corrects.  A step is accepted when Newton converges (|F| < 1e-10) to a maximum of B
    over (R, rho) and the solution moved by < 0.2 (no jump to another branch); a rejected step
    is retried at half the size, so a numerical failure is not mistaken for a fold.  When the
    step shrinks below h_min the branch has ended (fold / collapse): failed=True and the state
    holds the last f reached (note: pitfalls).  Returns (track, failed, J, steps) with J the
    residual Jacobian near the root; the step size carries over to the next call."""
    x0 = track[0]
    dt = x0.dtype
    lo, hi = jnp.asarray(_LOWER, dt), jnp.asarray(_UPPER, dt)
    lft = jnp.log(jnp.asarray(f_target, dt))

    def cond(st):
        (x, lf, xp, lfp, h), k, failed, J = st
        return ((lf > lft) | (k == 0)) & (~failed) & (k < max_steps)

    def body(st):
        (x, lf, xp, lfp, h), k, failed, J = st
        lf_try = jnp.maximum(lft, lf - h)
        slope = jnp.where(lf != lfp, (lf_try - lf) / jnp.where(lf != lfp, lf - lfp, 1.0), 0.0)
        pred = jnp.clip(x + slope * (x - xp), lo + 1e-9, hi - 1e-9)
        F = lambda y: _residual(y, alpha, jnp.exp(lf_try), theta, mode)
        xn, res, Jn = _newton(F, pred, lo, hi, iters=newton_iters)
        good = ((res < 1e-10) & jnp.all(jnp.abs(xn - x) < 0.2) & jnp.all(jnp.isfinite(xn))
                & _is_max(Jn)[0])
        h2 = jnp.where(good, jnp.minimum(1.5 * h, h_max), 0.5 * h)
        tr = (jnp.where(good, xn, x), jnp.where(good, lf_try, lf), jnp.where(good, x, xp),
              jnp.where(good, lf, lfp), h2)
        return tr, k + 1, h2 < h_min, jnp.where(good, Jn, J)

    st0 = (track, 0, jnp.asarray(False), jnp.full((3, 3), jnp.nan, dt))
    track, k, failed, J = jax.lax.while_loop(cond, body, st0)
    failed = failed | (track[1] > lft)
    return track, failed, J, k


def _is_max(J):
    """Is the root a maximum of B over (phi, psi)?  J[:2, :2] is that Hessian.  Returns
    (no clearly positive eigenvalue, largest eigenvalue); near-zero eigenvalues are accepted
    (keep-easy at small f has a flat direction as the student aligns with the probe)."""
    Hm = 0.5 * (J[:2, :2] + J[:2, :2].T)
    tr, det = Hm[0, 0] + Hm[1, 1], Hm[0, 0] * Hm[1, 1] - Hm[0, 1] ** 2
    disc = jnp.sqrt(jnp.maximum(0.25 * tr * tr - det, 0.0))
    lmax, lmin = 0.5 * tr + disc, 0.5 * tr - disc
    return lmax <= 1e-6 * jnp.maximum(1.0, jnp.abs(lmin)), lmax


def solve(alpha, f, theta, mode="hard"):
    """Pruned max-margin perceptron at probe angle theta > 0 (paper eqs. (1)-(3)).

    Continuation in f from f = 1 (where R = R_full, rho = R_full cos theta, kappa = kappa_full,
    i.e. phi = pi eps_full, psi = pi/2), then implicit-function-theorem derivatives through
    ``jax.lax.custom_root`` (the continuation's converged point is the root), so jax.grad works
    w.r.t. alpha, f and theta.  Returns dict(eps, R, rho, kappa, residual, status, f_end):
    status FOLD (eps = nan) when the tracked branch ends before f (f_end = where it ended);
    SPURIOUS when the root is not a maximum of B over (R, rho) or has R <= 0.
    jit/vmap-able; mode is "hard"/"easy" or a traced bool (easy=True), so one compiled
    program serves both modes.  For theta == 0 use ``solve_theta0`` (B is singular there).
    """
    dt = float_dtype()
    alpha, f, theta = (jnp.asarray(v, dt) for v in (alpha, f, theta))
    sg = jax.lax.stop_gradient
    track, failed, J, _ = _continue(_track_start(alpha), sg(alpha), sg(f), sg(theta), mode)
    xc, f_end = track[0], jnp.exp(track[1])
    F = lambda x: _residual(x, alpha, f, theta, mode)

    def tangent_solve(g, y):
        return jnp.linalg.solve(jax.jacobian(g)(y), y)

    x = jax.lax.custom_root(F, xc, lambda g, x0: x0, tangent_solve)
    phi, psi, kappa = x[0], x[1], x[2]
    R, rho, *_ = _order_params(phi, psi, theta)
    is_max, _ = _is_max(J)
    status = jnp.where(failed, FOLD, jnp.where(is_max & (R > 0), OK, SPURIOUS))
    eps = jnp.where(failed, jnp.nan, phi / jnp.pi)
    return dict(eps=eps, R=R, rho=rho, kappa=kappa, status=status,
                residual=jnp.max(jnp.abs(F(x))),       # stationarity residual at the root
                f_end=jnp.where(failed, f_end, jnp.nan))


def solve_branch(alpha, f_grid, theta, mode="hard"):
    """Track one branch in f from f = 1 through f_grid (must be DEcreasing), theta > 0.

    One continuation passes through all grid points (lax.scan over the grid, adaptive steps in
    between); after the branch ends (fold) every later point has status FOLD and eps = nan.
    Values only (use ``solve`` for derivatives).  Returns dict of arrays [len(f_grid)].
    """
    dt = float_dtype()
    alpha, theta = jnp.asarray(alpha, dt), jnp.asarray(theta, dt)
    f_grid = jnp.asarray(f_grid, dt)

    def step(carry, f):
        track, failed = carry
        # once the branch has ended, stay put (a no-op solve at the last f reached)
        f_eff = jnp.where(failed, jnp.exp(track[1]), f)
        track, fail_n, J, nsteps = _continue(track, alpha, f_eff, theta, mode)
        fail_n = failed | fail_n
        xn = track[0]
        is_max, lmax = _is_max(J)
        R, rho, *_ = _order_params(xn[0], xn[1], theta)
        status = jnp.where(fail_n, FOLD, jnp.where(is_max & (R > 0), OK, SPURIOUS))
        out = dict(eps=jnp.where(fail_n, jnp.nan, xn[0] / jnp.pi), R=R, rho=rho, kappa=xn[2],
                   status=status, f_end=jnp.where(fail_n, jnp.exp(track[1]), jnp.nan),
                   steps=nsteps, hess_max=lmax)
        return (track, fail_n), out

    _, out = jax.lax.scan(step, (_track_start(alpha), jnp.asarray(False)), f_grid)
    return out


_CHUNK = 16
# One compiled branch solver, called once per branch: a vmapped while_loop runs every branch in
# lock-step with the slowest (folds retry with halving steps), which was ~3x slower on CPU.
_branch_j = jax.jit(solve_branch)
_solve0_v = jax.jit(jax.vmap(solve_theta0))


def predict(alpha, f, theta=0.0, mode="hard"):
    """Theory on a grid: broadcast (alpha, f, theta, mode) and solve every point.

    theta == 0 points use the reduced theta = 0 solver (vmapped).  theta > 0 points are grouped
    by (alpha, theta, mode); each group is one continuation branch from f = 1 through its f
    values (one compiled branch solver, called per branch).  Inputs are validated first
    (ValueError naming the field).
    Returns numpy arrays eps, R, rho, kappa, status (OK/FOLD/SPURIOUS/NOT_CONVERGED) and f_end.
    """
    modes = np.asarray(mode)
    for m in np.unique(modes):
        if m not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {m!r}")
    check_inputs(alpha, f, theta, "hard")
    a, ff, th, md = np.broadcast_arrays(np.asarray(alpha, float), np.asarray(f, float),
                                        np.asarray(theta, float), modes == "easy")
    shape = a.shape
    a, ff, th, md = (x.reshape(-1) for x in (a, ff, th, md))
    out = {k: np.full(a.shape, np.nan) for k in ("eps", "R", "rho", "kappa", "f_end")}
    out["status"] = np.zeros(a.shape, int)
    sel = np.flatnonzero(th == 0)
    for c in range(0, sel.size, _CHUNK):  # fixed chunks: one compiled shape for every call
        part = sel[c: c + _CHUNK]
        pad = lambda x, v: np.concatenate([x[part], np.full(_CHUNK - part.size, v, x.dtype)])
        r = _solve0_v(*(jnp.asarray(pad(x, v)) for x, v in ((a, 1.0), (ff, 1.0), (md, False))))
        for k in out:
            if k in r:
                out[k][part] = np.asarray(r[k])[: part.size]
    idx = np.flatnonzero(th > 0)
    if idx.size:
        groups = {}
        for i in idx:
            groups.setdefault((a[i], th[i], md[i]), []).append(i)
        fgrid = np.unique(ff[idx])[::-1]                    # one shared decreasing grid
        fgrid = np.concatenate([fgrid, np.full((-fgrid.size) % 8, fgrid[-1])])
        for (ga, gth, gmd), members in groups.items():
            r = _branch_j(jnp.asarray(ga), jnp.asarray(fgrid), jnp.asarray(gth), jnp.asarray(gmd))
            r = {k: np.asarray(v) for k, v in r.items()}
            for i in members:
                j = int(np.flatnonzero(fgrid == ff[i])[0])
                for k in out:
                    out[k][i] = r[k][j]
    return {k: v.reshape(shape) for k, v in out.items()}
