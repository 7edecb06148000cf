"""The CS231n function pairs the homework checker knows, and the check of one pair from a student's module.

Each :class:`Pair` is one row of the catalogue :data:`PAIRS`: the forward function's arguments in
CS231n's order, which of them are differentiated, the name of every gradient the backward pass returns
(in the same order), seeded random test inputs small enough for an entry-by-entry check, and mathnn's
reference forward in :mod:`mathnn.layers`.

:func:`check_pair` checks a student's ``<name>_forward`` / ``<name>_backward`` the way a grader would:

1. the forward pass is called on copies of the inputs, and any array it changes in place is reported;
2. its output is compared with mathnn's reference forward (relative to the output's scale);
3. the backward pass is called with the cache of a forward call; a changed ``dout``, a wrong number
   of gradients and wrong shapes are reported, naming the student's function;
4. :func:`mathnn.gradcheck.check_vjp` checks every gradient against the student's *own* forward
   pass, so a backward pass is judged on its own, even when the forward pass is wrong.

An exception in the student's code is reported with its type, message and the student's line.
Only numpy is imported here; :mod:`mathnn.layers` and the diagnosis are imported when used.
"""

from __future__ import annotations

import copy
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from ..errors import InputError

__all__ = [
    "PAIRS", "Pair", "check_pair", "describe_result", "empty_result", "error_details", "error_sentence", "find_pairs",
    "resolve",
]

#: Pass mark of the forward comparison: max |out − reference| ≤ tolerance · max |reference|.
FORWARD_TOLERANCE = {np.dtype(np.float64): 1e-6, np.dtype(np.float32): 1e-4}
#: Test inputs come from default_rng([seed, INPUT_STREAM]), a stream of their own: check_vjp draws dout
#: from default_rng(seed), and a dout equal to x up to scale and shift (the same draws) makes batch
#: norm's dx vanish, which would hide any error in it.
INPUT_STREAM = 1
#: Longest exception message kept in a report.
MESSAGE_LIMIT = 500

Inputs = dict[str, Any]
Diagnose = Callable[[str, np.ndarray, np.ndarray, dict, np.ndarray], "str | None"]


class WrongOutputError(Exception):
    """A student's function returned something of the wrong form (not (out, cache), too few gradients…)."""


@dataclass(frozen=True)
class Pair:
    """One CS231n layer: ``<name>_forward(*arguments) -> (out, cache)`` and ``<name>_backward(dout, cache)``.

    Attributes
    ----------
    name : str
        The layer, e.g. 'batchnorm'; the functions are ``batchnorm_forward`` and ``batchnorm_backward``.
    arguments : tuple of str
        The forward function's arguments, in CS231n's order.
    differentiated : tuple of str
        The arguments the backward pass differentiates, in the order its gradients are returned.
    gradients : tuple of str
        The names of the returned gradients (dx, dgamma, dbeta…), one per differentiated argument.
    upstream : str
        The backward pass's name for the upstream gradient (dout, dnext_h, dh).
    make_inputs : callable, numpy.random.Generator -> dict
        Random test inputs: one value per argument.
    diagnosis : callable, () -> diagnose callback, or None
        Makes the ``diagnose`` argument of :func:`mathnn.gradcheck.check_vjp` for this layer.
    """

    name: str
    arguments: tuple[str, ...]
    differentiated: tuple[str, ...]
    gradients: tuple[str, ...]
    upstream: str
    make_inputs: Callable[[np.random.Generator], Inputs]
    diagnosis: Callable[[], Diagnose] | None = None

    @property
    def forward(self) -> str:
        """The forward function's name."""
        return f"{self.name}_forward"

    @property
    def backward(self) -> str:
        """The backward function's name."""
        return f"{self.name}_backward"

    def reference(self) -> Callable[..., tuple[np.ndarray, object]]:
        """mathnn's reference forward function, :mod:`mathnn.layers`.<name>_forward."""
        from .. import layers

        return getattr(layers, self.forward)

    def test_inputs(self, seed: int = 0) -> Inputs:
        """The inputs :func:`check_pair` uses with this seed: ``make_inputs(default_rng([seed, INPUT_STREAM]))``."""
        return self.make_inputs(np.random.default_rng([seed, INPUT_STREAM]))

    def call_arguments(self, values: Mapping[str, Any]) -> list[Any]:
        """Fresh copies of ``values`` in the forward function's order (the callee may change them freely)."""
        return [copy.deepcopy(values[name]) for name in self.arguments]


