"""JAX simulators of the class-embedding dynamics of paper 001 (placeholder; filled by the simulator work)."""
