r"""One driver for every CLOP experiment: data, augmentation, encoder, traced point and evaluation are parameters.

A :class:`Task` says what differs between experiments (how a trial's data is made from its key, the
data set and the point, how views are augmented, the encoder's widths, the number of classes, which
point arguments are traced and which spaces the end state is evaluated in); everything else is shared:
the one trial :func:`_trial` (data -> encoder -> :func:`~simulations.training.trainer.train_contrastive`
-> k-NN accuracy and effective rank), the compiled grid (:func:`grid_program`: one program per task,
loss or loss set, configuration and seed count, in the one cache :func:`program`), the validation and
the table loop.

The trial reads a *dict* of traced point arguments whose names are static (``task.point_args``), so
each option is a Python branch and a program holds only what its task traces.
:data:`simulations.training.synthetic.SYNTHETIC` and :data:`simulations.training.digits.DIGITS` trace
:data:`POINT_ARGS` (learning rate, :math:`\lambda`, prototype kind, similarity), take the loss as a
traced index shared by the call (``lax.switch``: one program serves a whole table) and evaluate the
L2-normalised embeddings. The readings tasks (:func:`simulations.training.readings.task_of`) trace
every open choice of the experiment (temperature, optimiser, momentum, batch norm, width, data kinds,
step count, :math:`\lambda` scale too), take the loss as a static name (a ``lax.switch`` over the
losses hangs XLA:CPU at their full size: see :mod:`simulations.training.readings`) and evaluate in
three spaces (:data:`SPACES`).

A loaded data set (the digits images) is an *argument* of the compiled program, not a constant baked
into it: XLA then neither embeds the array in the program nor recompiles for new data of the same shape.
"""
from __future__ import annotations

import functools
import math
import time
from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from simulations.collapse.runner import blas_single_threaded
from simulations.config import as_dict
from simulations.training.encoder import init_mlp, mlp_forward
from simulations.training.evaluation import embedding_effective_rank, knn_accuracy
from simulations.training.grid import collect, compile_grid, share, spread, summary_row, trial_keys
from simulations.training.losses import SIMILARITIES, normalize
from simulations.training.objectives import check_loss_names
from simulations.training.prototypes import PROTOTYPES, prototype_bank
from simulations.training.trainer import train_contrastive

__all__ = ["Task", "POINT_ARGS", "SPACES", "program", "grid_program", "run_points", "point_row", "clop_table", "check_points"]


#: The traced point arguments of the driver's own tasks, in the order of the compiled program.
POINT_ARGS = ("learning_rate", "lambda", "prototypes", "similarity")

#: Spaces a task may evaluate in (:data:`Task` ``spaces``): the L2-normalised outputs, the raw outputs, the
#: last hidden layer.
SPACES = ("normalised outputs", "raw outputs", "last hidden layer")


class Task(NamedTuple):
    """What distinguishes one experiment from another; everything else is the shared driver.

    Fields:
        name: for messages, progress bars and the compile cache's keys.
        losses: the contrastive losses the task accepts.
        dataset: ``config -> pytree of arrays`` passed to every trial unbatched (``None`` for data made
            from the key alone).
        data: ``(key, dataset, config, point) -> (x, y, labelled)`` inside the trace; ``point`` is the
            dict of the trial's traced point arguments (a data kind may be one of them).
        augment: ``(key, x, config) -> view``.
        widths: ``config -> (d_in, ..., d_out)`` of the encoder.
        num_classes: ``config -> k`` (prototypes, k-NN votes).
        point_args: the traced point arguments, in the program's order (see :func:`_trial` for those it
            reads): :data:`POINT_ARGS` by default.
        spaces: ``None`` (default: the k-NN and rank of the normalised embeddings, which are returned
            with the final loss) or a tuple of :data:`SPACES` to evaluate the end state in.
    """

    name: str
    losses: tuple[str, ...]
    dataset: Callable[[Any], Any]
    data: Callable[[jax.Array, Any, Any, dict], tuple[jax.Array, jax.Array, jax.Array]]
    augment: Callable[[jax.Array, jax.Array, Any], jax.Array]
    widths: Callable[[Any], tuple[int, ...]]
    num_classes: Callable[[Any], int]
    point_args: tuple[str, ...] = POINT_ARGS
    spaces: tuple[str, ...] | None = None


