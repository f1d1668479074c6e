r"""Errata for Theorem 1: every printed expression of paper 001 against the toolkit's derivation.

:func:`errata` returns one entry per comparison, agreements included, so a reader sees what was
checked. Two kinds of comparison are made:

* ``compared_with == "derivation"``: the printed claim against :func:`theory.derivation.derive`;
* ``compared_with == "paper: <key>"``: a printed step against what correct algebra gives from the
  paper's *own previous printed step*, which locates where a slip enters the chain.

For expressions the difference is ``simplify(printed - derived)``. Inequalities are compared in a
stated normal form ``lhs - rhs <= 0`` (the linear one of Appendix D is the epsilon = 0 form divided by
eta > 0), so the difference is the difference of the normal forms; their ``example`` is the largest
admissible eta at k = 3, epsilon = 0. A quoted number agrees when it equals the derived value to the
precision printed (half a unit of its last digit).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import sympy as sp

from theory.derivation import derive, epsilon, eta, is_zero, k
from theory.printed import PRINTED_CLAIMS, PrintedClaim, printed

__all__ = ["ErrataEntry", "errata", "errata_as_dicts"]

#: Small k (and eta = 1, epsilon = 0) at which every entry's numeric example is evaluated.
EXAMPLE_K = 3
EXAMPLE_ETA = 1


@dataclass(frozen=True)
class ErrataEntry:
    """One comparison between a printed expression and a derived one."""

    location: str
    quantity: str
    status: str  # "agrees" | "differs"
    printed: str
    derived: str
    difference: str
    example: dict[str, Any]
    compared_with: str = "derivation"
    key: str = ""
    note: str = ""
    latex: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain-JSON form (the ``clop-verify errata --json`` entry)."""
        return asdict(self)


def _normal_form(inequality: sp.Rel) -> sp.Expr:
    return inequality.lhs - inequality.rhs


def _largest_root(normal_form: sp.Expr, k_value: int) -> sp.Expr:
    """Upper end of {eta >= 0 : normal_form <= 0} at k = k_value, epsilon = 0."""
    expr = sp.simplify(normal_form.subs({k: k_value, epsilon: 0}))
    roots = [r for r in sp.solve(sp.Eq(expr, 0), eta) if r.is_real and r > 0]
    return max(roots) if roots else sp.oo


def _num(value: sp.Expr) -> float:
    return float(sp.N(value, 15))


def _entry(
    claim: PrintedClaim,
    derived: sp.Basic,
    *,
    compared_with: str = "derivation",
    note: str = "",
) -> ErrataEntry:
    printed_expr = claim.expression
    if claim.kind == "inequality":
        printed_nf, derived_nf = _normal_form(printed_expr), _normal_form(derived)
        difference = sp.factor(sp.simplify(printed_nf - derived_nf))
        agrees = is_zero(printed_nf - derived_nf)
        example = {
            "k": EXAMPLE_K,
            "epsilon": 0,
            "what": "largest admissible eta",
            "printed": _num(_largest_root(printed_nf, EXAMPLE_K)),
            "derived": _num(_largest_root(derived_nf, EXAMPLE_K)),
        }
    elif claim.kind == "number":
        difference = sp.nsimplify(printed_expr) - derived
        digits = 2  # "2.03": half a unit of the last printed digit is 0.005
        agrees = abs(_num(difference)) <= 0.5 * 10**-digits
        difference = sp.Float(_num(difference), 6)
        example = {"k": 30, "what": "value", "printed": _num(printed_expr), "derived": _num(derived)}
    elif claim.kind == "asymptotic":
        printed_limit = sp.limit(printed_expr.removeO(), k, sp.oo)
        derived_limit = sp.limit(derived.removeO(), k, sp.oo)
        difference = sp.simplify(printed_limit - derived_limit)
        agrees = difference == 0
        example = {"k": "oo", "what": "limit k -> oo", "printed": _num(printed_limit), "derived": _num(derived_limit)}
    else:
        difference = sp.factor(sp.simplify(printed_expr - derived))
        agrees = is_zero(printed_expr - derived)
        at = {k: EXAMPLE_K, eta: EXAMPLE_ETA, epsilon: 0}
        example = {
            "k": EXAMPLE_K,
            "what": "value" + (f" at eta = {EXAMPLE_ETA}" if printed_expr.has(eta) or derived.has(eta) else ""),
            "printed": _num(printed_expr.subs(at)),
            "derived": _num(derived.subs(at)),
        }
        if printed_expr.has(eta) or derived.has(eta):
            example["eta"] = EXAMPLE_ETA
    return ErrataEntry(
        location=claim.location,
        quantity=claim.quantity,
        status="agrees" if agrees else "differs",
        printed=str(printed_expr),
        derived=str(derived),
        difference=str(difference),
        example=example,
        compared_with=compared_with,
        key=claim.key,
        note=note,
        latex={"printed": claim.latex, "derived": sp.latex(derived)},
    )


