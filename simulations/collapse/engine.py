r"""The one engine behind every batched collapse run: an init/step core and a host driver with observers.

The core follows jax-md's ``init_fn``/``apply_fn`` split. For the static parameters of a run
(:class:`Problem`: k, m, rule, dtype, initialisation, CLOP's term or not, start drawn or given) and a
device count,
:func:`programs` compiles

* ``init(key_data[B, 2]) -> (basis, X)``: each run's initial embeddings from its own key
  (:func:`initial_embeddings`; with CLOP also its prototypes, :func:`clop_prototype_key`), reduced to
  the coordinates of their span (below);
* ``measure(X) -> (spectra, norms)``: singular spectrum and norm of the mean of the embeddings;
* ``finish(basis, X) -> final[B, m, k]``: the embeddings (and prototypes) in :math:`\mathbb R^m`;

A start given on the host (:attr:`~simulations.collapse.engine.Problem.given`, the runs of
:mod:`simulations.collapse.from_state`) replaces the keys: ``init`` takes the starts' span coordinates,
and the state keeps the column form of :func:`simulations.collapse.dynamics.rule_step` (the step form is
the problem's, not a second program).

and :func:`advance` compiles ``every`` steps of the rule (``advance(X, etas, [lams,] tau) -> X``), or
``records`` times ``every`` steps each followed by a measurement inside one ``scan``. Everything is
``jit(shard_map(...))`` over the batch of runs (:mod:`simulations.collapse.sharding`); learning rates,
CLOP weights and temperature are traced, so a new grid of the same length reuses the programs.

Column-space reduction: every rule's update is a right multiplication, :math:`X \leftarrow X A_t`
with a :math:`k \times k` matrix :math:`A_t` that depends on :math:`X` only through inner products, so
the embeddings never leave the span of the initial ones (CLOP adds a combination of the prototypes:
the span of embeddings and prototypes). With the thin QR factorisation :math:`X_0 = QR_0`,
:math:`X_t = QR_t` where :math:`R_t` follows the same rule; when the width is below m the engine steps
:math:`R_t` and :func:`span_coordinates` / :func:`from_span` do the same for a start given on the host.

The host driver :func:`drive` runs a flat batch in chunks of equal size (one compilation), each chunk
through a plan of compiled calls (:func:`record_plan`, or the clients' own), with at most
:data:`LOOKAHEAD` calls running ahead of the host, so Ctrl-C stops a long run between calls. What is
kept of a run is decided by its :class:`Observer`\ s: :class:`Recorder` (the recorded spectra),
:class:`FinalState` (the final embeddings), and in :mod:`simulations.collapse.outcomes` the sticky
status with its early stop and the final decision. All results are fetched once, at the end.

Compiles are counted by JAX: :func:`compile_count` sums the cache sizes of the programs built here.
"""
from __future__ import annotations

import contextlib
import functools
import math
from typing import Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from simulations import metrics
from simulations.collapse import sharding
from simulations.collapse.dynamics import (clop_rule_step, normalize_columns, orthonormal_prototypes, paper_step_rows,
                                           rule_step)

__all__ = [
    "CHUNK_ELEMENTS", "SEGMENT_ELEMENT_STEPS", "LOOKAHEAD", "UNIT_ROW_STEPS", "PROTOTYPE_STREAM",
    "Problem", "Programs", "programs", "advance", "compiled", "compile_count", "initial_embeddings",
    "clop_prototype_key", "apply_steps", "record_schedule", "record_plan", "chunk_size", "pad_runs", "Pipeline", "Run",
    "Observer", "Recorder", "FinalState", "Drive", "drive", "sequential_linalg", "float64_scope",
    "blas_single_threaded", "span_coordinates", "from_span",
]

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
#: ``fold_in`` stream of a run's key from which its prototypes are drawn (its embeddings use the key itself,
#: so a run with CLOP starts from the same embeddings as the run of the same seed without it).
PROTOTYPE_STREAM = 0x434C4F50  # "CLOP"


