"""The registry of checkable claims: each claim is a function that computes its verdict from evidence.

A claim module decorates a check function with :func:`claim`, giving the claim's id, where it is in
the paper, and the statement under test. The check returns ``(verdict, evidence)``; the verdict is
computed inside the check by the rule written in the function's docstring under ``Verdict rule:``,
and that paragraph is copied into the report next to the verdict, so a reader sees the rule that
produced it. A check that needs a part of the toolkit not built yet raises :class:`NotBuilt` and the
claim is reported as ``inconclusive`` with the reason.
"""
from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from claims.quotes import quotes_for

__all__ = [
    "VERDICTS",
    "KINDS",
    "ClaimSpec",
    "Context",
    "NotBuilt",
    "REGISTRY",
    "claim",
    "run_claim",
    "verdict_rule",
    "not_built_entry",
    "worst_case",
]

#: The verdicts a claim can receive. ``corrected``: the conclusion holds once a printed error is fixed.
#: ``not reproduced``: the printed effect appears under none of the readings of an under-specified setup
#: that were tried (the evidence lists them); ``refuted`` is kept for a setup the papers fix (one
#: admissible reading, or a mathematical statement); ``inconclusive``: the evidence cannot decide (it
#: says what would); ``not tested``: the claim needs data or compute this toolkit does not have (e.g.
#: CIFAR-100, ImageNet: no data set is available offline), listed so the report covers every claim.
VERDICTS = ("confirmed", "refuted", "corrected", "not reproduced", "inconclusive", "not tested")

#: What a claim is. ``paper``: a statement of papers 001-004 (the report's tally counts these only);
#: ``toolkit``: a finding of this toolkit (e.g. Theorem 1 as a bifurcation), judged by the same rules
#: but not a claim of the papers; ``open question``: a question a paper asks without answering it.
KINDS = ("paper", "toolkit", "open question")


class NotBuilt(RuntimeError):
    """Raised by a check whose evidence needs a part of the toolkit that is not available."""


@dataclass
class Context:
    """What every check receives: the size switch and a memo shared by checks within one report.

    ``quick`` selects small sizes (tests); ``memo`` lets two claims share one expensive computation
    (e.g. the collapse thresholds behind ``theorem1.tightness`` and ``figure3.bound_value``).
    """

    quick: bool = False
    memo: dict = field(default_factory=dict)

    def shared(self, key: str, compute: Callable[[], Any]) -> Any:
        """Compute ``compute()`` once per key within this context.

        Example:
            >>> ctx = Context()
            >>> ctx.shared("a", lambda: [1]) is ctx.shared("a", lambda: [2])
            True
        """
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]


@dataclass(frozen=True)
class ClaimSpec:
    """A registered claim: id, paper location, statement, figures to link, its check and its kind (:data:`KINDS`)."""

    id: str
    source: str
    statement: str
    check: Callable[[Context], tuple[str, dict]]
    figures: tuple[str, ...] = ()
    kind: str = "paper"

    @property
    def rule(self) -> str:
        """The ``Verdict rule:`` paragraph of the check's docstring."""
        return verdict_rule(self.check)


#: Registered claims by id, in registration (= report) order.
REGISTRY: dict[str, ClaimSpec] = {}


def verdict_rule(fn: Callable) -> str:
    """Return the paragraph after ``Verdict rule:`` in ``fn``'s docstring, joined into one line.

    Example:
        >>> def f():
        ...     '''Check.
        ...
        ...     Verdict rule: confirmed if x;
        ...     refuted otherwise.
        ...     '''
        >>> verdict_rule(f)
        'confirmed if x; refuted otherwise.'
    """
    doc = inspect.getdoc(fn) or ""
    marker = "Verdict rule:"
    if marker not in doc:
        raise ValueError(f"the docstring of {fn.__name__} has no 'Verdict rule:' paragraph")
    paragraph = doc.split(marker, 1)[1].split("\n\n", 1)[0]
    return " ".join(paragraph.split())


