r"""The SimCLR-style training loop of the CLOP experiments, driven by optax.

:func:`train_contrastive` draws two augmented views per sample, applies one contrastive loss to the pair
(a name, or a traced index into a tuple of names: see :mod:`simulations.training.objectives`) plus the
CLOP term of paper 001 Eq. 4 on the labelled samples, and steps an optax optimiser with ``lax.scan``.
Learning rate and :math:`\lambda` are traced, so runs vmap over seeds, learning rates and CLOP on/off
(:math:`\lambda = 0`) with one compilation.
"""
from __future__ import annotations

import functools
from typing import Callable

import jax
import jax.numpy as jnp
import optax

from simulations.training import losses
from simulations.training.encoder import Layer, mlp_forward
from simulations.training.objectives import LOSSES, check_loss_names, contrastive_loss, indexed_loss

__all__ = ["OPTIMIZERS", "make_optimizer", "train_contrastive"]

#: The optimisers of the experiments, by name: optax's Adam (default moments) and SGD with
#: heavy-ball momentum 0.9 (:math:`b_t = 0.9\,b_{t-1} + g_t`, :math:`\Delta_t = -\eta\,b_t`).
OPTIMIZERS = ("adam", "sgd")


def make_optimizer(name: str, learning_rate, momentum=0.9) -> optax.GradientTransformation:
    """The optax optimiser called ``name`` (``"adam"`` or ``"sgd"`` with ``momentum``, 0.9 by default) at ``learning_rate``.

    ``learning_rate`` and ``momentum`` may be traced scalars (vmapped over a grid).

    Raises:
        ValueError: unknown name.

    Example:
        >>> import jax.numpy as jnp
        >>> opt = make_optimizer("adam", 0.1)
        >>> u, _ = opt.update(jnp.array([2.0]), opt.init(jnp.array([1.0])))   # first Adam step: -lr * sign(g)
        >>> round(float(u[0]), 6)
        -0.1
    """
    if name == "adam":
        return optax.adam(learning_rate)
    if name == "sgd":
        return optax.sgd(learning_rate, momentum=momentum)
    raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {name!r}")