class Problem(NamedTuple):
    """The static parameters of a batched run (one set of compiled programs each).

    ``clop``: the state carries the k prototypes as rows k..2k-1 beside the k embeddings.

    ``given``: the runs start from states given on the host rather than drawn from keys. The driver's
    ``key_data`` is then the batch of starts ``[B, n, rows]`` in column form (the coordinates of each
    start's span, :func:`span_coordinates`; with CLOP the prototypes are columns k..2k-1), the state
    stays in that form, and every rule takes its column-form step
    (:func:`simulations.collapse.dynamics.rule_step`) without the unit-row shortcut of
    :func:`apply_steps`; ``finish`` returns the stepped coordinates (:func:`from_span` maps them back).

    Example:
        >>> p = Problem(k=3, m=10, rule="paper", dtype="float64", clop=True)
        >>> p.rows, p.n
        (6, 6)
    """

    k: int
    m: int
    rule: str
    dtype: str
    init: str = "sphere"
    clop: bool = False
    given: bool = False

    @property
    def rows(self) -> int:
        """Rows of a run's stepped state: 2k with CLOP's prototypes, else k."""
        return 2 * self.k if self.clop else self.k

    @property
    def n(self) -> int:
        """Columns of a run's stepped state: ``min(m, rows)`` (the span's coordinates when smaller than m)."""
        return min(self.m, self.rows)


# ----------------------------------------------------------------------------------------------
# Compiled programs, and their count
# ----------------------------------------------------------------------------------------------

_BUILT: list = []  # every program compiled by compiled(), so that compile_count() can ask JAX about it


def compiled(fn: Callable, n_batched: int, n_replicated: int, n_devices: int) -> Callable:
    """``jit(shard_map(fn))`` over the run batch (:func:`simulations.collapse.sharding.shard_batch`),
    counted by :func:`compile_count`.

    Example:
        >>> import jax.numpy as jnp
        >>> double = compiled(lambda x: 2 * x, 1, 0, 1)
        >>> before = compile_count()
        >>> double(jnp.ones(3)).tolist(), compile_count() == before + 1
        ([2.0, 2.0, 2.0], True)
    """
    program = jax.jit(sharding.shard_batch(fn, n_batched, n_replicated, n_devices))
    _BUILT.append(program)
    return program


def compile_count() -> int:
    """How many programs the collapse engine has compiled in this process: the sum of the cache sizes
    (``_cache_size()``, one entry per compiled signature) of every program built by :func:`compiled`.

    A call with new learning rates (same lengths and static parameters) must not increase it.

    Example (new learning rates, same shapes: nothing is compiled again):
        >>> from simulations.collapse.runner import simulate
        >>> _ = simulate(3, [0.5], m=3, steps=2)
        >>> before = compile_count()
        >>> _ = simulate(3, [0.7], m=3, steps=2)
        >>> compile_count() == before
        True
        >>> _ = simulate(3, [0.7], m=3, steps=3)   # a new step count is a new program
        >>> compile_count() > before
        True
    """
    return sum(program._cache_size() for program in _BUILT)


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


def _per_run(fn: Callable, sequential: bool) -> Callable:
    """``fn`` over the leading batch axis: ``vmap``, or ``lax.map`` (one run at a time) if ``sequential``."""
    if sequential:
        return lambda *args: jax.lax.map(lambda a: fn(*a), args)
    return jax.vmap(fn)


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


def clop_prototype_key(key):
    """The key of a run's prototypes: ``fold_in(key, PROTOTYPE_STREAM)``.

    Example:
        >>> import jax
        >>> clop_prototype_key(jax.random.key(0)).shape
        ()
    """
    return jax.random.fold_in(key, PROTOTYPE_STREAM)


def _measure_one(R, k: int, clop: bool):
    """Singular spectrum and norm of the mean of one run's embeddings (rows; the first k with CLOP)."""
    if clop:
        R = R[:k]
    return metrics.singular_spectrum(R), jnp.linalg.norm(jnp.mean(R, axis=0))


