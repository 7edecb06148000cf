"""``mathnn check student.py``: gradient-check a student's CS231n layers; the verdict never leaves this process.

The student's file is never imported into this process. A sandbox process
(:class:`mathnn.gradcheck.sandbox.Sandbox`: ``python -I -S``, an empty temporary cwd, a minimal
environment, hard resource limits, ``nobody`` when run as root, no network where the platform allows)
imports a copy of it and answers requests — call this forward pass at these inputs, this backward
pass with this dout — with plain arrays. Everything else happens here: the test inputs (from a secret
seed, printed so that ``--seed`` repeats the run), the reference forward, the finite differences
(many perturbed inputs per request), the comparisons, the verdict and ``results.json``.

Each pair has its own wall-clock budget (``--timeout``, default 20 s) and every read from the
sandbox has a deadline. A pair whose code loops, crashes, exits, runs out of memory or answers
garbage fails with one clear error; the sandbox is then killed (its whole process tree) and a fresh
one checks the next pair. What the student's code prints is captured per pair and shown truncated.

Exit status: 0 every pair passed, 1 some pair failed, 2 nothing could be checked (no such file,
no known function in it, an error while importing it).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import InputError
from .assignment import Assignment, Graded, load_assignment
from .coverage import coverage, coverage_lines, imported_sentence, read_load, warning_lines
from .homework import (
    PAIRS, POINTS, check_pair, describe_result, empty_result, error_sentence, resolve,
)
from .sandbox import Sandbox, SandboxFailure, install_signal_handlers, kill_orphans
from .student import StudentCode, StudentRaised

__all__ = [
    "add_cli", "add_limits", "assignment_of", "check_file", "configure", "exit_code", "format_pair", "format_text", "main", "run", "to_gradescope",
    "to_json", "write_results",
]

DEFAULT_TIMEOUT = 20.0
DEFAULT_MEMORY_MB = 1024
#: Accepted ranges of --timeout (seconds) and --memory (MB).
TIMEOUT_RANGE = (0.5, 3600.0)
MEMORY_RANGE = (16, 65536)
#: What a student's code printed is shown up to this many characters per pair.
OUTPUT_SHOWN = 2000
EXIT_PASSED, EXIT_FAILED, EXIT_NOT_CHECKED = 0, 1, 2

Result = dict[str, Any]


def _failure(kind: str, message: str, stage: str | None = None) -> dict:
    return {"kind": kind, "stage": stage, "type": None, "message": message, "where": None, "line": None}


class _Session:
    """The sandbox of one file, restarted after a pair that killed it."""

    def __init__(self, student: Path, timeout: float, memory_mb: int, pairs: int, network: bool) -> None:
        self.student, self.timeout, self.memory_mb, self.network = student, timeout, memory_mb, network
        self.cpu_seconds = math.ceil(timeout * (pairs + 1)) + 5
        self.sandbox: Sandbox | None = None
        self.protections: dict = {}
        self.functions: list[str] = []
        self.imported: dict[str, str] = {}  # known functions imported from another file: never credited here
        self.defined: list[str] = []  # the file's other functions: found, not checked

    def start(self) -> Sandbox:
        """A live sandbox with the student's file imported; SandboxFailure or StudentRaised otherwise."""
        if self.sandbox is not None and self.sandbox.alive:
            return self.sandbox
        if self.sandbox is not None:
            self.sandbox.remove()
        self.sandbox = Sandbox(self.student, memory_mb=self.memory_mb, cpu_seconds=self.cpu_seconds,
                               network=self.network)
        self.protections = self.sandbox.protections
        names = [name for pair in PAIRS.values() for name in (pair.forward, pair.backward)]
        stage = f"importing {self.student.name}"
        answer, _ = self.sandbox.request({"op": "load", **self.sandbox.load, "names": names, "stage": stage}, [],
                                         self.timeout, stage)
        if "error" in answer:
            from .student import _clean

            details = _clean(answer["error"])
            details["stage"] = stage
            if details["kind"] == "memory":
                details["message"] += f" (the limit is {self.memory_mb} MB; --memory raises it)"
            raise StudentRaised(details)
        self.functions, self.imported, self.defined = read_load(answer, names)
        return self.sandbox

    def close(self) -> None:
        if self.sandbox is not None:
            self.sandbox.remove()
            self.sandbox = None
        kill_orphans()


