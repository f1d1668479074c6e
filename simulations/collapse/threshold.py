r"""Collapse-threshold search: the largest learning rate at which no trial collapses (paper 001, Figure 3 right).

Definitions used here (collapse need not be monotone in the learning rate, so they are explicit):

* An eta **passes** when all ``trials`` runs (trial t starts from key
  ``jax.random.fold_in(jax.random.key(seed), t)``) end finite and not completely collapsed after
  ``steps`` steps; it **fails** when any run collapses (:func:`simulations.metrics.is_completely_collapsed`)
  or becomes non-finite (counted separately in ``evaluations``, never as a collapse).
* Stage 1 evaluates the neutral grid :data:`NEUTRAL_GRID` (powers of :math:`\sqrt2` from 1/4 to 32;
  it knows nothing of :func:`theory.eta_max`). ``hi`` = the smallest failing grid eta, ``lo`` = the
  largest passing grid eta below it (0 if none).
* Stage 2 repeatedly evaluates :data:`REFINE_POINTS` equally spaced etas strictly inside
  ``(lo, hi)`` and moves ``hi`` to the smallest failing one and ``lo`` to the largest passing one
  below it, until :math:`(hi - lo) \le \mathrm{rtol}\cdot hi`.
* The **threshold** reported is the final ``lo``: the largest eta found to pass below the smallest eta
  found to fail. Passing etas *above* a failing one are listed in ``passing_above`` and make
  ``monotone`` False. If no grid eta fails, ``threshold`` is the largest grid eta and ``hi`` is inf.

Each eta's outcome comes from :func:`simulations.collapse.outcomes.run_outcomes`: runs stop as soon
as their final outcome is certain (proofs there), with the same pass/fail as stepping every run to the
end, which ``early_stop=False`` still does (the tests compare both).

With CLOP's term (``clop_lambda > 0``, :mod:`theory.clop`) an eta fails when any run keeps a
near-collapsed state (the final mean's component outside the prototypes' span above
:data:`~simulations.collapse.runner.CLOP_PERSIST_TOL`); every run is then stepped to the end (the early
stop's certificates are proved for the plain rules only). The search is otherwise the same; for the
``paper`` rule its threshold estimates :func:`theory.clop.clop_eta_min`.
"""
from __future__ import annotations

import time
from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from simulations import metrics
from simulations.collapse import engine, runner, sharding
from simulations.collapse.outcomes import run_outcomes
from simulations.collapse.runner import check_simulation_args, simulate_keys

__all__ = ["ThresholdResult", "NEUTRAL_GRID", "REFINE_POINTS", "collapse_threshold", "collapse_thresholds", "trial_key_data"]

#: Stage-1 grid: 2^(j/2) for j = -4..10, i.e. 0.25, 0.354, ..., 32.
NEUTRAL_GRID = tuple(float(2.0 ** (j / 2)) for j in range(-4, 11))
#: Learning rates evaluated per refinement round (the bracket shrinks by a factor of up to 9 a round).
REFINE_POINTS = 8


class ThresholdResult(NamedTuple):
    """Result of :func:`collapse_threshold`."""

    k: int
    threshold: float  #: largest passing eta below the smallest failing eta
    bracket: tuple  #: (lo, hi): lo passes, hi fails; hi - lo <= rtol * hi (hi = inf if nothing failed)
    m: int
    trials: int
    steps: int
    rule: str
    tau: float | None
    seed: int
    rtol: float
    monotone: bool  #: False if some eta above ``hi`` passed
    passing_above: tuple  #: etas that passed although a smaller eta failed
    evaluations: tuple  #: (eta, n_collapsed, n_nonfinite) for every eta evaluated, in order
    rounds: int  #: refinement rounds
    seconds: float  #: wall time of the search (including compilation)
    element_steps: int = 0  #: work done: runs stepped x steps x k x min(m, k), over the whole search
    element_steps_full: int = 0  #: the same work had every run been stepped to the end
    clop_lambda: float = 0.0  #: CLOP's per-class-embedding weight (0: none)

    @property
    def rate(self) -> float:
        """Element-steps per second of wall time (compare with ``benchmarks/bench_simulate.py``)."""
        return self.element_steps / self.seconds if self.seconds > 0 else float("nan")

    def as_dict(self) -> dict:
        """Plain-dict form (for JSON)."""
        return {
            "k": self.k, "threshold": self.threshold, "bracket": list(self.bracket), "m": self.m,
            "trials": self.trials, "steps": self.steps, "rule": self.rule, "tau": self.tau, "seed": self.seed,
            "rtol": self.rtol, "monotone": self.monotone, "passing_above": list(self.passing_above),
            "rounds": self.rounds, "seconds": self.seconds, "element_steps": self.element_steps,
            "element_steps_full": self.element_steps_full,
            "evaluations": [list(e) for e in self.evaluations],
        } | ({"clop_lambda": self.clop_lambda} if self.clop_lambda else {})


