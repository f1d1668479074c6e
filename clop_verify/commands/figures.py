"""``clop-verify figures``: regenerate the paper's figures (PNG + PDF + the plotted numbers as JSON).

A thin wrapper around :func:`figures.generate.regenerate`: parse the names, output folder, quick mode,
cache switch and formats, validate them all before anything is written, and run each figure with a
progress line on stderr.
"""
from __future__ import annotations

NAME = "figures"
HELP = "regenerate the paper's figures (Figure 3, Figure 4 and the rule/temperature sweeps) as PNG + PDF + JSON"
DESCRIPTION = (
    "Regenerate the figures of paper 001: singular-value spectra of k=30 embeddings at eta=2.0 and 2.1 "
    "(Figure 3 left/middle), the largest non-collapsing learning rate against the Theorem 1 bound "
    "eta_max(k)=2(k-1)/(k-2) and the printed one (Figure 3 right), rank-(k-1) collapse from Gaussian "
    "embeddings (Figure 4), thresholds per update rule, and the InfoNCE temperature sweep against "
    "the (1-2 eta/tau)^2 statement of paper 004, and the CLOP-loss figures (Figure 5 embeddings, "
    "learning-rate robustness, digits). Simulation results are cached by their parameters "
    "in OUT/.cache, so a second run only redraws."
)
EXAMPLE = (
    "Examples:\n"
    "  clop-verify figures                      # all figures into figures/out/\n"
    "  clop-verify figures fig3_spectra --quick --out /tmp/figs --format png"
)


def register(parser) -> None:
    """Add the arguments of ``clop-verify figures``."""
    parser.add_argument(
        "names", nargs="*", metavar="NAME",
        help="figures to draw (default: all): fig3_spectra fig3_tightness fig4_rank rules_thresholds "
        "temperature fig5_embeddings lr_robustness digits",
    )
    parser.add_argument("--out", default="figures/out", help="output folder (default: figures/out)")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke test (well under a minute)")
    parser.add_argument("--no-cache", action="store_true", help="recompute every simulation instead of loading cached results")
    parser.add_argument(
        "--format", nargs="+", default=["png", "pdf"], metavar="FMT",
        help="image formats among png, pdf, svg (default: png pdf); NAME.json is always written",
    )


def run(args) -> int:
    """Validate everything, then regenerate; exit status 1 if a figure failed."""
    from figures import generate

    names = generate.check_names(args.names)
    formats = generate.check_formats(args.format)
    out_dir = generate.check_out_dir(args.out)
    results = generate.regenerate(names, out_dir, quick=args.quick, use_cache=not args.no_cache, formats=formats)
    return 0 if len(results) == len(names) else 1
