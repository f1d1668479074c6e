"""Speed of the training grids' programs: trainings per second, achieved FLOP/s, against the previous code and a matmul.

Three workloads, each the program a figure runs, at the figure's shapes but with fewer grid points:

- ``readings``: :func:`simulations.training.readings.run_readings` in the readings grid's main group
  (synthetic data, n = 500, batch 256, 300 steps, the four Table 5 losses or ``--losses``), ``--points``
  readings of that group with and without CLOP, 5 seeds;
- ``network``: the synthetic network learning-rate sweep's program (InfoNCE, SGD, batch 256, 300 steps),
  ``--points`` learning rates with and without CLOP, 3 seeds;
- ``driver``: :func:`simulations.training.driver.run_points` of the synthetic task (Table 5's
  ``SyntheticConfig``), CLOP off and on, 5 seeds.

Each workload runs in a fresh subprocess, once with this checkout's code and once with the code of
``--reference`` (a git revision, exported with ``git archive`` into a temporary folder), alternating
``--repeats`` times, so that both see the same load; each subprocess compiles first (not timed), then
times one call. The ratio old / new is the median over the repeats. The subprocesses also return
every per-seed accuracy and effective rank, and the benchmark prints whether they agree: accuracies
exactly, ranks to the largest absolute difference.

FLOP/s counts the model's matrix products only: per training step, forward and backward through the
encoder (three products per layer: :math:`2 \\cdot 3 \\cdot 2B \\sum_l d_l d_{l+1}` for the 2B rows of
the two views), plus the evaluation's products; it ignores the losses, batch norm and random numbers.
The practical peak beside it is a dense float32 ``1024 x 1024`` matmul in the same process.

On a loaded machine only the ratios of one run mean anything; the load average is printed. Beside the
wall-clock ratio the benchmark prints the ratio of the subprocesses' CPU seconds (``time.process_time``
around the timed call): on a machine shared with other jobs, wall time is mostly waiting for a core,
while CPU seconds count the work (they include XLA's threads spinning, so they are an upper bound).

``--roofline`` adds, for the readings and network workloads, what one training step of one trial costs
(FLOPs, bytes accessed and exponentials from XLA's cost analysis of the unrolled step: :func:`step_cost`)
beside the measured time per executed trial-step (a point of fewer steps runs its program's length,
frozen after its own), and the floors those costs imply at the matmul peak, at the caches' bandwidth and
at DRAM's (:func:`triad_bandwidth`, measured in the same process): how far the programs are from what
the machine can do, and which resource bounds them.

Usage: python benchmarks/bench_training.py [--workloads readings network driver] [--points 4] [--losses ...]
[--repeats 3] [--reference 5df6e52] [--json PATH] [--roofline]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORKLOADS = ("readings", "network", "driver")
#: The previous code the ratios are taken against by default: the training programs before the speed work on them.
REFERENCE = "5df6e52"


def _readings_points(count: int) -> list[dict]:
    """``count`` readings of the readings grid's main group (batch 256, up to 300 steps), with and without CLOP."""
    from simulations.training.readings import DEFAULT, TARGETED_READINGS, one_axis_readings

    group = [r for r in one_axis_readings() + [dict(t) for t in TARGETED_READINGS]
             if "evaluation" not in r and {**DEFAULT, **r}["batch_size"] == 256 and {**DEFAULT, **r}["steps"] != 1000]
    pick = [group[round(i * (len(group) - 1) / max(count - 1, 1))] for i in range(count)]
    return [{**r, "steps": {**DEFAULT, **r}["steps"], "lambda": lam} for r in pick for lam in (0.0, 1.0)]


