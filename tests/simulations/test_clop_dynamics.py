"""CLOP's prototype term in the class-embedding dynamics (simulations.collapse.dynamics.clop_*), run from
both starts against the derived critical lambda of theory.clop: below (0.9x) a near-collapsed state
persists with the derived common component and spread, above (1.1x) the embeddings escape to the
prototypes (paper 001, Section 4, Eq. 4).

The starts and prototypes of the runs are drawn in NumPy, the small inputs are drawn and the rules under
test run through jitted functions, and the references are computed in NumPy: each eager JAX operation is a
program of its own (traced, lowered and looked up once per shape and dtype), and the assertions are about
the numbers, not about eager dispatch."""
import functools
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cpu_devices import run_with_cpu_devices
from simulations.collapse import dynamics as D
from simulations.collapse import runner
from simulations.collapse.from_state import mean_cosine_gap, outside_prototypes, run_clop_from, separation
from simulations.collapse.runner import float64_scope, simulate
from theory import clop

RATIOS = (1.2, 2.0, 4.0)  # eta / eta*
FACTORS = (0.9, 1.1)  # lambda / lambda_c
SEEDS = (0, 1, 2)


def _eta_star(k):
    return 2 * (k - 1) / (k - 2)


@functools.partial(jax.jit, static_argnums=(2, 3))
def _columns_and_prototypes(seed_x, seed_c, m, k):
    """Unit Gaussian columns from key(seed_x) and orthonormal prototypes from key(seed_c), ``[m, k]`` each."""
    X = D.normalize_columns(jax.random.normal(jax.random.key(seed_x), (m, k), dtype="float64"))
    return X, D.orthonormal_prototypes(jax.random.key(seed_c), m, k)


def _unit_columns(g):
    return g / np.linalg.norm(g, axis=-2, keepdims=True)


def _spread_and_prototypes(rng, k, m):
    """k i.i.d. uniform unit vectors in R^m (Theorem 1's setting) and k orthonormal prototypes (QR of a
    Gaussian draw), ``[m, k]`` each, drawn in NumPy."""
    return _unit_columns(rng.standard_normal((m, k))), np.linalg.qr(rng.standard_normal((m, k)))[0]


def _near_collapse(rng, k, m, distance):
    """x_i = normalise(u + r d_i), r = ``distance``: u uniform on the sphere, d_i Gaussian, projected off u, the
    common part removed (sum_i d_i = 0: only the separating modes are excited) and RMS norm 1, drawn in NumPy
    (the start simulations.collapse.from_state.near_collapse builds; test_from_state runs that one)."""
    u = _unit_columns(rng.standard_normal((m, 1)))
    d = rng.standard_normal((m, k))
    d -= u @ (u.T @ d)
    d -= d.mean(axis=1, keepdims=True)
    d /= np.sqrt(np.mean(np.sum(d * d, axis=0)))
    return _unit_columns(u + distance * d)


def _starts(k, m):
    """Near-collapse (1e-4 off x_i = u) and uniform starts, three seeds each, with each seed's prototypes; drawn
    in NumPy (eagerly in JAX, the draws were some 20 programs per shape, more than the runs they start)."""
    rngs = [np.random.default_rng([k, m, s]) for s in SEEDS]
    uniform, protos = zip(*(_spread_and_prototypes(rng, k, m) for rng in rngs))
    near = [_near_collapse(rng, k, m, 1e-4) for rng in rngs]
    return np.stack(near + list(uniform)), np.stack(protos * 2)


_RULES = [("paper", None), ("autodiff", None), ("infonce", 0.5)]


@jax.jit
def _clop_and_plain_steps(X, C, eta, lam):
    """``(clop_step, step)`` of every rule of :data:`_RULES` at ``(X, C)``, eta and lambda traced: one compiled
    program for the six steps (a jit of each rule's clop_step and step made six)."""
    return [(D.clop_step(X, C, eta, lam, rule=rule, tau=tau), D.step(X, eta, rule=rule, tau=tau))
            for rule, tau in _RULES]


