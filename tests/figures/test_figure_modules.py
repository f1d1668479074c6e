"""Each figure module's ``main`` in quick mode: writes PNG + PDF + JSON, and the plotted numbers show
what the paper's figure claims (or the test fails and that is a finding). Paper 001 Section 3,
Figures 3 and 4; paper 004 Section 3."""
import importlib
import json

import numpy as np
import pytest

OURS = ("fig3_spectra", "fig3_tightness", "fig4_rank", "rules_thresholds", "temperature")

#: The project's named criterion for complete collapse (issue 3): sigma_2 < 1e-3 sigma_1.
COLLAPSE_RTOL = 1e-3


@pytest.fixture(scope="module")
def quick_out(tmp_path_factory):
    """Run every figure of this area once in quick mode into one folder (shared cache, as the CLI does)."""
    out = tmp_path_factory.mktemp("figures")
    written = {name: importlib.import_module(f"figures.{name}").main(out, quick=True) for name in OURS}
    return out, written


def load(out, name):
    return json.loads((out / f"{name}.json").read_text())


def as_float(values):
    return np.asarray(values, dtype=float)  # JSON writes non-finite values as "inf"/"nan" strings


@pytest.mark.parametrize("name", OURS)
def test_main_writes_png_pdf_json(quick_out, name):
    out, written = quick_out
    assert [p.name for p in written[name]] == [f"{name}.png", f"{name}.pdf", f"{name}.json"]
    for path in written[name]:
        assert path.stat().st_size > 1000
    assert (out / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / f"{name}.pdf").read_bytes()[:4] == b"%PDF"
    record = load(out, name)
    assert record["figure"] == name
    assert record["metadata"]["parameters"]  # the parameters that produced it
    assert record["metadata"]["git_revision"] is None or len(record["metadata"]["git_revision"]) >= 40


def test_fig3_spectra_two_point_zero_spreads_two_point_one_collapses(quick_out):
    out, _ = quick_out
    data = load(out, "fig3_spectra")["data"]
    assert data["lrs"] == [2.0, 2.1]
    spectra = as_float(data["spectra"])  # [L, R, k]
    assert spectra.shape[-1] == 30
    final = spectra[:, -1, :]
    ratio = final[:, 1] / final[:, 0]
    # eta=2.0 is below eta_max(30)=2.071: more than one non-negligible singular value at the end
    # (sigma_2 above the complete-collapse criterion; it is in fact of order one).
    assert ratio[0] > COLLAPSE_RTOL
    assert np.sum(final[0] > COLLAPSE_RTOL * final[0, 0]) > 1
    # eta=2.1 is above the bound: numerically rank one by the project's criterion.
    assert ratio[1] < COLLAPSE_RTOL
    assert data["collapsed"] == [False, True] and data["finite"] == [True, True]
    # the first record is the initial state (the same embeddings for both learning rates)
    np.testing.assert_allclose(spectra[0, 0], spectra[1, 0], rtol=1e-12)  # identical input, round-off only


def test_fig4_smallest_singular_value_far_below_the_rest(quick_out):
    out, _ = quick_out
    data = load(out, "fig4_rank")["data"]
    final = as_float(data["spectra"])[:, -1, :]  # [S, k]
    k = final.shape[-1]
    # rank k-1: sigma_k sits at float64 round-off (~1e-16 sigma_1) while sigma_{k-1} stays of order
    # 0.1 or more; a gap of 1e-8 is eight orders above round-off and far below any genuine value.
    assert np.all(final[:, -1] < 1e-8 * final[:, -2])
    assert np.all(final[:, -2] > 1e-2 * final[:, 0])  # the other k-1 directions are kept
    cosines = as_float(data["pairwise_cosines"])
    assert cosines.shape == (final.shape[0], k * (k - 1) // 2)
    assert data["etf_value"] == pytest.approx(-1 / (k - 1), rel=1e-15)  # exact formula, round-off only
    # Section 3.2: the pairwise similarities are not all equal (not a simplex ETF). 0.02 is twenty
    # times the spread float64 round-off could cause and small against the values' range of ~0.1-1.
    assert np.all(cosines.std(axis=1) > 0.02)


def test_fig3_tightness_thresholds_against_bounds(quick_out):
    out, _ = quick_out
    record = load(out, "fig3_tightness")
    data, params = record["data"], record["metadata"]["parameters"]
    ks = np.asarray(data["ks"])
    assert ks.min() == 3
    np.testing.assert_allclose(as_float(data["eta_max"]), 2 * (ks - 1) / (ks - 2), rtol=1e-14)  # closed form
    t, lo, hi = (as_float(data[key]) for key in ("threshold", "bracket_lo", "bracket_hi"))
    assert np.all(np.isfinite(hi))  # the paper rule collapses above some eta at every k
    # the bracket is refined to the requested relative tolerance
    assert np.all((hi - lo) <= params["rtol"] * hi * 1.0001)  # 1e-4 slack for float rounding of the bracket ends
    # Theorem 1: below the bound the mean does not grow, so no collapse: the measured threshold is not
    # below eta_max by more than the search tolerance.
    assert np.all(t >= as_float(data["eta_max"]) * (1 - params["rtol"]))


def test_fig3_tightness_module_cli_refuses_a_bad_k_max_in_one_line(tmp_path, capsys):
    # python -m figures.fig3_tightness: one error line, exit status 2, no usage block, nothing written.
    from figures.fig3_tightness import _cli

    out = tmp_path / "out"
    with pytest.raises(SystemExit) as stop:
        _cli(["--k-max", "500", "--out", str(out)])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--k-max" in err and "invalid choice" in err
    assert not out.exists()


def test_rules_thresholds_reuses_paper_thresholds_of_figure_3(quick_out):
    out, _ = quick_out
    rules = load(out, "rules_thresholds")["data"]
    tight = load(out, "fig3_tightness")["data"]
    assert set(rules["rules"]) == {"paper", "autodiff", "infonce (tau=1)"}
    paper = rules["rules"]["paper"]
    for k, t in zip(rules["ks"], paper["threshold"]):
        assert t == tight["threshold"][tight["ks"].index(k)]  # same cached measurement, bit for bit
    for sweep in rules["rules"].values():
        lo, t = as_float(sweep["bracket_lo"]), as_float(sweep["threshold"])
        assert np.all(np.isfinite(lo)) and np.all(lo > 0)  # every rule survives some positive learning rate


def test_temperature_mean_shift_numbers(quick_out):
    out, _ = quick_out
    record = load(out, "temperature")
    data, params = record["data"], record["metadata"]["parameters"]
    shift = as_float(data["mean_shift"])
    assert shift.shape == (len(params["taus"]), len(params["eta_over_tau"]), len(params["shift_seeds"]))
    assert np.all(np.isfinite(shift)) and np.all(shift >= 0)
    # a small repulsive step (the smallest eta/tau of the grid) shrinks the mean at every temperature
    # (papers 001 and 004 agree on this; 004's factor there is (1 - 2 * 0.1)^2 = 0.64)
    assert np.all(shift[:, 0, :] < 1.0)
    assert len(data["thresholds"]["threshold"]) == len(params["taus"])
