"""A damaged JAX compilation cache is said once and cleared, not 25-50 warnings per command (issue 23, item 6)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _simulate(cache: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_")}  # the suite's own cache settings
    env.update(PYTHONPATH=str(ROOT), CLOP_VERIFY_JAX_CACHE=str(cache))
    return subprocess.run([sys.executable, "-m", "clop_verify", "simulate", "--k", "3", "--m", "3", "--lr", "1",
                           "--steps", "2"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.slow  # three fresh processes that compile (about 45 s on 2 busy cores)
def test_damaged_cache_entries_give_one_line_then_none(tmp_path):
    cache = tmp_path / "jax"
    assert _simulate(cache, tmp_path).returncode == 0
    entries = [p for p in cache.iterdir() if p.name.endswith("-cache")]
    assert len(entries) > 5
    for path in entries:
        path.write_bytes(os.urandom(64))  # damaged: not a compressed executable
    (cache / "keep.txt").write_text("not JAX's")
    damaged = _simulate(cache, tmp_path)
    assert damaged.returncode == 0
    assert "UserWarning" not in damaged.stderr and "Error reading persistent compilation cache" not in damaged.stderr
    notes = [line for line in damaged.stderr.splitlines() if "compilation cache" in line]
    assert len(notes) == 1 and "had damaged entries; cleared it" in notes[0], damaged.stderr
    assert (cache / "keep.txt").read_text() == "not JAX's"
    again = _simulate(cache, tmp_path)
    assert again.returncode == 0 and "compilation cache" not in again.stderr, again.stderr
