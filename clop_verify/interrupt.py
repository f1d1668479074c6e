"""Ctrl-C ends every command within about two seconds, even inside a long compiled call.

Python delivers ``KeyboardInterrupt`` only when the main thread runs Python code again; a jitted JAX
program (one chunk of the readings grid took most of a minute) keeps it in C++ until the program ends.
:func:`install` therefore also lets the C signal handler write to a pipe
(:func:`signal.set_wakeup_fd`, which works whatever the main thread is doing), and a watchdog thread
reading that pipe gives the main thread :data:`GRACE_SECONDS` to handle it (the usual
``KeyboardInterrupt`` path: staged result files removed, "interrupted", then
:func:`end_after_interrupt` ends the process without the interpreter's teardown, which can wait on a
compiled call still running). If it has not, the watchdog removes the files :mod:`results.io` is
still staging, prints the "interrupted" line and ends the process with status 130. Nothing half-written is left either way: results are staged beside their
target and moved into place only when complete.

A process a command starts to do part of its work (``clop-verify figures --jobs N``) is ended by that
command, not by the terminal: :func:`guard_worker` makes it ignore Ctrl-C and end itself (status 143, as a
shell reports SIGTERM), after removing what it is staging, when it gets SIGTERM or when the process that
started it is gone, even inside a compiled call. The same pipe and the same ending serve both.
"""
from __future__ import annotations

import os
import signal
import sys
import threading

__all__ = ["GRACE_SECONDS", "PARENT_POLL_SECONDS", "install", "uninstall", "end_after_interrupt", "guard_worker"]

#: Seconds the main thread gets to handle Ctrl-C itself before the watchdog ends the process.
GRACE_SECONDS = 1.0

#: Seconds between a worker's checks that the process that started it is still there.
PARENT_POLL_SECONDS = 0.2

_state: dict = {}
#: Set when the main thread has printed its own "interrupted" line; set by the watchdog when SIGINT arrives.
_said = threading.Event()
_signalled = threading.Event()


def install(label: str) -> bool:
    """Arm the watchdog for this command (``label`` starts its "interrupted" line); False where it cannot be.

    Only the main thread can set a wakeup fd; elsewhere (a command run from a test's thread) nothing
    changes and the usual ``KeyboardInterrupt`` applies.

    Example:
        >>> install("clop-verify demo") in (True, False)
        True
        >>> uninstall()
    """
    if _state or threading.current_thread() is not threading.main_thread():
        return False
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return False  # someone else handles SIGINT (a debugger, an embedding application)
    pipe = _wakeup_pipe()
    if pipe is None:
        return False
    read_fd, write_fd, previous = pipe
    _said.clear()
    _signalled.clear()
    done = threading.Event()
    thread = threading.Thread(target=_watch, args=(read_fd, done, label), name="clop-verify-interrupt", daemon=True)
    _state.update(read_fd=read_fd, write_fd=write_fd, previous=previous, done=done, thread=thread)
    thread.start()
    return True


def uninstall() -> None:
    """Disarm the watchdog (the command ended by itself); a no-op when none is armed."""
    if not _state:
        return
    _state["done"].set()
    try:
        signal.set_wakeup_fd(_state["previous"])
    except (ValueError, OSError):  # pragma: no cover - not the main thread any more
        pass
    os.close(_state["write_fd"])  # the watchdog's read returns at end of file
    _state.clear()


def end_after_interrupt() -> None:
    """Called once a command has handled Ctrl-C and printed its line: end the process now (status 130) if
    a real SIGINT arrived, without the interpreter's teardown.

    Teardown can wait for a compiled call still running in XLA's threads (seconds) or crash in it, and a
    watchdog thread cannot act once teardown has begun. A ``KeyboardInterrupt`` raised without a signal
    (a test) returns normally.
    """
    if not _state or not _signalled.wait(0.2):  # the watchdog reads the signal's byte within microseconds
        return
    _said.set()
    _end(None, 130)


def _watch(read_fd: int, done: threading.Event, label: str) -> None:
    try:
        while True:
            data = os.read(read_fd, 64)
            if not data:  # uninstalled
                return
            if signal.SIGINT in data:
                _signalled.set()
            if signal.SIGINT in data and not done.wait(GRACE_SECONDS):
                _end(label, 130)
    except OSError:  # pragma: no cover - the pipe went away
        return
    finally:
        try:
            os.close(read_fd)
        except OSError:
            pass



def guard_worker(parent: int | None = None) -> bool:
    """Arm the guard of a worker process (call it first thing in the worker); False where it cannot be armed.

    The worker ignores Ctrl-C (the terminal sends it to the whole process group; the command that
    started the worker decides and ends it). A guard thread ends the worker with status 143 after
    removing what :mod:`results.io` is staging, when SIGTERM arrives or as soon as ``parent`` (default:
    the process that started this one) is gone (checked every :data:`PARENT_POLL_SECONDS`), even while
    the main thread is inside a compiled call. Only the main thread can arm it.

    Example (in a worker, e.g. a :class:`concurrent.futures.ProcessPoolExecutor`'s ``initializer``)::

        from clop_verify import interrupt
        interrupt.guard_worker()
    """
    if threading.current_thread() is not threading.main_thread():
        return False
    parent = os.getppid() if parent is None else parent
    pipe = _wakeup_pipe()  # first: from the moment SIGTERM is caught, its byte reaches the pipe
    if pipe is None:  # pragma: no cover - the main thread can always set a wakeup fd
        return False
    read_fd = pipe[0]
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, frame: None)  # the C handler writes SIGTERM's byte to the pipe
    threading.Thread(target=_guard, args=(read_fd, parent), name="clop-verify-worker-guard", daemon=True).start()
    return True


def _guard(read_fd: int, parent: int) -> None:
    import select

    while os.getppid() == parent:
        ready, _, _ = select.select([read_fd], [], [], PARENT_POLL_SECONDS)
        if ready and signal.SIGTERM in os.read(read_fd, 64):
            break
    _end(None, 143)


def _wakeup_pipe() -> tuple[int, int, int] | None:
    """A pipe the C signal handler writes each signal's number to: ``(read_fd, write_fd, previous wakeup fd)``."""
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    try:
        previous = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    except (ValueError, OSError):
        os.close(read_fd)
        os.close(write_fd)
        return None
    return read_fd, write_fd, previous


def _end(label: str | None, status: int) -> None:
    """Remove what is being staged, say so (unless ``label`` is None or the line was said), and end the
    process now with ``status`` (130 for Ctrl-C, 143 for SIGTERM, as a shell reports them)."""
    try:
        from results.io import discard_staged

        discard_staged()
    except Exception:  # noqa: BLE001 - ending matters more than tidying
        pass
    try:
        if label is not None and not _said.is_set():
            sys.stderr.write(f"{label}: interrupted\n")
        sys.stderr.flush()
        sys.stdout.flush()
    except Exception:  # noqa: BLE001
        pass
    os._exit(status)
