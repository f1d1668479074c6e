r"""Verdicts computed over several *readings* of a setup the paper leaves open (the network threshold).

The paired, preregistered rule of :mod:`claims.statistics` replaced this module's rule for the Table 5,
prototype and learning-rate claims; :func:`readings_verdict` now serves only
``final.network_threshold`` (004's open question), and :func:`reading_label` names readings everywhere.

Paper 001 describes its synthetic experiment (Section 4, Appendix B) in a few sentences; the data
geometry, optimiser, learning rate, temperature, normalisation, batch size, steps and the space the
5-NN runs in are left open. A verdict drawn from one choice of those would rest on the toolkit's
choice, not on the paper. So an experiment is run under several readings, each a dict
``{axis: value}`` of the choices that differ from the default, and each summarised as

``{"reading", "accuracy_without", "accuracy_with", "gain", "gain_standard_error", "seeds",
"effective_rank_without", "effective_rank_with"}``

(accuracies as fractions; the gain CLOP minus no CLOP over the same seeds, its standard error from
:func:`theory.definitions.mean_difference`). :func:`readings_verdict` turns that list into a verdict by one
stated rule (:data:`READINGS_RULE`):

.. math:: \text{reading } r \text{ reproduces} \iff |g_{printed} - g_r| \le 2\,\mathrm{se}_r .

``confirmed`` (for the readings that reproduce, named in the evidence) if one reading reproduces;
``refuted`` only when the papers fully specify the setup (a single admissible reading) and it does
not reproduce; ``not reproduced`` when none of several readings does; ``inconclusive`` with no
readings.
"""
from __future__ import annotations

from typing import Callable, Iterable, Sequence

import numpy as np

__all__ = ["READINGS_RULE", "READING_KEYS", "reproduces", "readings_verdict", "closest_reading", "reading_label"]

#: The fields every reading summary carries (the issue's schema).
READING_KEYS = ("reading", "accuracy_without", "accuracy_with", "gain", "gain_standard_error", "seeds",
                "effective_rank_without", "effective_rank_with")

#: The rule, quoted into the ``Verdict rule:`` paragraphs of the claims that use it.
READINGS_RULE = (
    "a reading reproduces the printed gain g_p (with CLOP minus without, in accuracy) if |g_p - g| <= 2 se, "
    "with g our gain over the same seeds and se its standard error; confirmed (for the readings named in "
    "the evidence) if at least one reading tried reproduces (labelled sensitivity checks, which depart from "
    "the papers' words, are reported but never decide); refuted only if the papers fully specify the "
    "setup (one admissible reading) and that reading does not reproduce; not reproduced if several "
    "readings were tried and none reproduces; inconclusive if no reading was run."
)


def reading_label(reading: dict) -> str:
    """A short text for a reading: ``axis=value`` pairs, or ``default`` for the empty reading.

    Example:
        >>> reading_label({}), reading_label({"optimizer": "sgd", "learning_rate": 1.0})
        ('default', 'optimizer=sgd, learning_rate=1.0')
    """
    return ", ".join(f"{k}={v}" for k, v in reading.items()) or "default"


def reproduces(row: dict, printed_gain: float) -> bool:
    r"""Whether the printed gain lies within two of our standard errors of our gain under ``row``.

    .. math:: |g_{printed} - g| \le 2\,\mathrm{se}

    Example:
        >>> reproduces({"gain": 0.30, "gain_standard_error": 0.02}, 0.31)
        True
        >>> reproduces({"gain": 0.00, "gain_standard_error": 0.002}, 0.31)
        False
    """
    return bool(abs(printed_gain - row["gain"]) <= 2.0 * row["gain_standard_error"])


