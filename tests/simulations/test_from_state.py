"""Runs started near complete collapse and at the spread state behave as theory.stability derives,
just below and just above each edge, for every rule (paper 001, Section 3.1, Appendix D; paper 004)."""
import jax
import numpy as np
import pytest

from simulations.collapse import dynamics
from simulations.collapse.from_state import near_collapse, run_from, separation, spread_start
from theory import stability as S

CASES = [("paper", None), ("autodiff", None), ("infonce", 0.5), ("infonce", 2.0)]


def _edge(rule, tau, k):
    return S.eta_max(k, 0.0, rule, tau)


def _growth_check(rule, tau, k):
    # Two steps from 1e-8 off collapse: the largest factor here is ~40, so the deviation stays below
    # ~2e-5 and the first-order factor governs (relative corrections ~ deviation^2 < 1e-9); the
    # separation ~ |d_i - d_j|^2 / 2 is formed from differences (resolved to ~1e-8 relative), hence
    # the 1/(2 * 2) root and rtol 1e-4.
    edge = _edge(rule, tau, k)
    etas = np.array([0.5, 0.95, 1.05, 2.0]) * edge
    X0 = near_collapse(jax.random.key(k), k, 100, 1e-8)
    out = run_from(X0, etas, steps=2, rule=rule, tau=tau)
    measured = (separation(out[:, 0]) / separation(X0)) ** (1 / 4)
    assert np.allclose(measured, S.collapse_growth_factor(etas, k, rule, tau), rtol=1e-4)


@pytest.mark.parametrize("rule,tau", CASES)
def test_collapse_growth_factor_matches_simulator_k10(rule, tau):
    _growth_check(rule, tau, 10)


@pytest.mark.slow
@pytest.mark.parametrize("k", [3, 30])
@pytest.mark.parametrize("rule,tau", CASES)
def test_collapse_growth_factor_matches_simulator(rule, tau, k):
    _growth_check(rule, tau, k)


def test_numpy_reference_step_equals_the_jax_rules():
    # theory.stability restates the three rules in numpy (closed-form tangent gradients); the JAX
    # simulator differentiates with jax.grad. Same step to rounding (float64).
    # jitted: one program per rule instead of one per eager operation of its gradient
    X = spread_start(jax.random.key(2), 6, 8)
    step = jax.jit(dynamics.step, static_argnames=("rule", "tau"))
    for rule, tau in CASES:
        with jax.enable_x64(True):
            jax_step = np.asarray(step(X, 0.7, rule=rule, tau=tau))
        assert np.allclose(S.numpy_step(X, 0.7, rule, tau), jax_step, atol=1e-12)


def _end_states(rule, tau, k, factors, steps):
    edge = _edge(rule, tau, k)
    etas = np.asarray(factors) * edge
    near = np.stack([near_collapse(jax.random.key(100 + s), k, 100, 1e-4) for s in range(3)])
    spread = np.stack([spread_start(jax.random.key(200 + s), k, 100) for s in range(3)])
    return (separation(run_from(near, etas, steps=steps, rule=rule, tau=tau)),
            separation(run_from(spread, etas, steps=steps, rule=rule, tau=tau)))


#: Collapsed: every pairwise 1 - cos below 1e-12 (deviations ~1e-6, far below the 1e-3 relative
#: singular value of the toolkit's collapse criterion; reached only if the dynamics contract to the
#: collapsed point). Away from collapse: some 1 - cos above 1e-2 (the deviation grew from 1e-4).
COLLAPSED, AWAY = 1e-12, 1e-2


@pytest.mark.parametrize("k", [pytest.param(3, marks=pytest.mark.slow), 10, pytest.param(30, marks=pytest.mark.slow)])
def test_paper_rule_bifurcates_at_the_edge(k):
    # delta = 0.05: the slowest rate, |log lambda| at 1.05 x edge, is ~0.03/step at k = 3, so 2000 steps
    # move the state by a factor e^60 in either direction; both starts end at the stable state.
    below_near, below_spread = _end_states("paper", None, k, [0.95], 2000)
    above_near, above_spread = _end_states("paper", None, k, [1.05], 2000)
    assert (below_near > AWAY).all() and (below_spread > AWAY).all()      # collapse repels, spread stays
    assert (above_near < COLLAPSED).all() and (above_spread < COLLAPSED).all()  # both end collapsed


@pytest.mark.slow
@pytest.mark.parametrize("k", [3, 10, 30])
@pytest.mark.parametrize("rule,tau", CASES[1:])
def test_tangent_rules_never_collapse_near_the_edge_or_far_above(rule, tau, k):
    near, spread = _end_states(rule, tau, k, [0.95, 1.05, 4.0], 2000)
    assert (near > AWAY).all() and (spread > AWAY).all()
