"""``regenerate(..., jobs=N)``: figures drawn in worker processes compute what one process computes.

Each worker is a spawned process that imports JAX (about 3 s), so these tests draw cheap quick figures
only; the comparison with one process (two pools) is in the slow step.
"""
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import figures
from figures import generate as runner

PNG = ("png",)
PAIR = ["fig3_spectra", "fig4_rank"]


def _data(folder):
    return {p.name: json.loads(p.read_text())["data"] for p in sorted(folder.glob("*.json"))}


def _labels(log: str) -> dict:
    """``{name: "recomputed" | "from cache"}`` from the "done" lines."""
    out = {}
    for line in log.splitlines():
        if ": done in " in line:
            name = line.split("]", 1)[1].split(":", 1)[0].strip()
            out[name] = "recomputed" if "(recomputed)" in line else "from cache" if "(from cache)" in line else line
    return out


@pytest.mark.slow  # 13 s on the 2-core VM with warm caches: two pools of two spawned workers
def test_two_workers_write_what_one_process_writes_and_label_the_cache(tmp_path):
    par_log, seq_log = io.StringIO(), io.StringIO()
    par = runner.regenerate(PAIR, tmp_path / "par", quick=True, cache_dir=tmp_path / "cache_par", formats=PNG,
                            stream=par_log, jobs=2)
    seq = runner.regenerate(PAIR, tmp_path / "seq", quick=True, cache_dir=tmp_path / "cache_seq", formats=PNG,
                            stream=seq_log, jobs=1)
    assert list(par) == list(seq) == PAIR  # the requested order, whichever finished first
    assert [p.name for ps in par.values() for p in ps] == [p.name for ps in seq.values() for p in ps]
    assert sorted(p.name for p in (tmp_path / "par").iterdir()) == sorted(p.name for p in (tmp_path / "seq").iterdir())
    par_data, seq_data = _data(tmp_path / "par"), _data(tmp_path / "seq")
    assert set(par_data) == {"fig3_spectra.json", "fig4_rank.json"} and par_data == seq_data
    assert _labels(par_log.getvalue()) == _labels(seq_log.getvalue()) == dict.fromkeys(PAIR, "recomputed")
    assert "[1/2] fig3_spectra: running (quick) ..." in par_log.getvalue()

    again = io.StringIO()
    runner.regenerate(PAIR, tmp_path / "par", quick=True, cache_dir=tmp_path / "cache_par", formats=PNG,
                      stream=again, jobs=2)
    assert _labels(again.getvalue()) == dict.fromkeys(PAIR, "from cache")
    assert _data(tmp_path / "par") == seq_data
    assert not list((tmp_path / "par").glob(".staging.*"))


def test_a_figure_failing_in_a_worker_is_reported_and_the_other_still_runs(tmp_path, monkeypatch):
    # The name passes the parent's check (figures.FIGURES is read at call time); the worker cannot import it.
    monkeypatch.setattr(figures, "FIGURES", (*figures.FIGURES, "no_such_figure"))
    log = io.StringIO()
    written = runner.regenerate(["no_such_figure", "fig4_rank"], tmp_path, quick=True, formats=PNG, stream=log, jobs=2)
    assert list(written) == ["fig4_rank"]
    text = log.getvalue()
    assert "[1/2] no_such_figure: FAILED (ModuleNotFoundError: No module named 'figures.no_such_figure')" in text
    assert "Traceback (most recent call last)" in text  # the worker's traceback
    assert "[2/2] fig4_rank: done in " in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig4_rank.json", "fig4_rank.png"]


@pytest.mark.parametrize("jobs", [0, -1, 1.5, True, "2"])
def test_jobs_must_be_a_positive_integer(tmp_path, jobs):
    with pytest.raises(ValueError, match="jobs must be an integer >= 1"):
        runner.regenerate(["fig4_rank"], tmp_path / "out", jobs=jobs)
    assert not (tmp_path / "out").exists()


def test_start_order_puts_the_longest_figures_first():
    assert runner.start_order(figures.FIGURES)[:3] == list(runner.LONGEST_FIRST)
    assert sorted(runner.start_order(figures.FIGURES)) == sorted(figures.FIGURES)