# -- random test inputs -----------------------------------------------------------------------------

def _affine_inputs(rng: np.random.Generator) -> Inputs:
    # x has two trailing dimensions, as CS231n's affine layer flattens them: D = 2·3 = 6
    return {"x": rng.standard_normal((3, 2, 3)), "w": rng.standard_normal((6, 4)), "b": rng.standard_normal(4)}


def _relu_inputs(rng: np.random.Generator) -> Inputs:
    # |x| ≥ 0.1 so that no difference step crosses 0, plus four exact zeros: the kink, which the check
    # must accept whatever value between the one-sided slopes the backward pass chooses there.
    x = rng.choice([-1.0, 1.0], size=(4, 5)) * (0.1 + np.abs(rng.standard_normal((4, 5))))
    x.flat[rng.choice(x.size, size=4, replace=False)] = 0.0
    return {"x": x}


def _batchnorm_inputs(rng: np.random.Generator) -> Inputs:
    return {
        "x": 2.0 * rng.standard_normal((8, 5)) + 1.0,
        "gamma": 1.0 + 0.5 * rng.standard_normal(5),
        "beta": rng.standard_normal(5),
        "bn_param": {"mode": "train"},
    }


def _rnn_weights(rng: np.random.Generator, d: int, h: int) -> Inputs:
    # small weights keep tanh away from saturation, where every gradient would be nearly zero
    return {
        "Wx": 0.4 * rng.standard_normal((d, h)),
        "Wh": 0.4 * rng.standard_normal((h, h)),
        "b": 0.2 * rng.standard_normal(h),
    }


def _rnn_step_inputs(rng: np.random.Generator) -> Inputs:
    n, d, h = 2, 4, 5
    return {"x": rng.standard_normal((n, d)), "prev_h": 0.5 * rng.standard_normal((n, h)), **_rnn_weights(rng, d, h)}


def _rnn_inputs(rng: np.random.Generator) -> Inputs:
    n, steps, d, h = 2, 3, 4, 5
    return {"x": rng.standard_normal((n, steps, d)), "h0": 0.5 * rng.standard_normal((n, h)), **_rnn_weights(rng, d, h)}


def _temporal_affine_inputs(rng: np.random.Generator) -> Inputs:
    n, steps, d, m = 2, 3, 4, 5
    return {"x": rng.standard_normal((n, steps, d)), "w": rng.standard_normal((d, m)), "b": rng.standard_normal(m)}


def _batchnorm_diagnosis() -> Diagnose:
    from .diagnosis import batchnorm_diagnosis

    return batchnorm_diagnosis()


def _rnn_diagnosis() -> Diagnose:
    from .diagnosis import rnn_diagnosis

    return rnn_diagnosis()


_RNN = ("x", "Wx", "Wh", "b")

