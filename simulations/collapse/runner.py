r"""Batched simulation of the class-embedding dynamics: jit + vmap over (learning rate, seed), scan over steps.

:func:`simulate` runs ``len(lrs) * len(seeds)`` independent trajectories of one update rule
(:mod:`simulations.collapse.dynamics`) from random initial embeddings and records singular spectra and the
norm of the mean along the way (paper 001, Section 3.1, Figure 3; Section 3.2, Figure 4).

Traced versus static: learning rates, temperature and the PRNG keys are traced arrays, so a new
learning-rate grid of the same length reuses the compiled program; ``k``, ``m``, ``steps``,
``record_every``, the rule, the initialisation and the dtype are static (one compilation per shape;
small k is never padded up). The batch of runs is split over all visible devices
(:mod:`simulations.collapse.sharding`). Each run's initial embeddings come from its own key
(``jax.random.key(seed)``), so a run's result does not depend on batch layout or device count.

The runs are stepped by :mod:`simulations.collapse.engine` (init/step programs, the span reduction
that steps the k x k coordinates of the embeddings when k < m, and the host driver); this module
validates the arguments, records what :func:`simulate` returns and judges collapse.

Non-finite runs: if any entry of a run's final embeddings or recorded spectra is NaN or infinite,
``finite`` is False for that run and ``collapsed`` is False as well -- a non-finite run is never
counted as collapsed; callers must read ``finite`` before interpreting ``collapsed``.
"""
from __future__ import annotations

import numbers
from typing import Callable, NamedTuple, Sequence

import jax
import numpy as np

from simulations import metrics
from simulations.collapse import engine, sharding
from simulations.collapse.engine import (CHUNK_ELEMENTS, LOOKAHEAD, PROTOTYPE_STREAM, SEGMENT_ELEMENT_STEPS,
                                         UNIT_ROW_STEPS, blas_single_threaded, clop_prototype_key, compile_count,
                                         float64_scope, initial_embeddings, record_schedule, sequential_linalg)
from simulations.config import DTYPES, check_choice, check_int
from theory.definitions import check_rule_tau

__all__ = [
    "SimulationResult",
    "INITS",
    "DTYPES",
    "simulate",
    "simulate_keys",
    "seed_key_data",
    "one_step_mean_shift",
    "check_simulation_args",
    "check_steps",
    "check_rates",
    "check_clop_lambda",
    "simulation_memory",
    "CLOP_PERSIST_TOL",
    # defined in simulations.collapse.engine, re-exported for the runner's callers
    "initial_embeddings",
    "record_schedule",
    "compile_count",
    "clop_prototype_key",
    "float64_scope",
    "blas_single_threaded",
    "sequential_linalg",
    "CHUNK_ELEMENTS",
    "SEGMENT_ELEMENT_STEPS",
    "LOOKAHEAD",
    "UNIT_ROW_STEPS",
    "PROTOTYPE_STREAM",
]

#: Initialisations: ``sphere`` = i.i.d. uniform on the unit sphere (normalised Gaussians, Theorem 1);
#: ``gaussian`` = i.i.d. N(0, 1/m) entries, *not* normalised before the first step (Figure 4).
INITS = ("sphere", "gaussian")


class SimulationResult(NamedTuple):
    """Output of :func:`simulate` (NumPy arrays; L learning rates, S seeds, R records, n = min(m, k))."""

    spectra: np.ndarray  #: [L, S, R, n] singular values, descending; last record = final state
    mean_norm: np.ndarray  #: [L, S, R] norm of the mean embedding at each record
    collapsed: np.ndarray  #: [L, S] bool, complete collapse of the final state (False if not finite)
    finite: np.ndarray  #: [L, S] bool, False where any recorded value became NaN/inf
    final: np.ndarray  #: [L, S, m, k] final embeddings
    record_steps: np.ndarray  #: [R] step numbers of the records
    lrs: np.ndarray  #: [L]
    seeds: np.ndarray  #: [S]
    k: int
    m: int
    steps: int
    rule: str
    tau: float | None
    dtype: str
    init: str
    collapse_criterion: str  #: description of the criterion used for ``collapsed``
    clop_lambda: float = 0.0  #: CLOP's per-class-embedding weight (0: no prototype term)
    prototypes: np.ndarray | None = None  #: [L, S, m, k] orthonormal prototypes (None when clop_lambda = 0)

    def parameters(self) -> dict:
        """The scalar parameters of the run (for metadata; ``clop_lambda`` only when it is not 0)."""
        params = {
            "k": self.k, "m": self.m, "steps": self.steps, "rule": self.rule, "tau": self.tau,
            "dtype": self.dtype, "init": self.init, "collapse_criterion": self.collapse_criterion,
            "lrs": self.lrs.tolist(), "seeds": self.seeds.tolist(),
            "record_steps": self.record_steps.tolist(),
        }
        if self.clop_lambda:
            params["clop_lambda"] = self.clop_lambda
        return params


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_steps(steps) -> int:
    """Validate a number of steps: an integer >= 1.

    Example:
        >>> check_steps(10)
        10
        >>> check_steps(0)
        Traceback (most recent call last):
        ...
        ValueError: steps must be an integer >= 1; got 0
    """
    check_int("steps", steps, 1)
    return steps


