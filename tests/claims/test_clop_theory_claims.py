"""Claims decided by theory.clop (clop.prevents_collapse, clop.lambda_range): quick sizes, and the rules'
reading of the evidence (paper 001, Section 4, Eq. 4; Section 5, Table 1)."""
import pytest

from claims import build_report
from claims.quotes import QUOTES, find_in_paper
from claims.registry import REGISTRY, Context
from claims.report import CLAIM_MODULES, claim_ids


def test_claims_are_registered_and_quoted():
    ids = claim_ids()
    assert "claims.clop_theory" in CLAIM_MODULES
    for cid in ("clop.prevents_collapse", "clop.lambda_range"):
        assert cid in ids and cid in REGISTRY
        assert QUOTES[cid] and all(find_in_paper(q) for q in QUOTES[cid])
        assert "Verdict rule" not in REGISTRY[cid].rule and "fixed before running" in REGISTRY[cid].rule


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    return {c["id"]: c for c in build_report(quick=True, only=["clop.prevents_collapse", "clop.lambda_range"],
                                             progress=False)["claims"]}


def test_quick_prevents_collapse(quick_report):
    c = quick_report["clop.prevents_collapse"]
    # k = 3: lambda_inf = 2/sqrt(11) = 0.603 < 1, so lambda = 1 under Eq. 4's sum removes every near-collapsed
    # state; every simulated cell (both starts) agrees with the derived law, else the verdict would be inconclusive
    assert c["verdict"] == "confirmed", c["evidence"]["summary"]
    assert c["evidence"]["cells_disagreeing"] == []
    released = c["evidence"]["released_mean_scale"]["3"]
    assert not released["prevents_at_every_eta"]  # 1/3 < 0.603: the released mean leaves collapse above 2.21 eta*
    assert released["above_over_eta_star"] == pytest.approx(2.2103, abs=1e-3)


def test_quick_lambda_range(quick_report):
    c = quick_report["clop.lambda_range"]
    # class level: lambda = 0.1, 0.3, 0.5 < 0.603 (sum) and every lambda/3 < 0.603 (mean): neither scale keeps the
    # outcome, so every scale fails whatever the network shows and the verdict is not reproduced
    assert c["verdict"] == "not reproduced", c["evidence"]["summary"]
    cls = c["evidence"]["class_level"]
    assert cls["cells_disagreeing"] == [] and cls["holds"] == {"sum": False, "mean": False}
    assert set(c["evidence"]["network"]["stability"]) == {"sum", "mean"}
    assert "not_run" not in c["evidence"]


def _recompute_network(arms, lo=0.1, hi=1.5):
    """The network half's rule, recomputed from the per-seed collapse flags (independently of claims.clop_theory)."""
    from scipy import stats

    out = {}
    for scale in ("sum", "mean"):
        per_lam = []
        for lam in sorted({a["lambda"] for a in arms if lo <= a["lambda"] <= hi}):
            cis = []
            for a in arms:
                if a["lambda_scale"] == scale and a["lambda"] == lam:
                    ci = stats.binomtest(sum(a["collapsed"]), len(a["collapsed"])).proportion_ci(method="exact")
                    cis.append((ci.low, ci.high))
            per_lam.append("not stable" if any(l > 0.5 for l, _ in cis) else
                           "stable" if all(h < 0.5 for _, h in cis) else "inconclusive")
        out[scale] = ("not stable" if "not stable" in per_lam else
                      "stable" if all(v == "stable" for v in per_lam) else "inconclusive")
    return out


def test_lambda_range_verdict_is_recomputable_from_its_evidence(quick_report):
    c = quick_report["clop.lambda_range"]
    net, cls = c["evidence"]["network"], c["evidence"]["class_level"]
    status = _recompute_network(net["arms"])
    assert status == {s: net["stability"][s]["status"] for s in status}
    per_scale = {s: ("fails" if cls["holds"][s] is False or status[s] == "not stable" else
                     "holds" if cls["holds"][s] and status[s] == "stable" else "open") for s in status}
    verdict = ("confirmed" if "holds" in per_scale.values() else
               "not reproduced" if set(per_scale.values()) == {"fails"} else "inconclusive")
    assert verdict == c["verdict"] and per_scale == net["per_scale_combined"]
    # the arms' counts are the per-seed flags' sums
    assert all(a["collapsed_runs"] == sum(a["collapsed"]) and a["runs"] == len(a["collapsed"]) for a in net["arms"])


