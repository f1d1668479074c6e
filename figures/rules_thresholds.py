r"""Collapse threshold against k for the three update rules (``paper``, ``autodiff``, ``infonce``).

Does the Theorem 1 bound depend on how the gradient is taken? For each rule the largest learning rate
at which none of the trials collapses completely (:func:`figures.fig3_tightness.measured_threshold`,
cached and shared with Figure 3 right) is drawn against k beside the derived bound
:math:`\eta_{\max}(k) = 2(k-1)/(k-2)` of paper 001, Section 3.1. ``paper`` is the Appendix D update,
``autodiff`` the gradient of the mean pairwise cosine through the normalisation (same step scale),
``infonce`` the gradient of InfoNCE over merged class embeddings at temperature :math:`\tau` (raw
step size). Rules with no collapse found up to the largest learning rate tried are drawn as open
triangles at that learning rate (a lower bound on their threshold).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from figures.fig3_tightness import collapse_criterion, log_k_axis, measured_thresholds, parameters as tightness_parameters, plot_thresholds
from figures.generate import add_caption, render
from results.settings import Settings

NAME = "rules_thresholds"

__all__ = ["NAME", "CURVES", "parameters", "compute", "draw", "main"]

#: The curves drawn: each update rule of :data:`theory.definitions.RULES` with the temperature its curve
#: uses (``None``: the rule has none). Not a list of rule names: InfoNCE could appear at several tau.
CURVES: tuple[tuple[str, float | None], ...] = (("paper", None), ("autodiff", None), ("infonce", 1.0))


def parameters(quick: bool = False) -> dict:
    """Sweep settings: those of Figure 3 right (so the ``paper`` thresholds are shared) on k = 3, 5, 10, 30.

    k stops at 30 because a rule that never collapses costs the whole grid at full length, and the
    autodiff / InfoNCE steps cost O(m k^2) against O(m k) for ``paper``.

    Example:
        >>> p = parameters()
        >>> p["ks"], [r for r, _ in p["rules"]]
        ([3, 5, 10, 30], ['paper', 'autodiff', 'infonce'])
    """
    base = tightness_parameters(quick)
    ks = [3, 30] if quick else [3, 5, 10, 30]
    shared = {key: base[key] for key in ("m", "trials", "steps", "seed", "rtol")}
    return {"ks": ks, "rules": [list(curve) for curve in CURVES], **shared}


def compute(params: dict, settings: Settings | None = None) -> dict:
    """Measured thresholds per rule (``{"ks", "rules": {label: thresholds}, "eta_max"}``)."""
    import theory

    sweep = {key: params[key] for key in ("m", "trials", "steps", "seed", "rtol")}
    rules = {
        label(rule, tau): measured_thresholds(settings, params["ks"], rule=rule, tau=tau, **sweep)
        for rule, tau in params["rules"]
    }
    return {"ks": params["ks"], "rules": rules, "eta_max": np.asarray(theory.eta_max(params["ks"]), dtype=float)}


def label(rule: str, tau) -> str:
    """Legend / JSON key of a rule: its name, with the temperature when it has one.

    Example:
        >>> label("paper", None), label("infonce", 1.0)
        ('paper', 'infonce (tau=1)')
    """
    return rule if tau is None else f"{rule} (tau={tau:g})"


def draw(data: dict, params: dict):
    """Thresholds of every rule against k (log k axis) with the derived bound as a line."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter
    import theory

    ks = np.asarray(data["ks"])
    dense = np.arange(ks.min(), ks.max() + 1)
    fig, ax = plt.subplots(figsize=(6.6, 4.6), layout="constrained")
    ax.plot(dense, theory.eta_max(dense), color="0.3", lw=1.6, label=r"derived bound $\eta_{\max}(k)=2(k-1)/(k-2)$")
    markers = ("o", "s", "D", "v")
    for i, (name, sweep) in enumerate(data["rules"].items()):
        offset = ks * (1 + 0.03 * ((i + 1) // 2) * (-1) ** i)  # shift rules 2, 3 sideways so coincident points stay visible
        plot_thresholds(ax, offset, sweep, label=name, color=f"C{i}", marker=markers[i % len(markers)])
    log_k_axis(ax, ks)
    ax.set_yscale("log")
    ax.set_yticks([2, 3, 4, 6, 10, 20, 30], labels=["2", "3", "4", "6", "10", "20", "30"])
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(r"number of class embeddings $k$")
    ax.set_ylabel(r"largest non-collapsing learning rate $\eta$")
    ax.set_title("Collapse threshold by update rule")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7.5, loc="best")
    add_caption(
        fig,
        f"m={params['m']}, {params['trials']} trials per learning rate (seed {params['seed']}), {params['steps']} steps, "
        f"{collapse_criterion()}, threshold refined to relative tolerance {params['rtol']:g}. "
        "paper: Appendix D update; autodiff: jax.grad of the mean pairwise cosine through the normalisation (Appendix D "
        "step scale); infonce: gradient of InfoNCE over merged class embeddings (raw step). Open triangles: no run "
        "collapsed at any learning rate of the simulator's neutral grid, drawn at the largest one tried.",
    )
    return fig


def main(out: Settings | str | os.PathLike, quick: bool = False, formats=("png", "pdf")) -> list[Path]:
    """Regenerate ``rules_thresholds.{png,pdf,json}`` in ``out`` (thresholds cached per k and rule).

    ``out``: the output folder, or a :class:`results.settings.Settings` that also names the result cache.

    Paper 001, Section 3.1 (does Theorem 1 depend on the form of the gradient?).

    Example (runs the simulations; the test-suite runs it in quick mode):
        >>> [p.name for p in main("/tmp/figs", quick=True)]  # doctest: +SKIP
        ['rules_thresholds.png', 'rules_thresholds.pdf', 'rules_thresholds.json']
    """
    settings = Settings.of(out)
    return render(settings, NAME, parameters(quick), lambda p: compute(p, settings), draw, formats)
