r"""Neural collapse versus dimensional collapse with hard negatives in the unconstrained-features model (paper 003).

Paper 003 (``003_c9824515a529ad98.txt``, abstract only) claims that the supervised, hard-supervised and
unsupervised contrastive risks (SCL, HSCL, UCL) are minimised by neural collapse (class means on a
simplex ETF, each class mapped to one point), that the hard-negative risks are bounded below by the
plain ones, and that Adam reaches NC only with hard negatives *and* unit-ball or unit-sphere feature
normalisation, ending in dimensional collapse otherwise. :mod:`simulations.neural_collapse.model`
holds the model (free features, the four risks, the three normalisations, 001's CLOP term) and the
batched Adam trainer; the metrics are in :mod:`simulations.collapse_metrics`.
"""
from simulations.neural_collapse.model import (
    HARDENINGS,
    LOSS_KINDS,
    NORMALISATIONS,
    PSIS,
    UFMConfig,
    arrangement,
    contrastive_risk,
    grid_runs,
    hardening_weights,
    normalise_features,
    train,
)

__all__ = [
    "HARDENINGS",
    "LOSS_KINDS",
    "NORMALISATIONS",
    "PSIS",
    "UFMConfig",
    "arrangement",
    "contrastive_risk",
    "grid_runs",
    "hardening_weights",
    "normalise_features",
    "train",
]
