r"""The collapse dynamics of paper 001 (Section 3.1, Appendix D; Section 3.2): k class embeddings on the sphere.

Pure update rules ``step(X, eta) -> X`` (:mod:`~simulations.collapse.dynamics`: ``paper``, ``autodiff``,
``infonce``), the batched runner (:mod:`~simulations.collapse.runner`: ``jit`` + ``vmap`` + ``scan``,
span reduction), the collapse-threshold search (:mod:`~simulations.collapse.threshold`) with its
early-stopping run outcomes (:mod:`~simulations.collapse.outcomes`), and the split of runs over devices
and processes (:mod:`~simulations.collapse.sharding`).

Example:
    >>> from simulations.collapse import simulate
    >>> simulate(5, [6.0], m=10, steps=200).collapsed.tolist()
    [[True]]
"""
from simulations.collapse.dynamics import RULES, autodiff_step, infonce_step, paper_step, step
from simulations.collapse.runner import SimulationResult, one_step_mean_shift, simulate, simulation_memory
from simulations.collapse.threshold import REFINE_POINTS, ThresholdResult, collapse_threshold, collapse_thresholds

__all__ = [
    "REFINE_POINTS",
    "RULES",
    "SimulationResult",
    "ThresholdResult",
    "autodiff_step",
    "collapse_threshold",
    "collapse_thresholds",
    "infonce_step",
    "one_step_mean_shift",
    "paper_step",
    "simulate",
    "simulation_memory",
    "step",
]
