"""A full disk, a read-only disk and interrupted writes leave no half-written result set (issue 23).

Fault injection: :func:`os.fsync` (called on every result file before it is moved into place) or the
JSON writer raise ``ENOSPC`` / ``EDQUOT`` / ``EROFS``; each case asserts one line on stderr, exit status 2,
no traceback, and that the output folder holds exactly what it held before (no new folder, no staged
file, no file of a set without the others).
"""
from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import numpy as np
import pytest

import results.io
from clop_verify import cli


def _listing(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()} if folder.exists() else {}


def _fail_on_fsync_after(monkeypatch, count: int, code: int = errno.ENOSPC) -> None:
    """Let ``count`` fsyncs succeed, then raise ``OSError(code)`` (a disk that fills up mid-set)."""
    real = os.fsync
    calls = {"n": 0}

    def fsync(fd):
        calls["n"] += 1
        if calls["n"] > count:
            raise OSError(code, os.strerror(code))
        return real(fd)

    monkeypatch.setattr(results.io.os, "fsync", fsync)


def _assert_one_line(capsys, needle: str) -> str:
    """One error line (after any progress lines), naming ``needle``, and no traceback."""
    err = capsys.readouterr().err
    errors = [line for line in err.strip().splitlines() if ": error: " in line]
    assert len(errors) == 1 and "Traceback" not in err, err
    assert needle in errors[0] and err.strip().endswith(errors[0]), err
    return errors[0]


@pytest.mark.parametrize("code, text", [(errno.ENOSPC, "No space left on device"), (errno.EDQUOT, "quota"),
                                        (errno.EROFS, "Read-only file system")])
def test_simulate_set_is_written_whole_or_not_at_all(code, text, tmp_path, monkeypatch, capsys):
    out = tmp_path / "new" / "out"
    _fail_on_fsync_after(monkeypatch, 1, code)  # simulation.npz is complete, simulation.json is not
    status = cli.main(["simulate", "--k", "3", "--m", "3", "--lr", "1", "--steps", "2", "--out", str(out)])
    assert status == 2
    _assert_one_line(capsys, text)
    assert not (tmp_path / "new").exists()  # the folders it created are gone too


def test_report_keeps_the_old_pair_when_the_disk_fills(tmp_path, monkeypatch, capsys):
    out = tmp_path / "report"
    assert cli.main(["report", "--quick", "--only", "section3_2.optima", "--out", str(out)]) == 0
    before = _listing(out)
    assert set(before) == {"report.json", "report.md"}
    capsys.readouterr()
    _fail_on_fsync_after(monkeypatch, 1)  # report.json staged, then the disk is full
    assert cli.main(["report", "--quick", "--only", "lemma2", "--out", str(out)]) == 2
    _assert_one_line(capsys, "No space left on device")
    assert _listing(out) == before  # the old report.json beside the old report.md, nothing staged


def test_figure_set_is_all_or_nothing(tmp_path, monkeypatch, capsys):
    out = tmp_path / "figs"
    _fail_on_fsync_after(monkeypatch, 2)  # the PNG and PDF staged, the JSON not
    status = cli.main(["figures", "fig3_tightness", "--quick", "--out", str(out)])
    assert status == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err.strip().splitlines()[-1] and "Traceback" not in err
    assert not any(p.suffix in (".png", ".pdf", ".json") for p in out.glob("*")), list(out.iterdir())
    assert not list(out.glob(".staging.*"))


def test_diagnose_writes_both_files_or_neither(tmp_path, monkeypatch, capsys):
    emb = tmp_path / "emb.npy"
    np.save(emb, np.random.default_rng(0).normal(size=(12, 4)))
    out = tmp_path / "diag"
    _fail_on_fsync_after(monkeypatch, 1)
    assert cli.main(["diagnose", str(emb), "--out", str(out)]) == 2
    _assert_one_line(capsys, "No space left on device")
    assert not out.exists()


def test_open_raising_enospc_in_the_json_writer(tmp_path, monkeypatch, capsys):
    """The other injection point: the write itself fails (json.dump through the staged file)."""
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(results.io.json, "dump", full)
    out = tmp_path / "t"
    assert cli.main(["threshold", "--k", "3", "--m", "3", "--trials", "1", "--steps", "5", "--rtol", "0.5",
                     "--out", str(out)]) == 2
    _assert_one_line(capsys, "No space left on device")
    assert not out.exists()


def test_atomic_set_removes_staged_files_on_any_failure(tmp_path):
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "a.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with results.io.atomic_set(folder) as stage:
            stage("a.txt").write_text("new")
            stage("b.txt").write_text("new")
            raise RuntimeError("drawing failed")
    assert sorted(p.name for p in folder.iterdir()) == ["a.txt"]
    assert (folder / "a.txt").read_text() == "old"
    assert not results.io._STAGED


def test_readme_table_of_a_malformed_report_is_one_line(tmp_path, capsys):
    for text in ("{not json", json.dumps({"claims": [{"id": "x"}]}), json.dumps([1, 2]), "\xff\xfe"):
        (tmp_path / "report.json").write_text(text, encoding="latin-1")
        assert cli.main(["report", "--readme-table", "--out", str(tmp_path)]) == 2
        _assert_one_line(capsys, "is not a clop-verify report")


def test_empty_out_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["simulate", "--k", "3", "--lr", "1", "--steps", "1", "--out", ""]) == 2
    _assert_one_line(capsys, "--out must be a folder that can be written; got an empty path")
    assert list(tmp_path.iterdir()) == []
