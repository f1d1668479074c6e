"""The runner: Theorem 1 below/at/above the bound, rank-(k-1) end state, determinism, compilation,
float32 vs float64, the column-space reduction against direct stepping, 1 vs 2 vs 4 devices,
non-finite runs."""
import json

import jax
import numpy as np
import pytest

import simulations
import theory
from cpu_devices import run_with_cpu_devices
from simulations import metrics
from simulations.collapse import runner

# The metrics the tests apply to a run's result, jitted (as the runner applies them): called eagerly,
# each of their jnp operations was a program of its own to trace, lower and compile.
singular_spectrum = jax.jit(metrics.singular_spectrum)
pairwise_cosines = jax.jit(metrics.pairwise_cosines)
etf_deviation = jax.jit(metrics.etf_deviation)

# Shared programs (issue 22: every distinct shape/static setting is a compiled program of its own, paid
# in every cold CI run). Tests whose point does not depend on the particular size use one of these, so
# keep them when editing a test here:
#  * PAPER: k = 10, m = 100, 3 learning rates x 5 seeds, 2000 steps, recorded every 500 (Theorem 1's
#    setting; test_theorem1[10], test_rank_k_minus_1..., float64 side of test_float32_agrees...; the
#    k = 3 and k = 30 cases and tests/claims/test_properties.py's above/below-the-bound runs use the same
#    batch, steps and records).
#  * SMALL: k = 6, m = 12, 200 steps recorded every 50, 2 seeds x 3 rates (test_several_devices' `one`,
#    test_same_seed..., test_new_learning_rate_grid...) or one run (test_same_seed's `c`,
#    tests/simulations/test_sim_determinism.py's `alone`).
#  * test_record_schedule_and_shapes / test_nonfinite...: k = 4, m = 3, 2 runs, 10 steps recorded every 4.
#  * test_other_rules... / test_column_space...: k = 6, m = 40, one run, 60 steps recorded every 20.
PAPER = dict(m=100, steps=2000, record_every=500)
SMALL = dict(m=12, steps=200, record_every=50)


@pytest.mark.parametrize("k", [3, 10, 30])
def test_theorem1_below_at_and_above_the_bound(k):
    # Theorem 1 (paper 001, Section 3.1, Appendix D): eta <= eta_max(k) keeps the mean from growing,
    # so no complete collapse below and just under the bound; the paper's Figure 3 shows collapse just
    # above it. The setting of the paper: m = 100, 5 trials, 2000 steps (PAPER: recorded every 500 steps,
    # which leaves the final state and verdicts as they are, so that other tests share the program).
    bound = theory.eta_max(k)
    r = simulations.simulate(k, [0.5 * bound, 0.99 * bound, 1.05 * bound], seeds=range(5), **PAPER)
    assert r.finite.all()
    assert not r.collapsed[0].any(), "collapse at 0.5 x eta_max"
    assert not r.collapsed[1].any(), "collapse at 0.99 x eta_max"
    assert r.collapsed[2].all(), "no collapse at 1.05 x eta_max"


def test_rank_k_minus_1_end_state_at_moderate_eta():
    # Section 3.2, Figure 4 / Lemma 2: below the bound the embeddings end in a rank-(k-1) subspace
    # and are not equiangular. Criterion for "rank k-1": sigma_k / sigma_1 below 1e-10 (float64 SVD
    # resolves ~1e-15, so this is far above rounding but far below any genuine direction), while
    # sigma_{k-1} / sigma_1 stays above 1e-3 (the complete-collapse criterion's scale).
    # Three moderate rates x five seeds: the PAPER program of test_theorem1[10] (was 2 rates x 3 seeds).
    k = 10
    r = simulations.simulate(k, [1.0, 1.25, 1.5], seeds=range(5), **PAPER)
    s = r.spectra[..., -1, :]
    assert (s[..., -1] / s[..., 0] < 1e-10).all()
    assert (s[..., -2] / s[..., 0] > 1e-3).all()
    assert (np.diff(r.spectra[..., -1], axis=-1) <= 1e-12).all()  # last singular value never grows
    cos = np.asarray(pairwise_cosines(r.final))
    # "not all equal": the spread of the pairwise cosines is far from 0 (an ETF would have 0);
    # 0.01 is ten times the float64 noise one would ever see and far below the observed ~0.1.
    assert (cos.std(axis=-1) > 1e-2).all()
    assert (np.asarray(etf_deviation(r.final)) > 1e-2).all()


def test_same_seed_same_numbers_and_layout_independence():
    # SMALL programs: a and b are test_several_devices' `one`; c is a one-run batch.
    a = simulations.simulate(6, [0.8, 2.0, 2.6], seeds=(0, 7), **SMALL)
    b = simulations.simulate(6, [0.8, 2.0, 2.6], seeds=(0, 7), **SMALL)
    np.testing.assert_array_equal(a.spectra, b.spectra)
    np.testing.assert_array_equal(a.final, b.final)
    # A run's result does not depend on which other runs share the batch (bitwise, up to XLA
    # vectorisation rounding: 1e-13 on unit vectors).
    c = simulations.simulate(6, [2.6], seeds=(7,), **SMALL)
    np.testing.assert_allclose(c.final[0, 0], a.final[2, 1], atol=1e-13)


