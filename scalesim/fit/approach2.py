"""Chinchilla Approach 2: IsoFLOP parabolas -> N*(C), D*(C) power laws.

Hoffmann et al. (2022) Sec. 3.2: for each compute budget C, fit a parabola
L = p x^2 + q x + r in x = log N to the IsoFLOP points, take the vertex x* = -q / (2p) as
log N*(C), D*(C) = C / (6 N*); then regress log N* and log D* on log C: N* ∝ C^a, D* ∝ C^b.

Known biases even on noise-free data (Czech 2026, "Problems with Chinchilla Approach 2",
Open-Athena, Sec. 3-4): the parabola is a Taylor approximation of an asymmetric curve
(alpha != beta), which shifts the vertex by a constant factor and so biases the intercept
(the extrapolated N*, D*); off-centre sampling that drifts with C biases the exponent too.
``tests/test_fit_approach2.py`` reproduces this against VPNLS on the same points.

Uncertainty: bootstrap within budgets (points resampled inside each IsoFLOP curve with
:func:`scalesim.stats.resample_indices`; all refits vectorised as weighted least squares),
percentile CIs (:func:`scalesim.stats.percentile_ci`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from scalesim.fit.chinchilla import check_data
from scalesim.stats import percentile_ci, resample_indices

__all__ = ["group_budgets", "Approach2Fit", "fit_approach2"]


def group_budgets(C, rtol: float = 0.1) -> np.ndarray:
    """Group IsoFLOP points into compute budgets.

    Args:
      C: training compute per point, in FLOP.
      rtol: sorted compute values within a factor ``1 + rtol`` of the previous one share a
        budget (IsoFLOP points are snapped to a budget within 10%).

    Returns:
      int array: budget label per point, 0 for the smallest budget.
    """
    C = np.asarray(C, np.float64)
    order = np.argsort(C)
    lc = np.log(C[order])
    new = np.concatenate([[True], np.diff(lc) > np.log1p(rtol)])
    labels = np.empty(len(C), dtype=int)
    labels[order] = np.cumsum(new) - 1
    return labels


@dataclass(frozen=True)
class Approach2Fit:
    """An IsoFLOP fit (Hoffmann et al. 2022, Sec. 3.2): N* = exp(log_kN) C^a, D* = exp(log_kD) C^b.

    Attributes:
      method: ``"approach2"``.
      a, b: exponents of N*(C) and D*(C).
      log_kN, log_kD: natural-log intercepts (C in FLOP).
      budgets: geometric-mean compute of each budget (FLOP).
      N_star, D_star, L_star: parabola vertex per budget (parameters, tokens, loss).
      curvature: parabola coefficient p per budget (> 0).
      n_points: points used.
      objective: total residual sum of squares of the parabolas.
      ci: ``{"a": (lo, hi), "b": (lo, hi)}`` bootstrap percentile CIs (empty without bootstrap).
      params: the Chinchilla parameter names, all None (Approach 2 does not estimate them).
    """

    method: str
    a: float
    b: float
    log_kN: float
    log_kD: float
    budgets: np.ndarray
    N_star: np.ndarray
    D_star: np.ndarray
    L_star: np.ndarray
    curvature: np.ndarray
    n_points: int
    objective: float
    ci: dict = field(default_factory=dict)
    params: dict = field(default_factory=lambda: {k: None for k in
                                                  ("E", "A", "B", "alpha", "beta")})

    def N_opt(self, C):
        """Compute-optimal parameters N*(C) = exp(log_kN) C^a.

        Args:
          C: training compute in FLOP.

        Returns:
          Parameters (float64; inf where the power law overflows).
        """
        with np.errstate(over="ignore"):
            return np.exp(self.log_kN + self.a * np.log(np.asarray(C, np.float64)))

    def D_opt(self, C):
        """Compute-optimal tokens D*(C) = exp(log_kD) C^b.

        Args:
          C: training compute in FLOP.

        Returns:
          Tokens (float64; inf where the power law overflows).
        """
        with np.errstate(over="ignore"):
            return np.exp(self.log_kD + self.b * np.log(np.asarray(C, np.float64)))

    def to_dict(self) -> dict:
        """Plain-dict summary (exponents, intercepts, vertices, CIs)."""
        return {"method": self.method, "params": dict(self.params), "a": self.a, "b": self.b,
                "log_kN": self.log_kN, "log_kD": self.log_kD, "objective": self.objective,
                "n_points": self.n_points, "budgets": self.budgets.tolist(),
                "N_star": self.N_star.tolist(), "D_star": self.D_star.tolist(),
                "ci": {k: [float(v[0]), float(v[1])] for k, v in self.ci.items()}}


def _weighted_polyfit(X, y, W):
    """Batched weighted least squares: X [n, k], y [n], W [B, n] -> coef [B, k], rss [B]."""
    G = np.einsum("bn,ni,nj->bij", W, X, X)
    h = np.einsum("bn,ni,n->bi", W, X, y)
    coef = np.einsum("bij,bj->bi", np.linalg.pinv(G), h)
    # a row with fewer distinct points than coefficients is not identified
    coef[(W > 0).sum(1) < X.shape[1]] = np.nan
    r = y[None, :] - coef @ X.T
    return coef, np.einsum("bn,bn->b", W, r * r)


def _vertices(x, L, labels, W):
    """Parabola vertex per budget for each weight row: x* [B, K], L* [B, K], p [B, K], rss."""
    K = labels.max() + 1
    xs, ls, ps, rss = [], [], [], 0.0
    for k in range(K):
        m = labels == k
        xm = x[m]
        mu = xm.mean()
        X = np.stack([(xm - mu) ** 2, xm - mu, np.ones_like(xm)], 1)
        coef, r = _weighted_polyfit(X, L[m], W[:, m])
        p, q, c = coef[:, 0], coef[:, 1], coef[:, 2]
        with np.errstate(all="ignore"):
            xs.append(mu - q / (2 * p))
            ls.append(c - q * q / (4 * p))
        ps.append(p)
        rss = rss + r
    return np.stack(xs, 1), np.stack(ls, 1), np.stack(ps, 1), rss


def _line(lc, y, ok):
    """Least-squares slope and intercept of y on lc per row, using entries where ok."""
    w = ok.astype(np.float64)
    sw = np.maximum(w.sum(1), 1.0)
    mx = (w * lc).sum(1) / sw
    my = (w * np.where(ok, y, 0)).sum(1) / sw
    dx = lc - mx[:, None]
    with np.errstate(all="ignore"):
        slope = (w * dx * np.where(ok, y - my[:, None], 0)).sum(1) / (w * dx * dx).sum(1)
    return slope, my - slope * mx


def fit_approach2(N, D, L, *, C=None, budgets=None, n_boot: int = 1000, seed: int = 0,
                  level: float = 0.95, min_points: int = 3) -> Approach2Fit:
    """Chinchilla Approach 2 (Hoffmann et al. 2022, Sec. 3.2) on IsoFLOP data.

    Budgets with fewer than ``min_points`` points are dropped.

    Args:
      N: parameter counts (> 0).
      D: training tokens (> 0).
      L: losses (> 0).
      C: compute per point in FLOP (default 6 N D).
      budgets: budget label per point (default :func:`group_budgets` of ``C``).
      n_boot: bootstrap resamples within budgets (0: no CIs).
      seed: integer seed; budget ``k`` draws with seed ``[seed, k]``.
      level: two-sided coverage.
      min_points: fewest points per budget.

    Returns:
      :class:`Approach2Fit` with bootstrap percentile CIs of ``a`` and ``b``.

    Raises:
      ValueError: fewer than 2 usable budgets, a parabola opening downward, or a vertex that is
        not finite.
    """
    N, D, L = check_data(N, D, L, min_points=2 * min_points)
    C = 6.0 * N * D if C is None else np.asarray(C, np.float64)
    labels = group_budgets(C) if budgets is None else np.unique(budgets, return_inverse=True)[1]
    keep = np.isin(labels, np.flatnonzero(np.bincount(labels) >= min_points))
    if len(np.unique(labels[keep])) < 2:
        raise ValueError(f"approach2 needs >= 2 IsoFLOP budgets with >= {min_points} points "
                         f"each; found {int((np.bincount(labels) >= min_points).sum())}")
    N, D, L, C = N[keep], D[keep], L[keep], C[keep]
    labels = np.unique(labels[keep], return_inverse=True)[1]
    K = labels.max() + 1
    Cb = np.array([np.exp(np.mean(np.log(C[labels == k]))) for k in range(K)])
    x = np.log(N)
    W = np.ones((1, len(L)))
    xs, ls, ps, rss = _vertices(x, L, labels, W)
    if np.any(ps[0] <= 0):
        bad = Cb[ps[0] <= 0]
        raise ValueError(f"approach2: IsoFLOP parabola opens downward at budget(s) "
                         f"{', '.join(f'{c:.3g}' for c in bad)}; no minimum to locate")
    with np.errstate(over="ignore"):
        bad = ~np.isfinite(np.exp(xs[0]))
    if np.any(bad):
        raise ValueError(f"approach2: IsoFLOP vertex not finite at budget(s) "
                         f"{', '.join(f'{c:.3g}' for c in Cb[bad])} (curve too flat)")
    lc = np.log(Cb)[None, :]
    logD = np.log(Cb)[None, :] - np.log(6.0) - xs
    a, kN = _line(lc, xs, np.ones_like(xs, bool))
    b, kD = _line(lc, logD, np.ones_like(xs, bool))
    ci = {}
    if n_boot > 0:
        Wb = np.zeros((n_boot, len(L)))
        for k in range(K):
            idx = np.flatnonzero(labels == k)
            # one independent numpy stream per budget (a seed may be a sequence of ints)
            draw = resample_indices(len(idx), n_boot, seed=[seed, k])
            np.add.at(Wb, (np.repeat(np.arange(n_boot), len(idx)), idx[draw].ravel()), 1.0)
        bx, _, bp, _ = _vertices(x, L, labels, Wb)
        ok = (bp > 0) & np.isfinite(bx)
        ba, bkN = _line(lc, bx, ok)
        bb, _ = _line(lc, lc - np.log(6.0) - bx, ok)
        for name, s in (("a", ba), ("b", bb)):
            ci[name] = percentile_ci(s, level)
    return Approach2Fit(method="approach2", a=float(a[0]), b=float(b[0]), log_kN=float(kN[0]),
                        log_kD=float(kD[0]), budgets=Cb, N_star=np.exp(xs[0]),
                        D_star=np.exp(logD[0]), L_star=ls[0], curvature=ps[0],
                        n_points=len(L), objective=float(rss[0]), ci=ci)
