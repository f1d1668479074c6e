r"""Figure 3 (right) of paper 001: the largest non-collapsing learning rate against the Theorem 1 bound.

For k from 3 to 100 class embeddings in :math:`\mathbb{R}^{100}`, :func:`simulations.collapse_threshold`
finds the largest :math:`\eta` for which none of 5 consecutive trials (rule ``paper``) collapses
completely within the step budget, bracketed and refined to a relative tolerance. The figure sets it
(with its bracket) beside the derived bound :math:`\eta_{\max}(k) = 2(k-1)/(k-2)`
(:func:`theory.eta_max`) and the closed form printed in Appendix D (:func:`theory.paper_eta_max`); a
lower panel shows both as ratios to the derived bound. :func:`measured_threshold` is the cached
threshold measurement that ``rules_thresholds`` and ``temperature`` reuse.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from figures.generate import add_caption, render
from results.settings import Settings

NAME = "fig3_tightness"

__all__ = [
    "NAME", "collapse_criterion", "parameters", "measured_threshold", "measured_thresholds", "plot_thresholds",
    "log_k_axis", "compute", "draw", "main",
]

#: Cache name shared by every figure that measures collapse thresholds (same parameters, one run).
THRESHOLD_CACHE = "collapse_threshold"


def collapse_criterion() -> str:
    """The caption text of the simulators' complete-collapse criterion (:data:`simulations.metrics.DEFAULT_COLLAPSE_RTOL`).

    Example:
        >>> collapse_criterion()
        'complete collapse (all embeddings equal) = sigma_2 < 0.001 sigma_1 and |mean| > 1 - 0.001'
    """
    from simulations.metrics import DEFAULT_COLLAPSE_RTOL

    rel = DEFAULT_COLLAPSE_RTOL
    return f"complete collapse (all embeddings equal) = sigma_2 < {rel:g} sigma_1 and |mean| > 1 - {rel:g}"


#: Class counts beyond the paper's range that ``k_max`` adds (CIFAR-100 is k = 100; ImageNet k = 1000).
LARGE_KS = (300, 1000)


def parameters(quick: bool = False, k_max: int = 100) -> dict:
    """The sweep behind the figure: 12 values of k from 3 to 100, m=100, 5 trials of 2000 steps
    (quick: k = 3 and 30, 2 trials of 500 steps). ``k_max`` >= 300 adds the :data:`LARGE_KS` up to it,
    each in dimension m = max(100, k) (the embeddings need room to spread: m >= k) and searched in
    float32 (same thresholds as float64 where measured, half the memory traffic).

    Example:
        >>> p = parameters()
        >>> p["ks"][0], p["ks"][-1], p["m"], p["trials"], p["rule"]
        (3, 100, 100, 5, 'paper')
        >>> parameters(k_max=1000)["ks"][-2:], parameters(k_max=1000)["m_per_k"][-2:]
        ([300, 1000], [300, 1000])
    """
    if quick:
        ks = [3, 30]
        params = {"ks": ks, "m": 100, "trials": 2, "steps": 500, "rule": "paper", "tau": None, "seed": 0, "rtol": 1e-2}
    else:
        ks = [3, 4, 5, 6, 8, 10, 15, 20, 30, 50, 70, 100]
        params = {"ks": ks, "m": 100, "trials": 5, "steps": 2000, "rule": "paper", "tau": None, "seed": 0, "rtol": 1e-3}
    extra = [k for k in LARGE_KS if k <= k_max]
    if extra:  # only then: the default sweep keeps its parameters (and cached results) unchanged
        params["ks"] = params["ks"] + extra
        params["m_per_k"] = [max(params["m"], k) for k in params["ks"]]
        # the large k are searched in float32: it found the float64 threshold, evaluation for evaluation,
        # at k = 300 and 1000 (and at 3..100), in half the memory traffic
        params["dtype_per_k"] = ["float32" if k in LARGE_KS else "float64" for k in params["ks"]]
    return params


def measured_threshold(settings: Settings | None, k: int, *, m: int, trials: int, steps: int, rule: str, tau, seed: int, rtol: float,
                       dtype: str = "float64") -> dict:
    r"""The empirical collapse threshold at one k: :func:`results.experiments.collapse_threshold`, cached in ``settings.cache_dir``.

    Returns:
        ``{"k", "threshold", "bracket": [lo, hi], "rule", "tau", "monotone", "passing_above", ...}``
        (JSON-able; when no learning rate tried collapses, ``hi`` is ``"inf"`` and the threshold is the
        largest one tried; ``passing_above`` lists learning rates that passed above a failing one).
    """
    from results.experiments import collapse_threshold

    return collapse_threshold(k, m=m, trials=trials, steps=steps, rule=rule, tau=tau, seed=seed, rtol=rtol,
                              dtype=dtype, settings=settings)


def measured_thresholds(settings: Settings | None, ks, **kwargs) -> dict:
    """:func:`measured_threshold` over ``ks``, as arrays ``{"ks", "threshold", "bracket_lo", "bracket_hi"}``.

    NaN stands for a threshold the simulator could not bracket.
    """
    rows = [measured_threshold(settings, k, **kwargs) for k in ks]
    non_monotone = [r["k"] for r in rows if not r.get("monotone", True)]
    as_float = lambda v: float(v) if v not in (None, "nan") else float("nan")  # noqa: E731
    return {
        "ks": [int(k) for k in ks],
        "threshold": [as_float(r["threshold"]) for r in rows],
        "bracket_lo": [as_float(r["bracket"][0]) for r in rows],
        "bracket_hi": [as_float(r["bracket"][1]) for r in rows],
        "non_monotone_ks": non_monotone,
    }


def compute(params: dict, settings: Settings | None = None) -> dict:
    """Thresholds per k plus the derived and printed bounds at the same k."""
    import theory

    sweep = {key: params[key] for key in ("trials", "steps", "rule", "tau", "seed", "rtol")}
    if "m_per_k" in params:  # m = max(100, k) for the large k
        parts = [measured_thresholds(settings, [k], m=m, dtype=dtype, **sweep)
                 for k, m, dtype in zip(params["ks"], params["m_per_k"], params["dtype_per_k"])]
        data = {key: sum((p[key] for p in parts), []) for key in parts[0]}
    else:
        data = measured_thresholds(settings, params["ks"], m=params["m"], **sweep)
    data["eta_max"] = np.asarray(theory.eta_max(params["ks"]), dtype=float)
    data["paper_eta_max"] = np.asarray(theory.paper_eta_max(params["ks"]), dtype=float)
    return data


def plot_thresholds(ax, x, data: dict, *, label: str, color: str = "k", marker: str = "o") -> None:
    """Draw measured thresholds at ``x``: bracketed ones with their bracket as error bar, and those with
    no collapse found (bracket without a finite upper end) as upward triangles at the largest eta tried.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> fig, ax = plt.subplots()
        >>> plot_thresholds(ax, [3, 5], {"threshold": [3.9, "inf"], "bracket_lo": [3.8, 8.0],
        ...                              "bracket_hi": [4.0, "inf"]}, label="demo")
        >>> len(ax.lines) >= 2
        True
        >>> plt.close(fig)
    """
    x = np.asarray(x, dtype=float)
    t, lo, hi = (np.asarray([float(v) for v in data[key]], dtype=float) for key in ("threshold", "bracket_lo", "bracket_hi"))
    found = np.isfinite(t) & np.isfinite(hi)
    if found.any():
        bars = np.stack([t[found] - lo[found], hi[found] - t[found]]).clip(min=0)
        ax.errorbar(x[found], t[found], yerr=bars, fmt=marker, color=color, ms=4, capsize=2, label=label)
    open_ended = ~found & np.isfinite(lo)
    if open_ended.any():
        ax.plot(x[open_ended], lo[open_ended], "^", color=color, ms=6, mfc="none",
                label=f"{label}: no collapse up to the largest $\\eta$ tried")


def log_k_axis(ax, ks) -> None:
    """A log x axis for k with plain-number ticks, limited to the measured range.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> fig, ax = plt.subplots()
        >>> log_k_axis(ax, [3, 30])
        >>> [t.get_text() for t in ax.get_xticklabels()]
        ['3', '5', '10', '20', '30']
        >>> plt.close(fig)
    """
    ks = np.asarray(ks)
    ticks = [k for k in (3, 5, 10, 20, 30, 50, 100, 200, 300, 1000) if ks.min() <= k <= ks.max()]
    ax.set_xscale("log")
    ax.set_xticks(ticks, labels=[str(k) for k in ticks])
    ax.set_xticks([], minor=True)
    ax.set_xlim(ks.min() / 1.08, ks.max() * 1.08)


def draw(data: dict, params: dict):
    """Upper panel: threshold (bracket as error bar) and both bounds against k; lower: ratios to the derived bound."""
    import matplotlib.pyplot as plt
    import theory

    ks = np.asarray(data["ks"])
    dense = np.arange(max(3, ks.min()), ks.max() + 1)
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(6.4, 6.0), sharex=True, height_ratios=[3, 1.4], layout="constrained"
    )
    top.plot(dense, theory.eta_max(dense), color="C0", lw=1.8, label=r"derived bound $\eta_{\max}(k)=2(k-1)/(k-2)$")
    top.plot(dense, theory.paper_eta_max(dense), color="C1", lw=1.4, ls="--", label=r"bound as printed in paper 001 (App. D)")
    plot_thresholds(top, ks, data, label=f"largest non-collapsing $\\eta$ ({params['trials']} trials, bracket)")
    top.set_ylabel(r"learning rate $\eta$")
    top.set_title("Tightness of Theorem 1 (rule 'paper')")
    top.legend(fontsize=8)
    top.grid(True, alpha=0.3)
    reference = np.asarray(data["eta_max"], dtype=float)
    bottom.axhline(1.0, color="C0", lw=1.2)
    bottom.plot(dense, theory.paper_eta_max(dense) / theory.eta_max(dense), color="C1", ls="--", lw=1.2)
    bottom.plot(ks, np.asarray(data["threshold"], dtype=float) / reference, "o", color="k", ms=4)
    bottom.set_ylabel(r"ratio to $\eta_{\max}(k)$")
    bottom.set_xlabel(r"number of class embeddings $k$")
    log_k_axis(bottom, ks)
    bottom.grid(True, alpha=0.3)
    add_caption(
        fig,
        f"Paper 001 Figure 3 (right). m={params['m'] if 'm_per_k' not in params else 'max(100, k)'}, rule '{params['rule']}', {params['trials']} trials per learning rate "
        f"(seed {params['seed']}), {params['steps']} steps; {collapse_criterion()}; threshold refined to "
        f"relative tolerance {params['rtol']:g}; k = {', '.join(str(k) for k in params['ks'])}"
        + (" (k >= 300 in float32)." if "dtype_per_k" in params else "."),
    )
    return fig


def main(out: Settings | str | os.PathLike, quick: bool = False, formats=("png", "pdf"), k_max: int = 100) -> list[Path]:
    """Regenerate ``fig3_tightness.{png,pdf,json}`` in ``out`` (each threshold cached by its parameters).

    ``out``: the output folder, or a :class:`results.settings.Settings` that also names the result cache.

    Paper 001, Section 3.1, Figure 3 (right). ``k_max`` (300 or 1000) extends the sweep with
    :data:`LARGE_KS` (m = max(100, k)); from the shell:
    ``python -m figures.fig3_tightness --k-max 1000 --out DIR``.

    Example (runs the simulations; the test-suite runs it in quick mode):
        >>> [p.name for p in main("/tmp/figs", quick=True)]  # doctest: +SKIP
        ['fig3_tightness.png', 'fig3_tightness.pdf', 'fig3_tightness.json']
    """
    settings = Settings.of(out)
    return render(settings, NAME, parameters(quick, k_max), lambda p: compute(p, settings), draw, formats)


def _cli(argv=None) -> int:
    """``python -m figures.fig3_tightness [--k-max K] [--quick] --out DIR``: the figure with larger k."""
    import sys
    import time

    from clop_verify.cli import OneLineParser, guarded
    from clop_verify.runtime import configure_jax
    from clop_verify.validation import output_folder

    configure_jax()
    parser = OneLineParser(prog="python -m figures.fig3_tightness", description=_cli.__doc__)
    parser.add_argument("--k-max", type=int, default=100, choices=(100, 300, 1000),
                        help="largest k: 300 or 1000 add k = 300 (m = 300) and k = 1000 (m = 1000); default 100")
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--out", default=None, metavar="DIR", required=True, help="output folder")
    args = parser.parse_args(argv)

    def body() -> int:
        out = output_folder(args.out)  # before any work: a file, an unwritable or an empty path is one line
        start = time.perf_counter()
        for path in main(out, quick=args.quick, k_max=args.k_max):
            print(path)
        print(f"fig3_tightness: {time.perf_counter() - start:.1f} s", file=sys.stderr)
        return 0

    return guarded("fig3_tightness", body)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(_cli())
