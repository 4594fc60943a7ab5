"""The package documents itself: public theory and fit functions carry Args/Returns, and no
module text points at files outside the package."""

import inspect
import re
from pathlib import Path

import pytest

import scalesim
import scalesim.fit
from scalesim.registry import theory_modules

PKG = Path(scalesim.__file__).parent
FORBIDDEN = re.compile(r"/work/|shared/research|research note|\bnotes? §|\bnotes? section|\bthe lead\b|\bissue \d"
                       r"|\b(random_features|data_pruning|fitting|superposition|emergence|style)\.md\b")


def _public_functions(mod):
    names = getattr(mod, "__all__", None) or [n for n in vars(mod) if not n.startswith("_")]
    for n in names:
        obj = getattr(mod, n)
        if inspect.isfunction(obj) and obj.__module__ == mod.__name__:
            yield n, obj


def test_no_module_text_points_outside_the_package():
    bad = [f"{p.relative_to(PKG.parent)}:{i}: {line.strip()}" for p in sorted(PKG.rglob("*.py"))
           for i, line in enumerate(p.read_text().splitlines(), 1) if FORBIDDEN.search(line)]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("mod", theory_modules(), ids=lambda m: m.__name__)
def test_public_theory_functions_have_args_and_returns(mod):
    missing = [n for n, f in _public_functions(mod)
               if "Returns:" not in (f.__doc__ or "") or (inspect.signature(f).parameters and "Args:" not in f.__doc__)]
    assert not missing, f"{mod.__name__}: no Args/Returns in {missing}"


def test_public_fit_functions_have_args_and_returns():
    missing = []
    for name in scalesim.fit.__all__:
        f = getattr(scalesim.fit, name)
        if inspect.isfunction(f):
            doc = f.__doc__ or ""
            if "Returns:" not in doc or (inspect.signature(f).parameters and "Args:" not in doc):
                missing.append(f"{f.__module__}.{name}")
    assert not missing, f"no Args/Returns in {missing}"


def _reproductions_tool():
    import importlib.util

    spec = importlib.util.spec_from_file_location("reproductions", PKG.parent / "tools" / "reproductions.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_reproductions_page_has_a_section_per_experiment():
    """docs/reproductions.md has a heading and a generated block for every registered experiment."""
    from scalesim.experiments import REGISTRY

    tool = _reproductions_tool()
    page = (PKG.parent / "docs" / "reproductions.md").read_text()
    assert tool.check(page, list(REGISTRY)) == []
    assert tool.check(page, [*REGISTRY, "no-such-experiment"]) != []
    for link in re.findall(r"\]\((figures/[^)]+)\)", page):
        assert (PKG.parent / "docs" / link).is_file(), link


def test_records_table_in_markdown_marks_missing_estimates():
    from scalesim.fit.records import format_table

    recs = [{"quantity": "a|b", "measured": None, "ci": [None, None], "theory": 1.0, "agrees": False},
            {"quantity": "c", "measured": 0.5, "ci": [0.25, 0.75], "theory": 0.5, "agrees": True}]
    lines = format_table(recs, markdown=True).splitlines()
    assert lines[0] == "| quantity | measured | 95% CI | theory | agrees |"
    assert lines[2] == "| a\\|b | n/a | [n/a, n/a] | 1 | NO |"
    assert lines[3] == "| c | 0.5 | [0.25, 0.75] | 0.5 | yes |"
    assert "n/a" in format_table(recs[:1])


def test_reproductions_tool_keeps_blocks_without_a_store(tmp_path):
    """Regenerating from a root with no stores leaves every generated block and overview row as it was."""
    tool = _reproductions_tool()
    page = tmp_path / "reproductions.md"
    original = (PKG.parent / "docs" / "reproductions.md").read_text()
    page.write_text(original)
    tool.DOC = page
    (tmp_path / "runs").mkdir()
    assert tool.main(["--root", str(tmp_path / "runs"), "--machine", "test"]) == 0
    assert page.read_text() == original


def test_reproductions_overview_labels_reduced_runs():
    """A run whose command changes the default settings is labelled as reduced scale in the overview."""
    from scalesim.experiments import REGISTRY

    tool = _reproductions_tool()
    full = {"agree": 3, "n": 3, "seconds": 60.0, "reduced": False}
    rows = {"sgd-powerlaw": dict(full), "rf-duality": dict(full, agree=2, reduced=True)}
    lines = tool._overview(rows, REGISTRY).splitlines()
    assert lines[2] == "| [sgd-powerlaw](#sgd-powerlaw) | 3 of 3 | 60 s | reproduced |"
    assert lines[3] == ("| [rf-duality](#rf-duality) | 2 of 3 | 60 s | partly reproduced (see the section), "
                        "at reduced scale |")
