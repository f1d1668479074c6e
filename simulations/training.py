"""Shared training and evaluation code of the CLOP experiments: MLP encoder, SimCLR-style loop, KNN, rank.

The encoder is a feed-forward network whose hidden layers are ``Linear -> BatchNorm -> ReLU`` with
batch norm in training mode (statistics of the current batch, computed functionally, no running
averages) and a final linear layer. :func:`train_contrastive` runs the SimCLR recipe (two augmented
views per sample, one contrastive loss on the pair, plus the CLOP term of paper 001 Eq. 4 on the
labelled samples) with ``lax.scan``; learning rate and :math:`\\lambda` are traced, so a run can be
vmapped over seeds, learning rates and CLOP on/off (:math:`\\lambda = 0`) with one compilation. The
contrastive loss may also be a traced index into a static tuple of names: with an index shared by
all vmapped runs (see ``shared`` in :func:`compile_grid`), ``lax.switch`` stays a real branch that
executes only the chosen loss, so one compilation of the network and optimiser serves every loss.
:func:`knn_accuracy` and :func:`effective_rank` are the evaluation metrics.
"""
from __future__ import annotations

import functools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from simulations import losses
from simulations.optim import apply_updates, make_optimizer

__all__ = [
    "LOSSES",
    "Layer",
    "init_mlp",
    "mlp_apply",
    "batch_norm",
    "contrastive_loss",
    "indexed_loss",
    "check_loss_names",
    "make_prototypes",
    "PROTOTYPES",
    "train_contrastive",
    "knn_predict",
    "knn_accuracy",
    "effective_rank",
    "compile_grid",
    "trial_keys",
    "prototype_bank",
    "summary_row",
]

#: Contrastive losses the experiments accept (names of functions in :mod:`simulations.losses`).
LOSSES = ("infonce", "dcl", "vicreg", "barlow_twins", "supcon")

