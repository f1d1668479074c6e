"""One compiled program per experiment grid: trial keys, ``jit(vmap(points) of vmap(seeds))``, table rows.

Trial t of a grid uses ``fold_in(key(base_seed), t)``, so its result does not depend on how many seeds
or grid points run beside it.

**Devices and processes.** The grid's points are split over every device JAX sees with the collapse
engine's sharding module (:mod:`simulations.collapse.sharding`: ``shard_map`` over the ``"runs"`` axis,
``jax.distributed`` for several processes): :func:`spread` pads the point arrays to a multiple of the
devices and places them, :func:`share` places the arguments every trial sees, :func:`collect` brings
the results back to every process and drops the padding. On one device the program, its inputs and
its outputs are exactly those of the unsharded grid.
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from simulations.collapse import sharding

__all__ = ["trial_keys", "compile_grid", "spread", "share", "collect", "summary_row"]

def trial_keys(base_seed: int, seeds: int) -> jax.Array:
    """The key of each trial: ``fold_in(key(base_seed), t)`` for ``t < seeds``.

    Example:
        >>> trial_keys(0, 3).shape
        (3,)
    """
    return jax.vmap(lambda t: jax.random.fold_in(jax.random.key(base_seed), t))(jnp.arange(seeds))

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

        def over_points(*points_then_common):
            points, common_args = points_then_common[:len(point_args)], points_then_common[len(point_args):]

            def over_seeds(*point):
                if per_trial is None:
                    return jax.vmap(lambda key: trial(key, *common_args, *point))(keys)
                return jax.vmap(lambda key, extra: trial(key, extra, *common_args, *point))(keys, per_trial)

            return jax.vmap(over_seeds)(*points)

        return sharding.shard_batch(over_points, len(point_args), shared, check_vma=False)(*point_args, *common)

    return jax.jit(grid)


def spread(point_args: list) -> tuple[list, int]:
    """The point arrays of a :func:`compile_grid` call, padded (last point repeated) and placed over the devices.

    Returns ``(arrays, points)``: ``points`` is the number of real points (see :func:`collect`).

    Example:
        >>> import jax.numpy as jnp
        >>> arrays, points = spread([jnp.array([0.1, 0.2, 0.3])])
        >>> len(arrays[0]) % sharding.device_count(), points
        (0, 3)
    """
    points = len(point_args[0])
    padded = sharding.pad_batch(points, sharding.device_count())
    if padded != points:
        point_args = [jnp.concatenate([a, jnp.repeat(a[-1:], padded - points, axis=0)]) for a in point_args]
    return [sharding.put_batch(a) for a in point_args], points


def share(args: tuple) -> tuple:
    """The shared arguments of a :func:`compile_grid` call (pytrees; ``None`` stays ``None``), placed on every device.

    Example:
        >>> share((None, 1.0))
        (None, 1.0)
    """
    return tuple(jax.tree.map(sharding.put_replicated, a) for a in args)


def collect(out, points: int):
    """A :func:`compile_grid` call's results as NumPy arrays in every process, the padding points dropped.

    Example:
        >>> import jax.numpy as jnp
        >>> collect((jnp.arange(4.0),), 3)[0].tolist()
        [0.0, 1.0, 2.0]
    """
    return jax.tree.map(lambda a: np.asarray(a)[:points], sharding.fetch(out))

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
