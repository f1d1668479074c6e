"""Where a test run's time goes in JAX: tracing, lowering and XLA compiling, per test file, at two LLVM levels.

Runs ``pytest`` on the given paths (default: the whole default suite) once per optimisation level in
``--levels`` (``--xla_backend_optimization_level=L`` in ``XLA_FLAGS``; the suite's ``conftest.py``
keeps a level the user sets), each from an empty compilation cache (``--warm``: run once to fill it,
then time a second run), with this file loaded as a pytest plugin. The plugin adds up JAX's own
monitoring events per test, in every worker:

- ``jaxpr_trace_duration``: Python tracing to a jaxpr;
- ``jaxpr_to_mlir_module_duration``: lowering to StableHLO (paid again in every process, cache or not);
- ``backend_compile_duration``: XLA compiling (what the persistent compilation cache saves).

It prints, per level, the wall time of the run and those three sums (in worker-seconds: two workers
compile side by side), then the test files that compile longest at the first level, and the ratio of
each level's wall time to the last level's (the reference, measured in the same run). Subprocesses the
tests start (the CLI tests) are not profiled, only timed inside the wall time.

Usage::

    python benchmarks/bench_compile.py [--levels 1 2] [--warm] [--top 15] [PATHS...]

Example (one file, about a minute)::

    python benchmarks/bench_compile.py tests/simulations/test_sim_runner.py --levels 1 2
"""
from __future__ import annotations

import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: The monitoring events summed, with the column names printed for them.
EVENTS = {
    "/jax/core/compile/jaxpr_trace_duration": "trace",
    "/jax/core/compile/jaxpr_to_mlir_module_duration": "lower",
    "/jax/core/compile/backend_compile_duration": "compile",
}

#: Where the plugin writes one JSON per pytest process (set by :func:`main` for its runs).
OUT_ENV = "CLOP_VERIFY_COMPILE_PROFILE"

ROOT = Path(__file__).resolve().parents[1]

# ---- the pytest plugin (active when pytest loads this module with ``-p bench_compile``) ----

_current = ["<collection>"]
_sums: dict = collections.defaultdict(lambda: collections.defaultdict(float))
_counts: dict = collections.defaultdict(lambda: collections.defaultdict(int))


def _listener(event: str, duration: float, **_) -> None:
    if event in EVENTS:
        _sums[_current[0]][event] += duration
        _counts[_current[0]][event] += 1


def pytest_configure(config) -> None:
    import jax.monitoring

    jax.monitoring.register_event_duration_secs_listener(_listener)


def pytest_runtest_logstart(nodeid, location) -> None:
    _current[0] = nodeid


def pytest_sessionfinish(session) -> None:
    folder = os.environ.get(OUT_ENV)
    if folder:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        record = {node: {"seconds": dict(_sums[node]), "count": dict(_counts[node])} for node in _sums}
        Path(folder, f"{worker}.json").write_text(json.dumps(record))


# ---- the driver ----


def summarise(folder: str | os.PathLike) -> tuple[dict, dict]:
    r"""Sum the plugin's records in ``folder``: ``(totals, per_file)``, seconds and counts per event name.

    .. math:: T_e = \sum_{\text{workers}} \sum_{\text{tests}} t_e(\text{test}), \qquad
        T_e(f) = \sum_{\text{tests in file } f} t_e(\text{test})

    Example:
        >>> d = tempfile.mkdtemp()
        >>> ev = "/jax/core/compile/backend_compile_duration"
        >>> _ = Path(d, "gw0.json").write_text(json.dumps({"a.py::t1": {"seconds": {ev: 1.5}, "count": {ev: 2}},
        ...                                                 "a.py::t2": {"seconds": {ev: 0.5}, "count": {ev: 1}}}))
        >>> totals, per_file = summarise(d)
        >>> totals["compile"], per_file["a.py"]["compile"], per_file["a.py"]["compile programs"]
        (2.0, 2.0, 3)
    """
    totals: dict = collections.Counter()
    per_file: dict = collections.defaultdict(collections.Counter)
    for path in sorted(Path(folder).glob("*.json")):
        for node, record in json.loads(path.read_text()).items():
            name = node.split("::")[0]
            for event, seconds in record["seconds"].items():
                column = EVENTS.get(event)
                if column:
                    totals[column] += seconds
                    per_file[name][column] += seconds
                    per_file[name][f"{column} programs"] += record["count"].get(event, 0)
                    totals[f"{column} programs"] += record["count"].get(event, 0)
    return dict(totals), {name: dict(c) for name, c in per_file.items()}


