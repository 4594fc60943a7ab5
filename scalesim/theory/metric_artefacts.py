"""Emergence as a metric artefact: smooth per-token scaling seen through nonlinear metrics.

Schaeffer, Miranda & Koyejo 2023 ("Are Emergent Abilities of Large Language Models a Mirage?",
Sec. 2) model a family whose per-token cross-entropy falls as a power law in the parameter
count ``N``::

    l(N)  = (N / c)^(-alpha)                  per-token CE of the correct token (nats), alpha > 0
    p(N)  = exp(-l(N))                        probability of the correct token
    EM(N) = p(N)^L = exp(-L (N / c)^(-alpha)) exact match over L independent tokens
    ED(N) = L (1 - p(N))                      expected token edit (Hamming) distance

so ``-log EM = L l(N)`` and ``log(-log EM) = log L - alpha log(N / c)`` is *linear* in
``log N`` with slope ``-alpha`` for every ``L``. The EM curve has the same 10-90 % width in
``log N`` for every ``L``, ``ln(ln 10 / -ln 0.9) / alpha``; ``L`` only shifts it:
``N_50 = c (L / ln 2)^(1/alpha)``. A linear y-axis on the shifted curve is the "jump".

The task law of PassUntil (Hu et al. 2024, the task scaling law of Sec. 5),
``PU(N) = exp(-a N^(-alpha))``, is the same curve with ``a = L c^alpha``
(:func:`pass_until`, :func:`pass_until_coeff`); an instance with its own effective length
``L_i`` is :func:`exact_match` with ``length=L_i``.

Two-option metrics (one question, two answers, the model puts probability ``p`` on the
correct one): the Brier score ``(1 - p)^2 + p_wrong^2 = 2 (1 - p)^2`` (continuous) and the
multiple-choice grade ``1[p > 1/2]`` (credit iff the correct answer is the argmax;
discontinuous). For binary tokens the grade is greedy token accuracy, and the grade over the
``2^L`` strings of ``L`` tokens (argmax of the product) is greedy exact match.

From measured per-token quantities of a model whose per-token probability ``p`` varies across
queries (independent queries): sampling exact match ``E[EM] = (E p)^L``, greedy exact match
``q^L`` with ``q = P(p > 1/2)`` the greedy token accuracy, expected greedy edit distance
``L (1 - q)``, and ``-log E[EM] = L (-log E p)``. Note ``exp(-CE) = exp(E log p)`` is the
geometric mean of ``p``, below ``E p`` when ``p`` varies.

All functions are float64 under x64, jit/vmap-able and differentiable in ``alpha``, ``c`` and
``L``; settings that are concrete are validated (``ValueError`` naming the argument).
"""

from __future__ import annotations

import math

import jax.numpy as jnp

from scalesim.precision import as_float
from scalesim.prediction import Prediction, prediction
from scalesim.validate import check_range

__all__ = [
    "PAPERS",
    "exponents",
    "token_loss",
    "token_prob",
    "exact_match",
    "log_neg_log_exact_match",
    "edit_distance",
    "pass_until",
    "pass_until_coeff",
    "brier_two_option",
    "mc_grade_two_option",
    "n_at_level",
    "n50",
    "window_width",
    "mc_threshold",
    "em_sampling",
    "em_greedy",
    "edit_greedy",
    "neg_log_em",
]

PAPERS = ("schaeffer2023mirage", "hu2024passuntil")
_MIR = "Schaeffer, Miranda & Koyejo 2023 (arXiv 2304.15004), Sec. 2"
_PU = "Hu et al. 2024 (arXiv 2310.03262), task scaling law (Sec. 5)"
_MAX_ALPHA = 100.0
_MAX_LENGTH = 1e9


def _check(alpha=None, c=None, length=None):
    if alpha is not None:
        check_range("alpha", alpha, 0.0, _MAX_ALPHA, lo_open=True)
    if c is not None:
        check_range("c", c, 0.0, 1e300, lo_open=True)
    if length is not None:
        check_range("length", length, 1.0, _MAX_LENGTH)


