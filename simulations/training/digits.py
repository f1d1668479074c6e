"""CLOP on a real dataset no one here made: scikit-learn's handwritten digits (1797 8x8 images, 10 classes).

**Data**: ``sklearn.datasets.load_digits`` (ships with scikit-learn, no download), pixels scaled to
[0, 1]. Per seed, a random 10% of the samples (180) are labelled; the CLOP term (paper 001, Eq. 4)
and the evaluation classifiers see only those labels. **Augmentation** (class-preserving): a random
shift of the 8x8 image by -1, 0 or +1 pixel along each axis (zero fill), then Gaussian pixel noise of
standard deviation 0.1. **Encoder**: MLP 64 -> 256 -> 256 -> 32 with batch norm (training mode) and
ReLU on the hidden layers. **Training**: SimCLR-style, minibatches of 256 samples (512 views), Adam,
learning rate 1e-3, 600 steps, temperature 0.5; losses InfoNCE and semi-supervised SupCon (labels of
the labelled samples, unlabelled ones positive only with their other view), each with and without
CLOP (orthonormal prototypes in R^32, lambda = 1, cosine). **Evaluation** on the L2-normalised
embeddings of the clean images: 5-NN and a linear probe (multinomial logistic regression,
scikit-learn) fitted on the labelled 10% and tested on the other 90%, plus the effective rank. The
same classifiers on the raw pixels give a reference row. Seeds and :math:`\\lambda` are vmapped and
the loss is a traced ``lax.switch`` index, so the whole table is one compilation.
"""
from __future__ import annotations

import functools
import time
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from simulations.config import as_dict, check_choice, check_int, check_real, check_training, experiment_config
from simulations.training.losses import normalize
from simulations.training import driver
from simulations.training.evaluation import knn_accuracy, linear_probe_accuracy
from simulations.training.grid import trial_keys

__all__ = [
    "DigitsConfig", "DIGITS_LOSSES", "load_digits_data", "augment_digits",
    "run_digits", "raw_pixel_baseline", "digits_table", "FAIR_ARMS", "digits_fair_baseline",
]

#: Losses of the digits experiment: InfoNCE (unsupervised) and SupCon (supervised).
DIGITS_LOSSES = ("infonce", "supcon")


@experiment_config
class DigitsConfig:
    """Every setting of the digits experiment (defaults as in the module docstring; names as in :mod:`simulations.config`).

    Raises:
        ValueError: naming the first bad field, when built.

    Example:
        >>> DigitsConfig(embed_dim=8)
        Traceback (most recent call last):
        ...
        ValueError: embed_dim must be an integer >= 10; got 8
    """

    label_fraction: float = 0.1
    hidden: int = 256
    embed_dim: int = 32
    steps: int = 600
    batch_size: int = 256
    learning_rate: float = 1e-3
    optimizer: str = "adam"
    tau: float = 0.5
    aug_noise_std: float = 0.1
    max_shift: int = 1
    knn_k: int = 5
    base_seed: int = 0
    subsample: int | None = None
    dtype: str = "float32"

    def __post_init__(self):
        check_int("embed_dim", self.embed_dim, 10)  # one orthonormal prototype per digit
        check_choice("max_shift", self.max_shift, (0, 1, 2))
        check_real("aug_noise_std", self.aug_noise_std, low_open=False)
        if self.subsample is not None:
            check_int("subsample", self.subsample, 1)
        check_training(self)


