"""What an instructor grades: the required function pairs and update rules, their points and who sees the result.

An assignment file is JSON::

    {"pairs": [
        {"name": "batchnorm", "points": 4},
        {"name": "rnn", "points": 6, "visibility": "after_published"},
        {"name": "adam", "points": 2}
    ]}

``name`` is a pair ('batchnorm'), one of its functions ('batchnorm_backward') or one of CS231n's
update rules ('sgd', 'sgd_momentum', 'rmsprop', 'adam'; see :func:`checkable`); ``points`` defaults
to 1 and ``visibility`` to 'visible' (Gradescope's values: visible, hidden, after_due_date,
after_published). ``--require NAME…`` is the same with 1 point each, visible. A required pair or rule
that the file does not define, defines only half of, or still has as starter code scores zero with
that reason.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import optim_cs231n
from ..errors import InputError
from .homework import PAIRS, resolve

__all__ = ["VISIBILITIES", "Assignment", "Graded", "checkable", "load_assignment"]

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
#: The update rules ``mathnn check`` checks (CS231n's optim.py), by name.
RULES = tuple(optim_cs231n.RULES)


def checkable(name: str) -> str:
    """What ``name`` asks to check: an update rule's name ('adam'), or the pair it names ('batchnorm').

    Raises
    ------
    InputError
        For a name that is neither; the message lists the known pairs and rules.
    """
    if name in RULES:
        return name
    try:
        return resolve(name).name
    except InputError:
        raise InputError(
            f"function: expected one of {', '.join(PAIRS)} (or their _forward/_backward names), or an update rule "
            f"({', '.join(RULES)}); received {name!r}"
        ) from None


@dataclass(frozen=True)
class Graded:
    """One required pair or update rule: its name, its points and its visibility on Gradescope."""

    name: str
    points: float = 1.0
    visibility: str = "visible"


@dataclass(frozen=True)
class Assignment:
    """The required pairs and update rules, in the order given."""

    pairs: tuple[Graded, ...]

    @property
    def names(self) -> list[str]:
        return [graded.name for graded in self.pairs]

    @classmethod
    def from_names(cls, names: Sequence[str]) -> Assignment:
        """Every named pair or rule, 1 point each, visible; unknown names raise InputError."""
        return cls(tuple(Graded(name) for name in dict.fromkeys(checkable(name) for name in names)))


def load_assignment(path: str | Path) -> Assignment:
    """Read an assignment file (see the module's docstring).

    Raises
    ------
    InputError
        Naming the file, the entry and what was expected, for anything the format does not allow.
    """
    where = f"assignment {path}"
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError(f"{where}: cannot read it ({error.strerror or error})") from None
    except ValueError as error:
        raise InputError(f"{where}: expected JSON; received text that is not ({error})") from None
    entries = document.get("pairs") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise InputError(f'{where}: expected an object {{"pairs": [{{"name": ..., "points": ...}}, ...]}}; '
                         f"received {type(document).__name__}")
    pairs: dict[str, Graded] = {}
    for number, entry in enumerate(entries):
        label = f"{where}: pairs[{number}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise InputError(f"{label}: expected an object with a name; received {entry!r}")
        try:
            name = checkable(entry["name"])
        except InputError as error:
            raise InputError(f"{label}: {str(error).removeprefix('function: ')}") from None
        points = entry.get("points", 1)
        if isinstance(points, bool) or not isinstance(points, (int, float)) or not (
            math.isfinite(points) and points >= 0
        ):
            raise InputError(f"{label}: points: expected a number ≥ 0; received {points!r}")
        visibility = entry.get("visibility", "visible")
        if visibility not in VISIBILITIES:
            raise InputError(f"{label}: visibility: expected one of {', '.join(VISIBILITIES)}; received {visibility!r}")
        if name in pairs:
            raise InputError(f"{label}: {name} is listed twice")
        pairs[name] = Graded(name, float(points), visibility)
    return Assignment(tuple(pairs.values()))
