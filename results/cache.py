"""The result cache: every cached number is keyed on its parameters *and* on the code that computed it.

An entry is one JSON file ``<out_dir>/.cache/<name>-<digest>.json`` holding the parameters, the
code fingerprint (a SHA-256 over the source files of the packages the computation depends on, and the
versions of jax, jaxlib and numpy), the data and a checksum of the data. The digest in the file name
covers name, parameters and fingerprint, so a change to ``simulations/`` or ``theory/`` (or a new
JAX) makes every dependent entry unreachable and the result is recomputed: no cached number outlives
the code that made it. On read an entry is validated (it parses, has the expected keys, its
parameters and fingerprint match, the checksum of its data matches); an invalid entry is reported in
one line on stderr, naming the file, and recomputed.

Reading an entry needs neither JAX nor the simulators (this module imports only the standard library
and :mod:`results.io`).
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Callable, Iterable

from results.io import save_json, to_jsonable

__all__ = ["DEFAULT_DEPENDENCIES", "NO_CACHE", "cache_dir", "cached", "code_fingerprint", "data_checksum"]

#: The packages whose source decides a simulation's numbers, unless a caller names others.
DEFAULT_DEPENDENCIES: tuple[str, ...] = ("theory", "simulations")

#: Set to True (``--no-cache``) to recompute even when a valid cached result exists.
NO_CACHE = False

_VERSIONED = ("jax", "jaxlib", "numpy")


def cache_dir(out_dir: str | os.PathLike) -> Path:
    """The cache folder for results written under ``out_dir``.

    Example:
        >>> cache_dir("figures/out").as_posix()
        'figures/out/.cache'
    """
    return Path(out_dir) / ".cache"


def _source_files(module_name: str) -> tuple[Path, list[Path]]:
    """The folder a module's files are named relative to, and its source files (every .py below a package)."""
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.origin is None:
        raise ValueError(f"cannot fingerprint {module_name!r}: module not found")
    if spec.submodule_search_locations:  # a package: every .py file below it
        files: list[Path] = []
        for location in spec.submodule_search_locations:
            files.extend(p for p in Path(location).rglob("*.py") if "__pycache__" not in p.parts)
        return Path(spec.origin).parent, sorted(files)
    return Path(spec.origin).parent, [Path(spec.origin)]


def _version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:  # pragma: no cover - not installed
        return None


@functools.lru_cache(maxsize=None)
def _fingerprint(modules: tuple[str, ...]) -> dict:
    per_module = {}
    for name in modules:
        digest = hashlib.sha256()
        root, files = _source_files(name)
        for path in files:
            digest.update(path.relative_to(root).as_posix().encode() if path.is_relative_to(root) else path.name.encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
        per_module[name] = digest.hexdigest()[:16]
    versions = {name: _version(name) for name in _VERSIONED}
    overall = hashlib.sha256(json.dumps([per_module, versions], sort_keys=True).encode()).hexdigest()[:16]
    return {"fingerprint": overall, "modules": per_module, "versions": versions}


def code_fingerprint(modules: Iterable[str] = DEFAULT_DEPENDENCIES) -> dict:
    r"""Which code computes a result: a SHA-256 over each module's source files, and the library versions.

    .. math:: \mathrm{fp} = \mathrm{SHA256}\big([\mathrm{SHA256}(\text{sources of } M)]_{M},\ \text{versions of jax, jaxlib, numpy}\big)

    A package's fingerprint covers every ``.py`` file below it (relative path and bytes). Computed once
    per process and set of modules.

    Returns:
        ``{"fingerprint": str, "modules": {name: str}, "versions": {name: str}}``.

    Raises:
        ValueError: a module that cannot be found.

    Example:
        >>> fp = code_fingerprint(("theory",))
        >>> sorted(fp), len(fp["fingerprint"]), sorted(fp["versions"])
        (['fingerprint', 'modules', 'versions'], 16, ['jax', 'jaxlib', 'numpy'])
    """
    return _fingerprint(tuple(dict.fromkeys(modules)))


def data_checksum(data) -> str:
    """SHA-256 of the canonical JSON of ``data`` (sorted keys): detects an entry edited or damaged on disk.

    Example:
        >>> data_checksum({"a": 1, "b": [1.5]}) == data_checksum({"b": [1.5], "a": 1})
        True
    """
    return hashlib.sha256(json.dumps(data, sort_keys=True, allow_nan=True).encode()).hexdigest()


def _entry_path(out_dir, name: str, params_json, code: dict) -> Path:
    blob = json.dumps(params_json, sort_keys=True)
    digest = hashlib.sha256(f"{name}:{blob}:{code['fingerprint']}".encode()).hexdigest()[:16]
    return cache_dir(out_dir) / f"{name}-{digest}.json"


def _read_valid(path: Path, name: str, params_json, code: dict):
    """The entry's data, or ``None`` with the reason if the file is not a valid entry for these arguments."""
    try:
        entry = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"unreadable ({type(exc).__name__})"
    if not isinstance(entry, dict) or not {"name", "params", "code", "data", "checksum"} <= set(entry):
        return None, "not a cache entry (missing keys)"
    if entry["name"] != name or entry["params"] != params_json:
        return None, "parameters do not match its name"
    if not isinstance(entry["code"], dict) or entry["code"].get("fingerprint") != code["fingerprint"]:
        return None, "computed by other code"
    if entry["checksum"] != data_checksum(entry["data"]):
        return None, "checksum of its data does not match (edited or damaged)"
    return entry["data"], None


def cached(
    out_dir: str | os.PathLike,
    name: str,
    params: dict,
    compute: Callable[[], dict],
    *,
    depends_on: Iterable[str] = DEFAULT_DEPENDENCIES,
) -> dict:
    """Return ``compute()``, cached under ``out_dir/.cache`` by ``name``, ``params`` and the code that computes it.

    The cache key includes :func:`code_fingerprint` of ``depends_on`` (default: the ``theory`` and
    ``simulations`` packages), so an entry computed by other code is never returned. An entry that is
    damaged or edited (checksum mismatch, bad JSON, missing keys) is reported in one line on stderr
    and recomputed. The cache is bypassed when :data:`NO_CACHE` is true.

    Args:
        out_dir: the results folder (the cache is its ``.cache`` subfolder).
        name: the experiment's name.
        params: JSON-able parameters (numpy values are converted).
        compute: returns a JSON-able dict.
        depends_on: importable module or package names whose source decides the result.

    Returns:
        The data, as read back from JSON (so a fresh run and a cached one return equal objects).

    Example:
        >>> import tempfile
        >>> d = tempfile.mkdtemp()
        >>> calls = []
        >>> f = lambda: calls.append(1) or {"x": 1}
        >>> cached(d, "demo", {"a": 1}, f), cached(d, "demo", {"a": 1}, f), len(calls)
        ({'x': 1}, {'x': 1}, 1)
    """
    params_json = to_jsonable(params)
    code = code_fingerprint(depends_on)
    path = _entry_path(out_dir, name, params_json, code)
    if path.exists() and not NO_CACHE:
        data, problem = _read_valid(path, name, params_json, code)
        if problem is None:
            return data
        print(f"cache: ignoring {path} ({problem}); recomputing", file=sys.stderr, flush=True)
    data = to_jsonable(compute())
    # Round-trip through JSON so that the returned object is exactly what a later read returns.
    data = json.loads(json.dumps(data, allow_nan=True))
    save_json(path, {"name": name, "params": params_json, "code": code, "data": data, "checksum": data_checksum(data)})
    return data
