"""Shared plumbing for figure modules: the PNG + PDF + JSON writer and the caption helper.

Every figure module computes its data through the public ``theory`` / ``simulations`` API (cached by
:func:`results.cache.cached`, keyed on parameters and code), draws it with matplotlib (Agg), and calls
:func:`save_figure`, which writes ``NAME.png``, ``NAME.pdf`` and ``NAME.json`` (the plotted numbers,
the parameters, :func:`results.io.run_metadata` and the fingerprint of the code that computed them)
as one set (:func:`results.io.atomic_set`): all of them or, on a failure such as a full disk, none.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from results.cache import code_fingerprint
from results.io import atomic_set, run_metadata, save_json

__all__ = ["save_figure", "caption"]


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
    *,
    depends_on: Iterable,
) -> list[Path]:
    """Write ``NAME.<fmt>`` for each format plus ``NAME.json`` as one set (all or none); close the figure.

    The JSON holds ``{"figure": name, "data": data, "metadata": run_metadata(params)}``, the metadata
    with ``code``: :func:`results.cache.code_fingerprint` of ``depends_on``, the roots of the code that
    computed the numbers (the cache is keyed on the same fingerprint, so cached numbers were computed by
    this code).

    Returns:
        The paths written, JSON last.
    """
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    metadata = run_metadata(params)
    metadata["code"] = code_fingerprint(depends_on)
    try:
        with atomic_set(out_dir) as stage:
            for fmt in formats:
                with open(stage(f"{name}.{fmt}"), "wb") as handle:
                    fig.savefig(handle, format=fmt, dpi=150, bbox_inches="tight")
            save_json(stage(f"{name}.json"), {"figure": name, "data": data, "metadata": metadata})
    finally:
        plt.close(fig)
    return [out_dir / f"{name}.{fmt}" for fmt in formats] + [out_dir / f"{name}.json"]
