"""Theory modules, one entry point per module (``scalesim.theory.NAME``).

Each module holds closed forms and self-consistent solvers (float64 under ``jax_enable_x64``,
differentiable with ``jax.grad``), citing paper and equation, and declares what it predicts with
``exponents(**params) -> dict[str, Prediction]`` and ``PAPERS``. Private solver modules
(``_name``) are not part of the API. Submodules are imported on first access
(``scalesim.theory.superposition.exponents(alpha=1.5)``).
"""

from .._lazy import submodules as _submodules

__all__, __getattr__, __dir__ = _submodules(__name__, __path__)
