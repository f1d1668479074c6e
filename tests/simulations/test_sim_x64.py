"""Importing the simulators leaves JAX's dtype defaults alone; float64 runs scope 64-bit mode themselves."""
import os
import subprocess
import sys
import textwrap


def test_import_leaves_x64_off_and_float64_runs_still_work():
    script = textwrap.dedent("""
        import jax, jax.numpy as jnp
        import simulations, simulations.training, results, figures, claims
        print(jax.config.jax_enable_x64, jnp.ones(2).dtype)
        r = simulations.simulate(5, [6.0], m=10, steps=200)          # float64 by default
        print(r.final.dtype, r.collapsed.tolist())
        r32 = simulations.simulate(5, [6.0], m=10, steps=200, dtype="float32")
        print(r32.final.dtype, r32.collapsed.tolist())
        print(jax.config.jax_enable_x64, jnp.ones(2).dtype)          # still the caller's defaults
    """)
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "False float32",
        "float64 [[True]]",
        "float32 [[True]]",
        "False float32",
    ]
