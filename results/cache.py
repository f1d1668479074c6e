"""The result cache: every cached number is keyed on its parameters *and* on the code that computed it.

An entry is one JSON file ``<cache_dir>/<name>-<digest>.json`` (the folder of a
:class:`results.settings.Settings`, by default the XDG cache folder) holding the parameters, the code
fingerprint, the data and a checksum of the data. The digest in the file name covers name,
parameters and fingerprint, so an entry computed by other code is unreachable and the result is
recomputed: no cached number outlives the code that made it. On read an entry is validated (it
parses, has the expected keys, its parameters and fingerprint match, the checksum of its data
matches); an invalid entry is reported in one line on stderr, naming the file, and recomputed.

The fingerprint (:func:`code_fingerprint`) covers exactly the modules the computation imports: from
the root modules a result names, every ``import`` statement (at module level or inside a function)
of the project's packages is followed, and each module reached is hashed as its syntax tree with
docstrings removed (``ast.dump``), so editing a docstring, a comment or the layout recomputes
nothing, while a code edit in any module the computation reaches recomputes it. The ``__init__`` of
every package a module lies in is hashed too (it runs on import) without following its imports.
Imports whose name is computed at run time are followed only in a package's ``__init__`` (lazy
submodules, PEP 562: every submodule of that package counts); a driver that picks a module by name
(the figure runner, the CLI) is not followed. The versions of jax, jaxlib and numpy are part of the
fingerprint.

Reading an entry needs neither JAX nor the simulators: modules are located and parsed, never
imported (this module imports only the standard library, :mod:`results.io` and
:mod:`results.settings`).
"""
from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Callable, Iterable

from results.io import save_json, to_jsonable
from results.settings import Settings

__all__ = ["DEFAULT_DEPENDENCIES", "PROJECT_PACKAGES", "cached", "code_fingerprint", "data_checksum", "dependencies",
           "entries_written", "normalised_source"]

#: The modules whose imports decide a result's numbers, unless a caller names others.
DEFAULT_DEPENDENCIES: tuple[str, ...] = ("theory", "simulations")

#: The packages whose imports are followed (besides the top-level packages of the roots themselves).
PROJECT_PACKAGES: tuple[str, ...] = ("theory", "simulations", "results", "figures", "claims", "clop_verify")

_VERSIONED = ("jax", "jaxlib", "numpy")


def _locate(name: str) -> tuple[Path, bool] | None:
    """The source file of module ``name`` and whether it is a package, found without importing anything."""
    top, *rest = name.split(".")
    try:
        spec = importlib.util.find_spec(top)  # a top-level name: nothing is imported
    except (ImportError, ValueError):  # ValueError: sys.modules[top] is None or has no spec
        return None
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return None
    if not spec.submodule_search_locations:
        return (Path(spec.origin), False) if not rest else None
    for location in spec.submodule_search_locations:
        path = Path(location).joinpath(*rest)
        if (path / "__init__.py").is_file():
            return path / "__init__.py", True
        if rest and path.with_suffix(".py").is_file():
            return path.with_suffix(".py"), False
    return None


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


def normalised_source(source: str) -> str:
    """The syntax tree of ``source`` without docstrings, comments or layout: what a fingerprint hashes.

    Example:
        >>> a = normalised_source("def f(x):\\n    'Twice x.'\\n    return 2 * x  # doubled\\n")
        >>> a == normalised_source("def f(x): return 2*x")
        True
        >>> a == normalised_source("def f(x): return 3*x")
        False
    """
    return ast.dump(_strip_docstrings(ast.parse(source)), include_attributes=False)


def _package_of(name: str, is_package: bool) -> str:
    return name if is_package else name.rpartition(".")[0]


def _submodules(package: str) -> list[str]:
    found = _locate(package)
    if found is None or not found[1]:
        return []
    folder = found[0].parent
    names = [p.stem for p in folder.glob("*.py") if p.stem != "__init__"]
    names += [p.name for p in folder.iterdir() if (p / "__init__.py").is_file()]
    return [f"{package}.{n}" for n in sorted(names)]


