"""``scalesim fit FILE.csv --law chinchilla --method {approach3,vpnls,approach2} [--json]``.

``scalesim/cli.py`` registers the subcommand with :func:`add_fit_parser` and dispatches to
:func:`run_fit`. Any problem with the input is one line on stderr, ``scalesim: error: ...``
(the format of every ``scalesim`` command), and exit code 2; no traceback escapes for bad
input, and numerical warnings are silenced (``SCALESIM_DEBUG=1`` shows them). JSON output goes
through the store's sanitizer (:func:`scalesim.store.jsonable`).

Limits and checks, each refused with one line naming the input:

- The file (:mod:`scalesim.fit.tabular`): a regular file (no FIFO or device; a directory is
  read as a folder of run directories), at most 64 MiB, lines of at most 1 MiB, UTF-8 text,
  at most 100,000 data rows, rectangular; header names non-blank and unique, a requested
  column not ambiguous by case, the needed columns present; every used cell a plain finite
  decimal number > 0 (no ``nan``/``inf``/``1e400``/``１２``/``1+2j``).
- Options, parsed strictly (ASCII decimal, finite): ``--n-boot`` an integer in [0, 100000]
  (not 1 for approach3/vpnls, whose delta-method CIs need a covariance), ``--level`` in
  (0, 1), ``--seed`` an integer in [0, 2^32), ``--c-ref`` > 0, column names non-empty and
  distinct, ``--plot`` a new or regular file (never a FIFO); ``--n-boot`` times the number of
  points at most 25,000,000 (the resample weight matrix, 200 MB in float64).
- The design: L = E + A N^-alpha + B D^-beta has 5 parameters. It needs >= 6 points (one
  residual degree of freedom), >= 3 distinct N and >= 3 distinct D values (values within a
  relative 1e-9 count as one), and a non-constant L. Why 3: with k distinct N the data fix
  only the k - 1 differences between the N levels of E + A N^-alpha, and A and alpha are two
  unknowns, so k >= 3 (the same for D, B and beta); E is then fixed by the overall level.
  Approach 2 fits a parabola in log N per IsoFLOP budget, which needs 3 distinct N as well.
- The result: every reported number (parameters, objective, N_opt, D_opt, tokens/param and
  every bootstrap CI bound) must be finite; otherwise the fit is an error naming the quantity,
  not a table with infinite intervals.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import warnings

import numpy as np

from scalesim.fit.tabular import _strict_float
from scalesim.store import jsonable
from scalesim.validate import MAX_RESAMPLES, SEED_LIMIT

__all__ = ["add_fit_parser", "run_fit", "fit_file", "main"]

METHODS = ("approach3", "vpnls", "approach2")
LAWS = ("chinchilla",)
MAX_N_BOOT = MAX_RESAMPLES        # bootstrap resamples
MAX_BOOT_CELLS = 25_000_000       # n_boot x points: the [n_boot, points] float64 weights
MIN_POINTS = 6                    # 5 parameters + one residual degree of freedom
MIN_DISTINCT = 3                  # distinct N (and D) values: A, alpha (B, beta) identified
_INT = re.compile(r"[+-]?[0-9]+")


def _int_in(lo: int, hi: int, syntax_only: bool = False):
    """A plain ASCII decimal integer in [lo, hi] (``syntax_only``: any range, for ``type=``)."""
    def parse(text):
        if isinstance(text, str) and len(text) < 40 and _INT.fullmatch(text.strip()):
            v = int(text.strip())
        elif isinstance(text, (int, np.integer)) and not isinstance(text, bool):
            v = int(text)
        else:
            v = None
        if v is None or not (syntax_only or lo <= v <= hi):
            raise argparse.ArgumentTypeError(f"must be an integer in [{lo}, {hi}], got {text!r}")
        return v
    return parse


def _float_where(test, what: str, syntax_only: bool = False):
    """A plain finite decimal number with ``test(x)`` true (``syntax_only``: any finite)."""
    def parse(text):
        try:
            v = _strict_float(text.strip()) if isinstance(text, str) else float(text)
        except (TypeError, ValueError, OverflowError):
            v = None
        if isinstance(text, bool) or v is None or not math.isfinite(v) or \
                not (syntax_only or test(v)):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return v
    return parse


def _column(text):
    """argparse ``type=``: a non-empty column name without control characters (stripped)."""
    if not isinstance(text, str) or not text.strip() or any(ord(c) < 32 for c in text):
        raise argparse.ArgumentTypeError(f"must be a non-empty column name, got {text!r}")
    return text.strip()


# (range check, argparse type) pairs: the types refuse what is not a plain finite number at
# parse time; fit_file checks the ranges (a ValueError, also one line) for any parser
_n_boot, _n_boot_type = _int_in(0, MAX_N_BOOT), _int_in(0, MAX_N_BOOT, True)
_seed, _seed_type = _int_in(0, SEED_LIMIT - 1), _int_in(0, SEED_LIMIT - 1, True)
_level, _level_type = (_float_where(lambda x: 0 < x < 1, "a number in (0, 1)", s)
                       for s in (False, True))
_c_ref, _c_ref_type = (_float_where(lambda x: x > 0, "a finite number > 0 (FLOP)", s)
                       for s in (False, True))


def add_fit_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``fit`` subcommand.

    Args:
      subparsers: the object returned by ``ArgumentParser.add_subparsers``.

    Returns:
      The ``fit`` sub-parser.
    """
    p = subparsers.add_parser(
        "fit", help="fit a scaling law to a CSV of (N, D, L) points or a run directory",
        description="Fit L(N, D) = E + A N^-alpha + B D^-beta. Columns default to N, D, L; "
                    "a C column (C = 6 N D) with either N or D is enough.")
    add_fit_arguments(p)
    return p


