"""Check a student's file in a sandbox (:func:`check_file`); the verdict never leaves this process.

The student's file is never imported into this process. A sandbox process
(:class:`mathnn.gradcheck.sandbox.Sandbox`: ``python -I -S``, an empty temporary cwd, a minimal
environment, hard resource limits, ``nobody`` when run as root, no network where the platform allows)
imports a copy of it and answers requests — call this forward pass at these inputs, this backward
pass with this dout, this update rule at this w, dw and config — with plain arrays. Everything else
happens here: the test inputs (from a secret seed, printed so that ``--seed`` repeats the run), the
reference forward, the finite differences (many perturbed inputs per request), the reference update
rules (:mod:`mathnn.optim_cs231n`) and their known mistakes, the comparisons, the verdict and
``results.json``.

A file that imports torch gets a sandbox that can import torch too (and only then); its forward
functions without a backward are checked as PyTorch functions, autograd giving the gradients
(:mod:`mathnn.gradcheck.torch_check`). Without torch here, such a file is not checked: one line says
what to install.

The layer pairs (:func:`mathnn.gradcheck.homework.check_pair`) and the update rules of CS231n's
``optim.py`` (:func:`mathnn.gradcheck.updates.check_update`) a file defines are checked in one run,
one sandbox for the file. Each pair or rule has its own wall-clock budget (``--timeout``, default
20 s) and every read from the sandbox has a deadline. One whose code loops, crashes, exits, runs out
of memory or answers garbage fails with one clear error; the sandbox is then killed (its whole
process tree) and a fresh one checks the next. What the student's code prints is captured per check
and shown truncated.

:func:`exit_code` is the command's exit status: 0 every check passed, 1 some check failed, 2 nothing
could be checked (no such file, no known function in it, an error while importing it). The reports
are made in :mod:`mathnn.gradcheck.rendering`, the command in :mod:`mathnn.gradcheck.runner`.
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from .assignment import RULES, checkable
from .coverage import imported_sentence, read_load
from .homework import PAIRS, POINTS, check_pair, describe_result, empty_result, error_sentence
from .model_file import check_model_class, describe_model, list_classes
from .sandbox import Sandbox, SandboxFailure, imports_torch_beside, kill_orphans, module_name, torch_folder
from .student import StudentCode, StudentRaised, Transport
from . import torch_source
from .torch_check import MISSING_TORCH, Source, check_torch_pair, torch_pairs
from .updates import check_update, describe_update, failed_update

__all__ = ["DEFAULT_MEMORY_MB", "DEFAULT_TIMEOUT", "EXIT_FAILED", "EXIT_NOT_CHECKED", "EXIT_PASSED", "Result",
           "check_file", "exit_code"]

DEFAULT_TIMEOUT = 20.0
DEFAULT_MEMORY_MB = 1024
#: What a student's code printed is shown up to this many characters per pair.
OUTPUT_SHOWN = 2000
#: Address space a PyTorch file's sandbox gets on top of --memory: torch itself maps about 700 MB.
TORCH_MEMORY_MB = 2048
EXIT_PASSED, EXIT_FAILED, EXIT_NOT_CHECKED = 0, 1, 2

Result = dict[str, Any]


def _failure(kind: str, message: str, stage: str | None = None) -> dict:
    return {"kind": kind, "stage": stage, "type": None, "message": message, "where": None, "line": None}


class _Session:
    """The sandbox of one file, restarted after a pair that killed it."""

    def __init__(self, student: Path, timeout: float, memory_mb: int, checks: int, network: bool,
                 torch: str | None = None, within: Path | None = None) -> None:
        self.student, self.timeout, self.memory_mb, self.network = student, timeout, memory_mb, network
        self.within = within  # copy only files inside it (a submission's folder, or a lone file: the file only)
        self.torch = torch  # a PyTorch file: the folder its sandbox imports torch from
        self.cpu_seconds = math.ceil(timeout * (checks + 1)) + 5
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
        self.sandbox = Sandbox(self.student, memory_mb=self.memory_mb + (TORCH_MEMORY_MB if self.torch else 0),
                               cpu_seconds=self.cpu_seconds, network=self.network, torch=self.torch,
                               within=self.within)
        self.protections = self.sandbox.protections
        names = [*(name for pair in PAIRS.values() for name in (pair.forward, pair.backward)), *RULES]
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


#: A notebook larger than this is not read for its code (its outputs, images mostly, make it large).
NOTEBOOK_BYTES = 64 * 2**20


def notebook_error(path: Path) -> str:
    """What to check instead of a notebook, which mathnn never runs: its code cells are read, as text, for
    the functions it defines and for imports of cs231n files."""
    code = ""
    try:
        if path.stat().st_size <= NOTEBOOK_BYTES:
            cells = json.loads(path.read_text(encoding="utf-8", errors="replace")).get("cells", [])
            code = "\n".join("".join(cell["source"]) if isinstance(cell.get("source"), list) else str(cell.get("source"))
                             for cell in cells if isinstance(cell, dict) and cell.get("cell_type") == "code")
    except (OSError, ValueError, AttributeError, TypeError, RecursionError):  # RecursionError: [[[[…]]]] nested deep
        code = ""
    known = {*(name for pair in PAIRS.values() for name in (pair.forward, pair.backward)), *RULES}
    defined = [name for name in dict.fromkeys(re.findall(r"^[ \t]*def[ \t]+(\w+)", code, re.M)) if name in known]
    if defined:
        return (f"this is a notebook, which mathnn does not run: export it as a .py file (jupyter nbconvert --to "
                f"script {path.name}) and check that; it defines {', '.join(defined[:6])}"
                + (", …" if len(defined) > 6 else ""))
    if re.search(r"^[ \t]*(from|import)[ \t]+cs231n\b", code, re.M) or not code:
        return "this is a notebook: check the .py file it imports your layers from (e.g. cs231n/layers.py)"
    return ("this is a notebook, which mathnn does not run, and it defines none of the functions mathnn can check "
            "nor imports any from cs231n/: check the .py file that defines your layers (e.g. cs231n/layers.py)")


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
    within: str | os.PathLike | None = None,
) -> Result:
    """Check the function pairs and update rules a student's file defines, in a sandbox; the verdict is computed here.

    Parameters
    ----------
    path : path-like
        The student's Python file (a module, or a module inside a package such as ``cs231n/layers.py``).
    functions : sequence of str, optional
        Pairs to check, by layer ('batchnorm') or function name ('batchnorm_forward'), and update
        rules ('sgd', 'sgd_momentum', 'rmsprop', 'adam'); by default every pair and rule the file
        defines (a function it imports from another file is not its own: see ``imported``).
    timeout : float
        Wall-clock seconds allowed for importing the file, and for each pair's or rule's check.
    memory_mb : int
        Address-space limit of the sandbox, in MB (a PyTorch file's gets :data:`TORCH_MEMORY_MB` more).
    seed : int, optional
        Seeds the test inputs and the check; a secret random seed by default (reported, so that a
        run can be repeated).
    require : sequence of str
        Pairs and rules that must be there: a required one the file does not define, or defines only
        half of, fails with that reason instead of being left out.
    points : int
        Points checked per pair (two shapes at least when ≥ 2).
    network : bool
        Run the sandbox in a network namespace of its own where the platform allows.
    strict : bool
        Fail a backward pass that writes into ``dout`` (by default a warning in the pair's ``warnings``).
    within : path-like, optional
        Give the sandbox only files inside this folder, or, when it is the file itself, the file only:
        ``mathnn grade`` passes each submission, so no classmate's file (a lone file's neighbours, or a
        package beside the one a submission's file sits in) reaches the sandbox.

    Returns
    -------
    dict
        ``file``, ``seed``, ``passed``, ``error`` (a sentence when nothing could be checked, else None),
        ``output`` (what importing the file printed), ``protections`` (what the sandbox applied) and
        ``functions``: one :func:`mathnn.gradcheck.homework.check_pair` result per pair, in the
        catalogue's order; ``updates``: one :func:`mathnn.gradcheck.updates.check_update` result per
        update rule, in the order sgd, sgd_momentum, rmsprop, adam; ``models``: one
        :func:`mathnn.gradcheck.model_file.check_model_class` result per class of the file with
        ``params`` and ``loss`` (checked when no ``functions`` are asked for); ``not_checked`` (the file's other
        functions), ``imported`` (known functions it imports from another module, name -> module; not
        checked) and ``other_signatures`` (the student's call -> mathnn's, for a known name whose
        function cannot take mathnn's arguments and was not required: not checked), see
        :mod:`mathnn.gradcheck.coverage`.

    Raises
    ------
    InputError
        For an unknown function or rule name.
    """
    if seed is None:
        seed = secrets.randbelow(2**32)
    student = Path(path).resolve()
    bound = None if within is None else Path(within).resolve()
    summary: Result = {"file": str(path), "seed": seed, "passed": False, "error": None, "output": "",
                       "protections": {}, "functions": [], "updates": [], "models": [], "not_checked": [],
                       "imported": {}, "other_signatures": {}}
    requested = list(dict.fromkeys(checkable(name) for name in functions or ()))
    required = list(dict.fromkeys(checkable(name) for name in require))
    if not student.is_file():
        summary["error"] = "no such file"
        return summary
    if student.suffix == ".ipynb":
        summary["error"] = notebook_error(student)
        return summary
    source = torch_source.parse(student)
    torch = torch_folder() if torch_source.uses_torch(source) or imports_torch_beside(student, bound) else None
    if torch_source.uses_torch(source) and torch is None:
        summary["error"] = MISSING_TORCH
        return summary
    session = _Session(student, timeout, memory_mb, len(requested or [*PAIRS, *RULES]), network, torch, bound)
    try:
        _check(session, student, summary, requested, required, seed, points, strict, source)
    finally:
        session.close()
    return summary


def _check(session: _Session, student: Path, summary: Result, requested: list[str], required: list[str],
           seed: int, points: int, strict: bool = False, tree: Any = None) -> None:
    """Fill ``summary``: import the file, then check each pair and each update rule it defines (or is asked for)."""
    try:
        sandbox = session.start()
    except (SandboxFailure, StudentRaised) as failure:
        root, dotted = module_name(student)  # the file's own package, for a hint on a package beside it
        details = {**failure.details, "package": dotted.split(".")[0] if dotted else None,
                   "beside": (root / "cs231n").is_dir()}
        summary["error"] = error_sentence(details)
        not_imported = {**failure.details, "kind": "import"} | {
            "message": f"could not be checked: {error_sentence(details)}", "stage": None,
            "where": None, "line": None, "type": None}
        summary["functions"] = [_failed(name, seed, not_imported) for name in required if name in PAIRS]
        summary["updates"] = [failed_update(name, seed, not_imported) for name in required if name in RULES]
        return
    summary["protections"] = session.protections
    summary["not_checked"], summary["imported"] = session.defined, session.imported
    summary["output"], offset = sandbox.output_since(0, OUTPUT_SHOWN)
    complete, incomplete = _pair_states(session.functions)
    torch_names = torch_pairs(session.functions, tree) if session.torch else []
    complete += [name for name in torch_names if name not in complete]  # forward-only: autograd is the backward
    incomplete = {name: missing for name, missing in incomplete.items() if name not in torch_names}
    classes, unlisted = ([], None) if requested else _classes(session, sandbox)
    if unlisted:  # honest coverage: the models were not looked for
        summary["not_checked"] = [*summary["not_checked"], f"its model classes (listing them failed: {unlisted})"]
    if requested:
        pairs = [name for name in requested if name in PAIRS]
        rules = [name for name in requested if name in RULES]
    else:
        pairs = complete + [name for name in required if name in PAIRS and name not in complete]
        rules = [name for name in RULES if name in session.functions or name in required]
        for name in list(pairs):  # another pair of the same name (a GRU with other weights): listed, not failed
            pair = PAIRS[name]
            called = None if name in required else torch_source.signature(tree, pair.forward, len(pair.arguments))
            if called:
                pairs.remove(name)
                summary["other_signatures"][called] = f"{pair.forward}({', '.join(pair.arguments)})"
        if not pairs and not incomplete and not rules and not classes:
            known = ", ".join(pair.title.replace(" / ", "/") for pair in PAIRS.values())
            defines = f"defines none of the functions mathnn can check ({known}; update rules {', '.join(RULES)})"
            # not "defines nothing" alone when its classes were never seen
            summary["error"] = f"{student.name} {defines}" if not unlisted else \
                f"{student.name}'s model classes could not be listed ({unlisted}), and it {defines}"
            if session.imported:  # layer_utils.py: `from .layers import *` credits nothing here
                summary["error"] += (f"; imported, not defined here: not checked: {imported_sentence(session.imported)}"
                                     " (check the file that defines them)")
            return
    outcomes: dict[str, Result] = {}
    docs = torch_source.docstrings(tree)
    for name in pairs:
        pair = PAIRS[name]
        if name not in complete:
            absent = incomplete.get(name) or pair.title.replace(" / ", " and ")
            if requested and name not in incomplete and name not in required:
                _not_defined(summary, session, absent)
                return
            verb = "are" if " and " in absent else "is"
            outcomes[name] = _failed(name, seed, _failure("missing", f"{verb} not defined in {student.name}", absent))
            continue

        def check(transport: Transport, name: str = name, pair: Any = pair) -> Result:
            if name in torch_names:
                return check_torch_pair(transport, name, seed, points=points, source=Source(
                    tree, student.read_text(errors="replace"), student.name))
            return check_pair(StudentCode(transport, pair, docs), name, seed, points=points, strict=strict)

        outcomes[name], offset = _in_sandbox(session, offset, check, partial(_failed, name, seed), describe_result,
                                             "pair")
    for name in incomplete:
        if name not in outcomes and not requested:
            outcomes[name] = _failed(name, seed, _failure("missing", f"is not defined in {student.name}",
                                                          incomplete[name]))
    updates: dict[str, Result] = {}
    for name in rules:
        if name not in session.functions:
            if requested and name not in required:
                _not_defined(summary, session, name)
                return
            updates[name] = failed_update(name, seed, _failure("missing", f"is not defined in {student.name}", name))
            continue

        def check_rule(transport: Transport, name: str = name) -> Result:
            return check_update(StudentCode(transport, None), name, seed)

        updates[name], offset = _in_sandbox(session, offset, check_rule, partial(failed_update, name, seed),
                                            describe_update, "rule")
    for name in classes:  # fc_net.py's TwoLayerNet, FullyConnectedNet…: every parameter's gradient

        def check_class(transport: Transport, name: str = name) -> Result:
            return check_model_class(transport, name, seed)

        result, offset = _in_sandbox(session, offset, check_class, partial(_failed_model, name, seed), describe_model,
                                     "model")
        if result.get("checked", True):
            summary["models"].append(result)
        else:  # honest coverage: found, and why it was not checked
            reasons = "; ".join(row["not_checked"] for row in result["setups"] if row["not_checked"])
            summary["not_checked"] = [*summary["not_checked"], f"{name} ({reasons})"]
    summary["functions"] = [outcomes[name] for name in PAIRS if name in outcomes]
    summary["updates"] = [updates[name] for name in RULES if name in updates]
    checked = summary["functions"] + summary["updates"] + summary["models"]
    summary["passed"] = bool(checked) and all(result["passed"] for result in checked)


def _classes(session: _Session, sandbox: Sandbox) -> tuple[list[str], str | None]:
    """The file's classes with a ``loss`` method (its models); and, when the sandbox could not list them,
    what stopped it (then no model is checked, none is claimed, and the report says why).

    A sandbox that died while listing (killed from outside, out of memory) is started afresh once.
    """
    reason = None
    for attempt in range(2):
        try:
            live = sandbox if attempt == 0 else session.start()

            def transport(header: dict, arrays: list, stage: str, live: Sandbox = live) -> tuple[dict, list]:
                return live.request(header, arrays, session.timeout, stage)

            return list_classes(transport), None
        except (SandboxFailure, StudentRaised) as failure:
            reason = error_sentence(failure.details)
        except Exception as error:  # noqa: BLE001 - the file answered garbage: no model is checked, none claimed
            return [], f"{type(error).__name__}: {error}"
    return [], reason


def _failed_model(name: str, seed: int, error: dict) -> Result:
    return {"name": name, "seed": seed, "passed": False, "setups": [], "error": error,
            "diagnosis": error_sentence(error)}


def _not_defined(summary: Result, session: _Session, absent: str) -> None:
    """The error of a check asked for (``--function``) that the file does not define: nothing is checked."""
    summary["error"] = f"{session.student.name} does not define {absent}"
    if session.imported:
        summary["error"] += f" (imported, not defined here: not checked: {imported_sentence(session.imported)})"


def _in_sandbox(session: _Session, offset: int, check: Callable[[Transport], Result], failed: Callable[[dict], Result],
                describe: Callable[[Result], str], what: str) -> tuple[Result, int]:
    """One pair's or rule's check, its calls sent to the session's sandbox within its own budget.

    ``check(transport)`` makes the result; ``failed(error)`` makes one for an error that stopped it
    (the sandbox died, the file stopped importing after a restart, the checker failed), so nothing is
    raised. Returns the result, with what the code printed, and the sandbox's output offset.
    """
    started = time.perf_counter()
    try:
        sandbox = session.start()
        offset = sandbox.output_since(0, 0)[1]
        deadline = time.monotonic() + session.timeout

        def transport(header: dict, arrays: list, stage: str, sandbox: Sandbox = sandbox) -> tuple[dict, list]:
            return sandbox.request(header, arrays, max(deadline - time.monotonic(), 0.01), stage, session.timeout)

        result = check(transport)
        result["output"] = sandbox.output_since(offset, OUTPUT_SHOWN)[0]
        if result["error"] and result["error"]["kind"] == "memory":
            result["error"]["message"] += f" (the limit is {session.memory_mb} MB; --memory raises it)"
            result["diagnosis"] = describe(result)
    except SandboxFailure as failure:
        result = failed(failure.details)
        if session.sandbox is not None:
            result["output"] = session.sandbox.output_since(offset, OUTPUT_SHOWN)[0]
    except StudentRaised as failure:  # the file stopped importing after a restart
        result = failed(failure.details)
    except Exception as error:  # noqa: BLE001 - a fault of the checker on this check: reported, never raised
        result = failed(_failure("checker", f"the checker failed on this {what} ({type(error).__name__}: "
                                            f"{error}); please report it with the file"))
    result["seconds"] = time.perf_counter() - started
    return result, offset


def _failed(name: str, seed: int, error: dict) -> Result:
    result = empty_result(name, seed)
    result["error"] = error
    result["diagnosis"] = describe_result(result)
    return result


def exit_code(summary: Result) -> int:
    """0 when every pair and rule passed, 1 when one failed, 2 when nothing could be checked."""
    if summary["error"] or not (summary["functions"] or summary.get("updates") or summary.get("models")):
        return EXIT_NOT_CHECKED
    return EXIT_PASSED if summary["passed"] else EXIT_FAILED
