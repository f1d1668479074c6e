"""Each step of the Theorem 1 derivation, checked two ways: sympy simplification and Monte Carlo."""
import numpy as np
import pytest
import sympy as sp

import theory
from theory.derivation import (
    derive,
    epsilon,
    eta,
    expected_norm_sq_by_coefficients,
    expected_norm_sq_explicit_gram,
    expected_norm_sq_via_mean,
    is_zero,
    k,
    leading_coefficient_positive_for_k_above_2,
)
from theory.montecarlo import estimate_moments

# Monte Carlo tolerance: 5 standard errors. With ~30 independent MC comparisons in this file the
# chance that any honest comparison fails by bad luck is below 30 * 6e-7 ~ 2e-5.
N_SIGMA = 5


def test_two_routes_to_expected_norm_agree_and_simplify_to_one_plus_eta2_over_k_minus_1():
    # Independent expectation: ||x_i - eta m_i||^2 with m_i the mean of k-1 others has
    # E = 1 - 0 + eta^2 * (k-1)/(k-1)^2 by the moments alone.
    target = 1 + eta**2 / (k - 1)
    assert is_zero(expected_norm_sq_by_coefficients() - target)
    assert is_zero(expected_norm_sq_via_mean() - target)
    assert is_zero(derive()["expected_norm_sq"] - target)


@pytest.mark.parametrize("k_value", [3, 4, 5, 7])
def test_explicit_gram_expansion_matches_general_k(k_value):
    # Uses no multiplicity counting at all: a full symbolic Gram matrix at concrete k.
    general = derive()["expected_norm_sq"].subs(k, k_value)
    assert sp.simplify(expected_norm_sq_explicit_gram(k_value) - general) == 0


def test_mean_moments_and_unnormalised_mean_shift():
    d = derive()
    assert d["mean_norm_sq"] == 1 / k
    assert d["x_dot_mean"] == 1 / k
    assert d["mean_shift_unnormalised"] == 1 - eta


# Trials per case: at k = 30, m = 100 one trial draws 3000 coordinates, and 2000 trials already give the
# squared norm a standard error of 6e-6 (relative 5e-6), far finer than any slip in the formulas.
@pytest.mark.parametrize("k_value,m,eta_value,trials",
                         [(3, 3, 1.5, 20000), (5, 8, 2.0, 20000), (10, 40, 0.7, 20000), (30, 100, 2.1, 2000)])
def test_monte_carlo_matches_derived_moments(k_value, m, eta_value, trials):
    est = estimate_moments(k_value, m, eta_value, trials=trials, seed=k_value)
    d = derive()
    at = {k: k_value, eta: eta_value}
    assert est["norm_sq"].within(float(d["expected_norm_sq"].subs(at)), N_SIGMA)
    assert est["mean_norm_sq"].within(float(d["mean_norm_sq"].subs(at)), N_SIGMA)
    assert est["x_dot_mean"].within(float(d["x_dot_mean"].subs(at)), N_SIGMA)
    # The mean shift (1 - eta) mu is an exact identity: only float64 rounding (~1e-16) remains.
    assert est["mean_shift_residual"].mean < 1e-12


def test_printed_simplified_norm_is_rejected_by_monte_carlo():
    # The printed E||x^(1)||^2 of Appendix D at k=3, eta=1 is 1.25; the derived one is 1.5.
    # The Monte Carlo estimate must separate them (it would be a useless check otherwise).
    est = estimate_moments(3, 3, 1.0, trials=20000, seed=1)
    printed = theory.printed.printed("appD_norm_simplified").expression.subs({k: 3, eta: 1})
    assert not est["norm_sq"].within(float(printed), N_SIGMA)
    assert est["norm_sq"].within(1.5, N_SIGMA)


def test_mean_shift_factor_is_the_large_m_limit():
    # The renormalised mean ratio differs from |1-eta|/sqrt(1+eta^2/(k-1)) by O(1/m) (the norms
    # concentrate at B with relative spread O(m^-1/2); the bias is second order). Check the gap
    # shrinks roughly like 1/m: a 10x larger m cuts it by more than 4x.
    k_value, eta_value = 10, 1.8
    factor = theory.mean_shift_factor(eta_value, k_value)
    # 1000 trials: the ratio's standard error (3e-5 at m = 1000, 1.7e-4 at m = 100) is 30x and 50x below
    # the gaps (9e-4 and 9e-3), so the gaps measured are the bias, not the sampling noise.
    gaps = []
    for m in (100, 1000):
        est = estimate_moments(k_value, m, eta_value, trials=1000, seed=m)
        gaps.append(abs(est["mean_shift_ratio"].mean - factor))
    assert gaps[1] < gaps[0] / 4
    assert gaps[1] < 2e-3


def test_condition_and_bound_at_eps_zero():
    d = derive()
    assert is_zero(d["eta_max_eps0"] - 2 * (k - 1) / (k - 2))
    assert leading_coefficient_positive_for_k_above_2()
    # Inside [0, eta_max] the condition holds, just outside it fails (k = 7: eta_max = 12/5).
    cond = d["condition"].subs({epsilon: 0, k: 7})
    assert bool(cond.subs(eta, sp.Rational(12, 5) - sp.Rational(1, 100)))
    assert not bool(cond.subs(eta, sp.Rational(12, 5) + sp.Rational(1, 100)))


def test_general_bound_matches_calculator_and_solves_the_condition():
    d = derive()
    rng = np.random.default_rng(3)
    for _ in range(20):
        k_value = int(rng.integers(3, 200))
        eps_value = float(rng.uniform(0, 0.9 * (np.sqrt(k_value - 1) - 1)))
        symbolic = float(d["eta_max_general"].subs({k: k_value, epsilon: eps_value}))
        assert symbolic == pytest.approx(theory.eta_max(k_value, eps_value), rel=1e-12)
        # the condition is an equality at the bound
        lhs = (1 - symbolic) ** 2
        rhs = (1 + eps_value) ** 2 * (1 + symbolic**2 / (k_value - 1))
        assert lhs == pytest.approx(rhs, rel=1e-9)


def test_no_upper_bound_exactly_when_leading_coefficient_vanishes_or_is_negative():
    d = derive()
    assert is_zero(d["leading_coefficient"] - (1 - (1 + epsilon) ** 2 / (k - 1)))
    # k = 5: (1+eps)^2 >= 4 <=> eps >= 1.
    assert np.isinf(theory.eta_max(5, 1.0))
    assert np.isfinite(theory.eta_max(5, 0.999))
    assert bool(d["no_bound_when"].subs({k: 5, epsilon: 1}))


def test_large_k_expansion():
    series = derive()["large_k"].removeO()
    assert sp.simplify(series - (2 + 2 / k + 4 / k**2 + 8 / k**3)) == 0
    for k_value in (1e3, 1e5):
        assert theory.eta_max(int(k_value)) - 2 == pytest.approx(2 / k_value, rel=3 / k_value)


def test_latex_rendering_of_every_step():
    for step in derive().steps:
        assert isinstance(step.latex, str) and step.latex
