"""Shared figure style (matplotlib, Agg backend: headless-safe)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["figure", "COLORS"]

COLORS = plt.rcParams["axes.prop_cycle"].by_key()["color"]


def figure(ncols: int = 1, nrows: int = 1, width: float = 4.2, height: float = 3.4):
    """A figure with a ``nrows x ncols`` grid of axes and the house style."""
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)
    for ax in axes.flat:
        ax.grid(True, which="both", alpha=0.25, lw=0.5)
    fig.set_layout_engine("constrained")
    return fig, axes
