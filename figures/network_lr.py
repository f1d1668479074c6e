"""Network learning-rate thresholds: effective rank and 5-NN accuracy of InfoNCE +- CLOP against the SGD learning rate.

Rows: the synthetic 3-D data and scikit-learn's digits; columns: temperature 0.1, 0.5, 1. Each panel
shows the effective rank of the normalised embeddings (solid) and, on the right axis, the 5-NN
accuracy (dotted) against the learning rate, with and without CLOP, SGD with momentum 0.9 and 0;
synthetic rows without batch norm (the only setting where it collapses), digits with it. The collapse criterion (effective rank < 1.5, fixed before the sweep) is the grey
line; 004's tau/2 and Theorem 1's merged-embedding bound eta_max(k) (k = number of classes) are
marked. Data: the shared ``network_lr`` and ``network_lr_digits`` experiments.
"""
from __future__ import annotations

import os
from pathlib import Path

from figures.generate import add_caption
from results.settings import Settings

NAME = "network_lr"

#: The shared experiments this figure draws (:mod:`results.experiments`).
EXPERIMENTS = ("network_lr", "network_lr_digits")


def draw(data: dict, params: dict):
    """2 x 3 panels (data set x tau): effective rank and accuracy against learning rate."""
    import matplotlib.pyplot as plt

    from theory import eta_max

    sweeps = [data[name] for name in EXPERIMENTS]
    taus = sorted({c["tau"] for c in sweeps[0]["curves"]})
    fig, axes = plt.subplots(len(sweeps), len(taus), figsize=(4.3 * len(taus), 3.6 * len(sweeps)), squeeze=False,
                             layout="constrained")
    styles = {(False, 0.9): ("C0", "o"), (True, 0.9): ("C1", "s"), (False, 0.0): ("C2", "^"), (True, 0.0): ("C3", "v")}
    for row, sweep in zip(axes, sweeps):
        k = 3 if sweep["data"] == "synthetic" else 10
        # Batch norm off where the sweep has it (the synthetic network collapses only without it).
        bn_shown = all(c["batch_norm"] for c in sweep["curves"])
        for ax, tau in zip(row, taus):
            acc_ax = ax.twinx()
            for c in sweep["curves"]:
                if c["tau"] != tau or c["batch_norm"] != bn_shown or (c["clop"], c["momentum"]) not in styles:
                    continue
                color, marker = styles[(c["clop"], c["momentum"])]
                lrs = [p["learning_rate"] for p in c["points"]]
                name = f"{'InfoNCE + CLOP' if c['clop'] else 'InfoNCE'}, momentum {c['momentum']}"
                ax.plot(lrs, [p["effective_rank_mean"] for p in c["points"]], marker=marker, color=color, label=name)
                acc_ax.plot(lrs, [p["accuracy"] for p in c["points"]], ls=":", marker=marker, ms=3, color=color,
                            alpha=0.6)
            ax.axhline(sweep["collapse_rank"], color="0.5", lw=1, label="collapse: eff. rank < 1.5")
            ax.axvline(tau / 2, color="red", lw=1, ls="--", label="004: tau/2")
            ax.axvline(float(eta_max(k)), color="purple", lw=1, ls="-.", label=f"eta_max({k}) (Theorem 1)")
            ax.set_xscale("log")
            ax.set_xlabel("SGD learning rate")
            ax.set_ylabel("effective rank (solid)")
            acc_ax.set_ylabel("5-NN accuracy (dotted)")
            acc_ax.set_ylim(0, 1.02)
            ax.set_title(f"{sweep['data']}, tau = {tau}, batch norm {'on' if bn_shown else 'off'}")
            ax.grid(True, alpha=0.3)
        row[0].legend(fontsize=7, loc="lower left")
    s0, s1 = sweeps
    add_caption(fig, (
        f"InfoNCE with/without CLOP (lambda 1), SGD. Synthetic: batch norm off shown (with it InfoNCE never collapses; "
        f"both in the JSON), {s0['steps']} steps, "
        f"batch {s0['batch_size']}; digits: encoder width {s1['width']}, {s1['steps']} steps; {s0['seeds']} seeds per "
        f"point. A learning rate collapses when at least half its seeds have effective rank < {s0['collapse_rank']}."))
    return fig


def main(out: Settings | str | os.PathLike, quick: bool = False, formats=("png", "pdf")) -> list[Path]:
    """Regenerate ``network_lr.{png,pdf,json}`` from both sweeps (cached through :mod:`results.experiments`).

    Example (runs the sweeps; the test-suite runs it in quick mode):
        >>> [p.name for p in main("/tmp/figs", quick=True)]  # doctest: +SKIP
        ['network_lr.png', 'network_lr.pdf', 'network_lr.json']
    """
    from figures import _common
    from results import experiments

    settings = Settings.of(out)
    data = {name: experiments.load(name, quick, settings) for name in EXPERIMENTS}
    params = {name: experiments.parameters(name, quick) for name in EXPERIMENTS}
    roots = tuple(root for name in EXPERIMENTS for root in experiments.EXPERIMENTS[name].depends_on)
    return _common.save_figure(draw(data, params), settings.out_dir, NAME, data, params, tuple(formats), depends_on=roots)
