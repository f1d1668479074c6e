"""Figure 5 / Table 5 of paper 001: output embeddings of the synthetic 3-D experiment, with and without CLOP.

One 3-D scatter per loss (InfoNCE, DCL, VICReg, Barlow Twins) and per CLOP setting of the
L2-normalised outputs of seed 0, coloured by class; each title gives the 5-NN accuracy over seeds,
the number printed in Table 5 and the effective rank. Data: :func:`simulations.training.synthetic.synthetic_table`.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from figures.generate import add_caption, render_experiment
from results.settings import Settings

NAME = "fig5_embeddings"


#: The shared experiment this figure draws (:mod:`results.experiments`).
EXPERIMENT = "table5"


def draw(data: dict, params: dict):
    """2 x 4 grid of 3-D scatters (rows: without / with CLOP)."""
    import matplotlib.pyplot as plt

    rows = data["results"]
    losses = list(dict.fromkeys(r["loss"] for r in rows))
    fig = plt.figure(figsize=(4 * len(losses), 8.2))
    names = {"infonce": "InfoNCE", "dcl": "DCL", "vicreg": "VICReg", "barlow_twins": "Barlow Twins"}
    for r in rows:
        col = losses.index(r["loss"])
        ax = fig.add_subplot(2, len(losses), col + 1 + (len(losses) if r["clop"] else 0), projection="3d")
        z = np.asarray(r["embeddings"], float)
        y = np.asarray(r["labels"])
        for c in range(int(y.max()) + 1):
            ax.scatter(*z[y == c].T, s=5, alpha=0.7, color=f"C{c}", label=f"class {c}")
        paper = r.get("paper_accuracy")
        ax.set_title(
            f"{names.get(r['loss'], r['loss'])}{' + CLOP' if r['clop'] else ''}\n"
            f"5-NN {100 * r['accuracy_mean']:.2f}% ± {100 * r['accuracy_std']:.2f}"
            + (f" (paper {100 * paper:.2f}%)" if paper is not None else "")
            + f"\neff. rank {r['effective_rank_mean']:.2f}", fontsize=9)
        ax.set_xlim(-1, 1), ax.set_ylim(-1, 1), ax.set_zlim(-1, 1)
        ax.tick_params(labelsize=6)
        if col == 0 and not r["clop"]:
            ax.legend(fontsize=7, loc="upper left")
    c = params["config"]
    add_caption(fig, (
        f"Paper 001 Figure 5 / Table 5. {c['n']} points on 3 lines through the origin in R^3 ({c['directions']} directions, "
        f"positions {c['positions']}, noise var {c['noise_var']}); views: sign flip p={c['flip_prob']} + noise var "
        f"{c['aug_noise_var']}; 3-layer BN-ReLU net (hidden {c['hidden']}), {c['optimizer']} lr {c['learning_rate']:g}, "
        f"{c['steps']} steps, batch {c['batch_size']}, tau {c['tau']}; CLOP lambda {params['lambda']} "
        f"{params['prototypes']} prototypes, {params['similarity']}; 5-NN on normalised outputs fitted on 10% labels; "
        f"mean ± std over {params['seeds']} seeds; scatter: seed 0, normalised outputs."))
    return fig


def main(out: Settings | str | os.PathLike, quick: bool = False, formats=("png", "pdf")) -> list[Path]:
    """Regenerate ``fig5_embeddings.{png,pdf,json}`` (paper 001 Section 4, Figure 5, Appendix B Table 5).

    Example (runs the simulations; the test-suite runs it in quick mode):
        >>> [p.name for p in main("/tmp/figs", quick=True)]  # doctest: +SKIP
        ['fig5_embeddings.png', 'fig5_embeddings.pdf', 'fig5_embeddings.json']
    """
    return render_experiment(out, NAME, EXPERIMENT, draw, quick=quick, formats=formats)
