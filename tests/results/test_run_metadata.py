"""Result metadata says which processor computed a result and how many of its cores the process could use."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="restricts a subprocess's CPU affinity")
def test_usable_cores_is_the_affinity_mask_not_the_machine():
    # A process limited to one core (taskset, a container's CPU limit) says 1 however many the machine has:
    # that count sizes XLA's thread pool, which can move the last bits of long contractions.
    code = ("import os, json; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))});"
            "from results.io import run_metadata; print(json.dumps(run_metadata()['cpu']))")
    proc = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(ROOT)),
                          capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout)["usable_cores"] == 1


def test_this_process_reports_its_own_cores_and_a_model():
    from results.io import run_metadata

    cpu = run_metadata({"k": 3})["cpu"]
    expected = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert cpu["usable_cores"] == expected
    if Path("/proc/cpuinfo").exists():
        models = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")]
        assert cpu["model"] == (models[0] if models else cpu["model"])
    json.dumps(cpu)  # strict JSON, as every metadata field