def _measurer(problem: Problem) -> Callable:
    """:func:`_measure_one` on one run's state of ``problem`` (transposed first when it is in column form)."""
    k, clop = problem.k, problem.clop
    if problem.given:
        return lambda X: _measure_one(X.T, k, clop)
    return functools.partial(_measure_one, k=k, clop=clop)


class Programs(NamedTuple):
    """The compiled init, measure and finish programs of one :class:`Problem` (each ``jit(shard_map(...))``)."""

    init: Callable  #: key_data[B, 2] -> (basis[B, m, rows] or [B, 0], X[B, rows, n]); given: starts -> ([B, 0], starts)
    measure: Callable  #: X[B, rows, n] -> (spectra[B, n'], norms[B]) of the k embeddings
    finish: Callable  #: (basis, X) -> final[B, m, rows]; given: the stepped coordinates X[B, n, rows]


@functools.lru_cache(maxsize=None)
def programs(problem: Problem, n_devices: int) -> Programs:
    """Init, measure and finish programs (the state is ``[rows, n]``, rows = embeddings, then prototypes;
    the transpose for a given start, :attr:`~simulations.collapse.engine.Problem.given`).

    Example:
        >>> import numpy as np
        >>> from simulations.collapse.runner import seed_key_data
        >>> p = programs(Problem(k=3, m=5, rule="paper", dtype="float32"), 1)
        >>> basis, X = p.init(seed_key_data([0, 1]))
        >>> basis.shape, X.shape, np.asarray(p.finish(basis, X)).shape
        ((2, 5, 3), (2, 3, 3), (2, 5, 3))
    """
    k, m, init, dtype, clop = problem.k, problem.m, problem.init, problem.dtype, problem.clop
    reduce_span = problem.rows < m and not problem.given
    sequential = sequential_linalg()
    measure_one = _measurer(problem)

    def init_one(key_data):
        if problem.given:
            return jnp.zeros((0,), dtype), key_data
        key = jax.random.wrap_key_data(key_data)
        X0 = initial_embeddings(key, k, m, init=init, dtype=dtype)
        if clop:
            X0 = jnp.concatenate([X0, orthonormal_prototypes(clop_prototype_key(key), m, k, dtype)], axis=1)
        if reduce_span:  # step the coordinates R of X = Q R (see the module docstring)
            basis, coords = jnp.linalg.qr(X0)
            return basis, coords.T
        return jnp.zeros((0,), dtype), X0.T

    def finish_one(basis, X):
        if problem.given:
            return X
        return jnp.matmul(basis, X.T, precision=jax.lax.Precision.HIGHEST) if reduce_span else X.T

    return Programs(
        init=compiled(lambda key_data: _per_run(init_one, sequential)(key_data), 1, 0, n_devices),
        measure=compiled(lambda X: _per_run(measure_one, sequential)(X), 1, 0, n_devices),
        finish=compiled(lambda basis, X: jax.vmap(finish_one)(basis, X), 2, 0, n_devices),
    )


def apply_steps(rule: str, every: int, X, *, etas, tau):
    """``every`` steps of ``rule`` on the batch ``X[B, k, n]`` (traced). For ``paper``: one exact step
    (the state handed in need not have unit rows: the Gaussian initialisation does not), then blocks
    of :data:`UNIT_ROW_STEPS` steps written out in full, all but the last with ``unit_rows=True``, and
    a shorter block for the rest, so that the state returned has exactly measured norms.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> forty = jax.jit(lambda X, etas: apply_steps("paper", 40, X, etas=etas, tau=None))  # traced, as in advance
        >>> R = forty(2 * jnp.eye(3)[None], jnp.array([0.5]))
        >>> jnp.linalg.norm(R[0], axis=1).round(6).tolist()   # rows of norm 2 come back as unit rows
        [1.0, 1.0, 1.0]
    """
    if rule != "paper":
        step_all = jax.vmap(rule_step(rule, rows=True), in_axes=(0, 0, None))
        return jax.lax.fori_loop(0, every, lambda _, Z: step_all(Z, etas, tau), X, unroll=min(every, 2))
    exact = jax.vmap(paper_step_rows)
    if X.shape[0] == 1:  # one run per device: XLA's unbatched matrix-vector product is faster
        fast = lambda Z, e: paper_step_rows(Z[0], e[0], unit_rows=True)[None]  # noqa: E731
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


