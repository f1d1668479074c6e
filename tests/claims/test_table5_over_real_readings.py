"""Table 5's claim over real (trained) quick readings, for one loss: the readings grid's and the
confirmatory grid's rows are what :func:`claims.clop_claims.claim_table5` reads.

``tests/claims/test_clop_claims_over_readings.py`` checks the verdict rule on constructed rows; the slow
``tests/clop/test_clop_experiments.py::test_claims_from_cache_have_computed_verdicts`` runs all four
losses. This runs the quick experiments' sizes (``results.experiments.parameters``) for DCL alone, two
compiled programs instead of eight.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from claims import build_report
from claims.registry import VERDICTS

LOSS, CLAIM = "dcl", "table5.dcl"


@pytest.fixture(scope="module")
def one_loss_results():
    """The quick ``readings`` and ``confirmatory`` experiments restricted to one loss (same seeds, same sizes)."""
    from results import experiments
    from simulations.training.readings import confirmatory_grid, readings_grid

    pilot = experiments.parameters("readings", quick=True)
    confirm = experiments.parameters("confirmatory", quick=True)
    return {"readings": readings_grid(pilot["seeds"], quick=True, losses=[LOSS]),
            "confirmatory": confirmatory_grid({LOSS: confirm["plan"][LOSS]}, confirm["seeds"], quick=True)}


def test_table5_claim_reads_the_real_quick_rows(one_loss_results, monkeypatch):
    from results import experiments

    asked = []

    def load(name, quick=False, out_dir=None):
        asked.append((name, quick, out_dir))
        return one_loss_results[name]

    monkeypatch.setattr(experiments, "load", load)
    report = build_report(quick=True, only=[CLAIM], progress=False)
    # the registry's check asks for the quick experiments in the default result cache
    assert sorted(set(asked)) == [("confirmatory", True, None), ("readings", True, None)]
    (c,) = report["claims"]
    assert c["id"] == CLAIM and c["verdict"] in VERDICTS and c["rule"] and c["source"]
    ev = c["evidence"]
    assert ev["quick"] is True and isinstance(ev["headline"], str) and ev["headline"]
    json.dumps(ev)  # strict JSON evidence
    seeds = one_loss_results["confirmatory"]["seeds"]
    primary = [r for r in ev["readings"] if r["primary"]]
    assert len(primary) == 2  # the preregistered reading under both lambda scales
    assert all(len(r["accuracies_with"]) == len(r["accuracies_without"]) == seeds for r in primary)
    for r in ev["readings"]:  # the paired mean, recomputed from the per-seed numbers
        assert abs(r["paired_mean"] - (np.mean(r["accuracies_with"]) - np.mean(r["accuracies_without"]))) < 1e-12
