r"""Spread a flat batch of independent runs over every visible device with :func:`jax.shard_map`.

The simulators treat each (learning rate, seed) pair as an independent run, so the batch axis can be
split across devices with no communication at all: :func:`shard_batch` wraps a per-batch function in
``shard_map`` over a one-axis mesh named ``"runs"`` (an Auto-sharded ``jit`` would instead insert an
all-reduce per loop iteration). On one device it returns the function unchanged. Because every run
draws its initial embeddings from its own key, results do not depend on the number of devices.

Multi-GPU: the same code uses all local GPUs. Several hosts or processes: call
:func:`jax.distributed.initialize` in every process before the first JAX call; ``jax.devices()`` then
lists all processes' devices and the batch is split across them. Every process must make the same
calls with the same arguments. Inputs become global arrays with :func:`put_batch` /
:func:`put_replicated` (each process builds the shards it holds from its own copy), and results come
back to every process with :func:`fetch` (``process_allgather``: ``jax.device_get`` cannot read shards
that live in another process). On CPU the processes talk through JAX's default CPU collectives (gloo
over TCP in jax 0.10); the test suite runs two local processes with one CPU device each.
"""
from __future__ import annotations

from typing import Callable

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

__all__ = ["AXIS", "device_count", "shard_batch", "pad_batch", "put_batch", "put_replicated", "fetch"]

#: Name of the mesh axis that carries the run batch.
AXIS = "runs"


def device_count() -> int:
    """Number of devices the batch is split over (all devices JAX sees).

    Example (a batch padded for the devices splits evenly over them):
        >>> pad_batch(5, device_count()) % device_count()
        0
    """
    return jax.device_count()


def pad_batch(n: int, n_devices: int) -> int:
    """Smallest multiple of ``n_devices`` that is >= ``n`` (the padded batch size).

    Example:
        >>> pad_batch(5, 4), pad_batch(8, 4), pad_batch(3, 1)
        (8, 8, 3)
    """
    return -(-n // n_devices) * n_devices


def shard_batch(fn: Callable, n_batched: int, n_replicated: int, n_devices: int | None = None, *,
                check_vma: bool = True) -> Callable:
    """Wrap ``fn(*batched, *replicated)`` so that its leading batch axis is split over devices.

    Args:
        fn: function whose first ``n_batched`` arguments and all outputs carry the batch on axis 0;
            the last ``n_replicated`` arguments are shared by every run.
        n_batched: number of batched arguments.
        n_replicated: number of replicated arguments.
        n_devices: devices to use (default: all); the batch size must be a multiple of it
            (see :func:`pad_batch`).
        check_vma: ``shard_map``'s check that loop carries vary over the mesh axis as their updates do;
            ``False`` for functions whose carries start from values closed over (the training grids
            initialise each network from per-trial constants), which need no collectives either way.

    Returns:
        ``fn`` itself on one device, else ``jax.shard_map(fn, ...)`` (to be wrapped in ``jit``).

    Example:
        >>> import jax.numpy as jnp
        >>> g = shard_batch(lambda x, c: x * c, 1, 1)
        >>> g(jnp.arange(4.0), jnp.float32(2.0)).tolist()
        [0.0, 2.0, 4.0, 6.0]
    """
    n_devices = n_devices or device_count()
    if n_devices == 1:
        return fn
    mesh = _mesh(n_devices)
    in_specs = (PartitionSpec(AXIS),) * n_batched + (PartitionSpec(),) * n_replicated
    return jax.shard_map(fn, mesh=mesh, in_specs=in_specs, out_specs=PartitionSpec(AXIS), check_vma=check_vma)


def _mesh(n_devices: int) -> Mesh:
    return Mesh(np.array(jax.devices()[:n_devices]), (AXIS,))


def _multi_process() -> bool:
    return jax.process_count() > 1


def put_batch(array, n_devices: int | None = None):
    """A batched input (batch on axis 0) ready for a :func:`shard_batch` program.

    With one process the NumPy array itself (``jit`` places it); with several processes
    (``jax.distributed``) a global array split over the ``"runs"`` axis, each process supplying its
    own shards from its copy of ``array`` (all processes hold the same values).

    Example:
        >>> put_batch(np.arange(4.0)).tolist()
        [0.0, 1.0, 2.0, 3.0]
    """
    if not _multi_process():
        return array
    array = np.asarray(array)
    sharding = NamedSharding(_mesh(n_devices or device_count()), PartitionSpec(AXIS))
    return jax.make_array_from_callback(array.shape, sharding, lambda index: array[index])


def put_replicated(array, n_devices: int | None = None):
    """An input every device sees whole (for example the temperature); see :func:`put_batch`.

    Example:
        >>> float(put_replicated(np.float64(0.5)))
        0.5
    """
    if not _multi_process():
        return array
    array = np.asarray(array)
    sharding = NamedSharding(_mesh(n_devices or device_count()), PartitionSpec())
    return jax.make_array_from_callback(array.shape, sharding, lambda index: array[index])


def fetch(tree):
    """The values of a pytree of (possibly sharded) arrays as NumPy arrays, in every process.

    One process: :func:`jax.device_get`. Several processes: arrays with shards in other processes are
    gathered with :func:`jax.experimental.multihost_utils.process_allgather` (a collective: every
    process must call :func:`fetch` at the same point).

    Example:
        >>> import jax.numpy as jnp
        >>> fetch({"a": jnp.arange(3)})["a"].tolist()
        [0, 1, 2]
    """
    if not _multi_process():
        return jax.device_get(tree)
    from jax.experimental import multihost_utils

    return jax.tree.map(lambda a: np.asarray(multihost_utils.process_allgather(a, tiled=True))
                        if isinstance(a, jax.Array) else a, tree)
