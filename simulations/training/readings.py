r"""Readings of the synthetic experiment: every choice paper 001 leaves open, traced, one program per loss and shape.

Paper 001 (Section 4, Appendix B) describes the Table 5 experiment in a few sentences; paper 002
(Section 3, Table 2) describes the same experiment. Data geometry, network normalisation, width,
optimiser, learning rate, temperature, batch size, steps and the space the 5-NN runs in are left
open, so a verdict must not rest on one choice of them. :data:`AXES` lists each open choice, the
values tried and the sentence it reads; a *reading* is a dict ``{axis: value}`` of the choices that
differ from :data:`DEFAULT`.

**One program per loss and shape.** Everything but the shapes is traced: learning rate, temperature,
optimiser (Adam or SGD, both states carried, the update picked by a traced flag), momentum, batch
norm on/off, width (hidden units beyond it masked, He scale :math:`\sqrt{2/\text{width}}`), class
directions, positions on the line, :math:`\lambda` (0 = CLOP off) and prototype kind. The
contrastive loss is a static name (one program per loss). The step count is traced too: every run of a program takes the
program's length in steps and updates after its own ``steps`` are zero (step keys are
``fold_in(key, step)``, so a frozen run *is* the shorter run); the end state is evaluated in three
spaces (normalised outputs, raw outputs, last hidden layer). Why one scan and one static loss: a
program with a ``lax.switch`` over the losses, or with checkpoints evaluated between several scans,
hangs XLA:CPU at full size (every thread parked on a futex; three hangs seen), and the single-scan,
single-loss programs do not. Only the batch size and the longest step count
change shapes: :func:`readings_grid` runs one group per (batch size, 1000-step run), each compiled
once per loss.

**A client of the training driver** (:mod:`simulations.training.driver`): a setup's data run as a
driver :class:`~simulations.training.driver.Task` (:func:`task_of`): ``"readings synthetic"`` is
:data:`simulations.training.synthetic.SYNTHETIC` with the data kinds read from the point, ``"readings
digits"`` is :data:`simulations.training.digits.DIGITS` under the setup's digits config; both list the
traced point arguments above and ask for the three evaluation spaces. The trial (data, network, width
mask, :func:`simulations.training.trainer.train_contrastive`, k-NN with Gram distances, effective rank)
is the driver's one trial, and the programs are compiled by
:func:`simulations.training.driver.grid_program` into the driver's one cache, keyed by the task's name,
the loss, the setup and the seed count. A result's row of a point is found by what the point is
(:func:`point_key`, :func:`point_index`), not by its offset.

**Network learning-rate thresholds** (:func:`network_lr_sweep`): InfoNCE with
and without CLOP, SGD with momentum 0 and 0.9, temperatures 0.1, 0.5, 1, on the synthetic data and
on scikit-learn's digits; a run *collapses* when the effective rank of its L2-normalised embeddings
of the clean inputs is below :data:`COLLAPSE_RANK` (fixed before any sweep) or it diverged.
"""
from __future__ import annotations

import functools
import time
from typing import Sequence

import jax.numpy as jnp
import numpy as np

from simulations.collapse.runner import blas_single_threaded
from simulations.config import check_choice, check_int, check_training, experiment_config
from simulations.training import driver
from simulations.training.grid import collect, share, spread
from simulations.training.objectives import LOSSES, check_loss_names
from simulations.training.prototypes import PROTOTYPES
from theory.definitions import COLLAPSE_RANK, mean_difference

__all__ = [
    "AXES", "DEFAULT", "SPACES", "COLLAPSE_RANK", "LAMBDA_SCALES", "Setup", "task_of", "one_axis_readings",
    "TARGETED_READINGS", "point_key", "point_index", "readings_grid", "confirmatory_grid", "network_lr_sweep", "clop_lambda_sweep", "CLOP_LAMBDA_GRID", "collapse_summary", "mean_difference", "run_readings",
]

#: The default reading: the setup of ``simulations.training.synthetic.SyntheticConfig`` (Table 5 today).
DEFAULT = {
    "subspaces": "rank 1", "directions": "orthonormal", "positions": "sign", "batch_norm": True, "width": 64,
    "optimizer": "adam", "momentum": 0.9, "learning_rate": 1e-2, "tau": 0.5, "batch_size": 256, "steps": 300,
    "evaluation": "normalised outputs",
}

#: Spaces the 5-NN is evaluated in (the end state is evaluated in all three): the driver's :data:`~simulations.training.driver.SPACES`.
SPACES = driver.SPACES

