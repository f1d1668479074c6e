"""Threshold search and the two CLI commands (every bad input: exit 2, one line, nothing written)."""
import json

import numpy as np
import pytest

import simulations
import theory
from clop_verify import cli
from simulations.collapse import threshold


def test_threshold_bracket_is_consistent_with_direct_runs():
    # k = 4, m = 7, 2 trials, 60 steps: the search of the next test (its reference path's programs) and
    # of results.experiments.collapse_threshold's doctest and tests/simulations/test_sim_outcomes.py
    # (the fast path's): shared compiled programs (issue 22), whatever the size.
    k = 4
    r = simulations.collapse_threshold(k, m=7, trials=2, steps=60, rtol=1e-2)
    lo, hi = r.bracket
    assert r.threshold == lo and hi - lo <= 1e-2 * hi
    # Re-running lo and hi directly with the same trial keys reproduces pass / fail.
    keys = threshold.trial_key_data(0, 2)
    for early_stop in (True, False):  # the fast path and the reference path agree
        n_col, n_nan, _ = threshold._evaluate(k, [lo, hi], keys, m=7, steps=60, rule="paper", tau=None,
                                              dtype="float64", early_stop=early_stop)
        assert n_col[0] == 0 and n_nan[0] == 0 and n_col[1] > 0
    assert r.evaluations[: len(threshold.NEUTRAL_GRID)] and r.monotone == (not r.passing_above)


def test_reference_path_grid_and_refinement_share_one_compiled_program():
    from simulations.collapse import runner

    r = simulations.collapse_threshold(4, m=7, trials=2, steps=60, rtol=1e-2, early_stop=False)
    before = runner.compile_count()
    r = simulations.collapse_threshold(4, m=7, trials=2, steps=60, rtol=1e-2, early_stop=False, seed=5)
    assert r.rounds >= 1  # the refinement stage ran after the 15-eta grid
    assert runner.compile_count() == before
    # the padded copies of the last grid eta are dropped: each grid eta is evaluated exactly once
    assert [e for e, _, _ in r.evaluations[: len(threshold.NEUTRAL_GRID)]] == list(threshold.NEUTRAL_GRID)


def test_neutral_grid_does_not_use_the_bound():
    grid = np.asarray(threshold.NEUTRAL_GRID)
    # Powers of sqrt 2 from 1/4 to 32, fixed in advance: it coincides with eta_max only by accident
    # (eta_max(3) = 4 = 2^2).
    np.testing.assert_allclose(grid[1:] / grid[:-1], np.sqrt(2))
    assert grid[0] == 0.25 and grid[-1] == 32.0


