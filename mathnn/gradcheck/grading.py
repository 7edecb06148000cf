"""``mathnn grade SUBMISSIONS_DIR --jobs N``: a class at a time, each submission in its own sandboxes.

A submission is a ``.py`` file (the student is its name) or a folder (the student is the folder's
name) holding the homework, e.g. ``alice/cs231n/layers.py``, ``alice/cs231n/rnn_layers.py`` and
``alice/cs231n/optim.py``. Every Python file of a folder that defines one of the known functions (a
layer's, or an update rule: sgd, sgd_momentum, rmsprop, adam) is checked, and each pair and rule is
taken from the first file (in path order) that defines it, past one that still has the starter code
(at most :data:`MAX_FILES` files are checked). Submissions are graded side by side, ``--jobs`` at a time; one submission's failure never touches
another's result. All students get the same seed (secret unless ``--seed`` is given, and printed), so
all meet the same points and shapes.

Writes ``grades.csv`` (one row per student and pair or rule: student, pair, score, max_score, passed,
reason) and ``grades.json`` (the same, grouped by student, with the seed) into ``--out``.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from ..errors import InputError
from .access import sandboxes_share_a_user
from .assignment import RULES, Assignment
from .homework import PAIRS
from .runner import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT, add_limits, assignment_of, check_file, write_results

__all__ = ["add_cli", "grade_folder", "grade_submission", "homework_files", "rows"]

_DEFINES = re.compile(
    r"^\s*def\s+(" + "|".join([*(f"{pair.forward}|{pair.backward}" for pair in PAIRS.values()), *RULES])
    + r")\s*\(", re.M
)
#: Files larger than this are not read when looking for the homework.
SCAN_LIMIT = 2 * 2**20
#: Files of one submission checked at most (in path order): each gets the whole --timeout per pair, so a
#: folder of hundreds of copies that loop would hold the class's grading for hours.
MAX_FILES = 20
#: Error kinds of a pair or rule that another file of the submission may still define for real.
UNFINISHED = ("missing", "starter code")


def homework_files(submission: Path) -> list[Path]:
    """The files of a submission that define a known function (a lone .py file is its own homework).

    In a folder, only files inside it once links are followed: a link to a classmate's file, or to one
    only the grader may read, is not the student's homework.
    """
    if submission.is_file():
        return [submission]
    found = []
    folder = submission.resolve()
    for path in sorted(submission.rglob("*.py")):
        try:
            inside = path.resolve().is_relative_to(folder)
            if inside and path.is_file() and path.stat().st_size <= SCAN_LIMIT and _DEFINES.search(
                path.read_text(encoding="utf-8", errors="replace")
            ):
                found.append(path)
        except (OSError, RuntimeError):  # RuntimeError: a loop of links
            continue
    return found


def grade_submission(
    submission: Path, *, seed: int, timeout: float = DEFAULT_TIMEOUT, memory_mb: int = DEFAULT_MEMORY_MB,
    assignment: Assignment | None = None, strict: bool = False,
) -> dict[str, Any]:
    """Check every homework file of one submission; a summary shaped like :func:`check_file`'s.

    ``file`` is the submission, ``functions`` one result per pair and ``updates`` one per update rule
    (each from the first file defining it), ``error`` a sentence when no file could be checked.
    """
    required = assignment.names if assignment else ()
    summary: dict[str, Any] = {"file": str(submission), "seed": seed, "passed": False, "error": None, "output": "",
                               "protections": {}, "functions": [], "updates": []}
    files = homework_files(submission)
    if not files:
        summary["error"] = f"{submission.name} holds no Python file defining a function mathnn can check"
        return summary
    if len(files) > MAX_FILES:
        summary["not_checked"] = [f"{len(files) - MAX_FILES} more file(s) defining known functions, from "
                                  f"{files[MAX_FILES].relative_to(submission)} on (at most {MAX_FILES} files are "
                                  "checked per submission)"]
        files = files[:MAX_FILES]
    chosen: dict[str, dict] = {}
    rules: dict[str, dict] = {}
    errors = []
    for path in files:
        # its sandbox gets files of this submission only: a lone file's neighbours are the classmates' files
        result = check_file(path, timeout=timeout, memory_mb=memory_mb, seed=seed, strict=strict, within=submission)
        summary["protections"] = summary["protections"] or result["protections"]
        summary["not_checked"] = list(dict.fromkeys([*summary.get("not_checked", []), *result["not_checked"]]))
        summary["imported"] = {**result["imported"], **summary.get("imported", {})}
        if result["error"]:
            errors.append(f"{path.relative_to(submission.parent)}: {result['error']}")
        for found, results in ((chosen, result["functions"]), (rules, result["updates"])):
            for function in results:
                # a file that lacks it or still has the starter code (a notebook exported beside cs231n/) yields
                if function["name"] not in found or (found[function["name"]]["error"] or {}).get("kind") in UNFINISHED:
                    found[function["name"]] = function
    summary["functions"] = [chosen[name] for name in PAIRS if name in chosen]
    summary["updates"] = [rules[name] for name in RULES if name in rules]
    defined = {result[key] for result in summary["functions"] if not result["error"]
               for key in ("forward_function", "backward_function")}
    defined |= {result["function"] for result in summary["updates"] if not result["error"]}
    summary["imported"] = {name: module for name, module in summary.get("imported", {}).items() if name not in defined}
    missing = [name for name in required if name not in chosen and name not in rules]
    if errors and not (summary["functions"] or summary["updates"]):
        summary["error"] = "; ".join(errors)
    elif missing and errors:
        summary["error"] = "; ".join(errors)
    checked = summary["functions"] + summary["updates"]
    summary["passed"] = bool(checked) and all(result["passed"] for result in checked)
    return summary


def rows(student: str, summary: dict[str, Any], assignment: Assignment | None) -> list[dict[str, Any]]:
    """One row per graded pair or update rule (the tests of the Gradescope document): student, pair (its title,
    or the rule's name), score, max_score, passed, reason (the first line of the diagnosis, which names a rule's
    known mistake, or why it was not checked)."""
    from .runner import to_gradescope

    from .homework import PAIRS as pairs

    results = {pairs[result["name"]].title: result for result in summary["functions"]}
    results.update({result["name"]: result for result in summary.get("updates", [])})
    found = []
    for test in to_gradescope(summary, assignment)["tests"]:
        result = results.get(test["name"])
        if result is not None:
            passed = result["passed"]
            reason = "passed" if passed else (result["diagnosis"] or "failed").splitlines()[0]
            if passed and result.get("warnings"):
                reason = f"passed; warning: {result['warnings'][0]['message']}"
        else:
            passed = False
            reason = summary["error"] or test["output"].split(": not checked: ")[-1]
        found.append({"student": student, "pair": test["name"], "score": test["score"],
                      "max_score": test["max_score"], "passed": passed, "reason": reason})
    return found


def _progress(stream: Any) -> Callable[[int, int, str], None]:
    started = time.monotonic()

    def show(done: int, total: int, student: str) -> None:
        width = 30
        filled = width * done // max(total, 1)
        rate = done / max(time.monotonic() - started, 1e-9) * 60
        line = f"grading [{'#' * filled}{'.' * (width - filled)}] {done}/{total} ({rate:.0f}/min) {student}"
        if getattr(stream, "isatty", lambda: False)():
            stream.write("\r" + line[:120].ljust(120) + ("\n" if done == total else ""))
        else:
            stream.write(line + "\n")
        stream.flush()

    return show


def grade_folder(
    folder: str | os.PathLike, *, jobs: int = 2, seed: int | None = None, timeout: float = DEFAULT_TIMEOUT,
    memory_mb: int = DEFAULT_MEMORY_MB, assignment: Assignment | None = None,
    progress: Callable[[int, int, str], None] | None = None, strict: bool = False,
) -> dict[str, Any]:
    """Grade every submission in ``folder``, ``jobs`` at a time.

    Returns
    -------
    dict
        ``seed`` and ``students``: per student (sorted by name) ``student``, ``score``, ``max_score``
        and ``pairs`` (the :func:`rows` of that student).
    """
    seed = secrets.randbelow(2**32) if seed is None else seed
    root = Path(folder)
    submissions = sorted(
        (path for path in root.iterdir() if path.is_dir() or path.suffix == ".py"), key=lambda path: path.name
    )
    named: dict[str, Path] = {}
    for submission in submissions:
        if (twin := named.setdefault(_student(submission), submission)) != submission:
            raise InputError(f"folder: expected one submission per student; received {twin.name}"
                             f"{'/' if twin.is_dir() else ''} and {submission.name}{'/' if submission.is_dir() else ''}, "
                             f"both the student {_student(submission)!r} (keep one; nothing was graded)")
    graded: dict[str, list[dict]] = {}
    lock = threading.Lock()

    def one(submission: Path) -> tuple[str, list[dict], bool]:
        student = _student(submission)
        try:
            summary = grade_submission(submission, seed=seed, timeout=timeout, memory_mb=memory_mb,
                                       assignment=assignment, strict=strict)
        except Exception as error:  # noqa: BLE001 - one submission's failure never stops the class
            summary = {"file": str(submission), "seed": seed, "passed": False, "functions": [],
                       "error": f"could not be graded: {type(error).__name__}: {error}"}
        return student, rows(student, summary, assignment), _crashed(summary)

    crashed = []
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(one, submission): submission for submission in submissions}
        for future in as_completed(futures):
            student, found, died = future.result()
            with lock:
                graded[student] = found
                if died:
                    crashed.append(futures[future])
                if progress is not None:
                    progress(len(graded), len(submissions), student)
    if jobs > 1 and sandboxes_share_a_user():
        # a sandbox killed by a signal may have been killed by the classmate's graded beside it, which ran as
        # the same user: graded again alone, with nobody else's code running
        for submission in sorted(crashed, key=lambda path: path.name):
            student, graded[student], _ = one(submission)
            if progress is not None:
                progress(len(submissions), len(submissions), f"{student} (again, alone: its sandbox was killed)")
    students = [
        {"student": student, "score": sum(row["score"] for row in graded[student]),
         "max_score": sum(row["max_score"] for row in graded[student]), "pairs": graded[student]}
        for student in sorted(graded)
    ]
    return {"seed": seed, "students": students}


def _crashed(summary: dict[str, Any]) -> bool:
    """Did a sandbox of this submission die of a signal (:meth:`Sandbox._ended`'s "crash")?"""
    results = [*summary.get("functions", []), *summary.get("updates", [])]
    return any((result.get("error") or {}).get("kind") == "crash" for result in results) or \
        "crashed the Python process" in str(summary.get("error") or "")


def _student(submission: Path) -> str:
    """The student a submission is: a .py file's name without .py, or the folder's name."""
    return submission.stem if submission.is_file() else submission.name


def _write(out: Path, grades: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=["student", "pair", "score", "max_score", "passed", "reason"])
    writer.writeheader()
    for student in grades["students"]:
        writer.writerows(student["pairs"])
    temporary = out / ".grades.csv.tmp"
    temporary.write_text(text.getvalue(), encoding="utf-8")
    os.replace(temporary, out / "grades.csv")
    write_results(out / "grades.json", grades)


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 256:
        raise argparse.ArgumentTypeError(f"expected a whole number of parallel submissions between 1 and 256; "
                                         f"received {text!r}")
    return value


def run(args: argparse.Namespace, parser: argparse.ArgumentParser | None = None) -> int:
    """Run ``mathnn grade``: 0 when every submission was graded (whatever the scores), 2 on a bad folder."""
    from .sandbox import install_signal_handlers

    folder = Path(args.submissions)
    if not folder.is_dir():
        print(f"mathnn grade: error: SUBMISSIONS_DIR: expected a folder of submissions; received {str(folder)!r}",
              file=sys.stderr)
        return 2
    if threading.current_thread() is threading.main_thread():
        install_signal_handlers()
    seed = secrets.randbelow(2**32) if args.seed is None else args.seed
    print(f"mathnn grade: seed {seed} (--seed {seed} repeats this run)", file=sys.stderr)
    try:
        grades = grade_folder(folder, jobs=args.jobs, seed=seed, timeout=args.timeout, memory_mb=args.memory,
                              assignment=assignment_of(args), progress=_progress(sys.stderr), strict=args.strict)
    except KeyboardInterrupt:
        print("mathnn grade: interrupted; every sandbox was stopped", file=sys.stderr)
        return 130
    except InputError as error:
        print(f"mathnn grade: error: {error}", file=sys.stderr)
        return 2
    out = Path(args.out)
    _write(out, grades)
    total = len(grades["students"])
    print(f"mathnn grade: {total} submission(s) graded: {out / 'grades.csv'}, {out / 'grades.json'}")
    return 0


def add_cli(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``grade`` subcommand (its handler is ``args.run(args, parser)``)."""
    parser = subparsers.add_parser(
        "grade", help="grade a folder of homework submissions in parallel",
        description="Gradient-check every submission in a folder (a .py file or a folder per student), "
        "each in its own sandboxes, and write grades.csv and grades.json.",
    )
    parser.add_argument("submissions", metavar="SUBMISSIONS_DIR", help="one .py file or one folder per student")
    parser.add_argument("--jobs", type=_jobs, default=2, metavar="N", help="submissions graded at once (default 2)")
    parser.add_argument("--out", default=".", metavar="DIR", help="folder for grades.csv and grades.json (default .)")
    add_limits(parser)
    parser.set_defaults(run=run)
    return parser
