"""Registered experiments: a plain dict from name to :class:`~scalesim.experiments.base.Experiment`."""

from .bahri_regimes import EXPERIMENT as _bahri_regimes
from .base import Experiment, report, run_experiment, status
from .elhage_phase import EXPERIMENT as _elhage_phase
from .emergence_metrics import EXPERIMENT as _emergence_metrics
from .pass_at_k import EXPERIMENT as _pass_at_k
from .pruning_frontier import EXPERIMENT as _pruning_frontier
from .pruning_prototypes import EXPERIMENT as _pruning_prototypes
from .pruning_theory_vs_sim import EXPERIMENT as _pruning_theory_vs_sim
from .quanta_scaling import EXPERIMENT as _quanta_scaling
from .rf_compute_optimal import EXPERIMENT as _rf_compute_optimal
from .rf_duality import EXPERIMENT as _rf_duality
from .sgd_powerlaw import EXPERIMENT as _sgd_powerlaw
from .superposition_density import EXPERIMENT as _superposition_density
from .superposition_grid import EXPERIMENT as _superposition_grid
from .superposition_large import EXPERIMENT as _superposition_large
from .teacher_student_mlp import EXPERIMENT as _teacher_student_mlp

REGISTRY: dict[str, Experiment] = {
    e.name: e
    for e in (
        _sgd_powerlaw,
        _teacher_student_mlp,
        _bahri_regimes,
        _rf_duality,
        _rf_compute_optimal,
        _superposition_grid,
        _superposition_large,
        _superposition_density,
        _elhage_phase,
        _pruning_theory_vs_sim,
        _pruning_frontier,
        _pruning_prototypes,
        _quanta_scaling,
        _emergence_metrics,
        _pass_at_k,
    )
}

__all__ = ["REGISTRY", "Experiment", "run_experiment", "report", "status"]
