"""Atomic result files and the metadata every result carries.

A result is written to a temporary file in the target folder and moved into place with
:func:`os.replace`, so a reader never sees a half-written file and an interrupted run leaves nothing
behind. :func:`run_metadata` records what is needed to reproduce a number: parameters, seeds, the
versions of jax, jaxlib, numpy and sympy, the backend and its devices, the float precision and the git
revision of the checkout.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import platform
import subprocess
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import numpy as np

__all__ = ["check_output_folder", "atomic_open", "save_json", "save_npz", "run_metadata", "git_revision", "to_jsonable"]


def check_output_folder(path: str | os.PathLike, flag: str = "--out") -> Path:
    """Check, before any work, that ``path`` is a folder results can be written into.

    The folder may not exist yet; then each existing parent must be a folder and the nearest
    existing one writable (the folders are created when the first result is written). Writability
    is probed by creating an unnamed temporary file there, so nothing is left behind.

    Raises:
        ValueError: naming ``flag``, the path and what is wrong with it.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> check_output_folder(d / "new" / "sub") == d / "new" / "sub"
        True
        >>> _ = (d / "file").write_text("x")
        >>> check_output_folder(d / "file" / "sub")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: --out must be a folder that can be written; got '.../file/sub', but .../file is a file
    """
    path = Path(path)
    absolute = Path(os.path.abspath(path))
    for part in (absolute, *absolute.parents):
        if not part.exists():
            continue
        if not part.is_dir():
            raise ValueError(f"{flag} must be a folder that can be written; got {str(path)!r}, "
                             f"but {part} is {'a file' if part.is_file() else 'not a folder'}")
        try:  # a nameless file, gone when closed: permission bits alone mislead root and read-only mounts
            with tempfile.TemporaryFile(dir=part):
                pass
        except OSError:
            raise ValueError(f"{flag} must be a folder that can be written; got {str(path)!r}, "
                             f"but {part} is not writable") from None
        return path
    return path  # pragma: no cover - the root always exists


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[io.IOBase]:
    """Open a temporary file beside ``path``; on success move it onto ``path``, else delete it.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> with atomic_open(d / "x.txt", "w") as f:
        ...     _ = f.write("hello")
        >>> (d / "x.txt").read_text()
        'hello'
        >>> oct((d / "x.txt").stat().st_mode & 0o777) == oct(0o666 & ~_umask())
        True
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a result file gets the usual permissions
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def to_jsonable(value: Any) -> Any:
    """Convert numpy / JAX scalars and arrays (recursively) to plain JSON types.

    Non-finite floats become the strings ``"nan"``, ``"inf"``, ``"-inf"`` so the file stays strict
    JSON.

    Example:
        >>> to_jsonable({"a": np.float32(1.5), "b": np.array([1, 2]), "c": float("inf")})
        {'a': 1.5, 'b': [1, 2], 'c': 'inf'}
    """
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "__array__") and not isinstance(value, (str, bytes)):
        arr = np.asarray(value)
        if arr.ndim == 0:
            return to_jsonable(arr.item())
        return [to_jsonable(v) for v in arr.tolist()]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if np.isnan(value):
            return "nan"
        if np.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, Path):
        return str(value)
    return value


def save_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically (via :func:`to_jsonable`); returns the path.

    Example:
        >>> import tempfile, pathlib, json
        >>> p = save_json(pathlib.Path(tempfile.mkdtemp()) / "r.json", {"eta": np.float64(2.0)})
        >>> json.loads(p.read_text())
        {'eta': 2.0}
    """
    path = Path(path)
    with atomic_open(path, "w") as handle:
        json.dump(to_jsonable(obj), handle, indent=2, allow_nan=False)
        handle.write("\n")
    return path


def save_npz(path: str | os.PathLike, **arrays: Any) -> Path:
    """Write arrays to a compressed ``.npz`` atomically (through a file object, so no suffix is added).

    Example:
        >>> import tempfile, pathlib
        >>> p = save_npz(pathlib.Path(tempfile.mkdtemp()) / "runs.npz", spectra=np.ones((2, 3)))
        >>> p.name, np.load(p)["spectra"].shape
        ('runs.npz', (2, 3))
    """
    path = Path(path)
    with atomic_open(path, "wb") as handle:
        np.savez_compressed(handle, **{k: np.asarray(v) for k, v in arrays.items()})
    return path


def git_revision(start: str | os.PathLike | None = None) -> str | None:
    """The git commit of the checkout holding this package (``None`` outside a checkout).

    A ``-dirty`` suffix marks uncommitted changes to tracked files.

    Example:
        >>> import tempfile
        >>> git_revision(tempfile.mkdtemp()) is None     # not a git checkout
        True
    """
    start = Path(start) if start is not None else Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=start, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    rev = out.stdout.strip()
    if out.returncode != 0 or not rev:
        return None
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=start, capture_output=True, text=True, timeout=5,
    ).stdout.strip()
    return rev + ("-dirty" if dirty else "")


def _version(module_name: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(module_name)
    except Exception:  # pragma: no cover - package metadata missing
        return None


def run_metadata(parameters: dict | None = None, *, dtype: str | None = None) -> dict:
    """Metadata for a result file: parameters, package versions, backend, devices, precision, git.

    JAX is imported only if it is already loaded, so symbolic commands stay light.

    Example:
        >>> md = run_metadata({"k": 3}, dtype="float64")
        >>> md["parameters"], md["precision"], "numpy" in md["versions"]
        ({'k': 3}, 'float64', True)
    """
    import sys

    meta: dict[str, Any] = {
        "parameters": to_jsonable(parameters or {}),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": {
            name: _version(name) for name in ("clop-verify", "jax", "jaxlib", "numpy", "sympy", "scipy", "matplotlib")
        },
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_revision": git_revision(),
        "precision": dtype,
    }
    if "jax" in sys.modules:
        import jax

        meta["backend"] = jax.default_backend()
        meta["devices"] = [str(d) for d in jax.devices()]
        meta["x64_enabled"] = bool(jax.config.jax_enable_x64)
        meta["default_matmul_precision"] = str(jax.config.jax_default_matmul_precision)
    return meta
