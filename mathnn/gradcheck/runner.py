"""``mathnn check student.py``: gradient-check a student's CS231n layers, each pair in its own process.

The student's file is never imported into this process. A first child process imports it and lists
the function pairs it defines (see :data:`mathnn.gradcheck.homework.PAIRS`); then each pair is checked
in a child of its own (``python -m mathnn.gradcheck.runner --worker …``), which sends its result back
as JSON on a pipe. Each child runs in its own process group with

* a wall-clock limit (``--timeout``, default 20 s): on expiry the whole group is killed, and the
  child's ``faulthandler`` has just written where the student's code was stuck;
* a memory limit (``--memory``, default 1024 MB) set with ``resource.setrlimit(RLIMIT_AS)`` after the
  checker's own imports and before the student's, so an enormous allocation raises MemoryError;
* the student's ``print`` output sent to a log file capped at 64 MB, never to the result pipe.

So a file that fails to import, loops forever, calls ``sys.exit``, aborts, segfaults or exhausts
memory gives one clear error for the function concerned (or for the file, when importing it fails)
within the limit, and never a hang.

Exit status: 0 every pair passed, 1 some pair failed, 2 nothing could be checked (no such file,
no known function in it, an error while importing it).
"""

from __future__ import annotations

import argparse
import faulthandler
import importlib
import importlib.machinery
import importlib.util
import json
import linecache
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

from .homework import (
    PAIRS, check_pair, describe_result, empty_result, error_details, error_sentence, find_pairs, resolve,
)

__all__ = [
    "add_cli", "check_file", "configure", "exit_code", "format_pair", "format_text", "main", "run", "to_gradescope",
    "to_json",
]

DEFAULT_TIMEOUT = 20.0
DEFAULT_MEMORY_MB = 1024
#: The student's printed output is kept in a log file of at most this size (RLIMIT_FSIZE in the child).
OUTPUT_LIMIT = 64 * 2**20
#: Only the end of the child's log is read back: enough for faulthandler's traceback.
LOG_TAIL = 64 * 2**10
EXIT_PASSED, EXIT_FAILED, EXIT_NOT_CHECKED = 0, 1, 2

_PACKAGE_ROOT = Path(__file__).resolve().parents[2]
_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+) in (?P<function>\S+)')

Result = dict[str, Any]


# -- the parent: spawn, time, kill ----------------------------------------------------------------