def test_new_learning_rate_grid_does_not_recompile():
    # SMALL, 3 rates x 2 seeds (test_several_devices' `one`): compiled before or here, never after `before`.
    simulations.simulate(6, [0.3, 0.6, 0.9], seeds=(0, 1), **SMALL)
    before = runner.compile_count()
    simulations.simulate(6, [1.3, 2.6, 3.9], seeds=(5, 6), **SMALL)
    assert runner.compile_count() == before


def test_record_schedule_and_shapes():
    r = simulations.simulate(4, [0.5], m=3, seeds=(0, 1), steps=10, record_every=4)
    assert r.record_steps.tolist() == [0, 4, 8, 10]
    assert r.spectra.shape == (1, 2, 4, 3) and r.mean_norm.shape == (1, 2, 4) and r.final.shape == (1, 2, 3, 4)
    last = np.asarray(singular_spectrum(r.final))
    np.testing.assert_allclose(r.spectra[:, :, -1], last, atol=1e-14)  # last record = final state
    assert (np.diff(r.spectra, axis=-1) <= 0).all()  # descending


def test_float32_agrees_with_float64():
    # The PAPER setting: the float64 side is test_theorem1[10]'s run (program shared).
    k = 10
    bound = theory.eta_max(k)
    lrs = [0.5 * bound, 0.99 * bound, 1.05 * bound]
    a = simulations.simulate(k, lrs, seeds=range(5), dtype="float32", **PAPER)
    b = simulations.simulate(k, lrs, seeds=range(5), dtype="float64", **PAPER)
    assert a.final.dtype == np.float32 and b.final.dtype == np.float64
    np.testing.assert_array_equal(a.collapsed, b.collapsed)
    # 1e-5 = about 100 float32 epsilons: rounding of a unit-norm state accumulated over 2000 steps of
    # a non-expanding map (the measured gap is ~1e-6: 1.7e-6 in the final states, 6.8e-7 in the spectra).
    np.testing.assert_allclose(a.spectra, b.spectra, atol=1e-5)
    np.testing.assert_allclose(a.final, b.final, atol=1e-5)


def test_nonfinite_run_is_reported_and_not_counted_as_collapsed():
    # eta = 1e200 overflows (eta/(k-1))^2 to inf: the new norms are inf, the columns become 0, then NaN.
    # The program of test_record_schedule_and_shapes (k = 4, m = 3, two runs, 10 steps recorded every 4).
    r = simulations.simulate(4, [0.5, 1e200], m=3, seeds=(0,), steps=10, record_every=4)
    assert r.finite.tolist() == [[True], [False]]
    assert r.collapsed.tolist() == [[False], [False]]


def test_other_rules_and_gaussian_init_run():
    # k = 6, m = 40, one run, 60 steps recorded every 20: the step/measure programs of
    # test_column_space_reduction... (only the Gaussian start is a program of its own).
    for rule, tau in [("autodiff", None), ("infonce", 0.5)]:
        r = simulations.simulate(6, [0.5], m=40, seeds=(0,), steps=60, record_every=20, rule=rule, tau=tau,
                                 init="gaussian")
        assert r.finite.all()
        np.testing.assert_allclose(np.linalg.norm(r.final, axis=-2), 1.0, atol=1e-13)


@pytest.mark.parametrize(
    "kwargs",
    [dict(k=1), dict(lrs=[0.0]), dict(lrs=[float("nan")]), dict(lrs=[]), dict(m=0), dict(steps=0),
     dict(seeds=(-1,)), dict(rule="sgd"), dict(rule="infonce"), dict(dtype="float16"), dict(init="ones"),
     dict(record_every=0), dict(collapse_criterion=2.0)],
)
def test_simulate_rejects_bad_input(kwargs):
    args = dict(k=3, lrs=[0.5]) | kwargs
    with pytest.raises(ValueError):
        simulations.simulate(args.pop("k"), args.pop("lrs"), **args)


def test_one_step_mean_shift_matches_theory_at_large_m():
    # theory.mean_shift_factor is exact as m -> infinity; at m = 2000 the per-vector norms concentrate
    # within ~1/sqrt(m) ~ 2%, so the measured ratio is within 5% of the formula (2.5x that spread).
    etas = [0.5, 1.5, 2.5]
    r = simulations.one_step_mean_shift(30, etas, m=2000, seeds=range(4))
    expected = np.asarray(theory.mean_shift_factor(np.asarray(etas), 30))
    np.testing.assert_allclose(r.mean(axis=1), expected, rtol=0.05)


