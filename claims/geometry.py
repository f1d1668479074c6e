r"""Claims of Section 3.2 and Appendix E (paper 001) about the class loss on the unit sphere.

With unit class embeddings :math:`X=[x_1,\dots,x_k]` and :math:`s=\sum_i x_i`,

.. math:: \sum_{i\ne j} x_i^\top x_j = \|s\|^2 - k \;\ge\; -k,

with equality exactly for zero-sum arrangements. This module checks, by numpy/scipy on explicit and
random instances: which sign convention of Eq. (3) makes the simplex ETF and the "inverted groups"
optimal with value :math:`-k` (``section3_2.optima``); Lemma 2, that the best single embedding added
to :math:`k-1` independent ones lies in their span (``lemma2``); and Appendix E's construction
(``theorem2``), which replaces :math:`x_k` by its normalised projection onto the span of the others.
"""
from __future__ import annotations

import numpy as np

from claims.registry import Context, claim, worst_case

__all__ = [
    "pairwise_sum",
    "class_loss_printed",
    "simplex_etf",
    "inverted_groups",
    "lemma2_minimiser",
    "projection_construction",
    "zero_similarity_instance",
    "random_unit_columns",
]


def random_unit_columns(rng: np.random.Generator, m: int, k: int) -> np.ndarray:
    """``k`` i.i.d. uniform unit vectors of R^m as the columns of an m x k matrix (normalised Gaussians).

    Example:
        >>> X = random_unit_columns(np.random.default_rng(0), 5, 3)
        >>> X.shape, np.allclose(np.linalg.norm(X, axis=0), 1)
        ((5, 3), True)
    """
    X = rng.standard_normal((m, k))
    return X / np.linalg.norm(X, axis=0)


def pairwise_sum(X: np.ndarray) -> float:
    r"""Total pairwise cosine similarity :math:`\sum_{i\ne j} [X^\top X]_{ij}` of unit columns.

    This is Eq. (3) of paper 001 *without* its leading minus sign, the convention of Appendix E.

    Example:
        >>> pairwise_sum(np.eye(3))
        0.0
        >>> round(pairwise_sum(np.ones((2, 3)) / np.sqrt(2)), 12)   # three equal vectors: 3 * 2 pairs
        6.0
    """
    G = X.T @ X
    return float(G.sum() - np.trace(G))


def class_loss_printed(X: np.ndarray) -> float:
    r"""Eq. (3) of paper 001 as printed: :math:`\mathcal{L}_{class}(X) = -\sum_{i\ne j}[X^\top X]_{ij}`.

    Example:
        >>> class_loss_printed(simplex_etf(4))
        4.0
    """
    return -pairwise_sum(X)


def simplex_etf(k: int, m: int | None = None) -> np.ndarray:
    r"""The simplex equiangular tight frame: k unit vectors with :math:`x_i^\top x_j = -1/(k-1)`.

    Built as the centred standard basis :math:`e_i - \frac1k\mathbf 1`, normalised, padded to m rows.

    Example:
        >>> G = simplex_etf(3).T @ simplex_etf(3)
        >>> np.allclose(G, [[1, -.5, -.5], [-.5, 1, -.5], [-.5, -.5, 1]])
        True
    """
    m = k if m is None else m
    if m < k - 1:
        raise ValueError(f"m must be >= k - 1 for a simplex ETF; got m={m}, k={k}")
    E = np.eye(k) - 1.0 / k
    E /= np.linalg.norm(E, axis=0)
    out = np.zeros((max(m, k), k))
    out[:k] = E
    return out[:m] if m >= k else _rotate_into(E, m)


def _rotate_into(E: np.ndarray, m: int) -> np.ndarray:
    # The ETF spans the (k-1)-dim space orthogonal to the all-ones vector: express it in a basis of it.
    U, _, _ = np.linalg.svd(E, full_matrices=False)
    return (U[:, :m].T @ E)