def run_level(level: int, paths: list[str], warm: bool) -> tuple[float, str, dict, dict]:
    """One pytest run at LLVM level ``level`` from an empty compilation cache (``warm``: its second run)."""
    cache = tempfile.mkdtemp(prefix="clop-verify-jax-cache-")
    profile = tempfile.mkdtemp(prefix="clop-verify-compile-profile-")
    flags = " ".join(f for f in os.environ.get("XLA_FLAGS", "").split() if "xla_backend_optimization_level" not in f)
    env = {**os.environ, "CLOP_VERIFY_JAX_CACHE": cache, OUT_ENV: profile,
           "XLA_FLAGS": f"{flags} --xla_backend_optimization_level={level}".strip(),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "benchmarks"), str(ROOT), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "bench_compile", "-p", "no:cacheprovider", *paths]
    try:
        if warm:
            subprocess.run(command, cwd=ROOT, env={**env, OUT_ENV: ""}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        start = time.perf_counter()
        proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        lines = proc.stdout.strip().splitlines()
        totals, per_file = summarise(profile)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(profile, ignore_errors=True)
    return seconds, (lines[-1] if lines else f"pytest exited {proc.returncode}"), totals, per_file


def main(argv: list[str] | None = None) -> int:
    from clop_verify.cli import OneLineParser
    from clop_verify.validation import integer

    parser = OneLineParser(prog="benchmarks/bench_compile.py", description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=integer(0, 3), nargs="+", default=[1, 2],
                        help="LLVM optimisation levels, 0 to 3; the last is the reference (default: 1 2)")
    parser.add_argument("--warm", action="store_true", help="time a second run, the compilation cache filled by a first")
    parser.add_argument("--top", type=integer(0, 1000), default=15, help="test files listed, 0 to 1000 (default 15)")
    parser.add_argument("paths", nargs="*", help="pytest paths (default: the whole default suite)")
    args = parser.parse_args(argv)
    runs = {level: run_level(level, args.paths, args.warm) for level in args.levels}
    reference = runs[args.levels[-1]][0]
    kind = "warm (second run)" if args.warm else "empty compilation cache"
    print(f"{' '.join(args.paths) or 'default suite'}, {kind}; worker-seconds summed over pytest processes")
    print("| level | wall s | wall / reference | trace s | lower s | compile s | programs compiled | result |")
    print("|---|---|---|---|---|---|---|---|")
    for level, (seconds, result, totals, _) in runs.items():
        print(f"| {level} | {seconds:.1f} | {seconds / reference:.2f} | {totals.get('trace', 0):.1f} | "
              f"{totals.get('lower', 0):.1f} | {totals.get('compile', 0):.1f} | {totals.get('compile programs', 0)} | {result} |")
    per_file = runs[args.levels[0]][3]
    if args.top and per_file:
        print(f"\nlevel {args.levels[0]}: the test files that compile longest")
        print("| compile s | programs | trace s | lower s | file |")
        print("|---|---|---|---|---|")
        for name, c in sorted(per_file.items(), key=lambda item: -item[1].get("compile", 0))[:args.top]:
            print(f"| {c.get('compile', 0):.1f} | {c.get('compile programs', 0)} | {c.get('trace', 0):.1f} | "
                  f"{c.get('lower', 0):.1f} | {name} |")
    return 0


if __name__ == "__main__":
    from clop_verify.cli import guarded

    sys.exit(guarded("bench_compile", main))
