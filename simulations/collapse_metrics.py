r"""Neural-collapse and dimensional-collapse measurements of labelled embeddings (papers 003 and 001).

Every function takes an embedding matrix ``Z`` of shape ``[..., N, d]`` (one row per sample) and, where
classes matter, integer ``labels`` of shape ``[N]`` with values in ``[0, k)`` and the static number of
classes ``k``; all work on NumPy or JAX arrays, inside ``jit`` and ``vmap`` too, and return JAX arrays.

* **NC1** (within-class variability collapse, Papyan, Han & Donoho 2020, PNAS 117(40), Eq. in Sec. 3):
  :math:`\mathrm{tr}(\Sigma_W\Sigma_B^{+})/k`.
* **NC2** (class means form a simplex equiangular tight frame): the relative Frobenius distance of the
  Gram matrix of the normalised class means from the simplex-ETF Gram
  :math:`\frac{k}{k-1}I - \frac{1}{k-1}\mathbf 1\mathbf 1^\top`. By default the means are *not* centred,
  which is the ETF of paper 003's abstract and of paper 001 Section 3.2 (cosines :math:`-1/(k-1)`,
  zero global mean); ``centre=True`` gives Papyan et al.'s globally centred variant, under which
  orthonormal class means also score 0 (centring :math:`k` orthonormal vectors yields a simplex ETF),
  so it cannot tell CLOP's target from an ETF.
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
    "orthonormal_distance",
    "within_between_ratio",
    "singular_values",
    "effective_rank",
    "rankme",
    "dimension_ratio",
    "classify",
    "summary",
    "diagnose",
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


def _between_within(Z: jax.Array, labels: jax.Array, k: int) -> tuple[jax.Array, jax.Array]:
    """Centred class means ``A`` ``[..., k, d]`` and each sample's deviation from its class mean ``E`` ``[..., n, d]``."""
    means = class_means(Z, labels, k)
    return means - jnp.mean(means, axis=-2, keepdims=True), Z - jnp.take(means, labels, axis=-2)


def nc1(Z, labels, k: int) -> jax.Array:
    r"""Within-class variability relative to between-class variability (Papyan et al. 2020, NC1).

    .. math::
        \mathrm{NC1} = \frac1k\,\mathrm{tr}\big(\Sigma_W\Sigma_B^{+}\big),\quad
        \Sigma_W = \frac1N\sum_i (z_i-\mu_{y_i})(z_i-\mu_{y_i})^\top,\quad
        \Sigma_B = \frac1k\sum_c (\mu_c-\mu_G)(\mu_c-\mu_G)^\top,

    with :math:`\mu_G` the mean of the class means. Computed without :math:`d\times d` matrices: with
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
    """
    Z = jnp.asarray(Z)
    A, E = _between_within(Z, jnp.asarray(labels), k)
    A_pinv = jnp.linalg.pinv(A)  # [..., d, k]
    proj = jnp.einsum("...nd,...dk->...nk", E, A_pinv, precision=_HIGHEST)
    value = jnp.sum(proj**2, axis=(-2, -1)) / Z.shape[-2]
    return jnp.where(_no_between(A, Z), jnp.inf, value)


def within_between_ratio(Z, labels, k: int) -> jax.Array:
    r"""Total within-class variance over total between-class variance, :math:`\mathrm{tr}\,\Sigma_W/\mathrm{tr}\,\Sigma_B`.

    Unlike :func:`nc1` it also counts within-class spread orthogonal to the class-mean span, so it is 0
    only when every sample sits exactly on its class mean ("data from the same class are mapped to the
    same representation", paper 003's abstract). ``inf`` when the class means coincide.

    Example:
        >>> import jax.numpy as jnp
        >>> y = jnp.array([0, 0, 1, 1])
        >>> float(within_between_ratio(jnp.array([[1.0, 0.5], [1.0, -0.5], [-1.0, 0.0], [-1.0, 0.0]]), y, 2))
        0.125
    """
    Z = jnp.asarray(Z)
    A, E = _between_within(Z, jnp.asarray(labels), k)
    within = jnp.sum(E**2, axis=(-2, -1)) / Z.shape[-2]
    between = jnp.sum(A**2, axis=(-2, -1)) / k
    none = _no_between(A, Z)
    return jnp.where(none, jnp.inf, within / jnp.where(none, 1.0, between))