#: Each open choice: values tried one at a time around :data:`DEFAULT`, and the sentence it reads.
AXES = {
    "subspaces": {"values": ["rank 1"], "reads": "002 Table 2: 'generating points from three distinct rank-1 "
                  "linear subspaces' (001 Section 4: 'within the same linear subspace'); only rank 1 is tried"},
    "directions": {"values": ["orthonormal", "random"], "reads": "001 Section 4: 'three distinct classes' "
                   "(how the class directions are drawn is not said)"},
    "positions": {"values": ["sign", "uniform"], "reads": "002 Section 3: 'even if samples from the same cluster "
                  "point in nearly opposite directions' (t = +-1, or t ~ U(-1, 1))"},
    "batch_norm": {"values": [True, False], "reads": "002 Section 3: 'dense connectivity, ReLU activation function, "
                   "and batch normalization'; 001 Section 4 says only '3-layer Feedforward Neural Network'"},
    "width": {"values": [64, 16], "reads": "001 Section 4: 'A 3-layer Feedforward Neural Network' (width not given)"},
    "optimizer": {"values": ["adam", "sgd"], "reads": "not given in 001 or 002 for this experiment"},
    "momentum": {"values": [0.9, 0.0], "reads": "SGD with or without momentum (not given)"},
    "learning_rate": {"values": [1e-3, 1e-2, 1e-1, 1.0, 10.0], "reads": "not given; 002 Section 5: 'a too-large "
                      "learning rate ... converges embeddings to a single point' (up to rates where Theorem 1's "
                      "mechanism could act)"},
    "tau": {"values": [0.1, 0.5, 1.0], "reads": "not given for this experiment"},
    "batch_size": {"values": [256, 64, 500], "reads": "not given (500 = the full data set)"},
    "steps": {"values": [30, 100, 300, 1000], "reads": "not given; 002 Table 2: 'trained ... until convergence "
              "is achieved'"},
    "evaluation": {"values": list(SPACES), "reads": "001 Section 4: 'the 10% labeled samples are used to train a "
                   "K-Nearest Neighbors (KNN) classifier' (on which representation is not said)"},
}

#: CLOP's lambda scale: ``"sum"`` over the labelled samples of a batch, as Eq. 4 of paper 001
#: prints (the default), or ``"mean"`` over them, as the authors' released loss computes it (at batch 256
#: and 10 % labels the sum is ~25.6 times the mean). A traced flag: both scales share one program.
LAMBDA_SCALES = ("sum", "mean")

#: The targeted search for the printed baselines (InfoNCE ~68.9 %, DCL ~88.6 %, Barlow Twins ~82.5 %,
#: VICReg ~98.6 %): combinations under which a first exploration (3 seeds) saw InfoNCE lose accuracy
#: and effective rank: SGD (momentum 0.9) without batch norm at large learning rates, and low tau.
TARGETED_READINGS = tuple(
    {"optimizer": "sgd", "batch_norm": False, "tau": tau, "learning_rate": lr}
    for tau in (0.1, 0.5) for lr in (0.3, 1.0, 3.0, 10.0)
)


@experiment_config
class Setup:
    """Static settings of a readings program (shapes and constants), named as in :mod:`simulations.config`.

    ``hidden`` is the widest hidden layer (a reading's ``width`` masks the units beyond it); ``steps``
    is the program's length (a point's own ``steps`` is at most it; the end state is evaluated);
    ``subsample`` keeps the first digits images. ``dtype`` is float32 only: data, network, point arrays
    and training are float32 even when x64 is on (the CLI).

    Raises:
        ValueError: naming the first bad field, when built.

    Example:
        >>> Setup(data="cifar")
        Traceback (most recent call last):
        ...
        ValueError: data must be one of synthetic, digits; got 'cifar'
    """

    data: str = "synthetic"
    n: int = 500
    hidden: int = 64
    batch_size: int | None = 256
    steps: int = 300
    label_fraction: float = 0.1
    knn_k: int = 5
    noise_var: float = 0.05
    aug_noise_var: float = 0.05
    flip_prob: float = 0.5
    embed_dim: int = 3
    subsample: int | None = None
    base_seed: int = 0
    dtype: str = "float32"

    def __post_init__(self):
        check_choice("data", self.data, ("synthetic", "digits"))
        check_choice("dtype", self.dtype, ("float32",))
        check_int("n", self.n, 2)
        if self.subsample is not None:
            check_int("subsample", self.subsample, 1)
        check_training(self)

    @property
    def num_classes(self) -> int:
        """Classes of the setup's data set: 3 lines (synthetic) or 10 digits."""
        return 3 if self.data == "synthetic" else 10


def _digits_config(setup: Setup):
    from simulations.training.digits import DigitsConfig

    return DigitsConfig(label_fraction=setup.label_fraction, hidden=setup.hidden, embed_dim=setup.embed_dim,
                        subsample=setup.subsample)


#: Traced point arguments of the readings tasks, in the order of the compiled program (see
#: :func:`simulations.training.driver._trial` for what each does).
_POINT_ARGS = ("learning_rate", "tau", "is_adam", "momentum", "batch_norm", "width", "dir_random",
               "pos_uniform", "lambda", "prototypes", "steps", "lambda_scale")


def _synthetic_task():
    from simulations.training.synthetic import SYNTHETIC

    # SYNTHETIC's own data, augmentation and widths read a Setup's fields; its data read the point's
    # traced kinds (dir_random, pos_uniform).
    return SYNTHETIC._replace(name="readings synthetic", losses=LOSSES, point_args=_POINT_ARGS, spaces=SPACES)


