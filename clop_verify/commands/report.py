"""``clop-verify report``: run every claim check and write report.md + report.json (or print the README table)."""
from __future__ import annotations

import argparse
from pathlib import Path

from clop_verify.validation import output_folder
from results.settings import default_out

#: Where the full report goes (committed; the README table is made from it) and where --quick writes,
#: inside the checkout (results.settings.default_out), whatever the current folder.
DEFAULT_OUT = "report"
QUICK_OUT = "report/quick"

NAME = "report"
HELP = "verify every claim of the paper and write report.md + report.json"
DESCRIPTION = (
    "Checks each numbered claim of the CLOP paper (Lemma 1 by jax.grad and the Hessian on the product of "
    "spheres, Theorem 1 against its sympy derivation and empirical collapse thresholds, Lemma 2 and "
    "Appendix E on random instances, Eq. (3)'s optima, Figure 3/4 by simulation) and gives each a "
    "verdict (confirmed / refuted / corrected / inconclusive) computed from the evidence. One progress "
    "line per claim on stderr."
)
EXAMPLE = (
    "Examples:\n"
    "  clop-verify report                      # full evidence, writes report/report.md and report.json\n"
    "  clop-verify report --quick              # small sizes, seconds, into report/quick/\n"
    "  clop-verify report --readme-table       # print the README findings table from report/report.json"
)


def register(parser: argparse.ArgumentParser) -> None:
    """Add the report command's arguments."""
    parser.add_argument("--out", default=None, metavar="DIR",
                        help=f"output folder (default: {DEFAULT_OUT} of the checkout, or {QUICK_OUT} with --quick, so that a quick "
                        "report never replaces the full one)")
    parser.add_argument("--quick", action="store_true",
                        help=f"small sizes (seconds), for tests; written to {QUICK_OUT} unless --out is given")
    parser.add_argument("--only", nargs="+", action="extend", metavar="ID",
                        help="run only these claim ids (repeatable: the lists add up)")
    parser.add_argument("--readme-table", action="store_true",
                        help="print the findings table of OUT/report.json (markdown) and exit; runs nothing")


def run(args: argparse.Namespace) -> int:
    """Validate, build the report, write it (or print the README table)."""
    out = Path(args.out or default_out(QUICK_OUT if args.quick else DEFAULT_OUT))
    if args.readme_table:
        path = out / "report.json"
        if not path.is_file():
            raise ValueError(f"--readme-table needs {path} (run clop-verify report --out {out} first); not found")
        from claims import findings_table

        print(findings_table(path))
        return 0
    out = output_folder(out)
    from claims import build_report, write_report

    report = build_report(quick=args.quick, out_dir=out, only=args.only)  # raises ValueError for unknown --only ids
    for path in write_report(report, out):
        print(path)
    s = report["summary"]
    print(", ".join(f"{s[v]} {v}" for v in s) + f" ({report['seconds']:.0f} s)")
    return 0
