"""The claims that had no verdict (issue 19, item 8): the decision rule, the geometry measures, the proof
reading and the not-tested entries, on constructed evidence and at quick size."""
from __future__ import annotations

import numpy as np
import pytest

from claims.coverage import (
    _directions,
    class_direction_orthogonality,
    hyperplane_readings,
    proof_steps,
    sign_decision,
)
from claims.registry import REGISTRY, VERDICTS, Context, run_claim


def _rows(effect, n=6, sd=0.01, seed=0, primary=True, direction=1):
    rng = np.random.default_rng(seed)
    base = 0.8 + 0.05 * rng.standard_normal(n)
    return {"reading": f"e={effect}", "primary": primary, "without": base.tolist(),
            "with": (base + effect + sd * rng.standard_normal(n)).tolist(), "direction": direction}


def test_not_tested_is_a_verdict_and_the_image_claims_carry_it():
    assert "not tested" in VERDICTS
    for cid in ("notested.cifar100", "notested.tiny_imagenet", "notested.imagenet"):
        entry = run_claim(REGISTRY[cid], Context(quick=True))
        assert entry["verdict"] == "not tested" and entry["kind"] == "paper" and entry["evidence"]["quote"]


def test_sign_decision_confirms_a_clear_effect_and_not_its_absence():
    assert sign_decision([_rows(0.05)])[0] == "confirmed"
    # no effect: the interval straddles 0 -> inconclusive (failure to reject is not confirmation)
    verdict, summary = sign_decision([_rows(0.0, sd=0.02)])
    assert verdict in ("inconclusive", "not reproduced") and summary["showing_effect"] == []
    # the opposite direction with confidence -> not reproduced
    assert sign_decision([_rows(-0.05)])[0] == "not reproduced"


def test_sign_decision_reads_a_printed_decrease():
    # direction -1: the printed effect is a fall; a clear fall confirms, a clear rise does not
    assert sign_decision([_rows(-0.05, direction=-1)])[0] == "confirmed"
    assert sign_decision([_rows(+0.05, direction=-1)])[0] == "not reproduced"


def test_holm_makes_many_sensitivity_readings_harder_to_pass_and_they_never_confirm_alone():
    # a weak primary effect significant alone loses significance among 20 readings tried
    base = [0.80, 0.82, 0.78, 0.81, 0.79]
    d = [0.01, 0.02, 0.0, 0.015, 0.005]  # mean 0.01, sd 0.0079: t = 2.83 on 4 df, one-sided p = 0.024
    weak = {"reading": "weak", "primary": True, "without": base, "with": [b + x for b, x in zip(base, d)]}
    alone = sign_decision([dict(weak)])
    crowd = sign_decision([dict(weak)] + [_rows(0.0, sd=0.02, seed=s, primary=False) for s in range(19)])
    assert alone[0] == "confirmed" and crowd[0] != "confirmed"
    # a strong sensitivity reading without a primary effect does not confirm
    assert sign_decision([_rows(-0.05), _rows(0.05, primary=False, seed=1)])[0] == "inconclusive"


def test_no_true_effect_rarely_confirms():
    # property over simulated seeds: with no effect, a one-primary claim with 5 readings at n = 5
    # confirms at most about 5 % of the time (one-sided test at 5 %, Holm over the readings)
    confirmed = 0
    for s in range(200):
        rows = [_rows(0.0, n=5, sd=0.02, seed=1000 * s + i, primary=(i == 0)) for i in range(5)]
        confirmed += sign_decision(rows)[0] == "confirmed"
    assert confirmed <= 0.05 * 200 + 5  # 5 % plus a binomial margin (sd of 200 draws at p = 0.05 is 3.1)


def test_class_direction_orthogonality_of_etf_and_orthonormal_lines():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 50)
    t = rng.choice([-1.0, 1.0], size=(150, 1))
    for kind, expected in (("orthonormal", 0.0), ("etf", 0.5)):  # |cos| between ETF directions is 1/(k-1)
        z = t * _directions(kind, 3)[y]
        assert class_direction_orthogonality(z, y) == pytest.approx(expected, abs=1e-12)


