"""A damaged run store is detected, refused by `report`, and recomputed by the next `run`."""

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from scalesim import store
from scalesim.cli import main

TINY = ["--set", "dims=48,64,80", "--set", "steps=300", "--set", "seeds=2", "--set", "n_boot=50", "--no-progress"]


def _run(out):
    return main(["run", "sgd-powerlaw", "--quick", "--out", str(out), *TINY])


def _points(out):
    return sorted(p for p in (out / "runs").iterdir() if not p.name.startswith("."))


def _arrays(out):
    return {r.path.name: r.arrays for r in store.load_runs(out)}


def _truncate(p):
    f = p / "arrays.npz"
    f.write_bytes(f.read_bytes()[:100])


def _flip_bit(p):
    f = p / "arrays.npz"
    b = bytearray(f.read_bytes())
    b[len(b) // 2] ^= 0x10
    f.write_bytes(bytes(b))


def _alter_config(p):
    c = json.loads((p / "config.json").read_text())
    c["_index"] = 99
    (p / "config.json").write_text(json.dumps(c))


def _alter_metrics(p):
    m = json.loads((p / "metrics.json").read_text())
    m["altered"] = 1.0
    (p / "metrics.json").write_text(json.dumps(m))


def _alter_array_value(p):  # a valid npz with one value changed
    with np.load(p / "arrays.npz") as z:
        arrays = {k: z[k] for k in z.files}
    k = sorted(arrays)[0]
    arrays[k] = np.asarray(arrays[k]).copy()
    arrays[k].flat[0] = arrays[k].flat[0] + 1
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    (p / "arrays.npz").write_bytes(buf.getvalue())


def _delete(name):
    return lambda p: (p / name).unlink()


ROUNDS = [
    (_truncate, _alter_config, _delete("metrics.json")),
    (_flip_bit, _alter_metrics, _alter_array_value),
    (_delete("config.json"), _delete("manifest.json"), _delete("arrays.npz")),
]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("integrity") / "ref"
    assert _run(out) == 0
    return out


def test_intact_store_verifies(reference, capsys):
    assert main(["verify", str(reference)]) == 0
    assert "3/3 points done, 0 pending, 0 damaged" in capsys.readouterr().out
    for p in _points(reference):
        assert store.point_state(p) == ("done", None)


@pytest.mark.parametrize("damage", ROUNDS, ids=["truncate-config-metrics", "bitflip-metrics-value", "deleted-files"])
def test_damage_is_detected_refused_and_recomputed(reference, tmp_path, damage, capsys):
    import shutil

    out = tmp_path / "store"
    shutil.copytree(reference, out)
    for fn, p in zip(damage, _points(out)):
        fn(p)
    capsys.readouterr()
    # report and verify refuse with one line naming the damaged points; nothing is used
    assert main(["report", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("scalesim: error: ") and "3 damaged point(s)" in err[0], err
    assert main(["verify", str(out)]) == 2
    capsys.readouterr()
    with pytest.raises(store.DamagedRun):
        store.load_runs(out)
    # the next run moves them aside (nothing deleted) and recomputes them, bit-identical
    assert _run(out) == 0
    assert "damaged" in capsys.readouterr().err
    assert len([p for p in (out / "runs").iterdir() if p.name.startswith(".damaged-")]) == 3
    a, b = _arrays(reference), _arrays(out)
    assert sorted(a) == sorted(b)
    for pid in a:
        for k in a[pid]:
            np.testing.assert_array_equal(a[pid][k], b[pid][k], err_msg=f"{pid}/{k}")
    assert store.read_json(reference / "summary.json") == store.read_json(out / "summary.json")


def test_points_without_manifest_still_load(tmp_path):
    d = tmp_path / "runs" / "old"
    store.save_run(d, {"c": 1}, {"m": 1}, {"a": np.zeros(2)})
    (d / "manifest.json").unlink()
    c = json.loads((d / "config.json").read_text())
    del c["_manifest"]  # as written before manifests existed
    (d / "config.json").write_text(json.dumps(c))
    assert store.point_state(d) == ("unverified", None)
    assert store.load_run(d).metrics == {"m": 1}


def test_read_only_store_can_be_reported(reference, tmp_path, capsys, monkeypatch):
    """`report` of a store it cannot write still prints the table (one note on stderr), exit 0."""
    import shutil

    from scalesim.experiments import base

    ro = tmp_path / "ro"
    shutil.copytree(reference, ro)
    before = (ro / "summary.json").read_bytes()

    def refuse(path, obj):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(base, "write_json", refuse)
    capsys.readouterr()
    assert main(["report", str(ro)]) == 0
    out, err = capsys.readouterr()
    assert "measured vs theory" in out and "is read-only" in err and err.count("\n") == 1
    assert (ro / "summary.json").read_bytes() == before


def test_stray_directory_is_skipped_not_a_crash(reference, tmp_path):
    import shutil

    st = tmp_path / "st"
    shutil.copytree(reference, st)
    (st / "runs" / "notes").mkdir()
    with pytest.warns(RuntimeWarning, match="not sweep points: notes"):
        runs = store.load_runs(st)
    assert len(runs) == len(_points(reference))
