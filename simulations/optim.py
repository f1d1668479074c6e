"""A tiny optax-style optimiser library in plain JAX: Adam and SGD with momentum.

Each constructor returns a :class:`GradientTransformation` (``init(params) -> state``,
``update(grads, state, params) -> (updates, state)``) whose state is a NamedTuple; updates are
*added* to the parameters with :func:`apply_updates`. The learning rate may be a traced array, so a
training run can be vmapped over learning rates (the learning-rate sweep of the CLOP experiments).
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["GradientTransformation", "AdamState", "SgdState", "adam", "sgd", "apply_updates", "make_optimizer"]


class GradientTransformation(NamedTuple):
    """A pair of pure functions, as in optax."""

    init: Callable[[Any], Any]
    update: Callable[[Any, Any, Any], tuple[Any, Any]]


class AdamState(NamedTuple):
    """Step count and the first and second moment estimates (pytrees shaped like the parameters)."""

    count: jax.Array
    mu: Any
    nu: Any


class SgdState(NamedTuple):
    """The momentum buffer (a pytree shaped like the parameters)."""

    momentum: Any


def adam(learning_rate, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> GradientTransformation:
    r"""Adam (Kingma & Ba, 2015) with bias correction.

    .. math::
        m_t = b_1 m_{t-1} + (1-b_1) g_t,\quad v_t = b_2 v_{t-1} + (1-b_2) g_t^2,\quad
        \Delta_t = -\eta\,\frac{m_t/(1-b_1^t)}{\sqrt{v_t/(1-b_2^t)} + \epsilon}

    Args:
        learning_rate: :math:`\eta` (float or traced scalar).
        b1, b2: moment decay rates.
        eps: denominator floor.

    Returns:
        A :class:`GradientTransformation`.

    Example:
        >>> import jax.numpy as jnp
        >>> opt = adam(0.1)
        >>> p = jnp.array([1.0]); s = opt.init(p)
        >>> u, s = opt.update(jnp.array([2.0]), s, p)   # first step moves by -lr * sign(g)
        >>> round(float(u[0]), 6)
        -0.1
    """

    def init(params):
        zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
        return AdamState(count=jnp.zeros((), jnp.int32), mu=zeros, nu=zeros)

    def update(grads, state, params=None):
        del params
        count = state.count + 1
        mu = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, state.mu, grads)
        nu = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, state.nu, grads)
        def step(m, v):
            t = count.astype(m.dtype)
            m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
            return (-learning_rate * m_hat / (jnp.sqrt(v_hat) + eps)).astype(m.dtype)

        return jax.tree_util.tree_map(step, mu, nu), AdamState(count, mu, nu)

    return GradientTransformation(init, update)


def sgd(learning_rate, momentum: float = 0.9) -> GradientTransformation:
    r"""Stochastic gradient descent with heavy-ball momentum.

    .. math:: b_t = \beta b_{t-1} + g_t,\qquad \Delta_t = -\eta\, b_t

    Args:
        learning_rate: :math:`\eta` (float or traced scalar).
        momentum: :math:`\beta` (0 gives plain gradient descent).

    Returns:
        A :class:`GradientTransformation`.

    Example:
        >>> import jax.numpy as jnp
        >>> opt = sgd(0.5, momentum=0.0)
        >>> u, _ = opt.update(jnp.array([2.0]), opt.init(jnp.array([0.0])))
        >>> float(u[0])
        -1.0
    """

    def init(params):
        return SgdState(jax.tree_util.tree_map(jnp.zeros_like, params))

    def update(grads, state, params=None):
        del params
        buf = jax.tree_util.tree_map(lambda b, g: momentum * b + g, state.momentum, grads)
        updates = jax.tree_util.tree_map(lambda b: (-learning_rate * b).astype(b.dtype), buf)
        return updates, SgdState(buf)

    return GradientTransformation(init, update)


#: Optimisers by name, for configuration files and the CLI.
OPTIMIZERS = {"adam": adam, "sgd": sgd}


def make_optimizer(name: str, learning_rate) -> GradientTransformation:
    """The optimiser called ``name`` (``"adam"`` or ``"sgd"``) at ``learning_rate``.

    Raises:
        ValueError: unknown name.

    Example:
        >>> type(make_optimizer("sgd", 0.1).init(1.0)).__name__
        'SgdState'
    """
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {name!r}")
    return OPTIMIZERS[name](learning_rate)


def apply_updates(params, updates):
    """Add ``updates`` to ``params`` leaf by leaf.

    Example:
        >>> apply_updates({"w": 1.0}, {"w": -0.25})
        {'w': 0.75}
    """
    return jax.tree_util.tree_map(lambda p, u: p + u, params, updates)
