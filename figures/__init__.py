"""Regenerate the paper's figures: one small module per figure, each with ``main(out, quick=False)``.

:data:`FIGURES` lists the figure modules in the order ``clop-verify figures`` draws them. Each writes
``NAME.png``, ``NAME.pdf`` and ``NAME.json`` (plotted numbers + parameters + metadata).
"""

#: Every figure of the toolkit, in drawing order: paper 001 Figures 3 and 4 and the rule / temperature
#: sweeps, then the CLOP-loss figures.
FIGURES: tuple[str, ...] = (
    "fig3_spectra",
    "fig3_tightness",
    "fig4_rank",
    "rules_thresholds",
    "temperature",
    "bifurcation",
    "clop_phase",
    "fig5_embeddings",
    "lr_robustness",
    "digits",
    "nc_vs_dc",
    "readings",
    "network_lr",
)