def trial_key_data(seed: int, trials: int) -> np.ndarray:
    """Raw key data ``[trials, 2]`` of ``fold_in(key(seed), t)`` for t = 0..trials-1.

    Trial t's key does not depend on how many trials run beside it. One vmapped call (the same bits as
    a Python loop of ``fold_in``, which took ~1 ms a trial, minutes for 10^5 trials).

    Example:
        >>> bool((trial_key_data(0, 5)[:3] == trial_key_data(0, 3)).all())
        True
        >>> k = jax.random.key_data(jax.random.fold_in(jax.random.key(0), 4))
        >>> bool((trial_key_data(0, 5)[4] == np.asarray(k)).all())
        True
    """
    base = jax.random.key(seed)
    folded = jax.vmap(lambda t: jax.random.fold_in(base, t))(jnp.arange(trials, dtype=jnp.uint32))
    return np.asarray(jax.random.key_data(folded))


def _evaluate(k, etas, keys, *, m, steps, rule, tau, dtype, early_stop=True, clop_lambda=0.0):
    """``(n_collapsed, n_nonfinite, element_steps)`` per eta over all trials.

    ``early_stop=True``: :func:`simulations.collapse.outcomes.run_outcomes` (runs stop once their
    outcome is certain, decided on the device), in compiled calls of a fixed number of runs (one eta's
    trials, or fewer when the state is large), so the grid stage and every refinement round share
    the compiled programs. ``early_stop=False``: the reference path,
    every run stepped to the end by :func:`simulations.collapse.runner.simulate_keys` and judged by
    the SVD of its final state, in batches of exactly :data:`REFINE_POINTS` etas.
    """
    T = len(keys)
    if clop_lambda:
        return _evaluate_clop(k, etas, keys, m=m, steps=steps, rule=rule, tau=tau, dtype=dtype,
                              clop_lambda=clop_lambda)
    if early_stop:
        n_devices = sharding.device_count()
        batch = engine.chunk_size(T, k, min(m, k), n_devices)  # one eta's trials: runs that tend to stop together
        etas = np.asarray(etas, dtype=float)
        out = run_outcomes(k, np.repeat(etas, T), np.tile(keys, (len(etas), 1)), m=m, steps=steps, rule=rule,
                           tau=tau, dtype=dtype, batch=batch)
        n_col = out.collapsed.reshape(len(etas), T).sum(1)
        n_nan = (~out.finite).reshape(len(etas), T).sum(1)
        return n_col, n_nan, out.element_steps
    etas = np.asarray(etas, dtype=float)
    n = len(etas)
    padded = np.concatenate([etas, np.repeat(etas[-1:], -n % REFINE_POINTS)])
    n_col, n_nan = [], []
    for batch in padded.reshape(-1, REFINE_POINTS):
        spectra, norms, final = simulate_keys(
            k, np.repeat(batch, T), np.tile(keys, (len(batch), 1)), m=m, steps=steps,
            rule=rule, tau=tau, record_every=None, dtype=dtype, init="sphere",
        )
        finite = np.isfinite(final).all(axis=(-2, -1)) & np.isfinite(spectra).all(axis=(-2, -1))
        collapsed = np.asarray(metrics.is_completely_collapsed(spectra[:, -1, :], mean_norm=norms[:, -1])) & finite
        n_col.append(collapsed.reshape(len(batch), T).sum(1))
        n_nan.append((~finite).reshape(len(batch), T).sum(1))
    work = len(padded) * T * steps * k * min(m, k)
    return np.concatenate(n_col)[:n], np.concatenate(n_nan)[:n], work


