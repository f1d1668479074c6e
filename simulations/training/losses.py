"""Contrastive losses and the CLOP prototype term of paper 001, as pure JAX functions of embeddings.

Every loss takes a batch of embeddings (rows) and returns a scalar; all are jit-able, differentiable
and can be vmapped over an extra leading axis. The cosine-based losses (InfoNCE, DCL, SupCon and the
cosine CLOP term) normalise their inputs *inside* the loss, with a normalisation whose gradient is
finite everywhere, so that gradients flow through the normalisation to unnormalised inputs: this is
the setting of Lemma 1 of paper 001 (``001_a0916c72eb7a88d5.txt``, Section 3.1 and Appendix C). The trainers use
:func:`view_contrastive`, InfoNCE and DCL with a hand-written gradient that XLA runs faster. The
prototype constructors build the fixed class targets of the CLOP term (Section 4, Eq. 4): an
orthonormal set from the SVD of random vectors, a simplex equiangular tight frame, or random unit
vectors.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

__all__ = [
    "normalize",
    "infonce",
    "dcl",
    "view_contrastive",
    "supcon",
    "vicreg",
    "barlow_twins",
    "clop_term",
    "SIMILARITIES",
    "orthonormal_prototypes",
    "etf_prototypes",
    "random_prototypes",
]

#: Similarity metrics accepted by :func:`clop_term` (the ablation of paper 001, Table 2).
SIMILARITIES = ("cosine", "euclidean", "manhattan")

_NORM_FLOOR = 1e-12


def normalize(z: jax.Array, axis: int = -1) -> jax.Array:
    r"""Scale rows to unit Euclidean norm, with a gradient that is finite at zero.

    .. math:: \hat z = z / \sqrt{\max(\|z\|^2, 10^{-24})}

    Args:
        z: array of embeddings, one per row (any leading shape).
        axis: the feature axis.

    Returns:
        An array of the shape of ``z`` whose rows have unit norm (zero rows stay zero).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> [round(v, 6) for v in jax.jit(normalize)(jnp.array([[3.0, 4.0]]))[0].tolist()]
        [0.6, 0.8]
    """
    sq = jnp.sum(z * z, axis=axis, keepdims=True)
    return z / jnp.sqrt(jnp.maximum(sq, _NORM_FLOOR**2))


def _view_logits(z1: jax.Array, z2: jax.Array, tau) -> tuple[jax.Array, jax.Array]:
    """Cosine logits of the 2n views ``concat(z1, z2)`` with self-pairs set to -inf, and positive ids."""
    n = z1.shape[0]
    z = normalize(jnp.concatenate([z1, z2], axis=0))
    logits = (z @ z.T) / tau
    two_n = 2 * n
    logits = jnp.where(jnp.eye(two_n, dtype=bool), -jnp.inf, logits)
    positive = (jnp.arange(two_n) + n) % two_n
    return logits, positive


def infonce(z1: jax.Array, z2: jax.Array, tau: float = 0.5) -> jax.Array:
    r"""NT-Xent / SimCLR InfoNCE loss (paper 001, Eq. 1), averaged over the 2n anchors.

    With :math:`z = \mathrm{normalize}(\mathrm{concat}(z_1, z_2))` (2n rows) and :math:`j(i)` the
    other view of sample :math:`i`,

    .. math::
        \mathcal L = \frac{1}{2n}\sum_{i=1}^{2n}
        -\log\frac{\exp(z_i^\top z_{j(i)}/\tau)}{\sum_{a\neq i}\exp(z_i^\top z_a/\tau)} .

    (Eq. 1 of the paper is the sum; the mean differs by the constant factor 2n.)

    Args:
        z1: ``(n, d)`` embeddings of the first view (unnormalised; normalised inside).
        z2: ``(n, d)`` embeddings of the second view; row i is the positive of row i of ``z1``.
        tau: temperature (may be a traced array).

    Returns:
        Scalar loss.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> z = jnp.eye(2)                      # two orthogonal samples, identical views
        >>> round(float(jax.jit(infonce)(z, z, tau=1.0)), 6)   # -log(e / (e + 2))
        0.551445
    """
    logits, positive = _view_logits(z1, z2, tau)
    log_prob = logits[jnp.arange(logits.shape[0]), positive] - jax.nn.logsumexp(logits, axis=1)
    return -jnp.mean(log_prob)


def dcl(z1: jax.Array, z2: jax.Array, tau: float = 0.5) -> jax.Array:
    r"""Decoupled contrastive loss (Yeh et al., 2022): InfoNCE with the positive removed from the denominator.

    .. math::
        \mathcal L = \frac{1}{2n}\sum_{i=1}^{2n}\Big(-z_i^\top z_{j(i)}/\tau
        + \log\sum_{a\notin\{i, j(i)\}}\exp(z_i^\top z_a/\tau)\Big)

    with the same normalised 2n views as :func:`infonce`.

    Args:
        z1: ``(n, d)`` first-view embeddings, ``n >= 2``.
        z2: ``(n, d)`` second-view embeddings.
        tau: temperature.

    Returns:
        Scalar loss.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> z = jnp.eye(2)                      # negatives are orthogonal: log(2 e^0) - 1/tau
        >>> round(float(jax.jit(dcl)(z, z, tau=1.0)), 6)
        -0.306853
    """
    logits, positive = _view_logits(z1, z2, tau)
    rows = jnp.arange(logits.shape[0])
    pos = logits[rows, positive]
    negatives = logits.at[rows, positive].set(-jnp.inf)
    return jnp.mean(-pos + jax.nn.logsumexp(negatives, axis=1))


#: Below this temperature the weights exp((cos - 1)/tau) of :func:`view_contrastive` can underflow in
#: float32 (exp(-2/tau) < 1e-38 for opposite rows).
_SMALLEST_VIEW_TAU = 2.0 / 87.0


def _view_weights(zn: jax.Array, tau, decoupled: bool):
    r"""Unnormalised softmax weights :math:`E_{ij} = \exp((\hat z_i^\top\hat z_j - 1)/\tau)` of the views'
    cosine logits (zero on self-pairs, and on positives when ``decoupled``), their row sums, and the
    positives' logits. The shift :math:`1/\tau` is the largest logit of unit rows, so :math:`E` is
    symmetric; no weight underflows for :math:`\tau > 2/87`."""
    two_n = zn.shape[0]
    rows = jnp.arange(two_n)
    positive = (rows + two_n // 2) % two_n
    cosines = zn @ zn.T
    excluded = rows[:, None] == rows[None, :]
    if decoupled:
        excluded = excluded | (positive[:, None] == rows[None, :])
    e = jnp.exp(jnp.where(excluded, -jnp.inf, (cosines - 1.0) / tau))
    return e, jnp.sum(e, axis=1), cosines[rows, positive] / tau


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _view_loss(zn: jax.Array, tau, decoupled: bool) -> jax.Array:
    _, s, pos = _view_weights(zn, tau, decoupled)
    return jnp.mean(1.0 / tau + jnp.log(s) - pos)


def _view_loss_fwd(zn, tau, decoupled):
    e, s, pos = _view_weights(zn, tau, decoupled)
    return jnp.mean(1.0 / tau + jnp.log(s) - pos), (zn, e, s, tau)


def _view_loss_bwd(decoupled, residuals, g):
    zn, e, s, tau = residuals
    two_n = zn.shape[0]
    # d loss / d logits = (P - Y) / 2n with P = E / s (rows) and Y the positives' permutation
    # (symmetric); E is symmetric, so P + P^T = E (1/s_i + 1/s_j) needs no transpose.
    inv = 1.0 / s
    symmetric = e * (inv[:, None] + inv[None, :])
    scale = g / (two_n * tau)
    grad = scale * (symmetric @ zn - 2.0 * jnp.roll(zn, two_n // 2, axis=0))
    return grad.astype(zn.dtype), jnp.zeros_like(tau)


_view_loss.defvjp(_view_loss_fwd, _view_loss_bwd)


def view_contrastive(z1: jax.Array, z2: jax.Array, tau=0.5, decoupled: bool = False) -> jax.Array:
    r""":func:`infonce` (or :func:`dcl` when ``decoupled``) with a hand-written gradient, for training.

    The value is the loss's; the reverse-mode gradient with respect to the normalised views
    :math:`\hat z` (2n rows, :math:`P` the row softmax of the logits without self-pairs, and without
    positives for DCL, :math:`Y` the permutation pairing the views) is

    .. math:: \frac{\partial\mathcal L}{\partial\hat z} = \frac{(P + P^\top)\hat z - 2Y\hat z}{2n\,\tau},
        \qquad (P + P^\top)_{ij} = E_{ij}\,(1/s_i + 1/s_j),

    with :math:`E_{ij} = \exp((\hat z_i^\top\hat z_j - 1)/\tau)` (symmetric) and :math:`s` its row
    sums: one product with a symmetric 2n x 2n matrix built without a transpose, instead of autodiff's
    products with :math:`P` and :math:`P^\top` (the second a slow batched loop on XLA:CPU under
    ``vmap``). Valid for :math:`\tau > 2/87` (below, weights can underflow in float32). Mathematically equal to
    ``jax.grad(infonce)``; rounded differently. Reverse mode only (no ``jax.hessian``; use
    :func:`infonce` for that) and no gradient with respect to ``tau``.

    Raises:
        ValueError: a Python-number ``tau`` at or below 2/87.

    Example (jitted, as training calls it: one compilation instead of one per operation):
        >>> import jax, jax.numpy as jnp
        >>> z1 = jax.random.normal(jax.random.key(0), (4, 3)); z2 = jax.random.normal(jax.random.key(1), (4, 3))
        >>> bool(jnp.isclose(jax.jit(view_contrastive)(z1, z2, 0.5), jax.jit(infonce)(z1, z2, 0.5)))
        True
        >>> g = jax.jit(jax.grad(view_contrastive), static_argnums=3)(z1, z2, 0.5, True)
        >>> g_ref = jax.jit(jax.grad(dcl))(z1, z2, 0.5)
        >>> bool(jnp.allclose(g, g_ref, atol=1e-6))
        True
    """
    if isinstance(tau, (int, float)) and tau <= _SMALLEST_VIEW_TAU:
        raise ValueError(f"view_contrastive needs tau > {_SMALLEST_VIEW_TAU:.4f} (weights underflow below); got {tau}")
    return _view_loss(normalize(jnp.concatenate([z1, z2], axis=0)), tau, decoupled)


def supcon(z: jax.Array, labels: jax.Array, tau: float = 0.5) -> jax.Array:
    r"""Supervised contrastive loss :math:`\mathcal L^{sup}_{out}` (Khosla et al., 2020, Eq. 2).

    With :math:`\hat z` the normalised rows, :math:`P(i) = \{p\neq i: y_p = y_i\}`,

    .. math::
        \mathcal L = \frac{1}{|A|}\sum_{i\in A}\frac{-1}{|P(i)|}\sum_{p\in P(i)}
        \log\frac{\exp(\hat z_i^\top\hat z_p/\tau)}{\sum_{a\neq i}\exp(\hat z_i^\top\hat z_a/\tau)}

    over the anchors :math:`A = \{i: |P(i)| > 0\}`. For several views, stack them in ``z`` and repeat
    the labels. For partial labels (semi-supervised use), give each unlabelled sample a label of its
    own shared only with its other views; its term is then the InfoNCE term.

    Args:
        z: ``(N, d)`` embeddings (unnormalised; normalised inside).
        labels: ``(N,)`` integer labels.
        tau: temperature.

    Returns:
        Scalar loss (0 if no anchor has a positive).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> z2 = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])  # two views of two samples, two classes
        >>> round(float(jax.jit(supcon)(z2, jnp.array([0, 1, 0, 1]), tau=1.0)), 6)  # equals InfoNCE here
        0.551445
    """
    labels = jnp.asarray(labels)
    zn = normalize(z)
    n = zn.shape[0]
    self_mask = jnp.eye(n, dtype=bool)
    logits = jnp.where(self_mask, -jnp.inf, (zn @ zn.T) / tau)
    log_prob = logits - jax.nn.logsumexp(logits, axis=1, keepdims=True)
    positives = (labels[:, None] == labels[None, :]) & ~self_mask
    n_pos = jnp.sum(positives, axis=1)
    summed = jnp.sum(jnp.where(positives, log_prob, 0.0), axis=1)
    per_anchor = -summed / jnp.maximum(n_pos, 1)
    has_pos = n_pos > 0
    return jnp.sum(jnp.where(has_pos, per_anchor, 0.0)) / jnp.maximum(jnp.sum(has_pos), 1)


def _off_diagonal_sq_sum(m: jax.Array) -> jax.Array:
    return jnp.sum(m * m) - jnp.sum(jnp.diag(m) ** 2)


def vicreg(
    z1: jax.Array,
    z2: jax.Array,
    sim_coeff: float = 25.0,
    std_coeff: float = 25.0,
    cov_coeff: float = 1.0,
    eps: float = 1e-4,
) -> jax.Array:
    r"""VICReg loss (Bardes et al., 2022) with their default coefficients 25 / 25 / 1.

    .. math::
        \mathcal L = \lambda\,\tfrac{1}{nd}\|Z_1 - Z_2\|_F^2
        + \mu\,\tfrac{1}{2}\sum_{b=1,2}\tfrac1d\sum_j \max(0, 1-\sqrt{\mathrm{Var}(Z_b^{(j)})+\epsilon})
        + \nu\sum_{b=1,2}\tfrac1d\sum_{j\neq l}C(Z_b)_{jl}^2

    with :math:`C` the (n-1)-normalised covariance matrix, as in the authors' reference code.

    Args:
        z1, z2: ``(n, d)`` embeddings of the two views, ``n >= 2``.
        sim_coeff, std_coeff, cov_coeff: :math:`\lambda, \mu, \nu`.
        eps: variance floor inside the square root.

    Returns:
        Scalar loss.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> z = jnp.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
        >>> round(float(jax.jit(vicreg)(z, z, eps=0.0)), 6)  # variances 2/3 <1 cost 25 * (1 - sqrt(2/3))
        4.587585
    """

    def variance_and_cov(z):
        n, d = z.shape
        zc = z - jnp.mean(z, axis=0)
        std = jnp.sqrt(jnp.var(zc, axis=0, ddof=1) + eps)
        cov = (zc.T @ zc) / (n - 1)
        return jnp.mean(jax.nn.relu(1.0 - std)), _off_diagonal_sq_sum(cov) / d

    invariance = jnp.mean((z1 - z2) ** 2)
    v1, c1 = variance_and_cov(z1)
    v2, c2 = variance_and_cov(z2)
    return sim_coeff * invariance + std_coeff * (v1 + v2) / 2 + cov_coeff * (c1 + c2)


def barlow_twins(z1: jax.Array, z2: jax.Array, lambd: float = 0.0051, eps: float = 1e-5) -> jax.Array:
    r"""Barlow Twins loss (Zbontar et al., 2021) with the authors' default :math:`\lambda = 0.0051`.

    With :math:`\tilde Z_b` each view standardised per feature over the batch and
    :math:`C = \tilde Z_1^\top\tilde Z_2 / n` the cross-correlation matrix,

    .. math:: \mathcal L = \sum_j (1 - C_{jj})^2 + \lambda\sum_{j\neq l} C_{jl}^2 .

    Args:
        z1, z2: ``(n, d)`` embeddings of the two views.
        lambd: weight of the redundancy-reduction term.
        eps: variance floor of the standardisation.

    Returns:
        Scalar loss.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> z = jnp.array([[1.0, 1.0], [-1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]])
        >>> round(float(jax.jit(barlow_twins)(z, z, eps=0.0)), 6)   # C = I: perfect twins
        0.0
    """

    def standardise(z):
        zc = z - jnp.mean(z, axis=0)
        return zc / jnp.sqrt(jnp.var(zc, axis=0) + eps)

    n = z1.shape[0]
    c = standardise(z1).T @ standardise(z2) / n
    on_diag = jnp.sum((1.0 - jnp.diag(c)) ** 2)
    return on_diag + lambd * _off_diagonal_sq_sum(c)


def _safe_l2(v: jax.Array) -> jax.Array:
    return jnp.sqrt(jnp.maximum(jnp.sum(v * v, axis=-1), _NORM_FLOOR**2))


def clop_term(
    z: jax.Array,
    labels: jax.Array,
    prototypes: jax.Array,
    lam: float = 1.0,
    similarity: str = "cosine",
    mask: jax.Array | None = None,
    reduction: str = "sum",
) -> jax.Array:
    r"""The CLOP prototype term of paper 001, Eq. 4: :math:`\lambda\sum_{i\in S}(1 - s(z_i, c_{y_i}))`.

    The sum runs over the labelled samples :math:`S` (``mask`` true; all rows if ``mask`` is None).
    ``reduction="mean"`` divides it by :math:`|S|`, as the authors' released loss does (at
    batch 256 and 10 % labels the printed sum weighs the term ~25.6 times more).
    Paper 001 does not define the Euclidean and Manhattan similarities of its ablation (Section 5,
    "Ablation Study on the Choice of Similarity Metric", Table 2); here all three compare the
    *normalised* embedding :math:`\hat z_i` with the unit prototype :math:`c` and equal 1 exactly when
    :math:`\hat z_i = c`:

    .. math::
        s_{\cos} = \hat z^\top c,\qquad
        s_{\mathrm{euc}} = 1 - \tfrac12\|\hat z - c\|_2,\qquad
        s_{\mathrm{man}} = 1 - \tfrac12\|\hat z - c\|_1 .

    (:math:`s_{\mathrm{euc}}` uses the distance, not its square: with the square it would equal
    :math:`s_{\cos}`, since :math:`\|\hat z - c\|_2^2 = 2 - 2\hat z^\top c`.)

    Args:
        z: ``(N, d)`` embeddings (unnormalised).
        labels: ``(N,)`` integer class labels in ``[0, k)`` (values at unlabelled rows are ignored
            but must still index a prototype; use 0).
        prototypes: ``(k, d)`` unit prototypes :math:`c_1..c_k`.
        lam: :math:`\lambda` (may be traced).
        similarity: ``"cosine"``, ``"euclidean"`` or ``"manhattan"`` (static).
        mask: ``(N,)`` booleans, true for labelled rows.
        reduction: ``"sum"`` (Eq. 4 as printed, the default) or ``"mean"`` over :math:`S` (static).

    Returns:
        Scalar term (a sum as printed in Eq. 4, or the mean over the labelled rows).

    Raises:
        ValueError: unknown ``similarity`` or ``reduction``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> term = jax.jit(clop_term, static_argnames="reduction")   # as training calls it
        >>> c = jnp.eye(3)
        >>> float(term(2.0 * c, jnp.arange(3), c, lam=0.5))  # embeddings on their prototypes
        0.0
        >>> float(term(c, jnp.array([1, 2, 0]), c, lam=0.5))  # orthogonal: 0.5 * 3 * (1 - 0)
        1.5
        >>> float(term(c, jnp.array([1, 2, 0]), c, lam=0.5, reduction="mean"))  # 1.5 / 3 labelled rows
        0.5
    """
    if reduction not in ("sum", "mean"):
        raise ValueError(f"reduction must be sum or mean; got {reduction!r}")
    if similarity not in SIMILARITIES:
        raise ValueError(f"similarity must be one of {', '.join(SIMILARITIES)}; got {similarity!r}")
    zn = normalize(z)
    targets = jnp.asarray(prototypes)[jnp.asarray(labels)]
    if similarity == "cosine":
        s = jnp.sum(zn * targets, axis=-1)
    elif similarity == "euclidean":
        s = 1.0 - 0.5 * _safe_l2(zn - targets)
    else:
        s = 1.0 - 0.5 * jnp.sum(jnp.abs(zn - targets), axis=-1)
    per_sample = 1.0 - s
    if mask is not None:
        per_sample = jnp.where(jnp.asarray(mask), per_sample, 0.0)
    total = jnp.sum(per_sample)
    if reduction == "mean":
        count = per_sample.shape[0] if mask is None else jnp.sum(jnp.asarray(mask))
        total = total / jnp.maximum(count, 1)
    return lam * total


def _check_kd(k: int, d: int, need: str) -> None:
    if k < 1 or d < 1:
        raise ValueError(f"k and d must be positive; got k={k}, d={d}")
    if need == "k<=d" and k > d:
        raise ValueError(f"k must be <= d for {k} orthonormal prototypes in R^d; got k={k}, d={d}")


def orthonormal_prototypes(key: jax.Array, k: int, d: int) -> jax.Array:
    r"""k orthonormal prototypes in :math:`\mathbb R^d` from the SVD of k random vectors (paper 001, Sec. 4).

    With :math:`G\in\mathbb R^{d\times k}` standard normal and :math:`G = U\Sigma V^\top` its thin
    SVD, the prototypes are the columns of :math:`U` (returned as rows), so :math:`C C^\top = I_k`.

    Args:
        key: a ``jax.random`` key.
        k: number of classes (static), ``k <= d``.
        d: embedding dimension (static).

    Returns:
        ``(k, d)`` array with orthonormal rows.

    Raises:
        ValueError: if ``k > d``.

    Example:
        >>> import jax, numpy as np
        >>> c = np.asarray(orthonormal_prototypes(jax.random.key(0), 3, 5))
        >>> bool(np.allclose(c @ c.T, np.eye(3), atol=1e-6))
        True
    """
    _check_kd(k, d, "k<=d")
    g = jax.random.normal(key, (d, k))
    u, _, _ = jnp.linalg.svd(g, full_matrices=False)
    return u.T


def etf_prototypes(k: int, d: int, key: jax.Array | None = None) -> jax.Array:
    r"""A simplex equiangular tight frame of k unit vectors in :math:`\mathbb R^d` (Papyan et al., 2020).

    .. math:: C = \sqrt{\tfrac{k}{k-1}}\,(I_k - \tfrac1k\mathbf 1\mathbf 1^\top)\,U^\top,
        \qquad C C^\top = \tfrac{k}{k-1} I_k - \tfrac{1}{k-1}\mathbf 1\mathbf 1^\top ,

    so every prototype has unit norm and every pair has cosine :math:`-1/(k-1)`; the frame spans a
    (k-1)-dimensional subspace. :math:`U` is the first k coordinate axes, or a random orthonormal
    frame when ``key`` is given.

    Args:
        k: number of classes, ``2 <= k <= d``.
        d: embedding dimension.
        key: optional ``jax.random`` key for a random rotation.

    Returns:
        ``(k, d)`` array of prototypes.

    Raises:
        ValueError: if ``k < 2`` or ``k > d``.

    Example:
        >>> import numpy as np
        >>> c = np.asarray(etf_prototypes(3, 3))
        >>> g = c @ c.T
        >>> bool(np.allclose(np.diag(g), 1.0)), round(float(g[0, 1]), 6)
        (True, -0.5)
    """
    _check_kd(k, d, "k<=d")
    if k < 2:
        raise ValueError(f"k must be >= 2 for a simplex ETF; got k={k}")
    centred = jnp.eye(k) - jnp.full((k, k), 1.0 / k)
    frame = jnp.eye(k, d) if key is None else orthonormal_prototypes(key, k, d)
    return jnp.sqrt(k / (k - 1)) * centred @ frame


def random_prototypes(key: jax.Array, k: int, d: int) -> jax.Array:
    r"""k independent random unit vectors in :math:`\mathbb R^d` (uniform on the sphere).

    .. math:: c_i = g_i / \|g_i\|,\qquad g_i \sim \mathcal N(0, I_d)

    Args:
        key: a ``jax.random`` key.
        k: number of prototypes.
        d: dimension.

    Returns:
        ``(k, d)`` array of unit rows.

    Raises:
        ValueError: if ``k`` or ``d`` is not positive.

    Example:
        >>> import jax, numpy as np
        >>> c = np.asarray(random_prototypes(jax.random.key(1), 4, 3))
        >>> bool(np.allclose(np.linalg.norm(c, axis=1), 1.0))
        True
    """
    _check_kd(k, d, "any")
    return normalize(jax.random.normal(key, (k, d)))