def _trial(trial_key, bank, dataset, *args, task: Task, losses, config):
    r"""One seed at one grid point: data, network, prototypes, training, evaluation.

    ``args`` are the loss index (only when ``losses`` is a tuple: a traced index into it; a string
    ``losses`` is one static loss) then the values of ``task.point_args``, gathered into the dict
    ``point``. Which names ``point`` has is static, so each choice below is made in Python and a
    program holds only what its task traces:

    - ``learning_rate``, ``lambda``, ``prototypes`` (index into the trial's bank): always;
    - ``similarity`` (index, else cosine), ``tau`` (else ``config.tau``), ``is_adam`` (else
      ``config.optimizer``), ``momentum`` (else SGD's 0.9), ``batch_norm`` (else on),
      ``lambda_scale`` (true: mean over the labelled rows; else Eq. 4's sum);
    - ``width``: hidden units beyond it masked and the layers after the first rescaled by
      :math:`\sqrt{\text{hidden}/\text{width}}` (He scale :math:`\sqrt{2/\text{width}}` for the active fan-in);
    - ``steps``: a traced step count :math:`\le` ``config.steps`` (updates after it are zero, step keys
      ``fold_in(key, step)``, so a frozen run *is* the shorter run); without it step keys are
      ``split(key, steps)``.

    Returns ``(accuracy, effective_rank, embeddings, labels, labelled, final_loss)`` of the normalised
    embeddings (``task.spaces`` None; non-finite entries zeroed), or ``(accuracy, effective_rank)``
    with axes ``[checkpoint=1, space]`` for ``task.spaces`` (Gram-distance k-NN; a space with any
    non-finite entry is zeroed whole: a diverged run reads as collapsed).
    """
    dtype = jnp.dtype(config.dtype)
    loss, values = (losses, args) if isinstance(losses, str) else (args[0], args[1:])
    point = dict(zip(task.point_args, values))
    k_data, k_net, _, k_train = jax.random.split(trial_key, 4)  # split[2] made the prototypes (prototype_bank)
    x, y, labelled = task.data(k_data, dataset, config, point)
    net = init_mlp(k_net, task.widths(config), dtype)
    options: dict = {}
    mask = None
    if "width" in point:
        hidden = task.widths(config)[1]
        rescale = jnp.sqrt(hidden / point["width"]).astype(dtype)
        net = (net[0],) + tuple(layer._replace(w=layer.w * rescale) for layer in net[1:])
        mask = (jnp.arange(hidden) < point["width"]).astype(dtype)
        options["mask"] = mask
    for name, option in (("momentum", "momentum"), ("batch_norm", "normalised"), ("steps", "active_steps"),
                         ("lambda_scale", "lambda_mean"), ("similarity", "similarity")):
        if name in point:
            options[option] = point[name]
    if "steps" in point:
        options["step_keys"] = "fold_in"
    net, history = train_contrastive(
        k_train, net, x, jnp.where(labelled, y, -1), lambda k, xb: task.augment(k, xb, config),
        bank[point["prototypes"]], point["learning_rate"].astype(dtype), point["lambda"].astype(dtype),
        loss=loss, loss_names=(losses,) if isinstance(losses, str) else losses, steps=config.steps,
        tau=point["tau"] if "tau" in point else config.tau,
        optimizer=point["is_adam"] if "is_adam" in point else config.optimizer, batch_size=config.batch_size,
        history=task.spaces is None, **options,
    )
    raw, hidden_layer = mlp_forward(net, x, normalised=point.get("batch_norm", True), mask=mask)
    if task.spaces is None:
        z = normalize(raw)
        z = jnp.where(jnp.isfinite(z), z, 0.0)  # a diverged run's embeddings; its loss says it diverged
        acc = knn_accuracy(z, y, labelled, task.num_classes(config), config.knn_k)
        return acc, embedding_effective_rank(z), z, y, labelled, history[-1]
    spaces = {"normalised outputs": lambda: normalize(raw), "raw outputs": lambda: raw,
              "last hidden layer": lambda: hidden_layer}
    zs = [spaces[name]() for name in task.spaces]
    zs = [jnp.where(jnp.all(jnp.isfinite(s)), s, 0.0) for s in zs]  # diverged: collapsed
    acc = jnp.stack([knn_accuracy(s, y, labelled, task.num_classes(config), config.knn_k, distances="gram")
                     for s in zs])
    rank = jnp.stack([embedding_effective_rank(s) for s in zs])
    return acc[None], rank[None]  # one checkpoint: the end of the run


