"""Code shared by the random-feature experiments (``rf-duality``, ``rf-compute-optimal``).

Not an experiment: the bootstrap resampling of several independent samples from one seed.
"""

from __future__ import annotations

import numpy as np

from ..stats import resample_indices

__all__ = ["resample_groups"]


def resample_groups(sizes, n_boot: int, seed: int) -> list[np.ndarray]:
    """Bootstrap indices for several independent samples, all from one seed.

    When every sample has the same size ``n``, one :func:`scalesim.stats.resample_indices` call
    of ``len(sizes) * n_boot`` rows is split in order, which gives exactly the draws of
    consecutive ``default_rng(seed).integers(0, n, (n_boot, n))`` calls on one generator.
    Samples of different sizes (members dropped as diverged) get one call each, with seeds
    ``seed, seed + 1, ...``.

    Args:
      sizes: sample sizes (rows), each >= 1.
      n_boot: resamples per sample.
      seed: integer seed.

    Returns:
      one ``[n_boot, sizes[i]]`` index array per sample.
    """
    sizes = [int(n) for n in sizes]
    if len(set(sizes)) == 1:
        idx = resample_indices(sizes[0], n_boot * len(sizes), seed)
        return list(idx.reshape(len(sizes), n_boot, sizes[0]))
    return [resample_indices(n, n_boot, seed + k) for k, n in enumerate(sizes)]
