"""The ``mathnn`` command: derive, verify, charrnn, tag, check, vanishing, tour.

One module per command, each with ``register(subparsers)``; ``check`` and ``vanishing`` are added by
the packages that implement them. Only argument parsing happens at import; SymPy, the rules and the
models are imported by the commands that need them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import charrnn, derive, tag, tour, verify

DESCRIPTION = """\
mathnn: the math of RNNs, vanishing gradients and batch normalization, derived by SymPy, proven equal
to the textbook closed forms, generated into numpy kernels and gradient-checked.

commands:
  derive NAME    show the derivation of one rule step by step (--latex for LaTeX/Markdown)
  verify [NAME]  prove rules and gradient-check their kernels; exit 0 only if all hold
  charrnn train  train a next-character RNN on a text (the embedded one by default) and save it
  charrnn sample generate text from a saved model
  tag SENTENCE   tag each word with its part of speech ("I work at google"), a many-to-many RNN
  check FILE     gradient-check the CS231n layers of a homework file and say where the bug is
  grade DIR      grade a folder of submissions in parallel: grades.csv and grades.json
  autograder build  write a Gradescope autograder bundle running the trusted checker
  vanishing      measure the vanishing gradient through time and depth, and its remedies
  tour           the guided tour: everything mathnn can show and check, in lecture order (and the docs)
"""


def build_parser() -> argparse.ArgumentParser:
    """The ``mathnn`` argument parser with every command registered, in the order of the help text."""
    parser = argparse.ArgumentParser(
        prog="mathnn", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (derive, verify, charrnn, tag):
        module.register(commands)

    from ..gradcheck.autograder import add_cli as add_autograder
    from ..gradcheck.grading import add_cli as add_grade
    from ..gradcheck.runner import add_cli as add_check
    from ..experiments.cli import add_cli as add_vanishing

    add_check(commands)
    add_grade(commands)
    add_autograder(commands)
    add_vanishing(commands)
    tour.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``mathnn`` command with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.run(args, parser)
    except BrokenPipeError:  # output piped into `head` and closed early: not an error of ours
        sys.stderr.close()
        return 0


__all__ = ["DESCRIPTION", "build_parser", "main"]
