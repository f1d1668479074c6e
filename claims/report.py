"""Build, write and summarise the claims report: ``report.json`` (machine-readable) and ``report.md``.

:func:`build_report` runs every claim registered by the modules of :data:`CLAIM_MODULES` (in
:data:`CLAIM_ORDER`, then registration order), printing one progress line per claim on stderr. Every entry has a ``kind`` (:data:`claims.registry.KINDS`): the tally (``summary``) counts the
papers' claims only; the toolkit's own findings and the papers' open questions get their own sections. :func:`write_report` writes both files atomically with :func:`results.io.run_metadata`.
:func:`findings_table` turns a ``report.json`` into the README's markdown findings table, so the
README can be regenerated from the report rather than typed.
"""
from __future__ import annotations

import importlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Iterable

from claims.registry import KINDS, REGISTRY, VERDICTS, Context, run_claim
from results.settings import default_out

__all__ = ["CLAIM_ORDER", "CLAIM_MODULES", "DEFAULT_OUT", "FIGURES_DIR", "KIND_TITLES",
           "build_report", "write_report", "render_markdown", "findings_table", "one_line_evidence", "claim_ids",
           "tally"]

#: Modules whose import registers claims.
CLAIM_MODULES = ("claims.lemma1", "claims.theorem1", "claims.geometry", "claims.dynamics", "claims.nc003",
                 "claims.stability", "claims.clop_theory", "claims.coverage", "claims.clop_claims")

#: Report order (the issue's order); registered claims not listed here follow at the end.
CLAIM_ORDER = (
    "lemma1.stationary",
    "lemma1.local_minimum",
    "theorem1.expected_norm",
    "theorem1.inequality",
    "theorem1.closed_form",
    "theorem1.tightness",
    "figure3.k30",
    "figure3.bound_value",
    "lemma2",
    "theorem2",
    "section3_2.optima",
    "figure4.rank",
    "figure4.not_etf",
    "final.temperature_factor",
    "final.temperature_optimum",
    "final.temperature_collapse",
    "autodiff.rule",
)

#: Section titles of the findings tables, one per kind.
KIND_TITLES = {"paper": "Claims of the papers", "toolkit": "Findings of this toolkit (not claims of the papers)",
               "open question": "Open questions the papers ask (not claims)"}

#: Where ``clop-verify report`` writes by default, and where the figures it links live (in the checkout).
DEFAULT_OUT = default_out("report")
FIGURES_DIR = default_out("figures/out")


def claim_ids() -> list[str]:
    """All claim ids the report covers, in report order (:data:`CLAIM_ORDER`, then registration order).

    Example:
        >>> ids = claim_ids()
        >>> ids[0], "theorem2" in ids, "table5.dcl" in ids
        ('lemma1.stationary', True, True)
    """
    _import_claim_modules()
    ordered = [i for i in CLAIM_ORDER if i in REGISTRY]
    return ordered + [i for i in REGISTRY if i not in ordered]


def _import_claim_modules() -> None:
    for name in CLAIM_MODULES:
        importlib.import_module(name)


def tally(entries: list[dict], kind: str = "paper") -> dict:
    """Verdict counts over the entries of one kind (the report's tally counts the papers' claims only).

    Example:
        >>> t = tally([{"verdict": "confirmed", "kind": "paper"}, {"verdict": "confirmed", "kind": "toolkit"},
        ...            {"verdict": "refuted"}])
        >>> t["confirmed"], t["refuted"], t["not tested"]
        (1, 1, 0)
    """
    return {v: sum(e["verdict"] == v and e.get("kind", "paper") == kind for e in entries) for v in VERDICTS}


def build_report(quick: bool = False, out_dir=None, *, only: Iterable[str] | None = None,
                 progress: bool = True) -> dict:
    """Run the claims and return the report dict ``{"claims": [...], "summary": {...}, "metadata": ...}``.

    Args:
        quick: small sizes (seconds; for tests) instead of the full evidence (minutes).
        out_dir: where the report will be written (recorded in the metadata; nothing is written).
        only: claim ids to run (default: all). Unknown ids raise.
        progress: print one line per claim on stderr (``[i/n] id: verdict (seconds)``).

    Returns:
        The report: one entry per claim with ``id, kind, source, statement, verdict, rule, evidence,
        figures, seconds``; ``summary`` counts the verdicts of the papers' claims (kind ``paper``)
        only, ``summary_by_kind`` those of every kind.

    Raises:
        ValueError: for an unknown claim id in ``only``.

    Example:
        >>> r = build_report(quick=True, only=["section3_2.optima"], progress=False)
        >>> [c["verdict"] for c in r["claims"]]
        ['corrected']
    """
    from results.io import run_metadata

    ids = claim_ids()
    wanted = list(ids) if only is None else list(only)
    unknown = [i for i in wanted if i not in ids]
    if unknown:
        raise ValueError(f"--only must name claim ids among {', '.join(ids)}; got {', '.join(unknown)}")
    ctx = Context(quick=quick)
    start = time.perf_counter()
    entries: list[dict] = []
    for n, cid in enumerate(wanted, 1):
        entry = run_claim(REGISTRY[cid], ctx)
        entries.append(entry)
        if progress:
            print(f"[{n}/{len(wanted)}] {cid}: {entry['verdict']} ({entry.get('seconds', 0):.1f} s)",
                  file=sys.stderr, flush=True)
    summary = tally(entries, "paper")
    params = {"quick": quick, "only": None if only is None else wanted,
              "out_dir": None if out_dir is None else str(out_dir)}
    from results.experiments import preregistration

    return {
        "claims": entries,
        "summary": summary,
        "summary_by_kind": {kind: tally(entries, kind) for kind in KINDS},
        "seconds": round(time.perf_counter() - start, 3),
        "preregistration_sha256": preregistration()["sha256"],
        "metadata": run_metadata(params, dtype="float64"),
    }


