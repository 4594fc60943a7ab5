import json

import numpy as np
import pytest

from scalesim.cli import main

TINY = ["--set", "dims=256", "--set", "steps=300", "--set", "seeds=3", "--set", "n_boot=50", "--no-progress"]


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["run", "no-such-experiment"], "unknown experiment 'no-such-experiment'"),
        (["run", "sgd-powerlaw", "--set", "nope=1"], "unknown setting 'nope'"),
        (["run", "sgd-powerlaw", "--set", "steps=ten"], "steps: expected an integer"),
        (["run", "sgd-powerlaw", "--set", "b=-2"], "b must be in (0.0, 50.0]"),
        (["run", "sgd-powerlaw", "--set", "steps"], "--set expects key=value"),
        (["run", "sgd-powerlaw", "--set", "lr_scale=5"], "lr_scale must be in (0.0, 2.0)"),
        (["run", "sgd-powerlaw", "--set", "a_values=2,2"], "a_values must not repeat values"),
        (["report", "/nonexistent/dir"], "not a scalesim run directory"),
        (["frobnicate"], "invalid choice"),
        ([], "a command is required"),
    ],
)
def test_bad_input_is_one_line_exit_2(argv, fragment, capsys, tmp_path):
    rc = main(argv + (["--out", str(tmp_path / "o")] if argv[:1] == ["run"] else []))
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith("scalesim: error: "), err
    assert fragment in err
    assert "Traceback" not in err
    assert not (tmp_path / "o" / "runs").exists()  # nothing trained or written


def test_list_names_every_experiment(capsys):
    from scalesim.experiments import REGISTRY

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name, exp in REGISTRY.items():
        assert name in out and exp.description in out


def test_run_then_report_from_store(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "sgd-powerlaw", "--out", str(out), *TINY]) == 0
    table = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert {"quantity", "measured", "ci", "theory", "agrees"} <= set(summary[0])
    assert all(np.isfinite(r["measured"]) for r in summary)
    assert (out / "figure.png").stat().st_size > 1000 and (out / "figure.pdf").is_file()
    assert "time_exponent" in table
    (out / "figure.png").unlink()
    assert main(["report", str(out)]) == 0
    assert (out / "figure.png").is_file()
    assert json.loads((out / "summary.json").read_text()) == summary
    assert "time_exponent" in capsys.readouterr().out


def test_unwritable_out_is_one_line_exit_2(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    rc = main(["run", "sgd-powerlaw", "--out", str(blocker / "sub"), *TINY])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and err.startswith("scalesim: error: cannot access"), err
    assert blocker.read_text() == "x"


def test_cite_prints_bibtex(tmp_path, capsys):
    out = tmp_path / "pf"
    assert main(["run", "pruning-frontier", "--quick", "--out", str(out), "--no-progress", "--cite"]) == 0
    text = capsys.readouterr().out
    assert "@software{scalesim," in text and "@inproceedings{sorscher2022beyond," in text
    assert main(["report", str(out), "--cite"]) == 0
    assert "@inproceedings{sorscher2022beyond," in capsys.readouterr().out


def test_citation_api():
    import scalesim.bibliography as c

    text = c.citation("superposition")
    assert "liu2025superposition" in text and "elhage2022toy" in text and text.startswith("@software{scalesim")
    assert c.paper_keys("bahri2021explaining") == ("bahri2021explaining",)
    with pytest.raises(ValueError, match="unknown experiment"):
        c.citation("no-such-thing")


@pytest.mark.parametrize("exc, code, fragment", [
    (RuntimeError("boom"), 1, "internal error (RuntimeError: boom); this is a bug in scalesim, please report it"),
    (KeyError("x"), 1, "internal error (KeyError: 'x')"),
    (MemoryError(), 2, "out of memory"),
    (KeyboardInterrupt(), 130, "interrupted; finished sweep points are kept"),
    (RuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to allocate\nmore"), 2, "out of device memory"),
])
def test_unexpected_errors_are_one_line(exc, code, fragment, capsys, monkeypatch):
    """An internal error prints one line asking for a report (exit 1); the traceback only with
    SCALESIM_DEBUG=1."""
    import scalesim.cli as cli

    def boom(args):
        raise exc

    monkeypatch.setattr(cli, "_run", boom)
    monkeypatch.delenv("SCALESIM_DEBUG", raising=False)
    assert main(["list"]) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("scalesim: error: ") and fragment in err, err
    if code == 1:
        monkeypatch.setenv("SCALESIM_DEBUG", "1")
        with pytest.raises(type(exc)):
            main(["list"])