def add_fit_arguments(p: argparse.ArgumentParser) -> None:
    """Add the ``fit`` options (file, law, method, columns, bootstrap, output) to parser ``p``."""
    p.add_argument("file", help="CSV file, or an experiment output directory of run dirs")
    p.add_argument("--law", default="chinchilla", choices=LAWS)
    p.add_argument("--method", default="approach3", choices=METHODS)
    p.add_argument("--n-col", default="N", type=_column, help="column with parameter counts N")
    p.add_argument("--d-col", default="D", type=_column, help="column with training tokens D")
    p.add_argument("--l-col", default="L", type=_column, help="column with the loss L")
    p.add_argument("--c-col", default="C", type=_column,
                   help="column with training compute C = 6ND")
    p.add_argument("--grid", default="hoffmann", choices=("hoffmann", "coarse"),
                   help="approach3 starts: the 4,500-point Hoffmann grid or every 10th")
    p.add_argument("--n-boot", type=_n_boot_type, default=200,
                   help=f"bootstrap resamples, 0 to {MAX_N_BOOT} (0: no CIs)")
    p.add_argument("--level", type=_level_type, default=0.95, help="CI level, in (0, 1)")
    p.add_argument("--seed", type=_seed_type, default=0, help="integer in [0, 2^32)")
    p.add_argument("--c-ref", type=_c_ref_type, default=5.88e23,
                   help="compute at which to report N_opt, D_opt, tokens/param")
    p.add_argument("--plot", default=None, metavar="PATH", help="save a figure here")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _options(args) -> dict:
    """The checked option values of ``args`` (also when built without the parser)."""
    out = {}
    for name, parse in (("n_boot", _n_boot), ("seed", _seed), ("level", _level),
                        ("c_ref", _c_ref), ("n_col", _column), ("d_col", _column),
                        ("l_col", _column), ("c_col", _column)):
        try:
            out[name] = parse(getattr(args, name))
        except argparse.ArgumentTypeError as exc:
            raise ValueError(f"--{name.replace('_', '-')}: {exc}") from None
    return out


def _distinct(x) -> tuple[int, float]:
    """Number of distinct values of positive ``x`` (within a relative 1e-9), and the first."""
    u = np.unique(x)
    return 1 + int(np.sum(np.diff(u) > 1e-9 * u[1:])), float(u[0])


def _check_design(N, D, L, law: str = "chinchilla") -> None:
    """Refuse a design that cannot identify the 5-parameter law (see the module docstring)."""
    n = len(L)
    if n < MIN_POINTS:
        raise ValueError(f"need at least {MIN_POINTS} points to fit the 5-parameter {law} law, "
                         f"got {n}")
    for name, x, pair in (("N", N, "A and alpha"), ("D", D, "B and beta")):
        k, x0 = _distinct(x)
        if k == 1:
            raise ValueError(f"{name}: all {n} values are equal ({x0:.6g}); the {law} law needs "
                             f">= {MIN_DISTINCT} distinct {name} values to identify {pair}")
        if k < MIN_DISTINCT:
            raise ValueError(f"{name}: only {k} distinct values in {n} points; the {law} law "
                             f"needs >= {MIN_DISTINCT} to identify {pair}")
    if np.ptp(L) <= 1e-12 * np.max(np.abs(L)):
        raise ValueError(f"L: all {n} values are equal ({float(L[0]):.6g}); a constant loss "
                         f"does not identify the {law} law")


