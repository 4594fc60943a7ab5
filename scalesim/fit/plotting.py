"""Figures for the fit command and notebook: fitted surface as IsoFLOP curves, Approach 2."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_chinchilla_fit", "plot_approach2_fit"]


def _figure(ncols):
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    return plt.subplots(1, ncols, figsize=(5.0 * ncols, 4.0), constrained_layout=True)


def plot_chinchilla_fit(fit, N, D, L):
    """Figure of a Chinchilla fit (Hoffmann et al. 2022, Eq. 2 and Eq. 4).

    Left: data L vs N coloured by C = 6ND, with the fitted law along IsoFLOP curves at 5
    compute quantiles and the compute-optimal N_opt(C) path. Right: fitted vs observed.

    Args:
      fit: a :class:`~scalesim.fit.chinchilla.ChinchillaFit`.
      N, D, L: the fitted data (parameters, tokens, loss).

    Returns:
      The matplotlib Figure.
    """
    from scalesim.fit.allocation import compute_optimal
    fig, (ax, bx) = _figure(2)
    C = 6.0 * N * D
    sc = ax.scatter(N, L, c=np.log10(C), s=12, cmap="viridis")
    fig.colorbar(sc, ax=ax, label="log10 C")
    for c in np.quantile(C, [0.05, 0.25, 0.5, 0.75, 0.95]):
        n = np.geomspace(N.min(), N.max(), 200)
        ax.plot(n, fit.predict(n, c / (6 * n)), lw=1, color="k", alpha=0.6)
    cs = np.geomspace(C.min(), C.max(), 50)
    opt = compute_optimal(fit.params, cs)
    ax.plot(np.asarray(opt["N_opt"]), np.asarray(opt["L_opt"]), "r--", lw=1.5,
            label=f"N_opt ∝ C^{fit.a:.3f}")
    ax.set(xscale="log", xlabel="N (parameters)", ylabel="loss",
           ylim=(L.min() * 0.95, np.quantile(L, 0.98) * 1.05), title=f"{fit.method} fit")
    ax.legend()
    pred = fit.predict(N, D)
    bx.scatter(L, pred, s=10)
    lim = [min(L.min(), pred.min()), max(L.max(), pred.max())]
    bx.plot(lim, lim, "k:", lw=1)
    bx.set(xlabel="observed loss", ylabel="fitted loss", xscale="log", yscale="log")
    return fig


def plot_approach2_fit(fit, N, D, L, C):
    """Figure of an Approach-2 fit (Hoffmann et al. 2022, Sec. 3.2).

    Left: IsoFLOP points with the parabola vertices. Right: N*(C), D*(C) and the fitted
    power laws.

    Args:
      fit: an :class:`~scalesim.fit.approach2.Approach2Fit`.
      N, D, L: the data (parameters, tokens, loss).
      C: compute per point in FLOP.

    Returns:
      The matplotlib Figure.
    """
    from scalesim.fit.approach2 import group_budgets
    fig, (ax, bx) = _figure(2)
    labels = group_budgets(C)
    colors = np.linspace(0, 1, labels.max() + 1)
    import matplotlib.cm as cm
    for k in range(labels.max() + 1):
        m = labels == k
        ax.scatter(N[m], L[m], s=10, color=cm.viridis(colors[k]))
    ax.scatter(fit.N_star, fit.L_star, marker="x", color="r", zorder=3, label="vertices")
    ax.set(xscale="log", xlabel="N (parameters)", ylabel="loss", title="IsoFLOP curves")
    ax.legend()
    cs = np.geomspace(fit.budgets.min(), fit.budgets.max(), 50)
    bx.loglog(fit.budgets, fit.N_star, "o", label="N*")
    bx.loglog(fit.budgets, fit.D_star, "s", label="D*")
    bx.loglog(cs, fit.N_opt(cs), "-", label=f"N* ∝ C^{fit.a:.3f}")
    bx.loglog(cs, fit.D_opt(cs), "-", label=f"D* ∝ C^{fit.b:.3f}")
    bx.set(xlabel="C (FLOP)")
    bx.legend()
    return fig
