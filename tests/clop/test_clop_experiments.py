"""Experiments in quick mode: JSON shapes, figures written, claims computed from cached results, CLI errors.

Each distinct experiment shape costs one XLA compilation (5-10 s on the 2-core CPU); the losses of a
table share one (a traced ``lax.switch`` index). The module fixture draws the three figures once
(3 compilations, about 30 s) and the claims read their cache.
"""
import json

import numpy as np
import pytest

from clop_verify.cli import main as cli_main

FIGURES = ("fig5_embeddings", "lr_robustness", "digits")


@pytest.fixture(scope="module")
def quick_out(tmp_path_factory):
    """Run the three figure modules in quick mode once; later tests reuse their cache."""
    import importlib

    out = tmp_path_factory.mktemp("clop_figs")
    written = {name: importlib.import_module(f"figures.{name}").main(out, quick=True) for name in FIGURES}
    return out, written


def test_quick_figures_write_three_files_each(quick_out):
    out, written = quick_out
    for name in FIGURES:
        assert sorted(p.name for p in written[name]) == sorted([f"{name}.png", f"{name}.pdf", f"{name}.json"])
        for p in written[name]:
            assert p.exists() and p.stat().st_size > 0
        meta = json.loads((out / f"{name}.json").read_text())
        assert meta["figure"] == name and "metadata" in meta
    # A second call redraws from the cache: the same numbers.
    from figures import lr_robustness

    before = json.loads((out / "lr_robustness.json").read_text())["data"]
    lr_robustness.main(out, quick=True)
    assert json.loads((out / "lr_robustness.json").read_text())["data"] == before
    assert {(r["clop"], r["learning_rate"]) for r in before["results"]} == {
        (c, lr) for c in (False, True) for lr in (1e-3, 1e-1, 10.0)}


def test_table_json_shape_matches_issue(quick_out):
    out, _ = quick_out
    data = json.loads((out / "fig5_embeddings.json").read_text())["data"]
    rows = data["results"]
    assert [(r["loss"], r["clop"]) for r in rows] == [
        (l, c) for l in ("infonce", "dcl", "vicreg", "barlow_twins") for c in (False, True)]
    for r in rows:
        for key in ("loss", "clop", "prototypes", "lambda", "accuracy_mean", "accuracy_std", "effective_rank_mean", "seeds"):
            assert key in r
        assert 0.0 <= r["accuracy_mean"] <= 1.0 and 1.0 <= r["effective_rank_mean"] <= 3.0 + 1e-9
        assert r["seeds"] == 2 and len(r["accuracies"]) == 2
        assert r["prototypes"] == ("orthonormal" if r["clop"] else None)


@pytest.mark.slow  # also runs the quick readings grid and both quick network sweeps (3 more compilations)
def test_claims_from_cache_have_computed_verdicts(quick_out):
    from claims import clop_claims
    from claims.registry import VERDICTS

    entries = clop_claims.all_claims(quick=True)  # the default settings: the result cache the figures filled
    assert [e["id"] for e in entries] == [
        "table5.infonce", "table5.dcl", "table5.vicreg", "table5.barlowtwins",
        "prototypes.orthonormal_vs_etf", "final.lr_collapse", "final.network_threshold",
        "digits.clop_gain"]
    for e in entries:
        assert e["verdict"] in VERDICTS
        assert set(e) == {"id", "source", "statement", "verdict", "rule", "evidence"}
        assert e["rule"] and isinstance(e["evidence"]["headline"], str) and e["evidence"]["headline"]
        assert e["evidence"]["quote"]
        json.dumps(e)  # strict JSON evidence
    for r in entries[0]["evidence"]["readings"]:  # the paired mean, recomputed from the per-seed numbers
        assert abs(r["paired_mean"] - (np.mean(r["accuracies_with"]) - np.mean(r["accuracies_without"]))) < 1e-12


