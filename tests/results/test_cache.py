"""The result cache: keyed on the code that computed a result, validated on read, readable without JAX."""
import json
import subprocess
import sys
import textwrap

import pytest

from results import cache


@pytest.fixture()
def fake_package(tmp_path, monkeypatch):
    """A throw-away package ``cachedep`` on sys.path whose source the tests edit."""
    pkg = tmp_path / "src" / "cachedep"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("VALUE = 1\n")
    (pkg / "model.py").write_text("def f():\n    return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    cache._fingerprint.cache_clear()
    yield pkg
    cache._fingerprint.cache_clear()


def test_changing_a_dependency_source_recomputes(tmp_path, fake_package):
    out = tmp_path / "out"
    calls = []
    compute = lambda: calls.append(1) or {"x": len(calls)}  # noqa: E731
    first = cache.cached(out, "demo", {"a": 1}, compute, depends_on=("cachedep",))
    assert cache.cached(out, "demo", {"a": 1}, compute, depends_on=("cachedep",)) == first and len(calls) == 1
    # An edit anywhere in the package (here a submodule) changes the fingerprint: the old entry is
    # not reused, even though name and parameters are the same.
    (fake_package / "model.py").write_text("def f():\n    return 2\n")
    cache._fingerprint.cache_clear()  # a new process would compute the fingerprint afresh
    second = cache.cached(out, "demo", {"a": 1}, compute, depends_on=("cachedep",))
    assert len(calls) == 2 and second == {"x": 2}
    entry = json.loads(next(p for p in (out / ".cache").glob("*.json") if json.loads(p.read_text())["data"] == {"x": 2}).read_text())
    assert entry["code"]["modules"]["cachedep"] == cache.code_fingerprint(("cachedep",))["modules"]["cachedep"]
    assert set(entry["code"]["versions"]) == {"jax", "jaxlib", "numpy"}


def test_a_different_jax_version_is_different_code(fake_package, monkeypatch):
    before = cache.code_fingerprint(("cachedep",))["fingerprint"]
    cache._fingerprint.cache_clear()
    monkeypatch.setattr(cache, "_version", lambda name: "0.0.0-other")
    assert cache.code_fingerprint(("cachedep",))["fingerprint"] != before


@pytest.mark.parametrize("damage", ["truncate", "random_bytes", "empty", "empty_object", "edited_value", "other_params"])
def test_a_damaged_entry_is_reported_in_one_line_and_recomputed(tmp_path, capsys, damage):
    out = tmp_path / "out"
    calls = []
    compute = lambda: calls.append(1) or {"threshold": 2.07, "bracket": [2.07, 2.08]}  # noqa: E731
    good = cache.cached(out, "thr", {"k": 30}, compute)
    (path,) = (out / ".cache").glob("thr-*.json")
    text = path.read_text()
    damaged = {
        "truncate": lambda: path.write_text(text[: len(text) // 2]),
        "random_bytes": lambda: path.write_bytes(bytes(range(256)) * 4),
        "empty": lambda: path.write_text(""),
        "empty_object": lambda: path.write_text("{}"),
        # still valid JSON, the value moved outside its own bracket: only the checksum catches it
        "edited_value": lambda: path.write_text(text.replace("2.07,", "9.99,", 1)),
        "other_params": lambda: path.write_text(text.replace('"k": 30', '"k": 31')),
    }[damage]
    damaged()
    capsys.readouterr()
    again = cache.cached(out, "thr", {"k": 30}, compute)
    err = capsys.readouterr().err
    assert again == good and len(calls) == 2  # recomputed, and the right numbers came back
    assert err.count("\n") == 1 and str(path) in err and "recomputing" in err
    assert "Traceback" not in err
    # the entry was rewritten: a third call reads it silently
    assert cache.cached(out, "thr", {"k": 30}, compute) == good and len(calls) == 2
    assert capsys.readouterr().err == ""


def test_reading_results_does_not_import_jax(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        from results import cache, experiments, io
        cache.cached({str(tmp_path)!r}, "demo", {{"a": 1}}, lambda: {{"x": 1}}, depends_on=("theory",))
        print(cache.cached({str(tmp_path)!r}, "demo", {{"a": 1}}, lambda: {{"x": 2}}, depends_on=("theory",)))
        print("jax" in sys.modules)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["{'x':", "1}", "False"]
