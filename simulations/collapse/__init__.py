r"""The collapse dynamics of paper 001 (Section 3.1, Appendix D; Section 3.2): k class embeddings on the sphere.

Pure update rules ``step(X, eta) -> X`` (:mod:`~simulations.collapse.dynamics`: ``paper``, ``autodiff``,
``infonce``); the one engine that runs them in batches (:mod:`~simulations.collapse.engine`: init/step
programs with ``jit`` + ``vmap`` + ``scan`` and the span reduction, and the host driver whose observers
record spectra, final states, sticky status and the early stop); and its clients: :func:`simulate`
(:mod:`~simulations.collapse.runner`), the collapse-threshold search (:mod:`~simulations.collapse.threshold`)
with its early-stopping run outcomes and certificates (:mod:`~simulations.collapse.outcomes`), and runs
from given states (:mod:`~simulations.collapse.from_state`). :mod:`~simulations.collapse.sharding` splits
the runs over devices and processes.

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