def exponents(alpha: float | None = None, c: float | None = None, length: float | None = None) -> dict[str, Prediction]:
    """The declared predictions of the metric-artefact family.

    Args:
      alpha: per-token CE exponent (> 0); without it nothing is predicted.
      c: scale of ``N`` in ``l(N) = (N/c)^-alpha`` (> 0); adds the thresholds.
      length: tokens per target ``L`` (>= 1); with ``c``, adds ``log_n50``.

    Returns:
      name -> :class:`~scalesim.prediction.Prediction`:

      - "token_loss_exponent": ``alpha`` (``-log p`` falls as ``N^-alpha``);
      - "loglog_slope": ``-alpha``, the slope of ``log(-log EM)`` vs ``log N``, any ``L``;
      - "window_10_90": ``ln(ln 10 / -ln 0.9) / alpha``, the EM 10-90 % width in ``ln N``, any ``L``;
      - "n50_length_exponent": ``1/alpha``, the slope of ``log N_50`` vs ``log L``;
      - with ``c``: "log_mc_threshold": ``ln c - ln(ln 2)/alpha``, where the two-option grade jumps;
      - with ``c`` and ``length``: "log_n50": ``ln c + ln(L / ln 2)/alpha``.
    """
    if alpha is None:
        if c is not None or length is not None:
            raise ValueError("alpha must be given with c or length")
        return {}
    _check(alpha, c, length)
    params = {k: v for k, v in (("alpha", alpha), ("c", c), ("length", length)) if v is not None}
    a = float(alpha)

    def pred(name, value, expression, valid_when, ref=_MIR):
        return prediction(__name__, params, name, value, expression, valid_when, ref)

    out = {
        "token_loss_exponent": pred("token_loss_exponent", a, "alpha", "l(N) = (N/c)^-alpha"),
        "loglog_slope": pred("loglog_slope", -a, "-alpha", "EM = exp(-L l(N)), any L; also log(-log PU) (Hu et al.)"),
        "window_10_90": pred("window_10_90", float(window_width(a)), "ln(ln 10 / -ln 0.9) / alpha",
                             "EM = exp(-L (N/c)^-alpha), width in ln N, any L"),
        "n50_length_exponent": pred("n50_length_exponent", 1.0 / a, "1/alpha", "N_50 = c (L / ln 2)^(1/alpha)"),
    }
    if c is not None:
        out["log_mc_threshold"] = pred("log_mc_threshold", math.log(c) - math.log(math.log(2.0)) / a,
                                       "ln c - ln(ln 2)/alpha", "two-option grade 1[p(N) > 1/2], p = exp(-l(N))")
    if c is not None and length is not None:
        out["log_n50"] = pred("log_n50", math.log(c) + math.log(length / math.log(2.0)) / a,
                              "ln c + ln(L / ln 2)/alpha", "EM(N_50) = 1/2")
    return out


def token_loss(n, *, alpha, c):
    """Per-token cross-entropy ``l(N) = (N/c)^-alpha`` in nats (Schaeffer et al. 2023, Sec. 2).

    Args:
      n: parameter counts (array, > 0). alpha: exponent (> 0). c: scale of ``N`` (> 0).

    Returns:
      ``l(N)`` with the broadcast shape of the inputs.
    """
    _check(alpha, c)
    check_range("n", n, 0.0, lo_open=True, allow_inf=True)
    n, alpha, c = as_float(n), as_float(alpha), as_float(c)
    return jnp.exp(-alpha * (jnp.log(n) - jnp.log(c)))


def token_prob(n, *, alpha, c):
    """Probability of the correct token ``p(N) = exp(-l(N))`` (Schaeffer et al. 2023, Sec. 2).

    Args:
      n: parameter counts (> 0). alpha: exponent (> 0). c: scale of ``N`` (> 0).

    Returns:
      ``p(N)`` in (0, 1).
    """
    return jnp.exp(-token_loss(n, alpha=alpha, c=c))


