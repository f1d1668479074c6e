"""``clop-verify bound``: the Theorem 1 learning-rate bound, derived and as printed, per update rule and k."""
from __future__ import annotations

import json

from clop_verify.validation import RULES, check_rule_tau, integer, real

#: Largest k: every integer up to 2**53 is exact in float64, where the bound is evaluated.
MAX_K = 2**53

NAME = "bound"
HELP = "the Theorem 1 learning-rate bound eta_max(k, eps) per update rule: derived, and as printed in the paper"
DESCRIPTION = (
    "Largest learning rate eta for which one step from the spread state (k embeddings uniform on the\n"
    "sphere, limit m -> infinity) grows the class-embedding mean's norm by at most (1+eps). For\n"
    "--rule paper (Appendix D's update): (1-eta)^2 <= (1+eps)^2 (1 + eta^2/(k-1)), so eta_max(k, 0) =\n"
    "2(k-1)/(k-2); printed (paper 001, Appendix D), (2k^3-5k^2+5k-2)/(k^3-3k^2+4k-2). --rule autodiff\n"
    "(gradient through the normalisation) has the same eta_max; --rule infonce --tau T rescales it by\n"
    "tau (e^(1/tau)+k-1)/(2(k-1)). Also given (theory.stability): eta_best, the eta minimising the\n"
    "one-step mean factor, and collapse_stable_above, the eta above which complete collapse is linearly\n"
    "stable (paper: 2(k-1)/(k-2), the same edge; autodiff, infonce: none, they never collapse).\n"
    "'inf' means every eta >= 0 satisfies the condition ((1+eps)^2 >= k-1)."
)
EXAMPLE = ("example:\n  clop-verify bound --k 3 10 30 --eps 0 0.1\n  clop-verify bound --k 30 --json\n"
           "  clop-verify bound --rule infonce --tau 0.5 --k 10 30")


def register(parser) -> None:
    parser.add_argument("--k", type=integer(3, MAX_K), nargs="+", required=True, metavar="K",
                        help="numbers of class embeddings (integers from 3 to 2**53)")
    parser.add_argument("--eps", type=real(0, allow_inf=True), nargs="+", default=[0.0], metavar="EPS",
                        help="tolerated relative growth of the mean's norm, >= 0, inf allowed (default: 0)")
    parser.add_argument("--rule", choices=RULES, default="paper",
                        help="update rule (default: paper, Appendix D's update)")
    parser.add_argument("--tau", type=real(0, low_open=True), default=None, metavar="T",
                        help="temperature, > 0; required by --rule infonce and only accepted there")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def bounds_table(ks, epss, rule: str = "paper", tau=None) -> list[dict]:
    """Rows ``{"k", "eps", "eta_max", "paper_eta_max", "rule", "tau", "eta_best", "collapse_stable_above", "limit"}``.

    One broadcast call per calculator validates every input before any row exists. ``paper_eta_max``
    is the printed closed form (for the paper's rule, whatever ``rule`` is); ``collapse_stable_above``
    is None where no learning rate makes complete collapse linearly stable.

    Example:
        >>> [round(r["eta_max"], 4) for r in bounds_table([3, 30], [0.0])]
        [4.0, 2.0714]
        >>> r = bounds_table([30], [0.0], "infonce", 1.0)[0]
        >>> round(r["eta_best"], 4), r["collapse_stable_above"]
        (0.5469, None)
    """
    import numpy as np

    import theory
    from theory import stability

    stability.check_rule_tau(rule, tau)
    k_arr = np.asarray(ks)
    derived = np.asarray(stability.eta_max(k_arr[:, None], np.asarray(epss, dtype=float)[None, :], rule, tau))
    printed = np.atleast_1d(theory.paper_eta_max(ks))
    best = np.atleast_1d(stability.eta_best(ks, rule, tau))
    stable = stability.collapse_stable_above(ks, rule, tau)
    stable = [None] * len(ks) if stable is None else np.atleast_1d(stable).tolist()
    return [
        {"k": int(k), "eps": float(e), "eta_max": float(derived[i, j]), "paper_eta_max": float(printed[i]),
         "rule": rule, "tau": None if tau is None else float(tau), "eta_best": float(best[i]),
         "collapse_stable_above": None if stable[i] is None else float(stable[i]), "limit": stability.LIMITS[rule]}
        for i, k in enumerate(ks)
        for j, e in enumerate(epss)
    ]


def run(args) -> int:
    from results.io import to_jsonable

    check_rule_tau(args.rule, args.tau)
    rows = bounds_table(args.k, args.eps, args.rule, args.tau)
    if args.json:
        print(json.dumps({"bounds": to_jsonable(rows)}, indent=2))
        return 0
    if args.rule == "paper":  # today's table, unchanged
        print(f"{'k':>5} {'eps':>8} {'eta_max (derived)':>18} {'printed':>10}")
        for r in rows:
            print(f"{r['k']:>5} {r['eps']:>8g} {r['eta_max']:>18.6f} {r['paper_eta_max']:>10.6f}")
        return 0
    print(f"rule {args.rule}" + (f", tau {args.tau:g}" if args.tau is not None else "") + f" ({rows[0]['limit']})")
    print(f"{'k':>5} {'eps':>8} {'eta_max':>12} {'eta_best':>12} {'collapse stable above':>22}")
    for r in rows:
        stable = "none" if r["collapse_stable_above"] is None else f"{r['collapse_stable_above']:.6f}"
        print(f"{r['k']:>5} {r['eps']:>8g} {r['eta_max']:>12.6f} {r['eta_best']:>12.6f} {stable:>22}")
    return 0
