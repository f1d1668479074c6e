"""Process-wide JAX settings for the ``clop-verify`` command and the test suite, set before JAX starts.

The library packages never change JAX's global configuration; the two entry points that own a whole
process do, through :func:`configure_jax`:

- 64-bit mode on (``JAX_ENABLE_X64=1``): the simulators' default dtype is float64;
- JAX's persistent compilation cache, so that a second run of a command loads its compiled programs
  instead of compiling them again. The cache lives in ``$XDG_CACHE_HOME/clop-verify/jax`` (default
  ``~/.cache/clop-verify/jax``); ``CLOP_VERIFY_JAX_CACHE=/some/dir`` moves it and
  ``CLOP_VERIFY_JAX_CACHE=off`` (or ``0``, ``none``, empty) turns it off. Every compiled program is
  cached, however quickly it compiled (JAX's default threshold of 1 s would skip most of ours, which
  take 0.1-0.5 s).

Settings the user already made in the environment (``JAX_ENABLE_X64``, ``JAX_COMPILATION_CACHE_DIR``)
win.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from results.settings import cache_home

__all__ = ["CACHE_ENV", "COORDINATOR_ENV", "compilation_cache_dir", "configure_jax", "initialize_distributed",
           "multi_process_run"]

#: The environment variable that moves (a path) or disables (``off``) the compilation cache.
CACHE_ENV = "CLOP_VERIFY_JAX_CACHE"

_OFF = {"", "0", "off", "none", "false", "no"}

#: Environment variables that make a ``clop-verify`` process one of several (``jax.distributed``).
COORDINATOR_ENV = ("CLOP_VERIFY_COORDINATOR", "CLOP_VERIFY_NUM_PROCESSES", "CLOP_VERIFY_PROCESS_ID")


def compilation_cache_dir(environ: dict | None = None) -> Path | None:
    """Where the persistent compilation cache lives, or ``None`` when it is disabled.

    Example:
        >>> compilation_cache_dir({"XDG_CACHE_HOME": "/tmp/xdg"}).as_posix()
        '/tmp/xdg/clop-verify/jax'
        >>> compilation_cache_dir({"CLOP_VERIFY_JAX_CACHE": "off"}) is None
        True
        >>> compilation_cache_dir({"CLOP_VERIFY_JAX_CACHE": "/tmp/c"}).as_posix()
        '/tmp/c'
    """
    environ = os.environ if environ is None else environ
    if CACHE_ENV in environ:
        value = environ[CACHE_ENV].strip()
        return None if value.lower() in _OFF else Path(value).expanduser()
    return cache_home(environ) / "jax"


def configure_jax() -> Path | None:
    """Turn on 64-bit mode and the persistent compilation cache for this process; return the cache folder.

    Works through environment variables when JAX is not imported yet (the normal case), and through
    ``jax.config`` when it is. An unwritable cache folder disables the cache silently (results do not
    depend on it, only start-up time).

    Example:
        >>> import os
        >>> _ = configure_jax()
        >>> os.environ["JAX_ENABLE_X64"] in ("1", "true", "True")
        True
    """
    os.environ.setdefault("JAX_ENABLE_X64", "1")
    folder = compilation_cache_dir()
    if folder is not None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            folder = None
    if folder is not None:
        os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(folder))
        os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
        os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
    if folder is not None:
        _watch_for_damaged_cache(folder)
    if "jax" in sys.modules:  # already started (e.g. an interactive session): apply what still can be
        import jax

        jax.config.update("jax_enable_x64", os.environ["JAX_ENABLE_X64"] not in ("0", "false", "False"))
        if folder is not None:
            jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
            jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    return folder


#: The start of the warning JAX gives for each cache entry it cannot read (a damaged or truncated file).
DAMAGED_CACHE_WARNING = "Error reading persistent compilation cache entry"


def clear_compilation_cache(folder: Path) -> int:
    """Delete JAX's entries (``*-cache``, ``*-atime``) from ``folder``; return how many. Other files are kept.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> for name in ("jit_f-ab12-cache", "jit_f-ab12-atime", "notes.txt"):
        ...     _ = (d / name).write_text("x")
        >>> clear_compilation_cache(d), sorted(p.name for p in d.iterdir())
        (2, ['notes.txt'])
    """
    removed = 0
    for path in folder.iterdir():
        if path.is_file() and path.name.startswith("jit") and path.name.endswith(("-cache", "-atime")):
            try:
                path.unlink()
                removed += 1
            except OSError:
                pass
    return removed


def _watch_for_damaged_cache(folder: Path) -> None:
    """Replace JAX's warning per damaged cache entry (25-50 per command, on every later command) by one line.

    The first such warning clears the cache folder's JAX entries (:func:`clear_compilation_cache`; the
    programs are compiled again and written afresh) and says so once; the other warnings of the process
    are dropped. Every other warning is shown as before.
    """
    import warnings

    if getattr(warnings.showwarning, "_clop_verify_cache_hook", False):
        return
    original = warnings.showwarning
    said = []

    def showwarning(message, category, filename, lineno, file=None, line=None):
        if str(message).startswith(DAMAGED_CACHE_WARNING):
            if not said:
                said.append(True)
                removed = clear_compilation_cache(folder)
                print(f"clop-verify: the JAX compilation cache in {folder} had damaged entries; cleared it "
                      f"({removed} files): programs are compiled again, results do not depend on it", file=sys.stderr)
            return
        original(message, category, filename, lineno, file, line)

    showwarning._clop_verify_cache_hook = True
    warnings.showwarning = showwarning


def multi_process_run(environ: dict | None = None) -> bool:
    """Whether this process is asked to be one of several (any of :data:`COORDINATOR_ENV` is set).

    Example:
        >>> multi_process_run({}), multi_process_run({"CLOP_VERIFY_PROCESS_ID": "0"})
        (False, True)
    """
    environ = os.environ if environ is None else environ
    return any(name in environ for name in COORDINATOR_ENV)


def initialize_distributed(environ: dict | None = None) -> bool:
    """Join a multi-process JAX run when ``CLOP_VERIFY_COORDINATOR`` (``host:port``),
    ``CLOP_VERIFY_NUM_PROCESSES`` and ``CLOP_VERIFY_PROCESS_ID`` are set; return whether it did.

    Every process then runs the same command; the simulators split their runs over all processes'
    devices (:mod:`simulations.collapse.sharding`) and every process prints the same result. Process 0
    hosts the coordinator. On CPU the processes exchange data through JAX's CPU collectives (gloo over
    TCP, JAX's default). Call it before any JAX computation.

    Raises:
        ValueError: a variable is missing or not a valid number / address.

    Example:
        >>> initialize_distributed({})
        False
        >>> initialize_distributed({"CLOP_VERIFY_COORDINATOR": "127.0.0.1:1"})
        Traceback (most recent call last):
        ...
        ValueError: CLOP_VERIFY_NUM_PROCESSES must be an integer >= 1 with CLOP_VERIFY_COORDINATOR set; got None
    """
    environ = os.environ if environ is None else environ
    if not multi_process_run(environ):
        return False
    address, count, index = (environ.get(name) for name in COORDINATOR_ENV)
    if not address or ":" not in address:
        raise ValueError(f"CLOP_VERIFY_COORDINATOR must be host:port; got {address!r}")
    try:
        n = int(count)
        assert n >= 1
    except (TypeError, ValueError, AssertionError):
        raise ValueError(f"CLOP_VERIFY_NUM_PROCESSES must be an integer >= 1 with CLOP_VERIFY_COORDINATOR set; got {count!r}") from None
    try:
        i = int(index)
        assert 0 <= i < n
    except (TypeError, ValueError, AssertionError):
        raise ValueError(f"CLOP_VERIFY_PROCESS_ID must be an integer in [0, {n}); got {index!r}") from None
    import jax

    jax.distributed.initialize(coordinator_address=address, num_processes=n, process_id=i)
    return True
