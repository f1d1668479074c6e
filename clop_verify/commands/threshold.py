"""``clop-verify threshold``: measured collapse threshold per k, next to Theorem 1's bound."""
from __future__ import annotations

import json

from clop_verify.validation import (
    MAX_SIZE, MAX_STEPS, MAX_TRIALS, RULES, check_memory, check_rule_tau, integer, output_folder, real, seed,
)

NAME = "threshold"
HELP = "largest learning rate at which no trial completely collapses, per k, next to the Theorem 1 bound"
DESCRIPTION = (
    "For each k, the largest eta for which none of --trials runs of the dynamics (k embeddings uniform\n"
    "on the sphere of R^m, --steps steps) ends completely collapsed (all embeddings equal: sigma_2 < 1e-3\n"
    "sigma_1 and |mean| > 1 - 1e-3; k = 2 never collapses, its runs end at the antipodal pair): bracketed\n"
    "from a neutral grid (powers of sqrt 2 from 1/4 to 32) and refined to relative width --rtol, and\n"
    "printed beside the derived bound of the rule that ran (eta_max(k) = 2(k-1)/(k-2) for --rule paper and\n"
    "autodiff, tau(e^(1/tau)+k-1)/(k-2) for --rule infonce, as clop-verify bound prints them) and the paper's\n"
    "printed closed form (for its own rule).\n"
    "--clop-lambda L > 0 adds CLOP's term per class embedding (prototypes drawn from each trial's key,\n"
    "k <= m): a trial then fails when a near-collapsed state persists (the mean's component outside the\n"
    "prototypes' span stays above 1e-3), every run is stepped to the end, and the derived edge\n"
    "theory.clop.clop_eta_min(L, k) is printed beside the measured one (paper rule; for autodiff and\n"
    "infonce the test also flags their large-step state, a common direction that is not a collapse)."
)
EXAMPLE = (
    "example:\n  clop-verify threshold --k 3 5 10 30 100 --m 100 --trials 5 --steps 2000\n"
    "  clop-verify threshold --k 10 --rule infonce --tau 0.5 --json\n"
    "  clop-verify threshold --k 3 10 --m 40 --clop-lambda 0.1 --trials 2"
)


def register(parser) -> None:
    parser.add_argument("--k", type=integer(2, MAX_SIZE), nargs="+", required=True, metavar="K",
                        help="numbers of class embeddings (>= 2)")
    parser.add_argument("--m", type=integer(1, MAX_SIZE), default=100, help="embedding dimension (>= 1; default 100)")
    parser.add_argument("--trials", type=integer(1, MAX_TRIALS), default=5,
                        help=f"runs per learning rate (1 to {MAX_TRIALS}; default 5)")
    parser.add_argument("--steps", type=integer(1, MAX_STEPS), default=2000, help="steps per run (>= 1; default 2000)")
    parser.add_argument("--rule", choices=RULES, default="paper", help="update rule (default paper)")
    parser.add_argument("--tau", type=real(0, low_open=True), default=None,
                        help="temperature, > 0; required by --rule infonce and only accepted there")
    parser.add_argument("--seed", type=seed, default=0, help="base seed in [0, 2**32); trial t uses fold_in(key(seed), t)")
    parser.add_argument("--rtol", type=real(0, 1, low_open=True, high_open=True), default=1e-3,
                        help="relative bracket width (0 < rtol < 1; default 1e-3)")
    parser.add_argument("--dtype", choices=("auto", "float64", "float32"), default="auto",
                        help="auto (default): float32 for --rule paper, whose searches found the float64 thresholds "
                             "at every k tested (3 to 1000) in half the memory traffic, float64 otherwise "
                             "(and with --clop-lambda, where that was not shown)")
    parser.add_argument("--clop-lambda", type=real(0), default=0.0, metavar="L",
                        help="CLOP's weight per class embedding, >= 0 (default 0: no prototype term)")
    parser.add_argument("--out", default=None, metavar="DIR", help="write DIR/threshold.json with metadata")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def search_dtype(args) -> str:
    """The dtype of the search: ``--dtype``, where ``auto`` is float32 for the paper rule, else float64.

    float32 is used only where it was shown to find the float64 threshold: rule ``paper``, k = 3, 10,
    30, 100, 300 and 1000 (identical evaluations; slow test ``test_float32_search_finds_the_float64_threshold``).
    """
    if args.dtype != "auto":
        return args.dtype
    return "float32" if args.rule == "paper" and not args.clop_lambda else "float64"  # shown without CLOP only


