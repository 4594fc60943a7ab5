"""Write notebooks/*.ipynb from their one source, notebooks/src/*.py (outputs stripped).

Each source is a Python file in the "percent" format: a line ``# %%`` starts a code cell and
``# %% [markdown]`` a markdown cell whose lines are comments (``# text``). Cell ids are
deterministic, so regenerating is byte-identical; ``tests/test_notebooks.py`` fails when a
committed notebook differs from its source.

    python tools/make_notebooks.py            # all notebooks
    python tools/make_notebooks.py fitting    # one
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat as nbf

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "notebooks" / "src"
KERNEL = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}


def _cells(text: str):
    kind, lines = None, []
    for line in text.splitlines():
        if line.startswith("# %%"):
            if kind is not None:
                yield kind, lines
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        elif kind is not None:
            lines.append(line)
    if kind is not None:
        yield kind, lines


def build(name: str):
    """The notebook ``name`` built from ``notebooks/src/NAME.py``."""
    cells = []
    for kind, lines in _cells((SRC / f"{name}.py").read_text()):
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        if kind == "markdown":
            body = "\n".join(l[2:] if l.startswith("# ") else l.lstrip("#") for l in lines)
            cells.append(nbf.v4.new_markdown_cell(body))
        else:
            cells.append(nbf.v4.new_code_cell("\n".join(lines)))
    for i, cell in enumerate(cells):
        cell["id"] = f"{name.replace('_', '-')}-{i:02d}"
    return nbf.v4.new_notebook(cells=cells, metadata=KERNEL)


def names() -> list[str]:
    return sorted(p.stem for p in SRC.glob("*.py"))


def render(name: str) -> str:
    return nbf.writes(build(name)) + "\n"


if __name__ == "__main__":
    for n in sys.argv[1:] or names():
        path = ROOT / "notebooks" / f"{n}.ipynb"
        path.write_text(render(n))
        print("wrote", path)
