r"""Paired estimation and one decision rule for the claims measured over seeds.

Every experimental claim of the toolkit compares runs *with* and *without* a change (CLOP, orthonormal
prototypes) over the **same seeds**: seed :math:`s` fixes the data, the initial network and the batch
order of both arms. The estimate is therefore built on the paired differences

.. math:: d_s = a^{with}_s - a^{without}_s,\qquad \bar d = \frac1n\sum_s d_s,\qquad
    \mathrm{se} = s_d/\sqrt n,\qquad \bar d \pm t_{0.975,\,n-1}\,\mathrm{se} ,

(:func:`paired_summary`), never on the two arms as if independent: the seed-to-seed spread that both
arms share cancels in :math:`d_s` (the unpaired standard error of the old rule was up to 6x larger on the
Table 5 data, see the tests). Each reading's one-sided p-value (in the direction the paper prints) is
adjusted for the readings a claim tries with Holm's step-down method (:func:`holm`). Counts over seeds
(how many runs collapsed) get exact Clopper-Pearson intervals (:func:`clopper_pearson`).

**The decision rule** (:data:`PAIRED_RULE`, :func:`paired_verdict`), fixed before the confirmatory runs
and quoted in each claim's ``Verdict rule:`` paragraph:

1. Each claim has one **primary reading**, written in ``claims/preregistration.toml`` and chosen from the
   pilot's *without* arm only (the reading whose baseline lies nearest the printed baseline); the other
   readings are sensitivity checks. Degenerate readings (both arms at chance and effective rank < 1.5:
   the network did not train) are failed runs: reported, never tried, never deciding.
2. A reading **shows the printed effect** when its gain is significant in the printed direction
   (Holm-adjusted one-sided p < 0.05 over the non-degenerate readings the claim tries) **and** the
   printed magnitude is compatible with ours: our 95 % interval meets the band
   :math:`[g_p/2,\ 2g_p]` (a factor 2 around the printed gain, the toolkit's reading of "around").
3. ``confirmed`` if the primary reading shows the effect. ``not reproduced`` if the primary's 95 %
   interval misses the band (ours is incompatible with the printed size, or has the other sign) and no
   sensitivity reading shows the effect. ``inconclusive`` otherwise: the primary's interval meets the
   band but the gain is not significant (the evidence states how many seeds would give 80 % power), or
   the effect shows only off the primary reading.

**Why this rule and not another.** The previous rule (``|g_p - g| <= 2 se`` under *any* reading) called
failure to reject a confirmation, so the noisier a reading the easier it confirmed and every added
reading could only move a verdict towards ``confirmed``; "2 se" at 4 degrees of freedom is an 88 %
interval. Requiring significance (not only compatibility) removes the reward for noise; requiring
compatibility (not only significance) keeps a tiny but significant gain from confirming a printed
31-point gain; the factor-2 band is stated once instead of the interval alone because with 20 seeds the
paired interval can be narrower than any reasonable reading of a number printed for a different code
base. One preregistered primary reading, chosen blind to the treatment arm, removes the garden of
forking paths of picking the best of 30 readings; Holm over the readings tried (primary included)
controls the family-wise error at 5 % without assuming independence between readings (they share
seeds), and is uniformly more powerful than Bonferroni. Sensitivity checks can only *weaken* a
verdict (a ``not reproduced`` becomes ``inconclusive`` when the effect appears elsewhere), so adding
readings never makes a confirmation easier. A fixed seed count per reading (pilot 5, primary readings
20), set before the confirmatory runs, needs no alpha spending; a sequential design would have saved
seeds but its stopping rule would be one more thing to get wrong.

Reference: paper 001 Appendix B (Table 5); Holm, *Scand. J. Statist.* 6
(1979) 65-70; Clopper & Pearson, *Biometrika* 26 (1934) 404-413.
"""
from __future__ import annotations

import functools
import math
from typing import Sequence

import numpy as np
from scipy import special, stats

__all__ = [
    "ALPHA", "BAND", "PAIRED_RULE", "paired_summary", "holm", "clopper_pearson", "seeds_for_power",
    "is_degenerate", "compatible", "reading_rows", "paired_verdict", "interval_side", "seeds_to_decide_rate", "RATIONALE",
]

#: Family-wise level of every test (one-sided).
ALPHA = 0.05

#: The equivalence band around the printed gain, as factors: compatible if our 95 % interval meets
#: ``[BAND[0] * g_p, BAND[1] * g_p]``.
BAND = (0.5, 2.0)

