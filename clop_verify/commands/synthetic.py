"""``clop-verify synthetic``: the synthetic 3-D experiment of paper 001 (Table 5), its ablations and the learning-rate sweep."""
from __future__ import annotations

import json

NAME = "synthetic"
HELP = "CLOP on synthetic 3-D data: KNN accuracy and effective rank per loss, with and without CLOP (Table 5)"
DESCRIPTION = (
    "Train a 3-layer BN-ReLU network SimCLR-style on 500 points in R^3 lying on three lines through the\n"
    "origin (noise variance 0.05; views: random sign flip + noise), with loss L_CL or\n"
    "L_CL + lambda * sum_{labelled i} (1 - s(z_i, c_{y_i})) (CLOP, paper 001 Eq. 4), and report the\n"
    "5-NN accuracy (fitted on the labelled 10%, tested on the other 90%) and the effective rank of the\n"
    "normalised outputs over seeds, beside the numbers printed in Table 5. --experiment lr sweeps the\n"
    "learning rate; --experiment ablation varies prototypes, lambda and similarity."
)
EXAMPLE = (
    "examples:\n"
    "  clop-verify synthetic                                  # Table 5: 4 losses x CLOP off/on x 10 seeds\n"
    "  clop-verify synthetic --loss infonce --clop on --seeds 3 --json\n"
    "  clop-verify synthetic --experiment lr --optimizer sgd --lr 0.001 0.1 10 --seeds 5"
)

EXPERIMENTS = ("table", "lr", "ablation")


def register(parser) -> None:
    parser.add_argument("--experiment", default="table", metavar="NAME",
                        help="table (default), lr (learning-rate sweep) or ablation (prototypes, lambda, similarity)")
    parser.add_argument("--loss", nargs="+", default=None, metavar="LOSS",
                        help="losses among infonce dcl vicreg barlow_twins supcon (default: the four of Table 5; "
                        "infonce for lr/ablation)")
    parser.add_argument("--clop", nargs="+", default=["off", "on"], metavar="on|off",
                        help="run without (off) and/or with (on) the CLOP term (default: off on)")
    parser.add_argument("--seeds", type=int, default=10, help="trials per setting, >= 1 (default: 10)")
    parser.add_argument("--prototypes", default="orthonormal", help="orthonormal (default), etf or random")
    parser.add_argument("--lambda", dest="lam", type=float, default=1.0, help="CLOP weight lambda > 0 (default: 1)")
    parser.add_argument("--similarity", default="cosine", help="CLOP similarity: cosine (default), euclidean, manhattan")
    parser.add_argument("--lr", type=float, nargs="+", default=None, metavar="LR",
                        help="learning rate(s) > 0 (default: 0.01 for the table; 9 values from 1e-3 to 10 for lr)")
    parser.add_argument("--optimizer", default=None, help="adam or sgd (default: adam; sgd for --experiment lr)")
    parser.add_argument("--steps", type=int, default=None, help="optimiser steps, >= 1 (default: 300)")
    parser.add_argument("--directions", default="orthonormal",
                        help="class lines: orthonormal (default: a random orthonormal frame per seed) or random (uniform)")
    parser.add_argument("--positions", default="sign",
                        help="position on the line: sign (default: t = +-1) or uniform (t ~ U(-1, 1))")
    parser.add_argument("--out", default=None, metavar="DIR", help="also write DIR/synthetic_<experiment>.json with metadata")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def parse_clop(values) -> tuple[bool, ...]:
    """``["off", "on"]`` -> ``(False, True)``; raises ValueError on anything else."""
    mapping = {"on": True, "off": False}
    bad = [v for v in values if v not in mapping]
    if bad or not values:
        raise ValueError(f"--clop must be on and/or off; got {' '.join(values) or 'nothing'}")
    return tuple(dict.fromkeys(mapping[v] for v in values))


def check_common(args, choices_loss) -> None:
    """Validate the arguments shared by ``synthetic`` and ``digits`` (raises ValueError)."""
    from simulations.training import PROTOTYPES

    if args.seeds < 1:
        raise ValueError(f"--seeds must be >= 1; got {args.seeds}")
    if args.loss is not None:
        bad = [v for v in args.loss if v not in choices_loss]
        if bad:
            raise ValueError(f"--loss must be among {' '.join(choices_loss)}; got {' '.join(bad)}")
    if args.prototypes not in PROTOTYPES:
        raise ValueError(f"--prototypes must be one of {', '.join(PROTOTYPES)}; got {args.prototypes!r}")
    if not args.lam > 0:
        raise ValueError(f"--lambda must be > 0; got {args.lam}")
    if args.steps is not None and args.steps < 1:
        raise ValueError(f"--steps must be >= 1; got {args.steps}")
    if args.lr is not None and not all(v > 0 for v in args.lr):
        raise ValueError(f"--lr must be > 0; got {' '.join(map(str, args.lr))}")


