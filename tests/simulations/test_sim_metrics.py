"""Metrics on hand-built matrices whose answers are known in closed form."""
import jax.numpy as jnp
import numpy as np

from simulations import metrics


def test_collapse_criterion_default_is_second_over_first_below_1e_3():
    assert metrics.DEFAULT_COLLAPSE_RTOL == 1e-3
    assert bool(metrics.is_completely_collapsed(jnp.array([1.0, 0.9e-3, 0.0])))
    assert not bool(metrics.is_completely_collapsed(jnp.array([1.0, 1.1e-3, 0.0])))
    assert bool(metrics.is_completely_collapsed(jnp.array([1.0, 1e-2]), rel_tol=0.1))  # overridable


def test_nonfinite_spectrum_is_not_collapsed():
    assert not bool(metrics.is_completely_collapsed(jnp.array([jnp.nan, 0.0, 0.0])))


def test_colinear_embeddings_with_an_antipode_are_rank_one_but_not_completely_collapsed():
    # Complete collapse means all embeddings equal (README, "Complete collapse now means ..."):
    # sigma_2 < 1e-3 sigma_1 *and* |mean| > 1 - 1e-3. One antipode keeps the rank at one but the
    # mean's norm at 1/2.
    z = jnp.array([0.6, 0.8, 0.0])
    X = jnp.stack([z, -z, z, z], axis=1)
    s, n = metrics.singular_spectrum(X), metrics.mean_norm(X)
    assert bool(metrics.is_completely_collapsed(s))  # the spectrum alone: rank one
    assert abs(float(n) - 0.5) < 1e-12
    assert not bool(metrics.is_completely_collapsed(s, mean_norm=n))
    equal = jnp.stack([z, z, z, z], axis=1)
    assert bool(metrics.is_completely_collapsed(metrics.singular_spectrum(equal), mean_norm=metrics.mean_norm(equal)))


def test_ranks_and_mean_norm():
    s = jnp.array([3.0, 2.0, 1e-9, 0.0])
    assert int(metrics.numerical_rank(s, rtol=1e-6)) == 2
    assert float(metrics.effective_rank(jnp.array([1.0, 0.0, 0.0]))) == 1.0
    assert abs(float(metrics.effective_rank(jnp.ones(5))) - 5.0) < 1e-12  # exp(log 5): rounding only
    assert abs(float(metrics.mean_norm(jnp.eye(3))) - np.sqrt(3) / 3) < 1e-15


def test_etf_deviation_zero_for_simplex_and_positive_otherwise():
    k = 5
    etf = np.eye(k) - 1.0 / k  # centred standard basis: a simplex ETF (after normalisation)
    assert float(metrics.etf_deviation(jnp.asarray(etf))) < 1e-14
    c = metrics.pairwise_cosines(jnp.asarray(etf))
    np.testing.assert_allclose(np.asarray(c), -1.0 / (k - 1), atol=1e-14)
    assert float(metrics.etf_deviation(jnp.eye(k))) == 0.25  # orthogonal: |0 - (-1/4)|
