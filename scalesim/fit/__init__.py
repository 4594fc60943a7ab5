"""Exponent fits with confidence intervals, and scaling-law estimators.

Every name below is importable from ``scalesim.fit`` (``from scalesim.fit import
fit_approach3, fit_vpnls, fit_approach2, bootstrap_fit``); the submodules hold the details.

Power laws and records (:mod:`~scalesim.fit.powerlaw`, :mod:`~scalesim.fit.records`):
  ``fit_power_law``, ``fit_power_law_offset``, ``bootstrap_exponent``, ``local_exponent``,
  ``PowerLawFit``, ``OffsetFit``, ``Bootstrap``; ``comparison``, ``format_table``, ``diverged_note``.

Chinchilla law L = E + A N^-alpha + B D^-beta (Hoffmann et al. 2022):
  :mod:`~scalesim.fit.chinchilla` (Approach 3): ``fit_approach3``, ``ChinchillaFit``,
  ``chinchilla_loss``, ``log_loss_lse``, ``approach3_objective``, ``hoffmann_grid``,
  ``check_data``, ``params_from_theta``, ``theta_from_params``, ``PARAM_NAMES``,
  ``HOFFMANN_PARAMS``;
  :mod:`~scalesim.fit.vpnls` (Czech 2026): ``fit_vpnls``, ``nnls3``, ``inner_solve``,
  ``profile_rss``;
  :mod:`~scalesim.fit.approach2` (IsoFLOP parabolas): ``fit_approach2``, ``Approach2Fit``,
  ``group_budgets``;
  :mod:`~scalesim.fit.likelihood` (Besiroglu et al. 2024): ``fit_huber_likelihood``,
  ``huber_nll``, ``huber_log_normaliser``, ``HOFFMANN_THETA_UNROUNDED``;
  :mod:`~scalesim.fit.bootstrap`: ``bootstrap_fit``, ``BootstrapResult``, ``resample_weights``;
  :mod:`~scalesim.fit.allocation`: ``compute_optimal``, ``compute_for_loss``,
  ``delta_method``, ``derived_quantities``, ``DERIVED_NAMES``;
  :mod:`~scalesim.fit.synthetic`: ``isoflop_design``, ``ASYMMETRIC_SURFACE``.

Other laws (:mod:`~scalesim.fit.laws`, :mod:`~scalesim.fit.curves`):
  ``fit_law``, ``Law``, ``LawFit``, ``extrapolation_error``, ``annealing_areas``, ``LAWS``,
  ``CHINCHILLA``, ``KAPLAN``, ``FARSEER``, ``BNSL1``, ``LR_ANNEALING``, ``MUENNIGHOFF``;
  ``fit_m4``, ``m4_predict``, ``fit_beta_binomial``, ``pass_at_k``, ``passk_exponent``.

Tools: :mod:`~scalesim.fit.optim` (batched L-BFGS: ``minimize_batch``, ``minimize_queue``,
``BatchResult``), :mod:`~scalesim.fit.tabular` (``read_ndl``, ``read_csv_columns``,
``read_run_dir``), :mod:`~scalesim.fit.plotting` (``plot_chinchilla_fit``,
``plot_approach2_fit``). The ``scalesim fit`` command lives in :mod:`scalesim.fit.command`
(not re-exported: it is the command-line front end).
"""

from scalesim.fit.allocation import (
    DERIVED_NAMES,
    compute_for_loss,
    compute_optimal,
    delta_method,
    derived_quantities,
)
from scalesim.fit.approach2 import Approach2Fit, fit_approach2, group_budgets
from scalesim.fit.bootstrap import BootstrapResult, bootstrap_fit, resample_weights
from scalesim.fit.chinchilla import (
    HOFFMANN_PARAMS,
    PARAM_NAMES,
    ChinchillaFit,
    approach3_objective,
    check_data,
    chinchilla_loss,
    fit_approach3,
    hoffmann_grid,
    log_loss_lse,
    params_from_theta,
    theta_from_params,
)
from scalesim.fit.curves import fit_beta_binomial, fit_m4, m4_predict, pass_at_k, passk_exponent
from scalesim.fit.laws import (
    BNSL1,
    CHINCHILLA,
    FARSEER,
    KAPLAN,
    LAWS,
    LR_ANNEALING,
    MUENNIGHOFF,
    Law,
    LawFit,
    annealing_areas,
    extrapolation_error,
    fit_law,
)
from scalesim.fit.likelihood import (
    HOFFMANN_THETA_UNROUNDED,
    fit_huber_likelihood,
    huber_log_normaliser,
    huber_nll,
)
from scalesim.fit.optim import BatchResult, minimize_batch, minimize_queue
from scalesim.fit.plotting import plot_approach2_fit, plot_chinchilla_fit
from scalesim.fit.powerlaw import (
    Bootstrap,
    OffsetFit,
    PowerLawFit,
    bootstrap_exponent,
    fit_power_law,
    fit_power_law_offset,
    local_exponent,
)
from scalesim.fit.records import comparison, diverged_note, format_table
from scalesim.fit.synthetic import ASYMMETRIC_SURFACE, isoflop_design
from scalesim.fit.tabular import read_csv_columns, read_ndl, read_run_dir
from scalesim.fit.vpnls import fit_vpnls, inner_solve, nnls3, profile_rss

__all__ = [
    # power laws and records
    "fit_power_law", "fit_power_law_offset", "bootstrap_exponent", "local_exponent",
    "PowerLawFit", "OffsetFit", "Bootstrap", "comparison", "format_table", "diverged_note",
    # Chinchilla estimators
    "fit_approach3", "ChinchillaFit", "chinchilla_loss", "log_loss_lse", "approach3_objective",
    "hoffmann_grid", "check_data", "params_from_theta", "theta_from_params", "PARAM_NAMES",
    "HOFFMANN_PARAMS", "fit_vpnls", "nnls3", "inner_solve", "profile_rss", "fit_approach2",
    "Approach2Fit", "group_budgets", "fit_huber_likelihood", "huber_nll", "huber_log_normaliser",
    "HOFFMANN_THETA_UNROUNDED", "bootstrap_fit", "BootstrapResult", "resample_weights",
    "compute_optimal", "compute_for_loss", "delta_method", "derived_quantities", "DERIVED_NAMES",
    "isoflop_design", "ASYMMETRIC_SURFACE",
    # other laws
    "fit_law", "Law", "LawFit", "extrapolation_error", "annealing_areas", "LAWS", "CHINCHILLA",
    "KAPLAN", "FARSEER", "BNSL1", "LR_ANNEALING", "MUENNIGHOFF", "fit_m4", "m4_predict",
    "fit_beta_binomial", "pass_at_k", "passk_exponent",
    # tools
    "minimize_batch", "minimize_queue", "BatchResult", "read_ndl", "read_csv_columns",
    "read_run_dir", "plot_chinchilla_fit", "plot_approach2_fit",
]
