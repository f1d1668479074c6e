"""``python -m clop_verify`` is the same as the ``clop-verify`` console script."""
import sys

from clop_verify.cli import main

sys.exit(main())
