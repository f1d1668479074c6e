"""Early stop and certificates of the fast threshold path: same answers as stepping every run to the end."""
import json

import jax
import numpy as np
import pytest

import simulations
from simulations import metrics
from simulations.collapse import outcomes, runner, threshold
from simulations.collapse.dynamics import paper_step_rows
from cpu_devices import run_with_cpu_devices


@pytest.mark.parametrize("k, m", [(6, 12), (40, 40)])
def test_fast_search_gives_the_reference_search_answers(monkeypatch, k, m):
    # The optimised search (early stop, certificates instead of the SVD, per-eta batches) against the
    # unoptimised one in the same process: every evaluation's counts, hence the threshold and bracket,
    # must be identical (no tolerance: the outcomes are the same bits of information). At k = 40 the
    # spread certificate stops the passing runs of the grid too.
    monkeypatch.setattr(outcomes, "MIN_CHECK_ELEMENT_STEPS", 0)  # check every steps/40 even at toy size
    kw = dict(m=m, trials=3, steps=400, rtol=1e-2)
    fast = simulations.collapse_threshold(k, **kw)
    reference = simulations.collapse_threshold(k, **kw, early_stop=False)
    assert fast.evaluations == reference.evaluations
    assert (fast.threshold, fast.bracket) == (reference.threshold, reference.bracket)
    assert fast.rounds >= 1
    # the early stop did save work (runs above the threshold collapse long before step 400)
    assert fast.element_steps < fast.element_steps_full


TWO_DEVICES = """
import json, sys
from simulations.collapse import outcomes
import simulations
outcomes.MIN_CHECK_ELEMENT_STEPS = 0
r = simulations.collapse_threshold(40, m=40, trials=3, steps=400, rtol=1e-2)
json.dump({"evaluations": r.evaluations, "threshold": r.threshold}, sys.stdout)
"""


def test_search_on_two_cpu_devices_gives_the_one_device_evaluations(monkeypatch):
    # The status programs (early stop, the spread certificate's conditional) under shard_map with two
    # devices: the same evaluations as on one device (k = 40, where every certificate fires).
    two = json.loads(run_with_cpu_devices(TWO_DEVICES, devices=2, timeout=300))
    monkeypatch.setattr(outcomes, "MIN_CHECK_ELEMENT_STEPS", 0)
    one = simulations.collapse_threshold(40, m=40, trials=3, steps=400, rtol=1e-2)
    assert [tuple(e) for e in two["evaluations"]] == list(one.evaluations)
    assert two["threshold"] == one.threshold


def _status_and_final_outcome(k, etas, keys, *, m, steps, dtype, batch=None):
    """Every run stepped to the end, its sticky status watched by an observer: ``(status, collapsed, finite)``
    (collapsed and finite of the final state); ``batch``: runs per compiled call, as in run_outcomes."""
    watch = outcomes.StickyStatus("paper", metrics.DEFAULT_COLLAPSE_RTOL, stop_when_decided=False)
    out = outcomes.run_outcomes(k, etas, keys, m=m, steps=steps, rule="paper", tau=None, dtype=dtype,
                                early_stop=False, observers=[watch], batch=batch)
    return out.observed[0], out.collapsed, out.finite


def _diameter(R):
    return float(np.max(np.linalg.norm(R[:, None, :] - R[None, :, :], axis=-1)))


@jax.jit
def _bound_growth_and_step(R, s, lam, eta):
    """``top_eigenvalue_bound(R)``, ``_mean_growth(s, lam, eta, k)`` and one paper step of ``R``: one program
    per state shape (eagerly, every operation of the three was a program of its own)."""
    return outcomes.top_eigenvalue_bound(R), outcomes._mean_growth(s, lam, eta, R.shape[-2]), paper_step_rows(R, eta)


_DIAMETER_CERTIFICATE = jax.jit(outcomes.diameter_certificate)
_PAPER_STEP = jax.jit(paper_step_rows)


@pytest.mark.slow
def test_certified_runs_end_as_certified(monkeypatch):
    # Every run is stepped to the end while the status is tracked: a run certified collapsed at some
    # chunk boundary must be collapsed (by the SVD criterion) at the last step. The etas straddle the
    # bound 2(k-1)/(k-2) = 2.286 at k = 8, up to just above it, where collapse is slowest.
    k, m, steps = 8, 16, 600
    etas = np.repeat([1.5, 2.2, 2.3, 2.35, 2.5, 3.0, 6.0, 20.0], 4)
    keys = np.tile(threshold.trial_key_data(3, 4), (8, 1))
    monkeypatch.setattr(outcomes, "MIN_CHECK_ELEMENT_STEPS", 0)
    status, collapsed, finite = _status_and_final_outcome(k, etas, keys, m=m, steps=steps, dtype="float64")
    certified = status == outcomes.COLLAPSED
    assert certified.sum() >= 12  # the certificate does fire (else this test would test nothing)
    assert collapsed[certified].all() and finite.all()
    # and the final outcomes equal the reference path's (SVD of every final state)
    spectra, norms, final = runner.simulate_keys(k, etas, keys, m=m, steps=steps, rule="paper", tau=None,
                                                 record_every=None, dtype="float64", init="sphere")
    expected = metrics.is_completely_collapsed(spectra[:, -1], mean_norm=norms[:, -1])
    np.testing.assert_array_equal(collapsed, np.asarray(expected))


