"""The family registry: every family's models, theory modules, experiments and papers.

A *family* is a group of toy models with a shared theory (superposition, random features, data
pruning, ...). Its record names

- ``models``: modules under :mod:`scalesim.models`, each exporting exactly one of ``MODEL``
  (an :class:`scalesim.engine.Model`, trained by :func:`scalesim.engine.train_ensemble`) or
  ``SIMULATOR`` (a :class:`scalesim.simulator.Simulator`, run by
  :func:`scalesim.simulator.run_simulator`), with ``Config``, ``Hyper``, ``make_hyper`` and
  ``example(dtype)`` (a small case for the conformance suite);
- ``theory``: modules under :mod:`scalesim.theory`, each exporting ``exponents(**params) ->
  dict[str, Prediction]`` (:mod:`scalesim.prediction`);
- ``experiments``: :class:`scalesim.experiments.base.Experiment` records;
- ``papers``: keys of :data:`scalesim.bibliography.BIBTEX`.

The tests walk :mod:`scalesim.models` and the experiments and fail on anything that is not
registered here, and run the conformance suite over every registered model.
"""

from __future__ import annotations

import dataclasses
from types import ModuleType

from . import experiments as _experiments
from .experiments import bahri_regimes as _x_bahri
from .experiments import elhage_phase as _x_elhage_phase
from .experiments import emergence_metrics as _x_emergence_metrics
from .experiments import pass_at_k as _x_pass_at_k
from .experiments import pruning_frontier as _x_pruning_frontier
from .experiments import pruning_prototypes as _x_pruning_prototypes
from .experiments import pruning_theory_vs_sim as _x_pruning_theory_vs_sim
from .experiments import quanta_scaling as _x_quanta_scaling
from .experiments import rf_compute_optimal as _x_rfco
from .experiments import rf_duality as _x_rf_duality
from .experiments import sgd_powerlaw as _x_sgd
from .experiments import superposition_density as _x_sp_density
from .experiments import superposition_grid as _x_sp_grid
from .experiments import superposition_large as _x_sp_large
from .experiments import teacher_student_mlp as _x_tsm
from .models import elhage as _m_elhage
from .models import linear_sgd as _m_linear_sgd
from .models import perceptron as _m_perceptron
from .models import quanta as _m_quanta
from .models import prototypes as _m_prototypes
from .models import plrf as _m_plrf
from .models import rf_gd as _m_rf_gd
from .models import rf_maloney as _m_rf_maloney
from .models import rf_ridge as _m_rf_ridge
from .models import rf_teacher_student as _m_rf_ts
from .models import sampling as _m_sampling
from .models import superposition as _m_sp
from .models import teacher_student_mlp as _m_tsm
from .theory import elhage as _t_elhage
from .theory import linear_sgd as _t_linear_sgd
from .theory import metric_artefacts as _t_metric_artefacts
from .theory import perceptron as _t_perceptron
from .theory import plrf as _t_plrf
from .theory import pruning_frontier as _t_pruning_frontier
from .theory import quanta as _t_quanta
from .theory import random_features as _t_rf
from .theory import sampling as _t_sampling
from .theory import superposition as _t_sp
from .theory import teacher_student_mlp as _t_tsm

__all__ = ["Family", "FAMILIES", "experiment", "experiments", "model_modules", "theory_modules"]


@dataclasses.dataclass(frozen=True)
class Family:
    """One family of toy models (see the module docstring for the contract of each field)."""

    name: str
    description: str
    models: tuple[ModuleType, ...]
    theory: tuple[ModuleType, ...]
    experiments: tuple
    papers: tuple[str, ...]


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            name="superposition",
            description="Superposition toy models: loss vs width from feature frequencies (Liu et al.; Elhage et al.).",
            models=(_m_sp, _m_elhage),
            theory=(_t_sp, _t_elhage),
            experiments=(_x_sp_grid.EXPERIMENT, _x_sp_large.EXPERIMENT, _x_sp_density.EXPERIMENT,
                         _x_elhage_phase.EXPERIMENT),
            papers=("liu2025superposition", "elhage2022toy"),
        ),
        Family(
            name="random-features",
            description="Linear and power-law random features, online SGD, smooth teacher-student MLPs.",
            models=(_m_linear_sgd, _m_rf_ridge, _m_rf_maloney, _m_plrf, _m_rf_gd, _m_rf_ts, _m_tsm),
            theory=(_t_linear_sgd, _t_rf, _t_plrf, _t_tsm),
            experiments=(_x_sgd.EXPERIMENT, _x_bahri.EXPERIMENT, _x_rf_duality.EXPERIMENT, _x_rfco.EXPERIMENT,
                         _x_tsm.EXPERIMENT),
            papers=(
                "bahri2021explaining",
                "maloney2022solvable",
                "paquette2024phases",
                "bordelon2024dynamical",
                "bordelon2020spectrum",
                "atanasov2024scaling",
            ),
        ),
        Family(
            name="data-pruning",
            description="Pruned max-margin perceptron: replica theory vs simulation (Sorscher et al.).",
            models=(_m_perceptron, _m_prototypes),
            theory=(_t_perceptron, _t_pruning_frontier),
            experiments=(_x_pruning_theory_vs_sim.EXPERIMENT, _x_pruning_frontier.EXPERIMENT,
                         _x_pruning_prototypes.EXPERIMENT),
            papers=("sorscher2022beyond",),
        ),
        Family(
            name="emergence",
            description="Emergence: quanta (multitask sparse parity), metric artefacts, pass@k and PassUntil sampling "
                        "laws (Michaud 2023; Schaeffer 2023, 2025; Hu 2024).",
            models=(_m_quanta, _m_sampling),
            theory=(_t_quanta, _t_metric_artefacts, _t_sampling),
            experiments=(_x_quanta_scaling.EXPERIMENT, _x_emergence_metrics.EXPERIMENT, _x_pass_at_k.EXPERIMENT),
            papers=("michaud2023quantization", "nam2024exactly", "schaeffer2023mirage", "chen2021evaluating",
                    "brown2024monkeys", "schaeffer2025monkeys", "hu2024passuntil"),
        ),
    )
}