def _evaluate_clop(k, etas, keys, *, m, steps, rule, tau, dtype, clop_lambda):
    """:func:`_evaluate` with CLOP: every run stepped to the end; "collapsed" = a near-collapsed state persists."""
    from simulations.collapse.from_state import outside_prototypes

    T = len(keys)
    etas = np.asarray(etas, dtype=float)
    all_etas = np.repeat(etas, T)
    spectra, norms, final, protos = simulate_keys(
        k, all_etas, np.tile(keys, (len(etas), 1)), m=m, steps=steps, rule=rule, tau=tau, record_every=None,
        dtype=dtype, init="sphere", clop_lambdas=np.full(len(all_etas), clop_lambda),
    )
    finite = np.isfinite(final).all(axis=(-2, -1)) & np.isfinite(spectra).all(axis=(-2, -1))
    persists = (outside_prototypes(final, protos) > runner.CLOP_PERSIST_TOL) & finite
    work = len(all_etas) * steps * 2 * k * min(m, 2 * k)
    return persists.reshape(len(etas), T).sum(1), (~finite).reshape(len(etas), T).sum(1), work


def _check_search_args(trials, seed, rtol):
    if not isinstance(trials, int) or isinstance(trials, bool) or trials < 1:
        raise ValueError(f"trials must be an integer >= 1; got {trials!r}")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an integer in [0, 2**32); got {seed!r}")
    if not isinstance(rtol, (int, float)) or isinstance(rtol, bool) or not 0 < rtol < 1:
        raise ValueError(f"rtol must be a real number in (0, 1); got {rtol!r}")


def collapse_threshold(
    k: int,
    *,
    m: int = 100,
    trials: int = 5,
    steps: int = 2000,
    rule: str = "paper",
    tau: float | None = None,
    seed: int = 0,
    rtol: float = 1e-3,
    dtype: str = "float64",
    early_stop: bool = True,
    clop_lambda: float = 0.0,
) -> ThresholdResult:
    r"""Largest learning rate for which none of ``trials`` runs completely collapses within ``steps`` steps.

    The paper's "maximum learning rate preventing collapse over 5 consecutive trials" (Figure 3,
    right), to compare with :math:`\eta_{\max}(k) = 2(k-1)/(k-2)` of Theorem 1. The search is
    bracketed from a neutral grid, not from the bound; see the module docstring for the exact
    definition (and non-monotone cases).

    Args:
        k: number of class embeddings, >= 2.
        m: embedding dimension.
        trials: runs per learning rate (one key each, ``fold_in(key(seed), t)``).
        steps: steps per run.
        rule, tau: update rule and temperature, as in :func:`simulations.simulate`.
        seed: base seed.
        rtol: relative width of the final bracket, :math:`(hi - lo) \le \mathrm{rtol}\cdot hi`.
        dtype: ``float64`` or ``float32``.
        early_stop: stop each run once its outcome is certain and settle final states by bounds
            (:mod:`simulations.collapse.outcomes`; the same pass/fail as stepping every run to the end).
            False: the reference path, every run stepped to the end and judged by the SVD.
        clop_lambda: CLOP's per-class-embedding weight (>= 0; see the module docstring). 0: the plain search.

    Returns:
        :class:`ThresholdResult`.

    Raises:
        ValueError: for invalid arguments.

    Example (paper 001, Figure 3 right, at toy size):
        >>> r = collapse_threshold(3, m=5, trials=2, steps=100, rtol=0.05)
        >>> r.bracket[0] == r.threshold < r.bracket[1], r.bracket[1] - r.bracket[0] <= 0.05 * r.bracket[1]
        (True, True)
    """
    _check_threshold_args(k, m=m, trials=trials, steps=steps, rule=rule, tau=tau, seed=seed, rtol=rtol, dtype=dtype,
                          clop_lambda=clop_lambda)
    return _search(k, m=m, trials=trials, steps=steps, rule=rule, tau=tau, seed=seed, rtol=rtol, dtype=dtype,
                   early_stop=early_stop, clop_lambda=clop_lambda)