def test_runs_certified_spread_end_finite_and_not_collapsed(monkeypatch):
    # The third certificate: a run marked STAYS_SPREAD at a chunk boundary must end finite and not
    # completely collapsed when it is stepped to the end anyway. k = 40 (bound 2.053), etas from far
    # below the bound up to just above it; float64 and float32 (whose rounding allowance is 2^29 times
    # larger). Measured: all 12 runs at eta <= 1.4 certified in both, none at 1.8 or above.
    k, m, steps = 40, 40, 400
    etas = np.repeat([0.25, 0.5, 1.0, 1.4, 1.8, 2.0, 2.1, 3.0], 3)
    keys = np.tile(threshold.trial_key_data(5, 3), (8, 1))
    monkeypatch.setattr(outcomes, "MIN_CHECK_ELEMENT_STEPS", 0)
    # batch=3 (one eta's 3 trials per compiled call), as collapse_threshold(40, m=40, trials=3, steps=400) runs
    # in test_fast_search_gives_the_reference_search_answers[40-40]: in float64 its init, step, status and
    # decision programs serve this test too (a 24-run batch compiled a second set)
    for dtype in ("float64", "float32"):
        status, collapsed, finite = _status_and_final_outcome(k, etas, keys, m=m, steps=steps, dtype=dtype, batch=3)
        spread = status == outcomes.STAYS_SPREAD
        assert spread.sum() >= 9, (dtype, status)  # it does fire, below the bound
        assert finite[spread].all() and not collapsed[spread].any()
        assert (etas[spread] < 2 * (k - 1) / (k - 2)).all()


