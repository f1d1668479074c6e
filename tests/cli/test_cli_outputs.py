"""Where ``clop-verify`` writes and what its tables say (issue 11, items 3 and 8; issue 23).

* ``--quick`` and partial runs (a subset of figures, ``report --only``) never write where the full
  results live unless ``--out`` says so.
* A run that became non-finite is printed as such, neither collapsed nor not collapsed.
* The threshold table says when nothing collapsed up to the end of the search grid.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import claims
import figures.generate
import simulations
import clop_verify.outputs
from clop_verify import cli
from results.settings import default_out


@pytest.mark.parametrize("argv, expected", [
    (["figures", "fig3_spectra", "--quick"], default_out("figures/out/quick")),
    (["figures", "fig3_spectra"], default_out("figures/out/partial")),  # a subset of the figures
    (["figures", "fig3_spectra", "fig3_spectra"], default_out("figures/out/partial")),
    (["figures"], default_out("figures/out")),  # every figure: the full command
    (["figures", *figures.FIGURES], default_out("figures/out")),
    (["figures", "--quick"], default_out("figures/out/quick")),
    (["figures", "fig3_spectra", "--quick", "--out", "figures/out"], Path("figures/out")),  # asked explicitly
])
def test_figures_quick_and_partial_default_to_their_own_folders(argv, expected, tmp_path, monkeypatch):
    # The defaults are folders of the checkout, not of the current folder (here an empty tmp_path); the
    # clean-tree check has its own tests (test_cli_partial_runs.py), so a developer's edits do not fail this one.
    seen = {}
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(clop_verify.outputs, "check_clean_for", lambda out, flag="--out": None)
    monkeypatch.setattr(figures.generate, "regenerate", lambda names, out, **kw: seen.update(out=Path(out)) or {})
    cli.main(argv)
    assert seen["out"] == expected


@pytest.mark.parametrize("argv, expected", [
    (["report", "--quick"], default_out("report/quick")),
    (["report"], default_out("report")),
    (["report", "--only", "lemma2"], default_out("report/partial")),
    (["report", "--only", "lemma2", "--quick"], default_out("report/quick")),
    (["report", "--quick", "--out", "report"], Path("report")),
    (["report", "--only", "lemma2", "--out", "elsewhere"], Path("elsewhere")),
])
def test_report_quick_and_partial_default_to_their_own_folders(argv, expected, tmp_path, monkeypatch):
    seen = {}
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(clop_verify.outputs, "check_clean_for", lambda out, flag="--out": None)
    monkeypatch.setattr(claims, "build_report", lambda quick, out_dir, only: {"summary": {}, "seconds": 0.0})
    monkeypatch.setattr(claims, "write_report", lambda report, out: seen.update(out=Path(out)) or [])
    assert cli.main(argv) == 0
    assert seen["out"] == expected


def test_non_finite_run_is_neither_collapsed_nor_not(capsys):
    # float32 and eta = 1e30: the first step overflows, so the run is non-finite.
    assert cli.main(["simulate", "--k", "3", "--m", "4", "--lr", "1e30", "1", "--dtype", "float32", "--steps", "3"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert captured.err.startswith("simulate: 2 runs of 3 steps (k=3, m=4, rule paper) ...\nsimulate: done in ")
    assert "non-finite" in lines[1] and "collapsed" not in lines[1]
    assert "not collapsed" in lines[2]
    assert cli.main(["simulate", "--k", "3", "--m", "4", "--lr", "1e30", "1", "--dtype", "float32", "--steps", "3", "--json"]) == 0
    bad, good = json.loads(capsys.readouterr().out)["runs"]
    assert bad["finite"] is False and bad["collapsed"] is None
    assert good["finite"] is True and good["collapsed"] is False


def test_threshold_prints_plain_progress_lines_when_stderr_is_not_a_terminal(capsys):
    # capsys's stderr is not a terminal: one line per k instead of a tqdm bar (or nothing).
    assert cli.main(["threshold", "--k", "3", "--m", "4", "--trials", "1", "--steps", "50", "--rtol", "0.1", "--json"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("threshold: k=3 done (1/1, ") and "\r" not in err


def test_threshold_table_says_nothing_collapsed_up_to_the_grid_end(capsys, monkeypatch):
    result = simulations.ThresholdResult(
        k=3, threshold=32.0, bracket=(32.0, float("inf")), m=4, trials=1, steps=1, rule="paper", tau=None, seed=0,
        rtol=1e-3, monotone=True, passing_above=(), evaluations=(), rounds=0, seconds=0.0)
    monkeypatch.setattr(simulations, "collapse_thresholds", lambda ks, **kw: [result])
    assert cli.main(["threshold", "--k", "3", "--m", "4", "--trials", "1", "--steps", "1"]) == 0
    out = capsys.readouterr().out
    assert ">=32.0000" in out
    assert "k=3: no trial collapsed at any learning rate up to 32, the end of the search grid" in out
    assert cli.main(["threshold", "--k", "3", "--m", "4", "--trials", "1", "--steps", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["nothing_collapsed_up_to"] == 32.0


def test_threshold_bound_column_is_the_bound_of_the_rule_that_ran(capsys, monkeypatch):
    """The trial's reproducer: ``threshold --rule infonce --tau 0.5`` printed the paper rule's 2.25 at k = 10."""
    result = simulations.ThresholdResult(
        k=10, threshold=32.0, bracket=(32.0, float("inf")), m=10, trials=1, steps=1, rule="infonce", tau=0.5, seed=0,
        rtol=1e-3, monotone=True, passing_above=(), evaluations=(), rounds=0, seconds=0.0)
    monkeypatch.setattr(simulations, "collapse_thresholds", lambda ks, **kw: [result])
    assert cli.main(["bound", "--k", "10", "--rule", "infonce", "--tau", "0.5", "--json"]) == 0
    bound = json.loads(capsys.readouterr().out)["bounds"][0]["eta_max"]
    assert cli.main(["threshold", "--k", "10", "--m", "10", "--trials", "1", "--steps", "1", "--rule", "infonce",
                     "--tau", "0.5", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["results"][0]
    assert row["eta_max"] == pytest.approx(bound) and bound == pytest.approx(1.024, abs=1e-3)
