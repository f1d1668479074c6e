"""``clop-verify synthetic``: the synthetic 3-D experiment of paper 001 (Table 5), its ablations and the learning-rate sweep."""
from __future__ import annotations

import json

from clop_verify.shared import add_training_arguments, check_training_size, clop_values, print_rows, write_result
from clop_verify.errors import UsageError, user_input
from clop_verify.validation import LOSSES, OPTIMIZERS, SIMILARITIES, output_folder, real

NAME = "synthetic"
HELP = "CLOP on synthetic 3-D data: KNN accuracy and effective rank per loss, with and without CLOP (Table 5)"
DESCRIPTION = (
    "Train a 3-layer BN-ReLU network SimCLR-style on 500 points in R^3 lying on three lines through the\n"
    "origin (noise variance 0.05; views: random sign flip + noise), with loss L_CL or\n"
    "L_CL + lambda * sum_{labelled i} (1 - s(z_i, c_{y_i})) (CLOP, paper 001 Eq. 4), and report the\n"
    "5-NN accuracy (fitted on the labelled 10%, tested on the other 90%) and the effective rank of the\n"
    "normalised outputs over seeds, beside the numbers printed in Table 5. --experiment lr sweeps the\n"
    "learning rate; --experiment ablation varies prototypes, lambda and similarity. --experiment readings\n"
    "runs Table 5 under every reading of the choices paper 001 leaves open (one axis at a time around the\n"
    "default, plus a targeted search for the printed baselines), 5 seeds each, and caches it for\n"
    "clop-verify report; --experiment network-lr sweeps InfoNCE +- CLOP under SGD (momentum 0/0.9,\n"
    "tau 0.1/0.5/1) up to collapse (effective rank < 1.5) on the synthetic data and on digits."
)
EXAMPLE = (
    "examples:\n"
    "  clop-verify synthetic                                  # Table 5: 4 losses x CLOP off/on x 10 seeds\n"
    "  clop-verify synthetic --loss infonce --clop on --seeds 3 --json\n"
    "  clop-verify synthetic --experiment lr --optimizer sgd --lr 0.001 0.1 10 --seeds 5\n"
    "  clop-verify synthetic --experiment readings --quick    # the readings grid at smoke-test sizes"
)

EXPERIMENTS = ("table", "lr", "ablation", "readings", "network-lr")


def register(parser) -> None:
    parser.add_argument("--experiment", choices=EXPERIMENTS, default="table",
                        help="table (default), lr (learning-rate sweep), ablation (prototypes, lambda, similarity), "
                        "readings (Table 5 under every reading of the open setup) or network-lr (learning-rate "
                        "thresholds of InfoNCE +- CLOP under SGD)")
    parser.add_argument("--quick", action="store_true",
                        help="readings/network-lr only: smoke-test sizes (under a minute for readings)")
    parser.add_argument("--cache", default=None, metavar="DIR",
                        help="readings/network-lr only: result cache folder (default: $XDG_CACHE_HOME/clop-verify/"
                        "results or $CLOP_VERIFY_RESULTS_CACHE, where clop-verify report reads it)")
    add_training_arguments(parser, losses=LOSSES, default_seeds=10,
                           loss_default="the four of Table 5; infonce for lr/ablation")
    parser.add_argument("--similarity", choices=SIMILARITIES, default="cosine", help="CLOP similarity (default cosine)")
    parser.add_argument("--lr", type=real(0, low_open=True), nargs="+", default=None, metavar="LR",
                        help="learning rate(s), finite, > 0 (default: 0.01 for the table; 9 values from 1e-3 to 10 for lr)")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default=None, help="default: adam; sgd for --experiment lr")
    parser.add_argument("--directions", choices=("orthonormal", "random"), default="orthonormal",
                        help="class lines: orthonormal (default: a random orthonormal frame per seed) or random (uniform)")
    parser.add_argument("--positions", choices=("sign", "uniform"), default="sign",
                        help="position on the line: sign (default: t = +-1) or uniform (t ~ U(-1, 1))")
    parser.add_argument("--out", default=None, metavar="DIR", help="also write DIR/synthetic_<experiment>.json with metadata")


