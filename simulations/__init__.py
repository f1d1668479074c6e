r"""JAX simulators of the class-embedding dynamics of paper 001 (Sections 3.1-3.2, Appendix D).

Pure update rules (:mod:`simulations.dynamics`), a batched runner (:func:`simulate`), metrics
(:mod:`simulations.metrics`), the collapse-threshold search (:func:`collapse_threshold`) and
sharding over devices (:mod:`simulations.sharding`).

Global effect: importing this package turns on ``jax_enable_x64`` for the whole process, because
the simulators default to float64 (collapse is judged at sigma_2 / sigma_1 = 1e-3, and tests compare
with closed forms to many digits). Pass ``dtype="float32"`` for float32 runs. JAX's global matmul
precision is *not* changed: the few Gram / overlap products pass ``precision=HIGHEST`` themselves, which
matters only on GPUs (TF32 for float32 matmuls) and changes nothing on CPU.
"""
import jax

jax.config.update("jax_enable_x64", True)

from simulations import metrics  # noqa: E402
from simulations.dynamics import RULES, autodiff_step, infonce_step, paper_step, step  # noqa: E402
from simulations.runner import SimulationResult, one_step_mean_shift, simulate  # noqa: E402
from simulations.threshold import ThresholdResult, collapse_threshold, collapse_thresholds  # noqa: E402

__all__ = [
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
    "step",
]
