r"""The contrastive objective by name, and the switch that lets one compiled program serve every loss.

:func:`contrastive_loss` dispatches a loss name of :data:`LOSSES` to :mod:`simulations.training.losses`
(SupCon with unlabelled rows as their own class, i.e. semi-supervised); :func:`indexed_loss` makes the
name a traced index (``lax.switch`` with each branch holding a loss's value *and* gradient, custom VJP),
so the network and optimiser compile once for a whole table of losses.
"""
from __future__ import annotations

import functools
from typing import Callable

import jax
import jax.numpy as jnp

from simulations.training import losses

__all__ = ["LOSSES", "contrastive_loss", "check_loss_names", "indexed_loss"]

#: Contrastive losses the experiments accept (names of functions in :mod:`simulations.training.losses`).
LOSSES = ("infonce", "dcl", "vicreg", "barlow_twins", "supcon")

def contrastive_loss(name: str, z1: jax.Array, z2: jax.Array, labels: jax.Array, tau) -> jax.Array:
    r"""The loss ``name`` on a pair of views (``labels`` are only used by SupCon).

    For SupCon, rows with a negative label are unlabelled: each gets a class of its own shared with
    its other view, so its term is the InfoNCE term (semi-supervised SupCon).

    Raises:
        ValueError: unknown loss.

    Example:
        >>> import jax, jax.numpy as jnp, numpy as np
        >>> loss = jax.jit(contrastive_loss, static_argnums=0)   # jitted, as training calls it
        >>> z = jnp.eye(3)
        >>> bool(np.isclose(loss("supcon", z, z, -jnp.ones(3, int), 1.0),
        ...                 loss("infonce", z, z, None, 1.0)))
        True
    """
    if name in ("infonce", "dcl"):
        return losses.view_contrastive(z1, z2, tau, decoupled=name == "dcl")
    if name == "vicreg":
        return losses.vicreg(z1, z2)
    if name == "barlow_twins":
        return losses.barlow_twins(z1, z2)
    if name == "supcon":
        n = z1.shape[0]
        k = jnp.max(labels) + 1
        own = jnp.where(labels >= 0, labels, k + jnp.arange(n))
        return losses.supcon(jnp.concatenate([z1, z2]), jnp.concatenate([own, own]), tau)
    raise ValueError(f"loss must be one of {', '.join(LOSSES)}; got {name!r}")

def check_loss_names(names, allowed: tuple[str, ...] = LOSSES) -> None:
    """Raise if any name in ``names`` is not one of ``allowed`` (default :data:`LOSSES`).

    Raises:
        ValueError: ``loss must be one of <allowed>; got <name>`` for the first unknown name.

    Example:
        >>> check_loss_names(("infonce", "dcl"))
        >>> check_loss_names(("infonce", "sgd"))
        Traceback (most recent call last):
        ...
        ValueError: loss must be one of infonce, dcl, vicreg, barlow_twins, supcon; got 'sgd'
    """
    for name in names:
        if name not in allowed:
            raise ValueError(f"loss must be one of {', '.join(allowed)}; got {name!r}")

def indexed_loss(names: tuple[str, ...], tau: float = 0.5) -> Callable:
    r"""``f(index, z1, z2, labels) = contrastive_loss(names[index], z1, z2, labels, tau)`` with a traced index.

    ``lax.switch`` picks the loss, so one compiled program serves every name; an index that is not
    batched under ``vmap`` runs only the chosen branch. Each branch computes the loss *and* its
    gradient with respect to ``(z_1, z_2)`` together, and a custom VJP hands that gradient on
    (scaled by the incoming cotangent :math:`g`):

    .. math:: \frac{\partial f}{\partial z_v} = g\,\frac{\partial\mathcal L_{\text{names[index]}}}{\partial z_v} .

    Why not differentiate through a plain ``lax.switch``: that splits each loss into a forward and
    a backward branch, which XLA compiles differently from the loss on its own, so the gradients
    differ in the last bits (about 1e-8 for VICReg). Adam turns such noise into full steps where
    the exact gradient is zero: the output bias under the shift-invariant VICReg and Barlow Twins
    losses (and every bias before a batch norm). The output bias moves the normalised embeddings,
    so Table 5's VICReg row without CLOP moved visibly (effective rank 2.37 -> 2.34). With forward
    and backward in one branch the gradients equal the named loss's bit for bit on the CPU backend
    (``tests/clop/test_clop_losses.py``), and the CLOP-off runs of the trainer are unchanged bit for
    bit; with CLOP, the sum of the two gradients is rounded differently (XLA fuses it into FMAs when
    the loss is inline), a float32 rounding difference. ``labels`` and ``index`` get no gradient;
    ``tau`` must be a Python number.

    Raises:
        ValueError: unknown loss name.

    Example:
        >>> import jax, jax.numpy as jnp, numpy as np
        >>> z1, z2 = jnp.eye(3), jnp.eye(3)[::-1]
        >>> f = indexed_loss(("vicreg", "infonce"), tau=1.0)
        >>> named = jax.jit(contrastive_loss, static_argnums=0)   # both jitted, as training calls them
        >>> bool(jax.jit(f)(jnp.asarray(1), z1, z2, None) == named("infonce", z1, z2, None, 1.0))
        True
        >>> g = jax.jit(jax.grad(lambda a: f(jnp.asarray(0), a, z2, None)))(z1)
        >>> g_named = jax.jit(jax.grad(lambda a: contrastive_loss("vicreg", a, z2, None, 1.0)))(z1)
        >>> bool(np.array_equal(g, g_named))
        True
    """
    check_loss_names(names)
    values = [functools.partial(contrastive_loss, name, tau=tau) for name in names]
    with_grads = [jax.value_and_grad(f, argnums=(0, 1)) for f in values]

    @jax.custom_vjp
    def f(index, z1, z2, labels):
        return jax.lax.switch(index, values, z1, z2, labels)

    def f_fwd(index, z1, z2, labels):
        value, grads = jax.lax.switch(index, with_grads, z1, z2, labels)
        return value, grads

    def f_bwd(grads, g):
        d1, d2 = grads
        return None, g * d1, g * d2, None

    f.defvjp(f_fwd, f_bwd)
    return f
