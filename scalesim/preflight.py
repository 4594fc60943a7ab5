"""Pre-flight estimates: refuse a sweep point that cannot fit in memory or finish, before any work.

Every experiment declares ``cost(point, settings) -> Cost``: a cheap, closed-form,
order-of-magnitude count of the dominant arrays (bytes) and arithmetic (FLOPs) of one sweep
point, computed in Python integers so absurd sizes cannot overflow. :func:`check_point` compares
it with the memory this process can use (:func:`scalesim.memory.free_bytes`; override with the
``SCALESIM_MEMORY_BYTES`` environment variable) and its FLOPs with what the device could do in
:data:`MAX_DAYS` days at an optimistic rate (:func:`flop_limit`).

A point whose ensemble does not fit at once but whose members fit in chunks runs chunked
(``max_members="auto"``, bit-identical results on CPU; see :func:`scalesim.engine.member_chunking`).
Genuinely large runs that the estimate refuses wrongly can skip the check with
``--set preflight=off``.
"""

from __future__ import annotations

import dataclasses
import os

from .engine import CHUNK_MIN
from .memory import format_bytes
from .validate import BOOL_WORDS

__all__ = ["Cost", "MAX_DAYS", "ensemble_cost", "needed_bytes", "flop_limit", "check_point",
           "check_preflight"]

MAX_DAYS = 30  # a sweep point that would run longer than this even at an optimistic rate is refused
# Optimistic sustained FLOP/s: accelerators 1e15 (bf16-class peak of a current GPU/TPU chip); a CPU
# core 1e11 (above the fp32 AVX-512 FMA peak of one core), so a refused point is out of reach.
_RATE = {"cpu_core": 1e11, "accelerator": 1e15}


@dataclasses.dataclass(frozen=True)
class Cost:
    """Pre-flight estimate of one sweep point.

    Attributes:
      fixed_bytes: memory that does not scale with the number of members (bytes).
      member_bytes: memory per ensemble member while it trains (bytes); chunking bounds how
        many are live.
      members: ensemble members trained together.
      flops: floating-point operations of the whole point.
      kept_bytes: results kept per member until the point is saved (recorded metrics, final
        parameters); chunking does not reduce them.
    """

    fixed_bytes: int
    member_bytes: int
    members: int
    flops: int
    kept_bytes: int = 0


def ensemble_cost(members: int, member_values: int, fixed_values: int = 0, flops: int = 0, kept_values: int = 0, *,
                  itemsize: int = 4, fixed_itemsize: int = 8) -> Cost:
    """A :class:`Cost` from counts of values.

    Args:
      members: ensemble members.
      member_values: live values per member (parameters, optimizer state, batch, activations).
      fixed_values: values shared by all members (theory grids, spectra; float64 by default).
      flops: total floating-point operations.
      kept_values: result values kept per member (recorded metrics, final parameters).
      itemsize: bytes per member value (float32: 4). fixed_itemsize: bytes per fixed value.

    Returns:
      The :class:`Cost` (exact Python integers).
    """
    return Cost(int(fixed_values) * fixed_itemsize, int(member_values) * itemsize, int(members), int(flops),
                int(kept_values) * itemsize)


def needed_bytes(cost: Cost, max_members=None) -> int:
    """Peak bytes with ``max_members`` members live (``None``: all; ``"auto"``: the engine's floor)."""
    live = cost.members if max_members is None else min(cost.members, CHUNK_MIN if max_members == "auto" else max_members)
    return cost.fixed_bytes + cost.member_bytes * live + cost.kept_bytes * cost.members


def flop_limit(platform: str | None = None, cores: int | None = None) -> float:
    """FLOPs one sweep point may need: :data:`MAX_DAYS` days at an optimistic rate.

    Args:
      platform: ``"cpu"``, ``"gpu"``, ``"tpu"`` (default: JAX's default backend).
      cores: CPU cores (default: ``os.cpu_count()``).

    Returns:
      The limit (FLOP).
    """
    if platform is None:
        import jax

        platform = jax.default_backend()
    rate = _RATE["cpu_core"] * (cores or os.cpu_count() or 1) if platform == "cpu" else _RATE["accelerator"]
    return rate * MAX_DAYS * 86400.0


def check_point(cost: Cost, label: str, available: int, max_members=None, max_flops: float | None = None):
    """Decide whether a point can run.

    Args:
      cost: the point's estimate.
      label: how the point is named in messages.
      available: bytes this process may use.
      max_members: the execution setting (``None``, ``"auto"`` or an int).
      max_flops: the FLOP limit (default :func:`flop_limit` of this machine).

    Returns:
      ``max_members`` to run with: unchanged, or ``"auto"`` when only a chunked run fits.

    Raises:
      ValueError: one line with the estimate and the limit, when the point cannot fit even
        chunked, or needs more FLOPs than ``max_flops``.
    """
    need = needed_bytes(cost, max_members)
    chosen = max_members
    if need > available:
        if max_members is None and needed_bytes(cost, "auto") <= available:
            chosen = "auto"
        else:
            least = needed_bytes(cost, 1)
            hint = "" if least <= available else " even one member at a time"
            chunk = ", --set max_members=auto" if not hint and max_members is not None else ""
            raise ValueError(f"{label} needs ~{format_bytes(need if least <= available else least)} of memory{hint}; "
                             f"this machine has {format_bytes(available)} available (SCALESIM_MEMORY_BYTES overrides "
                             f"it); use smaller sizes{chunk} (or --set preflight=off for a genuinely large run)")
    limit = flop_limit() if max_flops is None else max_flops
    if cost.flops > limit:
        raise ValueError(f"{label} needs ~{cost.flops:.2g} FLOP, more than this machine could do in {MAX_DAYS} days "
                         f"at an optimistic rate ({limit:.2g} FLOP); use smaller sizes (or --set preflight=off for "
                         f"a genuinely large run)")
    return chosen


def check_preflight(value) -> bool:
    """Parse the ``preflight`` execution setting (``on``/``off``, ``true``/``false``, ``1``/``0``)."""
    if isinstance(value, bool):
        return value
    parsed = BOOL_WORDS.get(str(value).strip().lower())
    if parsed is not None:
        return parsed
    raise ValueError(f"preflight must be on or off; got {value!r}")

