"""Regenerate the paper's figures: one small module per figure, each with ``main(out_dir, quick=False)``.

:data:`FIGURES` lists the figure modules in the order ``clop-verify figures`` draws them. Each writes
``NAME.png``, ``NAME.pdf`` and ``NAME.json`` (plotted numbers + parameters + metadata).
"""
FIGURES: tuple[str, ...] = ()