def check_rates(name: str, values) -> np.ndarray:
    """Validate learning rates called ``name``: a non-empty list of finite real numbers > 0; returns them
    as a 1-d float array.

    Example:
        >>> check_rates("lrs", 0.5).tolist()
        [0.5]
        >>> check_rates("etas", [1.0, -1.0])
        Traceback (most recent call last):
        ...
        ValueError: etas must be a non-empty list of finite real numbers > 0; got [1.0, -1.0]
    """
    try:
        rates = np.atleast_1d(np.asarray(values, dtype=float))
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be finite real numbers > 0; got {values!r}") from None
    if rates.ndim != 1 or rates.size == 0 or not np.all(np.isfinite(rates)) or np.any(rates <= 0):
        raise ValueError(f"{name} must be a non-empty list of finite real numbers > 0; got {values!r}")
    return rates


def check_simulation_args(k, lrs, m, seeds, steps, record_every, rule, tau, dtype, init):
    """Validate :func:`simulate`'s arguments; returns ``(lrs, seeds)`` as NumPy arrays.

    Raises:
        ValueError: naming the argument and the accepted range.

    Example:
        >>> check_simulation_args(3, [1.0], 4, (0,), 10, None, "paper", None, "float64", "sphere")[0]
        array([1.])
        >>> check_simulation_args(1, [1.0], 4, (0,), 10, None, "paper", None, "float64", "sphere")
        Traceback (most recent call last):
        ...
        ValueError: k must be an integer >= 2; got 1
    """
    check_int("k", k, 2)
    check_int("m", m, 1)
    check_steps(steps)
    if record_every is not None and (not _is_int(record_every) or not 1 <= record_every <= steps):
        raise ValueError(f"record_every must be None or an integer in [1, steps={steps}]; got {record_every!r}")
    check_rule_tau(rule, tau)
    check_choice("dtype", dtype, DTYPES)
    check_choice("init", init, INITS)
    lrs_arr = check_rates("lrs", lrs)
    seeds_list = list(np.atleast_1d(np.asarray(seeds, dtype=object)))
    if not seeds_list or not all(_is_int(s) and 0 <= s < 2**32 for s in seeds_list):
        raise ValueError(f"seeds must be a non-empty list of integers in [0, 2**32); got {seeds!r}")
    return lrs_arr, np.asarray([int(s) for s in seeds_list], dtype=np.int64)


def _criterion(collapse_criterion) -> tuple[Callable, str]:
    """``(f(spectrum, mean_norm) -> bool, description)`` for ``collapse_criterion`` (see :func:`simulate`)."""
    if collapse_criterion is None:
        rel = metrics.DEFAULT_COLLAPSE_RTOL
        return ((lambda s, n: metrics.is_completely_collapsed(s, rel, mean_norm=n)),
                f"sigma_2 < {rel:g} * sigma_1 and |mean| > 1 - {rel:g}: all embeddings equal (default)")
    if isinstance(collapse_criterion, numbers.Real) and not isinstance(collapse_criterion, bool):
        rel = float(collapse_criterion)
        if not 0 < rel < 1:
            raise ValueError(f"collapse_criterion must be a relative tolerance in (0, 1) or a callable; got {rel!r}")
        return ((lambda s, n: metrics.is_completely_collapsed(s, rel, mean_norm=n)),
                f"sigma_2 < {rel:g} * sigma_1 and |mean| > 1 - {rel:g}: all embeddings equal")
    if callable(collapse_criterion):
        return (lambda s, n: collapse_criterion(s)), getattr(collapse_criterion, "__name__", repr(collapse_criterion))
    raise ValueError(f"collapse_criterion must be None, a relative tolerance in (0, 1) or a callable; got {collapse_criterion!r}")