def _network_points(count: int) -> list[dict]:
    lrs = (0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
    pick = [lrs[round(i * (len(lrs) - 1) / max(count - 1, 1))] for i in range(count)]
    return [{"optimizer": "sgd", "momentum": 0.9, "tau": 0.1, "batch_norm": False, "learning_rate": lr, "steps": 300,
             "lambda": lam} for lr in pick for lam in (0.0, 1.0)]


def _readings_workload(name: str, points: int, losses: list[str]) -> tuple[list[dict], int, list[str]]:
    """``(points, seeds, losses)`` of the readings-program workloads: ``readings`` (5 seeds, the given losses) or
    ``network`` (3 seeds, InfoNCE: the sweep's loss)."""
    if name == "readings":
        return _readings_points(points), 5, losses
    if name == "network":
        return _network_points(points), 3, ["infonce"]
    raise ValueError(f"readings-program workloads are readings and network; got {name!r}")


def _layer_flops(widths, rows: int) -> float:
    """Multiply-adds x 2 of one forward pass of ``rows`` rows through the dense layers ``widths``."""
    return 2.0 * rows * sum(a * b for a, b in zip(widths[:-1], widths[1:]))


def _field(config, *names):
    """The first of ``names`` that ``config`` has: the worker also runs the reference revision's code, whose
    configs may name a field differently (``max_width``/``hidden``, ``dim``/``embed_dim``)."""
    for name in names:
        if hasattr(config, name):
            return getattr(config, name)
    raise AttributeError(f"{type(config).__name__} has none of {names}")


def worker(name: str, points: int, losses: list[str]) -> dict:
    """Run one workload in this process (compile, then one timed call); return times, FLOPs and answers."""
    from clop_verify.runtime import configure_jax

    configure_jax()  # as the CLI: x64 on, the compilation cache
    import numpy as np

    if name in ("readings", "network"):
        from simulations.training.readings import Setup, run_readings

        setup = Setup()  # n 500, batch 256, width 64, 300 steps
        pts, seeds, losses = _readings_workload(name, points, losses)
        run = lambda: run_readings(losses, pts, seeds, setup)  # noqa: E731
        trainings = len(losses) * len(pts) * seeds
        steps = len(losses) * seeds * sum(p["steps"] for p in pts)
        # a point of fewer steps runs the program's length, frozen after its own; the reference revision's
        # Setup gives that length as its last checkpoint
        length = setup.steps if hasattr(setup, "steps") else max(setup.checkpoints)
        executed = trainings * length
        hidden = _field(setup, "hidden", "max_width")
        widths, rows, n = (3, hidden, hidden, 3), 2 * setup.batch_size, setup.n
        eval_flops = trainings * (_layer_flops(widths, n) + 2.0 * n * n * (3 + 3 + hidden))
    else:
        from simulations.training.driver import run_points
        from simulations.training.synthetic import SYNTHETIC, SyntheticConfig

        config = SyntheticConfig()
        pts, seeds = [{"lambda": 0.0}, {"lambda": 1.0}], 5
        run = lambda: run_points(SYNTHETIC, "infonce", pts, seeds, config)  # noqa: E731
        trainings, steps = len(pts) * seeds, len(pts) * seeds * config.steps
        executed = steps
        embed_dim = _field(config, "embed_dim", "dim")
        widths = (embed_dim, config.hidden, config.hidden, embed_dim)
        rows = 2 * (config.batch_size or config.n)
        eval_flops = trainings * (_layer_flops(widths, config.n) + 2.0 * config.n * config.n * embed_dim)
    t = time.perf_counter()
    run()
    compile_s = time.perf_counter() - t
    cpu = time.process_time()
    t = time.perf_counter()
    out = run()
    seconds = time.perf_counter() - t
    cpu_seconds = time.process_time() - cpu
    flops = 3.0 * steps * _layer_flops(widths, rows) + eval_flops
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "first_call_s": compile_s, "trainings": trainings, "flops": flops,
            "trial_steps": executed,
            "accuracy": np.asarray(out["accuracy"]).tolist(), "effective_rank": np.asarray(out["effective_rank"]).tolist()}