def _digits_task():
    from simulations.training.digits import DIGITS

    return driver.Task(
        name="readings digits", losses=LOSSES,
        dataset=lambda setup: DIGITS.dataset(_digits_config(setup)),
        data=lambda key, dataset, setup, point: DIGITS.data(key, dataset, _digits_config(setup), point),
        augment=lambda key, x, setup: DIGITS.augment(key, x, _digits_config(setup)),
        widths=lambda setup: DIGITS.widths(_digits_config(setup)),
        num_classes=lambda setup: DIGITS.num_classes(_digits_config(setup)),
        point_args=_POINT_ARGS, spaces=SPACES,
    )


def task_of(setup: Setup) -> driver.Task:
    """The driver :class:`~simulations.training.driver.Task` a setup's data run as (built once per data set).

    Both trace every axis of :data:`AXES` but the batch size and the program's length
    (:data:`_POINT_ARGS`), take the loss as a static name and evaluate in every space of :data:`SPACES`;
    ``"readings synthetic"`` is :data:`simulations.training.synthetic.SYNTHETIC` with the data kinds
    read from the point, ``"readings digits"`` :data:`simulations.training.digits.DIGITS` under the
    setup's :class:`~simulations.training.digits.DigitsConfig`.

    Example:
        >>> task_of(Setup()).name, task_of(Setup(data="digits", embed_dim=16)).name
        ('readings synthetic', 'readings digits')
    """
    return _task(setup.data)


@functools.lru_cache(maxsize=None)
def _task(data: str) -> driver.Task:
    return {"synthetic": _synthetic_task, "digits": _digits_task}[data]()


def _point_arrays(points: Sequence[dict]) -> list:
    """Point dicts (full readings plus ``lambda`` and ``prototypes``) -> one array per traced argument."""
    cols = {
        "learning_rate": [float(p["learning_rate"]) for p in points],
        "tau": [float(p["tau"]) for p in points],
        "is_adam": [p["optimizer"] == "adam" for p in points],
        "momentum": [float(p["momentum"]) for p in points],
        "batch_norm": [bool(p["batch_norm"]) for p in points],
        "width": [float(p["width"]) for p in points],
        "dir_random": [p["directions"] == "random" for p in points],
        "pos_uniform": [p["positions"] == "uniform" for p in points],
        "lambda": [float(p["lambda"]) for p in points],
        "prototypes": [PROTOTYPES.index(p.get("prototypes", "orthonormal")) for p in points],
        "steps": [int(p["steps"]) for p in points],
        "lambda_scale": [p.get("lambda_scale", "sum") == "mean" for p in points],
    }
    floats = ("learning_rate", "tau", "momentum", "width", "lambda")  # float32 even when x64 is on (the CLI)
    return [jnp.asarray(cols[name], jnp.float32 if name in floats else None) for name in _POINT_ARGS]


def _check_reading(reading: dict, setup: Setup) -> None:
    for axis, value in reading.items():
        if axis not in AXES:
            raise ValueError(f"reading axis must be one of {', '.join(AXES)}; got {axis!r}")
    if not 1 <= reading.get("width", DEFAULT["width"]) <= setup.hidden:
        raise ValueError(f"width must be in [1, {setup.hidden}]; got {reading.get('width', DEFAULT['width'])}")
    if reading.get("optimizer", "adam") not in ("adam", "sgd"):
        raise ValueError(f"optimizer must be adam or sgd; got {reading['optimizer']!r}")


def _full_points(points: Sequence[dict], setup: Setup) -> list[dict]:
    """Validate points and fill in :data:`DEFAULT`, ``lambda`` 1, orthonormal prototypes, scale ``sum``."""
    full_points = []
    for point in points:
        reading = {k: v for k, v in point.items() if k not in ("lambda", "prototypes", "lambda_scale")}
        _check_reading(reading, setup)
        full = {**DEFAULT, "lambda": 1.0, "prototypes": "orthonormal", **point}
        if not 1 <= full["steps"] <= setup.steps:
            raise ValueError(f"steps must be in [1, {setup.steps}] for this program; got {full['steps']}")
        if full.get("lambda_scale", "sum") not in LAMBDA_SCALES:
            raise ValueError(f"lambda_scale must be one of {', '.join(LAMBDA_SCALES)}; got {full['lambda_scale']!r}")
        if full["prototypes"] not in PROTOTYPES:
            raise ValueError(f"prototypes must be one of {', '.join(PROTOTYPES)}; got {full['prototypes']!r}")
        full_points.append(full)
    return full_points


def point_key(point: dict) -> tuple:
    """What identifies a point of a readings program: its reading filled in from :data:`DEFAULT`, ``lambda``
    (default 1), ``prototypes`` (orthonormal) and ``lambda_scale`` (sum), as sorted items.

    Example:
        >>> point_key({}) == point_key({"tau": 0.5, "lambda": 1.0, "lambda_scale": "sum"}), point_key({"lambda": 0.0}) == point_key({})
        (True, False)
    """
    full = {**DEFAULT, "lambda": 1.0, "prototypes": "orthonormal", "lambda_scale": "sum", **point}
    return tuple(sorted(full.items(), key=lambda item: item[0]))