def _worker_environment() -> dict[str, str]:
    environment = dict(os.environ)
    paths = [str(_PACKAGE_ROOT), *filter(None, environment.get("PYTHONPATH", "").split(os.pathsep))]
    environment["PYTHONPATH"] = os.pathsep.join(paths)
    # One BLAS thread: children run side by side, and every thread reserves address space (RLIMIT_AS).
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        environment[variable] = "1"
    environment["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ next to the student's file
    environment["PYTHONIOENCODING"] = "utf-8"
    return environment


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # the group is already gone


def _student_frame(log: str, student: Path) -> dict[str, str | None]:
    """Where faulthandler's traceback in ``log`` was in the student's file (its innermost frame)."""
    for match in _FRAME.finditer(log):  # faulthandler lists the most recent call first
        try:
            same = Path(match["file"]).resolve() == student
        except OSError:
            same = False
        if same:
            number = int(match["line"])
            function = match["function"]
            return {
                "where": f"{student.name}:{number}",
                "line": linecache.getline(str(student), number).strip() or None,
                "function": function,
            }
    return {"where": None, "line": None, "function": None}


def _spawn(
    arguments: list[str], student: Path, timeout: float, memory_mb: int, stage: str
) -> tuple[dict | None, dict | None]:
    """Run one worker; (its JSON payload, None) or (None, the error that stopped it).

    ``stage`` names what the worker was doing, for an error whose traceback does not say.
    """
    deadline = time.time() + timeout
    command = [
        sys.executable, "-m", "mathnn.gradcheck.runner", "--worker", *arguments, str(student),
        "--memory", str(memory_mb), "--deadline", repr(deadline),
    ]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
            env=_worker_environment(), start_new_session=True,
        )
        try:
            output, _ = process.communicate(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            _kill_group(process)
            output, _ = process.communicate()
            timed_out = True
        finally:
            _kill_group(process)  # anything the student's code started in the background
        size = log.seek(0, os.SEEK_END)
        log.seek(max(0, size - LOG_TAIL))
        text = log.read().decode("utf-8", "replace")
    if not timed_out and process.returncode == 0:
        try:
            return json.loads(output), None
        except ValueError:
            pass
    frame = _student_frame(text, student)
    if timed_out:
        kind, message = "timeout", f"did not finish within {timeout:g} s (an endless loop?)"
    elif "MemoryError" in text:
        kind, message = "memory", f"ran out of memory (the limit is {memory_mb} MB; --memory raises it)"
    elif process.returncode < 0:
        number = -process.returncode
        name = signal.Signals(number).name if number in signal.valid_signals() else f"signal {number}"
        kind, message = "crash", f"crashed the Python process ({name})"
    else:
        status = process.returncode
        kind, message = "exit", f"ended the Python process with status {status} (os._exit?) before the check finished"
    if frame["function"] == "<module>":
        stage = f"importing {student.name}"
    elif frame["function"]:
        stage = frame["function"]
    return None, {
        "kind": kind, "stage": stage, "type": None, "message": message, "where": frame["where"], "line": frame["line"],
    }


def check_file(
    path: str | os.PathLike,
    functions: Sequence[str] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: int = DEFAULT_MEMORY_MB,
    seed: int = 0,
) -> Result:
    """Check the function pairs a student's file defines, each in a sandboxed child process.

    Parameters
    ----------
    path : path-like
        The student's Python file (a module, or a module inside a package such as ``cs231n/layers.py``).
    functions : sequence of str, optional
        Pairs to check, by layer ('batchnorm') or function name ('batchnorm_forward'); by default
        every pair the file defines.
    timeout : float
        Wall-clock seconds allowed per child process (the import, or one pair's check).
    memory_mb : int
        Address-space limit of each child, in MB.
    seed : int
        Seeds the test inputs and the check.

    Returns
    -------
    dict
        ``file``, ``seed``, ``passed``, ``error`` (a sentence when nothing could be checked, else None)
        and ``functions``: one :func:`mathnn.gradcheck.homework.check_pair` result per pair, in the
        catalogue's order.

    Raises
    ------
    InputError
        For an unknown function name.
    """
    student = Path(path).resolve()
    summary: Result = {"file": str(path), "seed": seed, "passed": False, "error": None, "functions": []}
    requested = list(dict.fromkeys(resolve(name).name for name in functions or ()))
    if not student.is_file():
        summary["error"] = "no such file"
        return summary
    if student.suffix == ".ipynb":
        summary["error"] = "this is a notebook: check the .py file it imports your layers from (e.g. cs231n/layers.py)"
        return summary
    incomplete: dict[str, str] = {}
    if requested:
        pairs = requested
    else:
        payload, failure = _spawn(["discover"], student, timeout, memory_mb, f"importing {student.name}")
        if failure is not None or payload.get("import_error"):
            summary["error"] = error_sentence(failure or payload["import_error"])
            return summary
        pairs, incomplete = payload["pairs"], payload["incomplete"]
        if not pairs and not incomplete:
            known = ", ".join(f"{pair.forward}/{pair.backward}" for pair in PAIRS.values())
            summary["error"] = f"{student.name} defines none of the functions mathnn can check ({known})"
            return summary

    def run(name: str) -> tuple[Result | None, str | None]:
        arguments = ["check", "--function", name, "--seed", str(seed)]
        payload, failure = _spawn(arguments, student, timeout, memory_mb, f"checking {name}")
        if failure is not None:
            return _failed(name, seed, failure), None
        if payload.get("import_error"):
            return None, error_sentence(payload["import_error"])
        if payload.get("missing"):
            return None, payload["missing"]
        return payload["result"], None

    with ThreadPoolExecutor(max_workers=max(1, min(len(pairs), os.cpu_count() or 1))) as pool:
        outcomes = dict(zip(pairs, pool.map(run, pairs)))
    for name in incomplete:
        missing = incomplete[name]
        outcomes[name] = (_failed(name, seed, {
            "kind": "missing", "stage": missing, "type": None, "where": None, "line": None,
            "message": f"is not defined in {student.name}",
        }), None)
    errors = [error for _, error in outcomes.values() if error]
    if errors:
        summary["error"] = errors[0]
        return summary
    summary["functions"] = [outcomes[name][0] for name in PAIRS if name in outcomes]
    summary["passed"] = all(result["passed"] for result in summary["functions"])
    return summary


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


def format_pair(result: Result) -> str:
    """A pair's block of the human report: verdict, forward, gradient table, diagnosis."""
    from ..tables import format_table

    verdict = "passed" if result["passed"] else "FAILED"
    lines = [f"{result['forward_function']} / {result['backward_function']}: {verdict}"]
    forward = result["forward"]
    if forward["status"] == "ok":
        lines.append(f"  forward matches {forward['reference']} (max relative error {_number(forward['max_error'])})")
    if result["precision"] and result["precision"] != "float64":
        lines.append(f"  precision: {result['precision']}")
    if result["gradients"]:
        rows = [
            (g["name"], "ok" if g["passed"] else "FAIL", _number(g["max_error"]), _number(g["tolerance"], ".0e"),
             g["method"], _kinks(len(g["kinks"])))
            for g in result["gradients"]
        ]
        table = format_table(("gradient", "result", "max error", "pass mark", "method", "notes"), rows)
        lines += ["  " + line for line in table.splitlines()]
    if result["diagnosis"]:
        lines += ["  " + line for line in result["diagnosis"].splitlines()]
    return "\n".join(lines)


def format_text(summary: Result) -> str:
    """The human report of :func:`check_file`."""
    if summary["error"]:
        return f"mathnn check: could not check {summary['file']}: {summary['error']}"
    functions = summary["functions"]
    passed = [result["name"] for result in functions if result["passed"]]
    failed = [result["name"] for result in functions if not result["passed"]]
    blocks = [f"mathnn check: {summary['file']}: {len(functions)} function pair(s), seed {summary['seed']}"]
    blocks += [format_pair(result) for result in functions]
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
        "functions": [
            {
                "name": result["name"],
                "forward_function": result["forward_function"],
                "backward_function": result["backward_function"],
                "passed": result["passed"],
                "forward": {key: result["forward"][key] for key in ("status", "max_error", "tolerance")},
                "in_place": result["in_place"],
                "gradients": [
                    {key: g[key] for key in ("name", "passed", "max_error", "tolerance", "method")}
                    for g in result["gradients"]
                ],
                "diagnosis": result["diagnosis"],
                "error": result["error"],
            }
            for result in summary["functions"]
        ],
    })