#: The rule, quoted into the ``Verdict rule:`` paragraphs of the claims that use :func:`paired_verdict`.
PAIRED_RULE = (
    "per reading, d_s = accuracy with - accuracy without over the same seeds; a reading shows the printed "
    "effect if its mean gain is significant in the printed direction (one-sided paired t, Holm-adjusted "
    "p < 0.05 over the non-degenerate readings the claim tries) and its 95% paired-t interval meets "
    "[g_p/2, 2 g_p] (g_p the printed gain); degenerate readings (both arms at chance, effective rank < 1.5) "
    "are failed training, not tried. The primary reading is fixed in claims/preregistration.toml, chosen "
    "from the pilot's without arm only (baseline nearest the printed baseline). Confirmed if the primary "
    "reading shows the effect; not reproduced if the primary's interval misses [g_p/2, 2 g_p] and no "
    "sensitivity reading shows it; inconclusive otherwise (the evidence gives the seeds for 80% power at the smallest compatible gain)."
)


def paired_summary(without: Sequence[float], with_: Sequence[float], direction: int = 1) -> dict:
    r"""Mean paired difference, its paired-t 95 % interval and the one-sided p-value in ``direction``.

    .. math:: d_s = w_s - o_s,\quad \bar d \pm t_{0.975,n-1}\, s_d/\sqrt n,\quad
        p = P(T_{n-1} \ge \operatorname{sign}\cdot \bar d/(s_d/\sqrt n))

    With :math:`s_d = 0` (every seed gives the same difference) the interval is the point and p is 0 if
    :math:`\bar d` lies in ``direction``, else 1.

    Args:
        without, with_: per-seed values of the two arms, paired by index (same seeds).
        direction: +1 to test a rise (the printed gain is positive), -1 to test a fall.

    Returns:
        ``{"n", "paired_mean", "paired_sd", "standard_error", "ci95": [lo, hi], "p_one_sided"}``.

    Raises:
        ValueError: arms of different lengths, fewer than 2 seeds, or ``direction`` not +-1.

    Example:
        >>> s = paired_summary([0.5, 0.6, 0.7], [0.6, 0.7, 0.9])
        >>> round(s["paired_mean"], 4), [round(v, 4) for v in s["ci95"]], round(s["p_one_sided"], 4)
        (0.1333, [-0.0101, 0.2768], 0.0286)

        By hand: d = (0.1, 0.1, 0.2), s_d = 0.0577, t = 4 on 2 df, p = (1 - 4/sqrt(18))/2 = 0.0286,
        t_{0.975,2} = 4.303.
    """
    a, b = np.asarray(without, float), np.asarray(with_, float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"the two arms must be 1-D and paired by index; got shapes {a.shape} and {b.shape}")
    if a.size < 2:
        raise ValueError(f"a paired interval needs at least 2 seeds; got {a.size}")
    if direction not in (1, -1):
        raise ValueError(f"direction must be +1 or -1; got {direction}")
    d = b - a
    n = d.size
    mean = float(d.mean())
    sd = float(d.std(ddof=1))
    se = sd / math.sqrt(n)
    if se == 0.0:
        ci = [mean, mean]
        p = 0.0 if direction * mean > 0 else 1.0
    else:
        half = _t_quantile_975(n - 1) * se
        ci = [mean - half, mean + half]
        p = float(special.stdtr(n - 1, -(direction * mean / se)))  # stats.t.sf(x, df) without its argument checks
    return {"n": n, "paired_mean": mean, "paired_sd": sd, "standard_error": se, "ci95": ci, "p_one_sided": p}


@functools.lru_cache(maxsize=None)
def _t_quantile_975(df: int) -> float:
    r""":math:`t_{0.975,\,df}`, computed once per degrees of freedom (``stats.t.ppf``)."""
    return float(stats.t.ppf(0.975, df))


