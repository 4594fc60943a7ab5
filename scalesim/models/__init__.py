"""Models and simulators, one per module (``scalesim.models.NAME``).

Each module exports the standard names ``Config``, ``Hyper``, ``make_hyper``, ``PAPERS``,
``example`` and one of ``MODEL`` (an :class:`scalesim.engine.Model`, trained by
:func:`scalesim.train_ensemble`) or ``SIMULATOR`` (a :class:`scalesim.simulator.Simulator`,
run by :func:`scalesim.run_simulator`). Which family each belongs to: ``scalesim.FAMILIES``.
Submodules are imported on first access (``scalesim.models.superposition.MODEL``).
"""

from .._lazy import submodules as _submodules

__all__, __getattr__, __dir__ = _submodules(__name__, __path__)