def test_clop_rules_at_lambda_zero_are_the_plain_rules():
    with float64_scope("float64"):
        X, C = _columns_and_prototypes(0, 1, 6, 4)
        steps = _clop_and_plain_steps(X, C, 0.7, 0.0)
        assert len(steps) == 3
        for with_term, plain in steps:
            np.testing.assert_allclose(with_term, plain, rtol=0, atol=1e-14)


@jax.jit
def _loss_gradient_and_clop_autodiff_step(X, C, eta, lam):
    """The gradient of the summed mean-cosine loss at ``X`` and ``clop_autodiff_step(X, C, eta, lam)``: one program."""
    return jax.grad(lambda Z: jnp.sum(D.mean_cosine_loss(Z)))(X), D.clop_autodiff_step(X, C, eta, lam)


def test_clop_gradient_through_the_normalisation_is_the_tangent_pull():
    # at unit columns, -d/dx_i lambda (1 - cos(x_i, c_i)) = lambda (I - x_i x_i^T) c_i
    with float64_scope("float64"):
        # m = 6, k = 4 (new seeds): the draw program of test_clop_rules_at_lambda_zero_are_the_plain_rules
        X, C = _columns_and_prototypes(2, 3, 6, 4)
        k, eta, lam = 4, 0.8, 1.3
        grad, stepped = (np.asarray(v) for v in _loss_gradient_and_clop_autodiff_step(X, C, eta, lam))
        X, C = np.asarray(X), np.asarray(C)
        pull = C - X * np.sum(X * C, axis=0)
        expected = X - eta * (k / 2) * grad + eta * lam * pull
        expected /= np.linalg.norm(expected, axis=0)
        np.testing.assert_allclose(stepped, expected, atol=1e-14)
        np.testing.assert_allclose(C.T @ C, np.eye(k), atol=1e-14)


@functools.lru_cache(maxsize=None)
def _grid_run(k):
    m = 2 * k + 8
    starts, protos = _starts(k, m)
    es = _eta_star(k)
    pairs = [(r * es, f * clop.clop_lambda_critical(r * es, k)) for r in RATIOS for f in FACTORS]
    pairs.append((0.9 * es, 0.05))  # below eta*: nothing to keep, any lambda > 0 escapes
    etas, lams = map(np.array, zip(*pairs))
    out = run_clop_from(starts, protos, etas, lams, steps=3000)
    return etas, lams, out, protos


@pytest.mark.parametrize("k", [3, 10, 30])
def test_below_and_above_the_critical_lambda_from_both_starts(k):
    etas, lams, out, protos = _grid_run(k)
    gamma = outside_prototypes(out, protos)  # [pairs, starts]
    gap = mean_cosine_gap(out)
    for i, (eta, lam) in enumerate(zip(etas, lams)):
        lc = clop.clop_lambda_critical(eta, k)
        if lc > 0 and lam < lc:  # 0.9 lambda_c: the near-collapsed state, gamma* = sqrt(1 - 0.81) = 0.436
            a, b, g = clop.near_collapse_state(eta, k, lam)
            # 2e-3: the common (alpha-gamma) modes relax slowly near eta* (two-step Jacobian eigenvalues
            # 1 - O(lambda^2)); measured at 3000 steps (NumPy-drawn starts): worst |gamma - gamma*| 8e-5 and
            # worst spread gap 5.0e-4 (k = 30, eta = 1.2 eta*), at most 4.1e-5 at k = 3, 10 and 1.2e-7 at 2 eta*
            # (with the earlier JAX-drawn starts: 5e-5, 3.7e-4, 2e-5 and 1e-7)
            np.testing.assert_allclose(gamma[i], g, atol=2e-3)
            # spread: 1 - mean cosine = k beta*^2 / (k - 1); the same slow modes, same tolerance
            np.testing.assert_allclose(gap[i], k * b**2 / (k - 1), atol=2e-3)
        else:  # 1.1 lambda_c, or eta below eta*: the common component decays to rounding
            # (measured at most 1e-14 at 3000 steps; the runner's persistence criterion is 1e-3)
            assert np.all(gamma[i] < 1e-6), (eta, lam, gamma[i])
            assert np.all(separation(out[i]) > 0.5)  # far from collapse: spread along the prototypes
            if lc > 0:  # ended on the derived aligned state: 1 - mean cos = 1 - alpha^2 + beta^2/(k-1)
                a, b, _, factor = clop.aligned_state(eta, k, lam)
                assert factor < 1  # gamma shrinks there by |1 - eta|/s per step
                np.testing.assert_allclose(gap[i], 1 - a**2 + b**2 / (k - 1), atol=1e-6)  # measured <= 2e-15


