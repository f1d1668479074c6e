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

Column-space reduction: every rule's update is a right multiplication, :math:`X \leftarrow X A_t`
with a :math:`k \times k` matrix :math:`A_t` that depends on :math:`X` only through inner products
(Appendix D's :math:`A = \big((1+c)I - c\mathbf{1}\mathbf{1}^\top\big)D^{-1}`, and the gradients of
any loss of the Gram matrix, taken through the normalisation). So the embeddings never leave the span
of the initial ones: with the thin QR factorisation :math:`X_0 = QR_0` (:math:`Q` is :math:`m \times k`
with orthonormal columns), :math:`X_t = QR_t` where :math:`R_t` follows the same rule in
:math:`\mathbb{R}^k`, and :math:`X_t` and :math:`R_t` have the same Gram matrix, singular values and
norm of the mean. When :math:`k < m` the runner steps :math:`R_t` (:math:`k^2` numbers instead of
:math:`mk`) and returns :math:`QR_T` as the final embeddings; the tests compare it with stepping
:math:`X_t` directly (same trajectories to rounding).

Non-finite runs: if any entry of a run's final embeddings or recorded spectra is NaN or infinite,
``finite`` is False for that run and ``collapsed`` is False as well -- a non-finite run is never
counted as collapsed; callers must read ``finite`` before interpreting ``collapsed``.
"""
from __future__ import annotations

import functools
import math
import numbers
from typing import Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from simulations import metrics
from simulations.collapse import sharding
from simulations.collapse.dynamics import clop_rule_step, normalize_columns, orthonormal_prototypes, paper_step_rows, rule_step
from theory.definitions import check_rule_tau

__all__ = [
    "SimulationResult",
    "INITS",
    "DTYPES",
    "simulate",
    "simulate_keys",
    "initial_embeddings",
    "one_step_mean_shift",
    "record_schedule",
    "compile_count",
    "check_simulation_args",
    "simulation_memory",
    "CLOP_PERSIST_TOL",
    "PROTOTYPE_STREAM",
]

#: Initialisations: ``sphere`` = i.i.d. uniform on the unit sphere (normalised Gaussians, Theorem 1);
#: ``gaussian`` = i.i.d. N(0, 1/m) entries, *not* normalised before the first step (Figure 4).
INITS = ("sphere", "gaussian")
DTYPES = ("float32", "float64")


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
    if not _is_int(k) or k < 2:
        raise ValueError(f"k must be an integer >= 2; got {k!r}")
    if not _is_int(m) or m < 1:
        raise ValueError(f"m must be an integer >= 1; got {m!r}")
    if not _is_int(steps) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1; got {steps!r}")
    if record_every is not None and (not _is_int(record_every) or not 1 <= record_every <= steps):
        raise ValueError(f"record_every must be None or an integer in [1, steps={steps}]; got {record_every!r}")
    check_rule_tau(rule, tau)
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}; got {dtype!r}")
    if init not in INITS:
        raise ValueError(f"init must be one of {', '.join(INITS)}; got {init!r}")
    try:
        lrs_arr = np.atleast_1d(np.asarray(lrs, dtype=float))
    except (TypeError, ValueError):
        raise ValueError(f"lrs must be finite real numbers > 0; got {lrs!r}") from None
    if lrs_arr.ndim != 1 or lrs_arr.size == 0 or not np.all(np.isfinite(lrs_arr)) or np.any(lrs_arr <= 0):
        raise ValueError(f"lrs must be a non-empty list of finite real numbers > 0; got {lrs!r}")
    seeds_list = list(np.atleast_1d(np.asarray(seeds, dtype=object)))
    if not seeds_list or not all(_is_int(s) and 0 <= s < 2**32 for s in seeds_list):
        raise ValueError(f"seeds must be a non-empty list of integers in [0, 2**32); got {seeds!r}")
    return lrs_arr, np.asarray([int(s) for s in seeds_list], dtype=np.int64)


def record_schedule(steps: int, record_every: int | None) -> np.ndarray:
    """Step numbers at which :func:`simulate` records: ``[steps]`` if ``record_every`` is None, else
    ``0, record_every, 2 record_every, ...`` and always ``steps`` last.

    Example:
        >>> record_schedule(10, 4).tolist(), record_schedule(10, None).tolist()
        ([0, 4, 8, 10], [10])
    """
    if record_every is None:
        return np.array([steps])
    points = list(range(0, steps + 1, record_every))
    if points[-1] != steps:
        points.append(steps)
    return np.array(points)


def initial_embeddings(key, k: int, m: int, *, init: str = "sphere", dtype="float64") -> jax.Array:
    r"""Initial ``[m, k]`` embeddings from one PRNG key.

    ``sphere``: :math:`x_i = g_i/\|g_i\|`, :math:`g_i \sim N(0, I_m)` i.i.d. (uniform on the sphere,
    the setting of Theorem 1). ``gaussian``: :math:`x_i \sim N(0, I_m/m)`, unnormalised (Figure 4).
    The Gaussian draw is made in float32 for every dtype (so both dtypes start from the same point).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> X = initial_embeddings(jax.random.key(0), 3, 5)
        >>> X.shape, bool(jnp.allclose(jnp.linalg.norm(X, axis=0), 1.0))
        ((5, 3), True)
    """
    # Drawn in float32 and then cast, so float32 and float64 runs of one seed start from the same
    # embeddings (up to the final normalisation in the run's dtype) and can be compared.
    g = jax.random.normal(key, (m, k), dtype=jnp.float32).astype(dtype)
    if init == "sphere":
        return normalize_columns(g)
    return g / math.sqrt(m)


#: Largest state (elements per device) stepped at once on CPU; 80 runs of k = 30, m = 100 fit.
CHUNK_ELEMENTS = 2**18
#: Most element-steps per device in one compiled call (about 0.1-0.3 s on one CPU core): long runs are
#: split into calls of at most this much work, so that Ctrl-C stops them between calls.
SEGMENT_ELEMENT_STEPS = 2**28
#: Compiled calls dispatched ahead of the one the host waits for (keeps the device busy while the
#: host blocks, and bounds the work left running after an interrupt).
LOOKAHEAD = 2
#: ``rule="paper"``: at most this many steps in a row, the last one exact, the others taking unit rows
#: (:func:`simulations.collapse.dynamics.paper_step_rows`); the first and the last step of every
#: compiled call are exact.
UNIT_ROW_STEPS = 16

_COMPILES = {"count": 0}


def compile_count() -> int:
    """How many times a simulation program has been traced for compilation in this process.

    A call with new learning rates (same lengths and static parameters) must not increase it.

    Example (new learning rates, same shapes: nothing is traced again):
        >>> _ = simulate(3, [0.5], m=3, steps=2)
        >>> before = compile_count()
        >>> _ = simulate(3, [0.7], m=3, steps=2)
        >>> compile_count() == before
        True
    """
    return _COMPILES["count"]


def _per_run(fn: Callable, sequential: bool) -> Callable:
    """``fn`` over the leading batch axis: ``vmap``, or ``lax.map`` (one run at a time) if ``sequential``."""
    if sequential:
        return lambda *args: jax.lax.map(lambda a: fn(*a), args)
    return jax.vmap(fn)


def sequential_linalg() -> bool:
    """Whether factorisations (QR, SVD) run one run at a time (``lax.map``) rather than vmapped.

    jaxlib 0.10's batched LAPACK kernels (SVD, QR) fan a batch out over the intra-op thread pool and
    block until it is done. When as many of them run at once as the pool has threads, every thread
    waits for work queued behind it, forever. Seen on the 2-core machine both with two CPU devices
    (two batched SVDs) and on one device (the start's orgqr beside the first record's geqrf, which
    XLA runs concurrently as they are independent). On CPU the factorisations therefore run one run
    at a time (batch-1 calls, which jaxlib does not fan out); the stepping, where the time goes,
    stays vmapped.

    Example:
        >>> sequential_linalg() == (jax.default_backend() == "cpu")
        True
    """
    return jax.default_backend() == "cpu"


class _Kernels(NamedTuple):
    """Compiled pieces of a run for one set of static parameters (each ``jit(shard_map(...))``)."""

    start: Callable  #: key_data[B, 2] -> (basis[B, m, k] or [B, 0], X[B, k, n])
    measure: Callable  #: X[B, k, n] -> (spectra[B, n], norms[B])
    finish: Callable  #: (basis, X) -> final[B, m, k]


@functools.lru_cache(maxsize=None)
def _kernels(k, m, init, dtype, n_devices, clop: bool = False) -> _Kernels:
    """Start, measure and finish programs (the state is ``[k, n]``, rows = embeddings, n = min(m, k)).

    ``clop=True``: the state is ``[2k, n]``, rows k..2k-1 the run's orthonormal prototypes
    (:func:`clop_prototype_key`), stepped in the span of embeddings and prototypes (n = min(m, 2k));
    measurements and the final embeddings take the first k rows, ``finish`` returns all 2k columns."""
    width = 2 * k if clop else k
    reduce_span = width < m
    sequential = sequential_linalg()

    def measure_one(R):
        if clop:
            R = R[:k]
        return metrics.singular_spectrum(R), jnp.linalg.norm(jnp.mean(R, axis=0))

    def start_one(key_data):
        key = jax.random.wrap_key_data(key_data)
        X0 = initial_embeddings(key, k, m, init=init, dtype=dtype)
        if clop:
            X0 = jnp.concatenate([X0, orthonormal_prototypes(clop_prototype_key(key), m, k, dtype)], axis=1)
        if reduce_span:  # step the k x k coordinates R of X = Q R (see the module docstring)
            basis, coords = jnp.linalg.qr(X0)
            return basis, coords.T
        return jnp.zeros((0,), dtype), X0.T

    def finish_one(basis, X):
        return jnp.matmul(basis, X.T, precision=jax.lax.Precision.HIGHEST) if reduce_span else X.T

    def start(key_data):
        _COMPILES["count"] += 1  # runs only while tracing
        return _per_run(start_one, sequential)(key_data)

    def measure(X):
        _COMPILES["count"] += 1
        return _per_run(measure_one, sequential)(X)

    def finish(basis, X):
        _COMPILES["count"] += 1
        return jax.vmap(finish_one)(basis, X)

    return _Kernels(
        start=jax.jit(sharding.shard_batch(start, 1, 0, n_devices)),
        measure=jax.jit(sharding.shard_batch(measure, 1, 0, n_devices)),
        finish=jax.jit(sharding.shard_batch(finish, 2, 0, n_devices)),
    )


def _apply_steps(rule: str, every: int, X, *, etas, tau):
    """``every`` steps of ``rule`` on the batch ``X[B, k, n]`` (traced). For ``paper``: one exact step
    (the state handed in need not have unit rows: the Gaussian initialisation does not), then blocks
    of :data:`UNIT_ROW_STEPS` steps written out in full, all but the last with ``unit_rows=True``, and
    a shorter block for the rest, so that the state returned has exactly measured norms."""
    if rule != "paper":
        step_all = jax.vmap(rule_step(rule, rows=True), in_axes=(0, 0, None))
        return jax.lax.fori_loop(0, every, lambda _, Z: step_all(Z, etas, tau), X, unroll=min(every, 2))
    exact = jax.vmap(paper_step_rows)
    if X.shape[0] == 1:  # one run per device: XLA's unbatched matrix-vector product is faster
        fast = lambda Z, e: paper_step_rows(Z[0], e[0], unit_rows=True)[None]
    else:
        fast = jax.vmap(functools.partial(paper_step_rows, unit_rows=True))

    def block(Z, length):
        for _ in range(length - 1):
            Z = fast(Z, etas)
        return exact(Z, etas)

    X = exact(X, etas)
    full, rest = divmod(every - 1, UNIT_ROW_STEPS)
    if full:
        X = jax.lax.fori_loop(0, full, lambda _, Z: block(Z, UNIT_ROW_STEPS), X)
    return block(X, rest) if rest else X


@functools.lru_cache(maxsize=None)
def _advance(k, n, rule, dtype, n_devices, every, records, clop: bool = False) -> Callable:
    """Compiled ``f(X[B, k, n], etas[B], tau) -> X`` applying ``every`` steps (``records == 0``), or
    ``-> (X, spectra[B, records, n], norms[B, records])`` applying ``records`` times (``every`` steps,
    then a measurement). ``clop=True``: ``f(S[B, 2k, n], etas[B], lams[B], tau)`` on the state of
    :func:`_kernels` with CLOP (the prototype rows stay put; measurements take the first k rows)."""
    sequential = sequential_linalg()

    def measure_one(R):
        if clop:
            R = R[:k]
        return metrics.singular_spectrum(R), jnp.linalg.norm(jnp.mean(R, axis=0))

    measure = _per_run(measure_one, sequential)

    def batch(X, etas, *rest):
        _COMPILES["count"] += 1  # runs only while tracing
        if clop:
            lams, tau = rest
            advance = functools.partial(_apply_clop_steps, rule, k, every, etas=etas, lams=lams, tau=tau)
        else:
            (tau,) = rest
            advance = functools.partial(_apply_steps, rule, every, etas=etas, tau=tau)

        if records == 0:
            return advance(X)

        def one_record(X, _):
            X = advance(X)
            return X, measure(X)

        X, (spectra, norms) = jax.lax.scan(one_record, X, None, length=records)
        return X, jnp.moveaxis(spectra, 0, 1), jnp.moveaxis(norms, 0, 1)

    return jax.jit(sharding.shard_batch(batch, 3 if clop else 2, 1, n_devices))


def _segments(steps: int, record_every: int | None, max_steps: int) -> list[tuple[int, int]]:
    """The compiled calls of one run: ``(every, records)`` pairs (see :func:`_advance`), each of at most
    ``max_steps`` steps, that together step ``steps`` times and measure at every record of
    :func:`record_schedule` after step 0 (with ``record_every=None``: only after the last step).

    Example:
        >>> _segments(10, 4, 100), _segments(10, None, 4)
        ([(4, 2), (2, 1)], [(4, 0), (4, 0), (2, 1)])
    """
    max_steps = max(1, max_steps)
    intervals = np.diff(record_schedule(steps, record_every)).tolist() if record_every else [steps]
    plan: list[tuple[int, int]] = []
    for length in intervals:
        pieces = [max_steps] * ((length - 1) // max_steps) + [length - max_steps * ((length - 1) // max_steps)]
        plan.extend((p, 0) for p in pieces[:-1])
        last = pieces[-1]
        if plan and plan[-1][1] > 0 and plan[-1][0] == last and (plan[-1][1] + 1) * last <= max_steps:
            plan[-1] = (last, plan[-1][1] + 1)  # group equal record intervals into one call
        else:
            plan.append((last, 1))
    return plan


class _Pipeline:
    """Dispatch compiled calls with at most :data:`LOOKAHEAD` of them running ahead of the host.

    Waiting on the oldest call between dispatches lets a KeyboardInterrupt (Ctrl-C) stop a long run
    within about one call's time, while the device always has the next call queued.
    """

    def __init__(self, lookahead: int = LOOKAHEAD):
        self.lookahead = lookahead
        self.in_flight: list = []

    def submit(self, outputs):
        self.in_flight.append(outputs)
        if len(self.in_flight) > self.lookahead:
            jax.block_until_ready(self.in_flight.pop(0))
        return outputs


def _chunk_size(B: int, k: int, m: int, n_devices: int) -> int:
    """Runs per compiled call: about :data:`CHUNK_ELEMENTS` elements of state per device."""
    per_device = max(1, CHUNK_ELEMENTS // (min(m, k) * k))  # the stepped state is k x min(m, k)
    return sharding.pad_batch(min(B, per_device * n_devices), n_devices)


def _pad_runs(etas, key_data, chunk, dtype):
    """Pad the runs to a multiple of ``chunk`` by repeating the last run (its copies are dropped later)."""
    B = len(etas)
    padded = -(-B // chunk) * chunk
    etas = np.asarray(etas, dtype=dtype)
    key_data = np.asarray(key_data, dtype=np.uint32)
    if padded != B:
        etas = np.concatenate([etas, np.repeat(etas[-1:], padded - B)])
        key_data = np.concatenate([key_data, np.repeat(key_data[-1:], padded - B, axis=0)])
    return etas, key_data


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
    with orthonormal prototypes drawn from each run's key (:func:`clop_prototype_key`); the return
    value then also holds ``prototypes[B, m, k]``. None (default) is the engine without the term,
    unchanged.

    This is the engine behind :func:`simulate`; the batch is padded to a multiple of the device count
    and un-padded. Every compiled call is short (at most :data:`SEGMENT_ELEMENT_STEPS` element-steps
    per device), all calls are enqueued before anything is fetched, with at most :data:`LOOKAHEAD`
    running ahead of the host, so Ctrl-C stops a long run between calls. Under
    ``jax.distributed`` every process passes the same arguments and receives the whole result.
    A float64 run enables JAX's 64-bit mode for its own duration only (``jax.enable_x64``), so the
    caller's dtype defaults are left alone.
    """
    with float64_scope(dtype), blas_single_threaded():
        if clop_lambdas is not None:
            return _simulate_keys(k, etas, key_data, m=m, steps=steps, rule=rule, tau=tau, record_every=record_every,
                                  dtype=dtype, init=init, lams=clop_lambdas)
        return _simulate_keys(k, etas, key_data, m=m, steps=steps, rule=rule, tau=tau,
                              record_every=record_every, dtype=dtype, init=init)


