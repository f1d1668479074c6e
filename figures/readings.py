"""Table 5 under every reading: CLOP's paired gain with its 95 % interval, per reading and loss.

One panel per loss of paper 001's Table 5; one row per reading the ``table5.*`` claim tries (the pilot
grid of :mod:`simulations.training.readings`, 5 seeds, lambda scale sum; the preregistered primary
reading with 20 seeds under both lambda scales, starred). Each row: the mean of the per-seed
differences (with CLOP minus without, same seeds) and its paired-t 95 % interval; green where the
gain is significant after Holm's correction (one-sided 5 %), grey where the reading is degenerate
(both arms at chance: failed training, not tried). The printed gain is the red line, the band
[g_p/2, 2 g_p] of :data:`claims.statistics.PAIRED_RULE` shaded. The rows are the claims' evidence
rows (:func:`claims.clop_claims.claim_table5`), so the figure and the verdicts rest on the same numbers;
data: the shared ``readings`` and ``confirmatory`` experiments (:mod:`results.experiments`).
"""
from __future__ import annotations

import os
from pathlib import Path

from figures.generate import add_caption
from results.settings import Settings

NAME = "readings"

#: The shared experiments this figure draws (:mod:`results.experiments`).
EXPERIMENTS = ("readings", "confirmatory")


def label(reading: dict) -> str:
    """Short text for a reading (``default`` for the empty one).

    Example:
        >>> label({}), label({"optimizer": "sgd", "learning_rate": 1.0})
        ('default', 'optimizer=sgd, learning_rate=1.0')
    """
    return ", ".join(f"{k}={v}" for k, v in reading.items()) or "default"


def row_style(row: dict) -> dict:
    """Colour and marker of a reading row: grey degenerate, green significant (Holm), orange exploratory, blue else;
    a star for the primary reading.

    Example:
        >>> row_style({"degenerate": True, "p_holm": None, "primary": False, "exploratory": False})["color"]
        '0.65'
        >>> row_style({"degenerate": False, "p_holm": 0.01, "primary": True, "exploratory": False})
        {'color': 'C2', 'marker': '*', 'ms': 10}
    """
    if row["degenerate"]:
        color = "0.65"
    elif row["p_holm"] is not None and row["p_holm"] < 0.05:
        color = "C2"
    else:
        color = "C1" if row["exploratory"] else "C0"
    return {"color": color, "marker": "*" if row["primary"] else "o", "ms": 10 if row["primary"] else 4}


def draw(data: dict, params: dict):
    """Four panels (one per loss): paired gain and 95 % interval per reading, printed gain and band."""
    import matplotlib.pyplot as plt

    claims = data["claims"]
    height = max(4.0, 0.2 * max(len(c["readings"]) for c in claims.values()) + 1.6)
    fig, axes = plt.subplots(1, len(claims), figsize=(4.6 * len(claims), height), layout="constrained")
    axes = [axes] if len(claims) == 1 else list(axes)
    for ax, (loss, ev) in zip(axes, claims.items()):
        rows = ev["readings"]
        ys = list(range(len(rows)))[::-1]
        for y, r in zip(ys, rows):
            style = row_style(r)
            lo, hi = r["ci95"]
            ax.errorbar(100 * r["paired_mean"], y, xerr=[[100 * (r["paired_mean"] - lo)], [100 * (hi - r["paired_mean"])]],
                        fmt=style["marker"], color=style["color"], ms=style["ms"], capsize=2, lw=1)
        g = ev["paper_gain"]
        ax.axvspan(100 * g / 2, 100 * 2 * g, color="red", alpha=0.08, lw=0)
        ax.axvline(100 * g, color="red", lw=1.5, label="printed gain (Table 5)")
        ax.axvline(0, color="0.5", lw=0.8, ls=":")
        ax.set_yticks(ys, [("* " if r["primary"] else "") + label(r["reading"]) for r in rows], fontsize=6)
        verdicts = ", ".join(f"{s}: {v}" for s, v in ev["verdict_by_scale"].items())
        ax.set_title(f"{loss} ({verdicts})", fontsize=9)
        ax.set_xlabel("gain of CLOP, accuracy points (paired 95% CI)")
        ax.grid(True, axis="x", alpha=0.3)
    axes[0].legend(fontsize=7, loc="lower right")
    add_caption(fig, (
        f"Synthetic 3-D data of paper 001 Section 4, 5-NN on the 90% unlabelled. Pilot readings {params['readings']['seeds']} "
        f"seeds (lambda scale sum); starred: the preregistered primary reading, {params['confirmatory']['seeds']} seeds, "
        "lambda scale sum (Eq. 4) and mean (released code). Green: significant after Holm (one-sided 5%); orange: "
        "exploratory (targeted search); grey: degenerate (both arms at chance), not tried. Red band: [g_p/2, 2 g_p]."))
    return fig


def main(out: Settings | str | os.PathLike, quick: bool = False, formats=("png", "pdf")) -> list[Path]:
    """Regenerate ``readings.{png,pdf,json}`` in ``out`` from the ``table5.*`` claims' evidence rows.

    ``out``: the output folder, or a :class:`results.settings.Settings` that also names the result cache.

    Example (runs the readings grid and the confirmatory runs; the test-suite runs it in quick mode):
        >>> [p.name for p in main("/tmp/figs", quick=True)]  # doctest: +SKIP
        ['readings.png', 'readings.pdf', 'readings.json']
    """
    from claims.clop_claims import claim_table5
    from figures import _common
    from results import experiments
    from simulations.training.synthetic import TABLE5_LOSSES

    settings = Settings.of(out)
    evidence = {loss: claim_table5(loss, quick, settings)["evidence"] for loss in TABLE5_LOSSES}
    keep = ("readings", "paper_gain", "verdict_by_scale", "primary_scale", "primary_by_scale", "preregistration_sha256")
    data = {"claims": {loss: {k: ev[k] for k in keep} for loss, ev in evidence.items()}}
    params = {name: experiments.parameters(name, quick) for name in EXPERIMENTS}
    return _common.save_figure(draw(data, params), settings.out_dir, NAME, data, params, tuple(formats),
                               depends_on=(__name__, "claims.clop_claims"))
