r"""Spread a flat batch of independent runs over every visible device with :func:`jax.shard_map`.

The simulators treat each (learning rate, seed) pair as an independent run, so the batch axis can be
split across devices with no communication at all: :func:`shard_batch` wraps a per-batch function in
``shard_map`` over a one-axis mesh named ``"runs"`` (an Auto-sharded ``jit`` would instead insert an
all-reduce per loop iteration). On one device it returns the function unchanged. Because every run
draws its initial embeddings from its own key, results do not depend on the number of devices.

Multi-GPU: the same code uses all local GPUs. Several hosts: call :func:`jax.distributed.initialize`
on every host before the first JAX call; ``jax.devices()`` then lists all hosts' devices and the batch
is split across them (each host must pass the same arguments).
"""
from __future__ import annotations

from typing import Callable

import jax
import numpy as np
from jax.sharding import Mesh, PartitionSpec

__all__ = ["AXIS", "device_count", "shard_batch", "pad_batch"]

#: Name of the mesh axis that carries the run batch.
AXIS = "runs"


def device_count() -> int:
    """Number of devices the batch is split over (all devices JAX sees).

    Example:
        >>> device_count() >= 1
        True
    """
    return jax.device_count()


def pad_batch(n: int, n_devices: int) -> int:
    """Smallest multiple of ``n_devices`` that is >= ``n`` (the padded batch size).

    Example:
        >>> pad_batch(5, 4), pad_batch(8, 4), pad_batch(3, 1)
        (8, 8, 3)
    """
    return -(-n // n_devices) * n_devices


def shard_batch(fn: Callable, n_batched: int, n_replicated: int, n_devices: int | None = None) -> Callable:
    """Wrap ``fn(*batched, *replicated)`` so that its leading batch axis is split over devices.

    Args:
        fn: function whose first ``n_batched`` arguments and all outputs carry the batch on axis 0;
            the last ``n_replicated`` arguments are shared by every run.
        n_batched: number of batched arguments.
        n_replicated: number of replicated arguments.
        n_devices: devices to use (default: all); the batch size must be a multiple of it
            (see :func:`pad_batch`).

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
    mesh = Mesh(np.array(jax.devices()[:n_devices]), (AXIS,))
    in_specs = (PartitionSpec(AXIS),) * n_batched + (PartitionSpec(),) * n_replicated
    return jax.shard_map(fn, mesh=mesh, in_specs=in_specs, out_specs=PartitionSpec(AXIS))
