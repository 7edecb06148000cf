"""What a check covered, said honestly: functions found but not checked, imported ones, missing ones, warnings.

A homework file holds more than the pairs mathnn knows (``conv_forward_naive``, ``maxout_forward``,
helpers), may import its layers from a sibling (``layer_utils.py``: ``from .layers import *``), and an
assignment may require pairs the file lacks. The report lists each of these, so that "all passed"
never reads as "all your functions are right":

* ``not_checked``: top-level functions the file defines that are not part of a known pair;
* ``imported``: known functions the file imports from another module (name -> that module): only
  functions defined in the checked file are checked, so these are not credited here;
* ``missing``: functions of required pairs and update rules (``--require``, ``--assignment``) the file
  does not define;
* ``other_signatures``: functions with a known name that cannot take mathnn's arguments (a GRU of the
  student's own with other weights), not checked unless required: the student's call -> mathnn's.

A write into ``dout`` by a backward pass that returns the right values is a *warning*
(:func:`upstream_write`), not a failure; ``--strict`` makes it one (see
:func:`mathnn.gradcheck.homework.check_pair`). Only the trusted side runs this module: the lists come
from the sandbox's answer to ``load`` and are validated by :func:`read_load`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

#: At most this many names are kept from the sandbox's answer, each at most NAME_LIMIT characters.
FOUND_LIMIT, NAME_LIMIT = 200, 100


def upstream_write(function: str, argument: str) -> dict[str, str]:
    """The warning for a backward pass that wrote into the upstream gradient it was given.

    ``argument`` may name several ('dnext_h and dnext_c', the LSTM step's): each gets its own copy.
    """
    copies = " and ".join(f"`{name}.copy()`" for name in argument.split(" and "))
    return {"function": function, "argument": argument,
            "message": f"{function} passes but writes into {argument}: safe only if the caller never reuses "
                       f"{argument} (start from {copies} to be safe; --strict fails it)"}


def _name(value: object) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= NAME_LIMIT and value.isprintable() else None


def read_load(answer: Mapping[str, Any], names: Sequence[str]) -> tuple[list[str], dict[str, str], list[str]]:
    """The sandbox's answer to ``load``, validated: (known functions defined, imported name -> module, others)."""
    functions = answer.get("functions")
    defined = [name for name in functions if name in names] if isinstance(functions, list) else []
    imported_answer = answer.get("imported")
    imported: dict[str, str] = {}
    if isinstance(imported_answer, dict):
        for name, module in list(imported_answer.items())[:FOUND_LIMIT]:
            if name in names and name not in defined:
                imported[name] = _name(module) or "another file"
    others = answer.get("defined")
    found = [name for name in others[:FOUND_LIMIT] if _name(name) and name.isidentifier() and name not in names] \
        if isinstance(others, list) else []
    return defined, imported, list(dict.fromkeys(found))


def missing(summary: Mapping[str, Any]) -> list[str]:
    """Functions of the pairs and rules reported missing (a required one the file does not define)."""
    found: list[str] = []
    for result in [*summary.get("functions", []), *summary.get("updates", [])]:
        error = result.get("error") or {}
        if error.get("kind") == "missing" and error.get("stage"):
            found += str(error["stage"]).split(" and ")
    return list(dict.fromkeys(found))


def coverage(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The ``coverage`` entry of the JSON report (``other_signatures`` only when there are some)."""
    other = dict(summary.get("other_signatures", {}))
    return {
        "not_checked": list(summary.get("not_checked", [])),
        "imported": [{"name": name, "module": module} for name, module in summary.get("imported", {}).items()],
        "missing": missing(summary),
        **({"other_signatures": other} if other else {}),
    }


def imported_sentence(imported: Mapping[str, str]) -> str:
    """'affine_forward, affine_backward (from cs231n.layers)': the imported functions, by module."""
    modules: dict[str, list[str]] = {}
    for name, module in imported.items():
        modules.setdefault(module, []).append(name)
    return "; ".join(f"{', '.join(names)} (from {module})" for module, names in modules.items())


def coverage_lines(summary: Mapping[str, Any]) -> list[str]:
    """The lines of the text report on what was not checked (none when everything found was checked)."""
    lines = []
    if summary.get("not_checked"):
        lines.append(f"found but not checked by mathnn: {', '.join(summary['not_checked'])}")
    if summary.get("imported"):
        lines.append(f"imported, not defined here: not checked: {imported_sentence(summary['imported'])}")
    for called, known in summary.get("other_signatures", {}).items():
        lines.append(f"not checked, called otherwise than mathnn's {known}: {called} (--require checks it)")
    absent = missing(summary)
    if absent:
        lines.append(f"required but missing: {', '.join(absent)}")
    return lines


def warning_lines(result: Mapping[str, Any]) -> list[str]:
    """A pair's warnings for the text report (writes that pass)."""
    return [f"warning: {warning['message']}" for warning in result.get("warnings", [])]