def point_index(points: Sequence[dict]) -> dict:
    """``{point_key(p): i}`` over ``points`` (the first of equal points): a result's row of a point, found by what it is.

    Example:
        >>> at = point_index([{"lambda": 0.0}, {"lambda": 1.0}, {"tau": 0.1}])
        >>> at[point_key({})], at[point_key({"lambda": 1.0, "tau": 0.1})]
        (1, 2)
    """
    index: dict = {}
    for i, p in enumerate(points):
        index.setdefault(point_key(p), i)
    return index


def run_readings(losses: Sequence[str], points: Sequence[dict] | dict, seeds: int, setup: Setup = Setup(), *,
                 progress: bool = False) -> dict:
    r"""Train ``seeds`` networks per (loss, point) in one program; a point is a reading plus ``lambda``/``prototypes``.

    A point's ``steps`` (traced: updates after it are zero) is at most the program's length
    ``setup.steps`` and its ``batch_size`` is the setup's (a shape); every other axis is traced. Missing keys take :data:`DEFAULT`, ``lambda`` 1
    and ``prototypes`` orthonormal; ``lambda_scale`` (:data:`LAMBDA_SCALES`, default ``"sum"``) is how
    :math:`\lambda` weighs the prototype term: :math:`\lambda\sum_{i\in S}` or :math:`\frac{\lambda}{|S|}\sum_{i\in S}`.
    ``points`` is one list every loss runs, or a dict ``{loss: list}`` (each loss its own points).

    Returns:
        ``{"accuracy", "effective_rank"}`` arrays ``[loss, point, seed, checkpoint, space]`` (with a dict
        of points: dicts ``{loss: array [point, seed, checkpoint, space]}``), ``"seconds"``.

    Raises:
        ValueError: unknown axis or value, or a step count that is not a checkpoint.

    Example:
        >>> r = run_readings(["infonce"], [{"lambda": 0.0, "steps": 1}, {"tau": 0.1, "steps": 1}], 2,
        ...                  Setup(n=30, batch_size=None, steps=1))
        >>> r["accuracy"].shape
        (1, 2, 2, 1, 3)
    """
    losses = tuple(dict.fromkeys(losses))
    check_loss_names(losses)
    per_loss = points if isinstance(points, dict) else {loss: points for loss in losses}
    args = {loss: _point_arrays(_full_points(per_loss[loss], setup)) for loss in losses}
    task = task_of(setup)
    dataset = task.dataset(setup)
    start = time.perf_counter()
    accs, ranks = [], []
    # Dispatch every loss's program before waiting for any: JAX runs them asynchronously, so one
    # program executes while the next compiles or runs beside it (two cores with single-threaded Eigen).
    # The evaluation's SVDs run under one BLAS thread: OpenBLAS's default threads spin beside XLA's
    # and made the 500 x 64 SVD of the hidden layer 30-50x slower under load (benchmarks/README.md).
    with blas_single_threaded():
        placed = {loss: spread(args[loss]) for loss in losses}
        pending = [driver.grid_program(task, loss, setup, seeds)(*share((dataset,)), *placed[loss][0])
                   for loss in losses]
        for loss, result in zip(losses, pending):
            a, r = collect(result, placed[loss][1])
            accs.append(a)
            ranks.append(r)
            if progress:
                import sys

                print(f"  {setup.data} batch {setup.batch_size} steps {setup.steps} ({len(per_loss[loss])} "
                      f"points x {seeds} seeds): {loss} done ({time.perf_counter() - start:.0f} s)", file=sys.stderr,
                      flush=True)
    if isinstance(points, dict):
        return {"accuracy": dict(zip(losses, accs)), "effective_rank": dict(zip(losses, ranks)),
                "seconds": time.perf_counter() - start}
    return {"accuracy": np.stack(accs), "effective_rank": np.stack(ranks), "seconds": time.perf_counter() - start}


def one_axis_readings() -> list[dict]:
    """Readings that change one axis of :data:`DEFAULT` at a time (the evaluation space included).

    Example:
        >>> r = one_axis_readings()
        >>> r[0], {"tau": 0.1} in r, {"evaluation": "raw outputs"} in r
        ({}, True, True)
    """
    out = [{}]
    for axis, spec in AXES.items():
        if axis in ("learning_rate", "momentum", "optimizer"):
            continue
        out += [{axis: v} for v in spec["values"] if v != DEFAULT[axis]]
    out += [{"learning_rate": lr} for lr in (1e-3, 1e-1)]  # Adam
    out += [{"optimizer": "sgd", "momentum": m, "learning_rate": lr} for m in (0.9, 0.0) for lr in (0.1, 1.0, 10.0)]
    return out