def _imports_in(node: ast.AST, name: str, is_package: bool) -> list[tuple[str, tuple[str, ...] | None]]:
    """The imports in ``node``: ``(module, names requested from it)``, ``None`` meaning the whole module.

    ``import a.b`` asks for all of ``a.b``; ``from a import b, c`` asks ``a`` for ``b`` and ``c``, and for
    all of ``a.b`` and ``a.c`` should they be modules; ``importlib.import_module("a.b")`` asks for all
    of ``a.b``; in a package ``__init__``, ``import_module(f"pkg.{x}")`` asks for every submodule."""
    out: list[tuple[str, tuple[str, ...] | None]] = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Import):
            out.extend((alias.name, None) for alias in sub.names)
        elif isinstance(sub, ast.ImportFrom):
            base = sub.module or ""
            if sub.level:
                package = _package_of(name, is_package).split(".")
                package = package[: len(package) - (sub.level - 1)]
                base = ".".join(package + ([sub.module] if sub.module else []))
            names = tuple(alias.name for alias in sub.names)
            out.append((base, None if "*" in names else names))
            out.extend((f"{base}.{n}", None) for n in names if n != "*")
        elif isinstance(sub, ast.Call) and sub.args and (
                (isinstance(sub.func, ast.Attribute) and sub.func.attr == "import_module")
                or (isinstance(sub.func, ast.Name) and sub.func.id in ("import_module", "__import__"))):
            arg = sub.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                out.append((arg.value, None))
            elif is_package and isinstance(arg, ast.JoinedStr) and arg.values \
                    and isinstance(arg.values[0], ast.Constant) and arg.values[0].value == f"{name}.":
                out.extend((m, None) for m in _submodules(name))
    return out


def _is_main_block(node: ast.stmt) -> bool:
    test = getattr(node, "test", None)
    return (isinstance(node, ast.If) and isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and test.left.id == "__name__")


def _free_names(node: ast.AST) -> set[str]:
    """Names ``node`` reads that it does not bind itself (a function's arguments, assignments and nested definitions)."""
    loads, bound = set(), set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            (loads if isinstance(sub.ctx, ast.Load) else bound).add(sub.id)
        elif isinstance(sub, ast.arg):
            bound.add(sub.arg)
        elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and sub is not node:
            bound.add(sub.name)
    return loads - bound if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) else loads


def _used_imports(tree: ast.Module, name: str, is_package: bool, wanted: frozenset | None):
    """The imports a module makes when ``wanted`` of its top-level functions and classes are used (``None``: all).

    Module-level statements always run (their imports and the functions they call count); a function
    or class counts when it is wanted, or named by one that counts; a module-level assignment such as
    ``TABLE = {"a": f}`` stores ``f`` without calling it, so ``f`` counts when ``TABLE`` is used. A
    ``__main__`` block never runs on import. A wanted name that is neither defined here nor a
    submodule (a PEP 562 ``__getattr__`` serves it) makes ``__getattr__`` count."""
    units: dict[str, ast.AST] = {}
    module_level: list[ast.stmt] = []
    always: set[str] = set()  # names module-level code uses when it runs
    refs = lambda nodes: {name for node in nodes for name in _free_names(node)}  # noqa: E731
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            units[node.name] = node
        elif _is_main_block(node):
            continue
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None and all(
                isinstance(t, ast.Name) for t in (node.targets if isinstance(node, ast.Assign) else [node.target])):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                units[target.id] = node.value
            module_level.append(node)
            always |= {c.func.id for c in ast.walk(node.value) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)}
        else:
            module_level.append(node)
            always |= refs([node])
    if wanted is None:
        todo = set(units)
    else:
        todo = {n for n in wanted if n in units}
        served = [n for n in wanted if n not in units and not (is_package and _locate(f"{name}.{n}"))]
        if served and "__getattr__" in units:
            todo.add("__getattr__")
    todo |= always & set(units)
    used: set[str] = set()
    while todo:
        unit = todo.pop()
        used.add(unit)
        todo |= (refs([units[unit]]) & set(units)) - used
    imports = [imp for node in module_level for imp in _imports_in(node, name, is_package)]
    imports += [imp for unit in sorted(used) for imp in _imports_in(units[unit], name, is_package)]
    return imports


@functools.lru_cache(maxsize=None)
def _parsed(path: Path, stamp: tuple[int, int]) -> tuple[str, ast.Module]:
    source = path.read_text()
    return normalised_source(source), ast.parse(source)


def _read(path: Path) -> tuple[str, ast.Module]:
    stat = path.stat()
    return _parsed(path, (stat.st_mtime_ns, stat.st_size))


