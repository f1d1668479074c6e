"""The ``clop-verify`` console script: dispatch to one module per subcommand.

Each module in :mod:`clop_verify.commands` exposes ``NAME``, ``HELP``, ``register(parser)`` and
``run(args) -> int``. Heavy imports (JAX, matplotlib) happen inside ``run`` so that ``--help`` and the
symbolic commands start quickly. :func:`main` first sets the process-wide JAX settings
(:func:`clop_verify.runtime.configure_jax`: float64, persistent compilation cache). Arguments are
validated where they are parsed
(:mod:`clop_verify.validation`); a :class:`ValueError` raised for bad input, or an argparse error,
becomes one line on stderr and exit status 2, with no traceback. A closed output pipe
(``clop-verify ... | head``) ends the command quietly.
"""
from __future__ import annotations

import argparse
import importlib
import os
import re
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

#: Exit status after the reader of stdout went away (128 + SIGPIPE, as a shell reports it).
EXIT_BROKEN_PIPE = 141

#: Tokens argparse must read as (negative) numbers, not as unknown flags: ``-1``, ``-.5``, ``-1e-3``,
#: ``-inf``, ``-nan`` (the value is then judged by the flag's type, with its accepted range).
NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-(inf|infinity|nan)$", re.IGNORECASE)


class OneLineParser(argparse.ArgumentParser):
    """ArgumentParser whose errors are a single line and exit status 2 (no usage block), and which
    reads ``-inf`` or ``-1e-3`` after a flag as a value (so the flag's range check reports it)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = NEGATIVE_NUMBER  # argparse's own knows only -1 and -.5

    def error(self, message: str):  # noqa: D401 - argparse API
        self.exit(2, f"{self.prog}: error: {message}\n")


def _commands():
    return [importlib.import_module(f"clop_verify.commands.{name}") for name in COMMANDS]


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subparser per command.

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
    for module in _commands():
        p = sub.add_parser(
            module.NAME,
            help=module.HELP.replace("%", "%%"),  # argparse %-formats help strings
            description=getattr(module, "DESCRIPTION", module.HELP),
            epilog=getattr(module, "EXAMPLE", None),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.register(p)
        p.set_defaults(_run=module.run)
    return parser


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a real file (tests capture it)
        pass


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
        from clop_verify.runtime import initialize_distributed

        initialize_distributed()  # several processes (jax.distributed) when CLOP_VERIFY_COORDINATOR is set
        status = int(args._run(args) or 0)
        sys.stdout.flush()
        return status
    except ValueError as exc:
        print(f"clop-verify {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print(f"clop-verify {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