def _apply_clop_steps(rule: str, k: int, every: int, S, *, etas, lams, tau):
    """``every`` steps of ``rule`` with CLOP's term on the batch ``S[B, 2k, n]`` (embeddings, then prototypes)."""
    update = clop_rule_step(rule, rows=True)

    def one_step(S, eta, lam):
        return jnp.concatenate([update(S[:k], S[k:], eta, lam, tau), S[k:]], axis=0)

    step_all = jax.vmap(one_step)
    return jax.lax.fori_loop(0, every, lambda _, Z: step_all(Z, etas, lams), S)


def _apply_column_steps(rule: str, k: int | None, every: int, S, *, etas, lams=None, tau):
    """``every`` column-form steps (:func:`simulations.collapse.dynamics.rule_step`, no unit-row
    shortcut) on the batch ``S[B, n, w]`` of given starts; with ``k`` (CLOP) the columns k..w-1 are the
    prototypes, held fixed (:func:`simulations.collapse.dynamics.clop_rule_step`)."""
    if k is None:
        update = jax.vmap(rule_step(rule), in_axes=(0, 0, None))
        return jax.lax.fori_loop(0, every, lambda _, Z: update(Z, etas, tau), S)
    clop_update = jax.vmap(clop_rule_step(rule), in_axes=(0, 0, 0, 0, None))
    X, C = S[:, :, :k], S[:, :, k:]
    X = jax.lax.fori_loop(0, every, lambda _, Z: clop_update(Z, C, etas, lams, tau), X)
    return jnp.concatenate([X, C], axis=2)


@functools.lru_cache(maxsize=None)
def advance(problem: Problem, n_devices: int, every: int, records: int) -> Callable:
    """Compiled ``f(X[B, rows, n], etas[B], tau) -> X`` applying ``every`` steps (``records == 0``), or
    ``-> (X, spectra[B, records, n'], norms[B, records])`` applying ``records`` times ``every`` steps,
    each followed by a measurement. With CLOP: ``f(S, etas[B], lams[B], tau)`` (the prototype rows stay
    put; measurements take the first k rows). For a given start (:attr:`~simulations.collapse.engine.Problem.given`)
    the state is ``[B, n, rows]`` and the steps are the column form's (:func:`_apply_column_steps`).

    Example:
        >>> import jax.numpy as jnp
        >>> f = advance(Problem(k=3, m=3, rule="paper", dtype="float32"), 1, 10, 2)
        >>> X, spectra, norms = f(jnp.eye(3)[None], jnp.array([6.0]), jnp.float32(1.0))
        >>> spectra.shape, norms.shape
        ((1, 2, 3), (1, 2))
    """
    k, rule, clop = problem.k, problem.rule, problem.clop
    measure = _per_run(_measurer(problem), sequential_linalg())

    def batch(X, etas, *rest):
        if problem.given:
            lams, tau = rest if clop else (None, *rest)
            step = functools.partial(_apply_column_steps, rule, k if clop else None, every, etas=etas, lams=lams,
                                     tau=tau)
        elif clop:
            lams, tau = rest
            step = functools.partial(_apply_clop_steps, rule, k, every, etas=etas, lams=lams, tau=tau)
        else:
            (tau,) = rest
            step = functools.partial(apply_steps, rule, every, etas=etas, tau=tau)

        if records == 0:
            return step(X)

        def one_record(X, _):
            X = step(X)
            return X, measure(X)

        X, (spectra, norms) = jax.lax.scan(one_record, X, None, length=records)
        return X, jnp.moveaxis(spectra, 0, 1), jnp.moveaxis(norms, 0, 1)

    return compiled(batch, 3 if clop else 2, 1, n_devices)


# ----------------------------------------------------------------------------------------------
# The host driver
# ----------------------------------------------------------------------------------------------

