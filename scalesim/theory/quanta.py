"""The quantization model of neural scaling: closed forms for multitask sparse parity.

Michaud, Liu, Girit & Tegmark 2023 (arXiv 2303.13506), Sec. 2 "Theory" and App. "More general
scaling laws" (the transcription carries no equation numbers):

- QH1-QH3: discrete quanta, learned in order of use frequency, frequencies Zipfian
  ``p_k ∝ k^-(alpha+1)``. Here the normalisation is over the ``n_tasks`` subtasks of the finite
  task (:func:`frequencies`).
- Loss with the ``n`` most frequent quanta learned, chance ``b = 1`` bit before and ``a = 0`` after:
  ``L(n) = sum_{k>n} p_k`` bits exactly (:func:`loss_learned`), ``≈ n^-alpha / (alpha Z)`` for
  ``1 << n << n_tasks``: ``alpha_N = alpha`` when ``n ∝ N`` (parameters).
- Data (multi-epoch): quantum ``k`` is learned once ``D p_k >= tau`` examples,
  ``n(D) = #{k: D p_k >= tau} ≈ (D / (tau Z))^{1/(alpha+1)}`` (:func:`n_learned_threshold`,
  :func:`n_learned_continuous`), so ``alpha_D = alpha/(alpha+1)``. Steps (single epoch): the same
  with ``S/T`` for ``D/tau``: ``alpha_S = alpha/(alpha+1)``.

Nam, Fonseca, Lee, Mingard & Louis 2024 (arXiv 2404.17563) Eq. 11: the skill strength of the
multilinear model under gradient flow, a sigmoid in time (:func:`nam_skill_curve`).

All functions are float64 under x64 and differentiable in ``alpha``.
"""

from __future__ import annotations

import jax.numpy as jnp

from ..precision import as_float
from ..prediction import Prediction, prediction
from ..validate import check_int, check_positive, check_range

__all__ = ["PAPERS", "exponents", "frequencies", "loss_learned", "local_slope", "n_learned_threshold",
           "n_learned_continuous", "nam_skill_curve"]

PAPERS = ("michaud2023quantization", "nam2024exactly")
_QM = "Michaud et al. 2023 (arXiv 2303.13506) Sec. 2 'Theory'"


def _check(n_tasks, alpha):
    check_int("n_tasks", n_tasks, 1, 10**7)
    check_range("alpha", alpha, 0.0, 100.0, lo_open=True)


def frequencies(n_tasks: int, alpha, offset: int = 0):
    """Zipf frequencies ``p_k = (k + offset)^-(alpha+1) / Z``, ``k = 1..n_tasks`` (QM Sec. 2, QH3).

    Args:
      n_tasks: number of quanta (finite normalisation). alpha: the paper's Zipf exponent (> 0).
      offset: rank offset (>= 0).

    Returns:
      ``[n_tasks]`` probabilities summing to 1.
    """
    _check(n_tasks, alpha)
    check_int("offset", offset, 0, 10**6)
    w = (jnp.arange(1, n_tasks + 1, dtype=as_float(0.0).dtype) + offset) ** (-(as_float(alpha) + 1.0))
    return w / jnp.sum(w)


def loss_learned(n, n_tasks: int, alpha, chance_bits: float = 1.0):
    """Exact loss (bits) when the ``n`` most frequent quanta are learned: ``L(n) = b sum_{k>n} p_k``.

    Args:
      n: number learned (array; real values count quanta ``k <= n``).
      n_tasks, alpha: as :func:`frequencies`. chance_bits: loss ``b`` of an unlearned quantum
        (1 bit for a balanced binary label).

    Returns:
      ``L(n)`` in bits, the shape of ``n`` (QM Sec. 2: ``L_n = sum_{k<=n} a p_k + sum_{k>n} b p_k``, a = 0).
    """
    p = frequencies(n_tasks, alpha)
    k = jnp.arange(1, n_tasks + 1)
    n = as_float(n)
    lead = (1,) * n.ndim
    return chance_bits * jnp.sum(jnp.where(k.reshape(lead + (-1,)) > n[..., None], p.reshape(lead + (-1,)), 0.0),
                                 axis=-1)


def local_slope(n, n_tasks: int, alpha):
    """Local log-slope ``-d log L / d log n`` of :func:`loss_learned` by the discrete difference
    ``-(log L(n+1) - log L(n)) / (log(n+1) - log n)``; tends to ``alpha`` for ``1 << n << n_tasks``.

    Args:
      n: integers ``1 <= n < n_tasks - 1``. n_tasks, alpha: as :func:`frequencies`.

    Returns:
      the local exponent (array like ``n``).
    """
    n = as_float(n)
    lo, hi = loss_learned(n, n_tasks, alpha), loss_learned(n + 1.0, n_tasks, alpha)
    return -(jnp.log(hi) - jnp.log(lo)) / (jnp.log(n + 1.0) - jnp.log(n))


