r"""Theorem 1 as a stability result, for each update rule and temperature (paper 001, Section 3.1, Appendix D; paper 004).

Theorem 1 bounds the learning rate by asking that one step from the *spread* state (k embeddings
i.i.d. uniform on the sphere) does not grow the mean's norm. That is a one-step heuristic; this
module derives, with sympy and one inspectable step at a time (like :mod:`theory.derivation`), the
two facts that decide where the dynamics end:

(a) the one-step factor on the mean's norm from the spread state, in the limit
    :math:`m\to\infty` at fixed k (the cross cosines :math:`x_i^\top x_j \to 0`, the Gram matrix
    :math:`\to I`; then every updated norm is the same and renormalising is exact);
(b) the linearisation at **complete collapse** (all :math:`x_i = u`): the factor by which a small
    tangent deviation that separates the embeddings (a zero-sum mode, :math:`\sum_i d_i = 0`,
    :math:`d_i \perp u`) changes in one step, after renormalisation. The common mode
    (:math:`d_i = d` for all i) rotates the collapsed point and is neutral. By permutation symmetry
    every zero-sum mode has the same factor, so one representative suffices: :math:`x_1` at angle
    :math:`\delta`, the other k-1 at angle :math:`-\delta/(k-1)` in a plane through u.

The three rules of :mod:`simulations.collapse.dynamics` (no import: this package knows nothing of the
simulators; the update formulas are restated here and the tests compare them with the simulator):

* ``paper`` (Appendix D as written): :math:`y_i = x_i - \frac{\eta}{k-1}\sum_{j\ne i} x_j`, then
  normalise;
* ``autodiff``: gradient descent on the mean cosine :math:`\frac{1}{k(k-1)}\sum_{a\ne b} c_{ab}`
  taken through the normalisation, step :math:`\eta k/2` (so that it equals ``paper`` when the
  projection is dropped);
* ``infonce``: gradient descent, step :math:`\eta`, on
  :math:`\sum_a\big[\log\sum_b e^{c_{ab}/\tau} - c_{aa}/\tau\big]` (merged positive pairs).

For a loss of the cosines :math:`c_{ab}` the gradient through the normalisation at unit vectors is
:math:`\nabla_i = \sum_{j\ne i} w_{ij} (I - x_i x_i^\top) x_j` with :math:`w_{ij} = \partial L/\partial
c_{ij} + \partial L/\partial c_{ji}`; the pair weights are obtained with ``sympy.diff`` from the loss
written as a function of one pair's cosine. So every rule is
:math:`y_i = x_i - \sum_{j\ne i} C_{ij}\,\Pi_i x_j` with :math:`\Pi_i = I` (``paper``) or the tangent
projection :math:`I - x_i x_i^\top` (``autodiff``, ``infonce``).

Results (:func:`derive_stability`; calculators below): with the *effective learning rate*
:math:`\eta_{\rm eff} = (k-1)\,C` at the spread state (:math:`\eta` for ``paper`` and ``autodiff``;
:math:`\frac{2\eta}{\tau}\frac{k-1}{e^{1/\tau}+k-1}` for ``infonce``),

.. math::
    \rho = \frac{|1-\eta_{\rm eff}|}{\sqrt{1+\eta_{\rm eff}^2/(k-1)}},\qquad
    \lambda_{\rm paper} = \frac{1+\eta/(k-1)}{|1-\eta|},\quad
    \lambda_{\rm autodiff} = 1+\frac{\eta k}{k-1},\quad \lambda_{\rm infonce} = 1+\frac{2\eta}{\tau}.

For ``paper`` both :math:`\rho<1` and :math:`|\lambda|>1` hold exactly for
:math:`0<\eta<2(k-1)/(k-2)`: the edge where the spread mean starts to grow is the edge where
collapse becomes linearly stable. That is why Theorem 1's bound is so tight: it is a bifurcation
point. ``autodiff`` and ``infonce`` step along the tangent of the sphere; complete collapse is a
maximum of their losses, so gradient descent is repelled from it at every step size
(:math:`\lambda>1` for all :math:`\eta>0`) and they never collapse.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy as sp

from theory.bounds import check_eps, check_eta, check_k
from theory.bounds import eta_max as _paper_eta_max
from theory.definitions import RULES, check_rule_tau
from theory.derivation import M_cross, M_self, Derivation, Step, _quadratic_form, epsilon, eta, is_zero, k

__all__ = [
    "RULES",
    "LIMITS",
    "tau",
    "delta",
    "check_rule_tau",
    "pair_weights",
    "derive_stability",
    "effective_eta",
    "spread_mean_factor",
    "collapse_growth_factor",
    "eta_max",
    "eta_best",
    "collapse_stable_above",
    "spread_shrink_range",
    "summary",
    "numpy_step",
    "spread_mean_factor_monte_carlo",
    "clop_lambda_min",
]

#: Temperature (plain symbol so that expressions round-trip through ``str``) and the deviation angle.
tau = sp.Symbol("tau")
delta = sp.Symbol("delta")

_pos = {"k": sp.Symbol("k_pos", positive=True), "eta": sp.Symbol("eta_pos", positive=True),
        "tau": sp.Symbol("tau_pos", positive=True)}

#: The limit each closed form is exact in, in words (the ``limit`` field of ``clop-verify bound``).
LIMITS = {
    "paper": ("spread factor: m -> infinity at fixed k (cross cosines -> 0, Gram matrix -> I); "
              "collapse factor: first order in the tangent deviation from x_i = u"),
    "autodiff": ("spread factor: m -> infinity at fixed k (cross cosines -> 0, Gram matrix -> I; the tangent "
                 "projection then acts as the identity); collapse factor: first order in the deviation"),
    "infonce": ("spread factor: m -> infinity at fixed k and tau (cross cosines / tau -> 0, Gram matrix -> I); "
                "collapse factor: first order in the deviation; paper 004's (1-2 eta/tau)^2 is the squared-norm "
                "factor in the further limit k e^(-1/tau) -> infinity"),
}


# ----------------------------------------------------------------------------------------------
# Symbolic derivation
# ----------------------------------------------------------------------------------------------

def _row_infonce(self_cos, pair_cos, others: list[tuple[sp.Expr, sp.Expr]]) -> sp.Expr:
    r"""One InfoNCE row :math:`\log(e^{c_{aa}/\tau} + e^{c_{ab}/\tau} + \sum n e^{c/\tau}) - c_{aa}/\tau`."""
    z = sp.exp(self_cos / tau) + sp.exp(pair_cos / tau) + sum(n * sp.exp(c / tau) for c, n in others)
    return sp.log(z) - self_cos / tau


def pair_weights(rule: str, cross: sp.Expr, cross_row_other: sp.Expr | None = None) -> sp.Expr:
    r"""Step times pair weight, :math:`C = s\,(\partial L/\partial c_{ij} + \partial L/\partial c_{ji})`, by ``sympy.diff``.

    Evaluated at a state in which row i's other k-2 cosines equal ``cross`` and row j's other k-2
    cosines equal ``cross_row_other`` (default ``cross``; the collapse representative needs both).
    The loss is written as a function of one pair cosine ``c_p`` and differentiated, then ``c_p`` is
    set to ``cross``. ``paper`` is not a loss gradient: its :math:`C = \eta/(k-1)` is Appendix D's.

    Example:
        >>> pair_weights("autodiff", sp.Integer(0))
        eta/(k - 1)
        >>> sp.simplify(pair_weights("infonce", sp.Integer(0)) - 2*eta/(tau*(sp.exp(1/tau) + k - 1)))
        0
    """
    cross_row_other = cross if cross_row_other is None else cross_row_other
    c_p = sp.Symbol("c_p")
    if rule == "paper":
        return eta / (k - 1)
    if rule == "autodiff":
        # L = (1/(k(k-1))) sum_{a != b} c_ab: the pair (i, j) enters twice (c_ij and c_ji).
        loss = (2 * c_p + sp.Symbol("rest")) / (k * (k - 1))
        return sp.simplify(eta * k / 2 * sp.diff(loss, c_p))
    if rule == "infonce":
        row_i = _row_infonce(sp.Integer(1), c_p, [(cross, k - 2)])
        row_j = _row_infonce(sp.Integer(1), c_p, [(cross_row_other, k - 2)])
        weight = sp.diff(row_i, c_p) + sp.diff(row_j, c_p)
        return sp.simplify(eta * weight.subs(c_p, cross))
    raise ValueError(f"rule must be one of {', '.join(RULES)}; got {rule!r}")


def _projected(rule: str) -> bool:
    return rule != "paper"


def _collapse_representative(rule: str) -> sp.Expr:
    r"""Signed one-step factor of the zero-sum mode at collapse, :math:`\lambda` (first order in delta).

    In the plane (u, v): :math:`x_1 = (\cos\delta, \sin\delta)`, :math:`x_j = (\cos\theta, \sin\theta)`,
    :math:`\theta = -\delta/(k-1)` for the other k-1 (so :math:`\sum_i \theta_i = 0`). Row 1's other
    cosines are :math:`\cos(\delta-\theta)`, row j's are 1 (to the other j') and
    :math:`\cos(\delta-\theta)` (to :math:`x_1`). Each update is formed exactly in this plane and
    the tangent coordinate after the step is :math:`y_v/|y_u|`; the factor is the ratio of the
    separations :math:`(y_{1,v}/|y_{1,u}| - y_{j,v}/|y_{j,u}|)/(\delta-\theta)` as delta -> 0,
    signed by :math:`\mathrm{sign}(y_u)` (a sign flip sends the collapsed point u to -u).
    """
    theta = -delta / (k - 1)
    x1 = sp.Matrix([sp.cos(delta), sp.sin(delta)])
    xj = sp.Matrix([sp.cos(theta), sp.sin(theta)])
    c1j = sp.cos(delta - theta)
    if rule == "paper":
        w1j = wjj = eta / (k - 1)
    elif rule == "autodiff":
        w1j = wjj = pair_weights("autodiff", c1j)
    else:
        c_p = sp.Symbol("c_p")
        # pair (1, j): row 1 has k-2 other cosines c1j; row j has k-2 other cosines 1
        w1j = eta * (sp.diff(_row_infonce(1, c_p, [(c1j, k - 2)]), c_p)
                     + sp.diff(_row_infonce(1, c_p, [(sp.Integer(1), k - 2)]), c_p)).subs(c_p, c1j)
        # pair (j, j'): both rows have one cosine c1j (to x_1) and k-3 cosines 1
        wjj = 2 * eta * sp.diff(_row_infonce(1, c_p, [(c1j, 1), (sp.Integer(1), k - 3)]), c_p).subs(c_p, 1)

    def move(x, partners):
        if _projected(rule):
            return sum((w * (p - x * (x.T * p)[0, 0]) * n for p, w, n in partners), sp.zeros(2, 1))
        return sum((w * p * n for p, w, n in partners), sp.zeros(2, 1))

    y1 = x1 - move(x1, [(xj, w1j, k - 1)])
    yj = xj - move(xj, [(x1, w1j, 1), (xj, wjj, k - 2)])
    u_component = sp.simplify(y1[0].subs(delta, 0))
    # y_v / y_u = sign(y_u) * y_v / |y_u|. The separation vanishes at delta = 0, so its first-order
    # coefficient is the derivative there (l'Hopital; cheaper than a series of the whole expression).
    separation = y1[1] / y1[0] - yj[1] / yj[0]
    lam = sp.diff(separation, delta).subs(delta, 0) / sp.diff(delta - theta, delta)
    return sp.factor(sp.simplify(lam)), u_component


@lru_cache(maxsize=None)
def derive_stability(rule: str) -> Derivation:
    r"""Derive the spread-state mean factor and the collapse linearisation of ``rule`` with sympy.

    Steps: ``pair_weight_spread`` (C at cross cosine 0), ``update_coefficients_spread`` (on
    :math:`x_i` and on each other :math:`x_j`, projection dropped because it is
    :math:`x_i\sum_j C c_{ij}=0`), ``effective_eta`` (:math:`(k-1)C`), ``mean_coefficient``
    (unnormalised mean = this times :math:`\mu`), ``norm_sq`` (:math:`\|y_i\|^2`, Gram = I),
    ``spread_mean_factor`` (:math:`\rho`), ``eta_best`` (:math:`\rho=0`), ``spread_edge`` (the
    positive root of :math:`\rho=1`), ``pair_weight_collapse``, ``collapsed_point_coefficient`` (:math:`y_i = (\cdot)\,u` at collapse), ``collapse_factor_signed``
    (:math:`\lambda` in the frame following the collapsed point), ``collapse_factor`` (:math:`|\lambda|`), ``collapse_stable_above``
    (the edge above which :math:`|\lambda|<1`, ``nan`` if none).

    Example:
        >>> d = derive_stability("paper")
        >>> d["spread_mean_factor"]
        Abs(eta - 1)/sqrt((eta**2 + k - 1)/(k - 1))
        >>> d["collapse_factor"], d["collapse_stable_above"]
        (Abs(eta + k - 1)/Abs(eta*k - eta - k + 1), 2*(k - 1)/(k - 2))
        >>> derive_stability("infonce")["collapse_factor"]
        (2*eta + tau)/tau
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {', '.join(RULES)}; got {rule!r}")
    steps: list[Step] = []
    add = lambda name, statement, expr: steps.append(Step(name, statement, expr))  # noqa: E731

    # (a) spread state, m -> infinity: the Gram matrix is I
    c_spread = pair_weights(rule, sp.Integer(0))
    add("pair_weight_spread", "C: coefficient of each other x_j in the step of x_i at cross cosines 0", c_spread)
    add("update_coefficients_spread", "y_i = x_i - C sum_{j != i} x_j: coefficients on x_i and each x_j",
        sp.Tuple(sp.Integer(1), -c_spread))
    eff = sp.simplify((k - 1) * c_spread)
    add("effective_eta", "eta_eff = (k-1) C: the paper-rule learning rate with the same spread step", eff)
    mean_coeff = sp.simplify(1 + (k - 1) * (-c_spread))  # column j of sum_i y_i: 1 from i = j, -C from the k-1 others
    add("mean_coefficient", "(1/k) sum_i y_i = (this) mu", mean_coeff)
    norm_sq = sp.simplify(_quadratic_form([(sp.Integer(1), sp.Integer(1)), (-c_spread, k - 1)]).subs({M_self: 1, M_cross: 0}))
    add("norm_sq", "||y_i||^2 with Gram = I (the same for every i, so renormalising is a common scale)", norm_sq)
    rho = sp.Abs(mean_coeff) / sp.sqrt(norm_sq)
    add("spread_mean_factor", "rho = ||mu^(1)|| / ||mu^(0)|| (exact when Gram = I)", rho)
    best = sp.solve(sp.Eq(mean_coeff, 0), eta)
    add("eta_best", "eta with rho = 0 (the unnormalised mean vanishes): the minimiser of rho", sp.simplify(best[0]))
    # rho = 1  <=>  mean_coeff^2 - norm_sq = 0; one root is eta = 0
    edge_poly = sp.factor(sp.expand(sp.simplify((mean_coeff**2 - norm_sq))))
    roots = [r for r in sp.solve(sp.Eq(edge_poly, 0), eta) if not r.is_zero]
    if len(roots) != 1:  # pragma: no cover - guards the algebra
        raise RuntimeError(f"expected one non-zero root of rho = 1, got {roots}")
    add("spread_edge", "the non-zero eta with rho = 1: rho < 1 on (0, edge), rho > 1 above", sp.simplify(roots[0]))

    # (b) complete collapse, first order in the tangent deviation
    add("pair_weight_collapse", "C at complete collapse (all cosines 1)", pair_weights(rule, sp.Integer(1)))
    lam, u_component = _collapse_representative(rule)
    add("collapsed_point_coefficient", "y_i = (this) u + O(delta) at collapse: the point moves to sign(this) u", u_component)
    add("collapse_factor_signed", "lambda in the frame that follows the collapsed point (u -> sign u, v -> sign v)", lam)
    lam_abs = sp.factor(sp.Abs(sp.numer(lam)) / sp.Abs(sp.denom(lam))) if rule == "paper" else lam
    add("collapse_factor", "|lambda|: the factor on the size of a zero-sum tangent deviation", lam_abs)
    if rule == "paper":
        # |lambda| < 1  <=>  (1 + eta/(k-1))^2 < (1 - eta)^2
        poly = sp.factor(sp.expand((1 + eta / (k - 1)) ** 2 - (1 - eta) ** 2))
        stable = [r for r in sp.solve(sp.Eq(poly, 0), eta) if not r.is_zero]
        add("collapse_stable_above", "|lambda| < 1 exactly for eta above this root", sp.simplify(stable[0]))
    else:
        add("collapse_stable_above", "none: |lambda| - 1 > 0 for all eta, tau > 0, k > 2", sp.nan)
    return Derivation(tuple(steps))


