"""Check a student's CS231n update rules (``sgd``, ``sgd_momentum``, ``rmsprop``, ``adam``) step by step.

:func:`check_update` calls the student's ``rule(w, dw, config) -> (next_w, config)`` for
:data:`STEPS` steps, feeding back the config it returned (as CS231n's ``Solver`` does) and the
``next_w`` it returned, and compares every step with :mod:`mathnn.optim_cs231n` given the same w
and dw: ``next_w`` (its step ``next_w − w``, relative to the reference step's largest entry) and every
state entry of the config (``velocity``, ``cache``, ``m``, ``v``, ``t``), in float64, at the
``"update"`` pass mark of :mod:`mathnn.gradcheck.tolerances`. Two runs use two shapes: the first
starts from ``config=None`` (the defaults), the second from hyperparameters that are not the
defaults (a rule that ignores them is caught). The gradients span three orders of magnitude, so
where ε sits matters.

When a step differs, the whole run so far is replayed with each known mistake of that rule; a
mistake that reproduces the student's numbers at every step is named (:data:`MISTAKES`). Some
variants are *accepted* with a note rather than failed, because the updates they make are the
course's: Kingma & Ba's "efficient" Adam (ε scaled by √(1 − β₂ᵗ)), Adam counting from t = 1 as the
2017 starter code did, momentum with the velocity's sign flipped throughout (v = μv + η·dw, w − v),
and a default learning rate of the student's own (the first step from config None is the course's
times a constant, every later step is the course's at that rate: the Solver always passes a rate).
A config that keeps the state under the names of UCLA's ECE C147/239AS ``optim.py`` (rmsprop's
``a``, Adam's ``v`` and ``a`` for the first and second moments) is compared under CS231n's names,
with a note (:data:`OTHER_STATE_NAMES`).

Changing ``w`` in place is accepted and noted: CS231n's own ``sgd`` does ``w -= …`` and returns
``w``, and the ``Solver`` only uses the returned ``next_w``. The student's code is reached through
:class:`mathnn.gradcheck.student.StudentCode`: :func:`check_update_file` runs a student's file in a
sandbox, one rule at a time, and ``mathnn check`` checks the rules a file defines alongside its layer
pairs (:func:`mathnn.gradcheck.filecheck.check_file`).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from .. import optim_cs231n as reference
from ..errors import InputError
from ..validate import count
from . import tolerances
from . import worker as wire
from .student import StarterCodeError, StudentCode, StudentRaised, WrongOutputError, in_process
from .update_mistakes import MISTAKES, Mistake, Rule

__all__ = ["MISTAKES", "STEPS", "Mistake", "check_update", "check_update_file", "describe_update", "failed_update"]

#: Steps per run (two runs, two shapes).
STEPS = 6
#: Inputs come from default_rng([seed, UPDATE_STREAM]).
UPDATE_STREAM = 2
#: Hyperparameters of the second run: none is the default, so a rule that ignores config is caught.
OTHER_HYPERPARAMETERS = {"learning_rate": 0.03, "momentum": 0.8, "decay_rate": 0.95, "epsilon": 1e-7, "beta1": 0.85,
                         "beta2": 0.99}

# -- comparing ---------------------------------------------------------------------------------------

def _gap(student: Any, expected: Any, scale: float) -> float:
    """Largest |student − expected| over ``scale``; entries non-finite in both in the same way count as equal."""
    s = np.asarray(student, dtype=np.float64) if not isinstance(student, str) else None
    e = np.asarray(expected, dtype=np.float64)
    if s is None or s.shape != e.shape:
        return float("inf")
    same = ~np.isfinite(s) & ~np.isfinite(e) & ((np.isnan(s) & np.isnan(e)) | (s == e))
    with np.errstate(invalid="ignore"):
        diff = np.where(same, 0.0, np.abs(s - e))
    diff = np.where(np.isnan(diff), np.inf, diff)
    return float(np.max(diff, initial=0.0)) / scale


def _scale(values: np.ndarray) -> float:
    finite = np.abs(values[np.isfinite(values)])
    return max(float(np.max(finite, initial=0.0)), np.finfo(np.float64).tiny)


def _step_gap(w: np.ndarray, student: np.ndarray, expected: np.ndarray) -> float:
    """next_w against the reference, relative to the reference step's largest entry."""
    return _gap(student, expected, _scale(np.asarray(expected) - w))