#: The one compile cache of the training experiments: static settings -> jitted grid program.
_COMPILED: dict = {}


def program(key: tuple, build: Callable[[], Callable]) -> Callable:
    """The compiled program cached under ``key`` (hashable static settings), built by ``build()`` on first use.

    Every training program (the driver's tasks, the readings tasks) lives in this one cache, keyed by
    its task's name first (see :func:`grid_program`).

    Example:
        >>> f = program(("doc", 1), lambda: jax.jit(lambda a: a + 1))
        >>> f is program(("doc", 1), lambda: None), int(f(1))
        (True, 2)
    """
    if key not in _COMPILED:
        _COMPILED[key] = build()
    return _COMPILED[key]


def grid_program(task: Task, losses: str | tuple[str, ...], config, seeds: int):
    """The jitted grid of ``task`` over ``[point, seed]``, cached under ``(task.name, losses, config, seeds)``.

    With a loss set (tuple) it is ``f(dataset, loss_index, *point_args)``, the loss a traced
    ``lax.switch`` index; with one loss name (str) ``f(dataset, *point_args)``, the loss static (one
    program per loss). ``point_args`` are one array per name of ``task.point_args``.

    Example:
        >>> from simulations.training.synthetic import SYNTHETIC, SyntheticConfig
        >>> f = grid_program(SYNTHETIC, ("infonce",), SyntheticConfig(n=60, steps=3), 2)
        >>> f is _COMPILED[("synthetic", ("infonce",), SyntheticConfig(n=60, steps=3), 2)]
        True
    """
    def build():
        bank = prototype_bank(trial_keys(config.base_seed, seeds), task.num_classes(config), task.widths(config)[-1],
                              jnp.dtype(config.dtype))
        trial = functools.partial(_trial, task=task, losses=losses, config=config)
        return compile_grid(trial, config.base_seed, seeds, bank, shared=1 if isinstance(losses, str) else 2)

    return program((task.name, losses, config, seeds), build)


