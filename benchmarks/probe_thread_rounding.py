"""Does a batched weight-gradient product round differently with the number of cores XLA may use?

The readings figure's batch-500 group moves in the last bits when the command runs on one core instead of
two (ninth session, ``benchmarks/README.md``). The suspected reason: XLA:CPU sizes its thread pool to the
CPUs the process may use (its affinity mask) and splits a long contraction over those threads, adding the
parts at the end, so the order of the additions, and the rounding, follows the pool size. A network's
weight gradient is such a contraction, over the rows of the batch:

.. math:: \\frac{\\partial L}{\\partial W} = X^{\\top} G = \\sum_{r=1}^{R} x_r g_r^{\\top}, \\quad X, G \\in \\mathbb{R}^{R \\times 64},

with R = 2B rows for two views of a batch of B (R = 1000 in the batch-500 group), vmapped over the trials
of a grid. This probe computes that product in float32 for several R, for one trial and for a vmapped
batch of trials, in one subprocess restricted to one CPU and in one allowed every CPU this process may
use, and prints whether the bytes agree. A row that differs is a contraction whose rounding depends on
the machine's core count (on a one-core machine both runs use one core, and every row agrees).

Usage::

    python benchmarks/probe_thread_rounding.py [--rows 256 500 1000 2000] [--trials 1 30]

Measured on the 2-core VM (ninth session): identical for R = 256, 500, 512 and for one trial; different
for R = 1000 and 2000 with 30 trials.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

#: The hidden width of the readings grid's encoder (3 -> 64 -> 64 -> 3): its middle weights are WIDTH x WIDTH.
WIDTH = 64


def digests(rows: list[int], trials: list[int]) -> dict[str, str]:
    """SHA-1 of the float32 bytes of vmapped ``a.T @ b`` (``trials`` x ``R`` x 64 inputs) for each ``R`` and trial count.

    Example:
        >>> sorted(digests([8], [1, 2]))
        ['8x1', '8x2']
    """
    import jax
    import jax.numpy as jnp
    import numpy as np

    rng = np.random.default_rng(0)
    out = {}
    for r in rows:
        a = rng.standard_normal((r, WIDTH)).astype(np.float32)
        b = rng.standard_normal((r, WIDTH)).astype(np.float32)
        for t in trials:
            product = jax.jit(jax.vmap(lambda x, y: x.T @ y))(jnp.broadcast_to(a, (t, r, WIDTH)),
                                                             jnp.broadcast_to(b, (t, r, WIDTH)))
            out[f"{r}x{t}"] = hashlib.sha1(np.asarray(product).tobytes()).hexdigest()
    return out


def _run(cpus: set[int], rows: list[int], trials: list[int]) -> dict[str, str]:
    """:func:`digests` in a subprocess whose affinity is ``cpus`` before JAX starts (JAX sizes its pool then)."""
    code = ("import json, os, sys; os.sched_setaffinity(0, set(json.loads(sys.argv[1])));"
            "sys.path.insert(0, sys.argv[4]); import probe_thread_rounding as p;"
            "print(json.dumps(p.digests(json.loads(sys.argv[2]), json.loads(sys.argv[3]))))")
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(sorted(cpus)), json.dumps(rows), json.dumps(trials),
                           os.path.dirname(os.path.abspath(__file__))], capture_output=True, text=True)
    if proc.returncode:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"the probe on CPUs {sorted(cpus)} exited {proc.returncode}:\n{tail}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    from clop_verify.cli import OneLineParser
    from clop_verify.validation import integer

    parser = OneLineParser(prog="benchmarks/probe_thread_rounding.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=integer(1, 100_000), nargs="+", default=[256, 500, 512, 1000, 2000],
                        help="contracted rows R (two views x batch size), 1 to 100000")
    parser.add_argument("--trials", type=integer(1, 10_000), nargs="+", default=[1, 30],
                        help="vmapped trials, 1 to 10000")
    args = parser.parse_args(argv)
    if not hasattr(os, "sched_setaffinity"):
        print("probe_thread_rounding: needs os.sched_setaffinity (Linux)", file=sys.stderr)
        return 2
    every = os.sched_getaffinity(0)
    one = {min(every)}
    low, high = _run(one, args.rows, args.trials), _run(every, args.rows, args.trials)
    print(f"{'rows R':>7} {'trials':>7}  1 CPU vs {len(every)} CPUs")
    for key in low:
        r, t = key.split("x")
        print(f"{r:>7} {t:>7}  {'identical' if low[key] == high[key] else 'DIFFERENT'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