def test_spread_bound_holds_step_by_step():
    # The inequality behind the spread certificate, s' <= s F(s, Lambda), and Lambda' <= Lambda (|A|/n_-)^2,
    # with the exact top singular value, on random spread states, tight clusters and half-collapsed
    # states (large Lambda), for etas below and above the bound.
    rng = np.random.default_rng(2)
    checked = 0
    with jax.enable_x64(True):
        for k, n in [(10, 10), (40, 25), (200, 200)]:
            for kind in ("spread", "cluster", "half"):
                R = rng.standard_normal((k, n))
                if kind == "cluster":
                    R = rng.standard_normal(n) + 0.3 * R / np.sqrt(n)
                if kind == "half":
                    R[: k // 2] = R[0] + 0.01 * R[: k // 2]
                R = R / np.linalg.norm(R, axis=1, keepdims=True)
                for eta in (0.1, 0.7, 1.0, 1.9, 2.5, 6.0):
                    s = np.linalg.norm(R.sum(0))
                    lam = np.linalg.norm(R, 2) ** 2
                    bound, growth, R1 = _bound_growth_and_step(R, s, lam, eta)
                    assert lam <= float(bound)
                    F, n_minus, norm_a = (float(v) for v in growth)
                    R1 = np.asarray(R1)
                    if np.isfinite(F):  # else c s >= 1 + c: the bound claims nothing
                        checked += 1
                        assert np.linalg.norm(R1.sum(0)) <= s * F * (1 + 1e-12), (k, kind, eta)
                        assert np.linalg.norm(R1, 2) ** 2 <= lam * (norm_a / n_minus) ** 2 * (1 + 1e-12)
    assert checked >= 36  # measured: 39 of the 54 (state, eta) pairs; the others are clusters at large eta


@pytest.mark.slow
def test_diameter_never_grows_after_the_certificate():
    # The proof in simulations.collapse.outcomes: once D <= d*/2 the diameter is non-increasing.
    # Checked on random tight clusters at several etas above the bound, with the exact diameter.
    with jax.enable_x64(True):
        rng = np.random.default_rng(0)
        for k, eta in [(3, 4.5), (10, 2.4), (30, 2.2), (30, 8.0)]:
            c = eta / (k - 1)
            d_star = (abs(1 - eta) - (1 + c)) / eta
            assert d_star > 0
            z = rng.standard_normal(k)
            R = z / np.linalg.norm(z) + 0.05 * d_star / np.sqrt(k) * rng.standard_normal((k, k))
            R = R / np.linalg.norm(R, axis=1, keepdims=True)
            assert bool(_DIAMETER_CERTIFICATE(R, eta, rel_tol=1.0))
            d = _diameter(R)
            total = R.sum(0)
            D = 2 * np.max(np.linalg.norm(R - total / np.linalg.norm(total), axis=1))
            q = (1 + c) / (abs(1 - eta) - eta * D)  # the proven contraction factor per step
            assert d <= D and q < 1
            for r in range(1, 201):
                R = np.asarray(_PAPER_STEP(R, eta))
                new = _diameter(R)
                assert new <= d * (1 + 1e-12) + 1e-15  # never grows (rounding only)
                assert new <= q**r * D * (1 + 1e-9) + 1e-15  # and shrinks at least geometrically
                d = new


@jax.jit
def _svd_certificates_and_decision(R):
    """The SVD's answer, ``spectrum_certificates`` and ``final_collapse`` of ``R``: one program per shape, for all
    ratios."""
    svd = metrics.is_completely_collapsed(metrics.singular_spectrum(R))
    return svd, outcomes.spectrum_certificates(R), outcomes.final_collapse(R)


@pytest.mark.parametrize("ratio", [0.3, 1e-3, 1e-4] + [pytest.param(r, marks=pytest.mark.slow)
                                                      for r in (2.1e-3, 1.2e-3, 8e-4, 4e-4, 0.0)])
def test_spectrum_certificates_never_contradict_the_svd(ratio):
    # Matrices with a prescribed sigma_2 / sigma_1 (and a smaller tail of Frobenius norm <= sigma_2):
    # a certificate, when it fires, agrees with sigma_2 < 1e-3 sigma_1 from the SVD, and
    # final_collapse always agrees with it.
    rng = np.random.default_rng(int(ratio * 1e7) + 1)
    with jax.enable_x64(True):
        for k, n in [(5, 5), (40, 30), (120, 120)]:
            U, _ = np.linalg.qr(rng.standard_normal((k, k)))
            V, _ = np.linalg.qr(rng.standard_normal((n, n)))
            s = np.zeros(min(k, n))
            s[0], s[1] = 3.0, 3.0 * ratio
            s[2:] = 3.0 * ratio * rng.uniform(0, 1, len(s) - 2) / np.sqrt(len(s))
            R = U[:, : len(s)] * s @ V[:, : len(s)].T
            collapsed, (yes, no), decided = _svd_certificates_and_decision(R)
            collapsed, yes, no = bool(collapsed), bool(yes), bool(no)
            assert not (yes and no)
            assert (not yes or collapsed) and (not no or not collapsed)
            assert bool(decided) == (collapsed and 1 - float(np.linalg.norm(R.mean(0))) < 1e-3)
            if ratio >= 2.1e-3 or ratio <= 1e-4:  # far from the boundary: a certificate settles it
                assert yes or no


def test_search_compiles_a_fixed_set_of_programs():
    # Grid and refinement rounds share the compiled programs: a second search of the same shape
    # (new seed, hence new learning rates and keys) compiles nothing.
    simulations.collapse_threshold(4, m=7, trials=2, steps=60, rtol=1e-2, seed=1)
    before = runner.compile_count()
    r = simulations.collapse_threshold(4, m=7, trials=2, steps=60, rtol=1e-2, seed=2)
    assert r.rounds >= 1 and runner.compile_count() == before


@pytest.mark.slow
@pytest.mark.parametrize("k", [10, 30, 100])
def test_float32_search_finds_the_float64_threshold(k):
    # float32 halves the memory traffic of a step; it may be used for a search only where it finds the
    # same threshold as float64 to the search's tolerance. Measured: identical at k = 3, 10, 30, 100,
    # 300 (m = max(100, k), paper settings); asserted here to the tolerance, rtol * hi.
    a = simulations.collapse_threshold(k, m=100)
    b = simulations.collapse_threshold(k, m=100, dtype="float32")
    assert abs(a.threshold - b.threshold) <= a.rtol * a.bracket[1]


@pytest.mark.slow
def test_fast_search_equals_reference_in_the_paper_setting():
    # k = 100, m = 100, 5 trials, 2000 steps (Figure 3 right's largest k): every evaluation equal.
    fast = simulations.collapse_threshold(100)
    reference = simulations.collapse_threshold(100, early_stop=False)
    assert fast.evaluations == reference.evaluations
    assert fast.element_steps < 0.6 * fast.element_steps_full  # measured 2.0e9 of 3.9e9