def check_points(task: Task, loss: str, points: Sequence[dict], seeds: int, config, loss_set: tuple[str, ...]) -> tuple:
    """Validate a call of :func:`run_points`; return the point arrays ``(lrs, lams, kind indices, similarity indices)``.

    Missing keys default to ``config.learning_rate``, 1.0, ``"orthonormal"``, ``"cosine"``.

    Raises:
        ValueError: naming the first bad argument (loss, prototypes, similarity, seeds, a learning
        rate that is not finite and > 0, or a :math:`\\lambda` that is not finite and >= 0); a config validates itself when built.
    """
    check_loss_names((loss, *loss_set), task.losses)
    if loss not in loss_set:
        raise ValueError(f"loss {loss!r} must be one of loss_set {loss_set}")
    if not points:
        raise ValueError("points must not be empty")
    if not isinstance(seeds, (int, np.integer)) or seeds < 1:
        raise ValueError(f"seeds must be an integer >= 1; got {seeds!r}")
    lrs = np.asarray([p.get("learning_rate", config.learning_rate) for p in points], float)
    lams = np.asarray([p.get("lambda", 1.0) for p in points], float)
    if not np.all(np.isfinite(lrs) & (lrs > 0)):
        raise ValueError(f"learning rates must be finite and > 0; got {lrs.tolist()}")
    if not np.all(np.isfinite(lams) & (lams >= 0)):
        raise ValueError(f"lambdas must be finite and >= 0; got {lams.tolist()}")
    kinds, sims = [p.get("prototypes", "orthonormal") for p in points], [p.get("similarity", "cosine") for p in points]
    for kind in kinds:
        if kind not in PROTOTYPES:
            raise ValueError(f"prototypes must be one of {', '.join(PROTOTYPES)}; got {kind!r}")
    for sim in sims:
        if sim not in SIMILARITIES:
            raise ValueError(f"similarity must be one of {', '.join(SIMILARITIES)}; got {sim!r}")
    return lrs, lams, np.asarray([PROTOTYPES.index(k) for k in kinds]), np.asarray([SIMILARITIES.index(s) for s in sims])


def run_points(task: Task, loss: str, points: Sequence[dict], seeds: int, config, *,
               loss_set: Sequence[str] | None = None) -> dict:
    r"""Train ``seeds`` encoders of ``task`` at each point ``{"learning_rate", "lambda", "prototypes", "similarity"}``.

    All points and seeds run in one jitted, vmapped call (trial t uses ``fold_in(key(base_seed), t)``);
    the loss is a traced index into ``loss_set`` (default ``(loss,)``, must contain ``loss``), one
    value for the whole call, so calls for different losses of one ``loss_set`` share a compilation.

    Returns:
        dict of NumPy arrays indexed ``[point, seed]``: ``accuracy`` (k-NN on the unlabelled rows),
        ``effective_rank``, ``final_loss``, ``finite`` (the final loss is finite: a run whose loss
        became non-finite has diverged and its accuracy means nothing); ``embeddings``
        ``[point, seed, n, d]``, ``labelled`` ``[point, seed, n]``, ``labels`` ``[seed, n]``; and
        ``seconds``.

    Raises:
        ValueError: see :func:`check_points`.

    Example:
        >>> from simulations.training.synthetic import SYNTHETIC, SyntheticConfig
        >>> r = run_points(SYNTHETIC, "infonce", [{"lambda": 0.0}, {"lambda": 1.0}], 2, SyntheticConfig(n=60, steps=3))
        >>> r["accuracy"].shape, r["embeddings"].shape, bool(r["finite"].all())
        ((2, 2), (2, 2, 60, 3), True)
    """
    points = [dict(p) for p in points]
    loss_set = (loss,) if loss_set is None else tuple(dict.fromkeys(loss_set))
    lrs, lams, kinds, sims = check_points(task, loss, points, seeds, config, loss_set)
    start = time.perf_counter()
    with blas_single_threaded():  # the evaluation's SVDs: OpenBLAS's own threads only spin here
        point_args, n_points = spread([jnp.asarray(lrs), jnp.asarray(lams), jnp.asarray(kinds), jnp.asarray(sims)])
        out = grid_program(task, loss_set, config, seeds)(
            *share((task.dataset(config), jnp.asarray(loss_set.index(loss)))), *point_args,
        )
        acc, erank, z, y, labelled, final = collect(out, n_points)
    return {
        "accuracy": acc,
        "effective_rank": erank,
        "final_loss": final,
        "finite": np.isfinite(final),
        "embeddings": z,
        "labelled": labelled,
        "labels": y[0],
        "seconds": time.perf_counter() - start,
    }


