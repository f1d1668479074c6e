"""Only the full commands write the committed results, from a clean checkout (issue 23, items 1 and 8)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import claims
from clop_verify import cli, outputs
from results import io, settings


def _git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    """A tiny git checkout standing in for the repository: committed code, a report/ folder."""
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "code.py").write_text("x = 1\n")
    (root / "report").mkdir()
    (root / "report" / "report.md").write_text("old\n")
    _git(root, "init", "-q")
    _git(root, "-c", "user.email=t@t", "-c", "user.name=t", "add", ".")
    _git(root, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", "init")
    monkeypatch.setattr(outputs, "REPOSITORY", root)
    monkeypatch.setattr(settings, "project_folder", lambda: root)  # the default folders are the checkout's
    return root


def test_dirty_outside_ignores_the_result_folders(checkout):
    assert io.dirty_outside(("report",), start=checkout) == []
    (checkout / "report" / "report.md").write_text("regenerated\n")
    assert io.dirty_outside(("report",), start=checkout) == []
    (checkout / "pkg" / "code.py").write_text("x = 2\n")
    assert io.dirty_outside(("report",), start=checkout) == ["pkg/code.py"]


def test_results_written_by_a_regeneration_do_not_stamp_its_revision_dirty(checkout):
    # A full regeneration rewrites figures/out and report as it goes; the revision it records must stay clean.
    clean = io.git_revision(start=checkout)
    assert clean and not clean.endswith("-dirty")
    (checkout / "report" / "report.md").write_text("regenerated\n")
    assert io.git_revision(start=checkout) == clean
    (checkout / "pkg" / "code.py").write_text("x = 2\n")
    assert io.git_revision(start=checkout) == clean + "-dirty"


def test_full_report_into_the_committed_folder_is_refused_from_a_dirty_tree(checkout, monkeypatch, capsys):
    monkeypatch.chdir(checkout)
    monkeypatch.setattr(claims, "build_report", lambda **kw: pytest.fail("ran although the tree is dirty"))
    (checkout / "pkg" / "code.py").write_text("x = 2\n")
    assert cli.main(["report"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "uncommitted changes in pkg/code.py" in err[0] and "--out DIR" in err[0]
    assert cli.main(["report", "--quick", "--out", str(checkout / "report")]) == 2  # --out into it: the same rule
    assert (checkout / "report" / "report.md").read_text() == "old\n"


def test_full_report_from_a_clean_tree_writes_the_committed_folder(checkout, monkeypatch):
    monkeypatch.chdir(checkout)
    seen = {}
    monkeypatch.setattr(claims, "build_report", lambda **kw: {"summary": {}, "seconds": 0.0})
    monkeypatch.setattr(claims, "write_report", lambda report, out: seen.update(out=Path(out)) or [])
    (checkout / "report" / "report.md").write_text("changed by the last regeneration\n")  # result folders do not count
    assert cli.main(["report"]) == 0
    assert seen["out"] == checkout / "report"


def test_partial_report_never_touches_the_committed_one(checkout, monkeypatch):
    """The trial's reproducer: ``report --only lemma2`` replaced report/report.json with a one-claim report."""
    monkeypatch.chdir(checkout)
    (checkout / "report" / "report.json").write_text('{"claims": []}')
    assert cli.main(["report", "--quick", "--only", "section3_2.optima", "section3_2.optima"]) == 0
    assert (checkout / "report" / "report.json").read_text() == '{"claims": []}'
    import json

    written = json.loads((checkout / "report" / "quick" / "report.json").read_text())
    assert [c["id"] for c in written["claims"]] == ["section3_2.optima"]  # the repeated id once


def test_repeated_values_are_taken_once_repeated_flags_refused_and_help_says_so(capsys):
    args = cli.build_parser().parse_args(["simulate", "--k", "3", "--lr", "1", "1", "--seeds", "5", "5", "5"])
    assert args.seeds == [5] and args.lr == [1.0] and not hasattr(args, "_flags_given")
    for argv, flag in ((["simulate", "--k", "3", "--k", "4", "--lr", "1"], "--k"),
                       (["report", "--only", "lemma2", "--only", "theorem2"], "--only"),
                       (["bound", "--k", "3", "--json", "--json"], "--json")):
        with pytest.raises(SystemExit) as exit_:
            cli.main(argv)
        assert exit_.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [f"clop-verify {argv[0]}: error: argument {flag}: given twice; give it once, with all its values"]
    with pytest.raises(SystemExit):
        cli.main(["report", "--help"])
    assert "Each flag is given once" in capsys.readouterr().out
