"""The claims report: every numbered claim of the CLOP paper verified, refuted or corrected, with evidence.

Each claim is a check function registered in :mod:`claims.registry` (modules :mod:`claims.lemma1`,
:mod:`claims.theorem1`, :mod:`claims.geometry`, :mod:`claims.dynamics`) that computes its verdict from
evidence by the rule in its docstring. :func:`build_report` runs them, :func:`write_report` writes
``report.json`` and ``report.md`` atomically, and :func:`findings_table` renders the README's table
from a ``report.json``.

Example:
    >>> from claims import build_report
    >>> build_report(quick=True, only=["lemma2"], progress=False)["claims"][0]["verdict"]
    'confirmed'
"""
from claims.registry import REGISTRY, VERDICTS, Context, NotBuilt, claim
from claims.report import DEFAULT_OUT, build_report, claim_ids, findings_table, render_markdown, write_report

__all__ = [
    "REGISTRY",
    "VERDICTS",
    "Context",
    "NotBuilt",
    "claim",
    "DEFAULT_OUT",
    "build_report",
    "claim_ids",
    "findings_table",
    "render_markdown",
    "write_report",
]
