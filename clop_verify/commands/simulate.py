"""``clop-verify simulate``: run the class-embedding dynamics for a grid of learning rates and seeds."""
from __future__ import annotations

import json
import sys
import time

from clop_verify.errors import UsageError, user_input
from clop_verify.validation import (
    DTYPES, INITS, MAX_SIZE, MAX_STEPS, RULES, check_float32_range, check_memory, check_rule_tau, check_tau, integer,
    output_folder, real, seed,
)

NAME = "simulate"
HELP = "simulate k class embeddings under gradient descent on cosine similarity and report collapse"
DESCRIPTION = (
    "Runs x_i <- normalise(x_i - eta * mean_{j!=i} x_j) (rule 'paper', Appendix D of paper 001; or\n"
    "jax.grad of the mean cosine similarity ('autodiff'), or InfoNCE with temperature tau ('infonce'))\n"
    "from k embeddings uniform on the unit sphere of R^m, for every learning rate and seed, and reports\n"
    "complete collapse (sigma_2 < 1e-3 sigma_1), the final singular values, the mean's norm and the\n"
    "pairwise cosines. A run that became non-finite is reported as non-finite (JSON: finite=false,\n"
    "collapsed=null), never as collapsed or not collapsed. --clop-lambda L > 0 adds CLOP's term\n"
    "L (1 - cos(x_i, c_i)) per class embedding (orthonormal prototypes c_i drawn from each seed, k <= m);\n"
    "'collapsed' then means that a near-collapsed state persists: the mean's component outside the\n"
    "prototypes' span stays above 1e-3 (theory.clop derives where: bound --clop-lambda)."
)
EXAMPLE = (
    "example:\n  clop-verify simulate --k 30 --lr 2.0 2.1 --seeds 0 1 2 --steps 1000\n"
    "  clop-verify simulate --k 30 --lr 2.0 --record-every 10 --out runs/k30 --json\n"
    "  clop-verify simulate --k 10 --lr 4.5 --clop-lambda 0.5 --m 40"
)


