"""``clop-verify figures``: regenerate the paper's figures (PNG + PDF + the plotted numbers as JSON).

A thin wrapper around :func:`figures.generate.regenerate`: parse the names, output folder, quick mode,
cache switch and formats, validate them all before anything is written, and run each figure with a
progress line on stderr.

``--jobs N`` runs the figures in N worker processes (:func:`figures.generate.regenerate`), the longest
first; the numbers are the same bit for bit. The default is 2 where the process may use at least two cores
(:func:`default_jobs`; 1 in a multi-process run or where JAX may use an accelerator): one process keeps
about 1.6 cores busy (XLA's intra-op threads; compiling is single-threaded), so on the idle 2-core VM ``clop-verify figures`` from empty caches took 751 s with two
workers instead of 907 s in one process (12.5 instead of 15.1 minutes), every number bit-identical.
"""
from __future__ import annotations

import os

from figures import FIGURES

from clop_verify.validation import integer, output_folder
from results.io import usable_cores
from results.settings import default_out

#: Where the full set of full-size figures goes (the README embeds them), where --quick writes by default,
#: and where a subset of the figures goes by default (clop_verify.outputs: only a full run replaces them);
#: folders of the checkout (results.settings.default_out), whatever the current folder.
DEFAULT_OUT = "figures/out"
QUICK_OUT = "figures/out/quick"
PARTIAL_OUT = "figures/out/partial"
#: Image formats a figure can be saved in.
FORMATS = ("png", "pdf", "svg")
#: Most worker processes --jobs takes (a run uses at most one per figure).
MAX_JOBS = 1000


def default_jobs(cpu_count: int | None = None, environ=None) -> int:
    """Worker processes ``clop-verify figures`` uses without ``--jobs``: 2 with at least two cores, else 1.

    The cores are the ones this process may use (:func:`results.io.usable_cores`, its affinity mask: a
    container's CPU limit or ``taskset``), as XLA counts them for its thread pool.

    Also 1 in a multi-process run (``CLOP_VERIFY_COORDINATOR``, :func:`clop_verify.runtime.initialize_distributed`:
    the workers would not be part of it) and where JAX may run on an accelerator (:func:`accelerator_plugin`:
    each process would claim most of its memory); the measured gain is the CPU's.

    Example:
        >>> cpu = {"JAX_PLATFORMS": "cpu"}
        >>> default_jobs(1, cpu), default_jobs(2, cpu), default_jobs(16, cpu)
        (1, 2, 2)
        >>> default_jobs(16, {**cpu, "CLOP_VERIFY_COORDINATOR": "127.0.0.1:1234"})
        1
    """
    from clop_verify.runtime import multi_process_run

    environ = os.environ if environ is None else environ
    cpu_count = usable_cores() if cpu_count is None else cpu_count
    if multi_process_run(environ) or accelerator_plugin(environ):
        return 1
    return 2 if (cpu_count or 1) >= 2 else 1


def accelerator_plugin(environ=None) -> str | None:
    """The installed JAX accelerator plugin (CUDA, ROCm, TPU) JAX may use, or ``None`` (``JAX_PLATFORMS=cpu``: none).

    Looks at the installed distributions only; JAX is not started.

    Example:
        >>> accelerator_plugin({"JAX_PLATFORMS": "cpu"}) is None
        True
    """
    from importlib import metadata

    environ = os.environ if environ is None else environ
    if environ.get("JAX_PLATFORMS", "").strip().lower() == "cpu":
        return None
    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if name.startswith(("jax-cuda", "jax-rocm", "libtpu")):
            return name
    return None