#: The catalogue, in the order of the lecture and the assignments.
PAIRS: dict[str, Pair] = {
    pair.name: pair
    for pair in (
        Pair("affine", ("x", "w", "b"), ("x", "w", "b"), ("dx", "dw", "db"), "dout", _affine_inputs),
        Pair("relu", ("x",), ("x",), ("dx",), "dout", _relu_inputs),
        Pair(
            "batchnorm", ("x", "gamma", "beta", "bn_param"), ("x", "gamma", "beta"), ("dx", "dgamma", "dbeta"),
            "dout", _batchnorm_inputs, _batchnorm_diagnosis,
        ),
        Pair(
            "rnn_step", ("x", "prev_h", "Wx", "Wh", "b"), ("x", "prev_h", "Wx", "Wh", "b"),
            ("dx", "dprev_h", "dWx", "dWh", "db"), "dnext_h", _rnn_step_inputs,
        ),
        Pair(
            "rnn", ("x", "h0", "Wx", "Wh", "b"), ("x", "h0", "Wx", "Wh", "b"), ("dx", "dh0", "dWx", "dWh", "db"),
            "dh", _rnn_inputs, _rnn_diagnosis,
        ),
        Pair("temporal_affine", ("x", "w", "b"), ("x", "w", "b"), ("dx", "dw", "db"), "dout", _temporal_affine_inputs),
    )
}


def resolve(name: str) -> Pair:
    """The pair called ``name``: the layer ('batchnorm') or either of its functions ('batchnorm_forward').

    Raises
    ------
    InputError
        For a name the catalogue does not know; the message lists the known ones.
    """
    for suffix in ("_forward", "_backward"):
        if name.endswith(suffix) and name[: -len(suffix)] in PAIRS:
            return PAIRS[name[: -len(suffix)]]
    if name in PAIRS:
        return PAIRS[name]
    raise InputError(
        f"function: expected one of {', '.join(PAIRS)} (or their _forward/_backward names); received {name!r}"
    )


def find_pairs(module: ModuleType) -> tuple[list[str], dict[str, str]]:
    """The pairs a module defines completely, and for the half-defined ones the function that is missing.

    Returns
    -------
    complete : list of str
        Pair names whose forward and backward functions are both callable attributes of ``module``.
    incomplete : dict of str to str
        Pair name -> the missing function's name, for pairs with only one of the two.
    """
    complete, incomplete = [], {}
    for pair in PAIRS.values():
        present = [callable(getattr(module, function, None)) for function in (pair.forward, pair.backward)]
        if all(present):
            complete.append(pair.name)
        elif any(present):
            incomplete[pair.name] = pair.backward if present[0] else pair.forward
    return complete, incomplete


# -- errors in the student's code -------------------------------------------------------------------

def _same_file(filename: str, path: Path | None) -> bool:
    if path is None:
        return False
    try:
        return Path(filename).resolve() == path
    except OSError:
        return False


def error_details(error: BaseException, path: str | Path | None, stage: str | None) -> dict[str, Any]:
    """A JSON-able description of an exception raised by a student's code.

    Parameters
    ----------
    error : BaseException
    path : str or Path or None
        The student's file: the innermost traceback line in it is the one reported.
    stage : str or None
        What was running, e.g. 'importing hw.py' or 'batchnorm_forward'; None: the student's
        function in which the error was raised.

    Returns
    -------
    dict
        ``kind`` ('exception', 'exit' for ``sys.exit`` or 'memory'), ``stage``, ``type``, ``message``,
        ``where`` ('file.py:12' or None) and ``line`` (the source line or None).
    """
    student = Path(path).resolve() if path is not None else None
    where = line = function = None
    if isinstance(error, SyntaxError) and error.filename and _same_file(error.filename, student):
        where, line = f"{Path(error.filename).name}:{error.lineno}", (error.text or "").strip() or None
    else:
        for frame in reversed(traceback.extract_tb(error.__traceback__)):
            if _same_file(frame.filename, student):
                where, function = f"{Path(frame.filename).name}:{frame.lineno}", frame.name
                line = (frame.line or "").strip() or None
                break
    if isinstance(error, SystemExit):
        kind, message = "exit", f"sys.exit({'' if error.code is None else repr(error.code)})"
    elif isinstance(error, MemoryError):
        kind, message = "memory", str(error) or "out of memory"
    else:
        kind, message = "exception", str(error)
    if len(message) > MESSAGE_LIMIT:
        message = message[: MESSAGE_LIMIT - 1] + "…"
    if stage is None:
        stage = function if function and function != "<module>" else "your code"
    name = "MemoryError" if isinstance(error, MemoryError) else type(error).__name__
    return {"kind": kind, "stage": stage, "type": name, "message": message, "where": where, "line": line}