def holm(pvalues: Sequence[float]) -> list[float]:
    r"""Holm's step-down adjusted p-values, in the input order.

    With :math:`p_{(1)}\le\dots\le p_{(m)}` sorted,

    .. math:: \tilde p_{(i)} = \min\Big(1,\ \max_{j\le i}\,(m - j + 1)\,p_{(j)}\Big);

    rejecting where :math:`\tilde p < \alpha` controls the family-wise error at :math:`\alpha` under any
    dependence between the tests.

    Example:
        >>> holm([0.01, 0.04, 0.03, 0.005])
        [0.03, 0.06, 0.06, 0.02]
        >>> holm([])
        []
    """
    p = np.asarray(pvalues, float)
    m = p.size
    if m == 0:
        return []
    order = np.argsort(p, kind="stable")
    scaled = (m - np.arange(m)) * p[order]
    adjusted = np.minimum(1.0, np.maximum.accumulate(scaled))
    out = np.empty(m)
    out[order] = adjusted
    return [round(float(v), 15) for v in out]


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> list[float]:
    r"""Exact (Clopper-Pearson) interval for a rate ``k / n`` (e.g. runs that collapsed out of seeds).

    .. math:: \Big[B\big(\tfrac{\alpha}{2}; k, n-k+1\big),\ B\big(1-\tfrac{\alpha}{2}; k+1, n-k\big)\Big],
        \quad \alpha = 1 - \text{confidence}

    (:math:`B` the beta quantile; the lower end is 0 at k = 0, the upper 1 at k = n), through
    ``scipy.stats.binomtest(k, n).proportion_ci(method="exact")``.

    Raises:
        ValueError: ``n < 1`` or ``k`` outside ``[0, n]``.

    Example:
        >>> [round(v, 4) for v in clopper_pearson(0, 10)]
        [0.0, 0.3085]
        >>> [round(v, 4) for v in clopper_pearson(3, 3)]
        [0.2924, 1.0]
    """
    if n < 1 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n and n >= 1; got k={k}, n={n}")
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence, method="exact")
    return [float(ci.low), float(ci.high)]


def seeds_for_power(effect: float, sd: float, alpha: float = ALPHA, power: float = 0.8, max_n: int = 10_000) -> int | None:
    r"""Smallest number of paired seeds for which a one-sided paired t test at ``alpha`` detects ``effect``.

    .. math:: 1 - F_{t'}\big(t_{1-\alpha,\,n-1};\ n-1,\ \delta\big) \ge \text{power},\qquad
        \delta = \frac{|\text{effect}|}{s_d}\sqrt n

    (:math:`F_{t'}` the noncentral t distribution). With ``sd == 0`` two seeds suffice for any non-zero
    effect. The power is evaluated for blocks of consecutive n at once (32, then 128, 512, ... values:
    one vectorised call of each distribution per block instead of one per n); each value is the scalar
    call's, so the first n that reaches ``power`` is the same.

    Returns:
        ``n >= 2``, or ``None`` when ``effect == 0`` or more than ``max_n`` seeds would be needed.

    Example:
        >>> seeds_for_power(0.5, 1.0)   # half a standard deviation: the textbook 27
        27
        >>> seeds_for_power(0.31, 0.05), seeds_for_power(0.0, 0.05)   # 6 SDs: two seeds
        (2, None)
    """
    if effect == 0 or not math.isfinite(effect):
        return None
    if sd == 0:
        return 2
    start, size = 2, 32
    while start <= max_n:
        n = np.arange(start, min(start + size, max_n + 1))
        df = n - 1
        crit = stats.t.ppf(1 - alpha, df)
        reached = stats.nct.sf(crit, df, abs(effect) / sd * np.sqrt(n)) >= power
        if reached.any():
            return int(n[np.argmax(reached)])
        start, size = start + size, 4 * size
    return None


def is_degenerate(accuracy_without: float, accuracy_with: float, rank_without: float, rank_with: float,
                  chance: float, *, margin: float = 0.05, collapse_rank: float = 1.5) -> bool:
    r"""A failed run, not a reading: both arms at chance accuracy and collapsed to (nearly) a line.

    .. math:: \max(a^{without}, a^{with}) \le \text{chance} + \text{margin}
        \ \wedge\ \max(r^{without}, r^{with}) < 1.5

    (mean accuracies and mean effective ranks over seeds; 1.5 is the collapse criterion fixed before the
    sweeps, :data:`simulations.training.readings.COLLAPSE_RANK`).

    Example:
        >>> is_degenerate(0.335, 0.335, 1.0, 1.0, 1 / 3), is_degenerate(0.335, 0.9, 1.0, 2.9, 1 / 3)
        (True, False)
    """
    return bool(max(accuracy_without, accuracy_with) <= chance + margin and max(rank_without, rank_with) < collapse_rank)


def compatible(ci95: Sequence[float], printed_gain: float, band: Sequence[float] = BAND) -> bool:
    r"""Whether our 95 % interval meets the band ``[band[0] g_p, band[1] g_p]`` around the printed gain.

    .. math:: [l, h] \cap [\min(b_0 g_p, b_1 g_p),\ \max(b_0 g_p, b_1 g_p)] \ne \emptyset

    Example:
        >>> compatible([0.20, 0.25], 0.31), compatible([0.0, 0.1], 0.31), compatible([-0.02, -0.01], -0.03)
        (True, False, True)
    """
    lo, hi = sorted((band[0] * printed_gain, band[1] * printed_gain))
    return bool(ci95[0] <= hi and ci95[1] >= lo)


