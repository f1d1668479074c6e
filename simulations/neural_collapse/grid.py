r"""The experiments of paper 003's claims in the unconstrained-features model: the NC/DC grid and the CLOP link.

:func:`nc_grid` trains {SCL, HSCL, UCL, HUCL} x {none, ball, sphere} x hardness x seeds with Adam
(one compiled program) and classifies every run NC / DC / neither by
:func:`simulations.collapse_metrics.classify` (thresholds fixed before any run). :func:`clop_grid` adds
paper 001's CLOP term (Eq. 4: orthonormal prototypes, ``lambda = 1``, a labelled fraction) to SCL and UCL
on the sphere. :func:`setting_table` reduces either to one row per setting (medians over seeds and
the count of each class). Results are plain JSON-ready dicts.
"""
from __future__ import annotations

import time

import numpy as np

from simulations import collapse_metrics as cm
from simulations.config import as_dict
from simulations.neural_collapse.model import LOSS_KINDS, NORMALISATIONS, UFMConfig, grid_runs, train

__all__ = ["grid_parameters", "clop_parameters", "concat_runs", "nc_grid", "clop_grid", "setting_table", "TABLE_METRICS"]

#: Metrics reported per setting (medians over seeds) in :func:`setting_table`.
TABLE_METRICS = ("nc1", "within_between", "nc2", "effective_rank", "dimension_ratio", "orthonormal_distance", "risk")


def grid_parameters(quick: bool = False) -> dict:
    """Parameters of the NC/DC grid (the cache key of ``figures.nc_vs_dc``).

    Default: k = 4 classes of n = 8 in d = 8, tau = 0.5, Adam lr 0.01 for 2000 steps, view noise 0.05,
    hardness 0.5 / 2 / 8 for HSCL and HUCL, 5 seeds: 120 runs. Quick: 300 steps, hardness 2, 2 seeds.

    Example:
        >>> p = grid_parameters(quick=True)
        >>> p["config"]["steps"], p["betas"], p["seeds"]
        (300, [2.0], 2)
    """
    config = UFMConfig(steps=300, record_every=50) if quick else UFMConfig()
    return {"config": as_dict(config), "betas": [2.0] if quick else [0.5, 2.0, 8.0], "seeds": 2 if quick else 5,
            "lr": 0.01, "losses": list(LOSS_KINDS), "normalisations": list(NORMALISATIONS), "root_seed": 0}


def clop_parameters(quick: bool = False) -> dict:
    """Parameters of the CLOP-link grid: SCL and UCL on the sphere, CLOP off (lambda 0) and on (lambda 1).

    samples_per_class = 10 so that the printed 10% labelled fraction is one sample per class.

    Example:
        >>> clop_parameters(quick=True)["fractions"]
        [0.1, 1.0]
    """
    config = UFMConfig(samples_per_class=10, steps=300, record_every=50) if quick else UFMConfig(samples_per_class=10)
    return {"config": as_dict(config), "losses": ["SCL", "UCL"], "normalisation": "sphere",
            "lambdas": [0.0, 1.0], "fractions": [0.1, 1.0], "seeds": 2 if quick else 5, "lr": 0.01, "root_seed": 0}


def concat_runs(*parts: dict) -> dict:
    """Concatenate run dicts of :func:`simulations.neural_collapse.model.grid_runs` (lists and arrays).

    Example:
        >>> a = grid_runs(("SCL",), ("sphere",), seeds=1); len(concat_runs(a, a)["loss"])
        2
    """
    out = {}
    for key in parts[0]:
        vals = [p[key] for p in parts]
        out[key] = sum(vals, []) if isinstance(vals[0], list) else np.concatenate(vals)
    return out


def _run(params: dict, runs: dict, extra: dict) -> dict:
    config = UFMConfig(**params["config"])
    start = time.perf_counter()
    out = train(config, runs, root_seed=params["root_seed"])
    seconds = time.perf_counter() - start
    metrics = {k: out[k] for k in ("risk", "nc1", "within_between", "nc2", "nc2_centred", "orthonormal_distance",
                                   "effective_rank", "rankme", "dimension_ratio", "class", "mean_norm")}
    return {
        "runs": [{"loss": loss, "normalisation": norm, "beta": float(b), "seed": int(s), **{k: v[i] for k, v in extra.items()},
                  "class": cm.CLASSES[int(metrics["class"][i, -1])],
                  "final": {k: float(v[i, -1]) for k, v in metrics.items() if k != "class"}}
                 for i, (loss, norm, b, s) in enumerate(zip(runs["loss"], runs["normalisation"], runs["beta"], runs["seed"]))],
        "steps": out["steps"].tolist(),
        "curves": {k: metrics[k] for k in ("nc1", "nc2", "effective_rank", "within_between")},
        "seconds": seconds,
        "n_runs": len(runs["loss"]),
        "k": config.num_classes,
    }


def nc_grid(params: dict) -> dict:
    """Train the NC/DC grid of ``params`` (:func:`grid_parameters`); one row per run plus curves.

    Returns:
        ``{"runs": [{loss, normalisation, beta, seed, class, final: {metric: value}}], "steps",
        "curves": {metric: [R, T+1]}, "seconds", "n_runs", "k"}``.
    """
    runs = grid_runs(params["losses"], params["normalisations"], params["betas"], params["seeds"], lr=params["lr"])
    return _run(params, runs, {})


def clop_grid(params: dict) -> dict:
    """Train SCL/UCL on the sphere without and with the CLOP term (:func:`clop_parameters`).

    Each run row also carries ``lambda`` and ``fraction`` (the labelled fraction; irrelevant at lambda 0).
    """
    parts = []
    for lam in params["lambdas"]:
        for frac in (params["fractions"] if lam > 0 else [0.0]):
            parts.append(grid_runs(params["losses"], [params["normalisation"]], (), params["seeds"], lam=lam,
                                   fraction=frac, lr=params["lr"]))
    runs = concat_runs(*parts)
    return _run(params, runs, {"lambda": runs["lam"], "fraction": runs["fraction"]})


def setting_table(result: dict, keys=("loss", "normalisation", "beta")) -> list[dict]:
    """One row per setting: medians over seeds of :data:`TABLE_METRICS` and the counts of NC / DC / neither.

    Example:
        >>> fake = {"runs": [{"loss": "SCL", "normalisation": "ball", "beta": 0.0, "class": c,
        ...                   "final": {m: 1.0 for m in TABLE_METRICS}} for c in ("NC", "NC", "DC")]}
        >>> row = setting_table(fake)[0]
        >>> row["NC"], row["DC"], row["neither"], row["seeds"], row["majority"]
        (2, 1, 0, 3, 'NC')
    """
    groups: dict = {}
    for r in result["runs"]:
        groups.setdefault(tuple(r[k] for k in keys), []).append(r)
    rows = []
    for key, rs in groups.items():
        row = dict(zip(keys, key))
        for m in TABLE_METRICS:
            row[m] = float(np.median([r["final"][m] for r in rs]))
        for c in cm.CLASSES:
            row[c] = sum(r["class"] == c for r in rs)
        row["seeds"] = len(rs)
        row["majority"] = max(cm.CLASSES, key=lambda c: row[c]) if max(row[c] for c in cm.CLASSES) * 2 > len(rs) else "mixed"
        rows.append(row)
    return rows