def test_a_worker_returns_a_failure_as_text_and_raises_a_disk_error_as_a_plain_oserror(tmp_path, monkeypatch):
    # What a worker sends back, run here so that the figure can be broken with monkeypatch: a failure is
    # picklable text (any exception type), a full disk an OSError the parent re-raises to end the run.
    import errno
    import pickle

    from figures import fig4_rank
    from results.io import is_disk_error
    from results.settings import Settings

    class Unpicklable(Exception):
        def __reduce__(self):
            raise TypeError("cannot pickle")

    settings = Settings(out_dir=tmp_path, cache_dir=tmp_path / "cache")
    def broken(*args, **kwargs):
        raise Unpicklable("broken")

    monkeypatch.setattr(fig4_rank, "main", broken)
    outcome = runner._draw_in_worker("fig4_rank", settings, True, PNG)
    assert outcome["failed"] == "Unpicklable: broken" and "Traceback" in outcome["traceback"]
    assert pickle.loads(pickle.dumps(outcome)) == outcome

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "fig4_rank.png"))

    monkeypatch.setattr(fig4_rank, "main", full)
    with pytest.raises(OSError) as caught:
        runner._draw_in_worker("fig4_rank", settings, True, PNG)
    raised = pickle.loads(pickle.dumps(caught.value))
    assert is_disk_error(raised) and raised.filename == str(tmp_path / "fig4_rank.png")


def _children(pid: int) -> list[int]:
    return [int(c) for task in Path(f"/proc/{pid}/task").iterdir() for c in (task / "children").read_text().split()]


def _guarded(pid: int) -> bool:
    """The worker guard is armed: SIGINT ignored and SIGTERM caught (``/proc/PID/status`` signal masks).

    Python's resource tracker, the command's third child, ignores both, so it never counts.
    """
    try:
        fields = dict(line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    except FileNotFoundError:
        return False
    return bool(int(fields["SigIgn"], 16) & 1 << 1) and bool(int(fields["SigCgt"], 16) & 1 << 14)


@pytest.mark.slow  # about 10 s: two spawned workers import JAX and start compiling before the Ctrl-C
@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="reads child processes from /proc")
def test_ctrl_c_ends_the_command_and_its_workers_and_leaves_nothing_staged(tmp_path):
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root), XDG_CACHE_HOME=str(tmp_path / "xdg"))
    out = tmp_path / "out"
    # A session of its own, so that the Ctrl-C can go to the command's whole process group, as a terminal sends it.
    # The command starts with SIGINT's default action even if the suite ignores it (a handler, unlike an
    # ignore, is reset by exec; no preexec_fn, which would fork a process running JAX's threads).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "clop_verify", "figures", "readings", "network_lr", "--quick",
                                 "--jobs", "2", "--format", "png", "--out", str(out)], cwd=tmp_path, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        deadline = time.monotonic() + 60
        workers = []
        while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
            workers = [c for c in _children(proc.pid) if _guarded(c)]
        assert len(workers) == 2, proc.poll()
        time.sleep(1.0)  # both inside their figures (the quick readings grid compiles for several seconds)
        sent = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        status = proc.wait(timeout=10)
        elapsed = time.monotonic() - sent
        while any(Path(f"/proc/{w}").exists() and _guarded(w) for w in workers) and time.monotonic() - sent < 5:
            time.sleep(0.05)
        gone = time.monotonic() - sent
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    err = proc.stderr.read()
    assert status == 130 and elapsed < 2.0, (status, elapsed, err)
    # The last line: the pool is wound down before the command ends, so Python's resource tracker (which shares
    # stderr) has no "leaked semaphore objects" to warn about.
    assert err.strip().splitlines()[-1] == "clop-verify figures: interrupted", err
    assert gone < 2.0, gone  # the workers ended with the command
    leftovers = [p.name for p in out.rglob("*") if p.name.startswith(".")] if out.exists() else []
    assert leftovers == []  # nothing staged is left behind