def never_stable(rule: str) -> bool:
    r"""True when sympy proves :math:`\lambda - 1 > 0` for all :math:`\eta,\tau>0,\ k>2` (tangent rules).

    Substitutes positive symbols (``k = 2 + p``) into :math:`\lambda-1` and asks for the sign.

    Example:
        >>> never_stable("autodiff"), never_stable("infonce"), never_stable("paper")
        (True, True, False)
    """
    lam = derive_stability(rule)["collapse_factor_signed"]
    p = sp.Symbol("p", positive=True)
    expr = sp.simplify((lam - 1).subs({k: 2 + p, eta: _pos["eta"], tau: _pos["tau"]}))
    return bool(expr.is_positive)


# ----------------------------------------------------------------------------------------------
# Numeric calculators (vectorised numpy)
# ----------------------------------------------------------------------------------------------

def _arrays(k_value, eta_value=None):
    kk = check_k(k_value).astype(float)
    if eta_value is None:
        return kk
    return np.broadcast_arrays(kk, check_eta(eta_value))


def _out(value):
    return float(value) if np.ndim(value) == 0 else value


def _infonce_scale(kk, tau_value):
    """:math:`\\eta_{\\rm eff}/\\eta = \\frac{2}{\\tau}\\frac{k-1}{e^{1/\\tau}+k-1}`, overflow-safe for small tau."""
    t = np.asarray(tau_value, dtype=float)
    # (k-1)/(e^{1/t} + k-1) = 1/(1 + e^{1/t - log(k-1)})
    with np.errstate(over="ignore", invalid="ignore"):  # e^{1/t} overflows to inf for t < ~1/709: the scale is then 0
        direct = (2.0 / t) / (1.0 + np.exp(1.0 / t - np.log(kk - 1.0)))
        # where 2/t itself overflows (t < 1.1e-308) inf/inf is nan: the same value in logs, exp(-huge) = 0
        x = 1.0 / t - np.log(kk - 1.0)
        logs = np.exp(np.log(2.0) - np.log(t) - (np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))))
    return np.where(np.isfinite(direct), direct, logs)


