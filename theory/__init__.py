"""Theorem 1 of the CLOP paper, derived: closed forms, symbolic derivations, calculators, errata.

Knows nothing of the simulators. Public API: :func:`eta_max`, :func:`paper_eta_max`,
:func:`mean_shift_factor`, :func:`expected_update_norm_sq`.
"""
from theory.bounds import eta_max, paper_eta_max, mean_shift_factor, expected_update_norm_sq

__all__ = ["eta_max", "paper_eta_max", "mean_shift_factor", "expected_update_norm_sq"]
