"""The config contract of every experiment: frozen, keyword-only dataclasses that validate themselves when built.

Every experiment config (:class:`simulations.training.synthetic.SyntheticConfig`,
:class:`simulations.training.digits.DigitsConfig`, :class:`simulations.training.readings.Setup`,
:class:`simulations.neural_collapse.model.UFMConfig`) is declared with :func:`experiment_config`:
``dataclasses.dataclass(frozen=True, kw_only=True)`` whose ``__post_init__`` raises ``ValueError``
naming the first bad field, so an invalid config cannot exist. Configs are hashable (they key compile
caches) and compare equal only to a config of the same class. Change a field with
``dataclasses.replace(config, field=value)`` (validated again); :func:`as_dict` gives the plain dict a
result's metadata records and ``Config(**as_dict(config))`` rebuilds it.

**Vocabulary.** One name per idea, whichever experiment uses it:

=================== ==================================================================================
field               meaning
=================== ==================================================================================
``num_classes``     classes (prototypes, k-NN votes)
``n``               samples in the data set (all classes together)
``samples_per_class`` samples of each class (the unconstrained-features model, where it is the size)
``embed_dim``       dimension of the embeddings (the encoder's output; the synthetic data live in it too)
``hidden``          width of the encoder's hidden layers (readings: the widest; narrower widths are masked)
``noise_var``       variance of the Gaussian noise of the data
``aug_noise_var``   variance of the Gaussian noise added to each view (synthetic)
``aug_noise_std``   standard deviation of the Gaussian noise added to each view (digits, free features)
``label_fraction``  fraction of samples whose label CLOP and the evaluation classifiers see
``steps``           optimiser steps of a run (readings: the program's length)
``batch_size``      samples per minibatch (``None``: the whole data set)
``learning_rate``   optimiser step size; ``optimizer`` ``"adam"`` or ``"sgd"``; ``tau`` the temperature
``knn_k``           neighbours of the k-NN classifier
``base_seed``       root of the trial keys; ``dtype`` ``"float32"`` or ``"float64"``
``subsample``       keep the first rows of a loaded data set (tests)
=================== ==================================================================================
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any, Iterable

__all__ = ["experiment_config", "as_dict", "check_int", "check_real", "check_choice", "check_fraction", "check_training",
           "OPTIMIZERS", "DTYPES"]


def experiment_config(cls):
    """Declare ``cls`` a frozen, keyword-only, hashable dataclass (its ``__post_init__`` validates it).

    Example:
        >>> @experiment_config
        ... class Demo:
        ...     steps: int = 1
        ...     def __post_init__(self):
        ...         check_int("steps", self.steps, 1)
        >>> Demo(steps=3), hash(Demo()) == hash(Demo())
        (Demo(steps=3), True)
        >>> Demo(steps=0)
        Traceback (most recent call last):
        ...
        ValueError: steps must be an integer >= 1; got 0
    """
    return dataclasses.dataclass(frozen=True, kw_only=True)(cls)


def as_dict(config) -> dict:
    """The fields of ``config`` as a plain dict (``type(config)(**as_dict(config)) == config``).

    Example:
        >>> from simulations.training.digits import DigitsConfig
        >>> as_dict(DigitsConfig())["embed_dim"], DigitsConfig(**as_dict(DigitsConfig())) == DigitsConfig()
        (32, True)
    """
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}


def check_int(name: str, value: Any, low: int, high: int | None = None) -> None:
    """Raise ValueError unless ``value`` is an integer in ``[low, high]`` (``high`` None: no upper bound).

    Example:
        >>> check_int("knn_k", 5, 1)
        >>> check_int("width", 70, 1, 64)
        Traceback (most recent call last):
        ...
        ValueError: width must be an integer in [1, 64]; got 70
    """
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= low and (high is None or value <= high)
    if not ok:
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an integer {bound}; got {value!r}")


def check_real(name: str, value: Any, *, low: float = 0.0, low_open: bool = True) -> None:
    """Raise ValueError unless ``value`` is a finite number above ``low`` (or at it when ``low_open`` is False).

    Example:
        >>> check_real("tau", 0.5)
        >>> check_real("learning_rate", float("inf"))
        Traceback (most recent call last):
        ...
        ValueError: learning_rate must be a finite number > 0; got inf
    """
    number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not (number and math.isfinite(value) and (value > low if low_open else value >= low)):
        raise ValueError(f"{name} must be a finite number {'>' if low_open else '>='} {low:g}; got {value!r}")


def check_fraction(name: str, value: Any) -> None:
    """Raise ValueError unless ``0 < value < 1``.

    Example:
        >>> check_fraction("label_fraction", 1.0)
        Traceback (most recent call last):
        ...
        ValueError: label_fraction must be in (0, 1); got 1.0
    """
    if not (isinstance(value, numbers.Real) and 0 < value < 1):
        raise ValueError(f"{name} must be in (0, 1); got {value!r}")


def check_choice(name: str, value: Any, choices: Iterable) -> None:
    """Raise ValueError unless ``value`` is one of ``choices``.

    Example:
        >>> check_choice("optimizer", "rmsprop", ("adam", "sgd"))
        Traceback (most recent call last):
        ...
        ValueError: optimizer must be one of adam, sgd; got 'rmsprop'
    """
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(str, choices))}; got {value!r}")


OPTIMIZERS = ("adam", "sgd")
DTYPES = ("float32", "float64")


def check_training(config) -> None:
    """Validate the fields an encoder-training config shares (those of the vocabulary it has).

    ``label_fraction`` in (0, 1); ``steps``, ``hidden``, ``embed_dim``, ``knn_k`` integers >= 1;
    ``batch_size`` None or an integer >= 2; ``learning_rate`` and ``tau`` finite and > 0; ``optimizer``
    adam or sgd; ``base_seed`` an integer >= 0; ``dtype`` float32 or float64.

    Example:
        >>> from simulations.training.digits import DigitsConfig
        >>> check_training(DigitsConfig())
        >>> DigitsConfig(tau=0.0)
        Traceback (most recent call last):
        ...
        ValueError: tau must be a finite number > 0; got 0.0
    """
    has = lambda name: hasattr(config, name)  # noqa: E731
    if has("label_fraction"):
        check_fraction("label_fraction", config.label_fraction)
    for name in ("steps", "hidden", "embed_dim", "knn_k"):
        if has(name):
            check_int(name, getattr(config, name), 1)
    if has("batch_size") and config.batch_size is not None:
        check_int("batch_size", config.batch_size, 2)
    for name in ("learning_rate", "tau"):
        if has(name):
            check_real(name, getattr(config, name))
    if has("optimizer"):
        check_choice("optimizer", config.optimizer, OPTIMIZERS)
    if has("base_seed"):
        check_int("base_seed", config.base_seed, 0)
    if has("dtype"):
        check_choice("dtype", config.dtype, DTYPES)