def _first_non_finite(obj, path=""):
    """Path (``ci.N_opt[1]``) and value of the first non-finite number in a result, or None."""
    if isinstance(obj, dict):
        items = ((f"{path}.{k}" if path else str(k), v) for k, v in obj.items())
    elif isinstance(obj, (list, tuple, np.ndarray)):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(obj))
    else:
        bad = isinstance(obj, (float, np.floating)) and not math.isfinite(obj)
        return (path, float(obj)) if bad else None
    for where, v in items:
        hit = _first_non_finite(v, where)
        if hit:
            return hit
    return None


def _check_finite(out: dict, method: str) -> None:
    hit = _first_non_finite(out)
    if hit:
        where, v = hit
        src = "bootstrap " if where.startswith(("ci", "bootstrap")) else ""
        raise ValueError(f"{method}: the fit ended with a non-finite {src}value: {where} = {v}; "
                         f"these data do not determine it (more points, or a wider range of "
                         f"N and D, may)")


def fit_file(args) -> tuple[dict, object, tuple]:
    """Read the table named by ``args.file`` and fit it as the CLI does.

    Args:
      args: parsed ``fit`` arguments (see :func:`add_fit_arguments`).

    Returns:
      ``(result, fit, (N, D, L, C))``: the JSON-ready result dict (parameters, compute-optimal
      N_opt, D_opt and tokens/param at ``--c-ref`` FLOP, bootstrap CIs), the fit object
      (:class:`~scalesim.fit.chinchilla.ChinchillaFit` or
      :class:`~scalesim.fit.approach2.Approach2Fit`) and the data (``C`` may be None).

    Raises:
      ValueError: one-line message naming the bad input, the degenerate design or the
        non-finite result.
    """
    from scalesim.fit import chinchilla as ch
    from scalesim.fit.allocation import compute_optimal
    from scalesim.fit.tabular import read_ndl

    o = _options(args)
    n_boot, seed, level, c_ref = o["n_boot"], o["seed"], o["level"], o["c_ref"]
    if args.method not in METHODS or args.law not in LAWS:
        raise ValueError(f"--method/--law: expected one of {METHODS} / {LAWS}, got "
                         f"{args.method!r} / {args.law!r}")
    if n_boot == 1 and args.method != "approach2":  # the delta-method CIs need a covariance
        raise ValueError(f"--n-boot 1: {args.method} bootstrap CIs need >= 2 resamples; "
                         f"use 0 (no CIs) or >= 2")
    plot = getattr(args, "plot", None)
    if plot is not None and (not isinstance(plot, str) or not plot.strip()
                             or (os.path.exists(plot) and not os.path.isfile(plot))):
        raise ValueError(f"--plot: {plot!r} is not a path to a (new or regular) file")
    N, D, L, C = read_ndl(args.file, n_col=o["n_col"], d_col=o["d_col"], l_col=o["l_col"],
                          c_col=o["c_col"])
    _check_design(N, D, L, args.law)
    if n_boot * len(L) > MAX_BOOT_CELLS:
        raise ValueError(f"--n-boot {n_boot} x {len(L)} points = {n_boot * len(L):,} resample "
                         f"weights, over the limit of {MAX_BOOT_CELLS:,}; use --n-boot <= "
                         f"{MAX_BOOT_CELLS // len(L)}")
    if args.method == "approach2":
        from scalesim.fit.approach2 import fit_approach2
        fit = fit_approach2(N, D, L, C=C, n_boot=n_boot, seed=seed, level=level)
        if not (math.isfinite(fit.a) and math.isfinite(fit.log_kN)
                and math.isfinite(float(fit.N_opt(c_ref)))
                and math.isfinite(float(fit.D_opt(c_ref)))):
            raise ValueError("approach2: IsoFLOP vertices are not identified by these points")
        out = fit.to_dict()
        out.update(law=args.law, N_opt=float(fit.N_opt(c_ref)),
                   D_opt=float(fit.D_opt(c_ref)), C_ref=c_ref)
        out["tokens_per_param"] = out["D_opt"] / out["N_opt"]
        _check_finite(out, args.method)
        return jsonable(out), fit, (N, D, L, C)
    ch.check_data(N, D, L)
    if args.method == "approach3":
        grid = ch.hoffmann_grid()
        fit = ch.fit_approach3(N, D, L, grid=grid if args.grid == "hoffmann" else grid[::10])
    else:
        from scalesim.fit.vpnls import fit_vpnls
        fit = fit_vpnls(N, D, L)
    if not all(math.isfinite(v) for v in fit.params.values()) or \
            not math.isfinite(fit.objective):
        raise ValueError(f"{args.method}: the fit did not converge to finite parameters")
    out = fit.to_dict()
    out["law"] = args.law
    opt = compute_optimal(fit.params, c_ref)
    out.update(C_ref=c_ref, N_opt=float(opt["N_opt"]), D_opt=float(opt["D_opt"]),
               tokens_per_param=float(opt["tokens_per_param"]))
    out["ci"] = {}
    if n_boot > 0:
        from scalesim.fit.bootstrap import bootstrap_fit
        bs = bootstrap_fit(fit, N, D, L, n_boot=n_boot, seed=seed, level=level, C_ref=c_ref)
        out["ci"] = {k: [float(v[0]), float(v[1])] for k, v in bs.ci.items()}
        out["bootstrap"] = {"n_boot": n_boot, "n_failed": bs.n_failed,
                            "level": level, "delta_ci": bs.to_dict()["delta_ci"]}
    _check_finite(out, args.method)
    return jsonable(out), fit, (N, D, L, C)


