"""The collapse engine's contract: the driver shows every observer every chunk and every compiled call, an
observer can stop a chunk, and compiles are counted by JAX."""
import jax
import numpy as np

from simulations.collapse import dynamics, engine, outcomes, runner

PROBLEM = engine.Problem(k=4, m=9, rule="paper", dtype="float64")
ETAS = np.array([0.5, 1.5, 3.0, 6.0, 9.0])
KEYS = runner.seed_key_data([0, 1, 2, 3, 4])


class Log(engine.Observer):
    """Records what the driver shows it: per chunk, the steps done after each call and whether it measured."""

    def __init__(self, stop_after=None):
        self.stop_after, self.chunks = stop_after, []

    def start(self, run):
        self.calls = []
        assert run.steps == 0 and run.X.shape == (run.size, PROBLEM.k, PROBLEM.n)

    def segment(self, run, records):
        self.calls.append((run.steps, None if records is None else records[0].shape))
        return self.stop_after is not None and len(self.calls) >= self.stop_after

    def end(self, run):
        self.chunks.append((self.calls, run.stopped))
        return run.size

    def result(self, parts, B):
        return int(np.sum(parts)), B


def test_every_observer_sees_every_chunk_and_every_record():
    plan = [(5, 0), (5, 2), (10, 1)]  # measured after steps 10, 15 and 25
    log = Log()
    d = engine.drive(PROBLEM, ETAS, KEYS, tau=None, plan=plan, chunk=2,
                     observers=[log, engine.Recorder(initial=True), engine.FinalState()])
    # 5 runs in chunks of 2: three chunks (the last padded), each through the whole plan
    assert d.chunk == 2 and d.steps == 3 * 25
    assert log.chunks == [([(5, None), (15, (2, 2, 4)), (25, (2, 1, 4))], False)] * 3
    assert d.results[0] == (6, 5)  # every padded run was shown; results are cut to the 5 asked for
    spectra, norms = d.results[1]
    assert spectra.shape == (5, 4, 4) and norms.shape == (5, 4)  # the initial record and the plan's three
    final = d.results[2]
    np.testing.assert_allclose(spectra[:, -1], np.linalg.svd(final, compute_uv=False), atol=1e-12)
    # the records lie at the steps the plan says: the runner's records at 0, 5, ..., 25 (to rounding:
    # its calls split the steps differently)
    ref, ref_norms, ref_final = runner.simulate_keys(4, ETAS, KEYS, m=9, steps=25, rule="paper", tau=None,
                                                     record_every=5, dtype="float64", init="sphere")
    np.testing.assert_allclose(spectra, ref[:, [0, 2, 3, 5]], atol=1e-12)
    np.testing.assert_allclose(norms, ref_norms[:, [0, 2, 3, 5]], atol=1e-12)
    np.testing.assert_allclose(final, ref_final, atol=1e-12)


def test_an_observer_that_stops_stops_every_chunk_after_that_call():
    log, other = Log(stop_after=2), Log()
    d = engine.drive(PROBLEM, ETAS, KEYS, tau=None, plan=[(7, 0)] * 5, chunk=3,
                     observers=[log, other, engine.FinalState()])
    # two chunks, each stopped after its second call: 14 steps each, and the other observer saw the same
    assert d.steps == 2 * 14
    assert log.chunks == other.chunks == [([(7, None), (14, None)], True)] * 2
    assert d.results[2].shape == (5, 9, 4)  # the state where it stopped


def test_the_status_observer_stops_runs_that_are_decided(monkeypatch):
    # k = 40 far below and far above the bound: every run is certain long before step 400
    monkeypatch.setattr(outcomes, "MIN_CHECK_ELEMENT_STEPS", 0)  # a status check every 10 steps
    k, steps = 40, 400
    etas = np.repeat([0.5, 20.0], 2)
    keys = np.tile(runner.seed_key_data([0, 1]), (2, 1))
    early = outcomes.run_outcomes(k, etas, keys, m=40, steps=steps, rule="paper", tau=None, dtype="float64")
    full = outcomes.run_outcomes(k, etas, keys, m=40, steps=steps, rule="paper", tau=None, dtype="float64",
                                 early_stop=False)
    assert early.collapsed.tolist() == full.collapsed.tolist() == [False, False, True, True]
    assert early.element_steps < full.element_steps == 4 * steps * k * k


def test_compiles_are_counted_by_jax():
    problem = engine.Problem(k=3, m=5, rule="autodiff", dtype="float32")
    before = engine.compile_count()
    engine.drive(problem, [0.5], KEYS[:1], tau=None, plan=[(3, 1)], observers=[engine.Recorder(initial=False)])
    compiled = engine.compile_count()
    assert compiled >= before + 2  # at least init and the call of three steps
    engine.drive(problem, [0.9], KEYS[1:2], tau=None, plan=[(3, 1)], observers=[engine.Recorder(initial=False)])
    assert engine.compile_count() == compiled  # new learning rate and key: the same programs
    assert runner.compile_count() == engine.compile_count()


#: the reference: dynamics.step, one run at a time, one program per rule (eagerly, one per operation)
_STEP = jax.jit(dynamics.step, static_argnames=("rule", "tau"))


def test_a_given_start_steps_in_column_form_and_its_chunks_and_calls_do_not_change_a_bit():
    # Problem.given: key_data are the starts [B, n, rows]; every rule takes its column-form step, as
    # dynamics.step does one run at a time, and neither the chunk size nor the split of the steps over
    # compiled calls changes the result.
    g = np.random.default_rng(5).standard_normal((5, 3, 3))
    starts = g / np.linalg.norm(g, axis=1, keepdims=True)  # [B, n=3, k=3] unit columns, drawn in NumPy
    for rule, tau in [("paper", None), ("infonce", 0.5)]:
        problem = engine.Problem(k=3, m=3, rule=rule, dtype="float64", given=True)
        whole = engine.drive(problem, ETAS, starts, tau=tau, plan=[(12, 0)], chunk=5,
                             observers=[engine.FinalState()]).results[0]
        # 12 steps as two calls of 6: one compiled program for both calls (5 + 7 steps compiled two)
        split = engine.drive(problem, ETAS, starts, tau=tau, plan=[(6, 0), (6, 0)], chunk=2,
                             observers=[engine.FinalState()]).results[0]
        assert whole.shape == (5, 3, 3) and np.array_equal(whole, split)
        with engine.float64_scope("float64"):
            for b in range(5):
                X = starts[b]
                for _ in range(12):
                    X = _STEP(X, ETAS[b], rule=rule, tau=tau)
                np.testing.assert_allclose(whole[b], np.asarray(X), atol=1e-12)