def blas_single_threaded():
    """Context in which the BLAS/LAPACK libraries behind JAX's CPU factorisations use one thread.

    JAX's CPU QR and SVD call LAPACK from SciPy's OpenBLAS, which by default starts one thread per
    core for every call. The runner factorises one run at a time (see :func:`sequential_linalg`), on
    small matrices, beside XLA's own threads: the OpenBLAS threads then mostly spin. Measured on the
    2-core machine under load, one 400 x 300 QR took 420 ms of CPU with the default threads and 11 ms
    with one, and it dominated a k = 300 threshold search. The limit is scoped (threadpoolctl restores
    the previous setting on exit), like :func:`float64_scope`; without threadpoolctl it does nothing.

    Example:
        >>> from threadpoolctl import threadpool_info
        >>> with blas_single_threaded():
        ...     sorted({p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"})
        [1]
    """
    import contextlib

    try:
        import scipy.linalg.cython_lapack  # noqa: F401  (loads the OpenBLAS that jaxlib's LAPACK calls use,
        from threadpoolctl import threadpool_limits  # so that threadpoolctl finds it to limit)
    except ImportError:  # pragma: no cover - both are dependencies
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def float64_scope(dtype: str):
    """``jax.enable_x64(True)`` for a float64 computation, a no-op context for float32.

    Example:
        >>> import jax.numpy as jnp
        >>> with float64_scope("float64"):
        ...     str(jnp.ones(1, "float64").dtype)
        'float64'
    """
    import contextlib

    return jax.enable_x64(True) if dtype == "float64" else contextlib.nullcontext()


