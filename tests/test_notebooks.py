"""Every notebook in notebooks/ executes headless in quick mode (a broken notebook fails CI)."""

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found"


def test_every_notebook_is_generated_from_its_source():
    """notebooks/src/NAME.py is the one source of notebooks/NAME.ipynb (tools/make_notebooks.py)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_notebooks", ROOT / "tools" / "make_notebooks.py")
    mk = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mk)
    assert mk.names() == [p.stem for p in NOTEBOOKS], "every notebook needs a source in notebooks/src/ and vice versa"
    for name in mk.names():
        committed = (ROOT / "notebooks" / f"{name}.ipynb").read_text()
        assert committed == mk.render(name), f"notebooks/{name}.ipynb differs from notebooks/src/{name}.py: run python tools/make_notebooks.py"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes_in_quick_mode(path, quick_results, monkeypatch):
    monkeypatch.setenv("SCALESIM_QUICK", "1")
    monkeypatch.setenv("SCALESIM_RESULTS", str(quick_results))  # reuses quick runs made by other tests
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
