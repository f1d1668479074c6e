"""Atomic result files and result sets, and the metadata every result carries.

A result is written to a temporary file in the target folder and moved into place with
:func:`os.replace`, so a reader never sees a half-written file and an interrupted run leaves nothing
behind. A result *set* (a figure's PNG, PDF and JSON; ``report.json`` with ``report.md``) is staged
whole in a hidden folder inside the target (:func:`atomic_set`) and its files are moved into place only
once every one of them is complete; on any failure (a full disk: ``ENOSPC``, ``EDQUOT``, ``EROFS``,
see :data:`DISK_ERRNOS`) the staged files and any folder the writer created are removed, so the
target holds the old set or the new one, never a mixture. :func:`run_metadata` records what is needed to reproduce a number: parameters, seeds, the
versions of jax, jaxlib, numpy and sympy, the backend and its devices, the float precision and the git
revision of the checkout.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import platform
import shutil
import subprocess
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

__all__ = ["check_output_folder", "atomic_open", "atomic_set", "discard_staged", "DISK_ERRNOS", "is_disk_error",
           "cpu_description", "cpu_summary", "usable_cores",
           "save_json", "save_npz", "run_metadata", "git_revision", "dirty_outside", "to_jsonable", "RESULT_FOLDERS"]

#: ``errno`` values meaning the disk refused a write (no space, quota exceeded, read-only file system).
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})

#: Temporary files and staging folders being written now; :func:`discard_staged` removes them (the
#: Ctrl-C watchdog of :mod:`clop_verify.interrupt` calls it before ending the process).
_STAGED: set = set()


def is_disk_error(exc: BaseException) -> bool:
    """True for an :class:`OSError` whose errno is in :data:`DISK_ERRNOS`.

    Example:
        >>> is_disk_error(OSError(errno.ENOSPC, "No space left on device")), is_disk_error(OSError(errno.ENOENT, "x"))
        (True, False)
    """
    return isinstance(exc, OSError) and exc.errno in DISK_ERRNOS


def discard_staged() -> None:
    """Remove every temporary file and staging folder still being written (best effort)."""
    for path in list(_STAGED):
        with contextlib.suppress(OSError):
            if os.path.isdir(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
        _STAGED.discard(path)


def _make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and missing parents; return the ones created, deepest first (to undo)."""
    missing = []
    for part in (folder, *folder.parents):
        if part.exists():
            break
        missing.append(part)
    folder.mkdir(parents=True, exist_ok=True)
    return missing


def _name_target(exc: BaseException, target: Path) -> None:
    """Give an OSError without a file name the target's (so its message says where the write failed)."""
    if isinstance(exc, OSError) and not exc.filename:
        with contextlib.suppress(AttributeError, TypeError):
            exc.filename = str(target)


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:  # deepest first
        with contextlib.suppress(OSError):
            folder.rmdir()


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
        >>> check_output_folder("")
        Traceback (most recent call last):
        ...
        ValueError: --out must be a folder that can be written; got an empty path ''
    """
    if not str(path).strip():
        raise ValueError(f"{flag} must be a folder that can be written; got an empty path {str(path)!r}")
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
    created = _make_folders(path.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except BaseException:
        _remove_empty(created)
        raise
    _STAGED.add(tmp)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a result file gets the usual permissions
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        _remove_empty(created)
        _name_target(exc, path)
        raise
    finally:
        _STAGED.discard(tmp)


@contextlib.contextmanager
def atomic_set(folder: str | os.PathLike) -> Iterator[Callable[[str], Path]]:
    """Write a set of files into ``folder`` all together or not at all.

    Yields ``stage(name) -> Path``: write each file of the set to the path it returns (a hidden staging
    folder inside ``folder``, so on the same file system). When the block ends normally every staged
    file is flushed to disk, then moved onto ``folder/name`` with :func:`os.replace`; if the block (or a
    flush) raises, the staged files are removed, the folders this call created are removed again, and
    ``folder`` keeps exactly what it held before.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp()) / "out"
        >>> with atomic_set(d) as stage:
        ...     _ = stage("a.txt").write_text("A")
        ...     _ = save_json(stage("a.json"), {"a": 1})
        >>> sorted(p.name for p in d.iterdir())
        ['a.json', 'a.txt']
        >>> try:
        ...     with atomic_set(d) as stage:
        ...         _ = stage("a.txt").write_text("B")
        ...         raise OSError(errno.ENOSPC, "No space left on device")
        ... except OSError:
        ...     pass
        >>> sorted(p.name for p in d.iterdir()), (d / "a.txt").read_text()
        (['a.json', 'a.txt'], 'A')
    """
    folder = Path(folder)
    created = _make_folders(folder)
    try:
        staging = Path(tempfile.mkdtemp(prefix=".staging.", dir=folder))
    except BaseException:
        _remove_empty(created)
        raise
    _STAGED.add(str(staging))
    names: list[str] = []

    def stage(name: str) -> Path:
        if Path(name).name != name:
            raise ValueError(f"a staged file is named by its file name alone; got {name!r}")
        names.append(name)
        return staging / name

    try:
        yield stage
        for name in dict.fromkeys(names):
            path = staging / name
            if not path.exists():
                raise FileNotFoundError(errno.ENOENT, "staged file was not written", str(folder / name))
            with open(path, "rb+") as handle:
                os.fsync(handle.fileno())
            os.chmod(path, 0o666 & ~_umask())
        for name in dict.fromkeys(names):
            os.replace(staging / name, folder / name)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        _remove_empty(created)
        _name_target(exc, folder)
        raise
    finally:
        _STAGED.discard(str(staging))
    shutil.rmtree(staging, ignore_errors=True)


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


#: Folders (relative to the checkout) that hold committed results: the full commands rewrite them, so
#: changes there are outputs, not code (:func:`git_revision`, :mod:`clop_verify.outputs`).
RESULT_FOLDERS = ("figures/out", "report")


def git_revision(start: str | os.PathLike | None = None) -> str | None:
    """The git commit of the checkout holding this package (``None`` outside a checkout).

    A ``-dirty`` suffix marks uncommitted changes to tracked files outside the result folders
    (:data:`RESULT_FOLDERS`): a regeneration rewrites those as it goes, so its own outputs must not mark
    the code that made them as uncommitted.

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
    dirty = dirty_outside(RESULT_FOLDERS, start=start)
    return rev + ("-dirty" if dirty else "")


