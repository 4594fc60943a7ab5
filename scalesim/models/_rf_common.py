"""Code shared by the random-feature simulators: the ridge readout and per-member spectra.

Not a model: :mod:`scalesim.models.rf_ridge` and :mod:`scalesim.models.rf_maloney` import it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ..validate import check_positive_ints

__all__ = ["ridge_readout", "per_member"]


def ridge_readout(phi, y, ridge):
    """Ridge readout ``v = argmin_v (1/P) |phi v - y|^2 + ridge |v|^2``.

    Solves the smaller of the two Gram systems (``N x N`` when ``N <= P``, else ``P x P``) by
    Cholesky; ``ridge = 0`` gives the minimum-norm least-squares solution.

    Args:
      phi: features ``[P, N]``.
      y: labels ``[P]``.
      ridge: ridge penalty ``>= 0`` (scalar; dimensionless, in units of the feature variance).

    Returns:
      readout weights ``v`` ``[N]``.
    """
    p, n = phi.shape
    # Cholesky (the systems are Gram matrices): batched LU solves stalled XLA:CPU here
    solve = lambda a, b: jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(a, lower=True), b)
    if n <= p:
        return solve(phi.T @ phi + p * ridge * jnp.eye(n, dtype=phi.dtype), phi.T @ y)
    return phi.T @ solve(phi @ phi.T + p * ridge * jnp.eye(p, dtype=phi.dtype), y)


def per_member(members: int, vectors: dict, scalars: dict) -> dict:
    """Broadcast spectra (1-D arrays) to ``[M, S]`` and scalars to ``[M]`` member arrays.

    Args:
      members: number of members ``M`` (>= 1).
      vectors: name -> 1-D array (or ``[M, S]`` already); the first one sets the float dtype.
      scalars: name -> scalar (or ``[M]`` already), cast to that dtype.

    Returns:
      name -> JAX array with leading member axis ``M``.
    """
    check_positive_ints("members", members)
    out = {name: jnp.asarray(v) for name, v in vectors.items()}
    dtype = next(iter(out.values())).dtype
    out = {name: jnp.broadcast_to(v, (members, v.shape[-1])) for name, v in out.items()}
    for name, v in scalars.items():
        out[name] = jnp.broadcast_to(jnp.asarray(v, dtype), (members,))
    return out
