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
    # lambda = 0.1, 0.3, 0.5 < 0.603 (sum) and every lambda/3 < 0.603 (mean): neither scale keeps the outcome
    assert c["verdict"] == "not reproduced", c["evidence"]["summary"]
    assert c["evidence"]["cells_disagreeing"] == []
    assert "network" in c["evidence"]["not_run"]


def test_grid_is_shared_between_the_two_claims():
    from claims.clop_theory import clop_grid

    ctx = Context(quick=True)
    ctx.memo["clop-grid:True"] = {"sentinel": 1}
    assert clop_grid(ctx) == {"sentinel": 1}