def one_line_evidence(entry: dict) -> str:
    """The evidence of a claim in one line: its ``headline`` if it has one, else its scalar fields.

    Example:
        >>> one_line_evidence({"evidence": {"headline": "gap 3%", "x": [1]}})
        'gap 3%'
        >>> one_line_evidence({"evidence": {"a": 1.23456789, "b": "x", "c": [1]}})
        'a = 1.235, b = x'
    """
    ev = entry.get("evidence", {})
    if "headline" in ev:
        return str(ev["headline"])
    if "not_built" in ev:
        return f"not built: {ev['not_built']}"
    parts = []
    for key, value in ev.items():
        if isinstance(value, bool) or isinstance(value, (int, str)):
            parts.append(f"{key} = {value}")
        elif isinstance(value, float):
            parts.append(f"{key} = {value:.4g}")
    return ", ".join(parts[:4])


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(entries: list[dict]) -> list[str]:
    lines = ["| claim | where | verdict | evidence |", "| --- | --- | --- | --- |"]
    for e in entries:
        lines.append(f"| `{e['id']}` | {_cell(e.get('source', ''))} | **{e['verdict']}** | "
                     f"{_cell(one_line_evidence(e))} |")
    return lines


def findings_table(report_json) -> str:
    """The README findings tables (markdown) from a report dict, a JSON string or a path to report.json.

    The papers' claims come first, in one table; the toolkit's own findings and the papers' open
    questions (``kind``, :data:`claims.registry.KINDS`) follow, each under its own heading, so they
    are never read as claims of the papers. An entry without ``kind`` is a claim of the papers.

    Example:
        >>> print(findings_table({"claims": [{"id": "lemma2", "source": "001 Lemma 2",
        ...     "verdict": "confirmed", "evidence": {"headline": "in span"}}]}))
        | claim | where | verdict | evidence |
        | --- | --- | --- | --- |
        | `lemma2` | 001 Lemma 2 | **confirmed** | in span |
        >>> t = findings_table({"claims": [{"id": "a", "source": "s", "verdict": "confirmed", "kind": "toolkit",
        ...     "evidence": {"headline": "h"}}]})
        >>> t.splitlines()[0]
        '#### Findings of this toolkit (not claims of the papers)'
    """
    if isinstance(report_json, (str, os.PathLike)) and not str(report_json).lstrip().startswith("{"):
        report_json = json.loads(Path(report_json).read_text())
    elif isinstance(report_json, str):
        report_json = json.loads(report_json)
    lines: list[str] = []
    for kind in KINDS:
        entries = [e for e in report_json["claims"] if e.get("kind", "paper") == kind]
        if not entries:
            continue
        if kind != "paper":
            lines += ([""] if lines else []) + [f"#### {KIND_TITLES[kind]}", ""]
        lines += _table(entries)
    return "\n".join(lines)


#: What each reading of CLOP's lambda means (the report names the reading every CLOP verdict holds under).
_SCALE_WORDS = {"sum": "Eq. 4 as printed, a sum over the labelled samples",
                "mean": "the authors' released loss, a mean over the labelled samples"}


def _experimental_rule_section(report: dict) -> list[str]:
    """How the experimental verdicts are decided: the paired rule's rationale and the preregistration's hash."""
    from claims.statistics import PAIRED_RULE, RATIONALE

    if not any("verdict_by_scale" in e.get("evidence", {}) for e in report["claims"]):
        return []
    sha = report.get("preregistration_sha256", "")
    return ["## How the experimental verdicts are decided", "",
            f"*Rule* (`claims/statistics.py`, quoted in each claim that uses it): {PAIRED_RULE}", "",
            f"*Why this rule:* {RATIONALE}", "",
            f"*Preregistration:* the readings, primary readings, criteria and seed counts are frozen in "
            f"`claims/preregistration.toml` (sha256 `{sha}`). Every claim about CLOP's effect runs under both "
            f"readings of lambda: {_SCALE_WORDS['sum']}, and {_SCALE_WORDS['mean']} (same lambda = 1; at batch "
            "256 and 10 % labels the sum weighs the term about 25.6 times more); each says which one its verdict "
            "holds under.", ""]


