r"""Theorem 1 as a bifurcation: where each update rule ends, from a random start and from near collapse.

For k = 3, 10, 30 and each rule (``paper``, ``autodiff``, ``infonce`` at tau = 0.5), runs of
:func:`simulations.collapse.from_state.run_from` at learning rates :math:`\eta = x\cdot\eta_e`, where
:math:`\eta_e` is the rule's derived edge (:func:`theory.stability.eta_max` at eps = 0: the spread
state's mean shrinks in one step exactly below it). The end state is drawn as
:math:`1-\overline{\cos}` (one minus the mean pairwise cosine; 0 at complete collapse, about
:math:`1+1/(k-1)` when spread), log scale, against :math:`x`. Shaded: blue where the spread mean
shrinks (:math:`x<1`), red where complete collapse is linearly stable (:mod:`theory.stability`:
``paper`` above :math:`x = 1`, never for the tangent rules). Paper 001, Section 3.1, Appendix D.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from figures.generate import add_caption, render
from results.settings import Settings

NAME = "bifurcation"

__all__ = ["NAME", "parameters", "compute", "draw", "main", "FLOOR"]

#: End states closer to collapse than this are drawn at it (complete collapse is exactly 0).
FLOOR = 1e-18


def parameters(quick: bool = False) -> dict:
    """k = 3, 10, 30 in R^100, three rules, eta / edge from 0.5 to 2, 2000 steps (quick: k = 3, 300 steps).

    Example:
        >>> p = parameters()
        >>> p["ks"], [r["rule"] for r in p["rules"]], p["steps"]
        ([3, 10, 30], ['paper', 'autodiff', 'infonce'], 2000)
    """
    return {
        "ks": [3] if quick else [3, 10, 30],
        "m": 20 if quick else 100,
        "rules": [{"rule": "paper", "tau": None}, {"rule": "autodiff", "tau": None}, {"rule": "infonce", "tau": 0.5}],
        "eta_over_edge": [0.6, 0.9, 1.1, 1.5] if quick else [0.5, 0.7, 0.85, 0.95, 0.98, 1.02, 1.05, 1.15, 1.3, 1.6, 2.0],
        "steps": 300 if quick else 2000,
        "seeds": [0, 1],
        "near_distance": 1e-4,
        "dtype": "float64",
    }


def compute(params: dict) -> dict:
    """Runs from both starts; returns ``{"edges": [R][K], "near": [R][K][X][S], "spread": [R][K][X][S]}`` of 1 - mean cos.

    Example (tiny):
        >>> p = dict(parameters(quick=True), eta_over_edge=[0.9, 1.1], steps=50, rules=[{"rule": "paper", "tau": None}])
        >>> d = compute(p)
        >>> np.asarray(d["near"]).shape
        (1, 1, 2, 2)
    """
    import jax

    from simulations.collapse.from_state import mean_cosine_gap, near_collapse, run_from, spread_start
    from theory import stability

    x = np.asarray(params["eta_over_edge"], dtype=float)
    edges, near_out, spread_out = [], [], []
    for spec in params["rules"]:
        rule, tau = spec["rule"], spec["tau"]
        e_row, n_row, s_row = [], [], []
        for k in params["ks"]:
            edge = float(stability.eta_max(k, 0.0, rule, tau))
            near = np.stack([near_collapse(jax.random.key(10 * k + s), k, params["m"], params["near_distance"])
                             for s in params["seeds"]])
            spread = np.stack([spread_start(jax.random.key(1000 + 10 * k + s), k, params["m"]) for s in params["seeds"]])
            kw = dict(steps=params["steps"], rule=rule, tau=tau, dtype=params["dtype"])
            e_row.append(edge)
            n_row.append(mean_cosine_gap(run_from(near, x * edge, **kw)))
            s_row.append(mean_cosine_gap(run_from(spread, x * edge, **kw)))
        edges.append(e_row)
        near_out.append(n_row)
        spread_out.append(s_row)
    return {"eta_over_edge": x, "edges": np.asarray(edges), "near": np.asarray(near_out), "spread": np.asarray(spread_out)}


def _label(spec: dict) -> str:
    return spec["rule"] + ("" if spec["tau"] is None else rf" ($\tau={spec['tau']:g}$)")


def draw(data: dict, params: dict):
    """A rules x k grid of panels: end state (log) against eta / edge, both starts, derived ranges shaded."""
    import matplotlib.pyplot as plt

    x = np.asarray(data["eta_over_edge"], dtype=float)
    near, spread = (np.maximum(np.asarray(data[key], dtype=float), FLOOR) for key in ("near", "spread"))
    edges = np.asarray(data["edges"], dtype=float)
    rules, ks = params["rules"], params["ks"]
    fig, axes = plt.subplots(len(rules), len(ks), figsize=(3.6 * len(ks), 2.8 * len(rules)), squeeze=False,
                             layout="constrained", sharex=True, sharey=True)
    lo, hi = x.min() * 0.95, x.max() * 1.05
    for r, spec in enumerate(rules):
        for c, k in enumerate(ks):
            ax = axes[r, c]
            ax.axvspan(lo, 1.0, color="C0", alpha=0.08, lw=0)
            if spec["rule"] == "paper":
                ax.axvspan(1.0, hi, color="C3", alpha=0.10, lw=0)
            ax.axvline(1.0, color="0.3", lw=0.8, ls="--")
            for s in range(near.shape[-1]):
                ax.plot(x * (1 - 0.008), spread[r, c, :, s], "o", color="C0", ms=4, alpha=0.8,
                        label="random start" if s == 0 else None)
                ax.plot(x * (1 + 0.008), near[r, c, :, s], "x", color="C3", ms=5, alpha=0.9,
                        label="start 1e-4 from collapse" if s == 0 else None)
            ax.set_yscale("log")
            ax.set_xscale("log")
            ax.set_xlim(lo, hi)
            ticks = [t for t in (0.5, 0.7, 1.0, 1.5, 2.0) if lo <= t <= hi]
            ax.set_xticks(ticks, labels=[f"{t:g}" for t in ticks])
            ax.xaxis.set_minor_formatter(plt.NullFormatter())
            ax.set_ylim(FLOOR / 10, 10)
            ax.set_title(f"{_label(spec)}, k={k}: edge {edges[r, c]:.4g}", fontsize=9)
            ax.grid(True, which="major", alpha=0.3)
            if r == len(rules) - 1:
                ax.set_xlabel(r"$\eta$ / derived edge")
            if c == 0:
                ax.set_ylabel(r"end state $1-\overline{\cos}$")
    axes[0, 0].legend(fontsize=7, loc="lower left")
    axes[0, -1].text(0.98, 0.5, "collapse\nstable", transform=axes[0, -1].transAxes, ha="right", color="C3", fontsize=8)
    axes[0, -1].text(0.02, 0.5, "spread mean\nshrinks", transform=axes[0, -1].transAxes, ha="left", color="C0", fontsize=8)
    add_caption(
        fig,
        f"Theorem 1 (paper 001, Section 3.1) as a stability result (theory.stability). k embeddings in R^{params['m']}, "
        f"{params['steps']} steps, {params['dtype']}, {len(params['seeds'])} seeds per start; end states below {FLOOR:g} "
        "(complete collapse) drawn at it. Edge = eta_max(k, 0) of each rule; blue: the spread mean shrinks in one step; "
        "red: complete collapse linearly stable (paper rule only; autodiff and infonce step along the sphere's tangent "
        "and are repelled by collapse at every eta).",
    )
    return fig


def main(out: Settings | str | os.PathLike, quick: bool = False, formats=("png", "pdf")) -> list[Path]:
    """Regenerate ``bifurcation.{png,pdf,json}`` in ``out`` (runs cached by parameters and code).

    ``out``: the output folder, or a :class:`results.settings.Settings` that also names the result cache.

    Paper 001, Section 3.1 and Appendix D (Theorem 1), with :mod:`theory.stability`.

    Example (runs the simulations; the test-suite runs it in quick mode):
        >>> [p.name for p in main("/tmp/figs", quick=True)]  # doctest: +SKIP
        ['bifurcation.png', 'bifurcation.pdf', 'bifurcation.json']
    """
    return render(out, NAME, parameters(quick), compute, draw, formats)