def closest_reading(readings: Sequence[dict], printed_without: float, printed_with: float) -> dict | None:
    r"""The reading whose two accuracies lie nearest the printed pair (Euclidean, accuracy units).

    .. math:: d_r = \sqrt{(a^{r}_{without}-a^{p}_{without})^2 + (a^{r}_{with}-a^{p}_{with})^2}

    Returns:
        ``{"reading", "distance", "accuracy_without", "accuracy_with", "gain"}`` or ``None`` if empty.

    Example:
        >>> rows = [{"reading": {}, "accuracy_without": 0.99, "accuracy_with": 0.99, "gain": 0.0},
        ...         {"reading": {"steps": 50}, "accuracy_without": 0.70, "accuracy_with": 0.98, "gain": 0.28}]
        >>> closest_reading(rows, 0.689, 0.999)["reading"]
        {'steps': 50}
    """
    if not readings:
        return None
    dist = [float(np.hypot(r["accuracy_without"] - printed_without, r["accuracy_with"] - printed_with))
            for r in readings]
    i = int(np.argmin(dist))
    r = readings[i]
    return {"reading": r["reading"], "distance": dist[i], "accuracy_without": r["accuracy_without"],
            "accuracy_with": r["accuracy_with"], "gain": r["gain"]}


def readings_verdict(readings: Iterable[dict], printed_gain: float | None, *, fully_specified: bool = False,
                     criterion: Callable[[dict], bool] | None = None) -> tuple[str, dict]:
    """The verdict over readings by :data:`READINGS_RULE`, and a summary for the evidence.

    Args:
        readings: reading summaries with at least ``reading``, ``gain``, ``gain_standard_error``. A row
            with ``"sensitivity": True`` reads the papers against their words (e.g. class subspaces of
            rank 2 where 002 says rank 1): it is reported but does not decide the verdict.
        printed_gain: the paper's gain (accuracy with CLOP minus without, as a fraction).
        fully_specified: the papers leave no choice open (then a single non-reproducing reading refutes).
        criterion: ``row -> bool``, whether a reading shows the printed effect, for claims whose printed
            effect is not a gain on this experiment (default: :func:`reproduces` with ``printed_gain``).

    Returns:
        ``(verdict, summary)``; ``summary`` has ``reproducing_readings`` (labels), ``readings_tried``,
        ``significant_gain_readings`` (gain > 2 se, whatever its size) and the rule.

    Raises:
        ValueError: if ``fully_specified`` is set with more than one reading.

    Example:
        >>> rows = [{"reading": {}, "gain": 0.0, "gain_standard_error": 0.002},
        ...         {"reading": {"steps": 50}, "gain": 0.30, "gain_standard_error": 0.02}]
        >>> readings_verdict(rows, 0.31)[0], readings_verdict(rows[:1], 0.31)[0]
        ('confirmed', 'not reproduced')
        >>> readings_verdict(rows[:1], 0.31, fully_specified=True)[0]
        'refuted'
    """
    everything = list(readings)
    readings = [r for r in everything if not r.get("sensitivity")]
    if fully_specified and len(readings) > 1:
        raise ValueError("a fully specified setup has one reading; got several")
    test = criterion or (lambda r: reproduces(r, printed_gain))
    hits = [r for r in readings if test(r)]
    significant = [reading_label(r["reading"]) for r in readings
                   if "gain" in r and r["gain"] > 2 * r["gain_standard_error"]]
    if not readings:
        verdict = "inconclusive"
    elif hits:
        verdict = "confirmed"
    elif fully_specified:
        verdict = "refuted"
    else:
        verdict = "not reproduced"
    return verdict, {
        "readings_tried": len(readings),
        "sensitivity_checks": [reading_label(r["reading"]) for r in everything if r.get("sensitivity")],
        "sensitivity_checks_reproducing": [reading_label(r["reading"]) for r in everything
                                           if r.get("sensitivity") and test(r)],
        "reproducing_readings": [reading_label(r["reading"]) for r in hits],
        "significant_gain_readings": significant,
        "printed_gain": printed_gain,
        "rule": READINGS_RULE,
    }
