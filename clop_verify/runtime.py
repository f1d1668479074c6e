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

__all__ = ["CACHE_ENV", "compilation_cache_dir", "configure_jax"]

#: The environment variable that moves (a path) or disables (``off``) the compilation cache.
CACHE_ENV = "CLOP_VERIFY_JAX_CACHE"

_OFF = {"", "0", "off", "none", "false", "no"}


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
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "clop-verify" / "jax"


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
    if "jax" in sys.modules:  # already started (e.g. an interactive session): apply what still can be
        import jax

        jax.config.update("jax_enable_x64", os.environ["JAX_ENABLE_X64"] not in ("0", "false", "False"))
        if folder is not None:
            jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
            jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    return folder