def step_cost(name: str, points: int, losses: list[str]) -> dict:
    r"""XLA's cost analysis of one training step of one trial of workload ``name`` (``readings`` or ``network``).

    XLA's ``cost_analysis`` counts a loop body once whatever its trip count, so the program is built with
    the training scan unrolled (``jax.lax.scan(..., unroll=True)``, patched for this call only) at 2
    and at 3 steps; the difference, divided by the trials, is one step of one trial:

    .. math:: c_{\text{step}} = \frac{c(3\ \text{steps}) - c(2\ \text{steps})}{\text{losses}\times\text{points}\times\text{seeds}}

    for ``flops``, ``bytes accessed`` (operands and results of every fused kernel: traffic between
    kernels, not DRAM traffic) and ``transcendentals``. Summed over the workload's losses.

    Example (a small network workload: one learning rate, with and without CLOP):
        >>> c = step_cost("network", 1, ["infonce"])
        >>> c["flops"] > 1e7 and c["bytes accessed"] > 1e6
        True
    """
    import jax

    from simulations.training import driver
    from simulations.training.grid import share, spread
    from simulations.training.readings import Setup, _full_points, _point_arrays, task_of

    pts, seeds, losses = _readings_workload(name, points, losses)
    scan = jax.lax.scan
    jax.lax.scan = lambda *args, **kwargs: scan(*args, **{**kwargs, "unroll": True})
    try:
        totals = {}
        for steps in (2, 3):
            setup = Setup(steps=steps)
            task = task_of(setup)
            arrays, _ = spread(_point_arrays(_full_points([{**p, "steps": steps} for p in pts], setup)))
            for loss in losses:
                # Setup(steps=2 or 3) is a program of its own, traced here under the unrolled scan
                cost = driver.grid_program(task, loss, setup, seeds).lower(*share((task.dataset(setup),)), *arrays).compile().cost_analysis()
                cost = cost[0] if isinstance(cost, list) else cost
                for key in ("flops", "bytes accessed", "transcendentals"):
                    totals[(steps, key)] = totals.get((steps, key), 0.0) + float(cost.get(key, 0.0))
    finally:
        jax.lax.scan = scan
    trials = len(losses) * len(pts) * seeds
    return {key: (totals[(3, key)] - totals[(2, key)]) / trials for key in ("flops", "bytes accessed", "transcendentals")}


def triad_bandwidth(elements: int, repeats: int = 20) -> float:
    """Bytes per second of the jitted float32 triad ``a * 2 + b`` on arrays of ``elements`` (3 arrays moved), warm.

    With arrays far larger than the caches (``2**26`` elements, 256 MiB each) it is the DRAM bandwidth
    the machine gives JAX; with small ones (``2**21``, 8 MiB) the bandwidth of its caches.

    Example:
        >>> triad_bandwidth(2**16, repeats=3) > 1e8
        True
    """
    import jax
    import jax.numpy as jnp

    a = jnp.ones(elements, jnp.float32)
    b = jnp.ones(elements, jnp.float32)
    f = jax.jit(lambda a, b: a * 2.0 + b)
    f(a, b).block_until_ready()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        f(a, b).block_until_ready()
        best = min(best, time.perf_counter() - t)
    return 3 * 4 * elements / best


def matmul_peak(size: int = 1024, repeats: int = 20) -> float:
    """FLOP/s of a dense float32 ``size x size`` matmul (JAX, warm): the machine's practical peak."""
    import jax
    import jax.numpy as jnp

    a = jax.random.normal(jax.random.key(0), (size, size), jnp.float32)
    f = jax.jit(lambda x: x @ x)
    f(a).block_until_ready()
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(repeats):
            f(a).block_until_ready()
        best = min(best, (time.perf_counter() - t) / repeats)
    return 2.0 * size ** 3 / best


