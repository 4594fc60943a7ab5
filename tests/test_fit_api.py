"""The public API of scalesim.fit and scalesim.datasets: every submodule's public names re-exported."""

import importlib

import pytest

FIT_MODULES = ("powerlaw", "records", "chinchilla", "vpnls", "approach2", "bootstrap", "allocation",
               "likelihood", "laws", "curves", "synthetic", "tabular", "optim", "plotting")


def test_headline_estimators_import_from_the_package():
    from scalesim.fit import bootstrap_fit, fit_approach2, fit_approach3, fit_vpnls
    from scalesim.fit.approach2 import fit_approach2 as a2
    from scalesim.fit.bootstrap import bootstrap_fit as bs
    from scalesim.fit.chinchilla import fit_approach3 as a3
    from scalesim.fit.vpnls import fit_vpnls as vp

    assert (fit_approach3, fit_vpnls, fit_approach2, bootstrap_fit) == (a3, vp, a2, bs)


@pytest.mark.parametrize("name", FIT_MODULES)
def test_fit_reexports_every_public_name(name):
    import scalesim.fit as fit

    mod = importlib.import_module(f"scalesim.fit.{name}")
    for n in mod.__all__:
        assert n in fit.__all__ and getattr(fit, n) is getattr(mod, n), (name, n)
        assert n in fit.__doc__, f"scalesim.fit docstring does not list {n}"


def test_fit_all_is_exactly_the_submodules_public_names():
    import scalesim.fit as fit

    names = set()
    for name in FIT_MODULES:
        names.update(importlib.import_module(f"scalesim.fit.{name}").__all__)
    assert set(fit.__all__) == names and len(fit.__all__) == len(names)


def test_datasets_reexports_the_loaders():
    import scalesim.datasets as ds
    from scalesim.datasets import loaders

    assert set(ds.__all__) == set(loaders.__all__)
    for n in ds.__all__:
        assert getattr(ds, n) is getattr(loaders, n) and n in ds.__doc__