#: Another course's names for the state, by rule: UCLA's ECE C147/239AS optim.py (CS231n's, renamed) keeps
#: rmsprop's running average of dw² as config['a'], and Adam's first moment as config['v'] and its second as
#: config['a'] (CS231n's config['v'] is the second). Told by the key of CS231n's that is absent: 'cache', 'm'.
OTHER_STATE_NAMES: dict[str, tuple[str, dict[str, str]]] = {
    "rmsprop": ("cache", {"a": "cache"}),
    "adam": ("m", {"v": "m", "a": "v"}),
}


def course_names(rule: str, config: Mapping[str, Any]) -> tuple[Mapping[str, Any], dict[str, str]]:
    """``config`` with its state under CS231n's names, and the renames made ({} when it has CS231n's).

    A config of :data:`OTHER_STATE_NAMES`' course (one without CS231n's key, with every one of the other
    course's) is read under CS231n's names; the values are compared as strictly as ever."""
    if rule not in OTHER_STATE_NAMES:
        return config, {}
    absent, names = OTHER_STATE_NAMES[rule]
    if absent in config or not all(key in config for key in names):
        return config, {}
    renamed = {key: value for key, value in config.items() if key not in names}
    renamed.update({ours: config[theirs] for theirs, ours in names.items()})
    return renamed, dict(names)


def _state_gaps(rule: str, student: Mapping[str, Any], expected: Mapping[str, Any]) -> dict[str, float]:
    """Per state key present in ``student``: its gap to ``expected`` (inf for a non-numeric value)."""
    gaps = {}
    for key in reference.STATE[rule]:
        if key not in student:
            continue
        value = student[key]
        if isinstance(value, (str, bool)) or value is None:
            gaps[key] = float("inf")
            continue
        target = np.asarray(expected[key], dtype=np.float64)
        gaps[key] = _gap(value, target, max(_scale(target), 1.0) if key == "t" else _scale(target))
    return gaps


@dataclass
class _Step:
    w: np.ndarray
    dw: np.ndarray
    next_w: np.ndarray
    config: dict[str, Any]


def _replay_gap(rule: Rule, steps: list[_Step], start: Mapping[str, Any] | None, rule_name: str,
                mark: float) -> float | None:
    """When ``rule``, run from ``start`` on the student's w and dw, reproduces every step's numbers within
    ``mark``: the largest gap of next_w (as :func:`_step_gap` measures it); None when it does not."""
    config: Any = None if start is None else dict(start)
    largest = 0.0
    for step in steps:
        with np.errstate(all="ignore"):
            next_w, config = rule(step.w.copy(), step.dw.copy(), config)
        gap = _step_gap(step.w, step.next_w, next_w)
        if not gap <= mark:
            return None
        largest = max(largest, gap)
        gaps = _state_gaps(rule_name, course_names(rule_name, step.config)[0], config)
        if not all(gap <= mark for gap in gaps.values()):
            return None
    return largest


# -- the check ---------------------------------------------------------------------------------------

def _own_default_rate(rule: str, w: np.ndarray, next_w: np.ndarray, expected: np.ndarray) -> float | None:
    """The learning rate a first step from config None was taken with, when that step is the course's step
    times a positive constant other than 1 (config.setdefault('learning_rate', 1e-3) of the student's own);
    None otherwise."""
    step, right = next_w.astype(np.float64) - w, expected - w
    norm = float(np.sum(right * right))
    if not norm > 0:
        return None
    factor = float(np.sum(step * right)) / norm
    residual = float(np.linalg.norm(step - factor * right)) / math.sqrt(norm)
    if not (residual <= tolerances.tolerance("mistake") and factor > 0 and abs(factor - 1) > 1e-6):
        return None
    return factor * reference.DEFAULTS[rule]["learning_rate"]


