"""Complete collapse = all embeddings equal (paper 001, Section 3.1): the mean's norm excludes antipodal
rank-one states; results for k >= 3 are those of the old rank-one criterion; k = 2 never collapses."""
import jax
import numpy as np
import pytest

import simulations
from simulations import metrics
from simulations.collapse import threshold as T


@jax.jit
def _rank_only_and_collapsed(X):
    """The old, rank-only reading and complete collapse of the embeddings (columns of ``X``): one program per
    shape (eagerly, each operation of the metrics was a program of its own)."""
    s = metrics.singular_spectrum(X)
    return metrics.is_completely_collapsed(s), metrics.is_completely_collapsed(s, mean_norm=metrics.mean_norm(X))


def test_antipodal_pair_is_rank_one_but_not_collapsed():
    X = np.array([[1.0, -1.0], [0.0, 0.0]])
    rank_one, collapsed = _rank_only_and_collapsed(X)
    assert bool(rank_one)  # the old, rank-only reading
    assert not bool(collapsed)
    Y = np.array([[1.0, 1.0, 1.0], [0.0, 1e-5, -1e-5]])
    Y = Y / np.linalg.norm(Y, axis=0)
    assert bool(_rank_only_and_collapsed(Y)[1])


def _spectrum_only(s):
    return metrics.is_completely_collapsed(s)


@pytest.mark.parametrize("k", [3, 5, 10])
def test_same_collapse_flags_as_the_rank_one_criterion_for_k_at_least_3(k):
    etas = [0.5, 1.5, 2.2, 3.0, 4.1, 6.0, 12.0, 32.0]
    new = simulations.simulate(k, etas, m=20, seeds=range(4), steps=500)
    old = simulations.simulate(k, etas, m=20, seeds=range(4), steps=500, collapse_criterion=_spectrum_only)
    assert (new.collapsed == old.collapsed).all()
    assert new.collapsed.any() and not new.collapsed.all()  # both outcomes occur: the comparison means something


def test_same_threshold_as_the_rank_one_criterion_k3(monkeypatch):
    # m = 5, 2 trials, 100 steps: the search of simulations.collapse.threshold.collapse_threshold's doctest
    # (its compiled programs are shared, issue 22; the criterion is applied to what they return).
    kw = dict(m=5, trials=2, steps=100, rtol=0.02)
    new = T.collapse_threshold(3, **kw)
    original = metrics.is_completely_collapsed
    monkeypatch.setattr(metrics, "is_completely_collapsed", lambda s, rel_tol=1e-3, mean_norm=None: original(s, rel_tol))
    old = T.collapse_threshold(3, **kw)
    assert new.evaluations == old.evaluations and new.threshold == old.threshold


def test_k2_never_completely_collapses():
    # k = 2 (outside Theorem 1's k > 2): the paper rule's deviations from collapse grow by
    # (1 + eta)/|1 - eta| > 1 at every eta, and the bound 2(k-1)/(k-2) is infinite; the runs end at the
    # antipodal pair (cosine -1), which is no longer counted as collapsed.
    r = T.collapse_threshold(2, m=10, trials=2, steps=300, rtol=0.05)
    assert r.bracket[1] == float("inf") and r.threshold == max(T.NEUTRAL_GRID)