def effective_eta(eta_value, k_value, rule: str = "paper", tau_value=None):
    r"""Effective learning rate at the spread state, :math:`\eta_{\rm eff} = (k-1)\,C` (the paper rule's eta with the same step).

    .. math:: \eta_{\rm eff} = \eta \ (\texttt{paper}, \texttt{autodiff}),\qquad
              \eta_{\rm eff} = \frac{2\eta}{\tau}\,\frac{k-1}{e^{1/\tau}+k-1}\ (\texttt{infonce})

    Args:
        eta_value: learning rate(s), finite, >= 0.
        k_value: number of class embeddings, integer(s) > 2.
        rule: ``paper``, ``autodiff`` or ``infonce``.
        tau_value: temperature (``infonce`` only), finite, > 0.

    Raises:
        ValueError: bad k, eta, rule or tau.

    Example (paper 004's temperature setting):
        >>> round(effective_eta(0.5, 30, "infonce", 1.0), 4)
        0.9143
    """
    check_rule_tau(rule, tau_value)
    kk, ee = _arrays(k_value, eta_value)
    if rule == "infonce":
        return _out(ee * _infonce_scale(kk, tau_value))
    return _out(ee * np.ones_like(kk))


def spread_mean_factor(eta_value, k_value, rule: str = "paper", tau_value=None):
    r"""One-step factor on the mean's norm from the spread state (limit m -> infinity, Gram = I).

    .. math:: \rho = \frac{|1-\eta_{\rm eff}|}{\sqrt{1+\eta_{\rm eff}^2/(k-1)}}

    Args: as :func:`effective_eta`.

    Returns:
        float or ndarray; below 1 exactly on :math:`0<\eta_{\rm eff}<2(k-1)/(k-2)`.

    Example (paper 001, Appendix D; the same for ``autodiff``):
        >>> spread_mean_factor(1.0, 30), round(spread_mean_factor(2.0, 30, "autodiff"), 4)
        (0.0, 0.9374)
        >>> round(spread_mean_factor(1e200, 3), 6)   # eta^2 overflows; the factor tends to sqrt(k - 1)
        1.414214
    """
    e = np.asarray(effective_eta(eta_value, k_value, rule, tau_value))
    kk = check_k(k_value).astype(float)
    with np.errstate(over="ignore"):  # e^2 overflows for e > 1.3e154: hypot(1, e/sqrt(k-1)) there
        direct = np.abs(1.0 - e) / np.sqrt(1.0 + e**2 / (kk - 1.0))
        safe = np.abs(1.0 - e) / np.hypot(1.0, e / np.sqrt(kk - 1.0))
    return _out(np.where(np.abs(e) < 1e150, direct, safe))


