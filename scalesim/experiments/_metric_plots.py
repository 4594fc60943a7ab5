"""The figure of ``emergence-metrics``: the "emergent" exact-match curve and its smooth
counterpart (linear y), the linearising coordinate ``log(-log EM)`` with the fitted lines, and
the trained ensembles' sequence metrics against their per-token predictions."""

from __future__ import annotations

import numpy as np

from ..plots import COLORS, figure
from ..stats import wilson_interval
from ..theory import metric_artefacts as theory
from ._metric_trained import sequence_stats


def _analytic(ax, ax2, run, s, records):
    A = run.arrays
    grid, p = A["n"], A["p"]
    fine = np.geomspace(grid[0], grid[-1], 400)
    n = s.n_test
    for j, L in enumerate(s.lengths):
        c = COLORS[j % len(COLORS)]
        k = (A["correct"][j] == L).sum(1)
        ci = np.array([wilson_interval(int(x), n) for x in k]).T
        em = k / n
        ax.errorbar(grid, em, yerr=np.abs(ci - em), fmt="o", ms=3, color=c, label=f"exact match, L={L}")
        ax.plot(fine, theory.exact_match(fine, alpha=s.alpha, c=s.c, length=L), "-", color=c, lw=1)
        ok = (k > 0) & (k < n)
        ax2.plot(np.log(grid[ok]), np.log(-np.log(em[ok])), "o", ms=3, color=c, label=f"L={L}")
        zero = k == 0
        if zero.any():  # below the resolution 1/n_test: no value in these coordinates
            ax2.plot(np.log(grid[zero]), np.full(zero.sum(), np.log(-np.log(0.5 / n))), "v", ms=4, mfc="none",
                     color=c)
        fit = [r for r in records if r["quantity"] == f"loglog_slope[L={L}]"]
        if fit and np.isfinite(fit[0]["measured"]):
            ax2.plot(np.log(fine), fit[0]["intercept"] + fit[0]["measured"] * np.log(fine), "-", color=c, lw=1)
        ax2.plot(np.log(fine), theory.log_neg_log_exact_match(fine, alpha=s.alpha, c=s.c, length=L), ":", color="k",
                 lw=0.8)
    ed = (s.lengths[-1] - A["correct"][-1]).mean(1) / s.lengths[-1]
    ax.plot(grid, ed, "s", ms=3, mfc="none", color="gray", label=f"edit distance / L, L={s.lengths[-1]} (smooth)")
    ax.plot(fine, 1 - theory.token_prob(fine, alpha=s.alpha, c=s.c), "--", color="gray", lw=1)
    ax.plot(fine, theory.brier_two_option(theory.token_prob(fine, alpha=s.alpha, c=s.c)) / 2, "-.", color="gray",
            lw=1, label="Brier/2 (smooth)")
    ax.step(grid, theory.mc_grade_two_option(p), where="post", color="k", lw=0.8, label="2-option grade")
    ax.set(xscale="log", xlabel="N", ylabel="metric (linear axis)",
           title=f"analytic l(N)=(N/{s.c:g})^-{s.alpha:g}, n_test={n}")
    ax.legend(fontsize=6)
    ax2.set(xlabel="ln N", ylabel="ln(-ln EM)",
            title=f"fitted (-), theory slope -{s.alpha:g} (:), v = reads 0")
    ax2.legend(fontsize=6)


def _trained(ax, ax2, trained, s, records):
    if not trained:
        ax.set_title("no trained widths")
        return
    L = max(s.lengths)
    n_par = np.array([r.metrics["n_params"] for r in trained], float)
    rows = []
    for r in trained:
        ok = ~r.arrays["diverged"].astype(bool)
        rows.append(sequence_stats(r.arrays["p_cal"][ok], r.arrays["p_test"][ok], r.arrays["sampled"][ok], L)
                    if ok.any() else None)
    for j, (key, lab) in enumerate((("em_greedy", "greedy exact match"), ("em_sampled", "sampled exact match"),
                                    ("edit_greedy", "edit distance / L (smooth)"))):
        scale = 1.0 / L if key == "edit_greedy" else 1.0
        meas = np.array([row[key][0] if row else np.nan for row in rows]) * scale
        pred = np.array([row[key][1] if row else np.nan for row in rows]) * scale
        se = np.array([np.hypot(row[key][2], row[key][3]) if row else np.nan for row in rows]) * scale
        c = COLORS[j]
        ax.errorbar(n_par, meas, yerr=2 * se, fmt="o", ms=4, color=c, label=f"{lab}, L={L}")
        ax.plot(n_par, pred, "--", color=c, lw=1)
    q = np.array([1 - row["edit_greedy"][1] / L if row else np.nan for row in rows])
    ax.plot(n_par, q, "s--", ms=3, mfc="none", color="gray", lw=1, label="token accuracy q (smooth)")
    ax.set(xlabel="parameters N (linear)", ylabel="metric (linear)", ylim=(-0.02, 1.02),
           title="trained: measured (o), from per-token stats (--)")
    ax.legend(fontsize=6)
    tr = [r for r in records if "z" in r]
    z = np.array([r["z"] for r in tr], float)
    ax2.plot(np.arange(len(z)), z, "o", ms=3)
    ax2.axhline(s.z_max, color="k", lw=0.8, ls="--")
    ax2.set(xlabel="trained record (width, L, metric)", ylabel="|measured - prediction| / SE",
            title=f"sequence metrics vs per-token (agree: z <= {s.z_max:g})")


def plot(runs, s, records):
    fig, axes = figure(ncols=2, nrows=2)
    for r in runs:
        if r.metrics["part"] == "analytic":
            _analytic(axes[0][0], axes[0][1], r, s, records)
    trained = sorted((r for r in runs if r.metrics["part"] == "trained"), key=lambda r: r.metrics["width"])
    _trained(axes[1][0], axes[1][1], trained, s, records)
    return fig
