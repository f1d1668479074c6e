"""CLOP's critical lambda (theory.clop, theory.stability.clop_lambda_min): symbolic checks and the calculators."""
import numpy as np
import pytest

from theory import clop
from theory.stability import clop_lambda_min


def test_derivation_checks_two_ways():
    # sympy differences simplify to 0, and the full [m, k] update maps the state to its sign flip
    assert clop.check_two_ways(samples=10) == {name: True for name in clop.check_two_ways(samples=1)}


def test_collapse_is_not_a_fixed_point_for_positive_lambda():
    # from x_i = u the updated vectors differ by eta*lambda*(c_i - c_j): nonzero for eta, lambda > 0
    assert str(clop.derive_clop()["collapse_split"]) == "eta*lambda"


@pytest.mark.parametrize("k", [3, 10, 30])
def test_lambda_min_is_zero_up_to_eta_star_and_increases_to_its_limit(k):
    es = 2 * (k - 1) / (k - 2)
    etas = np.concatenate([np.linspace(0.1, es, 20), es * np.geomspace(1.0001, 1e4, 200)])
    lam = clop_lambda_min(etas, k)
    assert lam.shape == etas.shape
    assert np.all(lam[etas <= es] == 0)
    above = lam[etas > es]
    assert np.all(above > 0) and np.all(np.diff(above) > 0)  # strictly increasing above eta*
    limit = clop.clop_lambda_limit(k)
    assert above[-1] < limit and above[-1] > limit * (1 - 1e-3)  # 1e4 eta*: within 0.1 % of the limit
    assert limit < 1


def test_lambda_limit_expansion():
    # lambda_inf = 2(k-2)/sqrt(4k^2-11k+8) = 1 - 5/(8k) + O(1/k^2): the remainder times k^2 stays bounded
    ks = np.array([10, 100, 1000, 10000])
    remainder = clop.clop_lambda_limit(ks) - (1 - 5 / (8 * ks))
    assert np.all(np.abs(remainder * ks**2) < 5)
    assert np.allclose(clop.clop_lambda_limit(ks), 2 * (ks - 2) / np.sqrt(4 * ks**2 - 11 * ks + 8), rtol=1e-14)


def test_lambda_min_broadcasts_and_rules():
    grid = clop_lambda_min(np.array([[3.0], [6.0]]), np.array([3, 10, 30]))
    assert grid.shape == (2, 3)
    assert np.all(clop_lambda_min([5.0, 50.0], 3, "autodiff") == 0)
    assert np.all(clop_lambda_min([5.0, 50.0], 3, "infonce", 0.5) == 0)
    with pytest.raises(ValueError, match="tau"):
        clop_lambda_min(5.0, 3, "infonce")
    with pytest.raises(ValueError, match="eta"):
        clop_lambda_min(-1.0, 3)


@pytest.mark.parametrize("k", [3, 10, 30])
def test_eta_min_inverts_lambda_min(k):
    lams = np.array([0.01, 0.1, 0.3, 0.5]) * clop.clop_lambda_limit(k)
    etas = clop.clop_eta_min(lams, k)
    np.testing.assert_allclose(clop_lambda_min(etas, k), lams, rtol=1e-9)  # bisection to 1e-12 relative in eta
    assert clop.clop_eta_min(clop.clop_lambda_limit(k), k) == np.inf


def test_reduced_map_near_state_is_period_two_and_attracts_in_gamma_only_below_lambda_c():
    # below lambda_c: the three-scalar map flips gamma and keeps (alpha, beta); above it, from the same
    # start, gamma decays (escape to the prototypes)
    for k, ratio in [(3, 1.5), (10, 3.0), (30, 1.2)]:
        eta = ratio * 2 * (k - 1) / (k - 2)
        lc = clop.clop_lambda_critical(eta, k)
        for factor, persists in [(0.9, True), (1.1, False)]:
            state = (0.0, 0.0, 1.0)  # complete collapse on a direction outside the prototypes' span
            # 16000 steps: the common (alpha-gamma) mode relaxes slowly near eta* (measured at k = 30,
            # eta = 1.2 eta*: the gap to gamma* shrinks 35-fold per 4000 steps, 2e-6 after 4000, 5e-11 after 16000)
            for _ in range(16000):
                state = clop.reduced_step(state, eta, k, factor * lc)
            gamma = abs(state[2])
            if persists:
                assert gamma == pytest.approx(clop.near_collapse_state(eta, k, factor * lc)[2], abs=1e-9)
            else:
                assert gamma < 1e-9


