r"""Evaluation of learned embeddings: k-NN accuracy on the unlabelled rows, linear probe, effective rank.

:func:`knn_accuracy` is jit- and vmap-able (masks keep shapes static); :func:`linear_probe_accuracy`
uses scikit-learn's logistic regression on the host; :func:`embedding_effective_rank` is the effective
rank (Roy & Vetterli, 2007) of an embedding *matrix* (:func:`simulations.metrics.effective_rank` takes
its singular values).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from simulations import metrics

__all__ = ["DISTANCES", "knn_accuracy", "linear_probe_accuracy", "embedding_effective_rank"]

#: How :func:`knn_accuracy` computes squared distances: ``"difference"`` sums the squared broadcast
#: differences (an n x n x d array); ``"gram"`` expands :math:`\|z_i\|^2 + \|z_j\|^2 - 2 z_i^\top z_j` (one
#: n x n matrix product: the readings programs, whose 64-wide hidden layer would need 16 M numbers per trial).
#: The two round differently, so exact ties among neighbours may break differently.
DISTANCES = ("difference", "gram")


def _sq_distances(z: jax.Array, distances: str) -> jax.Array:
    if distances == "difference":
        return jnp.sum((z[:, None, :] - z[None, :, :]) ** 2, axis=-1)
    if distances == "gram":
        sq = jnp.sum(z * z, axis=1)
        return sq[:, None] + sq[None, :] - 2.0 * (z @ z.T)
    raise ValueError(f"distances must be one of {', '.join(DISTANCES)}; got {distances!r}")


def _vote(d2: jax.Array, train_y: jax.Array, num_classes: int, k: int) -> jax.Array:
    _, idx = jax.lax.top_k(-d2, k)
    votes = jnp.sum(jax.nn.one_hot(train_y[idx], num_classes), axis=1)
    return jnp.argmax(votes, axis=1)


def knn_accuracy(z: jax.Array, y: jax.Array, labelled: jax.Array, num_classes: int, k: int = 5, *,
                 distances: str = "difference") -> jax.Array:
    r"""Accuracy on the unlabelled rows of a KNN classifier fitted on the labelled rows.

    .. math:: \mathrm{acc} = \frac{1}{|U|}\sum_{i\in U}[\hat y_{kNN}(z_i) = y_i],\qquad
        d^2_{ij} = \|z_i - z_j\|^2

    The mask keeps shapes static (distances to unlabelled rows are set to infinity), so the
    function can be jitted and vmapped over seeds. ``distances`` (:data:`DISTANCES`) says how
    :math:`d^2` is computed.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> acc = jax.jit(knn_accuracy, static_argnames=("num_classes", "k", "distances"))   # as the trainer runs it
        >>> z = jnp.array([[0.0], [0.1], [0.2], [1.0], [1.1], [1.2]])
        >>> y = jnp.array([0, 0, 0, 1, 1, 1])
        >>> lab = jnp.array([1, 1, 0, 1, 1, 0], bool)
        >>> float(acc(z, y, lab, 2, k=1)), float(acc(z, y, lab, 2, k=1, distances="gram"))
        (1.0, 1.0)
    """
    n = z.shape[0]
    d2 = jnp.where(labelled[None, :], _sq_distances(z, distances), jnp.inf)
    correct = (_vote(d2, y, num_classes, k) == y) & ~labelled
    return jnp.sum(correct) / jnp.maximum(n - jnp.sum(labelled), 1)


def embedding_effective_rank(z: jax.Array) -> jax.Array:
    r"""Effective rank of an embedding matrix (Roy & Vetterli, 2007).

    With :math:`\sigma_j` the singular values of ``z`` and :math:`p_j = \sigma_j/\sum_l\sigma_l`,

    .. math:: \mathrm{erank}(Z) = \exp\Big(-\sum_j p_j\log p_j\Big) \in [1, \min(n, d)] .

    Example:
        >>> import jax, jax.numpy as jnp
        >>> erank = jax.jit(embedding_effective_rank)   # singular values (1, 1, 1), then (sqrt(12), 0, 0)
        >>> round(float(erank(jnp.eye(4, 3))), 6), round(float(erank(jnp.ones((4, 3)))), 6)
        (3.0, 1.0)
    """
    return metrics.effective_rank(jnp.linalg.svd(z, compute_uv=False))


def linear_probe_accuracy(z: np.ndarray, y: np.ndarray, labelled: np.ndarray) -> float:
    """Accuracy on the unlabelled rows of a multinomial logistic regression fitted on the labelled rows.

    Example:
        >>> z = np.array([[0.0], [0.2], [1.0], [1.2], [0.1], [1.1]])
        >>> linear_probe_accuracy(z, np.array([0, 0, 1, 1, 0, 1]), np.array([1, 1, 1, 1, 0, 0], bool))
        1.0
    """
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(max_iter=2000, C=10.0)
    clf.fit(z[labelled], y[labelled])
    return float(np.mean(clf.predict(z[~labelled]) == y[~labelled]))
