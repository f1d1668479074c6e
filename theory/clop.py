r"""CLOP's prototype term in the class-embedding dynamics: where it prevents collapse (paper 001, Section 4, Eq. 4).

Setting: Appendix D's update (:mod:`theory.stability`, rule ``paper``) with CLOP's term
:math:`\lambda\,(1 - s(x_i, c_i))` added for every class embedding :math:`x_i`, where
:math:`c_1, \dots, c_k` are orthonormal prototypes in :math:`\mathbb{R}^m`, :math:`k < m`. Taken the
way Appendix D takes the class loss (the gradient of :math:`-\lambda\,x_i^\top c_i` without
differentiating the normalisation), one step is

.. math::
    y_i = x_i - \frac{\eta}{k-1}\sum_{j\ne i} x_j + \eta\lambda\,c_i,\qquad x_i^{+} = y_i/\|y_i\|.

**Scales.** :math:`\lambda` here is per class embedding. Eq. 4 prints a *sum* over labelled samples,
:math:`\lambda\sum_{i\in\mathcal L}(1 - s(z_i, c_{y_i}))`; if the :math:`n_c` labelled samples of
class c sit on the class embedding :math:`x_c` (merged, as in Theorem 1), their gradients add up and the
per-class-embedding weight is :math:`n_c\lambda` (:math:`=\lambda` with one labelled embedding per class,
the reading used for "sum scale" below). The authors' released loss takes the *mean* over the N
labelled samples, so the weight is :math:`\lambda n_c/N = \lambda/k` for balanced classes ("mean
scale"). Both are reported: :func:`per_embedding_lambda`.

**Derivation** (:func:`derive_clop`, every step a sympy identity that simplifies to zero). Write
:math:`\bar c = \frac1k\sum_i c_i`, :math:`e = \sqrt k\,\bar c` (a unit vector),
:math:`d_i = (c_i - \bar c)/\delta` with :math:`\delta = \sqrt{1-1/k}` (unit, :math:`d_i \perp e`),
and w a unit vector orthogonal to every prototype. Then :math:`c_i = e/\sqrt k + \delta d_i`, and on the
symmetric states :math:`x_i = \alpha e + \beta d_i + \gamma w` the update is exactly the map of
three scalars

.. math::
    (\alpha, \beta, \gamma) \mapsto \frac{\big(q\alpha + \eta\lambda/\sqrt k,\; p\beta + \eta\lambda\delta,\; q\gamma\big)}
    {\|\cdot\|},\qquad p = 1 + \frac{\eta}{k-1},\; q = 1-\eta .

(a) *Complete collapse is no longer a fixed point* for :math:`\lambda>0`: from :math:`x_i = u` the
    updated vectors differ by :math:`y_i - y_j = \eta\lambda(c_i - c_j) \ne 0`.
(b) *What replaces it* (for :math:`\eta > 2`) is a period-2 state that keeps a common component
    :math:`\gamma` outside the prototypes' span and flips its sign every step:

    .. math::
        \alpha^* = \frac{\eta\lambda}{2\sqrt k\,(\eta-1)},\qquad
        \beta^* = \frac{\eta\lambda\delta}{\eta-1-p} = \frac{\eta\lambda\,(k-1)\sqrt{1-1/k}}{(k-2)(\eta-\eta^*)},\qquad
        \gamma^{*2} = 1-\alpha^{*2}-\beta^{*2},

    with :math:`\|y_i\| = \eta-1` exactly and :math:`(\alpha^*,\beta^*,\gamma^*)\mapsto(\alpha^*,\beta^*,-\gamma^*)`.
    Its spread is :math:`\beta^* = O(\lambda)`: the cosine between two class embeddings is
    :math:`1 - \frac{k}{k-1}\beta^{*2}`.
(c) *Its stability*: a zero-sum deviation (:math:`\sum_i\epsilon_i = 0`) leaves the mean unchanged, so
    :math:`y_i` moves by :math:`p\,\epsilon_i` and, after dividing by :math:`\|y_i\| = \eta-1`, by the
    factor :math:`p/(\eta-1)`: below one exactly when :math:`\eta > \eta^* = 2(k-1)/(k-2)`, the Theorem 1
    bifurcation, whatever :math:`\lambda`. (First order; the tangent projection couples these modes
    to the common ones at :math:`O(\beta^*)`; the tests compute the whole Jacobian of two steps at the
    state and find every other eigenvalue inside the unit circle up to the neutral rotations of w.)
(d) *It exists* only while :math:`\alpha^{*2} + \beta^{*2} \le 1`. At equality :math:`\gamma^* = 0`: it
    meets the :math:`\gamma = 0` state aligned with the prototypes (a pitchfork). That aligned state is the
    fixed point :math:`\alpha = a/(s - q)`, :math:`\beta = b/(s - p)` with :math:`a = \eta\lambda/\sqrt k`,
    :math:`b = \eta\lambda\delta` and its normaliser s the root above p of
    :math:`F(s) = a^2/(s-q)^2 + b^2/(s-p)^2 = 1`; on it the common component :math:`\gamma` is multiplied by
    :math:`|q|/s` per step. F decreases on :math:`(p, \infty)` and :math:`F(\eta-1) = \alpha^{*2} + \beta^{*2}
    = (\lambda/\lambda_c)^2`, so :math:`s > \eta - 1 = |q|` exactly when :math:`\lambda > \lambda_c`: above
    the curve the aligned state attracts and the common component decays (the embeddings escape to the
    prototypes), below it the aligned state repels it and the near-collapsed state is where the runs end
    (:func:`aligned_state`, an exchange of stability). Hence the critical per-class-embedding
    :math:`\lambda`, in closed form,

    .. math::
        \lambda_c(\eta, k) = \frac{1}{\eta}\left[\frac{1}{4k(\eta-1)^2}
            + \frac{(k-1)^3}{k\,(k-2)^2(\eta-\eta^*)^2}\right]^{-1/2}\quad(\eta>\eta^*),\qquad
        \lambda_c = 0\quad(\eta\le\eta^*).

    Both terms of :math:`\eta^2[\dots]` decrease in :math:`\eta`, so :math:`\lambda_c` increases from 0 at
    :math:`\eta^*` to

    .. math::
        \lambda_\infty(k) = \lim_{\eta\to\infty}\lambda_c = \left[\frac{1}{4k} + \frac{(k-1)^3}{k(k-2)^2}\right]^{-1/2}
        = \frac{2(k-2)}{\sqrt{4k^2-11k+8}} = 1 - \frac{5}{8k} + O(k^{-2}),

    the smallest :math:`\lambda` that prevents collapse at every learning rate. It is below 1 for every
    :math:`k \ge 3` (:math:`(k-1)^3 + (k-2)^2/4 - k(k-2)^2 = k^2-k-1+(k-2)^2/4 > 0`).

The rules that differentiate through the normalisation (``autodiff``, ``infonce``) never collapse
without CLOP (:mod:`theory.stability`); CLOP's gradient through the normalisation,
:math:`-\lambda(I - x_ix_i^\top)c_i`, adds at complete collapse the zero-sum tangent push
:math:`\lambda(I-uu^\top)(c_i - \bar c)` to their already repelling linearisation, so
:math:`\lambda_c = 0` for them (checked with the simulator, not derived further).

*The spread state with the term* (Theorem 1's one-step heuristic, limit :math:`m\to\infty` at fixed k, every
rule, :math:`\eta_{\rm eff}` of :func:`theory.stability.effective_eta`; the term's step is :math:`\eta\lambda`
and its gradient through the normalisation tends to :math:`\lambda c_i` there): the mean gains
:math:`\eta\lambda\bar c` and every norm :math:`\eta^2\lambda^2`, so

.. math::
    \rho_\lambda^2 = \frac{(1-\eta_{\rm eff})^2 + \eta^2\lambda^2}{1 + \eta_{\rm eff}^2/(k-1) + \eta^2\lambda^2}.

:math:`\rho_\lambda \le 1` reduces to Theorem 1's :math:`(1-\eta_{\rm eff})^2 \le 1 + \eta_{\rm eff}^2/(k-1)`:
the term does not move the spread state's edge. It moves the best step (argmin of :math:`\rho_\lambda`): for
``paper`` and ``autodiff`` :math:`\eta_{\rm best} = \frac{2-k+\sqrt{k^2+4\lambda^2(k-1)^2}}{2(1+\lambda^2(k-1))}`
(1 at :math:`\lambda = 0`, below 1 for :math:`\lambda > 0`); for ``infonce`` the same with :math:`\lambda/s`,
divided by s, where :math:`s = \eta_{\rm eff}/\eta` (:func:`spread_mean_factor_clop`, :func:`eta_best_clop`).
A growing mean is now partly a pull towards :math:`\bar c`, so this factor no longer measures collapse.

Why the critical :math:`\lambda` has a closed form: the prototypes break the permutation symmetry of
the classes only jointly with themselves, so the symmetric states are invariant and carry the whole
question in three scalars; the near-collapsed state is an exact period-2 orbit of that map whose
normaliser is the constant :math:`\eta - 1`, which makes the fixed-point equations linear in
:math:`\alpha, \beta`.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from theory.bounds import check_eta, check_k
from theory.derivation import Derivation, Step, eta, is_zero, k

__all__ = [
    "lam",
    "SCALES",
    "derive_clop",
    "check_two_ways",
    "reduced_step",
    "near_collapse_state",
    "aligned_state",
    "clop_lambda_critical",
    "clop_lambda_limit",
    "clop_eta_min",
    "per_embedding_lambda",
    "spread_mean_factor_clop",
    "eta_best_clop",
    "lambda_table",
]

#: CLOP's weight (plain symbol so expressions round-trip through ``str``).
lam = sp.Symbol("lambda")
_alpha, _beta, _gamma = sp.symbols("alpha beta gamma")

#: Scales of lambda: ``sum`` (Eq. 4 as printed, one labelled embedding per class: per-class-embedding
#: weight lambda) and ``mean`` (the authors' released loss: lambda / k per class embedding).
SCALES = ("sum", "mean")

_POS = {"k": sp.Symbol("k_p", positive=True), "eta": sp.Symbol("eta_p", positive=True),
        "lam": sp.Symbol("lam_p", positive=True)}


def _pq():
    return 1 + eta / (k - 1), 1 - eta


def _reduced_y(a, b, g):
    """Unnormalised image of the symmetric state (a, b, g) (components along e, d_i, w)."""
    p, q = _pq()
    return (q * a + eta * lam / sp.sqrt(k), p * b + eta * lam * sp.sqrt(1 - 1 / k), q * g)


def derive_clop() -> Derivation:
    r"""The derivation of the module docstring as inspectable sympy steps.

    Steps: ``prototype_norm`` (:math:`\|c_i\|^2 = 1/k + \delta^2`), ``prototype_cross``
    (:math:`c_i^\top c_j = 1/k - \delta^2/(k-1)`), ``collapse_split`` (:math:`y_i - y_j` at complete
    collapse, coefficient of :math:`c_i - c_j`), ``alpha_star``, ``beta_star``, ``gamma_star_sq``,
    ``cycle_norm_sq`` (:math:`\|y\|^2` at the state), ``zero_sum_factor`` (:math:`p/(\eta-1)`),
    ``lambda_critical``, ``lambda_limit``.

    Example:
        >>> d = derive_clop()
        >>> d["cycle_norm_sq"]
        (eta - 1)**2
        >>> d["prototype_norm"], d["prototype_cross"]
        (1, 0)
    """
    p, q = _pq()
    delta_sq = 1 - 1 / k
    steps = []
    # c_i = e/sqrt(k) + delta d_i with e.e = 1, d_i.d_i = 1, d_i.d_j = -1/(k-1), e.d_i = 0
    steps.append(Step("prototype_norm", "||c_i||^2 = 1/k + delta^2 (orthonormal prototypes)",
                      sp.simplify(1 / k + delta_sq)))
    steps.append(Step("prototype_cross", "c_i.c_j = 1/k + delta^2 d_i.d_j = 1/k - delta^2/(k-1) (must be 0)",
                      sp.simplify(1 / k - delta_sq / (k - 1))))
    steps.append(Step("collapse_split", "at x_i = u: y_i - y_j = eta lambda (c_i - c_j); coefficient",
                      eta * lam))
    a_star = eta * lam / (2 * sp.sqrt(k) * (eta - 1))
    b_star = sp.simplify(eta * lam * sp.sqrt(delta_sq) / (eta - 1 - p))
    g_sq = 1 - a_star**2 - b_star**2
    steps.append(Step("alpha_star", "component of the near-collapsed state along e = sqrt(k) c_bar", a_star))
    steps.append(Step("beta_star", "spread: component along d_i = (c_i - c_bar)/delta", b_star))
    steps.append(Step("gamma_star_sq", "squared common component outside the prototypes' span", sp.simplify(g_sq)))
    y = _reduced_y(a_star, b_star, sp.Symbol("g"))
    norm_sq = sp.simplify(sum(c**2 for c in y).subs(sp.Symbol("g") ** 2, g_sq))
    steps.append(Step("cycle_norm_sq", "||y_i||^2 at the state (so that y/||y|| = (alpha, beta, -gamma))",
                      sp.factor(norm_sq)))
    steps.append(Step("zero_sum_factor", "first-order factor of a zero-sum deviation per step", p / (eta - 1)))
    lam_c = 1 / sp.sqrt(sp.simplify((a_star**2 + b_star**2) / lam**2))
    steps.append(Step("lambda_critical", "lambda at which alpha*^2 + beta*^2 = 1 (gamma* = 0)", lam_c))
    kp, ep = _POS["k"], _POS["eta"]
    limit = sp.simplify(sp.limit(lam_c.subs({k: kp, eta: ep}), ep, sp.oo)).subs(kp, k)
    steps.append(Step("lambda_limit", "lambda_c as eta -> infinity", limit))
    return Derivation(tuple(steps))


def check_two_ways(samples: int = 20, seed: int = 0) -> dict[str, bool]:
    r"""Check the derivation symbolically (differences simplify to 0) and numerically (random points).

    Symbolic: the state maps to :math:`(\alpha^*, \beta^*, -\gamma^*)`; :math:`\lambda_c` of the
    derivation equals the closed form of the module docstring; the limit equals
    :math:`[1/(4k) + (k-1)^3/(k(k-2)^2)]^{-1/2}`. Numeric: the full ``[m, k]`` update with random
    orthonormal prototypes, started at the state, returns it with w's sign flipped; and
    :func:`clop_lambda_critical` makes :math:`\alpha^{*2}+\beta^{*2} = 1`.

    Example:
        >>> all(check_two_ways(samples=3).values())
        True
    """
    d = derive_clop()
    p, q = _pq()
    a, b, g_sq = d["alpha_star"], d["beta_star"], d["gamma_star_sq"]
    g = sp.Symbol("g")
    y = _reduced_y(a, b, g)
    s = eta - 1
    out = {
        "orthonormal_decomposition": is_zero(d["prototype_norm"] - 1) and is_zero(d["prototype_cross"]),
        "maps_to_flipped": all(is_zero(yc / s - target) for yc, target in zip(y, (a, b, -g))),
        "normaliser_is_eta_minus_1": is_zero(d["cycle_norm_sq"] - s**2),
        "lambda_critical_closed_form": is_zero(
            d["lambda_critical"] ** -2 - eta**2 * (1 / (4 * k * (eta - 1) ** 2)
                                                  + (k - 1) ** 3 / (k * (k - 2) ** 2 * (eta - 2 * (k - 1) / (k - 2)) ** 2))),
        "lambda_limit_closed_form": is_zero(d["lambda_limit"] ** -2 - (1 / (4 * k) + (k - 1) ** 3 / (k * (k - 2) ** 2)))
        and is_zero(d["lambda_limit"] ** 2 - 4 * (k - 2) ** 2 / (4 * k**2 - 11 * k + 8)),
    }
    rng = np.random.default_rng(seed)
    ok_map, ok_crit = True, True
    for _ in range(samples):
        kk = int(rng.integers(3, 12))
        m = kk + int(rng.integers(1, 4))
        es = 2 * (kk - 1) / (kk - 2)
        ee = es * float(rng.uniform(1.05, 6.0))
        lc = float(clop_lambda_critical(ee, kk))
        ll = lc * float(rng.uniform(0.05, 0.95))
        al, be, ga = near_collapse_state(ee, kk, ll)
        C = np.linalg.qr(rng.standard_normal((m, m)))[0]
        P, w = C[:, :kk], C[:, kk]
        e = P.mean(1) * np.sqrt(kk)
        D = (P - P.mean(1, keepdims=True)) / np.sqrt(1 - 1 / kk)
        X = al * e[:, None] + be * D + ga * w[:, None]
        Y = X - ee / (kk - 1) * (X.sum(1, keepdims=True) - X) + ee * ll * P
        Y = Y / np.linalg.norm(Y, axis=0)
        target = al * e[:, None] + be * D - ga * w[:, None]
        ok_map &= bool(np.allclose(Y, target, atol=1e-12))
        a2, b2, _ = near_collapse_state(ee, kk, lc)
        ok_crit &= bool(abs(a2**2 + b2**2 - 1) < 1e-12)
    out["simulated_map"] = ok_map
    out["critical_closes_gamma"] = ok_crit
    # exchange of stability: on the aligned state gamma shrinks (|q|/s < 1) exactly above lambda_c
    ok_swap = True
    for kk, ratio in [(3, 1.5), (10, 3.0), (30, 1.2)]:
        ee = ratio * 2 * (kk - 1) / (kk - 2)
        lc = float(clop_lambda_critical(ee, kk))
        factors = [aligned_state(ee, kk, f * lc)[3] for f in (0.9, 1.0, 1.1)]
        ok_swap &= factors[0] > 1 > factors[2] and abs(factors[1] - 1) < 1e-9
    out["exchange_of_stability"] = bool(ok_swap)
    return out


def reduced_step(state, eta_value, k_value, lam_value):
    r"""One update of the three-scalar map :math:`(\alpha, \beta, \gamma)` (module docstring), vectorised.

    Example:
        >>> a, b, g = near_collapse_state(6.0, 3, 0.1)
        >>> [round(float(v), 12) for v in reduced_step((a, b, g), 6.0, 3, 0.1)] == [round(a, 12), round(b, 12), round(-g, 12)]
        True
    """
    a, b, g = (np.asarray(v, dtype=float) for v in state)
    kk = np.asarray(k_value, dtype=float)
    e = np.asarray(eta_value, dtype=float)
    lv = np.asarray(lam_value, dtype=float)
    p, q = 1 + e / (kk - 1), 1 - e
    y = (q * a + e * lv / np.sqrt(kk), p * b + e * lv * np.sqrt(1 - 1 / kk), q * g)
    n = np.sqrt(y[0] ** 2 + y[1] ** 2 + y[2] ** 2)
    return tuple(c / n for c in y)


def near_collapse_state(eta_value, k_value, lam_value):
    r"""The near-collapsed period-2 state :math:`(\alpha^*, \beta^*, \gamma^*)` of the ``paper`` rule with CLOP.

    .. math:: \alpha^* = \frac{\eta\lambda}{2\sqrt k(\eta-1)},\quad
              \beta^* = \frac{\eta\lambda(k-1)\sqrt{1-1/k}}{(k-2)(\eta-\eta^*)},\quad
              \gamma^* = \sqrt{1-\alpha^{*2}-\beta^{*2}}

    (NaN for :math:`\gamma^*` where the state does not exist). Floats for scalar input.

    Example:
        >>> a, b, g = near_collapse_state(6.0, 3, 0.1)
        >>> round(a, 4), round(b, 4), round(g, 4)
        (0.0346, 0.4899, 0.8711)
    """
    e = np.asarray(eta_value, dtype=float)
    kk = np.asarray(k_value, dtype=float)
    lv = np.asarray(lam_value, dtype=float)
    es = 2 * (kk - 1) / (kk - 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = e * lv / (2 * np.sqrt(kk) * (e - 1))
        b = e * lv * (kk - 1) * np.sqrt(1 - 1 / kk) / ((kk - 2) * (e - es))
        g = np.sqrt(1 - a**2 - b**2)
    return tuple(float(v) if np.ndim(v) == 0 else v for v in (a, b, g))


def aligned_state(eta_value, k_value, lam_value):
    r"""The prototype-aligned fixed point :math:`(\alpha, \beta, 0)` of the ``paper`` rule with CLOP, and its normaliser s.

    :math:`\alpha = a/(s-q)`, :math:`\beta = b/(s-p)`, s the root above :math:`p = 1 + \eta/(k-1)` of
    :math:`a^2/(s-q)^2 + b^2/(s-p)^2 = 1` (:math:`a = \eta\lambda/\sqrt k`, :math:`b = \eta\lambda\sqrt{1-1/k}`,
    :math:`q = 1-\eta`), solved by bisection (the left side decreases in s). A common component
    :math:`\gamma` grows or shrinks on it by :math:`|q|/s` per step: below one exactly when
    :math:`\lambda > \lambda_c(\eta, k)` (module docstring, (d)). For :math:`\eta > 1` and :math:`\lambda > 0`.

    Returns:
        ``(alpha, beta, s, gamma_factor)``, floats for scalar input.

    Example (k = 3, eta = 6: lambda_c = 0.2036):
        >>> [round(aligned_state(6.0, 3, lam)[3], 4) for lam in (0.18, 0.25)]
        [1.0238, 0.9562]
    """
    e = np.asarray(eta_value, dtype=float)
    kk = np.asarray(k_value, dtype=float)
    lv = np.asarray(lam_value, dtype=float)
    e, kk, lv = np.broadcast_arrays(e, kk, lv)
    p, q = 1 + e / (kk - 1), 1 - e
    a, b = e * lv / np.sqrt(kk), e * lv * np.sqrt(1 - 1 / kk)
    lo = np.maximum(p, q) + 0.0
    hi = lo + a + b + 1.0  # F(hi) < (a^2 + b^2) / (a + b + 1)^2 < 1
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        with np.errstate(divide="ignore"):
            big = a**2 / (mid - q) ** 2 + b**2 / (mid - p) ** 2 > 1
        lo, hi = np.where(big, mid, lo), np.where(big, hi, mid)
    sv = 0.5 * (lo + hi)
    out = (a / (sv - q), b / (sv - p), sv, np.abs(q) / sv)
    return tuple(float(v) if np.ndim(v) == 0 else v for v in out)


def clop_lambda_critical(eta_value, k_value):
    r"""Critical per-class-embedding :math:`\lambda_c(\eta, k)` of the ``paper`` rule (0 for :math:`\eta\le\eta^*`).

    .. math:: \lambda_c = \frac{1}{\eta}\Big[\frac{1}{4k(\eta-1)^2}
              + \frac{(k-1)^3}{k(k-2)^2(\eta-\eta^*)^2}\Big]^{-1/2},\qquad \eta^* = \frac{2(k-1)}{k-2}.

    Example:
        >>> round(clop_lambda_critical(6.0, 3), 4), clop_lambda_critical(3.0, 3)
        (0.2036, 0.0)
    """
    kk = check_k(k_value).astype(float)
    e = check_eta(eta_value)
    kk, e = np.broadcast_arrays(kk, e)
    es = 2 * (kk - 1) / (kk - 2)
    above = e > es
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_sq = 1 / (4 * kk * (e - 1) ** 2) + (kk - 1) ** 3 / (kk * (kk - 2) ** 2 * (e - es) ** 2)
        value = np.where(above, 1 / (e * np.sqrt(inv_sq)), 0.0)
    return float(value) if np.ndim(value) == 0 else value


def clop_lambda_limit(k_value):
    r"""Supremum over :math:`\eta` of :math:`\lambda_c`: :math:`\lambda_\infty(k) = [1/(4k) + (k-1)^3/(k(k-2)^2)]^{-1/2}`.

    The smallest per-class-embedding :math:`\lambda` at which no learning rate keeps a near-collapsed state.

    Example:
        >>> [round(float(v), 4) for v in clop_lambda_limit([3, 10, 30])]
        [0.603, 0.9269, 0.9781]
    """
    kk = check_k(k_value).astype(float)
    value = 1 / np.sqrt(1 / (4 * kk) + (kk - 1) ** 3 / (kk * (kk - 2) ** 2))
    return float(value) if np.ndim(value) == 0 else value


def clop_eta_min(lam_value, k_value):
    r"""Smallest :math:`\eta` at which a near-collapsed state persists at per-class-embedding :math:`\lambda`.

    The inverse of the increasing :math:`\lambda_c(\cdot, k)` on :math:`(\eta^*, \infty)` (a quartic in
    :math:`\eta`; solved by bisection to 1e-12 relative): :math:`\eta^*` at :math:`\lambda = 0`, ``inf`` for
    :math:`\lambda \ge \lambda_\infty(k)`.

    Example:
        >>> round(clop_eta_min(0.2036, 3), 3), clop_eta_min(0.7, 3)
        (6.0, inf)
    """
    lv = np.asarray(lam_value, dtype=float)
    kk = check_k(k_value).astype(float)
    lv, kk = np.broadcast_arrays(lv, kk)
    if np.any(~np.isfinite(lv)) or np.any(lv < 0):
        raise ValueError(f"lambda must be finite and >= 0; got {lam_value!r}")
    es = 2 * (kk - 1) / (kk - 2)
    lo = es.copy()
    hi = es * 2.0
    inside = lv < clop_lambda_limit(kk)
    for _ in range(200):  # grow the bracket until lambda_c(hi) >= lambda
        short = inside & (clop_lambda_critical(hi, kk) < lv)
        if not short.any():
            break
        hi = np.where(short, hi * 2, hi)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        below = clop_lambda_critical(mid, kk) < lv
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    value = np.where(lv == 0, es, np.where(inside, hi, np.inf))
    return float(value) if np.ndim(value) == 0 else value


def per_embedding_lambda(lam_value, k_value, scale: str = "sum"):
    r"""Per-class-embedding weight of a printed :math:`\lambda`: :math:`\lambda` (``sum``) or :math:`\lambda/k` (``mean``).

    Example:
        >>> per_embedding_lambda(1.0, 10, "mean")
        0.1
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}; got {scale!r}")
    lv = np.asarray(lam_value, dtype=float)
    value = lv if scale == "sum" else lv / np.asarray(k_value, dtype=float)
    return float(value) if np.ndim(value) == 0 else value


