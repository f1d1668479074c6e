"""``--clop-lambda`` of ``clop-verify bound``, ``simulate`` and ``threshold`` (theory.clop): the default 0
prints exactly what the commands printed without the flag; a positive lambda adds CLOP's fields."""
from __future__ import annotations

import json

import numpy as np
import pytest

from clop_verify.cli import main
from theory import clop
from theory.stability import clop_lambda_min


def _out(argv, capsys):
    assert main(argv) == 0
    return capsys.readouterr().out


def _strip_timings(doc):
    """Wall-clock fields differ between two identical runs; everything else must be equal."""
    for row in doc.get("results", []):
        row.pop("seconds"), row.pop("element_steps_per_second")
    return doc


def test_simulate_clop_lambda_zero_prints_todays_output(capsys):
    argv = ["simulate", "--k", "4", "--m", "8", "--lr", "0.5", "5.0", "--seeds", "0", "1", "--steps", "100", "--json"]
    assert _out(argv, capsys) == _out(argv + ["--clop-lambda", "0"], capsys)


def test_threshold_clop_lambda_zero_prints_todays_output(capsys):
    argv = ["threshold", "--k", "3", "--m", "5", "--trials", "1", "--steps", "60", "--rtol", "0.2", "--json"]
    plain = _strip_timings(json.loads(_out(argv, capsys)))
    zero = _strip_timings(json.loads(_out(argv + ["--clop-lambda", "0"], capsys)))
    assert plain == zero and "clop_lambda" not in zero


def test_bound_without_clop_flag_is_unchanged_and_with_it_adds_the_critical_lambda(capsys):
    plain = json.loads(_out(["bound", "--k", "3", "10", "--json"], capsys))
    assert set(plain) == {"bounds"}
    doc = json.loads(_out(["bound", "--k", "3", "10", "--clop-lambda", "0.3", "--eta", "6", "--json"], capsys))
    assert doc["bounds"] == plain["bounds"]
    for row in doc["clop"]:
        assert row["lambda_critical"] == pytest.approx(clop_lambda_min(6.0, row["k"]), rel=1e-14)
        assert row["collapse_can_persist"] == (0.3 < row["lambda_critical"])
        assert row["lambda_for_every_eta"] == pytest.approx(clop.clop_lambda_limit(row["k"]), rel=1e-14)
    assert [r["collapse_can_persist"] for r in doc["clop"]] == [False, True]  # lambda_c(6): 0.204 (k=3), 0.582 (k=10)


def test_bound_clop_for_gradient_rules_is_zero(capsys):
    doc = json.loads(_out(["bound", "--k", "10", "--rule", "autodiff", "--clop-lambda", "0.01", "--eta", "50",
                           "--json"], capsys))
    assert doc["clop"][0]["lambda_critical"] == 0 and not doc["clop"][0]["collapse_can_persist"]


@pytest.mark.parametrize("argv", [
    ["bound", "--k", "3", "--eta", "2"],  # --eta needs --clop-lambda
    ["bound", "--k", "3", "--clop-lambda", "-1"],
    ["simulate", "--k", "5", "--m", "4", "--lr", "1", "--clop-lambda", "0.5"],  # k > m: no orthonormal prototypes
    ["threshold", "--k", "3", "--clop-lambda", "nan"],
])
def test_bad_clop_input_is_one_line_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(argv))
    assert exc.value.code == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and ("clop" in err[0] or "--eta" in err[0]) and captured.out == ""


def test_simulate_with_clop_reports_the_common_component(capsys):
    k, eta = 3, 6.0  # lambda_c = 0.2036: 0.18 keeps a near-collapsed state, 0.25 escapes
    for lam, persists in [(0.18, True), (0.25, False)]:
        runs = json.loads(_out(["simulate", "--k", str(k), "--m", "8", "--lr", str(eta), "--steps", "1500",
                                "--clop-lambda", str(lam), "--json"], capsys))["runs"]
        assert runs[0]["collapsed"] is persists and runs[0]["clop_lambda"] == lam
        expected = clop.near_collapse_state(eta, k, lam)[2] if persists else 0.0
        assert np.isclose(runs[0]["outside_prototypes"], expected, atol=1e-3)


def test_memory_estimate_counts_the_prototypes():
    from simulations.collapse.runner import simulation_memory

    plain = simulation_memory(30, 100, 10, 1000, None)
    with_clop = simulation_memory(30, 100, 10, 1000, None, clop=True)
    # the state and the final arrays hold 2k columns with CLOP: more than twice the embeddings' bytes
    assert with_clop["embeddings"] > 2 * plain["embeddings"] and with_clop["records"] == plain["records"]