def print_rows(rows, extra_cols=()) -> None:
    """Print result rows as an aligned table."""
    head = f"{'loss':<13} {'clop':<5} {'prototypes':<12} {'lambda':>6} {'similarity':<10}"
    for name, _ in extra_cols:
        head += f" {name:>10}"
    head += f" {'accuracy (mean +- std)':>24} {'eff. rank':>9} {'seeds':>5}"
    print(head)
    for r in rows:
        line = (f"{r['loss']:<13} {('on' if r['clop'] else 'off'):<5} {str(r['prototypes'] or '-'):<12} "
                f"{r['lambda']:>6g} {str(r['similarity'] or '-'):<10}")
        for _, key in extra_cols:
            v = r.get(key)
            line += f" {v:>10.4g}" if isinstance(v, (int, float)) else f" {'-':>10}"
        line += f" {r['accuracy_mean']:>15.4f} +- {r['accuracy_std']:<6.4f} {r['effective_rank_mean']:>9.3f} {r['seeds']:>5}"
        print(line)


def write_result(out, name, result, params) -> None:
    """Write ``out/name`` atomically with run metadata (no-op when ``out`` is None)."""
    if out is None:
        return
    from results.io import run_metadata, save_json

    save_json(out / name, {"result": result, "metadata": run_metadata(params, dtype="float32")})


def run(args) -> int:
    from clop_verify.commands.simulate import check_out_dir
    from simulations.training.losses import SIMILARITIES
    from simulations.training import LOSSES

    if args.experiment not in EXPERIMENTS:
        raise ValueError(f"--experiment must be one of {', '.join(EXPERIMENTS)}; got {args.experiment!r}")
    clop = parse_clop(args.clop)
    check_common(args, LOSSES)
    if args.similarity not in SIMILARITIES:
        raise ValueError(f"--similarity must be one of {', '.join(SIMILARITIES)}; got {args.similarity!r}")
    if args.optimizer not in (None, "adam", "sgd"):
        raise ValueError(f"--optimizer must be adam or sgd; got {args.optimizer!r}")
    if args.experiment == "table" and args.lr is not None and len(args.lr) != 1:
        raise ValueError(f"--lr takes one value for --experiment table; got {len(args.lr)}")
    out = check_out_dir(args.out)

    from simulations.training import synthetic as S
    from results.io import to_jsonable

    default_opt = "sgd" if args.experiment == "lr" else "adam"
    fields = {"optimizer": args.optimizer or default_opt, "directions": args.directions, "positions": args.positions}
    if args.steps is not None:
        fields["steps"] = args.steps
    if args.experiment == "table" and args.lr is not None:
        fields["learning_rate"] = args.lr[0]
    config = S.SyntheticConfig(**fields).validate()  # names the bad field, before anything runs
    params = {"experiment": args.experiment, "config": config._asdict(), "seeds": args.seeds,
              "loss": args.loss, "clop": list(clop), "prototypes": args.prototypes, "lambda": args.lam,
              "similarity": args.similarity, "lr": args.lr}
    if args.experiment == "table":
        result = S.synthetic_table(args.loss or S.TABLE5_LOSSES, clop, args.seeds, config,
                                   prototypes=args.prototypes, lam=args.lam, similarity=args.similarity)
        cols = (("paper", "paper_accuracy"),)
    elif args.experiment == "lr":
        kwargs = {} if args.lr is None else {"learning_rates": args.lr}
        result = S.lr_sweep(seeds=args.seeds, config=config, loss=(args.loss or ["infonce"])[0], lam=args.lam,
                            prototypes=args.prototypes, **kwargs)
        result["results"] = [r for r in result["results"] if r["clop"] in clop]
        cols = (("lr", "learning_rate"),)
    else:
        ab = S.ablation_table(args.seeds, config, loss=(args.loss or ["infonce"])[0])
        result = {"results": ab["prototypes"] + ab["lambda"] + ab["similarity"], "seconds": ab["seconds"]}
        cols = ()
    for r in result["results"]:
        r.pop("embeddings", None)
    write_result(out, f"synthetic_{args.experiment}.json", result, params)
    if args.json:
        print(json.dumps(to_jsonable(result), indent=2))
    else:
        print_rows(result["results"], cols)
    return 0
