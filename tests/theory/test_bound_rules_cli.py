"""``clop-verify bound --rule R [--tau T]``: per-rule fields, today's output for the default rule, bad input."""
import json

import pytest

from clop_verify.cli import main
from theory import stability as S


def test_default_rule_keeps_todays_fields_and_adds_the_stability_fields(capsys):
    assert main(["bound", "--k", "3", "30", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["bounds"]
    assert {"k", "eps", "eta_max", "paper_eta_max", "rule", "tau", "eta_best", "collapse_stable_above", "limit"} == set(rows[0])
    assert [r["collapse_stable_above"] for r in rows] == [4.0, pytest.approx(58 / 28)]
    assert all(r["rule"] == "paper" and r["tau"] is None and r["eta_best"] == 1.0 for r in rows)


@pytest.mark.parametrize("argv,rule,tau", [(["--rule", "autodiff"], "autodiff", None),
                                           (["--rule", "infonce", "--tau", "0.5"], "infonce", 0.5)])
def test_other_rules_match_the_calculators(argv, rule, tau, capsys):
    assert main(["bound", "--k", "3", "10", "30", "--eps", "0", "0.1", "--json", *argv]) == 0
    rows = json.loads(capsys.readouterr().out)["bounds"]
    assert len(rows) == 6
    for r in rows:
        assert r["rule"] == rule and r["tau"] == tau and r["collapse_stable_above"] is None
        assert r["eta_max"] == pytest.approx(S.eta_max(r["k"], r["eps"], rule, tau), rel=1e-14)
        assert r["eta_best"] == pytest.approx(S.eta_best(r["k"], rule, tau), rel=1e-14)


def test_infonce_table(capsys):
    assert main(["bound", "--rule", "infonce", "--tau", "1", "--k", "30"]) == 0
    out = capsys.readouterr().out
    assert "0.546" in out and "none" in out  # eta_best = (1 + e/29)/2


@pytest.mark.parametrize("argv", [["--rule", "paper", "--tau", "0.5"], ["--rule", "autodiff", "--tau", "1"],
                                  ["--rule", "infonce"], ["--rule", "infonce", "--tau", "0"],
                                  ["--rule", "infonce", "--tau", "inf"], ["--rule", "infonce", "--tau", "nan"],
                                  ["--rule", "bogus"], ["--rule", "infonce", "--tau", "0.5", "--k", "2"]])
def test_bad_rule_or_tau_one_line_exit_2(argv, capsys):
    argv = ["bound", *argv] + ([] if "--k" in argv else ["--k", "3"])
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(argv))
    assert exc.value.code == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1 and "error" in err and captured.out == ""
    assert ("--tau" in err) or ("--rule" in err) or ("--k" in err)
