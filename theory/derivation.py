r"""Theorem 1 of paper 001 derived from its stated assumptions with sympy, one inspectable step at a time.

Setting (paper 001, Section 3.1 and Appendix D): k class embeddings :math:`x_1,\dots,x_k`, i.i.d.
uniform on the unit sphere of :math:`\mathbb{R}^m`, :math:`m \ge k > 2`. Nothing below is typed in
as a result: every expectation is obtained by expanding inner products of linear combinations of the
:math:`x_j` and replacing the second moments by :math:`\mathbb{E}\langle x_i,x_i\rangle = 1` and
:math:`\mathbb{E}\langle x_i,x_j\rangle = 0` (:math:`i\ne j`).

The steps (each a :class:`Step` of :func:`derive`):

1. ``update_rule``: :math:`x_i^{(1)} = x_i - \frac{\eta}{k-1}\sum_{j\ne i}x_j`, as coefficients on the
   :math:`x_j` (1 on :math:`x_i`, :math:`-\eta/(k-1)` on each of the k-1 others).
2. ``expected_norm_sq``: :math:`\mathbb{E}\|x_i^{(1)}\|^2 = 1 + \eta^2/(k-1)`, by two routes (the
   coefficient expansion, and Appendix D's route through the mean, Eqs. 5-7), plus ``mean_norm_sq``
   :math:`\mathbb{E}\|\mu\|^2 = 1/k` and ``x_dot_mean`` :math:`\mathbb{E}\langle x_i,\mu\rangle = 1/k`.
3. ``mean_shift``: the unnormalised mean moves to :math:`(1-\eta)\mu`; renormalising every vector by
   :math:`B=\sqrt{\mathbb{E}\|x_i^{(1)}\|^2}` gives the factor
   :math:`\rho = |1-\eta|/\sqrt{1+\eta^2/(k-1)}` on the mean's norm.
4. ``condition``: :math:`\rho \le 1+\varepsilon \iff (1-\eta)^2 \le (1+\varepsilon)^2(1+\eta^2/(k-1))`.
5. ``bound``: with :math:`c=(1+\varepsilon)^2`, :math:`A = 1-c/(k-1)`, the condition is
   :math:`A\eta^2-2\eta+1-c\le0`; for :math:`A>0` the admissible :math:`\eta\ge0` are
   :math:`[0, (1+\sqrt{1+A(c-1)})/A]`, at :math:`\varepsilon=0` exactly :math:`[0, 2(k-1)/(k-2)]`;
   for :math:`A\le0` (:math:`(1+\varepsilon)^2\ge k-1`) every :math:`\eta\ge0` is admissible.
6. ``large_k``: :math:`2(k-1)/(k-2) = 2 + 2/k + 4/k^2 + O(k^{-3})`.

Public expressions use the plain symbols ``k``, ``eta``, ``epsilon`` (no assumptions) so that their
``str`` parses back with :func:`sympy.sympify`; sign arguments substitute :math:`k = 2 + p`,
:math:`p>0`.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

__all__ = [
    "k",
    "eta",
    "epsilon",
    "SYMBOLS",
    "Step",
    "Derivation",
    "derive",
    "expected_norm_sq_by_coefficients",
    "expected_norm_sq_via_mean",
    "expected_norm_sq_explicit_gram",
    "is_zero",
    "leading_coefficient_positive_for_k_above_2",
]

#: Number of class embeddings, learning rate, tolerated mean growth (plain symbols: they round-trip).
k, eta, epsilon = sp.symbols("k eta epsilon")
SYMBOLS = {"k": k, "eta": eta, "epsilon": epsilon}

#: Second moments of i.i.d. uniform unit vectors, kept symbolic until substituted.
M_self, M_cross = sp.symbols("M_self M_cross")
MOMENTS = {M_self: sp.Integer(1), M_cross: sp.Integer(0)}

_p = sp.Symbol("p", positive=True)  # k = 2 + p encodes the theorem's k > 2


@dataclass(frozen=True)
class Step:
    """One step of the derivation: a name, what it says, and the sympy result."""

    name: str
    statement: str
    expression: sp.Basic

    @property
    def latex(self) -> str:
        """LaTeX rendering of :attr:`expression` for documentation."""
        return sp.latex(self.expression)


@dataclass(frozen=True)
class Derivation:
    """All steps of the Theorem 1 derivation, by name (see :func:`derive`)."""

    steps: tuple[Step, ...]

    def __getitem__(self, name: str) -> sp.Basic:
        for step in self.steps:
            if step.name == name:
                return step.expression
        raise KeyError(name)

    def names(self) -> list[str]:
        """The step names in order."""
        return [s.name for s in self.steps]


def is_zero(expr: sp.Basic) -> bool:
    """True when ``expr`` simplifies to exactly zero (sympy's ``simplify`` after ``together``).

    Example:
        >>> is_zero((k**2 - 1) / (k - 1) - (k + 1))
        True
    """
    return sp.simplify(sp.together(sp.expand(expr))) == 0


def _quadratic_form(coefficient_classes: list[tuple[sp.Expr, sp.Expr]]) -> sp.Expr:
    r""":math:`\mathbb{E}\|\sum_j c_j x_j\|^2` for coefficients given as (value, multiplicity) classes.

    With classes :math:`(a_r, n_r)`, the expansion
    :math:`\sum_{j,l} c_j c_l \langle x_j, x_l\rangle` has diagonal weight :math:`\sum_r n_r a_r^2`
    (on :math:`M_{self}`) and off-diagonal weight :math:`(\sum_r n_r a_r)^2 - \sum_r n_r a_r^2`
    (on :math:`M_{cross}`); the moments are substituted by the caller.
    """
    total = sum(n * a for a, n in coefficient_classes)
    diagonal = sum(n * a**2 for a, n in coefficient_classes)
    return diagonal * M_self + (total**2 - diagonal) * M_cross


def expected_norm_sq_by_coefficients() -> sp.Expr:
    r""":math:`\mathbb{E}\|x_i^{(1)}\|^2` from the update's coefficients (route 1, Appendix D setup).

    :math:`x_i^{(1)}` has coefficient 1 on :math:`x_i` and :math:`-\eta/(k-1)` on each of the other
    k-1 vectors; the squared norm is expanded into :math:`M_{self}` and :math:`M_{cross}` terms and the
    moments are substituted.

    Example:
        >>> sp.simplify(expected_norm_sq_by_coefficients() - (1 + eta**2 / (k - 1)))
        0
    """
    classes = [(sp.Integer(1), sp.Integer(1)), (-eta / (k - 1), k - 1)]
    return sp.simplify(_quadratic_form(classes).subs(MOMENTS))


def expected_norm_sq_via_mean() -> sp.Expr:
    r""":math:`\mathbb{E}\|x_i^{(1)}\|^2` by Appendix D's route (Eq. 5), with Eqs. 6-7 derived, not copied.

    :math:`x_i^{(1)} = a x_i - b\mu`, :math:`a = 1+\eta/(k-1)`, :math:`b=\eta k/(k-1)`, so
    :math:`\mathbb{E}\|x_i^{(1)}\|^2 = a^2\,\mathbb{E}\|x_i\|^2 + b^2\,\mathbb{E}\|\mu\|^2
    - 2ab\,\mathbb{E}\langle x_i,\mu\rangle`, where :math:`\mathbb{E}\|\mu\|^2` and
    :math:`\mathbb{E}\langle x_i,\mu\rangle` come from the moment expansion
    (:func:`_mean_moments`).

    Example:
        >>> sp.simplify(expected_norm_sq_via_mean() - expected_norm_sq_by_coefficients())
        0
    """
    a = 1 + eta / (k - 1)
    b = eta * k / (k - 1)
    mean_sq, x_dot_mean = _mean_moments()
    return sp.simplify(a**2 * M_self.subs(MOMENTS) + b**2 * mean_sq - 2 * a * b * x_dot_mean)


def _mean_moments() -> tuple[sp.Expr, sp.Expr]:
    r""":math:`(\mathbb{E}\|\mu\|^2, \mathbb{E}\langle x_i,\mu\rangle)` by expanding :math:`\mu=\frac1k\sum_j x_j`."""
    mean_sq = _quadratic_form([(1 / k, k)]).subs(MOMENTS)
    # <x_i, mu> = (1/k) <x_i, x_i> + (1/k) sum_{j != i} <x_i, x_j>
    x_dot_mean = (M_self / k + (k - 1) * M_cross / k).subs(MOMENTS)
    return sp.simplify(mean_sq), sp.simplify(x_dot_mean)


def expected_norm_sq_explicit_gram(k_value: int) -> sp.Expr:
    r"""Independent check at a concrete k: expand :math:`c^\top G c` with a symbolic Gram matrix.

    :math:`G_{jl} = \langle x_j, x_l\rangle` are free symbols; the expectation replaces
    :math:`G_{jj}\to1` and :math:`G_{jl}\to0` (:math:`j \ne l`). No counting argument is used, so this
    checks the multiplicities of :func:`expected_norm_sq_by_coefficients`.

    Example:
        >>> expected_norm_sq_explicit_gram(4)
        eta**2/3 + 1
    """
    n = int(k_value)
    gram = sp.Matrix(n, n, lambda r, c: sp.Symbol(f"G_{min(r, c)}_{max(r, c)}"))
    coeffs = sp.Matrix([1] + [-eta / (n - 1)] * (n - 1))
    quad = sp.expand((coeffs.T * gram * coeffs)[0, 0])
    expectation = {sp.Symbol(f"G_{r}_{c}"): (1 if r == c else 0) for r in range(n) for c in range(r, n)}
    return sp.simplify(quad.subs(expectation))


def _mean_shift_coefficient() -> sp.Expr:
    r"""Coefficient of :math:`x_j` in :math:`\frac1k\sum_i x_i^{(1)}`, times k: 1 (from i = j) plus
    :math:`-\eta/(k-1)` from each of the k-1 others; so :math:`\mu^{(1)}_{\text{unnormalised}} = (\cdot)\,\mu`."""
    return sp.simplify(1 + (k - 1) * (-eta / (k - 1)))


def _largest_admissible_eta(c: sp.Expr) -> sp.Expr:
    r"""Larger root of :math:`A\eta^2 - 2\eta + 1 - c` (the upper end of the admissible interval)."""
    a = 1 - c / (k - 1)
    roots = sp.solve(sp.Eq(a * eta**2 - 2 * eta + 1 - c, 0), eta)
    # With c >= 1 and A > 0 the product of the roots (1 - c)/A <= 0: one root <= 0 <= the other.
    # Pick the root that is positive for a sample point with A > 0, c > 1.
    sample = {k: 30, epsilon: sp.Rational(1, 10)} if c.has(epsilon) else {k: 30}
    upper = [r for r in roots if sp.N(r.subs(sample)) > 0]
    if len(upper) != 1:  # pragma: no cover - guards the algebra above
        raise RuntimeError(f"expected one positive root, got {roots}")
    return upper[0]


@lru_cache(maxsize=1)
def derive() -> Derivation:
    r"""Run the whole derivation of Theorem 1 and return every step.

    Returns:
        :class:`Derivation` with steps ``update_coefficients``, ``mean_norm_sq``, ``x_dot_mean``,
        ``expected_norm_sq``, ``mean_shift_unnormalised``, ``mean_shift_factor``, ``condition``,
        ``condition_eps0_polynomial``, ``eta_max_eps0``, ``leading_coefficient``,
        ``eta_max_general``, ``no_bound_when``, ``large_k``.

    Example:
        >>> d = derive()
        >>> d["expected_norm_sq"]
        eta**2/(k - 1) + 1
        >>> d["eta_max_eps0"]
        2*(k - 1)/(k - 2)
        >>> d["mean_shift_unnormalised"]
        1 - eta
    """
    steps: list[Step] = []
    add = lambda name, statement, expr: steps.append(Step(name, statement, expr))  # noqa: E731

    # 1. the update rule, as coefficients on (x_i, each of the k-1 others)
    add(
        "update_coefficients",
        "x_i^(1) = x_i - eta/(k-1) sum_{j != i} x_j: coefficient on x_i, and on each other x_j",
        sp.Tuple(sp.Integer(1), -eta / (k - 1)),
    )
    # 2. moments and the expected squared norm (two routes must agree)
    mean_sq, x_dot_mean = _mean_moments()
    add("mean_norm_sq", "E||mu||^2 for mu = (1/k) sum_j x_j (Appendix D, Eq. 6)", mean_sq)
    add("x_dot_mean", "E<x_i, mu> (Appendix D, Eq. 7)", x_dot_mean)
    by_coefficients = expected_norm_sq_by_coefficients()
    via_mean = expected_norm_sq_via_mean()
    if not is_zero(by_coefficients - via_mean):  # pragma: no cover - would be a sympy/algebra bug
        raise RuntimeError("the two routes to E||x^(1)||^2 disagree")
    norm_sq = sp.expand(by_coefficients)
    norm_sq = 1 + sp.factor(norm_sq - 1)
    add("expected_norm_sq", "E||x_i^(1)||^2 (Appendix D, Eq. 5 simplified)", norm_sq)
    # 3. mean shift
    coefficient = _mean_shift_coefficient()
    add("mean_shift_unnormalised", "(1/k) sum_i x_i^(1) = (this) * mu^(0)", coefficient)
    factor = sp.Abs(coefficient) / sp.sqrt(norm_sq)
    add("mean_shift_factor", "||mu^(1)|| / ||mu^(0)|| after renormalising by B = sqrt(E||x^(1)||^2)", factor)
    # 4. the condition (squared, both sides non-negative)
    condition = sp.Le(coefficient**2, (1 + epsilon) ** 2 * norm_sq)
    add("condition", "rho <= 1 + epsilon, squared", condition)
    poly0 = sp.factor(sp.expand((coefficient**2 - norm_sq)))
    add("condition_eps0_polynomial", "epsilon = 0: (1-eta)^2 - E||x^(1)||^2 <= 0, factored", poly0)
    # 5. solution
    roots0 = sp.solve(sp.Eq(poly0, 0), eta)
    bound0 = sp.factor(max(roots0, key=lambda r: sp.N(r.subs(k, 30))))
    add("eta_max_eps0", "largest admissible eta at epsilon = 0", bound0)
    c = (1 + epsilon) ** 2
    leading = sp.simplify(1 - c / (k - 1))
    add("leading_coefficient", "A = coefficient of eta^2 in (1-eta)^2 - c E||x^(1)||^2, c = (1+epsilon)^2", leading)
    add("eta_max_general", "largest admissible eta for A > 0", _largest_admissible_eta(c))
    add("no_bound_when", "A <= 0: every eta >= 0 admissible (no upper bound)", sp.Ge(c, k - 1))
    # 6. large-k expansion
    add("large_k", "expansion of eta_max(k, 0) for large k", sp.series(bound0, k, sp.oo, 4))
    return Derivation(tuple(steps))


def leading_coefficient_positive_for_k_above_2() -> bool:
    r"""Sign argument for the epsilon = 0 bound: :math:`(k-2)/(k-1) > 0` for all :math:`k>2`.

    Substitutes :math:`k = 2 + p` with :math:`p > 0` and asks sympy for the sign.

    Example:
        >>> leading_coefficient_positive_for_k_above_2()
        True
    """
    lead = derive()["leading_coefficient"].subs(epsilon, 0)
    return bool(sp.simplify(lead.subs(k, 2 + _p)).is_positive)
