"""Claims about the CLOP loss itself (paper 001 Section 4, Appendix B Table 5; paper 004), with computed verdicts.

Each ``claim_*`` function returns ``{"id", "source", "statement", "verdict", "evidence"}``. The
evidence comes from the experiments of :mod:`simulations.training.synthetic` and :mod:`simulations.training.digits`
through the shared experiments of :mod:`results.experiments` (cached in ``figures/out/.cache``), so after
``clop-verify figures`` the claims take seconds; without the cache they run the experiments. The
verdict is computed from the evidence by the rule in each docstring (``Verdict rule:``).

The common test is :func:`compare`: a difference of two means over independent seeds is called
*significant* when it exceeds twice its standard error
:math:`\\sqrt{s_a^2/n_a + s_b^2/n_b}` (sample standard deviations, ddof = 1): a fixed 2-sigma rule,
not tuned to any outcome.
"""
from __future__ import annotations

import os
from typing import Sequence

import numpy as np

__all__ = [
    "compare",
    "claim_table5",
    "claim_prototypes_orthonormal_vs_etf",
    "claim_lr_robustness",
    "claim_digits_clop_gain",
    "all_claims",
    "COLLAPSE_RANK",
]

DEFAULT_DIR = "figures/out"

#: The InfoNCE/CLOP embedding of the 3-D data counts as collapsed when its effective rank is below 2
#: (it has lost at least one of the three dimensions: the points lie near a plane or a line).
COLLAPSE_RANK = 2.0

_TABLE5_IDS = {"infonce": "infonce", "dcl": "dcl", "vicreg": "vicreg", "barlow_twins": "barlowtwins"}


def compare(a: Sequence[float], b: Sequence[float]) -> dict:
    r"""Difference of means ``mean(a) - mean(b)`` over seeds, its standard error and its significance.

    .. math:: \Delta = \bar a - \bar b,\quad \mathrm{se} = \sqrt{s_a^2/n_a + s_b^2/n_b},\quad
        \text{sign} = \begin{cases}+1 & \Delta > 2\,\mathrm{se}\\ -1 & \Delta < -2\,\mathrm{se}\\ 0 & \text{else}\end{cases}

    Example:
        >>> compare([0.9, 0.92, 0.91], [0.5, 0.52, 0.51])["sign"]
        1
        >>> compare([0.5, 0.6], [0.55, 0.56])["sign"]
        0
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    var = lambda v: float(np.var(v, ddof=1)) if v.size > 1 else 0.0  # noqa: E731
    diff = float(a.mean() - b.mean())
    se = float(np.sqrt(var(a) / a.size + var(b) / b.size))
    sign = 1 if diff > 2 * se else (-1 if diff < -2 * se else 0)
    return {"difference": diff, "standard_error": se, "sign": sign}


def _entry(cid: str, source: str, statement: str, verdict: str, evidence: dict, check) -> dict:
    """A report entry; ``rule`` is the ``Verdict rule:`` paragraph of ``check``'s docstring."""
    from claims.quotes import quotes_for
    from claims.registry import verdict_rule

    return {"id": cid, "source": source, "statement": statement, "verdict": verdict,
            "rule": verdict_rule(check), "evidence": {**evidence, "quote": quotes_for(cid)}}


def claim_table5(loss: str = "infonce", quick: bool = False, out_dir: str | os.PathLike = DEFAULT_DIR) -> dict:
    """Table 5 of paper 001: does CLOP raise the 5-NN accuracy of ``loss`` on the synthetic 3-D data?

    Verdict rule: with g the gain in mean 5-NN accuracy (CLOP minus no CLOP, over the same seeds)
    and se its standard error (:func:`compare`): confirmed if g > 2 se; otherwise refuted if the
    printed gain exceeds g + 2 se (our seeds exclude the printed improvement); otherwise inconclusive.
    The evidence sets our accuracies beside the printed ones.
    """
    from results import experiments
    from simulations.training.synthetic import PAPER_TABLE5

    data = experiments.load("table5", quick, out_dir)
    rows = {r["clop"]: r for r in data["results"] if r["loss"] == loss}
    off, on = rows[False], rows[True]
    cmp = compare(on["accuracies"], off["accuracies"])
    paper = PAPER_TABLE5[loss]
    paper_gain = paper["with"] - paper["without"]
    if cmp["sign"] > 0:
        verdict = "confirmed"
    elif paper_gain > cmp["difference"] + 2 * cmp["standard_error"]:
        verdict = "refuted"
    else:
        verdict = "inconclusive"
    evidence = {
        "accuracy_without": off["accuracy_mean"], "accuracy_without_std": off["accuracy_std"],
        "accuracy_with": on["accuracy_mean"], "accuracy_with_std": on["accuracy_std"],
        "gain": cmp["difference"], "gain_standard_error": cmp["standard_error"],
        "paper_without": paper["without"], "paper_with": paper["with"], "paper_gain": paper_gain,
        "effective_rank_without": off["effective_rank_mean"], "effective_rank_with": on["effective_rank_mean"],
        "seeds": off["seeds"], "quick": quick,
    }
    evidence["headline"] = (
        f"5-NN {100 * off['accuracy_mean']:.2f}% -> {100 * on['accuracy_mean']:.2f}% with CLOP "
        f"(gain {100 * cmp['difference']:+.2f} +- {100 * cmp['standard_error']:.2f} points, {off['seeds']} seeds); "
        f"printed {100 * paper['without']:.2f}% -> {100 * paper['with']:.2f}%; effective rank "
        f"{off['effective_rank_mean']:.2f} -> {on['effective_rank_mean']:.2f}"
    )
    statement = (f"CLOP raises the KNN accuracy of {loss} on the synthetic data "
                 f"({100 * paper['without']:.2f}% -> {100 * paper['with']:.2f}%).")
    return _entry(f"table5.{_TABLE5_IDS[loss]}", "001 Appendix B, Table 5", statement, verdict, evidence, claim_table5)


