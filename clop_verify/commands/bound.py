"""``clop-verify bound``: the Theorem 1 learning-rate bound, derived and as printed, per update rule and k."""
from __future__ import annotations

import json

from clop_verify.errors import UsageError
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
    "'inf' means every eta >= 0 satisfies the condition ((1+eps)^2 >= k-1).\n"
    "--clop-lambda L adds CLOP's term L (1 - cos(x_i, c_i)) per class embedding (theory.clop): the critical\n"
    "lambda_c(eta, k) = [1/(4k(eta-1)^2) + (k-1)^3/(k(k-2)^2(eta-eta*)^2)]^(-1/2) / eta above eta* (0 below,\n"
    "and 0 for autodiff/infonce), its limit 2(k-2)/sqrt(4k^2-11k+8) as eta grows, and whether a\n"
    "near-collapsed state can persist at (--eta, L), or at some eta when --eta is not given."
)
EXAMPLE = ("example:\n  clop-verify bound --k 3 10 30 --eps 0 0.1\n  clop-verify bound --k 30 --json\n"
           "  clop-verify bound --rule infonce --tau 0.5 --k 10 30\n"
           "  clop-verify bound --k 3 10 30 --clop-lambda 1.0 --eta 6 --json")


def register(parser) -> None:
    parser.add_argument("--k", type=integer(3, MAX_K), nargs="+", required=True, metavar="K",
                        help="numbers of class embeddings (integers from 3 to 2**53)")
    parser.add_argument("--eps", type=real(0, allow_inf=True), nargs="+", default=[0.0], metavar="EPS",
                        help="tolerated relative growth of the mean's norm, >= 0, inf allowed (default: 0)")
    parser.add_argument("--rule", choices=RULES, default="paper",
                        help="update rule (default: paper, Appendix D's update)")
    parser.add_argument("--tau", type=real(0, low_open=True), default=None, metavar="T",
                        help="temperature, > 0; required by --rule infonce and only accepted there")
    parser.add_argument("--clop-lambda", type=real(0), default=None, metavar="L",
                        help="CLOP's weight per class embedding, >= 0: add the critical lambda and whether collapse "
                             "can persist (Eq. 4's sum with one labelled embedding per class; the released mean is k L)")
    parser.add_argument("--eta", type=real(0, low_open=True), default=None, metavar="ETA",
                        help="learning rate at which --clop-lambda is judged (> 0; default: every eta)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def clop_rows(ks, clop_lambda: float, rule: str = "paper", tau=None, eta=None) -> list[dict]:
    """Per k: CLOP's critical lambda and whether a near-collapsed state can persist (:mod:`theory.clop`).

    ``{"k", "clop_lambda", "eta", "lambda_critical", "lambda_for_every_eta", "collapse_persists_above_eta",
    "collapse_can_persist"}``; ``lambda_critical`` is at ``eta`` (None without it), and without ``eta``
    ``collapse_can_persist`` asks whether any learning rate keeps a near-collapsed state.

    Example:
        >>> r = clop_rows([3], 0.1, eta=6.0)[0]
        >>> round(r["lambda_critical"], 4), r["collapse_can_persist"], round(r["collapse_persists_above_eta"], 4)
        (0.2036, True, 4.7813)
        >>> clop_rows([3], 1.0)[0]["collapse_can_persist"]
        False
    """
    from theory import clop
    from theory.stability import clop_lambda_min

    rows = []
    for k in ks:
        paper = rule == "paper"
        critical = None if eta is None else clop_lambda_min(eta, k, rule, tau)
        every = clop.clop_lambda_limit(k) if paper else 0.0
        above = clop.clop_eta_min(clop_lambda, k) if paper else float("inf")
        persists = (clop_lambda < critical) if critical is not None else (clop_lambda < every)
        rows.append({"k": int(k), "clop_lambda": float(clop_lambda), "eta": eta, "lambda_critical": critical,
                     "lambda_for_every_eta": float(every), "collapse_persists_above_eta": float(above),
                     "collapse_can_persist": bool(persists)})
    return rows


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
    if args.eta is not None and args.clop_lambda is None:
        raise UsageError("--eta applies only with --clop-lambda (it is the learning rate CLOP's weight is judged at)")
    rows = bounds_table(args.k, args.eps, args.rule, args.tau)
    clop = None if args.clop_lambda is None else clop_rows(args.k, args.clop_lambda, args.rule, args.tau, args.eta)
    if args.json:
        print(json.dumps({"bounds": to_jsonable(rows)} | ({} if clop is None else {"clop": to_jsonable(clop)}),
                         indent=2))
        return 0
    if clop is not None:
        print_clop(clop)
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


def print_clop(rows) -> None:
    """The CLOP lines of ``clop-verify bound`` (before the bound table)."""
    print(f"CLOP lambda {rows[0]['clop_lambda']:g} per class embedding"
          + (f" at eta {rows[0]['eta']:g}" if rows[0]["eta"] is not None else " (every eta)"))
    print(f"{'k':>5} {'lambda_c(eta)':>14} {'lambda, all eta':>16} {'persists above eta':>19} {'can persist':>12}")
    for r in rows:
        crit = "-" if r["lambda_critical"] is None else f"{r['lambda_critical']:.6f}"
        print(f"{r['k']:>5} {crit:>14} {r['lambda_for_every_eta']:>16.6f} {r['collapse_persists_above_eta']:>19.6g} "
              f"{str(r['collapse_can_persist']):>12}")
