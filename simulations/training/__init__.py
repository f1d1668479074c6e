r"""The CLOP training experiments of paper 001 (Section 4, Appendix B) and paper 004, one module per concern.

- :mod:`~simulations.training.losses`: InfoNCE, DCL, SupCon, VICReg, Barlow Twins and the CLOP term (Eq. 4);
- :mod:`~simulations.training.encoder`: the MLP with batch norm;
- :mod:`~simulations.training.objectives`: a loss by name, or by traced index (one program for every loss);
- :mod:`~simulations.training.prototypes`: orthonormal, ETF and random prototypes;
- :mod:`~simulations.training.trainer`: the SimCLR-style loop on optax;
- :mod:`~simulations.training.evaluation`: k-NN accuracy, linear probe, effective rank;
- :mod:`~simulations.training.grid`: one compiled program per grid of points x seeds;
- :mod:`~simulations.training.driver`: the one driver (tasks, compiled grids and their one cache, tables);
- :mod:`~simulations.training.synthetic` and :mod:`~simulations.training.digits`: the two data sets and
  their tables (the driver's two tasks);
- :mod:`~simulations.training.readings`: Table 5 under every reading of its open setup and the network
  learning-rate sweeps, with the same data, trainer, k-NN and cache (every open choice traced).

Example:
    >>> from simulations.training import LOSSES, PROTOTYPES
    >>> LOSSES[0], PROTOTYPES[0]
    ('infonce', 'orthonormal')
"""
from simulations.training.objectives import LOSSES
from simulations.training.prototypes import PROTOTYPES

__all__ = ["LOSSES", "PROTOTYPES"]