def exact_match(n, *, alpha, c, length):
    """Exact match over ``L`` independent tokens, ``EM(N) = exp(-L (N/c)^-alpha)``.

    Schaeffer et al. 2023, Sec. 2 (``Accuracy(N) = p^L``); with ``L`` an instance's effective
    length it is the PassUntil task law (Hu et al. 2024).

    Args:
      n: parameter counts (> 0). alpha: exponent (> 0). c: scale (> 0).
      length: ``L`` tokens (>= 1; real values allowed).

    Returns:
      ``EM(N)`` in (0, 1).
    """
    _check(length=length)
    return jnp.exp(-as_float(length) * token_loss(n, alpha=alpha, c=c))


def log_neg_log_exact_match(n, *, alpha, c, length):
    """``log(-log EM) = log L - alpha log(N/c)``: the linearising coordinate (slope ``-alpha``).

    Args:
      n: parameter counts (> 0). alpha: exponent (> 0). c: scale (> 0). length: ``L`` (>= 1).

    Returns:
      ``log(-log EM(N))`` (exact; no round-off from forming ``EM`` first).
    """
    _check(length=length)
    return jnp.log(as_float(length)) + jnp.log(token_loss(n, alpha=alpha, c=c))


def edit_distance(n, *, alpha, c, length):
    """Expected token edit (Hamming) distance to the target, ``L (1 - p(N))`` (Schaeffer et al. 2023, Sec. 2).

    Args:
      n: parameter counts (> 0). alpha: exponent (> 0). c: scale (> 0). length: ``L`` (>= 1).

    Returns:
      expected number of wrong tokens, in ``[0, L]``.
    """
    _check(length=length)
    return as_float(length) * -jnp.expm1(-token_loss(n, alpha=alpha, c=c))


def pass_until_coeff(*, alpha, c, length):
    """The coefficient ``a = L c^alpha`` that makes :func:`pass_until` equal :func:`exact_match`.

    Args:
      alpha: exponent (> 0). c: scale (> 0). length: ``L`` (>= 1).

    Returns:
      ``a`` (> 0).
    """
    _check(alpha, c, length)
    return as_float(length) * jnp.exp(as_float(alpha) * jnp.log(as_float(c)))


def pass_until(n, *, alpha, coeff):
    """PassUntil task law ``PU(N) = exp(-a N^-alpha)`` (Hu et al. 2024, task scaling law).

    The same curve as :func:`exact_match` with ``a = L c^alpha`` (:func:`pass_until_coeff`).

    Args:
      n: parameter counts (> 0). alpha: exponent (> 0). coeff: ``a`` (> 0).

    Returns:
      ``PU(N)`` in (0, 1).
    """
    check_range("coeff", coeff, 0.0, 1e300, lo_open=True)
    _check(alpha)
    return jnp.exp(-as_float(coeff) * token_loss(n, alpha=alpha, c=1.0))


def brier_two_option(p):
    """Brier score of a two-option question: ``(1 - p)^2 + (0 - (1 - p))^2 = 2 (1 - p)^2``.

    Args:
      p: probability the model puts on the correct option, in [0, 1] (array).

    Returns:
      the score (0 is perfect, 2 is worst), continuous in ``p``.
    """
    p = as_float(p)
    return 2.0 * (1.0 - p) ** 2


def mc_grade_two_option(p):
    """Multiple-choice grade of a two-option question: ``1[p > 1/2]``.

    Args:
      p: probability on the correct option (array).

    Returns:
      1.0 where the correct option is the argmax, else 0.0 (a tie gets no credit); discontinuous.
    """
    return (as_float(p) > 0.5).astype(as_float(p).dtype)


def n_at_level(level, *, alpha, c, length):
    """``N`` at which ``EM(N) = level``: ``c (L / -ln level)^(1/alpha)``.

    Args:
      level: exact-match level in (0, 1). alpha: exponent (> 0). c: scale (> 0). length: ``L`` (>= 1).

    Returns:
      ``N`` (> 0).
    """
    check_range("level", level, 0.0, 1.0, lo_open=True, hi_open=True)
    _check(alpha, c, length)
    level, alpha, c, length = as_float(level), as_float(alpha), as_float(c), as_float(length)
    return c * jnp.exp((jnp.log(length) - jnp.log(-jnp.log(level))) / alpha)


