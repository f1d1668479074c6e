"""Table 5 under every reading: the gain of CLOP (with minus without, 5-NN accuracy) per reading and loss.

One panel per loss of paper 001's Table 5; one row per reading of :mod:`simulations.training.readings`
(the default, one axis changed at a time, then the targeted search); our gain with a 2-standard-error
bar, and the printed gain (Table 5) as a vertical line. A reading whose bar reaches the line
reproduces the printed gain (:data:`claims.readings.READINGS_RULE`). Data: the shared ``readings``
experiment (:mod:`results.experiments`), the same numbers the ``table5.*`` verdicts are computed from.
"""
from __future__ import annotations

import os
from pathlib import Path

from figures.generate import add_caption, render_experiment
from results.settings import Settings

NAME = "readings"

#: The shared experiment this figure draws (:mod:`results.experiments`).
EXPERIMENT = "readings"


def label(reading: dict) -> str:
    """Short text for a reading (``default`` for the empty one).

    Example:
        >>> label({}), label({"optimizer": "sgd", "learning_rate": 1.0})
        ('default', 'optimizer=sgd, learning_rate=1.0')
    """
    return ", ".join(f"{k}={v}" for k, v in reading.items()) or "default"


def draw(data: dict, params: dict):
    """Four panels (one per loss): gain +- 2 se per reading, printed gain as a red line."""
    import matplotlib.pyplot as plt

    from simulations.training.synthetic import PAPER_TABLE5  # the printed accuracies, one source

    losses = data["losses"]
    readings = []
    for r in data["rows"]:
        if r["reading"] not in readings:
            readings.append(r["reading"])
    height = max(4.0, 0.22 * len(readings) + 1.5)
    fig, axes = plt.subplots(1, len(losses), figsize=(4.2 * len(losses), height), sharey=True, layout="constrained")
    axes = [axes] if len(losses) == 1 else list(axes)
    ys = list(range(len(readings)))[::-1]
    for ax, loss in zip(axes, losses):
        rows = {label(r["reading"]): r for r in data["rows"] if r["loss"] == loss}
        for y, reading in zip(ys, readings):
            r = rows.get(label(reading))
            if r is None:
                continue
            color = "C1" if r.get("targeted") else "C0"
            ax.errorbar(100 * r["gain"], y, xerr=200 * r["gain_standard_error"], fmt="o", color=color, ms=4, capsize=2)
        printed = PAPER_TABLE5.get(loss)
        if printed:
            ax.axvline(100 * (printed["with"] - printed["without"]), color="red", lw=1.5, label="printed gain (Table 5)")
        ax.axvline(0, color="0.5", lw=0.8, ls=":")
        ax.set_title(loss)
        ax.set_xlabel("gain of CLOP (accuracy points, ± 2 se)")
        ax.grid(True, axis="x", alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    axes[0].set_yticks(ys, [label(r) for r in readings], fontsize=7)
    add_caption(fig, (
        f"Synthetic 3-D data of paper 001 Section 4 under {len(readings)} readings of its open setup (blue: one axis "
        f"changed from the default; orange: targeted search for the printed baselines); {data.get('seeds', params['seeds'])} "
        f"seeds per reading, 5-NN on the 90% unlabelled. A bar reaching the red line reproduces the printed gain."))
    return fig


def main(out: Settings | str | os.PathLike, quick: bool = False, formats=("png", "pdf")) -> list[Path]:
    """Regenerate ``readings.{png,pdf,json}``.

    Example (runs the readings grid; the test-suite runs it in quick mode):
        >>> [p.name for p in main("/tmp/figs", quick=True)]  # doctest: +SKIP
        ['readings.png', 'readings.pdf', 'readings.json']
    """
    return render_experiment(out, NAME, EXPERIMENT, draw, quick=quick, formats=formats)