def _simulate_keys(k, etas, key_data, *, m, steps, rule, tau, record_every, dtype, init, lams=None):
    """The engine of :func:`simulate_keys`; with ``lams`` (CLOP's weights) the state also carries the
    prototypes (:func:`_kernels` with ``clop=True``) and the prototypes are returned fourth."""
    clop = lams is not None
    n_devices = sharding.device_count()
    n = min(m, 2 * k if clop else k)  # the stepped state is rows x n, rows = 2k with CLOP, else k
    rows = 2 * k if clop else k
    kernels = _kernels(k, m, init, dtype, n_devices, clop=True) if clop else _kernels(k, m, init, dtype, n_devices)
    B = len(etas)
    # Batches whose state outgrows the CPU caches run in equal chunks of about CHUNK_ELEMENTS
    # elements per device (same shape: one compilation); measured 1e9 -> 1.4e8 element-steps/s at
    # k = 30 when 1000 runs were stepped together.
    chunk = _chunk_size(B, rows, n, n_devices) if clop else _chunk_size(B, k, m, n_devices)
    if clop:
        lams, _ = _pad_runs(lams, key_data, chunk, dtype)
    etas, key_data = _pad_runs(etas, key_data, chunk, dtype)
    tau_value = sharding.put_replicated(np.asarray(1.0 if tau is None else tau, dtype=dtype), n_devices)
    plan = _segments(steps, record_every, SEGMENT_ELEMENT_STEPS // (chunk // n_devices * rows * n))
    pipeline = _Pipeline()
    parts = []
    for i in range(0, len(etas), chunk):
        traced = [sharding.put_batch(etas[i:i + chunk], n_devices)]
        if clop:
            traced.append(sharding.put_batch(lams[i:i + chunk], n_devices))
        basis, X = pipeline.submit(kernels.start(sharding.put_batch(key_data[i:i + chunk], n_devices)))
        records = [kernels.measure(X)] if record_every is not None else []
        for every, n_records in plan:
            advance = (_advance(k, n, rule, dtype, n_devices, every, n_records, clop=True) if clop
                       else _advance(k, n, rule, dtype, n_devices, every, n_records))
            out = pipeline.submit(advance(X, *traced, tau_value))
            if n_records:
                X, spectra, norms = out
                records.append((spectra, norms))
            else:
                X = out
        if record_every is None:
            records = records[-1:]
        parts.append((records, pipeline.submit(kernels.finish(basis, X))))
    parts = sharding.fetch(parts)  # everything was enqueued; fetch once at the end
    spectra, norms, final = _collect(parts)
    if clop:
        return spectra[:B], norms[:B], final[:B, :, :k], final[:B, :, k:]
    return spectra[:B], norms[:B], final[:B]


def _collect(parts):
    """Concatenate the fetched ``(records, final)`` of every chunk into ``(spectra, norms, final)``."""
    spectra, norms, final = [], [], []
    for records, fin in parts:
        spectra.append(np.concatenate([r[0][:, None] if r[0].ndim == 2 else r[0] for r in records], axis=1))
        norms.append(np.concatenate([r[1][:, None] if r[1].ndim == 1 else r[1] for r in records], axis=1))
        final.append(fin)
    return np.concatenate(spectra), np.concatenate(norms), np.concatenate(final)


# ----------------------------------------------------------------------------------------------
# CLOP's prototype term (paper 001, Section 4; theory.clop): the same engine, state [2k, n]
# ----------------------------------------------------------------------------------------------

#: ``fold_in`` stream of a run's key from which its prototypes are drawn (its embeddings use the key itself,
#: so a run with CLOP starts from the same embeddings as the run of the same seed without it).
PROTOTYPE_STREAM = 0x434C4F50  # "CLOP"
#: With CLOP (lambda > 0) a run counts as ``collapsed`` when a near-collapsed state persists: the final
#: mean's component outside the prototypes' span (:func:`simulations.collapse.from_state.outside_prototypes`)
#: exceeds this. On the near-collapsed state it is gamma* = sqrt(1 - (lambda/lambda_c)^2) (theory.clop):
#: 0.045 at lambda = 0.999 lambda_c; after escaping it decays geometrically to rounding (below 1e-13
#: within 3000 steps at 1.1 lambda_c, tests/simulations/test_clop_dynamics.py). For ``autodiff`` and
#: ``infonce`` the same test flags their large-step state (mean cosine ~0.4 at k = 10, eta = 20), which keeps
#: a common component that lambda <= 1 does not remove: a common direction, not a collapse.
CLOP_PERSIST_TOL = 1e-3


def clop_prototype_key(key):
    """The key of a run's prototypes: ``fold_in(key, PROTOTYPE_STREAM)``.

    Example:
        >>> import jax
        >>> clop_prototype_key(jax.random.key(0)).shape
        ()
    """
    return jax.random.fold_in(key, PROTOTYPE_STREAM)


def _apply_clop_steps(rule: str, k: int, every: int, S, *, etas, lams, tau):
    """``every`` steps of ``rule`` with CLOP's term on the batch ``S[B, 2k, n]`` (embeddings, then prototypes)."""
    update = clop_rule_step(rule, rows=True)

    def one_step(S, eta, lam):
        return jnp.concatenate([update(S[:k], S[k:], eta, lam, tau), S[k:]], axis=0)

    step_all = jax.vmap(one_step)
    return jax.lax.fori_loop(0, every, lambda _, Z: step_all(Z, etas, lams), S)


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
    criterion, description = _criterion(collapse_criterion)
    L, S = len(lrs_arr), len(seeds_arr)
    etas = np.repeat(lrs_arr, S)
    key_data = np.tile(seed_key_data(seeds_arr), (L, 1))
    clop_lambda = check_clop_lambda(clop_lambda, k, m)
    if clop_lambda:
        if collapse_criterion is not None:
            raise ValueError("collapse_criterion applies only without CLOP (clop_lambda = 0)")
        return _simulate_clop(k, etas, key_data, lrs_arr, seeds_arr, clop_lambda, m=m, steps=steps, rule=rule,
                              tau=tau, record_every=record_every, dtype=dtype, init=init)
    spectra, norms, final = simulate_keys(
        k, etas, key_data, m=m, steps=steps, rule=rule, tau=tau, record_every=record_every,
        dtype=dtype, init=init,
    )
    spectra = spectra.reshape(L, S, *spectra.shape[1:])
    norms = norms.reshape(L, S, -1)
    final = final.reshape(L, S, m, k)
    finite = (
        np.isfinite(final).all(axis=(-2, -1)) & np.isfinite(spectra).all(axis=(-2, -1)) & np.isfinite(norms).all(-1)
    )
    collapsed = np.asarray(criterion(spectra[..., -1, :], norms[..., -1]), dtype=bool) & finite
    return SimulationResult(
        spectra=spectra, mean_norm=norms, collapsed=collapsed, finite=finite, final=final,
        record_steps=record_schedule(steps, record_every), lrs=lrs_arr, seeds=seeds_arr, k=k, m=m,
        steps=steps, rule=rule, tau=None if tau is None else float(tau), dtype=dtype, init=init,
        collapse_criterion=description,
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


def _simulate_clop(k, etas, key_data, lrs_arr, seeds_arr, clop_lambda, *, m, steps, rule, tau, record_every,
                   dtype, init) -> SimulationResult:
    """:func:`simulate` with CLOP's term (arguments validated)."""
    from simulations.collapse.from_state import outside_prototypes

    L, S = len(lrs_arr), len(seeds_arr)
    spectra, norms, final, protos = simulate_keys(
        k, etas, key_data, m=m, steps=steps, rule=rule, tau=tau, record_every=record_every, dtype=dtype, init=init,
        clop_lambdas=np.full(len(etas), clop_lambda),
    )
    spectra = spectra.reshape(L, S, *spectra.shape[1:])
    norms = norms.reshape(L, S, -1)
    final = final.reshape(L, S, m, k)
    protos = protos.reshape(L, S, m, k)
    finite = (
        np.isfinite(final).all(axis=(-2, -1)) & np.isfinite(spectra).all(axis=(-2, -1)) & np.isfinite(norms).all(-1)
    )
    collapsed = (outside_prototypes(final, protos) > CLOP_PERSIST_TOL) & finite
    return SimulationResult(
        spectra=spectra, mean_norm=norms, collapsed=collapsed, finite=finite, final=final,
        record_steps=record_schedule(steps, record_every), lrs=lrs_arr, seeds=seeds_arr, k=k, m=m,
        steps=steps, rule=rule, tau=None if tau is None else float(tau), dtype=dtype, init=init,
        collapse_criterion=(f"CLOP: a near-collapsed state persists, |(I - C C^T) mean| > {CLOP_PERSIST_TOL:g} "
                            "(theory.clop)"),
        clop_lambda=clop_lambda, prototypes=protos,
    )


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
    per_device = max(1, CHUNK_ELEMENTS // (n * k))
    chunk = min(runs, per_device * sharding.device_count())
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
