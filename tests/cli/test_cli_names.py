"""The names ``clop-verify`` offers (argparse ``choices=``) are the library's own.

:mod:`clop_verify.validation` spells them out so that ``--help`` starts without importing JAX; this
test keeps the two spellings from drifting apart, as sets (the CLI may list them in another order).
"""
from clop_verify import validation as V
from simulations.collapse import dynamics, runner
from simulations.training import digits, losses, objectives, prototypes, trainer


def test_cli_names_are_the_library_names():
    assert V.RULES is dynamics.RULES  # one definition: theory.definitions.RULES
    assert set(V.DTYPES) == set(runner.DTYPES)
    assert set(V.INITS) == set(runner.INITS)
    assert set(V.LOSSES) == set(objectives.LOSSES)
    assert set(V.DIGITS_LOSSES) == set(digits.DIGITS_LOSSES)
    assert set(V.PROTOTYPES) == set(prototypes.PROTOTYPES)
    assert set(V.SIMILARITIES) == set(losses.SIMILARITIES)
    assert set(V.OPTIMIZERS) == set(trainer.OPTIMIZERS)
