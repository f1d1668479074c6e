"""Claims of the papers that had no verdict yet (issue 19, item 8)."""
from __future__ import annotations

from claims.registry import Context, claim  # noqa: F401
