"""Claims decided by theory.stability: theorem1.bifurcation, final.eta_range, final.temperature_* (quick sizes)."""
import numpy as np
import pytest

from claims import build_report
from claims.stability import derived_range, law_verdicts
from theory import stability as S


def test_derived_range_endpoints_have_the_tolerated_factor():
    # rho(eta)^2 = q exactly at both ends (limit m -> infinity), at finite k
    for k, tau, q in [(10, 0.5, 0.25), (30, 1.0, 0.5), (100, 2.0, 0.25)]:
        lo, hi = derived_range(k, tau, q)
        assert np.allclose(np.asarray(S.spread_mean_factor([lo, hi], k, "infonce", tau)) ** 2, q, rtol=1e-10)
        assert lo < S.eta_best(k, "infonce", tau) < hi


def test_law_verdicts_reads_the_rows():
    rows = [{"measured": 0.5, "printed_004": 0.0, "se": 0.01, "measured_large": 0.5, "derived": 0.505, "se_large": 0.001}]
    argmin = [{"argmin_measured_on_0_2tau": 1.0, "tau_over_2": 0.5, "argmin_measured_large_on_0_2best": 0.55,
               "eta_best_derived": 0.547}]
    v = law_verdicts({"grid": rows, "argmin": argmin})
    assert v == {"a_printed": False, "b_printed": False, "a_derived": True, "b_derived": True}


@pytest.mark.slow
@pytest.mark.parametrize("claim_id", ["theorem1.bifurcation", "final.eta_range", "final.temperature_factor",
                                      "final.temperature_optimum", "final.temperature_collapse"])
def test_quick_claims_run(claim_id, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    c = build_report(quick=True, only=[claim_id], progress=False)["claims"][0]
    # 004 leaves sigma^2 and the temperature step open: those claims are never refuted
    allowed = {"confirmed", "corrected", "not reproduced", "inconclusive"}
    assert c["verdict"] in (allowed | {"refuted"} if claim_id == "theorem1.bifurcation" else allowed), c["evidence"]
    if claim_id == "theorem1.bifurcation":
        assert c["verdict"] == "confirmed"  # k = 3, edge 4: 600 steps at 4 x (1 -+ 0.05) settle either way


@pytest.mark.slow
def test_finite_step_gap_shrinks_quick():
    from claims.registry import Context
    from claims.stability import finite_step_gaps

    rows = finite_step_gaps(Context(quick=True))["rows"]
    gaps = {r["steps"]: r["gap"] for r in rows}
    assert 0 < gaps[400] < gaps[100]  # the measured threshold lies above the edge and approaches it


def test_predicted_gap_is_one_over_steps():
    from claims.stability import predicted_gap

    assert predicted_gap(10, 4000, 8.0) == pytest.approx(predicted_gap(10, 1000, 8.0) / 4)