def register(parser) -> None:
    parser.add_argument("--k", type=integer(2, MAX_SIZE), required=True, help="number of class embeddings (>= 2)")
    parser.add_argument("--m", type=integer(1, MAX_SIZE), default=100, help="embedding dimension (>= 1; default 100)")
    parser.add_argument("--lr", type=real(0, low_open=True), nargs="+", required=True, metavar="ETA",
                        help="learning rates (finite, > 0)")
    parser.add_argument("--seeds", type=seed, nargs="+", default=[0], metavar="SEED",
                        help="seeds, one run each (integers in [0, 2**32); default 0)")
    parser.add_argument("--steps", type=integer(1, MAX_STEPS), default=1000, help="gradient steps (>= 1; default 1000)")
    parser.add_argument("--record-every", type=integer(1, MAX_STEPS), default=None, metavar="N",
                        help="record spectra every N steps, N <= --steps (default: final state only)")
    parser.add_argument("--rule", choices=RULES, default="paper", help="update rule (default paper)")
    parser.add_argument("--tau", type=real(0, low_open=True), default=None,
                        help="temperature, > 0; required by --rule infonce and only accepted there")
    parser.add_argument("--dtype", choices=DTYPES, default="float64", help="float precision (default float64)")
    parser.add_argument("--init", choices=INITS, default="sphere", help="initial embeddings (default sphere)")
    parser.add_argument("--clop-lambda", type=real(0), default=0.0, metavar="L",
                        help="CLOP's weight per class embedding, >= 0 (default 0: no prototype term)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="write DIR/simulation.npz (arrays) and DIR/simulation.json (metadata)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run_summaries(result) -> list[dict]:
    """One JSON-ready dict per (lr, seed) run of a :class:`simulations.SimulationResult`
    (``collapsed`` is None for a run that became non-finite)."""
    import numpy as np

    from simulations import metrics

    cosines = np.asarray(metrics.pairwise_cosines(result.final))
    outside = None
    if result.clop_lambda:
        from simulations.collapse.from_state import outside_prototypes

        outside = outside_prototypes(result.final, result.prototypes)
    runs = []
    for i, lr in enumerate(result.lrs):
        for j, seed in enumerate(result.seeds):
            c = cosines[i, j]
            runs.append({
                "lr": float(lr), "seed": int(seed), "finite": bool(result.finite[i, j]),
                # a non-finite run is neither collapsed nor not collapsed
                "collapsed": bool(result.collapsed[i, j]) if result.finite[i, j] else None,
                "final_singular_values": result.spectra[i, j, -1].tolist(),
                "final_mean_norm": float(result.mean_norm[i, j, -1]),
                "pairwise_cosine": {"mean": float(np.mean(c)) if c.size else None,
                                    "std": float(np.std(c)) if c.size else None},
            })
            if outside is not None:  # CLOP: the quantity 'collapsed' is judged on (theory.clop's gamma)
                runs[-1] |= {"clop_lambda": result.clop_lambda, "outside_prototypes": float(outside[i, j])}
    return runs


def check_size(args) -> None:
    """Refuse, before anything is allocated, a run whose arrays would not fit in memory (exit 2)."""
    from simulations import simulation_memory

    runs = len(args.lr) * len(args.seeds)
    need = simulation_memory(args.k, args.m, runs, args.steps, args.record_every, args.dtype,
                             **({"clop": True} if args.clop_lambda else {}))
    many = f" for {runs} runs (--lr x --seeds)" if runs > 1 else ""
    if need["records"] >= need["embeddings"]:
        what = (f"--steps {args.steps} / --record-every {args.record_every}: {need['n_records']} records of "
                f"{min(args.k, args.m) + 1} numbers per run{many}")
        remedy = "raise --record-every or lower --steps"
    else:
        what = f"--k {args.k} x --m {args.m} embeddings{many}"
        remedy = "lower --k or --m" + (", or run fewer --lr/--seeds at a time" if runs > 1 else "")
    check_memory(need["total"], what, remedy)


def run(args) -> int:
    check_rule_tau(args.rule, args.tau)
    if args.record_every is not None and args.record_every > args.steps:
        raise UsageError(f"--record-every must be at most --steps ({args.steps}); got {args.record_every}")
    if args.clop_lambda and args.k > args.m:
        raise UsageError(f"--clop-lambda > 0 needs --k <= --m (k orthonormal prototypes in R^m); got --k {args.k}, "
                         f"--m {args.m}")
    check_float32_range("--lr", args.lr, args.dtype)
    check_float32_range("--tau", [args.tau or 0.0], args.dtype)
    check_tau(args.tau, dtype=args.dtype)
    out = None if args.out is None else output_folder(args.out)

    import simulations
    from results.io import atomic_set, run_metadata, save_json, save_npz, to_jsonable

    check_size(args)
    n_runs, start = len(args.lr) * len(args.seeds), time.perf_counter()
    # one compiled call: a line before and after it, so that a log shows what is running
    print(f"simulate: {n_runs} run{'s' if n_runs > 1 else ''} of {args.steps} steps (k={args.k}, m={args.m}, "
          f"rule {args.rule}) ...", file=sys.stderr, flush=True)
    result = simulations.simulate(
        args.k, args.lr, m=args.m, seeds=tuple(args.seeds), steps=args.steps, rule=args.rule, tau=args.tau,
        record_every=args.record_every, dtype=args.dtype, init=args.init,
        **({"clop_lambda": args.clop_lambda} if args.clop_lambda else {}),
    )
    print(f"simulate: done in {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    runs = run_summaries(result)
    if out is not None:
        with atomic_set(out) as stage:  # both files or neither
            save_npz(stage("simulation.npz"), spectra=result.spectra, mean_norm=result.mean_norm,
                     collapsed=result.collapsed, finite=result.finite, final=result.final,
                     record_steps=result.record_steps, lrs=result.lrs, seeds=result.seeds,
                     **({} if result.prototypes is None else {"prototypes": result.prototypes}))
            save_json(stage("simulation.json"), {"metadata": run_metadata(result.parameters(), dtype=args.dtype),
                                                 "runs": runs})
    if args.json:
        print(json.dumps(to_jsonable({"runs": runs}), indent=2))
        return 0
    print(f"{'lr':>10} {'seed':>6} {'outcome':>13} {'s2/s1':>10} {'|mean|':>10}")
    for r in runs:
        s = r["final_singular_values"]
        ratio = s[1] / s[0] if len(s) > 1 and s[0] else float("nan")
        print(f"{r['lr']:>10.6g} {r['seed']:>6} {outcome(r):>13} {ratio:>10.3e} {r['final_mean_norm']:>10.4g}")
    return 0


def outcome(run: dict) -> str:
    """``collapsed``, ``not collapsed`` or ``non-finite`` (a non-finite run is counted as neither).

    Example:
        >>> outcome({"finite": False, "collapsed": None}), outcome({"finite": True, "collapsed": True})
        ('non-finite', 'collapsed')
    """
    if not run["finite"]:
        return "non-finite"
    if run.get("clop_lambda"):  # CLOP: a near-collapsed state persists, or the embeddings escaped
        return "near-collapsed" if run["collapsed"] else "escaped"
    return "collapsed" if run["collapsed"] else "not collapsed"
