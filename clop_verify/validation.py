r"""Validation of command-line arguments, in one place for every ``clop-verify`` subcommand.

The CLI validates each argument once, where it is parsed, and passes checked values to the public
library functions. Numbers are checked by argparse ``type=`` callables built here (:func:`real`,
:func:`integer`), names by argparse ``choices=``, output folders by :func:`output_folder` (before any
work starts), and the size of a run by :func:`check_memory` / :func:`memory_budget` (before anything
is allocated). Every failure is one line naming the flag and the accepted range, raised as
:class:`clop_verify.errors.UsageError`; :mod:`clop_verify.cli` turns it into exit status 2 without a
traceback.

A flag's accepted range is the mathematical one (a learning rate is a finite real number
:math:`\eta > 0`) intersected with what a run can hold: integers are bounded so that a typo such as
``--steps 99999999999999999999`` is refused with the range instead of overflowing inside NumPy.
"""
from __future__ import annotations

import argparse
import math
import os
from pathlib import Path
from typing import Callable

from clop_verify.errors import UsageError
from theory import definitions
from theory.definitions import RULES

__all__ = [
    "MAX_SEED",
    "MAX_STEPS",
    "MAX_SIZE",
    "MAX_TRIALS",
    "real",
    "integer",
    "seed",
    "output_folder",
    "memory_budget",
    "check_memory",
    "format_bytes",
    "check_rule_tau",
    "check_tau",
    "MIN_TAU",
    "check_float32_range",
    "RULES", "DTYPES", "INITS", "LOSSES", "DIGITS_LOSSES", "PROTOTYPES", "SIMILARITIES", "OPTIMIZERS",
    "CLOP_SWITCH",
]

#: Seeds are the 32-bit values ``jax.random.key`` takes.
MAX_SEED = 2**32 - 1
#: More optimiser or dynamics steps than this is a typo (10^9 steps of the smallest run take hours).
MAX_STEPS = 10**9
#: Largest k or m a flag takes; the memory estimate (:func:`check_memory`) refuses far smaller
#: problems than this on any machine, naming their size.
MAX_SIZE = 10**9
#: Most trials (threshold) or seeds (training experiments) a flag takes; far more than any figure uses
#: (5 to 10), and at 10^6 the memory estimate already refuses all but tiny problems.
MAX_TRIALS = 10**6


def _number_text(low, high, low_open, high_open, allow_inf) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high:g}")
    kind = "a real number (inf allowed)" if allow_inf else "a finite real number"
    return kind + (" " + " and ".join(parts) if parts else "")


def real(low: float | None = None, high: float | None = None, *, low_open: bool = False,
         high_open: bool = False, allow_inf: bool = False) -> Callable[[str], float]:
    r"""An argparse ``type=`` for a real number in a range; NaN is always refused, infinities unless ``allow_inf``.

    Args:
        low, high: bounds (``None`` for none).
        low_open, high_open: exclude the bound itself (:math:`x > \mathrm{low}` instead of :math:`\ge`).
        allow_inf: accept ``inf`` (still subject to the bounds).

    Returns:
        A callable ``str -> float`` raising :class:`argparse.ArgumentTypeError` with the accepted range.

    Example:
        >>> positive = real(0, low_open=True)
        >>> positive("2.5")
        2.5
        >>> positive("inf")
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: must be a finite real number > 0; got 'inf'
        >>> real(0, allow_inf=True)("inf")
        inf
    """
    wanted = _number_text(low, high, low_open, high_open, allow_inf)

    def parse(text: str) -> float:
        try:
            value = float(text)
        except (TypeError, ValueError):
            value = math.nan
        ok = not math.isnan(value) and (allow_inf or math.isfinite(value))
        if ok and low is not None:
            ok = value > low if low_open else value >= low
        if ok and high is not None:
            ok = value < high if high_open else value <= high
        if not ok:
            raise argparse.ArgumentTypeError(f"must be {wanted}; got {text!r}")
        return value

    parse.__name__ = "real"
    return parse


def integer(low: int, high: int) -> Callable[[str], int]:
    """An argparse ``type=`` for an integer in ``[low, high]`` (written in decimal digits).

    Example:
        >>> integer(1, 10)("3")
        3
        >>> integer(1, 10**9)("99999999999999999999")
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: must be an integer in [1, 1000000000]; got '99999999999999999999'
    """

    def parse(text: str) -> int:
        stripped = text.strip()
        body = stripped[1:] if stripped[:1] in "+-" else stripped
        value = int(stripped) if body.isdigit() and len(body) <= 40 else None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be an integer in [{low}, {high}]; got {text!r}")
        return value

    parse.__name__ = "integer"
    return parse


#: argparse ``type=`` for a seed: an integer in [0, 2**32).
seed = integer(0, MAX_SEED)


def output_folder(path: str | os.PathLike, flag: str = "--out") -> Path:
    """Check, before any work, that ``path`` is a folder results can be written into (exit 2 otherwise).

    The check itself is :func:`results.io.check_output_folder`, shared with the library's writers.

    Example:
        >>> import tempfile, pathlib
        >>> output_folder(pathlib.Path(tempfile.mkdtemp()) / "new").name
        'new'
    """
    from results.io import check_output_folder

    try:
        return check_output_folder(path, flag)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def format_bytes(n: float) -> str:
    """``n`` bytes in the largest unit that keeps a number >= 1 (decimal units).

    Example:
        >>> format_bytes(9.6e9), format_bytes(512)
        ('9.6 GB', '512 B')
    """
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} B"


