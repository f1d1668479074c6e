"""Fuzzing ``clop-verify`` with random argument lists (hypothesis).

Each subcommand gets random lists of its own flags with values drawn from a pool of good, non-finite,
out-of-range and malformed values. The oracle below states, independently of
:mod:`clop_verify.validation`, which values each flag accepts. Properties:

* no exception escapes ``main`` (a user would see a traceback): it returns or argparse exits;
* an argument list holding any value its flag does not accept exits with status 2 before any work
  starts (never 0, and the library's entry point is never reached).

In the default suite the commands run in-process with their library entry points replaced by a stub
that stops at the point where work would begin; the slow test runs the installed console script in a
subprocess on argument lists that each hold a bad value, and checks the one-line message and that
nothing was written.
"""
from __future__ import annotations

import contextlib
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clop_verify import cli

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).with_name("clop-verify")
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "clop_verify"]

REALS = ["1", "0.5", "2.1", "3", "1e-300", "0", "-1", "-0.5", "1e39", "1e308", "1e400", "inf", "-inf", "nan", "-nan",
         "x", "", "1e-3", "-1e-3"]
INTS = ["0", "1", "2", "3", "5", "30", "-1", "1e3", "1.5", "x", "", "2147483648", "4294967295", "4294967296",
        "1000000001", "99999999999999999999"]


class Reached(BaseException):
    """Raised by the stubs: validation passed and the command started its work (a BaseException, so that
    the CLI's handler of unexpected exceptions, which reports them as bugs with exit status 1, lets it by)."""


def _real(low=None, high=None, low_open=False, high_open=False, allow_inf=False):
    def ok(text):
        try:
            x = float(text)
        except ValueError:
            return False
        if math.isnan(x) or (math.isinf(x) and not allow_inf):
            return False
        if low is not None and not (x > low if low_open else x >= low):
            return False
        return high is None or (x < high if high_open else x <= high)
    return ok


def _int(low, high):
    return lambda text: bool(re.fullmatch(r"[+-]?\d+", text)) and low <= int(text) <= high


def _choice(*names):
    return lambda text: text in names


POSITIVE = _real(0, low_open=True)
STEPS = _int(1, 10**9)
SEED = _int(0, 2**32 - 1)
SIZE_K, SIZE_M = _int(2, 10**9), _int(1, 10**9)

#: flag -> (accepted?, value pool, how many values: 1 or "+")
SPECS = {
    "bound": {"--k": (_int(3, 2**53), INTS, "+"), "--eps": (_real(0, allow_inf=True), REALS, "+")},
    "simulate": {
        "--k": (SIZE_K, INTS, 1), "--m": (SIZE_M, INTS, 1), "--lr": (POSITIVE, REALS, "+"), "--seeds": (SEED, INTS, "+"),
        "--steps": (STEPS, INTS, 1), "--record-every": (STEPS, INTS, 1),
        "--rule": (_choice("paper", "autodiff", "infonce"), ["paper", "autodiff", "infonce", "sgd"], 1),
        "--tau": (POSITIVE, REALS, 1), "--dtype": (_choice("float32", "float64"), ["float32", "float64", "f16"], 1),
        "--init": (_choice("sphere", "gaussian"), ["sphere", "gaussian", "ones"], 1),
    },
    "threshold": {
        "--k": (SIZE_K, INTS, "+"), "--m": (SIZE_M, INTS, 1), "--trials": (_int(1, 10**6), INTS, 1), "--steps": (STEPS, INTS, 1),
        "--rule": (_choice("paper", "autodiff", "infonce"), ["paper", "infonce", "sgd"], 1), "--tau": (POSITIVE, REALS, 1),
        "--seed": (SEED, INTS, 1), "--rtol": (_real(0, 1, low_open=True, high_open=True), REALS, 1),
    },
    "synthetic": {
        "--experiment": (_choice("table", "lr", "ablation"), ["table", "lr", "ablation", "nope"], 1),
        "--loss": (_choice("infonce", "dcl", "vicreg", "barlow_twins", "supcon"), ["infonce", "dcl", "simclr"], "+"),
        "--clop": (_choice("on", "off"), ["on", "off", "maybe"], "+"), "--seeds": (_int(1, 10**6), INTS, 1),
        "--lambda": (POSITIVE, REALS, 1), "--lr": (POSITIVE, REALS, "+"), "--steps": (STEPS, INTS, 1),
        "--prototypes": (_choice("orthonormal", "etf", "random"), ["etf", "hadamard"], 1),
        "--similarity": (_choice("cosine", "euclidean", "manhattan"), ["cosine", "dot"], 1),
        "--optimizer": (_choice("adam", "sgd"), ["adam", "sgd", "lbfgs"], 1),
    },
    "digits": {
        "--loss": (_choice("infonce", "supcon"), ["infonce", "supcon", "vicreg"], "+"), "--clop": (_choice("on", "off"), ["on", "x"], "+"),
        "--seeds": (_int(1, 10**6), INTS, 1), "--lambda": (POSITIVE, REALS, 1), "--lr": (POSITIVE, REALS, 1),
        "--steps": (STEPS, INTS, 1), "--prototypes": (_choice("orthonormal", "etf", "random"), ["random", "x"], 1),
    },
    "figures": {"--format": (_choice("png", "pdf", "svg"), ["png", "svg", "jpg"], "+"), "--jobs": (_int(1, 1000), INTS, 1)},
    "report": {"--only": (lambda text: text in ("section3_2.optima", "lemma2"), ["section3_2.optima", "lemma2", "no.such"], "+")},
}


