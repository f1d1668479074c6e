"""``clop-verify errata``: every printed Theorem 1 expression against the toolkit's derivation."""
from __future__ import annotations

import json

NAME = "errata"
HELP = "compare every expression printed for Theorem 1 with the sympy derivation"
DESCRIPTION = (
    "For each expression paper 001 prints in Theorem 1 and Appendix D (expected squared norm,\n"
    "mean-growth inequality, linear inequality, closed forms, the quoted 2.03), report whether it\n"
    "agrees with the derivation (simplify(printed - derived) == 0) and with the paper's own previous\n"
    "step, with the simplified difference and a numeric example at small k."
)
EXAMPLE = "example:\n  clop-verify errata\n  clop-verify errata --json"


def register(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a readable list")


def run(args) -> int:
    import theory

    entries = theory.errata()
    if args.json:
        print(json.dumps({"entries": entries}, indent=2))
        return 0
    for e in entries:
        mark = "ok " if e["status"] == "agrees" else "ERR"
        print(f"[{mark}] {e['quantity']} -- {e['location']}")
        print(f"      compared with: {e['compared_with']}")
        print(f"      printed:    {e['printed']}")
        print(f"      derived:    {e['derived']}")
        if e["status"] == "differs":
            ex = e["example"]
            print(f"      difference: {e['difference']}")
            print(f"      example:    k={ex['k']} ({ex['what']}): printed {ex['printed']:.6g}, derived {ex['derived']:.6g}")
        if e["note"]:
            print(f"      note:       {e['note']}")
    n_diff = sum(e["status"] == "differs" for e in entries)
    print(f"\n{len(entries)} comparisons: {len(entries) - n_diff} agree, {n_diff} differ")
    return 0
