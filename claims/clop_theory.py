r"""Claims about CLOP's prototype term at the class-embedding level (paper 001, Section 4, Eq. 4; Table 1).

The setting is Theorem 1's: k merged class embeddings under Appendix D's update (the rule that
collapses without CLOP, above :math:`\eta^* = 2(k-1)/(k-2)`), plus CLOP's term
:math:`\lambda(1 - s(x_i, c_i))` per class embedding with orthonormal prototypes. :mod:`theory.clop`
derives where a near-collapsed state persists (:math:`\lambda < \lambda_c(\eta, k)`, increasing in
:math:`\eta` to :math:`\lambda_\infty(k) = 2(k-2)/\sqrt{4k^2-11k+8} < 1`); the simulator
(:func:`simulations.collapse.from_state.clop_end_states`) checks it cell by cell on a grid, from 1e-4 off
complete collapse and from the uniform start.

Two scales of :math:`\lambda` are read (:func:`theory.clop.per_embedding_lambda`): Eq. 4 as printed, a
sum over labelled samples, with one labelled embedding per class (per-class-embedding weight
:math:`\lambda`; more labelled samples per class only raise it), and the authors' released loss, a mean
over the labelled samples (:math:`\lambda/k` per class embedding for balanced classes).

* ``clop.prevents_collapse``: at the paper's :math:`\lambda = 1`, does the term remove every
  near-collapsed state, at every learning rate?
* ``clop.lambda_range``: is the outcome the same ("stable") for every :math:`\lambda` of Table 1's range
  0.1-1.5? At the class-embedding level (the derived law and the simulator) and on the synthetic network
  (experiment ``clop_lambda``: CLOP at lambda 0.1, 0.3, 1, 3 under both scales where InfoNCE collapses),
  with the network's collapse rates read against the class-level order (:func:`network_link`).
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from claims.registry import Context, claim
from claims.statistics import interval_side

__all__ = ["clop_grid", "TABLE1_LAMBDAS", "PAPER_LAMBDA", "NETWORK_CLASSES", "network_rates", "network_link",
           "network_stability", "seeds_to_decide", "combine_halves"]

#: The paper's chosen weight (Section 5) and Table 1's range (the values the ablation lists between 0.1 and 1.5
#: are not all printed in the text; these five span it and include both ends).
PAPER_LAMBDA = 1.0
TABLE1_LAMBDAS = (0.1, 0.3, 0.5, 1.0, 1.5)

#: Classes of the synthetic data (the per-class-embedding weight of the mean scale is lambda / 3).
NETWORK_CLASSES = 3


def _params(quick: bool) -> dict:
    return {
        "ks": (3,) if quick else (3, 10, 30),
        "eta_over_star": (0.5, 1.5, 4.0) if quick else (0.5, 1.2, 2.0, 4.0, 8.0),
        "lams": TABLE1_LAMBDAS,
        "seeds": (0,) if quick else (0, 1),
        "steps": 1000 if quick else 3000,
        "m_extra": 4,
    }


def clop_grid(ctx: Context) -> dict:
    r"""Derived and simulated outcomes on the claim grid (shared by both claims).

    For each k, pairs :math:`(\eta, \lambda_{ce})` with :math:`\eta = x\,\eta^*`, :math:`x` in
    ``eta_over_star``, and :math:`\lambda_{ce}` = 0 (the control), every Table 1 value under the sum scale
    (:math:`\lambda`) and under the mean scale (:math:`\lambda/k`). Per cell: ``derived`` (``lambda_ce <
    lambda_c``), ``persists`` per start (any seed keeps the mean's component outside the prototypes' span
    above 1e-3) and the measured component.
    """
    p = _params(ctx.quick)

    def compute():
        from simulations.collapse.from_state import clop_end_states
        from simulations.collapse.runner import CLOP_PERSIST_TOL
        from theory import clop

        out = {"params": p, "tol": CLOP_PERSIST_TOL, "cells": []}
        for k in p["ks"]:
            star = 2 * (k - 1) / (k - 2)
            specs = [("control", 0.0, 0.0)]
            specs += [("sum", lam, lam) for lam in p["lams"]] + [("mean", lam, lam / k) for lam in p["lams"]]
            pairs = [(x * star, spec) for x in p["eta_over_star"] for spec in specs]
            etas = np.array([e for e, _ in pairs])
            lams = np.array([spec[2] for _, spec in pairs])
            # the control (lambda = 0) needs no prototypes to collapse, but runs in the same program
            d = clop_end_states(k, etas, lams, m=2 * k + p["m_extra"], seeds=p["seeds"], steps=p["steps"])
            for i, (eta, (scale, lam, lam_ce)) in enumerate(pairs):
                lam_c = float(clop.clop_lambda_critical(eta, k))
                out["cells"].append({
                    "k": k, "eta": float(eta), "eta_over_star": float(eta / star), "scale": scale, "lambda": lam,
                    "lambda_per_embedding": float(lam_ce), "lambda_c": lam_c,
                    "derived_persists": bool(lam_ce < lam_c) if lam_ce > 0 else bool(eta > star),
                    "outside_near": d["outside"][0, i].tolist(), "outside_uniform": d["outside"][1, i].tolist(),
                    "persists_near": bool((d["outside"][0, i] > CLOP_PERSIST_TOL).any()),
                    "persists_uniform": bool((d["outside"][1, i] > CLOP_PERSIST_TOL).any()),
                })
        for c in out["cells"]:
            c["agrees"] = c["persists_near"] == c["derived_persists"] == c["persists_uniform"]
        return out

    return ctx.shared(f"clop-grid:{ctx.quick}", compute)


def _scale_summary(cells, ks, lam: float, scale: str) -> dict:
    """Per k: does lambda (on this scale) prevent collapse at every eta (derived), and above which eta it does not."""
    from theory import clop

    summary = {}
    for k in ks:
        lam_ce = lam if scale == "sum" else lam / k
        eta_min = float(clop.clop_eta_min(lam_ce, k))
        grid = [c for c in cells if c["k"] == k and c["scale"] == scale and c["lambda"] == lam]
        summary[k] = {
            "lambda_per_embedding": lam_ce, "lambda_limit": float(clop.clop_lambda_limit(k)),
            "prevents_at_every_eta": bool(lam_ce >= clop.clop_lambda_limit(k)),
            "collapse_persists_above_eta": eta_min, "above_over_eta_star": eta_min / (2 * (k - 1) / (k - 2)),
            "simulated_persisting_cells": sum(c["persists_near"] or c["persists_uniform"] for c in grid),
            "cells": len(grid),
        }
    return summary


@claim(
    "clop.prevents_collapse",
    source="001 Section 4 (Eq. 4) and Section 5 (lambda = 1), class-embedding level",
    statement="CLOP's pulling force (lambda = 1) prevents collapse, at every learning rate.",
    figures=("clop_phase",),
)
def check_prevents_collapse(ctx: Context) -> tuple[str, dict]:
    """CLOP's term at lambda = 1 in Appendix D's dynamics, against the derived critical lambda.

    Verdict rule: reading fixed before running: Appendix D's update with CLOP's term at the paper's
    lambda = 1, k = 3, 10, 30, eta / eta* in {0.5, 1.2, 2, 4, 8}, starts 1e-4 from collapse and uniform
    (2 seeds each), 3000 steps, float64; a run keeps a near-collapsed state when the mean's component
    outside the prototypes' span exceeds 1e-3. Primary reading: Eq. 4 as printed (a sum; one labelled
    embedding per class: lambda = 1 per class embedding); the released loss's mean (lambda / k) is
    reported beside it with the learning rates above which it fails. inconclusive if the simulated
    outcome differs from the derived one (lambda < lambda_c) in any cell of the grid, or if the lambda = 0
    control keeps no collapsed state above eta* (nothing to prevent); confirmed if, under the primary
    reading, no lambda = 1 run keeps a near-collapsed state and the derived lambda_inf(k) <= 1 for every
    k (so no learning rate, on or off the grid, keeps one); refuted otherwise.
    """
    grid = clop_grid(ctx)
    p, cells = grid["params"], grid["cells"]
    disagree = [c for c in cells if not c["agrees"]]
    control = [c for c in cells if c["scale"] == "control" and c["eta_over_star"] > 1]
    control_ok = all(c["persists_near"] and c["persists_uniform"] for c in control)
    primary = _scale_summary(cells, p["ks"], PAPER_LAMBDA, "sum")
    released = _scale_summary(cells, p["ks"], PAPER_LAMBDA, "mean")
    sim_ok = all(s["simulated_persisting_cells"] == 0 for s in primary.values())
    derived_ok = all(s["prevents_at_every_eta"] for s in primary.values())
    if disagree or not control_ok:
        verdict = "inconclusive"
    else:
        verdict = "confirmed" if sim_ok and derived_ok else "refuted"
    ks = p["ks"]
    limits = ", ".join(f"k={k}: {primary[k]['lambda_limit']:.3f}" for k in ks)
    mean_fail = ", ".join(f"k={k}: eta > {released[k]['collapse_persists_above_eta']:.3f} "
                          f"({released[k]['above_over_eta_star']:.2f} eta*)" for k in ks)
    outcome = ("no near-collapsed state at any eta" if sim_ok and derived_ok
               else "a near-collapsed state persists at some eta")
    summary = (f"Eq. 4 sum (lambda = 1 per class embedding): {outcome}, "
               f"lambda_inf(k) = 2(k-2)/sqrt(4k^2-11k+8) = {limits}; simulated {sum(not c['agrees'] for c in cells)} "
               f"of {len(cells)} cells off the derived law (both starts); released mean (1/k per class embedding): "
               f"collapse persists for {mean_fail}; lambda = 0 control keeps collapse above eta* in "
               f"{sum(c['persists_near'] and c['persists_uniform'] for c in control)}/{len(control)} cells")
    evidence = {
        "summary": summary,
        "primary_sum_scale": {str(k): v for k, v in primary.items()},
        "released_mean_scale": {str(k): v for k, v in released.items()},
        "derived_law": ("lambda_c(eta, k) = [1/(4k(eta-1)^2) + (k-1)^3/(k(k-2)^2(eta-eta*)^2)]^(-1/2)/eta for "
                        "eta > eta* (0 below); near-collapsed state: alpha* = eta lambda/(2 sqrt(k)(eta-1)), "
                        "beta* = eta lambda (k-1) sqrt(1-1/k)/((k-2)(eta-eta*)), gamma*^2 = 1 - alpha*^2 - beta*^2"),
        "cells_disagreeing": disagree,
        "parameters": p,
        "cells": cells,
    }
    return verdict, evidence


def network_rates(result: dict) -> list[dict]:
    r"""Collapse rate per arm (curve, learning rate, :math:`\lambda`, scale) of the ``clop_lambda`` experiment.

    Per arm: :math:`c` collapsed runs of :math:`n` seeds (a run collapses when the effective rank of its
    normalised embeddings is below :data:`theory.definitions.COLLAPSE_RANK` or it diverged, fixed before
    the sweep), the exact 95 % Clopper-Pearson interval of :math:`c/n`
    (:func:`claims.statistics.clopper_pearson`), and the class-level reading of the arm: the
    per-class-embedding :math:`\lambda_{ce}` of :mod:`theory.clop` (sum: :math:`\lambda`, one labelled
    embedding per class; mean: :math:`\lambda/k`), whether :math:`\lambda_{ce} \ge \lambda_\infty(k)`
    (no learning rate keeps a near-collapsed state), and the network's own per-class weight
    (sum: :math:`\lambda\,\bar n_c` with :math:`\bar n_c` = batch x labelled fraction / k labelled samples
    per class in a batch; mean: :math:`\lambda/k`).

    Example:
        >>> r = {"points": [{"tau": 0.1, "momentum": 0.9, "learning_rate": 1.0, "lambda": 1.0, "lambda_scale": "mean",
        ...      "collapsed": [True, False], "effective_ranks": [1.2, 2.9]}], "batch_size": 256, "label_fraction": 0.1}
        >>> row = network_rates(r)[0]
        >>> row["collapsed_runs"], row["runs"], [round(v, 3) for v in row["clopper_pearson"]], round(row["lambda_ce"], 3)
        (1, 2, [0.013, 0.987], 0.333)
    """
    from claims.statistics import clopper_pearson
    from theory import clop

    limit = float(clop.clop_lambda_limit(NETWORK_CLASSES))
    per_class = result["batch_size"] * result["label_fraction"] / NETWORK_CLASSES
    rows = []
    for p in result["points"]:
        c, n = int(sum(p["collapsed"])), len(p["collapsed"])
        lam_ce = float(clop.per_embedding_lambda(p["lambda"], NETWORK_CLASSES, p["lambda_scale"]))
        rows.append({"tau": p["tau"], "momentum": p["momentum"], "learning_rate": p["learning_rate"],
                     "lambda": p["lambda"], "lambda_scale": p["lambda_scale"], "collapsed_runs": c, "runs": n,
                     "rate": c / n, "clopper_pearson": clopper_pearson(c, n), "lambda_ce": lam_ce,
                     "class_level_prevents_at_every_eta": bool(lam_ce >= limit),
                     "network_per_class_weight": p["lambda"] * (per_class if p["lambda_scale"] == "sum"
                                                                else 1 / NETWORK_CLASSES),
                     "collapsed": list(p["collapsed"]), "effective_ranks": list(p["effective_ranks"])})
    return rows


def _order_count(pairs: list[tuple[dict, dict]]) -> dict:
    """Agreements (the arm the theory protects more collapses strictly less), disagreements, ties, and the
    Clopper-Pearson interval of agreements among the untied; 'ordered' / 'reversed' / 'not resolved'."""
    from claims.statistics import clopper_pearson

    agree = [(a, b) for a, b in pairs if b["collapsed_runs"] < a["collapsed_runs"]]
    disagree = [(a, b) for a, b in pairs if b["collapsed_runs"] > a["collapsed_runs"]]
    untied = len(agree) + len(disagree)
    ci = clopper_pearson(len(agree), untied) if untied else [0.0, 1.0]
    status = {"above": "ordered", "below": "reversed", "undecided": "not resolved"}[interval_side(ci)]

    def label(a, b):
        return {"learning_rate": a["learning_rate"], "tau": a["tau"], "momentum": a["momentum"],
                "weaker": f"{a['lambda_scale']} {a['lambda']:g}: {a['collapsed_runs']}/{a['runs']}",
                "stronger": f"{b['lambda_scale']} {b['lambda']:g}: {b['collapsed_runs']}/{b['runs']}"}

    return {"comparisons": len(pairs), "agree": len(agree), "disagree": len(disagree),
            "ties": len(pairs) - untied, "clopper_pearson": ci, "status": status,
            "disagreements": [label(a, b) for a, b in disagree]}


def network_link(rows: list[dict]) -> dict:
    r"""Does the class-level critical :math:`\lambda` order what the network does? Two counts, fixed before running.

    The class-level law (:mod:`theory.clop`) says a larger per-class-embedding :math:`\lambda_{ce}` keeps a
    near-collapsed state over a smaller set of learning rates (:math:`\lambda_c(\eta, k)` increases in
    :math:`\eta`), so at a fixed learning rate a larger :math:`\lambda_{ce}` should collapse no more often:

    * **lambda order:** within a scale, curve and learning rate, each pair of adjacent :math:`\lambda` of the
      grid (0.1 < 0.3 < 1 < 3);
    * **scale order:** at equal :math:`\lambda`, curve and learning rate, the sum against the mean (the sum
      weighs each class embedding :math:`\bar n_c k` times more, so it should protect at least as much).

    A comparison *agrees* when the more protected arm collapses in strictly fewer seeds, *disagrees* when in
    strictly more, and is a tie otherwise (ties say nothing: both 0/n or both n/n are common). Criterion:
    **ordered** if the exact 95 % Clopper-Pearson interval of agreements among the untied comparisons lies
    above 1/2, **reversed** if below, **not resolved** otherwise (also with no untied comparison). The
    comparisons share arms and seeds, so the binomial interval is an approximation, not an exact test.

    Example:
        >>> def arm(lam, scale, c): return {"lambda": lam, "lambda_scale": scale, "collapsed_runs": c, "runs": 6,
        ...                                 "learning_rate": 1.0, "tau": 0.1, "momentum": 0.9}
        >>> rows = [arm(l, s, c) for s, cs in (("sum", (6, 4, 0, 0)), ("mean", (6, 6, 6, 3)))
        ...         for l, c in zip((0.1, 0.3, 1.0, 3.0), cs)]
        >>> link = network_link(rows)
        >>> link["lambda_order"]["agree"], link["lambda_order"]["ties"], link["scale_order"]["agree"]
        (3, 3, 3)
    """
    def cell(r):
        return (r["tau"], r["momentum"], r["learning_rate"])

    by = {(cell(r), r["lambda_scale"], r["lambda"]): r for r in rows}
    lams = sorted({r["lambda"] for r in rows})
    lam_pairs = [(by[(c, s, a)], by[(c, s, b)]) for (c, s, _) in sorted({(cell(r), r["lambda_scale"], 0) for r in rows})
                 for a, b in zip(lams, lams[1:]) if (c, s, a) in by and (c, s, b) in by]
    scale_pairs = [(by[(c, "mean", lam)], by[(c, "sum", lam)]) for c in sorted({cell(r) for r in rows}) for lam in lams
                   if (c, "mean", lam) in by and (c, "sum", lam) in by]
    return {"lambda_order": _order_count(lam_pairs), "scale_order": _order_count(scale_pairs)}


def seeds_to_decide(collapsed: int, runs: int, max_n: int = 1000) -> int | None:
    r"""Seeds at which the observed collapse rate :math:`c/n`, if it held, would settle stable / not stable.

    :func:`claims.statistics.seeds_to_decide_rate` at the exact rate ``Fraction(collapsed, runs)``, searched
    from the ``runs`` already made: the smallest :math:`N \ge n` with :math:`c_N = \operatorname{round}(N c/n)`
    whose 95 % Clopper-Pearson interval lies wholly below or wholly above 1/2; ``None`` at a rate of exactly
    1/2 or beyond ``max_n``.

    Example:
        >>> seeds_to_decide(0, 5), seeds_to_decide(1, 6), seeds_to_decide(3, 6)
        (6, 12, None)
    """
    from claims.statistics import seeds_to_decide_rate

    return seeds_to_decide_rate(Fraction(collapsed, runs), max_n=max_n, min_n=runs)


def network_stability(rows: list[dict], lams_in_range=(0.1, 1.5)) -> dict:
    r"""Table 1's "stable for lambda from 0.1 to 1.5" on the network, per scale, by a rule fixed before running.

    For each tested :math:`\lambda` in ``lams_in_range`` (inclusive) and scale, over every curve and
    learning rate of the sweep (95 % Clopper-Pearson interval :math:`[L, U]` of the collapse rate):
    :math:`\lambda` is **stable** if :math:`U < 1/2` at every learning rate, **not stable** if
    :math:`L > 1/2` at some learning rate, **inconclusive** otherwise. A scale is stable if every tested
    :math:`\lambda` is, not stable if some :math:`\lambda` is not, inconclusive otherwise. (With 6 seeds
    only 0/6 gives :math:`U < 1/2` and only 6/6 gives :math:`L > 1/2`.) An inconclusive :math:`\lambda` carries
    ``seeds_to_decide`` (:func:`seeds_to_decide`: the fewest over its arms with a rate above 1/2, which
    alone would make it not stable; else the most over its undecided arms, all of which must fall below).

    Example:
        >>> from claims.statistics import clopper_pearson
        >>> def arm(lam, c): return {"lambda": lam, "lambda_scale": "sum", "collapsed_runs": c, "runs": 6,
        ...                          "learning_rate": 1.0, "clopper_pearson": clopper_pearson(c, 6)}
        >>> network_stability([arm(0.1, 0), arm(1.0, 0)])["sum"]["status"], network_stability([arm(0.1, 6), arm(1.0, 0)])["sum"]["status"]
        ('stable', 'not stable')
    """
    lo, hi = lams_in_range
    out = {}
    for scale in sorted({r["lambda_scale"] for r in rows}, reverse=True):  # sum first
        per_lam = {}
        for lam in sorted({r["lambda"] for r in rows if lo <= r["lambda"] <= hi}):
            arms = [r for r in rows if r["lambda_scale"] == scale and r["lambda"] == lam]
            sides = [interval_side(r["clopper_pearson"]) for r in arms]
            if "above" in sides:
                status = "not stable"
            elif all(side == "below" for side in sides):
                status = "stable"
            else:
                status = "inconclusive"
            per_lam[str(lam)] = {"status": status, "collapsed": [f"lr {r['learning_rate']:g}: {r['collapsed_runs']}/{r['runs']}"
                                                                 for r in arms]}
            if status == "inconclusive":  # one arm above 1/2 decides 'not stable'; 'stable' needs every arm
                high = [seeds_to_decide(r["collapsed_runs"], r["runs"]) for r in arms if 2 * r["collapsed_runs"] > r["runs"]]
                low = [seeds_to_decide(r["collapsed_runs"], r["runs"]) for r in arms if r["clopper_pearson"][1] >= 0.5
                       and 2 * r["collapsed_runs"] < r["runs"]]
                per_lam[str(lam)]["seeds_to_decide"] = (min((n for n in high if n), default=None) if high
                                                        else max((n for n in low if n), default=None))
        statuses = [v["status"] for v in per_lam.values()]
        status = ("not stable" if "not stable" in statuses else "stable" if statuses and all(v == "stable" for v in statuses)
                  else "inconclusive")
        out[scale] = {"status": status, "per_lambda": per_lam}
    return out


def combine_halves(class_holds: dict | None, network: dict) -> tuple[str, dict]:
    r"""The claim's verdict from its two halves, per scale, by a rule fixed before running.

    ``class_holds``: per scale, whether the class-embedding half holds (``None``: that half is inconclusive,
    its simulation disagreeing with the derived law somewhere). ``network``: :func:`network_stability`.
    Per scale: **holds** if the class half holds and the network is stable; **fails** if the class half
    fails or the network is not stable; **open** otherwise. Verdict: ``confirmed`` if some scale holds
    (both halves under the same scale), ``not reproduced`` if every scale fails, ``inconclusive`` otherwise.

    Example:
        >>> combine_halves({"sum": True, "mean": False}, {"sum": {"status": "stable"}, "mean": {"status": "stable"}})[0]
        'confirmed'
        >>> combine_halves({"sum": False, "mean": False}, {"sum": {"status": "stable"}, "mean": {"status": "inconclusive"}})[0]
        'not reproduced'
        >>> combine_halves(None, {"sum": {"status": "stable"}, "mean": {"status": "not stable"}})[0]
        'inconclusive'
    """
    per_scale = {}
    for scale, net in network.items():
        cls = None if class_holds is None else class_holds[scale]
        if cls is False or net["status"] == "not stable":
            per_scale[scale] = "fails"
        elif cls and net["status"] == "stable":
            per_scale[scale] = "holds"
        else:
            per_scale[scale] = "open"
    values = list(per_scale.values())
    verdict = ("confirmed" if "holds" in values else "not reproduced" if all(v == "fails" for v in values)
               else "inconclusive")
    return verdict, per_scale


def clop_network(ctx: Context) -> dict:
    """The ``clop_lambda`` experiment (cached through :mod:`results.cache`, shared within a report)."""
    from results import experiments

    return ctx.shared(f"clop-network:{ctx.quick}", lambda: experiments.load("clop_lambda", ctx.quick, None))


def _rate_table(rows: list[dict]) -> str:
    parts = []
    for scale in ("sum", "mean"):
        for lam in sorted({r["lambda"] for r in rows}):
            arms = sorted((r for r in rows if r["lambda_scale"] == scale and r["lambda"] == lam),
                          key=lambda r: (r["tau"], r["momentum"], r["learning_rate"]))
            parts.append(f"{scale} {lam:g}: " + " ".join(f"{r['collapsed_runs']}/{r['runs']}" for r in arms))
    return "; ".join(parts)


@claim(
    "clop.lambda_range",
    source="001 Section 5, Table 1 (Ablation Study on lambda Tuning), class-embedding level and synthetic network",
    statement="CLOP's outcome is stable for lambda from 0.1 to 1.5.",
    figures=("clop_phase",),
)
def check_lambda_range(ctx: Context) -> tuple[str, dict]:
    """Every lambda of Table 1's range against the derived critical lambda, and on the synthetic network, under both scales.

    Verdict rule: reading fixed before running. Class-embedding half: "stable for lambda from 0.1 to 1.5"
    means that every lambda in {0.1, 0.3, 0.5, 1, 1.5} removes every near-collapsed state at every learning
    rate, as lambda = 1 does under Eq. 4's sum (same grid, starts, seeds, steps and 1e-3 criterion as
    clop.prevents_collapse; "every learning rate" from the derived law, lambda >= lambda_inf(k), and on the
    grid from the simulator), k = 3, 10, 30; it holds or fails per scale (Eq. 4's sum: lambda per class
    embedding; the released mean: lambda / k), and is inconclusive if the simulated outcome differs from
    the derived one in any cell. Network half (experiment clop_lambda: InfoNCE + CLOP, SGD momentum 0.9,
    tau 0.1, no batch norm, learning rates 0.1 and 1 (InfoNCE alone: 1/3 and 3/3 seeds collapsed in the
    network_lr sweep), lambda 0.1, 0.3, 1, 3, both scales, 6 seeds, 300 steps; a run collapses when the effective rank of its normalised
    embeddings is below 1.5): a lambda in [0.1, 1.5] is stable under a scale if the 95 % Clopper-Pearson
    upper bound of its collapse rate is below 1/2 at every learning rate, not stable if the lower bound is
    above 1/2 at some learning rate, inconclusive otherwise; a scale is stable if every such lambda is, not
    stable if one is not. Combined per scale: holds if the class half holds and the network is stable,
    fails if either fails, open otherwise; confirmed if some scale holds (naming it), not reproduced if
    every scale fails, inconclusive otherwise. lambda = 3 (outside the range) enters only the network link
    (does the class-level order of lambda and scale order the network's collapse rates; reported, not
    part of the verdict).
    """
    grid = clop_grid(ctx)
    p, cells = grid["params"], grid["cells"]
    disagree = [c for c in cells if not c["agrees"]]
    per_scale = {scale: {str(lam): {str(k): v for k, v in _scale_summary(cells, p["ks"], lam, scale).items()}
                         for lam in p["lams"]} for scale in ("sum", "mean")}

    def holds(scale):
        return all(v["prevents_at_every_eta"] and v["simulated_persisting_cells"] == 0
                   for by_k in per_scale[scale].values() for v in by_k.values())

    class_holds = None if disagree else {scale: holds(scale) for scale in ("sum", "mean")}
    class_verdict = ("inconclusive" if class_holds is None
                     else "confirmed" if any(class_holds.values()) else "not reproduced")
    parts = []
    for scale in ("sum", "mean"):
        bad = [(lam, k, v["above_over_eta_star"]) for lam, by_k in per_scale[scale].items() for k, v in by_k.items()
               if not v["prevents_at_every_eta"]]
        worst = min(bad, key=lambda t: t[2]) if bad else None
        parts.append(f"{scale}: {len(bad)} of {len(p['lams']) * len(p['ks'])} (lambda, k) keep collapse above some eta"
                     + (f" (earliest lambda {worst[0]}, k={worst[1]}: above {worst[2]:.3f} eta*)" if worst else ""))
    from theory import clop

    net = clop_network(ctx)
    rows = network_rates(net)
    stability = network_stability(rows)
    link = network_link(rows)
    verdict, combined = combine_halves(class_holds, stability)
    smallest = {str(k): float(clop.clop_lambda_limit(k)) for k in p["ks"]}
    network_summary = (f"network (SGD 0.9, tau 0.1, no BN, lr {', '.join(f'{v:g}' for v in net['grid']['learning_rates'])}; "
                       f"{net['grid']['seeds']} seeds; collapsed/seeds per lr): {_rate_table(rows)}; sum scale "
                       f"{stability.get('sum', {}).get('status')}, mean scale {stability.get('mean', {}).get('status')}; "
                       f"lambda order {link['lambda_order']['agree']} agree / {link['lambda_order']['disagree']} disagree / "
                       f"{link['lambda_order']['ties']} ties ({link['lambda_order']['status']}), sum vs mean "
                       f"{link['scale_order']['agree']} / {link['scale_order']['disagree']} / {link['scale_order']['ties']} "
                       f"({link['scale_order']['status']})")
    evidence = {
        "summary": "class level: " + "; ".join(parts) + "; smallest per-class-embedding lambda for every eta: "
                   + ", ".join(f"k={k}: {v:.3f}" for k, v in smallest.items())
                   + " (the mean scale needs k times that); " + network_summary
                   + "; both halves per scale: " + ", ".join(f"{k} {v}" for k, v in combined.items()),
        "class_level": {"verdict": class_verdict, "holds": class_holds, "per_scale": per_scale,
                        "lambda_for_every_eta": smallest, "cells_disagreeing": disagree, "parameters": p},
        "network": {"stability": stability, "link": link, "per_scale_combined": combined, "arms": rows,
                    "grid": net["grid"], "steps": net["steps"], "batch_size": net["batch_size"], "n": net["n"],
                    "collapse_rank": net["collapse_rank"], "cpu_seconds": net["cpu_seconds"], "quick": net["quick"]},
    }
    return verdict, evidence