#: Prototype kinds of the CLOP term.
PROTOTYPES = ("orthonormal", "etf", "random")


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
        >>> [l.w.shape for l in init_mlp(jax.random.key(0), (3, 8, 8, 3))]
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
        >>> import jax.numpy as jnp
        >>> out = batch_norm(jnp.array([[1.0], [3.0]]), jnp.ones(1), jnp.zeros(1), eps=0.0)
        >>> out.ravel().tolist()
        [-1.0, 1.0]
    """
    mean = jnp.mean(h, axis=0)
    var = jnp.var(h, axis=0)
    return gamma * (h - mean) / jnp.sqrt(var + eps) + beta


def mlp_apply(layers: tuple[Layer, ...], x: jax.Array) -> jax.Array:
    r"""Apply the encoder: ``ReLU(BN(x W + b))`` for each hidden layer, then a linear output layer.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> mlp_apply(init_mlp(jax.random.key(0), (3, 8, 2)), jnp.ones((5, 3))).shape
        (5, 2)
    """
    h = x
    for layer in layers[:-1]:
        h = jax.nn.relu(batch_norm(h @ layer.w + layer.b, layer.gamma, layer.beta))
    last = layers[-1]
    return h @ last.w + last.b


def contrastive_loss(name: str, z1: jax.Array, z2: jax.Array, labels: jax.Array, tau) -> jax.Array:
    r"""The loss ``name`` on a pair of views (``labels`` are only used by SupCon).

    For SupCon, rows with a negative label are unlabelled: each gets a class of its own shared with
    its other view, so its term is the InfoNCE term (semi-supervised SupCon).

    Raises:
        ValueError: unknown loss.

    Example:
        >>> import jax.numpy as jnp
        >>> z = jnp.eye(2)
        >>> bool(jnp.isclose(contrastive_loss("supcon", z, z, -jnp.ones(2, int), 1.0),
        ...                  contrastive_loss("infonce", z, z, None, 1.0)))
        True
    """
    if name == "infonce":
        return losses.infonce(z1, z2, tau)
    if name == "dcl":
        return losses.dcl(z1, z2, tau)
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
        >>> import jax, jax.numpy as jnp
        >>> z1, z2 = jnp.eye(3), jnp.eye(3)[::-1]
        >>> f = indexed_loss(("vicreg", "infonce"), tau=1.0)
        >>> bool(f(jnp.asarray(1), z1, z2, None) == contrastive_loss("infonce", z1, z2, None, 1.0))
        True
        >>> g = jax.grad(lambda a: f(jnp.asarray(0), a, z2, None))(z1)
        >>> bool(jnp.all(g == jax.grad(lambda a: contrastive_loss("vicreg", a, z2, None, 1.0))(z1)))
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


def make_prototypes(kind: str, key: jax.Array, k: int, d: int, dtype=jnp.float32) -> jax.Array:
    """Prototypes of the given kind (``orthonormal``, ``etf`` with a random rotation, or ``random``).

    Raises:
        ValueError: unknown kind.

    Example:
        >>> import jax
        >>> make_prototypes("etf", jax.random.key(0), 3, 4).shape
        (3, 4)
    """
    if kind == "orthonormal":
        c = losses.orthonormal_prototypes(key, k, d)
    elif kind == "etf":
        c = losses.etf_prototypes(k, d, key=key)
    elif kind == "random":
        c = losses.random_prototypes(key, k, d)
    else:
        raise ValueError(f"prototypes must be one of {', '.join(PROTOTYPES)}; got {kind!r}")
    return c.astype(dtype)


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
    tau: float = 0.5,
    optimizer: str = "adam",
    similarity: str | jax.Array = "cosine",
    batch_size: int | None = None,
    loss_names: tuple[str, ...] = LOSSES,
) -> tuple[tuple[Layer, ...], jax.Array]:
    r"""Train the encoder SimCLR-style with loss :math:`\mathcal L_{CL} + \lambda\,\mathrm{CLOP}`.

    Each step draws a batch (all samples when ``batch_size`` is None, else ``batch_size`` indices
    without replacement), two augmented views :math:`x^{(1)}, x^{(2)}`, and minimises

    .. math::
        \mathcal L_{CL}(f(x^{(1)}), f(x^{(2)}))
        + \frac{\lambda}{2}\sum_{v=1,2}\sum_{i\in S\cap B}\big(1 - s(f(x_i^{(v)}), c_{y_i})\big)

    (Eq. 4 of paper 001, its sum over the labelled samples of the batch averaged over the two
    views). Both views pass through the network together, so batch norm sees the 2B rows.

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
        steps: optimiser steps (static).
        tau: temperature of the cosine losses.
        optimizer: ``"adam"`` or ``"sgd"`` (momentum 0.9).
        similarity: CLOP similarity: a name (static) or a traced index into
            :data:`simulations.losses.SIMILARITIES` (then ``lax.switch`` picks it, so one compilation
            serves all three).
        batch_size: minibatch size (static) or None for full batch.
        loss_names: the losses a traced ``loss`` index selects from (static; unused for a name);
            see :func:`indexed_loss`.

    Returns:
        ``(layers, loss_history)`` with the loss of every step.

    Raises:
        ValueError: unknown loss name (in ``loss`` or ``loss_names``).

    Example:
        >>> import jax, jax.numpy as jnp
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
    """
    names = (loss,) if isinstance(loss, str) else tuple(loss_names)
    check_loss_names(names)
    if not names:
        raise ValueError("loss_names must not be empty")
    # One name: the loss is inlined as for a static name (index 0 is the only valid value), so a
    # single-loss program is the same program as before losses could be indexed.
    switched_loss = None if len(names) == 1 else indexed_loss(names, tau)
    n = x.shape[0]
    opt = make_optimizer(optimizer, learning_rate)
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
        z = mlp_apply(params, jnp.concatenate([augment(k1, xb), augment(k2, xb)]))
        z1, z2 = z[:b], z[b:]
        if switched_loss is None:
            main = contrastive_loss(names[0], z1, z2, labels[idx], tau)
        else:
            main = switched_loss(loss, z1, z2, labels[idx])
        yl, ml = safe_labels[idx], labelled[idx]
        zz, yy, mm = jnp.concatenate([z1, z2]), jnp.concatenate([yl, yl]), jnp.concatenate([ml, ml])
        if isinstance(similarity, str):
            clop = 0.5 * losses.clop_term(zz, yy, prototypes, 1.0, similarity, mm)
        else:
            branches = [
                functools.partial(losses.clop_term, lam=1.0, similarity=name, mask=mm)
                for name in losses.SIMILARITIES
            ]
            clop = 0.5 * jax.lax.switch(similarity, branches, zz, yy, prototypes)
        return main + lam * clop

    def step(carry, step_key):
        params, state = carry
        value, grads = jax.value_and_grad(objective)(params, step_key)
        updates, state = opt.update(grads, state, params)
        return (apply_updates(params, updates), state), value

    (params, _), history = jax.lax.scan(step, (layers, opt.init(layers)), jax.random.split(key, steps))
    return params, history


def knn_predict(train_z: jax.Array, train_y: jax.Array, test_z: jax.Array, num_classes: int, k: int = 5) -> jax.Array:
    r"""Majority vote of the ``k`` nearest training points (Euclidean distance), ties to the smaller class.

    Example:
        >>> import jax.numpy as jnp
        >>> tr = jnp.array([[0.0], [0.1], [1.0], [1.1], [1.2]])
        >>> knn_predict(tr, jnp.array([0, 0, 1, 1, 1]), jnp.array([[0.05], [1.05]]), 2, k=3).tolist()
        [0, 1]
    """
    return _vote(_sq_distances(test_z, train_z), train_y, num_classes, k)


def _sq_distances(a: jax.Array, b: jax.Array) -> jax.Array:
    return jnp.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=-1)


def _vote(d2: jax.Array, train_y: jax.Array, num_classes: int, k: int) -> jax.Array:
    _, idx = jax.lax.top_k(-d2, k)
    votes = jnp.sum(jax.nn.one_hot(train_y[idx], num_classes), axis=1)
    return jnp.argmax(votes, axis=1)


def knn_accuracy(z: jax.Array, y: jax.Array, labelled: jax.Array, num_classes: int, k: int = 5) -> jax.Array:
    r"""Accuracy on the unlabelled rows of a KNN classifier fitted on the labelled rows.

    .. math:: \mathrm{acc} = \frac{1}{|U|}\sum_{i\in U}[\hat y_{kNN}(z_i) = y_i]

    The mask keeps shapes static (distances to unlabelled rows are set to infinity), so the
    function can be jitted and vmapped over seeds.

    Example:
        >>> import jax.numpy as jnp
        >>> z = jnp.array([[0.0], [0.1], [0.2], [1.0], [1.1], [1.2]])
        >>> y = jnp.array([0, 0, 0, 1, 1, 1])
        >>> float(knn_accuracy(z, y, jnp.array([1, 1, 0, 1, 1, 0], bool), 2, k=1))
        1.0
    """
    n = z.shape[0]
    d2 = jnp.where(labelled[None, :], _sq_distances(z, z), jnp.inf)
    correct = (_vote(d2, y, num_classes, k) == y) & ~labelled
    return jnp.sum(correct) / jnp.maximum(n - jnp.sum(labelled), 1)


def effective_rank(z: jax.Array) -> jax.Array:
    r"""Effective rank of an embedding matrix (Roy & Vetterli, 2007).

    With :math:`\sigma_j` the singular values of ``z`` and :math:`p_j = \sigma_j/\sum_l\sigma_l`,

    .. math:: \mathrm{erank}(Z) = \exp\Big(-\sum_j p_j\log p_j\Big) \in [1, \min(n, d)] .

    Example:
        >>> import jax.numpy as jnp
        >>> round(float(effective_rank(jnp.eye(3))), 6), round(float(effective_rank(jnp.ones((4, 3)))), 6)
        (3.0, 1.0)
    """
    s = jnp.linalg.svd(z, compute_uv=False)
    p = s / jnp.maximum(jnp.sum(s), 1e-30)
    return jnp.exp(-jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0)))


def trial_keys(base_seed: int, seeds: int) -> jax.Array:
    """The key of each trial: ``fold_in(key(base_seed), t)`` for ``t < seeds``.

    Example:
        >>> trial_keys(0, 3).shape
        (3,)
    """
    return jax.vmap(lambda t: jax.random.fold_in(jax.random.key(base_seed), t))(jnp.arange(seeds))


def prototype_bank(keys: jax.Array, k: int, d: int, dtype=jnp.float32) -> jax.Array:
    """Prototypes of every kind for every trial key, ``[trial, kind, k, d]`` (kinds as :data:`PROTOTYPES`).

    Built eagerly, outside the compiled training graph: XLA's CPU SVD inside a vmapped ``lax.switch``
    roughly doubled compile time. Each trial's prototypes use ``split(key, 4)[2]``.

    Example:
        >>> import jax.numpy as jnp
        >>> bank = prototype_bank(trial_keys(0, 2), 3, 4)
        >>> bank.shape, bool(jnp.allclose(bank[0, 0] @ bank[0, 0].T, jnp.eye(3), atol=1e-5))
        ((2, 3, 3, 4), True)
    """
    rows = []
    for t in range(keys.shape[0]):
        k_proto = jax.random.split(keys[t], 4)[2]
        rows.append(jnp.stack([make_prototypes(kind, k_proto, k, d, dtype) for kind in PROTOTYPES]))
    return jnp.stack(rows)


def compile_grid(trial: Callable, base_seed: int, seeds: int, per_trial=None, shared: int = 0) -> Callable:
    """``jit(vmap over grid points of vmap over seeds)`` of ``trial(key, [per_trial_t,] *shared_args, *point_args)``.

    Trial t gets the key ``trial_keys(base_seed, seeds)[t]`` (and ``per_trial[t]`` when given), so
    its result does not depend on how many seeds or grid points run beside it. The returned function
    takes ``shared`` arguments passed unbatched to every trial (e.g. a loss index for ``lax.switch``,
    which then stays a real branch instead of running every case), then one array per point argument
    (leading axis = points), and returns ``trial``'s outputs with leading axes ``[point, seed]``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> f = compile_grid(lambda key, a: a + jax.random.uniform(key), 0, 3)
        >>> f(jnp.array([0.0, 10.0])).shape
        (2, 3)
        >>> g = compile_grid(lambda key, s, a: s * a + jax.random.uniform(key), 0, 3, shared=1)
        >>> bool(jnp.allclose(g(1.0, jnp.array([0.0, 10.0])), f(jnp.array([0.0, 10.0]))))
        True
    """
    keys = trial_keys(base_seed, seeds)

    def grid(*args):
        common, point_args = args[:shared], args[shared:]

        def over_seeds(*point):
            if per_trial is None:
                return jax.vmap(lambda key: trial(key, *common, *point))(keys)
            return jax.vmap(lambda key, extra: trial(key, extra, *common, *point))(keys, per_trial)

        return jax.vmap(over_seeds)(*point_args)

    return jax.jit(grid)


def summary_row(loss: str, clop: bool, prototypes: str, lam: float, similarity: str, accuracy, erank, **extra) -> dict:
    """One row of a results table: the issue's JSON shape plus standard deviations and extras.

    Example:
        >>> summary_row("infonce", False, "orthonormal", 1.0, "cosine", [0.5, 0.7], [2.0, 2.0])["accuracy_mean"]
        0.6
    """
    import numpy as np

    row = {
        "loss": loss,
        "clop": bool(clop),
        "prototypes": prototypes if clop else None,
        "lambda": float(lam) if clop else 0.0,
        "similarity": similarity if clop else None,
        "accuracy_mean": float(np.mean(accuracy)),
        "accuracy_std": float(np.std(accuracy)),
        "effective_rank_mean": float(np.mean(erank)),
        "effective_rank_std": float(np.std(erank)),
        "seeds": int(np.size(accuracy)),
    }
    row.update(extra)
    return row
