"""The readings figure draws the claims' paired rows: intervals, primary starred, significant green, degenerate grey."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from claims.statistics import reading_rows  # noqa: E402
from figures.readings import draw, row_style  # noqa: E402


def _evidence():
    rng = np.random.default_rng(0)
    base = 0.7 + 0.05 * rng.standard_normal(20)
    raw = [
        {"reading": {"steps": 30}, "accuracies_without": base, "accuracies_with": base + 0.3 + 0.01 * rng.standard_normal(20),
         "effective_rank_without": 2.0, "effective_rank_with": 3.0},
        {"reading": {}, "accuracies_without": base[:5], "accuracies_with": base[:5] + 0.02 * rng.standard_normal(5),
         "effective_rank_without": 2.8, "effective_rank_with": 3.0},
        {"reading": {"lr": 10}, "accuracies_without": [1 / 3] * 5, "accuracies_with": [1 / 3] * 5,
         "effective_rank_without": 1.0, "effective_rank_with": 1.0},
    ]
    rows = reading_rows(raw, 0.31, chance=1 / 3, primary={"steps": 30})
    return {"readings": rows, "paper_gain": 0.31, "verdict_by_scale": {"sum": "confirmed"}}, rows


def test_row_styles_follow_the_evidence():
    _, rows = _evidence()
    styles = [row_style(r) for r in rows]
    assert styles[0] == {"color": "C2", "marker": "*", "ms": 10}  # primary, significant after Holm
    assert styles[1]["color"] == "C0" and styles[1]["marker"] == "o"  # not significant
    assert styles[2]["color"] == "0.65"  # degenerate


def test_draw_plots_each_row_at_its_paired_mean_with_its_interval():
    ev, rows = _evidence()
    params = {"readings": {"seeds": 5}, "confirmatory": {"seeds": 20}}
    fig = draw({"claims": {"infonce": ev, "dcl": ev}}, params)
    ax = fig.axes[0]
    xs = sorted(float(line.get_xdata()[0]) for line in ax.lines if line.get_marker() in ("*", "o"))
    assert np.allclose(xs, sorted(100 * r["paired_mean"] for r in rows))
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "* steps=30"
