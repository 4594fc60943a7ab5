"""`scalesim fit` command: JSON output, and one-line `scalesim: error: ...` messages (exit 2) on
malformed input, the format of every `scalesim` command."""

import argparse
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scalesim.datasets import load_epoch_chinchilla, load_llama3_isoflops
from scalesim.fit import command
from scalesim.fit import synthetic as syn


def _parse(argv):
    parser = argparse.ArgumentParser(prog="scalesim")
    sub = parser.add_subparsers(dest="cmd")
    command.add_fit_parser(sub)
    return parser.parse_args(["fit", *argv])


def _run(argv, capsys):
    rc = command.run_fit(_parse(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def _write(path, header, rows):
    path.write_text("\n".join([",".join(header)] + [",".join(map(str, r)) for r in rows]) + "\n")
    return str(path)


def _assert_clean_error(rc, out, err):
    assert rc == 2
    assert err.startswith("scalesim: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and out == ""


@pytest.fixture(scope="module")
def isoflop_csv(tmp_path_factory):
    d = syn.isoflop_design(syn.ASYMMETRIC_SURFACE, budgets=(1e18, 1e19, 1e20),
                           n_per_budget=8, noise=0.002)
    p = tmp_path_factory.mktemp("fit") / "iso.csv"
    return _write(p, ["C", "N", "loss"], zip(d["C"], d["N"], d["L"]))


def _check_json(res, n_points):
    assert set(res["params"]) == {"E", "A", "B", "alpha", "beta"}
    for key in ("ci", "objective", "n_points", "a", "b"):
        assert key in res
    assert res["n_points"] == n_points
    assert res["a"] + res["b"] == pytest.approx(1.0)
    lo, hi = res["ci"]["a"]
    assert lo <= res["a"] <= hi


@pytest.fixture(scope="module")
def epoch_csv(tmp_path_factory):
    d = load_epoch_chinchilla()
    p = tmp_path_factory.mktemp("fit") / "epoch.csv"
    return _write(p, ["Model Size", "Training FLOP", "L"], zip(d["N"], d["C"], d["L"]))


@pytest.mark.parametrize("method", ["approach3",
                                    pytest.param("vpnls", marks=pytest.mark.slow)])
def test_json_chinchilla_methods(method, epoch_csv, capsys):
    # shapes (240 points, 450 starts, 200 resamples) shared with the other fit tests' cache
    rc, out, err = _run([epoch_csv, "--method", method, "--n-col", "Model Size", "--c-col",
                         "Training FLOP", "--json", "--grid", "coarse", "--n-boot", "200"],
                        capsys)
    assert rc == 0, err
    res = json.loads(out)
    _check_json(res, 240)
    if method == "approach3":  # oracle 1 of test_fit_chinchilla
        assert res["params"]["alpha"] == pytest.approx(0.3473, abs=1e-4)
        assert res["objective"] == pytest.approx(1.0183e-3, rel=1e-4)


def test_json_approach2(isoflop_csv, capsys):
    rc, out, err = _run([isoflop_csv, "--method", "approach2", "--l-col", "loss", "--json",
                         "--n-boot", "50"], capsys)
    assert rc == 0, err
    res = json.loads(out)
    _check_json(res, 24)
    assert res["a"] == pytest.approx(0.25, abs=0.02)  # truth: beta/(alpha+beta) = 0.25


def test_table_output_and_plot(tmp_path, capsys):
    d = load_llama3_isoflops()
    p = _write(tmp_path / "llama.csv", ["flops", "tokens", "loss"], zip(d["C"], d["D"], d["L"]))
    png = tmp_path / "fig.png"
    rc, out, err = _run([p, "--method", "approach2", "--c-col", "flops", "--d-col", "tokens",
                         "--l-col", "loss", "--plot", str(png), "--n-boot", "50"], capsys)
    assert rc == 0, err
    assert "approach2" in out and "tokens_per_param" in out
    assert png.stat().st_size > 1000


BAD = [
    (["N", "D"], [[1e8, 1e9]] * 6, "missing loss column"),
    (["N", "L"], [[1e8, 3.0]] * 6, "need column 'N' or 'D'|missing column 'D'"),
    (["N", "D", "L"], [[1e8, 1e9, "abc"]] * 6, "not a number"),
    (["N", "D", "L"], [[1e8, 1e9, "nan"]] * 6, "NaN"),
    (["N", "D", "L"], [[1e8, -1e9, 3.0]] * 6, "must be > 0"),
    (["N", "D", "L"], [[0, 1e9, 3.0]] * 6, "must be > 0"),
    (["N", "D", "L"], [[1e8, 1e9, 3.0], [2e8, 2e9, 2.9]], "at least"),
    (["N", "D", "L"], [], "no data rows"),
    (["N", "D", "L"], [[1e8, 1e9]] * 6, "fields"),
]


@pytest.mark.parametrize("method", ["approach3", "vpnls", "approach2"])
@pytest.mark.parametrize("header, rows, match", BAD)
def test_malformed_csv_one_line_error(method, header, rows, match, tmp_path, capsys):
    p = _write(tmp_path / "bad.csv", header, rows)
    rc, out, err = _run([p, "--method", method], capsys)
    _assert_clean_error(rc, out, err)
    assert any(m in err for m in match.split("|")), err


def test_missing_file_and_bad_options(tmp_path, capsys):
    _assert_clean_error(*_run([str(tmp_path / "nope.csv")], capsys))
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00\x01garbage")
    _assert_clean_error(*_run([str(tmp_path / "bin.csv")], capsys))
    _assert_clean_error(*_run([str(tmp_path / "nope.csv"), "--n-boot", "-1"], capsys))
    _assert_clean_error(*_run([str(tmp_path)], capsys))  # a directory without run dirs


def test_run_directory_input(tmp_path, capsys):
    d = syn.isoflop_design(syn.ASYMMETRIC_SURFACE, budgets=(1e18, 1e19), n_per_budget=5)
    for i, (n, dd, l) in enumerate(zip(d["N"], d["D"], d["L"])):
        run = tmp_path / f"run{i:02d}"
        run.mkdir()
        (run / "config.json").write_text(json.dumps({"N": n, "D": dd, "name": "x"}))
        (run / "metrics.json").write_text(json.dumps({"L": l}))
    rc, out, err = _run([str(tmp_path), "--method", "approach2", "--json", "--n-boot", "0"],
                        capsys)
    assert rc == 0, err
    assert json.loads(out)["n_points"] == 10


CELL = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(min_value=1e-3, max_value=1e12).map(repr),
    st.sampled_from(["", "nan", "NaN", "inf", "-1", "0", "abc", "1e400", " 3 ", '"5"', "1,2"]),
    st.text(max_size=6),
)
HEADER = st.lists(st.sampled_from(["N", "D", "L", "C", "x", "", "N ", "loss"]),
                  min_size=0, max_size=5)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=HEADER, rows=st.lists(st.lists(CELL, max_size=6), max_size=12),
       raw=st.one_of(st.none(), st.binary(max_size=64)))
def test_fuzz_no_traceback_escapes(header, rows, raw, tmp_path_factory, capsys):
    p = tmp_path_factory.mktemp("fuzz") / "f.csv"
    if raw is not None:
        p.write_bytes(raw)
    else:
        p.write_text("\n".join([",".join(header)] + [",".join(r) for r in rows]))
    rc, out, err = _run([str(p), "--method", "approach2", "--json", "--n-boot", "5"], capsys)
    assert rc in (0, 2)
    if rc == 2:
        _assert_clean_error(rc, out, err)
    else:
        json.loads(out)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(0, 30), seed=st.integers(0, 2**16),
       spoil=st.sampled_from([None, "neg", "nan", "zero", "dup"]))