NAME = "figures"
HELP = "regenerate the paper's figures (Figure 3, Figure 4 and the rule/temperature sweeps) as PNG + PDF + JSON"
DESCRIPTION = (
    "Regenerate the figures of paper 001: singular-value spectra of k=30 embeddings at eta=2.0 and 2.1 "
    "(Figure 3 left/middle), the largest non-collapsing learning rate against the Theorem 1 bound "
    "eta_max(k)=2(k-1)/(k-2) and the printed one (Figure 3 right), rank-(k-1) collapse from Gaussian "
    "embeddings (Figure 4), thresholds per update rule, and the InfoNCE temperature sweep against "
    "the (1-2 eta/tau)^2 statement of paper 004, and the CLOP-loss figures (Figure 5 embeddings, "
    "learning-rate robustness, digits). Simulation results are cached by their parameters "
    "in the result cache ($XDG_CACHE_HOME/clop-verify/results, or $CLOP_VERIFY_RESULTS_CACHE), so a second "
    "run only redraws."
)
EXAMPLE = (
    "Examples:\n"
    "  clop-verify figures                      # all figures into figures/out/ (from a clean checkout)\n"
    "  clop-verify figures fig3_spectra         # one figure, full size, into figures/out/partial/\n"
    "  clop-verify figures fig3_spectra --quick  # small sizes, into figures/out/quick/\n"
    "  clop-verify figures fig3_spectra --quick --out /tmp/figs --format png\n"
    "  clop-verify figures --jobs 1                # every figure in this one process, in order\n\n"
    f"Only the full command (every figure, no --quick) writes {DEFAULT_OUT}/ by default, and only from a checkout "
    "without uncommitted changes, so that the committed figures carry a clean git revision."
)


def register(parser) -> None:
    """Add the arguments of ``clop-verify figures``."""
    parser.add_argument(
        "names", nargs="*", metavar="NAME",  # checked by the runner: argparse 3.11 rejects [] against choices=
        help=f"figures to draw (default: all): {' '.join(FIGURES)}",
    )
    parser.add_argument("--out", default=None, metavar="DIR",
                        help=f"output folder (default: {DEFAULT_OUT} of the checkout for every figure, {QUICK_OUT} with --quick, "
                        f"{PARTIAL_OUT} for a subset, so that quick or partial results never replace the full ones)")
    parser.add_argument("--quick", action="store_true",
                        help=f"small sizes for a smoke test (well under a minute); written to {QUICK_OUT} unless --out is given")
    parser.add_argument("--no-cache", action="store_true", help="recompute every simulation instead of loading cached results")
    parser.add_argument(
        "--format", nargs="+", choices=FORMATS, default=["png", "pdf"], metavar="FMT",
        help=f"image formats among {', '.join(FORMATS)} (default: png pdf); NAME.json is always written",
    )
    parser.add_argument(
        "--jobs", type=integer(1, MAX_JOBS), default=None, metavar="N",
        help=f"run the figures in N worker processes, the longest first (an integer in [1, {MAX_JOBS}], at most one "
        "per figure is used; default: 2 where at least two cores are usable, else 1; 1 where JAX may use a GPU or TPU, or with "
        "CLOP_VERIFY_COORDINATOR set). One process keeps about 1.6 cores busy: "
        "on a 2-core machine every figure took 751 s from empty caches with --jobs 2, 907 s with --jobs 1. The numbers "
        "do not depend on N",
    )


def run(args) -> int:
    """Validate everything, then regenerate; exit status 1 if a figure failed."""
    from figures import generate

    from clop_verify.errors import UsageError, user_input
    from clop_verify.outputs import check_clean_for, default_folder
    from clop_verify.runtime import COORDINATOR_ENV, multi_process_run

    with user_input():
        names = generate.check_names(args.names)
    if args.jobs is not None and args.jobs > 1 and multi_process_run():
        raise UsageError(f"--jobs must be 1 in a multi-process run ({COORDINATOR_ENV[0]} is set); got {args.jobs}")
    partial = set(names) != set(generate.figure_names())
    out = output_folder(args.out or default_out(default_folder(DEFAULT_OUT, quick=args.quick, partial=partial)))
    check_clean_for(out)
    results = generate.regenerate(names, out, quick=args.quick, use_cache=not args.no_cache,
                                formats=tuple(dict.fromkeys(args.format)),
                                jobs=default_jobs() if args.jobs is None else args.jobs)
    return 0 if len(results) == len(names) else 1
