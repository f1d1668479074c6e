"""Speed of the collapse-threshold search against the machine's stepping rate, measured in one process.

For each k (m = max(100, k), rule ``paper``, 5 trials, 2000 steps, rtol 1e-3: the settings of
``clop-verify threshold`` and Figure 3 right; float64 unless ``--dtype float32``, the CLI's choice for
the paper rule) it prints the wall time of
:func:`simulations.collapse_threshold`, the element-steps it did (runs x steps x k x min(m, k), early
stops included), the element-steps the same search would do with every run stepped to the end, the
search's rate, and the runner's plain stepping rate at the same k measured just before in the same
process (:func:`simulations.collapse.runner.simulate_keys`, one compiled call of the same batch size,
compilation excluded). On a loaded machine only the ratios of one run mean anything.

``--reference`` also times the unoptimised search (``early_stop=False``: every run to the end, SVD of
every final state) and checks that it finds the same threshold. ``--devices N`` runs JAX with N CPU
devices (set before JAX starts).

Usage: python benchmarks/bench_threshold.py [--k 100 300 1000] [--dtype float64|float32] [--reference] [--devices N]
"""
from __future__ import annotations

import os
import time


def stepping_rate(k: int, m: int, dtype: str = "float64") -> float:
    """Element-steps per second of plain stepping (the runner, no early stop) at this k, warm."""
    import jax
    import numpy as np

    from simulations.collapse import engine, runner

    batch = engine.chunk_size(5, k, min(m, k), jax.device_count())
    steps = max(50, min(2000, int(4e9 // (batch * k * min(m, k)))))
    keys = np.tile(runner.seed_key_data([0]), (batch, 1))
    run = dict(m=m, steps=steps, rule="paper", tau=None, record_every=None, dtype=dtype, init="sphere")
    runner.simulate_keys(k, np.full(batch, 1.5), keys, **run)  # compile
    t = time.perf_counter()
    runner.simulate_keys(k, np.full(batch, 1.6), keys, **run)
    return batch * steps * k * min(m, k) / (time.perf_counter() - t)


def main(argv=None) -> int:
    from clop_verify.cli import OneLineParser
    from clop_verify.validation import integer

    parser = OneLineParser(prog="benchmarks/bench_threshold.py", description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=integer(3, 10**6), nargs="+", default=[100, 300, 1000],
                        help="numbers of class embeddings, 3 to 10^6 (default 100 300 1000)")
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64", help="default float64")
    parser.add_argument("--reference", action="store_true", help="also time the unoptimised search")
    parser.add_argument("--devices", type=integer(1, 4096), default=1, help="JAX CPU devices, 1 to 4096 (default 1)")
    args = parser.parse_args(argv)
    os.environ["JAX_NUM_CPU_DEVICES"] = str(args.devices)
    from clop_verify.runtime import configure_jax

    configure_jax()
    import jax

    import theory
    from results.io import cpu_summary
    from simulations.collapse import threshold

    print(f"machine: {cpu_summary()}, load average "
          f"{os.getloadavg()[0]:.1f}, {jax.device_count()} x {jax.devices()[0].platform} JAX devices, jax {jax.__version__}, {args.dtype}")
    print(f"{'k':>5} {'m':>5} {'threshold':>10} {'/eta_max-1':>10} {'seconds':>8} {'el-steps':>10} {'if full':>10} "
          f"{'rate':>9} {'stepping':>9} {'rate/stepping':>13} {'reference s':>11}")
    for k in args.k:
        m = max(100, k)
        base = stepping_rate(k, m, args.dtype)
        r = threshold.collapse_threshold(k, m=m, dtype=args.dtype)
        ref = ""
        if args.reference:
            t = time.perf_counter()
            slow = threshold.collapse_threshold(k, m=m, dtype=args.dtype, early_stop=False)
            ref = f"{time.perf_counter() - t:.1f}"
            assert (slow.threshold, slow.bracket) == (r.threshold, r.bracket), (slow.bracket, r.bracket)
        print(f"{k:>5} {m:>5} {r.threshold:>10.5f} {r.threshold / theory.eta_max(k) - 1:>10.2%} {r.seconds:>8.1f} "
              f"{r.element_steps:>10.3e} {r.element_steps_full:>10.3e} {r.rate:>9.2e} {base:>9.2e} "
              f"{r.rate / base:>13.2f} {ref:>11}", flush=True)
    return 0


if __name__ == "__main__":
    from clop_verify.cli import guarded

    raise SystemExit(guarded("bench_threshold", main))
