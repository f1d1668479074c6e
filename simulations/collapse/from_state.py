r"""Runs of the collapse dynamics from a *given* state: near complete collapse or spread (Theorem 1's stability).

:func:`simulations.simulate` always starts from random embeddings. The stability result of
:mod:`theory.stability` needs runs started a small distance from complete collapse (all
:math:`x_i = u`) as well, to see whether small deviations grow or shrink at learning rates just below
and above each derived edge (paper 001, Section 3.1, Appendix D). :func:`near_collapse` builds such a
start, :func:`spread_start` the usual uniform one, and :func:`run_from` steps any start through the
collapse engine's driver (:func:`simulations.collapse.engine.drive`, a problem with a given start:
one compiled program per shape, learning rates and temperature traced).

The end state is summarised by :func:`separation`, :math:`1 - \min_{i<j}\cos(x_i, x_j)`: zero exactly
at complete collapse (all embeddings equal) and about :math:`\|d_i-d_j\|^2/2` for small deviations.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from simulations.collapse import engine, sharding
from simulations.collapse.dynamics import normalize_columns
from simulations.collapse.engine import float64_scope
from simulations.collapse.runner import check_rates, check_steps
from theory.definitions import check_rule_tau

__all__ = ["near_collapse", "spread_start", "run_from", "run_clop_from", "separation", "mean_cosine_gap",
           "outside_prototypes", "clop_end_states"]


def near_collapse(key, k: int, m: int, distance: float, *, dtype="float64") -> np.ndarray:
    r"""A start a small distance from complete collapse: :math:`x_i = \mathrm{normalise}(u + r\,d_i)`.

    :math:`u` uniform on the sphere, :math:`d_i` Gaussian, projected off :math:`u`, with the common
    part removed (:math:`\sum_i d_i = 0`, so only the separating modes are excited) and scaled so that
    the RMS of :math:`\|d_i\|` is 1; then :math:`r` = ``distance``.

    Example:
        >>> import jax
        >>> X = near_collapse(jax.random.key(0), 3, 5, 1e-3)
        >>> X.shape, float(separation(X)) < 1e-5
        ((5, 3), True)
    """
    with float64_scope(dtype):
        ku, kd = jax.random.split(key)
        u = jax.random.normal(ku, (m,), dtype=dtype)
        u = u / jnp.linalg.norm(u)
        d = jax.random.normal(kd, (m, k), dtype=dtype)
        d = d - jnp.outer(u, u @ d)
        d = d - jnp.mean(d, axis=1, keepdims=True)
        d = d / jnp.sqrt(jnp.mean(jnp.sum(d * d, axis=0)))
        return np.asarray(normalize_columns(u[:, None] + distance * d))


def spread_start(key, k: int, m: int, *, dtype="float64") -> np.ndarray:
    """k i.i.d. uniform unit vectors in R^m (Theorem 1's setting), ``[m, k]``.

    Example:
        >>> import jax
        >>> spread_start(jax.random.key(0), 3, 5).shape
        (5, 3)
    """
    with float64_scope(dtype):
        return np.asarray(normalize_columns(jax.random.normal(key, (m, k), dtype=dtype)))


def _check_run(rule, tau, steps, etas) -> np.ndarray:
    """Validate :func:`run_from`'s rule, temperature, step count and learning rates; returns the rates."""
    check_rule_tau(rule, tau)
    check_steps(steps)
    return check_rates("etas", etas)


def _as_starts(starts) -> np.ndarray:
    starts = np.asarray(starts, dtype=float)
    return starts[None] if starts.ndim == 2 else starts


def _step_given(starts, etas, lams=None, *, k: int, steps, rule, tau, dtype) -> np.ndarray:
    """Step host states ``starts[B, m, w]`` (the first k columns the embeddings, the rest CLOP's
    prototypes when ``lams`` is given) at every ``etas[l]`` (and ``lams[l]``), in the coordinates of
    their span (:func:`simulations.collapse.engine.span_coordinates`), as a client of
    :func:`simulations.collapse.engine.drive` with a given start (:attr:`simulations.collapse.engine.Problem.given`);
    ``[L, B, m, k]`` back in R^m."""
    basis, coords = engine.span_coordinates(starts)
    B, L = len(coords), len(etas)
    problem = engine.Problem(k=k, m=starts.shape[-2], rule=rule, dtype=dtype, clop=lams is not None, given=True)
    n_devices = sharding.device_count()
    # All runs in one chunk and all steps in one compiled call: the arithmetic of the published runs.
    # Smaller batches change how XLA rounds the gradient rules' batched products (k = 10: 7e-13 apart
    # after 57 steps in float64), and calls of one step each fuse differently (paper with CLOP, k = 10).
    chunk = sharding.pad_batch(L * B, n_devices)
    plan = [(steps, 0)]
    pairs = lambda v: None if v is None else np.repeat(v, B)  # noqa: E731  run l*B + b: (etas[l], starts[b])
    (final,) = engine.drive(problem, pairs(etas), np.tile(coords, (L, 1, 1)), tau=tau, lams=pairs(lams), plan=plan,
                            chunk=chunk, observers=[engine.FinalState()]).results
    return engine.from_span(basis, np.ascontiguousarray(final[:, :, :k].reshape(L, B, -1, k)))


def run_from(starts, etas, *, steps: int, rule: str = "paper", tau=None, dtype="float64") -> np.ndarray:
    r"""Step every start ``steps`` times at every learning rate; returns final states ``[L, B, m, k]``.

    Args:
        starts: ``[B, m, k]`` (or ``[m, k]``) unit columns.
        etas: learning rates, finite, > 0 (traced).
        steps: number of steps (static).
        rule: ``paper``, ``autodiff`` or ``infonce``; tau: temperature for ``infonce``.
        dtype: ``float64`` (default) or ``float32``.

    Raises:
        ValueError: bad rule/tau, steps < 1, or non-positive learning rates.

    Example (paper 001, Theorem 1: above 2(k-1)/(k-2) = 4 collapse attracts, below it repels):
        >>> import jax
        >>> X0 = near_collapse(jax.random.key(1), 3, 5, 1e-4)
        >>> out = run_from(X0, [3.8, 4.2], steps=300)
        >>> [bool(separation(x[0]) > 1e-2) for x in out], [bool(separation(x[0]) < 1e-12) for x in out]
        ([True, False], [False, True])
    """
    etas = _check_run(rule, tau, steps, etas)
    # Every rule's update is X <- X A_t (A_t from inner products), so the run stays in the span of the
    # start: the engine steps its coordinates and maps them back (simulations.collapse.engine).
    starts = _as_starts(starts)
    return _step_given(starts, etas, k=starts.shape[-1], steps=steps, rule=rule, tau=tau, dtype=dtype)


def separation(X) -> np.ndarray:
    r""":math:`1 - \min_{i<j}\cos(x_i, x_j)` of ``[..., m, k]``: 0 exactly when all embeddings are equal.

    Example:
        >>> import numpy as np
        >>> float(separation(np.ones((3, 4)))), round(float(separation(np.eye(3))), 12)
        (0.0, 1.0)
    """
    X = np.asarray(X, dtype=float)
    Xn = X / np.linalg.norm(X, axis=-2, keepdims=True)
    # 1 - cos = ||x_i - x_j||^2 / 2 for unit vectors, formed from the differences: no cancellation,
    # so separations down to ~1e-30 are resolved (1 - gram would stop at ~1e-16).
    diff = Xn[..., :, :, None] - Xn[..., :, None, :]
    return np.max(np.sum(diff * diff, axis=-3), axis=(-2, -1)) / 2.0


def mean_cosine_gap(X) -> np.ndarray:
    r""":math:`1 - \overline{\cos}`, one minus the mean pairwise cosine (the ``bifurcation`` figure's y axis).

    Example:
        >>> import numpy as np
        >>> float(mean_cosine_gap(np.eye(4)))
        1.0
    """
    X = np.asarray(X, dtype=float)
    Xn = X / np.linalg.norm(X, axis=-2, keepdims=True)
    gram = np.einsum("...mi,...mj->...ij", Xn, Xn)
    k = X.shape[-1]
    mean_off = (gram.sum(axis=(-2, -1)) - np.trace(gram, axis1=-2, axis2=-1)) / (k * (k - 1))
    return np.maximum(1.0 - mean_off, 0.0)


# ----------------------------------------------------------------------------------------------
# CLOP's prototype term (theory.clop): runs from a given state with prototypes
# ----------------------------------------------------------------------------------------------

def run_clop_from(starts, prototypes, etas, lams, *, steps: int, rule: str = "paper", tau=None,
                  dtype="float64") -> np.ndarray:
    r"""Like :func:`run_from`, with CLOP's term: every start at every ``(etas[l], lams[l])`` pair; ``[L, B, m, k]``.

    The update (:func:`simulations.collapse.dynamics.clop_step`) is :math:`X \leftarrow XA_t + \eta\lambda C`
    for ``paper`` and a right multiplication plus a combination of the prototypes for the gradient
    rules, so a run stays in the span of the start *and* the prototypes: the ``2k`` coordinates of
    that span are stepped (when ``2k < m``) and mapped back at the end. One compiled program per
    shape; the pairs are traced and vmapped (a grid of (eta, lambda) is one call).

    Args:
        starts: ``[B, m, k]`` unit columns. prototypes: ``[B, m, k]`` (or ``[m, k]``) orthonormal columns.
        etas, lams: learning rates (> 0) and per-class-embedding CLOP weights (>= 0), same length L.
        steps, rule, tau, dtype: as in :func:`run_from`.

    Raises:
        ValueError: bad rule/tau, steps, learning rates, weights or shapes.

    Example (theory.clop: at k = 3, eta = 6 the critical lambda is 0.2036):
        >>> import jax, numpy as np
        >>> X0 = near_collapse(jax.random.key(1), 3, 5, 1e-4)
        >>> C = np.eye(5)[:, :3]
        >>> out = run_clop_from(X0, C, [6.0, 6.0], [0.18, 0.22], steps=2000)
        >>> [bool(outside_prototypes(x[0], C) > 1e-3) for x in out]
        [True, False]
    """
    etas = _check_run(rule, tau, steps, etas)
    lams = np.atleast_1d(np.asarray(lams, dtype=float))
    if lams.shape != etas.shape or not np.all(np.isfinite(lams)) or np.any(lams < 0):
        raise ValueError(f"lams must be finite real numbers >= 0, one per eta; got {lams.tolist()!r}")
    starts = _as_starts(starts)
    m, k = starts.shape[-2:]
    protos = np.broadcast_to(np.asarray(prototypes, dtype=float), starts.shape)
    if k > m:
        raise ValueError(f"CLOP needs k <= m orthonormal prototypes; got k={k}, m={m}")
    both = np.concatenate([starts, protos], axis=-1)  # [B, m, 2k]
    return _step_given(both, etas, lams, k=k, steps=steps, rule=rule, tau=tau, dtype=dtype)


def outside_prototypes(X, C) -> np.ndarray:
    r""":math:`\|(I - CC^\top)\,\bar x\|`: the mean embedding's component outside the prototypes' span.

    On CLOP's near-collapsed state it is the common component :math:`\gamma^*` of
    :func:`theory.clop.near_collapse_state`; it decays to 0 once the embeddings escape to the prototypes.

    Example:
        >>> import numpy as np
        >>> C = np.eye(4)[:, :2]
        >>> float(outside_prototypes(np.array([[1.0, 0], [0, 1], [0, 0], [0, 0]]), C))
        0.0
        >>> float(outside_prototypes(np.tile([[0.0], [0], [1], [0]], (1, 2)), C))
        1.0
    """
    X = np.asarray(X, dtype=float)
    C = np.asarray(C, dtype=float)
    mean = X.mean(axis=-1)
    inside = np.einsum("...mk,...k->...m", C, np.einsum("...mk,...m->...k", C, mean))
    return np.linalg.norm(mean - inside, axis=-1)


def clop_end_states(k: int, etas, lams, *, m: int, seeds=(0,), steps: int = 2000, near_distance: float = 1e-4,
                    rule: str = "paper", tau=None, dtype="float64") -> dict:
    r"""End states with CLOP's term at every ``(etas[p], lams[p])`` pair, from near collapse and from the sphere.

    Seed s gives the near-collapse start ``near_collapse(key(s), ...)``, the uniform start
    ``spread_start(key(s), ...)`` and the prototypes ``orthonormal_prototypes(fold_in(key(s),
    PROTOTYPE_STREAM))`` (as :func:`simulations.simulate` draws them); all starts run in one call of
    :func:`run_clop_from`.

    Returns:
        ``{"outside": [2, P, S], "mean_cos": [2, P, S]}`` (index 0: near-collapse start, 1: uniform):
        the mean's component outside the prototypes' span (:func:`outside_prototypes`, the order
        parameter of :mod:`theory.clop`) and the mean pairwise cosine of the end state.

    Example:
        >>> d = clop_end_states(3, [6.0, 6.0], [0.18, 0.22], m=5, steps=1500)
        >>> (d["outside"][:, :, 0] > 1e-3).tolist()     # lambda_c(6, 3) = 0.2036
        [[True, False], [True, False]]
    """
    from simulations.collapse.dynamics import orthonormal_prototypes
    from simulations.collapse.engine import clop_prototype_key

    keys = [jax.random.key(int(s)) for s in seeds]
    starts = np.stack([near_collapse(kk, k, m, near_distance, dtype=dtype) for kk in keys]
                      + [spread_start(kk, k, m, dtype=dtype) for kk in keys])
    with float64_scope(dtype):
        protos = np.stack([np.asarray(orthonormal_prototypes(clop_prototype_key(kk), m, k, dtype)) for kk in keys] * 2)
    out = run_clop_from(starts, protos, etas, lams, steps=steps, rule=rule, tau=tau, dtype=dtype)  # [P, 2S, m, k]
    S = len(keys)
    outside = outside_prototypes(out, protos)
    mean_cos = 1.0 - mean_cosine_gap(out)
    split = lambda a: np.stack([a[:, :S], a[:, S:]])  # noqa: E731  [2, P, S]
    return {"outside": split(outside), "mean_cos": split(mean_cos)}
