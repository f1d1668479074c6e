"""Test-session set-up shared by the whole suite.

The suite runs in float64 (``JAX_ENABLE_X64=1``) so that tolerances are set by the mathematics, not
by rounding; float32 tests ask for ``dtype="float32"`` explicitly. Like the CLI, the suite uses JAX's
persistent compilation cache (:mod:`clop_verify.runtime`), so a second test run skips most compilation. Matplotlib draws off-screen.

The suite compiles with LLVM's optimisation level 1 (``--xla_backend_optimization_level=1`` in
``XLA_FLAGS``, inherited by the CLI subprocesses the tests start); the ``clop-verify`` command keeps
XLA's default (2). Most of a cold test run is XLA compiling small programs that then run for
milliseconds. Measured on the 2-core VM, whole default suite, one run each (single runs move by
+-15 %): from an empty compilation cache 610 s at level 2, 539 s at level 1, 506 s at level 0; with
the cache warm 210-240 s at level 2, 201 s at level 1, 262 s at level 0 (level 0 runs the training
programs about 4x slower: the readings program, 30 trainings x 300 steps, 62.8 s against 15.9 s at
level 2 and 14.7 s at level 1). The HLO programs are the same; only the machine code differs, so a
test's numbers can differ in the last bits from the command's: every test compares against a tolerance
or against another run in the same process, never against the published numbers. A user who sets the
flag in ``XLA_FLAGS`` keeps their choice.
"""
import os

import pytest

from clop_verify.runtime import configure_jax
from results.settings import CACHE_ENV

configure_jax()  # float64 and the persistent compilation cache, before JAX starts (as the CLI does)
#: XLA flags for the test process and its subprocesses (read when XLA's CPU backend starts, after this).
TEST_XLA_FLAGS = "--xla_backend_optimization_level=1"
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {TEST_XLA_FLAGS}".strip()
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TQDM_DISABLE", "1")

import matplotlib  # noqa: E402

matplotlib.use("Agg")


@pytest.fixture(autouse=True, scope="session")
def _session_result_cache(tmp_path_factory, worker_id):
    """The suite's result cache: one empty folder for the test run (as the XDG one serves every command),
    never the user's, shared by the run's xdist workers (results are written atomically, so a worker reads
    another's whole entries or none). A test that counts recomputations passes a cache folder of its own."""
    if worker_id == "master":  # not distributed (`-n 0`)
        folder = tmp_path_factory.mktemp("result-cache")
    else:  # the workers' temporary folders share one parent per run
        folder = tmp_path_factory.getbasetemp().parent / "result-cache"
        folder.mkdir(exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(folder))
        yield


# Running ``python -m clop_verify`` executes the CLI; doctest collection must not import it.
collect_ignore = ["clop_verify/__main__.py"]