def nc2(Z, labels, k: int, centre: bool = False) -> jax.Array:
    r"""Relative distance of the normalised class-mean Gram matrix from the simplex ETF's (NC2).

    .. math::
        \mathrm{NC2} = \frac{\|\hat M\hat M^\top - G^\ast\|_F}{\|G^\ast\|_F},\qquad
        \hat M = \Big[\frac{\mu_c - b}{\|\mu_c - b\|}\Big]_{c=1}^k,\qquad \|G^\ast\|_F = \frac{k}{\sqrt{k-1}},

    with :math:`b = 0` (default: the class means themselves form an ETF, the geometry of paper 003's
    abstract and paper 001 Section 3.2) or :math:`b = \mu_G` (``centre=True``, Papyan et al. 2020).
    It is 0 exactly for a simplex ETF; orthonormal means give :math:`1/\sqrt{k}` uncentred and 0
    centred; fully collapsed (equal) means give :math:`\sqrt{k}` uncentred.

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
    """
    means = class_means(Z, labels, k)
    if centre:
        means = means - jnp.mean(means, axis=-2, keepdims=True)
    U = _unit_rows(means)
    G = jnp.einsum("...id,...jd->...ij", U, U, precision=_HIGHEST)
    target = etf_gram(k, dtype=G.dtype)
    return jnp.linalg.norm(G - target, axis=(-2, -1)) / (k / np.sqrt(k - 1))


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
        >>> etf = jnp.array([[1.0, 0.0], [-0.5, 3**0.5 / 2], [-0.5, -(3**0.5) / 2]])
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