def test_hyperplane_readings_pair_the_two_geometries():
    rows = hyperplane_readings(3, ks=(3,), sigmas=(0.05,), per_class=60)
    assert len(rows) == 4 and all(len(r["etf"]) == len(r["orthonormal"]) == 3 for r in rows)
    by = {(r["reading"]["classes"], r["reading"]["classifier"]): r for r in rows}
    # at tiny noise point-like classes are separable in both geometries: both classifiers near 100 %
    assert all(min(by[("point-like", c)]["etf"] + by[("point-like", c)]["orthonormal"]) > 0.95
               for c in ("5-NN", "linear probe"))
    # a line through the origin (t = +-1) is not linearly separable from the others: the probe drops
    line = by[("line-like", "linear probe")]
    assert max(line["etf"] + line["orthonormal"]) < 0.9


def test_proof_steps_name_the_gaps_and_the_toolkit_edge():
    steps = proof_steps(k=10, m=50, trials=20)
    assert [s["status"] for s in steps] == ["invalid", "valid", "incomplete", "incomplete"]
    jensen = steps[1]["witness"]
    assert jensen["mean_norm"] <= jensen["root_mean_square"]  # Jensen, on the sample itself
    # the norm-by-norm reading of the vector inequality fails for a sizeable share of points
    assert steps[2]["witness"]["fraction_of_points_with_norm_above_B"] > 0.1
    for e in steps[3]["witness"]["edge"]:
        assert e["spread_factor_at_edge"] == pytest.approx(1.0, abs=1e-9)
        assert e["collapse_factor_at_edge"] == pytest.approx(1.0, abs=1e-9)


def test_new_claims_have_kinds_and_quotes():
    from claims import claim_ids
    from claims.quotes import QUOTES

    ids = set(claim_ids())
    new = {"section3_1.network_collapse", "section3_2.hyperplane_classifier", "section3_2.cosine_collapse",
           "table5.more_orthogonal", "table5.more_evenly_spread", "batch_size.robustness", "ablation.lambda",
           "ablation.similarity", "theorem1.proof", "notested.cifar100", "notested.tiny_imagenet",
           "notested.imagenet"}
    assert new <= ids
    assert all(REGISTRY[i].kind == "paper" and QUOTES.get(i) for i in new)
    # every rule quoted into the report states the sign rule in full, not a placeholder
    assert all("{SIGN_RULE}" not in REGISTRY[i].rule for i in new)


@pytest.mark.slow
def test_digits_fair_baseline_is_paired_with_the_digits_table_and_compiles_once():
    # Same program, same trial keys, same two-point layout: the InfoNCE and InfoNCE + CLOP arms are the
    # digits table's runs, seed for seed, and the ETF / random / SupCon arms add no compilation.
    from results import experiments
    from simulations.training import digits as D, driver

    cfg = D.DigitsConfig(**experiments.parameters("digits", quick=True)["config"])
    table = D.digits_table(D.DIGITS_LOSSES, (False, True), 2, cfg)
    fair = D.digits_fair_baseline(2, cfg)
    rows = {(r["loss"], r["clop"]): r for r in table["results"]}
    assert fair["arms"]["infonce"]["knn"] == pytest.approx(rows[("infonce", False)]["accuracies"], abs=0)
    assert fair["arms"]["infonce+clop"]["knn"] == pytest.approx(rows[("infonce", True)]["accuracies"], abs=0)
    assert fair["arms"]["supcon"]["knn"] == pytest.approx(rows[("supcon", False)]["accuracies"], abs=0)
    assert driver.grid_program(D.DIGITS, D.DIGITS_LOSSES, cfg, 2)._cache_size() == 1
    with pytest.raises(ValueError, match="arms must be among"):
        D.digits_fair_baseline(2, cfg, arms=("nope",))
