"""Regenerate a list of figures: validation, one progress line per figure, cache and format handling.

:func:`regenerate` drives the figure modules (each exposes ``main(out_dir, quick=False,
formats=("png", "pdf"))``) in order, printing one line per figure on stderr (started, finished with
its time, whether the simulations came from the cache and the folder written, or failed). :func:`render` is the pipeline every figure module shares: compute (or load from the
cache of :func:`results.cache.cached`, keyed on parameters and code) -> draw -> :func:`figures._common.save_figure`.
:func:`add_caption` writes the "what was run" line at the bottom of a figure. ``clop-verify figures``
is a thin wrapper around :func:`regenerate`.

With ``jobs > 1`` :func:`regenerate` runs the figure modules in that many worker processes (started
with ``spawn``, never ``fork``: JAX is already running in the parent), the longest figures first
(:data:`LONGEST_FIRST`). Each worker sets JAX up as the command does
(:func:`clop_verify.runtime.configure_jax`: float64, the persistent compilation cache) and inherits the
environment, so it computes the same numbers bit for bit; it decides itself whether its figure
recomputed anything (:func:`results.cache.entries_written` before and after the figure), so the
"recomputed" / "from cache" label stays right when two workers fill the cache at once. Measured on the
2-core VM: ``clop-verify figures`` from empty caches takes 907 s in one process, which keeps about 1.6
cores busy on average (XLA's intra-op threads; compiling is single-threaded); with the readings
figure in one process and the twelve others in a second (warm compilation cache, empty result cache)
the run took 585 s instead of 717 s, for the same total CPU time (about 1135 s); the command with
two workers, from empty caches, 751 s instead of 907 s, its JSON numbers bit-identical.
"""
from __future__ import annotations

import contextlib
import gc
import importlib
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Callable, Iterable, Sequence, TextIO

from figures import FIGURES, _common
from results.cache import cached, entries_written
from results.io import check_output_folder, is_disk_error
from results.settings import Settings

__all__ = [
    "ALL_FIGURES",
    "FORMATS",
    "LONGEST_FIRST",
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

#: The figures a parallel run (``jobs > 1``) starts first, longest first, so that no long figure is left
#: to run alone at the end; the others follow in drawing order. From scratch on the 2-core VM: readings
#: 458 s, network_lr 215 s, digits 68 s, every other figure 5-37 s.
LONGEST_FIRST: tuple[str, ...] = ("readings", "network_lr", "digits")


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


def start_order(names: Sequence[str]) -> list[str]:
    """The order a parallel run submits ``names`` in: :data:`LONGEST_FIRST` first, then drawing order.

    Example:
        >>> start_order(["fig3_spectra", "digits", "fig4_rank", "readings"])
        ['readings', 'digits', 'fig3_spectra', 'fig4_rank']
    """
    first = [name for name in LONGEST_FIRST if name in names]
    return first + [name for name in names if name not in first]


def _draw(name: str, settings: Settings, quick: bool, formats: tuple[str, ...]) -> tuple[list[Path], float, bool]:
    """Run figure ``name``: ``(written paths, seconds, whether it recomputed a simulation)``; raises what it raises."""
    start, before = time.perf_counter(), entries_written()
    module = importlib.import_module(f"figures.{name}")
    written = module.main(settings, quick=quick, formats=formats)
    return list(written), time.perf_counter() - start, entries_written() > before


def _done_line(head: str, seconds: float, recomputed: bool, out_dir: Path, written: Sequence) -> str:
    files = ", ".join(Path(p).name for p in written)
    return f"{head}: done in {seconds:.1f} s ({'recomputed' if recomputed else 'from cache'}) -> {out_dir}/: {files}"


def regenerate(
    names: Sequence[str] | None,
    out_dir: str | os.PathLike,
    *,
    quick: bool = False,
    use_cache: bool = True,
    cache_dir: str | os.PathLike | None = None,
    formats: Sequence[str] | None = ("png", "pdf"),
    stream: TextIO | None = None,
    jobs: int = 1,
) -> dict[str, list[Path]]:
    """Regenerate figures into ``out_dir``, one progress line per figure on ``stream`` (stderr).

    All input is validated before anything is written (the folder with
    :func:`results.io.check_output_folder`). A figure that raises, or whose module cannot be
    imported, is reported (with its traceback) and the others still run; a write the disk refuses
    (:data:`results.io.DISK_ERRNOS`) ends the whole run, each figure written being a complete set or
    nothing (:func:`results.io.atomic_set`).

    With ``jobs > 1`` (and more than one figure) the figures run in ``min(jobs, len(names))`` worker
    processes, :func:`start_order` deciding which start first; each "running" line is printed when its
    figure is handed to the workers, each "done" or "FAILED" line when it ends, and the numbers are the
    ones one process computes. A disk error in a worker stops the others and is raised here; so is
    ``KeyboardInterrupt``, after the workers are ended (a worker also ends by itself, removing what it
    was staging, when this process is gone).

    Args:
        names: figure names (see :data:`ALL_FIGURES`); ``None`` or empty for all.
        out_dir: output folder (created if needed).
        quick: shrink sizes for smoke tests.
        use_cache: ``False`` recomputes every simulation (and rewrites its cache entry).
        cache_dir: the result cache (default :func:`results.settings.default_cache_dir`, the XDG cache folder).
        formats: image formats among :data:`FORMATS`.
        stream: where the progress lines go (default ``sys.stderr``).
        jobs: worker processes (an integer >= 1; 1 runs every figure in this process, in order).

    Returns:
        ``{name: written paths}`` in the order of ``names``. A failed figure is absent.

    Raises:
        ValueError: unknown figure name or format, an ``out_dir`` that cannot be a writable folder, or
            ``jobs`` that is not an integer >= 1.

    Example:
        >>> import io, tempfile
        >>> regenerate(["not_a_figure"], tempfile.mkdtemp())  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: figure names must be among ...; got 'not_a_figure'
        >>> regenerate(["fig4_rank"], tempfile.mkdtemp(), jobs=0)
        Traceback (most recent call last):
        ...
        ValueError: jobs must be an integer >= 1; got 0
    """
    names = check_names(names)
    formats = check_formats(formats)
    from simulations.config import check_int  # here, not at import: the simulations package starts JAX

    check_int("jobs", jobs, 1)
    out_dir = check_output_folder(out_dir)
    stream = stream or sys.stderr
    settings = Settings(out_dir=out_dir, use_cache=use_cache,
                        **({} if cache_dir is None else {"cache_dir": cache_dir}))
    if jobs > 1 and len(names) > 1:
        return _regenerate_in_workers(names, settings, quick, formats, min(jobs, len(names)), stream)
    results: dict[str, list[Path]] = {}
    for index, name in enumerate(names, 1):
        head = f"[{index}/{len(names)}] {name}"
        print(f"{head}: running{' (quick)' if quick else ''} ...", file=stream, flush=True)
        try:
            written, seconds, recomputed = _draw(name, settings, quick, formats)
        except Exception as exc:  # one failing figure does not stop the others ...
            if is_disk_error(exc):  # ... but a full or read-only disk stops them all (nothing half-written)
                raise
            traceback.print_exc(file=stream)
            print(f"{head}: FAILED ({type(exc).__name__}: {exc})", file=stream, flush=True)
            continue
        print(_done_line(head, seconds, recomputed, out_dir, written), file=stream, flush=True)
        results[name] = written
    return results


def _start_worker() -> None:
    """Initializer of a worker process: the CLI's JAX settings, and the worker guard of :mod:`clop_verify.interrupt`.

    The worker ignores Ctrl-C and leaves the decision to the parent, which ends its workers with
    SIGTERM; the guard (:func:`clop_verify.interrupt.guard_worker`) then ends the worker (status 143)
    after removing the result files it is staging, and does the same as soon as the parent is gone (the
    parent's Ctrl-C watchdog may end it with ``os._exit``), even while the main thread is inside a
    compiled call.
    """
    from clop_verify import interrupt
    from clop_verify.runtime import configure_jax

    configure_jax()
    interrupt.guard_worker()


def _draw_in_worker(name: str, settings: Settings, quick: bool, formats: tuple[str, ...]) -> dict:
    """:func:`_draw` in a worker process, its outcome as a picklable dict; a disk error is raised (as a plain OSError)."""
    try:
        written, seconds, recomputed = _draw(name, settings, quick, formats)
    except Exception as exc:
        if is_disk_error(exc):
            raise OSError(exc.errno, exc.strerror, exc.filename) from None
        return {"failed": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
    return {"written": [str(p) for p in written], "seconds": seconds, "recomputed": recomputed}


def _regenerate_in_workers(names, settings, quick, formats, jobs, stream) -> dict[str, list[Path]]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    heads = {name: f"[{index}/{len(names)}] {name}" for index, name in enumerate(names, 1)}
    executor = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start_worker)
    results: dict[str, list[Path]] = {}
    try:
        futures = {}
        for name in start_order(names):
            print(f"{heads[name]}: running{' (quick)' if quick else ''} ...", file=stream, flush=True)
            futures[executor.submit(_draw_in_worker, name, settings, quick, tuple(formats))] = name
        for future in as_completed(futures):
            name = futures[future]
            try:
                outcome = future.result()
            except Exception as exc:  # a disk error, or a worker that died (BrokenProcessPool)
                if is_disk_error(exc):
                    raise
                outcome = {"failed": f"{type(exc).__name__}: {exc}", "traceback": ""}
            if "failed" in outcome:
                stream.write(outcome["traceback"])
                print(f"{heads[name]}: FAILED ({outcome['failed']})", file=stream, flush=True)
                continue
            written = [Path(p) for p in outcome["written"]]
            print(_done_line(heads[name], outcome["seconds"], outcome["recomputed"], settings.out_dir, written),
                  file=stream, flush=True)
            results[name] = written
    except BaseException:
        _stop_workers(executor)
        # Release the pool's queues before the exception travels on: their semaphores are unlinked when the
        # objects are collected, and a process ended with os._exit (the Ctrl-C path) would otherwise leave
        # them to Python's resource tracker, which warns about "leaked semaphore objects" after the command.
        del executor
        gc.collect()
        raise
    executor.shutdown(wait=True)
    return {name: results[name] for name in names if name in results}


def _stop_workers(executor, timeout: float = 0.5) -> None:
    """Cancel what has not started, end the workers now and wait until the pool has wound down.

    Each worker gets SIGTERM (its guard removes what it was staging and ends it) and, if it has not ended
    within ``timeout`` seconds, SIGKILL. Then ``shutdown(wait=True)`` joins the pool's manager thread,
    which fails the futures and closes the pool's queues. The workers are reachable only through the
    executor's private ``_processes`` mapping (Python 3.14 adds ``terminate_workers``).
    """
    processes = list((getattr(executor, "_processes", None) or {}).values())
    for process in processes:
        with contextlib.suppress(Exception):
            process.terminate()
    deadline = time.monotonic() + timeout
    for process in processes:
        with contextlib.suppress(Exception):
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
    executor.shutdown(wait=True, cancel_futures=True)


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
