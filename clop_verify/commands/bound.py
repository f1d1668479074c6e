"""``clop-verify bound``: the Theorem 1 learning-rate bound, derived and as printed, for given k."""
from __future__ import annotations

import json

from clop_verify.validation import integer, real

#: Largest k: every integer up to 2**53 is exact in float64, where the bound is evaluated.
MAX_K = 2**53

NAME = "bound"
HELP = "the Theorem 1 learning-rate bound eta_max(k, eps): derived, and as printed in the paper"
DESCRIPTION = (
    "Largest learning rate eta for which one step of Appendix D's update grows the class-embedding\n"
    "mean's norm by at most (1+eps): derived, (1-eta)^2 <= (1+eps)^2 (1 + eta^2/(k-1)), so\n"
    "eta_max(k, 0) = 2(k-1)/(k-2); printed (paper 001, Appendix D), (2k^3-5k^2+5k-2)/(k^3-3k^2+4k-2).\n"
    "'inf' means every eta >= 0 satisfies the condition ((1+eps)^2 >= k-1)."
)
EXAMPLE = "example:\n  clop-verify bound --k 3 10 30 --eps 0 0.1\n  clop-verify bound --k 30 --json"


def register(parser) -> None:
    parser.add_argument("--k", type=integer(3, MAX_K), nargs="+", required=True, metavar="K",
                        help="numbers of class embeddings (integers from 3 to 2**53)")
    parser.add_argument("--eps", type=real(0, allow_inf=True), nargs="+", default=[0.0], metavar="EPS",
                        help="tolerated relative growth of the mean's norm, >= 0, inf allowed (default: 0)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def bounds_table(ks, epss) -> list[dict]:
    """Rows ``{"k", "eps", "eta_max", "paper_eta_max"}`` for every (k, eps) pair.

    One broadcast call per calculator validates every input before any row exists.

    Example:
        >>> [round(r["eta_max"], 4) for r in bounds_table([3, 30], [0.0])]
        [4.0, 2.0714]
    """
    import numpy as np

    import theory

    derived = np.asarray(theory.eta_max(np.asarray(ks)[:, None], np.asarray(epss, dtype=float)[None, :]))
    printed = np.atleast_1d(theory.paper_eta_max(ks))
    return [
        {"k": int(k), "eps": float(e), "eta_max": float(derived[i, j]), "paper_eta_max": float(printed[i])}
        for i, k in enumerate(ks)
        for j, e in enumerate(epss)
    ]


def run(args) -> int:
    from results.io import to_jsonable

    rows = bounds_table(args.k, args.eps)
    if args.json:
        print(json.dumps({"bounds": to_jsonable(rows)}, indent=2))
        return 0
    print(f"{'k':>5} {'eps':>8} {'eta_max (derived)':>18} {'printed':>10}")
    for r in rows:
        print(f"{r['k']:>5} {r['eps']:>8g} {r['eta_max']:>18.6f} {r['paper_eta_max']:>10.6f}")
    return 0
