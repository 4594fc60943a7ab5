"""Repeated sampling on a benchmark of problems: pass@k and PassUntil (a Simulator).

Each problem i has a single-attempt success probability p_i; a model answers it n times and is
graded by counts x_i ~ Bin(n, p_i). Over a benchmark the p_i are drawn from a scaled Beta,
``p_i = c z_i``, ``z_i ~ Beta(a, b)``, with an optional point mass ``w`` at p = 0 (problems the
model never solves). This is the generative model behind the pass@k power laws of Schaeffer et
al. 2025 ("How Do Large Language Monkeys Get Their Power (Laws)?", Sec. 3-5: the left tail
p^(a-1) of the Beta gives -log pass_D@k ~ k^-a) and Brown et al. 2024 ("Large Language Monkeys").

pass@k is estimated per problem with the unbiased estimator of Chen et al. 2021 (Eq. 1),
:func:`scalesim.stats.pass_at_k_unbiased`, and averaged over problems.

PassUntil (Hu et al. 2024, Sec. 4.1): for a task whose pass rate is far below 1/n, sample until
r successes or a cap K_max; K attempts are recorded, right-censored at K_max (a censored run
reports the successes it saw in K_max attempts; it is not a zero). The same tiny rate graded with
a fixed budget of n samples reads 0 in most instances.

One member = one draw of the benchmark (P problems) and Q PassUntil instances.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from scalesim.simulator import Simulator
from scalesim.stats import pass_at_k_unbiased
from scalesim.validate import check_choice, check_positive_ints, check_range, check_unique, check_int

__all__ = ["Config", "Hyper", "make_hyper", "SIMULATOR", "PAPERS", "example", "simulate",
           "sample_rates", "binomial_counts", "passuntil"]

PAPERS = ("chen2021evaluating", "brown2024monkeys", "schaeffer2025monkeys", "hu2024passuntil")
MAX_SAMPLES = 10**6     # samples per problem (the papers use 1e2 - 1e5)
MAX_CAP = 10**9         # PassUntil attempt cap K_max (Hu et al. suggest ~1e5)
MAX_R = 1000            # PassUntil successes r (Hu et al.: "as small as 1 or 2")


@dataclasses.dataclass(frozen=True)
class Config:
    """Static sizes of one sampling point.

    Attributes:
      problems: P, problems per benchmark draw (>= 1).
      samples: n, samples per problem (>= 1).
      ks: the k grid of the ``pass_at_k`` output (integers in [1, samples], increasing).
      pu_instances: Q, PassUntil instances per member (>= 1).
      pu_r: r, successes PassUntil waits for (>= 1).
      pu_max: K_max, attempt cap of PassUntil (>= pu_r).
      dtype: "float32" or "float64" (rates, counts and estimates).
    """

    problems: int = 1000
    samples: int = 100
    ks: tuple[int, ...] = (1, 10, 100)
    pu_instances: int = 64
    pu_r: int = 2
    pu_max: int = 10**6
    dtype: str = "float32"

    def __post_init__(self):
        check_positive_ints("problems", self.problems)
        check_positive_ints("samples", self.samples, MAX_SAMPLES)
        check_positive_ints("ks", self.ks, MAX_SAMPLES)
        check_unique("ks", self.ks)
        if max(self.ks) > self.samples:
            raise ValueError(f"ks must be <= samples={self.samples} (pass@k needs k <= n samples); got {self.ks!r}")
        check_positive_ints("pu_instances", self.pu_instances)
        check_int("pu_r", self.pu_r, 1, MAX_R)
        check_int("pu_max", self.pu_max, self.pu_r, MAX_CAP)
        check_choice("dtype", self.dtype, ("float32", "float64"))


class Hyper(NamedTuple):
    """Per-member values: Beta shape a, b; scale c; point mass w at p = 0; PassUntil rate."""

    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    zero_mass: np.ndarray
    pu_rate: np.ndarray


def make_hyper(a, b, c=1.0, zero_mass=0.0, pu_rate=1e-4) -> Hyper:
    """Member arrays (leading axis M, broadcast) with validation.

    Args:
      a, b: Beta(a, b) shape of the per-problem rate z (> 0; at most 1e4).
      c: scale of the rates, p = c z, in (0, 1].
      zero_mass: probability w of a problem with p = 0, in [0, 1).
      pu_rate: the single-attempt rate of the PassUntil instances, in (0, 1].

    Returns:
      :class:`Hyper` of float64 NumPy arrays [M].
    """
    check_range("a", a, 0.0, 1e4, lo_open=True)
    check_range("b", b, 0.0, 1e4, lo_open=True)
    check_range("c", c, 0.0, 1.0, lo_open=True)
    check_range("zero_mass", zero_mass, 0.0, 1.0, hi_open=True)
    check_range("pu_rate", pu_rate, 0.0, 1.0, lo_open=True)
    arrs = np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, float)) for v in (a, b, c, zero_mass, pu_rate)))
    return Hyper(*(np.array(x) for x in arrs))


_BLOCK = 256      # samples drawn per step of the binomial count


def sample_rates(key, hyper: Hyper, problems: int, dtype):
    """Per-problem rates p = c z, z ~ Beta(a, b), zero with probability ``zero_mass``.

    ``jax.random.beta`` forms the gamma ratio in log space, so tiny rates (a << 1) keep their
    relative precision.

    Args:
      key: PRNG key. hyper: one member's :class:`Hyper`. problems: P. dtype: float dtype.

    Returns:
      [P] rates in [0, c].
    """
    kz, kw = jax.random.split(key)
    z = jax.random.beta(kz, hyper.a.astype(dtype), hyper.b.astype(dtype), (problems,), dtype)
    zero = jax.random.uniform(kw, (problems,), dtype) < hyper.zero_mass.astype(dtype)
    return jnp.where(zero, jnp.zeros((), dtype), hyper.c.astype(dtype) * z)


def binomial_counts(key, n: int, p, dtype):
    """Exact Bin(n, p) counts by counting uniforms below p, ``_BLOCK`` samples per loop step
    (memory [P, _BLOCK]). ``jax.random.binomial`` (a rejection while-loop) compiles several
    times slower on CPU; counting costs n uniforms per problem, which is cheap for n <= 1e4.

    Args:
      key: PRNG key. n: samples (static). p: [P] rates. dtype: float dtype.

    Returns:
      [P] counts (float dtype).
    """
    block = min(n, _BLOCK)
    steps = -(-n // block)
    cols = jnp.arange(block)[None, :]

    def body(i, acc):
        u = jax.random.uniform(jax.random.fold_in(key, i), (p.shape[0], block), dtype)
        live = (i * block + cols) < n
        return acc + jnp.sum((u < p[:, None]) & live, axis=1).astype(dtype)

    return jax.lax.fori_loop(0, steps, body, jnp.zeros(p.shape, dtype))


def passuntil(key, rate, r: int, k_max: int, instances: int, dtype):
    """PassUntil (Hu et al. 2024, Sec. 4.1): sample until r successes, at most k_max attempts.

    The attempts up to each success are geometric, ``G = floor(log U / log(1 - p)) + 1``; the
    r-th success comes at ``G_1 + ... + G_r``.

    Args:
      key: PRNG key. rate: single-attempt success probability p in (0, 1].
      r: successes to wait for (static). k_max: attempt cap (static).
      instances: independent runs Q (static). dtype: float dtype.

    Returns:
      ``(attempts, successes, censored)``, each [Q]: attempts K (= k_max when censored),
      successes seen in them (= r unless censored), and the censoring flag.
    """
    tiny = jnp.finfo(dtype).tiny
    u = jax.random.uniform(key, (instances, r), dtype, minval=tiny, maxval=1.0)
    waits = jnp.floor(jnp.log(u) / jnp.log1p(-jnp.asarray(rate, dtype))) + 1.0
    times = jnp.cumsum(waits, axis=1)
    cap = jnp.asarray(float(k_max), dtype)
    censored = times[:, -1] > cap
    successes = jnp.sum(times <= cap, axis=1).astype(dtype)
    return jnp.minimum(times[:, -1], cap), successes, censored


def simulate(key, cfg: Config, hyper: Hyper) -> dict:
    """One member: a benchmark of P problems sampled n times each, and Q PassUntil runs.

    Args:
      key: the member's PRNG key.
      cfg: :class:`Config`.
      hyper: this member's :class:`Hyper` values.

    Returns:
      dict: ``rates`` [P] (true p_i), ``successes`` [P] (x_i ~ Bin(n, p_i)), ``pass_at_k``
      [len(ks)] (mean over problems of the Chen estimator), ``pu_attempts``,
      ``pu_successes``, ``pu_censored`` [Q] (PassUntil at ``pu_rate``) and ``pu_fixed`` [Q]
      (successes of a fixed budget of n samples at ``pu_rate``).
    """
    dt = jnp.dtype(cfg.dtype)
    kp, kx, ku = jax.random.split(key, 3)
    p = sample_rates(kp, hyper, cfg.problems, dt)
    rate = hyper.pu_rate.astype(dt)
    # one binomial draw for the benchmark and the fixed-budget PassUntil instances (one program)
    counts = binomial_counts(kx, cfg.samples, jnp.concatenate([p, jnp.full((cfg.pu_instances,), rate, dt)]), dt)
    x, fixed = counts[:cfg.problems], counts[cfg.problems:]
    est = pass_at_k_unbiased(x, cfg.samples, np.asarray(cfg.ks)).astype(dt)
    att, succ, cens = passuntil(ku, rate, cfg.pu_r, cfg.pu_max, cfg.pu_instances, dt)
    return dict(rates=p, successes=x, pass_at_k=jnp.mean(est, axis=0), pu_attempts=att, pu_successes=succ,
                pu_censored=cens, pu_fixed=fixed)


SIMULATOR = Simulator(simulate, name="sampling")


def example(dtype: str = "float32") -> dict:
    """A small case for the conformance suite: 64 problems x 20 samples, two Beta shapes."""
    return {"cfg": Config(problems=64, samples=20, ks=(1, 4, 20), pu_instances=8, pu_r=2, pu_max=10**5,
                          dtype=dtype),
            "hyper": make_hyper(a=[0.3, 1.0], b=[3.0, 2.0], c=[1.0, 0.5], zero_mass=[0.0, 0.1],
                                pu_rate=[1e-3, 1e-4])}
