"""Fill the generated parts of docs/reproductions.md from stored full runs.

The page is written by hand except for the blocks between ``<!-- BEGIN generated X -->`` and
``<!-- END generated X -->``: the overview table (X = ``overview``) and, per registered
experiment (X = its name), the command, scale, wall time and measured-vs-theory table read from
``ROOT/NAME/summary.json`` and ``experiment.json``, with the figure copied (shrunk) to
``docs/figures/NAME.png``. Nothing is recomputed: the page shows what the store holds.

    python3 tools/reproductions.py --root RUNS [--times RUNS/times.log] [--machine TEXT]
    python3 tools/reproductions.py --check      # every registered experiment has its section

``--times`` reads lines ``... end NAME rc=0 wall=SECONDSs`` (the log the sweep script writes).
An experiment with no store under ROOT keeps its block and overview row as the page has them, so
one experiment's new run can be added without the others' stores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "reproductions.md"
FIGURES = ROOT / "docs" / "figures"
BLOCK = re.compile(r"(<!-- BEGIN generated (?P<name>[\w-]+) -->\n)(.*?)(<!-- END generated (?P=name) -->)", re.S)
MAX_FIGURE_WIDTH = 1000  # pixels


def _registry():
    sys.path.insert(0, str(ROOT))
    from scalesim.experiments import REGISTRY

    return REGISTRY


def _overrides(default, settings) -> list[str]:
    """``--set`` items that turn the ``default`` settings into ``settings``."""
    from scalesim.config import to_dict  # noqa: PLC0415

    want, base = to_dict(settings), to_dict(default)
    items = []
    for key, value in want.items():
        if base.get(key) != value:
            if isinstance(value, list):
                value = ",".join(":".join(map(str, v)) if isinstance(v, list) else str(v) for v in value)
            items.append(f"--set {key}={value}")
    return items


def _times(path: Path | None) -> dict[str, float]:
    if path is None or not path.exists():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        m = re.search(r"end (\S+) rc=0 wall=(\d+)s", line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "not recorded"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def _figure(name: str, store: Path) -> str | None:
    src = store / "figure.png"
    if not src.exists():
        return None
    from PIL import Image  # noqa: PLC0415  (a matplotlib dependency)

    FIGURES.mkdir(parents=True, exist_ok=True)
    dst = FIGURES / f"{name}.png"
    with Image.open(src) as img:
        img.thumbnail((MAX_FIGURE_WIDTH, MAX_FIGURE_WIDTH))
        img.save(dst, optimize=True)
    return f"figures/{name}.png"


def _block(name: str, registry: dict, store: Path, seconds: float | None, machine: str) -> tuple[str, dict | None]:
    from scalesim.experiments.base import _open_store  # noqa: PLC0415
    from scalesim.fit.records import format_table  # noqa: PLC0415

    try:
        exp, settings, quick = _open_store(store, registry)
        records = json.loads((store / "summary.json").read_text())
    except (OSError, ValueError):
        exp = quick = None
    if exp is None or quick:
        return _not_run(name, registry[name]), None
    sets = _overrides(exp.settings(False), settings)
    cmd = " ".join(["scalesim run", name, *sets])
    agree = sum(bool(r["agrees"]) for r in records)
    points = len(exp.sweep(settings))
    lines = [f"- Command: `{cmd}`",
             f"- Scale: {'the default full sweep' if not sets else 'reduced: the default sweep changed by the settings above'}, "
             f"{points} sweep point{'s' if points != 1 else ''}",
             f"- Machine: {machine}; wall time {_duration(seconds)}",
             f"- Records agreeing with theory: {agree} of {len(records)}", "", format_table(records, markdown=True), ""]
    fig = _figure(name, store)
    if fig:
        lines += [f"![{name}]({fig})", ""]
    return "\n".join(lines), {"name": name, "agree": agree, "n": len(records), "seconds": seconds, "command": cmd,
                              "reduced": bool(sets)}


ACCELERATOR_FLOP = 1e15  # a full sweep above this is sized for an accelerator (days on 2 CPU cores)


def _full_flops(exp) -> int:
    s = exp.settings(False)
    return sum(exp.cost(p, s).flops for p in exp.sweep(s))


def _not_run(name: str, exp) -> str:
    flops = _full_flops(exp)
    where = (f"sized for an accelerator (about {flops:.1e} FLOP by the pre-flight estimate); "
             if flops > ACCELERATOR_FLOP else f"about {flops:.1e} FLOP by the pre-flight estimate; ")
    return f"Not run at full scale yet: {where}command `scalesim run {name}`.\n"


def _overview_row(overview: str, name: str) -> str | None:
    """The line of an existing overview table for ``name`` (kept as it is when no store is given)."""
    return next((line for line in overview.splitlines() if line.startswith(f"| [{name}](#{name})")), None)


def _overview(rows: dict, registry: dict) -> str:
    lines = ["| experiment | records agreeing | wall time | status |", "|---|---|---|---|"]
    for name, row in rows.items():
        if isinstance(row, str):
            lines.append(row)
        elif row is None:
            gpu = _full_flops(registry[name]) > ACCELERATOR_FLOP
            lines.append(f"| [{name}](#{name}) | — | — | {'needs an accelerator at full scale' if gpu else 'not run at full scale yet'} |")
        else:
            status = "reproduced" if row["agree"] == row["n"] else "partly reproduced (see the section)"
            if row.get("reduced"):
                status += ", at reduced scale"
            lines.append(f"| [{name}](#{name}) | {row['agree']} of {row['n']} | {_duration(row['seconds'])} | {status} |")
    return "\n".join(lines) + "\n"


def _default_machine() -> str:
    import jax  # noqa: PLC0415

    return f"{os.cpu_count()}-core {platform.machine()} CPU, JAX {jax.__version__}"


def check(text: str, names) -> list[str]:
    """Problems of the page: registered experiments without a section or a generated block."""
    found = {m.group("name") for m in BLOCK.finditer(text)}
    problems = [f"no generated block for {n}" for n in names if n not in found]
    problems += [f"no section heading for {n}" for n in names if f"\n### {n}\n" not in text]
    problems += [f"block for unknown experiment {n}" for n in found - set(names) - {"overview"}]
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, help="directory holding one full-run store per experiment")
    ap.add_argument("--times", type=Path, help="sweep log with 'end NAME rc=0 wall=Ns' lines")
    ap.add_argument("--machine", help="machine description (default: this machine)")
    ap.add_argument("--check", action="store_true", help="only check that every experiment has its section")
    args = ap.parse_args(argv)
    registry = _registry()
    text = DOC.read_text()
    if args.check:
        problems = check(text, list(registry))
        print("\n".join(problems) or "ok")
        return 1 if problems else 0
    if args.root is None:
        ap.error("--root is required unless --check")
    machine = args.machine or _default_machine()
    times = _times(args.times)
    kept = {m.group("name"): m.group(3) for m in BLOCK.finditer(text)}
    blocks, rows = {}, {}
    for name in registry:
        if not (args.root / name).exists() and name in kept:  # no store here: the page keeps what it has
            blocks[name], rows[name] = kept[name], _overview_row(kept.get("overview", ""), name)
            continue
        blocks[name], rows[name] = _block(name, registry, args.root / name, times.get(name), machine)
    blocks["overview"] = _overview(rows, registry)

    def fill(m):
        body = blocks.get(m.group("name"), m.group(3))
        return m.group(1) + body + m.group(4)

    DOC.write_text(BLOCK.sub(fill, text))
    problems = check(DOC.read_text(), list(registry))
    for p in problems:
        print(f"reproductions: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
