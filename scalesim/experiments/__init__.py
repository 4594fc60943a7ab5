"""Registered experiments: a plain dict from name to :class:`~scalesim.experiments.base.Experiment`."""

from . import elhage, pruning, random_features, superposition
from .base import Experiment, report, run_experiment
from .rf_compute_optimal import EXPERIMENT as _rf_compute_optimal
from .sgd_powerlaw import EXPERIMENT as _sgd_powerlaw
from .teacher_student_mlp import EXPERIMENT as _teacher_student_mlp

REGISTRY: dict[str, Experiment] = {
    e.name: e
    for e in (
        _sgd_powerlaw,
        _teacher_student_mlp,
        random_features.BAHRI_REGIMES,
        random_features.RF_DUALITY,
        _rf_compute_optimal,
        superposition.GRID,
        superposition.LARGE,
        superposition.DENSITY,
        elhage.PHASE,
        pruning.THEORY_VS_SIM,
        pruning.FRONTIER,
        pruning.PROTOTYPES,
    )
}

__all__ = ["REGISTRY", "Experiment", "run_experiment", "report"]
