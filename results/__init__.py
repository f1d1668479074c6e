"""The results layer: atomic result files with metadata, the code-keyed cache, and the shared experiments.

:mod:`results.io` writes files atomically and records what reproduces a number; :mod:`results.cache`
keys every cached result on its parameters and on a fingerprint of the code that computed it;
:mod:`results.settings` names the output folder and the cache folder (by default the XDG cache folder);
:mod:`results.experiments` names the CLOP experiments that figures and claims share. Nothing here
imports JAX: reading a result needs only the standard library and NumPy.

Example:
    >>> from results.cache import data_checksum
    >>> from results.settings import default_cache_dir
    >>> default_cache_dir({"XDG_CACHE_HOME": "/x"}).as_posix(), len(data_checksum({"threshold": 2.07}))
    ('/x/clop-verify/results', 64)
"""