def collapse_growth_factor(eta_value, k_value, rule: str = "paper", tau_value=None):
    r"""Per-step factor :math:`|\lambda|` of small zero-sum tangent deviations from complete collapse.

    .. math:: |\lambda_{\rm paper}| = \frac{1+\eta/(k-1)}{|1-\eta|},\quad
              \lambda_{\rm autodiff} = 1+\frac{\eta k}{k-1},\quad
              \lambda_{\rm infonce} = 1+\frac{2\eta}{\tau}

    Collapse is linearly stable where this is below 1 (``paper`` only, above :math:`2(k-1)/(k-2)`).
    At :math:`\eta=1` the ``paper`` factor is infinite (the update sends every vector to ~0).

    Example:
        >>> collapse_growth_factor(3.0, 3), collapse_growth_factor(5.0, 3)
        (1.25, 0.875)
        >>> collapse_growth_factor(1.0, 10, "infonce", 0.5)
        5.0
    """
    check_rule_tau(rule, tau_value)
    kk, ee = _arrays(k_value, eta_value)
    if rule == "paper":
        with np.errstate(divide="ignore"):
            return _out((1.0 + ee / (kk - 1.0)) / np.abs(1.0 - ee))
    if rule == "autodiff":
        return _out(1.0 + ee * kk / (kk - 1.0))
    with np.errstate(over="ignore"):  # eta/tau beyond the float range: the factor is inf
        return _out(1.0 + 2.0 * ee / np.asarray(tau_value, dtype=float) * np.ones_like(kk))


