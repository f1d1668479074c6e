"""Start-up of ``clop-verify`` with JAX's persistent compilation cache: first call against second call.

Runs the same command several times with a fresh, empty compilation cache (``CLOP_VERIFY_JAX_CACHE`` set
to a temporary folder): the first call compiles and fills the cache, the later ones load from it. Prints
the wall time of each call and the ratio first / (median of the others); a third column runs the
command with the cache turned off, as the reference measured in the same run.

Usage::

    python benchmarks/bench_startup.py [--repeats 3] [-- ARGS...]

Default command: ``clop-verify simulate --k 30 --lr 2.0 2.1 --steps 1000`` (the command the README's start-up section times).
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

DEFAULT_ARGS = ["simulate", "--k", "30", "--lr", "2.0", "2.1", "--steps", "1000"]


def timed(argv: list[str], env: dict) -> float:
    """Wall seconds of one ``clop-verify`` call (its output discarded; a failure raises)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "clop_verify", *argv], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    from clop_verify.cli import OneLineParser
    from clop_verify.validation import integer

    parser = OneLineParser(prog="benchmarks/bench_startup.py", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=integer(1, 1000), default=3, help="calls after the first, 1 to 1000 (default 3)")
    parser.add_argument("args", nargs="*", help="the clop-verify arguments (after --)")
    args = parser.parse_args(argv)
    command = args.args or DEFAULT_ARGS
    folder = tempfile.mkdtemp(prefix="clop-verify-jax-cache-")
    try:
        env = {**os.environ, "CLOP_VERIFY_JAX_CACHE": folder}
        off = {**os.environ, "CLOP_VERIFY_JAX_CACHE": "off"}
        first = timed(command, env)
        warm = [timed(command, env) for _ in range(args.repeats)]
        cold = [timed(command, off) for _ in range(args.repeats)]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"command: clop-verify {' '.join(command)}")
    print(f"first call (empty cache):      {first:6.2f} s")
    print(f"later calls (cache filled):    {', '.join(f'{t:.2f}' for t in warm)} s")
    print(f"calls with the cache off:      {', '.join(f'{t:.2f}' for t in cold)} s")
    print(f"speed-up of a second call: {first / statistics.median(warm):.2f}x "
          f"(cache off / cache on: {statistics.median(cold) / statistics.median(warm):.2f}x)")
    return 0


if __name__ == "__main__":
    from clop_verify.cli import guarded

    sys.exit(guarded("bench_startup", main))
