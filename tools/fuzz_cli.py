"""Adversarial fuzz of the ``scalesim`` command line: hundreds of invalid inputs, counted by outcome.

Every case is an input that must be refused: out-of-range or malformed ``--set`` values for every
setting of every experiment, sizes no machine can hold, bad ``--worker``/``--out`` options,
malformed run stores for ``report``/``status``/``verify``, malformed CSVs and bad options for
``fit``. The promise under test: exactly one ``scalesim: error: ...`` line and exit status 2.

Cases run in a child process, in-process through :func:`scalesim.cli.main`, with a per-case
alarm; a child that dies (an abort) is restarted at the next case. Training never starts: each
experiment's ``run_point`` is replaced by a sentinel, so an input that reaches it is counted as
*accepted* (it would have run) without spending the time.

Outcomes: ``error`` (the promise kept), ``accepted``, ``traceback``, ``internal`` (one line, exit
1), ``hang`` (alarm), ``abort`` (the child died), ``other`` (wrong exit code or several lines).

Usage::

    python3 tools/fuzz_cli.py [--only run,fit,store,cli] [--timeout 60] [--json out.json] [--list]
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import io
import json
import os
import subprocess
import sys
import tempfile
import typing
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ABSURD_NUMBERS = ["inf", "-inf", "nan", "1e400", "1e300", "-1e300", "１２", "1_000", "0x10", "1e", "", "--1", "1+2j"]
ABSURD_INTS = ["-1", "1e30", "99999999999999999999", "1.5", "4294967296e3"]


# ----------------------------------------------------------------------------------------- cases
def _base_type(typ):
    while typing.get_origin(typ) is tuple:
        typ = typing.get_args(typ)[0]
    return typ


def run_cases(work: Path) -> list[tuple[str, list[str]]]:
    """``--set`` cases: absurd values of every setting of every experiment, and sizes of 10^9."""
    from scalesim.experiments import REGISTRY

    cases = []
    for name, exp in sorted(REGISTRY.items()):
        s = exp.settings(True)
        hints = typing.get_type_hints(type(s))
        for f in dataclasses.fields(s):
            typ, base = hints[f.name], _base_type(hints[f.name])
            if base is bool:
                values = ["maybe", "2", ""]
            elif base is str:
                values = ["no-such-choice", "", "é"]
            else:
                values = ABSURD_NUMBERS + (ABSURD_INTS + ["1e9"] if base is int and f.name != "seed" else [])
            if typing.get_origin(typ) is tuple and typing.get_origin(typing.get_args(typ)[0]) is tuple:
                values = [f"{v}:{v}" for v in values] + ["1,2,3", "1:2:3"]
            for v in values:
                out = work / "run" / f"{name}-{len(cases)}"
                cases.append(("run --set", ["run", name, "--quick", "--no-progress", "--out", str(out), "--set",
                                            f"{f.name}={v}"]))
    for kv in ("max_members=0", "max_members=-4", "max_members=abc", "max_members=1e99", "preflight=maybe", "=5",
               "steps", "unknown=1"):
        cases.append(("run --set", ["run", "sgd-powerlaw", "--quick", "--out", str(work / "run" / "x"), "--set", kv]))
    return cases


def cli_cases(work: Path) -> list[tuple[str, list[str]]]:
    """Command-line options other than ``--set``."""
    out = str(work / "cli-out")
    cases = [("cli", ["run", "sgd-powerlaw", "--quick", "--out", out, "--worker", w])
             for w in ("3/3", "-1/2", "1/two", "0/0", "1/-2", "", "/", "1/２", "1/1/1", "99999999999999999999/2", "0.5/2")]
    cases += [("cli", argv) for argv in (
        ["run", "sgd-powerlaw", "--quick", "--out", ""], ["run", "sgd-powerlaw", "--quick", "--out", " "],
        ["run", "no-such-experiment"], ["run"], ["frobnicate"], [], ["run", "sgd-powerlaw", "--bogus"],
        ["report"], ["status"], ["verify"], ["fit"], ["run", "sgd-powerlaw", "--out", "/dev/null/x", "--quick"],
        ["run", "", "--quick"], ["list", "extra"],
    )]
    return cases


def store_cases(work: Path) -> list[tuple[str, list[str]]]:
    """``report``/``status``/``verify`` on missing, foreign and malformed run stores."""
    stores = work / "stores"
    stores.mkdir(parents=True, exist_ok=True)
    metas = {
        "not-json": "{", "list": "[1, 2]", "string": '"x"', "null": "null", "unknown-name": '{"name": "nope"}',
        "no-settings": '{"name": "sgd-powerlaw", "quick": true}',
        "settings-list": '{"name": "sgd-powerlaw", "quick": true, "settings": [1]}',
        "settings-bad-type": '{"name": "sgd-powerlaw", "quick": true, "settings": {"steps": "abc"}}',
        "settings-out-of-range": '{"name": "sgd-powerlaw", "quick": true, "settings": {"steps": -5}}',
        "settings-nested": '{"name": "sgd-powerlaw", "quick": true, "settings": {"dims": [[1]]}}',
        "settings-inf": '{"name": "sgd-powerlaw", "quick": true, "settings": {"b": Infinity}}',
        "name-int": '{"name": 5}', "binary": "\x00\xff\xfe", "empty": "",
    }
    dirs = []
    for tag, text in metas.items():
        d = stores / tag
        d.mkdir(exist_ok=True)
        (d / "experiment.json").write_bytes(text.encode("utf-8", "surrogateescape") if tag != "binary" else b"\x00\xff\xfe")
        dirs.append(d)
    (stores / "empty-dir").mkdir(exist_ok=True)
    (stores / "a-file").write_text("x")
    fifo_dir = stores / "fifo"
    fifo_dir.mkdir(exist_ok=True)
    if not (fifo_dir / "experiment.json").exists():
        os.mkfifo(fifo_dir / "experiment.json")
    dirs += [stores / "empty-dir", stores / "a-file", fifo_dir, stores / "missing", Path("/dev/null"), Path("")]
    return [("store", [cmd, str(d)]) for cmd in ("report", "status", "verify") for d in dirs]


def _chinchilla_rows(n=24):
    import numpy as np

    rng = np.random.default_rng(0)
    N = np.geomspace(1e7, 1e10, n) * rng.uniform(0.8, 1.2, n)
    D = np.geomspace(1e9, 1e12, n)[rng.permutation(n)]
    L = 1.69 + 406.4 * N**-0.34 + 410.7 * D**-0.28
    return [(f"{a:.6g}", f"{b:.6g}", f"{c:.6g}") for a, b, c in zip(N, D, L)]


def fit_cases(work: Path) -> list[tuple[str, list[str]]]:
    """Malformed CSVs, non-regular files and bad options of ``scalesim fit``."""
    d = work / "csv"
    d.mkdir(parents=True, exist_ok=True)
    rows = _chinchilla_rows()
    good = "N,D,L\n" + "\n".join(",".join(r) for r in rows) + "\n"
    (d / "good.csv").write_text(good)

    def body(fn):
        return "\n".join(fn(r) for r in rows) + "\n"

    files = {
        "empty": "", "header-only": "N,D,L\n", "dup-cols": "N,N,D,L\n" + body(lambda r: ",".join((r[0],) + r)),
        "blank-col": "N,,L\n" + body(",".join), "case-only": "n,d,l\n" + body(",".join),
        "spaces-dup": "N, N,D,L\n" + body(lambda r: ",".join((r[0],) + r)),
        "missing-L": "N,D\n" + body(lambda r: ",".join(r[:2])), "one-row": "N,D,L\n" + ",".join(rows[0]) + "\n",
        "three-rows": "N,D,L\n" + "\n".join(",".join(r) for r in rows[:3]) + "\n",
        "all-N-equal": "N,D,L\n" + body(lambda r: ",".join(("1e9",) + r[1:])),
        "all-D-equal": "N,D,L\n" + body(lambda r: ",".join((r[0], "1e11", r[2]))),
        "L-constant": "N,D,L\n" + body(lambda r: ",".join(r[:2] + ("2.5",))),
        "short-row": good + "1e9,1e10\n", "long-row": good + "1e9,1e10,2,7\n",
        "binary": "\x00\x01\x02\xff", "utf16": "\ufeffN,D,L\n",
        "one-huge-line": "N,D,L\n" + "1" * (2 * 2**20) + ",1,1\n", "no-newline-huge": "x" * (3 * 2**20),
    }
    for tag, bad in {"inf": "inf", "nan": "nan", "1e400": "1e400", "neg": "-1e9", "zero": "0", "fullwidth": "１２",
                     "complex": "1+2j", "text": "abc", "empty-cell": "", "quoted-inf": '"inf"', "hex": "0x10"}.items():
        for col in range(3):
            r = list(rows[5])
            r[col] = bad
            files[f"{tag}-col{col}"] = good + ",".join(r) + "\n"
    paths = []
    for tag, text in files.items():
        p = d / f"{tag}.csv"
        p.write_bytes(text.encode("utf-8", "surrogatepass") if tag != "binary" else b"\x00\x01\x02\xff")
        paths.append(str(p))
    big = d / "huge.csv"
    if not big.exists():
        with open(big, "wb") as f:
            f.truncate(200 * 2**20)  # sparse: 200 MiB of NULs
    fifo = d / "fifo.csv"
    if not fifo.exists():
        os.mkfifo(fifo)
    paths += [str(big), str(fifo), "/dev/zero", "/dev/null", str(d / "missing.csv"), str(d), ""]
    fast = ["--n-boot", "0", "--grid", "coarse"]
    cases = [("fit csv", ["fit", p, *fast]) for p in paths]
    g = str(d / "good.csv")
    options = {
        "--n-boot": ["-1", "1e12", "1000000000000", "abc", "1.5", "inf", "100001"],
        "--level": ["0", "1", "1.5", "nan", "inf", "-0.1", "abc", "1e400"],
        "--seed": ["-1", str(2**32), "1e40", "x", "1.5"],
        "--c-ref": ["0", "-1", "inf", "nan", "1e400", "abc"],
        "--n-col": ["", "NOPE", "n"], "--d-col": ["", "1+2j", "L"], "--l-col": ["", "N"], "--c-col": ["N", "\t"],
        "--method": ["bogus", ""], "--law": ["bogus"], "--grid": ["fine"],
        "--plot": ["", str(d), "/nonexistent-dir/x.png", "/dev/null/x.png"],
    }
    for opt, values in options.items():
        for v in values:
            argv = ["fit", g, opt, v] + ([] if opt in ("--n-boot", "--grid") else fast)
            if opt == "--n-boot":
                argv += ["--grid", "coarse"]
            if opt == "--grid":
                argv += ["--n-boot", "0"]
            cases.append(("fit option", argv))
    return cases


# ----------------------------------------------------------------------------------------- child
class _Reached(BaseException):
    """Raised by the sentinel ``run_point``: the input passed every check and would have run."""


def _child(timeout: int) -> None:
    import signal

    from scalesim.cli import main
    from scalesim.experiments import REGISTRY

    def sentinel(point, settings):
        raise _Reached()

    for name, exp in list(REGISTRY.items()):
        REGISTRY[name] = dataclasses.replace(exp, run_point=sentinel)

    class _Alarm(BaseException):
        pass

    def on_alarm(signum, frame):
        raise _Alarm()

    signal.signal(signal.SIGALRM, on_alarm)
    for line in sys.stdin:
        case = json.loads(line)
        err, out = io.StringIO(), io.StringIO()
        outcome, rc = None, None
        signal.alarm(timeout)
        try:
            with redirect_stderr(err), redirect_stdout(out):
                rc = main(case["argv"])
        except _Reached:
            outcome = "accepted"
        except _Alarm:
            outcome = "hang"
        except SystemExit as e:
            rc = e.code
        except BaseException:  # noqa: BLE001 - an escaped exception is the finding
            import traceback

            err.write(traceback.format_exc())
        finally:
            signal.alarm(0)
        text = err.getvalue()
        if outcome is None:
            lines = text.strip().splitlines()
            if "Traceback" in text:
                outcome = "traceback"
            elif rc == 0:
                outcome = "accepted"
            elif rc == 2 and len(lines) == 1 and lines[0].startswith("scalesim: error: "):
                outcome = "error"
            elif rc == 1 and len(lines) == 1 and lines[0].startswith("scalesim: error: "):
                outcome = "internal"
            else:
                outcome = "other"
        print(json.dumps({"id": case["id"], "outcome": outcome, "rc": rc, "stderr": text[-600:]}), flush=True)


# ---------------------------------------------------------------------------------------- parent
def _run_all(cases, timeout: int) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    results: dict[int, dict] = {}
    start = 0
    while start < len(cases):
        feed = tempfile.TemporaryFile("w+")  # a file, not a pipe: the child's replies never block the feed
        feed.write("".join(json.dumps({"id": i, "argv": cases[i][1]}) + "\n" for i in range(start, len(cases))))
        feed.seek(0)
        child = subprocess.Popen([sys.executable, __file__, "--child", "--timeout", str(timeout)], stdin=feed,
                                 stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        for line in child.stdout:
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            results[r["id"]] = r
        child.wait()
        feed.close()
        done = [i for i in range(start, len(cases)) if i in results]
        nxt = (max(done) + 1) if done else start
        if nxt < len(cases) and nxt not in results:  # the child died on case nxt
            results[nxt] = {"id": nxt, "outcome": "abort", "rc": child.returncode, "stderr": ""}
            nxt += 1
        start = nxt
    return [results[i] for i in range(len(cases))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="run,cli,store,fit", help="comma-separated groups: run, cli, store, fit")
    ap.add_argument("--timeout", type=int, default=60, help="seconds per case before it counts as a hang")
    ap.add_argument("--json", default=None, help="write every case and its outcome here")
    ap.add_argument("--list", action="store_true", help="print the cases that did not give the one-line error")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(args.timeout)
        return 0
    groups = {"run": run_cases, "cli": cli_cases, "store": store_cases, "fit": fit_cases}
    with tempfile.TemporaryDirectory(prefix="scalesim-fuzz-") as tmp:
        work = Path(tmp)
        cases = [c for g in args.only.split(",") for c in groups[g.strip()](work)]
        results = _run_all(cases, args.timeout)
        leftovers = [i for i, ((_, a), r) in enumerate(zip(cases, results)) if r["outcome"] == "error" and "--out" in a
                     and a[a.index("--out") + 1].strip() and Path(a[a.index("--out") + 1]).exists()]
    table = collections.Counter((cat, r["outcome"]) for (cat, _), r in zip(cases, results))
    outcomes = ["error", "accepted", "traceback", "internal", "hang", "abort", "other"]
    cats = sorted({c for c, _ in cases})
    width = max(len(c) for c in cats + ["category"])
    print(f"{'category'.ljust(width)} " + " ".join(f"{o:>9s}" for o in outcomes) + f" {'total':>7s}")
    for c in cats + ["all"]:
        counts = [sum(v for (cc, o), v in table.items() if o == oo and (c == "all" or cc == c)) for oo in outcomes]
        print(f"{c.ljust(width)} " + " ".join(f"{n:9d}" for n in counts) + f" {sum(counts):7d}")
    print(f"refused runs that still wrote a store: {len(leftovers)}")
    bad = [(c, r) for c, r in zip(cases, results) if r["outcome"] != "error"]
    if args.list:
        for (cat, argv), r in bad:
            print(f"\n[{r['outcome']}] {cat}: scalesim {' '.join(argv)}\n  {r['stderr'].strip()[-400:]}")
    if args.json:
        Path(args.json).write_text(json.dumps([{"category": c, "argv": a, **r} for (c, a), r in zip(cases, results)], indent=1))
    return 0 if not bad and not leftovers else 1


if __name__ == "__main__":
    sys.exit(main())