def _group(reading: dict) -> tuple:
    """The static (batch size, long run) group a reading runs in."""
    full = {**DEFAULT, **reading}
    return full["batch_size"], full["steps"] == 1000


#: Losses the temperature does not enter (nor does it enter the CLOP term): readings that differ only in
#: tau are one run for them.
TAU_FREE_LOSSES = ("vicreg", "barlow_twins")


def _run_key(loss: str, reading: dict) -> tuple:
    """What decides a run of ``loss`` under ``reading``: the full reading, tau dropped for a tau-free loss."""
    full = {**DEFAULT, **reading}
    if loss in TAU_FREE_LOSSES:
        full["tau"] = DEFAULT["tau"]
    return tuple(sorted(full.items()))


def _distinct_runs(loss: str, readings: Sequence[dict]) -> list[dict]:
    """The first reading of each distinct run of ``loss``, in order.

    Example:
        >>> _distinct_runs("vicreg", [{}, {"tau": 0.1}, {"steps": 30}]), len(_distinct_runs("infonce", [{}, {"tau": 0.1}]))
        ([{}, {'steps': 30}], 2)
    """
    out, keys = [], set()
    for r in readings:
        if _run_key(loss, r) not in keys:
            keys.add(_run_key(loss, r))
            out.append(r)
    return out


def readings_grid(seeds: int = 5, *, quick: bool = False, losses: Sequence[str] | None = None,
                  progress: bool = False) -> dict:
    """The declared readings grid: one axis at a time around :data:`DEFAULT`, plus :data:`TARGETED_READINGS`.

    Every reading runs each Table 5 loss with and without CLOP over ``seeds`` seeds; the evaluation
    spaces are read from the default run; prototype ablation points (ETF, random, with CLOP) run
    under the default and under ``TARGETED_READINGS[1]`` (InfoNCE collapses there). One program per
    (batch size, long run) group. ``quick``: 120 points, steps 3/6/10 standing in for 30/100/300, a
    handful of readings (a smoke test).

    Returns:
        ``{"rows": [...], "prototype_rows": [...], "axes", "default", "targeted", "programs", "seconds"}``;
        each row ``{"loss", "reading", "accuracy_without", "accuracy_with", "gain",
        "gain_standard_error", "seeds", "effective_rank_without", "effective_rank_with",
        "accuracies_without", "accuracies_with", "targeted"}`` (accuracies as fractions).

    Example:
        Runs for about a minute (the smoke test is ``tests/clop/test_readings.py``, marked slow):

        >>> g = readings_grid(2, quick=True, losses=["infonce"])  # doctest: +SKIP
        >>> g["rows"][0]["reading"], g["programs"]  # doctest: +SKIP
        ({}, 1)
    """
    from simulations.training.synthetic import TABLE5_LOSSES

    losses = tuple(losses or TABLE5_LOSSES)
    targeted = [dict(r) for r in TARGETED_READINGS]
    # Readings of another evaluation space are read from the default run.
    trained = [r for r in one_axis_readings() + targeted if "evaluation" not in r]
    if quick:  # one program: the default group only
        trained = [{}, {"tau": 0.1}, {"steps": 100}, targeted[1]]
    groups: dict = {}
    for r in trained:
        groups.setdefault(_group(r), []).append(r)
    start = time.perf_counter()
    rows, prototype_rows = [], []
    for (batch, long), rs in groups.items():
        declared = (1000,) if long else (30, 100, 300)
        lengths = ((10,) if long else (3, 6, 10)) if quick else declared  # quick: stand-ins for 30/100/300
        if batch == 500:
            batch_size = None
        else:
            batch_size = min(batch, 64) if quick else batch
        setup = Setup(n=120 if quick else 500, batch_size=batch_size, steps=lengths[-1])
        steps_of = lambda r: lengths[declared.index({**DEFAULT, **r}["steps"])]  # noqa: E731
        ablation = [r for r in rs if r == {} or r == targeted[1]]
        # Each loss runs each distinct run once (tau enters neither VICReg nor Barlow Twins) and only
        # InfoNCE runs the prototype ablation.
        runs = {loss: _distinct_runs(loss, rs) for loss in losses}
        points = {loss: [{**r, "steps": steps_of(r), "lambda": lam} for r in runs[loss] for lam in (0.0, 1.0)]
                  + ([{**r, "steps": steps_of(r), "prototypes": kind} for r in ablation for kind in ("etf", "random")]
                     if loss == "infonce" else []) for loss in losses}
        out = run_readings(losses, points, seeds, setup, progress=progress)
        for r in rs:
            # (reading, space): the default run also gives the other evaluation spaces
            derived = [(dict(r), 0)]
            if r == {}:
                derived += [({"evaluation": space}, si) for si, space in enumerate(SPACES) if si]
            for loss in losses:
                ran = next(q for q in runs[loss] if _run_key(loss, q) == _run_key(loss, r))
                at = point_index(points[loss])
                pair = [at[point_key({**ran, "steps": steps_of(ran), "lambda": lam})] for lam in (0.0, 1.0)]
                for reading, si in derived:
                    acc = out["accuracy"][loss][pair, :, -1, si].astype(float)  # float64 means
                    rank = out["effective_rank"][loss][pair, :, -1, 0].astype(float)
                    gain, se = mean_difference(acc[1], acc[0])
                    rows.append({
                        "loss": loss, "reading": reading, "accuracy_without": float(acc[0].mean()),
                        "accuracy_with": float(acc[1].mean()), "gain": gain, "gain_standard_error": se,
                        "seeds": int(acc.shape[1]), "effective_rank_without": float(rank[0].mean()),
                        "effective_rank_with": float(rank[1].mean()), "accuracies_without": acc[0].tolist(),
                        "accuracies_with": acc[1].tolist(), "targeted": r in targeted,
                        **({} if ran == r else {"same_run_as": dict(ran)}),
                    })
                if loss == "infonce" and r in ablation:
                    for kind in ("orthonormal", "etf", "random"):
                        i = at[point_key({**r, "steps": steps_of(r), "lambda": 1.0, "prototypes": kind})]
                        acc = out["accuracy"][loss][i, :, -1, 0]
                        rank = out["effective_rank"][loss][i, :, -1, 0]
                        prototype_rows.append({"reading": dict(r), "prototypes": kind, "accuracies": acc.tolist(),
                                               "accuracy": float(acc.mean()), "effective_rank": float(rank.mean())})
    return {"rows": rows, "prototype_rows": prototype_rows, "axes": AXES, "default": DEFAULT, "targeted": targeted,
            "programs": len(groups), "losses": list(losses), "seeds": seeds,
            "seconds": time.perf_counter() - start, "quick": quick}


