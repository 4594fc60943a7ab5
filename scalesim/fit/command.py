"""``scalesim fit FILE.csv --law chinchilla --method {approach3,vpnls,approach2} [--json]``.

``scalesim/cli.py`` registers the subcommand with :func:`add_fit_parser` and dispatches to
:func:`run_fit`. Any problem with the input is one line on stderr, ``scalesim: error: ...``
(the format of every ``scalesim`` command), and exit code 2; no traceback escapes for bad
input. JSON output goes through the store's sanitizer (:func:`scalesim.store.jsonable`: NaN
becomes ``null``, infinities ``"inf"``/``"-inf"``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from scalesim.store import jsonable

__all__ = ["add_fit_parser", "run_fit", "fit_file", "main"]

METHODS = ("approach3", "vpnls", "approach2")
LAWS = ("chinchilla",)


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
    p.add_argument("--n-col", default="N", help="column with parameter counts N")
    p.add_argument("--d-col", default="D", help="column with training tokens D")
    p.add_argument("--l-col", default="L", help="column with the loss L")
    p.add_argument("--c-col", default="C", help="column with training compute C = 6ND")
    p.add_argument("--grid", default="hoffmann", choices=("hoffmann", "coarse"),
                   help="approach3 starts: the 4,500-point Hoffmann grid or every 10th")
    p.add_argument("--n-boot", type=int, default=200, help="bootstrap resamples (0: no CIs)")
    p.add_argument("--level", type=float, default=0.95, help="CI level")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--c-ref", type=float, default=5.88e23,
                   help="compute at which to report N_opt, D_opt, tokens/param")
    p.add_argument("--plot", default=None, metavar="PATH", help="save a figure here")
    p.add_argument("--json", action="store_true", help="print one JSON object")


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
      ValueError: one-line message naming the bad input or the failed fit.
    """
    from scalesim.fit import chinchilla as ch
    from scalesim.fit.allocation import compute_optimal
    from scalesim.fit.tabular import read_ndl

    if args.n_boot < 0:
        raise ValueError(f"--n-boot: must be >= 0, got {args.n_boot}")
    if not 0 < args.level < 1:
        raise ValueError(f"--level: must be in (0, 1), got {args.level}")
    if not (math.isfinite(args.c_ref) and args.c_ref > 0):
        raise ValueError(f"--c-ref: must be a positive number, got {args.c_ref}")
    N, D, L, C = read_ndl(args.file, n_col=args.n_col, d_col=args.d_col, l_col=args.l_col,
                          c_col=args.c_col)
    if args.method == "approach2":
        from scalesim.fit.approach2 import fit_approach2
        fit = fit_approach2(N, D, L, C=C, n_boot=args.n_boot, seed=args.seed,
                            level=args.level)
        if not (math.isfinite(fit.a) and math.isfinite(fit.log_kN)
                and math.isfinite(float(fit.N_opt(args.c_ref)))
                and math.isfinite(float(fit.D_opt(args.c_ref)))):
            raise ValueError("approach2: IsoFLOP vertices are not identified by these points")
        out = fit.to_dict()
        out.update(law=args.law, N_opt=float(fit.N_opt(args.c_ref)),
                   D_opt=float(fit.D_opt(args.c_ref)), C_ref=args.c_ref)
        out["tokens_per_param"] = out["D_opt"] / out["N_opt"]
        return jsonable(out), fit, (N, D, L, C)
    ch.check_data(N, D, L)
    if len(L) < 6:
        raise ValueError(f"need at least 6 points to fit the 5-parameter {args.law} law, "
                         f"got {len(L)}")
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
    opt = compute_optimal(fit.params, args.c_ref)
    out.update(C_ref=args.c_ref, N_opt=float(opt["N_opt"]), D_opt=float(opt["D_opt"]),
               tokens_per_param=float(opt["tokens_per_param"]))
    out["ci"] = {}
    if args.n_boot > 0:
        from scalesim.fit.bootstrap import bootstrap_fit
        bs = bootstrap_fit(fit, N, D, L, n_boot=args.n_boot, seed=args.seed, level=args.level,
                           C_ref=args.c_ref)
        out["ci"] = {k: [float(v[0]), float(v[1])] for k, v in bs.ci.items()}
        out["bootstrap"] = {"n_boot": args.n_boot, "n_failed": bs.n_failed,
                            "level": args.level, "delta_ci": bs.to_dict()["delta_ci"]}
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


def main(argv=None) -> int:
    """Stand-alone entry point (``python -m scalesim.fit.command FILE ...``); returns the exit code."""
    parser = argparse.ArgumentParser(prog="scalesim fit")
    add_fit_arguments(parser)
    return run_fit(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