def _pair_states(functions: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """Pairs defined completely, and the missing function of each half-defined pair.

    A forward shared by two pairs (``batchnorm_forward`` with ``batchnorm_backward`` or
    ``batchnorm_backward_alt``) does not make the other pair half-defined once one is complete.
    """
    complete, incomplete = [], {}
    for pair in PAIRS.values():
        present = [name in functions for name in (pair.forward, pair.backward)]
        if all(present):
            complete.append(pair.name)
        elif any(present):
            incomplete[pair.name] = pair.backward if present[0] else pair.forward
    used_forwards = {PAIRS[name].forward for name in complete}
    incomplete = {
        name: missing for name, missing in incomplete.items()
        if not (missing == PAIRS[name].backward and PAIRS[name].forward in used_forwards)
    }
    return complete, incomplete


def check_file(
    path: str | os.PathLike,
    functions: Sequence[str] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: int = DEFAULT_MEMORY_MB,
    seed: int | None = None,
    require: Sequence[str] = (),
    points: int = POINTS,
    network: bool = True,
    strict: bool = False,
) -> Result:
    """Check the function pairs a student's file defines, in a sandbox; the verdict is computed here.

    Parameters
    ----------
    path : path-like
        The student's Python file (a module, or a module inside a package such as ``cs231n/layers.py``).
    functions : sequence of str, optional
        Pairs to check, by layer ('batchnorm') or function name ('batchnorm_forward'); by default
        every pair the file defines.
    timeout : float
        Wall-clock seconds allowed for importing the file, and for each pair's check.
    memory_mb : int
        Address-space limit of the sandbox, in MB.
    seed : int, optional
        Seeds the test inputs and the check; a secret random seed by default (reported, so that a
        run can be repeated).
    require : sequence of str
        Pairs that must be there: a required pair the file does not define, or defines only half of,
        fails with that reason instead of being left out.
    points : int
        Points checked per pair (two shapes at least when ≥ 2).
    network : bool
        Run the sandbox in a network namespace of its own where the platform allows.
    strict : bool
        Fail a backward pass that writes into ``dout`` (by default a warning in the pair's ``warnings``).

    Returns
    -------
    dict
        ``file``, ``seed``, ``passed``, ``error`` (a sentence when nothing could be checked, else None),
        ``output`` (what importing the file printed), ``protections`` (what the sandbox applied) and
        ``functions``: one :func:`mathnn.gradcheck.homework.check_pair` result per pair, in the
        catalogue's order; ``not_checked`` (the file's other functions) and ``imported`` (known
        functions it imports from another module, name -> module; not checked), see
        :mod:`mathnn.gradcheck.coverage`.

    Raises
    ------
    InputError
        For an unknown function name.
    """
    if seed is None:
        seed = secrets.randbelow(2**32)
    student = Path(path).resolve()
    summary: Result = {"file": str(path), "seed": seed, "passed": False, "error": None, "output": "",
                       "protections": {}, "functions": [], "not_checked": [], "imported": {}}
    requested = list(dict.fromkeys(resolve(name).name for name in functions or ()))
    required = list(dict.fromkeys(resolve(name).name for name in require))
    if not student.is_file():
        summary["error"] = "no such file"
        return summary
    if student.suffix == ".ipynb":
        summary["error"] = "this is a notebook: check the .py file it imports your layers from (e.g. cs231n/layers.py)"
        return summary
    session = _Session(student, timeout, memory_mb, len(requested or PAIRS), network)
    try:
        _check_pairs(session, student, summary, requested, required, seed, points, strict)
    finally:
        session.close()
    return summary


def _check_pairs(session: _Session, student: Path, summary: Result, requested: list[str], required: list[str],
                 seed: int, points: int, strict: bool = False) -> None:
    try:
        sandbox = session.start()
    except (SandboxFailure, StudentRaised) as failure:
        summary["error"] = error_sentence(failure.details)
        summary["functions"] = [_failed(name, seed, {**failure.details, "kind": "import"} | {
            "message": f"could not be checked: {error_sentence(failure.details)}", "stage": None,
            "where": None, "line": None, "type": None}) for name in required]
        return
    summary["protections"] = session.protections
    summary["not_checked"], summary["imported"] = session.defined, session.imported
    summary["output"], offset = sandbox.output_since(0, OUTPUT_SHOWN)
    complete, incomplete = _pair_states(session.functions)
    if requested:
        pairs = requested
    else:
        pairs = complete + [name for name in required if name not in complete]
        if not pairs and not incomplete:
            known = ", ".join(pair.title.replace(" / ", "/") for pair in PAIRS.values())
            summary["error"] = f"{student.name} defines none of the functions mathnn can check ({known})"
            if session.imported:  # layer_utils.py: `from .layers import *` credits nothing here
                summary["error"] += (f"; imported, not defined here: not checked: {imported_sentence(session.imported)}"
                                     " (check the file that defines them)")
            return
    outcomes: dict[str, Result] = {}
    for name in pairs:
        pair = PAIRS[name]
        if name not in complete:
            absent = incomplete.get(name) or pair.title.replace(" / ", " and ")
            if requested and name not in incomplete and name not in required:
                summary["error"] = f"{student.name} does not define {absent}"
                if session.imported:
                    summary["error"] += f" (imported, not defined here: not checked: {imported_sentence(session.imported)})"
                return
            verb = "are" if " and " in absent else "is"
            outcomes[name] = _failed(name, seed, _failure("missing", f"{verb} not defined in {student.name}", absent))
            continue
        started = time.perf_counter()
        try:
            sandbox = session.start()
            offset = sandbox.output_since(0, 0)[1]
            deadline = time.monotonic() + session.timeout

            def transport(header: dict, arrays: list, stage: str, sandbox: Sandbox = sandbox) -> tuple[dict, list]:
                return sandbox.request(header, arrays, max(deadline - time.monotonic(), 0.01), stage, session.timeout)

            result = check_pair(StudentCode(transport, pair), name, seed, points=points, strict=strict)
            result["output"] = sandbox.output_since(offset, OUTPUT_SHOWN)[0]
            if result["error"] and result["error"]["kind"] == "memory":
                result["error"]["message"] += f" (the limit is {session.memory_mb} MB; --memory raises it)"
                result["diagnosis"] = describe_result(result)
        except SandboxFailure as failure:
            result = _failed(name, seed, failure.details)
            if session.sandbox is not None:
                result["output"] = session.sandbox.output_since(offset, OUTPUT_SHOWN)[0]
        except StudentRaised as failure:  # the file stopped importing after a restart
            result = _failed(name, seed, failure.details)
        except Exception as error:  # noqa: BLE001 - a fault of the checker on this pair: reported, never raised
            result = _failed(name, seed, _failure("checker", f"the checker failed on this pair ({type(error).__name__}: "
                                                  f"{error}); please report it with the file"))
        result["seconds"] = time.perf_counter() - started
        outcomes[name] = result
    for name in incomplete:
        if name not in outcomes and not requested:
            outcomes[name] = _failed(name, seed, _failure("missing", f"is not defined in {student.name}",
                                                          incomplete[name]))
    summary["functions"] = [outcomes[name] for name in PAIRS if name in outcomes]
    summary["passed"] = bool(summary["functions"]) and all(result["passed"] for result in summary["functions"])


def _failed(name: str, seed: int, error: dict) -> Result:
    result = empty_result(name, seed)
    result["error"] = error
    result["diagnosis"] = describe_result(result)
    return result


def exit_code(summary: Result) -> int:
    """0 when every pair passed, 1 when some pair failed, 2 when nothing could be checked."""
    if summary["error"] or not summary["functions"]:
        return EXIT_NOT_CHECKED
    return EXIT_PASSED if summary["passed"] else EXIT_FAILED


# -- output -----------------------------------------------------------------------------------------

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


def format_text(summary: Result) -> str:
    """The human report of :func:`check_file`."""
    if summary["error"]:
        return "\n".join([f"mathnn check: could not check {summary['file']}: {summary['error']}",
                          *(line for line in coverage_lines(summary) if line not in summary["error"])])
    functions = summary["functions"]
    passed = [result["name"] for result in functions if result["passed"]]
    failed = [result["name"] for result in functions if not result["passed"]]
    blocks = [f"mathnn check: {summary['file']}: {len(functions)} function pair(s), seed {summary['seed']} "
              f"(--seed {summary['seed']} repeats this run)"]
    if summary.get("output"):
        blocks.append("\n".join([f"importing {Path(summary['file']).name} printed:",
                                 *("  | " + line for line in summary["output"].splitlines())]))
    blocks += [format_pair(result) for result in functions]
    if coverage_lines(summary):
        blocks.append("\n".join(coverage_lines(summary)))
    tail = f"{len(passed)} of {len(functions)} function pair(s) passed"
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
    """The ``--json`` document: per pair its name, verdict, per-gradient error and method, diagnosis."""
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
            }
            for result in summary["functions"]
        ],
    })


