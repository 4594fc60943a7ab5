"""The family registry is complete and every registered module keeps the contract."""

from pathlib import Path

import pytest

import scalesim.models
from scalesim import registry
from scalesim.experiments import REGISTRY


def test_contract_holds_everywhere():
    problems = registry.contract_problems()
    assert not problems, "\n".join(problems)


def test_unregistered_model_module_is_caught():
    """A throwaway module dropped into scalesim/models/ makes the registry check fail."""
    path = Path(scalesim.models.__path__[0]) / "throwaway_unregistered.py"
    assert not path.exists()
    path.write_text('"""A model nobody registered."""\n')
    try:
        problems = registry.contract_problems()
    finally:
        path.unlink()
    assert "scalesim.models.throwaway_unregistered is not registered in any family" in problems


def test_registry_matches_cli_list():
    assert registry.experiments() == REGISTRY
    assert sorted(e.name for f in registry.FAMILIES.values() for e in f.experiments) == sorted(REGISTRY)


def test_experiment_lookup_names_known_ones():
    with pytest.raises(ValueError, match="unknown experiment 'nope'.*sgd-powerlaw"):
        registry.experiment("nope")