def memory_budget() -> int:
    """Bytes a run may use: half the memory available now (``MemAvailable``), and at most half the
    accelerator's memory when JAX runs on one.

    Example:
        >>> memory_budget() > 0
        True
    """
    available = None
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    if available is None:
        try:
            available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
        except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
            available = 8 * 10**9
    budget = available // 2
    import sys

    if "jax" in sys.modules:  # only ask JAX when the command has started it
        import jax

        try:
            stats = jax.devices()[0].memory_stats() or {}
        except Exception:  # noqa: BLE001 - CPU devices have no memory statistics
            stats = {}
        if stats.get("bytes_limit"):
            budget = min(budget, int(stats["bytes_limit"]) // 2)
    return int(budget)


def check_memory(needed: float, what: str, remedy: str, budget: int | None = None) -> None:
    """Refuse a run whose estimated memory ``needed`` (bytes) exceeds ``budget`` (:func:`memory_budget`).

    Args:
        needed: estimated bytes.
        what: what takes the memory, with the flags that set it (``"--k 20000 x --m 20000 embeddings"``).
        remedy: the flag(s) that reduce it (``"lower --k or --m"``).
        budget: bytes allowed (default :func:`memory_budget`).

    Raises:
        UsageError: with the estimate, the budget and the remedy.

    Example:
        >>> check_memory(1e3, "tiny", "nothing", budget=10**6)
        >>> check_memory(9.6e9, "--k 20000 x --m 20000 embeddings", "lower --k or --m", budget=10**9)
        Traceback (most recent call last):
        ...
        clop_verify.errors.UsageError: --k 20000 x --m 20000 embeddings need about 9.6 GB, more than the 1 GB this run may use (half the available memory); lower --k or --m
    """
    budget = memory_budget() if budget is None else budget
    if needed > budget:
        raise UsageError(f"{what} need about {format_bytes(needed)}, more than the {format_bytes(budget)} "
                         f"this run may use (half the available memory); {remedy}")


# Names the library accepts, spelled out here so that ``--help`` and argparse ``choices=`` do not
# import JAX; tests/cli/test_cli_names.py checks each against the library's own tuple.
#: :data:`simulations.collapse.runner.DTYPES`
DTYPES = ("float64", "float32")
#: :data:`simulations.collapse.runner.INITS`
INITS = ("sphere", "gaussian")
#: the contrastive losses of the training experiments
LOSSES = ("infonce", "dcl", "vicreg", "barlow_twins", "supcon")
#: the losses of the digits experiment
DIGITS_LOSSES = ("infonce", "supcon")
#: CLOP prototype constructions
PROTOTYPES = ("orthonormal", "etf", "random")
#: CLOP similarities
SIMILARITIES = ("cosine", "euclidean", "manhattan")
#: optimisers of the training experiments
OPTIMIZERS = ("adam", "sgd")
#: ``--clop`` values: without and with the CLOP term
CLOP_SWITCH = {"off": False, "on": True}


#: Smallest temperature whose reciprocal is a finite float64 (1/tau overflows below it): 1 / 1.797e308.
MIN_TAU = 1.0 / 1.7976931348623157e308


def check_tau(tau: float | None, flag: str = "--tau", dtype: str = "float64") -> None:
    """A temperature must be finite, > 0, and large enough that 1/tau is finite in ``dtype``
    (tau >= :data:`MIN_TAU` in float64, >= 2.94e-39 in float32).

    Example:
        >>> check_tau(0.5)
        >>> check_tau(1e-320)
        Traceback (most recent call last):
        ...
        clop_verify.errors.UsageError: --tau must be a finite real number >= 5.56e-309 (1/tau must be finite); got 1e-320
        >>> check_tau(1e-40, dtype="float32")
        Traceback (most recent call last):
        ...
        clop_verify.errors.UsageError: --tau must be a finite real number >= 2.94e-39 with --dtype float32 (1/tau must be finite); got 1e-40
    """
    smallest = MIN_TAU if dtype != "float32" else 1.0 / 3.4028234663852886e38
    where = " with --dtype float32" if dtype == "float32" else ""
    if tau is not None and not (math.isfinite(tau) and tau >= smallest):
        raise UsageError(f"{flag} must be a finite real number >= {smallest:.3g}{where} (1/tau must be finite); got {tau!r}")


def check_rule_tau(rule: str, tau: float | None) -> None:
    """``--tau`` belongs to ``--rule infonce`` and only to it (:func:`theory.definitions.check_rule_tau`, worded
    with flags), and a tau whose reciprocal overflows is refused (:func:`check_tau`).

    Example:
        >>> check_rule_tau("infonce", 0.5)
        >>> check_rule_tau("paper", 0.5)
        Traceback (most recent call last):
        ...
        clop_verify.errors.UsageError: --tau applies only to --rule infonce (rule paper has no temperature); got --tau 0.5
    """
    try:
        definitions.check_rule_tau(rule, tau, names=("--rule", "--tau"))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    check_tau(tau)


def check_float32_range(flag: str, values, dtype: str) -> None:
    """Values cast to float32 must stay finite there (at most 3.4028e38).

    Example:
        >>> check_float32_range("--lr", [1e39], "float32")
        Traceback (most recent call last):
        ...
        clop_verify.errors.UsageError: --lr must be at most 3.4028e+38 with --dtype float32 (larger values become inf there); got 1e+39
    """
    if dtype != "float32":
        return
    limit = 3.4028234663852886e38  # numpy.finfo(numpy.float32).max
    for value in values:
        if abs(value) > limit:
            raise UsageError(f"{flag} must be at most {limit:.5g} with --dtype float32 (larger values become inf there); "
                             f"got {value:g}")