@st.composite
def argument_lists(draw, command):
    """``(argv, has_bad_value)`` for ``command``: random flags of its own with values from their pools."""
    spec = SPECS[command]
    argv, bad = [command], False
    for flag in draw(st.lists(st.sampled_from(sorted(spec)), max_size=5)):
        accepts, pool, nargs = spec[flag]
        values = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=1 if nargs == 1 else 3))
        argv += [flag, *values]
        bad |= not all(accepts(v) for v in values)
    return argv, bad


@contextlib.contextmanager
def stubbed_work():
    """Replace every command's library entry point by one that raises :class:`Reached` (for the report,
    the claim runners behind :func:`claims.build_report`, which validates ``--only`` itself)."""
    import claims.report
    import figures.generate
    import simulations
    import simulations.training.digits
    import simulations.training.synthetic
    import theory

    def stop(*args, **kwargs):
        raise Reached

    targets = [(simulations, "simulate"), (simulations, "collapse_thresholds"), (figures.generate, "regenerate"),
               (claims.report, "run_claim"),
               (simulations.training.synthetic, "synthetic_table"), (simulations.training.synthetic, "lr_sweep"),
               (simulations.training.synthetic, "ablation_table"), (simulations.training.digits, "digits_table"), (theory, "errata")]
    with contextlib.ExitStack() as stack:
        for module, name in targets:
            stack.enter_context(mock.patch.object(module, name, stop))
        yield


def _main(argv) -> int | str:
    try:
        return cli.main(argv)
    except SystemExit as exc:  # argparse
        return exc.code
    except Reached:
        return "reached"


@pytest.mark.parametrize("command", sorted(SPECS))
def test_fuzz_in_process_bad_values_exit_2_before_work(command, tmp_path_factory):
    out = tmp_path_factory.mktemp("fuzz")

    @settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(argument_lists(command), st.sampled_from(["none", "good", "file"]))
    def check(case, out_kind):
        argv, bad = case
        if command != "bound":  # bound has no --out
            if out_kind == "good":
                argv += ["--out", str(out / "o")]
            elif out_kind == "file":
                argv += ["--out", str(Path(__file__) / "sub")]
                bad = True
        with stubbed_work(), contextlib.redirect_stdout(open(os.devnull, "w")), contextlib.redirect_stderr(open(os.devnull, "w")):
            status = _main(argv)
        if bad:
            assert status == 2, (argv, status)
        else:
            assert status in (0, 2, "reached"), (argv, status)
        assert not (out / "o").exists()

    check()


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(SPECS))
def test_fuzz_console_script_bad_values_one_line_nothing_written(command, tmp_path_factory):
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    @given(argument_lists(command).filter(lambda case: case[1]))
    def check(case):
        argv, _ = case
        work = tmp_path_factory.mktemp("work")
        args = argv + ([] if command == "bound" else ["--out", str(work / "out")])
        proc = subprocess.run([*COMMAND, *args], cwd=work, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert list(work.iterdir()) == []

    check()
