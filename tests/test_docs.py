"""Docs that stay true: every dotted reference in a docstring or the README names something that exists.

A docstring reference is a Sphinx role (``:mod:``, ``:func:``, ``:data:``, ``:class:``, ``:meth:``,
``:attr:``, ``:exc:``) or a backticked dotted name that starts with one of the project's packages; a
README reference is a backticked dotted name of a project package or a backticked path of a
project source file. A role with a bare name must name something of its own module (a module
attribute, a class member or field, a module, or a builtin). History belongs in commit messages:
no source file narrates an issue number.
"""
from __future__ import annotations

import ast
import builtins
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("theory", "simulations", "results", "figures", "claims", "clop_verify")
ROLE = re.compile(r":(?:mod|func|data|class|meth|attr|obj|exc):`~?([A-Za-z_][\w.]*?)(?:\(\))?`")
TICKED = re.compile(r"``?([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)(?:\(\))?``?")
SKIP = {"clop_verify/__main__.py"}  # running it runs the CLI


def _modules() -> list[tuple[str, Path]]:
    out = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if rel.as_posix() in SKIP or "__pycache__" in rel.parts:
                continue
            out.append((".".join(rel.with_suffix("").parts).removesuffix(".__init__"), path))
    return out


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            if hasattr(obj, attr):
                obj = getattr(obj, attr)
            elif attr in getattr(obj, "__annotations__", {}):  # a dataclass / NamedTuple field
                return attr == parts[-1]
            else:
                return False
        return True
    return False


def _resolves_in(module, name: str) -> bool:
    if hasattr(module, name) or hasattr(builtins, name) or _resolves(name):
        return True
    classes = [v for v in vars(module).values() if isinstance(v, type)]
    return any(hasattr(c, name) or name in getattr(c, "__annotations__", {}) for c in classes)


def _docstring_references(path: Path) -> list[tuple[str, str]]:
    refs = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=False) or ""
            where = getattr(node, "name", "<module>")
            refs += [(where, r) for r in ROLE.findall(doc)]
            refs += [(where, r) for r in TICKED.findall(doc) if r.split(".")[0] in PACKAGES]
    return refs


@pytest.mark.parametrize("name, path", _modules(), ids=[m for m, _ in _modules()])
def test_docstring_references_resolve(name, path):
    module = importlib.import_module(name)
    broken = sorted({f"{where}: {ref}" for where, ref in _docstring_references(path)
                     if not (_resolves(ref) if "." in ref else _resolves_in(module, ref))})
    assert not broken, f"{path.relative_to(ROOT)} cites what does not exist: {broken}"


def test_readme_references_resolve():
    text = (ROOT / "README.md").read_text()
    dotted = {m for m in re.findall(r"`([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)(?:\(\))?`", text) if m.split(".")[0] in PACKAGES}
    paths = set(re.findall(r"`((?:%s)/[\w/.]*\.py)`" % "|".join(PACKAGES), text))
    assert dotted and paths  # the patterns still match what the README writes
    assert sorted(m for m in dotted if not _resolves(m)) == []
    assert sorted(p for p in paths if not (ROOT / p).is_file()) == []


def test_the_readme_layout_names_every_module():
    # Each source file of theory/, simulations/ and results/ is named in the layout section.
    layout = (ROOT / "README.md").read_text().split("## Layout", 1)[1]
    missing = [p.relative_to(ROOT).as_posix() for package in ("theory", "simulations", "results")
               for p in sorted((ROOT / package).rglob("*.py"))
               if p.name != "__init__.py" and "__pycache__" not in p.parts and p.name not in layout]
    assert missing == []


def test_no_source_file_narrates_issue_history():
    pattern = re.compile(r"\bissues? \d+|\bitem \d+ of issue", re.IGNORECASE)
    offenders = [f"{p.relative_to(ROOT)}:{i}" for package in (*PACKAGES, "benchmarks")
                 for p in sorted((ROOT / package).rglob("*.py"))
                 for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []
