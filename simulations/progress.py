"""Progress display for long loops, shared by both rooms: a tqdm bar on a terminal, plain lines elsewhere.

Library functions take ``progress=None`` by default: a bar when stderr is a terminal and silence
otherwise, so that a script or a test log is not filled. The ``clop-verify`` command passes
``progress=True``: a bar on a terminal, and one plain line per finished item when stderr is a file or
a pipe (a log of a long run then shows how far it got).
"""
from __future__ import annotations

import sys
import time
from typing import Callable, Iterable, Iterator, TextIO, TypeVar

__all__ = ["progress"]

T = TypeVar("T")


def progress(iterable: Iterable[T], *, desc: str, enabled: bool | None = None, label: Callable[[T], str] | None = None,
             stream: TextIO | None = None) -> Iterator[T]:
    """Iterate over ``iterable`` while showing progress on ``stream`` (default stderr).

    Args:
        iterable: the items (a sized one gives ``i/n`` counts).
        desc: what is being done (``"threshold"``).
        enabled: ``None``: a tqdm bar on a terminal, else nothing; ``True``: a bar on a terminal, else
            one line per finished item, ``desc: label done (i/n, t s)``; ``False``: nothing.
        label: names an item in the plain lines (default ``str``).
        stream: where to write (default ``sys.stderr``).

    Example:
        >>> import io
        >>> log = io.StringIO()
        >>> list(progress([3, 5], desc="threshold", enabled=True, label=lambda k: f"k={k}", stream=log))
        [3, 5]
        >>> [line.split(" (")[0] for line in log.getvalue().splitlines()]
        ['threshold: k=3 done', 'threshold: k=5 done']
        >>> list(progress([1], desc="x", enabled=None, stream=io.StringIO()))  # not a terminal: silent
        [1]
    """
    stream = sys.stderr if stream is None else stream
    terminal = hasattr(stream, "isatty") and stream.isatty()
    if enabled is False or (enabled is None and not terminal):
        yield from iterable
        return
    if terminal:
        from tqdm.auto import tqdm

        yield from tqdm(iterable, desc=desc, file=stream, leave=False)
        return
    total = len(iterable) if hasattr(iterable, "__len__") else None
    start = time.perf_counter()
    for i, item in enumerate(iterable, 1):
        yield item
        count = f"{i}/{total}" if total is not None else f"{i}"
        name = (label or str)(item)
        print(f"{desc}: {name} done ({count}, {time.perf_counter() - start:.1f} s)", file=stream, flush=True)
