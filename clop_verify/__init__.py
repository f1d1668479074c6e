"""Command-line front end of clop-verify.

A thin layer: each subcommand in :mod:`clop_verify.commands` parses its arguments and calls the same
public functions of :mod:`theory`, :mod:`simulations`, :mod:`figures` and :mod:`claims` that a user
would import. Bad input is reported as one line on stderr with exit status 2.
"""