def lambda_table(lams=(0.1, 1.0, 1.5), ks=(3, 10, 30)) -> list[dict]:
    r"""Where printed :math:`\lambda` values fall, per k and scale: ``{"k", "lambda", "scale",
    "per_embedding", "lambda_limit", "prevents_at_every_eta", "collapse_persists_above"}``
    (the last is :func:`clop_eta_min` and its ratio to :math:`\eta^*`).

    Example:
        >>> rows = lambda_table([1.0], [10])
        >>> [(r["scale"], r["prevents_at_every_eta"]) for r in rows]
        [('sum', True), ('mean', False)]
    """
    rows = []
    for kk in ks:
        limit = clop_lambda_limit(kk)
        es = 2 * (kk - 1) / (kk - 2)
        for lv in lams:
            for scale in SCALES:
                pe = per_embedding_lambda(lv, kk, scale)
                eta_min = clop_eta_min(pe, kk)
                rows.append({"k": int(kk), "lambda": float(lv), "scale": scale, "per_embedding": float(pe),
                             "lambda_limit": float(limit), "prevents_at_every_eta": bool(pe >= limit),
                             "collapse_persists_above": float(eta_min),
                             "collapse_persists_above_over_eta_star": float(eta_min / es)})
    return rows


def spread_mean_factor_clop(eta_value, k_value, lam_value, rule: str = "paper", tau_value=None):
    r"""One-step factor on the mean's norm from the spread state with CLOP's term (m -> infinity), any rule.

    .. math:: \rho_\lambda = \sqrt{\frac{(1-\eta_{\rm eff})^2 + \eta^2\lambda^2}{1 + \eta_{\rm eff}^2/(k-1) + \eta^2\lambda^2}}

    Example (lambda = 0 is Theorem 1's factor; the edge eta* = 4 at k = 3 keeps rho = 1 for every lambda):
        >>> from theory.stability import spread_mean_factor
        >>> round(spread_mean_factor_clop(2.5, 10, 0.0), 12) == round(spread_mean_factor(2.5, 10), 12)
        True
        >>> [round(spread_mean_factor_clop(4.0, 3, lam), 12) for lam in (0.0, 0.5, 3.0)]
        [1.0, 1.0, 1.0]
    """
    from theory.stability import effective_eta

    eff = np.asarray(effective_eta(eta_value, k_value, rule, tau_value), dtype=float)
    e = check_eta(eta_value)
    kk = check_k(k_value).astype(float)
    lv = np.asarray(lam_value, dtype=float)
    value = np.sqrt(((1 - eff) ** 2 + (e * lv) ** 2) / (1 + eff**2 / (kk - 1) + (e * lv) ** 2))
    return float(value) if np.ndim(value) == 0 else value


def eta_best_clop(k_value, lam_value, rule: str = "paper", tau_value=None):
    r"""The step minimising :func:`spread_mean_factor_clop`; at :math:`\lambda = 0` the toolkit's ``eta_best``.

    .. math:: \eta_{\rm best} = \frac{2-k+\sqrt{k^2+4\mu^2(k-1)^2}}{2s\,(1+\mu^2(k-1))},\qquad \mu = \lambda/s,

    :math:`s = \eta_{\rm eff}/\eta` (1 for ``paper`` and ``autodiff``).

    Example:
        >>> round(eta_best_clop(10, 0.0), 12), round(eta_best_clop(10, 1.0), 4)
        (1.0, 0.6296)
    """
    from theory.stability import effective_eta

    kk = check_k(k_value).astype(float)
    scale = np.asarray(effective_eta(1.0, kk, rule, tau_value), dtype=float)
    mu = np.asarray(lam_value, dtype=float) / scale
    value = (2 - kk + np.sqrt(kk**2 + 4 * mu**2 * (kk - 1) ** 2)) / (2 * scale * (1 + mu**2 * (kk - 1)))
    return float(value) if np.ndim(value) == 0 else value