@pytest.mark.parametrize("rule, tau, eta", [("paper", None, 1.5), ("autodiff", None, 1.5), ("infonce", 0.5, 0.3)])
def test_column_space_reduction_matches_stepping_the_full_embeddings(rule, tau, eta):
    # k < m: the runner steps the k x k coordinates R of X0 = Q R and returns Q R_T. Stepping the
    # m x k embeddings themselves with the public rule must give the same trajectory to rounding.
    from simulations.collapse import dynamics

    k, m, steps = 6, 40, 60
    r = simulations.simulate(k, [eta], m=m, seeds=(3,), steps=steps, rule=rule, tau=tau, record_every=20)
    X = jax.jit(runner.initial_embeddings, static_argnums=(1, 2))(jax.random.key(3), k, m)
    # The public rule jitted once (eagerly, each of its operations was a program of its own).
    step = jax.jit(dynamics.step, static_argnames=("rule", "tau"))
    spectra = [np.asarray(singular_spectrum(X))]
    for t in range(1, steps + 1):
        X = step(X, eta, rule=rule, tau=tau)
        if t % 20 == 0:
            spectra.append(np.asarray(singular_spectrum(X)))
    # 1e-11: 60 contracting steps of rounding (~1e-16 each) in a different basis; a wrong reduction
    # (e.g. a missing basis change) is off by O(1).
    np.testing.assert_allclose(r.final[0, 0], np.asarray(X), atol=1e-11)
    np.testing.assert_allclose(r.spectra[0, 0], np.stack(spectra), atol=1e-11)


_SUBPROCESS = r"""
import json, sys, simulations
k, m = int(sys.argv[1]), int(sys.argv[2])
r = simulations.simulate(k, [0.8, 2.0, 2.6], m=m, seeds=(0, 7), steps=200, record_every=50)
import jax
print(json.dumps({"devices": jax.device_count(), "spectra": r.spectra.tolist(),
                  "collapsed": r.collapsed.tolist(), "final": r.final.tolist()}))
"""


@pytest.mark.parametrize("devices, k, m", [(4, 6, 12), pytest.param(2, 30, 100, marks=pytest.mark.slow)])
def test_several_devices_same_numbers_as_one(devices, k, m):
    # (2, 30, 100): six runs, three per device, recorded. jaxlib's batched SVD once deadlocked here
    # (both devices waiting on the thread pool they occupied); the timeout turns a hang into a failure.
    # Slow (a second subprocess of about 9 s); (4, 6, 12) checks the same sharding path in the default run.
    out = run_with_cpu_devices(_SUBPROCESS, str(k), str(m), devices=devices, timeout=240)
    several = json.loads(out.strip().splitlines()[-1])
    assert several["devices"] == devices
    one = simulations.simulate(k, [0.8, 2.0, 2.6], m=m, seeds=(0, 7), steps=200, record_every=50)
    assert several["collapsed"] == one.collapsed.tolist()
    # 1e-12: same per-run program on every device; only the batch size per device differs, which can
    # change how XLA vectorises reductions (last-bit differences), never the maths.
    np.testing.assert_allclose(np.asarray(several["spectra"]), one.spectra, atol=1e-12)
    np.testing.assert_allclose(np.asarray(several["final"]), one.final, atol=1e-12)


def test_chunked_batches_give_the_same_numbers(monkeypatch):
    # Large batches run in equal chunks; chunking must not change any run (each run has its own key).
    # `whole` is the SMALL program of test_several_devices' `one` (one chunk of 6 runs).
    from simulations.collapse import engine

    whole = simulations.simulate(6, [0.8, 2.0, 2.6], seeds=(0, 7), **SMALL)
    # engine.chunk_size reads the engine's constant (patching runner's re-exported name changed nothing).
    monkeypatch.setattr(engine, "CHUNK_ELEMENTS", 6 * 6 * 4)  # chunks of 4 runs, last one padded
    assert engine.chunk_size(6, 6, 6, 1) == 4
    chunked = simulations.simulate(6, [0.8, 2.0, 2.6], seeds=(0, 7), **SMALL)
    np.testing.assert_allclose(chunked.final, whole.final, atol=1e-13)  # vectorisation rounding only


_REPEATED_RECORDS = r"""
import numpy as np, simulations
for i in range(200):
    simulations.simulate(30, np.linspace(0.5, 2.5, 40), m=100, seeds=(i, i + 1), steps=10, record_every=5)
print("ok")
"""


@pytest.mark.slow  # a 200-call stress run (about 12 s); recorded runs on one device are in the default run too
def test_recorded_runs_do_not_deadlock_on_one_device():
    # The start's QR and the first record's factorisation are independent, so XLA runs them at once;
    # batched (vmapped) they deadlocked jaxlib 0.10's LAPACK thread-pool fan-out on 2 cores within
    # 200 calls like these (measured with the old program: timeout; with lax.map: 200 calls in ~6 s).
    assert run_with_cpu_devices(_REPEATED_RECORDS, devices=1, timeout=180).strip() == "ok"