def test_fuzz_numeric_tables_approach2(n, seed, spoil, tmp_path_factory, capsys):
    rng = np.random.default_rng(seed)
    C = 10.0 ** rng.integers(17, 20, n)
    N = 10.0 ** rng.uniform(7, 9, n)
    L = 2 + rng.random(n)
    if spoil == "dup":
        N[:] = 1e8
    rows = [[c, nn, ll] for c, nn, ll in zip(C, N, L)]
    if rows and spoil in ("neg", "nan", "zero"):
        rows[rng.integers(len(rows))][2] = {"neg": -1.0, "nan": "nan", "zero": 0.0}[spoil]
    p = _write(tmp_path_factory.mktemp("fz") / "t.csv", ["C", "N", "L"], rows)
    rc, out, err = _run([p, "--method", "approach2", "--json", "--n-boot", "5"], capsys)
    assert rc in (0, 2)
    if rc == 2:
        _assert_clean_error(rc, out, err)
    else:
        assert json.loads(out)["n_points"] >= 6


def test_wired_into_scalesim_cli(isoflop_csv, tmp_path, capsys):
    from scalesim.cli import main
    rc = main(["fit", isoflop_csv, "--method", "approach2", "--l-col", "loss", "--json",
               "--n-boot", "0"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert json.loads(out)["method"] == "approach2"
    rc = main(["fit", str(tmp_path / "missing.csv")])
    out, err = capsys.readouterr()
    assert rc == 2 and err.count("\n") == 1 and err.startswith("scalesim: error: "), err


def test_non_finite_values_use_the_store_convention():
    """JSON output is strict (NaN -> null, inf -> "inf", as summary.json); the table prints them."""
    from scalesim.store import jsonable

    res = jsonable({"law": "chinchilla", "method": "approach2", "n_points": 6, "objective": 0.5,
                    "params": {k: None for k in ("E", "A", "B", "alpha", "beta")}, "a": 0.5,
                    "b": 0.5, "N_opt": float("inf"), "D_opt": 1e9, "tokens_per_param": float("nan"),
                    "ci": {"a": [0.4, float("inf")], "b": [float("nan"), 0.6]}})
    json.dumps(res, allow_nan=False)
    assert res["N_opt"] == "inf" and res["tokens_per_param"] is None and res["ci"]["a"] == [0.4, "inf"]
    table = command._table(res)
    assert "N_opt" in table and "inf" in table and "tokens_per_param" not in table
