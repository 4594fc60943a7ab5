"""Checksummed loaders for the vendored public scaling-law data.

Every file under ``scalesim/datasets/data`` is a byte-for-byte copy of a public file (see
``PROVENANCE.md`` next to this module). Each loader verifies the file's sha256 before parsing
it and returns a *tidy* dict of equal-length 1-D numpy arrays (float64 for numbers, ``str``
object arrays for labels): the same shape a DataFrame would have, without needing pandas.

Conventions (Hoffmann et al. 2022; Kaplan et al. 2020, Sec. 2.1): ``N`` parameters, ``D``
training tokens, ``C`` training FLOP with ``C = 6 N D`` where one of them is missing, ``L``
loss.
"""

from __future__ import annotations

import csv
import hashlib
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = [
    "SHA256",
    "DatasetChecksumError",
    "data_path",
    "verify",
    "list_datasets",
    "load_epoch_chinchilla",
    "load_llama3_isoflops",
    "load_bnsl_4digit_addition",
    "load_revisiting_lang",
]

#: sha256 of each vendored file (also listed in ``PROVENANCE.md``).
SHA256 = {
    "epoch_chinchilla_svg_extracted_data.csv":
        "193478df4e90f040016431996c45682659306840ecdadf83cfb9cd5ca0aa1b30",
    "llama3_isoflops_points.csv":
        "5675ea68f14be53bd09bf0d65667c0f25668aa82ecc48020864ae371e7a38a8a",
    "bnsl_4digit_addition.csv":
        "04ec5a62a2e041da94a1cb671ea483051aaf5a435b666a57fce07469618bd431",
    "colpret/revisiting_lang.csv":
        "63c346db00a66b692e1ea9a0f71a2f2b267e55f74be5b863a92e199dffbf0983",
}

#: Epoch AI drop these 5 highest-loss points before fitting (Besiroglu et al. 2024, Sec. 2).
EPOCH_N_OUTLIERS = 5


class DatasetChecksumError(ValueError):
    """A vendored file does not match its recorded sha256 (corrupted or edited copy)."""


def data_path(name: str) -> Path:
    """Path of a vendored file, e.g. ``data_path("llama3_isoflops_points.csv")``.

    Args:
      name: a name from :func:`list_datasets`.

    Returns:
      The file's path inside the installed package.
    """
    if name not in SHA256:
        raise ValueError(f"name: unknown dataset file {name!r}; choose one of {sorted(SHA256)}")
    return Path(str(resources.files("scalesim.datasets").joinpath("data", name)))


def verify(name: str) -> Path:
    """Check the sha256 of a vendored file against :data:`SHA256`.

    Args:
      name: a name from :func:`list_datasets`.

    Returns:
      The file's path.

    Raises:
      DatasetChecksumError: the file differs from the recorded copy.
    """
    path = data_path(name)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SHA256[name]:
        raise DatasetChecksumError(
            f"{name}: sha256 {digest} does not match the recorded {SHA256[name]}; "
            "the vendored copy was modified")
    return path


def list_datasets() -> list[str]:
    """Names of the vendored data files.

    Returns:
      Sorted file names, as accepted by :func:`data_path` and :func:`verify`.
    """
    return sorted(SHA256)


def _read_rows(name: str) -> tuple[list[str], list[list[str]]]:
    with open(verify(name), newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def _column(header, rows, col, kind=float):
    j = header.index(col)
    if kind is float:
        return np.array([float(r[j]) for r in rows], dtype=np.float64)
    return np.array([r[j] for r in rows], dtype=object)


def load_epoch_chinchilla(drop_outliers: bool = True) -> dict[str, np.ndarray]:
    """Epoch AI's points extracted from Hoffmann et al. (2022) Fig. 4 (Besiroglu et al. 2024).

    Args:
      drop_outliers: remove the 5 highest-loss points (default, Besiroglu et al.'s choice),
        leaving 240 rows; otherwise all 245 rows in file order.

    Returns:
      ``{"N", "D", "C", "L"}``: parameters, tokens ``D = C / (6 N)`` as Besiroglu et al.
      derive them, training FLOP and loss (nats per token).
    """
    header, rows = _read_rows("epoch_chinchilla_svg_extracted_data.csv")
    N = _column(header, rows, "Model Size")
    C = _column(header, rows, "Training FLOP")
    L = _column(header, rows, "loss")
    keep = np.ones(len(L), dtype=bool)
    if drop_outliers:
        keep[np.argsort(-L, kind="stable")[:EPOCH_N_OUTLIERS]] = False
    N, C, L = N[keep], C[keep], L[keep]
    return {"N": N, "D": C / (6.0 * N), "C": C, "L": L}


def load_llama3_isoflops() -> dict[str, np.ndarray]:
    """Llama 3 IsoFLOP points (Llama Team 2024, arXiv 2407.21783, Fig. 2; digitised by E. Czech).

    Returns:
      ``{"N", "D", "C", "L"}``: parameters ``N = C / (6 D)``, tokens, training FLOP and
      validation loss; 133 rows over 10 budgets.
    """
    header, rows = _read_rows("llama3_isoflops_points.csv")
    C = _column(header, rows, "compute_budget")
    D = _column(header, rows, "training_tokens")
    L = _column(header, rows, "validation_loss")
    return {"N": C / (6.0 * D), "D": D, "C": C, "L": L}


def load_bnsl_4digit_addition() -> dict[str, np.ndarray]:
    """The 4-digit addition curve of Caballero et al. 2023 ("Broken Neural Scaling Laws"), Fig. 4 left.

    Returns:
      ``{"x", "y", "fit"}``: training-set size, test cross-entropy and a bool mask (True for
      the 14 fitted points, False for the 3 extrapolation targets).
    """
    header, rows = _read_rows("bnsl_4digit_addition.csv")
    split = _column(header, rows, "split", kind=str)
    return {"x": _column(header, rows, "train_dataset_size"),
            "y": _column(header, rows, "test_cross_entropy"),
            "fit": np.array([s == "fit" for s in split], dtype=bool)}


def load_revisiting_lang() -> dict[str, np.ndarray]:
    """Alabdulmohsin et al. (2022) benchmark learning curves (via IBM/ColPret).

    Returns:
      ``{"domain", "task", "model", "x", "loss", "train"}``: ``x`` examples seen, ``loss``
      the benchmark loss, ``train`` True for the points a law is fitted on and False for the
      extrapolation targets. One curve is one ``(domain, task, model)`` triple.
    """
    header, rows = _read_rows("colpret/revisiting_lang.csv")
    return {"domain": _column(header, rows, "Domain", kind=str),
            "task": _column(header, rows, "Task", kind=str),
            "model": _column(header, rows, "Model", kind=str),
            "x": _column(header, rows, "Seen Examples"),
            "loss": _column(header, rows, "Loss"),
            "train": _column(header, rows, "Training") == 1.0}