def confirmatory_grid(plan: dict, seeds: int, *, quick: bool = False, progress: bool = False) -> dict:
    """The preregistered confirmatory runs: each loss's own points, ``seeds`` seeds, one program per loss.

    ``plan`` is ``{loss: [point, ...]}``; a point is a reading of :data:`AXES` (batch size and 1000
    steps excluded: every point runs in the default group, batch 256 and 300 steps) plus ``lambda``,
    ``prototypes`` and ``lambda_scale``. Seeds are ``0..seeds-1``: the pilot's keys are the first
    ones, but a run is not bit-identical to the pilot's (another program shape rounds differently and
    training amplifies it), so the confirmatory runs are a fresh sample. ``quick``: 120 points, batch 64, 10 steps (30 and
    100 steps read as 3 and 6), a smoke test.

    Returns:
        ``{"rows": [{"loss", "point", "accuracies", "effective_ranks"}], "seeds", "seconds", "quick"}``
        (normalised-output 5-NN accuracies per seed, as fractions; effective ranks of the normalised outputs).

    Raises:
        ValueError: a point outside the default (batch size, length) group, or see :func:`run_readings`.

    Example:
        Runs for about a minute (the smoke test is in ``tests/clop/test_readings.py``, marked slow):

        >>> g = confirmatory_grid({"infonce": [{"lambda": 0.0}, {"lambda_scale": "mean"}]}, 2, quick=True)  # doctest: +SKIP
        >>> len(g["rows"]), len(g["rows"][0]["accuracies"])  # doctest: +SKIP
        (2, 2)
    """
    declared, lengths = (30, 100, 300), ((3, 6, 10) if quick else (30, 100, 300))
    for loss, points in plan.items():
        for p in points:
            if _group({k: v for k, v in p.items() if k in AXES}) != (DEFAULT["batch_size"], False):
                raise ValueError(f"confirmatory points run in the default group (batch 256, <= 300 steps); got {p}")
    setup = Setup(n=120 if quick else 500, batch_size=64 if quick else DEFAULT["batch_size"], steps=lengths[-1])
    run_of = lambda p: {**p, "steps": lengths[declared.index({**DEFAULT, **p}["steps"])]}  # noqa: E731
    runs = {loss: [run_of(p) for p in points] for loss, points in plan.items()}
    out = run_readings(list(plan), runs, seeds, setup, progress=progress)
    rows = []
    for loss, points in plan.items():
        at = point_index(runs[loss])
        for p in points:
            i, space = at[point_key(run_of(p))], SPACES.index(p.get("evaluation", DEFAULT["evaluation"]))
            rows.append({"loss": loss, "point": dict(p),
                         "accuracies": out["accuracy"][loss][i, :, -1, space].astype(float).tolist(),
                         "effective_ranks": out["effective_rank"][loss][i, :, -1, 0].astype(float).tolist()})
    return {"rows": rows, "seeds": seeds, "seconds": out["seconds"], "quick": quick}