@pytest.mark.parametrize("rule,tau", [("autodiff", None), ("infonce", 0.5)])
def test_gradient_rules_with_clop_leave_collapse(rule, tau):
    # lambda_c = 0 for them: from 1e-4 off collapse the embeddings separate at every eta and lambda tried
    k, m = 10, 28
    starts, protos = _starts(k, m)
    etas = np.array([1.0, 4.0, 20.0, 1.0, 4.0, 20.0])
    lams = np.array([0.1, 0.1, 0.1, 1.0, 1.0, 1.0])
    out = run_clop_from(starts[:3], protos[:3], etas, lams, steps=1000, rule=rule, tau=tau)
    assert np.all(separation(out) > 0.3)


def test_autodiff_keeps_a_common_component_at_large_eta_even_with_clop():
    # Documented behaviour, not collapse: autodiff's large-step state (mean cosine ~0.4 at k = 10,
    # eta = 20) keeps a component outside the prototypes' span that lambda = 1 does not remove
    r = simulate(10, [20.0], m=30, seeds=(0,), steps=2000, rule="autodiff", clop_lambda=1.0)
    gamma = outside_prototypes(r.final, r.prototypes)
    assert gamma.item() > 0.5 and r.collapsed.item()
    assert mean_cosine_gap(r.final).item() > 0.4  # not complete collapse


def test_simulate_with_clop_lambda_zero_is_bit_identical():
    kwargs = dict(m=12, seeds=(0, 3), steps=200, record_every=50)
    for rule, tau in [("paper", None), ("infonce", 0.5)]:
        a = simulate(5, [0.5, 4.0], rule=rule, tau=tau, **kwargs)
        b = simulate(5, [0.5, 4.0], rule=rule, tau=tau, clop_lambda=0.0, **kwargs)
        for field in a._fields:
            va, vb = getattr(a, field), getattr(b, field)
            if isinstance(va, np.ndarray):
                assert va.dtype == vb.dtype and np.array_equal(va, vb), field
            else:
                assert va == vb, field
        assert a.parameters() == b.parameters() and "clop_lambda" not in a.parameters()


def test_simulate_with_clop_matches_the_derived_curve_and_does_not_recompile():
    k = 10
    eta = 2.0 * _eta_star(k)
    lc = clop.clop_lambda_critical(eta, k)
    below = simulate(k, [eta], m=28, seeds=SEEDS, steps=2000, clop_lambda=0.9 * lc)
    before = runner.compile_count()
    above = simulate(k, [eta * 1.0001], m=28, seeds=SEEDS, steps=2000, clop_lambda=1.1 * lc)
    assert runner.compile_count() == before  # new eta and lambda: traced, same program
    assert below.collapsed.all() and not above.collapsed.any()
    gamma = outside_prototypes(below.final, below.prototypes)
    np.testing.assert_allclose(gamma, clop.near_collapse_state(eta, k, 0.9 * lc)[2], atol=2e-3)
    # the same seed starts from the same embeddings with and without the term
    plain = simulate(k, [eta], m=28, seeds=SEEDS, steps=1, record_every=1)
    with_term = simulate(k, [eta], m=28, seeds=SEEDS, steps=1, record_every=1, clop_lambda=0.5)
    np.testing.assert_allclose(plain.spectra[:, :, 0], with_term.spectra[:, :, 0], atol=1e-12)


