"""``clop-verify diagnose``: did *your* training run collapse? Spectrum, effective rank, RankMe, NC1/NC2, CLOP target."""
from __future__ import annotations

import json
from pathlib import Path

from clop_verify.validation import real

NAME = "diagnose"
HELP = "diagnose collapse in saved embeddings (.npy/.npz, n x d): spectrum, effective rank, RankMe, NC1/NC2"
DESCRIPTION = (
    "Reads embeddings saved from any training run (n x d, one row per sample) and reports their singular\n"
    "spectrum, effective rank exp(H(sigma/|sigma|_1)) and RankMe (dimensional collapse); with labels also\n"
    "NC1 = tr(S_W S_B^+)/k, NC2 (distance of the class-mean Gram from a simplex ETF's), the RMS cosine\n"
    "between class means (0 = CLOP's orthonormal target) and a class NC / DC / neither; with --lr (and\n"
    "--tau) where the learning rate sits against Theorem 1's bound 2(k-1)/(k-2) for k classes."
)
EXAMPLE = (
    "examples:\n"
    "  clop-verify diagnose emb.npy\n"
    "  clop-verify diagnose run.npz --labels labels --lr 0.5 --tau 0.2 --out /tmp/diag   # key of run.npz\n"
    "  clop-verify diagnose emb.npy --labels y.npy --json"
)

_EMB_KEYS = ("embeddings", "embedding", "features", "z")


def register(parser) -> None:
    parser.add_argument("emb", metavar="EMB", help="embeddings: .npy (n x d) or .npz (one array, or key 'embeddings')")
    parser.add_argument("--labels", default=None, metavar="FILE_OR_KEY",
                        help="labels: a .npy/.npz/.txt file with n integers, or the name of an array in EMB's .npz")
    parser.add_argument("--lr", type=real(0, low_open=True), default=None, metavar="ETA", help="learning rate of the run, > 0 (needs --labels)")
    parser.add_argument("--tau", type=real(0, low_open=True), default=None, metavar="T", help="temperature of the run, > 0 (needs --lr)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="write DIR/diagnose.json and DIR/spectrum.png (atomically; nothing on error)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def _load_npz(path: Path):
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except Exception as exc:  # corrupt or not an npz
        raise ValueError(f"cannot read {str(path)!r} as .npz: {type(exc).__name__}: {exc}") from None


def load_array(path: Path, what: str, preferred=()):
    """Load one array from .npy / .npz (single array or a preferred key) / .txt; raise ValueError otherwise."""
    import numpy as np

    if not path.is_file():
        raise ValueError(f"{what}: no such file {str(path)!r}")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            return np.load(path, allow_pickle=False)
        except Exception as exc:
            raise ValueError(f"{what}: cannot read {str(path)!r} as .npy: {type(exc).__name__}: {exc}") from None
    if suffix == ".npz":
        arrays = _load_npz(path)
        if len(arrays) == 1:
            return next(iter(arrays.values()))
        for key in preferred:
            if key in arrays:
                return arrays[key]
        raise ValueError(f"{what}: {str(path)!r} holds several arrays ({', '.join(arrays)}); name one of "
                         f"{', '.join(preferred)} or keep a single array")
    if suffix == ".txt" and what == "--labels":
        try:
            return np.loadtxt(path, ndmin=1)
        except Exception as exc:
            raise ValueError(f"{what}: cannot read {str(path)!r} as numbers: {exc}") from None
    raise ValueError(f"{what}: expected a .npy or .npz file{' (or .txt)' if what == '--labels' else ''}; got {str(path)!r}")


def load_labels(arg: str, emb_path: Path):
    """``--labels``: an existing file, else a key of EMB's .npz."""
    path = Path(arg)
    if path.is_file():
        return load_array(path, "--labels", preferred=("labels", "y"))
    if emb_path.suffix.lower() == ".npz":
        arrays = _load_npz(emb_path)
        if arg in arrays:
            return arrays[arg]
        raise ValueError(f"--labels: {arg!r} is neither a file nor an array of {str(emb_path)!r} "
                         f"(arrays: {', '.join(arrays)})")
    raise ValueError(f"--labels: no such file {arg!r}")


def draw_spectrum(report: dict, title: str):
    """Singular values / sigma_1 against index (log scale), with effective rank and RankMe in the legend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    s = np.asarray(report["singular_values"], float)
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    rel = s / s[0] if s[0] > 0 else s
    ax.semilogy(np.arange(1, s.size + 1), np.maximum(rel, 1e-17), "o-", ms=3,
                label=f"effective rank {report['effective_rank']:.2f}, RankMe {report['rankme']:.2f}")
    if "k" in report:
        ax.axvline(report["k"] - 1, color="0.5", ls=":", label=f"k - 1 = {report['k'] - 1} (simplex ETF rank)")
    ax.set_xlabel("index i")
    ax.set_ylabel("σ_i / σ_1")
    ax.set_title(title, fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def run(args) -> int:
    from clop_verify.validation import output_folder

    out = None if args.out is None else output_folder(args.out)
    emb_path = Path(args.emb)
    Z = load_array(emb_path, "EMB", preferred=_EMB_KEYS)
    labels = load_labels(args.labels, emb_path) if args.labels is not None else None
    from simulations.collapse_metrics import diagnose
    from results.io import atomic_open, run_metadata, save_json, to_jsonable

    report = diagnose(Z, labels, lr=args.lr, tau=args.tau)  # validates everything before anything is written
    report["source"] = str(emb_path)
    if out is not None:
        import matplotlib.pyplot as plt

        fig = draw_spectrum(report, f"{emb_path.name}: n={report['n']}, d={report['d']}")
        with atomic_open(out / "spectrum.png", "wb") as handle:
            fig.savefig(handle, format="png", dpi=150)
        plt.close(fig)
        save_json(out / "diagnose.json", {"report": report, "metadata": run_metadata(
            {"emb": str(emb_path), "labels": args.labels, "lr": args.lr, "tau": args.tau})})
    if args.json:
        print(json.dumps(to_jsonable(report), indent=2))
        return 0
    s = report["singular_values"]
    print(f"{report['n']} x {report['d']} embeddings: effective rank {report['effective_rank']:.3f}, "
          f"RankMe {report['rankme']:.3f}, sigma_1 {s[0]:.4g}, sigma_min {s[-1]:.4g}")
    if "k" in report:
        ratio = report["dimension_ratio"]
        print(f"k = {report['k']} classes: NC1 {report['nc1']:.4g}, trSW/trSB {report['within_between']:.4g}, "
              f"NC2 {report['nc2']:.4g} (centred {report['nc2_centred']:.4g}), distance to orthonormal class means "
              f"{report['orthonormal_distance']:.4g} (ETF {1 / (report['k'] - 1):.4g}), sigma_(k-1)/sigma_1 "
              f"{'-' if ratio is None else f'{ratio:.4g}'}: {report['class']}")
    if "lr" in report:
        what = "lr/tau" if report["tau"] is not None else "lr"
        print(f"{what} = {report['rate_compared']:.4g} vs eta_max(k={report['k']}) = {report['eta_max']:.4g} "
              f"(ratio {report['rate_over_eta_max']:.3g}): {report['lr_regime']}"
              + (f"; paper 004's printed optimum lr ~ tau/2 = {report['printed_optimum_tau_over_2']:.4g}"
                 if report["tau"] is not None else ""))
    return 0
