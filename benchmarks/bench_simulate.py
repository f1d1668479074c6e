"""Speed of the JAX runner against a vectorised NumPy reference of the same ``paper`` update.

Prints element-steps per second (batch x m x k x steps / seconds) for both and their ratio, for
k = 3, 30, 200 and batches of 1, 80 and 1000 runs (m = 100, float64). The NumPy reference broadcasts
the update over all runs at once (no Python loop per run). Large combinations run fewer steps (the
rate is per element-step, so it is comparable); the table says how many. JAX is timed after a
warm-up call (compilation excluded) on a new learning-rate grid.

Usage: python benchmarks/bench_simulate.py [--quick]
"""
from __future__ import annotations

import argparse
import platform
import time

import numpy as np

import simulations  # noqa: F401  (turns on float64)
from simulations.runner import seed_key_data, simulate_keys

M = 100


def numpy_reference(X: np.ndarray, etas: np.ndarray, steps: int) -> np.ndarray:
    """Appendix D update on ``[B, k, m]`` rows for all runs at once: y_i = (1+c) x_i - c S, normalise."""
    k = X.shape[1]
    c = (etas / (k - 1))[:, None, None]
    for _ in range(steps):
        Y = (1 + c) * X - c * X.sum(axis=1, keepdims=True)
        X = Y / np.sqrt(np.einsum("bkm,bkm->bk", Y, Y))[..., None]
    return X


def time_jax(k, batch, steps, repeats=2):
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


def time_numpy(k, batch, steps, repeats=2):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((batch, k, M))
    X /= np.linalg.norm(X, axis=-1, keepdims=True)
    etas = np.linspace(0.5, 1.9, batch)
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        numpy_reference(X, etas, steps)
        best = min(best, time.perf_counter() - t)
    return batch * M * k * steps / best


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (a smoke run, noisier numbers)")
    args = parser.parse_args(argv)
    import jax

    full_steps = 200 if args.quick else 2000
    budget = 2e8 if args.quick else 2e9  # element-steps per JAX timing
    print(f"machine: {platform.processor() or platform.machine()}, {jax.device_count()} x {jax.devices()[0].platform}, "
          f"jax {jax.__version__}, numpy {np.__version__}; m = {M}, float64")
    print(f"{'k':>4} {'batch':>6} {'steps':>6} {'np steps':>8} {'JAX el-steps/s':>15} {'NumPy el-steps/s':>17} {'ratio':>7}")
    for k in (3, 30, 200):
        for batch in (1, 80, 1000):
            size = batch * M * k
            steps = int(min(full_steps, max(20, budget // size)))
            np_steps = int(min(steps, max(5, 2e8 // size)))
            jax_rate = time_jax(k, batch, steps)
            np_rate = time_numpy(k, batch, np_steps)
            print(f"{k:>4} {batch:>6} {steps:>6} {np_steps:>8} {jax_rate:>15.3e} {np_rate:>17.3e} {jax_rate / np_rate:>7.1f}",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
