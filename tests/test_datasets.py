"""Vendored data: checksums verified on load, shapes and conventions as documented."""

import hashlib
import shutil

import numpy as np
import pytest

from scalesim.datasets import loaders


@pytest.mark.parametrize("name", loaders.list_datasets())
def test_checksums_match_recorded(name):
    path = loaders.verify(name)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == loaders.SHA256[name]


def test_provenance_lists_every_file():
    text = (loaders.data_path(loaders.list_datasets()[0]).parents[1] / "PROVENANCE.md").read_text()
    for name, sha in loaders.SHA256.items():
        assert name in text and sha in text


def test_corrupted_copy_is_rejected(tmp_path, monkeypatch):
    src = loaders.data_path("bnsl_4digit_addition.csv")
    bad = tmp_path / "bnsl_4digit_addition.csv"
    shutil.copy(src, bad)
    bad.write_bytes(bad.read_bytes().replace(b"160", b"161", 1))
    monkeypatch.setattr(loaders, "data_path", lambda name: bad)
    with pytest.raises(loaders.DatasetChecksumError, match="sha256"):
        loaders.load_bnsl_4digit_addition()


def test_unknown_name_is_a_value_error():
    with pytest.raises(ValueError, match="unknown dataset"):
        loaders.data_path("nope.csv")


def test_epoch_chinchilla_outlier_drop():
    full = loaders.load_epoch_chinchilla(drop_outliers=False)
    kept = loaders.load_epoch_chinchilla()
    assert len(full["L"]) == 245 and len(kept["L"]) == 240
    dropped = np.sort(np.setdiff1d(full["L"], kept["L"]))[::-1]
    # Besiroglu et al. 2024, Sec. 2: the dropped losses are 5.01, 4.67, 3.79, 3.77, 3.45
    np.testing.assert_allclose(dropped, [5.01, 4.67, 3.79, 3.77, 3.45], atol=6e-3)
    np.testing.assert_allclose(6 * kept["N"] * kept["D"], kept["C"], rtol=1e-12)
    assert kept["N"].min() > 5e7 and kept["N"].max() < 1.7e10


def test_llama3_isoflops():
    d = loaders.load_llama3_isoflops()
    assert len(d["L"]) == 133 and len(np.unique(d["C"])) == 10
    np.testing.assert_allclose(6 * d["N"] * d["D"], d["C"], rtol=1e-12)
    assert all(np.all(v > 0) for v in d.values())


def test_bnsl_and_revisiting():
    b = loaders.load_bnsl_4digit_addition()
    assert b["x"].shape == (17,) and b["fit"].sum() == 14 and not b["fit"][-3:].any()
    r = loaders.load_revisiting_lang()
    assert len(r["x"]) == 1399 and set(np.unique(r["domain"])) == {"BB", "LM", "NMT"}
    assert r["train"].any() and (~r["train"]).any()