def diagnose(Z, labels=None, lr: float | None = None, tau: float | None = None) -> dict:
    r"""Collapse diagnosis of embeddings saved from any training run (``clop-verify diagnose``).

    Reports the singular spectrum of the ``[n, d]`` embeddings, its effective rank and RankMe; with
    labels also NC1, tr(Sigma_W)/tr(Sigma_B), NC2 (uncentred and centred), the distance to CLOP's
    orthonormal target, sigma_(k-1)/sigma_1 and the NC / DC / neither class of :func:`classify`. With a
    learning rate it places it against Theorem 1's derived bound :math:`\eta_{\max}(k) = 2(k-1)/(k-2)`
    (:func:`theory.eta_max`, paper 001 Section 3.1) for the number of classes; with a temperature the
    compared rate is :math:`\eta/\tau` (the cosine loss divided by :math:`\tau` scales its gradient by
    :math:`1/\tau`), and paper 004's printed optimum :math:`\tau/2` is quoted beside it as a printed claim.
    The bound is for full-batch gradient descent on class embeddings, not for a network's optimiser: it
    says whether the run is in the regime the theory covers, not that it collapsed.

    Args:
        Z: ``[n, d]`` finite embeddings, n >= 2.
        labels: optional ``[n]`` integer labels (at least 2 classes).
        lr: optional learning rate > 0 (needs labels: the bound depends on k).
        tau: optional temperature > 0 (needs ``lr``).

    Returns:
        dict of plain Python values (lists and floats).

    Raises:
        ValueError: wrong shapes, non-finite rows, mismatched labels, bad ``lr``/``tau``.

    Example:
        >>> import numpy as np
        >>> rep = diagnose(np.repeat(np.eye(3), 4, axis=0), labels=np.repeat(np.arange(3), 4), lr=1.0)
        >>> round(rep["effective_rank"], 6), rep["nc1"], rep["orthonormal_distance"], rep["eta_max"]
        (3.0, 0.0, 0.0, 4.0)
        >>> rep["class"], round(rep["nc2"], 4), rep["nc2_centred"] < 1e-12  # CLOP's target is not an ETF ...
        ('neither', 0.5774, True)

        (... though centring turns orthonormal means into one, so Papyan's centred NC2 is 0.)
    """
    Z = np.asarray(Z)
    if Z.ndim != 2 or Z.shape[0] < 2 or Z.shape[1] < 1:
        raise ValueError(f"embeddings must be a 2-D array n x d with n >= 2 rows; got shape {Z.shape}")
    if not np.issubdtype(Z.dtype, np.number) or np.iscomplexobj(Z):
        raise ValueError(f"embeddings must be real numbers; got dtype {Z.dtype}")
    bad = np.flatnonzero(~np.all(np.isfinite(Z), axis=1))
    if bad.size:
        raise ValueError(f"embeddings have {bad.size} row(s) with NaN or inf (first: row {int(bad[0])})")
    if tau is not None and lr is None:
        raise ValueError("--tau needs --lr (the temperature rescales the learning rate)")
    if lr is not None and not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"--lr must be a finite number > 0; got {lr}")
    if tau is not None and not (np.isfinite(tau) and tau > 0):
        raise ValueError(f"--tau must be a finite number > 0; got {tau}")
    spectrum = np.asarray(singular_values(Z))
    report: dict = {
        "n": int(Z.shape[0]), "d": int(Z.shape[1]),
        "singular_values": spectrum.tolist(),
        "effective_rank": float(effective_rank(spectrum)),
        "rankme": float(rankme(spectrum)),
        "mean_norm": float(np.mean(np.linalg.norm(Z, axis=1))),
    }
    if labels is None:
        if lr is not None:
            raise ValueError("--lr needs --labels (the learning-rate bound depends on the number of classes)")
        return report
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != Z.shape[0]:
        raise ValueError(f"labels must be a 1-D array with one label per embedding row ({Z.shape[0]}); "
                         f"got shape {labels.shape}")
    if not (np.issubdtype(labels.dtype, np.integer) or (np.issubdtype(labels.dtype, np.floating)
                                                         and np.all(np.isfinite(labels))
                                                         and np.all(labels == np.round(labels)))):
        raise ValueError(f"labels must be integers; got dtype {labels.dtype}")
    classes, codes = np.unique(labels.astype(np.int64), return_inverse=True)
    k = int(classes.size)
    if k < 2:
        raise ValueError(f"labels must name at least 2 classes; got {k}")
    stats = summary(Z, codes, k)
    report.update({
        "k": k, "classes": classes.tolist(),
        "nc1": float(stats["nc1"]), "within_between": float(stats["within_between"]),
        "nc2": float(stats["nc2"]), "nc2_centred": float(stats["nc2_centred"]),
        "orthonormal_distance": float(stats["orthonormal_distance"]),
        "orthonormal_reachable": k <= Z.shape[1],
        "dimension_ratio": float(stats["dimension_ratio"]) if min(Z.shape) >= k - 1 else None,
        "class": CLASSES[int(stats["class"])] if min(Z.shape) >= k - 1 else "neither",
        "etf_effective_rank": float(k - 1),
    })
    if lr is not None:
        from theory import eta_max

        bound = float(eta_max(k)) if k > 2 else float("inf")
        rate = lr / tau if tau is not None else lr
        report.update({
            "lr": float(lr), "tau": tau, "rate_compared": float(rate), "eta_max": bound,
            "rate_over_eta_max": float(rate / bound),
            "lr_regime": ("above the bound: collapse of the class embeddings is predicted" if rate > bound
                          else "within the bound"),
            "printed_optimum_tau_over_2": (tau / 2 if tau is not None else None),
        })
    return report