def render_markdown(report: dict, out_dir=DEFAULT_OUT) -> str:
    """``report.md``: summary, findings table, then one section per claim (statement, the quoted paper
    sentences it tests, rule, evidence, figures).

    Figures are linked relative to ``out_dir`` (``figures/out/NAME.png``); a figure not yet drawn is
    named with "(not generated yet: clop-verify figures)".
    """
    from results.io import to_jsonable

    out_dir = Path(out_dir)
    md = report.get("metadata", {})
    s = report["summary"]
    by_kind = report.get("summary_by_kind", {})
    lines = [
        "# Claims report",
        "",
        "Every claim of the CLOP paper (`001_a0916c72eb7a88d5.txt`, and the temperature restatement of "
        "`004_1ce899bd4a367f4d.txt`) checked by machine. Each verdict is computed by code from the "
        "evidence, by the rule printed under it, beside the paper sentences it tests (quoted). "
        "*corrected*: the conclusion holds once a printed error (named) is fixed. *not reproduced*: the "
        "printed effect appears under none of the readings tried of a setup the paper leaves open (the "
        "evidence lists them); *refuted* is kept for a statement whose setup the papers fix and the evidence "
        "contradicts; *inconclusive*: the evidence cannot decide (it says what would); *not tested*: the claim "
        "needs data this toolkit does not have offline. Each claim has a kind: a claim of the papers, a finding "
        "of this toolkit, or an open question a paper asks; the tally counts the papers' claims only.",
        "",
        f"Verdicts of the papers' {sum(s.values())} claims: {', '.join(f'{s[v]} {v}' for v in VERDICTS)}"
        + (("; counted apart: " + ", ".join(
            f"{n} {'finding' if k == 'toolkit' else k}{'' if n == 1 else 's'}{' of this toolkit' if k == 'toolkit' else ''}"
            for k in KINDS[1:] for n in [sum(by_kind.get(k, {}).values())] if n))
           if any(sum(by_kind.get(k, {}).values()) for k in KINDS[1:]) else "")
        + ". "
        f"Git revision `{md.get('git_revision')}`, created {md.get('created')}, "
        f"{'quick sizes' if md.get('parameters', {}).get('quick') else 'full sizes'}, "
        f"{report.get('seconds', 0):.0f} s.",
        "",
        findings_table(report),
        "",
        *_experimental_rule_section(report),
    ]
    ordered = [(kind, e) for kind in KINDS for e in report["claims"] if e.get("kind", "paper") == kind]
    heading = None
    for kind, e in ordered:
        if kind != heading:
            heading = kind
            lines += [f"# {KIND_TITLES[kind]}", ""]
        lines += [f"## `{e['id']}`: {e['verdict']}", "", f"*Kind:* {e.get('kind', 'paper')}", "",
                  f"*Where:* {e.get('source', '')}", "",
                  f"*Statement:* {e.get('statement', '')}", ""]
        for q in e.get("evidence", {}).get("quote", []):
            lines += [f"> {' '.join(q['text'].split())}", ">", f"> — `{q['file']}`, {q['section']}", ""]
        lines += [f"*Verdict rule:* {e.get('rule', '')}", ""]
        by_scale = e.get("evidence", {}).get("verdict_by_scale")
        if by_scale:
            primary = e["evidence"].get("primary_scale")
            lines += ["*Verdict under each reading of CLOP's lambda:* " + "; ".join(
                f"{scale} ({_SCALE_WORDS.get(scale, scale)}): {v}" + (" (the claim's verdict)" if scale == primary else "")
                for scale, v in by_scale.items()), ""]
        figs = []
        for name in e.get("figures", []):
            png = FIGURES_DIR / f"{name}.png"
            rel = os.path.relpath(png.resolve(), out_dir.resolve()) if out_dir else str(png)
            suffix = "" if png.exists() else " (not generated yet: `clop-verify figures`)"
            figs.append(f"[{name}]({rel}){suffix}")
        if figs:
            lines += ["*Figures:* " + ", ".join(figs), ""]
        evidence = json.dumps(to_jsonable(e.get("evidence", {})), indent=1)
        lines += ["<details><summary>Evidence</summary>", "", "```json", evidence, "```", "",
                  "</details>", ""]
    return "\n".join(lines)


def write_report(report: dict, out_dir=DEFAULT_OUT) -> list[Path]:
    """Write ``report.json`` and ``report.md`` into ``out_dir`` as one set (both or, on failure, neither;
    :func:`results.io.atomic_set`); return their paths.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> r = {"claims": [], "summary": {v: 0 for v in VERDICTS}, "metadata": {}}
        >>> [p.name for p in write_report(r, d)]
        ['report.json', 'report.md']
    """
    from results.io import atomic_set, save_json

    out_dir = Path(out_dir)
    text = render_markdown(report, out_dir)
    with atomic_set(out_dir) as stage:
        save_json(stage("report.json"), report)
        stage("report.md").write_text(text, encoding="utf-8")
    return [out_dir / "report.json", out_dir / "report.md"]