def train_contrastive(
    key: jax.Array,
    layers: tuple[Layer, ...],
    x: jax.Array,
    labels: jax.Array,
    augment: Callable[[jax.Array, jax.Array], jax.Array],
    prototypes: jax.Array,
    learning_rate,
    lam,
    *,
    loss: str | jax.Array,
    steps: int,
    tau=0.5,
    optimizer: str | jax.Array = "adam",
    momentum=0.9,
    similarity: str | jax.Array = "cosine",
    batch_size: int | None = None,
    loss_names: tuple[str, ...] = LOSSES,
    normalised=True,
    mask=None,
    active_steps=None,
    lambda_mean=None,
    step_keys: str = "split",
    history: bool = True,
) -> tuple[tuple[Layer, ...], jax.Array | None]:
    r"""Train the encoder SimCLR-style with loss :math:`\mathcal L_{CL} + \lambda\,\mathrm{CLOP}`.

    Each step draws a batch (all samples when ``batch_size`` is None, else ``batch_size`` indices
    without replacement), two augmented views :math:`x^{(1)}, x^{(2)}`, and minimises

    .. math::
        \mathcal L_{CL}(f(x^{(1)}), f(x^{(2)}))
        + \frac{\lambda}{2}\sum_{v=1,2}\sum_{i\in S\cap B}\big(1 - s(f(x_i^{(v)}), c_{y_i})\big)

    (Eq. 4 of paper 001, its sum over the labelled samples of the batch averaged over the two
    views; with ``lambda_mean`` true, :math:`\lambda` times the mean over the labelled rows of both
    views instead, as the authors' released loss computes it). Both views pass through the network
    together, so batch norm sees the 2B rows.

    Every choice may be static (one program per value) or traced (one program for all of them): the
    readings programs trace the optimiser, momentum, batch norm, width mask and step count.

    Args:
        key: training key (views, batches).
        layers: initial encoder.
        x: ``(n, d_in)`` inputs.
        labels: ``(n,)`` integer labels, negative for unlabelled samples.
        augment: ``augment(key, x_batch) -> view``.
        prototypes: ``(k, d_out)`` CLOP prototypes.
        learning_rate: traced scalar.
        lam: traced :math:`\lambda`; 0 switches CLOP off.
        loss: contrastive loss: a name (static), one of :data:`LOSSES`, or a traced integer index
            into ``loss_names`` (then ``lax.switch`` picks it, so one compilation serves all of
            them; keep the index unbatched under ``vmap``, or every branch runs).
        steps: optimiser steps (static): the scan's length.
        tau: temperature of the cosine losses (may be traced).
        optimizer: ``"adam"`` or ``"sgd"`` (static), or a traced boolean "Adam" (both optimisers'
            states are carried and the flag picks the update).
        momentum: SGD's heavy-ball momentum (may be traced).
        similarity: CLOP similarity: a name (static) or a traced index into
            :data:`simulations.training.losses.SIMILARITIES` (then ``lax.switch`` picks it, so one compilation
            serves all three).
        batch_size: minibatch size (static) or None for full batch.
        loss_names: the losses a traced ``loss`` index selects from (static; unused for a name);
            see :func:`indexed_loss`.
        normalised, mask: batch norm and hidden-unit mask of the encoder (see
            :func:`simulations.training.encoder.mlp_forward`).
        active_steps: ``None`` or a traced step count :math:`\le` ``steps``: updates after it are zero,
            so a run of fewer steps shares the program of the longest.
        lambda_mean: ``None`` (the sum of Eq. 4) or a traced boolean: the mean over the labelled rows.
        step_keys: ``"split"`` (step t uses ``split(key, steps)[t]``) or ``"fold_in"`` (``fold_in(key, t)``:
            a run's first t steps do not depend on ``steps``).
        history: return the loss of every step (else ``None``, and only gradients are computed).

    Returns:
        ``(layers, loss_history)`` with the loss of every step (``None`` without ``history``).

    Raises:
        ValueError: unknown loss name (in ``loss`` or ``loss_names``), optimiser or ``step_keys``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from simulations.training.encoder import init_mlp
        >>> x = jax.random.normal(jax.random.key(0), (20, 3))
        >>> aug = lambda k, x: x + 0.1 * jax.random.normal(k, x.shape)
        >>> net = init_mlp(jax.random.key(1), (3, 8, 3))
        >>> c = jnp.eye(3)
        >>> _, hist = train_contrastive(jax.random.key(2), net, x, jnp.arange(20) % 3, aug, c, 1e-2, 1.0,
        ...                             loss="infonce", steps=5)
        >>> hist.shape
        (5,)

        The same run with the loss picked by an index computes the same history:

        >>> _, hist2 = train_contrastive(jax.random.key(2), net, x, jnp.arange(20) % 3, aug, c, 1e-2, 1.0,
        ...                              loss=jnp.asarray(1), loss_names=("dcl", "infonce"), steps=5)
        >>> bool(jnp.allclose(hist, hist2, rtol=1e-5))
        True

        A traced step count freezes the run after it: 3 of 5 steps is the 3-step run.

        >>> kw = dict(loss="infonce", step_keys="fold_in", optimizer=jnp.asarray(True))
        >>> a, _ = train_contrastive(jax.random.key(2), net, x, jnp.arange(20) % 3, aug, c, 1e-2, 1.0, steps=5,
        ...                          active_steps=jnp.asarray(3), **kw)
        >>> b, _ = train_contrastive(jax.random.key(2), net, x, jnp.arange(20) % 3, aug, c, 1e-2, 1.0, steps=3, **kw)
        >>> bool(jnp.allclose(a[0].w, b[0].w))
        True
    """
    names = (loss,) if isinstance(loss, str) else tuple(loss_names)
    check_loss_names(names)
    if not names:
        raise ValueError("loss_names must not be empty")
    if step_keys not in ("split", "fold_in"):
        raise ValueError(f"step_keys must be split or fold_in; got {step_keys!r}")
    # One name: the loss is inlined as for a static name (index 0 is the only valid value), so a
    # single-loss program is the same program as before losses could be indexed.
    switched_loss = None if len(names) == 1 else indexed_loss(names, tau)
    n = x.shape[0]
    if isinstance(optimizer, str):
        optimizers = (make_optimizer(optimizer, learning_rate, momentum),)
    else:  # a traced "Adam" flag: both optimisers step, the flag picks the update
        optimizers = (optax.adam(learning_rate), optax.sgd(learning_rate, momentum=momentum))
    labelled = labels >= 0
    safe_labels = jnp.where(labelled, labels, 0)

    def objective(params, step_key):
        kb, k1, k2 = jax.random.split(step_key, 3)
        if batch_size is None or batch_size >= n:
            idx = jnp.arange(n)
        else:
            idx = jax.random.choice(kb, n, (batch_size,), replace=False)
        xb = x[idx]
        b = xb.shape[0]
        z, _ = mlp_forward(params, jnp.concatenate([augment(k1, xb), augment(k2, xb)]), normalised=normalised, mask=mask)
        z1, z2 = z[:b], z[b:]
        if switched_loss is None:
            main = contrastive_loss(names[0], z1, z2, labels[idx], tau).astype(z.dtype)
        else:
            main = switched_loss(loss, z1, z2, labels[idx])
        yl, ml = safe_labels[idx], labelled[idx]
        yy, mm = jnp.concatenate([yl, yl]), jnp.concatenate([ml, ml])
        # 0.5: Eq. 4's sum over the labelled samples, averaged over the two views
        scale = 0.5 if lambda_mean is None else jnp.where(lambda_mean, 1.0 / jnp.maximum(jnp.sum(mm), 1), 0.5).astype(z.dtype)
        if isinstance(similarity, str):
            clop = scale * losses.clop_term(z, yy, prototypes, 1.0, similarity, mm)
        else:
            branches = [
                functools.partial(losses.clop_term, lam=1.0, similarity=name, mask=mm)
                for name in losses.SIMILARITIES
            ]
            clop = scale * jax.lax.switch(similarity, branches, z, yy, prototypes)
        return main + lam * clop

    def step(carry, step_input):
        params, states = carry[0], carry[1:]
        if step_keys == "split":
            step_index, step_key = None, step_input
        else:
            step_index, step_key = step_input, jax.random.fold_in(key, step_input)
        if history:
            value, grads = jax.value_and_grad(objective)(params, step_key)
        else:
            value, grads = None, jax.grad(objective)(params, step_key)
        moves = [opt.update(grads, state, params) for opt, state in zip(optimizers, states)]
        if len(moves) == 1:
            updates = moves[0][0]
        else:
            updates = jax.tree_util.tree_map(lambda a, s: jnp.where(optimizer, a, s), moves[0][0], moves[1][0])
        if active_steps is not None:
            if step_index is None:
                raise ValueError("active_steps needs step_keys='fold_in'")
            updates = jax.tree_util.tree_map(lambda u: jnp.where(step_index < active_steps, u, 0.0), updates)
        return (optax.apply_updates(params, updates), *(state for _, state in moves)), value

    xs = jax.random.split(key, steps) if step_keys == "split" else jnp.arange(steps)
    carry, values = jax.lax.scan(step, (layers, *(opt.init(layers) for opt in optimizers)), xs)
    return carry[0], values
