"""The CLOP claims computed over readings, on constructed experiment results (no training runs)."""
from __future__ import annotations

import numpy as np
import pytest

from claims import clop_claims, statistics
from claims.registry import VERDICTS


LOSSES = ("infonce", "dcl", "vicreg", "barlow_twins")


def _row(loss, reading, without, with_, targeted=False, n=5, rank=(2.0, 3.0)):
    """A pilot row: per-seed accuracies with a fixed per-seed wobble shared by both arms (a paired design)."""
    wobble = [0.01 * ((i % 3) - 1) for i in range(n)]
    return {"loss": loss, "reading": reading, "accuracies_without": [without + w for w in wobble],
            "accuracies_with": [with_ + w + 0.001 * (i % 2) for i, w in enumerate(wobble)],
            "effective_rank_without": rank[0], "effective_rank_with": rank[1], "targeted": targeted}


def _readings(extra_rows=()):
    rows = [_row(loss, {}, 0.995, 0.993) for loss in LOSSES]
    rows += [_row(loss, {"tau": 0.1}, 0.99, 0.99) for loss in LOSSES]
    rows += list(extra_rows)
    protos = [{"reading": {}, "prototypes": k, "accuracies": [0.99] * 5, "accuracy": 0.99, "effective_rank": 3.0}
              for k in ("orthonormal", "etf", "random")]
    return {"rows": rows, "prototype_rows": protos, "losses": list(LOSSES)}


@pytest.fixture
def fake_load(monkeypatch):
    data = {}

    def load(name, quick=False, out_dir=None):
        return data[name]

    from results import experiments

    monkeypatch.setattr(experiments, "load", load)
    return data


def _confirmatory(gain_by_scale, lr_ranks=None, n=20):
    """Confirmatory rows for every point of the preregistered plan: ``gain_by_scale`` added to a 0.7 baseline."""
    from results.experiments import confirmatory_plan

    rows = []
    for loss, points in confirmatory_plan().items():
        for p in points:
            wobble = [0.02 * ((i % 5) - 2) for i in range(n)]
            gain = 0.0 if p["lambda"] == 0 else gain_by_scale[p.get("lambda_scale", "sum")]
            if p.get("prototypes") == "etf":
                gain = 0.0
            noise = [0.004 * ((i * 7) % 3 - 1) for i in range(n)]
            ranks = [2.8] * n
            if lr_ranks and "learning_rate" in p and "prototypes" not in p and "momentum" in p:
                ranks = lr_ranks(p)
            rows.append({"loss": loss, "point": p, "accuracies": [0.7 + gain + w + e for w, e in zip(wobble, noise)],
                         "effective_ranks": ranks})
    return {"rows": rows, "seeds": n}


def test_table5_is_decided_by_the_preregistered_primary_under_the_authors_scale(fake_load):
    fake_load["readings"] = _readings()
    # The printed InfoNCE gain (31 points) under the mean scale, nothing under the sum scale.
    fake_load["confirmatory"] = _confirmatory({"sum": 0.0, "mean": 0.30})
    entry = clop_claims.claim_table5("infonce")
    ev = entry["evidence"]
    assert entry["verdict"] == "confirmed" and ev["verdict_by_scale"] == {"sum": "not reproduced", "mean": "confirmed"}
    assert ev["primary_scale"] == "mean" and ev["primary"]["reading"] == {"positions": "uniform", "lambda_scale": "mean"}
    assert ev["primary"]["n"] == 20 and len(ev["preregistration_sha256"]) == 64
    needed = {"reading", "accuracies_without", "accuracies_with", "paired_mean", "ci95", "p_one_sided", "p_holm",
              "primary", "exploratory", "degenerate"}
    assert all(needed <= set(r) for r in ev["readings"])
    # Recomputable: the primary's paired mean from its per-seed numbers.
    row = next(r for r in ev["readings"] if r["reading"] == ev["primary"]["reading"])
    assert row["paired_mean"] == pytest.approx(np.mean(row["accuracies_with"]) - np.mean(row["accuracies_without"]))
    assert statistics.PAIRED_RULE in entry["rule"] and ev["quote"] and entry["verdict"] in VERDICTS


