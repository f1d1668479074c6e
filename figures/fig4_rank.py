r"""Figure 4 of paper 001: gradient descent on the total cosine similarity ends in rank k-1, not a simplex ETF.

k class embeddings start from i.i.d. Gaussian vectors in :math:`\mathbb{R}^m` (normalised), and
follow plain gradient descent on the mean pairwise cosine similarity through the normalisation (rule
``autodiff``, same step scale as Appendix D) at a learning rate well below the Theorem 1 bound.
Left: the singular values :math:`\sigma_1 \ge \dots \ge \sigma_k` of :math:`X` over training; the
smallest one falls to round-off while the others stay of order one (rank :math:`k-1`, Lemma 2).
Right: the final pairwise cosine similarities of each trial against the single value
:math:`-1/(k-1)` that a simplex ETF would give them all: they stay spread.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from figures.fig3_spectra import FLOOR, log_floor
from figures.generate import add_caption, render, simulate_from
from results.settings import Settings

NAME = "fig4_rank"

__all__ = ["NAME", "parameters", "compute", "draw", "main"]

def parameters(quick: bool = False) -> dict:
    """k=10 Gaussian embeddings in R^100, rule ``autodiff``, eta=0.1, 5 trials (quick: 3 trials, 600 steps).

    Example:
        >>> p = parameters()
        >>> p["k"], p["rule"], p["init"], p["lr"]
        (10, 'autodiff', 'gaussian', 0.1)
    """
    return {
        "k": 10,
        "m": 100,
        "lr": 0.1,
        "seeds": [0, 1, 2] if quick else [0, 1, 2, 3, 4],
        "steps": 600 if quick else 1000,
        "record_every": 20 if quick else 10,
        "rule": "autodiff",
        "init": "gaussian",
        "dtype": "float64",
    }


def compute(params: dict) -> dict:
    """Simulate; return the spectra over training and the final pairwise cosines per trial.

    Returns:
        ``{"record_steps": [R], "spectra": [S][R][k], "pairwise_cosines": [S][k(k-1)/2],
        "etf_value": -1/(k-1), "etf_deviation": [S], "collapsed": [S], "finite": [S]}``.
    """
    from simulations import metrics

    result = simulate_from(params, lrs=[params["lr"]], seeds=params["seeds"])
    final = np.asarray(result.final)[0]
    return {
        "record_steps": np.asarray(result.record_steps),
        "spectra": np.asarray(result.spectra)[0],
        "pairwise_cosines": np.asarray(metrics.pairwise_cosines(final)),
        "etf_value": -1.0 / (params["k"] - 1),
        "etf_deviation": np.asarray(metrics.etf_deviation(final)),
        "collapsed": np.asarray(result.collapsed)[0],
        "finite": np.asarray(result.finite)[0],
    }


def draw(data: dict, params: dict):
    """Left: every singular value of trial 0 over training (smallest in red, other trials' thin). Right: final cosines."""
    import matplotlib.pyplot as plt

    steps = np.asarray(data["record_steps"], dtype=float)
    spectra = np.asarray(data["spectra"], dtype=float)  # [S, R, k]
    k = spectra.shape[-1]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.3), layout="constrained")
    for trial in range(1, spectra.shape[0]):
        left.plot(steps, log_floor(spectra[trial, :, -1], FLOOR), color="C3", lw=0.7, alpha=0.35)
    blues = plt.get_cmap("Blues")
    for i in range(k - 1):
        left.plot(steps, log_floor(spectra[0, :, i], FLOOR), color=blues(0.45 + 0.5 * i / max(k - 2, 1)), lw=1.0,
                  label=r"$\sigma_1,\dots,\sigma_{k-1}$ (trial 0)" if i == 0 else None)
    left.plot(steps, log_floor(spectra[0, :, -1], FLOOR), color="C3", lw=2.0, label=rf"$\sigma_{{k}}=\sigma_{{{k}}}$ (trial 0)")
    if spectra.shape[0] > 1:
        left.plot([], [], color="C3", lw=0.7, alpha=0.35, label=r"$\sigma_k$, other trials")
    left.set_yscale("log")
    left.set_ylim(FLOOR / 3, None)
    left.set_xlabel("training step")
    left.set_ylabel(r"singular value $\sigma_i(X)$")
    left.set_title(f"Singular values over training: rank k-1 = {k - 1}")
    left.legend(fontsize=8, loc="center right")
    left.grid(True, alpha=0.3)

    cosines = np.asarray(data["pairwise_cosines"], dtype=float)  # [S, P]
    rng = np.random.default_rng(0)  # jitter only, for visibility of overlapping points
    for trial, values in enumerate(cosines):
        x = trial + rng.uniform(-0.18, 0.18, size=values.shape)
        right.plot(x, values, "o", ms=3, alpha=0.7, color="C0")
        right.plot([trial - 0.3, trial + 0.3], [values.min()] * 2, color="0.4", lw=0.8)
        right.plot([trial - 0.3, trial + 0.3], [values.max()] * 2, color="0.4", lw=0.8)
    right.axhline(data["etf_value"], color="C3", ls="--", lw=1.5, label=rf"simplex ETF: $-1/(k-1) = {data['etf_value']:.3f}$")
    right.set_xticks(range(cosines.shape[0]), labels=[str(s) for s in params["seeds"]])
    right.set_xlabel("trial (seed)")
    right.set_ylabel(r"final pairwise cosine $\cos(x_i, x_j)$, $i<j$")
    right.set_title("Pairwise similarities are not equal (not an ETF)")
    right.legend(fontsize=8, loc="upper right")
    right.grid(True, axis="y", alpha=0.3)
    add_caption(
        fig,
        f"Paper 001 Figure 4. k={k} embeddings in R^{params['m']} from Gaussian initialisation, rule '{params['rule']}' "
        f"(gradient descent on the mean pairwise cosine through the normalisation, step scale of Appendix D), "
        f"eta={params['lr']:g}, {params['steps']} steps, {params['dtype']}, seeds {', '.join(map(str, params['seeds']))}; "
        f"spectrum every {params['record_every']} steps. Values below {FLOOR:g} (round-off) are drawn at {FLOOR:g}.",
    )
    return fig


def main(out: Settings | str | os.PathLike, quick: bool = False, formats=("png", "pdf")) -> list[Path]:
    """Regenerate ``fig4_rank.{png,pdf,json}`` in ``out`` (simulation cached by parameters).

    ``out``: the output folder, or a :class:`results.settings.Settings` that also names the result cache.

    Paper 001, Section 3.2, Figure 4 and Lemma 2.

    Example (runs the simulations; the test-suite runs it in quick mode):
        >>> [p.name for p in main("/tmp/figs", quick=True)]  # doctest: +SKIP
        ['fig4_rank.png', 'fig4_rank.pdf', 'fig4_rank.json']
    """
    return render(out, NAME, parameters(quick), compute, draw, formats)
