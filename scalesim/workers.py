"""Sweep points over processes: which share of a sweep this process runs.

A sweep of ``T`` points is split among ``N`` workers deterministically: worker ``I`` runs the
points whose index in the sweep is congruent to ``I`` modulo ``N``. Every worker writes into the
same run store; a point directory appears atomically, so workers never corrupt each other's
points, and two workers given the same share by mistake only compute it twice. No scheduler:
the share comes from the ``--worker I/N`` flag, a SLURM job array, or ``jax.distributed``.

Detection order (:func:`detect_worker`):

1. ``--worker I/N`` given explicitly;
2. ``--distributed``: ``jax.distributed.initialize()`` (which finds the coordinator on TPU pods,
   under SLURM ``srun`` and Open MPI), then ``I = jax.process_index()``,
   ``N = jax.process_count()``;
3. a SLURM job array: ``I = (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) / step`` and
   ``N = SLURM_ARRAY_TASK_COUNT`` (``step`` = ``SLURM_ARRAY_TASK_STEP``, default 1);
4. otherwise one worker, ``0/1``: the whole sweep.
"""

from __future__ import annotations

import os
import re
from typing import Mapping, NamedTuple

__all__ = ["Worker", "parse_worker", "slurm_worker", "detect_worker"]


class Worker(NamedTuple):
    """This process's share of a sweep: ``index`` in ``[0, count)`` and where it came from."""

    index: int = 0
    count: int = 1
    source: str = "single process"

    def share(self, n_points: int) -> list[int]:
        """Sweep indices this worker runs: ``i`` in ``range(n_points)`` with ``i % count == index``."""
        return list(range(self.index, n_points, self.count))

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


_PATTERN = re.compile(r"^\s*([+-]?[0-9]+)\s*/\s*([+-]?[0-9]+)\s*$", re.ASCII)


def _checked(index: int, count: int, what: str, source: str) -> Worker:
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"{what} needs 0 <= I < N with N >= 1; got {index}/{count}")
    if count > 1_000_000:
        raise ValueError(f"{what}: N must be at most 1000000; got {count}")
    return Worker(index, count, source)


def parse_worker(text: str) -> Worker:
    """Parse ``"I/N"`` (as given to ``--worker``).

    Args:
      text: two ASCII integers separated by ``/``, with ``0 <= I < N``.

    Returns:
      :class:`Worker` ``(I, N, "--worker")``.

    Raises:
      ValueError: a malformed text or an index out of range, naming ``--worker``.
    """
    match = _PATTERN.match(text or "")
    if match is None:
        raise ValueError(f"--worker expects I/N (e.g. 0/4); got {text!r}")
    return _checked(int(match.group(1)), int(match.group(2)), "--worker", "--worker")


def slurm_worker(environ: Mapping[str, str]) -> Worker | None:
    """The share of a SLURM job-array task, or ``None`` outside a job array.

    Args:
      environ: the environment (``os.environ``).

    Returns:
      :class:`Worker` from ``SLURM_ARRAY_TASK_ID``/``_MIN``/``_STEP``/``_COUNT``, or ``None``.

    Raises:
      ValueError: the array variables are incomplete or inconsistent (e.g. an array with ids
        that are not ``MIN + k * STEP``); pass ``--worker I/N`` instead.
    """
    if "SLURM_ARRAY_TASK_ID" not in environ:
        return None
    try:
        task = int(environ["SLURM_ARRAY_TASK_ID"])
        count = int(environ["SLURM_ARRAY_TASK_COUNT"])
        low = int(environ.get("SLURM_ARRAY_TASK_MIN", "0"))
        step = int(environ.get("SLURM_ARRAY_TASK_STEP", "1") or "1")
    except (KeyError, ValueError):
        raise ValueError(
            "SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT/_MIN/_STEP are missing or not integers; "
            "pass --worker I/N explicitly"
        ) from None
    if step < 1 or (task - low) % step:
        raise ValueError(f"SLURM array task {task} is not MIN + k*STEP (MIN={low}, STEP={step}); pass --worker I/N")
    return _checked((task - low) // step, count, "the SLURM job array", "SLURM job array")


def detect_worker(flag: str | None = None, *, distributed: bool = False, environ=None) -> Worker:
    """This process's :class:`Worker` (module docstring: flag, ``jax.distributed``, SLURM, single).

    Args:
      flag: the ``--worker`` text, if given.
      distributed: call ``jax.distributed.initialize()`` and use the JAX process index/count.
      environ: the environment to read SLURM variables from (default ``os.environ``).

    Returns:
      :class:`Worker`.
    """
    if flag is not None:
        return parse_worker(flag)
    if distributed:
        import jax

        jax.distributed.initialize()
        return _checked(jax.process_index(), jax.process_count(), "jax.distributed", "jax.distributed")
    found = slurm_worker(os.environ if environ is None else environ)
    return found if found is not None else Worker()
