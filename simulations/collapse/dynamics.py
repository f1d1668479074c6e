r"""Pure JAX update rules for k class embeddings on the unit sphere (paper 001, Section 3, Appendix D).

Every rule is a pure function ``step(X, eta) -> X`` on an :math:`m \times k` matrix whose columns are
unit vectors (the class embeddings :math:`x_1, \dots, x_k` of Theorem 1), followed by column
renormalisation. Three rules answer three questions:

* ``paper``: the update of Appendix D, exactly as written in the proof of Theorem 1;
* ``autodiff``: plain gradient descent on the mean pairwise cosine similarity, differentiated by
  :func:`jax.grad` *through* the normalisation and scaled so that ``eta`` is the same step size as in
  ``paper`` -- does the bound depend on how the gradient is taken?
* ``infonce``: gradient descent on InfoNCE over merged class embeddings with temperature
  :math:`\tau` (the temperature restatement of paper 004).

Gram matrices are computed with ``precision=HIGHEST`` so that GPUs do not silently use TF32 for
float32 inputs; on CPU this changes nothing.
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from theory.definitions import RULES, check_rule_tau

__all__ = [
    "RULES",
    "step",
    "paper_step",
    "paper_step_rows",
    "autodiff_step",
    "infonce_step",
    "normalize_columns",
    "mean_cosine_loss",
    "infonce_loss",
    "orthonormal_prototypes",
    "clop_loss",
    "clop_paper_step",
    "clop_autodiff_step",
    "clop_infonce_step",
    "clop_rule_step",
    "clop_step",
]

_HIGHEST = jax.lax.Precision.HIGHEST


def normalize_columns(X: jax.Array) -> jax.Array:
    r"""Divide every column by its Euclidean norm, :math:`\hat x_i = x_i / \|x_i\|`.

    A zero column gives NaN on purpose: the runner reports such a run as non-finite.

    Example:
        >>> import jax, jax.numpy as jnp, numpy as np
        >>> Y = jax.jit(normalize_columns)(jnp.array([[3.0, 0.0], [4.0, 2.0]]))
        >>> bool(np.allclose(Y, [[0.6, 0.0], [0.8, 1.0]]))
        True
    """
    return X / jnp.linalg.norm(X, axis=-2, keepdims=True)


def paper_step(X: jax.Array, eta) -> jax.Array:
    r"""One step of the Appendix D update: move every embedding by eta times minus the mean of the others.

    .. math::
        x_i^{(1)} = \mathrm{normalise}\Big(x_i^{(0)} - \frac{\eta}{k-1}\sum_{j\ne i} x_j^{(0)}\Big)
                  = \mathrm{normalise}\Big(\big(1+\tfrac{\eta}{k-1}\big)x_i^{(0)} - \tfrac{\eta k}{k-1}\mu^{(0)}\Big)

    Args:
        X: ``[m, k]`` matrix of unit columns (leading batch axes allowed).
        eta: learning rate (scalar, traced).

    Returns:
        The updated ``[m, k]`` matrix of unit columns.

    Example (paper 001, Appendix D, Theorem 1):
        >>> import jax, jax.numpy as jnp, numpy as np
        >>> X = jnp.eye(3)                      # three orthonormal embeddings
        >>> Y = np.asarray(jax.jit(paper_step)(X, 0.5))   # x_1 - 0.25 (x_2 + x_3), renormalised
        >>> [round(float(v), 4) for v in Y[:, 0]]   # (1, -1/4, -1/4) / sqrt(9/8)
        [0.9428, -0.2357, -0.2357]
    """
    k = X.shape[-1]
    total = jnp.sum(X, axis=-1, keepdims=True)
    c = eta / (k - 1)
    return normalize_columns((1 + c) * X - c * total)


def paper_step_rows(R: jax.Array, eta, *, unit_rows: bool = False) -> jax.Array:
    r"""The :func:`paper_step` update on the transposed ``[k, m]`` layout, in one fused pass (runner kernel).

    With :math:`c = \eta/(k-1)`, :math:`S = \sum_j x_j` and :math:`y_i = (1+c)x_i - cS`, the new norms
    come from inner products instead of a second pass over :math:`y`:

    .. math:: \|y_i\|^2 = (1+c)^2\|x_i\|^2 - 2c(1+c)\,x_i^\top S + c^2\|S\|^2 ,

    so :math:`x_i^{(1)} = \frac{1+c}{\|y_i\|}x_i - \frac{c}{\|y_i\|}S`. By default the actual
    :math:`\|x_i\|^2` is used, so rounding drift of the norms does not accumulate. With
    ``unit_rows=True`` the expansion takes :math:`\|x_i\|^2 = 1`, as it is in exact arithmetic after
    every step: that skips a reduction over the whole state, which on XLA's CPU backend cost as much as
    the rest of the step (k = 1000: 2.3e9 against 4.7e9 element-steps/s, float32, two cores). A norm
    error :math:`\delta_i` is then carried to the next step multiplied by
    :math:`((1+c)/\|y_i\|)^2` instead of being removed, so the runner takes the exact step after at most
    :data:`~simulations.collapse.engine.UNIT_ROW_STEPS` - 1 such steps, and as the first and the last
    step of every compiled call (the Gaussian initialisation hands over rows that are not unit). The expansion cancels only when :math:`\|y_i\| \ll \eta`, i.e. near
    :math:`\eta = 1` on a collapsed state. Rows (``[k, m]``, m contiguous) make both reductions cheap
    on CPU; the runner uses this kernel for ``rule="paper"`` (about twice as fast as
    :func:`paper_step`), and the tests check that both give the same trajectories.

    Args:
        R: ``[k, m]`` matrix whose *rows* are the unit class embeddings.
        eta: learning rate.
        unit_rows: take :math:`\|x_i\| = 1` instead of measuring it.

    Example:
        >>> import jax, jax.numpy as jnp, numpy as np
        >>> rows = jax.jit(paper_step_rows, static_argnames="unit_rows")   # jitted, as the runner runs it
        >>> columns = np.asarray(jax.jit(paper_step)(jnp.eye(3), 0.5))
        >>> bool(np.allclose(rows(jnp.eye(3), 0.5), columns.T))
        True
        >>> bool(np.allclose(rows(jnp.eye(3), 0.5, unit_rows=True), columns.T))
        True
    """
    k = R.shape[-2]
    c = eta / (k - 1)
    total = jnp.sum(R, axis=-2)
    overlap = jnp.einsum("...km,...m->...k", R, total, precision=_HIGHEST)
    own = 1.0 if unit_rows else jnp.sum(R * R, axis=-1)
    total_sq = jnp.sum(total * total, axis=-1, keepdims=True)
    inv = jax.lax.rsqrt((1 + c) ** 2 * own - 2 * c * (1 + c) * overlap + c * c * total_sq)
    return ((1 + c) * inv)[..., None] * R - (c * inv)[..., None] * total[..., None, :]


def mean_cosine_loss(X: jax.Array) -> jax.Array:
    r"""Mean pairwise cosine similarity over ordered pairs, through the normalisation.

    .. math:: \bar L(X) = \frac{1}{k(k-1)}\sum_{i\ne j}\frac{x_i^\top x_j}{\|x_i\|\,\|x_j\|}
              = -\frac{\mathcal L_{class}(\hat X)}{k(k-1)}

    (Eq. 3 of paper 001 prints :math:`\mathcal L_{class} = -\sum_{i\ne j}[X^\top X]_{ij}`; minimising
    that sign would *maximise* similarity, so the minimised quantity here is the sum of cosines.)

    Example:
        >>> import jax, jax.numpy as jnp
        >>> float(jax.jit(mean_cosine_loss)(jnp.ones((4, 3))))   # all equal: every cosine is 1
        1.0
    """
    k = X.shape[-1]
    Xn = normalize_columns(X)
    gram = jnp.einsum("...mi,...mj->...ij", Xn, Xn, precision=_HIGHEST)
    off_diagonal = jnp.sum(gram, axis=(-2, -1)) - jnp.trace(gram, axis1=-2, axis2=-1)
    return off_diagonal / (k * (k - 1))


def autodiff_step(X: jax.Array, eta) -> jax.Array:
    r"""Gradient descent on :func:`mean_cosine_loss` by :func:`jax.grad` through the normalisation.

    For unit columns and *without* the normalisation inside the loss,
    :math:`\partial \bar L/\partial x_i = \frac{2}{k(k-1)}\sum_{j\ne i} x_j` (each unordered pair is
    counted twice), so the step :math:`x_i \leftarrow x_i - \eta\,\frac{k}{2}\,\partial\bar L/\partial x_i`
    equals :func:`paper_step`. Differentiating through the normalisation projects that gradient onto
    the tangent space, so the update actually taken is

    .. math:: x_i^{(1)} = \mathrm{normalise}\Big(x_i - \frac{\eta}{k-1}\,(I - x_i x_i^\top)\sum_{j\ne i} x_j\Big).

    Args:
        X: ``[m, k]`` matrix of unit columns.
        eta: learning rate, same scale as in :func:`paper_step`.

    Example:
        >>> import jax, jax.numpy as jnp, numpy as np
        >>> Y = jax.jit(autodiff_step)(jnp.eye(3), 0.5)    # orthonormal: the tangent projection changes nothing
        >>> bool(np.allclose(Y, jax.jit(paper_step)(jnp.eye(3), 0.5)))
        True
    """
    k = X.shape[-1]
    grad = jax.grad(lambda Z: jnp.sum(mean_cosine_loss(Z)))(X)
    return normalize_columns(X - eta * (k / 2) * grad)


def infonce_loss(X: jax.Array, tau) -> jax.Array:
    r"""InfoNCE over k class embeddings whose positive pairs are already merged.

    Convention for merged pairs: the two views of class i are the same vector, so the positive of
    :math:`x_i` is :math:`x_i` itself (logit :math:`\cos(x_i, x_i)/\tau = 1/\tau`) and its negatives
    are the other k-1 class embeddings, one copy each. With :math:`c_{ij}` the cosine similarities
    (computed through the normalisation),

    .. math::
        \mathcal L(X) = \sum_{i=1}^{k} -\log\frac{e^{c_{ii}/\tau}}{\sum_{j=1}^{k} e^{c_{ij}/\tau}},

    the sum over samples of Appendix C (paper 001) with :math:`z_{j(i)} = z_i`.

    Example:
        >>> import jax, jax.numpy as jnp, math
        >>> round(float(jax.jit(infonce_loss)(jnp.ones((4, 3)), 0.5)), 6) == round(3 * math.log(3), 6)
        True
    """
    Xn = normalize_columns(X)
    logits = jnp.einsum("...mi,...mj->...ij", Xn, Xn, precision=_HIGHEST) / tau
    diagonal = jnp.diagonal(logits, axis1=-2, axis2=-1)
    return jnp.sum(jax.nn.logsumexp(logits, axis=-1) - diagonal, axis=-1)


def infonce_step(X: jax.Array, eta, tau) -> jax.Array:
    r"""Gradient descent on :func:`infonce_loss` through the normalisation, then renormalise.

    .. math:: X^{(1)} = \mathrm{normalise}\big(X - \eta\,\nabla_X \mathcal L_{\mathrm{InfoNCE}}(X;\tau)\big)

    ``eta`` is the raw step size on the summed loss (no rescaling).

    Example:
        >>> import jax, jax.numpy as jnp, numpy as np
        >>> Y = np.asarray(jax.jit(infonce_step)(jnp.eye(3), 0.1, 0.5))
        >>> bool(np.allclose(np.linalg.norm(Y, axis=0), 1.0))
        True
    """
    grad = jax.grad(lambda Z: jnp.sum(infonce_loss(Z, tau)))(X)
    return normalize_columns(X - eta * grad)


def rule_step(rule: str, *, rows: bool = False) -> Callable:
    """The step function of ``rule`` with the common signature ``f(X, eta, tau)``.

    With ``rows=True`` the function acts on the transposed ``[k, m]`` layout (the runner's state).

    Example:
        >>> import jax, jax.numpy as jnp, numpy as np
        >>> f = jax.jit(rule_step("paper"))
        >>> bool(np.allclose(f(jnp.eye(3), 0.5, None), jax.jit(paper_step)(jnp.eye(3), 0.5)))
        True
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {', '.join(RULES)}; got {rule!r}")
    if rows and rule == "paper":
        return lambda R, eta, tau: paper_step_rows(R, eta)
    columns = {
        "paper": lambda X, eta, tau: paper_step(X, eta),
        "autodiff": lambda X, eta, tau: autodiff_step(X, eta),
        "infonce": infonce_step,
    }[rule]
    if rows:
        return lambda R, eta, tau: jnp.swapaxes(columns(jnp.swapaxes(R, -1, -2), eta, tau), -1, -2)
    return columns


def step(X: jax.Array, eta, *, rule: str = "paper", tau=None) -> jax.Array:
    r"""One update of ``rule`` (``paper``, ``autodiff`` or ``infonce``) on unit columns ``X``.

    See :func:`paper_step`, :func:`autodiff_step` and :func:`infonce_step` for the formulas.

    Args:
        X: ``[m, k]`` matrix of unit columns.
        eta: learning rate.
        rule: update rule name.
        tau: temperature, required for ``infonce`` and refused otherwise.

    Returns:
        The updated matrix, same shape and dtype.

    Raises:
        ValueError: unknown rule, ``tau`` missing / not positive for ``infonce`` or given to another rule.

    Example:
        >>> import jax, jax.numpy as jnp, numpy as np
        >>> bool(np.allclose(jax.jit(step)(jnp.eye(3), 0.5), jax.jit(paper_step)(jnp.eye(3), 0.5)))
        True
    """
    check_rule_tau(rule, tau)
    return rule_step(rule)(X, eta, tau)


# ----------------------------------------------------------------------------------------------
# CLOP's prototype term (paper 001, Section 4, Eq. 4; the theory is theory.clop)
# ----------------------------------------------------------------------------------------------

def orthonormal_prototypes(key, m: int, k: int, dtype="float64") -> jax.Array:
    r"""``[m, k]`` orthonormal prototypes :math:`c_1, \dots, c_k` from one PRNG key (:math:`k \le m`).

    The Q factor of an ``[m, k]`` standard Gaussian matrix (drawn in float32, like the initial
    embeddings), with the signs fixed by :math:`\mathrm{diag}(R) > 0`, so the draw is uniform
    (Haar) on the Stiefel manifold.

    Example:
        >>> import jax, numpy as np
        >>> C = np.asarray(jax.jit(orthonormal_prototypes, static_argnums=(1, 2))(jax.random.key(0), 5, 3))
        >>> C.shape, bool(np.allclose(C.T @ C, np.eye(3), atol=1e-6))
        ((5, 3), True)
    """
    g = jax.random.normal(key, (m, k), dtype=jnp.float32).astype(dtype)
    q, r = jnp.linalg.qr(g)
    return q * jnp.where(jnp.diagonal(r) < 0, -1.0, 1.0).astype(dtype)


def clop_loss(X: jax.Array, C: jax.Array) -> jax.Array:
    r"""CLOP's term per class embedding, summed: :math:`\sum_i (1 - \cos(x_i, c_i))`, through the normalisation.

    Eq. 4 of paper 001 prints :math:`\lambda\sum_{i\in\mathcal L}(1 - s(z_i, c_{y_i}))` over labelled
    samples; with the samples of class i merged on :math:`x_i` this is the per-class-embedding term
    (see :mod:`theory.clop` for how :math:`\lambda` maps to the printed sum and to the authors'
    released mean).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> float(jax.jit(clop_loss)(jnp.eye(3), jnp.eye(3)))
        0.0
    """
    cos = jnp.sum(normalize_columns(X) * C, axis=-2)
    return jnp.sum(1.0 - cos, axis=-1)


def clop_paper_step(X: jax.Array, C: jax.Array, eta, lam) -> jax.Array:
    r"""Appendix D's step plus CLOP's pull, the gradient taken without the normalisation, as Appendix D does.

    .. math:: x_i^{(1)} = \mathrm{normalise}\Big(x_i - \frac{\eta}{k-1}\sum_{j\ne i} x_j + \eta\lambda\,c_i\Big)

    (:math:`-\partial_{x_i}\lambda(1 - x_i^\top c_i) = \lambda c_i`). At ``lam = 0`` this is
    :func:`paper_step` (to rounding). Theory: :func:`theory.clop.clop_lambda_critical`.

    Scale of ``lam`` (per class embedding, the convention of every ``clop_*`` rule): Eq. 4 prints
    :math:`\lambda\sum_{i\in\mathcal S}(1 - s(z_i, c_{y_i}))`, a sum over labelled samples; with the
    :math:`n_c` labelled samples of class c merged on :math:`x_c` their gradients add, so the printed
    :math:`\lambda` is ``lam = n_c * lambda`` here (``lam = lambda`` with one labelled embedding per class).
    The authors' released loss takes the mean over the N labelled samples: ``lam = lambda * n_c / N``,
    i.e. :math:`\lambda/k` for balanced classes (:func:`theory.clop.per_embedding_lambda`).

    Args:
        X: ``[m, k]`` unit columns. C: ``[m, k]`` orthonormal prototypes. eta, lam: step and CLOP weight
            per class embedding (traced scalars).

    Example (paper 001, Section 4, Eq. 4):
        >>> import jax, jax.numpy as jnp, numpy as np
        >>> Y = np.asarray(jax.jit(clop_paper_step)(jnp.eye(3), jnp.eye(3), 0.5, 1.0))  # x_1 + .5 e_1 - .25 (x_2 + x_3)
        >>> [round(float(v), 4) for v in Y[:, 0]]
        [0.9733, -0.1622, -0.1622]
    """
    k = X.shape[-1]
    total = jnp.sum(X, axis=-1, keepdims=True)
    c = eta / (k - 1)
    return normalize_columns((1 + c) * X - c * total + (eta * lam) * C)


def clop_autodiff_step(X: jax.Array, C: jax.Array, eta, lam) -> jax.Array:
    r""":func:`autodiff_step` plus :math:`\lambda` times :func:`clop_loss`, both differentiated through the normalisation.

    .. math:: X^{(1)} = \mathrm{normalise}\Big(X - \eta\,\tfrac{k}{2}\nabla\bar L(X) - \eta\lambda\,\nabla\mathcal L_{\rm CLOP}(X)\Big)

    (at unit columns the CLOP part is :math:`+\eta\lambda(I - x_ix_i^\top)c_i`).

    Example:
        >>> import jax, jax.numpy as jnp, numpy as np
        >>> Y = jax.jit(clop_autodiff_step)(jnp.eye(3), jnp.eye(3), 0.5, 0.0)
        >>> bool(np.allclose(Y, jax.jit(autodiff_step)(jnp.eye(3), 0.5)))
        True
    """
    k = X.shape[-1]
    grad = jax.grad(lambda Z: jnp.sum(mean_cosine_loss(Z)) * (k / 2) + lam * jnp.sum(clop_loss(Z, C)))(X)
    return normalize_columns(X - eta * grad)


def clop_infonce_step(X: jax.Array, C: jax.Array, eta, lam, tau) -> jax.Array:
    r""":func:`infonce_step` on :math:`\mathcal L_{\rm InfoNCE} + \lambda\,\mathcal L_{\rm CLOP}` (through the normalisation).

    Example:
        >>> import jax, jax.numpy as jnp, numpy as np
        >>> Y = jax.jit(clop_infonce_step)(jnp.eye(3), jnp.eye(3), 0.1, 0.0, 0.5)
        >>> bool(np.allclose(Y, jax.jit(infonce_step)(jnp.eye(3), 0.1, 0.5)))
        True
    """
    grad = jax.grad(lambda Z: jnp.sum(infonce_loss(Z, tau)) + lam * jnp.sum(clop_loss(Z, C)))(X)
    return normalize_columns(X - eta * grad)


def clop_rule_step(rule: str, *, rows: bool = False) -> Callable:
    """The CLOP step of ``rule`` with the common signature ``f(X, C, eta, lam, tau)``; ``rows=True``: ``[k, m]`` layout.

    Example:
        >>> import jax, jax.numpy as jnp, numpy as np
        >>> f = jax.jit(clop_rule_step("paper", rows=True))
        >>> columns = np.asarray(jax.jit(clop_paper_step)(jnp.eye(3), jnp.eye(3), 0.5, 1.0))
        >>> bool(np.allclose(f(jnp.eye(3), jnp.eye(3), 0.5, 1.0, None), columns.T))
        True
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {', '.join(RULES)}; got {rule!r}")
    columns = {
        "paper": lambda X, C, eta, lam, tau: clop_paper_step(X, C, eta, lam),
        "autodiff": lambda X, C, eta, lam, tau: clop_autodiff_step(X, C, eta, lam),
        "infonce": clop_infonce_step,
    }[rule]
    if rows:
        def on_rows(R, P, eta, lam, tau):
            out = columns(jnp.swapaxes(R, -1, -2), jnp.swapaxes(P, -1, -2), eta, lam, tau)
            return jnp.swapaxes(out, -1, -2)
        return on_rows
    return columns


def clop_step(X: jax.Array, C: jax.Array, eta, lam, *, rule: str = "paper", tau=None) -> jax.Array:
    r"""One update of ``rule`` with CLOP's term :math:`\lambda(1 - s(x_i, c_i))` per class embedding.

    See :func:`clop_paper_step`, :func:`clop_autodiff_step`, :func:`clop_infonce_step`.

    Raises:
        ValueError: unknown rule, or ``tau`` missing / not positive for ``infonce``.

    Example:
        >>> import jax, jax.numpy as jnp, numpy as np
        >>> bool(np.allclose(jax.jit(clop_step)(jnp.eye(3), jnp.eye(3), 0.5, 0.0), jax.jit(step)(jnp.eye(3), 0.5)))
        True
    """
    check_rule_tau(rule, tau)
    return clop_rule_step(rule)(X, C, eta, lam, tau)