def to_gradescope(summary: Result, assignment: Assignment | None = None) -> Result:
    """A Gradescope autograder ``results.json``: one test per pair (the assignment's points and visibility).

    Without an assignment every checked pair is worth 1 point and visible. With one, exactly its pairs
    are tests: a pair that was not checked (missing, or the file could not be imported) scores 0
    with the reason.
    """
    seed_line = f"mathnn check, seed {summary['seed']} (--seed {summary['seed']} repeats this run)"
    results = {result["name"]: result for result in summary["functions"]}
    if assignment is None and summary["error"]:
        name = f"check {Path(summary['file']).name}"
        tests = [{"name": name, "score": 0.0, "max_score": 1.0, "output": format_text(summary),
                  "visibility": "visible"}]
    else:
        graded = assignment.pairs if assignment is not None else [Graded(name) for name in results]
        tests = []
        for entry in graded:
            pair = PAIRS[entry.name]
            result = results.get(entry.name)
            if result is not None:
                output, passed = format_pair(result), result["passed"]
            else:
                reason = summary["error"] or f"{Path(summary['file']).name} does not define " + \
                    pair.title.replace(" / ", " and ")
                output, passed = f"{pair.title}: not checked: {reason}", False
            tests.append({
                "name": pair.title, "score": entry.points if passed else 0.0,
                "max_score": entry.points, "output": output, "visibility": entry.visibility,
            })
    output = "\n".join([seed_line, *coverage_lines(summary)])
    return {"score": sum(test["score"] for test in tests), "output": output, "visibility": "visible",
            "stdout_visibility": "hidden", "tests": tests}