def test_threshold_search_runs_without_the_theory_formulas():
    # The search must not read the bound it is compared with: with every module of `theory` that holds
    # a formula unimportable it still runs. Only theory.definitions (rule names and the rule/tau check,
    # shared by every layer) stays importable.
    import subprocess
    import sys
    from pathlib import Path

    import theory

    formulas = sorted(f"theory.{p.stem}" for p in Path(theory.__file__).parent.glob("*.py")
                      if p.stem not in ("__init__", "definitions"))
    assert "theory.bounds" in formulas and "theory.stability" in formulas
    script = (
        f"import sys; sys.modules.update(dict.fromkeys({formulas!r}))\n"
        "import simulations\n"
        "r = simulations.collapse_threshold(4, m=7, trials=2, steps=60, rtol=1e-2)\n"
        "print(r.bracket[0] > 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "True", proc.stderr


@pytest.mark.slow
def test_threshold_matches_bound_in_paper_setting():
    # Figure 3 right of paper 001: the measured threshold (m = 100, 5 trials, 2000 steps) should lie
    # near eta_max(k). "Near": within 5% (the 1.05 x test above the bound already collapses).
    for r in simulations.collapse_thresholds([3, 5, 10, 30, 100]):
        assert abs(r.threshold / theory.eta_max(r.k) - 1) < 0.05


def _cli(argv, capsys):
    code = cli.main(argv)
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_simulate_cli_json_and_out(tmp_path, capsys):
    out = tmp_path / "run"
    code, stdout, _ = _cli(["simulate", "--k", "4", "--m", "6", "--lr", "0.5", "5.0", "--seeds", "0", "1",
                            "--steps", "100", "--record-every", "50", "--out", str(out), "--json"], capsys)
    assert code == 0
    runs = json.loads(stdout)["runs"]
    assert [(r["lr"], r["seed"]) for r in runs] == [(0.5, 0), (0.5, 1), (5.0, 0), (5.0, 1)]
    assert set(runs[0]) >= {"collapsed", "finite", "final_singular_values", "final_mean_norm", "pairwise_cosine"}
    assert sorted(p.name for p in out.iterdir()) == ["simulation.json", "simulation.npz"]
    meta = json.loads((out / "simulation.json").read_text())["metadata"]
    assert meta["parameters"]["k"] == 4 and "jax" in meta["versions"]
    assert np.load(out / "simulation.npz")["spectra"].shape == (2, 2, 3, 4)


def test_threshold_cli_json(capsys):
    code, stdout, _ = _cli(["threshold", "--k", "3", "--m", "4", "--trials", "1", "--steps", "50",
                            "--rtol", "0.1", "--json"], capsys)
    assert code == 0
    doc = json.loads(stdout)
    assert doc["rule"] == "paper" and doc["results"][0]["k"] == 3
    assert doc["results"][0]["eta_max"] == 4.0 and len(doc["results"][0]["bracket"]) == 2


SIMULATE_BAD = [
    ["--k", "1", "--lr", "1"], ["--k", "3", "--lr", "0"], ["--k", "3", "--lr", "-1"], ["--k", "3", "--lr", "nan"],
    ["--k", "3", "--lr", "inf"], ["--k", "3", "--lr", "x"], ["--k", "3", "--m", "0", "--lr", "1"],
    ["--k", "3", "--lr", "1", "--steps", "0"], ["--k", "3", "--lr", "1", "--rule", "sgd"],
    ["--k", "3", "--lr", "1", "--rule", "infonce"], ["--k", "3", "--lr", "1", "--rule", "infonce", "--tau", "0"],
    ["--k", "3", "--lr", "1", "--seeds", "-1"], ["--k", "3", "--lr", "1", "--record-every", "0"],
    ["--k", "3", "--lr", "1", "--steps", "5", "--record-every", "6"], ["--k", "3", "--lr", "1", "--dtype", "f16"],
    ["--k", "3", "--lr", "1", "--init", "ones"], ["--lr", "1"], ["--k", "3"],
]
THRESHOLD_BAD = [
    ["--k", "1"], ["--k", "3", "--m", "0"], ["--k", "3", "--steps", "0"], ["--k", "3", "--trials", "0"],
    ["--k", "3", "--rule", "sgd"], ["--k", "3", "--rule", "infonce"], ["--k", "3", "--rule", "infonce", "--tau", "-1"],
    ["--k", "3", "--rtol", "0"], ["--k", "3", "--rtol", "1"], ["--k", "3", "--rtol", "nan"], ["--k", "3", "--seed", "-1"],
    ["--k", "3", "5", "1"], [],
]


@pytest.mark.parametrize("command,args", [("simulate", a) for a in SIMULATE_BAD] + [("threshold", a) for a in THRESHOLD_BAD])
def test_cli_bad_input_exit_2_one_line_nothing_written(command, args, tmp_path, capsys):
    out = tmp_path / "out"
    try:
        code, stdout, stderr = _cli([command, *args, "--out", str(out)], capsys)
    except SystemExit as exc:  # argparse errors exit through the parser
        code, cap = exc.code, capsys.readouterr()
        stdout, stderr = cap.out, cap.err
    assert code == 2
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr
    assert not out.exists()


def test_cli_out_pointing_at_a_file_is_rejected(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    code, _, stderr = _cli(["simulate", "--k", "3", "--lr", "1", "--out", str(f)], capsys)
    assert code == 2 and "--out" in stderr and f.read_text() == "x"


@pytest.mark.parametrize("args,flag", [(["--lr", "-1"], "argument --lr:"), (["--lr", "-inf"], "argument --lr:"),
                                       (["--lr", "1", "--record-every", "0"], "argument --record-every:"),
                                       (["--lr", "1", "--steps", "5", "--record-every", "6"], "--record-every")])
def test_cli_error_names_the_flag_the_user_typed(args, flag, capsys):
    try:
        code, _, stderr = _cli(["simulate", "--k", "3", *args], capsys)
    except SystemExit as exc:  # argparse rejects through the parser
        code, stderr = exc.code, capsys.readouterr().err
    assert code == 2 and stderr.startswith(f"clop-verify simulate: error: {flag} must be")