def check_size(args) -> None:
    """Refuse, before anything is allocated, a search whose batches would not fit in memory (exit 2)."""
    from simulations import REFINE_POINTS, simulation_memory

    runs = REFINE_POINTS * args.trials  # one batch: REFINE_POINTS learning rates x every trial
    for k in args.k:
        need = simulation_memory(k, args.m, runs, args.steps, None, search_dtype(args),
                                 **({"clop": True} if args.clop_lambda else {}))
        check_memory(need["total"], f"--k {k} x --m {args.m} embeddings for {REFINE_POINTS} learning rates x "
                     f"--trials {args.trials}", "lower --trials, --k or --m")


def run(args) -> int:
    check_rule_tau(args.rule, args.tau)
    out = None if args.out is None else output_folder(args.out)

    import theory
    from simulations import collapse_thresholds
    from theory import stability
    from results.io import run_metadata, save_json, to_jsonable

    check_size(args)
    results = collapse_thresholds(args.k, m=args.m, trials=args.trials, steps=args.steps, rule=args.rule,
                                  tau=args.tau, seed=args.seed, rtol=args.rtol, dtype=search_dtype(args),
                                  progress=True, **({"clop_lambda": args.clop_lambda} if args.clop_lambda else {}))
    rows = []
    for r in results:
        above_grid = r.bracket[1] == float("inf")
        row = {"k": r.k, "threshold": r.threshold, "bracket": list(r.bracket),
               # no learning rate of the grid made a trial collapse: the threshold is only a lower bound
               "nothing_collapsed_up_to": r.bracket[0] if above_grid else None,
               # the bound of the rule that ran (InfoNCE's depends on tau), as `bound --rule R --tau T` prints it
               "eta_max": stability.eta_max(r.k, rule=args.rule, tau_value=args.tau) if r.k > 2 else float("inf"),
               "paper_eta_max": theory.paper_eta_max(r.k) if r.k > 2 else None,
               "monotone": r.monotone, "passing_above": list(r.passing_above), "seconds": r.seconds,
               "element_steps": r.element_steps, "element_steps_per_second": r.rate}
        if args.clop_lambda:  # the derived edge above which a near-collapsed state persists (theory.clop)
            from theory.clop import clop_eta_min

            row["clop_eta_min"] = clop_eta_min(args.clop_lambda, r.k) if args.rule == "paper" else float("inf")
        rows.append(row)
    doc = {"rule": args.rule, "tau": args.tau, "m": args.m, "trials": args.trials, "steps": args.steps,
           "seed": args.seed, "rtol": args.rtol, "dtype": search_dtype(args), "results": rows}
    if args.clop_lambda:
        doc = {"clop_lambda": args.clop_lambda} | doc
    if out is not None:
        params = {k: v for k, v in doc.items() if k != "results"} | {"k": args.k}
        save_json(out / "threshold.json", {"metadata": run_metadata(params, dtype=search_dtype(args)), **doc,
                                           "evaluations": {r.k: [list(e) for e in r.evaluations] for r in results}})
    if args.json:
        print(json.dumps(to_jsonable(doc), indent=2))
        return 0
    print(f"{'k':>5} {'threshold':>10} {'bracket':>23} {'eta_max':>9} {'printed':>9} {'monotone':>8}")
    for row in rows:
        lo, hi = row["bracket"]
        printed = "-" if row["paper_eta_max"] is None else f"{row['paper_eta_max']:.4f}"
        threshold = f">={lo:.4f}" if row["nothing_collapsed_up_to"] is not None else f"{row['threshold']:.4f}"
        print(f"{row['k']:>5} {threshold:>10} [{lo:>9.4f}, {hi:>9.4f}] {row['eta_max']:>9.4f} "
              f"{printed:>9} {str(row['monotone']):>8}")
    for row in rows:
        if "clop_eta_min" in row:
            print(f"k={row['k']}: CLOP lambda {args.clop_lambda:g}: derived edge clop_eta_min = {row['clop_eta_min']:.4f}")
    for row in rows:
        if row["nothing_collapsed_up_to"] is not None:
            print(f"k={row['k']}: no trial collapsed at any learning rate up to {row['nothing_collapsed_up_to']:g}, "
                  "the end of the search grid; the threshold lies above it")
    return 0