def _export(rev: str, folder: str) -> str:
    """The code of git revision ``rev`` exported into ``folder`` (packages only); returns the folder."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "simulations", "theory", "results", "clop_verify"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
    return folder


def _is_revision(rev: str) -> bool:
    """Whether ``rev`` names a commit of this repository (``git rev-parse --verify``)."""
    return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
                          capture_output=True).returncode == 0


def _run_worker(code_root: str, name: str, points: int, losses: list[str]) -> dict:
    """Run workload ``name`` in a subprocess on the code under ``code_root``; its result, or its error's last lines."""
    env = {**os.environ, "PYTHONPATH": code_root}
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", name, "--points", str(points),
                          "--losses", *losses],
                         cwd=code_root, env=env, capture_output=True, text=True)
    if out.returncode:
        tail = "\n".join(out.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"the {name} worker on the code in {code_root} exited {out.returncode}:\n{tail}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _agreement(old: dict, new: dict) -> str:
    """How the new code's answers compare with the old code's: identical, or how many per-seed
    accuracies (in the readings programs, of the normalised outputs: the space the figures read) moved and
    by how much, and the effective ranks' largest change."""
    import numpy as np

    a_old, a_new = np.asarray(old["accuracy"], float), np.asarray(new["accuracy"], float)
    r_old, r_new = np.asarray(old["effective_rank"], float), np.asarray(new["effective_rank"], float)
    if a_old.shape != a_new.shape or r_old.shape != r_new.shape:
        return "answers have different shapes"
    if np.array_equal(a_old, a_new) and np.array_equal(r_old, r_new, equal_nan=True):
        return "identical (accuracies and ranks, every space)"
    if a_old.ndim == 5:  # readings programs: [loss, point, seed, checkpoint, space]; the figures read space 0
        acc0, acc1 = np.moveaxis(a_old[..., 0], 2, -1), np.moveaxis(a_new[..., 0], 2, -1)
        rank = np.abs(r_old[..., 0] - r_new[..., 0])
    else:  # the driver: [point, seed]
        acc0, acc1, rank = a_old, a_new, np.abs(r_old - r_new)
    moved = acc0 != acc1
    point_means = np.abs(acc0.mean(axis=-1) - acc1.mean(axis=-1))  # over seeds
    return (f"accuracies: {int(moved.sum())}/{moved.size} per-seed values moved, max |diff| "
            f"{np.max(np.abs(acc0 - acc1)):.3f}, mean |diff| {np.mean(np.abs(acc0 - acc1)):.4f}; per-point seed means: "
            f"max |diff| {np.max(point_means):.3f}, mean {np.mean(point_means):.4f}; mean accuracy old {acc0.mean():.4f} "
            f"new {acc1.mean():.4f}; ranks (space 0) max |diff| {np.nanmax(rank):.2f}, mean {np.nanmean(rank):.3f}")


def main(argv=None) -> int:
    from clop_verify.cli import OneLineParser

    parser = OneLineParser(prog="python benchmarks/bench_training.py", description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=list(WORKLOADS))
    parser.add_argument("--points", type=int, default=4, help="readings (or learning rates) per workload, each with "
                        "and without CLOP (default 4)")
    parser.add_argument("--losses", nargs="+", choices=("infonce", "dcl", "vicreg", "barlow_twins"),
                        default=["infonce", "dcl", "vicreg", "barlow_twins"], help="the readings workload's losses "
                        "(default the four of Table 5)")
    parser.add_argument("--repeats", type=int, default=3, help="old/new subprocess pairs per workload (default 3)")
    parser.add_argument("--json", help="also write every subprocess's output (times, per-seed answers) to this file")
    parser.add_argument("--reference", default=REFERENCE, help=f"git revision of the previous code (default {REFERENCE}); "
                        "'none' skips it")
    parser.add_argument("--roofline", action="store_true", help="also print, for the readings and network "
                        "workloads, one training step's FLOPs and bytes (XLA's cost analysis) against the machine's "
                        "matmul peak and triad bandwidth, and the time floors they imply")
    parser.add_argument("--worker", choices=WORKLOADS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.points < 1 or args.repeats < 1:
        parser.error("--points and --repeats must be >= 1")
    if not args.worker and args.reference != "none" and not _is_revision(args.reference):
        parser.error(f"argument --reference: {args.reference!r} is not a commit of this repository")
    if args.worker:
        print(json.dumps(worker(args.worker, args.points, args.losses)))
        return 0
    from clop_verify.runtime import configure_jax

    configure_jax()
    import jax

    from results.io import cpu_summary

    peak = matmul_peak()
    print(f"machine: {cpu_summary()}, load average "
          f"{os.getloadavg()[0]:.1f}, jax {jax.__version__}; dense f32 1024^3 matmul {peak:.3g} FLOP/s (practical peak)")
    print(f"{'workload':>9} {'trainings':>9} {'new s':>7} {'new tr/s':>9} {'new FLOP/s':>10} {'of peak':>7} "
          f"{'old s':>7} {'old tr/s':>9} {'old/new':>8} {'CPU o/n':>8}  answers")
    saved = {}
    with tempfile.TemporaryDirectory() as tmp:
        old_root = None if args.reference == "none" else _export(args.reference, tmp)
        for name in args.workloads:
            news, olds, ratios, cpu_ratios = [], [], [], []
            for _ in range(args.repeats):
                if old_root:
                    olds.append(_run_worker(old_root, name, args.points, args.losses))
                news.append(_run_worker(str(ROOT), name, args.points, args.losses))
                if old_root:
                    ratios.append(olds[-1]["seconds"] / news[-1]["seconds"])
                    cpu_ratios.append(olds[-1]["cpu_seconds"] / news[-1]["cpu_seconds"])
            new_s = statistics.median(r["seconds"] for r in news)
            rate = news[0]["flops"] / new_s
            line = (f"{name:>9} {news[0]['trainings']:>9} {new_s:>7.2f} {news[0]['trainings'] / new_s:>9.2f} "
                    f"{rate:>10.3g} {rate / peak:>7.1%}")
            if old_root:
                old_s = statistics.median(r["seconds"] for r in olds)
                line += (f" {old_s:>7.2f} {olds[0]['trainings'] / old_s:>9.2f} {statistics.median(ratios):>8.2f} "
                         f"{statistics.median(cpu_ratios):>8.2f}  {_agreement(olds[0], news[0])}  (wall ratios "
                         f"{', '.join(f'{r:.2f}' for r in ratios)}; CPU {', '.join(f'{r:.2f}' for r in cpu_ratios)})")
            print(line + f"  load {os.getloadavg()[0]:.1f}", flush=True)
            saved[name] = {"new": news, "old": olds}
    if args.roofline:
        dram, cache = triad_bandwidth(2**26), triad_bandwidth(2**21, repeats=200)
        print(f"\nroofline, per training step of one trial (FLOPs and bytes: XLA's cost analysis of the unrolled step; "
              f"bytes are every fused kernel's operands and results); triad a*2+b in this process: {dram / 1e9:.1f} GB/s "
              f"with 256 MiB arrays (DRAM), {cache / 1e9:.1f} GB/s with 8 MiB ones (caches); matmul {peak:.3g} FLOP/s")
        print(f"{'workload':>9} {'MFLOP':>7} {'MB':>6} {'exp k':>6} {'measured ms':>11} {'GFLOP/s':>8} {'GB/s':>6} "
              f"{'floor: peak ms':>14} {'cache ms':>8} {'DRAM ms':>8}")
        for name in args.workloads:
            if name not in ("readings", "network"):
                continue
            cost = step_cost(name, args.points, args.losses)
            run = saved[name]["new"]
            ms = 1e3 * statistics.median(r["seconds"] for r in run) / run[0]["trial_steps"]
            flops, nbytes = cost["flops"], cost["bytes accessed"]
            print(f"{name:>9} {flops / 1e6:>7.1f} {nbytes / 1e6:>6.1f} {cost['transcendentals'] / 1e3:>6.0f} {ms:>11.3f} "
                  f"{flops / ms / 1e6:>8.1f} {nbytes / ms / 1e6:>6.1f} {1e3 * flops / peak:>14.3f} "
                  f"{1e3 * nbytes / cache:>8.3f} {1e3 * nbytes / dram:>8.3f}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(saved))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