def claim_prototypes_orthonormal_vs_etf(quick: bool = False, out_dir: str | os.PathLike = DEFAULT_DIR) -> dict:
    """Orthonormal prototypes beat a simplex ETF (paper 001 Sections 1 and 5; paper 004 Table 7).

    Tested with InfoNCE + CLOP (lambda 1, cosine) on the synthetic 3-D data, same seeds.

    Verdict rule: with d the difference in mean 5-NN accuracy (orthonormal minus ETF) and se its
    standard error (:func:`compare`): confirmed if d > 2 se, refuted if d < -2 se, else inconclusive.
    """
    from results import experiments

    data = experiments.load("prototype_ablation", quick, out_dir)
    cmp = compare(data["orthonormal"]["accuracies"], data["etf"]["accuracies"])
    verdict = {1: "confirmed", -1: "refuted", 0: "inconclusive"}[cmp["sign"]]
    evidence = {f"accuracy_{k}": float(np.mean(v["accuracies"])) for k, v in data.items()}
    evidence.update({f"effective_rank_{k}": float(np.mean(v["effective_ranks"])) for k, v in data.items()})
    evidence.update({"difference": cmp["difference"], "standard_error": cmp["standard_error"],
                     "seeds": len(data["etf"]["accuracies"]), "quick": quick})
    evidence["headline"] = (
        "5-NN " + ", ".join(f"{k} {100 * evidence[f'accuracy_{k}']:.2f}%" for k in data)
        + f" (orthonormal - ETF {100 * cmp['difference']:+.2f} +- {100 * cmp['standard_error']:.2f} points); "
        + "effective rank " + ", ".join(f"{k} {evidence[f'effective_rank_{k}']:.2f}" for k in data)
    )
    return _entry("prototypes.orthonormal_vs_etf", "004 Section 5.3, Table 7",
                  "Orthonormal prototypes do better than non-orthonormal ones (simplex ETF).", verdict, evidence,
                  claim_prototypes_orthonormal_vs_etf)


def claim_lr_robustness(quick: bool = False, out_dir: str | os.PathLike = DEFAULT_DIR) -> dict:
    """CLOP prevents collapse at learning rates where InfoNCE collapses (paper 004; paper 002 Figure 2).

    Verdict rule: a run collapses at a learning rate when its mean effective rank is below
    :data:`COLLAPSE_RANK` (= 2 of 3 dimensions). If InfoNCE collapses at no learning rate of the grid
    the claim cannot be tested: inconclusive (the evidence says so). Otherwise confirmed if CLOP does
    not collapse at any learning rate where InfoNCE does, refuted if it collapses at one of them.
    """
    from results import experiments

    data = experiments.load("lr_sweep", quick, out_dir)
    by = {(r["clop"], r["learning_rate"]): r for r in data["results"]}
    lrs = data["learning_rates"]
    collapsed = {c: [lr for lr in lrs if by[(c, lr)]["effective_rank_mean"] < COLLAPSE_RANK] for c in (False, True)}
    infonce_collapse = collapsed[False]
    if not infonce_collapse:
        verdict = "inconclusive"
    elif any(lr in collapsed[True] for lr in infonce_collapse):
        verdict = "refuted"
    else:
        verdict = "confirmed"
    evidence = {
        "learning_rates": lrs,
        "accuracy_infonce": [by[(False, lr)]["accuracy_mean"] for lr in lrs],
        "accuracy_clop": [by[(True, lr)]["accuracy_mean"] for lr in lrs],
        "effective_rank_infonce": [by[(False, lr)]["effective_rank_mean"] for lr in lrs],
        "effective_rank_clop": [by[(True, lr)]["effective_rank_mean"] for lr in lrs],
        "collapsed_lrs_infonce": infonce_collapse,
        "collapsed_lrs_clop": collapsed[True],
        "collapse_rank": COLLAPSE_RANK,
        "optimizer": data["config"]["optimizer"],
        "seeds": by[(False, lrs[0])]["seeds"],
        "quick": quick,
    }
    rank_range = lambda c: (min(evidence[f"effective_rank_{c}"]), max(evidence[f"effective_rank_{c}"]))  # noqa: E731
    evidence["headline"] = (
        f"learning rates {min(lrs):g}..{max(lrs):g}: InfoNCE effective rank {rank_range('infonce')[0]:.2f}-"
        f"{rank_range('infonce')[1]:.2f} (collapsed at {infonce_collapse or 'none'}), with CLOP "
        f"{rank_range('clop')[0]:.2f}-{rank_range('clop')[1]:.2f} (collapsed at {collapsed[True] or 'none'}); "
        f"collapse = effective rank < {COLLAPSE_RANK}"
    )
    return _entry("lr_robustness", "004 Key results",
                  "CLOP prevents collapse at learning rates where InfoNCE collapses.", verdict, evidence,
                  claim_lr_robustness)


