"""``clop-verify diagnose``: did *your* training run collapse? Spectrum, effective rank, RankMe, NC1/NC2, CLOP target."""
from __future__ import annotations

import json
from pathlib import Path

from clop_verify.errors import UsageError, user_input
from clop_verify.validation import real

NAME = "diagnose"
HELP = "diagnose collapse in saved embeddings (.npy/.npz, n x d): spectrum, effective rank, RankMe, NC1/NC2"
DESCRIPTION = (
    "Reads embeddings saved from any training run (n x d, one row per sample) and reports their singular\n"
    "spectrum, effective rank exp(H(sigma/|sigma|_1)) and RankMe (dimensional collapse); with labels also\n"
    "NC1 = tr(S_W S_B^+)/k (Papyan et al., about the global sample mean), NC2 (distance of the class-mean\n"
    "Gram from a simplex ETF's; unequal norms count), equinorm, the RMS cosine between class means (0 =\n"
    "CLOP's orthonormal target) and a class NC / DC / neither (the JSON names each definition); with --lr\n"
    "where the learning rate sits against Theorem 1's bound 2(k-1)/(k-2) for k classes, or with --tau\n"
    "against InfoNCE's bound tau(e^(1/tau)+k-1)/(k-2). Any integer or float dtype and byte order; all-zero\n"
    "rows, one class, or an array too large for memory (checked from the file header) are refused."
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
    parser.add_argument("--tau", type=real(0, low_open=True), default=None, metavar="T",
                        help="temperature of the run, > 0 (needs --lr): compare lr with InfoNCE's bound at this tau")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="write DIR/diagnose.json and DIR/spectrum.png (atomically; nothing on error)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


#: First bytes of the two formats (a .npz is a zip archive of .npy files).
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"
#: Bytes per entry the diagnosis holds at once, per entry of the input: the float64 copy, its scaled copy
#: and the SVD's work arrays.
_BYTES_PER_ENTRY = 3 * 8


def _check_file(path: Path, what: str) -> str:
    """The format of ``path`` from its first bytes ("npy", "npz" or "other"); one line if it is not a readable file."""
    if path.is_dir():
        raise UsageError(f"{what}: {str(path)!r} is a folder, not a file")
    if not path.exists():
        raise UsageError(f"{what}: no such file {str(path)!r}")
    try:
        with open(path, "rb") as handle:
            head = handle.read(6)
    except OSError as exc:
        raise UsageError(f"{what}: cannot read {str(path)!r}: {exc.strerror}") from None
    return "npy" if head == _NPY_MAGIC else "npz" if head[:4] == _ZIP_MAGIC else "other"


def _check_size(shape, dtype, where: str) -> None:
    """Refuse, from the header alone, an array whose diagnosis would not fit in memory."""
    from clop_verify.validation import check_memory

    entries = 1
    for n in shape:
        entries *= int(n)
    check_memory(entries * _BYTES_PER_ENTRY, f"{where} ({' x '.join(map(str, shape))} {dtype}) diagnosed in float64",
                 "diagnose a sample of the rows")


def _open_npz(path: Path, what: str):
    import numpy as np

    import zipfile

    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:  # corrupt archive: the user's file
        raise UsageError(f"{what}: cannot read {str(path)!r} as .npz: {type(exc).__name__}: {exc}") from None


def _npz_member(archive, key: str, path: Path, what: str):
    """One array of an open .npz, its size checked from the member's .npy header before it is read."""
    import numpy as np

    import zipfile

    readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    try:
        with archive.zip.open(f"{key}.npy") as member:
            version = np.lib.format.read_magic(member)
            if version not in readers:
                raise ValueError(f"unsupported .npy format version {version}")
            shape, _, dtype = readers[version](member)
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile) as exc:  # a damaged member: the user's file
        raise UsageError(f"{what}: cannot read array {key!r} of {str(path)!r}: {type(exc).__name__}: {exc}") from None
    _check_size(shape, dtype, f"{what} {str(path)!r}[{key!r}]")
    try:
        return archive[key]
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:  # an object array, a truncated member
        raise UsageError(f"{what}: cannot read array {key!r} of {str(path)!r}: {type(exc).__name__}: {exc}") from None


