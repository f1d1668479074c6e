"""``clop-verify diagnose`` on the inputs the trial brought (issue 23, items 3, 4, 5 and 7)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from clop_verify import cli, validation


def _diagnose(capsys, *args):
    status = cli.main(["diagnose", *map(str, args), "--json"])
    captured = capsys.readouterr()
    return status, (json.loads(captured.out) if status == 0 else None), captured.err


def _one_line(err: str, needle: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err and needle in lines[0], err


@pytest.mark.parametrize("dtype", [">f8", ">f4", "<f2", ">i4", "u1", "<i8"])
def test_any_numeric_dtype_and_byte_order(dtype, tmp_path, capsys):
    Z = np.random.default_rng(0).integers(1, 9, size=(20, 5))
    np.save(tmp_path / "z.npy", Z.astype(dtype))
    status, rep, err = _diagnose(capsys, tmp_path / "z.npy", "--labels", tmp_path / "y.npy") if False else \
        _diagnose(capsys, tmp_path / "z.npy")
    assert status == 0, err
    reference = np.linalg.svd(Z.astype(np.float64), compute_uv=False)
    assert np.allclose(rep["singular_values"], reference, rtol=1e-10)


@pytest.mark.parametrize("make, needle", [
    (lambda: np.zeros((50, 8)), "embeddings are all zero (50 x 8)"),
    (lambda: np.vstack([np.ones((4, 3)), np.zeros((1, 3))]), "1 all-zero row(s) (first: row 4)"),
    (lambda: np.ones((6, 3), dtype=bool), "embeddings must be real numbers"),
    (lambda: np.ones((6, 3)) * (1 + 1j), "embeddings must be real numbers"),
])
def test_degenerate_embeddings_are_refused(make, needle, tmp_path, capsys):
    np.save(tmp_path / "z.npy", make())
    status, _, err = _diagnose(capsys, tmp_path / "z.npy", "--out", tmp_path / "out")
    assert status == 2
    _one_line(err, needle)
    assert not (tmp_path / "out").exists()


def test_one_class_is_refused(tmp_path, capsys):
    np.save(tmp_path / "z.npy", np.random.default_rng(0).normal(size=(6, 3)))
    np.save(tmp_path / "y.npy", np.zeros(6, dtype=int))
    status, _, err = _diagnose(capsys, tmp_path / "z.npy", "--labels", tmp_path / "y.npy")
    assert status == 2
    _one_line(err, "--labels: labels must name at least 2 classes; got 1")


def test_scale_free_quantities_do_not_depend_on_the_scale(tmp_path, capsys):
    rng = np.random.default_rng(0)
    Z, y = rng.normal(size=(60, 10)), np.repeat(np.arange(3), 20)
    np.save(tmp_path / "y.npy", y)
    reports = []
    for scale in (1.0, 1e-320, 1e300):
        np.save(tmp_path / "z.npy", Z * scale)
        status, rep, err = _diagnose(capsys, tmp_path / "z.npy", "--labels", tmp_path / "y.npy")
        assert status == 0, err
        reports.append(rep)
    for rep in reports[1:]:
        for key in ("effective_rank", "rankme", "nc1", "nc2", "within_between", "orthonormal_distance"):
            # 1e-320 is subnormal: its entries keep about 3 significant digits, hence the tolerance
            assert rep[key] == pytest.approx(reports[0][key], rel=2e-2), key
    assert reports[0]["effective_rank"] > 7  # the trial's 7.85 at normal scale, 1.0 at 1e-320 before


def test_size_is_checked_from_the_header_before_loading(tmp_path, capsys, monkeypatch):
    path = tmp_path / "big.npy"
    big = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(200_000, 64))  # sparse file, 51 MB
    del big
    monkeypatch.setattr(validation, "memory_budget", lambda: 10**6)
    loaded = []
    monkeypatch.setattr(np, "array", lambda *a, **k: loaded.append(1) or pytest.fail("data read before the size check"))
    status, _, err = _diagnose(capsys, path)
    assert status == 2 and not loaded
    _one_line(err, "(200000 x 64 float32) diagnosed in float64 need about 307 MB")


def test_misleading_files_get_a_message_about_what_they_are(tmp_path, capsys):
    (tmp_path / "text.npz").write_text("these are not embeddings\n")
    status, _, err = _diagnose(capsys, tmp_path / "text.npz")
    assert status == 2
    _one_line(err, "is not a .npy or .npz file although it is named .npz")
    (tmp_path / "folder.npy").mkdir()
    status, _, err = _diagnose(capsys, tmp_path / "folder.npy")
    assert status == 2
    _one_line(err, "is a folder, not a file")


def test_nc1_is_papyans_on_imbalanced_labels_and_the_json_says_so(tmp_path, capsys):
    rng = np.random.default_rng(3)
    y = np.array([0] * 30 + [1] * 8 + [2] * 2)
    Z = rng.normal(size=(40, 5)) + 3 * np.eye(5)[y]
    np.save(tmp_path / "z.npy", Z)
    np.save(tmp_path / "y.npy", y)
    status, rep, err = _diagnose(capsys, tmp_path / "z.npy", "--labels", tmp_path / "y.npy")
    assert status == 0, err
    mu = np.stack([Z[y == c].mean(0) for c in range(3)])
    Sw = (Z - mu[y]).T @ (Z - mu[y]) / len(Z)
    centred = mu - Z.mean(0)  # the global mean over samples (Papyan et al.; tding1/Neural-Collapse)
    Sb = centred.T @ centred / 3
    assert rep["nc1"] == pytest.approx(np.trace(Sw @ np.linalg.pinv(Sb)) / 3, rel=1e-9)
    assert "global mean over samples" in rep["definitions"]["nc1"]


def test_nc2_sees_unequal_norms(tmp_path, capsys):
    etf = np.array([[1.0, 0.0], [-0.5, 3**0.5 / 2], [-0.5, -(3**0.5) / 2]])
    y = np.repeat(np.arange(3), 2)
    np.save(tmp_path / "y.npy", y)
    for norms, expect_etf in (((1, 1, 1), True), ((1, 2, 3), False)):
        np.save(tmp_path / "z.npy", (etf * np.array(norms, float)[:, None])[y])
        status, rep, err = _diagnose(capsys, tmp_path / "z.npy", "--labels", tmp_path / "y.npy")
        assert status == 0, err
        assert (rep["nc2"] < 1e-9) is expect_etf and rep["nc2_cosine"] < 1e-9
        assert (rep["class"] == "NC") is expect_etf


def test_lr_with_tau_is_compared_with_infonces_bound(tmp_path, capsys):
    np.save(tmp_path / "z.npy", np.repeat(np.eye(10), 2, axis=0))
    np.save(tmp_path / "y.npy", np.repeat(np.arange(10), 2))
    status, rep, err = _diagnose(capsys, tmp_path / "z.npy", "--labels", tmp_path / "y.npy", "--lr", "1", "--tau", "0.5")
    assert status == 0, err
    assert rep["eta_max"] == pytest.approx(1.024, abs=1e-3)  # bound --rule infonce --tau 0.5 --k 10, not 2.25