def _default_rate_variant(rule: str, function: str, rate: float) -> Mistake:
    """The course's rule with a default learning rate of ``rate``: accepted, since only a call without a learning
    rate sees the default (the Solver passes the one it is given)."""
    right, default = reference.RULES[rule], reference.DEFAULTS[rule]["learning_rate"]

    def variant(w: np.ndarray, dw: np.ndarray, config: Any) -> tuple[np.ndarray, dict]:
        filled = dict(config or {})
        filled.setdefault("learning_rate", rate)
        return right(w, dw, filled)

    message = (f"{function}'s default learning rate is {rate:.4g}, not CS231n's {default:g} "
               f"(config.setdefault('learning_rate', {default:g})), so its steps from config None are "
               f"{rate / default:.4g} times the course's; accepted: every step with a learning rate given is the "
               "course's, and the Solver always passes one")
    return Mistake("own default learning rate", message, variant, accepted=True)


def _inputs(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Gradients over three orders of magnitude (so ε's place matters), random signs."""
    return rng.standard_normal(shape) * 10.0 ** rng.uniform(-3.0, 0.0, shape)


def _run(student: StudentCode, rule: str, function: str, shape: tuple[int, ...], start: dict | None,
         steps: int, rng: np.random.Generator, run: int, result: dict[str, Any]) -> bool:
    """One run of ``steps`` steps; fills ``result``; False at the first step that fails."""
    right = reference.RULES[rule]
    mark = tolerances.tolerance("update")
    earlier = (result["max_error"], result["steps"])  # the earlier runs' figures
    w = rng.standard_normal(shape)
    config_student: Any = None if start is None else dict(start)
    config_reference: Any = None if start is None else dict(start)
    history: list[_Step] = []
    for number in range(1, steps + 1):
        dw = _inputs(rng, shape)
        next_w, returned, w_after, dw_after = student.update(function, w.copy(), dw.copy(), config_student)
        config_out = {} if returned is None else returned
        compared, renamed = course_names(rule, config_out)  # what is compared; config_out is what goes back
        if renamed:
            names = " and ".join(f"config['{theirs}'] for config['{ours}']" for theirs, ours in renamed.items())
            note = (f"{function} keeps its state under the names of UCLA's ECE C147/239AS optim.py, {names}: "
                    "accepted, and compared with CS231n's state entry by entry")
            if note not in result["notes"]:
                result["notes"].append(note)
        expected_w, config_reference = right(w, dw, config_reference)
        where = f"step {number} of run {run} (w of shape {shape}, config {'None' if start is None else 'given'} at "\
                "step 1)"
        for name, before, after, why in (
            ("w", w, w_after, "CS231n's own sgd does `w -= …`, and the Solver uses the returned next_w"),
            ("dw", dw, dw_after, "the Solver does not use dw after the update"),
        ):
            note = f"{function} changes {name} in place; accepted: {why}"
            if not np.array_equal(before, after, equal_nan=True) and note not in result["notes"]:
                result["notes"].append(note)
        problems = []
        if next_w.shape != shape:
            problems.append(f"{function} returned next_w of shape {next_w.shape} at {where}; expected {shape}, the "
                            "shape of w")
        elif next_w.dtype != np.float64:
            problems.append(f"{function} returned next_w of dtype {next_w.dtype} for float64 w and dw at {where}: "
                            "keep float64")
        history.append(_Step(w, dw, next_w, config_out))
        error = _step_gap(w, next_w, expected_w) if not problems else float("inf")
        result["max_error"] = max(result["max_error"], error)
        result["steps"] += 1
        if not problems and not error <= mark:
            problems.append(f"{function}'s next_w differs from mathnn.optim_cs231n.{rule} at {where}: max error "
                            f"{error:.2e} of the reference step's largest entry (pass mark {mark:.0e})")
        if returned is None:
            problems.append(f"{function} returned None as config at {where}: the Solver passes the returned config "
                            "back, so the learning rate and any state are lost after this step; return the config dict")
        missing = [key for key in reference.STATE[rule] if key not in compared]
        if missing:
            keys = ", ".join(f"config['{key}']" for key in missing)
            problems.append(f"{function} returned a config without {keys} at {where}: the state is lost between "
                            "steps; store it in config and return config")
        for key, gap in _state_gaps(rule, compared, config_reference).items():
            if not gap <= mark:
                problems.append(f"{function} returned config['{key}'] that differs from the reference at {where}: "
                                f"max relative error {gap:.2e} (pass mark {mark:.0e})")
        if problems:
            _extend(student, function, history, steps, rng)
            # the right rule reproduces every step the student returned (a state entry missing, nothing else):
            # no mistake explains more, and one that ignores config looks right from config None
            explained = _replay_gap(right, history, start, rule, tolerances.tolerance("mistake")) is not None
            for mistake in () if explained else MISTAKES[rule]:
                if _replay_gap(mistake.rule, history, start, rule, tolerances.tolerance("mistake")) is not None:
                    if mistake.accepted:
                        return _accepted(student, mistake, function, rule, history, start, steps, rng, result, earlier)
                    result["mistake"] = mistake.name
                    problems.insert(0, mistake.message)
                    break
            else:
                rate = _own_default_rate(rule, w, next_w, expected_w) if start is None and number == 1 \
                    and not math.isinf(error) else None
                if rate is not None:
                    own = _default_rate_variant(rule, function, rate)
                    if _replay_gap(own.rule, history, start, rule, tolerances.tolerance("mistake")) is not None:
                        return _accepted(student, own, function, rule, history, start, steps, rng, result, earlier)
                    default = reference.DEFAULTS[rule]["learning_rate"]
                    problems.insert(0, f"{function}'s first step from config None is {rate / default:.4g} times the "
                                       f"course's, as with a default learning rate of {rate:.4g} (CS231n's is "
                                       f"{default:g}), but its later steps are not the course's with that rate")
            result["problems"] += problems
            return False
        w, config_student = next_w, returned
    return True


def _extend(student: StudentCode, function: str, history: list[_Step], steps: int, rng: np.random.Generator) -> None:
    """The failed run continued to ``steps`` steps, each from the student's own next_w and config.

    One step rarely tells the known mistakes apart: from zero state, a rule that keeps no state, one that
    stores the corrected moments and the right one all take the same first step, and momentum has no
    effect before the velocity is nonzero. The steps after it do. A call that raises or answers
    garbage ends the history where it is.
    """
    while len(history) < steps and history[-1].next_w.shape == history[-1].w.shape:
        last = history[-1]
        dw = _inputs(rng, last.w.shape)
        try:
            next_w, returned, _, _ = student.update(function, last.next_w.copy(), dw.copy(), last.config)
        except (StudentRaised, WrongOutputError, wire.ProtocolError):
            return
        history.append(_Step(last.next_w, dw, next_w, returned or {}))


def _accepted(student: StudentCode, mistake: Mistake, function: str, rule: str, history: list[_Step],
              start: dict | None, steps: int, rng: np.random.Generator, result: dict[str, Any],
              earlier: tuple[float, int]) -> bool:
    """Continue a run that follows an accepted variant: every remaining step must follow it too.

    The run's steps are then measured against the variant (``max_error``) and all counted (``steps``):
    ``earlier`` holds both figures as the earlier runs left them. A variant that passes is held to the
    pass mark of a rule that passes, not to the looser one that names a mistake.
    """
    mark = tolerances.tolerance("update")
    while len(history) < steps:
        last = history[-1]
        dw = _inputs(rng, last.w.shape)
        next_w, returned, _, _ = student.update(function, last.next_w.copy(), dw.copy(), last.config)
        history.append(_Step(last.next_w, dw, next_w, returned or {}))
    gap = _replay_gap(mistake.rule, history, start, rule, mark)
    result["steps"] = earlier[1] + len(history)
    if gap is not None:  # said once, though both runs may follow it
        result["max_error"] = max(earlier[0], gap)
        if mistake.name not in result["accepted"]:
            result["accepted"].append(mistake.name)
            result["notes"].append(mistake.message)
        return True
    result["problems"].append(f"{function} follows no known form of {rule} over {steps} steps (it matched "
                              f"'{mistake.name}' at first)")
    return False


def _empty(rule: str, function: str, seed: int) -> dict[str, Any]:
    return {"name": rule, "function": function, "passed": False, "reference": f"mathnn.optim_cs231n.{rule}",
            "steps": 0, "max_error": 0.0, "tolerance": tolerances.tolerance("update"), "mistake": None,
            "problems": [], "notes": [], "accepted": [], "error": None, "diagnosis": None, "seed": seed}


def failed_update(rule: str, seed: int, error: dict[str, Any]) -> dict[str, Any]:
    """The result of a rule that could not be checked: ``error`` (``kind``, ``stage``, ``message``…), its diagnosis."""
    result = _empty(rule, rule, seed)
    result["error"] = error
    result["diagnosis"] = describe_update(result)
    return result


def check_update(student: ModuleType | StudentCode, rule: str, seed: int = 0, *, steps: int = STEPS,
                 function: str | None = None) -> dict[str, Any]:
    """Check a student's update rule against :mod:`mathnn.optim_cs231n` over two runs of ``steps`` steps.

    Parameters
    ----------
    student : module or StudentCode
        The student's module (called in this process: tests), or its functions behind a sandbox.
    rule : {'sgd', 'sgd_momentum', 'rmsprop', 'adam'}
    seed : int
        Seeds w, the gradients and the second run's shape.
    steps : int
        Steps per run (at least 2; 6 by default), each fed the config the previous one returned.
    function : str, optional
        The student's function name, when it is not ``rule``.

    Returns
    -------
    dict
        JSON-able: ``name``, ``function``, ``passed``, ``reference``, ``steps`` (calls made),
        ``max_error`` (of next_w, relative to the reference step; in a run that follows an accepted
        variant, to that variant's step), ``tolerance``, ``mistake`` (the name of the known mistake
        the numbers follow, or None), ``accepted`` (the names of the accepted variants followed),
        ``problems``, ``notes`` (accepted variants, in-place changes), ``error`` (an exception or a wrong output of the student's code:
        ``kind``, ``stage``, ``type``, ``message``, ``where``, ``line``), ``diagnosis`` (text, None
        when passed) and ``seed``.

    Raises
    ------
    InputError
        For an unknown rule, fewer than 2 steps, or a module without the function.
    """
    if rule not in reference.RULES:
        raise InputError(f"rule: expected one of {', '.join(reference.RULES)}; received {rule!r}")
    steps = count(steps, "steps", "steps per run, each fed the previous config", minimum=2)
    function = function or rule
    if isinstance(student, ModuleType):
        if not callable(getattr(student, function, None)):
            raise InputError(f"student: expected a function {function} in {student.__name__!r}; received a module "
                             "without it")
        student = StudentCode(in_process(student), None)
    rng = np.random.default_rng([seed, UPDATE_STREAM])
    result = _empty(rule, function, seed)
    other = tuple(int(n) for n in rng.integers(2, 6, size=3))
    hyper = {key: OTHER_HYPERPARAMETERS[key] for key in reference.DEFAULTS[rule]}
    try:
        result["passed"] = (_run(student, rule, function, (4, 5), None, steps, rng, 1, result)
                            and _run(student, rule, function, other, hyper, steps, rng, 2, result))
    except (WrongOutputError, wire.ProtocolError) as error:
        kind = "starter code" if isinstance(error, StarterCodeError) else "wrong output"
        result["error"] = {"kind": kind, "stage": None, "type": None, "message": str(error), "where": None,
                           "line": None}
    except StudentRaised as error:
        result["error"] = error.details
    if not result["passed"]:
        result["diagnosis"] = describe_update(result)
    return result


def describe_update(result: Mapping[str, Any]) -> str:
    """The diagnosis text of a :func:`check_update` result: one finding per line."""
    from .homework import error_sentence

    lines = [error_sentence(result["error"])] if result["error"] else []
    return "\n".join([*lines, *result["problems"], *(f"note: {note}" for note in result["notes"])])


def check_update_file(path: str | os.PathLike, rules: Sequence[str] | None = None, *, seed: int = 0,
                      timeout: float = 20.0, memory_mb: int = 1024) -> dict[str, Any]:
    """Check the update rules a student's file defines (CS231n's ``optim.py``), in a sandbox.

    The file is imported only in a sandbox process (:class:`mathnn.gradcheck.sandbox.Sandbox`);
    each rule has ``timeout`` wall-clock seconds, and a rule that kills the sandbox (a loop, a crash)
    fails alone: a fresh sandbox checks the next one.

    Parameters
    ----------
    path : path-like
        The student's Python file.
    rules : sequence of str, optional
        Rules to check (each must be defined); by default every one of sgd, sgd_momentum, rmsprop and
        adam the file defines.
    seed, timeout, memory_mb
        As for :func:`check_update` and :func:`mathnn.gradcheck.runner.check_file`.

    Returns
    -------
    dict
        ``file``, ``seed``, ``passed``, ``error`` (a sentence when nothing could be checked) and
        ``rules``: one :func:`check_update` result per rule.
    """
    from .homework import error_sentence
    from .sandbox import Sandbox, SandboxFailure, kill_orphans
    from .student import _clean

    for rule in rules or ():
        if rule not in reference.RULES:
            raise InputError(f"rules: expected names among {', '.join(reference.RULES)}; received {rule!r}")
    student = Path(path).resolve()
    summary: dict[str, Any] = {"file": str(path), "seed": seed, "passed": False, "error": None, "rules": []}
    if not student.is_file():
        summary["error"] = "no such file"
        return summary
    sandbox: Sandbox | None = None
    functions: list[str] = []
    stage = f"importing {student.name}"
    try:
        for rule in rules or reference.RULES:
            if sandbox is None or not sandbox.alive:
                if sandbox is not None:
                    sandbox.remove()
                sandbox = Sandbox(student, memory_mb=memory_mb, cpu_seconds=math.ceil(timeout * 5) + 5)
                answer, _ = sandbox.request({"op": "load", **sandbox.load, "names": list(reference.RULES),
                                             "stage": stage}, [], timeout, stage)
                if "error" in answer:
                    summary["error"] = error_sentence({**_clean(answer["error"]), "stage": stage})
                    return summary
                found = answer.get("functions")
                functions = [name for name in found if name in reference.RULES] if isinstance(found, list) else []
            if rule not in functions:
                if rules:
                    summary["rules"].append(failed_update(rule, seed, {
                        "kind": "missing", "stage": rule, "type": None, "where": None, "line": None,
                        "message": f"is not defined in {student.name}"}))
                continue
            deadline = time.monotonic() + timeout

            def transport(header: dict, arrays: list, stage: str, sandbox: Sandbox = sandbox) -> tuple[dict, list]:
                return sandbox.request(header, arrays, max(deadline - time.monotonic(), 0.01), stage, timeout)

            try:
                result = check_update(StudentCode(transport, None), rule, seed)
            except SandboxFailure as failure:
                result = failed_update(rule, seed, failure.details)
            summary["rules"].append(result)
    except SandboxFailure as failure:
        summary["error"] = error_sentence(failure.details)
    finally:
        if sandbox is not None:
            sandbox.remove()
        kill_orphans()
    if not summary["rules"] and summary["error"] is None:
        summary["error"] = f"{student.name} defines none of the update rules mathnn can check ({', '.join(reference.RULES)})"
    summary["passed"] = bool(summary["rules"]) and all(result["passed"] for result in summary["rules"])
    return summary