def load_array(path: Path, what: str, preferred=()):
    """Load one array from .npy / .npz (single array or a preferred key) / .txt (labels); UsageError otherwise.

    The format is read from the file's first bytes, not its name, and the array's size from its header
    before any data is read (a .npy is memory-mapped until the size is accepted).
    """
    import numpy as np

    kind = _check_file(path, what)
    suffix = path.suffix.lower()
    if kind == "npy":
        try:
            mapped = np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:  # truncated or object array: the user's file
            raise UsageError(f"{what}: cannot read {str(path)!r} as .npy: {type(exc).__name__}: {exc}") from None
        _check_size(mapped.shape, mapped.dtype, f"{what} {str(path)!r}")
        return np.array(mapped)
    if kind == "npz":
        with _open_npz(path, what) as archive:
            keys = list(archive.files)
            if len(keys) == 1:
                return _npz_member(archive, keys[0], path, what)
            for key in preferred:
                if key in keys:
                    return _npz_member(archive, key, path, what)
        raise UsageError(f"{what}: {str(path)!r} holds several arrays ({', '.join(keys)}); name one of "
                         f"{', '.join(preferred)} or keep a single array")
    if suffix == ".txt" and what == "--labels":
        try:
            return np.loadtxt(path, ndmin=1)
        except (ValueError, OSError, UnicodeDecodeError) as exc:  # not numbers: the user's file
            raise UsageError(f"{what}: cannot read {str(path)!r} as numbers: {exc}") from None
    named = f" although it is named {suffix}" if suffix in (".npy", ".npz") else ""
    raise UsageError(f"{what}: {str(path)!r} is not a .npy or .npz file{named} (it does not start with their magic "
                     f"bytes){'; labels may also be a .txt of numbers' if what == '--labels' else ''}")


def load_labels(arg: str, emb_path: Path):
    """``--labels``: an existing file, else a key of EMB's .npz."""
    path = Path(arg)
    if path.exists():
        return load_array(path, "--labels", preferred=("labels", "y"))
    if _check_file(emb_path, "EMB") == "npz":
        with _open_npz(emb_path, "EMB") as archive:
            if arg in archive.files:
                return _npz_member(archive, arg, emb_path, "--labels")
            keys = list(archive.files)
        raise UsageError(f"--labels: {arg!r} is neither a file nor an array of {str(emb_path)!r} "
                         f"(arrays: {', '.join(keys)})")
    raise UsageError(f"--labels: no such file {arg!r}")


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
    from clop_verify.validation import check_tau, output_folder

    if args.tau is not None and args.lr is None:
        raise UsageError("--tau needs --lr (the temperature selects InfoNCE's bound for the learning rate)")
    if args.lr is not None and args.labels is None:
        raise UsageError("--lr needs --labels (the learning-rate bound depends on the number of classes)")
    check_tau(args.tau)
    out = None if args.out is None else output_folder(args.out)
    emb_path = Path(args.emb)
    Z = load_array(emb_path, "EMB", preferred=_EMB_KEYS)
    labels = load_labels(args.labels, emb_path) if args.labels is not None else None
    from simulations.collapse_metrics import check_embeddings, check_labels, diagnose
    from results.io import atomic_set, run_metadata, save_json, to_jsonable

    with user_input("EMB"):
        Z = check_embeddings(Z)
    if labels is not None:
        with user_input("--labels"):
            check_labels(labels, Z.shape[0])
    report = diagnose(Z, labels, lr=args.lr, tau=args.tau)  # input checked above: an error here is a bug
    report["source"] = str(emb_path)
    if out is not None:
        import matplotlib.pyplot as plt

        fig = draw_spectrum(report, f"{emb_path.name}: n={report['n']}, d={report['d']}")
        try:
            with atomic_set(out) as stage:  # both files or neither
                fig.savefig(stage("spectrum.png"), format="png", dpi=150)
                save_json(stage("diagnose.json"), {"report": report, "metadata": run_metadata(
                    {"emb": str(emb_path), "labels": args.labels, "lr": args.lr, "tau": args.tau})})
        finally:
            plt.close(fig)
    if args.json:
        print(json.dumps(to_jsonable(report), indent=2))
        return 0
    s = report["singular_values"]
    print(f"{report['n']} x {report['d']} embeddings: effective rank {report['effective_rank']:.3f}, "
          f"RankMe {report['rankme']:.3f}, sigma_1 {s[0]:.4g}, sigma_min {s[-1]:.4g}")
    if "k" in report:
        ratio = report["dimension_ratio"]
        print(f"k = {report['k']} classes: NC1 {report['nc1']:.4g}, trSW/trSB {report['within_between']:.4g}, "
              f"NC2 {report['nc2']:.4g} (centred {report['nc2_centred']:.4g}, directions only "
              f"{report['nc2_cosine']:.4g}), equinorm {report['equinorm']:.4g}, distance to orthonormal class means "
              f"{report['orthonormal_distance']:.4g} (ETF {1 / (report['k'] - 1):.4g}), sigma_(k-1)/sigma_1 "
              f"{'-' if ratio is None else f'{ratio:.4g}'}: {report['class']}")
    if "lr" in report:
        rule = "InfoNCE at tau = " + f"{report['tau']:g}" if report["tau"] is not None else "Appendix D's step"
        print(f"lr = {report['lr']:.4g} vs eta_max(k={report['k']}) = {report['eta_max']:.4g} for {rule} "
              f"(ratio {report['rate_over_eta_max']:.3g}): {report['lr_regime']}"
              + (f"; paper 004's printed optimum lr ~ tau/2 = {report['printed_optimum_tau_over_2']:.4g}"
                 if report["tau"] is not None else ""))
    return 0