def test_run_is_independent_of_grid_layout_and_does_not_recompile():
    from simulations.training import driver, synthetic as S

    cfg = S.SyntheticConfig(n=60, steps=3)  # the doctests' shape: shares their compilation
    first = S.run_points("infonce", [{"lambda": 1.0}, {"lambda": 0.0}], seeds=2, config=cfg)
    fn = driver.grid_program(S.SYNTHETIC, ("infonce",), cfg, 2)
    size = fn._cache_size()
    second = S.run_points("infonce", [{"lambda": 0.5, "learning_rate": 0.3}, {"lambda": 1.0}], seeds=2, config=cfg)
    assert fn._cache_size() == size == 1  # new lambda / learning rate are traced: no new compilation
    # The same (seed, lambda, lr) at another grid position beside another neighbour gives the same
    # run (float32; a different batch position may change XLA's reduction order, hence 1e-5, not 0).
    np.testing.assert_allclose(second["embeddings"][1], first["embeddings"][0], atol=1e-5)
    assert not np.allclose(second["embeddings"][0], first["embeddings"][0], atol=1e-3)


def test_rerunning_a_training_grid_is_bit_identical():
    # The README's reproducibility statement for Table 5: on one machine and jaxlib build a rerun
    # gives the same numbers bit for bit (across builds float32 rounding differs; see the README).
    from simulations.training import synthetic as S

    cfg = S.SyntheticConfig(n=60, steps=3)  # the doctests' shape: shares their compilation
    points = [{"lambda": 0.0}, {"lambda": 1.0}]
    a, b = (S.run_points("infonce", points, seeds=2, config=cfg) for _ in range(2))
    for name in ("accuracy", "effective_rank", "final_loss", "embeddings"):
        assert np.array_equal(a[name], b[name]), name


def test_a_run_whose_loss_became_non_finite_has_no_accuracy():
    # Issue 11 item 5: Adam at learning rate 1e30 sends the weights to ~1e30 and the float32
    # activations to inf within 3 steps. Such a run is counted as diverged and left out of the
    # means, never reported as an accuracy.
    from simulations.training import driver, synthetic as S

    cfg = S.SyntheticConfig(n=60, steps=3)  # the doctests' shape: shares their compilation
    r = S.run_points("infonce", [{"lambda": 1.0, "learning_rate": 1e30}, {"lambda": 0.0}], seeds=2, config=cfg)
    assert not r["finite"][0].any() and r["finite"][1].all()
    row = driver.point_row(r, 0, "infonce", True, "orthonormal", 1.0, "cosine")
    assert np.isnan(row["accuracy_mean"]) and row["accuracies"] == [] and row["diverged"] == row["seeds"] == 2
    with pytest.raises(ValueError, match="finite"):
        S.run_points("infonce", [{"learning_rate": float("inf")}], seeds=2, config=cfg)
    with pytest.raises(ValueError, match="finite"):
        S.SyntheticConfig(learning_rate=float("inf"))


def test_each_table_is_one_compilation(quick_out):
    from results import experiments
    from simulations.training import digits as D, driver, synthetic as S

    cfg = S.SyntheticConfig(**experiments.parameters("table5", quick=True)["config"])
    assert driver.grid_program(S.SYNTHETIC, S.TABLE5_LOSSES, cfg, 2)._cache_size() == 1  # the four losses, one program
    # No per-loss programs; the claims' prototype ablation (3 points, InfoNCE only) is a program of its own.
    assert {k[1] for k in driver._COMPILED if k[0] == "synthetic" and k[2:] == (cfg, 2)} <= {S.TABLE5_LOSSES, ("infonce",)}
    dcfg = D.DigitsConfig(**experiments.parameters("digits", quick=True)["config"])
    assert [k[1] for k in driver._COMPILED if k[0] == "digits" and k[2:] == (dcfg, 2)] == [D.DIGITS_LOSSES]
    assert driver.grid_program(D.DIGITS, D.DIGITS_LOSSES, dcfg, 2)._cache_size() == 1


