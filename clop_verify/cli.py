"""The ``clop-verify`` console script: dispatch to one module per subcommand.

Each module in :mod:`clop_verify.commands` exposes ``NAME``, ``HELP``, ``register(parser)`` and
``run(args) -> int``. Heavy imports (JAX, matplotlib) happen inside ``run`` so that ``--help`` and the
symbolic commands start quickly. :func:`main` first sets the process-wide JAX settings
(:func:`clop_verify.runtime.configure_jax`: float64, persistent compilation cache). Arguments are
validated where they are parsed
(:mod:`clop_verify.validation`); a :class:`clop_verify.errors.UsageError` (the user's mistake), an
argparse error or a write the disk refused (no space, quota, read-only) becomes one line on stderr and
exit status 2, with no traceback. Any other exception is a bug: its traceback is printed, then a line
saying so, and the exit status is 1. Each flag is given once (a second occurrence is refused), and a
flag given a list takes each value once (repeats are dropped, the first occurrence keeps its place:
``--seeds 5 5 5`` is ``--seeds 5``). A closed output pipe
(``clop-verify ... | head``) ends the command quietly. Ctrl-C ends every command within about two
seconds (:func:`clop_verify.interrupt.install`).
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

    def add_argument(self, *args, **kwargs):
        """argparse's, with the action refusing to be given twice (:data:`REPEATS_POLICY`)."""
        action = super().add_argument(*args, **kwargs)
        if action.option_strings and not isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            action.__class__ = _given_once(type(action))
        return action

    def parse_known_args(self, args=None, namespace=None):
        """argparse's, then :func:`unique_lists` on the result (one policy for repeated values)."""
        namespace, extras = super().parse_known_args(args, namespace)
        if hasattr(namespace, _SEEN):
            delattr(namespace, _SEEN)
        return unique_lists(namespace), extras


#: What ``--help`` says about repeated flags and values (the policy of :class:`OneLineParser`).
REPEATS_POLICY = ("Each flag is given once (a second --k, --seeds or --only is refused); a value repeated in its "
                  "list is taken once, in the order first given (--seeds 5 5 5 is --seeds 5).")

_SEEN = "_flags_given"
_ONCE_CLASSES: dict = {}


def _given_once(cls):
    """A subclass of the argparse action ``cls`` that refuses a second occurrence of its flag (one line, exit 2)."""
    if cls not in _ONCE_CLASSES:
        def __call__(self, parser, namespace, values, option_string=None):
            seen = namespace.__dict__.setdefault(_SEEN, set())
            if self.dest in seen:
                parser.error(f"argument {'/'.join(self.option_strings)}: given twice; give it once, with all its values")
            seen.add(self.dest)
            cls.__call__(self, parser, namespace, values, option_string)

        _ONCE_CLASSES[cls] = type(f"Once{cls.__name__}", (cls,), {"__call__": __call__})
    return _ONCE_CLASSES[cls]


def unique_lists(namespace: argparse.Namespace) -> argparse.Namespace:
    """Drop repeated values from every list-valued argument, keeping the first occurrence's place.

    Example:
        >>> unique_lists(argparse.Namespace(seeds=[5, 5, 5], only=["b", "a", "b"], k=3)).__dict__
        {'seeds': [5], 'only': ['b', 'a'], 'k': 3}
    """
    for name, value in vars(namespace).items():
        if isinstance(value, list):
            setattr(namespace, name, list(dict.fromkeys(value)))
    return namespace


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
        epilog="Example: clop-verify bound --k 3 10 30\n\n" + REPEATS_POLICY,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for module in _commands():
        p = sub.add_parser(
            module.NAME,
            help=module.HELP.replace("%", "%%"),  # argparse %-formats help strings
            description=getattr(module, "DESCRIPTION", module.HELP),
            epilog=(getattr(module, "EXAMPLE", None) or "") + "\n\n" + REPEATS_POLICY,
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
    """Entry point of ``clop-verify``; returns the process exit status (2 for bad input, 1 for a bug).

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

    def body() -> int:
        from clop_verify.runtime import initialize_distributed

        with _usage_from_environment():
            initialize_distributed()  # several processes (jax.distributed) when CLOP_VERIFY_COORDINATOR is set
        return int(args._run(args) or 0)

    return guarded(f"clop-verify {args.command}", body)


def guarded(label: str, body) -> int:
    """Run ``body()`` (returning an exit status) under the CLI's error policy; used by every entry point.

    :class:`~clop_verify.errors.UsageError` and a write the disk refused: one line ``LABEL: error: ...``,
    status 2. A closed stdout: quiet, 141. Ctrl-C: ``LABEL: interrupted``, 130, within about a second
    (:mod:`clop_verify.interrupt`). Anything else: the traceback, a line saying it is a bug, status 1.

    Example:
        >>> from clop_verify.errors import UsageError
        >>> def bad():
        ...     raise UsageError("--n must be >= 1; got 0")
        >>> guarded("demo", bad)
        2
    """
    from clop_verify import interrupt
    from clop_verify.errors import DISK_ERRNOS, UsageError, disk_error_text

    try:
        interrupt.install(label)
        status = int(body() or 0)
        sys.stdout.flush()
        return status
    except UsageError as exc:
        print(f"{label}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            _silence_stdout()
            return EXIT_BROKEN_PIPE
        if exc.errno in DISK_ERRNOS:
            print(f"{label}: error: {disk_error_text(exc)}", file=sys.stderr)
            return 2
        _report_bug(label)
        return 1
    except KeyboardInterrupt:
        print(f"{label}: interrupted", file=sys.stderr, flush=True)
        interrupt.end_after_interrupt()  # a real Ctrl-C: status 130 now, without the interpreter's teardown
        return 130
    except Exception:  # noqa: BLE001 - anything else is a bug: keep its traceback
        _report_bug(label)
        return 1
    finally:
        interrupt.uninstall()


def _usage_from_environment():
    from clop_verify.errors import user_input

    return user_input()


def _report_bug(label: str) -> None:
    """Print the current exception's traceback and a line saying it is a bug (exit status 1)."""
    import traceback

    traceback.print_exc(file=sys.stderr)
    print(f"{label}: internal error: this is a bug in clop-verify, not a problem with the "
          "input; please report it with the traceback above", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