def _eta_per_eff(kk, rule, tau_value):
    """:math:`\\eta/\\eta_{\\rm eff}` (1, or the InfoNCE conversion)."""
    if rule == "infonce":
        return 1.0 / _infonce_scale(kk, tau_value)
    return np.ones_like(kk)


def eta_max(k_value, eps=0.0, rule: str = "paper", tau_value=None):
    r"""Largest eta whose spread-state one-step mean factor is at most :math:`1+\varepsilon` (Theorem 1's quantity, per rule).

    .. math:: \eta_{\max} = \frac{\eta}{\eta_{\rm eff}}\;\eta_{\max}^{\rm paper}(k,\varepsilon),\qquad
              \eta_{\max}^{\rm infonce}(k, 0) = \frac{\tau\,(e^{1/\tau}+k-1)}{k-2}

    (``paper`` and ``autodiff``: :func:`theory.eta_max`; ``inf`` where no eta exceeds the factor.)

    Example:
        >>> round(eta_max(30), 6), eta_max(30, rule="autodiff") == eta_max(30)
        (2.071429, True)
        >>> round(eta_max(30, rule="infonce", tau_value=1.0), 4)
        1.1328
    """
    check_rule_tau(rule, tau_value)
    kk = check_k(k_value).astype(float)
    base = np.asarray(_paper_eta_max(k_value, check_eps(eps)))
    with np.errstate(divide="ignore"):
        return _out(base * _eta_per_eff(kk, rule, tau_value))


