"""``clop-verify nc``: neural versus dimensional collapse with hard negatives (paper 003) in the unconstrained-features model."""
from __future__ import annotations

import json

NAME = "nc"
HELP = "paper 003: does Adam reach neural collapse (simplex ETF) or dimensional collapse? SCL/HSCL/UCL/HUCL grid"
DESCRIPTION = (
    "Free features z_i in R^d (k classes x n samples) trained with Adam on the supervised / unsupervised\n"
    "contrastive risks, plain (SCL, UCL) or with hard negatives reweighted by exp(beta s) (HSCL, HUCL),\n"
    "with no feature normalisation, the unit ball z/max(1,|z|) or the unit sphere z/|z|. Each run is\n"
    "classified NC (NC1, NC2 and tr S_W / tr S_B all < 0.1), DC (sigma_(k-1)/sigma_1 of the features < 0.1)\n"
    "or neither; the table gives medians over seeds per setting and the class counts. --clop adds the\n"
    "CLOP link: SCL/UCL with 001's orthonormal-prototype term (lambda 1; 10% and 100% labelled)."
)
EXAMPLE = (
    "examples:\n"
    "  clop-verify nc                      # 120 runs (5 seeds), a few minutes on 2 CPU cores\n"
    "  clop-verify nc --quick --json       # 24 short runs, seconds\n"
    "  clop-verify nc --clop --out /tmp/nc # also the CLOP runs; writes /tmp/nc/nc_grid.json"
)


def register(parser) -> None:
    parser.add_argument("--quick", action="store_true", help="small grid (300 steps, 2 seeds, one hardness), for tests")
    parser.add_argument("--clop", action="store_true", help="also run SCL/UCL with the CLOP term (orthonormal prototypes)")
    parser.add_argument("--out", default=None, metavar="DIR", help="also write DIR/nc_grid.json with run metadata")
    parser.add_argument("--json", action="store_true", help="print the per-setting table as JSON (per-run rows go to --out)")


def print_table(rows, clop: bool = False) -> None:
    """Aligned table of :func:`simulations.neural_collapse.grid.setting_table` rows."""
    key = f"{'loss':<5} {'norm':<6} {'beta':>4}" if not clop else f"{'loss':<5} {'lambda':>6} {'labelled':>8}"
    print(f"{key} {'NC1':>9} {'trSW/trSB':>9} {'NC2':>7} {'erank':>6} {'s(k-1)/s1':>9} {'d_orth':>6}  "
          f"{'NC':>2} {'DC':>2} {'nei':>3} {'seeds':>5}")
    for r in rows:
        head = (f"{r['loss']:<5} {r['normalisation']:<6} {r['beta']:>4g}" if not clop
                else f"{r['loss']:<5} {r['lambda']:>6g} {r['fraction']:>8.0%}")
        print(f"{head} {r['nc1']:>9.3g} {r['within_between']:>9.3g} {r['nc2']:>7.3f} {r['effective_rank']:>6.2f} "
              f"{r['dimension_ratio']:>9.3f} {r['orthonormal_distance']:>6.3f}  {r['NC']:>2} {r['DC']:>2} "
              f"{r['neither']:>3} {r['seeds']:>5}")


def run(args) -> int:
    from clop_verify.validation import output_folder

    out = None if args.out is None else output_folder(args.out)
    from results.io import run_metadata, save_json, to_jsonable
    from simulations.neural_collapse import grid as G

    params = G.grid_parameters(args.quick)
    result = G.nc_grid(params)
    table = G.setting_table(result)
    payload = {"parameters": params, "table": table, "runs": result["runs"], "seconds": result["seconds"]}
    if args.clop:
        cparams = G.clop_parameters(args.quick)
        cres = G.clop_grid(cparams)
        ctable = G.setting_table(cres, keys=("loss", "lambda", "fraction"))
        payload["clop"] = {"parameters": cparams, "table": ctable, "runs": cres["runs"], "seconds": cres["seconds"]}
    if out is not None:
        save_json(out / "nc_grid.json", {"result": payload, "metadata": run_metadata(params, dtype=params["config"]["dtype"])})
    if args.json:
        brief = {key: value for key, value in payload.items() if key != "runs"}  # per-run rows: in --out's file
        if "clop" in brief:
            brief["clop"] = {key: value for key, value in brief["clop"].items() if key != "runs"}
        print(json.dumps(to_jsonable(brief), indent=2))
        return 0
    print_table(table)
    print(f"({result['n_runs']} runs, {result['seconds']:.1f} s)")
    if args.clop:
        print()
        print_table(payload["clop"]["table"], clop=True)
    return 0
