"""Models and simulators, one per module (``scalesim.models.NAME``).

Each module exports the standard names ``Config``, ``Hyper``, ``make_hyper``, ``PAPERS``,
``example`` and one of ``MODEL`` (an :class:`scalesim.engine.Model`, trained by
:func:`scalesim.train_ensemble`) or ``SIMULATOR`` (a :class:`scalesim.simulator.Simulator`,
run by :func:`scalesim.run_simulator`). Which family each belongs to: ``scalesim.FAMILIES``.
Submodules are imported on first access (``scalesim.models.superposition.MODEL``).
"""

import importlib as _importlib
import pkgutil as _pkgutil

__all__ = sorted(m.name for m in _pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def __getattr__(name):
    if name in __all__:
        return _importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return __all__