def dirty_outside(exclude: tuple[str, ...] = (), start: str | os.PathLike | None = None) -> list[str] | None:
    """Tracked files of the checkout that differ from its commit, outside the folders ``exclude``.

    ``exclude`` names folders relative to the checkout's root (the result folders a command is about
    to rewrite). Returns the changed paths (empty for a clean tree), or ``None`` outside a checkout.

    Example:
        >>> import tempfile
        >>> dirty_outside(start=tempfile.mkdtemp()) is None
        True
    """
    start = Path(start) if start is not None else Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "-z"], cwd=start,
                             capture_output=True, text=True, timeout=10)
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=start, capture_output=True, text=True,
                             timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0 or top.returncode != 0:
        return None
    entries = [e for e in out.stdout.split("\0") if e]
    changed = []
    skip_next = False
    for entry in entries:
        if skip_next:  # the source path of a rename
            skip_next = False
            continue
        status, name = entry[:2], entry[3:]
        skip_next = "R" in status or "C" in status
        if not any(name == folder or name.startswith(folder.rstrip("/") + "/") for folder in exclude):
            changed.append(name)
    return changed


def _version(module_name: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(module_name)
    except Exception:  # pragma: no cover - package metadata missing
        return None


def cpu_description() -> dict:
    """The processor a result was computed on, and how many of its cores this process may use.

    Both decide the last bits of a compiled result: XLA compiles for the processor's instruction set, and
    sizes its CPU thread pool to the cores in the process's affinity mask (a container's CPU limit,
    ``taskset``), splitting long contractions over that pool (``benchmarks/probe_thread_rounding.py``).
    ``{"model": str | None, "usable_cores": int | None}``; the model comes from ``/proc/cpuinfo`` where
    there is one, else :func:`platform.processor`.

    Example:
        >>> cpu = cpu_description()
        >>> sorted(cpu), cpu["usable_cores"] >= 1
        (['model', 'usable_cores'], True)
    """
    model = None
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    if model is None:
        model = platform.processor() or None
    return {"model": model, "usable_cores": usable_cores()}


def cpu_summary() -> str:
    """``"MODEL, N usable cores"``: :func:`cpu_description` as the benchmarks print it at the head of their tables.

    Example:
        >>> cpu_summary().endswith("usable cores")
        True
    """
    cpu = cpu_description()
    return f"{cpu['model'] or platform.machine()}, {cpu['usable_cores']} usable cores"


def usable_cores() -> int | None:
    """The cores this process may run on: its affinity mask where the system has one, else :func:`os.cpu_count`.

    Example:
        >>> usable_cores() >= 1
        True
    """
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def run_metadata(parameters: dict | None = None, *, dtype: str | None = None) -> dict:
    """Metadata for a result file: parameters, package versions, backend, devices, processor, precision, git.

    JAX is imported only if it is already loaded, so symbolic commands stay light. ``cpu`` is
    :func:`cpu_description`: with the versions, what a reader needs to tell why two machines' last bits differ.

    Example:
        >>> md = run_metadata({"k": 3}, dtype="float64")
        >>> md["parameters"], md["precision"], "numpy" in md["versions"], sorted(md["cpu"])
        ({'k': 3}, 'float64', True, ['model', 'usable_cores'])
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
        "cpu": cpu_description(),
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
