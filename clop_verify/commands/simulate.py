"""``clop-verify simulate``: run the class-embedding dynamics for a grid of learning rates and seeds."""
from __future__ import annotations

import json
from pathlib import Path

NAME = "simulate"
HELP = "simulate k class embeddings under gradient descent on cosine similarity and report collapse"
DESCRIPTION = (
    "Runs x_i <- normalise(x_i - eta * mean_{j!=i} x_j) (rule 'paper', Appendix D of paper 001; or\n"
    "jax.grad of the mean cosine similarity ('autodiff'), or InfoNCE with temperature tau ('infonce'))\n"
    "from k embeddings uniform on the unit sphere of R^m, for every learning rate and seed, and reports\n"
    "complete collapse (sigma_2 < 1e-3 sigma_1), the final singular values, the mean's norm and the\n"
    "pairwise cosines. Non-finite runs are reported with finite=false and never as collapsed."
)
EXAMPLE = (
    "example:\n  clop-verify simulate --k 30 --lr 2.0 2.1 --seeds 0 1 2 --steps 1000\n"
    "  clop-verify simulate --k 30 --lr 2.0 --record-every 10 --out runs/k30 --json"
)


def register(parser) -> None:
    parser.add_argument("--k", type=int, required=True, help="number of class embeddings (>= 2)")
    parser.add_argument("--m", type=int, default=100, help="embedding dimension (>= 1; default 100)")
    parser.add_argument("--lr", type=float, nargs="+", required=True, metavar="ETA",
                        help="learning rates (finite, > 0)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], metavar="SEED",
                        help="seeds, one run each (integers in [0, 2**32); default 0)")
    parser.add_argument("--steps", type=int, default=1000, help="gradient steps (>= 1; default 1000)")
    parser.add_argument("--record-every", type=int, default=None, metavar="N",
                        help="record spectra every N steps (default: final state only)")
    parser.add_argument("--rule", default="paper", help="update rule: paper, autodiff or infonce (default paper)")
    parser.add_argument("--tau", type=float, default=None, help="temperature for --rule infonce (> 0)")
    parser.add_argument("--dtype", default="float64", help="float64 (default) or float32")
    parser.add_argument("--init", default="sphere", help="sphere (default) or gaussian")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="write DIR/simulation.npz (arrays) and DIR/simulation.json (metadata)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def check_out_dir(out) -> Path | None:
    """Validate an output folder argument: None, or a path that is not an existing file."""
    if out is None:
        return None
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ValueError(f"--out must be a folder (it may not exist yet); got existing file {out!r}")
    return path


def run_summaries(result) -> list[dict]:
    """One JSON-ready dict per (lr, seed) run of a :class:`simulations.SimulationResult`."""
    import numpy as np

    from simulations import metrics

    cosines = np.asarray(metrics.pairwise_cosines(result.final))
    runs = []
    for i, lr in enumerate(result.lrs):
        for j, seed in enumerate(result.seeds):
            c = cosines[i, j]
            runs.append({
                "lr": float(lr), "seed": int(seed), "collapsed": bool(result.collapsed[i, j]),
                "finite": bool(result.finite[i, j]),
                "final_singular_values": result.spectra[i, j, -1].tolist(),
                "final_mean_norm": float(result.mean_norm[i, j, -1]),
                "pairwise_cosine": {"mean": float(np.mean(c)) if c.size else None,
                                    "std": float(np.std(c)) if c.size else None},
            })
    return runs


def run(args) -> int:
    import simulations
    from results.io import run_metadata, save_json, save_npz, to_jsonable
    from simulations.collapse.runner import check_simulation_args

    try:
        check_simulation_args(args.k, args.lr, args.m, args.seeds, args.steps, args.record_every, args.rule,
                              args.tau, args.dtype, args.init)
    except ValueError as exc:  # name the flag the user typed, not the library's argument
        message = str(exc)
        for argument, flag in (("lrs", "--lr"), ("record_every", "--record-every")):
            if message.startswith(f"{argument} "):
                message = flag + message[len(argument):]
        raise ValueError(message) from None
    out = check_out_dir(args.out)
    result = simulations.simulate(
        args.k, args.lr, m=args.m, seeds=tuple(args.seeds), steps=args.steps, rule=args.rule, tau=args.tau,
        record_every=args.record_every, dtype=args.dtype, init=args.init,
    )
    runs = run_summaries(result)
    if out is not None:
        save_npz(out / "simulation.npz", spectra=result.spectra, mean_norm=result.mean_norm,
                 collapsed=result.collapsed, finite=result.finite, final=result.final,
                 record_steps=result.record_steps, lrs=result.lrs, seeds=result.seeds)
        save_json(out / "simulation.json", {"metadata": run_metadata(result.parameters(), dtype=args.dtype),
                                            "runs": runs})
    if args.json:
        print(json.dumps(to_jsonable({"runs": runs}), indent=2))
        return 0
    print(f"{'lr':>10} {'seed':>6} {'collapsed':>9} {'finite':>6} {'s2/s1':>10} {'|mean|':>10}")
    for r in runs:
        s = r["final_singular_values"]
        ratio = s[1] / s[0] if len(s) > 1 and s[0] else float("nan")
        print(f"{r['lr']:>10.6g} {r['seed']:>6} {str(r['collapsed']):>9} {str(r['finite']):>6} "
              f"{ratio:>10.3e} {r['final_mean_norm']:>10.4g}")
    return 0
