"""Synthetic IsoFLOP designs on a known Chinchilla surface (for estimator bias studies).

Follows the setup of Czech 2026 ("Problems with Chinchilla Approach 2", Open-Athena, Sec. 3):
per compute budget C, ``n_per_budget`` model sizes log-spaced over +-``width`` decades around
a sampling centre; the centre is the true N_opt(C) (Hoffmann Eq. 4) times
10^(offset + drift * log10(C / C_0)), so ``offset`` is constant off-centre sampling and
``drift`` an offset that grows with compute. D = C / (6 N); L is the law, noise-free unless
``noise`` (relative Gaussian, seeded) is given.
"""

from __future__ import annotations

import numpy as np

from scalesim.fit.allocation import compute_optimal
from scalesim.fit.chinchilla import chinchilla_loss

__all__ = ["ASYMMETRIC_SURFACE", "isoflop_design"]

#: Czech's (2026) asymmetric test surface exponents (alpha = 0.465, beta = 0.155) with
#: Hoffmann et al.'s (2022) E, A, B.
ASYMMETRIC_SURFACE = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.465, "beta": 0.155}


def isoflop_design(params, budgets=(1e17, 1e18, 1e19, 1e20, 1e21), n_per_budget: int = 15,
                   width: float = 1.0, offset: float = 0.0, drift: float = 0.0,
                   noise: float = 0.0, seed: int = 0) -> dict:
    """An IsoFLOP sweep on a known Chinchilla surface (Czech 2026's design).

    Args:
      params: the true law, dict with ``E``, ``A``, ``B``, ``alpha``, ``beta``.
      budgets: compute budgets in FLOP.
      n_per_budget: model sizes per budget (>= 3).
      width: half-width of the log-spaced sizes around the sampling centre, in decades (> 0).
      offset: constant offset of the sampling centre from the true N_opt(C) (Hoffmann et al.
        2022, Eq. 4), in decades.
      drift: extra offset per decade of compute above the first budget, in decades.
      noise: relative Gaussian noise on L (0: noise-free).
      seed: seed of the noise.

    Returns:
      ``{"N", "D", "C", "L"}`` float64 NumPy arrays, ``D = C / (6 N)``.
    """
    if n_per_budget < 3:
        raise ValueError(f"n_per_budget: must be >= 3, got {n_per_budget}")
    if not width > 0:
        raise ValueError(f"width: must be > 0 (decades), got {width}")
    budgets = np.asarray(budgets, np.float64)
    rows = []
    for C in budgets:
        centre = np.log10(compute_optimal(params, C)["N_opt"])
        centre += offset + drift * np.log10(C / budgets[0])
        logn = centre + np.linspace(-width, width, n_per_budget)
        N = 10.0 ** logn
        rows.append(np.stack([N, C / (6.0 * N), np.full_like(N, C)], 1))
    N, D, C = np.concatenate(rows).T
    L = np.asarray(chinchilla_loss(params, N, D), np.float64)
    if noise > 0:
        L = L * (1 + noise * np.random.default_rng(seed).standard_normal(len(L)))
    return {"N": N, "D": D, "C": C, "L": L}
