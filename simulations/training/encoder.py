"""The encoder of the CLOP experiments: a feed-forward network with batch norm (training mode) and ReLU.

Hidden layers are ``Linear -> BatchNorm -> ReLU`` with batch statistics computed functionally (no
running averages); the output layer is linear. Parameters are a tuple of :class:`Layer` NamedTuples,
a pytree that optax and ``jax.vmap`` handle directly.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["Layer", "init_mlp", "batch_norm", "mlp_forward", "mlp_apply"]


class Layer(NamedTuple):
    """One dense layer with batch-norm scale and shift (unused on the output layer)."""

    w: jax.Array
    b: jax.Array
    gamma: jax.Array
    beta: jax.Array

def init_mlp(key: jax.Array, sizes: tuple[int, ...], dtype=jnp.float32) -> tuple[Layer, ...]:
    r"""He-initialised layers for widths ``sizes = (d_in, h_1, ..., d_out)``.

    :math:`W \sim \mathcal N(0, 2/d_{in})`, biases 0, batch-norm scale 1 and shift 0.

    Example:
        >>> import jax
        >>> init = jax.jit(init_mlp, static_argnums=1)   # jitted, as inside the trainer's trial program
        >>> [l.w.shape for l in init(jax.random.key(0), (3, 8, 8, 3))]
        [(3, 8), (8, 8), (8, 3)]
    """
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = jax.random.normal(jax.random.fold_in(key, i), (a, b), dtype) * jnp.sqrt(2.0 / a).astype(dtype)
        layers.append(Layer(w, jnp.zeros(b, dtype), jnp.ones(b, dtype), jnp.zeros(b, dtype)))
    return tuple(layers)

def batch_norm(h: jax.Array, gamma: jax.Array, beta: jax.Array, eps: float = 1e-5) -> jax.Array:
    r"""Batch normalisation in training mode (Ioffe & Szegedy, 2015).

    .. math:: \mathrm{BN}(h) = \gamma\,\frac{h - \mathrm{mean}_B(h)}{\sqrt{\mathrm{Var}_B(h) + \epsilon}} + \beta

    Example:
        >>> import jax, jax.numpy as jnp
        >>> out = jax.jit(batch_norm)(jnp.array([[1.0], [3.0]]), jnp.ones(1), jnp.zeros(1), eps=0.0)
        >>> out.ravel().tolist()
        [-1.0, 1.0]
    """
    mean = jnp.mean(h, axis=0)
    var = jnp.var(h, axis=0)
    return gamma * (h - mean) / jnp.sqrt(var + eps) + beta

def mlp_forward(layers: tuple[Layer, ...], x: jax.Array, *, normalised=True, mask=None) -> tuple[jax.Array, jax.Array]:
    r"""The encoder's output and its last hidden layer: ``h = ReLU(BN(x W + b)) * mask`` per hidden layer, then ``h W + b``.

    ``normalised``: batch norm on the hidden layers: ``True``/``False`` (static) or a traced boolean
    (both computed, one selected). ``mask``: ``(width,)`` multiplier of the hidden units (``None``: all
    units; the readings mask the units beyond a traced width).

    Example:
        >>> import jax, jax.numpy as jnp, numpy as np
        >>> net = jax.jit(init_mlp, static_argnums=1)(jax.random.key(0), (3, 8, 2))
        >>> forward = jax.jit(mlp_forward)   # as training runs it
        >>> out, hidden = forward(net, jnp.ones((5, 3)), normalised=jnp.asarray(False), mask=np.arange(8) < 4)
        >>> out.shape, hidden.shape, bool(np.all(np.asarray(hidden)[:, 4:] == 0))
        ((5, 2), (5, 8), True)
    """
    h = x
    for layer in layers[:-1]:
        pre = h @ layer.w + layer.b
        if isinstance(normalised, bool):
            h = jax.nn.relu(batch_norm(pre, layer.gamma, layer.beta) if normalised else pre)
        else:
            h = jax.nn.relu(jnp.where(normalised, batch_norm(pre, layer.gamma, layer.beta), pre))
        if mask is not None:
            h = h * mask
    last = layers[-1]
    return h @ last.w + last.b, h


def mlp_apply(layers: tuple[Layer, ...], x: jax.Array) -> jax.Array:
    r"""Apply the encoder: ``ReLU(BN(x W + b))`` for each hidden layer, then a linear output layer (:func:`mlp_forward`'s output).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> net = jax.jit(init_mlp, static_argnums=1)(jax.random.key(0), (3, 8, 2))
        >>> jax.jit(mlp_apply)(net, jnp.ones((5, 3))).shape
        (5, 2)
    """
    return mlp_forward(layers, x)[0]
