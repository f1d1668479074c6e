"""``clop-verify report``: run every claim check and write report.md + report.json (or print the README table)."""
from __future__ import annotations

import argparse
from pathlib import Path

from clop_verify.errors import UsageError, user_input
from clop_verify.validation import output_folder
from results.settings import default_out

#: Where the full report goes (committed; the README table is made from it), where --quick writes, and
#: where a report of some claims (--only) goes by default (clop_verify.outputs); folders of the checkout
#: (results.settings.default_out), whatever the current folder.
DEFAULT_OUT = "report"
QUICK_OUT = "report/quick"
PARTIAL_OUT = "report/partial"

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
    "  clop-verify report --only lemma2        # one claim, full size, into report/partial/\n"
    "  clop-verify report --readme-table       # print the README findings table from report/report.json\n\n"
    f"Only the full command (every claim, no --quick) writes {DEFAULT_OUT}/ by default, and only from a checkout "
    "without uncommitted changes, so that the committed report carries a clean git revision."
)


def register(parser: argparse.ArgumentParser) -> None:
    """Add the report command's arguments."""
    parser.add_argument("--out", default=None, metavar="DIR",
                        help=f"output folder (default: {DEFAULT_OUT} of the checkout; {QUICK_OUT} with --quick, {PARTIAL_OUT} with "
                        "--only, so that a quick or partial report never replaces the full one)")
    parser.add_argument("--quick", action="store_true",
                        help=f"small sizes (seconds), for tests; written to {QUICK_OUT} unless --out is given")
    parser.add_argument("--only", nargs="+", metavar="ID",
                        help=f"run only these claim ids (each id once); written to "
                        f"{PARTIAL_OUT} unless --out is given")
    parser.add_argument("--readme-table", action="store_true",
                        help="print the findings table of OUT/report.json (markdown) and exit; runs nothing")


def read_report_json(path: Path) -> dict:
    """Read ``report.json`` for ``--readme-table``; anything that is not a report is one line (UsageError).

    A report is a JSON object whose ``claims`` is a list of objects, each with a string ``id`` and ``verdict``.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "report.json"
        >>> _ = p.write_text('{"claims": [{"id": "lemma2", "verdict": "confirmed"}]}')
        >>> read_report_json(p)["claims"][0]["id"]
        'lemma2'
        >>> _ = p.write_text('{"claim": []}')
        >>> read_report_json(p)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        clop_verify.errors.UsageError: --readme-table: .../report.json is not a clop-verify report: ...
    """
    import json

    what = f"--readme-table: {path} is not a clop-verify report"
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{what}: {type(exc).__name__}: {exc}") from None
    claims = report.get("claims") if isinstance(report, dict) else None
    if not isinstance(claims, list):
        raise UsageError(f"{what}: expected a JSON object with a list 'claims'")
    for i, entry in enumerate(claims):
        if not (isinstance(entry, dict) and isinstance(entry.get("id"), str) and isinstance(entry.get("verdict"), str)
                and isinstance(entry.get("evidence", {}), dict)):
            raise UsageError(f"{what}: claims[{i}] needs a string 'id' and 'verdict' (and an object 'evidence')")
    return report


def run(args: argparse.Namespace) -> int:
    """Validate, build the report, write it (or print the README table)."""
    from clop_verify.outputs import check_clean_for, default_folder

    if args.readme_table:
        out = Path(args.out or default_out(QUICK_OUT if args.quick else DEFAULT_OUT))
        path = out / "report.json"
        if not path.is_file():
            raise UsageError(f"--readme-table needs {path} (run clop-verify report --out {out} first); not found")
        from claims import findings_table

        print(findings_table(read_report_json(path)))
        return 0
    from claims import build_report, claim_ids, write_report

    if args.only is not None:
        known = claim_ids()
        unknown = [i for i in args.only if i not in known]
        if unknown:
            raise UsageError(f"--only must name claim ids among {', '.join(known)}; got {', '.join(unknown)}")
    partial = args.only is not None and set(args.only) != set(claim_ids())
    out = output_folder(args.out or default_out(default_folder(DEFAULT_OUT, quick=args.quick, partial=partial)))
    check_clean_for(out)
    report = build_report(quick=args.quick, out_dir=out, only=args.only)
    for path in write_report(report, out):
        print(path)
    s = report["summary"]
    print(", ".join(f"{s[v]} {v}" for v in s) + f" ({report['seconds']:.0f} s)")
    return 0
