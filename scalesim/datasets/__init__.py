"""Vendored public scaling-law data with provenance (PROVENANCE.md) and checksummed loaders."""

from scalesim.datasets.loaders import (  # noqa: F401
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
