"""Neural collapse versus dimensional collapse over training (paper 003): NC1, NC2 and effective rank per setting.

Tests the abstract of paper 003 (``003_c9824515a529ad98.txt``) in the unconstrained-features model:
Adam on {SCL, HSCL, UCL, HUCL} x {none, unit ball, unit sphere} x hardness x seeds
(:func:`simulations.neural_collapse.grid.nc_grid`, the shared experiment ``nc_grid``). Rows: normalisations; columns: NC1, NC2 and the
effective rank of the features, median over seeds, against the step. A simplex ETF has NC1 = NC2 = 0
and effective rank k - 1 (dotted line).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from figures.generate import add_caption, render_experiment
from results.settings import Settings

NAME = "nc_vs_dc"


#: The shared experiment this figure draws (:mod:`results.experiments`); ``nc_clop`` feeds ``nc003.clop_orthonormal``.
EXPERIMENT = "nc_grid"


def restore_nonfinite(value):
    """Undo the JSON encoding of non-finite floats ("inf", "nan") in a cached result.

    Example:
        >>> restore_nonfinite({"a": ["inf", 1.0, "x"]})
        {'a': [inf, 1.0, 'x']}
    """
    if isinstance(value, dict):
        return {k: restore_nonfinite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [restore_nonfinite(v) for v in value]
    if isinstance(value, str) and value in ("inf", "-inf", "nan"):
        return float(value)
    return value


def _median_curves(data: dict, metric: str) -> dict:
    """(loss, normalisation, beta) -> median curve over seeds."""
    curves = np.asarray([[float(v) for v in row] for row in data["curves"][metric]])
    groups: dict = {}
    for i, r in enumerate(data["runs"]):
        groups.setdefault((r["loss"], r["normalisation"], r["beta"]), []).append(i)
    return {key: np.median(curves[idx], axis=0) for key, idx in groups.items()}


def draw(data: dict, params: dict):
    """3 x 3 panels: rows none / ball / sphere, columns NC1, NC2, effective rank; one line per risk and hardness."""
    import matplotlib.pyplot as plt

    metrics = (("nc1", "NC1 = tr(Σ_W Σ_B⁺)/k", True), ("nc2", "NC2 (distance from ETF Gram)", True),
               ("effective_rank", "effective rank of features", False))
    norms = params["normalisations"]
    fig, axes = plt.subplots(len(norms), 3, figsize=(13, 3.2 * len(norms)), layout="constrained", squeeze=False)
    steps = np.asarray(data["steps"])
    colours = {"SCL": "C0", "HSCL": "C1", "UCL": "C2", "HUCL": "C3"}
    betas = params["betas"]
    k = data["k"]
    for col, (metric, label, log) in enumerate(metrics):
        med = _median_curves(data, metric)
        for row, norm in enumerate(norms):
            ax = axes[row, col]
            for (loss, nrm, beta), curve in med.items():
                if nrm != norm:
                    continue
                style = "-" if beta == 0 else ("--", "-.", ":")[betas.index(beta) % 3] if beta in betas else "-"
                name = loss if beta == 0 else f"{loss} β={beta:g}"
                ax.plot(steps, np.where(np.isfinite(curve), curve, np.nan), style, color=colours[loss], lw=1.3, label=name)
            if log:
                ax.set_yscale("log")
                ax.axhline(0.1, color="0.5", ls=":", lw=1)
            else:
                ax.axhline(k - 1, color="0.5", ls=":", lw=1)
                ax.set_ylim(0.8, min(params["config"]["embed_dim"], k * params["config"]["samples_per_class"]) + 0.2)
            ax.set_title(f"{label} — {norm}", fontsize=9)
            ax.set_xlabel("Adam step")
            ax.grid(True, alpha=0.3)
            if row == 0 and col == 2:
                ax.legend(fontsize=7, ncol=2)
    c = params["config"]
    add_caption(fig, (
        f"Unconstrained features: k={c['num_classes']} classes x n={c['samples_per_class']} samples in "
        f"d={c['embed_dim']}, tau={c['tau']}, view noise {c['aug_noise_std']}, Adam lr {params['lr']} for {c['steps']} steps, hardness exp(beta s) with beta in "
        f"{betas}; median over {params['seeds']} seeds. Dotted: the NC threshold 0.1 (NC1, NC2) and the ETF's "
        f"effective rank k-1."))
    return fig


def main(out: Settings | str | os.PathLike, quick: bool = False, formats=("png", "pdf")) -> list[Path]:
    """Regenerate ``nc_vs_dc.{png,pdf,json}``.

    Example (trains the grid; the test-suite runs it in quick mode):
        >>> [p.name for p in main("/tmp/figs", quick=True)]  # doctest: +SKIP
        ['nc_vs_dc.png', 'nc_vs_dc.pdf', 'nc_vs_dc.json']
    """
    return render_experiment(out, NAME, EXPERIMENT, lambda d, p: draw(restore_nonfinite(d), p), quick=quick,
                             formats=formats)
