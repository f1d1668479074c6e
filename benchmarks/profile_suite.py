"""Where a test run's wall time goes, by kind of work: a py-spy sampling profile of the suite in one process.

Runs ``py-spy record --subprocesses --idle --rate R --format raw`` on ``python -m pytest -q -n 0
-p no:cacheprovider [PATHS]`` (one process, so the main thread's samples add up to the wall time; the
compilation cache is used as a normal run uses it, so run the suite once before for a warm profile),
then sorts every sample of a main thread into the first kind of :data:`KINDS` whose frames it shows:

- waiting for a child process (the CLI tests run the command in a subprocess);
- XLA compiling (``backend_compile``: what the persistent compilation cache saves);
- compilation-cache lookup (``compile_or_get_cached`` without compiling: the cache key, reading the entry);
- MLIR context creation (``make_ir_context``: JAX builds a fresh context for every lowering);
- lowering to StableHLO (the rest of ``lower_sharding_computation``);
- tracing to jaxprs;
- matplotlib, SymPy, SciPy/scikit-learn, imports, pytest's collection, JAX's clean-up at exit (``atexit``:
  freeing the backend's compiled programs, after pytest's summary line);
- everything else: the tests' and the project's Python, NumPy, and JAX calls on the C++ fast path
  (running an already-compiled program shows up here or under the caller's frame).

The child processes' own samples are reported apart (they overlap their parent's wait). Then the
doctests' share, and the test files (or doctest modules) with the most JAX tracing, lowering and
cache lookup: that part of a run is paid once per distinct program per process, warm cache or not, so
it is the share a smaller number of distinct programs would save.

py-spy is not a dependency of the project: ``pip install py-spy``. ``--raw FILE`` re-reads a recorded
profile instead of running the suite.

Usage::

    python benchmarks/profile_suite.py [--rate 40] [--raw FILE] [--top 20] [PATHS...]

Example (one file, about half a minute)::

    python benchmarks/profile_suite.py tests/simulations/test_sim_metrics.py
"""
from __future__ import annotations

import collections
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Kinds of work, in the order a sample is tested against them: the first kind whose markers (substrings
#: of the folded stack) appear wins. ``None`` marks the rest.
KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("waiting for a child process", ("(subprocess.py:",)),
    ("XLA compiling", ("backend_compile",)),
    ("compilation-cache lookup", ("compile_or_get_cached",)),
    ("MLIR context creation", ("make_ir_context",)),
    ("lowering to StableHLO", ("lower_sharding_computation", "lower_jaxpr_to_module")),
    ("tracing to jaxprs", ("trace_to_jaxpr", "_create_pjit_jaxpr", "_infer_params")),
    ("matplotlib", ("matplotlib/",)),
    ("SymPy", ("sympy/",)),
    ("SciPy / scikit-learn", ("scipy/", "sklearn/")),
    ("imports", ("_find_and_load",)),
    ("pytest's collection", ("pytest_collection",)),
    ("JAX's clean-up at exit", ("clean_up (",)),
)

#: The kinds JAX pays once per distinct program per process, whether or not the compilation cache holds it.
PER_PROGRAM = ("compilation-cache lookup", "MLIR context creation", "lowering to StableHLO", "tracing to jaxprs")

OTHER = "everything else (tests' and project's Python, NumPy, compiled programs on JAX's fast path)"

_RECORD = re.compile(r"(process \d+:.*?) (\d+)\n(?=process \d+:|\Z)", re.S)
_PROCESS = re.compile(r'process (\d+):"')
_DOCTEST = re.compile(r"<doctest ([\w.]+)\[")
_TEST_FILE = re.compile(r"\(((?:[\w./-]*/)?test_\w+\.py):\d+\)")


def parse_raw(text: str) -> list[tuple[str, int]]:
    """The ``(folded stack, samples)`` records of a py-spy ``--format raw`` profile.

    A record is ``process PID:"command";frame;...;frame COUNT``; a command may span lines (``python -c``
    with a script), so records are split where the next ``process PID:`` starts.

    Example:
        >>> parse_raw('process 1:"python -c\\nimport x";f (a.py:1) 3\\nprocess 1:"py";g (b.py:2) 2\\n')
        [('process 1:"python -c\\nimport x";f (a.py:1)', 3), ('process 1:"py";g (b.py:2)', 2)]
    """
    return [(stack, int(count)) for stack, count in _RECORD.findall(text if text.endswith("\n") else text + "\n")]


def kind_of(stack: str) -> str:
    """The kind of work of one folded stack: the first of :data:`KINDS` whose markers it contains, else :data:`OTHER`.

    Example:
        >>> kind_of("a (x.py:1);backend_compile_and_load (jax/_src/compiler.py:9);compile_or_get_cached (c.py:3)")
        'XLA compiling'
        >>> kind_of("t (test_a.py:3);make_ir_context (jax/_src/interpreters/mlir.py:625)")
        'MLIR context creation'
        >>> kind_of("t (test_a.py:3);mean (numpy/core/_methods.py:1)") == OTHER
        True
    """
    for kind, markers in KINDS:
        if any(marker in stack for marker in markers):
            return kind
    return OTHER


