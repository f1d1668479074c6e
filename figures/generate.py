"""Regenerate a list of figures: validation, one progress line per figure, cache and format handling.

:func:`regenerate` drives the figure modules (each exposes ``main(out_dir, quick=False,
formats=("png", "pdf"))``) in order, printing one line per figure on stderr (started, finished with
its time, whether the simulations came from the cache and the folder written, or failed). :func:`render` is the pipeline every figure module shares: compute (or load from the
cache of :func:`results.cache.cached`, keyed on parameters and code) -> draw -> :func:`figures._common.save_figure`.
:func:`add_caption` writes the "what was run" line at the bottom of a figure. ``clop-verify figures``
is a thin wrapper around :func:`regenerate`.
"""
from __future__ import annotations

import importlib
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Callable, Iterable, Sequence, TextIO

from figures import FIGURES, _common
from results.cache import cached
from results.io import check_output_folder, is_disk_error
from results.settings import Settings

__all__ = [
    "ALL_FIGURES",
    "FORMATS",
    "figure_names",
    "check_names",
    "check_formats",
    "regenerate",
    "render",
    "add_caption",
    "simulate_from",
]

#: Every figure of the toolkit, in drawing order (the single list lives in :data:`figures.FIGURES`).
ALL_FIGURES: tuple[str, ...] = FIGURES

#: Output formats a figure may be saved in (the JSON of plotted numbers is always written).
FORMATS: tuple[str, ...] = ("png", "pdf", "svg")


def figure_names() -> tuple[str, ...]:
    """The figures ``clop-verify figures`` draws when no name is given.

    :data:`figures.FIGURES`, looked up at call time (tests may narrow it).

    Example:
        >>> "fig3_spectra" in figure_names()
        True
    """
    import figures

    return tuple(figures.FIGURES)


def check_names(names: Iterable[str] | None) -> tuple[str, ...]:
    """Validate figure names (``None`` or empty means all of :func:`figure_names`), keeping order, no repeats.

    Raises:
        ValueError: naming the unknown figure and the accepted names.

    Example:
        >>> check_names(["fig4_rank", "fig4_rank"])
        ('fig4_rank',)
        >>> check_names(["fig9"])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: figure names must be among fig3_spectra, fig3_tightness, ..., digits...; got 'fig9'
    """
    known = ALL_FIGURES + tuple(n for n in figure_names() if n not in ALL_FIGURES)
    names = list(names or ())
    if not names:
        return figure_names()
    for name in names:
        if name not in known:
            raise ValueError(f"figure names must be among {', '.join(known)}; got {name!r}")
    return tuple(dict.fromkeys(names))


def check_formats(formats: Iterable[str] | None) -> tuple[str, ...]:
    """Validate output formats (``None`` or empty means ``("png", "pdf")``).

    Raises:
        ValueError: naming the unknown format and the accepted ones.

    Example:
        >>> check_formats(["pdf"])
        ('pdf',)
        >>> check_formats(["jpg"])
        Traceback (most recent call last):
        ...
        ValueError: formats must be among png, pdf, svg; got 'jpg'
    """
    formats = list(formats or ("png", "pdf"))
    for fmt in formats:
        if fmt not in FORMATS:
            raise ValueError(f"formats must be among {', '.join(FORMATS)}; got {fmt!r}")
    return tuple(dict.fromkeys(formats))


def _cache_state(folder: Path) -> set:
    if not folder.is_dir():
        return set()
    return {(p.name, p.stat().st_mtime_ns) for p in folder.glob("*.json")}


def regenerate(
    names: Sequence[str] | None,
    out_dir: str | os.PathLike,
    *,
    quick: bool = False,
    use_cache: bool = True,
    cache_dir: str | os.PathLike | None = None,
    formats: Sequence[str] | None = ("png", "pdf"),
    stream: TextIO | None = None,
) -> dict[str, list[Path]]:
    """Regenerate figures into ``out_dir``, one progress line per figure on ``stream`` (stderr).

    All input is validated before anything is written (the folder with
    :func:`results.io.check_output_folder`). A figure that raises, or whose module cannot be
    imported, is reported (with its traceback) and the others still run; a write the disk refuses
    (:data:`results.io.DISK_ERRNOS`) ends the whole run, each figure written being a complete set or
    nothing (:func:`results.io.atomic_set`).

    Args:
        names: figure names (see :data:`ALL_FIGURES`); ``None`` or empty for all.
        out_dir: output folder (created if needed).
        quick: shrink sizes for smoke tests.
        use_cache: ``False`` recomputes every simulation (and rewrites its cache entry).
        cache_dir: the result cache (default :func:`results.settings.default_cache_dir`, the XDG cache folder).
        formats: image formats among :data:`FORMATS`.
        stream: where the progress lines go (default ``sys.stderr``).

    Returns:
        ``{name: written paths}``. A failed figure is absent.

    Raises:
        ValueError: unknown figure name or format, or an ``out_dir`` that cannot be a writable folder.

    Example:
        >>> import io, tempfile
        >>> regenerate(["not_a_figure"], tempfile.mkdtemp())  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: figure names must be among ...; got 'not_a_figure'
    """
    names = check_names(names)
    formats = check_formats(formats)
    out_dir = check_output_folder(out_dir)
    stream = stream or sys.stderr
    settings = Settings(out_dir=out_dir, use_cache=use_cache,
                        **({} if cache_dir is None else {"cache_dir": cache_dir}))
    results: dict[str, list[Path]] = {}
    for index, name in enumerate(names, 1):
        head = f"[{index}/{len(names)}] {name}"
        print(f"{head}: running{' (quick)' if quick else ''} ...", file=stream, flush=True)
        before = _cache_state(settings.cache_dir)
        start = time.perf_counter()
        try:
            module = importlib.import_module(f"figures.{name}")
            written = module.main(settings, quick=quick, formats=formats)
        except Exception as exc:  # one failing figure does not stop the others ...
            if is_disk_error(exc):  # ... but a full or read-only disk stops them all (nothing half-written)
                raise
            traceback.print_exc(file=stream)
            print(f"{head}: FAILED ({type(exc).__name__}: {exc})", file=stream, flush=True)
            continue
        seconds = time.perf_counter() - start
        source = "recomputed" if _cache_state(settings.cache_dir) != before else "from cache"
        files = ", ".join(Path(p).name for p in written)
        print(f"{head}: done in {seconds:.1f} s ({source}) -> {out_dir}/: {files}", file=stream, flush=True)
        results[name] = list(written)
    return results