def reading_rows(readings: Sequence[dict], printed_gain: float, *, chance: float, primary: dict | None,
                 exploratory: Sequence[dict] = (), band: Sequence[float] = BAND) -> list[dict]:
    r"""The issue's evidence rows, with paired estimates and Holm-adjusted p over the non-degenerate readings.

    Args:
        readings: dicts with ``reading``, ``accuracies_without``, ``accuracies_with`` (per seed, paired by
            index, fractions), ``effective_rank_without``, ``effective_rank_with`` (means); other keys
            are kept.
        printed_gain: the paper's gain (with minus without); its sign is the tested direction.
        chance: chance accuracy (1 / number of classes), for :func:`is_degenerate`.
        primary: the primary reading (a reading dict), or ``None``.
        exploratory: readings tagged exploratory (e.g. a targeted search).
        band: the compatibility band as factors of the printed gain (:func:`compatible`); ``(0, inf)``
            tests the sign only.

    Returns:
        One row per reading: the input plus ``paired_mean``, ``ci95``, ``p_one_sided``, ``p_holm``
        (``None`` when degenerate), ``primary``, ``exploratory``, ``degenerate``, ``n`` and
        ``shows_effect`` (Holm p < 0.05 and :func:`compatible`).

    Example:
        >>> rows = reading_rows([
        ...     {"reading": {}, "accuracies_without": [0.6, 0.7, 0.8], "accuracies_with": [0.9, 1.0, 1.0],
        ...      "effective_rank_without": 2.0, "effective_rank_with": 3.0},
        ...     {"reading": {"tau": 0.1}, "accuracies_without": [0.33, 0.34], "accuracies_with": [0.33, 0.34],
        ...      "effective_rank_without": 1.0, "effective_rank_with": 1.0}], 0.3, chance=1 / 3, primary={})
        >>> [(r["primary"], r["degenerate"], r["p_holm"] is None) for r in rows]
        [(True, False, False), (False, True, True)]
    """
    direction = 1 if printed_gain >= 0 else -1
    rows = []
    for r in readings:
        s = paired_summary(r["accuracies_without"], r["accuracies_with"], direction)
        aw, ac = float(np.mean(r["accuracies_without"])), float(np.mean(r["accuracies_with"]))
        degenerate = is_degenerate(aw, ac, r["effective_rank_without"], r["effective_rank_with"], chance)
        rows.append({**r, "accuracy_without": aw, "accuracy_with": ac, "n": s["n"], "paired_mean": s["paired_mean"],
                     "paired_sd": s["paired_sd"], "ci95": s["ci95"], "p_one_sided": s["p_one_sided"],
                     "primary": primary is not None and r["reading"] == primary,
                     "exploratory": r["reading"] in list(exploratory), "degenerate": degenerate})
    tried = [i for i, r in enumerate(rows) if not r["degenerate"]]
    adjusted = holm([rows[i]["p_one_sided"] for i in tried])
    for r in rows:
        r["p_holm"] = None
        r["shows_effect"] = False
    for i, p in zip(tried, adjusted):
        rows[i]["p_holm"] = p
        rows[i]["shows_effect"] = bool(p < ALPHA and compatible(rows[i]["ci95"], printed_gain, band))
    return rows


