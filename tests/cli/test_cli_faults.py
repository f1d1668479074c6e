"""Faults and bad input at the console script (issue 11): every case runs the installed ``clop-verify``
in a subprocess, from an empty working folder, and asserts the exit status, a single line on stderr
without a traceback, and that nothing was written (neither the working folder nor ``--out``).

Cases that need no JAX stop in argparse or in :mod:`clop_verify.validation` within ~0.3 s each; the
size-guard cases import JAX (~1.5 s each) and are kept few.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).with_name("clop-verify")
#: The console script as installed, or the module when the tree is not installed.
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "clop_verify"]
UNWRITABLE = "/proc/clop-verify-test/out"  # procfs: no file can be created there, even by root


def clop_verify(args, cwd, env=None, timeout=120):
    """Run ``clop-verify ARGS`` in ``cwd`` with this tree first on the path; return the CompletedProcess."""
    environment = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.run([*COMMAND, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout)


def assert_rejected(proc, needle, cwd):
    """Exit 2, one stderr line naming ``needle``, no traceback, nothing on stdout, nothing written in ``cwd``."""
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert needle in lines[0], lines[0]
    assert proc.stdout == ""
    assert list(Path(cwd).iterdir()) == []


# Item 1: output folders that cannot be written, checked before any work.
@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs procfs for a folder nobody can write")
@pytest.mark.parametrize("args", [
    ["simulate", "--k", "5", "--lr", "1"],
    ["threshold", "--k", "3"],
    ["figures", "fig3_spectra", "--quick"],
    ["report", "--quick", "--only", "section3_2.optima"],
    ["synthetic", "--seeds", "1", "--steps", "1"],
    ["digits", "--seeds", "1", "--steps", "1"],
])
def test_unwritable_out_is_refused_before_work(args, tmp_path):
    assert_rejected(clop_verify([*args, "--out", UNWRITABLE], tmp_path), "--out must be a folder that can be written", tmp_path)


SLOW = pytest.mark.slow  # the same check for the other commands: CI's slow step


@pytest.mark.parametrize("command", ["simulate --k 5 --lr 1", *(pytest.param(c, marks=SLOW) for c in (
    "threshold --k 3", "figures fig3_spectra", "synthetic --seeds 1", "digits --seeds 1", "report --quick"))])
def test_out_below_a_file_is_refused_and_the_file_kept(command, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    afile = tmp_path / "f"
    afile.write_text("x")
    proc = clop_verify([*command.split(), "--out", str(afile / "sub")], work)
    assert_rejected(proc, f"but {afile} is a file", work)
    assert afile.read_text() == "x"


# Items 5 and 8: non-finite and out-of-range values; "-inf" is a value, not a flag.
@pytest.mark.parametrize("args, needle", [
    (["synthetic", "--lr", "inf", "--loss", "infonce", "--seeds", "1", "--steps", "5"], "argument --lr: must be a finite real number > 0"),
    (["synthetic", "--lambda", "inf"], "argument --lambda: must be a finite real number > 0"),
    (["synthetic", "--lambda", "nan"], "argument --lambda: must be a finite real number > 0"),
    (["digits", "--lr", "inf"], "argument --lr: must be a finite real number > 0"),
    (["digits", "--lambda", "inf"], "argument --lambda: must be a finite real number > 0"),
    (["simulate", "--k", "3", "--lr", "-inf"], "argument --lr: must be a finite real number > 0; got '-inf'"),
    (["simulate", "--k", "3", "--lr", "1", "-1e-3"], "argument --lr: must be a finite real number > 0; got '-1e-3'"),
    (["simulate", "--k", "3", "--lr", "1", "--tau", "-nan", "--rule", "infonce"], "argument --tau"),
    (["simulate", "--k", "3", "--lr", "1", "--steps", "99999999999999999999"], "argument --steps: must be an integer in [1, 1000000000]"),
    (["simulate", "--k", "3", "--lr", "1", "--rule", "paper", "--tau", "0.5"], "--tau applies only to --rule infonce"),
    (["threshold", "--k", "3", "--tau", "0.5"], "--tau applies only to --rule infonce"),
    (["simulate", "--k", "3", "--lr", "1e39", "--dtype", "float32"], "--lr must be at most 3.4028e+38 with --dtype float32"),
    (["bound", "--k", "99999999999999999999999999"], "argument --k: must be an integer in [3, 9007199254740992]"),
    (["bound", "--k", "3", "--eps", "nan"], "argument --eps"),
    (["synthetic", "--seeds", "100000000"], "argument --seeds: must be an integer in [1, 1000000]"),
    (["threshold", "--k", "3", "--trials", "100000000"], "argument --trials: must be an integer in [1, 1000000]"),
])
def test_bad_values_are_one_line_exit_2(args, needle, tmp_path):
    assert_rejected(clop_verify([*args, "--out", str(tmp_path / "out")], tmp_path), needle, tmp_path)


# Item 6: sizes that cannot fit are refused with the size and the flag that reduces it, before allocation.
@pytest.mark.parametrize("args, needles", [
    (["simulate", "--k", "1000000", "--m", "1000000", "--lr", "1", "--steps", "1"], ["--k 1000000 x --m 1000000", "lower --k or --m"]),
    pytest.param(["simulate", "--k", "1000000000", "--m", "1", "--lr", "1"], ["--k 1000000000 x --m 1", "lower --k or --m"],
                 marks=SLOW),
    pytest.param(["simulate", "--k", "30", "--lr", "1", "--steps", "1000000000", "--record-every", "1"],
                 ["1000000001 records", "raise --record-every or lower --steps"], marks=SLOW),
    pytest.param(["threshold", "--k", "300", "--m", "100000", "--trials", "1000000"], ["--trials 1000000", "lower --trials"],
                 marks=SLOW),
    pytest.param(["synthetic", "--seeds", "1000000"], ["--seeds 1000000 x 2 settings", "lower --seeds"], marks=SLOW),
    pytest.param(["digits", "--seeds", "1000000"], ["--seeds 1000000 x 2 settings", "lower --seeds"], marks=SLOW),
])
def test_oversized_problems_are_refused_with_the_size(args, needles, tmp_path):
    proc = clop_verify([*args, "--out", str(tmp_path / "out")], tmp_path)
    for needle in ["need about", *needles]:
        assert_rejected(proc, needle, tmp_path)


# Item 8: the smaller cases.
def test_top_level_help_shows_percent_signs(tmp_path):
    proc = clop_verify(["--help"], tmp_path)
    assert proc.returncode == 0 and "(10% labels)" in proc.stdout and "option_strings" not in proc.stdout


def test_closed_pipe_ends_quietly_and_huge_eps_warns_nothing(tmp_path):
    # ~4000 JSON rows (>64 kB, more than a pipe buffer) into `head -1`, which exits at once: no
    # BrokenPipeError traceback. eps = 1e308 overflows (1+eps)^2: the bound is inf, with no RuntimeWarning
    # (PYTHONWARNINGS=error would turn one into a traceback).
    ks = " ".join(str(k) for k in range(3, 4000))
    shell = f"{' '.join(COMMAND)} bound --k {ks} --eps 1e308 --json 2>{tmp_path / 'err'} | head -1"
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONWARNINGS="error")
    proc = subprocess.run(["bash", "-c", shell], env=env, capture_output=True, text=True)
    assert proc.stdout == "{\n"
    assert (tmp_path / "err").read_text() == ""


@pytest.mark.slow
def test_synthetic_run_with_non_finite_loss_reports_no_accuracy(tmp_path):
    # Finite but huge: accepted, and SGD overflows the float32 weights within 5 steps.
    proc = clop_verify(["synthetic", "--loss", "infonce", "--clop", "off", "--seeds", "1", "--steps", "5",
                        "--lr", "1e30", "--optimizer", "sgd"], tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    row = proc.stdout.splitlines()[1]
    assert "none: loss non-finite in all 1 seeds" in row