def to_gradescope(summary: Result) -> Result:
    """A Gradescope autograder ``results.json``: one test per pair, worth 1 point."""
    if summary["error"]:
        name = f"check {Path(summary['file']).name}"
        tests = [{"name": name, "score": 0.0, "max_score": 1.0, "output": format_text(summary)}]
    else:
        tests = [
            {
                "name": f"{result['forward_function']} / {result['backward_function']}",
                "score": 1.0 if result["passed"] else 0.0,
                "max_score": 1.0,
                "output": format_pair(result),
            }
            for result in summary["functions"]
        ]
    return {"tests": tests, "score": sum(test["score"] for test in tests)}


# -- the command ------------------------------------------------------------------------------------

def _positive(kind: Callable[[str], float | int], what: str) -> Callable[[str], float | int]:
    def parse(text: str) -> float | int:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}; received {text!r}") from None
        if not (value > 0 and math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"expected {what}; received {text!r}")
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
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer ≥ 0; received {text!r}")
    return value


def configure(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``check`` arguments to ``parser``."""
    parser.add_argument("student", metavar="STUDENT.py", help="the homework file, e.g. cs231n/layers.py")
    parser.add_argument(
        "--function", action="append", type=_function_name, metavar="NAME",
        help=f"check only this pair (repeatable): {', '.join(PAIRS)}, or a _forward/_backward name",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--gradescope", metavar="FILE", help="also write a Gradescope results.json to FILE")
    parser.add_argument(
        "--timeout", type=_positive(float, "a number of seconds > 0"), default=DEFAULT_TIMEOUT, metavar="S",
        help=f"wall-clock limit per function pair, in seconds (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--memory", type=_positive(int, "a whole number of MB > 0"), default=DEFAULT_MEMORY_MB, metavar="MB",
        help=f"memory limit of each checking process, in MB (default {DEFAULT_MEMORY_MB})",
    )
    parser.add_argument("--seed", type=_seed, default=0, help="seed of the test inputs (default 0)")
    return parser


def run(args: argparse.Namespace, parser: argparse.ArgumentParser | None = None) -> int:
    """Run ``mathnn check`` with parsed arguments; returns the exit status."""
    summary = check_file(args.student, args.function, timeout=args.timeout, memory_mb=args.memory, seed=args.seed)
    if args.json:
        print(json.dumps(to_json(summary), indent=2, allow_nan=False))
    elif summary["error"]:
        print(format_text(summary), file=sys.stderr)
    else:
        print(format_text(summary))
    if args.gradescope:
        try:
            Path(args.gradescope).write_text(json.dumps(to_gradescope(summary), indent=2) + "\n", encoding="utf-8")
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


# -- the child --------------------------------------------------------------------------------------

def _virtual_memory() -> int | None:
    """This process's address-space size in bytes (Linux), or None where it cannot be read."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def _limit_resources(memory_mb: int) -> None:
    """Cap the address space, the output log and core dumps of this (child) process.

    Raises MemoryError when ``memory_mb`` is below what the process already uses. A limit the
    system refuses (macOS does not enforce RLIMIT_AS) is skipped: the wall-clock limit still holds.
    """
    import resource

    limit = memory_mb * 2**20
    used = _virtual_memory()
    if used is not None and used >= limit:
        raise MemoryError(
            f"--memory {memory_mb} MB is below what the checker itself uses ({math.ceil(used / 2**20)} MB)"
        )
    for which, value in ((resource.RLIMIT_AS, limit), (resource.RLIMIT_FSIZE, OUTPUT_LIMIT), (resource.RLIMIT_CORE, 0)):
        _, hard = resource.getrlimit(which)
        try:
            resource.setrlimit(which, (value if hard == resource.RLIM_INFINITY else min(value, hard), hard))
        except (ValueError, OSError):
            continue
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a full log makes print raise, not kill silently


def _import_student(path: Path) -> ModuleType:
    """Import the student's file; a file inside a package (cs231n/layers.py) is imported as part of it."""
    package = path.parent
    parts = [path.stem]
    while (package / "__init__.py").is_file():
        parts.insert(0, package.name)
        package = package.parent
    sys.path.insert(0, str(package))
    if len(parts) > 1 and all(part.isidentifier() for part in parts):
        return importlib.import_module(".".join(parts))
    name = path.stem if path.stem.isidentifier() and path.stem not in sys.modules else "_mathnn_student"
    loader = importlib.machinery.SourceFileLoader(name, str(path))
    spec = importlib.util.spec_from_loader(name, loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


def _worker(argv: Sequence[str]) -> NoReturn:
    """The child: import the student's file, discover or check one pair, write JSON to the result pipe."""
    parser = argparse.ArgumentParser(prog="mathnn.gradcheck.runner --worker")
    parser.add_argument("task", choices=("discover", "check"))
    parser.add_argument("student")
    parser.add_argument("--function")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--memory", type=int, default=DEFAULT_MEMORY_MB)
    parser.add_argument("--deadline", type=float)
    args = parser.parse_args(argv)
    results = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # the student's prints go to the log, never into the result pipe
    faulthandler.enable()
    if args.deadline is not None:
        # say where the code is stuck just before the parent kills the process
        left = args.deadline - time.time()
        faulthandler.dump_traceback_later(max(left - min(0.5, 0.2 * left), 0.05))
    student = Path(args.student).resolve()
    importlib.import_module("mathnn.layers")  # the reference forwards: loaded before the memory limit
    payload: Result
    try:
        _limit_resources(args.memory)
    except MemoryError as error:
        payload = {"import_error": {"kind": "limits", "stage": None, "type": None, "message": str(error),
                                    "where": None, "line": None}}
    else:
        payload = _work(args, student)
    faulthandler.cancel_dump_traceback_later()
    results.write(json.dumps(payload, default=_plain))
    results.flush()
    os._exit(0)  # neither threads nor atexit handlers the student's code left behind can hold us up


def _plain(value: object) -> object:
    """JSON for what json cannot encode itself: numpy scalars and arrays as numbers and lists, the rest as text."""
    tolist = getattr(value, "tolist", None)
    return tolist() if callable(tolist) else str(value)


def _work(args: argparse.Namespace, student: Path) -> Result:
    try:
        module = _import_student(student)
    except BaseException as error:  # noqa: BLE001 - SystemExit and KeyboardInterrupt from the import too
        details = error_details(error, student, f"importing {student.name}")
        if details["kind"] == "memory":
            details["message"] += f" (the limit is {args.memory} MB; --memory raises it)"
        return {"import_error": details}
    complete, incomplete = find_pairs(module)
    if args.task == "discover":
        return {"pairs": complete, "incomplete": incomplete}
    pair = resolve(args.function)
    if pair.name not in complete:
        absent = incomplete.get(pair.name) or f"{pair.forward} and {pair.backward}"
        return {"missing": f"{student.name} does not define {absent}"}
    try:
        result = check_pair(module, pair.name, seed=args.seed)
    except BaseException as error:  # noqa: BLE001 - a failure of the checker itself, reported not raised
        result = empty_result(pair.name, args.seed)
        result["error"] = {**error_details(error, student, "the checker"), "kind": "checker"}
    if result["error"] and result["error"]["kind"] == "memory":
        result["error"]["message"] += f" (the limit is {args.memory} MB; --memory raises it)"
    result["diagnosis"] = None if result["passed"] else describe_result(result)
    return {"result": result}


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        _worker(sys.argv[2:])
    sys.exit(main(sys.argv[1:]))
