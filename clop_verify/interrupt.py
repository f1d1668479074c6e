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
"""
from __future__ import annotations

import os
import signal
import sys
import threading

__all__ = ["GRACE_SECONDS", "install", "uninstall", "end_after_interrupt"]

#: Seconds the main thread gets to handle Ctrl-C itself before the watchdog ends the process.
GRACE_SECONDS = 1.0

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
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    try:
        previous = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    except (ValueError, OSError):
        os.close(read_fd)
        os.close(write_fd)
        return False
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
    _end("")


def _watch(read_fd: int, done: threading.Event, label: str) -> None:
    try:
        while True:
            data = os.read(read_fd, 64)
            if not data:  # uninstalled
                return
            if signal.SIGINT in data:
                _signalled.set()
            if signal.SIGINT in data and not done.wait(GRACE_SECONDS):
                _end(label)
    except OSError:  # pragma: no cover - the pipe went away
        return
    finally:
        try:
            os.close(read_fd)
        except OSError:
            pass



def _end(label: str) -> None:
    """Remove what is being staged, say so, and end the process now (status 130, as a shell reports Ctrl-C)."""
    try:
        from results.io import discard_staged

        discard_staged()
    except Exception:  # noqa: BLE001 - ending matters more than tidying
        pass
    try:
        if not _said.is_set():
            sys.stderr.write(f"{label}: interrupted\n")
        sys.stderr.flush()
        sys.stdout.flush()
    except Exception:  # noqa: BLE001
        pass
    os._exit(130)