def collapse_summary(effective_ranks, finite=None, threshold: float = COLLAPSE_RANK) -> dict:
    r"""Collapse of a set of seeds: each run collapses when its effective rank < ``threshold``.

    A learning rate *collapses* when at least half of its seeds collapse.

    Example:
        >>> collapse_summary([1.1, 1.2, 2.9])["collapsed"], collapse_summary([1.1, 2.8, 2.9])["collapsed"]
        (True, False)
    """
    r = np.asarray(effective_ranks, float)
    runs = (r < threshold) | ~np.isfinite(r)
    return {"collapsed_runs": int(runs.sum()), "runs": int(r.size), "collapsed": bool(runs.sum() * 2 >= r.size),
            "effective_rank_mean": float(np.nanmean(r)) if np.isfinite(r).any() else float("nan")}


def network_lr_sweep(data: str = "synthetic", seeds: int = 3, *, quick: bool = False,
                     learning_rates: Sequence[float] | None = None, taus: Sequence[float] = (0.1, 0.5, 1.0),
                     momenta: Sequence[float] = (0.0, 0.9), batch_norms: Sequence[bool] | None = None,
                     progress: bool = False) -> dict:
    r"""Network learning-rate thresholds: InfoNCE +- CLOP, SGD, per temperature, momentum and normalisation.

    Every (tau, momentum, batch norm, learning rate, :math:`\lambda`) point trains ``seeds`` networks in
    one program. Per curve (tau, momentum, batch norm, CLOP) the *threshold* is the smallest learning
    rate of the grid that collapses (:func:`collapse_summary`, criterion :data:`COLLAPSE_RANK` fixed
    before the sweep), ``None`` if none does.

    Digits runs use an encoder of width 64 (the digits table uses 256), 200 steps, batch norm on only
    and six learning rates 0.1..30, to fit a 2-core CPU; the synthetic runs read batch norm both ways
    over eight learning rates 0.03..100.

    Returns:
        ``{"data", "learning_rates", "curves": [{"tau", "momentum", "batch_norm", "clop", "points":
        [{"learning_rate", "accuracy", "effective_rank", "collapsed", ...}], "threshold"}], "seconds"}``.

    Example:
        Runs for about a minute (covered by ``tests/clop/test_readings.py``, marked slow):

        >>> s = network_lr_sweep(seeds=2, quick=True, taus=(0.5,), momenta=(0.9,), batch_norms=(True,))  # doctest: +SKIP
        >>> len(s["curves"]), len(s["curves"][0]["points"])  # doctest: +SKIP
        (2, 3)
    """
    if data not in ("synthetic", "digits"):
        raise ValueError(f"data must be synthetic or digits; got {data!r}")
    if batch_norms is None:  # the digits encoder always has batch norm; the synthetic one is read both ways
        batch_norms = (True, False) if data == "synthetic" else (True,)
    if learning_rates is None:
        if quick:
            learning_rates = (0.1, 1.0, 10.0)
        elif data == "synthetic":
            learning_rates = (0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
        else:
            learning_rates = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
    if data == "synthetic":
        setup = Setup(n=120 if quick else 500, batch_size=64 if quick else 256, steps=10 if quick else 300)
    else:
        setup = Setup(data="digits", hidden=64, embed_dim=32, batch_size=64 if quick else 256,
                      steps=5 if quick else 200, subsample=300 if quick else None)
    readings = [{"optimizer": "sgd", "momentum": m, "tau": t, "batch_norm": bn, "learning_rate": lr,
                 "steps": setup.steps}
                for t in taus for m in momenta for bn in batch_norms for lr in learning_rates]
    start = time.perf_counter()
    points = [{**r, "lambda": lam} for r in readings for lam in (0.0, 1.0)]
    out = run_readings(["infonce"], points, seeds, setup, progress=progress)
    at = point_index(points)
    curves = []
    for t in taus:
        for m in momenta:
            for bn in batch_norms:
                for lam, clop in ((0.0, False), (1.0, True)):
                    pts = []
                    for lr in learning_rates:
                        i = at[point_key({"optimizer": "sgd", "momentum": m, "tau": t, "batch_norm": bn,
                                          "learning_rate": lr, "steps": setup.steps, "lambda": lam})]
                        acc = out["accuracy"][0, i, :, -1, 0]
                        rank = out["effective_rank"][0, i, :, -1, 0]
                        pts.append({"learning_rate": float(lr), "accuracy": float(acc.mean()),
                                    "accuracy_std": float(acc.std()), "effective_ranks": rank.tolist(),
                                    **collapse_summary(rank)})
                    threshold = next((p["learning_rate"] for p in pts if p["collapsed"]), None)
                    curves.append({"tau": t, "momentum": m, "batch_norm": bn, "clop": clop, "points": pts,
                                   "threshold": threshold})
    return {"data": data, "learning_rates": [float(v) for v in learning_rates], "curves": curves,
            "collapse_rank": COLLAPSE_RANK, "seeds": seeds, "steps": setup.steps,
            "width": setup.hidden, "batch_size": setup.batch_size, "seconds": time.perf_counter() - start,
            "quick": quick}


#: The CLOP lambda sweep's grid, fixed before it ran (see :func:`clop_lambda_sweep`): the synthetic-network
#: curve where InfoNCE collapses earliest in the committed ``network_lr`` sweep (SGD momentum 0.9, tau 0.1,
#: no batch norm: 1/3 seeds collapsed at 0.1, 2/3 at 0.3, 3/3 at 1), one rate below its threshold (0.1) and
#: the rate where every InfoNCE seed collapsed (1); Table 1's ends and two more lambdas, both scales; 6 seeds
#: (the fewest for which a Clopper-Pearson upper bound of 0/n falls below 1/2); the rate 0.3 between them,
#: as first run (152 s of CPU on the loaded 2-core machine). Not run, for the CPU budget: the curve SGD
#: momentum 0, tau 0.1 (InfoNCE collapses from 3) and the rates 3..100.
CLOP_LAMBDA_GRID = {
    "curves": [{"tau": 0.1, "momentum": 0.9}],
    "learning_rates": [0.1, 0.3, 1.0],
    "lambdas": [0.1, 0.3, 1.0, 3.0],
    "lambda_scales": list(LAMBDA_SCALES),
    "seeds": 6,
}


def clop_lambda_sweep(grid: dict | None = None, *, quick: bool = False, progress: bool = False) -> dict:
    r"""CLOP's :math:`\lambda` on the synthetic network where InfoNCE collapses: one program, every arm.

    A client of :func:`run_readings` (the same trainer and program as :func:`network_lr_sweep`): InfoNCE +
    :math:`\lambda\,\mathcal{L}_\text{CLOP}`, SGD, no batch norm, for every curve ``{tau, momentum}``,
    learning rate, :math:`\lambda` and scale of ``grid`` (:data:`CLOP_LAMBDA_GRID` by default), with
    ``grid["seeds"]`` seeds (trial keys as in every readings program: seed ``t`` is the same network and
    data whatever else runs beside it). The scale is how Eq. 4's term is weighted over the labelled
    samples :math:`S` of a batch:

    .. math:: \text{sum: } \lambda\sum_{i\in S}\big(1 - s(z_i, c_{y_i})\big),\qquad
              \text{mean: } \frac{\lambda}{|S|}\sum_{i\in S}\big(1 - s(z_i, c_{y_i})\big)

    A run *collapses* when the effective rank of its L2-normalised embeddings of the clean inputs is below
    :data:`COLLAPSE_RANK` (1.5, fixed before any network sweep) or it diverged (:func:`collapse_summary`).
    ``quick``: 120 points, batch 64, 10 steps (a smoke test of the schema, not of collapse).

    Returns:
        ``{"grid", "points": [{"tau", "momentum", "learning_rate", "lambda", "lambda_scale", "effective_ranks",
        "accuracies", "collapsed"}], "collapse_rank", "steps", "batch_size", "n", "seconds", "cpu_seconds",
        "quick"}``; per point the per-seed effective ranks, 5-NN accuracies and collapse flags.

    Example:
        Compiles one program (about 15 s of CPU; the schema test is in ``tests/clop/test_readings.py``):

        >>> g = {**CLOP_LAMBDA_GRID, "learning_rates": [1.0], "lambdas": [1.0], "seeds": 2}
        >>> s = clop_lambda_sweep(g, quick=True)  # doctest: +SKIP
        >>> len(s["points"]), len(s["points"][0]["collapsed"])  # doctest: +SKIP
        (2, 2)
    """
    import resource

    grid = {**CLOP_LAMBDA_GRID, **(grid or {})}
    setup = Setup(n=120 if quick else 500, batch_size=64 if quick else 256, steps=10 if quick else 300)
    arms = [{"tau": float(c["tau"]), "momentum": float(c["momentum"]), "learning_rate": float(lr),
             "lambda": float(lam), "lambda_scale": scale}
            for c in grid["curves"] for lr in grid["learning_rates"] for lam in grid["lambdas"]
            for scale in grid["lambda_scales"]]
    point_of = lambda arm: {**arm, "optimizer": "sgd", "batch_norm": False, "steps": setup.steps}  # noqa: E731
    points = [point_of(a) for a in arms]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = usage.ru_utime + usage.ru_stime
    start = time.perf_counter()
    out = run_readings(["infonce"], points, int(grid["seeds"]), setup, progress=progress)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    at = point_index(points)
    rows = []
    for arm in arms:
        i = at[point_key(point_of(arm))]
        rank = out["effective_rank"][0, i, :, -1, 0].astype(float)
        acc = out["accuracy"][0, i, :, -1, 0].astype(float)
        collapsed = (rank < COLLAPSE_RANK) | ~np.isfinite(rank)
        rows.append({**arm, "effective_ranks": rank.tolist(), "accuracies": acc.tolist(),
                     "collapsed": collapsed.tolist()})
    return {"grid": grid, "points": rows, "collapse_rank": COLLAPSE_RANK, "steps": setup.steps,
            "batch_size": setup.batch_size, "n": setup.n, "label_fraction": setup.label_fraction,
            "seconds": time.perf_counter() - start,
            "cpu_seconds": usage.ru_utime + usage.ru_stime - cpu0, "quick": quick}
