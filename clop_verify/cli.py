"""The ``clop-verify`` console script: dispatch to one module per subcommand.

Each module in :mod:`clop_verify.commands` exposes ``NAME``, ``HELP``, ``register(parser)`` and
``run(args) -> int``. Heavy imports (JAX, matplotlib) happen inside ``run`` so that ``--help`` and the
symbolic commands start quickly. :func:`main` first sets the process-wide JAX settings
(:func:`clop_verify.runtime.configure_jax`: float64, persistent compilation cache). A :class:`ValueError` raised by the library for bad input, or an
argparse error, becomes one line on stderr and exit status 2, with no traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys

#: Subcommand modules, in the order ``--help`` lists them.
COMMANDS = (
    "bound",
    "errata",
    "simulate",
    "threshold",
    "figures",
    "report",
    "synthetic",
    "digits",
    "nc",
    "diagnose",
)


class OneLineParser(argparse.ArgumentParser):
    """ArgumentParser whose errors are a single line and exit status 2 (no usage block)."""

    def error(self, message: str):  # noqa: D401 - argparse API
        self.exit(2, f"{self.prog}: error: {message}\n")


def _available_commands():
    for name in COMMANDS:
        try:
            yield importlib.import_module(f"clop_verify.commands.{name}")
        except ModuleNotFoundError as exc:  # a subcommand not built yet is simply not offered
            if exc.name != f"clop_verify.commands.{name}":
                raise


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subparser per available command.

    Example:
        >>> build_parser().parse_args(["bound", "--k", "30"]).k
        [30]
    """
    parser = OneLineParser(
        prog="clop-verify",
        description=(
            "Machine verification of the collapse theory of the CLOP paper: the Theorem 1 "
            "learning-rate bound derived with sympy, JAX simulators of complete and rank-(k-1) "
            "collapse, the paper's figures and a claims report."
        ),
        epilog="Example: clop-verify bound --k 3 10 30",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for module in _available_commands():
        p = sub.add_parser(
            module.NAME,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", module.HELP),
            epilog=getattr(module, "EXAMPLE", None),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.register(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``clop-verify``; returns the process exit status (2 for bad input).

    Example:
        >>> main(["bound", "--k", "30"])
            k      eps  eta_max (derived)    printed
           30        0           2.071429   2.033254
        0
    """
    from clop_verify.runtime import configure_jax

    configure_jax()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args._run(args) or 0)
    except ValueError as exc:
        print(f"clop-verify {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"clop-verify {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