def run(args) -> int:
    if args.experiment in ("readings", "network-lr"):
        return run_cached(args)
    if args.quick or args.cache is not None:
        raise UsageError(f"--quick and --cache apply to --experiment readings or network-lr; got {args.experiment}")
    clop = clop_values(args.clop)
    if args.experiment == "table" and args.lr is not None and len(args.lr) != 1:
        raise UsageError(f"--lr takes one value for --experiment table; got {len(args.lr)}")
    out = None if args.out is None else output_folder(args.out)

    from simulations.training import synthetic as S
    from simulations.config import as_dict
    from results.io import to_jsonable

    default_opt = "sgd" if args.experiment == "lr" else "adam"
    fields = {"optimizer": args.optimizer or default_opt, "directions": args.directions, "positions": args.positions}
    if args.steps is not None:
        fields["steps"] = args.steps
    if args.experiment == "table" and args.lr is not None:
        fields["learning_rate"] = args.lr[0]
    with user_input():
        config = S.SyntheticConfig(**fields)  # names the bad field, before anything runs
    settings = {"table": len(clop), "lr": 2 * len(args.lr or range(9)), "ablation": 10}[args.experiment]
    check_training_size(config.n, config.batch_size, (config.embed_dim, config.hidden, config.hidden, config.embed_dim),
                        args.seeds, settings)
    params = {"experiment": args.experiment, "config": as_dict(config), "seeds": args.seeds,
              "loss": args.loss, "clop": list(clop), "prototypes": args.prototypes, "lambda": args.lam,
              "similarity": args.similarity, "lr": args.lr}
    if args.experiment == "table":
        result = S.synthetic_table(args.loss or S.TABLE5_LOSSES, clop, args.seeds, config,
                                   prototypes=args.prototypes, lam=args.lam, similarity=args.similarity, progress=True)
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


#: A precaution: the first readings program (a four-way lax.switch over the losses) hung XLA:CPU with
#: every thread parked on a futex; single-threaded Eigen is the reported cure for such hangs in large
#: vmapped programs (it did not cure that one: the losses are now separate programs). Set for this
#: command only, before JAX starts, unless the user chose otherwise.
SINGLE_THREADED_EIGEN = "--xla_cpu_multi_thread_eigen=false"


def run_cached(args) -> int:
    """``--experiment readings`` / ``network-lr``: the shared, cached experiments of :mod:`results.experiments`."""
    import os

    # XLA reads XLA_FLAGS when its CPU backend starts (the first computation), not at import.
    if "xla_cpu_multi_thread_eigen" not in os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {SINGLE_THREADED_EIGEN}".strip()
    from results import experiments
    from results.io import to_jsonable
    from results.settings import Settings

    if args.seeds != 10 or args.loss or args.lr or args.optimizer or args.steps is not None:
        raise UsageError(f"--experiment {args.experiment} takes only --quick, --cache, --out and --json "
                         "(its readings, seeds and sizes are declared in simulations.training.readings)")
    out = None if args.out is None else output_folder(args.out)
    cache = Settings() if args.cache is None else Settings(cache_dir=output_folder(args.cache, "--cache"))
    if args.experiment == "readings":
        result = experiments.load("readings", args.quick, cache)
        params = experiments.parameters("readings", args.quick)
    else:
        result = {"synthetic": experiments.load("network_lr", args.quick, cache),
                  "digits": experiments.load("network_lr_digits", args.quick, cache)}
        params = experiments.parameters("network_lr", args.quick)
    write_result(out, f"synthetic_{args.experiment}.json", result, params)
    if args.json:
        print(json.dumps(to_jsonable(result), indent=2))
    elif args.experiment == "readings":
        from simulations.training.readings import DEFAULT

        print(f"default reading: {', '.join(f'{k}={v}' for k, v in DEFAULT.items())}")
        print(f"{'loss':<13} {'without':>8} {'with':>8} {'gain +- se (points)':>20} {'erank off/on':>12}  reading")
        for r in result["rows"]:
            label = ", ".join(f"{k}={v}" for k, v in r["reading"].items()) or "default"
            print(f"{r['loss']:<13} {100 * r['accuracy_without']:>7.2f}% {100 * r['accuracy_with']:>7.2f}% "
                  f"{100 * r['gain']:>+11.2f} +- {100 * r['gain_standard_error']:<5.2f} "
                  f"{r['effective_rank_without']:>5.2f}/{r['effective_rank_with']:<5.2f}  {label}")
    else:
        print(f"{'data':<10} {'tau':>4} {'mom':>4} {'bn':>3} {'clop':>4}  threshold (collapse: eff. rank < "
              f"{result['synthetic']['collapse_rank']})")
        for name, sweep in result.items():
            for c in sweep["curves"]:
                print(f"{name:<10} {c['tau']:>4} {c['momentum']:>4} {('on' if c['batch_norm'] else 'off'):>3} "
                      f"{('on' if c['clop'] else 'off'):>4}  {c['threshold'] if c['threshold'] is not None else 'none'}")
    return 0