def eta_best(k_value, rule: str = "paper", tau_value=None):
    r"""Learning rate minimising the spread-state one-step mean factor (:math:`\eta_{\rm eff}=1`, :math:`\rho=0`).

    .. math:: \eta_{\rm best} = 1\ (\texttt{paper}, \texttt{autodiff}),\qquad
              \eta_{\rm best} = \frac{\tau}{2}\Big(1+\frac{e^{1/\tau}}{k-1}\Big)\ (\texttt{infonce})

    Example (paper 004 states tau/2; the derived value tends to it as k e^{-1/tau} grows):
        >>> round(eta_best(30, "infonce", 1.0), 4), round(eta_best(10**6, "infonce", 1.0), 4)
        (0.5469, 0.5)
    """
    check_rule_tau(rule, tau_value)
    kk = check_k(k_value).astype(float)
    with np.errstate(divide="ignore"):
        return _out(_eta_per_eff(kk, rule, tau_value))


def collapse_stable_above(k_value, rule: str = "paper", tau_value=None):
    r"""Smallest eta above which complete collapse is linearly stable; None if no eta makes it stable.

    .. math:: \texttt{paper}: \ \frac{2(k-1)}{k-2}\quad(=\eta_{\max}(k,0): \text{the bifurcation});
              \qquad \texttt{autodiff}, \texttt{infonce}: \text{None}

    Example:
        >>> collapse_stable_above(3), collapse_stable_above(3, "infonce", 0.5) is None
        (4.0, True)
    """
    check_rule_tau(rule, tau_value)
    kk = check_k(k_value).astype(float)
    if rule != "paper":
        return None
    return _out(2.0 * (kk - 1.0) / (kk - 2.0))


