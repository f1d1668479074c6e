"""The worker guard of :mod:`clop_verify.interrupt` (the processes of ``clop-verify figures --jobs N``).

A worker ignores Ctrl-C, and ends itself with status 143, removing the result file it is staging, on
SIGTERM or when the process that started it is gone. The worker here is a plain Python process that
stages a file with :func:`results.io.atomic_open` and then sleeps; neither module imports JAX, so each
test takes well under a second.
"""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, PYTHONPATH=str(ROOT))

WORKER = textwrap.dedent("""
    import sys, time
    from clop_verify import interrupt
    from results import io
    assert interrupt.guard_worker()
    staging = io.atomic_open(sys.argv[1])
    staging.__enter__().write(b"half")
    print("staged", flush=True)
    time.sleep(60)
""")

# Starts the worker, says its pid, and ends at once without waiting for it.
PARENT = textwrap.dedent("""
    import os, subprocess, sys
    child = subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
    assert child.stdout.readline() == "staged\\n"
    print(child.pid, flush=True)
    os._exit(0)
""")


def _staged(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _start_worker(folder: Path) -> subprocess.Popen:
    # SIGINT's default action in the worker even if the suite ignores it (exec resets a handler, not an ignore).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen([sys.executable, "-c", WORKER, str(folder / "result.json")], env=ENV,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert proc.stdout.readline() == "staged\n", proc.stderr.read()
    assert len(_staged(folder)) == 1  # the temporary file beside the target
    return proc


def test_a_worker_ignores_ctrl_c_and_ends_on_sigterm_removing_what_it_staged(tmp_path):
    proc = _start_worker(tmp_path)
    try:
        proc.send_signal(signal.SIGINT)  # the terminal's Ctrl-C reaches the whole process group: ignored
        time.sleep(0.5)
        assert proc.poll() is None
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)  # what the command sends when it ends its workers
        assert proc.wait(timeout=10) == 143
        assert time.monotonic() - sent < 1.0
    finally:
        proc.kill()
    assert _staged(tmp_path) == []
    assert proc.stderr.read() == ""


def _gone(pid: int) -> bool:
    """The process has ended (a zombie waiting for a reaper that is not ours counts as ended)."""
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0] in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return True


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads process states from /proc")
def test_a_worker_ends_itself_when_the_process_that_started_it_is_gone(tmp_path):
    parent = subprocess.run([sys.executable, "-c", PARENT, WORKER, str(tmp_path / "result.json")], env=ENV,
                            capture_output=True, text=True, timeout=60)
    assert parent.returncode == 0, parent.stderr
    worker = int(parent.stdout)
    deadline = time.monotonic() + 5.0  # the guard checks its parent every PARENT_POLL_SECONDS (0.2 s)
    while not _gone(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        assert _gone(worker)
    finally:
        if not _gone(worker):
            os.kill(worker, signal.SIGKILL)
    assert _staged(tmp_path) == []


def test_the_guard_is_armed_only_from_the_main_thread():
    import threading

    from clop_verify import interrupt

    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    armed = []
    thread = threading.Thread(target=lambda: armed.append(interrupt.guard_worker()))
    thread.start()
    thread.join()
    assert armed == [False]
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before  # nothing changed here
