r"""Simulators of paper 001, in two rooms: the collapse dynamics and the CLOP training experiments.

- :mod:`simulations.collapse`: the class-embedding dynamics of Sections 3.1-3.2 and Appendix D
  (update rules, the batched runner :func:`simulate`, the threshold search :func:`collapse_threshold`,
  sharding over devices);
- :mod:`simulations.training`: the contrastive-training experiments of Section 4 and Appendix B
  (losses, encoder, objective switch, prototypes, optax trainer, evaluation, synthetic and digits data);
- :mod:`simulations.metrics`: measurements shared by both (spectra, collapse, effective rank, cosines).

Importing this package changes no JAX setting. The collapse simulators default to float64 and enable
64-bit mode only for the duration of their own computation (``jax.enable_x64``); pass
``dtype="float32"`` for float32 runs. The training experiments run in float32.

Example:
    >>> import jax, simulations
    >>> bool(jax.config.jax_enable_x64) == bool(int(__import__("os").environ.get("JAX_ENABLE_X64", "0")))
    True
"""
from simulations import metrics
from simulations.collapse import (
    REFINE_POINTS,
    RULES,
    SimulationResult,
    ThresholdResult,
    autodiff_step,
    collapse_threshold,
    collapse_thresholds,
    infonce_step,
    one_step_mean_shift,
    paper_step,
    simulate,
    simulation_memory,
    step,
)

__all__ = [
    "REFINE_POINTS",
    "RULES",
    "SimulationResult",
    "ThresholdResult",
    "collapse_threshold",
    "collapse_thresholds",
    "autodiff_step",
    "infonce_step",
    "metrics",
    "one_step_mean_shift",
    "paper_step",
    "simulate",
    "simulation_memory",
    "step",
]
