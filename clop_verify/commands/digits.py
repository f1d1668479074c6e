"""``clop-verify digits``: CLOP on scikit-learn's handwritten digits (InfoNCE / SupCon, with and without CLOP)."""
from __future__ import annotations

import json

from clop_verify.shared import add_training_arguments, check_training_size, clop_values, print_rows, write_result
from clop_verify.validation import DIGITS_LOSSES, output_folder, real

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
    add_training_arguments(parser, losses=DIGITS_LOSSES, default_seeds=5, loss_default="both")
    parser.add_argument("--lr", type=real(0, low_open=True), nargs=1, default=None, metavar="LR",
                        help="Adam learning rate, finite, > 0 (default: 1e-3)")
    parser.add_argument("--out", default=None, metavar="DIR", help="also write DIR/digits.json with metadata")


def run(args) -> int:
    clop = clop_values(args.clop)
    out = None if args.out is None else output_folder(args.out)

    from simulations.training import digits as D
    from simulations.config import as_dict
    from results.io import to_jsonable

    fields = {}
    if args.steps is not None:
        fields["steps"] = args.steps
    if args.lr is not None:
        fields["learning_rate"] = args.lr[0]
    from clop_verify.errors import user_input

    with user_input():
        config = D.DigitsConfig(**fields)  # names the bad field, before anything runs
    rows = config.subsample or 1797  # sklearn's digits: 1797 images of 8 x 8 pixels
    check_training_size(rows, config.batch_size, (64, config.hidden, config.hidden, config.embed_dim), args.seeds, len(clop))
    result = D.digits_table(args.loss or D.DIGITS_LOSSES, clop, args.seeds, config, prototypes=args.prototypes, lam=args.lam,
                            progress=True)
    params = {"config": as_dict(config), "seeds": args.seeds, "loss": args.loss, "clop": list(clop),
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