def dependencies(roots: Iterable) -> dict[str, Path]:
    """The modules a computation starting at ``roots`` imports, with their source files (see the module docstring).

    A root is a module name (all of the module counts) or a function defined at the top of a module
    (that function counts, with what it names; a lambda or nested function: all of its module).

    Raises:
        ValueError: a root that cannot be found.

    Example:
        >>> deps = dependencies(["theory.definitions"])
        >>> sorted(deps)  # its package's __init__ runs on import; numpy is not the project's
        ['theory', 'theory.definitions']
    """
    requests: list[tuple[str, frozenset | None]] = [_root(r) for r in roots]
    followed = set(PROJECT_PACKAGES) | {module.split(".")[0] for module, _ in requests}
    root_names = {module for module, _ in requests}
    wanted: dict[str, frozenset | None] = {}
    found: dict[str, tuple[Path, bool]] = {}
    parents: set[str] = set()
    stack = list(reversed(requests))
    while stack:
        name, names = stack.pop()
        if name in found:
            before = wanted[name]
            if before is None or (names is not None and names <= before):
                continue
            wanted[name] = None if names is None else before | names
        else:
            located = _locate(name)
            if located is None:
                if name in root_names:
                    raise ValueError(f"cannot fingerprint {name!r}: module not found")
                continue
            found[name] = located
            wanted[name] = names
            parts = name.split(".")
            parents.update(".".join(parts[:i]) for i in range(1, len(parts)))
        path, is_package = found[name]
        for module, asked in _used_imports(_read(path)[1], name, is_package, wanted[name]):
            if module.split(".")[0] in followed:
                stack.append((module, None if asked is None else frozenset(asked)))
    files = {name: path for name, (path, _) in found.items()}
    for parent in parents - set(found):  # run on import, hashed, their imports not followed
        located = _locate(parent)
        if located is not None:
            files[parent] = located[0]
    return dict(sorted(files.items()))


def _root(root) -> tuple[str, frozenset | None]:
    if isinstance(root, tuple):  # already (module, names)
        return root
    if isinstance(root, str):
        return root, None
    module, qualname = getattr(root, "__module__", None), getattr(root, "__qualname__", "")
    if not module:
        raise ValueError(f"cannot fingerprint {root!r}: give a module name or a function defined in a module")
    if qualname.isidentifier():  # a top-level function or class
        return module, frozenset([qualname])
    return module, None  # a lambda or a nested function: all of its module


def _version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:  # pragma: no cover - not installed
        return None


@functools.lru_cache(maxsize=None)
def _fingerprint(roots: tuple[tuple[str, frozenset | None], ...]) -> dict:
    per_module = {name: hashlib.sha256(_read(path)[0].encode()).hexdigest()[:16]
                  for name, path in dependencies(roots).items()}
    versions = {name: _version(name) for name in _VERSIONED}
    overall = hashlib.sha256(json.dumps([per_module, versions], sort_keys=True).encode()).hexdigest()[:16]
    shown = [module if names is None else f"{module}:{','.join(sorted(names))}" for module, names in roots]
    return {"fingerprint": overall, "roots": shown, "modules": per_module, "versions": versions}


def code_fingerprint(modules: Iterable = DEFAULT_DEPENDENCIES) -> dict:
    r"""Which code computes a result: a SHA-256 over the normalised source of every module it imports, and versions.

    .. math:: \mathrm{fp} = \mathrm{SHA256}\big([\mathrm{SHA256}(\mathrm{ast}(M))]_{M \in \mathrm{deps}(\text{roots})},
        \text{versions of jax, jaxlib, numpy}\big)

    ``modules`` are the roots: module names, or top-level functions (see :func:`dependencies`). The
    modules covered are :func:`dependencies` of the roots; each is hashed by :func:`normalised_source`.
    Computed once per process and set of roots.

    Returns:
        ``{"fingerprint": str, "roots": [name or "module:function"], "modules": {name: str},
        "versions": {name: str}}``.

    Raises:
        ValueError: a root that cannot be found.

    Example:
        >>> fp = code_fingerprint(("theory.definitions",))
        >>> sorted(fp["modules"]), len(fp["fingerprint"]), sorted(fp["versions"])
        (['theory', 'theory.definitions'], 16, ['jax', 'jaxlib', 'numpy'])
    """
    return _fingerprint(tuple(dict.fromkeys(_root(m) for m in modules)))


