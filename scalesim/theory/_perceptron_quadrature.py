"""Quadrature of the Gardner functional of the pruned max-margin perceptron.

Sorscher, Geirhos, Shekhar, Ganguli, Morcos (2022), "Beyond neural scaling laws: beating power
law scaling via data pruning", NeurIPS 2022, arXiv:2206.14486, App. A, saddle-point equations
(1)-(3).  They are the stationarity conditions of ONE Gardner-volume (q -> 1) functional

    B(R, rho, kappa) = 1 - Q - alpha * E,
    Q = (R^2 + rho^2 - 2 R rho cos(theta)) / sin^2(theta),
    E = E_kept[(kappa - y t)_+^2],

    eq. (2) <=> B = 0,  eq. (1) <=> dB/dR = 0,  eq. (3) <=> dB/drho = 0,

so B is coded once and ``jax.grad`` supplies (1) and (3).  E is evaluated in the "G form": with
the probe field z, the teacher field u = cos(theta) z + sin(theta) v and the student field
t = a u + b z + s w,

    E = < G(a|u| + b sgn(u) z, s) >_{z kept, v},
    G(m, s) = E_w[(kappa - m - s w)_+^2] = ((kappa-m)^2 + s^2) Phi((kappa-m)/s)
              + s (kappa-m) phi((kappa-m)/s).

Cancellation-free parametrisation: the student sits at polar angle phi from the teacher and
azimuth psi around it (measured from the probe plane), so

    R = cos(phi),  rho = cos(phi) cos(theta) + sin(phi) sin(theta) cos(psi),
    s = sqrt(1 - Q) = sin(phi) sin(psi),  a = cos(phi) - sin(phi) cos(psi) cot(theta),
    b = sin(phi) cos(psi) / sin(theta),   eps = phi / pi.

theta = 0 (perfect metric) uses the reduced form B0(eps, kappa) = sin^2(pi eps) - alpha <G(R|z|, s)>.
All angles here are in radians.  Everything is float64 when ``jax_enable_x64`` is on.
"""
from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import erfinv, ndtri

from scalesim.precision import float_dtype
from scalesim.validate import check_choice

MODES = ("hard", "easy")
Z_MAX = 10.0     # truncation of Gaussian integrals (phi(10) ~ 8e-23)
V_MAX = 9.0


@functools.lru_cache(maxsize=None)
def _gl(n):
    x, w = np.polynomial.legendre.leggauss(n)
    return (x + 1.0) / 2.0, w / 2.0          # on [0, 1]


# Relative panel edges graded towards 0 (resolve a kink / boundary layer of width ~ s there).
_GRADED = np.array([0.0, 1e-5, 1e-4, 5e-4, 2e-3, 6e-3, 0.015, 0.035, 0.07, 0.13, 0.22, 0.35,
                    0.52, 0.75, 1.0])

# Quadrature of the 2-D (z, v) average.  QUAD["fine"] is the reference rule; the default
# "standard" rule agrees with it to ~1e-6 in eps on the benchmark grid.
QUAD = {
    "standard": dict(z=np.array([0.0, 0.01, 0.04, 0.1, 0.2, 0.35, 0.55, 0.78, 1.0]), nz=6,
                     v=np.array([0.0, 1e-3, 0.01, 0.05, 0.15, 0.35, 0.6, 1.0]), nv=5),
    "fine": dict(z=_GRADED, nz=8,
                 v=np.array([0.0, 1e-4, 1e-3, 0.01, 0.04, 0.12, 0.3, 0.6, 1.0]), nv=6),
}
_RULE = "standard"


def _both(rel):
    """Relative edges graded towards both ends of [0, 1]."""
    return np.concatenate([0.5 * rel[:-1], 1.0 - 0.5 * rel[::-1]])


def _panels(lo, hi, rel_edges, n):
    """Composite Gauss-Legendre nodes/weights on [lo, hi] with panel edges lo + (hi-lo)*rel."""
    x, w = _gl(n)
    e = jnp.asarray(rel_edges)
    left, width = e[:-1], e[1:] - e[:-1]
    t = (left[:, None] + width[:, None] * x[None, :]).reshape(-1)
    wt = (width[:, None] * w[None, :]).reshape(-1)
    return lo + (hi - lo) * t, (hi - lo) * wt


def _phi(x):
    # Standard normal pdf.  Not jax.scipy.stats.norm.pdf: that computes exp(-(log(2 pi) + x^2)/2),
    # which differs from this form in the last bits at most x and would move the solved roots.
    return jnp.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _Phi(r):
    """Standard normal CDF through one erfc (absolute error ~1e-16, all that G needs)."""
    return 0.5 * jax.lax.erfc(-r / math.sqrt(2.0))


def is_easy(mode):
    """Mode as a (traceable) boolean: a string "hard"/"easy", or a bool / 0-1 array (easy=1)."""
    if isinstance(mode, str):
        check_choice("mode", mode, MODES)
        return jnp.asarray(mode == "easy")
    return jnp.asarray(mode, bool)