def paired_verdict(rows: Sequence[dict], printed_gain: float, band: Sequence[float] = BAND, *,
                   not_sensitivity: Sequence[dict] = ()) -> tuple[str, dict]:
    """The verdict of :data:`PAIRED_RULE` from the rows of :func:`reading_rows`, and a summary for the evidence.

    ``not_sensitivity``: readings tried (in the Holm family) that are not sensitivity checks of this
    verdict, e.g. the primary reading under another lambda scale, which has a verdict of its own.

    Returns:
        ``(verdict, summary)``; the summary names the primary reading, its interval and seeds, the
        readings tried (non-degenerate), the degenerate ones, the readings that show the effect, and
        ``seeds_for_80_power`` at the primary (one-sided paired t at ``0.05 / tried``, the Holm bound
        the primary's p must pass at worst, with the observed paired SD, at the band's lower edge, the
        smallest gain compatible with the printed one; for a band that starts at 0, at the observed
        gain if it has the printed sign; ``None`` if no number of seeds would).

    Example:
        >>> rows = reading_rows([{"reading": {}, "accuracies_without": [0.6, 0.7, 0.8, 0.7],
        ...                       "accuracies_with": [0.9, 1.0, 1.0, 0.99], "effective_rank_without": 2.0,
        ...                       "effective_rank_with": 3.0}], 0.3, chance=1 / 3, primary={})
        >>> paired_verdict(rows, 0.3)[0]
        'confirmed'
    """
    tried = [r for r in rows if not r["degenerate"]]
    primary = next((r for r in rows if r["primary"]), None)
    shows = [r for r in tried if r["shows_effect"] and r["reading"] not in list(not_sensitivity)]
    summary = {
        "rule": PAIRED_RULE,
        "readings_tried": len(tried),
        "degenerate_readings": [r["reading"] for r in rows if r["degenerate"]],
        "readings_showing_effect": [r["reading"] for r in shows],
        "printed_gain": printed_gain,
        "band": sorted([band[0] * printed_gain, band[1] * printed_gain]),
    }
    if primary is None or primary["degenerate"]:
        summary["primary"] = None if primary is None else {"reading": primary["reading"], "degenerate": True}
        return "inconclusive", summary
    # The seeds that would decide: 80 % power at the smallest gain the printed one is compatible with (the
    # band's lower edge; the printed gain itself would ask fewer seeds than a gain of half its size needs),
    # or, for a sign-only band, at the observed gain in the printed direction.
    smallest = min(band) * printed_gain if math.isfinite(min(band) * printed_gain) else 0.0
    effect = smallest if smallest * np.sign(printed_gain) > 0 else (
        primary["paired_mean"] if primary["paired_mean"] * np.sign(printed_gain or 1.0) > 0 else 0.0)
    need = seeds_for_power(effect, primary["paired_sd"], ALPHA / max(len(tried), 1))
    summary["primary"] = {"reading": primary["reading"], "n": primary["n"], "paired_mean": primary["paired_mean"],
                          "ci95": primary["ci95"], "p_one_sided": primary["p_one_sided"], "p_holm": primary["p_holm"],
                          "compatible": compatible(primary["ci95"], printed_gain, band),
                          "shows_effect": primary["shows_effect"]}
    summary["seeds_for_80_power"] = need
    if primary["shows_effect"]:
        verdict = "confirmed"
    elif not compatible(primary["ci95"], printed_gain, band) and not shows:
        verdict = "not reproduced"
    else:
        verdict = "inconclusive"
    return verdict, summary


def interval_side(interval: Sequence[float], threshold: float = 0.5) -> str:
    r"""Where an interval lies against ``threshold``: ``"above"`` (:math:`lo > t`), ``"below"`` (:math:`hi < t`)
    or ``"undecided"`` (it holds ``threshold``), e.g. a collapse rate's :func:`clopper_pearson` interval against 1/2.

    Example:
        >>> interval_side(clopper_pearson(0, 6)), interval_side(clopper_pearson(6, 6)), interval_side(clopper_pearson(3, 6))
        ('below', 'above', 'undecided')
    """
    lo, hi = interval
    return "above" if lo > threshold else "below" if hi < threshold else "undecided"


def seeds_to_decide_rate(rate, threshold: float = 0.5, confidence: float = 0.95, max_n: int = 1000, *,
                         min_n: int = 1) -> int | None:
    r"""Seeds at which a collapse rate equal to ``rate`` would put its Clopper-Pearson interval off ``threshold``.

    The smallest :math:`n \ge` ``min_n`` with :math:`k = \mathrm{round}(\text{rate}\cdot n)` (half to even) such
    that :func:`clopper_pearson` ``(k, n)`` lies wholly above or wholly below ``threshold``. A planning number,
    not a promise: the rate will move. Pass an observed rate as ``fractions.Fraction(collapsed, runs)`` and
    ``min_n=runs`` to ask from the seeds already run on; the fraction keeps :math:`\text{rate}\cdot n` exact.

    Returns:
        ``n``, or ``None`` if ``rate == threshold`` or no n up to ``max_n`` decides.

    Example:
        >>> from fractions import Fraction
        >>> seeds_to_decide_rate(0.0), seeds_to_decide_rate(1.0), seeds_to_decide_rate(0.5)
        (6, 6, None)
        >>> seeds_to_decide_rate(Fraction(1, 6), min_n=6), seeds_to_decide_rate(Fraction(0, 5), min_n=5)
        (12, 6)
    """
    if rate == threshold:
        return None
    for n in range(min_n, max_n + 1):
        if interval_side(clopper_pearson(int(round(rate * n)), n, confidence), threshold) != "undecided":
            return n
    return None


#: Why :data:`PAIRED_RULE` and not another (the module docstring's paragraph, for the report).
RATIONALE = " ".join(__doc__.split("**Why this rule and not another.**", 1)[1].split("\n\nReference", 1)[0].split())