def write_results(path: str | os.PathLike, document: Result) -> None:
    """Write ``document`` as JSON to ``path`` once, atomically (a temporary file beside it, then a rename)."""
    target = Path(path)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(json.dumps(_finite(document), indent=2, allow_nan=False) + "\n")
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# -- the command ------------------------------------------------------------------------------------

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
        return resolve(text).name
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
        metavar="S", help=f"wall-clock limit per function pair, in seconds (default {DEFAULT_TIMEOUT:g})",
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
                        help="pairs that must be there: a missing or unfinished one scores zero")
    parser.add_argument("--assignment", type=_assignment, metavar="FILE",
                        help="JSON file of required pairs with points and visibility (see mathnn.gradcheck.assignment)")


def configure(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``check`` arguments to ``parser``."""
    parser.add_argument("student", metavar="STUDENT.py", help="the homework file, e.g. cs231n/layers.py")
    parser.add_argument(
        "--function", action="append", type=_function_name, metavar="NAME",
        help=f"check only this pair (repeatable): {', '.join(PAIRS)}, or a _forward/_backward name",
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
        print(json.dumps(to_json(summary), indent=2, allow_nan=False))
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
        description="Gradient-check the CS231n layers a homework file defines, each pair in a sandboxed "
        "process. Exit status: 0 all passed, 1 some failed, 2 nothing could be checked.",
    )
    configure(parser)
    parser.set_defaults(run=run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``mathnn check`` as a function: parse ``argv``, check, print; returns the exit status."""
    parser = configure(argparse.ArgumentParser(
        prog="mathnn check", description="Gradient-check the CS231n layers a homework file defines.",
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
