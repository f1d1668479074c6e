"""Run a Python snippet in a fresh interpreter whose JAX sees ``devices`` CPU devices (set before JAX starts).

The device count of a running JAX cannot change, so the tests that compare several devices with one
start a subprocess; this is the one place that builds its environment and checks its exit status.
"""
from __future__ import annotations

import os
import subprocess
import sys


def run_with_cpu_devices(script: str, *args: str, devices: int, timeout: float) -> str:
    """Standard output of ``python -c script args...`` with ``JAX_NUM_CPU_DEVICES=devices`` on the CPU
    platform; fails the test (with the end of standard error) if it exits non-zero or times out."""
    env = dict(os.environ, JAX_NUM_CPU_DEVICES=str(devices), JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout
