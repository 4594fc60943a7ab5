"""Device memory: how much is free, what one compiled program needs, how many members fit.

Used by ``train_ensemble(..., max_members="auto")`` to choose the member-chunk size. The free
memory comes from ``Device.memory_stats()`` where the backend reports it (GPU, TPU:
``bytes_limit - bytes_in_use``). The CPU backend reports nothing; there the budget is the
host's available memory (``MemAvailable`` of ``/proc/meminfo``, else
``os.sysconf("SC_AVPHYS_PAGES") * SC_PAGE_SIZE``). ``SCALESIM_MEMORY_BYTES`` overrides both
(e.g. to leave room for other jobs on a shared node, or to rehearse a device smaller than
this one).
"""

from __future__ import annotations

import os
from typing import NamedTuple

import jax

__all__ = ["Budget", "free_bytes", "program_bytes", "members_that_fit", "format_bytes"]

# Share of the free memory a chunk may use: room for the host copies of earlier chunks'
# outputs, the allocator's fragmentation and the next chunk's inputs.
USABLE_FRACTION = 0.5


class Budget(NamedTuple):
    """Free memory of a device: ``bytes`` and where the number came from (``source``)."""

    bytes: int
    source: str


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def free_bytes(device=None) -> Budget:
    """Free memory of ``device`` (default: the first local device).

    Args:
      device: a ``jax.Device``.

    Returns:
      :class:`Budget`: bytes free now and the source, one of ``"SCALESIM_MEMORY_BYTES"``,
      ``"memory_stats"`` (accelerators), ``"/proc/meminfo"`` or ``"sysconf"`` (CPU).

    Raises:
      ValueError: ``SCALESIM_MEMORY_BYTES`` is set but not a positive integer.
    """
    env = os.environ.get("SCALESIM_MEMORY_BYTES")
    if env is not None:
        try:
            value = int(env)
        except ValueError:
            value = 0
        if value < 1:
            raise ValueError(f"SCALESIM_MEMORY_BYTES must be a positive integer number of bytes; got {env!r}")
        return Budget(value, "SCALESIM_MEMORY_BYTES")
    device = jax.local_devices()[0] if device is None else device
    stats = None
    try:
        stats = device.memory_stats()
    except Exception:  # backends without allocator statistics
        stats = None
    if stats and "bytes_limit" in stats:
        return Budget(max(int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0)), 0), "memory_stats")
    avail = _meminfo_available()
    if avail is not None:
        return Budget(avail, "/proc/meminfo")
    return Budget(int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE")), "sysconf")


def program_bytes(compiled) -> int | None:
    """Device bytes a compiled program needs: arguments + outputs + temporaries.

    Args:
      compiled: a ``jax.stages.Compiled`` (``jit(f).lower(...).compile()``).

    Returns:
      bytes, or ``None`` when the backend gives no memory analysis.
    """
    try:
        ma = compiled.memory_analysis()
    except Exception:
        return None
    if ma is None:
        return None
    return int(ma.argument_size_in_bytes + ma.output_size_in_bytes + ma.temp_size_in_bytes)


def members_that_fit(per_member_bytes: int, budget: int, n_members: int) -> int:
    """How many members to run at once: ``USABLE_FRACTION * budget // per_member_bytes``.

    Args:
      per_member_bytes: device bytes of the one-member program (an upper bound per member).
      budget: free device bytes.
      n_members: the ensemble size (the answer never exceeds it).

    Returns:
      an integer in ``[1, n_members]``.
    """
    k = int(USABLE_FRACTION * budget) // max(int(per_member_bytes), 1)
    return max(1, min(k, int(n_members)))


def format_bytes(n: float) -> str:
    """``n`` bytes as a short human-readable string (binary prefixes), e.g. ``'6.9 GiB'``."""
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
    for unit in units:
        if abs(n) < 1024 or unit == units[-1]:
            break
        n /= 1024
    return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