def error_sentence(error: Mapping[str, Any]) -> str:
    """One line saying what stopped a check: ``"batchnorm_forward raised ValueError: … at hw.py:12: …"``.

    Parameters
    ----------
    error : dict
        As made by :func:`error_details`, or by the runner for a timeout, a crash or a missing function
        (``kind`` then says which, and ``message`` is the sentence's predicate).
    """
    where = f" at {error['where']}" + (f": {error['line']}" if error.get("line") else "") if error.get("where") else ""
    kind, message = error["kind"], error["message"]
    if kind == "exit":
        what = f"called {message}"
    elif kind in ("exception", "checker") and error.get("type"):
        what = f"raised {error['type']}: {message}"
    elif kind == "memory" and error.get("type"):
        what = f"ran out of memory: {error['type']}: {message}"
    else:
        what = message
    return f"{error['stage']} {what}{where}" if error.get("stage") else f"{what}{where}"


def _wrong_output(message: str) -> dict[str, Any]:
    return {"kind": "wrong output", "stage": None, "type": None, "message": message, "where": None, "line": None}


def _describe(value: object) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} item(s)"
    return f"a {type(value).__name__}"


# -- the check --------------------------------------------------------------------------------------

def _forward_output(pair: Pair, result: object) -> tuple[np.ndarray, object]:
    """(out, cache) from what the student's forward returned, or WrongOutputError."""
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise WrongOutputError(f"{pair.forward} must return (out, cache); it returned {_describe(result)}")
    out = np.asarray(result[0])
    if out.dtype.kind not in "fc":
        raise WrongOutputError(f"{pair.forward} must return a floating array as out; it returned dtype {out.dtype}")
    return out, result[1]


def _gradient_tuple(pair: Pair, result: object) -> tuple[object, ...]:
    """The backward pass's gradients as a tuple (a lone array is one gradient), or WrongOutputError."""
    values = tuple(result) if isinstance(result, (tuple, list)) else (result,)
    if len(values) != len(pair.gradients):
        expected = f"{len(pair.gradients)} ({', '.join(pair.gradients)})"
        raise WrongOutputError(f"{pair.backward} returned {len(values)} gradient(s); expected {expected}")
    return values


def _compare_forward(pair: Pair, out: np.ndarray, values: Mapping[str, Any]) -> dict[str, Any]:
    """The student's forward output against mathnn's reference at the same inputs."""
    reference, _ = pair.reference()(*pair.call_arguments(values))
    tolerance = FORWARD_TOLERANCE.get(out.dtype, FORWARD_TOLERANCE[np.dtype(np.float64)])
    report: dict[str, Any] = {
        "status": "ok", "max_error": None, "tolerance": tolerance, "reference": f"mathnn.layers.{pair.forward}",
        "message": None,
    }
    if out.shape != reference.shape:
        report["status"] = "mismatch"
        report["message"] = (
            f"{pair.forward} returned out of shape {out.shape}; expected {reference.shape}, "
            f"the shape mathnn.layers.{pair.forward} returns"
        )
        return report
    scale = max(float(np.max(np.abs(reference), initial=0.0)), np.finfo(np.float64).tiny)
    error = float(np.max(np.abs(out - reference), initial=0.0)) / scale
    report["max_error"] = error
    if not error <= tolerance:  # also catches NaN
        report["status"] = "mismatch"
        report["message"] = (
            f"{pair.forward}'s output differs from mathnn.layers.{pair.forward}: max relative error "
            f"{error:.2e} (pass mark {tolerance:.0e} of the output's scale)"
        )
    return report


