"""Theorem 1 of the CLOP paper, derived: closed forms, symbolic derivations, calculators, errata.

Knows nothing of the simulators. Numeric calculators (numpy, imported on first use): :func:`eta_max`,
:func:`paper_eta_max`, :func:`mean_shift_factor`, :func:`expected_update_norm_sq`. The names and
checks every layer shares (rule names, the rule/temperature check, the training collapse criterion):
:mod:`theory.definitions`, which the simulators import without loading any formula. Symbolic parts
(sympy, imported on first use): :func:`derive` (:mod:`theory.derivation`), :func:`errata`
(:mod:`theory.comparison`), the printed claims (:mod:`theory.printed`) and Monte Carlo estimates
(:mod:`theory.montecarlo`).

Example:
    >>> import theory
    >>> round(theory.eta_max(30), 6), theory.paper_eta_max(30) < theory.eta_max(30)
    (2.071429, True)
"""
import importlib

__all__ = ["eta_max", "paper_eta_max", "mean_shift_factor", "expected_update_norm_sq", "derive", "errata"]

_SUBMODULES = {"derivation", "comparison", "printed", "montecarlo", "bounds", "stability", "definitions", "clop"}

#: The calculators served from :mod:`theory.bounds` on first use, so that importing
#: :mod:`theory.definitions` (as the simulators do) loads no bound.
_CALCULATORS = ("eta_max", "paper_eta_max", "mean_shift_factor", "expected_update_norm_sq")


def derive():
    r"""The step-by-step sympy derivation of Theorem 1 (see :func:`theory.derivation.derive`).

    Example:
        >>> derive()["expected_norm_sq"]     # E||x_i^(1)||^2 = 1 + eta^2/(k-1)
        eta**2/(k - 1) + 1
    """
    from theory.derivation import derive as _derive

    return _derive()


def errata() -> list[dict]:
    """Every printed Theorem 1 expression against the derivation, one dict per comparison.

    Keys: ``location``, ``quantity``, ``status`` ("agrees" | "differs"), ``printed``, ``derived``,
    ``difference`` (sympy strings in k, eta, epsilon), ``example`` (values at small k),
    ``compared_with``, ``key``, ``note``, ``latex``. See :mod:`theory.comparison`.

    Example:
        >>> sum(e["status"] == "differs" for e in errata()) > 0
        True
    """
    from theory.comparison import errata_as_dicts

    return errata_as_dicts()


def __getattr__(name):
    if name in _CALCULATORS:
        return getattr(importlib.import_module("theory.bounds"), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"theory.{name}")
    raise AttributeError(f"module 'theory' has no attribute {name!r}")
