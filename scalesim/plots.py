"""Shared figure style (matplotlib, Agg backend: headless-safe)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["figure", "records_errorbar", "COLORS"]

COLORS = plt.rcParams["axes.prop_cycle"].by_key()["color"]


def figure(ncols: int = 1, nrows: int = 1, width: float = 4.2, height: float = 3.4):
    """A figure with a ``nrows x ncols`` grid of axes and the house style."""
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)
    for ax in axes.flat:
        ax.grid(True, which="both", alpha=0.25, lw=0.5)
    fig.set_layout_engine("constrained")
    return fig, axes


def records_errorbar(ax, x, records, *, label="measured (95% CI)", theory_label=None, **kw):
    """Measured values of comparison records (``scalesim.fit.records``) with their CIs at ``x``;
    with ``theory_label``, the records' theory values as black ticks."""
    meas = np.array([r["measured"] for r in records], float)
    ci = np.array([r["ci"] for r in records], float).reshape(-1, 2).T
    ax.errorbar(x, meas, yerr=np.abs(ci - meas), fmt=kw.pop("fmt", "o"), label=label, **kw)
    if theory_label is not None:
        ax.plot(x, [r["theory"] for r in records], "k_", ms=14, label=theory_label)
