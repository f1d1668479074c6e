"""``clop-verify digits``: CLOP on scikit-learn's handwritten digits (InfoNCE / SupCon, with and without CLOP)."""
from __future__ import annotations

import json

NAME = "digits"
HELP = "CLOP on scikit-learn's digits (10% labels): KNN and linear-probe accuracy with and without CLOP"
DESCRIPTION = (
    "Train an MLP encoder (64-256-256-32, BN, ReLU) SimCLR-style on sklearn's 8x8 digits with\n"
    "class-preserving views (1-pixel shifts + noise), loss InfoNCE or semi-supervised SupCon, alone or\n"
    "plus lambda * sum_{labelled i} (1 - cos(z_i, c_{y_i})) (CLOP, paper 001 Eq. 4, orthonormal c);\n"
    "report 5-NN and linear-probe accuracy (fitted on the labelled 10%, tested on the rest) and the\n"
    "effective rank over seeds, beside the same classifiers on raw pixels. No download."
)
EXAMPLE = (
    "examples:\n"
    "  clop-verify digits                                 # infonce, supcon x CLOP off/on x 5 seeds\n"
    "  clop-verify digits --loss supcon --clop on --seeds 2 --steps 200 --json"
)


def register(parser) -> None:
    parser.add_argument("--loss", nargs="+", default=None, metavar="LOSS", help="infonce and/or supcon (default: both)")
    parser.add_argument("--clop", nargs="+", default=["off", "on"], metavar="on|off",
                        help="without (off) and/or with (on) CLOP (default: off on)")
    parser.add_argument("--seeds", type=int, default=5, help="trials per setting, >= 1 (default: 5)")
    parser.add_argument("--prototypes", default="orthonormal", help="orthonormal (default), etf or random")
    parser.add_argument("--lambda", dest="lam", type=float, default=1.0, help="CLOP weight lambda > 0 (default: 1)")
    parser.add_argument("--lr", type=float, nargs=1, default=None, metavar="LR", help="Adam learning rate > 0 (default: 1e-3)")
    parser.add_argument("--steps", type=int, default=None, help="optimiser steps, >= 1 (default: 600)")
    parser.add_argument("--out", default=None, metavar="DIR", help="also write DIR/digits.json with metadata")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args) -> int:
    from clop_verify.commands.simulate import check_out_dir
    from clop_verify.commands.synthetic import check_common, parse_clop, print_rows, write_result
    from simulations.training.digits import DIGITS_LOSSES

    clop = parse_clop(args.clop)
    check_common(args, DIGITS_LOSSES)
    out = check_out_dir(args.out)

    from simulations.training import digits as D
    from results.io import to_jsonable

    fields = {}
    if args.steps is not None:
        fields["steps"] = args.steps
    if args.lr is not None:
        fields["learning_rate"] = args.lr[0]
    config = D.DigitsConfig(**fields).validate()
    result = D.digits_table(args.loss or D.DIGITS_LOSSES, clop, args.seeds, config, prototypes=args.prototypes, lam=args.lam)
    params = {"config": config._asdict(), "seeds": args.seeds, "loss": args.loss, "clop": list(clop),
              "prototypes": args.prototypes, "lambda": args.lam}
    write_result(out, "digits.json", result, params)
    if args.json:
        print(json.dumps(to_jsonable(result), indent=2))
        return 0
    print_rows(result["results"], (("probe", "linear_probe_mean"),))
    raw = result["raw_pixels"]
    print(f"raw pixels (reference): 5-NN {raw['knn_accuracy_mean']:.4f} +- {raw['knn_accuracy_std']:.4f}, "
          f"linear probe {raw['linear_probe_mean']:.4f} +- {raw['linear_probe_std']:.4f}")
    return 0