def test_table5_counts_a_run_once_and_a_degenerate_reading_as_failed(fake_load):
    at_chance = _row("vicreg", {"optimizer": "sgd", "learning_rate": 10.0}, 0.335, 0.335, rank=(1.0, 1.0))
    fake_load["readings"] = _readings([at_chance])
    fake_load["confirmatory"] = _confirmatory({"sum": 0.0, "mean": 0.0})
    ev = clop_claims.claim_table5("vicreg")["evidence"]
    # {} and {"tau": 0.1} are one run for VICReg; the degenerate reading is reported, not tried;
    # the primary reading twice (two lambda scales).
    assert [r["reading"] for r in ev["readings"]].count({}) == 1
    assert ev["degenerate_readings"] == [{"optimizer": "sgd", "learning_rate": 10.0}]
    assert ev["readings_tried"] == 3
    # InfoNCE's temperature is a different run.
    fake_load["confirmatory"] = _confirmatory({"sum": 0.0, "mean": 0.0})
    assert clop_claims.claim_table5("infonce")["evidence"]["readings_tried"] == 4


def _curves(infonce_collapse_from, clop_collapse_from, lrs=(0.1, 1.0, 3.0, 10.0, 30.0)):
    curves = []
    for tau in (0.1, 0.5, 1.0):
        for clop, start in ((False, infonce_collapse_from), (True, clop_collapse_from)):
            pts = [{"learning_rate": lr, "accuracy": 0.9, "effective_rank_mean": 1.1 if start and lr >= start else 2.8,
                    "collapsed": bool(start and lr >= start), "collapsed_runs": 3 if start and lr >= start else 0}
                   for lr in lrs]
            curves.append({"tau": tau, "momentum": 0.9, "batch_norm": True, "clop": clop, "points": pts,
                           "threshold": next((p["learning_rate"] for p in pts if p["collapsed"]), None)})
    return {"data": "synthetic", "learning_rates": list(lrs), "curves": curves, "seeds": 3, "steps": 300,
            "collapse_rank": 1.5}


def _lr_ranks(infonce_from, clop_from_by_scale):
    """Effective ranks per seed for the learning-rate points: 1.1 (collapsed) from a rate on, else 2.8."""
    def ranks(p):
        start = infonce_from if p["lambda"] == 0 else clop_from_by_scale[p.get("lambda_scale", "sum")]
        return [1.1 if start is not None and p["learning_rate"] >= start else 2.8] * 20
    return ranks


def test_the_learning_rate_sentence_gets_one_verdict_per_scale(fake_load):
    fake_load["network_lr"] = _curves(None, None)
    fake_load["network_lr_digits"] = {**_curves(None, None), "data": "digits"}
    # InfoNCE collapses from 3 (20/20 at 10, 0/20 at 1); CLOP holds under the sum, collapses from 3 under the mean.
    fake_load["confirmatory"] = _confirmatory({"sum": 0.0, "mean": 0.0}, _lr_ranks(3.0, {"sum": None, "mean": 3.0}))
    entry = clop_claims.claim_lr_collapse()
    assert entry["evidence"]["verdict_by_scale"] == {"sum": "confirmed", "mean": "not reproduced"}
    assert entry["verdict"] == "not reproduced"
    # InfoNCE never collapses: the sentence fails at the primary.
    fake_load["confirmatory"] = _confirmatory({"sum": 0.0, "mean": 0.0}, _lr_ranks(None, {"sum": None, "mean": None}))
    assert clop_claims.claim_lr_collapse()["evidence"]["verdict_by_scale"]["sum"] == "not reproduced"
    # Three seeds cannot put a Clopper-Pearson interval off 1/2: the pilot curves never decide.
    fake_load["network_lr"] = _curves(3.0, None)
    entry = clop_claims.claim_lr_collapse()
    assert not any(s["holds"] for s in entry["evidence"]["sensitivity"])
    assert entry["evidence"]["verdict_by_scale"]["sum"] == "not reproduced"


def test_network_threshold_carries_over_only_when_every_tau_matches(fake_load):
    fake_load["network_lr_digits"] = {**_curves(None, None), "data": "digits"}
    # A threshold of 1.0 (interval (0.1, 1]) meets [tau/4, tau] for tau = 0.5 and 1 but not for 0.1.
    fake_load["network_lr"] = _curves(1.0, None)
    entry = clop_claims.claim_network_threshold()
    assert entry["verdict"] == "not reproduced"
    per_tau = entry["evidence"]["readings"][0]["per_tau"]
    assert [x["carries_over"] for x in per_tau] == [False, True, True]


def test_each_paired_claim_quotes_the_one_rule_in_its_verdict_rule():
    from claims.registry import verdict_rule

    for check in (clop_claims.claim_table5, clop_claims.claim_prototypes_orthonormal_vs_etf):
        assert statistics.PAIRED_RULE in verdict_rule(check)
