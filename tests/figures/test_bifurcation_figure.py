"""The ``bifurcation`` figure in quick mode: files written, and the plotted end states show the derived
bifurcation of the paper rule at k = 3 (paper 001, Section 3.1; theory.stability)."""
import json

import numpy as np

from figures import bifurcation


def test_quick_bifurcation_figure(tmp_path):
    paths = bifurcation.main(tmp_path, quick=True)
    assert [p.name for p in paths] == ["bifurcation.png", "bifurcation.pdf", "bifurcation.json"]
    data = json.loads((tmp_path / "bifurcation.json").read_text())["data"]
    x = np.asarray(data["eta_over_edge"], dtype=float)
    paper_near = np.asarray(data["near"], dtype=float)[0, 0]  # [X, S], rule paper, k = 3
    paper_spread = np.asarray(data["spread"], dtype=float)[0, 0]
    # below the edge both starts end spread (1 - mean cos of order 1); at 1.5 x edge both end collapsed
    # (|lambda| = 0.71 per step: 300 steps take 1e-4 to below 1e-40; 1e-12 is far above rounding)
    assert (paper_near[x < 1] > 0.1).all() and (paper_spread[x < 1] > 0.1).all()
    assert (paper_near[x == 1.5] < 1e-12).all() and (paper_spread[x == 1.5] < 1e-12).all()
    # the tangent rules never end collapsed
    assert (np.asarray(data["near"], dtype=float)[1:] > 0.1).all()
