r"""Figure 3 (left and middle) of paper 001: singular-value spectra of k=30 embeddings at eta = 2.0 and 2.1.

k = 30 unit class embeddings, uniform on the sphere of :math:`\mathbb{R}^{100}`, follow the Appendix D
update (rule ``paper``) at learning rates 2.0 and 2.1, either side of the Theorem 1 bound
(:math:`\eta_{\max}(30) = 2.071` derived, 2.033 as printed). The spectrum
:math:`\sigma_1 \ge \dots \ge \sigma_{30}` of :math:`X = [x_1, \dots, x_k]` is drawn at successive
steps, coloured from blue (early) to red (late), in two panels sharing a log axis: at 2.0 the spectrum
stays spread (with the last value sinking: rank k-1), at 2.1 everything but :math:`\sigma_1` falls
to round-off (complete collapse).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from figures.generate import add_caption, render, simulate_from
from results.settings import Settings

NAME = "fig3_spectra"

__all__ = ["NAME", "parameters", "compute", "draw", "main", "log_floor"]


def parameters(quick: bool = False) -> dict:
    """The run behind the figure; ``quick`` records more sparsely (the dynamics are the paper's in both).

    Example:
        >>> p = parameters()
        >>> p["k"], p["m"], p["lrs"], p["rule"]
        (30, 100, [2.0, 2.1], 'paper')
    """
    return {
        "k": 30,
        "m": 100,
        "lrs": [2.0, 2.1],
        "seed": 0,
        "steps": 1000,
        "record_every": 100 if quick else 25,
        "rule": "paper",
        "init": "sphere",
        "dtype": "float64",
    }


def compute(params: dict) -> dict:
    """Simulate and return the recorded spectra per learning rate (JSON-able).

    Returns:
        ``{"record_steps": [R], "lrs": [...], "spectra": [L][R][k], "collapsed": [L], "finite": [L],
        "final_mean_norm": [L], "eta_max": derived bound, "paper_eta_max": printed bound}``.
    """
    import theory

    result = simulate_from(params, lrs=params["lrs"], seeds=[params["seed"]])
    return {
        "lrs": list(params["lrs"]),
        "record_steps": np.asarray(result.record_steps),
        "spectra": np.asarray(result.spectra)[:, 0],
        "mean_norm": np.asarray(result.mean_norm)[:, 0],
        "collapsed": np.asarray(result.collapsed)[:, 0],
        "finite": np.asarray(result.finite)[:, 0],
        "eta_max": theory.eta_max(params["k"]),
        "paper_eta_max": theory.paper_eta_max(params["k"]),
    }


def log_floor(values, floor: float) -> np.ndarray:
    """Values for a log axis: non-finite kept as NaN (not drawn), anything below ``floor`` drawn at it.

    Example:
        >>> log_floor([1.0, 0.0, float("nan")], 1e-16).tolist()
        [1.0, 1e-16, nan]
    """
    arr = np.asarray(values, dtype=float)
    return np.where(np.isfinite(arr), np.maximum(arr, floor), np.nan)


#: Singular values below this are round-off in float64 (relative to sigma_1 = O(1)); drawn at it.
FLOOR = 1e-17


def draw(data: dict, params: dict):
    """Two panels (one per learning rate), spectra coloured blue -> red by step, shared log y axis."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import Normalize

    steps = np.asarray(data["record_steps"], dtype=float)
    spectra = np.asarray(data["spectra"], dtype=float)
    cmap = plt.get_cmap("jet")
    norm = Normalize(vmin=steps.min(), vmax=steps.max())
    fig, axes = plt.subplots(1, len(data["lrs"]), figsize=(10, 4.2), sharey=True, layout="constrained")
    index = np.arange(1, spectra.shape[-1] + 1)
    for panel, (ax, lr) in enumerate(zip(np.atleast_1d(axes), data["lrs"])):
        for r, step in enumerate(steps):
            ax.plot(index, log_floor(spectra[panel, r], FLOOR), color=cmap(norm(step)), lw=1.0, marker=".", ms=3)
        ax.set_yscale("log")
        ax.set_xlabel(r"singular value index $i$")
        verdict = "complete collapse" if data["collapsed"][panel] else "no complete collapse"
        if not data["finite"][panel]:
            verdict = "non-finite"
        ax.set_title(rf"$\eta = {lr:.2f}$: {verdict}")
        ax.grid(True, which="major", alpha=0.3)
        ax.set_xlim(0.5, spectra.shape[-1] + 0.5)
    np.atleast_1d(axes)[0].set_ylabel(r"singular value $\sigma_i(X)$")
    np.atleast_1d(axes)[0].set_ylim(FLOOR / 3, None)
    bar = fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes, pad=0.01)
    bar.set_label("training step")
    add_caption(
        fig,
        f"Paper 001 Figure 3 (left, middle). k={params['k']} unit embeddings in R^{params['m']}, uniform on the sphere "
        f"(seed {params['seed']}), rule '{params['rule']}' (Appendix D update + renormalisation), {params['steps']} steps, "
        f"{params['dtype']}, spectrum every {params['record_every']} steps. Theorem 1 bound at k={params['k']}: "
        f"derived eta_max = {data['eta_max']:.4f}, printed {data['paper_eta_max']:.4f}. "
        f"Values below {FLOOR:g} (round-off) are drawn at {FLOOR:g}.",
    )
    return fig


def main(out: Settings | str | os.PathLike, quick: bool = False, formats=("png", "pdf")) -> list[Path]:
    """Regenerate ``fig3_spectra.{png,pdf,json}`` in ``out`` (simulation cached by parameters).

    ``out``: the output folder, or a :class:`results.settings.Settings` that also names the result cache.

    Paper 001, Section 3.1, Figure 3 (left and middle).

    Example (runs the simulations; the test-suite runs it in quick mode):
        >>> [p.name for p in main("/tmp/figs", quick=True)]  # doctest: +SKIP
        ['fig3_spectra.png', 'fig3_spectra.pdf', 'fig3_spectra.json']
    """
    return render(out, NAME, parameters(quick), compute, draw, formats)