def render(
    out: Settings | str | os.PathLike,
    name: str,
    params: dict,
    compute: Callable[[dict], dict],
    draw: Callable[[dict, dict], "object"],
    formats: Iterable[str] = ("png", "pdf"),
) -> list[Path]:
    """Compute (or load cached) data, draw it and save ``NAME.<fmt>`` + ``NAME.json`` in the output folder.

    ``out`` is the output folder, or a :class:`results.settings.Settings` that also names the cache.
    ``compute(params)`` returns a JSON-able dict of the plotted numbers, cached under ``name`` and
    ``params``, keyed on the code of the module that defines ``compute`` and everything it imports
    (:func:`results.cache.code_fingerprint`); ``draw(data, params)`` returns a matplotlib figure. The JSON written beside the
    images holds the same ``data`` (as read back from the cache, so a redraw and a fresh run write
    identical numbers) and the parameters in its metadata.

    Example:
        >>> import tempfile, matplotlib.pyplot as plt
        >>> def draw(data, params):
        ...     fig, ax = plt.subplots()
        ...     ax.plot(data["x"])
        ...     return fig
        >>> s = Settings(out_dir=tempfile.mkdtemp(), cache_dir=tempfile.mkdtemp())
        >>> paths = render(s, "demo", {"n": 2}, lambda p: {"x": list(range(p["n"]))}, draw)
        >>> [p.name for p in paths]
        ['demo.png', 'demo.pdf', 'demo.json']
    """
    settings = Settings.of(out)
    depends_on = (getattr(compute, "__module__", None) or __name__,)
    data = cached(settings, name, params, lambda: compute(params), depends_on=depends_on)
    fig = draw(data, params)
    return _common.save_figure(fig, settings.out_dir, name, data, params, tuple(formats), depends_on=depends_on)


def render_experiment(
    out: Settings | str | os.PathLike,
    name: str,
    experiment: str,
    draw: Callable[[dict, dict], "object"],
    *,
    quick: bool = False,
    formats: Iterable[str] = ("png", "pdf"),
) -> list[Path]:
    """Draw figure ``name`` from the shared experiment ``experiment`` (:func:`results.experiments.load`).

    The claims report reads the same cached result, so a figure and its verdict always rest on the
    same numbers.

    Example (the quick ``lr_sweep``: the program the lr_robustness figure's tests compile first):
        >>> import tempfile, matplotlib.pyplot as plt
        >>> draw = lambda data, params: plt.figure()
        >>> s = Settings(out_dir=tempfile.mkdtemp(), cache_dir=tempfile.mkdtemp())
        >>> [p.name for p in render_experiment(s, "demo", "lr_sweep", draw, quick=True)]
        ['demo.png', 'demo.pdf', 'demo.json']
    """
    from results import experiments

    settings = Settings.of(out)
    params = experiments.parameters(experiment, quick)
    data = experiments.load(experiment, quick, settings)
    return _common.save_figure(draw(data, params), settings.out_dir, name, data, params, tuple(formats),
                               depends_on=experiments.EXPERIMENTS[experiment].depends_on)


def add_caption(fig, text: str) -> None:
    """Write the "what was run" caption line(s) centred below the axes of ``fig``.

    ``save_figure`` saves with ``bbox_inches="tight"``, so text placed below the figure is kept.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> fig = plt.figure()
        >>> add_caption(fig, "k=30, m=100, 1000 steps")
        >>> fig.texts[-1].get_text()
        'k=30, m=100, 1000 steps'
        >>> plt.close(fig)
    """
    fig.text(0.5, -0.01, _common.caption(text), ha="center", va="top", fontsize=8, color="0.25", wrap=False)


def simulate_from(params: dict, *, lrs, seeds):
    """:func:`simulations.simulate` with ``k, m, steps, rule, record_every, dtype, init`` (and ``tau``) from ``params``.

    Example:
        >>> r = simulate_from({"k": 3, "m": 3, "steps": 2, "rule": "paper", "record_every": 1,
        ...                    "dtype": "float64", "init": "sphere"}, lrs=[0.5], seeds=[0])
        >>> r.spectra.shape
        (1, 1, 3, 3)
    """
    import simulations

    return simulations.simulate(
        params["k"], list(lrs), m=params["m"], seeds=tuple(seeds), steps=params["steps"], rule=params["rule"],
        tau=params.get("tau"), record_every=params["record_every"], dtype=params["dtype"], init=params["init"],
    )
