r"""Neural-collapse and dimensional-collapse measurements of labelled embeddings (papers 003 and 001).

Every function takes an embedding matrix ``Z`` of shape ``[..., N, d]`` (one row per sample) and, where
classes matter, integer ``labels`` of shape ``[N]`` with values in ``[0, k)`` and the static number of
classes ``k``; all work on NumPy or JAX arrays, inside ``jit`` and ``vmap`` too, and return JAX arrays.

* **NC1** (within-class variability collapse, Papyan, Han & Donoho 2020, PNAS 117(40), Eq. in Sec. 3):
  :math:`\mathrm{tr}(\Sigma_W\Sigma_B^{+})/k` with :math:`\Sigma_B` about the global mean over samples,
  as Papyan et al. and the reference code (tding1/Neural-Collapse, ``validate_NC.py``) compute it; the
  mean of the class means (``centre="means"``) gives the same value for balanced classes only.
* **NC2** (class means form a simplex equiangular tight frame): the relative Frobenius distance of the
  Gram matrix of the normalised class means from the simplex-ETF Gram
  :math:`\frac{k}{k-1}I - \frac{1}{k-1}\mathbf 1\mathbf 1^\top`. By default the means are *not* centred,
  which is the ETF of paper 003's abstract and of paper 001 Section 3.2 (cosines :math:`-1/(k-1)`,
  zero global mean); ``centre=True`` gives Papyan et al.'s globally centred variant, under which
  orthonormal class means also score 0 (centring :math:`k` orthonormal vectors yields a simplex ETF),
  so it cannot tell CLOP's target from an ETF. Both compare *directions* only (rows normalised);
  ``norms=True`` compares the Gram matrix itself, scaled to unit Frobenius norm (tding1/Neural-Collapse's
  ``compute_ETF``), so class means of unequal norms are not an ETF; :func:`equinorm` is Papyan et al.'s
  separate measure of unequal norms.
* **Dimensional collapse**: the singular spectrum of ``Z``, its effective rank (Roy & Vetterli 2007,
  via :func:`simulations.metrics.effective_rank`), RankMe (Garrido et al. 2023, ICML, "RankMe:
  assessing the downstream performance of pretrained self-supervised representations by their rank")
  and :func:`dimension_ratio`, :math:`\sigma_{k-1}/\sigma_1`.
* **CLOP's target** (paper 001 Section 4, Eq. 4): class means mutually orthogonal,
  :func:`orthonormal_distance`.

:func:`classify` turns NC1, NC2 and the dimension ratio into ``"NC"``, ``"DC"`` or ``"neither"`` with
thresholds fixed here (:data:`NC_TOL`, :data:`DC_RATIO`) before any run was made.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from simulations.metrics import effective_rank, singular_spectrum

__all__ = [
    "NC_TOL",
    "DC_RATIO",
    "RANKME_EPS",
    "CLASSES",
    "class_means",
    "etf_gram",
    "nc1",
    "nc2",
    "equinorm",
    "orthonormal_distance",
    "within_between_ratio",
    "singular_values",
    "effective_rank",
    "rankme",
    "dimension_ratio",
    "classify",
    "summary",
    "diagnose",
    "check_embeddings",
    "check_labels",
    "DEFINITIONS",
]

#: NC is declared when NC1, NC2 and tr(Sigma_W)/tr(Sigma_B) are all below NC_TOL (fixed before the grid
#: was run: within-class spread a tenth of between-class spread, class-mean Gram within a tenth of the
#: ETF Gram's norm).
NC_TOL = 0.1
#: DC is declared (for a run that is not NC) when sigma_{k-1}(Z) / sigma_1(Z) < DC_RATIO: at least one
#: of the k-1 directions a simplex ETF needs has shrunk tenfold relative to the leading one.
DC_RATIO = 0.1
#: The epsilon of RankMe (Garrido et al. 2023, Eq. 1).
RANKME_EPS = 1e-7
#: The three classes :func:`classify` returns, as integer codes 0, 1, 2.
CLASSES = ("NC", "DC", "neither")

_HIGHEST = jax.lax.Precision.HIGHEST


def class_means(Z, labels, k: int) -> jax.Array:
    r"""Class means :math:`\mu_c = \frac{1}{n_c}\sum_{i: y_i = c} z_i` as rows of a ``[..., k, d]`` array.

    Args:
        Z: ``[..., N, d]`` embeddings.
        labels: ``[N]`` integer labels in ``[0, k)``; every class must occur.
        k: number of classes (static).

    Returns:
        ``[..., k, d]`` class means.

    Example:
        >>> import jax.numpy as jnp
        >>> class_means(jnp.array([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0]]), jnp.array([0, 0, 1]), 2).tolist()
        [[2.0, 0.0], [0.0, 2.0]]
    """
    Z = jnp.asarray(Z)
    onehot = jax.nn.one_hot(jnp.asarray(labels), k, dtype=Z.dtype)  # [N, k]
    counts = jnp.sum(onehot, axis=0)
    sums = jnp.einsum("nk,...nd->...kd", onehot, Z, precision=_HIGHEST)
    return sums / counts[:, None]


def etf_gram(k: int, dtype=None) -> jax.Array:
    r"""Gram matrix of a unit-norm simplex ETF, :math:`G^\ast = \frac{k}{k-1}I_k - \frac{1}{k-1}\mathbf 1\mathbf 1^\top`.

    Example:
        >>> etf_gram(3).tolist()
        [[1.0, -0.5, -0.5], [-0.5, 1.0, -0.5], [-0.5, -0.5, 1.0]]
    """
    return (k / (k - 1)) * jnp.eye(k, dtype=dtype) - jnp.full((k, k), 1.0 / (k - 1), dtype=dtype)


def _no_between(A: jax.Array, Z: jax.Array) -> jax.Array:
    """True where the centred class means vanish to rounding (|A| <= 100 eps max|Z|): classes indistinguishable."""
    eps = jnp.finfo(A.dtype).eps
    scale = jnp.max(jnp.abs(Z), axis=(-2, -1))
    return jnp.max(jnp.abs(A), axis=(-2, -1)) <= 100 * eps * scale


def _unit_rows(M: jax.Array) -> jax.Array:
    norm = jnp.linalg.norm(M, axis=-1, keepdims=True)
    return M / jnp.where(norm > 0, norm, 1.0)


#: How :func:`nc1` and :func:`within_between_ratio` centre the class means: on the global mean over
#: samples (Papyan et al. 2020; the default) or on the mean of the class means (equal for balanced classes).
CENTRES = ("samples", "means")


def _between_within(Z: jax.Array, labels: jax.Array, k: int, centre: str = "samples") -> tuple[jax.Array, jax.Array]:
    r"""Centred class means ``A`` ``[..., k, d]`` and each sample's deviation from its class mean ``E`` ``[..., n, d]``.

    ``centre="samples"``: :math:`\mu_G = \frac1N\sum_i z_i = \sum_c \frac{n_c}{N}\mu_c`; ``"means"``: :math:`\frac1k\sum_c\mu_c`.
    """
    if centre not in CENTRES:
        raise ValueError(f"centre must be one of {', '.join(CENTRES)}; got {centre!r}")
    means = class_means(Z, labels, k)
    if centre == "samples":
        onehot = jax.nn.one_hot(jnp.asarray(labels), k, dtype=means.dtype)
        weights = jnp.sum(onehot, axis=0) / onehot.shape[0]  # n_c / N (exactly 1/k for balanced power-of-two k)
        glob = jnp.sum(means * weights[:, None], axis=-2, keepdims=True)
    else:
        glob = jnp.mean(means, axis=-2, keepdims=True)
    return means - glob, Z - jnp.take(means, labels, axis=-2)


def nc1(Z, labels, k: int, centre: str = "samples") -> jax.Array:
    r"""Within-class variability relative to between-class variability (Papyan et al. 2020, NC1).

    .. math::
        \mathrm{NC1} = \frac1k\,\mathrm{tr}\big(\Sigma_W\Sigma_B^{+}\big),\quad
        \Sigma_W = \frac1N\sum_i (z_i-\mu_{y_i})(z_i-\mu_{y_i})^\top,\quad
        \Sigma_B = \frac1k\sum_c (\mu_c-\mu_G)(\mu_c-\mu_G)^\top,

    with :math:`\mu_G = \frac1N\sum_i z_i` the global mean over samples (Papyan et al.; ``centre="means"``
    takes the mean of the class means instead, which differs for imbalanced classes). Computed without :math:`d\times d` matrices: with
    :math:`A` the ``k x d`` centred means and :math:`E` the ``N x d`` residuals,
    :math:`\Sigma_B^{+} = k\,A^{+}A^{+\top}`, so :math:`\mathrm{NC1} = \|E A^{+}\|_F^2 / N`.
    It is 0 when every sample sits on its class mean; ``inf`` when the class means coincide to rounding
    (centred means below 100 eps of the largest entry: no between-class variability to compare with). Within-class spread *orthogonal* to the span of
    the centred means does not count (second example); :func:`within_between_ratio` counts it.

    Args:
        Z: ``[..., N, d]`` embeddings.
        labels: ``[N]`` labels in ``[0, k)``.
        k: number of classes, >= 2 (static).

    Returns:
        ``[...]`` NC1 values.

    Example (paper 003's NC: same-class samples mapped to one point):
        >>> import jax.numpy as jnp
        >>> y = jnp.array([0, 0, 1, 1])
        >>> float(nc1(jnp.array([[1.0, 0.0], [1.0, 0.0], [-1.0, 0.0], [-1.0, 0.0]]), y, 2))
        0.0
        >>> round(float(nc1(jnp.array([[1.0, 0.5], [1.0, -0.5], [-1.0, 0.0], [-1.0, 0.0]]), y, 2)), 6)
        0.0
        >>> round(float(nc1(jnp.array([[1.5, 0.0], [0.5, 0.0], [-1.0, 0.0], [-1.0, 0.0]]), y, 2)), 6)
        0.0625

    Against the reference formula (explicit d x d covariances, global sample mean) on imbalanced classes:
        >>> import numpy as np
        >>> Z = np.random.default_rng(0).normal(size=(6, 3)); y = np.array([0, 0, 0, 0, 1, 2])
        >>> mu = np.stack([Z[y == c].mean(0) for c in range(3)]); muG = Z.mean(0)
        >>> Sw = sum(np.outer(z - mu[c], z - mu[c]) for z, c in zip(Z, y)) / len(Z)
        >>> Sb = sum(np.outer(m - muG, m - muG) for m in mu) / 3
        >>> reference = np.trace(Sw @ np.linalg.pinv(Sb)) / 3
        >>> bool(abs(float(nc1(Z, y, 3)) - reference) < 1e-10 * reference)
        True
        >>> bool(abs(float(nc1(Z, y, 3, centre="means")) - reference) > 1e-3 * reference)  # the other centring differs
        True
    """
    Z = jnp.asarray(Z)
    A, E = _between_within(Z, jnp.asarray(labels), k, centre)
    A_pinv = jnp.linalg.pinv(A)  # [..., d, k]
    proj = jnp.einsum("...nd,...dk->...nk", E, A_pinv, precision=_HIGHEST)
    value = jnp.sum(proj**2, axis=(-2, -1)) / Z.shape[-2]
    return jnp.where(_no_between(A, Z), jnp.inf, value)


def within_between_ratio(Z, labels, k: int, centre: str = "samples") -> jax.Array:
    r"""Total within-class variance over total between-class variance, :math:`\mathrm{tr}\,\Sigma_W/\mathrm{tr}\,\Sigma_B`.

    Unlike :func:`nc1` it also counts within-class spread orthogonal to the class-mean span, so it is 0
    only when every sample sits exactly on its class mean ("data from the same class are mapped to the
    same representation", paper 003's abstract). ``inf`` when the class means coincide. ``centre`` as
    for :func:`nc1` (:math:`\Sigma_B` about the global sample mean by default).

    Example:
        >>> import jax.numpy as jnp
        >>> y = jnp.array([0, 0, 1, 1])
        >>> float(within_between_ratio(jnp.array([[1.0, 0.5], [1.0, -0.5], [-1.0, 0.0], [-1.0, 0.0]]), y, 2))
        0.125
    """
    Z = jnp.asarray(Z)
    A, E = _between_within(Z, jnp.asarray(labels), k, centre)
    within = jnp.sum(E**2, axis=(-2, -1)) / Z.shape[-2]
    between = jnp.sum(A**2, axis=(-2, -1)) / k
    none = _no_between(A, Z)
    return jnp.where(none, jnp.inf, within / jnp.where(none, 1.0, between))


def nc2(Z, labels, k: int, centre: bool = False, norms: bool = False) -> jax.Array:
    r"""Relative distance of the normalised class-mean Gram matrix from the simplex ETF's (NC2).

    .. math::
        \mathrm{NC2} = \frac{\|\hat M\hat M^\top - G^\ast\|_F}{\|G^\ast\|_F},\qquad
        \hat M = \Big[\frac{\mu_c - b}{\|\mu_c - b\|}\Big]_{c=1}^k,\qquad \|G^\ast\|_F = \frac{k}{\sqrt{k-1}},

    with :math:`b = 0` (default: the class means themselves form an ETF, the geometry of paper 003's
    abstract and paper 001 Section 3.2) or :math:`b = \mu_G` (``centre=True``, Papyan et al. 2020).
    It is 0 exactly for a simplex ETF; orthonormal means give :math:`1/\sqrt{k}` uncentred and 0
    centred; fully collapsed (equal) means give :math:`\sqrt{k}` uncentred.

    This compares directions only: class means of unequal norms along ETF directions score 0. With
    ``norms=True`` the Gram matrix of the (centred or not) means is compared as it is, each side scaled to
    unit Frobenius norm (tding1/Neural-Collapse's ``compute_ETF``),

    .. math:: \mathrm{NC2}_{\|\cdot\|} = \Big\|\frac{MM^\top}{\|MM^\top\|_F} - \frac{G^\ast}{\|G^\ast\|_F}\Big\|_F,

    which is 0 only for an ETF with equal norms (at any common scale).

    Args:
        Z: ``[..., N, d]`` embeddings.
        labels: ``[N]`` labels in ``[0, k)``.
        k: number of classes, >= 2 (static).
        centre: subtract the mean of the class means first.

    Returns:
        ``[...]`` NC2 values.

    Example:
        >>> import jax.numpy as jnp
        >>> etf = jnp.array([[1.0, 0.0], [-0.5, 3**0.5 / 2], [-0.5, -(3**0.5) / 2]])
        >>> float(nc2(etf, jnp.arange(3), 3)) < 1e-7
        True
        >>> round(float(nc2(jnp.eye(3), jnp.arange(3), 3)), 6), float(nc2(jnp.eye(3), jnp.arange(3), 3, centre=True)) < 1e-7
        (0.57735, True)

    Unequal norms (an ETF's directions, norms 1, 2, 3): invisible to the cosine NC2, seen with ``norms=True``,
    which agrees with the reference formula:
        >>> import numpy as np
        >>> M = np.array([[1.0, 0.0], [-0.5, 3**0.5 / 2], [-0.5, -(3**0.5) / 2]]) * np.array([[1.0], [2.0], [3.0]])
        >>> G = M @ M.T; E = np.eye(3) - np.ones((3, 3)) / 3
        >>> reference = np.linalg.norm(G / np.linalg.norm(G) - E / np.linalg.norm(E))
        >>> float(nc2(M, jnp.arange(3), 3)) < 1e-7, round(float(reference), 6), bool(abs(float(nc2(M, jnp.arange(3), 3, norms=True)) - reference) < 1e-12)
        (True, 0.582169, True)
    """
    means = class_means(Z, labels, k)
    if centre:
        means = means - jnp.mean(means, axis=-2, keepdims=True)
    if norms:
        G = jnp.einsum("...id,...jd->...ij", means, means, precision=_HIGHEST)
        size = jnp.linalg.norm(G, axis=(-2, -1), keepdims=True)
        target = etf_gram(k, dtype=G.dtype) / (k / np.sqrt(k - 1))
        return jnp.linalg.norm(G / jnp.where(size > 0, size, 1.0) - target, axis=(-2, -1))
    U = _unit_rows(means)
    G = jnp.einsum("...id,...jd->...ij", U, U, precision=_HIGHEST)
    target = etf_gram(k, dtype=G.dtype)
    return jnp.linalg.norm(G - target, axis=(-2, -1)) / (k / np.sqrt(k - 1))


def equinorm(Z, labels, k: int) -> jax.Array:
    r"""Papyan et al.'s equal-norms measure: the coefficient of variation of the centred class means' norms.

    .. math:: \mathrm{EN} = \frac{\operatorname{std}_c \|\mu_c - \mu_G\|}{\operatorname{mean}_c \|\mu_c - \mu_G\|},
        \qquad \mu_G = \frac1N\sum_i z_i

    (population standard deviation, as ``np.std``). 0 when every centred class mean has the same norm.

    Example (against the reference formula):
        >>> import numpy as np
        >>> Z = np.array([[2.0, 0.0], [0.0, 1.0], [-1.0, -1.0], [-1.0, -1.0]]); y = np.array([0, 1, 2, 2])
        >>> r = np.linalg.norm(np.stack([Z[y == c].mean(0) for c in range(3)]) - Z.mean(0), axis=1)
        >>> bool(abs(float(equinorm(Z, y, 3)) - r.std() / r.mean()) < 1e-12), round(float(r.std() / r.mean()), 6)
        (True, 0.239764)
    """
    A, _ = _between_within(jnp.asarray(Z), jnp.asarray(labels), k)
    r = jnp.linalg.norm(A, axis=-1)
    mean = jnp.mean(r, axis=-1)
    return jnp.std(r, axis=-1) / jnp.where(mean > 0, mean, 1.0)


def orthonormal_distance(Z, labels, k: int) -> jax.Array:
    r"""Distance of the class means from CLOP's target, mutually orthogonal class means (paper 001 Eq. 4).

    The root-mean-square off-diagonal cosine of the (uncentred) class means,

    .. math:: d_\perp = \frac{\|\hat M\hat M^\top - I_k\|_F}{\sqrt{k(k-1)}}
        = \Big(\frac{1}{k(k-1)}\sum_{c\ne c'}\cos^2(\mu_c,\mu_{c'})\Big)^{1/2},

    rotation invariant, so it does not depend on which orthonormal prototypes were drawn. It is 0 for
    orthonormal means, :math:`1/(k-1)` for a simplex ETF and 1 for collapsed (co-linear) means.

    Example:
        >>> import jax.numpy as jnp
        >>> float(orthonormal_distance(2.0 * jnp.eye(3), jnp.arange(3), 3))
        0.0
        >>> etf = jnp.array([[1.0, 0.0], [-0.5, 3**0.5 / 2], [-0.5, -(3**0.5) / 2]])
        >>> round(float(orthonormal_distance(etf, jnp.arange(3), 3)), 6)
        0.5
    """
    U = _unit_rows(class_means(Z, labels, k))
    G = jnp.einsum("...id,...jd->...ij", U, U, precision=_HIGHEST)
    return jnp.linalg.norm(G - jnp.eye(k, dtype=G.dtype), axis=(-2, -1)) / np.sqrt(k * (k - 1))


def singular_values(Z) -> jax.Array:
    r"""Singular values :math:`\sigma_1\ge\dots\ge\sigma_{\min(N,d)}` of the (uncentred) embedding matrix.

    Computed by SVD (:func:`simulations.metrics.singular_spectrum`), never from the Gram matrix.

    Example:
        >>> import jax.numpy as jnp
        >>> [round(v, 6) for v in singular_values(jnp.array([[3.0, 0.0], [0.0, 4.0], [0.0, 0.0]])).tolist()]
        [4.0, 3.0]
    """
    return singular_spectrum(jnp.asarray(Z))


def rankme(spectrum, eps: float = RANKME_EPS) -> jax.Array:
    r"""RankMe (Garrido et al. 2023, Eq. 1): the entropy-based smooth rank of an embedding matrix.

    .. math:: \mathrm{RankMe} = \exp\Big(-\sum_i p_i\log p_i\Big),\qquad
        p_i = \frac{\sigma_i}{\|\sigma\|_1} + \varepsilon,\quad \varepsilon = 10^{-7}.

    It is Roy & Vetterli's effective rank (:func:`effective_rank`) with the :math:`\varepsilon` that
    keeps the logarithm finite; the two differ by :math:`O(\varepsilon\log\varepsilon)` per zero
    singular value.

    Args:
        spectrum: ``[..., n]`` singular values.
        eps: :math:`\varepsilon`.

    Example:
        >>> import jax.numpy as jnp
        >>> round(float(rankme(jnp.array([1.0, 1.0, 0.0]))), 4)
        2.0
    """
    s = jnp.asarray(spectrum)
    p = s / jnp.sum(s, axis=-1, keepdims=True) + eps
    return jnp.exp(-jnp.sum(p * jnp.log(p), axis=-1))


def dimension_ratio(spectrum, k: int) -> jax.Array:
    r"""The dimensional-collapse statistic :math:`\sigma_{k-1}/\sigma_1` of an embedding spectrum.

    A simplex ETF of :math:`k` balanced classes has :math:`k-1` equal singular values (ratio 1); a run
    whose ratio falls below :data:`DC_RATIO` has lost a direction the ETF needs.

    Example:
        >>> import jax.numpy as jnp
        >>> float(dimension_ratio(jnp.array([2.0, 1.0, 0.1, 0.0]), 3))
        0.5
    """
    s = jnp.asarray(spectrum)
    return s[..., k - 2] / s[..., 0]


def classify(nc1_value, nc2_value, ratio, within_between=0.0) -> jax.Array:
    r"""Class of a run: 0 = NC, 1 = DC, 2 = neither (:data:`CLASSES`), by the rule fixed before the grid.

    .. math::
        \text{NC} &\iff \mathrm{NC1} < 0.1 \wedge \mathrm{NC2} < 0.1 \wedge
            \mathrm{tr}\,\Sigma_W/\mathrm{tr}\,\Sigma_B < 0.1;\\
        \text{DC} &\iff \neg\text{NC} \wedge \sigma_{k-1}/\sigma_1 < 0.1;\qquad \text{neither otherwise.}

    (NC2 uncentred: the class means themselves form the ETF.) Non-finite statistics (a diverged run)
    fail the NC test.

    Example:
        >>> classify(0.01, 0.02, 1.0).item(), classify(0.5, 0.3, 0.01).item(), classify(0.5, 0.3, 0.9).item()
        (0, 1, 2)
        >>> classify(0.01, 0.02, 1.0, within_between=0.5).item()   # spread outside the mean span: not NC
        2
    """
    nc = ((jnp.asarray(nc1_value) < NC_TOL) & (jnp.asarray(nc2_value) < NC_TOL)
          & (jnp.asarray(within_between) < NC_TOL))
    dc = jnp.asarray(ratio) < DC_RATIO
    return jnp.where(nc, 0, jnp.where(dc, 1, 2))


def summary(Z, labels, k: int) -> dict:
    r"""All the collapse statistics of one or a batch of embedding matrices, as a dict of JAX arrays.

    Keys: ``nc1``, ``within_between``, ``nc2``, ``nc2_centred``, ``orthonormal_distance``,
    ``effective_rank``, ``rankme``, ``dimension_ratio``, ``class`` (code of :func:`classify`).

    Example (an exact ETF with two samples per class is NC):
        >>> import jax.numpy as jnp
        >>> etf = jnp.eye(3) - 1 / 3   # the centred standard basis: a simplex ETF
        >>> s = summary(jnp.concatenate([etf, etf]), jnp.array([0, 1, 2, 0, 1, 2]), 3)
        >>> CLASSES[int(s["class"])], round(float(s["effective_rank"]), 6)
        ('NC', 2.0)
    """
    spectrum = singular_values(Z)
    out = {
        "nc1": nc1(Z, labels, k),
        "within_between": within_between_ratio(Z, labels, k),
        "nc2": nc2(Z, labels, k),
        "nc2_centred": nc2(Z, labels, k, centre=True),
        "orthonormal_distance": orthonormal_distance(Z, labels, k),
        "effective_rank": effective_rank(spectrum),
        "rankme": rankme(spectrum),
        "dimension_ratio": dimension_ratio(spectrum, k),
    }
    out["class"] = classify(out["nc1"], out["nc2"], out["dimension_ratio"], out["within_between"])
    return out


#: What each number of :func:`diagnose` is, named in its JSON (``definitions``).
DEFINITIONS = {
    "effective_rank": "Roy & Vetterli 2007: exp(entropy of sigma/|sigma|_1), sigma the singular values of the "
                      "uncentred n x d embeddings",
    "rankme": "Garrido et al. 2023 (RankMe), Eq. 1: as effective_rank with p_i = sigma_i/|sigma|_1 + 1e-7",
    "nc1": "Papyan, Han & Donoho 2020 (NC1): tr(Sigma_W Sigma_B^+)/k, Sigma_B about the global mean over samples "
           "(as tding1/Neural-Collapse)",
    "within_between": "tr(Sigma_W)/tr(Sigma_B), Sigma_B about the global mean over samples",
    "nc2": "|G/|G|_F - G_ETF/|G_ETF|_F|_F with G the Gram matrix of the uncentred class means (the class means "
           "themselves an ETF of equal norms; unequal norms count), G_ETF = k/(k-1) I - 1/(k-1) 11^T",
    "nc2_centred": "as nc2 with the class means centred on their mean (tding1/Neural-Collapse compute_ETF; "
                   "orthonormal means also score 0)",
    "nc2_cosine": "as nc2 but with unit-normalised class means (directions only; unequal norms do not count)",
    "equinorm": "Papyan et al. 2020: std/mean of the norms of the class means centred on the global sample mean",
    "orthonormal_distance": "RMS off-diagonal cosine of the uncentred class means (0: CLOP's orthonormal target, "
                            "1/(k-1): simplex ETF)",
    "dimension_ratio": "sigma_(k-1)/sigma_1 of the embeddings (DC below 0.1)",
    "class": "NC if nc1, nc2 and within_between < 0.1; else DC if dimension_ratio < 0.1; else neither",
}


def check_embeddings(Z) -> np.ndarray:
    r"""Validate embeddings for :func:`diagnose`; return them as native-order float64.

    Accepted: a 2-D ``[n, d]`` array (n >= 2, d >= 1) of real numbers of any integer or float dtype and
    byte order, every entry finite and no row all zero (a zero embedding has no direction, and all-zero
    data has no spectrum to measure).

    Raises:
        ValueError: naming what is wrong (shape, dtype, the first non-finite or zero row).

    Example:
        >>> check_embeddings(np.arange(6, dtype=">i2").reshape(3, 2)).dtype
        dtype('float64')
        >>> check_embeddings(np.zeros((3, 2)))
        Traceback (most recent call last):
        ...
        ValueError: embeddings are all zero (3 x 2): there is no spectrum or class geometry to measure
    """
    Z = np.asarray(Z)
    if Z.ndim != 2 or Z.shape[0] < 2 or Z.shape[1] < 1:
        raise ValueError(f"embeddings must be a 2-D array n x d with n >= 2 rows; got shape {Z.shape}")
    if Z.dtype == bool or not np.issubdtype(Z.dtype, np.number) or np.iscomplexobj(Z):
        raise ValueError(f"embeddings must be real numbers (an integer or float dtype); got dtype {Z.dtype}")
    with np.errstate(over="ignore"):  # a long double beyond float64's range becomes inf: refused below
        Z = Z.astype(np.float64)  # native byte order, one dtype for every computation
    bad = np.flatnonzero(~np.all(np.isfinite(Z), axis=1))
    if bad.size:
        raise ValueError(f"embeddings have {bad.size} row(s) with NaN or inf (first: row {int(bad[0])})")
    zero = np.flatnonzero(~np.any(Z, axis=1))
    if zero.size == Z.shape[0]:
        raise ValueError(f"embeddings are all zero ({Z.shape[0]} x {Z.shape[1]}): there is no spectrum or class "
                         "geometry to measure")
    if zero.size:
        raise ValueError(f"embeddings have {zero.size} all-zero row(s) (first: row {int(zero[0])}); a zero "
                         "embedding has no direction")
    return Z


def check_labels(labels, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate labels for :func:`diagnose`: ``n`` integers (any integer dtype, or integral floats) naming >= 2 classes.

    Returns:
        ``(classes, codes)``: the distinct labels and each row's index into them.

    Example:
        >>> check_labels(np.array([5, 7, 5]), 3)[1].tolist()
        [0, 1, 0]
        >>> check_labels(np.array([1, 1]), 2)
        Traceback (most recent call last):
        ...
        ValueError: labels must name at least 2 classes; got 1
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ValueError(f"labels must be a 1-D array with one label per embedding row ({n}); got shape {labels.shape}")
    integral = (labels.dtype != bool and np.issubdtype(labels.dtype, np.integer)) or (
        np.issubdtype(labels.dtype, np.floating) and bool(np.all(np.isfinite(labels)))
        and bool(np.all(labels == np.round(labels))) and bool(np.all(np.abs(labels) < 2**62)))
    if not integral:
        raise ValueError(f"labels must be integers; got dtype {labels.dtype}")
    classes, codes = np.unique(labels.astype(np.int64), return_inverse=True)
    if classes.size < 2:
        raise ValueError(f"labels must name at least 2 classes; got {classes.size}")
    return classes, codes.reshape(-1)


def _power_of_two_scale(Z: np.ndarray) -> float:
    """2**e with 2**(e-1) <= max|Z| < 2**e: dividing by it is exact and brings the entries near 1."""
    return float(np.ldexp(1.0, int(np.frexp(np.max(np.abs(Z)))[1])))


def diagnose(Z, labels=None, lr: float | None = None, tau: float | None = None) -> dict:
    r"""Collapse diagnosis of embeddings saved from any training run (``clop-verify diagnose``).

    Reports the singular spectrum of the ``[n, d]`` embeddings, its effective rank and RankMe; with
    labels also NC1 (Papyan et al., about the global sample mean), tr(Sigma_W)/tr(Sigma_B), NC2 (class
    means against a simplex ETF: uncentred and centred, both seeing unequal norms; and the cosine-only
    variant), Papyan's equinorm, the distance to CLOP's orthonormal target, sigma_(k-1)/sigma_1 and the
    NC / DC / neither class of :func:`classify` (with the norm-aware NC2). :data:`DEFINITIONS` names each
    (the report's ``definitions``). Every quantity except the singular values and the mean norm is
    scale-free, and is computed on the embeddings divided by a power of two near their largest entry,
    so data at 1e-320 gives the same values as at 1.

    With a learning rate it places it against Theorem 1's derived bound for the number of classes:
    :math:`\eta_{\max}(k) = 2(k-1)/(k-2)` for Appendix D's step (:func:`theory.eta_max`), or with a
    temperature InfoNCE's :math:`\eta_{\max} = \tau(e^{1/\tau}+k-1)/(k-2)`
    (:func:`theory.stability.eta_max`, rule ``infonce``); paper 004's printed optimum :math:`\tau/2` is
    quoted beside it. The bound is for full-batch gradient descent on class embeddings, not for a
    network's optimiser: it says whether the run is in the regime the theory covers, not that it collapsed.

    Args:
        Z: ``[n, d]`` embeddings (:func:`check_embeddings`).
        labels: optional ``[n]`` integer labels (:func:`check_labels`).
        lr: optional learning rate, finite, > 0 (needs labels: the bound depends on k).
        tau: optional temperature, finite, > 0 with 1/tau finite (needs ``lr``).

    Returns:
        dict of plain Python values (lists and floats).

    Raises:
        ValueError: wrong shapes, non-finite or zero rows, mismatched labels, bad ``lr``/``tau``.

    Example:
        >>> rep = diagnose(np.repeat(np.eye(3), 2, axis=0), labels=np.repeat(np.arange(3), 2), lr=1.0)
        >>> round(rep["effective_rank"], 6), rep["nc1"], rep["orthonormal_distance"], rep["eta_max"]
        (3.0, 0.0, 0.0, 4.0)
        >>> rep["class"], round(rep["nc2"], 4), rep["nc2_centred"] < 1e-12  # CLOP's target is not an ETF ...
        ('neither', 0.6058, True)

        (... though centring turns orthonormal means into one, so the centred NC2 is 0.) Scale does not matter:
        >>> Z = np.random.default_rng(1).normal(size=(6, 3))
        >>> abs(diagnose(Z * 1e-320)["effective_rank"] - diagnose(Z)["effective_rank"]) < 1e-2
        True
    """
    Z = check_embeddings(Z)
    if tau is not None and lr is None:
        raise ValueError("tau needs lr (the temperature selects the InfoNCE bound for the learning rate)")
    if lr is not None and not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0; got {lr}")
    if tau is not None:
        from theory.stability import check_rule_tau

        check_rule_tau("infonce", tau)
    if labels is None and lr is not None:
        raise ValueError("lr needs labels (the learning-rate bound depends on the number of classes)")
    classes, codes = (None, None) if labels is None else check_labels(labels, Z.shape[0])
    scale = _power_of_two_scale(Z)
    Zs = Z / scale  # exact: entries near 1, so scale-free quantities do not depend on the data's units
    spectrum = np.asarray(singular_values(Zs))
    report: dict = {
        "n": int(Z.shape[0]), "d": int(Z.shape[1]),
        "singular_values": (spectrum * scale).tolist(),
        "effective_rank": float(effective_rank(spectrum)),
        "rankme": float(rankme(spectrum)),
        "mean_norm": float(np.mean(np.linalg.norm(Zs, axis=1)) * scale),
        "definitions": {key: DEFINITIONS[key] for key in ("effective_rank", "rankme")},
    }
    if labels is None:
        return report
    k = int(classes.size)
    stats = summary(Zs, codes, k)
    nc2_norms = float(nc2(Zs, codes, k, norms=True))
    reachable = min(Z.shape) >= k - 1
    ratio = float(stats["dimension_ratio"]) if reachable else None
    code = int(classify(stats["nc1"], nc2_norms, ratio if reachable else 1.0, stats["within_between"]))
    report.update({
        "k": k, "classes": classes.tolist(),
        "nc1": float(stats["nc1"]), "within_between": float(stats["within_between"]),
        "nc2": nc2_norms, "nc2_centred": float(nc2(Zs, codes, k, centre=True, norms=True)),
        "nc2_cosine": float(stats["nc2"]), "equinorm": float(equinorm(Zs, codes, k)),
        "orthonormal_distance": float(stats["orthonormal_distance"]),
        "orthonormal_reachable": k <= Z.shape[1],
        "dimension_ratio": ratio,
        "class": CLASSES[code] if reachable else "neither",
        "etf_effective_rank": float(k - 1),
        "definitions": dict(DEFINITIONS),
    })
    if lr is not None:
        from theory import stability

        rule = "paper" if tau is None else "infonce"
        bound = float(stability.eta_max(k, rule=rule, tau_value=tau)) if k > 2 else float("inf")
        report.update({
            "lr": float(lr), "tau": tau, "rule": rule, "rate_compared": float(lr), "eta_max": bound,
            "rate_over_eta_max": float(lr / bound),
            "lr_regime": ("above the bound: collapse of the class embeddings is predicted" if lr > bound
                          else "within the bound"),
            "printed_optimum_tau_over_2": (tau / 2 if tau is not None else None),
        })
    return report