def n_learned_threshold(D, tau, n_tasks: int, alpha):
    """Quanta learned by a threshold learner: ``n(D) = #{k: D p_k >= tau}`` (QM Sec. 2, data scaling).

    Args:
      D: examples seen (training-set size, or steps times batch). tau: examples a quantum needs (> 0).
      n_tasks, alpha: as :func:`frequencies`.

    Returns:
      integer-valued count, the shape of ``D``.
    """
    check_positive("tau", tau)
    p = frequencies(n_tasks, alpha)
    D = as_float(D)
    return jnp.sum(D[..., None] * p.reshape((1,) * D.ndim + (-1,)) >= tau, axis=-1)


def n_learned_continuous(D, tau, n_tasks: int, alpha):
    """Continuous ``n(D) = (D / (tau Z))^{1/(alpha+1)}``, capped at ``n_tasks`` (QM Sec. 2).

    Args:
      D, tau, n_tasks, alpha: as :func:`n_learned_threshold`.

    Returns:
      ``n(D)`` (float), slope ``1/(alpha+1)`` in log-log below the cap.
    """
    check_positive("tau", tau)
    _check(n_tasks, alpha)
    a = as_float(alpha)
    z = jnp.sum(jnp.arange(1, n_tasks + 1, dtype=a.dtype) ** (-(a + 1.0)))
    return jnp.minimum((as_float(D) / (tau * z)) ** (1.0 / (a + 1.0)), float(n_tasks))


def nam_skill_curve(t, p_k, eta=1.0, S=1.0, R0=1e-3):
    """Skill strength of the multilinear model, Nam et al. 2024 Eq. 11:
    ``R_k(t) / S = 1 / (1 + (S / R_k(0) - 1) exp(-2 eta p_k S t))``.

    Args:
      t: training time (steps times learning rate ``eta`` in their units). p_k: the skill's
        frequency (``d_k / D``). eta: learning rate. S: target scale. R0: initial strength (0 < R0 < S).

    Returns:
      ``R_k(t) / S`` in (0, 1): a sigmoid in ``log t`` centred at ``t ∝ 1/p_k``; the skill's
      loss is ``(S - R_k)^2 / 2`` (Eq. 10).
    """
    check_positive("S", S)
    check_range("R0", R0, 0.0, S, lo_open=True, hi_open=True)
    return 1.0 / (1.0 + (S / R0 - 1.0) * jnp.exp(-2.0 * eta * as_float(p_k) * S * as_float(t)))


def exponents(alpha: float, n_tasks: int | None = None) -> dict[str, Prediction]:
    """Declared predictions of the quantization model.

    Args:
      alpha: the paper's Zipf exponent (> 0).
      n_tasks: optional number of quanta (recorded in the provenance; the exponents are its
        ``n_tasks -> inf`` limits).

    Returns:
      name -> :class:`~scalesim.prediction.Prediction`:

      - "alpha_N": ``alpha`` (loss vs parameters, ``n ∝ N``);
      - "alpha_D", "alpha_S": ``alpha/(alpha+1)`` (loss vs data / steps);
      - "n_N": ``1`` (number of quanta learned vs parameters: each quantum costs a fixed number);
      - "n_D", "n_S": ``1/(alpha+1)`` (number of quanta learned vs data / steps);
      - "time_exponent": ``alpha + 1`` (steps to learn quantum k ∝ k^(alpha+1), i.e. ∝ 1/p_k);
      - "order_rho": ``1``, Spearman correlation of frequency rank and steps-to-learn (QH2).
    """
    check_range("alpha", alpha, 0.0, 100.0, lo_open=True)
    params = {"alpha": float(alpha)} if n_tasks is None else {"alpha": float(alpha), "n_tasks": int(n_tasks)}
    a = float(alpha)
    big = "1 << n << n_tasks quanta learned (finite n_tasks flattens the tail sum)"
    P = lambda name, v, expr, valid, ref: prediction(__name__, params, name, v, expr, valid, ref)
    return {
        "alpha_N": P("alpha_N", a, "alpha", f"n ∝ N (fixed parameters per quantum); {big}", f"{_QM}, parameter scaling"),
        "alpha_D": P("alpha_D", a / (a + 1), "alpha/(alpha+1)", f"multi-epoch, learned once D p_k >= tau; {big}",
                     f"{_QM}, data scaling"),
        "alpha_S": P("alpha_S", a / (a + 1), "alpha/(alpha+1)", f"single epoch, steps to learn ∝ 1/p_k; {big}",
                     f"{_QM}, steps scaling"),
        "n_N": P("n_N", 1.0, "1", "fixed parameters per quantum, trained to convergence, n << n_tasks",
                 f"{_QM}, parameter scaling"),
        "n_D": P("n_D", 1 / (a + 1), "1/(alpha+1)", "threshold learner D p_k >= tau, n << n_tasks", f"{_QM}, data scaling"),
        "n_S": P("n_S", 1 / (a + 1), "1/(alpha+1)", "steps to learn ∝ 1/p_k, n << n_tasks", f"{_QM}, steps scaling"),
        "time_exponent": P("time_exponent", a + 1, "alpha+1", "steps to learn quantum k ∝ 1/p_k",
                           f"{_QM}, steps scaling"),
        "order_rho": P("order_rho", 1.0, "1", "quanta learned in order of frequency (QH2)", f"{_QM}, QH2"),
    }
