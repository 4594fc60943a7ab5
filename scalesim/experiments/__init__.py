"""Registered experiments: a plain dict from name to :class:`~scalesim.experiments.base.Experiment`."""

from .base import Experiment, report, run_experiment
from .sgd_powerlaw import EXPERIMENT as _sgd_powerlaw

REGISTRY: dict[str, Experiment] = {e.name: e for e in (_sgd_powerlaw,)}

__all__ = ["REGISTRY", "Experiment", "run_experiment", "report"]
