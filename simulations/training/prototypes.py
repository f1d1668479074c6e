"""The CLOP prototypes by kind (paper 001 Eq. 4; 004 Section 5.3): orthonormal, simplex ETF, random.

:func:`make_prototypes` builds one set; :func:`prototype_bank` builds every kind for every trial key
eagerly, outside the compiled training graph, so that a traced kind index picks one inside it.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from simulations.training import losses

__all__ = ["PROTOTYPES", "make_prototypes", "prototype_bank"]

#: Prototype kinds of the CLOP term.
PROTOTYPES = ("orthonormal", "etf", "random")

def make_prototypes(kind: str, key: jax.Array, k: int, d: int, dtype=jnp.float32) -> jax.Array:
    """Prototypes of the given kind (``orthonormal``, ``etf`` with a random rotation, or ``random``).

    Raises:
        ValueError: unknown kind.

    Example:
        >>> import jax
        >>> make_prototypes("etf", jax.random.key(0), 3, 4).shape
        (3, 4)
    """
    if kind == "orthonormal":
        c = losses.orthonormal_prototypes(key, k, d)
    elif kind == "etf":
        c = losses.etf_prototypes(k, d, key=key)
    elif kind == "random":
        c = losses.random_prototypes(key, k, d)
    else:
        raise ValueError(f"prototypes must be one of {', '.join(PROTOTYPES)}; got {kind!r}")
    return c.astype(dtype)

def prototype_bank(keys: jax.Array, k: int, d: int, dtype=jnp.float32) -> jax.Array:
    """Prototypes of every kind for every trial key, ``[trial, kind, k, d]`` (kinds as :data:`PROTOTYPES`).

    Built eagerly, outside the compiled training graph: XLA's CPU SVD inside a vmapped ``lax.switch``
    roughly doubled compile time. Each trial's prototypes use ``split(key, 4)[2]``.

    Example:
        >>> import jax.numpy as jnp
        >>> from simulations.training.grid import trial_keys
        >>> bank = prototype_bank(trial_keys(0, 2), 3, 4)
        >>> bank.shape, bool(jnp.allclose(bank[0, 0] @ bank[0, 0].T, jnp.eye(3), atol=1e-5))
        ((2, 3, 3, 4), True)
    """
    rows = []
    for t in range(keys.shape[0]):
        k_proto = jax.random.split(keys[t], 4)[2]
        rows.append(jnp.stack([make_prototypes(kind, k_proto, k, d, dtype) for kind in PROTOTYPES]))
    return jnp.stack(rows)