def test_lambda_table_scales():
    rows = {(r["k"], r["lambda"], r["scale"]): r for r in clop.lambda_table([0.1, 1.0, 1.5], [3, 10, 30])}
    for k in (3, 10, 30):
        assert rows[(k, 1.0, "sum")]["prevents_at_every_eta"]  # lambda_inf(k) < 1
        assert not rows[(k, 1.0, "mean")]["prevents_at_every_eta"]  # 1/k < lambda_inf(k)
        assert not rows[(k, 0.1, "sum")]["prevents_at_every_eta"]


def _two_step_jacobian(eta, k, lam, m):
    """Finite-difference Jacobian of two full [m, k] CLOP steps at the near-collapsed state (numpy, float64)."""
    a, b, g = clop.near_collapse_state(eta, k, lam)
    C = np.eye(m)[:, :k]
    e = C.mean(1) * np.sqrt(k)
    d = (C - C.mean(1, keepdims=True)) / np.sqrt(1 - 1 / k)
    w = np.eye(m)[:, k]
    X = a * e[:, None] + b * d + g * w[:, None]

    def step(Z):
        Y = Z - eta / (k - 1) * (Z.sum(1, keepdims=True) - Z) + eta * lam * C
        return Y / np.linalg.norm(Y, axis=0)

    def two(Z):
        Z = Z / np.linalg.norm(Z, axis=0)
        return step(step(Z)).ravel()

    base, h = two(X), 1e-7
    J = np.stack([(two(X + h * np.eye(m * k)[j].reshape(m, k)) - base) / h for j in range(m * k)], axis=1)
    return X, base.reshape(m, k), np.abs(np.linalg.eigvals(J))


@pytest.mark.parametrize("k,ratio,lam_frac", [(3, 1.2, 0.1), (3, 3.0, 0.5), (10, 1.2, 0.1), (10, 3.0, 0.5)])
def test_near_collapsed_state_is_linearly_stable(k, ratio, lam_frac):
    # Two steps return the state exactly; the two-step Jacobian's eigenvalues: 1 for the rotations of w
    # inside the prototypes' complement (a symmetry, m = k + 2 leaves one such plane), (p/(eta-1))^2 for the
    # zero-sum modes (derived factor squared), the rest inside the unit circle (the slow common modes,
    # 1 - O(lambda^2)). Tolerance 1e-5: forward differences with h = 1e-7 (error ~ h times the curvature).
    eta = ratio * 2 * (k - 1) / (k - 2)
    lam = lam_frac * clop.clop_lambda_critical(eta, k)
    X, X2, ev = _two_step_jacobian(eta, k, lam, k + 2)
    np.testing.assert_allclose(X2, X, atol=1e-13)
    assert ev.max() < 1 + 1e-5
    p = 1 + eta / (k - 1)
    assert np.any(np.abs(ev - (p / (eta - 1)) ** 2) < 1e-5)
    assert np.sum(ev > 1 - 1e-5) == 1  # only the symmetry is neutral


@pytest.mark.parametrize("rule,tau", [("paper", None), ("autodiff", None), ("infonce", 0.5), ("infonce", 2.0)])
def test_spread_edge_unchanged_and_best_step_is_the_argmin(rule, tau):
    from theory import stability

    for k in (3, 10, 30):
        edge = stability.eta_max(k, 0.0, rule, tau)
        # rho_lambda <= 1 is Theorem 1's condition: the lambda^2 terms cancel, the edge does not move
        assert np.allclose(clop.spread_mean_factor_clop(edge, k, [0.1, 1.0, 5.0], rule, tau), 1.0, atol=1e-12)
        for lam in (0.0, 0.3, 1.0):
            grid = np.linspace(1e-3, 3 * edge, 400001)
            argmin = grid[np.argmin(clop.spread_mean_factor_clop(grid, k, lam, rule, tau))]
            best = clop.eta_best_clop(k, lam, rule, tau)
            assert abs(argmin - best) <= 2 * (grid[1] - grid[0])  # grid resolution
            if lam == 0:
                assert best == pytest.approx(stability.eta_best(k, rule, tau), rel=1e-12)
