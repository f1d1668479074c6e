"""Calculators across the whole float range: the right value, inf, or a clear ValueError (issue 23, item 3)."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import theory
from theory import stability


@pytest.fixture(autouse=True)
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning on the way is a failure too
        yield


@pytest.mark.parametrize("eta, k", [(1e200, 3), (1e300, 10), (1e155, 4), (1e308, 1000)])
def test_mean_shift_factor_tends_to_sqrt_k_minus_1(eta, k):
    # |1 - eta| / sqrt(1 + eta^2/(k-1)) -> sqrt(k-1) as eta grows; it was 0.0 once eta^2 overflowed
    assert theory.mean_shift_factor(eta, k) == pytest.approx(math.sqrt(k - 1), rel=1e-12)
    assert stability.spread_mean_factor(eta, k) == pytest.approx(math.sqrt(k - 1), rel=1e-12)


def test_huge_k_neither_wraps_around_nor_gives_nan():
    for k in (10**30, 1e30, 1e300, 2**63 + 1):
        assert theory.eta_max(k) == pytest.approx(2.0)
        assert theory.paper_eta_max(k) == pytest.approx(2.0)
        assert stability.eta_max(k, rule="infonce", tau_value=1.0) == pytest.approx(1.0 * (math.e + k - 1) / (k - 2))
        assert stability.collapse_stable_above(k) == pytest.approx(2.0)
    assert theory.bounds.check_k(2**63 + 1).dtype == np.float64  # kept as a float, not wrapped to a negative int


@pytest.mark.parametrize("tau", [1e-320, 5e-324, 1e-309])
def test_tau_whose_reciprocal_overflows_is_refused(tau):
    with pytest.raises(ValueError, match="1/tau must be a finite float"):
        stability.eta_max(10, rule="infonce", tau_value=tau)


def test_tiny_but_valid_tau_gives_finite_or_inf_never_nan():
    for tau in (6e-309, 1e-300, 1e-3):
        for value in (stability.eta_max(10, rule="infonce", tau_value=tau), stability.eta_best(10, "infonce", tau),
                      stability.effective_eta(1.0, 10, "infonce", tau), stability.collapse_growth_factor(1.0, 10, "infonce", tau)):
            assert not math.isnan(value), (tau, value)
    assert stability.eta_max(10, rule="infonce", tau_value=6e-309) == math.inf  # e^(1/tau) overflows: no bound


def test_cli_refuses_tau_1e_320_with_one_line(capsys):
    from clop_verify import cli

    for argv in (["bound", "--k", "10", "--rule", "infonce", "--tau", "1e-320"],
                 ["threshold", "--k", "3", "--rule", "infonce", "--tau", "1e-320"]):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "--tau must be" in err[0] and "5.56e-309" in err[0], err


def test_float32_simulation_refuses_a_tau_whose_reciprocal_overflows_there(capsys):
    from clop_verify import cli

    assert cli.main(["simulate", "--k", "3", "--lr", "1", "--rule", "infonce", "--tau", "1e-40", "--dtype", "float32"]) == 2
    assert "--tau must be a finite real number >= 2.94e-39 with --dtype float32" in capsys.readouterr().err