def record_schedule(steps: int, record_every: int | None) -> np.ndarray:
    """Step numbers at which a run is measured: ``[steps]`` if ``record_every`` is None, else
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


def record_plan(steps: int, record_every: int | None, max_steps: int) -> list[tuple[int, int]]:
    """The compiled calls of one run: ``(every, records)`` pairs (see :func:`advance`), each of at most
    ``max_steps`` steps, that together step ``steps`` times and measure at every record of
    :func:`record_schedule` after step 0 (with ``record_every=None``: only after the last step).

    Example:
        >>> record_plan(10, 4, 100), record_plan(10, None, 4)
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


def chunk_size(B: int, rows: int, n: int, n_devices: int) -> int:
    """Runs per compiled call: about :data:`CHUNK_ELEMENTS` elements of ``[rows, n]`` state per device,
    a multiple of the device count.

    Batches whose state outgrows the CPU caches run in equal chunks (same shape: one compilation);
    measured 1e9 -> 1.4e8 element-steps/s at k = 30 when 1000 runs were stepped together.

    Example:
        >>> chunk_size(5, 30, 30, 1), chunk_size(10_000, 30, 30, 1), chunk_size(5, 30, 30, 4)
        (5, 291, 8)
    """
    per_device = max(1, CHUNK_ELEMENTS // (min(n, rows) * rows))
    return sharding.pad_batch(min(B, per_device * n_devices), n_devices)


def pad_runs(chunk: int, dtype: str, values: Sequence, key_data,
             start_dtype=np.uint32) -> tuple[list[np.ndarray], np.ndarray]:
    """Pad per-run ``values`` (each ``[B]``, cast to ``dtype``) and ``key_data[B, ...]`` (cast to
    ``start_dtype``: keys, or the given starts of :attr:`~simulations.collapse.engine.Problem.given`) to a
    multiple of ``chunk`` by repeating the last run (its copies are dropped by the client).

    Example:
        >>> [etas], keys = pad_runs(4, "float32", [[0.5, 2.0]], [[0, 1], [0, 2]])
        >>> etas.tolist(), keys[:, 1].tolist(), keys.dtype.name
        ([0.5, 2.0, 2.0, 2.0], [1, 2, 2, 2], 'uint32')
    """
    key_data = np.asarray(key_data, dtype=start_dtype)
    B = len(key_data)
    extra = sharding.pad_batch(B, chunk) - B

    def pad(a):
        return np.concatenate([a, np.repeat(a[-1:], extra, axis=0)]) if extra else a

    return [pad(np.asarray(v, dtype=dtype)) for v in values], pad(key_data)


class Pipeline:
    """Dispatch compiled calls with at most :data:`LOOKAHEAD` of them running ahead of the host.

    Waiting on the oldest call between dispatches lets a KeyboardInterrupt (Ctrl-C) stop a long run
    within about one call's time, while the device always has the next call queued.

    Example:
        >>> import jax.numpy as jnp
        >>> pipe = Pipeline(lookahead=1)
        >>> outs = [pipe.submit(jnp.ones(2) * i) for i in range(3)]
        >>> len(pipe.in_flight)
        1
    """

    def __init__(self, lookahead: int = LOOKAHEAD):
        self.lookahead = lookahead
        self.in_flight: list = []

    def submit(self, outputs):
        self.in_flight.append(outputs)
        if len(self.in_flight) > self.lookahead:
            jax.block_until_ready(self.in_flight.pop(0))
        return outputs


class Run:
    """One chunk of runs in flight, as the driver hands it to observers.

    Attributes: ``problem``, ``programs`` (:class:`Programs`), ``n_devices``, ``size`` (runs in the
    chunk, padding included), ``etas`` and ``params`` (the traced per-run arguments on the devices:
    ``[etas]``, or ``[etas, lams]`` with CLOP), ``tau`` (replicated), ``basis`` and ``X`` (the state),
    ``steps`` (steps dispatched so far), ``total_steps`` and ``stopped`` (an observer asked to stop).
    """

    def __init__(self, problem, progs, n_devices, size, params, tau, total_steps, pipeline):
        self.problem, self.programs, self.n_devices, self.size = problem, progs, n_devices, size
        self.params, self.etas, self.tau = params, params[0], tau
        self.total_steps, self.pipeline = total_steps, pipeline
        self.basis = self.X = None
        self.steps = 0
        self.stopped = False

    def submit(self, outputs):
        """Hand device outputs to the driver's :class:`Pipeline` (bounded lookahead); returns them."""
        return self.pipeline.submit(outputs)


class Observer:
    """What a driven run keeps: hooks the driver calls for every chunk (all optional).

    ``start(run)`` after init; ``segment(run, records)`` after each compiled call (``records`` is
    ``(spectra, norms)`` when the call measured, else None), True to stop this chunk early; ``end(run)``
    returns what to fetch for the chunk; ``result(parts, B)`` turns the fetched parts of all chunks
    (in order, padded) into the observer's result for the first B runs.

    Example (an observer that counts the compiled calls of every chunk):
        >>> class Calls(Observer):
        ...     def start(self, run): self.calls = 0
        ...     def segment(self, run, records): self.calls += 1
        ...     def end(self, run): return self.calls
        >>> d = drive(Problem(k=3, m=5, rule="paper", dtype="float32"), [1.0], [[0, 0]], tau=None,
        ...           plan=[(5, 0)] * 3, observers=[Calls()])
        >>> d.results, d.steps
        ([[3]], 15)
    """

    def start(self, run: Run) -> None:
        pass

    def segment(self, run: Run, records) -> bool:
        return False

    def end(self, run: Run):
        return None

    def result(self, parts: list, B: int):
        return parts


class Recorder(Observer):
    """Records ``(spectra[B, R, n], mean_norm[B, R])``: the measurements the plan asks for, plus the
    initial state's (``initial=True``); ``last_only`` keeps the final measurement alone."""

    def __init__(self, initial: bool, last_only: bool = False):
        self.initial, self.last_only = initial, last_only

    def start(self, run):
        self.records = [run.programs.measure(run.X)] if self.initial else []

    def segment(self, run, records):
        if records is not None:
            self.records.append(records)

    def end(self, run):
        return self.records[-1:] if self.last_only else self.records

    def result(self, parts, B):
        def along_records(arrays, ndim):
            return np.concatenate([a[:, None] if a.ndim == ndim else a for a in arrays], axis=1)

        spectra = np.concatenate([along_records([r[0] for r in records], 2) for records in parts])
        norms = np.concatenate([along_records([r[1] for r in records], 1) for records in parts])
        return spectra[:B], norms[:B]


class FinalState(Observer):
    """The final state in :math:`\\mathbb R^m`: ``final[B, m, rows]`` (embeddings, then prototypes with CLOP)."""

    def end(self, run):
        return run.submit(run.programs.finish(run.basis, run.X))

    def result(self, parts, B):
        return np.concatenate(parts)[:B]


class Drive(NamedTuple):
    """Result of :func:`drive`."""

    results: list  #: one per observer, in order
    steps: int  #: steps dispatched, summed over chunks
    chunk: int  #: runs per chunk (padding included)


def drive(problem: Problem, etas, key_data, *, tau, plan: Sequence[tuple[int, int]], observers: Sequence[Observer],
          lams=None, chunk: int | None = None) -> Drive:
    r"""Run the flat batch ``etas[B]`` (keys ``key_data[B, 2]``, CLOP weights ``lams[B]``) through ``plan``;
    for a given start (:attr:`~simulations.collapse.engine.Problem.given`), ``key_data`` is the batch of starts
    ``[B, n, rows]``.

    Each chunk of ``chunk`` runs (default :func:`chunk_size`; the batch is padded by repeating the last
    run) is initialised, then stepped by one compiled call per ``(every, records)`` entry of ``plan``
    (:func:`advance`) unless an observer stops it; every observer sees every chunk. Calls are enqueued
    with at most :data:`LOOKAHEAD` ahead of the host; everything the observers keep is fetched once at
    the end (to every process under ``jax.distributed``). A float64 problem enables JAX's 64-bit mode
    for the call only, and the BLAS behind the CPU factorisations runs single-threaded.

    Example (the records of one run at eta = 6 > 4: the second singular value vanishes):
        >>> spectra, norms = drive(Problem(k=3, m=5, rule="paper", dtype="float64"), [6.0], [[0, 0]], tau=None,
        ...                        plan=[(50, 2)], observers=[Recorder(initial=True)]).results[0]
        >>> spectra.shape, bool(spectra[0, -1, 1] < 1e-9 < spectra[0, 0, 1])
        ((1, 3, 3), True)
    """
    with float64_scope(problem.dtype), blas_single_threaded():
        n_devices = sharding.device_count()
        B = len(etas)
        if chunk is None:
            chunk = chunk_size(B, problem.rows, problem.n, n_devices)
        per_run = [etas] if lams is None else [etas, lams]
        per_run, key_data = pad_runs(chunk, problem.dtype, per_run, key_data,
                                     problem.dtype if problem.given else np.uint32)
        tau_value = sharding.put_replicated(np.asarray(1.0 if tau is None else tau, dtype=problem.dtype), n_devices)
        progs = programs(problem, n_devices)
        pipeline = Pipeline()
        parts, steps = [], 0
        for i in range(0, len(key_data), chunk):
            params = [sharding.put_batch(v[i:i + chunk], n_devices) for v in per_run]
            run = Run(problem, progs, n_devices, chunk, params, tau_value, sum(e * max(r, 1) for e, r in plan),
                      pipeline)
            run.basis, run.X = pipeline.submit(progs.init(sharding.put_batch(key_data[i:i + chunk], n_devices)))
            for observer in observers:
                observer.start(run)
            for every, records in plan:
                out = pipeline.submit(advance(problem, n_devices, every, records)(run.X, *params, tau_value))
                run.X = out[0] if records else out
                run.steps += every * max(records, 1)
                stop = [observer.segment(run, out[1:] if records else None) for observer in observers]
                if any(stop):
                    run.stopped = True
                    break
            steps += run.steps
            parts.append([observer.end(run) for observer in observers])
        parts = sharding.fetch(parts)
        return Drive([observer.result([p[j] for p in parts], B) for j, observer in enumerate(observers)], steps,
                     chunk)


def blas_single_threaded():
    """Context in which the BLAS/LAPACK libraries behind JAX's CPU factorisations use one thread.

    JAX's CPU QR and SVD call LAPACK from SciPy's OpenBLAS, which by default starts one thread per
    core for every call. The engine factorises one run at a time (see :func:`sequential_linalg`), on
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
    return jax.enable_x64(True) if dtype == "float64" else contextlib.nullcontext()


# ----------------------------------------------------------------------------------------------
# Span coordinates of a state given on the host (Problem.given, simulations.collapse.from_state)
# ----------------------------------------------------------------------------------------------

def span_coordinates(starts: np.ndarray, width: int | None = None):
    """``(basis, coords)`` of host states ``starts[B, m, w]``: the thin QR factors when ``w`` is below m
    (the engine steps ``coords``, see the module docstring), else ``(None, starts)``.

    Example:
        >>> import numpy as np
        >>> basis, coords = span_coordinates(np.eye(4)[None, :, :2])
        >>> basis.shape, coords.shape, np.allclose(from_span(basis, coords[None]), np.eye(4)[:, :2])
        ((1, 4, 2), (1, 2, 2), True)
    """
    m, w = starts.shape[-2:]
    return tuple(np.linalg.qr(starts)) if w < m else (None, starts)


def from_span(basis, coords) -> np.ndarray:
    """States in :math:`\\mathbb R^m` from span coordinates ``coords[L, B, w, k]`` (``basis[B, m, w]``,
    None: the coordinates are the states).

    Example:
        >>> import numpy as np
        >>> from_span(None, np.ones((1, 1, 2, 2))).shape
        (1, 1, 2, 2)
    """
    return coords if basis is None else np.einsum("bmj,lbjk->lbmk", basis, coords)
