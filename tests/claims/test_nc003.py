"""``clop-verify diagnose`` and ``clop-verify nc``, the ``nc_vs_dc`` figure and the paper-003 claims (issue 14).

The diagnose tests are fast (no training). The grid, the figure and the claims train models and are
marked ``slow``: ``nc --quick`` is the issue's "under a minute" smoke run.
"""
import json

import numpy as np
import pytest

from clop_verify import cli


@pytest.fixture
def emb_files(tmp_path):
    rng = np.random.default_rng(0)
    k, n, d = 4, 5, 6
    y = np.repeat(np.arange(k), n)
    Z = np.repeat(np.eye(k, d), n, axis=0) + 1e-3 * rng.normal(size=(k * n, d))  # near CLOP's orthonormal target
    np.save(tmp_path / "z.npy", Z)
    np.save(tmp_path / "y.npy", y)
    np.savez(tmp_path / "run.npz", embeddings=Z, labels=y)
    bad = Z.copy()
    bad[7, 1] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    np.save(tmp_path / "short.npy", y[:-1])
    np.save(tmp_path / "vector.npy", Z[0])
    np.save(tmp_path / "floaty.npy", y + 0.5)
    return tmp_path


def test_diagnose_reports_and_writes_json_and_png(emb_files, capsys):
    out = emb_files / "out"
    assert cli.main(["diagnose", str(emb_files / "run.npz"), "--labels", "labels", "--lr", "0.5", "--tau", "0.2",
                     "--out", str(out), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    written = json.loads((out / "diagnose.json").read_text())["report"]
    assert (out / "spectrum.png").read_bytes()[:4] == b"\x89PNG"
    for rep in (printed, written):
        assert {"singular_values", "effective_rank", "rankme", "nc1", "nc2"} <= rep.keys()
        assert rep["k"] == 4 and len(rep["singular_values"]) == 6
        assert rep["orthonormal_distance"] < 1e-2  # built 1e-3 away from orthonormal means
        # with --tau the bound is InfoNCE's at that tau, tau (e^(1/tau) + k - 1)/(k - 2), compared with lr itself
        assert rep["eta_max"] == pytest.approx(0.2 * (np.exp(5.0) + 3) / 2) and rep["rate_compared"] == pytest.approx(0.5)
        assert rep["rule"] == "infonce" and "Papyan" in rep["definitions"]["nc1"]
    assert sorted(p.name for p in out.iterdir()) == ["diagnose.json", "spectrum.png"]  # no temp files


def test_diagnose_without_labels_has_no_class_statistics(emb_files, capsys):
    assert cli.main(["diagnose", str(emb_files / "z.npy"), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert "nc1" not in rep and abs(rep["effective_rank"] - rep["rankme"]) < 1e-3


@pytest.mark.parametrize("argv, needle", [
    (["nan.npy"], "NaN or inf (first: row 7)"),
    (["vector.npy"], "2-D array"),
    (["z.npy", "--labels", "short.npy"], "one label per embedding row"),
    (["z.npy", "--labels", "floaty.npy"], "labels must be integers"),
    (["z.npy", "--lr", "1"], "--lr needs --labels"),
    (["z.npy", "--labels", "y.npy", "--lr", "0"], "argument --lr: must be"),
    (["z.npy", "--labels", "y.npy", "--tau", "0.1"], "--tau needs --lr"),
    (["run.npz", "--labels", "nokey"], "neither a file nor an array"),
    (["absent.npy"], "no such file"),
])
def test_diagnose_bad_input_is_one_line_exit_2_nothing_written(emb_files, capsys, argv, needle):
    out = emb_files / "out_bad"
    args = ["diagnose", str(emb_files / argv[0])] + [str(emb_files / a) if a.endswith(".npy") else a for a in argv[1:]]
    try:
        code = cli.main(args + ["--out", str(out)])
    except SystemExit as exc:  # argparse rejects a bad --lr/--tau value while parsing
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.slow  # trains 24 short runs (under a minute on 2 cores)
def test_nc_quick_table_and_file(tmp_path, capsys):
    assert cli.main(["nc", "--quick", "--json", "--out", str(tmp_path)]) == 0
    brief = json.loads(capsys.readouterr().out)
    rows = brief["table"]
    assert len(rows) == 12  # SCL, UCL x 3 normalisations + HSCL, HUCL x 3 normalisations x 1 hardness
    for r in rows:
        assert r["NC"] + r["DC"] + r["neither"] == r["seeds"] == 2
    saved = json.loads((tmp_path / "nc_grid.json").read_text())
    assert len(saved["result"]["runs"]) == 24 and "git_revision" in saved["metadata"]


@pytest.mark.slow
def test_nc_vs_dc_figure_quick(tmp_path):
    from figures import nc_vs_dc

    paths = nc_vs_dc.main(tmp_path, quick=True)
    assert [p.name for p in paths] == ["nc_vs_dc.png", "nc_vs_dc.pdf", "nc_vs_dc.json"]
    data = json.loads(paths[-1].read_text())["data"]
    assert np.asarray(data["curves"]["nc2"]).shape == (24, 7)  # 300 steps recorded every 50 (+ the start)


@pytest.mark.slow
def test_nc003_claims_have_computed_verdicts(tmp_path, monkeypatch):
    from claims import build_report
    from claims.registry import VERDICTS

    monkeypatch.chdir(tmp_path)  # nothing may land in the current folder
    ids = ["nc003.etf_optimal", "nc003.hard_lower_bound", "nc003.adam_nc_hscl", "nc003.adam_nc_hucl",
           "nc003.dc_without", "nc003.clop_orthonormal"]
    report = build_report(quick=True, only=ids, progress=False)
    by = {c["id"]: c for c in report["claims"]}
    assert list(by) == ids and all(c["verdict"] in VERDICTS and c["rule"] for c in by.values())
    # the lower bound is a theorem under its conditions: a violation would be a bug in the risks
    assert by["nc003.hard_lower_bound"]["verdict"] == "confirmed"
    assert by["nc003.hard_lower_bound"]["evidence"]["negative_beta"]["violations"] > 0
    # the open setups (no encoder; the abstract fixes no model) are never refuted
    assert all(by[i]["verdict"] != "refuted" for i in ids[2:])
    # stability: a hardness counts only if NC holds at the grid's length and at the end of the long run
    for cid in ("nc003.adam_nc_hscl", "nc003.adam_nc_hucl"):
        for setting in by[cid]["evidence"]["settings"].values():
            for b in setting["by_beta"].values():
                end = b["nc_at_end_of_long_run"]
                if b["stable_nc"]:
                    got, n = map(int, end.split("/"))
                    assert 2 * got >= n


def test_nc_out_must_be_a_folder_one_line_exit_2(tmp_path, capsys):
    target = tmp_path / "file.txt"
    target.write_text("x")
    assert cli.main(["nc", "--quick", "--out", str(target)]) == 2  # checked before anything is trained
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--out must be a folder" in err
    assert target.read_text() == "x"
