"""Vendored public scaling-law data with provenance (``PROVENANCE.md``) and checksummed loaders.

Every loader verifies the file's sha256 before parsing it and returns a dict of equal-length
1-D NumPy arrays:

- ``load_epoch_chinchilla``: Hoffmann et al. (2022) Fig. 4 points as extracted by Besiroglu
  et al. (2024); ``N``, ``D``, ``C``, ``L``.
- ``load_llama3_isoflops``: Llama 3 IsoFLOP points (arXiv 2407.21783, Fig. 2); ``N``, ``D``,
  ``C``, ``L``.
- ``load_bnsl_4digit_addition``: the 4-digit addition curve of Caballero et al. (2023).
- ``load_revisiting_lang``: benchmark learning curves of Alabdulmohsin et al. (2022).

Files: ``list_datasets``, ``data_path``, ``verify``, ``SHA256``, ``DatasetChecksumError``.
"""

from scalesim.datasets.loaders import (
    SHA256,
    DatasetChecksumError,
    data_path,
    list_datasets,
    load_bnsl_4digit_addition,
    load_epoch_chinchilla,
    load_llama3_isoflops,
    load_revisiting_lang,
    verify,
)

__all__ = [
    "load_epoch_chinchilla",
    "load_llama3_isoflops",
    "load_bnsl_4digit_addition",
    "load_revisiting_lang",
    "list_datasets",
    "data_path",
    "verify",
    "SHA256",
    "DatasetChecksumError",
]