def spread_shrink_range(k_value, rule: str = "paper", tau_value=None):
    r"""The open eta interval on which the spread state's mean shrinks in one step (:math:`\rho<1`): ``(0, eta_max(k, 0))``.

    Example:
        >>> spread_shrink_range(3)
        (0.0, 4.0)
    """
    return 0.0, eta_max(k_value, 0.0, rule, tau_value)


def summary(k_value: int, rule: str = "paper", tau_value=None, eps: float = 0.0) -> dict:
    """All calculators at one k: ``eta_max``, ``eta_best``, ``collapse_stable_above`` (None if empty), ``limit``.

    Example:
        >>> s = summary(30, "infonce", 1.0)
        >>> round(s["eta_best"], 4), s["collapse_stable_above"]
        (0.5469, None)
    """
    stable = collapse_stable_above(k_value, rule, tau_value)
    return {"rule": rule, "tau": None if tau_value is None else float(tau_value),
            "eta_max": eta_max(k_value, eps, rule, tau_value), "eta_best": eta_best(k_value, rule, tau_value),
            "collapse_stable_above": stable, "limit": LIMITS[rule]}


# ----------------------------------------------------------------------------------------------
# Monte Carlo on the sphere (numpy; an implementation of the three rules independent of JAX)
# ----------------------------------------------------------------------------------------------

def numpy_step(x: np.ndarray, eta_value: float, rule: str = "paper", tau_value=None) -> np.ndarray:
    r"""One step of ``rule`` on unit columns ``x[..., m, k]``, from the closed-form gradient through the normalisation.

    .. math:: y_i = x_i - \sum_{j\ne i} C_{ij}\,\Pi_i x_j,\qquad
              C^{\rm autodiff}_{ij} = \frac{\eta}{k-1},\quad
              C^{\rm infonce}_{ij} = \frac{\eta}{\tau}\,(p_{ij}+p_{ji}),\quad p_{ij} = \mathrm{softmax}_j(c_{ij}/\tau)

    with :math:`\Pi_i = I - x_i x_i^\top` for the gradient rules and :math:`I` for ``paper``; then
    every column is normalised.

    Example:
        >>> y = numpy_step(np.eye(3), 0.5)
        >>> np.round(y[:, 0], 4).tolist()
        [0.9428, -0.2357, -0.2357]
    """
    check_rule_tau(rule, tau_value)
    kk = x.shape[-1]
    gram = np.einsum("...mi,...mj->...ij", x, x)
    if rule == "infonce":
        logits = gram / tau_value
        logits = logits - logits.max(axis=-1, keepdims=True)
        p = np.exp(logits)
        p = p / p.sum(axis=-1, keepdims=True)
        coupling = eta_value / tau_value * (p + np.swapaxes(p, -1, -2))
    else:
        coupling = np.full(gram.shape, eta_value / (kk - 1))
    eye = np.eye(kk, dtype=bool)
    coupling = np.where(eye, 0.0, coupling)
    move = np.einsum("...mj,...ji->...mi", x, coupling)  # sum_j C_ij x_j (C symmetric)
    if rule != "paper":
        move = move - x * np.einsum("...mi,...mi->...i", x, move)[..., None, :]
    y = x - move
    return y / np.linalg.norm(y, axis=-2, keepdims=True)


def spread_mean_factor_monte_carlo(eta_value: float, k_value: int, m: int, rule: str = "paper", tau_value=None,
                                   trials: int = 400, seed: int = 0):
    r"""Monte Carlo of :math:`\|\mu^{(1)}\|/\|\mu^{(0)}\|` from k i.i.d. uniform unit vectors in :math:`\mathbb{R}^m`.

    Returns:
        :class:`theory.montecarlo.Estimate` (mean over trials, standard error).

    Example:
        >>> est = spread_mean_factor_monte_carlo(0.5, 10, 1000, trials=50)
        >>> abs(est.mean - spread_mean_factor(0.5, 10)) < 0.02
        True
    """
    from theory.montecarlo import _estimate, sample_sphere

    x0 = sample_sphere(np.random.default_rng(seed), trials, m, int(k_value))
    x1 = numpy_step(x0, eta_value, rule, tau_value)
    ratio = np.linalg.norm(x1.mean(axis=-1), axis=-1) / np.linalg.norm(x0.mean(axis=-1), axis=-1)
    return _estimate(ratio)


