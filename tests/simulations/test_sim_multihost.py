"""The multi-host path run for real: two local processes (jax.distributed, one CPU device each, gloo
collectives over TCP on 127.0.0.1) give the single-process results of simulate, collapse_threshold and the training grids."""
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

import simulations

_WORKER = r"""
import json, sys
from clop_verify.runtime import configure_jax
configure_jax()
import jax
jax.distributed.initialize(coordinator_address=sys.argv[1], num_processes=2, process_id=int(sys.argv[2]),
                           initialization_timeout=60)
import simulations
r = simulations.simulate(6, [0.8, 2.0, 2.6], m=12, seeds=(0, 7, 9), steps=200, record_every=50)
t = simulations.collapse_threshold(5, m=10, trials=3, steps=200, rtol=1e-2)
print(json.dumps({"processes": jax.process_count(), "devices": jax.device_count(),
                  "local": jax.local_device_count(), "spectra": r.spectra.tolist(), "final": r.final.tolist(),
                  "collapsed": r.collapsed.tolist(), "threshold": t.threshold, "bracket": list(t.bracket),
                  "evaluations": [list(e) for e in t.evaluations]}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch_two(argv_for, env_for=lambda i: {}, timeout=240):
    """Start processes 0 and 1 (one CPU device each), wait for both (bounded), return their stdouts."""
    env = dict(os.environ, JAX_NUM_CPU_DEVICES="1", JAX_PLATFORMS="cpu")
    procs = [subprocess.Popen(argv_for(i), env={**env, **env_for(i)}, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in (0, 1)]
    outs = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=timeout)
            assert p.returncode == 0, err[-3000:]
            outs.append(out)
    finally:
        for p in procs:  # never leave a process waiting for its peer
            if p.poll() is None:
                p.kill()
                p.wait()
    return outs


@pytest.mark.slow
def test_two_processes_give_the_single_process_results():
    address = f"127.0.0.1:{_free_port()}"
    outs = _launch_two(lambda i: [sys.executable, "-c", _WORKER, address, str(i)])
    docs = [json.loads(o.strip().splitlines()[-1]) for o in outs]  # the last line (after gloo's log lines)
    one = simulations.simulate(6, [0.8, 2.0, 2.6], m=12, seeds=(0, 7, 9), steps=200, record_every=50)
    search = simulations.collapse_threshold(5, m=10, trials=3, steps=200, rtol=1e-2)
    for doc in docs:  # both processes receive the whole result
        assert (doc["processes"], doc["devices"], doc["local"]) == (2, 2, 1)
        assert doc["collapsed"] == one.collapsed.tolist()
        # 1e-12: the same per-run program on every device; only the runs per device differ, which can
        # change how XLA vectorises reductions (last-bit differences), never the maths.
        np.testing.assert_allclose(np.asarray(doc["spectra"]), one.spectra, atol=1e-12)
        np.testing.assert_allclose(np.asarray(doc["final"]), one.final, atol=1e-12)
        assert doc["evaluations"] == [list(e) for e in search.evaluations]
        assert (doc["threshold"], doc["bracket"]) == (search.threshold, list(search.bracket))


def _json_after_log_lines(text: str):
    """The JSON document of a --json run; gloo prints '[Gloo] ... connected' lines to stdout first."""
    return json.loads(text[text.index("\n{") + 1:] if not text.startswith("{") else text)


@pytest.mark.slow
def test_two_process_cli_threshold_matches_one_process():
    # The README's commands: the same clop-verify call in two processes joined by CLOP_VERIFY_* variables.
    address = f"127.0.0.1:{_free_port()}"
    argv = ["threshold", "--k", "5", "--m", "10", "--trials", "3", "--steps", "200", "--rtol", "0.01", "--json"]
    outs = _launch_two(lambda i: [sys.executable, "-m", "clop_verify", *argv],
                       env_for=lambda i: {"CLOP_VERIFY_COORDINATOR": address, "CLOP_VERIFY_NUM_PROCESSES": "2",
                                          "CLOP_VERIFY_PROCESS_ID": str(i)})
    env = dict(os.environ, JAX_NUM_CPU_DEVICES="1", JAX_PLATFORMS="cpu")
    single = subprocess.run([sys.executable, "-m", "clop_verify", *argv], env=env, capture_output=True, text=True,
                            timeout=240)
    assert single.returncode == 0, single.stderr
    expected = json.loads(single.stdout)["results"][0]
    for out in outs:
        got = _json_after_log_lines(out)["results"][0]
        assert (got["threshold"], got["bracket"]) == (expected["threshold"], expected["bracket"])


_TRAINING_WORKER = r"""
import json, sys
from clop_verify.runtime import configure_jax
configure_jax()
import jax
jax.distributed.initialize(coordinator_address=sys.argv[1], num_processes=2, process_id=int(sys.argv[2]),
                           initialization_timeout=60)
from simulations.training import readings as R, synthetic as S
points = [{"lambda": 0.0}, {"lambda": 1.0}, {"lambda": 1.0, "prototypes": "etf"}]
d = S.run_points("infonce", points, 2, S.SyntheticConfig(n=60, steps=3))
r = R.run_readings(["infonce"], [{"steps": 2, "lambda": 0.0}, {"steps": 2, "tau": 0.1}, {"steps": 1}], 2,
                   R.Setup(n=30, batch_size=None, steps=2))
print(json.dumps({"devices": jax.device_count(), "accuracy": d["accuracy"].tolist(),
                  "effective_rank": d["effective_rank"].tolist(), "final_loss": d["final_loss"].tolist(),
                  "readings_accuracy": r["accuracy"].tolist(), "readings_rank": r["effective_rank"].tolist()}))
"""


@pytest.mark.slow
def test_two_processes_give_the_single_process_training_grid():
    # The training driver's grid (3 points, padded to 4: two per process) and a readings program, split
    # over two processes, give the one-process results.
    from simulations.training import readings as R, synthetic as S

    address = f"127.0.0.1:{_free_port()}"
    outs = _launch_two(lambda i: [sys.executable, "-c", _TRAINING_WORKER, address, str(i)])
    docs = [json.loads(o.strip().splitlines()[-1]) for o in outs]
    points = [{"lambda": 0.0}, {"lambda": 1.0}, {"lambda": 1.0, "prototypes": "etf"}]
    d = S.run_points("infonce", points, 2, S.SyntheticConfig(n=60, steps=3))
    r = R.run_readings(["infonce"], [{"steps": 2, "lambda": 0.0}, {"steps": 2, "tau": 0.1}, {"steps": 1}], 2,
                       R.Setup(n=30, batch_size=None, steps=2))
    for doc in docs:
        assert doc["devices"] == 2
        assert doc["accuracy"] == d["accuracy"].tolist() and doc["readings_accuracy"] == r["accuracy"].tolist()
        np.testing.assert_allclose(doc["effective_rank"], d["effective_rank"], rtol=1e-6)
        np.testing.assert_allclose(doc["final_loss"], d["final_loss"], rtol=1e-6)
        np.testing.assert_allclose(doc["readings_rank"], r["effective_rank"], rtol=1e-6)
