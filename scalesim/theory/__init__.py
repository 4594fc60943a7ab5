"""Theory modules, one entry point per module (``scalesim.theory.NAME``).

Each module holds closed forms and self-consistent solvers (float64 under ``jax_enable_x64``,
differentiable with ``jax.grad``), citing paper and equation, and declares what it predicts with
``exponents(**params) -> dict[str, Prediction]`` and ``PAPERS``. Private solver modules
(``_name``) are not part of the API. Submodules are imported on first access
(``scalesim.theory.superposition.exponents(alpha=1.5)``).
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
