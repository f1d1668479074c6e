"""The synthetic 3-D experiment of paper 001 (Section 4, Figure 5, Appendix B Table 5) and its ablations.

**Data** (:func:`make_synthetic_data`): ``n = 500`` points in :math:`\\mathbb R^3`, three classes of
sizes 167/167/166 (sample i has class i mod 3). Class c has a unit direction :math:`u_c`; a sample is
:math:`x = t\\,u_c + \\xi` with :math:`\\xi\\sim\\mathcal N(0, 0.05\\,I_3)` (variance 0.05): each class
lies on its own line through the origin (paper 002, Section 3: "three distinct rank-1 linear
subspaces"; points of one class may point in opposite directions). Default: the directions are a
random orthonormal frame per seed and :math:`t = \\pm 1` (``positions="sign"``). The papers do not say
how directions and positions are drawn; this is the reading under which Table 5's accuracies with
CLOP (99.89-100%) are reachable at all: with random directions and :math:`t\\sim U(-1, 1)`
(``directions="random", positions="uniform"``) points near the origin are ambiguous and a 5-NN on
ideal sign-invariant features :math:`\\hat x\\hat x^\\top` reaches only about 0.59. A random 10%
(50 samples) are labelled.

**Augmentation** (:func:`augment_synthetic`): :math:`x' = s\\,x + \\xi'`, :math:`s = \\pm1` with
probability 1/2 each, :math:`\\xi'\\sim\\mathcal N(0, 0.05\\,I_3)` (paper 001, Section 4).

**Network**: 3 dense layers 3 -> 64 -> 64 -> 3, batch norm (training mode, batch statistics) and ReLU
after the two hidden layers (:mod:`simulations.training.encoder`). **Training**: minibatches of 256 samples
(both views, 512 rows through the network), Adam, learning rate 1e-2, 300 steps, temperature 0.5;
CLOP adds :math:`\\lambda\\sum_{i\\in S\\cap B}(1 - \\cos(z_i, c_{y_i}))` over the labelled samples of
the batch (about 26 of 256; averaged over the two views) with orthonormal prototypes. These choices are ours: the papers give
none of them. **Evaluation**: the clean inputs go through the network (batch statistics of the 500
clean inputs), outputs are L2-normalised (the space the cosine losses and CLOP measure), a 5-nearest
-neighbour classifier is fitted on the 50 labelled and tested on the 450 others; the effective rank
(Roy & Vetterli) of the normalised outputs is reported beside it. Seeds are
``fold_in(key(base_seed), trial)``; every run is vmapped over seeds and over :math:`\\lambda`
(CLOP off is :math:`\\lambda = 0`) and learning rate, and the loss is a traced index shared by all
runs of a call (``lax.switch``), so one compilation serves a whole table, every loss included.
"""
from __future__ import annotations

import time
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from simulations.config import as_dict, check_choice, check_int, check_training, experiment_config
from simulations.training import driver
from simulations.training.losses import SIMILARITIES, normalize, orthonormal_prototypes
from simulations.training.prototypes import PROTOTYPES

__all__ = [
    "SyntheticConfig",
    "PAPER_TABLE5",
    "TABLE5_LOSSES",
    "make_synthetic_data",
    "synthetic_points",
    "augment_synthetic",
    "run_points",
    "run_synthetic",
    "synthetic_table",
    "lr_sweep",
    "ablation_table",
]

#: KNN accuracies printed in paper 001, Appendix B, Table 5 (without, with CLOP).
PAPER_TABLE5 = {
    "infonce": {"without": 0.6891, "with": 0.9989},
    "dcl": {"without": 0.8856, "with": 1.0},
    "vicreg": {"without": 0.9864, "with": 0.9996},
    "barlow_twins": {"without": 0.8250, "with": 1.0},
}

#: The four losses of Table 5.
TABLE5_LOSSES = tuple(PAPER_TABLE5)


@experiment_config
class SyntheticConfig:
    """Every setting of the synthetic experiment (defaults as documented in the module docstring).

    Field names follow :mod:`simulations.config`; the data lie in R^embed_dim and the encoder maps
    them back to it (3 -> 64 -> 64 -> 3 by default).

    Raises:
        ValueError: naming the first bad field, when built.

    Example:
        >>> SyntheticConfig(num_classes=4)
        Traceback (most recent call last):
        ...
        ValueError: num_classes must be an integer in [2, 3]; got 4
    """

    n: int = 500
    num_classes: int = 3
    embed_dim: int = 3
    directions: str = "orthonormal"
    positions: str = "sign"
    noise_var: float = 0.05
    aug_noise_var: float = 0.05
    flip_prob: float = 0.5
    hidden: int = 64
    label_fraction: float = 0.1
    steps: int = 300
    batch_size: int | None = 256
    learning_rate: float = 1e-2
    optimizer: str = "adam"
    tau: float = 0.5
    knn_k: int = 5
    base_seed: int = 0
    dtype: str = "float32"

    def __post_init__(self):
        check_int("embed_dim", self.embed_dim, 2)
        check_int("num_classes", self.num_classes, 2, self.embed_dim)
        check_int("n", self.n, 2 * self.num_classes)
        if round(self.label_fraction * self.n) < self.knn_k:
            raise ValueError(f"label_fraction * n must be >= knn_k={self.knn_k}; got {self.label_fraction * self.n}")
        check_choice("directions", self.directions, ("orthonormal", "random"))
        check_choice("positions", self.positions, ("sign", "uniform"))
        check_training(self)


