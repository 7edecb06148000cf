"""Argument helpers shared by the commands: number types, one-line errors, reading a text, rule names."""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Callable, Sequence
from typing import Any


def _number(kind: Callable[[str], float], minimum: float, strict: bool, what: str) -> Callable[[str], float]:
    """An argparse type: ``kind`` of the text, refused below ``minimum`` (or at it, when ``strict``)."""
    def convert(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}; received {text!r}") from None
        if value != value or value in (float("inf"), float("-inf")) or value < minimum or (strict and value == minimum):
            raise argparse.ArgumentTypeError(f"expected {what}; received {text!r}")
        return value

    return convert


POSITIVE_INT = _number(int, 1, False, "an integer ≥ 1")
NATURAL = _number(int, 0, False, "an integer ≥ 0")
POSITIVE_FLOAT = _number(float, 0.0, True, "a finite number > 0")


def _fail(parser: argparse.ArgumentParser, option: str, error: Exception) -> None:
    """Report a mathnn InputError as misuse of ``option``: one line, exit 2, no traceback."""
    message = str(error)
    name, _, rest = message.partition(": ")
    parser.error(f"{option}: {rest if rest and ' ' not in name else message}")


def _read_text(parser: argparse.ArgumentParser, path: str | None) -> tuple[str, str]:
    """(text, where it came from): the file at ``path``, or the embedded text."""
    if path is None:
        from ..data import load_text

        return load_text(), "the embedded text (mathnn.data.load_text())"
    try:
        with open(path, encoding="utf-8") as file:
            return file.read(), repr(path)
    except OSError as error:
        parser.error(f"--text: cannot read {path!r} ({error.strerror or error})")
    except UnicodeDecodeError as error:
        parser.error(f"--text: {path!r} is not UTF-8 text ({error.reason} at byte {error.start})")


def _resolve(parser: argparse.ArgumentParser, names: Sequence[str]) -> list[Any]:
    """The rules called ``names`` (all rules when empty).

    An unknown name is a one-line usage error (exit 2) with the closest known name, when one is
    close, and the list of known rules.
    """
    from ..rules import RULES

    unknown = [name for name in names if name not in RULES]
    if unknown:
        guesses = [f"{name!r} (did you mean {close[0]!r}?)" if (close := difflib.get_close_matches(name, RULES, n=1))
                   else repr(name) for name in unknown]
        parser.error(f"unknown rule {', '.join(guesses)}; known rules: {', '.join(RULES)}")
    return [RULES[name] for name in (names or RULES)]


def rules_by_topic() -> str:
    """Every rule of ``mathnn.rules.RULES``, one line per topic: ``  topic: name, name``."""
    from ..rules import RULES, topic_of

    topics: dict[str, list[str]] = {}
    for name, rule in RULES.items():
        topics.setdefault(topic_of(rule), []).append(name)
    width = max(map(len, topics))
    return "\n".join(f"  {topic + ':':<{width + 1}} {', '.join(names)}" for topic, names in topics.items())


class RulesHelp(argparse.Action):
    """``-h/--help`` that lists every rule after the options.

    The list is read from ``mathnn.rules`` (which imports SymPy) only when help is asked for, so
    building the parser stays cheap.
    """

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str | None = "show this help message and exit") -> None:
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        parser.epilog = f"rules (NAME), by topic:\n{rules_by_topic()}"
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        parser.print_help()
        parser.exit()


def add_no_cache(parser: argparse.ArgumentParser) -> None:
    """The ``--no-cache`` flag of the commands that prove rules."""
    parser.add_argument("--no-cache", action="store_true",
                        help="prove again instead of reading the proof cache (and refresh the cache)")