def test_simulate_rejects_bad_clop_lambda():
    with pytest.raises(ValueError, match="clop_lambda"):
        simulate(5, [1.0], m=4, clop_lambda=0.5)
    with pytest.raises(ValueError, match="clop_lambda"):
        simulate(3, [1.0], m=4, clop_lambda=-1.0)


def test_float32_runs_land_on_the_same_side_of_the_curve():
    # float32 subset: the common component at 0.9 lambda_c matches gamma* to ~1e-7 (measured 6e-8), and after
    # escaping it stops at float32 rounding (measured 7e-8), both far from the 1e-3 criterion; 1e-5 allows
    # 100x the measured float32 error
    k = 10
    eta = 2.0 * _eta_star(k)
    lc = clop.clop_lambda_critical(eta, k)
    for factor, persists in [(0.9, True), (1.1, False)]:
        r = simulate(k, [eta], m=28, seeds=SEEDS, steps=2000, clop_lambda=factor * lc, dtype="float32")
        assert r.final.dtype == np.float32 and r.collapsed.all() == persists and r.collapsed.any() == persists
        gamma = outside_prototypes(r.final, r.prototypes)
        expected = clop.near_collapse_state(eta, k, factor * lc)[2] if persists else 0.0
        np.testing.assert_allclose(gamma, expected, atol=1e-5)


_TWO_DEVICES = r"""
import json, jax, simulations
r = simulations.simulate(3, [4.5, 6.0], m=8, seeds=(0, 7), steps=300, record_every=100, clop_lambda=0.2)
print(json.dumps({"devices": jax.device_count(), "spectra": r.spectra.tolist(), "final": r.final.tolist(),
                  "prototypes": r.prototypes.tolist(), "collapsed": r.collapsed.tolist()}))
"""


def test_clop_runs_split_over_two_devices_give_the_same_numbers():
    several = json.loads(run_with_cpu_devices(_TWO_DEVICES, devices=2, timeout=240).strip().splitlines()[-1])
    one = simulate(3, [4.5, 6.0], m=8, seeds=(0, 7), steps=300, record_every=100, clop_lambda=0.2)
    assert several["devices"] == 2 and several["collapsed"] == one.collapsed.tolist()
    # 1e-12 as in test_sim_runner: the same per-run program, only the batch per device differs
    for key in ("spectra", "final", "prototypes"):
        np.testing.assert_allclose(np.asarray(several[key]), getattr(one, key), atol=1e-12)


@pytest.mark.parametrize("rule,tau", [("paper", None), ("autodiff", None), ("infonce", 0.5)])
def test_spread_state_one_step_factor_with_clop(rule, tau):
    # theory.clop.spread_mean_factor_clop is the m -> infinity limit; at m = 2000 the measured mean over
    # 16 seeds sat within 0.003 of it (se 0.001-0.005; 0.0026 with the NumPy-drawn starts); 0.01 + 3 se is the toolkit's finite-m allowance for
    # this kind of law (claims.stability.LAW_ATOL), fixed before this test was written
    k, m, S = 10, 2000, 16
    starts, protos = map(np.stack, zip(*(_spread_and_prototypes(np.random.default_rng([k, m, s]), k, m)
                                         for s in range(S))))
    etas, lams = np.array([0.5, 1.0, 2.0, 3.0]), np.array([0.5, 0.5, 1.0, 1.0])
    out = run_clop_from(starts, protos, etas, lams, steps=1, rule=rule, tau=tau)
    ratio = np.linalg.norm(out.mean(-1), axis=-1) / np.linalg.norm(starts.mean(-1), axis=-1)
    se = ratio.std(1, ddof=1) / np.sqrt(S)
    derived = clop.spread_mean_factor_clop(etas, k, lams, rule, tau)
    assert np.all(np.abs(ratio.mean(1) - derived) < 0.01 + 3 * se)