def experiments() -> dict:
    """All registered experiments, name -> ``Experiment`` (same as ``scalesim.experiments.REGISTRY``)."""
    return dict(_experiments.REGISTRY)


def experiment(name: str):
    """The registered experiment called ``name``; ``ValueError`` naming the known ones otherwise."""
    reg = _experiments.REGISTRY
    if name not in reg:
        raise ValueError(f"unknown experiment {name!r}; run `scalesim list` (known: {', '.join(sorted(reg))})")
    return reg[name]


def model_modules() -> list[ModuleType]:
    """Every registered model module, in family order."""
    return [m for f in FAMILIES.values() for m in f.models]


def theory_modules() -> list[ModuleType]:
    """Every registered theory module, in family order."""
    return [m for f in FAMILIES.values() for m in f.theory]


_MODEL_NAMES = ("Config", "Hyper", "make_hyper", "PAPERS", "example")


def _stems(package) -> set[str]:
    import pkgutil

    return {m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_")}


def contract_problems() -> list[str]:
    """Every way the code departs from the registry's contract (empty when all is well).

    Checks that each public module under :mod:`scalesim.models`, :mod:`scalesim.theory` and
    :mod:`scalesim.experiments` is registered in a family; that each registered model module
    exports the standard names and exactly one of ``MODEL``/``SIMULATOR``; that each theory
    module exports ``exponents`` and ``PAPERS``; that each experiment module holds one
    ``EXPERIMENT``, registered in one family and in ``scalesim.experiments.REGISTRY``, whose
    papers are known citation keys.
    """
    from . import models as models_pkg
    from . import theory as theory_pkg
    from .bibliography import BIBTEX
    from .engine import Model
    from .simulator import Simulator

    out = []
    reg_models = {m.__name__.rsplit(".", 1)[1]: m for m in model_modules()}
    reg_theory = {m.__name__.rsplit(".", 1)[1]: m for m in theory_modules()}
    out += [f"scalesim.models.{s} is not registered in any family" for s in sorted(_stems(models_pkg) - set(reg_models))]
    out += [f"scalesim.theory.{s} is not registered in any family" for s in sorted(_stems(theory_pkg) - set(reg_theory))]
    for name, mod in reg_models.items():
        kinds = [k for k in ("MODEL", "SIMULATOR") if hasattr(mod, k)]
        if len(kinds) != 1:
            out.append(f"{mod.__name__} must export exactly one of MODEL or SIMULATOR; has {kinds}")
        elif kinds == ["MODEL"] and not isinstance(mod.MODEL, Model):
            out.append(f"{mod.__name__}.MODEL is not an engine.Model")
        elif kinds == ["SIMULATOR"] and not isinstance(mod.SIMULATOR, Simulator):
            out.append(f"{mod.__name__}.SIMULATOR is not a simulator.Simulator")
        out += [f"{mod.__name__} lacks {n}" for n in _MODEL_NAMES if not hasattr(mod, n)]
    for mod in reg_theory.values():
        out += [f"{mod.__name__} lacks {n}" for n in ("exponents", "PAPERS") if not hasattr(mod, n)]
    in_families = [e for f in FAMILIES.values() for e in f.experiments]
    for e in in_families:
        if _experiments.REGISTRY.get(e.name) is not e:
            out.append(f"experiment {e.name} is in a family but not in scalesim.experiments.REGISTRY")
        out += [f"experiment {e.name}: unknown paper key {k!r}" for k in e.papers if k not in BIBTEX]
        if not e.papers:
            out.append(f"experiment {e.name} names no papers")
    for name, e in _experiments.REGISTRY.items():
        if sum(e is x for x in in_families) != 1:
            out.append(f"experiment {name} must be registered in exactly one family")
    import importlib

    for stem in sorted(_stems(_experiments) - {"base"}):
        mod = importlib.import_module(f"{_experiments.__name__}.{stem}")
        exp = getattr(mod, "EXPERIMENT", None)
        if exp is None:
            out.append(f"{mod.__name__} holds no EXPERIMENT (one experiment per module)")
        elif exp not in in_families:
            out.append(f"{mod.__name__}.EXPERIMENT ({exp.name}) is not registered in any family")
    for f in FAMILIES.values():
        out += [f"family {f.name}: unknown paper key {k!r}" for k in f.papers if k not in BIBTEX]
    return out
