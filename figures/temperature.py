r"""InfoNCE temperature: one-step mean shift and collapse threshold against tau, beside paper 004's statements.

Paper 004 (``004_1ce899bd4a367f4d.txt``, the temperature restatement of paper 001) states that after
one gradient step the norm of the embedding mean scales by :math:`(1 - 2\eta/\tau)^2`, so the optimal
learning rate is near :math:`\eta = \tau/2` (where the mean vanishes) and the mean stops shrinking at
:math:`\eta = \tau` (where the factor returns to 1). Left: the measured one-step factor
:math:`\|\mu^{(1)}\|/\|\mu^{(0)}\|` (:func:`simulations.one_step_mean_shift`, rule ``infonce``, k
embeddings uniform on the sphere) against :math:`\eta/\tau` for several temperatures, with 004's
curve and its square root. Right: the measured collapse threshold (rule ``infonce``, cached like
Figure 3 right) against :math:`\tau`, with the lines :math:`\eta = \tau/2` and :math:`\eta = \tau`.

Over both, the law derived in :mod:`theory.stability` (limit m -> infinity): the one-step factor
:math:`|1-\eta_{\rm eff}|/\sqrt{1+\eta_{\rm eff}^2/(k-1)}` with
:math:`\eta_{\rm eff} = \frac{2\eta}{\tau}\frac{k-1}{e^{1/\tau}+k-1}`, its minimiser
:math:`\frac{\tau}{2}(1+e^{1/\tau}/(k-1))` and its edge :math:`\tau(e^{1/\tau}+k-1)/(k-2)`; 004's
expressions are its limit :math:`k e^{-1/\tau}\to\infty` (for the squared norm).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from figures.fig3_tightness import collapse_criterion, measured_thresholds, parameters as tightness_parameters, plot_thresholds
from figures.generate import add_caption, render
from results.settings import Settings

NAME = "temperature"

__all__ = ["NAME", "parameters", "compute", "paper004_mean_factor", "draw", "main"]


def parameters(quick: bool = False) -> dict:
    """k=30 in R^100, tau = 0.1, 0.3, 1, 3 (quick: 0.1 and 1), eta/tau from 0.05 to 1.5; threshold sweep as Figure 3 right.

    Example:
        >>> p = parameters()
        >>> p["k"], p["taus"], p["rule"]
        (30, [0.1, 0.3, 1.0, 3.0], 'infonce')
    """
    base = tightness_parameters(quick)
    return {
        "k": 30,
        "rule": "infonce",
        "data_version": 2,  # bump when compute() changes what it returns (invalidates the figure cache)
        "taus": [0.1, 1.0] if quick else [0.1, 0.3, 1.0, 3.0],
        "eta_over_tau": np.round(np.arange(1, 16 if quick else 31) * (0.1 if quick else 0.05), 4).tolist(),
        "shift_seeds": list(range(4 if quick else 16)),
        **{key: base[key] for key in ("m", "trials", "steps", "seed", "rtol")},
    }


def paper004_mean_factor(eta, tau):
    r"""Paper 004's one-step factor on the embedding mean's norm, as stated: :math:`(1 - 2\eta/\tau)^2`.

    Args:
        eta: learning rate(s) >= 0.
        tau: temperature > 0.

    Returns:
        The factor (ndarray or float); 0 at the stated optimum :math:`\eta=\tau/2`, 1 at :math:`\eta=\tau`.

    Example (paper 004, Section 3):
        >>> paper004_mean_factor(0.25, 0.5), paper004_mean_factor(0.5, 0.5)
        (0.0, 1.0)
    """
    value = (1.0 - 2.0 * np.asarray(eta, dtype=float) / float(tau)) ** 2
    return float(value) if np.ndim(value) == 0 else value


def compute(params: dict, settings: Settings | None = None) -> dict:
    """One-step factors and thresholds per tau.

    Returns:
        ``{"taus", "eta_over_tau", "mean_shift": [tau][eta][seed], "thresholds": {"threshold",
        "bracket_lo", "bracket_hi"}, "best_eta": [tau], "best_eta_at_grid_edge": [tau]}``, where
        ``best_eta`` is the grid learning rate with the smallest mean one-step factor.
    """
    import simulations

    ratios = np.asarray(params["eta_over_tau"], dtype=float)
    shift = [
        np.asarray(
            simulations.one_step_mean_shift(
                params["k"], ratios * tau, m=params["m"], seeds=tuple(params["shift_seeds"]), rule=params["rule"], tau=tau
            )
        )
        for tau in params["taus"]
    ]
    sweep = {key: params[key] for key in ("m", "trials", "steps", "seed", "rtol")}
    thresholds = [measured_thresholds(settings, [params["k"]], rule=params["rule"], tau=tau, **sweep) for tau in params["taus"]]
    flat = {key: [row[key][0] for row in thresholds] for key in ("threshold", "bracket_lo", "bracket_hi")}
    shift = np.stack(shift)
    best = np.argmin(np.nanmean(shift, axis=-1), axis=-1)
    return {
        "taus": params["taus"],
        "eta_over_tau": ratios,
        "mean_shift": shift,
        "thresholds": flat,
        # the learning rate of the grid that shrinks the mean most in one step (004: near tau/2)
        "best_eta": ratios[best] * np.asarray(params["taus"]),
        "best_eta_at_grid_edge": (best == 0) | (best == len(ratios) - 1),
    }


def draw(data: dict, params: dict):
    """Left: measured one-step factor vs eta/tau per tau with 004's curve; right: threshold vs tau."""
    import matplotlib.pyplot as plt

    taus = np.asarray(data["taus"], dtype=float)
    x = np.asarray(data["eta_over_tau"], dtype=float)
    shift = np.asarray(data["mean_shift"], dtype=float)  # [T, E, S]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.5, 4.6), layout="constrained")
    colours = plt.get_cmap("viridis")(np.linspace(0.0, 0.9, len(taus)))
    for colour, tau, factors in zip(colours, taus, shift):
        mean, spread = np.nanmean(factors, axis=-1), np.nanstd(factors, axis=-1)
        left.plot(x, mean, "o-", color=colour, ms=3, lw=1.2, label=rf"measured, $\tau={tau:g}$")
        left.fill_between(x, mean - spread, mean + spread, color=colour, alpha=0.2, lw=0)
    fine = np.linspace(0.0, x.max(), 301)
    from theory import stability

    for colour, tau in zip(colours, taus):  # the derived law (theory.stability), limit m -> infinity
        left.plot(fine, stability.spread_mean_factor(fine * tau, params["k"], "infonce", tau), "-", color=colour,
                  lw=2.4, alpha=0.45, label=rf"derived, $\tau={tau:g}$")
    left.plot(fine, paper004_mean_factor(fine, 1.0), "k--", lw=1.6, label=r"paper 004: $(1-2\eta/\tau)^2$")
    left.plot(fine, np.abs(1 - 2 * fine), "k:", lw=1.4, label=r"$|1-2\eta/\tau|$ (004's factor read for $\|\mu\|^2$)")
    left.axvline(0.5, color="C3", lw=0.8, alpha=0.6)
    left.text(0.51, 0.62, r"004: optimal $\eta\approx\tau/2$", color="C3", fontsize=8, transform=left.get_xaxis_transform())
    left.set_ylim(0, 2.2)
    left.set_xlabel(r"learning rate over temperature $\eta/\tau$")
    left.set_ylabel(r"one-step mean factor $\|\mu^{(1)}\|/\|\mu^{(0)}\|$")
    left.set_title(f"One InfoNCE step from the sphere (k={params['k']})")
    left.legend(fontsize=7, loc="upper left", ncol=2)
    left.grid(True, alpha=0.3)

    fine_tau = np.geomspace(taus.min(), taus.max(), 100)
    right.plot(fine_tau, fine_tau / 2, color="C3", lw=1.4, label=r"paper 004: optimal $\eta=\tau/2$")
    right.plot(fine_tau, fine_tau, color="C1", lw=1.4, ls="--", label=r"004's factor returns to 1: $\eta=\tau$")
    right.plot(fine_tau, stability.eta_best(params["k"], "infonce", fine_tau), color="C2", lw=2.0, alpha=0.6,
               label=r"derived best: $\frac{\tau}{2}(1+e^{1/\tau}/(k-1))$")
    right.plot(fine_tau, stability.eta_max(params["k"], 0.0, "infonce", fine_tau), color="C4", lw=2.0, alpha=0.6, ls="--",
               label=r"derived edge: $\tau(e^{1/\tau}+k-1)/(k-2)$ (collapse never stable)")
    plot_thresholds(right, taus, data["thresholds"], label=f"largest non-collapsing $\\eta$ ({params['trials']} trials)")
    best = np.asarray(data["best_eta"], dtype=float)
    edge = np.asarray(data["best_eta_at_grid_edge"], dtype=bool)
    right.plot(taus[~edge], best[~edge], "s", color="C2", ms=5, label=r"measured: $\eta$ shrinking the mean most in one step")
    if edge.any():
        right.plot(taus[edge], best[edge], "s", color="C2", ms=5, mfc="none", label="(same, at the edge of the eta grid)")
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_ylim(min(taus.min() / 2, np.nanmin(best)) / 2, 3e4)  # headroom above eta=32 for the legend
    right.set_xlabel(r"temperature $\tau$")
    right.set_ylabel(r"learning rate $\eta$")
    right.set_title(f"InfoNCE: collapse threshold and best one-step $\\eta$ (k={params['k']})")
    right.legend(fontsize=7, loc="upper center")
    right.grid(True, which="both", alpha=0.3)
    add_caption(
        fig,
        f"Paper 004 (Section 3) statements beside measurements. Rule 'infonce' (gradient of InfoNCE over merged class "
        f"embeddings, positive = itself, through the normalisation, raw step), k={params['k']} embeddings in R^{params['m']} "
        f"uniform on the sphere. Left: {len(params['shift_seeds'])} seeds per point (band: +-1 std). Right: "
        f"{params['trials']} trials, {params['steps']} steps, {collapse_criterion()}, relative "
        f"tolerance {params['rtol']:g}.",
    )
    return fig


def main(out: Settings | str | os.PathLike, quick: bool = False, formats=("png", "pdf")) -> list[Path]:
    """Regenerate ``temperature.{png,pdf,json}`` in ``out`` (simulations cached by parameters).

    ``out``: the output folder, or a :class:`results.settings.Settings` that also names the result cache.

    Paper 004, Section 3 (temperature restatement of paper 001, Theorem 1).

    Example (runs the simulations; the test-suite runs it in quick mode):
        >>> [p.name for p in main("/tmp/figs", quick=True)]  # doctest: +SKIP
        ['temperature.png', 'temperature.pdf', 'temperature.json']
    """
    settings = Settings.of(out)
    return render(settings, NAME, parameters(quick), lambda p: compute(p, settings), draw, formats)