def inverted_groups(k: int, m: int | None = None) -> np.ndarray:
    r"""Section 3.2's third arrangement: k/2 antipodal pairs :math:`\pm e_j` on mutually orthogonal axes.

    Raises:
        ValueError: if k is odd (the pairs need an even k) or m < k/2.

    Example:
        >>> inverted_groups(4)[:2]
        array([[ 1., -1.,  0.,  0.],
               [ 0.,  0.,  1., -1.]])
    """
    if k % 2:
        raise ValueError(f"k must be even for inverted groups; got {k}")
    m = k if m is None else m
    if m < k // 2:
        raise ValueError(f"m must be >= k/2 for inverted groups; got m={m}, k={k}")
    X = np.zeros((m, k))
    for j in range(k // 2):
        X[j, 2 * j], X[j, 2 * j + 1] = 1.0, -1.0
    return X


def _minimise_on_sphere(fun, grad, x0: np.ndarray) -> np.ndarray:
    """Minimise ``fun(x/|x|)`` over R^m \\ {0} with BFGS from ``x0``; return the unit minimiser."""
    from scipy.optimize import minimize

    def f(y):
        n = np.linalg.norm(y)
        return fun(y / n)

    def g(y):
        n = np.linalg.norm(y)
        x = y / n
        gx = grad(x)
        return (gx - x * (x @ gx)) / n

    res = minimize(f, x0, jac=g, method="BFGS", options={"gtol": 1e-12, "maxiter": 2000})
    return res.x / np.linalg.norm(res.x)


@claim(
    "section3_2.optima",
    source="001 Section 3.2, Eq. (3)",
    statement=(
        "The simplex ETF and the 'inverted groups' arrangement reach the optimal value -k of the class "
        "loss L_class of Eq. (3); k mutually orthogonal embeddings do not."
    ),
)
def check_optima(ctx: Context) -> tuple[str, dict]:
    r"""Evaluate the three arrangements under Eq. (3) as printed and with its sign flipped.

    For each even k tested, the ETF, the inverted groups and the orthonormal arrangement are evaluated
    under the printed :math:`-\sum_{i\ne j}x_i^\top x_j` and under :math:`+\sum_{i\ne j}x_i^\top x_j`;
    the optimum of each convention over unit vectors is estimated by BFGS from random starts and
    compared with the analytic bounds (:math:`\|s\|^2-k\ge -k` for the sum; the printed sign is
    minimised by complete collapse at :math:`-k(k-1)`).

    Verdict rule: a convention "holds" if, at every k tested, the ETF and the inverted groups evaluate
    to -k within 1e-9 (float64 rounding of k^2 products), the orthonormal arrangement does not (|L+k|
    > 1e-9), and no random-start minimisation of that convention goes below -k - 1e-9 (so -k is the
    optimum). confirmed if the printed convention holds; corrected if only the flipped sign holds;
    refuted if neither.
    """
    ks = (4, 6) if ctx.quick else (4, 6, 10, 30)
    starts = 3 if ctx.quick else 10
    rng = np.random.default_rng(0)
    tol = 1e-9
    conventions = {"printed": class_loss_printed, "flipped": pairwise_sum}
    rows, holds = [], {name: True for name in conventions}
    for k in ks:
        arrangements = {"etf": simplex_etf(k), "inverted_groups": inverted_groups(k), "orthogonal": np.eye(k)}
        row = {"k": k}
        for name, loss in conventions.items():
            values = {a: loss(X) for a, X in arrangements.items()}
            # Random-start minimisation of the whole arrangement (all k vectors free) in R^k.
            sign = -1.0 if name == "printed" else 1.0

            def fun(flat, sign=sign):
                # sum_{i!=j} x_i.x_j = |s|^2 - k on normalised columns; its gradient with respect to
                # the unnormalised column y_i is the tangent part of 2s, divided by |y_i|.
                Y = flat.reshape(k, k)
                norms = np.linalg.norm(Y, axis=0)
                X = Y / norms
                s = X.sum(axis=1, keepdims=True)
                g = (2 * s - X * (X * (2 * s)).sum(axis=0)) / norms
                return sign * pairwise_sum(X), sign * g.ravel()

            from scipy.optimize import minimize

            best = min(
                minimize(fun, random_unit_columns(rng, k, k).ravel(), jac=True, method="L-BFGS-B").fun
                for _ in range(starts)
            )
            ok = (
                abs(values["etf"] + k) <= tol
                and abs(values["inverted_groups"] + k) <= tol
                and abs(values["orthogonal"] + k) > tol
                and best >= -k - tol
            )
            holds[name] &= ok
            row[name] = {**values, "best_found": best, "holds": ok}
        rows.append(row)
    verdict = worst_case(holds["printed"], holds["flipped"])
    return verdict, {
        "headline": "; ".join(
            f"{'Eq. (3) as printed (-sum)' if name == 'printed' else 'flipped sign (+sum)'}: ETF / inverted groups / "
            f"orthogonal at k={rows[0]['k']}: {rows[0][name]['etf'] + 0.0:.3g} / "
            f"{rows[0][name]['inverted_groups'] + 0.0:.3g} / {rows[0][name]['orthogonal'] + 0.0:.3g} (claimed -k = {-rows[0]['k']}), lowest found "
            f"{rows[0][name]['best_found']:.3g}, holds at {sum(r[name]['holds'] for r in rows)}/{len(rows)} k"
            for name in conventions),
        "per_k": rows,
        "printed_holds": holds["printed"],
        "flipped_holds": holds["flipped"],
        "note": (
            "Eq. (3) as printed, -sum_{i!=j} x_i.x_j, is minimised by complete collapse (value -k(k-1)); "
            "the ETF gives +k. The value -k is the minimum of +sum_{i!=j} x_i.x_j = |s|^2 - k, reached "
            "by every zero-sum arrangement."
        ),
    }


def lemma2_minimiser(X: np.ndarray) -> np.ndarray:
    r"""Closed-form minimiser of :math:`\sum_{i<k} x_i^\top x` over unit :math:`x`: :math:`-s/\|s\|`.

    With :math:`s=\sum_{i<k} x_i` (the columns of ``X``), :math:`x^\top s \ge -\|s\|` by Cauchy-Schwarz
    with equality only at :math:`x=-s/\|s\|`, which lies in the span of the columns (paper 001,
    Lemma 2).

    Raises:
        ValueError: if the columns sum to zero (then every unit vector is a minimiser).

    Example:
        >>> lemma2_minimiser(np.eye(3)[:, :2]).round(4)[:2].tolist()
        [-0.7071, -0.7071]
    """
    s = X.sum(axis=1)
    n = np.linalg.norm(s)
    if n == 0:
        raise ValueError("the columns of X sum to zero; the minimiser is not unique")
    return -s / n


def _distance_from_span(X: np.ndarray, x: np.ndarray) -> float:
    Q, _ = np.linalg.qr(X)
    return float(np.linalg.norm(x - Q @ (Q.T @ x)))


@claim(
    "lemma2",
    source="001 Section 3.2, Lemma 2",
    statement=(
        "Given k-1 linearly independent unit class embeddings in R^m (m >= k), the unit embedding x_k "
        "that minimises the total cosine similarity L_class lies in their span."
    ),
)
def check_lemma2(ctx: Context) -> tuple[str, dict]:
    r"""Minimise the total cosine similarity over x_k numerically and compare with the closed form.

    For random instances (k-1 i.i.d. uniform unit vectors in R^m, independent with probability one,
    and clustered instances where they lie in a narrow cone) x_k is optimised by BFGS on the sphere
    from several random starts, for the total similarity with the sign that makes a minimum exist
    non-trivially (+sum, Appendix E) and with Eq. (3)'s printed sign (-sum, whose minimiser is
    +s/|s|). The optimum's distance from the span of the others is measured.

    Verdict rule: confirmed if, for every instance and both signs, the best numerical minimiser lies
    within 1e-5 of the span and within 1e-5 of the closed form (-s/|s| or +s/|s|), and no start finds
    a loss lower than the closed form's by more than 1e-12 (near the minimum the loss rises as
    |s| theta^2 / 2, so BFGS stopping at a loss gap ~1e-12 leaves an angle ~1e-6: 1e-5 is ten times
    that); refuted otherwise.
    """
    rng = np.random.default_rng(1)
    sizes = ((3, 5), (5, 8)) if ctx.quick else ((3, 5), (5, 8), (10, 12), (30, 100))
    instances = 2 if ctx.quick else 5
    starts = 3 if ctx.quick else 5
    worst_span, worst_closed, worst_gain, n = 0.0, 0.0, -np.inf, 0
    for k, m in sizes:
        for t in range(instances):
            X = random_unit_columns(rng, m, k - 1)
            if t % 2:  # a clustered instance: every pair has positive similarity
                X = X * 0.3 + random_unit_columns(rng, m, 1)
                X /= np.linalg.norm(X, axis=0)
            s = X.sum(axis=1)
            for sign in (1.0, -1.0):
                closed = -sign * s / np.linalg.norm(s)
                fun = lambda x, sign=sign, s=s: sign * float(s @ x)
                grad = lambda x, sign=sign, s=s: sign * s
                found = [_minimise_on_sphere(fun, grad, rng.standard_normal(m)) for _ in range(starts)]
                best = min(found, key=fun)
                worst_span = max(worst_span, _distance_from_span(X, best))
                worst_closed = max(worst_closed, float(np.linalg.norm(best - closed)))
                worst_gain = max(worst_gain, fun(closed) - fun(best))
                n += 1
    ok = worst_span <= 1e-5 and worst_closed <= 1e-5 and worst_gain <= 1e-12
    return ("confirmed" if ok else "refuted"), {
        "headline": f"numerical optimum within {worst_span:.1e} of the span and {worst_closed:.1e} of "
                    f"-s/|s| over {n} instance-signs",
        "instances": n,
        "sizes_k_m": [list(km) for km in sizes],
        "max_distance_from_span": worst_span,
        "max_distance_from_closed_form": worst_closed,
        "max_loss_below_closed_form": worst_gain,
    }


def projection_construction(X: np.ndarray, index: int, *, sign_step: bool = True) -> np.ndarray:
    r"""Appendix E's :math:`X'`: column ``index`` replaced by :math:`\pm x_k^\parallel`, the normalised projection.

    With :math:`s=\sum_{i\ne k}x_i` and :math:`x_k = \eta x_k^\perp + \sqrt{1-\eta^2}\,x_k^\parallel`,
    Appendix E replaces :math:`x_k` by :math:`x_k^\parallel` and adds: "If this sum is not negative,
    we can simply invert the sign of :math:`x_k^\parallel`, ensuring the sum becomes negative"; so with
    ``sign_step`` (the proof as written) the new column is :math:`-x_k^\parallel` whenever
    :math:`s^\top x_k^\parallel \ge 0`. When :math:`x_k` is orthogonal to the others' span
    (:math:`\eta=1`) the proof's decomposition holds for *any* unit :math:`x_k^\parallel` in the span;
    the reading most favourable to the proof is taken, :math:`x_k^\parallel = s/\|s\|` (then inverted).

    Args:
        X: m x k matrix of unit columns.
        index: the column k of the proof.
        sign_step: apply the proof's sign inversion (``False``: the projection alone).

    Returns:
        A copy of ``X`` with the column replaced.

    Raises:
        ValueError: if the column is orthogonal to the others' span and they sum to zero (no
            direction in the span is singled out).

    Example:
        >>> X = np.array([[1.0, 0.6], [0.0, 0.8]])
        >>> projection_construction(X, 1, sign_step=False).tolist()   # x_par = e1, <x_1, x_par> = 1 > 0
        [[1.0, 1.0], [0.0, 0.0]]
        >>> projection_construction(X, 1).tolist()                    # the sign step inverts it
        [[1.0, -1.0], [0.0, -0.0]]
    """
    others = np.delete(X, index, axis=1)
    s = others.sum(axis=1)
    Q, _ = np.linalg.qr(others)
    p = Q @ (Q.T @ X[:, index])
    n = np.linalg.norm(p)
    if n <= 1e-14:  # eta = 1: any unit vector of the span decomposes x_k; take the favourable one
        ns = np.linalg.norm(s)
        if ns == 0:
            raise ValueError("column is orthogonal to the span of the others, which sum to zero")
        parallel = s / ns
    else:
        parallel = p / n
    if sign_step and float(s @ parallel) >= 0:  # "If this sum is not negative, ... invert the sign"
        parallel = -parallel
    out = X.copy()
    out[:, index] = parallel
    return out


def zero_similarity_instance(rng: np.random.Generator, m: int, k: int, strength: float = 0.3) -> np.ndarray:
    r"""Full-rank unit columns whose every column has zero total similarity with the others.

    The Gram matrix is :math:`G = I + aP` with :math:`P` symmetric, zero on the diagonal, every row
    summing to zero (a random element of that :math:`k(k-1)/2-k`-dimensional space, so k >= 4) and
    :math:`a` scaled so that the smallest eigenvalue of :math:`G` is ``1 - strength``; then
    :math:`\sum_{i\ne j}G_{ij}=0` for every j, while no column is orthogonal to the others. ``X`` is
    a Cholesky factor of :math:`G` rotated at random into :math:`\mathbb R^m`.

    Raises:
        ValueError: if k < 4 (for k = 3 only the orthonormal frame has zero row sums) or m < k.

    Example:
        >>> X = zero_similarity_instance(np.random.default_rng(0), 5, 4)
        >>> G = X.T @ X
        >>> bool(np.allclose(G.sum(axis=0) - 1, 0)), bool(np.abs(G - np.eye(4)).max() > 0.05)
        (True, True)
    """
    if k < 4 or m < k:
        raise ValueError(f"need k >= 4 and m >= k; got k={k}, m={m}")
    iu = np.triu_indices(k, 1)
    R = np.zeros((k, iu[0].size))  # row-sum constraints on the upper-triangular entries
    for e, (i, j) in enumerate(zip(*iu)):
        R[i, e] = R[j, e] = 1.0
    _, _, Vt = np.linalg.svd(R)
    null = Vt[np.linalg.matrix_rank(R):]
    u = null.T @ rng.standard_normal(null.shape[0])
    P = np.zeros((k, k))
    P[iu] = u
    P = P + P.T
    a = strength / max(abs(np.linalg.eigvalsh(P)).max(), 1e-300)
    G = np.eye(k) + a * P
    L = np.linalg.cholesky(G)
    Q, _ = np.linalg.qr(rng.standard_normal((m, k)))
    X = Q @ L.T
    return X / np.linalg.norm(X, axis=0)


def _rank(X: np.ndarray) -> int:
    sv = np.linalg.svd(X, compute_uv=False)
    return int(np.sum(sv > 1e-9 * sv[0]))


def _theorem2_instances(rng: np.random.Generator, quick: bool):
    """(family, X) pairs: i.i.d. uniform, clustered, orthonormal frames, and zero-similarity instances."""
    sizes = ((3, 5), (5, 5)) if quick else ((3, 3), (3, 5), (5, 5), (10, 12), (30, 100))
    per_size = 6 if quick else 40
    for k, m in sizes:
        for t in range(per_size):
            X = random_unit_columns(rng, m, k)
            if t % 2:  # clustered: every pairwise similarity positive
                X = X * 0.5 + random_unit_columns(rng, m, 1)
                X /= np.linalg.norm(X, axis=0)
            yield ("clustered" if t % 2 else "uniform"), X
        Q, _ = np.linalg.qr(rng.standard_normal((m, k)))
        yield "orthonormal", Q
    for k, m in (((4, 4), (6, 8)) if quick else ((4, 4), (5, 7), (6, 8), (10, 12))):
        for _ in range(2 if quick else 5):
            yield "zero_similarity", zero_similarity_instance(rng, m, k)


@claim(
    "theorem2",
    source="001 Section 3.2 and Appendix E (proof of Lemma 2 / 'Theorem 2')",
    statement=(
        "For any full-rank arrangement X of k unit class embeddings (m >= k) there is a rank-(k-1) "
        "arrangement X' with lower loss sum_{i!=j} x_i.x_j, obtained by replacing an x_k with "
        "sum_{i!=k} x_i != 0 by its normalised projection x_k^par onto the span of the others, with the "
        "sign of x_k^par inverted if sum_{i!=k} x_i.x_k^par is not negative."
    ),
)
def check_theorem2(ctx: Context) -> tuple[str, dict]:
    r"""Apply Appendix E's construction as written, sign step included, to every admissible index.

    Steps implemented (quoted in the evidence): pick any :math:`x_k` with
    :math:`s=\sum_{i\ne k}x_i\ne0`; decompose :math:`x_k=\eta x_k^\perp+\sqrt{1-\eta^2}x_k^\parallel`;
    replace :math:`x_k` by :math:`x_k^\parallel`, inverted if :math:`s^\top x_k^\parallel\ge0`
    (:func:`projection_construction`); compare the losses :math:`\sum_{i\ne j}x_i^\top x_j`
    (Appendix E's convention). By the algebra
    :math:`L(X)-L(X')=2\,(s^\top x_k+|s^\top x_k|/\sqrt{1-\eta^2})`, so the construction lowers the
    loss exactly when :math:`s^\top x_k\ne0` (or :math:`\eta=1`, where :math:`x_k^\parallel` is free);
    the proof's condition :math:`s\ne0` does not ensure that, and its claim "we can always find"
    a negative sum fails when :math:`s^\top x_k^\parallel=0` (inverting zero leaves zero). Instance
    families: i.i.d. uniform (Section 3.1's setting), clustered (all similarities positive),
    orthonormal frames (:math:`\eta=1` at every index), and zero-similarity instances
    (:func:`zero_similarity_instance`: :math:`s^\top x_k=0` at every index, :math:`\eta<1`). The
    correction replaces :math:`x_k` by Lemma 2's minimiser :math:`-s/\|s\|` (also in the span), for
    which :math:`L(X)-L(X')=2(s^\top x_k+\|s\|)>0` whenever :math:`x_k\ne-s/\|s\|`, i.e. always at
    full rank.

    Verdict rule: the construction "works" at an (instance, index) if X' has numerical rank k-1
    (singular values above 1e-9 of the largest) and L(X') < L(X) - 1e-12 (float64 rounding of the
    O(k^2) sum). confirmed if the construction as written works at every admissible index of every
    instance; corrected if it fails somewhere while the corrected construction (-s/|s|) works
    everywhere (the evidence names the condition the proof needs); refuted if neither works.
    """
    rng = np.random.default_rng(2)
    tol = 1e-12
    families: dict[str, dict] = {}
    printed_ok = corrected_ok = True
    counterexample = None
    for family, X in _theorem2_instances(rng, ctx.quick):
        k = X.shape[1]
        if _rank(X) < k:
            continue  # not full rank: outside the statement
        f = families.setdefault(family, {"instances": 0, "index_choices": 0, "sign_inverted": 0, "eta_one": 0,
                                         "printed_fails": 0, "instances_no_index_works": 0,
                                         "corrected_fails": 0, "projection_alone_raises_loss": 0,
                                         "max_abs_similarity_sum_at_failure": 0.0})
        f["instances"] += 1
        base = pairwise_sum(X)
        any_works = False
        for idx in range(k):
            s_others = X.sum(axis=1) - X[:, idx]
            if np.linalg.norm(s_others) == 0:
                continue  # the proof's selection condition
            f["index_choices"] += 1
            others = np.delete(X, idx, axis=1)
            Q, _ = np.linalg.qr(others)
            projection = Q @ (Q.T @ X[:, idx])
            eta_one = np.linalg.norm(projection) <= 1e-14
            f["eta_one"] += int(eta_one)
            if not eta_one:
                f["sign_inverted"] += int(s_others @ projection >= 0)
                alone = projection_construction(X, idx, sign_step=False)
                f["projection_alone_raises_loss"] += int(pairwise_sum(alone) > base)
            Xp = projection_construction(X, idx)
            works = _rank(Xp) == k - 1 and pairwise_sum(Xp) < base - tol
            any_works |= works
            if not works:
                printed_ok = False
                f["printed_fails"] += 1
                sim = float(X[:, idx] @ s_others)
                f["max_abs_similarity_sum_at_failure"] = max(f["max_abs_similarity_sum_at_failure"], abs(sim))
                if counterexample is None or k < counterexample["k"]:
                    counterexample = {"family": family, "k": k, "m": X.shape[0], "index": idx, "gram": X.T @ X,
                                      "loss_X": base, "loss_X_prime": pairwise_sum(Xp), "rank_X_prime": _rank(Xp),
                                      "similarity_sum_of_x_k": sim}
            Xc = _replace(X, idx, lemma2_minimiser(others))
            ok_c = _rank(Xc) == k - 1 and pairwise_sum(Xc) < base - tol
            corrected_ok &= ok_c
            f["corrected_fails"] += int(not ok_c)
        f["instances_no_index_works"] += int(not any_works)
    verdict = worst_case(printed_ok, corrected_ok)
    fails = {name: f"{f['printed_fails']}/{f['index_choices']}" for name, f in families.items()}
    random_fails = sum(families[n]["printed_fails"] for n in ("uniform", "clustered") if n in families)
    random_choices = sum(families[n]["index_choices"] for n in ("uniform", "clustered") if n in families)
    return verdict, {
        "headline": (f"construction as written (sign step included) lowers the loss at {random_choices - random_fails}/"
                     f"{random_choices} index choices of random instances and fails at "
                     f"{fails.get('zero_similarity', 'n/a')} index choices of the zero-similarity instances; x_k -> -s/|s| lowers the "
                     f"loss at {sum(f['index_choices'] - f['corrected_fails'] for f in families.values())}/"
                     f"{sum(f['index_choices'] for f in families.values())} index choices"),
        "families": families,
        "printed_failures_by_family": fails,
        "printed_works_everywhere": printed_ok,
        "corrected_works_everywhere": corrected_ok,
        "counterexample": counterexample,
        "condition_the_proof_needs": (
            "L(X) - L(X') = 2 (s.x_k + |s.x_k| / sqrt(1 - eta^2)) with s = sum_{i!=k} x_i: the construction "
            "lowers the loss iff s.x_k != 0 (the k-th embedding's total similarity to the others is nonzero) "
            "or eta = 1. The proof's selection condition s != 0 is vacuous for linearly independent x_i and "
            "does not give this; 'we can always find sum < 0' fails when s.x_k^par = 0, since inverting the "
            "sign of a zero sum leaves it zero. An index with s.x_k != 0 exists iff some x_k has nonzero "
            "total similarity (e.g. whenever L(X) != 0); the zero-similarity instances have none."),
        "printed_inequality_step": (
            "After the sign inversion L_k(X) = sqrt(1-eta^2) s.x_par uses the original x_par while L_k(X') = "
            "-|s.x_par|; the printed 'sqrt(1-eta^2) S > S' compares the same S on both sides. The conclusion "
            "L_k(X) > L_k(X') still follows (sqrt(1-eta^2) S_orig >= -sqrt(1-eta^2)|S_orig| > -|S_orig|)."),
        "without_sign_step": "projection alone (the previous reading, which left the sign step out) raised the "
                             "loss at the counts 'projection_alone_raises_loss' per family",
        "correction": "select x_k with sum_{i!=k} x_i.x_k != 0, or replace x_k by -s/|s| (Lemma 2's minimiser), "
                      "which lowers the loss at every index of every full-rank instance",
    }


def _replace(X: np.ndarray, index: int, column: np.ndarray) -> np.ndarray:
    out = X.copy()
    out[:, index] = column
    return out