def summarise(records: list[tuple[str, int]]) -> dict:
    """Samples per kind for the main process's main thread, for child processes, per doctest module and per test file.

    A sample belongs to a child process when its stack names more than one process; samples of threads
    other than a main thread (their stack starts in ``threading.py``) are left out.

    Returns:
        ``{"main": Counter(kind -> samples), "children": int, "doctests": int, "doctests_per_program": int,
        "per_program_by_file": Counter(test file or "doctest <module>" -> samples)}``.

    Example:
        >>> r = [('process 1:"pytest";t (tests/test_a.py:3);trace_to_jaxpr (jax/_src/pe.py:1)', 4),
        ...      ('process 1:"pytest";x (<doctest simulations.m.f[0]>:1);make_ir_context (mlir.py:1)', 2),
        ...      ('process 1:"pytest";process 2:"python -c";g (h.py:1)', 5),
        ...      ('process 1:"pytest";_bootstrap (threading.py:1);w (q.py:1)', 7)]
        >>> s = summarise(r)
        >>> s["main"]["tracing to jaxprs"], s["children"], s["doctests"], dict(s["per_program_by_file"])
        (4, 5, 2, {'tests/test_a.py': 4, 'doctest simulations.m': 2})
    """
    main: collections.Counter = collections.Counter()
    by_file: collections.Counter = collections.Counter()
    children = doctests = doctests_per_program = 0
    for stack, count in records:
        processes = _PROCESS.findall(stack)
        if len(processes) > 1:
            children += count
            continue
        first_frame = stack.split(";", 2)[1] if ";" in stack else ""
        if "(threading.py:" in first_frame:
            continue
        kind = kind_of(stack)
        main[kind] += count
        doctest = _DOCTEST.search(stack)
        if doctest:
            doctests += count
        if kind in PER_PROGRAM:
            if doctest:
                doctests_per_program += count
                by_file["doctest " + doctest.group(1).rsplit(".", 1)[0]] += count
            else:
                test_file = _TEST_FILE.search(stack)
                by_file[test_file.group(1) if test_file else "(elsewhere)"] += count
    return {"main": main, "children": children, "doctests": doctests, "doctests_per_program": doctests_per_program,
            "per_program_by_file": by_file}


def report(summary: dict, rate: int, top: int) -> str:
    """The printed tables of :func:`summarise`'s result, in seconds (samples / ``rate``) and shares.

    Example:
        >>> import collections
        >>> s = {"main": collections.Counter({"XLA compiling": 30, OTHER: 10}), "children": 8, "doctests": 4,
        ...      "doctests_per_program": 2, "per_program_by_file": collections.Counter()}
        >>> print(report(s, 10, 5).splitlines()[2])
             3.0 s   75.0 %  XLA compiling
    """
    total = sum(summary["main"].values())
    if not total:
        return "no samples of the main process"
    lines = [f"main process: {total / rate:.1f} s sampled (its wall time)", ""]
    for kind, count in summary["main"].most_common():
        lines.append(f"{count / rate:8.1f} s {100 * count / total:6.1f} %  {kind}")
    per_program = sum(summary["main"][kind] for kind in PER_PROGRAM)
    lines += ["", f"paid per distinct program per process (tracing, lowering, MLIR contexts, cache lookup): "
              f"{per_program / rate:.1f} s ({100 * per_program / total:.1f} %)",
              f"doctests: {summary['doctests'] / rate:.1f} s ({100 * summary['doctests'] / total:.1f} %), of which per "
              f"program {summary['doctests_per_program'] / rate:.1f} s",
              f"child processes' own samples (overlapping their parent's wait): {summary['children'] / rate:.1f} s", "",
              f"per-program time by test file or doctest module (top {top}):"]
    for name, count in summary["per_program_by_file"].most_common(top):
        lines.append(f"{count / rate:8.1f} s  {name}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from clop_verify.cli import OneLineParser
    from clop_verify.validation import integer

    parser = OneLineParser(prog="benchmarks/profile_suite.py", description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="pytest paths (default: the whole default suite)")
    parser.add_argument("--rate", type=integer(1, 1000), default=40, help="samples per second, 1 to 1000 (default 40)")
    parser.add_argument("--raw", type=Path, help="read this recorded py-spy raw profile instead of running the suite")
    parser.add_argument("--top", type=integer(0, 1000), default=20, help="files listed, 0 to 1000 (default 20)")
    args = parser.parse_args(argv)
    if args.raw is not None:
        if not args.raw.is_file():
            parser.error(f"--raw: no such file: {args.raw}")
        text = args.raw.read_text(errors="replace")
    else:
        spy = shutil.which("py-spy")
        if spy is None:
            parser.error("py-spy not found on PATH (pip install py-spy)")
        with tempfile.TemporaryDirectory() as folder:
            raw = Path(folder) / "suite.raw"
            command = [spy, "record", "--subprocesses", "--idle", "--rate", str(args.rate), "--format", "raw",
                       "--output", str(raw), "--", sys.executable, "-m", "pytest", "-q", "-n", "0",
                       "-p", "no:cacheprovider", *args.paths]
            run = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            tail = [line for line in run.stdout.splitlines() if line.strip() and not line.startswith("py-spy>")][-1:]
            print(f"pytest: {tail[0] if tail else '(no output)'}")
            if not raw.is_file():
                print(run.stdout[-2000:], file=sys.stderr)
                return 1
            text = raw.read_text(errors="replace")
    print(report(summarise(parse_raw(text)), args.rate, args.top))
    return 0


if __name__ == "__main__":
    from clop_verify.cli import guarded

    sys.exit(guarded("profile_suite", main))
