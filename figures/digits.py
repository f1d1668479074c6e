"""CLOP on scikit-learn's handwritten digits: 5-NN and linear-probe accuracy with and without CLOP.

Bars per loss (InfoNCE, semi-supervised SupCon) and CLOP setting, error bars over seeds, dashed lines
for the same classifiers on raw pixels; a second panel gives the effective rank. Data:
:func:`simulations.training.digits.digits_table`.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from figures.generate import add_caption, render_experiment
from results.settings import Settings

NAME = "digits"


#: The shared experiment this figure draws (:mod:`results.experiments`).
EXPERIMENT = "digits"


def draw(data: dict, params: dict):
    """Left: grouped bars of 5-NN and linear-probe accuracy; right: effective rank."""
    import matplotlib.pyplot as plt

    rows = data["results"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained", width_ratios=(2, 1))
    labels = [f"{r['loss']}{' + CLOP' if r['clop'] else ''}" for r in rows]
    x = np.arange(len(rows))
    left.bar(x - 0.2, [r["accuracy_mean"] for r in rows], 0.4, yerr=[r["accuracy_std"] for r in rows], capsize=3,
             label="5-NN")
    left.bar(x + 0.2, [r["linear_probe_mean"] for r in rows], 0.4, yerr=[r["linear_probe_std"] for r in rows],
             capsize=3, label="linear probe")
    raw = data["raw_pixels"]
    left.axhline(raw["knn_accuracy_mean"], color="C0", ls="--", lw=1, label="5-NN on raw pixels")
    left.axhline(raw["linear_probe_mean"], color="C1", ls="--", lw=1, label="linear probe on raw pixels")
    lo = min(min(r["accuracy_mean"], r["linear_probe_mean"]) for r in rows)
    left.set_ylim(max(0.0, lo - 0.1), 1.0)
    left.set_xticks(x, labels=labels, fontsize=8)
    left.set_ylabel("accuracy on the 90% unlabelled")
    left.set_title("Digits, 10% labels")
    left.legend(fontsize=7, loc="lower right")
    left.grid(True, axis="y", alpha=0.3)
    right.bar(x, [r["effective_rank_mean"] for r in rows], yerr=[r["effective_rank_std"] for r in rows], capsize=3,
              color="C2")
    right.set_xticks(x, labels=labels, fontsize=7, rotation=20)
    right.set_ylabel("effective rank of normalised embeddings")
    right.set_title(f"Effective rank (embedding dim {params['config']['embed_dim']})")
    right.grid(True, axis="y", alpha=0.3)
    c = params["config"]
    add_caption(fig, (
        f"sklearn digits ({'first ' + str(c['subsample']) if c['subsample'] else 'all 1797'} images), MLP 64-{c['hidden']}-"
        f"{c['hidden']}-{c['embed_dim']} BN-ReLU, views: shifts <= {c['max_shift']} px + noise sd {c['aug_noise_std']}; "
        f"{c['optimizer']} lr {c['learning_rate']:g}, {c['steps']} steps, batch {c['batch_size']}, tau {c['tau']}; CLOP "
        f"lambda {params['lambda']}, {params['prototypes']} prototypes; classifiers fitted on the labelled 10%; "
        f"mean ± std over {params['seeds']} seeds."))
    return fig


def main(out: Settings | str | os.PathLike, quick: bool = False, formats=("png", "pdf")) -> list[Path]:
    """Regenerate ``digits.{png,pdf,json}``.

    Example (runs the simulations; the test-suite runs it in quick mode):
        >>> [p.name for p in main("/tmp/figs", quick=True)]  # doctest: +SKIP
        ['digits.png', 'digits.pdf', 'digits.json']
    """
    return render_experiment(out, NAME, EXPERIMENT, draw, quick=quick, formats=formats)
