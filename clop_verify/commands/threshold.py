"""``clop-verify threshold``: measured collapse threshold per k, next to Theorem 1's bound."""
from __future__ import annotations

import json

NAME = "threshold"
HELP = "largest learning rate at which no trial completely collapses, per k, next to the Theorem 1 bound"
DESCRIPTION = (
    "For each k, the largest eta for which none of --trials runs of the dynamics (k embeddings uniform\n"
    "on the sphere of R^m, --steps steps) ends completely collapsed (sigma_2 < 1e-3 sigma_1): bracketed\n"
    "from a neutral grid (powers of sqrt 2 from 1/4 to 32) and refined to relative width --rtol, and\n"
    "printed beside eta_max(k) = 2(k-1)/(k-2) (derived) and the paper's printed closed form."
)
EXAMPLE = (
    "example:\n  clop-verify threshold --k 3 5 10 30 100 --m 100 --trials 5 --steps 2000\n"
    "  clop-verify threshold --k 10 --rule infonce --tau 0.5 --json"
)


def register(parser) -> None:
    parser.add_argument("--k", type=int, nargs="+", required=True, metavar="K", help="numbers of class embeddings (>= 2)")
    parser.add_argument("--m", type=int, default=100, help="embedding dimension (>= 1; default 100)")
    parser.add_argument("--trials", type=int, default=5, help="runs per learning rate (>= 1; default 5)")
    parser.add_argument("--steps", type=int, default=2000, help="steps per run (>= 1; default 2000)")
    parser.add_argument("--rule", default="paper", help="update rule: paper, autodiff or infonce (default paper)")
    parser.add_argument("--tau", type=float, default=None, help="temperature for --rule infonce (> 0)")
    parser.add_argument("--seed", type=int, default=0, help="base seed; trial t uses fold_in(key(seed), t)")
    parser.add_argument("--rtol", type=float, default=1e-3, help="relative bracket width (0 < rtol < 1; default 1e-3)")
    parser.add_argument("--out", default=None, metavar="DIR", help="write DIR/threshold.json with metadata")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args) -> int:
    import theory
    from clop_verify.commands.simulate import check_out_dir
    from results.io import run_metadata, save_json, to_jsonable
    from simulations.collapse.runner import check_simulation_args
    from simulations.collapse.threshold import _check_search_args, collapse_thresholds

    if not args.k:
        raise ValueError("k must be a non-empty list of integers >= 2; got []")
    for k in args.k:
        check_simulation_args(k, [1.0], args.m, [0], args.steps, None, args.rule, args.tau, "float64", "sphere")
    _check_search_args(args.trials, args.seed, args.rtol)
    out = check_out_dir(args.out)
    results = collapse_thresholds(args.k, m=args.m, trials=args.trials, steps=args.steps, rule=args.rule,
                                  tau=args.tau, seed=args.seed, rtol=args.rtol)
    rows = []
    for r in results:
        row = {"k": r.k, "threshold": r.threshold, "bracket": list(r.bracket),
               "eta_max": theory.eta_max(r.k) if r.k > 2 else float("inf"),
               "paper_eta_max": theory.paper_eta_max(r.k) if r.k > 2 else None,
               "monotone": r.monotone, "passing_above": list(r.passing_above), "seconds": r.seconds}
        rows.append(row)
    doc = {"rule": args.rule, "tau": args.tau, "m": args.m, "trials": args.trials, "steps": args.steps,
           "seed": args.seed, "rtol": args.rtol, "results": rows}
    if out is not None:
        params = {k: v for k, v in doc.items() if k != "results"} | {"k": args.k}
        save_json(out / "threshold.json", {"metadata": run_metadata(params, dtype="float64"), **doc,
                                           "evaluations": {r.k: [list(e) for e in r.evaluations] for r in results}})
    if args.json:
        print(json.dumps(to_jsonable(doc), indent=2))
        return 0
    print(f"{'k':>5} {'threshold':>10} {'bracket':>23} {'eta_max':>9} {'printed':>9} {'monotone':>8}")
    for row in rows:
        lo, hi = row["bracket"]
        printed = "-" if row["paper_eta_max"] is None else f"{row['paper_eta_max']:.4f}"
        print(f"{row['k']:>5} {row['threshold']:>10.4f} [{lo:>9.4f}, {hi:>9.4f}] {row['eta_max']:>9.4f} "
              f"{printed:>9} {str(row['monotone']):>8}")
    return 0
