"""The reports of :func:`mathnn.gradcheck.filecheck.check_file`: text, ``--json`` and Gradescope's ``results.json``.

* :func:`format_text` — the human report, one block per pair (:func:`format_pair`), per update
  rule (:func:`format_update`) and per model class (:func:`format_model`), and what was not checked
  (:mod:`mathnn.gradcheck.coverage`);
* :func:`to_json` — the ``--json`` document (strict JSON: inf and NaN become null);
* :func:`to_gradescope` — a Gradescope autograder ``results.json``, one test per pair and per rule,
  with an assignment's points and visibility;
* :func:`write_results` — any of these documents, written to a file atomically.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from .assignment import Assignment, Graded
from .coverage import coverage, coverage_lines, warning_lines
from .homework import PAIRS

__all__ = ["format_model", "format_pair", "format_text", "format_update", "to_gradescope", "to_json", "write_results"]

Result = dict[str, Any]


def _number(value: float | None, spec: str = ".1e") -> str:
    return "—" if value is None or not math.isfinite(value) else format(value, spec)


def _kinks(count: int) -> str:
    return "" if not count else f"kink at {count} entr{'y' if count == 1 else 'ies'}"


def _shape(gradient: Result) -> str:
    """'shape (1, 5), expected (5,)' for a gradient whose shape differs from its input's by size-1 axes."""
    if "shape" not in gradient:
        return ""
    return f"shape {tuple(gradient['shape'])}, expected {tuple(gradient['expected_shape'])}"


def format_pair(result: Result) -> str:
    """A pair's block of the human report: verdict, forward, gradient table, diagnosis."""
    from ..tables import format_table

    verdict = "passed" if result["passed"] else "FAILED"
    functions = dict.fromkeys((result["forward_function"], result["backward_function"]))  # a loss: one function
    lines = [f"{' / '.join(functions)}: {verdict}"]
    forward = result["forward"]
    if forward["status"] == "ok":
        what = "loss" if len(functions) == 1 else "forward"
        lines.append(f"  {what} matches {forward['reference']} (max relative error {_number(forward['max_error'])})")
    if result["precision"] and result["precision"] != "float64":
        lines.append(f"  precision: {result['precision']}")
    if result["gradients"]:
        rows = [
            (g["name"], "ok" if g["passed"] else "FAIL", _number(g["max_error"]), _number(g["tolerance"], ".0e"),
             g["method"], "; ".join(note for note in (_shape(g), _kinks(len(g["kinks"]))) if note))
            for g in result["gradients"]
        ]
        table = format_table(("gradient", "result", "max error", "pass mark", "method", "notes"), rows)
        lines += ["  " + line for line in table.splitlines()]
    if result["diagnosis"]:
        lines += ["  " + line for line in result["diagnosis"].splitlines()]
    lines += ["  " + line for line in warning_lines(result)]
    if result.get("output"):
        lines.append("  your code printed:")
        lines += ["  | " + line for line in result["output"].splitlines()]
    return "\n".join(lines)


def format_update(result: Result) -> str:
    """An update rule's block of the human report: verdict (and the known mistake it follows), steps, diagnosis."""
    verdict = "passed" if result["passed"] else "FAILED"
    if result.get("mistake"):
        verdict += f" (known mistake: {result['mistake']})"
    lines = [f"{result['function']}: {verdict}"]
    if result["steps"]:
        variant = " (or, in a run that follows it, with the accepted variant noted below)" if result.get("accepted") \
            else ""
        lines.append(f"  next_w and config compared with {result['reference']}{variant} over {result['steps']} "
                     f"step(s): max error of next_w {_number(result['max_error'])} (of the reference step's largest "
                     f"entry), pass mark {_number(result['tolerance'], '.0e')}")
    if result["diagnosis"]:
        lines += ["  " + line for line in result["diagnosis"].splitlines()]
    else:  # passed: the accepted variants and in-place changes are still said
        lines += [f"  note: {note}" for note in result["notes"]]
    if result.get("output"):
        lines.append("  your code printed:")
        lines += ["  | " + line for line in result["output"].splitlines()]
    return "\n".join(lines)


def format_model(result: Result) -> str:
    """A model class's block of the human report: its verdict, then per setup each parameter's verdict."""
    from .homework import error_sentence

    lines = [f"{result['name']}: {'passed' if result['passed'] else 'FAILED'}"]
    if result["error"]:
        lines.append(f"  {error_sentence(result['error'])}")
    else:
        from .model_file import describe_model

        lines += ["  " + line for line in describe_model(result).splitlines()]
    if result.get("output"):
        lines.append("  your code printed:")
        lines += ["  | " + line for line in result["output"].splitlines()]
    return "\n".join(lines)


def _counts(functions: list, updates: list, passed: bool = False, models: list | None = None) -> str:
    """'3 function pair(s)', '2 update rule(s)', '2 model class(es)', joined by 'and' ('1 of 3 …' with ``passed``)."""
    parts = []
    models = models or []
    for results, what in ((functions, "function pair(s)"), (updates, "update rule(s)"), (models, "model class(es)")):
        if results or (what.startswith("function") and not updates and not models):
            done = f"{sum(result['passed'] for result in results)} of " if passed else ""
            parts.append(f"{done}{len(results)} {what}")
    return " and ".join(parts)