@functools.lru_cache(maxsize=4)
def load_digits_data(subsample: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The scikit-learn digits, pixels scaled to [0, 1]; ``subsample`` keeps the first rows (for tests).

    Example:
        >>> x, y = load_digits_data()
        >>> x.shape, y.shape, float(x.max()), sorted(set(y.tolist())) == list(range(10))
        ((1797, 64), (1797,), 1.0, True)
    """
    from sklearn.datasets import load_digits

    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    y = data.target.astype(np.int32)
    if subsample is not None:
        x, y = x[:subsample], y[:subsample]
    return x, y


def augment_digits(key: jax.Array, x: jax.Array, noise_std: float = 0.1, max_shift: int = 1) -> jax.Array:
    r"""Shift each 8x8 image by a random :math:`(\delta_r, \delta_c)\in\{-s..s\}^2` (zero fill), add noise.

    .. math:: x'(r, c) = x(r - \delta_r, c - \delta_c) + \sigma\,\xi_{rc}

    Example:
        >>> import jax, jax.numpy as jnp
        >>> img = jnp.zeros((1, 64)).at[0, 27].set(1.0)      # one lit pixel at (3, 3)
        >>> out = augment_digits(jax.random.key(0), img, noise_std=0.0)
        >>> float(out.sum()), int(jnp.argmax(out[0])) in {18, 19, 20, 26, 27, 28, 34, 35, 36}
        (1.0, True)
    """
    ks, kn = jax.random.split(key)
    n = x.shape[0]
    shifts = jax.random.randint(ks, (n, 2), 0, 2 * max_shift + 1)
    padded = jnp.pad(x.reshape(n, 8, 8), ((0, 0), (max_shift, max_shift), (max_shift, max_shift)))

    def crop(img, s):
        return jax.lax.dynamic_slice(img, (s[0], s[1]), (8, 8))

    shifted = jax.vmap(crop)(padded, shifts).reshape(n, 64)
    return shifted + noise_std * jax.random.normal(kn, shifted.shape, x.dtype)


def _labelled_mask(k_lab: jax.Array, n: int, n_lab: int) -> jax.Array:
    """The trial's labelled samples: the first ``n_lab`` of a random permutation of ``range(n)``."""
    return jnp.zeros(n, bool).at[jax.random.permutation(k_lab, n)[:n_lab]].set(True)


@functools.partial(jax.jit, static_argnames=("n_lab", "knn_k"))
def _raw_knn(keys: jax.Array, z: jax.Array, y: jax.Array, *, n_lab: int, knn_k: int):
    """Each trial's labelled mask (as in :func:`simulations.training.driver._trial`) and the k-NN accuracy of ``z`` under it, in one program."""

    def one(key):
        labelled = _labelled_mask(jax.random.split(key, 4)[0], z.shape[0], n_lab)
        return labelled, knn_accuracy(z, y, labelled, 10, knn_k)

    return jax.vmap(one)(keys)


def _digits_dataset(config: "DigitsConfig"):
    x, y = load_digits_data(config.subsample)
    return jnp.asarray(x, jnp.dtype(config.dtype)), jnp.asarray(y)


def _digits_data(key: jax.Array, dataset, config: "DigitsConfig", point: dict | None = None):
    x, y = dataset
    return x, y, _labelled_mask(key, x.shape[0], round(config.label_fraction * x.shape[0]))


#: The digits experiment as a task of the shared driver: the loaded images are an argument of the
#: compiled program; the trial key picks the labelled 10 %; shift-and-noise views; encoder 64 -> 256
#: -> 256 -> 32.
DIGITS = driver.Task(
    name="digits",
    losses=DIGITS_LOSSES,
    dataset=_digits_dataset,
    data=_digits_data,
    augment=lambda key, x, config: augment_digits(key, x, config.aug_noise_std, config.max_shift),
    widths=lambda config: (64, config.hidden, config.hidden, config.embed_dim),
    num_classes=lambda config: 10,
)


def run_digits(loss: str, lams: Sequence[float], seeds: int = 5, config: DigitsConfig = DigitsConfig(),
               prototypes: str = "orthonormal", *, loss_set: Sequence[str] | None = None) -> dict:
    """Train ``seeds`` encoders per :math:`\\lambda` (0 = no CLOP) in one vmapped call; evaluate them.

    The loss is a traced index into ``loss_set`` (default ``(loss,)``, must contain ``loss``), one
    value for the whole call, so calls for different losses of one ``loss_set`` share a compilation
    and only the chosen loss runs.

    Returns:
        dict with arrays ``[lam, seed]``: ``knn_accuracy``, ``linear_probe_accuracy`` (NaN for a
        diverged seed), ``effective_rank``, ``final_loss``, ``finite``; and ``seconds``.

    Raises:
        ValueError: bad loss, prototypes, seeds, lambda or config.

    Example:
        >>> quick = DigitsConfig(steps=5, subsample=300)  # the quick experiments' size (one program for the suite)
        >>> r = run_digits("infonce", [0.0, 1.0], seeds=2, config=quick, loss_set=DIGITS_LOSSES)
        >>> r["knn_accuracy"].shape, r["linear_probe_accuracy"].shape
        ((2, 2), (2, 2))
    """
    lams_arr = np.asarray(lams, float)
    points = [{"lambda": lam, "prototypes": prototypes} for lam in lams_arr]
    r = with_linear_probe(driver.run_points(DIGITS, loss, points, seeds, config, loss_set=loss_set), config)
    return {"knn_accuracy": r["accuracy"], "linear_probe_accuracy": r["linear_probe"],
            "effective_rank": r["effective_rank"], "final_loss": r["final_loss"], "finite": r["finite"],
            "seconds": r["seconds"]}


def with_linear_probe(result: dict, config: DigitsConfig) -> dict:
    """Add ``linear_probe`` ``[point, seed]`` to a :func:`~simulations.training.driver.run_points` result (NaN where diverged).

    Example:
        >>> quick = DigitsConfig(steps=5, subsample=300)  # the quick experiments' size (one program for the suite)
        >>> points = [{"lambda": 0.0}, {"lambda": 1.0}]
        >>> r = driver.run_points(DIGITS, "infonce", points, 2, quick, loss_set=DIGITS_LOSSES)
        >>> with_linear_probe(r, quick)["linear_probe"].shape
        (2, 2)
    """
    _, y = load_digits_data(config.subsample)
    z, labelled, finite = result["embeddings"], result["labelled"], result["finite"]
    result["linear_probe"] = np.array([
        [linear_probe_accuracy(z[i, s], y, labelled[i, s]) if finite[i, s] else np.nan for s in range(z.shape[1])]
        for i in range(z.shape[0])
    ])
    return result


def raw_pixel_baseline(seeds: int = 5, config: DigitsConfig = DigitsConfig()) -> dict:
    """5-NN and linear-probe accuracy on the raw (L2-normalised) pixels, same labelled splits as training.

    Example:
        >>> raw_pixel_baseline(2, DigitsConfig(subsample=300))["knn_accuracy_mean"] > 0.3   # chance is 0.1
        True
    """
    x, y = load_digits_data(config.subsample)
    z = np.asarray(normalize(jnp.asarray(x)))
    masks, knn = _raw_knn(trial_keys(config.base_seed, seeds), jnp.asarray(z), jnp.asarray(y),
                          n_lab=round(config.label_fraction * x.shape[0]), knn_k=config.knn_k)
    masks, knn = np.asarray(masks), np.asarray(knn, float)
    probe = [linear_probe_accuracy(z, y, labelled) for labelled in masks]
    return {"knn_accuracy_mean": float(np.mean(knn)), "knn_accuracy_std": float(np.std(knn)),
            "linear_probe_mean": float(np.mean(probe)), "linear_probe_std": float(np.std(probe)), "seeds": seeds}


def digits_table(losses: Sequence[str] = DIGITS_LOSSES, clop: Sequence[bool] = (False, True), seeds: int = 5,
                 config: DigitsConfig = DigitsConfig(), *, prototypes: str = "orthonormal", lam: float = 1.0,
                 progress: bool | None = None) -> dict:
    """KNN and linear-probe accuracy per loss with and without CLOP, plus the raw-pixel reference.

    All losses share one compiled program (see :func:`run_digits`'s ``loss_set``). ``progress`` shows
    one step per loss (see :func:`simulations.progress.progress`).

    Returns:
        ``{"results": [row], "raw_pixels": {...}, "config": {...}, "seconds"}``; a row has the keys of
        the synthetic table (``accuracy_*`` is the 5-NN accuracy) plus ``linear_probe_mean``/``_std``
        and per-seed ``accuracies`` / ``linear_probe``.

    Example:
        >>> t = digits_table(DIGITS_LOSSES, seeds=2, config=DigitsConfig(steps=5, subsample=300))  # the quick size
        >>> [(r["loss"], r["clop"]) for r in t["results"]]
        [('infonce', False), ('infonce', True), ('supcon', False), ('supcon', True)]
    """
    def row_extra(loss, c, r, j):
        probe = r["linear_probe"][j][r["finite"][j]]
        return {"linear_probe_mean": float(np.mean(probe)) if probe.size else float("nan"),
                "linear_probe_std": float(np.std(probe)) if probe.size else float("nan"),
                "linear_probe": probe.tolist()}

    start = time.perf_counter()
    rows = driver.clop_table(DIGITS, losses, clop, seeds, config, prototypes=prototypes, lam=lam,
                             evaluate=lambda r: with_linear_probe(r, config), row_extra=row_extra,
                             progress=progress)["results"]
    return {"results": rows, "raw_pixels": raw_pixel_baseline(seeds, config), "config": as_dict(config),
            "seconds": time.perf_counter() - start}


#: The arms of :func:`digits_fair_baseline`: name -> (loss, point). ``supcon`` is the label-matched
#: control (it sees the labels of the same labelled 10 % that CLOP sees); ``infonce`` sees no label.
FAIR_ARMS = {
    "infonce": ("infonce", {"lambda": 0.0}),
    "infonce+clop": ("infonce", {"lambda": 1.0, "prototypes": "orthonormal"}),
    "infonce+clop_etf": ("infonce", {"lambda": 1.0, "prototypes": "etf"}),
    "infonce+clop_random": ("infonce", {"lambda": 1.0, "prototypes": "random"}),
    "supcon": ("supcon", {"lambda": 0.0}),
    "supcon+clop": ("supcon", {"lambda": 1.0, "prototypes": "orthonormal"}),
}


def digits_fair_baseline(seeds: int = 5, config: DigitsConfig = DigitsConfig(), *, lam: float = 1.0,
                         arms: Sequence[str] = tuple(FAIR_ARMS)) -> dict:
    r"""CLOP on the digits against label-matched and prototype controls, paired by seed.

    CLOP's term :math:`\lambda\sum_{i\in S}(1 - s(z_i, c_{y_i}))` uses the labels of the labelled 10 % S;
    plain InfoNCE never sees them, so "InfoNCE + CLOP beats InfoNCE" mixes the effect of the prototypes
    with the effect of the labels. The arms of :data:`FAIR_ARMS` separate them: SupCon on the same S
    (label-matched), and CLOP with simplex-ETF or random prototypes instead of orthonormal ones. Every
    arm runs through the shared driver (:data:`DIGITS`) in the program :func:`digits_table` compiles (loss set
    :data:`DIGITS_LOSSES`, two points per call); trial t uses
    ``fold_in(key(base_seed), t)`` in every arm, so seed t has the same labelled set, initial network and
    prototype key in all arms and the arms are paired by seed. Evaluation as in :func:`digits_table`
    (5-NN and linear probe on the labelled 10 %, tested on the other 90 %).

    Returns:
        ``{"arms": {name: {"loss", "point", "knn", "linear_probe", "effective_rank", "finite"}}, "seeds",
        "config", "seconds"}``, per-seed lists (seed t at index t in every arm).

    Raises:
        ValueError: an unknown arm, or see :func:`simulations.training.driver.check_points`.

    Example:
        >>> quick = DigitsConfig(steps=5, subsample=300)  # the quick experiments' size (one program for the suite)
        >>> r = digits_fair_baseline(2, quick, arms=("infonce", "infonce+clop", "supcon", "supcon+clop"))
        >>> sorted(r["arms"]), len(r["arms"]["supcon"]["knn"])
        (['infonce', 'infonce+clop', 'supcon', 'supcon+clop'], 2)
    """
    unknown = [a for a in arms if a not in FAIR_ARMS]
    if unknown:
        raise ValueError(f"arms must be among {', '.join(FAIR_ARMS)}; got {', '.join(unknown)}")
    start = time.perf_counter()
    out: dict = {}
    for loss in dict.fromkeys(FAIR_ARMS[a][0] for a in arms):
        names = [a for a in arms if FAIR_ARMS[a][0] == loss]
        # Two points per call, the shape of digits_table's calls with the same loss set: every arm runs in
        # that one compiled program (a call with another number of points would compile a second one).
        for chunk in (names[i:i + 2] for i in range(0, len(names), 2)):
            points = [{**FAIR_ARMS[a][1], "lambda": lam if FAIR_ARMS[a][1]["lambda"] > 0 else 0.0} for a in chunk]
            r = with_linear_probe(driver.run_points(DIGITS, loss, points, seeds, config, loss_set=DIGITS_LOSSES),
                                  config)
            for j, name in enumerate(chunk):
                out[name] = {"loss": loss, "point": points[j], "knn": r["accuracy"][j].astype(float).tolist(),
                             "linear_probe": r["linear_probe"][j].astype(float).tolist(),
                             "effective_rank": r["effective_rank"][j].astype(float).tolist(),
                             "finite": r["finite"][j].tolist()}
    return {"arms": out, "seeds": seeds, "config": as_dict(config), "lambda": lam,
            "seconds": time.perf_counter() - start}
