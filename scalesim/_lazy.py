"""Lazy access to a package's public submodules (``package.NAME`` imports ``NAME`` on first use)."""

from __future__ import annotations

import importlib
import pkgutil


def submodules(name: str, path) -> tuple[list[str], object, object]:
    """``(__all__, __getattr__, __dir__)`` for the package ``name`` at ``path``.

    ``__all__`` lists the public (not underscore-prefixed) submodules; ``__getattr__`` imports
    one on first access.
    """
    public = sorted(m.name for m in pkgutil.iter_modules(path) if not m.name.startswith("_"))

    def getattr_(attr):
        if attr in public:
            return importlib.import_module(f".{attr}", name)
        raise AttributeError(f"module {name!r} has no attribute {attr!r}")

    return public, getattr_, lambda: public