def simulate_keys(k, etas, key_data, *, m, steps, rule, tau, record_every, dtype, init, clop_lambdas=None):
    """Run a flat batch: ``etas[B]`` with raw keys ``key_data[B, 2]`` (uint32). Returns NumPy
    ``(spectra[B, R, n], mean_norm[B, R], final[B, m, k])``. Arguments are assumed valid.

    ``clop_lambdas[B]`` (CLOP's per-class-embedding weights, traced like ``etas``) adds CLOP's term
    with orthonormal prototypes drawn from each run's key
    (:func:`simulations.collapse.engine.clop_prototype_key`); the return value then also holds
    ``prototypes[B, m, k]``. None (default) is the engine without the term, unchanged.

    A client of :func:`simulations.collapse.engine.drive` with a :class:`~simulations.collapse.engine.Recorder`
    and a :class:`~simulations.collapse.engine.FinalState`: every compiled call is short (at most
    :data:`~simulations.collapse.engine.SEGMENT_ELEMENT_STEPS` element-steps per device), so Ctrl-C
    stops a long run between calls. Under ``jax.distributed`` every process passes the same arguments
    and receives the whole result. A float64 run enables JAX's 64-bit mode for its own duration only,
    so the caller's dtype defaults are left alone.

    Example:
        >>> spectra, norms, final = simulate_keys(3, [6.0], seed_key_data([0]), m=5, steps=50, rule="paper",
        ...                                       tau=None, record_every=25, dtype="float64", init="sphere")
        >>> spectra.shape, norms.shape, final.shape
        ((1, 3, 3), (1, 3), (1, 5, 3))
    """
    problem = engine.Problem(k=k, m=m, rule=rule, dtype=dtype, init=init, clop=clop_lambdas is not None)
    n_devices = sharding.device_count()
    chunk = engine.chunk_size(len(etas), problem.rows, problem.n, n_devices)
    plan = engine.record_plan(steps, record_every,
                              engine.SEGMENT_ELEMENT_STEPS // (chunk // n_devices * problem.rows * problem.n))
    (spectra, norms), final = engine.drive(
        problem, etas, key_data, tau=tau, lams=clop_lambdas, plan=plan, chunk=chunk,
        observers=[engine.Recorder(initial=record_every is not None, last_only=record_every is None),
                   engine.FinalState()]).results
    if problem.clop:
        return spectra, norms, final[:, :, :k], final[:, :, k:]
    return spectra, norms, final


#: With CLOP (lambda > 0) a run counts as ``collapsed`` when a near-collapsed state persists: the final
#: mean's component outside the prototypes' span (:func:`simulations.collapse.from_state.outside_prototypes`)
#: exceeds this. On the near-collapsed state it is gamma* = sqrt(1 - (lambda/lambda_c)^2) (theory.clop):
#: 0.045 at lambda = 0.999 lambda_c; after escaping it decays geometrically to rounding (below 1e-13
#: within 3000 steps at 1.1 lambda_c, tests/simulations/test_clop_dynamics.py). For ``autodiff`` and
#: ``infonce`` the same test flags their large-step state (mean cosine ~0.4 at k = 10, eta = 20), which keeps
#: a common component that lambda <= 1 does not remove: a common direction, not a collapse.
CLOP_PERSIST_TOL = 1e-3


def seed_key_data(seeds) -> np.ndarray:
    """Raw key data ``[S, 2]`` of ``jax.random.key(seed)`` for every seed.

    Example:
        >>> seed_key_data([0, 1]).shape
        (2, 2)
    """
    return np.stack([np.asarray(jax.random.key_data(jax.random.key(int(s)))) for s in seeds])


def simulate(
    k: int,
    lrs: Sequence[float],
    *,
    m: int = 100,
    seeds: Sequence[int] = (0,),
    steps: int = 1000,
    rule: str = "paper",
    tau: float | None = None,
    record_every: int | None = None,
    dtype: str = "float64",
    init: str = "sphere",
    collapse_criterion=None,
    clop_lambda: float = 0.0,
) -> SimulationResult:
    r"""Run the dynamics for every (learning rate, seed) pair and measure collapse.

    Each run starts from :func:`initial_embeddings` with key ``jax.random.key(seed)`` and applies
    ``steps`` updates of ``rule`` (:mod:`simulations.collapse.dynamics`). Complete collapse of the final state
    is judged by ``collapse_criterion``: None for the default "all embeddings equal",
    :math:`\sigma_2 < 10^{-3}\sigma_1` and :math:`\|\mu\| > 1-10^{-3}` (:func:`simulations.metrics.is_completely_collapsed`;
    the mean's norm excludes co-linear embeddings of opposite signs), a float for another relative
    tolerance, or a callable ``spectrum[..., n] -> bool[...]``.

    Args:
        k: number of class embeddings, >= 2.
        lrs: learning rates, finite, > 0 (traced: a new grid of the same length does not recompile).
        m: embedding dimension, >= 1.
        seeds: non-negative integer seeds, one trajectory each.
        steps: number of updates, >= 1.
        rule: ``paper``, ``autodiff`` or ``infonce``.
        tau: temperature (``infonce`` only).
        record_every: record spectra every this many steps (plus step 0 and the final step); None
            records only the final state.
        dtype: ``float64`` (default; 64-bit mode is enabled for this call only) or ``float32``.
        init: ``sphere`` or ``gaussian`` (see :data:`INITS`).
        collapse_criterion: see above.
        clop_lambda: CLOP's per-class-embedding weight :math:`\lambda \ge 0`
            (:func:`simulations.collapse.dynamics.clop_step`, orthonormal prototypes drawn from
            ``fold_in(key(seed), PROTOTYPE_STREAM)``, k <= m). 0 (default): no term, the same program
            and results as without the argument. Above 0, ``collapsed`` means that a near-collapsed
            state persists (:data:`CLOP_PERSIST_TOL`; ``collapse_criterion`` must then be None), as
            derived in :mod:`theory.clop`.

    Returns:
        :class:`SimulationResult` of NumPy arrays.

    Raises:
        ValueError: for any invalid argument, naming it.

    Example (paper 001, Figure 3: collapse only at the large learning rate):
        >>> r = simulate(5, [0.5, 6.0], m=10, seeds=(0, 1), steps=200)
        >>> r.spectra.shape, r.collapsed.tolist(), bool(r.finite.all())
        ((2, 2, 1, 5), [[False, False], [True, True]], True)
    """
    lrs_arr, seeds_arr = check_simulation_args(k, lrs, m, seeds, steps, record_every, rule, tau, dtype, init)
    clop_lambda = check_clop_lambda(clop_lambda, k, m)
    if clop_lambda and collapse_criterion is not None:
        raise ValueError("collapse_criterion applies only without CLOP (clop_lambda = 0)")
    criterion, description = _criterion(collapse_criterion)
    L, S = len(lrs_arr), len(seeds_arr)
    etas = np.repeat(lrs_arr, S)
    key_data = np.tile(seed_key_data(seeds_arr), (L, 1))
    out = simulate_keys(k, etas, key_data, m=m, steps=steps, rule=rule, tau=tau, record_every=record_every,
                        dtype=dtype, init=init, clop_lambdas=np.full(len(etas), clop_lambda) if clop_lambda else None)
    spectra = out[0].reshape(L, S, *out[0].shape[1:])
    norms = out[1].reshape(L, S, -1)
    final = out[2].reshape(L, S, m, k)
    finite = (
        np.isfinite(final).all(axis=(-2, -1)) & np.isfinite(spectra).all(axis=(-2, -1)) & np.isfinite(norms).all(-1)
    )
    protos = None
    if clop_lambda:
        from simulations.collapse.from_state import outside_prototypes

        protos = out[3].reshape(L, S, m, k)
        collapsed = (outside_prototypes(final, protos) > CLOP_PERSIST_TOL) & finite
        description = (f"CLOP: a near-collapsed state persists, |(I - C C^T) mean| > {CLOP_PERSIST_TOL:g} "
                       "(theory.clop)")
    else:
        collapsed = np.asarray(criterion(spectra[..., -1, :], norms[..., -1]), dtype=bool) & finite
    return SimulationResult(
        spectra=spectra, mean_norm=norms, collapsed=collapsed, finite=finite, final=final,
        record_steps=record_schedule(steps, record_every), lrs=lrs_arr, seeds=seeds_arr, k=k, m=m,
        steps=steps, rule=rule, tau=None if tau is None else float(tau), dtype=dtype, init=init,
        collapse_criterion=description, clop_lambda=clop_lambda, prototypes=protos,
    )


def check_clop_lambda(clop_lambda, k, m) -> float:
    """Validate CLOP's weight: a finite real >= 0 (k <= m when it is > 0); returns it as a float.

    Example:
        >>> check_clop_lambda(0, 3, 2), check_clop_lambda(0.5, 3, 4)
        (0.0, 0.5)
        >>> check_clop_lambda(0.5, 5, 4)
        Traceback (most recent call last):
        ...
        ValueError: clop_lambda > 0 needs k <= m orthonormal prototypes; got k=5, m=4
    """
    try:
        value = float(clop_lambda)
    except (TypeError, ValueError):
        value = float("nan")
    if isinstance(clop_lambda, bool) or not (0 <= value < float("inf")):
        raise ValueError(f"clop_lambda must be a finite real number >= 0; got {clop_lambda!r}")
    if value and k > m:
        raise ValueError(f"clop_lambda > 0 needs k <= m orthonormal prototypes; got k={k}, m={m}")
    return value


def one_step_mean_shift(k, etas, *, m=100, seeds=tuple(range(8)), rule="paper", tau=None, dtype="float64"):
    r"""Measured one-step factor :math:`\|\mu^{(1)}\|/\|\mu^{(0)}\|` from the sphere initialisation.

    Compare with :func:`theory.mean_shift_factor` (derived :math:`|1-\eta|/\sqrt{1+\eta^2/(k-1)}` for
    the ``paper`` rule) and, for ``infonce``, with paper 004's :math:`(1-2\eta/\tau)^2`.

    Args:
        k, etas, m, seeds, rule, tau, dtype: as in :func:`simulate` (``etas`` = ``lrs``).

    Returns:
        ``[len(etas), len(seeds)]`` NumPy array of ratios.

    Example (paper 001, Appendix D):
        >>> r = one_step_mean_shift(30, [1.0], m=100, seeds=(0, 1))
        >>> bool((r < 0.05).all())       # eta = 1 sends the unnormalised mean to 0
        True
    """
    result = simulate(k, etas, m=m, seeds=seeds, steps=1, rule=rule, tau=tau, record_every=1, dtype=dtype)
    return result.mean_norm[..., 1] / result.mean_norm[..., 0]


def simulation_memory(k: int, m: int, runs: int, steps: int, record_every: int | None, dtype: str = "float64",
                      clop: bool = False) -> dict:
    r"""Estimated peak memory (bytes) of :func:`simulate` for ``runs`` (learning rate, seed) pairs, before running.

    With :math:`n=\min(m,k)`, :math:`R` records (:func:`record_schedule`), :math:`b` bytes per number
    and :math:`C` runs per compiled call (the chunk :func:`simulate_keys` uses), the device holds
    about :math:`bC(3mk + 2kn) + bC\,R(n+1)` (initial embeddings, their factorisation, the stepped
    state and the SVD workspace; the records) and the host gathers
    :math:`2b\,\mathrm{runs}\,(mk + R(n+1))` (every chunk, then their concatenation) plus
    :math:`8\,\mathrm{runs}\,k^2` for the pairwise cosines of a summary. An estimate, not a bound: it
    is meant to refuse, with the flag to change, problems that cannot fit at all. ``clop=True``: CLOP's
    runs (``clop_lambda > 0``), whose state and final arrays carry the k prototypes beside the k embeddings.

    Returns:
        ``{"embeddings": bytes of the k x m terms, "records": bytes of the record terms,
        "total": their sum, "n_records": R}``.

    Example:
        >>> need = simulation_memory(20000, 20000, 1, 1, None)
        >>> round(need["embeddings"] / 1e9, 1), need["n_records"]
        (25.6, 1)
        >>> simulation_memory(30, 100, 1, 10**8, 1)["records"] > 1e10   # one record per step
        True
    """
    b = np.dtype(dtype).itemsize
    n = min(m, k)
    if clop:  # CLOP's state carries the k prototypes too: 2k columns wherever the k embeddings were
        return _clop_memory(k, m, runs, steps, record_every, dtype)
    if record_every is None:
        n_records = 1
    else:
        n_records = steps // record_every + 1 + (1 if steps % record_every else 0)
    chunk = engine.chunk_size(runs, k, n, sharding.device_count())
    embeddings = b * chunk * (3 * m * k + 2 * k * n) + 2 * b * runs * m * k + 8 * runs * k * k
    records = b * chunk * n_records * (n + 1) + 2 * b * runs * n_records * (n + 1)
    return {"embeddings": float(embeddings), "records": float(records), "total": float(embeddings + records),
            "n_records": int(n_records)}


def _clop_memory(k, m, runs, steps, record_every, dtype) -> dict:
    """:func:`simulation_memory` with CLOP: the embeddings' terms for 2k columns, the records' for k."""
    both = simulation_memory(2 * k, m, runs, steps, record_every, dtype)
    plain = simulation_memory(k, m, runs, steps, record_every, dtype)
    return {"embeddings": both["embeddings"], "records": plain["records"],
            "total": both["embeddings"] + plain["records"], "n_records": plain["n_records"]}
