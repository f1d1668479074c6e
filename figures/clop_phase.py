r"""CLOP's phase diagram: where the prototype term keeps or removes the near-collapsed state (paper 001, Section 4).

For k = 3, 10, 30, Appendix D's update with CLOP's term :math:`\lambda(1-s(x_i, c_i))` per class
embedding (:func:`simulations.collapse.dynamics.clop_paper_step`) is run on a grid of learning rates
:math:`\eta/\eta^*` (:math:`\eta^* = 2(k-1)/(k-2)`, Theorem 1's bifurcation) and weights
:math:`\lambda`, from 1e-4 off complete collapse and from the uniform start. Colour: the end state's
mean pairwise cosine; a dot marks a run that keeps a near-collapsed state (the mean's component outside
the prototypes' span above :data:`simulations.collapse.runner.CLOP_PERSIST_TOL`). Drawn over it: the
derived critical curve :math:`\lambda_c(\eta, k)` of :mod:`theory.clop` and its limit
:math:`\lambda_\infty(k)`; horizontal lines: the paper's :math:`\lambda = 1` and Table 1's range
0.1-1.5, per class embedding under Eq. 4's printed sum (solid) and under the released loss's mean
(:math:`\lambda/k`, dashed).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from figures.generate import add_caption, render
from results.settings import Settings

NAME = "clop_phase"

__all__ = ["NAME", "parameters", "compute", "draw", "main"]


def parameters(quick: bool = False) -> dict:
    """k = 3, 10, 30; 14 x 14 grid of eta / eta* in [0.6, 8] and lambda in [0.005, 2] (log); 1500 steps; one seed.

    Example:
        >>> p = parameters()
        >>> p["ks"], len(p["eta_over_star"]), len(p["lams"]), p["steps"]
        ([3, 10, 30], 14, 14, 1500)
    """
    n = 5 if quick else 14
    return {
        "ks": [3] if quick else [3, 10, 30],
        "m_extra": 4,  # m = 2k + 4: the dynamics live in the span of starts and prototypes (2k), plus room for u
        "eta_over_star": np.geomspace(0.6, 8.0, n).round(6).tolist(),
        "lams": np.geomspace(0.005, 2.0, n).round(6).tolist(),
        "steps": 300 if quick else 1500,
        "seeds": [0],
        "near_distance": 1e-4,
        "dtype": "float64",
    }


def compute(params: dict) -> dict:
    """End states on the grid; ``{"outside": [K][2][E][L], "mean_cos": [K][2][E][L], "lambda_c": [K][F]}``.

    Example (tiny):
        >>> p = dict(parameters(quick=True), eta_over_star=[1.5], lams=[0.05, 1.0], steps=50)
        >>> np.asarray(compute(p)["outside"]).shape
        (1, 2, 1, 2)
    """
    from simulations.collapse.from_state import clop_end_states
    from theory import clop

    x = np.asarray(params["eta_over_star"], dtype=float)
    lams = np.asarray(params["lams"], dtype=float)
    fine = np.geomspace(1.0005, x.max() * 1.05, 200)
    outside, mean_cos, curves = [], [], []
    for k in params["ks"]:
        star = 2 * (k - 1) / (k - 2)
        etas, lv = np.meshgrid(x * star, lams, indexing="ij")
        d = clop_end_states(k, etas.ravel(), lv.ravel(), m=2 * k + params["m_extra"], seeds=params["seeds"],
                            steps=params["steps"], near_distance=params["near_distance"], dtype=params["dtype"])
        # [2, P, S] -> worst seed per cell: the largest common component, the largest mean cosine
        outside.append(d["outside"].max(-1).reshape(2, len(x), len(lams)))
        mean_cos.append(d["mean_cos"].max(-1).reshape(2, len(x), len(lams)))
        curves.append(clop.clop_lambda_critical(fine * star, k))
    return {"eta_over_star": x, "lams": lams, "fine": fine, "outside": np.asarray(outside),
            "mean_cos": np.asarray(mean_cos), "lambda_c": np.asarray(curves),
            "lambda_limit": np.asarray([clop.clop_lambda_limit(k) for k in params["ks"]])}


def draw(data: dict, params: dict):
    """Two rows (near-collapse start, uniform start) x k: colour = mean cosine, dots = near-collapsed, derived curve."""
    import matplotlib.pyplot as plt

    from simulations.collapse.runner import CLOP_PERSIST_TOL

    x = np.asarray(data["eta_over_star"], dtype=float)
    lams = np.asarray(data["lams"], dtype=float)
    fine = np.asarray(data["fine"], dtype=float)
    outside, mean_cos = np.asarray(data["outside"]), np.asarray(data["mean_cos"])
    ks = params["ks"]
    fig, axes = plt.subplots(2, len(ks), figsize=(3.8 * len(ks), 6.4), squeeze=False, layout="constrained",
                             sharex=True, sharey=True)
    image = None
    for c, k in enumerate(ks):
        for r, start in enumerate(("start 1e-4 from collapse", "uniform start")):
            ax = axes[r, c]
            image = ax.pcolormesh(x, lams, mean_cos[c, r].T, shading="nearest", cmap="viridis", vmin=-0.5, vmax=1.0)
            ii, jj = np.nonzero(outside[c, r] > CLOP_PERSIST_TOL)
            ax.plot(x[ii], lams[jj], ".", color="w", ms=3, label="near-collapsed state persists")
            ax.plot(fine, data["lambda_c"][c], color="C3", lw=1.6, label=r"derived $\lambda_c(\eta, k)$")
            ax.axhline(data["lambda_limit"][c], color="C3", lw=0.8, ls=":", label=r"$\lambda_\infty(k)$")
            ax.axhline(1.0, color="w", lw=0.9, label=r"$\lambda=1$ (Eq. 4 sum)")
            ax.axhspan(0.1, 1.5, color="w", alpha=0.12, lw=0)
            ax.axhline(1.0 / k, color="w", lw=0.9, ls="--", label=r"$\lambda=1$ (released mean: $1/k$)")
            ax.axhspan(0.1 / k, 1.5 / k, color="w", alpha=0.08, lw=0, hatch="//")
            ax.axvline(1.0, color="0.7", lw=0.7, ls="--")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlim(x.min() / 1.1, x.max() * 1.1)
            ticks = [t for t in (0.6, 1, 2, 4, 8) if x.min() / 1.1 <= t <= x.max() * 1.1]
            ax.set_xticks(ticks, labels=[f"{t:g}" for t in ticks])
            ax.xaxis.set_minor_formatter(plt.NullFormatter())
            ax.set_ylim(lams.min() / 1.3, lams.max() * 1.3)
            ax.set_title(f"k={k}, {start}", fontsize=9)
            if r == 1:
                ax.set_xlabel(r"$\eta / \eta^*$,  $\eta^* = 2(k-1)/(k-2)$")
            if c == 0:
                ax.set_ylabel(r"$\lambda$ per class embedding")
    axes[0, 0].legend(fontsize=6, loc="lower right", framealpha=0.6)
    fig.colorbar(image, ax=axes, shrink=0.8, label="end state: mean pairwise cosine (worst seed)")
    add_caption(
        fig,
        f"CLOP's term in Appendix D's dynamics (paper 001, Section 4, Eq. 4; theory.clop). k embeddings in R^(2k+"
        f"{params['m_extra']}), {params['steps']} steps, {params['dtype']}, {len(params['seeds'])} seed(s) per start. "
        "Dots: a near-collapsed state persists (mean's component outside the prototypes' span > 1e-3); red: the "
        "derived critical lambda_c = [1/(4k(eta-1)^2) + (k-1)^3/(k(k-2)^2(eta-eta*)^2)]^(-1/2)/eta and its limit. "
        "White: lambda = 1 and Table 1's 0.1-1.5 (shaded) under Eq. 4's sum (solid) and the released mean (lambda/k, "
        "dashed, hatched).",
    )
    return fig


def main(out: Settings | str | os.PathLike, quick: bool = False, formats=("png", "pdf")) -> list[Path]:
    """Regenerate ``clop_phase.{png,pdf,json}`` in ``out`` (runs cached by parameters and code).

    ``out``: the output folder, or a :class:`results.settings.Settings` that also names the result cache.

    Paper 001, Section 4 (Eq. 4, Table 1), with :mod:`theory.clop`.

    Example (runs the simulations; the test-suite runs it in quick mode):
        >>> [p.name for p in main("/tmp/figs", quick=True)]  # doctest: +SKIP
        ['clop_phase.png', 'clop_phase.pdf', 'clop_phase.json']
    """
    return render(out, NAME, parameters(quick), compute, draw, formats)