def claim(id: str, *, source: str, statement: str, figures: tuple[str, ...] = (), kind: str = "paper"):
    """Register a check function as the claim ``id`` (decorator); the function is returned unchanged.

    ``kind`` (:data:`KINDS`): ``paper`` for a statement of papers 001-004, ``toolkit`` for a finding
    of this toolkit, ``open question`` for a question a paper leaves open.

    Raises:
        ValueError: if the id is already registered, the kind is unknown or the docstring states no
        verdict rule.

    Example:
        >>> @claim("doc.example", source="this docstring", statement="s", kind="toolkit")
        ... def check(ctx):
        ...     '''Check.
        ...
        ...     Verdict rule: confirmed always.
        ...     '''
        ...     return "confirmed", {}
        >>> REGISTRY.pop("doc.example").kind
        'toolkit'
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")

    def register(fn: Callable[[Context], tuple[str, dict]]):
        if id in REGISTRY:
            raise ValueError(f"claim id {id!r} registered twice")
        verdict_rule(fn)  # fail at import time if the rule is missing
        REGISTRY[id] = ClaimSpec(id=id, source=source, statement=statement, check=fn, figures=tuple(figures),
                                 kind=kind)
        return fn

    return register


def not_built_entry(id: str, source: str, statement: str, reason: str, kind: str = "paper") -> dict:
    """A report entry for a claim whose evidence cannot be computed yet (verdict ``inconclusive``).

    Example:
        >>> not_built_entry("x", "001", "s", "module missing")["verdict"]
        'inconclusive'
    """
    return {
        "id": id,
        "kind": kind,
        "source": source,
        "statement": statement,
        "verdict": "inconclusive",
        "rule": "inconclusive while the evidence cannot be computed.",
        "evidence": {"not_built": reason},
        "figures": [],
    }


def run_claim(spec: ClaimSpec, ctx: Context) -> dict:
    """Run one check and return its report entry (id, kind, source, statement, verdict, rule, evidence).

    A :class:`NotBuilt` from the check gives an ``inconclusive`` entry naming what is missing; a
    module that cannot be imported is an error, never a silently inconclusive claim. The entry records
    the check's wall time in ``seconds``, and the evidence carries the paper sentences the claim tests
    under ``quote`` (:data:`claims.quotes.QUOTES`).

    Raises:
        ValueError: if the check returns a verdict outside :data:`VERDICTS`.
    """
    start = time.perf_counter()
    try:
        verdict, evidence = spec.check(ctx)
    except NotBuilt as exc:
        entry = not_built_entry(spec.id, spec.source, spec.statement, f"{type(exc).__name__}: {exc}", spec.kind)
        entry["evidence"]["quote"] = quotes_for(spec.id)
        entry["seconds"] = round(time.perf_counter() - start, 3)
        return entry
    if verdict not in VERDICTS:
        raise ValueError(f"claim {spec.id} returned verdict {verdict!r}; expected one of {VERDICTS}")
    return {
        "id": spec.id,
        "kind": spec.kind,
        "source": spec.source,
        "statement": spec.statement,
        "verdict": verdict,
        "rule": spec.rule,
        "evidence": {**evidence, "quote": quotes_for(spec.id)},
        "figures": list(spec.figures),
        "seconds": round(time.perf_counter() - start, 3),
    }


def worst_case(printed_ok: bool, derived_ok: bool) -> str:
    """Verdict for a claim tested with the printed expression and with its derived correction.

    ``confirmed`` if the printed one passes, ``corrected`` if only the derived one does, ``refuted``
    if neither.

    Example:
        >>> worst_case(True, True), worst_case(False, True), worst_case(False, False)
        ('confirmed', 'corrected', 'refuted')
    """
    if printed_ok:
        return "confirmed"
    return "corrected" if derived_ok else "refuted"
