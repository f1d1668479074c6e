"""theory.stability: the per-rule derivations checked two ways (sympy to zero, numbers), the calculators,
and the Monte Carlo gap at finite m (paper 001, Section 3.1, Appendix D; paper 004)."""
import numpy as np
import pytest
import sympy as sp

import theory
from theory import stability as S
from theory.derivation import eta, is_zero, k


@pytest.mark.parametrize("rule", S.RULES)
def test_symbolic_results_agree_with_the_paper_derivation_and_the_calculators(rule):
    assert all(S.check_two_ways(rule).values()), S.check_two_ways(rule)


def test_paper_spread_edge_is_the_collapse_stability_edge():
    # The bifurcation: rho < 1 and |lambda| > 1 on the same interval (0, 2(k-1)/(k-2)).
    d = S.derive_stability("paper")
    assert is_zero(d["spread_edge"] - d["collapse_stable_above"])
    assert is_zero(d["spread_edge"] - 2 * (k - 1) / (k - 2))
    # |lambda| = 1 exactly at the edge (both branches of the absolute value agree there)
    assert is_zero(d["collapse_factor_signed"].subs(eta, d["spread_edge"]) + 1)


@pytest.mark.parametrize("rule,expected", [("autodiff", True), ("infonce", True), ("paper", False)])
def test_only_the_paper_rule_can_stabilise_collapse(rule, expected):
    assert S.never_stable(rule) is expected


def test_closed_forms():
    d = S.derive_stability("infonce")
    tau = S.tau
    assert is_zero(d["effective_eta"] - 2 * eta * (k - 1) / (tau * (sp.exp(1 / tau) + k - 1)))
    assert is_zero(d["eta_best"] - tau * (sp.exp(1 / tau) + k - 1) / (2 * (k - 1)))
    assert is_zero(d["spread_edge"] - tau * (sp.exp(1 / tau) + k - 1) / (k - 2))
    assert is_zero(d["collapse_factor"] - (1 + 2 * eta / tau))
    assert is_zero(S.derive_stability("autodiff")["collapse_factor"] - (1 + eta * k / (k - 1)))


def test_infonce_reduces_to_paper_004_in_the_large_k_limit():
    # eta_eff -> 2 eta / tau and eta_best -> tau/2 as k e^{-1/tau} -> infinity
    ks = np.array([10**3, 10**6, 10**9])
    assert np.allclose(S.effective_eta(0.3, ks, "infonce", 1.0) / 0.3, 2.0, rtol=3e-3)
    assert S.eta_best(10**9, "infonce", 0.7) == pytest.approx(0.35, rel=1e-8)


def test_calculators_paper_and_autodiff_equal_theory_bounds():
    ks = np.arange(3, 200)
    assert np.allclose(S.spread_mean_factor(1.7, ks), theory.mean_shift_factor(1.7, ks), rtol=1e-14)
    assert np.allclose(S.eta_max(ks, 0.1, "autodiff"), theory.eta_max(ks, 0.1), rtol=1e-14)
    assert np.allclose(S.collapse_stable_above(ks), theory.eta_max(ks), rtol=1e-14)


def test_infonce_small_tau_does_not_overflow():
    # e^{1/tau} overflows: the spread step vanishes and the best/largest eta are infinite, not NaN
    assert S.effective_eta(1.0, 30, "infonce", 1e-3) == 0.0
    assert S.eta_best(30, "infonce", 1e-3) == np.inf
    assert S.eta_best(30, "infonce", 0.01) == pytest.approx(0.005 * (1 + np.exp(100) / 29), rel=1e-12)


@pytest.mark.parametrize("rule,tau,msg", [("paper", 0.5, "tau applies only"), ("autodiff", 1.0, "tau applies only"),
                                          ("infonce", None, "tau must be"), ("infonce", 0.0, "tau must be"),
                                          ("infonce", float("inf"), "tau must be"), ("nope", None, "rule must be")])
def test_bad_rule_or_tau(rule, tau, msg):
    with pytest.raises(ValueError, match=msg):
        S.eta_max(10, 0.0, rule, tau)


def test_k_must_exceed_two():
    with pytest.raises(ValueError, match="k must be an integer > 2"):
        S.eta_best(2)


@pytest.mark.parametrize("rule,tau,eta_value", [("paper", None, 2.0), ("autodiff", None, 2.0), ("infonce", 1.0, 0.8)])
def test_monte_carlo_gap_shrinks_like_one_over_m(rule, tau, eta_value):
    # The closed form is the m -> infinity limit; at finite m the cross cosines are O(m^-1/2) and the
    # mean factor is biased by O(k/m). Measured: the gap shrinks with m, and m * gap is the same at
    # m = 100 and m = 1000 within 50% (a 1/m law; the 50% allows the O(1/m^2) term at m = 100) plus
    # 4 standard errors of the m = 1000 estimate.
    limit = S.spread_mean_factor(eta_value, 10, rule, tau)
    est = {m: S.spread_mean_factor_monte_carlo(eta_value, 10, m, rule, tau, trials=200, seed=3) for m in (30, 100, 1000)}
    gap = {m: e.mean - limit for m, e in est.items()}
    assert abs(gap[1000]) < abs(gap[100]) < abs(gap[30])
    assert abs(1000 * gap[1000] - 100 * gap[100]) <= 0.5 * abs(100 * gap[100]) + 4 * 1000 * est[1000].stderr
    assert abs(gap[1000]) < 0.005  # within 0.5% of the limit at m = 1000


def test_numpy_step_keeps_unit_columns_and_is_fixed_at_collapse():
    x = np.ones((5, 4)) / np.sqrt(5)
    for rule, tau in [("paper", None), ("autodiff", None), ("infonce", 0.5)]:
        y = S.numpy_step(x, 0.3, rule, tau)
        assert np.allclose(y, x)  # complete collapse is a fixed point of every rule (Lemma 1)