def format_text(summary: Result) -> str:
    """The human report of :func:`check_file`."""
    if summary["error"]:
        return "\n".join([f"mathnn check: could not check {summary['file']}: {summary['error']}",
                          *(line for line in coverage_lines(summary) if line not in summary["error"])])
    functions, updates, models = summary["functions"], summary.get("updates", []), summary.get("models", [])
    failed = [result["name"] for result in [*functions, *updates, *models] if not result["passed"]]
    blocks = [f"mathnn check: {summary['file']}: {_counts(functions, updates, models=models)}, seed {summary['seed']} "
              f"(--seed {summary['seed']} repeats this run)"]
    if summary.get("output"):
        blocks.append("\n".join([f"importing {Path(summary['file']).name} printed:",
                                 *("  | " + line for line in summary["output"].splitlines())]))
    blocks += [format_pair(result) for result in functions]
    blocks += [format_update(result) for result in updates]
    blocks += [format_model(result) for result in models]
    if coverage_lines(summary):
        blocks.append("\n".join(coverage_lines(summary)))
    tail = f"{_counts(functions, updates, passed=True, models=models)} passed"
    blocks.append(tail + (f"; failed: {', '.join(failed)}" if failed else ""))
    return "\n\n".join(blocks)


def _finite(value: Any) -> Any:
    """``value`` with inf/NaN floats replaced by None, so that it is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def to_json(summary: Result) -> Result:
    """The ``--json`` document: per pair its name, verdict, per-gradient error and method, diagnosis; per update
    rule (``updates``) its verdict, largest error, the known mistake it follows (``mistake``) and diagnosis."""
    return _finite({
        "file": summary["file"],
        "seed": summary["seed"],
        "passed": summary["passed"],
        "error": summary["error"],
        "output": summary.get("output", ""),
        "protections": summary.get("protections", {}),
        "coverage": coverage(summary),
        "functions": [
            {
                "name": result["name"],
                "forward_function": result["forward_function"],
                "backward_function": result["backward_function"],
                "passed": result["passed"],
                "forward": {key: result["forward"][key] for key in ("status", "max_error", "tolerance")},
                "in_place": result["in_place"],
                "warnings": result.get("warnings", []),
                "gradients": [
                    {key: g[key] for key in ("name", "passed", "max_error", "tolerance", "method")}
                    for g in result["gradients"]
                ],
                "diagnosis": result["diagnosis"],
                "error": result["error"],
                "points": result.get("points", []),
                "output": result.get("output", ""),
                # a PyTorch function: the bugs named, the probes run, the errors against mathnn's kernels
                **({"torch": result["torch"]} if "torch" in result else {}),
            }
            for result in summary["functions"]
        ],
        "updates": [
            {key: result.get(key, "" if key == "output" else None) for key in (
                "name", "function", "passed", "reference", "steps", "max_error", "tolerance", "mistake", "accepted",
                "problems", "notes", "diagnosis", "error", "output")}
            for result in summary.get("updates", [])
        ],
        "models": [
            {key: result.get(key, "" if key == "output" else None) for key in (
                "name", "passed", "seed", "setups", "diagnosis", "error", "output")}
            for result in summary.get("models", [])
        ],
    })


def to_gradescope(summary: Result, assignment: Assignment | None = None) -> Result:
    """A Gradescope autograder ``results.json``: one test per pair and per update rule (the assignment's points and
    visibility).

    Without an assignment every checked pair and rule is worth 1 point and visible. With one, exactly
    its pairs and rules are tests: one that was not checked (missing, or the file could not be
    imported) scores 0 with the reason.
    """
    seed_line = f"mathnn check, seed {summary['seed']} (--seed {summary['seed']} repeats this run)"
    results = {result["name"]: result for result in summary["functions"]}
    updates = {result["name"]: result for result in summary.get("updates", [])}
    if assignment is None and summary["error"]:
        name = f"check {Path(summary['file']).name}"
        tests = [{"name": name, "score": 0.0, "max_score": 1.0, "output": format_text(summary),
                  "visibility": "visible"}]
    else:
        graded = assignment.pairs if assignment is not None else [Graded(name) for name in [*results, *updates]]
        tests = []
        for entry in graded:
            if entry.name in PAIRS:
                title, absent, result = PAIRS[entry.name].title, PAIRS[entry.name].title.replace(" / ", " and "), \
                    results.get(entry.name)
            else:  # an update rule
                title, absent, result = entry.name, entry.name, updates.get(entry.name)
            if result is not None:
                output = format_pair(result) if entry.name in PAIRS else format_update(result)
                passed = result["passed"]
            else:
                reason = summary["error"] or f"{Path(summary['file']).name} does not define {absent}"
                output, passed = f"{title}: not checked: {reason}", False
            tests.append({
                "name": title, "score": entry.points if passed else 0.0,
                "max_score": entry.points, "output": output, "visibility": entry.visibility,
            })
        if assignment is None:  # the model classes checked, one test each
            from .model_file import KNOWN

            for result in summary.get("models", []):
                # another class is checked against its own loss only (no reference says what it should be):
                # shown, never scored, or any class whose loss fits its gradients would add a point
                known = result["name"] in KNOWN
                tests.append({"name": result["name"], "score": float(result["passed"] and known),
                              "max_score": 1.0 if known else 0.0, "visibility": "visible",
                              "output": format_model(result) + ("" if known else "\nnot scored: not one of CS231n's "
                                                                "model classes, so its loss has no reference")})
    output = "\n".join([seed_line, *coverage_lines(summary)])
    return {"score": sum(test["score"] for test in tests), "output": output, "visibility": "visible",
            "stdout_visibility": "hidden", "tests": tests}


def write_results(path: str | os.PathLike, document: Result) -> None:
    """Write ``document`` as JSON to ``path`` once, atomically (a temporary file beside it, then a rename)."""
    target = Path(path)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(json.dumps(_finite(document), indent=2, allow_nan=False, ensure_ascii=False) + "\n")
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