def data_checksum(data) -> str:
    """SHA-256 of the canonical JSON of ``data`` (sorted keys): detects an entry edited or damaged on disk.

    Example:
        >>> data_checksum({"a": 1, "b": [1.5]}) == data_checksum({"b": [1.5], "a": 1})
        True
    """
    return hashlib.sha256(json.dumps(data, sort_keys=True, allow_nan=True).encode()).hexdigest()


def _entry_path(cache_dir: Path, name: str, params_json, code: dict) -> Path:
    blob = json.dumps(params_json, sort_keys=True)
    digest = hashlib.sha256(f"{name}:{blob}:{code['fingerprint']}".encode()).hexdigest()[:16]
    return cache_dir / f"{name}-{digest}.json"


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


def _settings(settings) -> Settings:
    if settings is None:
        return Settings()
    if not isinstance(settings, Settings):
        raise TypeError("settings must be a results.settings.Settings or None (the cache folder is its "
                        f"cache_dir); got {settings!r}")
    return settings


def cached(
    settings: Settings | None,
    name: str,
    params: dict,
    compute: Callable[[], dict],
    *,
    depends_on: Iterable = DEFAULT_DEPENDENCIES,
) -> dict:
    """Return ``compute()``, cached in ``settings.cache_dir`` by ``name``, ``params`` and the code that computes it.

    The cache key includes :func:`code_fingerprint` of ``depends_on`` (the modules the computation
    starts from; default: the ``theory`` and ``simulations`` packages), so an entry computed by other
    code is never returned. An entry that is damaged or edited (checksum mismatch, bad JSON, missing
    keys) is reported in one line on stderr and recomputed. With ``settings.use_cache`` false the
    entry is recomputed and rewritten without being read.

    Args:
        settings: where the cache lives and whether to read it (``None``: :class:`results.settings.Settings`
            defaults, the XDG cache folder).
        name: the experiment's name.
        params: JSON-able parameters (numpy values are converted).
        compute: returns a JSON-able dict.
        depends_on: root module names (or functions) whose imports decide the result.

    Returns:
        The data, as read back from JSON (so a fresh run and a cached one return equal objects).

    Raises:
        TypeError: ``settings`` that is not a :class:`results.settings.Settings` (a bare folder is ambiguous).

    Example:
        >>> import tempfile
        >>> s = Settings(cache_dir=tempfile.mkdtemp())
        >>> calls = []
        >>> f = lambda: calls.append(1) or {"x": 1}
        >>> cached(s, "demo", {"a": 1}, f), cached(s, "demo", {"a": 1}, f), len(calls)
        ({'x': 1}, {'x': 1}, 1)
        >>> _ = cached(s.replace(use_cache=False), "demo", {"a": 1}, f); len(calls)
        2
    """
    settings = _settings(settings)
    params_json = to_jsonable(params)
    code = code_fingerprint(depends_on)
    path = _entry_path(settings.cache_dir, name, params_json, code)
    if path.exists() and settings.use_cache:
        data, problem = _read_valid(path, name, params_json, code)
        if problem is None:
            return data
        print(f"cache: ignoring {path} ({problem}); recomputing", file=sys.stderr, flush=True)
    data = to_jsonable(compute())
    # Round-trip through JSON so that the returned object is exactly what a later read returns.
    data = json.loads(json.dumps(data, allow_nan=True))
    save_json(path, {"name": name, "params": params_json, "code": code, "data": data, "checksum": data_checksum(data)})
    global _entries_written
    _entries_written += 1
    return data


#: Entries :func:`cached` has computed and written in this process.
_entries_written = 0


def entries_written() -> int:
    """How many entries :func:`cached` has computed and written in this process so far.

    Two readings around a block tell whether it recomputed anything or read every result from the cache
    (``clop-verify figures`` labels each figure so, also in its worker processes, where another process
    may be filling the same cache folder at the same time).

    Example:
        >>> import tempfile
        >>> s = Settings(out_dir=tempfile.mkdtemp(), cache_dir=tempfile.mkdtemp())
        >>> before = entries_written()
        >>> _ = cached(s, "demo", {"n": 1}, lambda: {"x": 1}, depends_on=("theory.definitions",))
        >>> _ = cached(s, "demo", {"n": 1}, lambda: {"x": 1}, depends_on=("theory.definitions",))
        >>> entries_written() - before  # computed once, then read back
        1
    """
    return _entries_written
