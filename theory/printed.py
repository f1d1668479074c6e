r"""The expressions paper 001 prints for Theorem 1, transcribed verbatim as data (the printed claims).

Nothing here is corrected: each :class:`PrintedClaim` holds the paper's own expression (as sympy, in
the plain symbols ``k``, ``eta``, ``epsilon``, with the paper's :math:`\mu`/:math:`\eta` for the
learning rate both read as ``eta``), the LaTeX as printed, and where it stands in
``001_a0916c72eb7a88d5.txt``. :func:`theory.errata` (:mod:`theory.comparison`) compares them with :mod:`theory.derivation`.

Kinds: ``"expression"`` (a value as a function of k, eta), ``"inequality"`` (a condition on eta),
``"number"`` (a numeric value quoted in the text), ``"asymptotic"`` (a large-k statement).
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from theory.derivation import epsilon, eta, k

__all__ = ["PrintedClaim", "PRINTED_CLAIMS", "printed"]


@dataclass(frozen=True)
class PrintedClaim:
    """One printed expression of paper 001: identifier, location, kind, sympy form, LaTeX as printed."""

    key: str
    location: str
    quantity: str
    kind: str
    expression: sp.Basic
    latex: str


def _e(text: str) -> sp.Basic:
    """Parse a transcription in the plain symbols k, eta, epsilon (sympy only flattens sums and products)."""
    return sp.sympify(text, locals={"k": k, "eta": eta, "epsilon": epsilon})


PRINTED_CLAIMS: tuple[PrintedClaim, ...] = (
    PrintedClaim(
        key="theorem1_eq2",
        location="001 Section 3.1, Theorem 1, Eq. (2) (repeated in Appendix D)",
        quantity="mean-growth inequality",
        kind="inequality",
        expression=sp.Le(
            _e("(1 - eta)**2"),
            _e("(1 + eta/(k-1) - 2*eta/k - 2*eta**2/(k*(k-1)) + eta**2*k/(k-1)**2) * (1 + epsilon)**2"),
            evaluate=False,
        ),
        latex=r"(1 - \eta)^2 \leq \left(1 + \frac{\eta}{k-1} - \frac{2\eta}{k} - 2\frac{\eta^2}{k(k-1)}"
        r" + \frac{\eta^2 k}{(k-1)^2} \right) (1 + \varepsilon)^2",
    ),
    PrintedClaim(
        key="appD_eq6",
        location="001 Appendix D, Eq. (6)",
        quantity="second moment of the mean",
        kind="expression",
        expression=_e("1/k"),
        latex=r"\mathbb{E}[\|\boldsymbol{\mu}^{(0)}\|^2] = \frac{1}{k}",
    ),
    PrintedClaim(
        key="appD_eq7",
        location="001 Appendix D, Eq. (7) (with E||x_i||^2 = 1)",
        quantity="inner product with the mean",
        kind="expression",
        expression=_e("1/k"),
        latex=r"\mathbb{E}[\mathbf{x}_i^{(0)\top} \boldsymbol{\mu}^{(0)}] = \frac{1}{k} \mathbb{E}[\|\mathbf{x}_i^{(0)}\|^2]",
    ),
    PrintedClaim(
        key="appD_norm_unsimplified",
        location="001 Appendix D, display after Eq. (7), first line (Eqs. 6-7 substituted into Eq. 5)",
        quantity="expected squared norm, before simplification",
        kind="expression",
        expression=_e("(1 + eta/(k-1))**2 + k*eta**2/(k-1)**2 - 2*eta*k/(k-1)*(1 + eta/(k-1))*(1/k)"),
        latex=r"\left(1 + \frac{\eta}{k-1}\right)^2 + \frac{k\eta^2}{(k-1)^2} - 2\eta \frac{k}{k-1}"
        r" \left(1 + \frac{\eta}{k-1}\right) \frac{1}{k}",
    ),
    PrintedClaim(
        key="appD_norm_simplified",
        location="001 Appendix D, display after Eq. (7), second line (also the bracket of Eq. 2 and B^2)",
        quantity="expected squared norm",
        kind="expression",
        expression=_e("1 + eta/(k-1) - 2*eta/k - 2*eta**2/(k*(k-1)) + eta**2*k/(k-1)**2"),
        latex=r"1 + \frac{\eta}{k-1} - \frac{2\eta}{k} - 2\frac{\eta^2}{k(k-1)} + \frac{\eta^2 k}{(k-1)^2}",
    ),
    PrintedClaim(
        key="appD_mean_shift",
        location="001 Appendix D, bound on the new mean: (1/(kB)) sum_i x_i^(1) = ((1-eta)/B) mu^(0)",
        quantity="unnormalised mean shift",
        kind="expression",
        expression=_e("1 - eta"),
        latex=r"\frac{1}{kB} \sum_{i=1}^n \mathbf{x}_i^{(1)} = \frac{1-\eta}{B} \boldsymbol{\mu}^{(0)}",
    ),
    PrintedClaim(
        key="appD_linear",
        location="001 Appendix D, inequality 'by setting epsilon = 0' (divided by eta)",
        quantity="linear inequality at epsilon = 0",
        kind="inequality",
        expression=sp.Le(
            _e("(-2 - 1/(k-1) + 2/k) + eta*(1 + 2*1/(k*(k-1)) - k/(k-1)**2)"), sp.Integer(0), evaluate=False
        ),
        latex=r"\left(-2 - \frac{1}{k-1} + \frac{2}{k}\right) + \eta \left(1 + 2\frac{1}{k(k-1)}"
        r" - \frac{k}{(k-1)^2}\right) \leq 0",
    ),
    PrintedClaim(
        key="appD_fraction",
        location="001 Appendix D, closed-form bound, first form (fraction)",
        quantity="closed-form bound (fraction)",
        kind="expression",
        expression=_e("(2 + 1/(k-1) - 2/k) / (1 + 2*1/(k*(k-1)) - k/(k-1)**2)"),
        latex=r"\eta \leq \frac{2 + \frac{1}{k-1} - \frac{2}{k}}{1 + 2\frac{1}{k(k-1)} - \frac{k}{(k-1)^2}}",
    ),
    PrintedClaim(
        key="appD_polynomial",
        location="001 Appendix D, closed-form bound, second form (ratio of cubics)",
        quantity="closed-form bound",
        kind="expression",
        expression=_e("(2*k**3 - 5*k**2 + 5*k - 2) / (k**3 - 3*k**2 + 4*k - 2)"),
        latex=r"\frac{2k^3 - 5k^2 + 5k - 2}{k^3 - 3k^2 + 4k - 2}",
    ),
    PrintedClaim(
        key="appD_asymptotic",
        location="001 Appendix D, closed-form bound, third form",
        quantity="large-k behaviour of the bound",
        kind="asymptotic",
        expression=sp.Integer(2) + sp.O(1 / k, (k, sp.oo)),
        latex=r"2 + O\left(\frac{1}{k}\right)",
    ),
    PrintedClaim(
        key="sec31_value_k30",
        location="001 Section 3.1, text on Figure 3: 'the upper bound for non-increasing class embedding means is 2.03' (k = 30)",
        quantity="bound at k = 30",
        kind="number",
        expression=sp.Rational(203, 100),
        latex=r"2.03",
    ),
)


def printed(key: str) -> PrintedClaim:
    """The printed claim with identifier ``key``.

    Example:
        >>> printed("appD_polynomial").expression.subs(k, 3)
        11/5
    """
    for claim in PRINTED_CLAIMS:
        if claim.key == key:
            return claim
    raise KeyError(f"no printed claim {key!r}; known: {[c.key for c in PRINTED_CLAIMS]}")
