"""What the console script reports as the user's mistake, and what it reports as its own bug.

* :class:`UsageError`: something the user got wrong (a flag's value, a file that is not what it should
  be, a full disk). :func:`clop_verify.cli.main` prints it as one line on stderr and exits with 2.
* Anything else escaping a command is a bug in ``clop-verify``: the traceback is kept, a last line says
  so, and the exit status is 1.

Library code (``theory``, ``simulations``, ``results``, ``figures``, ``claims``) raises plain
:class:`ValueError` with library wording (``tau must be ...``); a command turns the errors of the
library's *input checks* into :class:`UsageError` with :func:`user_input`, naming the flag, and never
wraps a computation, so that a ``ValueError`` raised inside one stays a bug with its traceback.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

from results.io import DISK_ERRNOS

__all__ = ["UsageError", "user_input", "DISK_ERRNOS", "disk_error_text"]

# DISK_ERRNOS (results.io): the disk, not the program, refused a write (no space, quota, read-only file
# system); a command ends on them with one line and exit status 2.


class UsageError(ValueError):
    """The user's mistake, in one line that names the flag and the accepted range (exit status 2).

    A subclass of :class:`ValueError`, so code that already catches ``ValueError`` from a check still
    does.

    Example:
        >>> str(UsageError("--k must be an integer >= 3; got 2"))
        '--k must be an integer >= 3; got 2'
    """


@contextlib.contextmanager
def user_input(flag: str | None = None) -> Iterator[None]:
    """Turn a :class:`ValueError` raised by a library input check into a :class:`UsageError`.

    Args:
        flag: the flag the checked value came from; prefixed to the message unless it already names it.

    Example:
        >>> from theory.bounds import check_k
        >>> with user_input("--k"):
        ...     check_k(2)
        Traceback (most recent call last):
        ...
        clop_verify.errors.UsageError: --k: k must be an integer > 2 (Theorem 1 assumes m >= k > 2); got 2
    """
    try:
        yield
    except UsageError:
        raise
    except ValueError as exc:
        text = str(exc)
        if flag and not text.startswith(flag):
            text = f"{flag}: {text}"
        raise UsageError(text) from None


def disk_error_text(exc: OSError) -> str:
    """One line for a write the disk refused (:data:`DISK_ERRNOS`).

    Example:
        >>> import errno, os
        >>> disk_error_text(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "out/report.json"))
        "cannot write 'out/report.json': No space left on device; no partial result was left (free space or choose another --out)"
    """
    where = f" {exc.filename!r}" if exc.filename else ""
    return (f"cannot write{where}: {exc.strerror or exc}; no partial result was left "
            "(free space or choose another --out)")