def point_row(result: dict, index, loss: str, clop: bool, prototypes: str, lam: float, similarity: str, **extra) -> dict:
    """The table row of grid point ``index`` of a :func:`run_points` result; diverged seeds are counted, not averaged.

    A seed whose final loss is not finite diverged: its accuracy and rank are left out of the means and
    of ``accuracies`` (the per-seed list), ``diverged`` counts them and ``seeds`` counts all; with every
    seed diverged the means are NaN.

    Example:
        >>> import numpy as np
        >>> r = {"accuracy": np.array([[0.9, 0.1]]), "effective_rank": np.array([[2.0, 1.0]]),
        ...      "finite": np.array([[True, False]])}
        >>> row = point_row(r, 0, "infonce", False, "orthonormal", 1.0, "cosine")
        >>> row["accuracy_mean"], row["accuracies"], row["diverged"], row["seeds"]
        (0.9, [0.9], 1, 2)
    """
    ok = np.asarray(result["finite"][index], bool)
    acc = result["accuracy"][index][ok] if ok.any() else np.full(1, np.nan)
    erank = result["effective_rank"][index][ok] if ok.any() else np.full(1, np.nan)
    extra = {"accuracies": result["accuracy"][index][ok].tolist(), "diverged": int((~ok).sum()), **extra}
    row = summary_row(loss, clop, prototypes, lam, similarity, acc, erank, **extra)
    row["seeds"] = int(ok.size)
    return row


def clop_table(
    task: Task,
    losses: Sequence[str],
    clop: Sequence[bool],
    seeds: int,
    config,
    *,
    prototypes: str = "orthonormal",
    lam: float = 1.0,
    similarity: str = "cosine",
    evaluate: Callable[[dict], dict] | None = None,
    row_extra: Callable[[str, bool, dict, int], dict] | None = None,
    progress: bool | None = None,
) -> dict:
    """Per loss, with and without CLOP: k-NN accuracy and effective rank over seeds, one compiled program.

    All losses share one program (the loss is a traced, unbatched ``lax.switch`` index).
    ``evaluate(result)`` may add task-specific evaluations to each :func:`run_points` result (e.g. a
    linear probe), and ``row_extra(loss, clop, result, j)`` task-specific fields to the row of point ``j``.
    ``progress`` shows one step per loss (see :func:`simulations.progress.progress`).

    Returns:
        ``{"results": [row, ...], "config": {...}, "seconds": float}``; each row as
        :func:`simulations.training.grid.summary_row` plus ``accuracies`` (per seed whose loss stayed
        finite) and ``diverged`` (seeds whose loss became non-finite: never reported as an accuracy,
        excluded from the means; ``seeds`` counts all).

    Raises:
        ValueError: empty ``clop``, a :math:`\\lambda` that is not finite and > 0, or see :func:`check_points`.

    Example:
        >>> from simulations.training.synthetic import SYNTHETIC, SyntheticConfig
        >>> t = clop_table(SYNTHETIC, ["infonce"], (False, True), 2, SyntheticConfig(n=60, steps=3))
        >>> [(r["loss"], r["clop"], r["seeds"], r["diverged"]) for r in t["results"]]
        [('infonce', False, 2, 0), ('infonce', True, 2, 0)]
    """
    from simulations.progress import progress as show_progress

    if not clop:
        raise ValueError("clop must name at least one of on/off")
    if not (math.isfinite(lam) and lam > 0):
        raise ValueError(f"lambda must be finite and > 0; got {lam}")
    start = time.perf_counter()
    points = [{"lambda": lam if c else 0.0, "prototypes": prototypes, "similarity": similarity} for c in clop]
    loss_set = tuple(dict.fromkeys(losses))
    rows = []
    for loss in show_progress(losses, desc=task.name, enabled=progress):
        r = run_points(task, loss, points, seeds, config, loss_set=loss_set)
        if evaluate is not None:
            r = evaluate(r)
        for j, c in enumerate(clop):
            extra = {"seconds": r["seconds"] / len(clop)}
            if row_extra is not None:
                extra.update(row_extra(loss, c, r, j))
            rows.append(point_row(r, j, loss, c, prototypes, lam, similarity, **extra))
    return {"results": rows, "config": as_dict(config), "seconds": time.perf_counter() - start}