def test_shared_program_gives_each_loss_its_own_run():
    from simulations.training import driver, synthetic as S

    cfg = S.SyntheticConfig(n=60, steps=3)  # the layout test's shape: InfoNCE's own program is shared
    points = [{"lambda": 0.0}, {"lambda": 1.0}]
    for loss in ("infonce", "vicreg"):
        own = S.run_points(loss, points, seeds=2, config=cfg)
        shared = S.run_points(loss, points, seeds=2, config=cfg, loss_set=S.TABLE5_LOSSES)
        # float32; the loss sits inside a lax.switch in one program and inline in the other, so XLA
        # may fuse (and round, e.g. contract to FMA) differently: 1e-5, not 0.
        np.testing.assert_allclose(shared["final_loss"], own["final_loss"], rtol=1e-5)
        if loss == "infonce":
            np.testing.assert_allclose(shared["embeddings"], own["embeddings"], atol=1e-5)
        # VICReg is shift invariant: the output bias has an exactly zero gradient, and Adam turns
        # its rounding noise into full steps, so its normalised embeddings are not compared.
    assert driver.grid_program(S.SYNTHETIC, S.TABLE5_LOSSES, cfg, 2)._cache_size() == 1
    with pytest.raises(ValueError, match="must be one of loss_set"):
        S.run_points("dcl", points, seeds=2, config=cfg, loss_set=("infonce", "vicreg"))


@pytest.mark.parametrize("argv, needle", [
    (["synthetic", "--seeds", "0"], "argument --seeds: must be an integer in [1,"),
    (["synthetic", "--clop", "maybe"], "argument --clop: invalid choice: 'maybe'"),
    (["synthetic", "--loss", "simclr"], "argument --loss: invalid choice: 'simclr'"),
    (["synthetic", "--lambda", "-1"], "argument --lambda: must be a finite real number > 0"),
    (["synthetic", "--lambda", "inf"], "argument --lambda: must be a finite real number > 0"),
    (["synthetic", "--similarity", "dot"], "argument --similarity: invalid choice"),
    (["synthetic", "--prototypes", "hadamard"], "argument --prototypes: invalid choice"),
    (["synthetic", "--experiment", "nope"], "argument --experiment: invalid choice"),
    (["synthetic", "--lr", "0"], "argument --lr: must be a finite real number > 0"),
    (["synthetic", "--lr", "inf"], "argument --lr: must be a finite real number > 0"),
    (["synthetic", "--positions", "gauss"], "argument --positions: invalid choice"),
    (["digits", "--loss", "vicreg"], "argument --loss: invalid choice"),
    (["digits", "--steps", "0"], "argument --steps: must be an integer in [1,"),
    (["digits", "--lr", "inf"], "argument --lr: must be a finite real number > 0"),
    (["digits", "--lambda", "inf"], "argument --lambda: must be a finite real number > 0"),
])
def test_cli_bad_input_one_line_exit_2_nothing_written(argv, needle, tmp_path, capsys):
    out = tmp_path / "never"
    try:
        code = cli_main(argv + ["--out", str(out)])
    except SystemExit as exc:  # argparse rejects through the parser
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err
    assert not out.exists()


def test_cli_synthetic_json(capsys, tmp_path):
    code = cli_main(["synthetic", "--loss", "infonce", "--clop", "on", "--seeds", "2", "--steps", "2", "--json",
                     "--out", str(tmp_path)])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    (row,) = result["results"]
    for key in ("loss", "clop", "prototypes", "lambda", "accuracy_mean", "accuracy_std", "effective_rank_mean", "seeds"):
        assert key in row  # the JSON shape of issue 6
    assert row["loss"] == "infonce" and row["clop"] is True and row["seeds"] == 2 and row["lambda"] == 1.0
    assert row["prototypes"] == "orthonormal" and 0.0 <= row["accuracy_mean"] <= 1.0
    saved = json.loads((tmp_path / "synthetic_table.json").read_text())
    assert saved["metadata"]["parameters"]["seeds"] == 2
