"""The results layer: atomic result files with metadata, the code-keyed cache, and the shared experiments.

:mod:`results.io` writes files atomically and records what reproduces a number; :mod:`results.cache`
keys every cached result on its parameters and on a fingerprint of the code that computed it;
:mod:`results.experiments` names the CLOP experiments that figures and claims share. Nothing here
imports JAX: reading a result needs only the standard library and NumPy.

Example:
    >>> from results.cache import cache_dir, data_checksum
    >>> cache_dir("figures/out").name, len(data_checksum({"threshold": 2.07}))
    ('.cache', 64)
"""