def claim_digits_clop_gain(quick: bool = False, out_dir: str | os.PathLike = DEFAULT_DIR) -> dict:
    """CLOP improves the KNN accuracy of contrastive models on real data (sklearn digits, 10% labels).

    Verdict rule: for each loss (InfoNCE, SupCon) compare 5-NN accuracy with and without CLOP over the
    same seeds (:func:`compare`). Confirmed if the gain is significant (> 2 se) for every loss,
    refuted if it is significantly negative for some loss or non-significant for all, else
    inconclusive.
    """
    from results import experiments

    data = experiments.load("digits", quick, out_dir)
    evidence: dict = {}
    signs = []
    for loss in dict.fromkeys(r["loss"] for r in data["results"]):
        rows = {r["clop"]: r for r in data["results"] if r["loss"] == loss}
        cmp = compare(rows[True]["accuracies"], rows[False]["accuracies"])
        probe = compare(rows[True]["linear_probe"], rows[False]["linear_probe"])
        signs.append(cmp["sign"])
        evidence[loss] = {
            "knn_without": rows[False]["accuracy_mean"], "knn_with": rows[True]["accuracy_mean"],
            "knn_gain": cmp["difference"], "knn_gain_se": cmp["standard_error"],
            "probe_without": rows[False]["linear_probe_mean"], "probe_with": rows[True]["linear_probe_mean"],
            "probe_gain": probe["difference"], "probe_gain_se": probe["standard_error"],
            "effective_rank_without": rows[False]["effective_rank_mean"],
            "effective_rank_with": rows[True]["effective_rank_mean"],
        }
    evidence["raw_pixels_knn"] = data["raw_pixels"]["knn_accuracy_mean"]
    evidence["seeds"] = data["results"][0]["seeds"]
    evidence["quick"] = quick
    evidence["headline"] = "; ".join(
        f"{loss}: 5-NN {100 * e['knn_without']:.2f}% -> {100 * e['knn_with']:.2f}% "
        f"({100 * e['knn_gain']:+.2f} +- {100 * e['knn_gain_se']:.2f})"
        for loss, e in evidence.items() if isinstance(e, dict)
    ) + f"; raw pixels {100 * evidence['raw_pixels_knn']:.2f}% ({evidence['seeds']} seeds)"
    if all(s > 0 for s in signs):
        verdict = "confirmed"
    elif any(s < 0 for s in signs) or all(s == 0 for s in signs):
        verdict = "refuted"
    else:
        verdict = "inconclusive"
    return _entry("digits.clop_gain", "001 Section 4",
                  "CLOP improves the KNN accuracy of a contrastive model on real data (digits).", verdict, evidence,
                  claim_digits_clop_gain)


def all_claims(quick: bool = False, out_dir: str | os.PathLike = DEFAULT_DIR) -> list[dict]:
    """Every CLOP claim, in report order (Table 5 per loss, prototypes, learning rate, digits).

    Runs the experiments whose results are not in ``out_dir/.cache`` (tests: ``tests/clop``).
    """
    from simulations.training.synthetic import TABLE5_LOSSES

    out = [claim_table5(loss, quick, out_dir) for loss in TABLE5_LOSSES]
    out.append(claim_prototypes_orthonormal_vs_etf(quick, out_dir))
    out.append(claim_lr_robustness(quick, out_dir))
    out.append(claim_digits_clop_gain(quick, out_dir))
    return out
