"""Test-session set-up shared by the whole suite.

The suite runs in float64 (``JAX_ENABLE_X64=1``) so that tolerances are set by the mathematics, not
by rounding; float32 tests ask for ``dtype="float32"`` explicitly. Like the CLI, the suite uses JAX's
persistent compilation cache (:mod:`clop_verify.runtime`), so a second test run skips most compilation. Matplotlib draws off-screen.
"""
import os

from clop_verify.runtime import configure_jax

configure_jax()  # float64 and the persistent compilation cache, before JAX starts (as the CLI does)
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TQDM_DISABLE", "1")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

# Running ``python -m clop_verify`` executes the CLI; doctest collection must not import it.
collect_ignore = ["clop_verify/__main__.py"]
