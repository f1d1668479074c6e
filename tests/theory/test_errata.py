"""The printed claims parse, and the errata report what the derivation implies."""
import json

import pytest
import sympy as sp

from clop_verify.cli import main
import theory
from theory.comparison import errata, errata_as_dicts
from theory.printed import PRINTED_CLAIMS

SYMS = {"k": sp.Symbol("k"), "eta": sp.Symbol("eta"), "epsilon": sp.Symbol("epsilon")}


def test_printed_claims_parse_back_with_sympify():
    for claim in PRINTED_CLAIMS:
        parsed = sp.sympify(str(claim.expression), locals=SYMS)
        assert parsed == claim.expression, claim.key


def test_every_entry_parses_and_status_matches_difference():
    for e in errata_as_dicts():
        for field in ("printed", "derived", "difference"):
            sp.sympify(e[field], locals=SYMS)
        diff = sp.sympify(e["difference"], locals=SYMS)
        if e["status"] == "agrees":
            assert diff == 0
        else:
            assert diff != 0


def _status(key, compared_with="derivation"):
    (entry,) = [e for e in errata() if e.key == key and e.compared_with == compared_with]
    return entry


def test_findings_of_the_errata():
    # Right in the paper: the moments, the unsimplified expansion, the mean shift, the O(1) limit.
    for key in ("appD_eq6", "appD_eq7", "appD_norm_unsimplified", "appD_mean_shift", "appD_asymptotic"):
        assert _status(key).status == "agrees", key
    # Wrong: the simplification slip and everything downstream of it.
    for key in ("appD_norm_simplified", "theorem1_eq2", "appD_linear", "appD_fraction", "appD_polynomial"):
        assert _status(key).status == "differs", key
    # Where it enters, and the second slip from the fraction to the cubic ratio.
    assert _status("appD_norm_simplified", "paper: appD_norm_unsimplified").status == "differs"
    assert _status("appD_linear", "paper: theorem1_eq2").status == "agrees"
    assert _status("appD_fraction", "paper: appD_linear").status == "agrees"
    assert _status("appD_polynomial", "paper: appD_fraction").status == "differs"
    e = _status("sec31_value_k30")
    assert e.status == "differs"
    assert e.example["derived"] == pytest.approx(58 / 28)


def test_numeric_examples_are_the_expressions_evaluated():
    e = _status("appD_norm_simplified")
    # printed at k = 3, eta = 1: 1 + 1/2 - 2/3 - 2/6 + 3/4 = 1.25; derived 1 + 1/2 = 1.5
    assert e.example["printed"] == pytest.approx(1.25)
    assert e.example["derived"] == pytest.approx(1.5)
    e = _status("appD_polynomial")
    assert e.example["printed"] == pytest.approx(22 / 10)  # (54-45+15-2)/(27-27+12-2)
    assert e.example["derived"] == pytest.approx(4.0)


def test_cli_errata_json_matches_api(capsys):
    assert main(["errata", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["entries"] == json.loads(json.dumps(errata_as_dicts()))
    assert theory.errata() == errata_as_dicts()
    assert {"location", "quantity", "status", "printed", "derived", "difference", "example"} <= set(out["entries"][0])


def test_cli_bound_json_matches_api(capsys):
    import theory

    assert main(["bound", "--k", "3", "10", "30", "--eps", "0", "0.1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["bounds"]) == 6
    for row in out["bounds"]:
        assert row["eta_max"] == theory.eta_max(row["k"], row["eps"])
        assert row["paper_eta_max"] == theory.paper_eta_max(row["k"])


def test_cli_bound_table(capsys):
    assert main(["bound", "--k", "30"]) == 0
    out = capsys.readouterr().out
    assert "2.071429" in out and "2.033254" in out


@pytest.mark.parametrize(
    "argv",
    [["bound", "--k", "2"], ["bound", "--k", "3", "2"], ["bound", "--k", "3.5"], ["bound", "--k", "3", "--eps", "-1"],
     ["bound", "--k", "3", "--eps", "nan"], ["bound"], ["nonsense"], ["errata", "--bogus"]],
)
def test_cli_bad_input_one_line_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        code = main(argv)
        raise SystemExit(code)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "error" in err
