"""Test-session set-up shared by the whole suite.

The suite runs in float64 (``JAX_ENABLE_X64=1``) so that tolerances are set by the mathematics, not
by rounding; float32 tests ask for ``dtype="float32"`` explicitly. Like the CLI, the suite uses JAX's
persistent compilation cache (:mod:`clop_verify.runtime`), so a second test run skips most compilation. Matplotlib draws off-screen.
"""
import os

import pytest

from clop_verify.runtime import configure_jax
from results.settings import CACHE_ENV

configure_jax()  # float64 and the persistent compilation cache, before JAX starts (as the CLI does)
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