def make_synthetic_data(key: jax.Array, config: SyntheticConfig = SyntheticConfig()):
    r"""Points on ``num_classes`` lines through the origin plus Gaussian noise, with a labelled mask.

    .. math:: x_i = t_i\,u_{y_i} + \xi_i,\quad \xi_i\sim\mathcal N(0,\sigma^2 I),\quad y_i = i \bmod k

    with :math:`t_i = \pm 1` with equal probability (``config.positions="sign"``, the default) or
    :math:`t_i\sim U(-1, 1)` (``"uniform"``), and directions :math:`u_c` a random orthonormal frame
    (``config.directions="orthonormal"``, the default) or independent random unit vectors (``"random"``).

    Args:
        key: data key.
        config: sizes and noise variance :math:`\sigma^2`.

    Returns:
        ``(x, y, labelled)``: ``(n, embed_dim)`` inputs, ``(n,)`` labels, ``(n,)`` booleans (exactly
        ``round(label_fraction * n)`` true).

    Example (jitted, as the experiments call it: one compilation instead of one per operation):
        >>> import jax
        >>> x, y, lab = jax.jit(lambda k: make_synthetic_data(k, SyntheticConfig()))(jax.random.key(0))
        >>> x.shape, int(y.max()), int(lab.sum())
        ((500, 3), 2, 50)
    """
    return _task_data(key, config, {})


def _pick(flag, if_true, if_false):
    """``if_true()`` or ``if_false()``: the one named by a Python bool, or both computed and one selected by a traced flag."""
    if isinstance(flag, bool):
        return if_true() if flag else if_false()
    return jnp.where(flag, if_true(), if_false())


def synthetic_points(key: jax.Array, *, n: int, num_classes: int, embed_dim: int, noise_var: float,
                     label_fraction: float, random_directions, uniform_positions, dtype=jnp.float32):
    r"""The data of :func:`make_synthetic_data` from its sizes; the two kinds may be traced booleans.

    ``random_directions`` and ``uniform_positions`` are Python bools (one kind computed) or traced
    booleans (the readings programs: both kinds computed from the same keys, one selected), with the
    same values either way.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> sizes = dict(n=30, num_classes=3, embed_dim=3, noise_var=0.05, label_fraction=0.2)
        >>> a = synthetic_points(jax.random.key(0), random_directions=False, uniform_positions=True, **sizes)
        >>> b = synthetic_points(jax.random.key(0), random_directions=jnp.asarray(False),
        ...                      uniform_positions=jnp.asarray(True), **sizes)
        >>> all(bool(jnp.all(u == v)) for u, v in zip(a, b)), int(a[2].sum())
        (True, 6)
    """
    kd, kt, kn, kl = jax.random.split(key, 4)
    directions = _pick(random_directions,
                       lambda: normalize(jax.random.normal(kd, (num_classes, embed_dim), dtype)),
                       lambda: orthonormal_prototypes(kd, num_classes, embed_dim).astype(dtype))
    y = jnp.arange(n) % num_classes
    t = _pick(uniform_positions,
              lambda: jax.random.uniform(kt, (n, 1), dtype, -1.0, 1.0),
              lambda: jnp.where(jax.random.bernoulli(kt, 0.5, (n, 1)), -1.0, 1.0).astype(dtype))
    noise = jnp.sqrt(jnp.asarray(noise_var, dtype)) * jax.random.normal(kn, (n, embed_dim), dtype)
    x = t * directions[y] + noise
    n_lab = round(label_fraction * n)
    labelled = jnp.zeros(n, bool).at[jax.random.permutation(kl, n)[:n_lab]].set(True)
    return x, y, labelled


def augment_synthetic(key: jax.Array, x: jax.Array, noise_var: float = 0.05, flip_prob: float = 0.5) -> jax.Array:
    r"""Random sign flip and additive Gaussian noise: :math:`x' = s\,x + \xi`, :math:`P(s=-1) = p`.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> v = augment_synthetic(jax.random.key(0), jnp.ones((1000, 3)), noise_var=0.0)
        >>> bool(jnp.all(jnp.abs(v) == 1.0)), 0.4 < float((v[:, 0] < 0).mean()) < 0.6
        (True, True)
    """
    ks, kn = jax.random.split(key)
    sign = jnp.where(jax.random.bernoulli(ks, flip_prob, (x.shape[0], 1)), -1.0, 1.0).astype(x.dtype)
    noise = jnp.sqrt(jnp.asarray(noise_var, x.dtype)) * jax.random.normal(kn, x.shape, x.dtype)
    return sign * x + noise