def n50(*, alpha, c, length):
    """``N_50 = c (L / ln 2)^(1/alpha)``, where the exact match reaches 1/2 (``N_50 ∝ L^(1/alpha)``).

    Args:
      alpha: exponent (> 0). c: scale (> 0). length: ``L`` (>= 1).

    Returns:
      ``N_50``.
    """
    return n_at_level(0.5, alpha=alpha, c=c, length=length)


def window_width(alpha, lo=0.1, hi=0.9):
    """Width in ``ln N`` of the EM rise from ``lo`` to ``hi``: ``ln(ln(1/lo) / ln(1/hi)) / alpha``.

    The same for every ``L`` (10-90 %: ``ln(ln 10 / -ln 0.9) / alpha``).

    Args:
      alpha: exponent (> 0). lo, hi: exact-match levels, ``0 < lo < hi < 1``.

    Returns:
      the width in natural-log units of ``N``.
    """
    _check(alpha)
    check_range("lo", lo, 0.0, 1.0, lo_open=True, hi_open=True)
    check_range("hi", hi, 0.0, 1.0, lo_open=True, hi_open=True)
    if isinstance(lo, float) and isinstance(hi, float) and not lo < hi:
        raise ValueError(f"lo must be < hi; got lo={lo}, hi={hi}")
    lo, hi = as_float(lo), as_float(hi)
    return jnp.log(jnp.log(lo) / jnp.log(hi)) / as_float(alpha)


def mc_threshold(*, alpha, c):
    """``N`` where the two-option grade ``1[p(N) > 1/2]`` jumps from 0 to 1: ``c (ln 2)^(-1/alpha)``.

    Args:
      alpha: exponent (> 0). c: scale (> 0).

    Returns:
      the threshold ``N``.
    """
    _check(alpha, c)
    return as_float(c) * jnp.exp(-jnp.log(jnp.log(2.0)) / as_float(alpha))


def em_sampling(mean_p, length):
    """Expected exact match of ``L`` independently *sampled* tokens, ``(E p)^L``.

    Args:
      mean_p: mean probability of the correct token over queries, in [0, 1].
      length: ``L`` (>= 1).

    Returns:
      ``(E p)^L``.
    """
    check_range("mean_p", mean_p, 0.0, 1.0)
    _check(length=length)
    return as_float(mean_p) ** as_float(length)


def em_greedy(token_acc, length):
    """Exact match of ``L`` independent *greedy* tokens, ``q^L``.

    Args:
      token_acc: greedy token accuracy ``q = P(p > 1/2)``, in [0, 1]. length: ``L`` (>= 1).

    Returns:
      ``q^L``.
    """
    check_range("token_acc", token_acc, 0.0, 1.0)
    _check(length=length)
    return as_float(token_acc) ** as_float(length)


def edit_greedy(token_acc, length):
    """Expected greedy token edit (Hamming) distance ``L (1 - q)``.

    Args:
      token_acc: greedy token accuracy ``q`` in [0, 1]. length: ``L`` (>= 1).

    Returns:
      expected wrong tokens per sequence.
    """
    check_range("token_acc", token_acc, 0.0, 1.0)
    _check(length=length)
    return as_float(length) * (1.0 - as_float(token_acc))


def neg_log_em(mean_p, length):
    """``-log E[EM] = L (-log E p)`` for sampled tokens.

    Args:
      mean_p: mean probability of the correct token, in [0, 1]. length: ``L`` (>= 1).

    Returns:
      ``-log E[EM]`` (``inf`` when ``E p = 0``).
    """
    check_range("mean_p", mean_p, 0.0, 1.0)
    _check(length=length)
    return -as_float(length) * jnp.log(as_float(mean_p))
