"""Tests of the claims package: the geometric facts behind the verdicts, the report files and the CLI."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from claims import build_report, claim_ids, findings_table, render_markdown, write_report
from claims.geometry import (
    inverted_groups, lemma2_minimiser, pairwise_sum, projection_construction, random_unit_columns, simplex_etf,
)
from claims.lemma1 import collinear_embeddings, count_signs, loss_on_rows, tangent_hessian_eigenvalues
from claims.registry import VERDICTS


@pytest.mark.parametrize("k", [3, 4, 7])
def test_simplex_etf_has_equal_cosines_and_zero_sum(k):
    X = simplex_etf(k)
    G = X.T @ X
    off = G[~np.eye(k, dtype=bool)]
    # 1e-12: float64 rounding of a k x k Gram matrix of unit vectors.
    assert np.allclose(np.diag(G), 1, atol=1e-12) and np.allclose(off, -1 / (k - 1), atol=1e-12)
    assert np.linalg.norm(X.sum(axis=1)) < 1e-12


def test_sum_convention_gives_minus_k_and_printed_sign_gives_plus_k():
    # |s|^2 - k identity: for zero-sum arrangements the pairwise sum is exactly -k.
    for X in (simplex_etf(6), inverted_groups(6)):
        assert pairwise_sum(X) == pytest.approx(-6, abs=1e-12)
    assert pairwise_sum(np.eye(6)) == 0


def test_projection_alone_lowers_loss_exactly_when_total_similarity_of_x_k_is_negative():
    # Appendix E without its sign step: L(X') - L(X) = 2 (1 - sqrt(1 - eta^2)) <s, x_par>, whose sign
    # is that of <s, x_k>.
    rng = np.random.default_rng(10)
    for _ in range(50):
        X = random_unit_columns(rng, 6, 4)
        s_others = X[:, :3].sum(axis=1)
        change = pairwise_sum(projection_construction(X, 3, sign_step=False)) - pairwise_sum(X)
        assert np.sign(change) == np.sign(X[:, 3] @ s_others)


def test_clustered_instance_needs_the_sign_step_at_every_index():
    # Three unit vectors at pairwise angles of about 25 degrees in R^3: full rank, all similarities
    # positive, so the projection alone raises the loss whatever x_k is chosen, and Appendix E's sign
    # inversion ("If this sum is not negative, we can simply invert the sign") lowers it.
    X = np.array([[1.0, 0.9, 0.9], [0.0, 0.4, 0.0], [0.0, 0.0, 0.4]])
    X /= np.linalg.norm(X, axis=0)
    assert np.linalg.matrix_rank(X) == 3
    for idx in range(3):
        assert pairwise_sum(projection_construction(X, idx, sign_step=False)) > pairwise_sum(X)
        assert pairwise_sum(projection_construction(X, idx)) < pairwise_sum(X)
        # Lemma 2's minimiser lowers it instead.
        Y = X.copy()
        Y[:, idx] = lemma2_minimiser(np.delete(X, idx, axis=1))
        assert pairwise_sum(Y) < pairwise_sum(X)


def test_tangent_hessian_of_a_linear_function_on_the_sphere():
    # f(x) = <a, x/|x|> on S^2 at x = e1: Riemannian Hessian = -<a, x> I on the tangent plane.
    import jax.numpy as jnp

    a = np.array([2.0, 0.3, -0.7])
    f = lambda Z, tau: jnp.dot(Z[0] / jnp.linalg.norm(Z[0]), a)
    ev = tangent_hessian_eigenvalues(f, np.array([[1.0, 0.0, 0.0]]), 1.0)
    assert np.allclose(ev, [-2.0, -2.0], atol=1e-10)  # 1e-10: float64 second derivatives


def test_complete_collapse_has_the_common_rotation_as_zero_modes():
    # A common rotation leaves the loss unchanged: at least d - 1 zero eigenvalues (1e-8 relative).
    rng = np.random.default_rng(0)
    U = collinear_embeddings(rng, 4, 4, equal=True)
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    counts = count_signs(tangent_hessian_eigenvalues(loss_on_rows("infonce", 2), U, 0.5))
    assert counts["zero"] >= 3
    assert counts["negative"] + counts["zero"] + counts["positive"] == 4 * 3


def test_report_files_and_findings_table(tmp_path, monkeypatch):
    # The report reads and writes no file of the current folder (the CLOP claims cache their
    # experiments in the result cache, not under ./figures/out). digits.clop_gain stands for the CLOP
    # claims here: it takes the same path (registry check -> experiments.load(name, quick, DEFAULT_DIR))
    # as table5.*, at a sixth of the compile time; table5's path over real quick readings is
    # tests/claims/test_table5_over_real_readings.py (one loss), all four losses in the slow step.
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    ids = ["section3_2.optima", "lemma2", "theorem2", "figure3.bound_value", "digits.clop_gain"]
    report = build_report(quick=True, only=ids, progress=False)
    assert list(cwd.iterdir()) == []
    tmp_path = tmp_path / "report"
    tmp_path.mkdir()
    assert [c["id"] for c in report["claims"]] == ids
    for c in report["claims"]:
        assert c["verdict"] in VERDICTS and c["rule"] and c["source"] and isinstance(c["evidence"], dict)
    write_report(report, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "report.md"]  # no temp files left
    loaded = json.loads((tmp_path / "report.json").read_text())
    assert "git_revision" in loaded["metadata"] and loaded["summary"] == report["summary"]
    table = findings_table(tmp_path / "report.json")
    for c in loaded["claims"]:
        assert f"| `{c['id']}` |" in table and f"**{c['verdict']}**" in table
    md = (tmp_path / "report.md").read_text()
    assert all(f"## `{i}`" in md for i in ids)


def test_every_issue_claim_id_is_covered():
    required = {
        "lemma1.stationary", "lemma1.local_minimum", "theorem1.expected_norm", "theorem1.inequality",
        "theorem1.closed_form", "theorem1.tightness", "figure3.k30", "figure3.bound_value", "lemma2",
        "theorem2", "section3_2.optima", "figure4.rank", "figure4.not_etf", "final.temperature_factor",
        "final.temperature_optimum", "final.temperature_collapse", "autodiff.rule",
    }
    assert required <= set(claim_ids())


@pytest.mark.parametrize("argv, needle", [
    (["--only", "no.such.claim"], "--only must name claim ids"),
    (["--readme-table", "--out", "{tmp}/absent"], "--readme-table needs"),
    (["--out", "{tmp}/file.txt"], "--out must be a folder"),
])
def test_cli_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, argv, needle):
    (tmp_path / "file.txt").write_text("x")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    proc = subprocess.run([sys.executable, "-m", "clop_verify", "report", *argv], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and needle in proc.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_symbolic_and_geometric_verdicts_are_the_derived_ones():
    # These verdicts follow from algebra the tests elsewhere check two ways (theory/, claims/geometry),
    # not from sampled numbers, so each has one right answer: Appendix D's simplification slip makes the
    # three Theorem 1 expressions "corrected"; Eq. (3)'s sign makes Section 3.2's optima "corrected";
    # Lemma 2's optimum is confirmed; complete collapse is a stationary point (Lemma 1) but a saddle.
    expected = {
        "theorem1.expected_norm": "corrected",
        "theorem1.inequality": "corrected",
        "theorem1.closed_form": "corrected",
        "section3_2.optima": "corrected",
        "lemma2": "confirmed",
        "lemma1.stationary": "confirmed",
        "lemma1.local_minimum": "refuted",
    }
    report = build_report(quick=True, only=list(expected), progress=False)
    assert {c["id"]: c["verdict"] for c in report["claims"]} == expected


def test_every_claim_has_a_kind_and_the_tally_counts_the_papers_claims_only():
    from claims.registry import KINDS, REGISTRY

    claim_ids()
    assert all(spec.kind in KINDS for spec in REGISTRY.values())
    # the toolkit's own findings are not claims of the papers
    assert REGISTRY["theorem1.bifurcation"].kind == "toolkit" and REGISTRY["autodiff.rule"].kind == "toolkit"
    report = build_report(quick=True, only=["lemma2", "figure3.bound_value", "autodiff.rule"], progress=False)
    assert sum(report["summary"].values()) == 2  # lemma2 and figure3.bound_value; autodiff.rule apart
    assert sum(report["summary_by_kind"]["toolkit"].values()) == 1
    md = render_markdown(report)
    assert "Verdicts of the papers' 2 claims" in md
    table = findings_table(report)
    # the toolkit's finding sits under its own heading, after the papers' table
    assert table.index("Findings of this toolkit") < table.index("`autodiff.rule`")
    assert table.index("`lemma2`") < table.index("Findings of this toolkit")


def test_an_unknown_kind_is_rejected_at_registration():
    from claims.registry import claim

    with pytest.raises(ValueError, match="kind must be one of"):
        claim("x.never", source="s", statement="s", kind="folklore")
