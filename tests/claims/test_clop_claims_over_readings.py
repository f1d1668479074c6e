"""The CLOP claims computed over readings, on constructed experiment results (no training runs)."""
from __future__ import annotations

import pytest

from claims import clop_claims
from claims.registry import VERDICTS


def _row(loss, reading, without, with_, se=0.002, targeted=False):
    return {"loss": loss, "reading": reading, "accuracy_without": without, "accuracy_with": with_,
            "gain": with_ - without, "gain_standard_error": se, "seeds": 5, "effective_rank_without": 2.0,
            "effective_rank_with": 3.0, "accuracies_without": [without] * 5, "accuracies_with": [with_] * 5,
            "targeted": targeted}


def _readings(extra_rows=()):
    rows = [_row(loss, {}, 0.995, 0.993) for loss in ("infonce", "dcl", "vicreg", "barlow_twins")]
    rows += [_row(loss, {"tau": 0.1}, 0.99, 0.99) for loss in ("infonce", "dcl", "vicreg", "barlow_twins")]
    rows += list(extra_rows)
    protos = [{"reading": {}, "prototypes": k, "accuracies": [0.99] * 5, "accuracy": 0.99, "effective_rank": 3.0}
              for k in ("orthonormal", "etf", "random")]
    return {"rows": rows, "prototype_rows": protos, "losses": ["infonce", "dcl", "vicreg", "barlow_twins"]}


@pytest.fixture
def fake_load(monkeypatch):
    data = {}

    def load(name, quick=False, out_dir=None):
        return data[name]

    from results import experiments

    monkeypatch.setattr(experiments, "load", load)
    return data


def test_table5_not_reproduced_when_no_reading_shows_the_printed_gain(fake_load):
    fake_load["readings"] = _readings()
    entry = clop_claims.claim_table5("infonce")
    assert entry["verdict"] == "not reproduced"
    ev = entry["evidence"]
    assert ev["readings_tried"] == 2 and ev["reproducing_readings"] == []
    assert {"reading", "accuracy_without", "accuracy_with", "gain", "gain_standard_error", "seeds",
            "effective_rank_without", "effective_rank_with"} <= set(ev["readings"][0])
    assert ev["quote"] and entry["verdict"] in VERDICTS


def test_table5_a_reproducing_reading_makes_it_confirmed_and_is_named(fake_load):
    # Printed InfoNCE: 68.91 % -> 99.89 %, gain 30.98 points; this reading: 70 % -> 99 % +- 2 points.
    hit = _row("infonce", {"optimizer": "sgd", "batch_norm": False}, 0.70, 0.99, se=0.02, targeted=True)
    fake_load["readings"] = _readings([hit])
    entry = clop_claims.claim_table5("infonce")
    assert entry["verdict"] == "confirmed"
    assert entry["evidence"]["reproducing_readings"] == ["optimizer=sgd, batch_norm=False"]
    assert entry["evidence"]["closest_reading"]["reading"] == {"optimizer": "sgd", "batch_norm": False}
    # The other losses are unaffected by an InfoNCE reading.
    assert clop_claims.claim_table5("dcl")["verdict"] == "not reproduced"


def _curves(infonce_collapse_from, clop_collapse_from, lrs=(0.1, 1.0, 3.0, 10.0, 30.0)):
    curves = []
    for tau in (0.1, 0.5, 1.0):
        for clop, start in ((False, infonce_collapse_from), (True, clop_collapse_from)):
            pts = [{"learning_rate": lr, "accuracy": 0.9, "effective_rank_mean": 1.1 if start and lr >= start else 2.8,
                    "collapsed": bool(start and lr >= start)} for lr in lrs]
            curves.append({"tau": tau, "momentum": 0.9, "batch_norm": True, "clop": clop, "points": pts,
                           "threshold": next((p["learning_rate"] for p in pts if p["collapsed"]), None)})
    return {"data": "synthetic", "learning_rates": list(lrs), "curves": curves, "seeds": 3, "steps": 300,
            "collapse_rank": 1.5}


def test_lr_claims_on_constructed_sweeps(fake_load):
    # InfoNCE never collapses: nothing for CLOP to prevent.
    fake_load["network_lr"] = _curves(None, None)
    fake_load["network_lr_digits"] = {**_curves(None, None), "data": "digits"}
    assert clop_claims.claim_lr_robustness()["verdict"] == "inconclusive"
    assert clop_claims.claim_lr_collapse()["verdict"] == "inconclusive"
    # InfoNCE collapses from 3 (within 'around 5'), CLOP never: both claims confirmed.
    fake_load["network_lr"] = _curves(3.0, None)
    assert clop_claims.claim_lr_robustness()["verdict"] == "confirmed"
    assert clop_claims.claim_lr_collapse()["verdict"] == "confirmed"
    # CLOP collapses wherever InfoNCE does: not reproduced.
    fake_load["network_lr"] = _curves(1.0, 1.0)
    assert clop_claims.claim_lr_robustness()["verdict"] == "not reproduced"
    assert clop_claims.claim_lr_collapse()["verdict"] == "not reproduced"


def test_network_threshold_carries_over_only_when_every_tau_matches(fake_load):
    fake_load["network_lr_digits"] = {**_curves(None, None), "data": "digits"}
    # A threshold of 1.0 (interval (0.1, 1]) meets [tau/4, tau] for tau = 0.5 and 1 but not for 0.1.
    fake_load["network_lr"] = _curves(1.0, None)
    entry = clop_claims.claim_network_threshold()
    assert entry["verdict"] == "not reproduced"
    per_tau = entry["evidence"]["readings"][0]["per_tau"]
    assert [x["carries_over"] for x in per_tau] == [False, True, True]
