"""Shared plumbing for figure modules: the result cache and the PNG + PDF + JSON writer.

Every figure module computes its data through the public ``theory`` / ``simulations`` API, draws it
with matplotlib (Agg), and calls :func:`save_figure`, which writes ``NAME.png``, ``NAME.pdf`` and
``NAME.json`` (the plotted numbers, the parameters and :func:`simulations.io.run_metadata`)
atomically. :func:`cached` keys expensive computations by their parameters so that a second run
redraws without recomputing.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable, Iterable

from simulations.io import atomic_open, run_metadata, save_json, to_jsonable

__all__ = ["save_figure", "cached", "cache_dir", "DEFAULT_OUT", "caption"]

#: Where ``clop-verify figures`` writes by default.
DEFAULT_OUT = Path("figures") / "out"

#: Set to True (``--no-cache``) to recompute even when a cached result exists.
NO_CACHE = False


def cache_dir(out_dir: str | os.PathLike) -> Path:
    """The cache folder used for figures written to ``out_dir``."""
    return Path(out_dir) / ".cache"


def cached(out_dir: str | os.PathLike, name: str, params: dict, compute: Callable[[], dict]) -> dict:
    """Return ``compute()``, cached as JSON under ``out_dir/.cache`` by a hash of ``params``.

    ``compute`` must return a JSON-serialisable dict (numpy arrays are converted to lists). The cache
    is bypassed when :data:`NO_CACHE` is true.

    Example:
        >>> import tempfile
        >>> d = tempfile.mkdtemp()
        >>> calls = []
        >>> f = lambda: calls.append(1) or {"x": 1}
        >>> cached(d, "demo", {"a": 1}, f), cached(d, "demo", {"a": 1}, f), len(calls)
        ({'x': 1}, {'x': 1}, 1)
    """
    blob = json.dumps(to_jsonable(params), sort_keys=True)
    digest = hashlib.sha256(f"{name}:{blob}".encode()).hexdigest()[:16]
    path = cache_dir(out_dir) / f"{name}-{digest}.json"
    if path.exists() and not NO_CACHE:
        return json.loads(path.read_text())["data"]
    data = to_jsonable(compute())
    save_json(path, {"name": name, "params": params, "data": data})
    return data


def caption(text: str) -> str:
    """A caption line, wrapped for the bottom of a figure."""
    import textwrap

    return "\n".join(textwrap.wrap(text, 140))


def save_figure(
    fig,
    out_dir: str | os.PathLike,
    name: str,
    data: dict,
    params: dict,
    formats: Iterable[str] = ("png", "pdf"),
) -> list[Path]:
    """Write ``NAME.<fmt>`` for each format plus ``NAME.json`` atomically; close the figure.

    The JSON holds ``{"figure": name, "data": data, "metadata": run_metadata(params)}``.

    Returns:
        The paths written, JSON last.
    """
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    written = []
    for fmt in formats:
        path = out_dir / f"{name}.{fmt}"
        with atomic_open(path, "wb") as handle:
            fig.savefig(handle, format=fmt, dpi=150, bbox_inches="tight")
        written.append(path)
    plt.close(fig)
    written.append(
        save_json(out_dir / f"{name}.json", {"figure": name, "data": data, "metadata": run_metadata(params)})
    )
    return written
