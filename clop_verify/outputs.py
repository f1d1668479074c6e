"""Where ``figures`` and ``report`` write, so that only a full, clean run replaces the committed results.

* The committed results (``figures/out``, ``report``: the README embeds and quotes them) are written
  only by the full commands: ``clop-verify figures`` with every figure, ``clop-verify report`` with
  every claim, neither ``--quick``.
* A quick run writes to ``.../quick/``, a partial one (a subset of figures, ``report --only``) to
  ``.../partial/`` (both ignored by git), unless ``--out`` names a folder.
* A run that would write into a committed folder of this checkout (by default or through ``--out``)
  is refused while tracked files outside the result folders differ from the commit: the results then
  carry a clean ``git_revision``, the commit whose code made them. Commit first, or write elsewhere
  with ``--out``.
"""
from __future__ import annotations

import os
from pathlib import Path

from clop_verify.errors import UsageError
from results.io import RESULT_FOLDERS

__all__ = ["REPOSITORY", "COMMITTED", "RESULT_FOLDERS", "default_folder", "check_clean_for"]

#: The checkout this package lives in.
REPOSITORY = Path(__file__).resolve().parents[1]
#: Folders (relative to the checkout) whose contents are committed results; a full regeneration rewrites
#: them, so their own changes do not make the tree dirty for the check.
COMMITTED = RESULT_FOLDERS


def default_folder(full: str, *, quick: bool, partial: bool) -> str:
    """The default output folder, relative to the checkout: ``full`` for a full run, ``full/quick`` for
    ``--quick``, else ``full/partial`` (:func:`results.settings.default_out` places it in the checkout).

    Example:
        >>> default_folder("report", quick=False, partial=False), default_folder("report", quick=True, partial=True)
        ('report', 'report/quick')
        >>> default_folder("figures/out", quick=False, partial=True)
        'figures/out/partial'
    """
    if quick:
        return f"{full}/quick"
    if partial:
        return f"{full}/partial"
    return full


def _committed_target(out: str | os.PathLike) -> str | None:
    absolute = Path(os.path.abspath(out))
    for folder in COMMITTED:
        if absolute == REPOSITORY / folder:
            return folder
    return None


def check_clean_for(out: str | os.PathLike, flag: str = "--out") -> None:
    """Refuse to write committed results (``out`` is ``figures/out`` or ``report`` of this checkout) from a dirty tree.

    Raises:
        UsageError: naming up to three changed files and the way out.

    Example:
        >>> import tempfile
        >>> check_clean_for(tempfile.mkdtemp())    # not a committed folder: always allowed
    """
    folder = _committed_target(out)
    if folder is None:
        return
    from results.io import dirty_outside

    changed = dirty_outside(RESULT_FOLDERS, start=REPOSITORY)
    if not changed:  # clean, or not a git checkout (an installed copy has no revision to record)
        return
    shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
    raise UsageError(f"{flag} {folder} holds the committed results, which must come from a clean checkout; "
                     f"uncommitted changes in {shown}: commit them first, or write elsewhere with {flag} DIR")