@lru_cache(maxsize=1)
def errata() -> tuple[ErrataEntry, ...]:
    r"""Compare every printed Theorem 1 expression with the derivation (and with its own previous step).

    Returns:
        A tuple of :class:`ErrataEntry`, agreements and disagreements alike, in the paper's order.

    Example:
        >>> entries = errata()
        >>> [e.status for e in entries if e.key == "appD_norm_simplified" and e.compared_with == "derivation"]
        ['differs']
        >>> [e.status for e in entries if e.key == "appD_norm_unsimplified"]
        ['agrees']
    """
    d = derive()
    derived_condition = d["condition"]
    derived_linear = sp.Le(sp.simplify(_normal_form(derived_condition).subs(epsilon, 0) / eta), 0)
    eta_max0 = d["eta_max_eps0"]
    entries: list[ErrataEntry] = []

    def add(key: str, derived: sp.Basic, **kwargs: Any) -> None:
        entries.append(_entry(printed(key), derived, **kwargs))

    add(
        "theorem1_eq2",
        derived_condition,
        note="The bracket should be E||x^(1)||^2 = 1 + eta^2/(k-1); the printed bracket carries the "
        "simplification slip of Appendix D.",
    )
    add("appD_eq6", d["mean_norm_sq"])
    add("appD_eq7", d["x_dot_mean"])
    add("appD_norm_unsimplified", d["expected_norm_sq"])
    add(
        "appD_norm_simplified",
        d["expected_norm_sq"],
        note="Expanding (1 + eta/(k-1))^2 keeps 2 eta/(k-1) and eta^2/(k-1)^2, and the cross term is "
        "-2 eta/(k-1) - 2 eta^2/(k-1)^2: the eta terms cancel and E||x^(1)||^2 = 1 + eta^2/(k-1).",
    )
    # Where the slip enters: the simplified line against the paper's own unsimplified line.
    unsimplified = printed("appD_norm_unsimplified").expression
    add(
        "appD_norm_simplified",
        sp.simplify(unsimplified),
        compared_with="paper: appD_norm_unsimplified",
        note="The error is introduced in this simplification step; the line before it is right.",
    )
    add("appD_mean_shift", d["mean_shift_unnormalised"])
    add(
        "appD_linear",
        derived_linear,
        note="Derived normal form: -2 + eta (k-2)/(k-1) <= 0, i.e. eta <= 2(k-1)/(k-2).",
    )
    theorem_nf = _normal_form(printed("theorem1_eq2").expression).subs(epsilon, 0)
    add(
        "appD_linear",
        sp.Le(sp.simplify(theorem_nf / eta), 0),
        compared_with="paper: theorem1_eq2",
        note="Consistent with the paper's Eq. (2) at epsilon = 0: the slip is inherited, not new.",
    )
    add("appD_fraction", eta_max0)
    linear = _normal_form(printed("appD_linear").expression)
    slope = sp.diff(linear, eta)
    add(
        "appD_fraction",
        sp.factor(sp.simplify(-(linear - slope * eta) / slope)),
        compared_with="paper: appD_linear",
        note="Solving the printed linear inequality for eta gives exactly the printed fraction.",
    )
    add(
        "appD_polynomial",
        eta_max0,
        note="Derived: 2(k-1)/(k-2). The printed ratio of cubics also cancels to "
        "(2k^2-3k+2)/(k^2-2k+2).",
    )
    fraction = printed("appD_fraction").expression
    _, fraction_denominator = sp.fraction(fraction)
    cleared = sp.expand(sp.simplify(fraction_denominator * k * (k - 1) ** 2))
    add(
        "appD_polynomial",
        sp.factor(sp.simplify(fraction)),
        compared_with="paper: appD_fraction",
        note=f"Multiplying the printed fraction's denominator by k(k-1)^2 gives {cleared} = "
        f"{sp.factor(cleared)}, not the printed k**3 - 3*k**2 + 4*k - 2: a second, independent slip.",
    )
    cubic = printed("appD_polynomial").expression
    next_term = {
        name: sp.limit(k * (expr - 2), k, sp.oo) for name, expr in
        (("derived", eta_max0), ("printed cubic ratio", cubic), ("printed fraction", fraction))
    }
    add(
        "appD_asymptotic",
        d["large_k"],
        note="Leading term 2 agrees. Coefficient of 1/k: "
        + ", ".join(f"{name} {value}" for name, value in next_term.items())
        + " (a smaller coefficient puts the printed form below the derived bound at large k).",
    )
    at30 = {
        name: _num(expr.subs(k, 30)) for name, expr in
        (("derived", eta_max0), ("printed cubic ratio", cubic), ("printed fraction", fraction))
    }
    add(
        "sec31_value_k30",
        eta_max0.subs(k, 30),
        note="At k = 30: "
        + ", ".join(f"{name} {value:.4f}" for name, value in at30.items())
        + ". The quoted 2.03 is the printed cubic ratio rounded; the derived bound is higher.",
    )
    return tuple(entries)


def errata_as_dicts() -> list[dict[str, Any]]:
    """:func:`errata` as plain dicts, the ``entries`` list of ``clop-verify errata --json``.

    Example:
        >>> entry = errata_as_dicts()[0]
        >>> entry["quantity"], entry["status"]
        ('mean-growth inequality', 'differs')
    """
    return [e.as_dict() for e in errata()]
