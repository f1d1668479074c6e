"""Module entry points and benchmarks use the project's parser and validation (issue 23, item 6), and Ctrl-C
ends a command within 2 s even inside a long compiled call (issue 23, item 6)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, PYTHONPATH=str(ROOT))


def _benchmark(name: str):
    """The module ``benchmarks/NAME.py`` (a script folder, not a package), imported from its file."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(args, cwd, timeout=120):
    return subprocess.run([sys.executable, *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("args, needle", [
    (["-m", "figures.fig3_tightness", "--out", "FILE/sub"], "FILE is a file"),
    (["-m", "figures.fig3_tightness", "--out", ""], "got an empty path"),
    (["-m", "figures.fig3_tightness", "--out", "x", "--k-max", "7"], "argument --k-max: invalid choice"),
    ([str(ROOT / "benchmarks" / "bench_threshold.py"), "--k", "0"], "argument --k: must be an integer in [3, 1000000]"),
    ([str(ROOT / "benchmarks" / "bench_simulate.py"), "--devices", "0"], "argument --devices: must be an integer in [1, 4096]"),
    ([str(ROOT / "benchmarks" / "bench_startup.py"), "--repeats", "-1"], "argument --repeats: must be an integer in [1, 1000]"),
    ([str(ROOT / "benchmarks" / "bench_compile.py"), "--levels", "7"], "argument --levels: must be an integer in [0, 3]"),
    ([str(ROOT / "benchmarks" / "profile_suite.py"), "--rate", "0"], "argument --rate: must be an integer in [1, 1000]"),
    ([str(ROOT / "benchmarks" / "profile_suite.py"), "--raw", "NOFILE"], "--raw: no such file: NOFILE"),
    ([str(ROOT / "benchmarks" / "probe_thread_rounding.py"), "--rows", "0"],
     "argument --rows: must be an integer in [1, 100000]"),
    ([str(ROOT / "benchmarks" / "bench_training.py"), "--reference", "no-such-revision"],
     "argument --reference: 'no-such-revision' is not a commit of this repository"),
])
def test_entry_points_refuse_bad_input_with_one_line(args, needle, tmp_path):
    (tmp_path / "FILE").write_text("x")
    proc = _run(args, tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr and needle in lines[0], proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["FILE"]


def test_ctrl_c_ends_a_long_compiled_call_within_two_seconds(tmp_path):
    """The trial's reproducer: Ctrl-C inside one long jitted call (the readings grid took 56 s to exit)."""
    # A terminal's Ctrl-C: the child must start with SIGINT's default action, also when the suite itself was
    # started with SIGINT ignored (a background job of a script, nohup'd CI; Python keeps an inherited ignore
    # and children inherit it). A handler, unlike an ignore, is reset to the default by exec.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "clop_verify", "simulate", "--k", "200", "--m", "200", "--lr", "1", "--steps", "3000000",
             "--out", str(tmp_path / "out")],
            cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    deadline = time.time() + 90
    line = proc.stderr.readline()  # "simulate: 1 run of ... steps ..." is printed just before the compiled call
    assert line.startswith("simulate: 1 run"), line
    time.sleep(3.0)  # compiling and inside the call
    assert proc.poll() is None and time.time() < deadline
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    finally:
        proc.kill()
    elapsed = time.monotonic() - sent
    rest = proc.stderr.read()
    assert proc.returncode == 130 and elapsed < 2.0, (proc.returncode, elapsed, rest)
    assert rest.strip().splitlines()[-1] == "clop-verify simulate: interrupted"
    assert not (tmp_path / "out").exists()  # nothing written, no staged file left


def test_compile_benchmark_sums_each_workers_records_per_file(tmp_path):
    import json

    bench = _benchmark("bench_compile")
    compile_event, trace_event = "/jax/core/compile/backend_compile_duration", "/jax/core/compile/jaxpr_trace_duration"
    (tmp_path / "gw0.json").write_text(json.dumps({
        "tests/a.py::t1": {"seconds": {compile_event: 1.5, trace_event: 0.25, "/jax/other": 9.0},
                           "count": {compile_event: 2, trace_event: 3}}}))
    (tmp_path / "gw1.json").write_text(json.dumps({
        "tests/a.py::t2": {"seconds": {compile_event: 0.5}, "count": {compile_event: 1}},
        "tests/b.py::t": {"seconds": {compile_event: 4.0}, "count": {compile_event: 1}}}))
    totals, per_file = bench.summarise(tmp_path)
    assert totals == {"compile": 6.0, "compile programs": 4, "trace": 0.25, "trace programs": 3}  # other events left out
    assert per_file["tests/a.py"] == {"compile": 2.0, "compile programs": 3, "trace": 0.25, "trace programs": 3}
    assert per_file["tests/b.py"] == {"compile": 4.0, "compile programs": 1}


def test_suite_profile_sorts_each_sample_into_one_kind(tmp_path):
    """benchmarks/profile_suite.py: py-spy's raw records (a child's command may span lines) become seconds per kind."""
    raw = tmp_path / "suite.raw"
    main = 'process 10:"python -m pytest -q -n 0"'
    raw.write_text("\n".join([
        # compiling inside a lowering-and-compiling stack counts as compiling (the first kind that matches)
        f"{main};t (test_a.py:3);lower_sharding_computation (pxla.py:1);backend_compile_and_load (compiler.py:2) 40",
        f"{main};t (test_a.py:5);trace_to_jaxpr (partial_eval.py:1) 20",
        f"{main};x (<doctest simulations.m.f[0]>:1);make_ir_context (mlir.py:625) 10",
        f"{main};t (test_b.py:9);communicate (subprocess.py:1209) 30",
        f"{main};t (test_b.py:9);savefig (matplotlib/figure.py:3360) 20",
        # a child process whose command spans two lines, and a thread that is not a main thread: apart
        f'{main};process 11:"python -c\nimport json; print(1)";<module> (<string>:2) 40',
        f"{main};_bootstrap (threading.py:1002);run (watchdog.py:1) 80",
    ]) + "\n")
    proc = _run([str(ROOT / "benchmarks" / "profile_suite.py"), "--raw", str(raw), "--rate", "10"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    # the main thread's samples: 40 + 20 + 10 + 30 + 20 = 120 at 10 per second
    assert "main process: 12.0 s sampled" in out
    assert "     4.0 s   33.3 %  XLA compiling" in out and "     2.0 s   16.7 %  tracing to jaxprs" in out
    assert "     1.0 s    8.3 %  MLIR context creation" in out and "     3.0 s   25.0 %  waiting for a child process" in out
    assert "     2.0 s   16.7 %  matplotlib" in out
    # per program: tracing and the MLIR context (3 s of 12); compiling is what the cache saves, not per program
    assert "cache lookup): 3.0 s (25.0 %)" in out
    assert "doctests: 1.0 s (8.3 %), of which per program 1.0 s" in out
    assert "child processes' own samples (overlapping their parent's wait): 4.0 s" in out
    ranked = out.split("(top 20):\n")[1].splitlines()
    assert ranked == ["     2.0 s  test_a.py", "     1.0 s  doctest simulations.m"]


@pytest.mark.slow  # compiles the network workload's program twice with its 2 and 3 steps unrolled (about 15 s)
def test_training_benchmark_counts_one_step_of_one_trial():
    """benchmarks/bench_training.py --roofline: XLA counts a loop body once, so the per-step cost is taken
    between unrolled 2- and 3-step programs; one step of one trial must hold at least the encoder's
    matrix products (forward and both backward products for the 2B rows of the two views) and the
    exponentials of the 2B x 2B similarity matrix of InfoNCE."""
    bench = _benchmark("bench_training")
    from simulations.training.readings import Setup

    setup = Setup()
    rows = 2 * setup.batch_size
    encoder = 3 * bench._layer_flops((3, setup.hidden, setup.hidden, 3), rows)
    cost = bench.step_cost("network", 1, ["infonce"])
    assert encoder <= cost["flops"] <= 3 * encoder, (cost, encoder)
    assert rows * (rows - 1) <= cost["transcendentals"] <= 2 * rows * rows, cost
    assert cost["bytes accessed"] >= 4 * rows * rows  # the similarity matrix is written at least once in float32


@pytest.mark.slow  # exports the reference revision and compiles its readings program and this checkout's (about 40 s)
def test_training_benchmark_runs_its_default_reference(tmp_path):
    """benchmarks/bench_training.py compares this checkout with the code of ``--reference``: its worker must still
    run that revision's code (whose readings ``Setup`` gives the program's length as its last checkpoint, not as
    ``steps``), and both must answer for the same trainings."""
    bench = _benchmark("bench_training")
    if not bench._is_revision(bench.REFERENCE):
        pytest.skip(f"this clone does not hold {bench.REFERENCE}")
    old = bench._run_worker(bench._export(bench.REFERENCE, str(tmp_path)), "readings", 1, ["infonce"])
    new = bench._run_worker(str(ROOT), "readings", 1, ["infonce"])
    assert old["trainings"] == new["trainings"] == 2 * 5  # one reading with and without CLOP, 5 seeds
    assert old["trial_steps"] == new["trial_steps"] == 2 * 5 * 300  # every trial runs the program's 300 steps
    assert old["flops"] == new["flops"] > 0 and old["seconds"] > 0 and new["seconds"] > 0
    assert len(old["accuracy"]) == len(new["accuracy"]) == 1  # one loss


@pytest.mark.slow  # two subprocesses import JAX (about 5 s)
@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="sets the CPU affinity of its subprocesses")
def test_thread_rounding_probe_compares_one_cpu_with_every_cpu(tmp_path):
    """benchmarks/probe_thread_rounding.py prints one verdict per (rows, trials); a short contraction, which
    no pool splits, agrees whatever the number of CPUs."""
    proc = _run([str(ROOT / "benchmarks" / "probe_thread_rounding.py"), "--rows", "8", "1000", "--trials", "1", "30"],
                tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[-2:] == [str(len(os.sched_getaffinity(0))), "CPUs"]
    verdicts = {tuple(line.split()[:2]): line.split()[2] for line in lines[1:]}
    assert set(verdicts) == {("8", "1"), ("8", "30"), ("1000", "1"), ("1000", "30")}
    assert set(verdicts.values()) <= {"identical", "DIFFERENT"}
    assert verdicts[("8", "1")] == verdicts[("8", "30")] == "identical"
