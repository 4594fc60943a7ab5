"""scalesim: a differentiable scaling simulator.

Toy models whose scaling laws are known analytically, trained as ``jit(vmap(scan))`` ensembles,
their exponents fitted with confidence intervals and compared with theory modules.

Public API (imported lazily, so ``import scalesim`` stays light):

- contracts: :class:`Model`, :class:`Simulator`, :class:`Prediction`, :class:`Family`,
  :data:`FAMILIES`, :func:`experiment` (look up a registered experiment by name);
- running: :func:`train_ensemble`, :func:`ensemble_outputs`, :func:`run_simulator`,
  :func:`run_experiment`, :func:`report`, :func:`load_results`, :func:`root_key`;
- scale: :func:`member_chunking` / :func:`chunk_plan` (memory-bounded ensembles),
  :class:`Worker` / :func:`detect_worker` (sweep points over processes), :func:`status`;
- the store: :func:`load_runs`, :func:`load_summary`, :func:`check_run` (is a point damaged?);
- :func:`citation`: BibTeX for the papers behind a model, theory, experiment or family;
- subpackages :mod:`scalesim.models`, :mod:`scalesim.theory`, :mod:`scalesim.experiments`,
  :mod:`scalesim.fit`, :mod:`scalesim.datasets`.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "Model": "engine",
    "EnsembleResult": "engine",
    "train_ensemble": "engine",
    "ensemble_outputs": "engine",
    "geometric_steps": "engine",
    "good_members": "engine",
    "member_chunking": "engine",
    "chunk_plan": "engine",
    "Worker": "workers",
    "detect_worker": "workers",
    "status": "experiments.base",
    "Simulator": "simulator",
    "run_simulator": "simulator",
    "Prediction": "prediction",
    "Family": "registry",
    "FAMILIES": "registry",
    "experiment": "registry",
    "citation": "bibliography",
    "run_experiment": "experiments.base",
    "report": "experiments.base",
    "load_results": "experiments.base",
    "Experiment": "experiments.base",
    "load_runs": "store",
    "load_summary": "store",
    "check_run": "store",
    "root_key": "rng",
}
_SUBPACKAGES = ("models", "theory", "experiments", "fit", "datasets")

__all__ = sorted(_EXPORTS) + list(_SUBPACKAGES) + ["__version__"]


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    elif name in _SUBPACKAGES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'scalesim' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return __all__