def _check_threshold_args(k, *, m, trials, steps, rule, tau, seed, rtol, dtype, clop_lambda=0.0):
    check_simulation_args(k, [1.0], m, [seed], steps, None, rule, tau, dtype, "sphere")
    runner.check_clop_lambda(clop_lambda, k, m)
    _check_search_args(trials, seed, rtol)


def _search(k, *, m, trials, steps, rule, tau, seed, rtol, dtype, early_stop=True, clop_lambda=0.0) -> ThresholdResult:
    """The search of :func:`collapse_threshold` on arguments already validated."""
    start = time.perf_counter()
    keys = trial_key_data(seed, trials)
    run = dict(m=m, steps=steps, rule=rule, tau=tau, dtype=dtype)
    evaluations: list[tuple[float, int, int]] = []
    work = [0, 0]  # element-steps done, and without early stop

    def evaluate(etas):
        n_col, n_nan, done = _evaluate(k, etas, keys, **run, early_stop=early_stop, clop_lambda=clop_lambda)
        work[0] += done
        work[1] += len(etas) * trials * steps * k * min(m, k)
        evaluations.extend((float(e), int(c), int(n)) for e, c, n in zip(etas, n_col, n_nan))
        return np.asarray(etas, dtype=float), (n_col == 0) & (n_nan == 0)

    etas, passed = evaluate(NEUTRAL_GRID)
    rounds = 0
    if passed.all():
        lo, hi = float(etas[-1]), float("inf")
    else:
        hi = float(etas[~passed].min())
        below = etas[passed & (etas < hi)]
        lo = float(below.max()) if below.size else 0.0
        while hi - lo > rtol * hi:
            rounds += 1
            points = lo + (hi - lo) * np.arange(1, REFINE_POINTS + 1) / (REFINE_POINTS + 1)
            etas, passed = evaluate(points)
            if (~passed).any():
                hi = min(hi, float(etas[~passed].min()))
            below = etas[passed & (etas < hi)]
            if below.size:
                lo = max(lo, float(below.max()))
    hi_fail = hi
    passing_above = tuple(sorted({e for e, c, n in evaluations if c == 0 and n == 0 and e > hi_fail}))
    return ThresholdResult(
        k=k, threshold=lo, bracket=(lo, hi), m=m, trials=trials, steps=steps, rule=rule,
        tau=None if tau is None else float(tau), seed=seed, rtol=float(rtol), monotone=not passing_above,
        passing_above=passing_above, evaluations=tuple(evaluations), rounds=rounds,
        seconds=time.perf_counter() - start, element_steps=work[0], element_steps_full=work[1],
        clop_lambda=float(clop_lambda),
    )


def collapse_thresholds(
    ks: Sequence[int],
    *,
    m: int = 100,
    trials: int = 5,
    steps: int = 2000,
    rule: str = "paper",
    tau: float | None = None,
    seed: int = 0,
    rtol: float = 1e-3,
    dtype: str = "float64",
    progress: bool | None = None,
    clop_lambda: float = 0.0,
) -> list[ThresholdResult]:
    """:func:`collapse_threshold` for every k in ``ks`` (one compilation per k; small k is never padded).

    Every argument is validated once, for every k, before the first search starts.

    Args:
        ks: numbers of class embeddings.
        m, trials, steps, rule, tau, seed, rtol, dtype, clop_lambda: as in :func:`collapse_threshold`.
        progress: see :func:`simulations.progress.progress` (None: a bar only when stderr is a
            terminal; True: also one line per k otherwise).

    Raises:
        ValueError: for an empty ``ks`` or any invalid argument.

    Example:
        >>> [r.k for r in collapse_thresholds([3, 4], m=5, trials=2, steps=100, rtol=0.05)]
        [3, 4]
    """
    from simulations.progress import progress as show_progress

    ks = list(ks)
    if not ks:
        raise ValueError("ks must be a non-empty list of integers >= 2; got []")
    args = dict(m=m, trials=trials, steps=steps, rule=rule, tau=tau, seed=seed, rtol=rtol, dtype=dtype)
    if clop_lambda:
        args["clop_lambda"] = clop_lambda
    for k in ks:
        _check_threshold_args(k, **args)
    return [_search(k, **args) for k in show_progress(ks, desc="threshold", enabled=progress, label=lambda k: f"k={k}")]
