"""The readings grid and the network learning-rate sweep (simulations.training.readings)."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simulations.training import readings as R
from simulations.training.synthetic import SyntheticConfig, make_synthetic_data


def test_traced_temperature_changes_the_trained_network():
    # tau is a traced point argument: two temperatures in one program give different runs. (The
    # doctest's program: 2 points x 2 seeds, n = 30, one step, so the suite compiles it once.)
    r = R.run_readings(["infonce"], [{"optimizer": "sgd", "learning_rate": 1.0, "steps": 1, "lambda": 0.0},
                                     {"optimizer": "sgd", "learning_rate": 1.0, "steps": 1, "lambda": 0.0, "tau": 0.1}],
                       2, R.Setup(n=30, batch_size=None, steps=1))
    assert r["effective_rank"].shape == (1, 2, 2, 1, 3)
    assert np.all(r["effective_rank"][0, 0, :, 0, 0] != r["effective_rank"][0, 1, :, 0, 0])


def test_lambda_scale_sum_is_the_default_and_mean_is_another_run():
    # lambda_scale is a traced point flag: "sum" (Eq. 4) is the default, bit for bit; "mean" (the authors'
    # released loss) weighs the prototype term ~1/|S| as much, so the run differs. Each loss gets its own points.
    # Two calls of two points each on the doctest's program (2 points x 2 seeds, n = 30, one step), the one
    # test_traced_temperature_changes_the_trained_network also runs: no program of this test's own.
    setup = R.Setup(n=30, batch_size=None, steps=1)
    same = R.run_readings(["infonce"], {"infonce": [{"steps": 1}, {"steps": 1, "lambda_scale": "sum"}]}, 2, setup)
    ranks = same["effective_rank"]["infonce"]
    np.testing.assert_array_equal(ranks[0], ranks[1])
    other = R.run_readings(["infonce"], {"infonce": [{"steps": 1}, {"steps": 1, "lambda_scale": "mean"}]}, 2, setup)
    np.testing.assert_array_equal(other["effective_rank"]["infonce"][0], ranks[0])  # the default run again
    assert not np.array_equal(ranks[0], other["effective_rank"]["infonce"][1])


def test_bad_lambda_scale_and_confirmatory_group_are_rejected():
    with pytest.raises(ValueError, match="lambda_scale must be one of"):
        R.run_readings(["infonce"], [{"steps": 1, "lambda_scale": "max"}], 1, R.Setup(n=30, steps=1))
    with pytest.raises(ValueError, match="default group"):
        R.confirmatory_grid({"infonce": [{"batch_size": 64}]}, 2, quick=True)


def test_default_reading_data_equals_the_table5_data():
    # The readings synthetic task's data hook with the kinds given as arrays (both computed, one selected)
    # makes the Table 5 data of the same key.
    key, setup = jax.random.key(3), R.Setup()
    flags = {"dir_random": jnp.asarray(False), "pos_uniform": jnp.asarray(False)}
    x, y, lab = jax.jit(lambda k: R.task_of(setup).data(k, None, setup, flags))(key)
    x0, y0, lab0 = jax.jit(lambda k: make_synthetic_data(k, SyntheticConfig()))(key)
    np.testing.assert_array_equal(np.asarray(x), np.asarray(x0))
    assert bool(jnp.all(y == y0)) and bool(jnp.all(lab == lab0))


def test_readings_run_as_driver_tasks_compiled_in_the_driver_cache():
    # run_readings is a client of the driver: its programs are the driver's grid programs of a Task
    # (SYNTHETIC's own hooks, the readings' point arguments and spaces), cached under the task's name.
    from simulations.training import driver
    from simulations.training.synthetic import SYNTHETIC

    setup = R.Setup(n=30, batch_size=None, steps=1)
    pts = [{"optimizer": "sgd", "learning_rate": 1.0, "steps": 1, "lambda": 0.0},
           {"optimizer": "sgd", "learning_rate": 1.0, "steps": 1, "lambda": 0.0, "tau": 0.1}]
    r = R.run_readings(["infonce"], pts, 2, setup)
    task = R.task_of(setup)
    assert isinstance(task, driver.Task) and task.spaces == R.SPACES and task.name == "readings synthetic"
    assert (task.augment, task.widths, task.num_classes) == (SYNTHETIC.augment, SYNTHETIC.widths, SYNTHETIC.num_classes)
    prog = driver._COMPILED[("readings synthetic", "infonce", setup, 2)]
    assert prog is driver.grid_program(task, "infonce", setup, 2) and prog._cache_size() == 1
    again = R.run_readings(["infonce"], pts, 2, setup)  # the cached program: the same numbers, no new compile
    np.testing.assert_array_equal(r["accuracy"], again["accuracy"])
    assert prog._cache_size() == 1


def test_one_axis_readings_change_one_declared_axis_each():
    readings = R.one_axis_readings()
    assert readings[0] == {} and len({tuple(sorted(r.items())) for r in readings}) == len(readings)
    for r in readings[1:]:
        assert set(r) <= set(R.AXES)
        if r.get("optimizer") != "sgd" and "learning_rate" not in r:
            assert len(r) == 1 and r[next(iter(r))] != R.DEFAULT[next(iter(r))]


def test_collapse_criterion_counts_half_the_seeds_and_divergence():
    assert R.collapse_summary([1.2, 1.4, 2.5])["collapsed"]
    assert not R.collapse_summary([1.2, 2.4, 2.5])["collapsed"]
    assert R.collapse_summary([float("nan"), 1.0])["collapsed"]


def test_bad_reading_is_rejected():
    with pytest.raises(ValueError, match="reading axis"):
        R.run_readings(["infonce"], [{"colour": "red"}], 1, R.Setup(n=30, steps=1))
    with pytest.raises(ValueError, match="steps must be in"):
        R.run_readings(["infonce"], [{"steps": 7}], 1, R.Setup(n=30, steps=1))
    # the default width (64) is too wide for a narrower program: the message names the default
    with pytest.raises(ValueError, match=r"width must be in \[1, 32\]; got 64"):
        R.run_readings(["infonce"], [{"steps": 1}], 1, R.Setup(n=30, hidden=32, steps=1))


@pytest.mark.slow
def test_quick_readings_grid_rows_follow_the_schema():
    g = R.readings_grid(2, quick=True, losses=["infonce", "vicreg"])
    assert g["programs"] == 1
    keys = {"reading", "accuracy_without", "accuracy_with", "gain", "gain_standard_error", "seeds",
            "effective_rank_without", "effective_rank_with"}
    assert all(keys <= set(r) for r in g["rows"])
    readings = [r["reading"] for r in g["rows"] if r["loss"] == "infonce"]
    assert {} in readings and {"evaluation": "raw outputs"} in readings and {"steps": 100} in readings
    assert {p["prototypes"] for p in g["prototype_rows"]} == {"orthonormal", "etf", "random"}
    # tau does not enter VICReg: its tau reading is the default run, run once and copied (issue 19).
    by = {(r["loss"], tuple(r["reading"].items())): r for r in g["rows"]}
    tau_row, default = by[("vicreg", (("tau", 0.1),))], by[("vicreg", ())]
    assert tau_row["same_run_as"] == {} and tau_row["accuracies_with"] == default["accuracies_with"]
    assert "same_run_as" not in by[("infonce", (("tau", 0.1),))]


@pytest.mark.slow
def test_quick_network_sweep_marks_collapse_by_the_fixed_criterion():
    s = R.network_lr_sweep(seeds=2, quick=True, taus=(0.1,), momenta=(0.9,), batch_norms=(False,))
    assert len(s["curves"]) == 2 and s["collapse_rank"] == R.COLLAPSE_RANK
    for c in s["curves"]:
        for p in c["points"]:
            assert p["collapsed"] == (2 * sum(r < 1.5 or not np.isfinite(r) for r in p["effective_ranks"]) >= 2)


@pytest.mark.parametrize("argv, needle", [
    (["--experiment", "readings", "--seeds", "3"], "--experiment readings takes only"),
    (["--quick"], "--quick and --cache apply to --experiment readings"),
])
def test_cli_readings_bad_input_is_one_line_exit_2(tmp_path, argv, needle):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "clop_verify", "synthetic", *argv, "--cache", str(tmp_path)]
                          if "--quick" not in argv else [sys.executable, "-m", "clop_verify", "synthetic", *argv],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and needle in proc.stderr
    assert not any(tmp_path.iterdir())  # nothing written


def test_quick_clop_lambda_experiment_follows_the_schema():
    # The clop_lambda experiment (CLOP's lambda x scale where InfoNCE collapses) at quick size: every arm of the
    # grid once, per-seed ranks and collapse flags by the fixed criterion (rank < COLLAPSE_RANK or diverged).
    from results import experiments

    params = experiments.parameters("clop_lambda", quick=True)
    r = experiments.load("clop_lambda", quick=True)  # the session's result cache (shared with the claim's test)
    grid = params["grid"]
    arms = {(p["learning_rate"], p["lambda"], p["lambda_scale"]) for p in r["points"]}
    assert arms == {(lr, lam, s) for lr in grid["learning_rates"] for lam in grid["lambdas"]
                    for s in grid["lambda_scales"]}
    assert set(grid["lambda_scales"]) == {"sum", "mean"} and r["collapse_rank"] == R.COLLAPSE_RANK
    for p in r["points"]:
        assert len(p["effective_ranks"]) == len(p["collapsed"]) == len(p["accuracies"]) == grid["seeds"]
        assert p["collapsed"] == [not (v >= R.COLLAPSE_RANK) for v in p["effective_ranks"]]
        assert p["tau"] == 0.1 and p["momentum"] == 0.9
    assert r["quick"] and r["cpu_seconds"] > 0


def test_full_clop_lambda_grid_is_the_one_fixed_before_running():
    # Full size: the collapsing curve of network_lr (SGD 0.9, tau 0.1, no BN), one rate below its InfoNCE
    # threshold (0.1), 0.3 and the rate where every InfoNCE seed collapsed (1), lambda 0.1..3 under both scales, 6 seeds (0/6 is the only count whose
    # Clopper-Pearson upper bound is below 1/2 at 6 seeds; at 5 seeds none is).
    from claims.statistics import clopper_pearson
    from results import experiments

    grid = experiments.parameters("clop_lambda")["grid"]
    assert grid == R.CLOP_LAMBDA_GRID
    assert grid["learning_rates"] == [0.1, 0.3, 1.0] and grid["lambdas"] == [0.1, 0.3, 1.0, 3.0]
    assert grid["seeds"] == 6 and clopper_pearson(0, 6)[1] < 0.5 < clopper_pearson(0, 5)[1]
