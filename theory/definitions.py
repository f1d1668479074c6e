r"""Facts every layer shares, defined once: rule names, the rule/temperature check, the collapse criterion
of the training experiments and the difference of two seed means.

The library (:mod:`simulations.collapse.dynamics`, :mod:`theory.stability`,
:mod:`simulations.training.readings`), the claims (:mod:`claims.clop_claims`) and the command line
(:mod:`clop_verify.validation`) import these names instead of restating them. The module imports only
NumPy (no JAX, no sympy), so reading a result or printing ``--help`` does not start JAX.

Example:
    >>> RULES, TEMPERATURE_RULES
    (('paper', 'autodiff', 'infonce'), ('infonce',))
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

__all__ = ["RULES", "TEMPERATURE_RULES", "check_rule_tau", "COLLAPSE_RANK", "mean_difference"]

#: The update rules of the collapse dynamics (paper 001 Appendix D as written, gradient descent through
#: the normalisation, InfoNCE), understood by :func:`simulations.step`, :func:`simulations.simulate`
#: and the calculators of :mod:`theory.stability`.
RULES: tuple[str, ...] = ("paper", "autodiff", "infonce")

#: The rules that take a temperature :math:`\tau`; every other rule has none.
TEMPERATURE_RULES: tuple[str, ...] = ("infonce",)


def check_rule_tau(rule: str, tau=None, *, names: tuple[str, str] = ("rule", "tau")) -> None:
    r"""Validate an update rule and its temperature: ``tau`` for :data:`TEMPERATURE_RULES` only, finite and > 0.

    A temperature given to a rule without one is refused rather than ignored: a caller who passes it
    believes it changes the run. ``tau`` may be an array (every entry is checked).

    Args:
        rule: one of :data:`RULES`.
        tau: the temperature, or ``None``.
        names: how the two arguments are called in the messages (``("--rule", "--tau")`` on the command line).

    Raises:
        ValueError: naming the argument and the accepted values.

    Example:
        >>> check_rule_tau("infonce", 0.5)
        >>> check_rule_tau("paper")
        >>> check_rule_tau("paper", 0.5)
        Traceback (most recent call last):
        ...
        ValueError: tau applies only to rule infonce (rule paper has no temperature); got tau 0.5
        >>> check_rule_tau("infonce", names=("--rule", "--tau"))
        Traceback (most recent call last):
        ...
        ValueError: --tau must be a finite real number > 0 for --rule infonce (the InfoNCE temperature); got none
        >>> check_rule_tau("infonce", 1e-320)
        Traceback (most recent call last):
        ...
        ValueError: tau must be at least 5.56e-309 for rule infonce (1/tau must be a finite float); got 1e-320
    """
    rule_name, tau_name = names
    if rule not in RULES:
        raise ValueError(f"{rule_name} must be one of {', '.join(RULES)}; got {rule!r}")
    if rule not in TEMPERATURE_RULES:
        if tau is not None:
            shown = f"{tau:g}" if isinstance(tau, (int, float)) and not isinstance(tau, bool) else repr(tau)
            raise ValueError(f"{tau_name} applies only to {rule_name} {' / '.join(TEMPERATURE_RULES)} "
                             f"(rule {rule} has no temperature); got {tau_name} {shown}")
        return
    try:
        value = np.asarray(tau, dtype=float)
    except (TypeError, ValueError):
        value = np.asarray(math.nan)
    if tau is None or isinstance(tau, bool) or not np.all(np.isfinite(value)) or np.any(value <= 0):
        got = "none" if tau is None else repr(tau)
        raise ValueError(f"{tau_name} must be a finite real number > 0 for {rule_name} {rule} "
                         f"(the InfoNCE temperature); got {got}")
    with np.errstate(divide="ignore", over="ignore"):
        if not np.all(np.isfinite(1.0 / value)):
            raise ValueError(f"{tau_name} must be at least {1 / np.finfo(float).max:.3g} for {rule_name} {rule} "
                             f"(1/tau must be a finite float); got {tau!r}")


#: A trained network's run collapses when the effective rank of its normalised embeddings is below this
#: (complete or rank-1 collapse: nearer a line than a plane; all equal gives 1), or when it diverged.
#: Fixed before any sweep was run (:func:`simulations.training.readings.collapse_summary`, the claims
#: ``final.lr_collapse`` and ``final.network_threshold``).
COLLAPSE_RANK: float = 1.5


def mean_difference(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    r"""Difference of the means of two independent samples (seeds) and its standard error.

    .. math:: \Delta = \bar a - \bar b,\qquad \mathrm{se} = \sqrt{s_a^2/n_a + s_b^2/n_b}

    with :math:`s^2` the sample variance (``ddof=1``; 0 for a single value).

    Example:
        >>> mean_difference([1.0, 1.0], [0.5, 0.5])
        (0.5, 0.0)
        >>> d, se = mean_difference([0.9, 0.92, 0.91], [0.5, 0.52, 0.51])
        >>> round(d, 6), round(se, 6)
        (0.4, 0.008165)
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    var = lambda v: float(np.var(v, ddof=1)) if v.size > 1 else 0.0  # noqa: E731
    return float(a.mean() - b.mean()), float(np.sqrt(var(a) / a.size + var(b) / b.size))