def _arms(counts, seeds=6, lrs=(0.1, 0.3, 1.0)):
    """Constructed ``clop_lambda`` evidence: ``counts[(scale, lambda)]`` collapsed seeds per learning rate."""
    return {"points": [{"tau": 0.1, "momentum": 0.9, "learning_rate": lr, "lambda": lam, "lambda_scale": scale,
                        "collapsed": [i < n for i in range(seeds)], "effective_ranks": [1.0 if i < n else 3.0
                                                                                    for i in range(seeds)]}
                       for (scale, lam), ns in counts.items() for lr, n in zip(lrs, ns)],
            "batch_size": 256, "label_fraction": 0.1}


def test_network_rule_on_constructed_evidence():
    from claims.clop_theory import combine_halves, network_link, network_rates, network_stability

    lams = (0.1, 0.3, 1.0, 3.0)
    # every arm 0/6 at every rate: both scales stable; with the class half holding under the sum -> confirmed
    calm = network_rates(_arms({(s, lam): (0, 0, 0) for s in ("sum", "mean") for lam in lams}))
    stab = network_stability(calm)
    assert {s: v["status"] for s, v in stab.items()} == {"sum": "stable", "mean": "stable"}
    assert combine_halves({"sum": True, "mean": False}, stab) == ("confirmed", {"sum": "holds", "mean": "fails"})
    assert network_link(calm)["lambda_order"]["status"] == "not resolved"  # all ties: nothing to order
    # one lambda in the range clearly collapsing (6/6 at one rate) under the sum: that scale is not stable
    counts = {(s, lam): (0, 0, 0) for s in ("sum", "mean") for lam in lams}
    counts[("sum", 0.3)] = (0, 0, 6)
    stab = network_stability(network_rates(_arms(counts)))
    assert stab["sum"]["status"] == "not stable" and stab["sum"]["per_lambda"]["0.3"]["status"] == "not stable"
    assert combine_halves({"sum": True, "mean": False}, stab)[0] == "not reproduced"
    # lambda = 3 lies outside Table 1's range: collapsing there does not decide stability
    counts = {(s, lam): (0, 0, 0) for s in ("sum", "mean") for lam in lams}
    counts[("mean", 3.0)] = (6, 6, 6)
    assert network_stability(network_rates(_arms(counts)))["mean"]["status"] == "stable"
    # 1/6 is neither stable (upper bound 0.64) nor clearly collapsing (lower bound 0.004): inconclusive
    counts[("mean", 0.1)] = (1, 0, 0)
    assert network_stability(network_rates(_arms(counts)))["mean"]["status"] == "inconclusive"


def test_network_link_counts_orders_on_constructed_evidence():
    from claims.clop_theory import network_link, network_rates

    # larger lambda collapses less at every rate, and the sum less than the mean: ordered both ways
    counts = {("sum", 0.1): (2, 4, 6), ("sum", 0.3): (1, 3, 5), ("sum", 1.0): (0, 2, 4), ("sum", 3.0): (0, 1, 3),
              ("mean", 0.1): (3, 5, 6), ("mean", 0.3): (2, 4, 6), ("mean", 1.0): (1, 3, 5), ("mean", 3.0): (0, 2, 4)}
    link = network_link(network_rates(_arms(counts)))
    assert link["lambda_order"]["agree"] == 16 and link["lambda_order"]["disagree"] == 0  # 18 pairs, 2 ties
    assert link["lambda_order"]["status"] == "ordered" and link["scale_order"]["status"] == "ordered"
    # the reverse: larger lambda collapses more
    rev = {(s, lam): tuple(6 - n for n in ns) for (s, lam), ns in counts.items()}
    assert network_link(network_rates(_arms(rev)))["lambda_order"]["status"] == "reversed"


def test_grid_is_shared_between_the_two_claims():
    from claims.clop_theory import clop_grid

    ctx = Context(quick=True)
    ctx.memo["clop-grid:True"] = {"sentinel": 1}
    assert clop_grid(ctx) == {"sentinel": 1}
