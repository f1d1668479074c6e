"""Speed of the JAX runner against a vectorised NumPy reference of the same ``paper`` update.

Prints element-steps per second (batch x m x k x steps / seconds) for both and their ratio, for
k = 3, 30, 200 and batches of 1, 80 and 1000 runs (m = 100, float64). The NumPy reference broadcasts
the update over all runs at once (no Python loop per run) on the m x k embeddings. The runner steps
the k x min(m, k) coordinates of the embeddings in the span of the initial ones (see
:mod:`simulations.collapse.runner`), so a second NumPy column, ``NumPy (span)``, applies that same reduction
in NumPy (batched QR, step the coordinates, multiply back): the first ratio is the issue's target,
the second shows how much of it is JAX rather than the algorithm. Large combinations run fewer
steps (the rate is per element-step, so it is comparable); the table says how many. JAX is timed
after a warm-up call (compilation excluded) on a new learning-rate grid.

``--devices N`` runs JAX with N CPU devices (``JAX_NUM_CPU_DEVICES``, set before JAX starts); the
runner splits the batch of runs over them. The default is one device per CPU core.

Usage: python benchmarks/bench_simulate.py [--quick] [--devices N]
"""
from __future__ import annotations

import os
import time

# NumPy's BLAS threads (used by the span reference's QR) keep spinning after a call and took a core
# from the JAX timing that followed (k = 30, 80 runs, one device: 1.6e9 el-steps/s after a NumPy QR,
# 3.4e9 alone), so BLAS runs single-threaded here; the NumPy update itself is single-threaded anyway.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402  (after the thread settings)

M = 100


def numpy_reference(X: np.ndarray, etas: np.ndarray, steps: int) -> np.ndarray:
    """Appendix D update on ``[B, k, d]`` rows for all runs at once: y_i = (1+c) x_i - c S, normalise."""
    k = X.shape[1]
    c = (etas / (k - 1))[:, None, None]
    for _ in range(steps):
        Y = (1 + c) * X - c * X.sum(axis=1, keepdims=True)
        X = Y / np.sqrt(np.einsum("bkm,bkm->bk", Y, Y))[..., None]
    return X


def numpy_reference_span(X: np.ndarray, etas: np.ndarray, steps: int) -> np.ndarray:
    """:func:`numpy_reference` on the coordinates R of X^T = Q R when k < m, then X = (Q R_T)^T."""
    k, m = X.shape[1:]
    if k >= m:
        return numpy_reference(X, etas, steps)
    Q, R = np.linalg.qr(np.swapaxes(X, 1, 2))  # [B, m, k], [B, k, k]
    coords = numpy_reference(np.swapaxes(R, 1, 2), etas, steps)  # rows = embeddings in R^k
    return np.swapaxes(Q @ np.swapaxes(coords, 1, 2), 1, 2)


def time_jax(k, batch, steps, repeats=2):
    from simulations.collapse.runner import seed_key_data, simulate_keys

    etas = np.linspace(0.5, 1.9, batch)
    keys = np.tile(seed_key_data([0]), (batch, 1))
    run = dict(m=M, steps=steps, rule="paper", tau=None, record_every=None, dtype="float64", init="sphere")
    simulate_keys(k, etas, keys, **run)  # compile
    best = np.inf
    for r in range(repeats):
        t = time.perf_counter()
        simulate_keys(k, etas + 0.01 * (r + 1), keys, **run)
        best = min(best, time.perf_counter() - t)
    return batch * M * k * steps / best


def time_numpy(k, batch, steps, reference, repeats=2):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((batch, k, M))
    X /= np.linalg.norm(X, axis=-1, keepdims=True)
    etas = np.linspace(0.5, 1.9, batch)
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        reference(X, etas, steps)
        best = min(best, time.perf_counter() - t)
    return batch * M * k * steps / best


def main(argv=None) -> int:
    from clop_verify.cli import OneLineParser
    from clop_verify.validation import integer
    from results.io import cpu_summary, usable_cores

    parser = OneLineParser(prog="benchmarks/bench_simulate.py", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (a smoke run, noisier numbers)")
    parser.add_argument("--devices", type=integer(1, 4096), default=usable_cores() or 1,
                        help="JAX CPU devices to split the runs over (default: one per core this process may use, here %(default)s)")
    args = parser.parse_args(argv)
    os.environ["JAX_NUM_CPU_DEVICES"] = str(args.devices)  # read when JAX starts its CPU backend
    os.environ["JAX_ENABLE_X64"] = "1"  # float64 arrays for the NumPy comparison's inputs
    import jax

    import simulations  # noqa: F401

    full_steps = 200 if args.quick else 2000
    budget = 2e8 if args.quick else 2e9  # element-steps per JAX timing
    print(f"machine: {cpu_summary()}, "
          f"{jax.device_count()} x {jax.devices()[0].platform} JAX devices, jax {jax.__version__}, "
          f"numpy {np.__version__}; m = {M}, float64")
    print(f"{'k':>4} {'batch':>6} {'steps':>6} {'np steps':>8} {'JAX el-steps/s':>15} {'NumPy':>10} "
          f"{'NumPy (span)':>13} {'JAX/NumPy':>10} {'JAX/NumPy (span)':>17}")
    for k in (3, 30, 200):
        for batch in (1, 80, 1000):
            size = batch * M * k
            steps = int(min(full_steps, max(20, budget // size)))
            np_steps = int(min(steps, max(5, 2e8 // size)))
            jax_rate = time_jax(k, batch, steps)
            np_rate = time_numpy(k, batch, np_steps, numpy_reference)
            span_rate = time_numpy(k, batch, np_steps, numpy_reference_span)
            print(f"{k:>4} {batch:>6} {steps:>6} {np_steps:>8} {jax_rate:>15.3e} {np_rate:>10.3e} {span_rate:>13.3e} "
                  f"{jax_rate / np_rate:>10.1f} {jax_rate / span_rate:>17.1f}", flush=True)
    return 0


if __name__ == "__main__":
    from clop_verify.cli import guarded

    raise SystemExit(guarded("bench_simulate", main))
