"""Properties of the bound calculators (hypothesis) and their input validation."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import theory

ks = st.integers(min_value=3, max_value=10_000)
small_eps = st.floats(min_value=0, max_value=0.4, allow_nan=False)


@given(ks)
def test_eta_max_eps0_closed_form(k):
    assert theory.eta_max(k) == pytest.approx(2 * (k - 1) / (k - 2), rel=1e-12)


@given(ks)
def test_eta_max_decreases_in_k_towards_two(k):
    assert theory.eta_max(k + 1) < theory.eta_max(k)
    assert theory.eta_max(k) > 2


@given(ks, small_eps, small_eps)
def test_eta_max_increases_in_eps(k, e1, e2):
    lo, hi = sorted((e1, e2))
    # (1 + 0.4)^2 < k - 1 for every k >= 3, so all these bounds are finite.
    assert theory.eta_max(k, lo) <= theory.eta_max(k, hi)


@given(ks, small_eps)
def test_mean_shift_factor_is_one_at_the_bound_and_below_one_inside(k, eps):
    bound = theory.eta_max(k, eps)
    assert theory.mean_shift_factor(bound, k) == pytest.approx(1 + eps, rel=1e-9)
    assert theory.mean_shift_factor(0.5 * bound, k) < 1 + eps
    assert theory.mean_shift_factor(1.05 * bound, k) > 1 + eps


def test_vectorised_over_k_and_eps():
    out = theory.eta_max(np.array([[3], [30]]), np.array([0.0, 0.1]))
    assert out.shape == (2, 2)
    assert out[0, 0] == 4.0 and out[1, 0] == pytest.approx(58 / 28)
    assert isinstance(theory.eta_max(30), float)


def test_paper_eta_max_is_the_printed_cubic_ratio():
    # Independent evaluation of the printed formula (2k^3-5k^2+5k-2)/(k^3-3k^2+4k-2) at k = 30.
    assert theory.paper_eta_max(30) == pytest.approx(49648 / 24418, rel=1e-15)
    assert round(theory.paper_eta_max(30), 2) == 2.03


@pytest.mark.parametrize(
    "call",
    [
        lambda: theory.eta_max(2),
        lambda: theory.eta_max(3.5),
        lambda: theory.eta_max(float("nan")),
        lambda: theory.eta_max(True),
        lambda: theory.eta_max("3"),
        lambda: theory.eta_max(3, -0.1),
        lambda: theory.eta_max(3, float("nan")),
        lambda: theory.paper_eta_max(0),
        lambda: theory.mean_shift_factor(float("nan"), 3),
        lambda: theory.mean_shift_factor(-1.0, 3),
        lambda: theory.mean_shift_factor(1.0, 2),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(call):
    with pytest.raises(ValueError, match=r"^(k|eps|eta) must be"):
        call()


def test_eps_infinity_means_no_bound():
    assert math.isinf(theory.eta_max(3, float("inf")))
