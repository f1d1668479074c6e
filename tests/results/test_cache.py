"""The result cache: keyed on the code that computed a result, validated on read, readable without JAX."""
import json
import subprocess
import sys
import textwrap

import pytest

from results import cache
from results.settings import Settings


def _new_process():
    """Forget what this process computed, as a new process would (fingerprints and parsed sources)."""
    cache._fingerprint.cache_clear()
    cache._parsed.cache_clear()


@pytest.fixture()
def fake_package(tmp_path, monkeypatch):
    """A throw-away package ``cachedep`` on sys.path whose source the tests edit.

    ``cachedep.compute`` (the root) imports ``cachedep.model`` at the top and ``cachedep.lazy`` inside a
    function; ``cachedep.unrelated`` is imported by nothing.
    """
    pkg = tmp_path / "src" / "cachedep"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "compute.py").write_text("from cachedep.model import f\n\n\ndef run():\n    from cachedep import lazy\n"
                                    "    return f() + lazy.g()\n")
    (pkg / "model.py").write_text('"""The model."""\n\n\ndef f():\n    """One."""\n    return 1\n')
    (pkg / "lazy.py").write_text("def g():\n    return 0\n")
    (pkg / "unrelated.py").write_text("def h():\n    return 5\n")
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    _new_process()
    yield pkg
    _new_process()


def _settings(tmp_path):
    return Settings(cache_dir=tmp_path / "cache")


def _run(tmp_path, calls):
    compute = lambda: calls.append(1) or {"x": len(calls)}  # noqa: E731
    return cache.cached(_settings(tmp_path), "demo", {"a": 1}, compute, depends_on=("cachedep.compute",))


def test_the_fingerprint_covers_the_modules_the_computation_imports(fake_package):
    fp = cache.code_fingerprint(("cachedep.compute",))
    # the root, what it imports at the top and inside a function, and the package __init__ that runs
    assert sorted(fp["modules"]) == ["cachedep", "cachedep.compute", "cachedep.lazy", "cachedep.model"]


def test_a_docstring_comment_or_layout_edit_recomputes_nothing(tmp_path, fake_package):
    calls = []
    first = _run(tmp_path, calls)
    (fake_package / "model.py").write_text(
        '"""The model, documented at length."""\n# a comment\n\ndef f( ):\n    """One, always."""\n\n    return (1)  # one\n')
    _new_process()
    assert _run(tmp_path, calls) == first and len(calls) == 1


def test_a_code_edit_in_a_dependency_recomputes(tmp_path, fake_package):
    calls = []
    first = _run(tmp_path, calls)
    (fake_package / "model.py").write_text('"""The model."""\n\n\ndef f():\n    """One."""\n    return 2\n')
    _new_process()  # a new process would compute the fingerprint afresh
    second = _run(tmp_path, calls)
    assert len(calls) == 2 and second == {"x": 2} != first
    entry = json.loads(next(p for p in (tmp_path / "cache").glob("*.json") if json.loads(p.read_text())["data"] == {"x": 2}).read_text())
    assert entry["code"]["modules"]["cachedep.model"] == cache.code_fingerprint(("cachedep.compute",))["modules"]["cachedep.model"]
    assert set(entry["code"]["versions"]) == {"jax", "jaxlib", "numpy"}
    # an import made inside a function counts as well
    (fake_package / "lazy.py").write_text("def g():\n    return 10\n")
    _new_process()
    assert _run(tmp_path, calls) == {"x": 3}


def test_an_edit_to_a_module_the_computation_does_not_import_recomputes_nothing(tmp_path, fake_package):
    calls = []
    _run(tmp_path, calls)
    (fake_package / "unrelated.py").write_text("def h():\n    return 6\n")
    _new_process()
    _run(tmp_path, calls)
    assert len(calls) == 1


def test_the_shared_experiments_fingerprint_only_their_own_code():
    from results import experiments

    collapse = cache.code_fingerprint(experiments.COLLAPSE_CODE)["modules"]
    training = cache.code_fingerprint(experiments.EXPERIMENTS["table5"].depends_on)["modules"]
    assert "simulations.collapse.threshold" in collapse and not any(m.startswith("simulations.training") for m in collapse)
    assert "simulations.training.synthetic" in training and "theory.stability" not in training
    assert not any(m.startswith(("figures", "claims", "clop_verify")) for m in (*collapse, *training))


def test_a_different_jax_version_is_different_code(fake_package, monkeypatch):
    before = cache.code_fingerprint(("cachedep",))["fingerprint"]
    cache._fingerprint.cache_clear()
    monkeypatch.setattr(cache, "_version", lambda name: "0.0.0-other")
    assert cache.code_fingerprint(("cachedep",))["fingerprint"] != before


def test_settings_must_name_the_cache_folder(tmp_path):
    # A bare folder is refused: it could mean the output folder or the cache folder.
    with pytest.raises(TypeError, match="Settings"):
        cache.cached(tmp_path, "demo", {"a": 1}, lambda: {"x": 1})


@pytest.mark.parametrize("damage", ["truncate", "random_bytes", "empty", "empty_object", "edited_value", "other_params"])
def test_a_damaged_entry_is_reported_in_one_line_and_recomputed(tmp_path, capsys, damage):
    out = _settings(tmp_path)
    calls = []
    compute = lambda: calls.append(1) or {"threshold": 2.07, "bracket": [2.07, 2.08]}  # noqa: E731
    good = cache.cached(out, "thr", {"k": 30}, compute)
    (path,) = out.cache_dir.glob("thr-*.json")
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
        from results.settings import Settings
        s = Settings(cache_dir={str(tmp_path)!r})
        cache.cached(s, "demo", {{"a": 1}}, lambda: {{"x": 1}}, depends_on=("theory", "simulations.training.readings"))
        print(cache.cached(s, "demo", {{"a": 1}}, lambda: {{"x": 2}}, depends_on=("theory", "simulations.training.readings")))
        print("jax" in sys.modules)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["{'x':", "1}", "False"]