def _num(v, spec: str) -> str:
    """``v`` formatted with ``spec`` if it is a number; sanitized non-finite values as text."""
    return format(v, spec) if isinstance(v, (int, float)) else str(v)


def _table(res) -> str:
    lines = [f"{res['law']} law, method {res['method']}, {res['n_points']} points, "
             f"objective {_num(res['objective'], '.6g')}"]
    ci = res.get("ci", {})
    names = [k for k in ("E", "A", "B", "alpha", "beta") if res["params"].get(k) is not None]
    names += ["a", "b", "N_opt", "D_opt", "tokens_per_param"]
    lines.append(f"{'quantity':<18}{'estimate':>14}{'CI':>32}")
    for k in names:
        v = res["params"].get(k) if k in res["params"] else res.get(k)
        if v is None:
            continue
        c = ci.get(k)
        cis = f"[{_num(c[0], '.4g')}, {_num(c[1], '.4g')}]" if c and None not in c else "-"
        lines.append(f"{k:<18}{_num(v, '.6g'):>14}{cis:>32}")
    return "\n".join(lines)


def run_fit(args) -> int:
    """Run the ``fit`` subcommand: print a table (or one JSON object with ``--json``).

    Args:
      args: parsed ``fit`` arguments.

    Returns:
      The exit code: 0, or 2 after printing one ``scalesim: error: ...`` line to stderr.
    """
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            if not os.environ.get("SCALESIM_DEBUG"):  # one stderr line, not numpy's warnings
                warnings.simplefilter("ignore")
            res, fit, (N, D, L, C) = fit_file(args)
        if args.plot:
            from scalesim.fit import plotting
            if args.method == "approach2":
                fig = plotting.plot_approach2_fit(fit, N, D, L, 6.0 * N * D if C is None else C)
            else:
                fig = plotting.plot_chinchilla_fit(fit, N, D, L)
            try:
                fig.savefig(args.plot, dpi=120)
            except (OSError, ValueError) as exc:
                raise ValueError(f"--plot: cannot save figure to {args.plot!r} ({exc})") from None
    except ValueError as exc:
        msg = " ".join(str(exc).split())
        print(f"scalesim: error: {msg}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(res, allow_nan=False))
    else:
        print(_table(res))
    return 0


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message):  # one line and exit 2, as ``scalesim``'s own parser
        print(f"scalesim: error: {' '.join(message.split())}", file=sys.stderr)
        raise SystemExit(2)


def main(argv=None) -> int:
    """Stand-alone entry point (``python -m scalesim.fit.command FILE ...``); returns the exit code."""
    parser = _OneLineParser(prog="scalesim fit")
    add_fit_arguments(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help exits 0; a bad option 2 after its one line
        return int(exc.code or 0)
    return run_fit(args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