def kept_interval(f, mode):
    """Kept range of the probe field |z| (Sorscher et al. 2022, App. A: pruning by |z|).

    Args:
      f: kept fraction in (0, 1].
      mode: "hard" (keep |z| < gamma, f = erf(gamma/sqrt 2)) or "easy" (keep |z| > gamma,
        f = 2 H(gamma)), or a traced bool (easy = True).

    Returns:
      (lo, hi): the kept range of z >= 0 (dimensionless field, truncated at Z_MAX).
    """
    f = jnp.asarray(f, float_dtype())
    easy = is_easy(mode)
    fs = jnp.where(f < 1.0, f, 0.5)
    g_hard = jnp.minimum(jnp.where(f < 1.0, math.sqrt(2.0) * erfinv(fs), Z_MAX), Z_MAX)
    g_easy = jnp.where(f < 1.0, -ndtri(fs / 2.0), 0.0)
    lo = jnp.where(easy, g_easy, 0.0)
    hi = jnp.where(easy, g_easy + Z_MAX, g_hard)
    return lo, hi


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
    """G(d, s) = E_w[(d - s w)_+^2] for w ~ N(0, 1) (the G form of App. A, eq. (2)'s average).

    Closed-form derivatives (custom JVP): dG/dd = 2 K(d, s), dG/ds = 2 s Phi(d/s), with K the
    first moment; second derivatives follow from K's own rule (~2x cheaper Newton Jacobians
    than differentiating the formula).

    Args:
      d: kappa - m, the margin minus the mean student field (dimensionless).
      s: the student field's standard deviation given (u, z), > 0.

    Returns:
      (d^2 + s^2) Phi(d/s) + s d phi(d/s).
    """
    r = d / s
    return (d * d + s * s) * _Phi(r) + s * d * _phi(r)


@G.defjvp
def _G_jvp(primals, tangents):
    d, s = primals
    dd, ds = tangents
    return G(d, s), 2.0 * _K(d, s) * dd + 2.0 * s * _Phi(d / s) * ds


def _z_rule_kink(lo, hi, zk, n=10):
    """z rule on [lo, hi] split at the kink zk, graded towards the kink from both sides."""
    zk = jnp.clip(zk, lo, hi)
    z1, w1 = _panels(zk, lo, _GRADED, n)      # from the kink down to lo (negative widths)
    z2, w2 = _panels(zk, hi, _GRADED, n)
    return jnp.concatenate([z1, z2]), jnp.concatenate([-w1, w2])


def B0(eps, kappa, alpha, f, mode="hard"):
    """Reduced Gardner functional at theta = 0 (probe = teacher, rho = R).

    Sorscher et al. 2022, App. A, eq. (2) at theta = 0:
    B0 = 1 - R^2 - alpha <G(kappa - R|z|, sqrt(1 - R^2))>_kept, R = cos(pi eps); the solution
    is the largest kappa with max_eps B0 = 0.

    Args:
      eps: test error (generalisation angle / pi), in [0, 1].
      kappa: margin (dimensionless, >= 0).
      alpha: alpha_prune = kept examples per input dimension, > 0.
      f: kept fraction in (0, 1].
      mode: "hard"/"easy" or a traced bool (easy = True).

    Returns:
      B0 (scalar).
    """
    R, s = jnp.cos(jnp.pi * eps), jnp.sin(jnp.pi * eps)
    lo, hi = kept_interval(f, mode)
    zk = kappa / jnp.maximum(R, 1e-12)
    zk = jnp.where(R > 1e-12, zk, hi)
    z, w = _z_rule_kink(lo, hi, zk)
    w = w * _phi(z)
    E = jnp.sum(w * G(kappa - R * z, s)) / jnp.sum(w)
    return s * s - alpha * E


def residual0(x, alpha, f, mode):
    """(dB0/deps, B0) at x = (eps, kappa): App. A eqs. (1)-(2) at theta = 0."""
    eps, kappa = x[0], x[1]
    dB = jax.grad(B0, argnums=0)(eps, kappa, alpha, f, mode)
    return jnp.stack([dB, B0(eps, kappa, alpha, f, mode)])


def _z_rule(f, mode):
    q = QUAD[_RULE]
    lo, hi = kept_interval(f, mode)
    z, w = _panels(lo, hi, q["z"], q["nz"])
    w = w * _phi(z)
    return z, w / jnp.sum(w)


def order_params(phi, psi, theta):
    """(R, rho, s, a, b) of the student at polar angle phi, azimuth psi (radians; see module)."""
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
    """Gardner functional B = 1 - Q - alpha E for theta > 0 (Sorscher et al. 2022, App. A;
    eqs. (1)-(3) are dB/dR = 0, B = 0, dB/drho = 0).  1 - Q = s^2 exactly.

    Args:
      phi: student-teacher angle in radians (eps = phi / pi).
      psi: azimuth of the student around the teacher, radians, measured from the probe plane.
      kappa: margin (dimensionless).
      alpha: alpha_prune = kept examples per input dimension, > 0.
      f: kept fraction in (0, 1].
      theta: probe-teacher angle in radians, in (0, pi/2).
      mode: "hard"/"easy" or a traced bool (easy = True).

    Returns:
      B (scalar).
    """
    R, rho, s, a, b = order_params(phi, psi, theta)
    z, w = _z_rule(f, mode)
    Ez = jax.vmap(lambda zz: _E_given_z(zz, kappa, s, a, b, theta))(z)
    return s * s - alpha * jnp.sum(w * Ez)


def residual(x, alpha, f, theta, mode):
    """(dB/dphi, dB/dpsi, B) at x = (phi, psi, kappa): App. A eqs. (1)-(3)."""
    gphi, gpsi = jax.grad(B, argnums=(0, 1))(x[0], x[1], x[2], alpha, f, theta, mode)
    return jnp.stack([gphi, gpsi, B(x[0], x[1], x[2], alpha, f, theta, mode)])
