"""``mathnn check student.py``: check a student's CS231n layers and update rules; the verdict never leaves this process.

This module is the command: its arguments (shared with ``mathnn grade`` and ``mathnn autograder
build`` through :func:`add_limits`), and :func:`run`, which checks the file
(:func:`mathnn.gradcheck.filecheck.check_file`: the sandbox, the test inputs, the verdict) and prints
the report (:mod:`mathnn.gradcheck.rendering`: text, ``--json``, ``--gradescope``). The names of
both are importable from here too.

Exit status: 0 every pair and update rule passed, 1 one failed, 2 nothing could be checked (no such
file, no known function in it, an error while importing it).
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import threading
from collections.abc import Callable, Sequence

from ..errors import InputError
from .assignment import RULES, Assignment, checkable, load_assignment
from .filecheck import (
    DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT, EXIT_NOT_CHECKED, EXIT_PASSED, check_file, exit_code,
)
from .homework import PAIRS
from .rendering import format_pair, format_text, format_update, to_gradescope, to_json, write_results
from .sandbox import install_signal_handlers

__all__ = [
    "add_cli", "add_limits", "assignment_of", "check_file", "configure", "exit_code", "format_pair", "format_text",
    "format_update", "main", "run", "to_gradescope", "to_json", "write_results",
]

#: Accepted ranges of --timeout (seconds) and --memory (MB).
TIMEOUT_RANGE = (0.5, 3600.0)
MEMORY_RANGE = (16, 65536)


def _within(kind: Callable[[str], float | int], what: str, low: float, high: float
            ) -> Callable[[str], float | int]:
    """An argparse type: ``kind(text)`` within [low, high], else a one-line error naming the range."""
    def parse(text: str) -> float | int:
        try:
            value = kind(text)
        except (ValueError, OverflowError):
            value = None
        if value is None or not (math.isfinite(value) and low <= value <= high):
            raise argparse.ArgumentTypeError(f"expected {what} between {low:g} and {high:g}; received {text!r}")
        return value

    return parse


def _function_name(text: str) -> str:
    try:
        return checkable(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error).removeprefix("function: ")) from None


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2**64:
        raise argparse.ArgumentTypeError(f"expected an integer between 0 and 2**64 - 1; received {text!r}")
    return value


def _assignment(text: str) -> Assignment:
    try:
        return load_assignment(text)
    except InputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def assignment_of(args: argparse.Namespace) -> Assignment | None:
    """The assignment of ``--assignment`` or ``--require`` (None when neither was given)."""
    if args.assignment is not None:
        return args.assignment
    return Assignment.from_names(args.require) if args.require else None


def add_limits(parser: argparse.ArgumentParser) -> None:
    """The arguments ``check`` and ``grade`` share: limits, seed, required pairs."""
    parser.add_argument(
        "--timeout", type=_within(float, "a number of seconds", *TIMEOUT_RANGE), default=DEFAULT_TIMEOUT,
        metavar="S", help=f"wall-clock limit per function pair or update rule, in seconds (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--memory", type=_within(int, "a whole number of MB", *MEMORY_RANGE), default=DEFAULT_MEMORY_MB,
        metavar="MB", help=f"address-space limit of the sandbox, in MB (default {DEFAULT_MEMORY_MB})",
    )
    parser.add_argument("--strict", action="store_true",
                        help="fail every write into an array the caller passed, also dout (default: a warning)")
    parser.add_argument("--seed", type=_seed, default=None,
                        help="seed of the test inputs (default: a secret random seed, printed in the report)")
    parser.add_argument("--require", nargs="+", type=_function_name, metavar="NAME", default=[],
                        help="pairs or update rules that must be there: a missing or unfinished one scores zero")
    parser.add_argument("--assignment", type=_assignment, metavar="FILE",
                        help="JSON file of required pairs and rules with points and visibility (see mathnn.gradcheck.assignment)")


def configure(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``check`` arguments to ``parser``."""
    parser.add_argument("student", metavar="STUDENT.py", help="the homework file, e.g. cs231n/layers.py or cs231n/optim.py")
    parser.add_argument(
        "--function", action="append", type=_function_name, metavar="NAME",
        help=f"check only this pair or update rule (repeatable): the pairs {', '.join(PAIRS)} (or a "
        f"_forward/_backward name); the rules {', '.join(RULES)}",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--gradescope", metavar="FILE", help="also write a Gradescope results.json to FILE")
    add_limits(parser)
    return parser


def run(args: argparse.Namespace, parser: argparse.ArgumentParser | None = None) -> int:
    """Run ``mathnn check`` with parsed arguments; returns the exit status."""
    if threading.current_thread() is threading.main_thread():
        install_signal_handlers()  # Ctrl-C or a kill of the grader kills every sandbox at once
    assignment = assignment_of(args)
    summary = check_file(args.student, args.function, timeout=args.timeout, memory_mb=args.memory, seed=args.seed,
                         require=assignment.names if assignment else (), strict=args.strict)
    if args.json:
        print(json.dumps(to_json(summary), indent=2, allow_nan=False, ensure_ascii=False))
    elif summary["error"]:
        print(format_text(summary), file=sys.stderr)
    else:
        print(format_text(summary))
    if args.gradescope:
        try:  # after check_file returned: no student process is alive
            write_results(args.gradescope, to_gradescope(summary, assignment))
        except OSError as error:
            print(f"mathnn check: error: cannot write {args.gradescope}: {error.strerror or error}", file=sys.stderr)
            return EXIT_NOT_CHECKED
    return exit_code(summary)


def add_cli(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``check`` subcommand (its handler is ``args.run(args, parser)``)."""
    parser = subparsers.add_parser(
        "check", help="gradient-check a CS231n homework file",
        description="Gradient-check the CS231n layers a homework file defines, and check its update rules "
        "(sgd, sgd_momentum, rmsprop, adam of optim.py) step by step against mathnn's, each in a sandboxed "
        "process. Model classes the file defines (a class with params and loss(X, y) -> (loss, grads), as in "
        "neural_net.py, fc_net.py, cnn.py, rnn.py) are checked too when no --function is given: CS231n's "
        "TwoLayerNet (assignment 1's or 2's, told by its constructor), FullyConnectedNet (no normalization, "
        "batch norm, layer norm, dropout), ThreeLayerConvNet and CaptioningRNN are built with small arguments, another class with none; every parameter's gradient "
        "is checked against the loss and each wrong one named. A file inside a cs231n/ package imports its "
        "own layers. Exit status: 0 all passed, 1 some failed, 2 nothing could be checked.",
    )
    configure(parser)
    parser.set_defaults(run=run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``mathnn check`` as a function: parse ``argv``, check, print; returns the exit status."""
    parser = configure(argparse.ArgumentParser(
        prog="mathnn check", description="Gradient-check the CS231n layers a homework file defines, and check its "
        "update rules (sgd, sgd_momentum, rmsprop, adam) step by step.",
    ))
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # argparse has printed the usage error (or --help)
        return stop.code if isinstance(stop.code, int) else EXIT_NOT_CHECKED
    try:
        return run(args, parser)
    except BrokenPipeError:  # output piped into `head` and closed early
        sys.stderr.close()
        return EXIT_PASSED
    except KeyboardInterrupt:  # the sandboxes were killed by the signal handler
        print("mathnn check: interrupted; every sandbox was stopped", file=sys.stderr)
        return 128 + signal.SIGINT


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
