"""The paper-003 checks compute in the dtype they are given, never in whatever the process's x64 flag says
(issue 21, item 6)."""
import jax
import pytest

from claims import nc003


def test_the_dtype_is_an_argument_and_float64_without_x64_is_refused():
    assert nc003.DTYPE == "float64" and nc003._checked_dtype("float32") == "float32"
    previous = jax.config.jax_enable_x64
    try:
        jax.config.update("jax_enable_x64", False)
        with pytest.raises(ValueError, match="needs JAX's 64-bit mode"):
            nc003.lower_bound_samples(2)  # was: silently computed in float32 with float32 tolerances
    finally:
        jax.config.update("jax_enable_x64", previous)
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        nc003._checked_dtype("float16")