def _task_data(key: jax.Array, config, point: dict):
    """:func:`make_synthetic_data`, the kinds taken from the point's traced flags ``dir_random`` and
    ``pos_uniform`` where it has them (the readings), else from ``config.directions``/``config.positions``."""
    return synthetic_points(
        key, n=config.n, num_classes=config.num_classes, embed_dim=config.embed_dim, noise_var=config.noise_var,
        label_fraction=config.label_fraction,
        random_directions=point["dir_random"] if "dir_random" in point else config.directions == "random",
        uniform_positions=point["pos_uniform"] if "pos_uniform" in point else config.positions == "uniform",
        dtype=jnp.dtype(config.dtype))


#: The synthetic experiment as a task of the shared driver: data made from the trial key (the kinds of
#: directions and positions from the config, or traced in the point), sign-flip and noise views, encoder
#: embed_dim -> hidden -> hidden -> embed_dim.
SYNTHETIC = driver.Task(
    name="synthetic",
    losses=("infonce", "dcl", "vicreg", "barlow_twins", "supcon"),
    dataset=lambda config: None,
    data=lambda key, dataset, config, point: _task_data(key, config, point),
    augment=lambda key, x, config: augment_synthetic(key, x, config.aug_noise_var, config.flip_prob),
    widths=lambda config: (config.embed_dim, config.hidden, config.hidden, config.embed_dim),
    num_classes=lambda config: config.num_classes,
)


def run_points(
    loss: str,
    points: Sequence[dict],
    seeds: int = 10,
    config: SyntheticConfig = SyntheticConfig(),
    *,
    loss_set: Sequence[str] | None = None,
) -> dict:
    r"""Train ``seeds`` networks at each point ``{"learning_rate", "lambda", "prototypes", "similarity"}``.

    :func:`simulations.training.driver.run_points` on the :data:`SYNTHETIC` task: all points and seeds
    in one jitted, vmapped call, the loss a traced index into ``loss_set``.

    Example:
        >>> r = run_points("infonce", [{"lambda": 0.0}, {"lambda": 1.0}], seeds=2,
        ...                config=SyntheticConfig(n=60, steps=3))
        >>> r["accuracy"].shape, r["embeddings"].shape
        ((2, 2), (2, 2, 60, 3))
    """
    return driver.run_points(SYNTHETIC, loss, points, seeds, config, loss_set=loss_set)


def run_synthetic(
    loss: str,
    lams: Sequence[float],
    seeds: int = 10,
    config: SyntheticConfig = SyntheticConfig(),
    *,
    prototypes: str = "orthonormal",
    similarity: str = "cosine",
    learning_rates: Sequence[float] | None = None,
    loss_set: Sequence[str] | None = None,
) -> dict:
    r"""Train ``seeds`` networks for each (learning rate, :math:`\lambda`) pair (see :func:`run_points`).

    Returns:
        As :func:`run_points`, with the point axis split into ``[lr, lam]`` and the grids under
        ``learning_rates`` and ``lams``.

    Example:
        >>> r = run_synthetic("infonce", [0.0, 1.0], seeds=2, config=SyntheticConfig(n=60, steps=3))
        >>> r["accuracy"].shape
        (1, 2, 2)
    """
    lrs = np.asarray([config.learning_rate] if learning_rates is None else learning_rates, float)
    lams_arr = np.asarray(lams, float)
    points = [
        {"learning_rate": lr, "lambda": lam, "prototypes": prototypes, "similarity": similarity}
        for lr in lrs for lam in lams_arr
    ]
    r = run_points(loss, points, seeds, config, loss_set=loss_set)
    grid = (len(lrs), len(lams_arr))
    for name in ("accuracy", "effective_rank", "final_loss", "finite", "embeddings", "labelled"):
        r[name] = r[name].reshape(grid + r[name].shape[1:])
    r["learning_rates"], r["lams"] = lrs, lams_arr
    return r


def synthetic_table(
    losses: Sequence[str] = TABLE5_LOSSES,
    clop: Sequence[bool] = (False, True),
    seeds: int = 10,
    config: SyntheticConfig = SyntheticConfig(),
    *,
    prototypes: str = "orthonormal",
    lam: float = 1.0,
    similarity: str = "cosine",
    keep_embeddings: bool = False,
    progress: bool | None = None,
) -> dict:
    """The Table 5 experiment: KNN accuracy and effective rank per loss, with and without CLOP.

    All losses run through one compiled program (the loss is a traced, unbatched ``lax.switch``
    index), so the table costs one compilation, not one per loss. ``progress`` shows one step per
    loss (see :func:`simulations.progress.progress`).

    Returns:
        ``{"results": [row, ...], "config": {...}, "seconds": float}``; each row has ``loss``,
        ``clop``, ``prototypes``, ``lambda``, ``similarity``, ``accuracy_mean``/``_std``,
        ``effective_rank_mean``/``_std``, ``seeds``, ``accuracies`` (per seed) and, for the losses of
        Table 5, ``paper_accuracy``; with ``keep_embeddings`` also ``embeddings`` of seed 0 and ``labels``.

    Example:
        >>> t = synthetic_table(["infonce"], seeds=2, config=SyntheticConfig(n=60, steps=3))
        >>> [(r["loss"], r["clop"], r["seeds"]) for r in t["results"]]
        [('infonce', False, 2), ('infonce', True, 2)]
    """
    def row_extra(loss, c, r, j):
        extra = {}
        if loss in PAPER_TABLE5:
            extra["paper_accuracy"] = PAPER_TABLE5[loss]["with" if c else "without"]
        if keep_embeddings:
            extra["embeddings"] = r["embeddings"][j, 0].tolist()
            extra["labels"] = r["labels"][0].tolist()
        return extra

    return driver.clop_table(SYNTHETIC, losses, clop, seeds, config, prototypes=prototypes, lam=lam,
                             similarity=similarity, row_extra=row_extra, progress=progress)


def lr_sweep(
    learning_rates: Sequence[float] = tuple(np.logspace(-3, 1, 9)),
    seeds: int = 5,
    config: SyntheticConfig = SyntheticConfig(optimizer="sgd"),
    *,
    loss: str = "infonce",
    lam: float = 1.0,
    prototypes: str = "orthonormal",
) -> dict:
    """Accuracy and effective rank against learning rate, with and without CLOP (learning-rate robustness).

    Default: InfoNCE, SGD with momentum 0.9, 9 learning rates log-spaced over [1e-3, 10], 5 seeds.

    Returns:
        ``{"learning_rates": [...], "results": [row per (clop, lr)], "config": {...}, "seconds"}``.

    Example:
        >>> s = lr_sweep([1.0], seeds=2, config=SyntheticConfig(n=60, steps=3))
        >>> [(r["clop"], r["learning_rate"]) for r in s["results"]]
        [(False, 1.0), (True, 1.0)]
    """
    start = time.perf_counter()
    r = run_synthetic(loss, [0.0, lam], seeds, config, prototypes=prototypes, learning_rates=learning_rates)
    rows = [
        driver.point_row(r, (i, j), loss, clop, prototypes, lam, "cosine", learning_rate=float(lr))
        for j, clop in enumerate((False, True)) for i, lr in enumerate(r["learning_rates"])
    ]
    return {
        "learning_rates": [float(v) for v in r["learning_rates"]],
        "results": rows,
        "config": as_dict(config),
        "seconds": time.perf_counter() - start,
    }


def ablation_table(
    seeds: int = 10,
    config: SyntheticConfig = SyntheticConfig(),
    *,
    loss: str = "infonce",
    lams: Sequence[float] = (0.1, 0.5, 1.0, 1.5),
) -> dict:
    """CLOP ablations on the synthetic data: prototype kind, lambda and similarity (paper 001 Tables 1-2).

    Returns:
        ``{"prototypes": [rows], "lambda": [rows], "similarity": [rows], "seconds"}``, rows as in
        :func:`synthetic_table`.

    Example:
        The prototype and similarity ablations alone (6 points) at the quick ``lr_sweep`` experiment's size
        (SGD, n = 120, 10 steps), whose compiled program the test suite already has:

        >>> a = ablation_table(seeds=2, config=SyntheticConfig(n=120, steps=10, optimizer="sgd"), lams=())
        >>> len(a["prototypes"]), len(a["lambda"]), len(a["similarity"])
        (3, 0, 3)
    """
    start = time.perf_counter()
    groups = {
        "prototypes": [{"prototypes": kind} for kind in PROTOTYPES],
        "lambda": [{"lambda": float(lam)} for lam in lams],
        "similarity": [{"similarity": sim} for sim in SIMILARITIES],
    }
    points = [p for group in groups.values() for p in group]
    r = run_points(loss, points, seeds, config)
    out: dict = {}
    i = 0
    for name, group in groups.items():
        out[name] = []
        for p in group:
            full = {"prototypes": "orthonormal", "lambda": 1.0, "similarity": "cosine", **p}
            out[name].append(driver.point_row(r, i, loss, True, full["prototypes"], full["lambda"], full["similarity"]))
            i += 1
    out["seconds"] = time.perf_counter() - start
    return out