def check_two_ways(rule: str) -> dict[str, bool]:
    r"""The symbolic results against the numeric calculators and :mod:`theory.derivation` (sympy to zero).

    Example:
        >>> all(check_two_ways("paper").values())
        True
    """
    from theory.derivation import derive

    d = derive_stability(rule)
    eff = d["effective_eta"]
    ok = {}
    rho_paper = derive()["mean_shift_factor"]
    ok["rho_is_paper_rho_at_eta_eff"] = is_zero(d["spread_mean_factor"] ** 2 - (rho_paper**2).subs(eta, eff))
    ok["edge_is_paper_edge_at_eta_eff"] = is_zero(eff.subs(eta, d["spread_edge"]) - derive()["eta_max_eps0"])
    ok["eta_best_gives_eta_eff_1"] = is_zero(eff.subs(eta, d["eta_best"]) - 1)
    pts = [(3, 0.7, 0.5), (10, 2.5, 1.3), (30, 4.0, 0.2)]
    num = []
    for kv, ev, tv in pts:
        t = tv if rule == "infonce" else None
        subs = {k: kv, eta: ev, tau: tv}
        num.append(np.isclose(float(d["spread_mean_factor"].subs(subs)), spread_mean_factor(ev, kv, rule, t), rtol=1e-10))
        num.append(np.isclose(float(d["collapse_factor"].subs(subs)), collapse_growth_factor(ev, kv, rule, t), rtol=1e-10))
    ok["calculators_match_sympy"] = bool(all(num))
    return ok


# ----------------------------------------------------------------------------------------------
# CLOP's prototype term (paper 001, Section 4, Eq. 4; derivation in theory.clop)
# ----------------------------------------------------------------------------------------------

def clop_lambda_min(eta_value, k_value, rule: str = "paper", tau_value=None):
    r"""Smallest per-class-embedding CLOP weight :math:`\lambda` at which no near-collapsed state persists.

    For ``paper`` (Appendix D's update plus :math:`\eta\lambda c_i`, :mod:`theory.clop`): the
    near-collapsed state (a period-2 orbit with spread :math:`O(\lambda)` and a common component
    :math:`\gamma^*` outside the prototypes' span) exists while :math:`\alpha^{*2}+\beta^{*2}\le 1`, so

    .. math::
        \lambda_{\min}(\eta, k) = \frac{1}{\eta}\Big[\frac{1}{4k(\eta-1)^2}
            + \frac{(k-1)^3}{k(k-2)^2(\eta-\eta^*)^2}\Big]^{-1/2}\ (\eta > \eta^* = \tfrac{2(k-1)}{k-2}),
        \qquad 0\ (\eta\le\eta^*),

    increasing in :math:`\eta` to :math:`\lambda_\infty(k) = 2(k-2)/\sqrt{4k^2-11k+8} < 1`. For
    ``autodiff`` and ``infonce`` it is 0 everywhere: they do not collapse at any :math:`\eta`
    (:func:`collapse_stable_above` is None) and the term keeps it so. :math:`\lambda` is per class
    embedding; Eq. 4's printed sum with one labelled embedding per class is the same number, the
    released loss's mean over labelled samples is :math:`k` times it
    (:func:`theory.clop.per_embedding_lambda`).

    Args:
        eta_value: learning rate(s), finite, >= 0 (broadcast against ``k_value``).
        k_value: number(s) of class embeddings, integers > 2.
        rule: ``paper``, ``autodiff`` or ``infonce``.
        tau_value: temperature (``infonce`` only; the answer does not depend on it).

    Returns:
        float for scalar input, else an array.

    Raises:
        ValueError: invalid ``eta``, ``k``, ``rule`` or ``tau``.

    Example (paper 001, Section 4; Theorem 1's eta* = 4 at k = 3):
        >>> round(clop_lambda_min(6.0, 3), 4), clop_lambda_min(3.9, 3)
        (0.2036, 0.0)
        >>> [round(float(v), 4) for v in clop_lambda_min([2.5, 1e6], 10)]
        [0.0937, 0.9269]
        >>> clop_lambda_min(6.0, 3, "infonce", 0.5)
        0.0
    """
    from theory.clop import clop_lambda_critical

    check_rule_tau(rule, tau_value)
    value = clop_lambda_critical(eta_value, k_value)
    if rule != "paper":
        value = np.zeros_like(np.asarray(value, dtype=float))
    return _out(value)