def _changed(given: Mapping[str, Any], saved: Mapping[str, Any]) -> list[str]:
    return [
        name for name, original in saved.items()
        if isinstance(original, np.ndarray)
        and not (np.shape(given[name]) == original.shape and np.array_equal(given[name], original, equal_nan=True))
    ]


def empty_result(pair_name: str, seed: int = 0) -> dict[str, Any]:
    """A :func:`check_pair` result for a pair that has not been (or could not be) checked: not passed."""
    pair = resolve(pair_name)
    return {
        "name": pair.name, "forward_function": pair.forward, "backward_function": pair.backward, "passed": False,
        "forward": {"status": "not run", "max_error": None, "tolerance": None,
                    "reference": f"mathnn.layers.{pair.forward}", "message": None},
        "in_place": [], "gradients": [], "problems": [], "precision": None, "seed": seed, "evaluations": 0,
        "diagnosis": None, "error": None,
    }


def check_pair(module: ModuleType, pair_name: str, seed: int = 0) -> dict[str, Any]:
    """Check a student's ``<pair>_forward`` / ``<pair>_backward`` from ``module``.

    Parameters
    ----------
    module : module
        The student's module; it must define both functions of the pair.
    pair_name : str
        A name :func:`resolve` accepts, e.g. 'batchnorm' or 'rnn_backward'.
    seed : int
        Seeds the test inputs, dout and the check's random directions.

    Returns
    -------
    dict
        JSON-able: ``name``, ``forward_function``, ``backward_function``, ``passed``, ``forward``
        (``status`` 'ok' | 'mismatch' | 'not run', ``max_error``, ``tolerance``, ``reference``,
        ``message``), ``in_place`` (list of {``function``, ``argument``}: the student's function that
        wrote into the caller's array ``argument``, directly or through the cache), ``gradients`` (from
        :meth:`Report.to_dict`, each ``name`` being the gradient's name — dx, dgamma… — and ``input``
        the differentiated argument), ``problems``, ``precision``, ``seed``, ``evaluations``,
        ``diagnosis`` (text, None when passed) and ``error`` (None, or the details of an exception
        raised by the student's code — ``kind``, ``stage``, ``type``, ``message``, ``where``,
        ``line`` — or of a wrong output).

    Raises
    ------
    InputError
        For an unknown pair name or a module that does not define both functions.

    Notes
    -----
    The check runs entry by entry (``mode='full'``; the inputs are small) with ``method='auto'``.
    """
    from . import check_vjp

    pair = resolve(pair_name)
    forward = getattr(module, pair.forward, None)
    backward = getattr(module, pair.backward, None)
    for label, function in ((pair.forward, forward), (pair.backward, backward)):
        if not callable(function):
            name = getattr(module, "__name__", module)
            raise InputError(f"module: expected a function {label} in {name!r}; received a module without it")
    path = getattr(module, "__file__", None)
    rng = np.random.default_rng([seed, INPUT_STREAM])
    values = pair.make_inputs(rng)
    fixed = {name: value for name, value in values.items() if name not in pair.differentiated}
    result = empty_result(pair.name, seed)

    def run_forward(arrays: Mapping[str, Any]) -> tuple[np.ndarray, object]:
        return _forward_output(pair, forward(*pair.call_arguments({**fixed, **arrays})))

    def f(**arrays: np.ndarray) -> np.ndarray:
        return run_forward(arrays)[0]

    def f_vjp(dout: np.ndarray, **arrays: np.ndarray) -> tuple[object, ...]:
        _, cache = run_forward(arrays)
        # a copy: a backward pass that writes into dout is reported by the dry run below, once
        return _gradient_tuple(pair, backward(dout.copy(), cache))

    stage = pair.forward
    try:
        # dry run: in-place changes, the forward output, the form of the gradients, named for the student
        given = dict(zip(pair.arguments, pair.call_arguments(values)))
        out, cache = _forward_output(pair, forward(*given.values()))
        changed = _changed(given, values)
        result["in_place"] += [{"function": pair.forward, "argument": name} for name in changed]
        result["forward"] = _compare_forward(pair, out, values)
        stage = pair.backward
        dout = rng.standard_normal(out.shape).astype(out.dtype if out.dtype.kind == "f" else np.float64)
        dout_given = dout.copy()
        gradients = _gradient_tuple(pair, backward(dout_given, cache))
        if not np.array_equal(dout_given, dout):
            result["in_place"].append({"function": pair.backward, "argument": pair.upstream})
        # the cache holds the caller's arrays: writing into them changes the caller's x, w…
        result["in_place"] += [
            {"function": pair.backward, "argument": name} for name in _changed(given, values) if name not in changed
        ]
        for gradient_name, input_name, gradient in zip(pair.gradients, pair.differentiated, gradients):
            expected = np.shape(values[input_name])
            if np.shape(gradient) != expected:
                result["problems"].append(
                    f"{pair.backward} returned {gradient_name} of shape {np.shape(gradient)}; "
                    f"expected {expected}, the shape of {input_name}"
                )
        stage = None  # the traceback names the student's function that failed
        names = dict(zip(pair.differentiated, pair.gradients))
        report = check_vjp(
            f, f_vjp, {name: values[name] for name in pair.differentiated}, mode="full", seed=seed,
            diagnose=pair.diagnosis() if pair.diagnosis else None, names=names,
        )
    except WrongOutputError as error:
        result["error"] = _wrong_output(str(error))
    except (Exception, SystemExit) as error:
        result["error"] = error_details(error, path, stage)
    else:
        checked = report.to_dict()
        inputs_of = {gradient: name for name, gradient in names.items()}
        result["gradients"] = [{**gradient, "input": inputs_of[gradient["name"]]} for gradient in checked["gradients"]]
        result["problems"] += [problem.replace("f_vjp", pair.backward) for problem in checked["problems"]]
        result["precision"] = checked["precision"]
        result["evaluations"] = checked["evaluations"]
        result["passed"] = (
            bool(report) and result["forward"]["status"] == "ok" and not result["in_place"] and not result["problems"]
        )
    if not result["passed"]:
        result["diagnosis"] = describe_result(result)
    return result


