"""Helpers shared by several ``clop-verify`` subcommands: the arguments of the training experiments
(``synthetic``, ``digits``), their result table, and writing a result file with its metadata.

Validation lives in :mod:`clop_verify.validation`; this module only registers arguments built from
it and formats results.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from clop_verify.validation import CLOP_SWITCH, MAX_STEPS, MAX_TRIALS, PROTOTYPES, check_memory, integer, real

__all__ = ["add_training_arguments", "clop_values", "print_rows", "write_result", "accuracy_text", "training_memory",
           "check_training_size"]


def add_training_arguments(parser: argparse.ArgumentParser, *, losses, default_seeds: int, loss_default: str) -> None:
    """Register the arguments ``synthetic`` and ``digits`` share (``--lr`` and ``--loss`` defaults differ
    and are added by each command).

    Example:
        >>> p = argparse.ArgumentParser()
        >>> add_training_arguments(p, losses=("infonce",), default_seeds=2, loss_default="infonce")
        >>> a = p.parse_args(["--clop", "on", "--lambda", "0.5"])
        >>> a.clop, a.lam, a.seeds
        (['on'], 0.5, 2)
    """
    parser.add_argument("--loss", nargs="+", choices=losses, default=None, metavar="LOSS",
                        help=f"losses among {', '.join(losses)} (default: {loss_default})")
    parser.add_argument("--clop", nargs="+", choices=tuple(CLOP_SWITCH), default=["off", "on"], metavar="on|off",
                        help="run without (off) and/or with (on) the CLOP term (default: off on)")
    parser.add_argument("--seeds", type=integer(1, MAX_TRIALS), default=default_seeds,
                        help=f"trials per setting, 1 to {MAX_TRIALS} (default: {default_seeds})")
    parser.add_argument("--prototypes", choices=PROTOTYPES, default="orthonormal", help="CLOP prototypes (default orthonormal)")
    parser.add_argument("--lambda", dest="lam", type=real(0, low_open=True), default=1.0,
                        help="CLOP weight lambda, finite, > 0 (default: 1)")
    parser.add_argument("--steps", type=integer(1, MAX_STEPS), default=None, help="optimiser steps, >= 1")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def clop_values(values) -> tuple[bool, ...]:
    """``["off", "on"]`` -> ``(False, True)`` (argparse has checked the names; repeats dropped).

    Example:
        >>> clop_values(["on", "off", "on"])
        (True, False)
    """
    return tuple(dict.fromkeys(CLOP_SWITCH[v] for v in values))


def accuracy_text(row: dict) -> str:
    """``mean +- std`` of the accuracy over the seeds whose training stayed finite, and how many did not.

    A seed whose loss became NaN or infinite (``diverged``) has no accuracy: it is counted, never
    averaged in.

    Example:
        >>> accuracy_text({"accuracy_mean": 0.9, "accuracy_std": 0.01, "seeds": 3, "diverged": 1})
        '0.9000 +- 0.0100 (1/3 seeds: loss non-finite)'
        >>> accuracy_text({"accuracy_mean": float("nan"), "accuracy_std": float("nan"), "seeds": 2, "diverged": 2})
        'none: loss non-finite in all 2 seeds'
    """
    bad = row.get("diverged") or 0
    if bad == row["seeds"] or row.get("accuracy_mean") is None:
        return f"none: loss non-finite in all {row['seeds']} seeds"
    text = f"{row['accuracy_mean']:.4f} +- {row['accuracy_std']:.4f}"
    return text + (f" ({bad}/{row['seeds']} seeds: loss non-finite)" if bad else "")


def print_rows(rows, extra_cols=()) -> None:
    """Print result rows of a training experiment as an aligned table."""
    head = f"{'loss':<13} {'clop':<5} {'prototypes':<12} {'lambda':>6} {'similarity':<10}"
    for name, _ in extra_cols:
        head += f" {name:>10}"
    head += f" {'eff. rank':>9} {'seeds':>5}  accuracy (mean +- std)"
    print(head)
    for r in rows:
        line = (f"{r['loss']:<13} {('on' if r['clop'] else 'off'):<5} {str(r['prototypes'] or '-'):<12} "
                f"{r['lambda']:>6g} {str(r['similarity'] or '-'):<10}")
        for _, key in extra_cols:
            v = r.get(key)
            line += f" {v:>10.4g}" if isinstance(v, (int, float)) else f" {'-':>10}"
        rank = r.get("effective_rank_mean")
        line += f" {rank:>9.3f}" if isinstance(rank, (int, float)) and rank == rank else f" {'-':>9}"  # NaN: no rank
        line += f" {r['seeds']:>5}  {accuracy_text(r)}"
        print(line)


def write_result(out: Path | None, name: str, result: dict, params: dict) -> None:
    """Write ``out/name`` atomically with run metadata (no-op when ``out`` is None)."""
    if out is None:
        return
    from results.io import run_metadata, save_json

    save_json(out / name, {"result": result, "metadata": run_metadata(params, dtype="float32")})


def training_memory(rows: int, batch: int | None, widths: tuple[int, ...], runs: int) -> float:
    r"""Estimated bytes (float32) of ``runs`` training runs held at once (all seeds and settings of one
    compiled call are vmapped together).

    Per run: the k-NN distance matrix over all rows (:math:`4n^2`), the encoder's activations on all
    rows at evaluation (:math:`2\cdot 4n\,w_{\max} L`), the training step's activations for two views,
    kept for the backward pass (:math:`3\cdot 2\cdot 4B\sum w`), and parameters, gradients and Adam's
    two moments (:math:`4\cdot 4P`). An estimate meant to refuse what cannot fit at all.

    Example:
        >>> round(training_memory(500, 256, (3, 64, 64, 3), runs=20) / 1e6)   # Table 5: 10 seeds x off/on
        58
    """
    batch = rows if batch is None else min(batch, rows)
    params = sum((a + 1) * c for a, c in zip(widths[:-1], widths[1:]))
    per_run = 4 * (rows * rows + 2 * rows * max(widths) * len(widths) + 6 * batch * sum(widths) + 4 * params)
    return float(per_run * runs)


def check_training_size(rows: int, batch: int | None, widths: tuple[int, ...], seeds: int, settings: int) -> None:
    """Refuse, before anything is allocated, ``seeds x settings`` training runs that cannot fit in memory."""
    need = training_memory(rows, batch, widths, seeds * settings)
    check_memory(need, f"--seeds {seeds} x {settings} settings of {rows}-sample training runs", "lower --seeds")
