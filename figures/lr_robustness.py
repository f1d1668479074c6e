"""Learning-rate robustness of CLOP on the synthetic 3-D data: accuracy and effective rank against learning rate.

Tests the claim of paper 001 (abstract, Section 5) and paper 002 (Section 5, Figure 2) that InfoNCE
collapses at large learning rates while CLOP keeps the embeddings apart. Data:
:func:`simulations.training.synthetic.lr_sweep` (InfoNCE, SGD with momentum 0.9, learning rates 1e-3..10).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from figures.generate import add_caption, render_experiment
from results.settings import Settings

NAME = "lr_robustness"


#: The shared experiment this figure draws (:mod:`results.experiments`).
EXPERIMENT = "lr_sweep"


def draw(data: dict, params: dict):
    """Left: 5-NN accuracy vs learning rate; right: effective rank vs learning rate."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    for clop, style in ((False, "o-"), (True, "s--")):
        rows = sorted((r for r in data["results"] if r["clop"] == clop), key=lambda r: r["learning_rate"])
        lr = [r["learning_rate"] for r in rows]
        label = "InfoNCE + CLOP" if clop else "InfoNCE"
        left.errorbar(lr, [r["accuracy_mean"] for r in rows], yerr=[r["accuracy_std"] for r in rows], fmt=style,
                      capsize=3, label=label)
        right.errorbar(lr, [r["effective_rank_mean"] for r in rows], yerr=[r["effective_rank_std"] for r in rows],
                       fmt=style, capsize=3, label=label)
    left.axhline(1 / 3, color="0.5", ls=":", lw=1, label="chance (1/3)")
    for ax, ylabel in ((left, "5-NN accuracy on the 90% unlabelled"), (right, "effective rank of normalised outputs")):
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    right.set_ylim(0.9, 3.1)
    left.set_title("Accuracy against learning rate")
    right.set_title("Dimensional collapse: effective rank (3 = full)")
    c = params["config"]
    add_caption(fig, (
        f"Synthetic 3-D data of paper 001 Section 4 ({c['n']} points, 3 classes). {params['loss']} with/without CLOP "
        f"(lambda {params['lambda']}, {params['prototypes']}), {c['optimizer']} (momentum 0.9), {c['steps']} steps, batch "
        f"{c['batch_size']}, tau {c['tau']}; mean ± std over {params['seeds']} seeds."))
    return fig


def main(out: Settings | str | os.PathLike, quick: bool = False, formats=("png", "pdf")) -> list[Path]:
    """Regenerate ``lr_robustness.{png,pdf,json}``.

    Example (runs the simulations; the test-suite runs it in quick mode):
        >>> [p.name for p in main("/tmp/figs", quick=True)]  # doctest: +SKIP
        ['lr_robustness.png', 'lr_robustness.pdf', 'lr_robustness.json']
    """
    return render_experiment(out, NAME, EXPERIMENT, draw, quick=quick, formats=formats)