def describe_result(result: Mapping[str, Any]) -> str:
    """The diagnosis text of a :func:`check_pair` result: one finding per line, most important first."""
    lines = []
    if result["error"] is not None:
        lines.append(error_sentence(result["error"]))
    for change in result["in_place"]:
        name = change["argument"]
        lines.append(
            f"{change['function']} changed {name} in place, so the caller's array changed: compute "
            f"into a new array (`{name} = {name} - …` rather than `{name} -= …`, or start from `{name}.copy()`)"
        )
    if result["forward"]["status"] == "mismatch":
        lines.append(result["forward"]["message"])
    lines += result["problems"]
    wrong = [g for g in result["gradients"] if not g["passed"]]
    shared: dict[str, list[str]] = {}  # a diagnosis that explains several gradients is said once, after them
    for gradient in wrong:
        if gradient["diagnosis"]:
            shared.setdefault(gradient["diagnosis"], []).append(gradient["name"])
    for gradient in wrong:
        lines.append(
            f"{gradient['name']} is wrong: max relative error {gradient['max_error']:.2e} "
            f"(pass mark {gradient['tolerance']:.0e}, {gradient['method']})"
        )
        lines += [f"  {text}" for text in gradient["patterns"]]
        if gradient["diagnosis"] and len(shared[gradient["diagnosis"]]) == 1:
            lines.append(f"  {gradient['diagnosis']}")
    lines += [f"{', '.join(names)}: {text}" for text, names in shared.items() if len(names) > 1]
    right = [g["name"] for g in result["gradients"] if g["passed"]]
    if wrong and right:
        lines.append(f"{', '.join(right)} {'is' if len(right) == 1 else 'are'} right")
    return "\n".join(lines)
