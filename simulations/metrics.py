r"""Measurements on class-embedding matrices: spectra, collapse, ranks, mean norm, cosines (paper 001, Section 3).

All functions take an ``[..., m, k]`` matrix (columns = class embeddings) or an ``[..., n]`` spectrum,
work on NumPy or JAX arrays (inside ``jit`` too) and return JAX arrays. Singular values come from an
SVD (of the R factor of a QR decomposition), never from the Gram matrix: float32 SVD resolves about 3e-8 of the largest singular value, the
Gram route only about 3e-4 (forming :math:`X^\top X` squares the singular values, so a ratio below
:math:`\sqrt{\epsilon_{32}} \approx 3.5\times 10^{-4}` is lost in rounding), and the collapse criterion must resolve 1e-3.
Gram matrices use ``precision=HIGHEST`` so that GPUs do not use TF32 for float32 inputs.

Complete collapse (Section 3.1, Lemma 1, Figure 3) is "numerically rank one". The default criterion,
:data:`DEFAULT_COLLAPSE_RTOL`, is *second singular value below 1e-3 of the first*.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = [
    "DEFAULT_COLLAPSE_RTOL",
    "singular_spectrum",
    "is_completely_collapsed",
    "numerical_rank",
    "effective_rank",
    "mean_norm",
    "pairwise_cosines",
    "etf_deviation",
]

#: The named default collapse criterion: collapsed iff sigma_2 < 1e-3 * sigma_1.
DEFAULT_COLLAPSE_RTOL = 1e-3

_HIGHEST = jax.lax.Precision.HIGHEST


def singular_spectrum(X) -> jax.Array:
    r"""Singular values of ``X`` in descending order, :math:`\sigma_1 \ge \dots \ge \sigma_{\min(m,k)}`.

    Args:
        X: ``[..., m, k]`` matrix.

    Returns:
        ``[..., min(m, k)]`` singular values.

    Example (Figure 3 of paper 001 plots these):
        >>> import jax.numpy as jnp
        >>> singular_spectrum(jnp.diag(jnp.array([1.0, 3.0, 2.0]))).tolist()
        [3.0, 2.0, 1.0]
    """
    X = jnp.asarray(X)
    if X.shape[-2] < X.shape[-1]:  # work on the tall orientation; same singular values
        X = jnp.swapaxes(X, -1, -2)
    # QR first, then the SVD of the small triangular factor: the same singular values (QR is
    # backward stable), but XLA's CPU SVD of a full 200 x 100 float64 matrix takes ~1 s versus ~10 ms.
    return jnp.linalg.svd(jnp.linalg.qr(X, mode="r"), compute_uv=False)


def is_completely_collapsed(spectrum, rel_tol: float = DEFAULT_COLLAPSE_RTOL, mean_norm=None) -> jax.Array:
    r"""Complete collapse, all embeddings equal: :math:`\sigma_2 < \mathrm{rel\_tol}\,\sigma_1` and :math:`\|\mu\| > 1-\mathrm{rel\_tol}`.

    Complete collapse (paper 001, Section 3.1: "all embeddings converge to a single point") means the
    unit embeddings are all equal. The spectrum alone only says "rank one", which also holds for
    co-linear embeddings pointing in *opposite* directions (:math:`x_i = \pm z`; at k = 2 that is the
    spread optimum, cosine -1). So, given the norm of the mean of the unit columns, the criterion also
    asks :math:`1-\|\mu\| < \mathrm{rel\_tol}`: equal columns have :math:`\|\mu\| = 1` up to
    :math:`\sum_i\|d_i\|^2/(2k) \le (n-1)\,\mathrm{rel\_tol}^2/2` when
    :math:`\sigma_2<\mathrm{rel\_tol}\,\sigma_1` (n = min(m, k)), far below rel_tol, while one flipped
    column out of k gives :math:`1-\|\mu\| \ge 2/k` (> rel_tol for every k < 2000). Without
    ``mean_norm`` only the rank-one test is made (co-linear counts as collapsed, as before).

    The default ``rel_tol=1e-3`` is the toolkit's named criterion (:data:`DEFAULT_COLLAPSE_RTOL`). A
    spectrum with a non-finite entry is *not* collapsed (the runners report it as non-finite instead).

    Args:
        spectrum: ``[..., n]`` descending singular values, n >= 2.
        rel_tol: threshold on :math:`\sigma_2/\sigma_1` and on :math:`1-\|\mu\|`.
        mean_norm: ``[...]`` norm of the mean of the unit columns, or None.

    Returns:
        bool array of shape ``[...]``.

    Example (paper 001, Section 3.1):
        >>> import jax.numpy as jnp
        >>> is_completely_collapsed(jnp.array([5.0, 1e-4, 0.0])).item()
        True
        >>> is_completely_collapsed(jnp.array([5.0, 1e-2, 0.0])).item()
        False
        >>> is_completely_collapsed(jnp.array([2.0**0.5, 0.0]), mean_norm=0.0).item()  # x_2 = -x_1
        False
    """
    s = jnp.asarray(spectrum)
    finite = jnp.all(jnp.isfinite(s), axis=-1)
    if s.shape[-1] < 2:  # m = 1 or k = 1: rank one by construction
        rank_one = finite
    else:
        rank_one = finite & (s[..., 1] < rel_tol * s[..., 0])
    if mean_norm is None:
        return rank_one
    return rank_one & (1.0 - jnp.asarray(mean_norm) < rel_tol)


def numerical_rank(spectrum, rtol: float) -> jax.Array:
    r"""Number of singular values above ``rtol`` times the largest: :math:`\#\{i : \sigma_i > \mathrm{rtol}\,\sigma_1\}`.

    Choose ``rtol`` well above ``max(m, k) * eps`` of the dtype (about 2e-14 for float64 and 1e-5
    for float32 at m = 100) so that rounding is not counted as rank.

    Example:
        >>> import jax.numpy as jnp
        >>> int(numerical_rank(jnp.array([2.0, 1.0, 1e-9]), rtol=1e-6))
        2
    """
    s = jnp.asarray(spectrum)
    return jnp.sum(s > rtol * s[..., :1], axis=-1)


def effective_rank(spectrum) -> jax.Array:
    r"""Effective rank of Roy & Vetterli (2007): exponential of the entropy of the normalised spectrum.

    .. math:: \mathrm{erank} = \exp\Big(-\sum_i p_i \log p_i\Big), \qquad p_i = \sigma_i / \textstyle\sum_j \sigma_j

    (terms with :math:`p_i = 0` contribute 0). It is 1 for a rank-one matrix and n for n equal
    singular values.

    Example:
        >>> import jax.numpy as jnp
        >>> round(float(effective_rank(jnp.array([1.0, 1.0, 1.0, 0.0]))), 6)
        3.0
    """
    s = jnp.asarray(spectrum)
    # An all-zero spectrum (a diverged run whose embeddings were zeroed) has rank 1 by this formula.
    p = s / jnp.maximum(jnp.sum(s, axis=-1, keepdims=True), jnp.finfo(s.dtype).tiny)
    plogp = jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0)
    return jnp.exp(-jnp.sum(plogp, axis=-1))


def mean_norm(X) -> jax.Array:
    r"""Norm of the mean class embedding, :math:`\|\mu\| = \|\frac1k\sum_i x_i\|` (Theorem 1's quantity).

    Example:
        >>> import jax.numpy as jnp
        >>> float(mean_norm(jnp.eye(4)))
        0.5
    """
    return jnp.linalg.norm(jnp.mean(jnp.asarray(X), axis=-1), axis=-1)


def pairwise_cosines(X) -> jax.Array:
    r"""The :math:`k(k-1)/2` cosine similarities :math:`\cos(x_i, x_j)`, :math:`i<j` (off-diagonal).

    Args:
        X: ``[..., m, k]`` matrix (columns need not be unit; they are normalised here).

    Returns:
        ``[..., k(k-1)/2]`` cosines in row-major order of the upper triangle.

    Example (Figure 4, right, of paper 001 shows their spread):
        >>> import jax.numpy as jnp
        >>> [round(float(c), 4) for c in pairwise_cosines(jnp.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]))]
        [0.0, 0.7071, 0.7071]
    """
    X = jnp.asarray(X)
    Xn = X / jnp.linalg.norm(X, axis=-2, keepdims=True)
    gram = jnp.einsum("...mi,...mj->...ij", Xn, Xn, precision=_HIGHEST)
    i, j = jnp.triu_indices(X.shape[-1], k=1)
    return gram[..., i, j]


def etf_deviation(X) -> jax.Array:
    r"""Root-mean-square distance of the pairwise cosines from the simplex-ETF value :math:`-1/(k-1)`.

    .. math:: d_{\mathrm{ETF}} = \Big(\frac{2}{k(k-1)}\sum_{i<j}\big(\cos(x_i,x_j) + \tfrac{1}{k-1}\big)^2\Big)^{1/2}

    Zero exactly for a simplex equiangular tight frame (Section 3.2 of paper 001 claims gradient
    descent does *not* reach it).

    Example:
        >>> import jax.numpy as jnp
        >>> etf = jnp.array([[1.0, -0.5, -0.5], [0.0, 3**0.5 / 2, -(3**0.5) / 2]])
        >>> float(etf_deviation(etf)) < 1e-12
        True
    """
    X = jnp.asarray(X)
    k = X.shape[-1]
    c = pairwise_cosines(X)
    return jnp.sqrt(jnp.mean((c + 1.0 / (k - 1)) ** 2, axis=-1))
