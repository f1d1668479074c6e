"""Neural-collapse metrics on constructed arrangements and the paper-003 risks (issue 14).

The metrics are checked on arrangements whose values are known exactly (an ETF has NC2 = 0, a collapsed
arrangement has effective rank 1, orthonormal means are at distance 0 from CLOP's target), NC1 against
a direct d x d computation; the risks against a loop implementation, and the lower bound
HSCL >= SCL, HUCL >= UCL by a hypothesis property test together with the two ways it fails when its
conditions are dropped (softening beta < 0, unnormalised weights).
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulations import collapse_metrics as cm
from simulations.neural_collapse import model as M

# float64 (tests/conftest): exact arrangements agree to rounding; 1e-10 leaves ~10^5 eps of room for
# the QR/SVD and pseudo-inverse steps.
EXACT = 1e-10

# The code under test jitted once per shape (as the collapse grid runs it): called eagerly, JAX traced,
# lowered and compiled each of its operations as a program of its own, ~300 programs for this file.
arrangement = jax.jit(M.arrangement, static_argnums=(0, 1, 2, 3))
summary = jax.jit(cm.summary, static_argnums=2)
risk = jax.jit(M.contrastive_risk, static_argnames=("psi",))
normalise_features = jax.jit(M.normalise_features)


@functools.partial(jax.jit, static_argnums=2)
def _statistics(Z, y, k):
    """The statistics the tests below check one by one, each by its own public function, in one program."""
    sv = cm.singular_values(Z)
    return {"singular_values": sv, "effective_rank": cm.effective_rank(sv), "rankme": cm.rankme(sv),
            "nc1": cm.nc1(Z, y, k), "within_between": cm.within_between_ratio(Z, y, k),
            "nc2": cm.nc2(Z, y, k), "nc2_centred": cm.nc2(Z, y, k, centre=True),
            "orthonormal_distance": cm.orthonormal_distance(Z, y, k)}


def rotated(name, k, n, d, seed=0):
    """An arrangement of simulations.neural_collapse.model.arrangement in a random orthonormal frame of R^d."""
    Q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return np.asarray(arrangement(name, k, n, d)) @ Q


@pytest.mark.parametrize("k, d", [(4, 7)])
def test_exact_etf_has_nc2_zero_nc1_zero_and_rank_k_minus_1(k, d):
    Z = rotated("etf", k, 3, d)
    y = np.repeat(np.arange(k), 3)
    s = summary(Z, y, k)
    assert float(s["nc2"]) < EXACT and float(s["nc1"]) < EXACT and float(s["within_between"]) < EXACT
    assert abs(float(s["effective_rank"]) - (k - 1)) < 1e-8  # k-1 equal singular values
    assert abs(float(s["orthonormal_distance"]) - 1 / (k - 1)) < EXACT
    assert cm.CLASSES[int(s["class"])] == "NC"


@pytest.mark.parametrize("k", [5])
def test_collapsed_has_effective_rank_one_and_is_dc_free_of_nc(k):
    Z = rotated("collapsed", k, 2, 6)
    s = _statistics(Z, np.repeat(np.arange(k), 2), k)
    assert abs(float(s["effective_rank"]) - 1.0) < 1e-8
    assert abs(float(s["rankme"]) - 1.0) < 1e-4  # RankMe's epsilon 1e-7 on 5 zero singular values
    assert float(s["nc1"]) == np.inf  # no between-class spread at all
    assert abs(float(s["orthonormal_distance"]) - 1.0) < EXACT


@pytest.mark.parametrize("k, d", [(4, 9)])
def test_orthonormal_means_are_at_distance_zero_from_clops_target(k, d):
    y = np.repeat(np.arange(k), 4)
    Z = 2.5 * rotated("orthonormal", k, 4, d)  # scale does not matter
    s = _statistics(Z, y, k)
    assert float(s["orthonormal_distance"]) < EXACT
    assert abs(float(s["nc2"]) - 1 / np.sqrt(k)) < EXACT  # not an ETF ...
    assert float(s["nc2_centred"]) < EXACT  # ... but centring makes it one (Papyan's NC2 is blind)


def test_nc1_equals_the_direct_papyan_formula_on_random_data():
    rng = np.random.default_rng(3)
    k, n, d = 4, 6, 7
    y = np.repeat(np.arange(k), n)
    Z = rng.normal(size=(k * n, d)) + 3 * rng.normal(size=(k, d))[y]
    mu = np.stack([Z[y == c].mean(0) for c in range(k)])
    muG = mu.mean(0)
    E = Z - mu[y]
    Sw = E.T @ E / (k * n)
    Sb = (mu - muG).T @ (mu - muG) / k
    direct = np.trace(Sw @ np.linalg.pinv(Sb)) / k
    s = _statistics(Z, y, k)
    assert abs(float(s["nc1"]) - direct) < 1e-9 * direct
    assert abs(float(s["within_between"]) - np.trace(Sw) / np.trace(Sb)) < 1e-12


def test_classify_thresholds_on_perturbed_arrangements():
    k, n, d = 4, 5, 8
    y = np.repeat(np.arange(k), n)
    rng = np.random.default_rng(0)
    near_etf = rotated("etf", k, n, d) + 1e-3 * rng.normal(size=(k * n, d))
    assert cm.CLASSES[int(summary(near_etf, y, k)["class"])] == "NC"
    # two classes merged into one point: the k-1 = 3rd singular direction is gone -> DC
    means = np.asarray(arrangement("etf", 3, 1, d))
    merged = np.repeat(np.vstack([means, means[:1]]), n, axis=0) + 1e-3 * rng.normal(size=(k * n, d))
    s = summary(merged, y, k)
    assert float(s["dimension_ratio"]) < cm.DC_RATIO and cm.CLASSES[int(s["class"])] == "DC"


def loop_risk(Z, y, unsup, beta, tau, psi="infonce", margin=1.0):
    """The risk of the module docstring by explicit loops (numpy): a second implementation."""
    N = len(y)
    s = Z @ Z.T
    total = 0.0
    for i in range(N):
        neg = [a for a in range(N) if (a != i if unsup else y[a] != y[i])]
        pos = [j for j in range(N) if y[j] == y[i] and j != i]
        u = np.exp(beta * s[i, neg])
        w = len(neg) * u / u.sum()
        acc = 0.0
        for j in pos:
            if psi == "infonce":
                acc += np.log1p(np.sum(w * np.exp((s[i, neg] - s[i, j]) / tau)))
            elif psi == "logistic":
                acc += np.mean(w * np.log1p(np.exp((s[i, neg] - s[i, j]) / tau)))
            else:
                acc += np.mean(w * np.maximum(0.0, s[i, neg] - s[i, j] + margin))
        total += acc / len(pos)
    return total / N


@pytest.mark.parametrize("psi", M.PSIS)
@pytest.mark.parametrize("unsup", [False, True])
def test_risk_matches_loop_implementation(psi, unsup):
    rng = np.random.default_rng(1)
    k, n = 3, 2
    y = np.repeat(np.arange(k), n)
    Z = np.asarray(normalise_features(rng.normal(size=(k * n, 4)), 1))
    got = float(risk(Z, Z, y, unsupervised=unsup, beta=1.7, tau=0.5, psi=psi))
    assert abs(got - loop_risk(Z, y, unsup, 1.7, 0.5, psi)) < 1e-12


@functools.lru_cache(maxsize=None)
def _gap_fn(normalised):
    """jit of (HSCL - SCL, HUCL - UCL) at fixed shapes k = 3, n = 2, d = 4: compiled once for the property test."""
    y = np.repeat(np.arange(3), 2)

    def gaps(Z, beta):
        r = lambda u, b: M.contrastive_risk(Z, Z, y, unsupervised=u, beta=b, tau=0.5,  # noqa: E731
                                            normalised_weights=normalised)
        return jnp.stack([r(False, beta) - r(False, 0.0), r(True, beta) - r(True, 0.0)]), r(False, 0.0)

    return jax.jit(gaps)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), beta=st.floats(0.0, 10.0), scale=st.floats(0.05, 4.0),
       code=st.integers(0, 2))
def test_hard_risks_are_bounded_below_by_plain_ones(seed, beta, scale, code):
    Z = normalise_features(scale * np.random.default_rng(seed).normal(size=(6, 4)), code)
    gaps, plain = _gap_fn(True)(Z, beta)
    # the bound is exact (Chebyshev's sum inequality); 1e-12 x max(1, risk) absorbs float64 rounding
    assert np.all(np.asarray(gaps) >= -1e-12 * max(1.0, float(plain)))


def test_lower_bound_fails_for_softening_and_for_unnormalised_weights():
    # beta < 0 favours easy negatives: below the plain risk wherever the negatives' similarities differ
    Z = normalise_features(np.random.default_rng(0).normal(size=(6, 4)), 1)
    gaps_soft, plain = _gap_fn(True)(Z, -2.0)
    assert np.all(np.asarray(gaps_soft) < -1e-3 * float(plain))
    Z = arrangement("etf", 3, 2, 4)  # negatives at cosine -1/2 < 0
    # At the ETF every supervised negative sits at the same cosine, so normalised weights are uniform
    # and HSCL = SCL exactly (the gap is rounding: -1e-17 or 0 depending on the compiled code).
    gaps_soft, plain = _gap_fn(True)(Z, -2.0)
    gaps_soft = np.asarray(gaps_soft)
    assert abs(float(gaps_soft[0])) <= 1e-12 * max(1.0, float(plain)) and float(gaps_soft[1]) < 0
    gaps_raw, _ = _gap_fn(False)(Z, 2.0)
    assert np.asarray(gaps_raw)[0] < 0  # weights exp(beta s) < 1 for s < 0: HSCL < SCL


def test_beta_zero_is_the_plain_risk_and_ucl_differs_only_by_class_collisions():
    k, n = 3, 2
    y = np.repeat(np.arange(k), n)
    Z = np.asarray(arrangement("etf", k, n, 4))
    scl = float(risk(Z, Z, y, unsupervised=False, beta=0.0, tau=1.0))
    ucl = float(risk(Z, Z, y, unsupervised=True, beta=0.0, tau=1.0))
    # at NC: SCL = log(1 + 4 e^{-3/2}); UCL adds the n-1 = 1 same-class "negative" at e^0
    assert abs(scl - np.log1p(4 * np.exp(-1.5))) < 1e-12
    assert abs(ucl - np.log1p(1 + 4 * np.exp(-1.5))) < 1e-12


@pytest.mark.slow  # one compilation of the trainer: ~5 s on an idle 2-core CPU
def test_train_compiles_once_per_grid_shape_and_seeds_are_layout_independent():
    cfg = M.UFMConfig(num_classes=2, samples_per_class=2, embed_dim=2, steps=4, record_every=2)
    a = M.train(cfg, M.grid_runs(("SCL", "HUCL"), ("sphere",), betas=(1.0,), seeds=2, lr=0.01))
    b = M.train(cfg, M.grid_runs(("UCL", "HSCL"), ("ball",), betas=(3.0,), seeds=2, lr=0.05))
    assert M._compiled(cfg, 0)._cache_size() == 1  # new losses, normalisations, hardness, lr: no recompilation
    assert a["nc1"].shape == b["nc1"].shape == (4, 3)
    # run (SCL, sphere, seed 1) alone equals its row in the grid: keys depend on the seed only
    one = M.grid_runs(("SCL",), ("sphere",), seeds=2, lr=0.01)
    one = {k: v[1:] for k, v in one.items()}
    c = M.train(cfg, one)
    np.testing.assert_allclose(c["features"][0], a["features"][1], rtol=0, atol=1e-6)  # float32 training
