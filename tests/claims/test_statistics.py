"""The paired statistics and the decision rule of issue 19, on constructed evidence (no training runs)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from claims.statistics import (ALPHA, clopper_pearson, compatible, holm, paired_summary, paired_verdict,
                               reading_rows, seeds_for_power, seeds_to_decide_rate)

PRINTED = 0.3098  # Table 5, InfoNCE: 68.91 % -> 99.89 %


def _reading(reading, without, with_, rank=(2.5, 2.9)):
    return {"reading": reading, "accuracies_without": list(map(float, without)),
            "accuracies_with": list(map(float, with_)), "effective_rank_without": rank[0],
            "effective_rank_with": rank[1]}


def _claim(rng, n, readings, gain_primary, sd_seed=0.05, sd_pair=0.02, baseline=0.7):
    """``readings`` readings at ``n`` seeds; reading 0 (the primary) has true gain ``gain_primary``, the rest 0.

    Each seed has its own baseline (spread ``sd_seed``, shared by both arms) and a paired noise ``sd_pair``.
    """
    rows = []
    for i in range(readings):
        base = baseline + sd_seed * rng.standard_normal(n)
        gain = gain_primary if i == 0 else 0.0
        rows.append(_reading({"i": i}, base, base + gain + sd_pair * rng.standard_normal(n)))
    return rows


def _verdict(rows, printed=PRINTED):
    return paired_verdict(reading_rows(rows, printed, chance=1 / 3, primary={"i": 0}), printed)[0]


def test_holm_matches_a_hand_computation():
    # sorted 0.001 (x3 = 0.003), 0.02 (x2 = 0.04), 0.5 (x1 = 0.5); monotone already.
    assert holm([0.02, 0.5, 0.001]) == pytest.approx([0.04, 0.5, 0.003])
    # sorted 0.01 (x3 = 0.03), 0.02 (x2 = 0.04), 0.03 (x1 = 0.03, raised to 0.04: step-down monotonicity).
    assert holm([0.02, 0.01, 0.03]) == pytest.approx([0.04, 0.03, 0.04])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=40))
def test_holm_lies_between_the_raw_and_the_bonferroni_p(ps):
    adjusted = holm(ps)
    m = len(ps)
    for p, a in zip(ps, adjusted):
        assert p - 1e-12 <= a <= min(1.0, m * p) + 1e-12
    # order preserving: a smaller raw p never gets a larger adjusted p
    order = np.argsort(ps, kind="stable")
    assert all(adjusted[order[i]] <= adjusted[order[i + 1]] + 1e-12 for i in range(m - 1))


def test_paired_summary_agrees_with_scipy_ttest_rel():
    rng = np.random.default_rng(0)
    a = rng.uniform(0.6, 0.9, 7)
    b = a + rng.normal(0.02, 0.03, 7)
    s = paired_summary(a, b)
    ref = stats.ttest_rel(b, a, alternative="greater")
    ci = stats.ttest_rel(b, a).confidence_interval(0.95)
    assert s["p_one_sided"] == pytest.approx(ref.pvalue, rel=1e-10)
    assert s["ci95"] == pytest.approx([ci.low, ci.high], rel=1e-10)
    # the other direction: p(down) = 1 - p(up) for a continuous statistic
    assert paired_summary(a, b, -1)["p_one_sided"] == pytest.approx(1 - ref.pvalue, rel=1e-10)


def test_paired_data_use_the_paired_standard_error_where_unpaired_disagrees():
    # Seeds differ a lot (sd 0.1, shared by both arms); CLOP adds 0.02 +- 0.005 to every seed.
    rng = np.random.default_rng(1)
    base = 0.7 + 0.1 * rng.standard_normal(5)
    with_ = base + 0.02 + 0.005 * rng.standard_normal(5)
    unpaired = stats.ttest_ind(with_, base, equal_var=False, alternative="greater").pvalue
    row = reading_rows([_reading({}, base, with_)], 0.02, chance=1 / 3, primary={})[0]
    assert unpaired > 0.3  # the seed spread swamps the gain when the pairing is thrown away
    assert row["p_one_sided"] < 0.001 and row["ci95"][0] > 0  # the paired interval excludes 0
    assert _verdict([_reading({"i": 0}, base, with_)], 0.02) == "confirmed"


def test_no_true_effect_confirms_at_most_five_percent_of_claims():
    # 30 readings at n = 5 per claim, no true effect anywhere; 400 seeded claims. Holm bounds the chance
    # that any reading (the primary included) is significant by 5 %; the confirmation rate here is far
    # below it (its expectation is <= 0.05 / 30 ~ 0.002 under independence), so 0.05 leaves a wide margin
    # for the Monte Carlo error (binomial sd <= 0.011 at a true rate of 5 %).
    rng = np.random.default_rng(2)
    confirmed = uncorrected = 0
    for _ in range(400):
        rows = _claim(rng, 5, 30, 0.0, sd_pair=0.3)  # a noise as large as the printed gain
        confirmed += _verdict(rows) == "confirmed"
        uncorrected += any(paired_summary(r["accuracies_without"], r["accuracies_with"])["p_one_sided"] < ALPHA
                           for r in rows)
    assert confirmed / 400 <= 0.05
    # Without the correction, some reading is "significant" in most claims: the test can fail.
    assert uncorrected / 400 > 0.5


def test_a_true_effect_of_the_printed_size_confirms_with_enough_seeds():
    rng = np.random.default_rng(3)
    sd = 0.3  # paired noise as large as the gain: 5 seeds cannot decide, 20 can
    need = seeds_for_power(PRINTED, sd, ALPHA / 30)
    assert 10 < need <= 20
    verdicts = [_verdict(_claim(rng, 20, 30, PRINTED, sd_pair=sd)) for _ in range(200)]
    assert verdicts.count("confirmed") / 200 >= 0.8  # 80 % power at need <= 20 seeds
    few = [_verdict(_claim(rng, 5, 30, PRINTED, sd_pair=sd)) for _ in range(200)]
    assert few.count("confirmed") / 200 < 0.5


def test_power_formula_matches_simulated_paired_t_tests():
    # 0.5 sd effect at one-sided 5 %: the formula's 27 seeds; 4000 simulated tests give power 0.80 +- 0.013
    # (3 binomial sd); 20 seeds clearly less.
    n = seeds_for_power(0.5, 1.0)
    rng = np.random.default_rng(4)

    def power(k):
        d = 0.5 + rng.standard_normal((4000, k))
        t = d.mean(1) / (d.std(1, ddof=1) / math.sqrt(k))
        return float(np.mean(t > stats.t.ppf(0.95, k - 1)))

    assert n == 27 and 0.787 <= power(n) <= 0.833 and power(20) < 0.75


def test_seeds_for_power_is_the_first_n_of_the_one_at_a_time_search():
    # The blocked search (n = 2..33, 34..161, 162..673, ...) against the definition, one n at a time, on
    # both sides of the first two block edges, at a stricter alpha, and past max_n.
    def one_at_a_time(effect, sd, alpha=ALPHA, max_n=10_000):
        for n in range(2, max_n + 1):
            if stats.nct.sf(stats.t.ppf(1 - alpha, n - 1), n - 1, abs(effect) / sd * math.sqrt(n)) >= 0.8:
                return n
        return None

    cases = [(0.445, 1.0), (-0.44, 1.0), (0.197, 1.0), (0.196, 1.0), (0.3, 0.5)]
    found = [seeds_for_power(e, sd) for e, sd in cases]
    assert found == [one_at_a_time(e, sd) for e, sd in cases] == [33, 34, 161, 163, 19]
    assert seeds_for_power(0.3098, 0.3, ALPHA / 30) == one_at_a_time(0.3098, 0.3, ALPHA / 30)
    assert seeds_for_power(0.196, 1.0, max_n=162) is None and seeds_for_power(0.196, 1.0, max_n=163) == 163


def test_a_degenerate_reading_never_decides_nor_counts_as_tried():
    rng = np.random.default_rng(5)
    at_chance = _reading({"i": 0}, [1 / 3] * 5, [1 / 3 + 1e-3] * 5, rank=(1.0, 1.0))
    others = _claim(rng, 5, 4, 0.0)[1:]
    rows = reading_rows([at_chance] + others, PRINTED, chance=1 / 3, primary={"i": 0})
    verdict, summary = paired_verdict(rows, PRINTED)
    # Its interval misses the band (the gain is 0.001 everywhere), yet it cannot make the claim "not reproduced".
    assert verdict == "inconclusive" and summary["readings_tried"] == 3
    assert rows[0]["degenerate"] and rows[0]["p_holm"] is None
    assert [r["p_holm"] for r in rows[1:]] == pytest.approx(holm([r["p_one_sided"] for r in rows[1:]]))


def test_verdicts_follow_the_primary_and_the_sensitivity_checks():
    rng = np.random.default_rng(6)
    base = 0.7 + 0.05 * rng.standard_normal(20)
    none = _reading({"i": 0}, base, base + 0.002 * rng.standard_normal(20))
    # No gain at the primary (interval far below PRINTED / 2), no other reading shows it: not reproduced.
    assert _verdict([none] + _claim(rng, 5, 3, 0.0)[1:]) == "not reproduced"
    # The same primary, but a sensitivity reading shows the printed gain: inconclusive, never confirmed.
    strong = _reading({"i": 9}, base, base + PRINTED + 0.005 * rng.standard_normal(20))
    assert _verdict([none, strong]) == "inconclusive"
    # A significant gain of a tenth the printed size does not confirm a printed 31 points.
    small = _reading({"i": 0}, base, base + 0.03 + 0.002 * rng.standard_normal(20))
    assert _verdict([small]) == "not reproduced"


def test_clopper_pearson_matches_its_closed_form_at_the_ends():
    # k = 0: [0, 1 - (a/2)^(1/n)]; k = n: [(a/2)^(1/n), 1].
    for n in range(1, 31):
        assert clopper_pearson(0, n) == pytest.approx([0.0, 1 - 0.025 ** (1 / n)])
        assert clopper_pearson(n, n) == pytest.approx([0.025 ** (1 / n), 1.0])
    with pytest.raises(ValueError):
        clopper_pearson(4, 3)


def test_seeds_to_decide_a_rate():
    # 0/5 has upper end 1 - 0.025^(1/5) = 0.522 > 1/2; 0/6 has 0.459.
    assert seeds_to_decide_rate(0.0) == 6 and seeds_to_decide_rate(1.0) == 6
    n = seeds_to_decide_rate(0.8)
    lo, _ = clopper_pearson(round(0.8 * n), n)
    lo_before, _ = clopper_pearson(round(0.8 * (n - 1)), n - 1)
    assert lo > 0.5 >= lo_before


def test_compatibility_band_and_sign_only_band():
    assert compatible([0.16, 0.2], PRINTED) and not compatible([0.10, 0.15], PRINTED)
    assert compatible([-0.01, 0.001], 0.012, (0.0, math.inf)) and not compatible([-0.02, -0.001], 0.012, (0.0, math.inf))


def test_nc003_class_counts_carry_exact_intervals():
    from claims.nc003 import _settings
    from simulations.neural_collapse.grid import TABLE_METRICS

    runs = [{"loss": "HUCL", "normalisation": "ball", "beta": 2.0, "class": c, "final": {m: 1.0 for m in TABLE_METRICS}}
            for c in ("NC",) * 5]
    row = _settings({"runs": runs})[0]
    # 5/5 NC: [0.025^(1/5), 1]; 0/5 DC: [0, 1 - 0.025^(1/5)]
    assert row["NC_ci95"] == pytest.approx([0.025 ** 0.2, 1.0]) and row["DC_ci95"] == pytest.approx([0.0, 1 - 0.025 ** 0.2])
