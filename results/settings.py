"""Where results go: one settings object naming the output folder, the result cache and whether to read it.

Library code takes its folders from a :class:`Settings` (or from an explicit output folder) and never
from the current working directory. The result cache defaults to the XDG cache folder,
``$XDG_CACHE_HOME/clop-verify/results`` (``~/.cache/clop-verify/results``), or
``$CLOP_VERIFY_RESULTS_CACHE``: every entry there is keyed on its parameters and on the code that
computed it (:mod:`results.cache`), so one cache serves every output folder, and ``clop-verify report``
reads the simulations ``clop-verify figures`` ran whatever ``--out`` either was given.

The command line's default output folders (``figures/out``, ``report``) are folders of the checkout the
packages were imported from (:func:`default_out`), not of the current directory, so a command run from
another folder writes only there and into the cache.

Imports only the standard library.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Mapping

__all__ = ["CACHE_ENV", "Settings", "cache_home", "default_cache_dir", "project_folder", "default_out"]

#: Environment variable that moves the result cache.
CACHE_ENV = "CLOP_VERIFY_RESULTS_CACHE"


def _xdg(variable: str, fallback: str, environ: Mapping[str, str]) -> Path:
    value = environ.get(variable, "")
    # The XDG spec ignores relative values: a cache must not depend on the current directory.
    if value and os.path.isabs(value):
        return Path(value)
    return Path(environ.get("HOME") or os.path.expanduser("~")) / fallback


def cache_home(environ: Mapping[str, str] | None = None) -> Path:
    """The toolkit's folder in the XDG cache: ``$XDG_CACHE_HOME/clop-verify`` (``~/.cache/clop-verify``).

    Holds the result cache (``results``) and JAX's compilation cache (``jax``, :mod:`clop_verify.runtime`).

    Example:
        >>> cache_home({"XDG_CACHE_HOME": "/tmp/xdg"}).as_posix()
        '/tmp/xdg/clop-verify'
    """
    return _xdg("XDG_CACHE_HOME", ".cache", os.environ if environ is None else environ) / "clop-verify"


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The result cache folder: ``$CLOP_VERIFY_RESULTS_CACHE``, else ``$XDG_CACHE_HOME/clop-verify/results``.

    Resolved when called (not at import), to an absolute path.

    Example:
        >>> default_cache_dir({"XDG_CACHE_HOME": "/tmp/xdg"}).as_posix()
        '/tmp/xdg/clop-verify/results'
        >>> default_cache_dir({"HOME": "/home/u"}).as_posix()
        '/home/u/.cache/clop-verify/results'
        >>> default_cache_dir({"HOME": "/home/u", "XDG_CACHE_HOME": "relative"}).as_posix()
        '/home/u/.cache/clop-verify/results'
        >>> default_cache_dir({CACHE_ENV: "/data/c"}).as_posix()
        '/data/c'
    """
    environ = os.environ if environ is None else environ
    if environ.get(CACHE_ENV):
        return Path(os.path.abspath(environ[CACHE_ENV]))
    return cache_home(environ) / "results"


def project_folder() -> Path | None:
    """The checkout these packages were imported from (its ``pyproject.toml`` names clop-verify), or ``None``.

    Example:
        >>> folder = project_folder()
        >>> folder is None or (folder / "results" / "settings.py").is_file()
        True
    """
    folder = Path(__file__).resolve().parents[1]
    pyproject = folder / "pyproject.toml"
    try:
        if 'name = "clop-verify"' in pyproject.read_text():
            return folder
    except OSError:
        pass
    return None


def default_out(relative: str | os.PathLike, environ: Mapping[str, str] | None = None) -> Path:
    """A default output folder of the command line: ``relative`` inside the checkout, never in the current folder.

    Installed without a checkout, the folder is under ``$XDG_DATA_HOME/clop-verify`` instead.

    Example:
        >>> default_out("figures/out").is_absolute()
        True
    """
    root = project_folder()
    if root is None:
        root = _xdg("XDG_DATA_HOME", os.path.join(".local", "share"), os.environ if environ is None else environ) / "clop-verify"
    return root / relative


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    """Where a computation writes and caches: ``out_dir``, ``cache_dir``, and whether cached results are read.

    Attributes:
        out_dir: the folder result files (figures, reports) are written into; ``None`` for computations
            that only return numbers.
        cache_dir: the result cache (default :func:`default_cache_dir`, resolved when the object is built).
        use_cache: ``False`` recomputes every result (and rewrites its entry) instead of reading it.

    Raises:
        TypeError: a folder that is not a path, or ``use_cache`` that is not a bool.

    Example:
        >>> s = Settings(out_dir="/tmp/figs", cache_dir="/tmp/cache")
        >>> s.out_dir.as_posix(), s.cache_dir.as_posix(), s.use_cache
        ('/tmp/figs', '/tmp/cache', True)
        >>> Settings.of("/tmp/other", cache_dir="/tmp/cache").out_dir.as_posix()
        '/tmp/other'
        >>> Settings(use_cache="no")
        Traceback (most recent call last):
        ...
        TypeError: use_cache must be a bool; got 'no'
    """

    out_dir: Path | None = None
    cache_dir: Path = dataclasses.field(default_factory=default_cache_dir)
    use_cache: bool = True

    def __post_init__(self):
        for name in ("out_dir", "cache_dir"):
            value = getattr(self, name)
            if value is None and name == "out_dir":
                continue
            if not isinstance(value, (str, os.PathLike)):
                raise TypeError(f"{name} must be a path; got {value!r}")
            object.__setattr__(self, name, Path(value))
        if not isinstance(self.use_cache, bool):
            raise TypeError(f"use_cache must be a bool; got {self.use_cache!r}")

    @classmethod
    def of(cls, out: "Settings | str | os.PathLike | None" = None, **changes) -> "Settings":
        """``out`` as settings: a :class:`Settings` as it is, a folder as the output folder; ``changes`` on top."""
        if isinstance(out, Settings):
            return dataclasses.replace(out, **changes) if changes else out
        return cls(out_dir=out, **changes)

    def replace(self, **changes) -> "Settings":
        """A copy with ``changes`` (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)
