"""Metrics on hand-built matrices whose answers are known in closed form.

The metrics run jitted, as the runners use them: eagerly, each of their operations is a program of its
own (traced, lowered and looked up once per shape), several times the programs of the jitted metric."""
import jax
import numpy as np

from simulations import metrics

is_completely_collapsed = jax.jit(metrics.is_completely_collapsed)
singular_spectrum = jax.jit(metrics.singular_spectrum)
mean_norm = jax.jit(metrics.mean_norm)
numerical_rank = jax.jit(metrics.numerical_rank)
effective_rank = jax.jit(metrics.effective_rank)
pairwise_cosines = jax.jit(metrics.pairwise_cosines)
etf_deviation = jax.jit(metrics.etf_deviation)


def test_collapse_criterion_default_is_second_over_first_below_1e_3():
    assert metrics.DEFAULT_COLLAPSE_RTOL == 1e-3
    assert bool(is_completely_collapsed(np.array([1.0, 0.9e-3, 0.0])))
    assert not bool(is_completely_collapsed(np.array([1.0, 1.1e-3, 0.0])))
    assert bool(is_completely_collapsed(np.array([1.0, 1e-2]), rel_tol=0.1))  # overridable


def test_nonfinite_spectrum_is_not_collapsed():
    assert not bool(is_completely_collapsed(np.array([np.nan, 0.0, 0.0])))


def test_colinear_embeddings_with_an_antipode_are_rank_one_but_not_completely_collapsed():
    # Complete collapse means all embeddings equal (README, "Complete collapse now means ..."):
    # sigma_2 < 1e-3 sigma_1 *and* |mean| > 1 - 1e-3. One antipode keeps the rank at one but the
    # mean's norm at 1/2.
    z = np.array([0.6, 0.8, 0.0])
    X = np.stack([z, -z, z, z], axis=1)
    s, n = singular_spectrum(X), mean_norm(X)
    assert bool(is_completely_collapsed(s))  # the spectrum alone: rank one
    assert abs(float(n) - 0.5) < 1e-12
    assert not bool(is_completely_collapsed(s, mean_norm=n))
    equal = np.stack([z, z, z, z], axis=1)
    assert bool(is_completely_collapsed(singular_spectrum(equal), mean_norm=mean_norm(equal)))


def test_ranks_and_mean_norm():
    s = np.array([3.0, 2.0, 1e-9, 0.0])
    assert int(numerical_rank(s, rtol=1e-6)) == 2
    assert float(effective_rank(np.array([1.0, 0.0, 0.0]))) == 1.0
    assert abs(float(effective_rank(np.ones(5))) - 5.0) < 1e-12  # exp(log 5): rounding only
    assert abs(float(mean_norm(np.eye(3))) - np.sqrt(3) / 3) < 1e-15


def test_etf_deviation_zero_for_simplex_and_positive_otherwise():
    k = 5
    etf = np.eye(k) - 1.0 / k  # centred standard basis: a simplex ETF (after normalisation)
    assert float(etf_deviation(etf)) < 1e-14
    c = pairwise_cosines(etf)
    np.testing.assert_allclose(np.asarray(c), -1.0 / (k - 1), atol=1e-14)
    assert float(etf_deviation(np.eye(k))) == 0.25  # orthogonal: |0 - (-1/4)|
