"""The check of one CS231n function pair from a student's module.

The pairs (:class:`~mathnn.gradcheck.pairs.Pair`, the catalogue :data:`PAIRS`) are in
:mod:`mathnn.gradcheck.pairs`; they are importable from here too.

:func:`check_pair` checks a student's ``<name>_forward`` / ``<name>_backward`` the way a grader would,
at :data:`POINTS` points alternating between two shapes (variant 0, the documented sizes, and variant
1, sizes drawn from the seed), then, for a layer that declares other settings than the notebook's
(``also``: convolution without padding, max pooling with overlapping windows), at one more point of
variant 1's sizes for each, stopping at the first point that fails; a pair right at the notebook's
settings and wrong at others is told so first, with the rule's mistake of those settings it matches
(:mod:`mathnn.gradcheck.elsewhere`):

1. the forward pass is called on copies of the inputs, and any array it changes in place is reported;
2. its output is compared with mathnn's reference forward (relative to the output's scale);
3. the backward pass is called with the cache of a forward call; a changed ``dout``, a wrong number
   of gradients, wrong shapes and NaN or inf entries are reported, naming the student's function; a
   gradient whose shape differs from its input's only by size-1 axes (``keepdims=True``) fails with
   that said once, its values checked in the input's shape (:mod:`mathnn.gradcheck.probes`);
4. at the first point both are called a second time with the same inputs: a different answer means
   state kept between calls or random numbers; then the backward pass is called with zero and with
   twice the upstream gradient (each after a fresh forward call), and gradients that are not linear
   in it are named ("your backward ignores dout"); a layer that keeps running averages (batch norm's
   bn_param) has them and its test mode checked (:mod:`mathnn.gradcheck.running`);
5. :func:`mathnn.gradcheck.check.check_gradients` checks every gradient against the student's *own*
   forward pass (entry by entry at the first point, along random directions at the others), so a
   backward pass is judged on its own, even when the forward pass is wrong.

The student's functions are reached through :class:`mathnn.gradcheck.student.StudentCode`: in a
sandbox process when grading (only arrays come back), or in this process for a module given directly.
An exception in the student's code is reported with its type, message and the student's line; a
function that still returns None or raises NotImplementedError is reported once as "not implemented
yet (still the starter code?)".
Only numpy is imported here; :mod:`mathnn.layers` and the diagnosis are imported when used.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from ..errors import InputError
from ..validate import count
from . import tolerances
from . import losses
from . import worker as wire
from .probes import against_reference, linearity_problems, narrow_marks, only_size_one_axes, shape_sentence
from .running import running_problems
from .coverage import upstream_write
from .elsewhere import named_at_settings, settings_sentence, square_note
from .hints import hint
from .pairs import INPUT_STREAM, PAIRS, Diagnose, Inputs, Pair, resolve
from .student import StarterCodeError, StudentCode, StudentRaised, WrongOutputError, in_process

__all__ = [
    "INPUT_STREAM", "POINTS", "PAIRS", "Diagnose", "Inputs", "Pair", "check_pair", "describe_result", "empty_result",
    "error_details", "error_sentence", "resolve",
]

#: Points checked per pair (variants 0, 1, 0…: two shapes at least).
POINTS = 3


# -- errors in the student's code -------------------------------------------------------------------

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
    return wire.error_details(error, None if path is None else str(path), stage)


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
    advice = hint(error)  # Python 2, a numpy API removed since, a package file checked on its own
    if advice is not None and "\n" in str(message):  # numpy's paragraphs on a removed alias: the hint says it
        message = str(message).split("\n", 1)[0].rstrip(".")
    if kind == "exit":
        what = f"called {message}"
    elif kind in ("exception", "checker") and error.get("type"):
        what = f"raised {error['type']}: {message}"
    elif kind == "memory" and error.get("type"):
        what = f"ran out of memory: {error['type']}: {message}"
    else:
        what = message
    said = f"{error['stage']} {what}{where}" if error.get("stage") else f"{what}{where}"
    return said if advice is None else f"{said}\nhint: {advice}"


def _wrong_output(message: str, kind: str | None = None) -> dict[str, Any]:
    return {"kind": kind or "wrong output", "stage": None, "type": None, "message": message, "where": None,
            "line": None}


def compare_forward(pair: Pair, out: np.ndarray, values: Mapping[str, Any]) -> dict[str, Any]:
    """The student's forward output against mathnn's reference at the same inputs."""
    reference, _ = pair.reference()(*pair.call_arguments(values))
    tolerance = tolerances.tolerance("forward", out.dtype)
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
        named = pair.forward_diagnosis()(dict(values), out) if pair.forward_diagnosis else None
        if named:
            report["message"] += f": {named}"
    return report


def _changed(given: Mapping[str, Any], after: Mapping[str, np.ndarray]) -> list[str]:
    """The array arguments a call wrote into (compared NaN-safely with what was sent)."""
    return [name for name, value in after.items() if not np.array_equal(value, given[name], equal_nan=True)]


def empty_result(pair_name: str, seed: int = 0) -> dict[str, Any]:
    """A :func:`check_pair` result for a pair that has not been (or could not be) checked: not passed."""
    pair = resolve(pair_name)
    return {
        "name": pair.name, "forward_function": pair.forward, "backward_function": pair.backward, "passed": False,
        "forward": {"status": "not run", "max_error": None, "tolerance": None,
                    "reference": f"mathnn.layers.{pair.forward}", "message": None},
        "in_place": [], "warnings": [], "gradients": [], "problems": [], "precision": None, "seed": seed, "evaluations": 0,
        "points": [], "diagnosis": None, "error": None, "output": "", "settings": None,
    }


def _differs(first: np.ndarray, second: np.ndarray, dtype: np.dtype) -> float | None:
    """How far two answers to the same call are apart, relative to their scale; None when they agree."""
    if first.shape != second.shape:
        return float("inf")
    if np.array_equal(first, second, equal_nan=True):
        return None
    scale = max(float(np.max(np.abs(first), initial=0, where=np.isfinite(first))), np.finfo(np.float64).tiny)
    gap = float(np.max(np.abs(first.astype(np.float64) - second), initial=0)) / scale
    return None if gap <= tolerances.tolerance("determinism", dtype) else gap


def _check_point(student: StudentCode, pair: Pair, values: Inputs, rng: np.random.Generator, seed: int,
                 first_point: bool, result: dict[str, Any]) -> dict[str, Any]:
    """One point of :func:`check_pair`: fills ``result`` (forward, in place, problems, gradients)."""
    from .check import check_gradients

    arrays = [name for name in pair.arguments if isinstance(values[name], np.ndarray)]
    out, after, slot = student.forward(values)
    if not np.all(np.isfinite(out)):
        result["problems"].append(f"{pair.forward} returned out with NaN or inf entries at finite inputs")
    changed = _changed(values, after)
    result["in_place"] += [{"function": pair.forward, "argument": name} for name in changed]
    result["forward"] = compare_forward(pair, out, values)
    if pair.forward_check is not None:  # a random forward (dropout's mask): judged by its output's structure
        result["forward"], found = pair.forward_check()(student, pair, values, out, first_point, seed)
        result["problems"] += found
    dout = rng.standard_normal(out.shape).astype(out.dtype if out.dtype.kind == "f" else np.float64)
    gradients, dout_after, after_backward = student.backward(slot, dout, arrays)
    if not np.array_equal(dout_after, dout, equal_nan=True):  # the caller's dout: a warning (--strict: a failure)
        result["warnings"].append(upstream_write(pair.backward, pair.upstream))
    # the cache holds the forward's arrays: writing into them changes the caller's x, w…
    result["in_place"] += [
        {"function": pair.backward, "argument": name} for name in _changed(after, after_backward)
        if name not in changed
    ]
    stray: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {}  # (1, D) for (D,): said once, values checked
    for number, (gradient_name, input_name) in enumerate(zip(pair.gradients, pair.differentiated)):
        # the shape the student's function was given the input in, and the check's (they differ for group
        # norm's gamma given flat, StudentCode.flat_layout)
        own = np.shape(values[input_name])
        shape, expected = gradients[number].shape, student.sent_shape(input_name, own)
        if shape == expected:
            gradients[number] = gradients[number].reshape(own)
        elif only_size_one_axes(shape, expected):
            stray[gradient_name] = (shape, expected)
            gradients[number] = gradients[number].reshape(own)
        elif shape != expected:
            named = pair.shape_diagnosis()(input_name, gradients[number], values, dout) if pair.shape_diagnosis else None
            returned = f"the number {gradients[number].item():g} as {gradient_name}; expected an array of shape" \
                if shape == () else f"{gradient_name} of shape {shape}; expected"  # `dx = 0` left from a draft
            result["problems"].append(
                f"{pair.backward} returned {returned} {expected}, the shape of {input_name}" + (f": {named}" if named else "")
            )
    if first_point:  # the same call twice must give the same answer: no state kept, no random numbers drawn
        again, _, slot = student.forward(values)
        gap = _differs(out, again, out.dtype)
        if gap is not None:
            result["problems"].append(
                f"{pair.forward} returned a different out when called again with the same inputs (relative "
                f"difference {gap:.1e}): it keeps state between calls or draws random numbers"
            )
        gradients_again, _, _ = student.backward(slot, dout, arrays)
        for name, first, second in zip(pair.gradients, gradients, gradients_again):
            gap = _differs(first, second.reshape(first.shape) if second.size == first.size else second, first.dtype)
            if gap is not None:
                result["problems"].append(
                    f"{pair.backward} returned a different {name} when called again with the same dout and cache "
                    f"(relative difference {gap:.1e}): it keeps state between calls or draws random numbers"
                )
        result["problems"] += running_problems(student, pair, values, seed, out.dtype)  # bn_param's, test mode
    fixed = {name: value for name, value in values.items() if name not in pair.differentiated}
    marks = narrow_marks(pair, gradients, out.dtype)
    along = student.along(fixed)
    names = dict(zip(pair.differentiated, pair.gradients))
    diagnose = pair.diagnosis() if pair.diagnosis else None
    indices: dict[str, Any] = {name: value for name, value in fixed.items()  # the embedding's word indices x
                               if isinstance(value, np.ndarray) and value.dtype.kind in "iu"}
    # the settings (conv_param's stride and pad): the diagnosis's kernels compute with them
    indices.update({name: value for name, value in fixed.items() if isinstance(value, Mapping)})
    indices.update({name: value for name, value in fixed.items() if isinstance(value, int)})  # group norm's G
    report = check_gradients(
        lambda **inputs: along(inputs, next(iter(inputs)), [inputs[next(iter(inputs))]])[0],
        {name: gradient.astype(np.float64) for name, gradient in zip(pair.differentiated, gradients)},
        {name: values[name] for name in pair.differentiated}, dout.astype(np.float64), along=along,
        mode="full" if first_point else "random",  # entry by entry once, then random probes
        seed=seed, names=names, rtol=marks or None,
        diagnose=None if diagnose is None else (
            lambda name, analytic, numeric, inputs, up: diagnose(name, analytic, numeric, {**indices, **inputs}, up)),
    )
    checked = report.to_dict()
    if first_point:  # after the check, whose nearby points must have the shape of this point's out
        result["problems"] += linearity_problems(student, pair, values, dout, gradients, arrays)
    if report and result["forward"]["status"] == "ok" and pair.forward_check is None:
        result["problems"] += against_reference(pair, values, fixed, gradients, dout, out.dtype, seed, marks)
    elif report and result["forward"]["status"] == "ok":  # a random mask: the derivative of the output at the point
        from .dropout_check import against_output

        result["problems"] += against_output(student, pair, values, out, gradients, dout, marks)
    inputs_of = {gradient: name for name, gradient in names.items()}
    result["gradients"] = [{**gradient, "input": inputs_of[gradient["name"]]} for gradient in checked["gradients"]]
    for gradient in result["gradients"]:  # right values in a wrong shape still fail: broadcasting breaks later
        if gradient["name"] in stray:
            shape, expected = stray[gradient["name"]]
            gradient.update(shape=list(shape), expected_shape=list(expected), values_right=gradient["passed"],
                            passed=False)
    result["problems"] += [problem.replace("f_vjp", pair.backward) for problem in checked["problems"]]
    result["precision"] = checked["precision"]
    result["evaluations"] += checked["evaluations"]
    return result


def check_pair(student: ModuleType | StudentCode, pair_name: str, seed: int = 0, *, points: int = POINTS,
               strict: bool = False) -> dict[str, Any]:
    """Check a student's ``<pair>_forward`` / ``<pair>_backward`` at several points and two shapes.

    Parameters
    ----------
    student : module or StudentCode
        The student's module (run in this process: for tests and the pytest plugin), or the pair's
        functions behind a sandbox (:class:`mathnn.gradcheck.student.StudentCode`, for grading).
    pair_name : str
        A name :func:`resolve` accepts, e.g. 'batchnorm' or 'rnn_backward'.
    seed : int
        Seeds the test inputs (their values and the second shape), dout and the check's directions.
    points : int
        Points checked; they alternate between variant 0 (the documented sizes) and variant 1 (sizes
        drawn from the seed); a pair with other settings (:attr:`Pair.also`) has one more point for each.
        The check stops at the first point that fails.
    strict : bool
        Fail a backward pass that writes into ``dout`` (by default a warning: it returns the right values).

    Returns
    -------
    dict
        JSON-able: ``name``, ``forward_function``, ``backward_function``, ``passed``, ``forward``
        (``status`` 'ok' | 'mismatch' | 'not run', ``max_error`` — the largest over the points —,
        ``tolerance``, ``reference``, ``message``), ``in_place`` (list of {``function``, ``argument``}),
        ``warnings`` (writes that pass: {``function``, ``argument``, ``message``}, into dout),
        ``gradients`` (from :meth:`Report.to_dict`, of the first failing point, or of the first point
        when all passed, with ``max_error`` the largest over the points; ``name`` is the gradient's
        name — dx, dgamma… — and ``input`` the differentiated argument), ``problems``, ``precision``,
        ``seed``, ``evaluations``, ``points`` (per point checked: ``variant``, ``shapes``, ``passed``, and
        ``settings`` at a point of other settings), ``settings`` (None, or the sentence that the pair is
        right at the notebook's settings and wrong at those of the point that failed),
        ``diagnosis`` (text, None when passed), ``error`` (None, or the details of an exception raised
        by the student's code — ``kind``, ``stage``, ``type``, ``message``, ``where``, ``line`` — or
        of a wrong output) and ``output`` (what the student's code printed, filled in by the runner).

    Raises
    ------
    InputError
        For an unknown pair name, a module that does not define both functions, or fewer than one point.
    """
    points = count(points, "points", "points to check the pair at")
    pair = resolve(pair_name)
    if isinstance(student, ModuleType):
        for label in (pair.forward, pair.backward):
            if not callable(getattr(student, label, None)):
                name = getattr(student, "__name__", student)
                raise InputError(f"module: expected a function {label} in {name!r}; received a module without it")
        docs = {label: getattr(student, label).__doc__ or "" for label in (pair.forward, pair.backward)}
        student = StudentCode(in_process(student), pair, docs)
    result, fits = _check_points(student, pair, seed, points, strict)
    if not fits and pair.per_channel and not student.flat:
        # out of a wrong shape, or a forward that raised: written for gamma and beta of shape (C,), as the
        # 2018–2019 docstring of spatial_groupnorm_forward has them (its notebook passes (1, C, 1, 1))?
        flat, flat_fits = _check_points(student.flat_layout(pair.per_channel), pair, seed, points, strict)
        if flat_fits:
            named = " and ".join(pair.per_channel)
            note = (f"{pair.forward} takes {named} of shape (C,), as the 2018–2019 docstring gives them, not "
                    f"(1, C, 1, 1) as the notebook passes them: checked with (C,)")
            flat["evaluations"] += result["evaluations"]
            result = flat
            if result["passed"]:  # said beside the pass, as a write into dout is
                result["warnings"].append({"function": pair.forward, "argument": named, "message": note})
            else:
                result["diagnosis"] = f"{note}\n{result['diagnosis']}"
    return result


def _check_points(student: StudentCode, pair: Pair, seed: int, points: int, strict: bool
                  ) -> tuple[dict[str, Any], bool]:
    """:func:`check_pair`'s points; also whether the first forward ran and returned out of the reference's shape."""
    rng = np.random.default_rng([seed, INPUT_STREAM])
    result = empty_result(pair.name, seed)
    worst_forward = 0.0
    worst_gradient: dict[str, float] = {}
    first: dict[str, Any] | None = None
    current = empty_result(pair.name, seed)  # the point being checked: what it found before an error stopped it
    opening = current  # the first point's
    # the notebook's settings at every point, then each other setting the rule declares (pad 0, windows that
    # overlap) at one more point: reached only when every point before it passed
    plan = [(number % 2, None) for number in range(points)] + [(1, other) for other in pair.also]
    notebook: Any = None
    try:
        for number, (variant, other) in enumerate(plan):
            values = pair.make_inputs(rng, variant) if other is None else pair.inputs_at(rng, other)
            if number == 0 and pair.param_dict:
                notebook = values[pair.param_dict]
            check_point = losses.check_loss_point if pair.kind == "loss" else _check_point
            current = empty_result(pair.name, seed)
            if number == 0:
                opening = current
            point = check_point(student, pair, values, rng, seed + number, number == 0, current)
            if other is not None and not _point_passed(point, strict):
                result["settings"] = settings_sentence(pair, notebook, values)
                point["problems"] += named_at_settings(student, pair, values, rng, raised=False)
            if strict:  # every write into an array the caller passed fails
                point["in_place"] += [{key: w[key] for key in ("function", "argument")} for w in point["warnings"]]
                point["warnings"] = []
            passed = _point_passed(point)
            result["points"].append({
                "variant": variant, "passed": passed,
                "shapes": {name: list(np.shape(values[name])) for name in pair.arguments
                           if isinstance(values[name], np.ndarray)},
                **({"settings": dict(other)} if other is not None else {}),
            })
            result["evaluations"] += point["evaluations"]
            if point["forward"]["max_error"] is not None:
                worst_forward = max(worst_forward, point["forward"]["max_error"])
            for gradient in point["gradients"]:
                worst_gradient[gradient["name"]] = max(worst_gradient.get(gradient["name"], 0.0), gradient["max_error"])
            if not passed and point["forward"]["status"] == "mismatch":
                square = square_note(student, pair, values, out_wrong=True)
                if square is not None:
                    point["problems"].append(square)
            if first is None or not passed:
                first = point
            if not passed:
                break
    except StarterCodeError as error:  # said once, with the line of a NotImplementedError
        result["error"] = {**_wrong_output(str(error), "starter code"), "where": error.where}
        if other is not None:  # None only at other settings: code that tells them apart
            result["settings"] = settings_sentence(pair, notebook, values)
    except (WrongOutputError, wire.ProtocolError) as error:
        result["error"] = _wrong_output(str(error))
        if other is not None:
            result["settings"] = settings_sentence(pair, notebook, values)
    except StudentRaised as error:
        result["error"] = error.details
        if current["forward"]["status"] == "mismatch":  # out of a wrong shape, then a backward that chokes on it
            result["forward"] = current["forward"]
        if other is not None:  # right at the notebook's settings: these broke the code
            result["settings"] = settings_sentence(pair, notebook, values)
            result["problems"] += named_at_settings(student, pair, values, rng, raised=True)
        elif variant == 1 and result["points"]:
            # the documented sizes passed: the sizes that broke the code say where to look
            shapes = ", ".join(f"{name} of shape {np.shape(values[name])}" for name in pair.arguments
                               if isinstance(values[name], np.ndarray))
            result["problems"].append(
                f"the documented sizes passed; this error came at other sizes, {shapes}: a size written into the "
                "code, or two sizes that are equal at the documented shapes used for each other?")
        square = square_note(student, pair, values)
        if square is not None:
            result["problems"].append(square)
    else:
        evaluations, points_checked = result["evaluations"], result["points"]
        assert first is not None  # at least one point ran
        result.update({key: first[key] for key in ("forward", "in_place", "warnings", "gradients", "problems", "precision")})
        result["evaluations"], result["points"] = evaluations, points_checked
        if all(point["passed"] for point in points_checked):
            result["forward"]["max_error"] = worst_forward
            for gradient in result["gradients"]:
                gradient["max_error"] = worst_gradient[gradient["name"]]
        result["passed"] = all(point["passed"] for point in points_checked)
    if not result["passed"]:
        result["diagnosis"] = describe_result(result)
    forward = opening["forward"]
    return result, forward["status"] != "not run" and not _wrong_shape(pair.forward, forward)


def _point_passed(point: Mapping[str, Any], strict: bool = False) -> bool:
    """Did a point pass: out right, nothing written in place (nor, ``strict``, into dout), no problem, every
    gradient right?"""
    return (point["forward"]["status"] == "ok" and not point["in_place"] and not point["problems"]
            and not (strict and point["warnings"]) and all(gradient["passed"] for gradient in point["gradients"]))


def _wrong_shape(function: str, forward: Mapping[str, Any]) -> bool:
    """Did the forward ``function`` return out of another shape than the reference's (:func:`compare_forward`)?"""
    return forward["status"] == "mismatch" and str(forward["message"]).startswith(f"{function} returned out of shape")


def describe_result(result: Mapping[str, Any]) -> str:
    """The diagnosis text of a :func:`check_pair` result: one finding per line, most important first."""
    lines = []
    if result.get("settings"):  # right at the notebook's settings, wrong at others: said first
        lines.append(result["settings"])
    # a forward's out of a wrong shape is the cause of the backward's error it goes on to: said first
    cause = result["error"] is not None and _wrong_shape(str(result.get("forward_function")), result["forward"])
    if cause:
        lines.append(result["forward"]["message"])
    if result["error"] is not None:
        lines.append(error_sentence(result["error"]))
    for change in result["in_place"]:
        name = change["argument"]
        lines.append(
            f"{change['function']} changed {name} in place, so the caller's array changed: compute "
            f"into a new array (`{name} = {name} - …` rather than `{name} -= …`, or start from `{name}.copy()`)"
        )
    if result["forward"]["status"] == "mismatch" and not cause:
        lines.append(result["forward"]["message"])
    lines += result["problems"]
    wrong = [g for g in result["gradients"] if not g["passed"]]
    shared: dict[str, list[str]] = {}  # a diagnosis that explains several gradients is said once, after them
    for gradient in wrong:
        if gradient["diagnosis"]:
            shared.setdefault(gradient["diagnosis"], []).append(gradient["name"])
    for gradient in wrong:
        error = (f"max relative error {gradient['max_error']:.2e} (pass mark {gradient['tolerance']:.0e}, "
                 f"{gradient['method']})")
        if "shape" in gradient:  # values checked in the input's shape: say the shape once, then the values
            said = shape_sentence(gradient["name"], gradient["shape"], gradient["expected_shape"],
                                  gradient["values_right"])
            lines.append(said if gradient["values_right"] else f"{said}: {error}")
            if gradient["values_right"]:
                continue
        else:
            lines.append(f"{gradient['name']} is wrong: {error}")
        lines += [f"  {text}" for text in gradient["patterns"]]
        if gradient["diagnosis"] and len(shared[gradient["diagnosis"]]) == 1:
            lines.append(f"  {gradient['diagnosis']}")
    lines += [f"{', '.join(names)}: {text}" for text, names in shared.items() if len(names) > 1]
    right = [g["name"] for g in result["gradients"] if g["passed"]]
    if wrong and right:
        lines.append(f"{', '.join(right)} {'is' if len(right) == 1 else 'are'} right")
    return "\n".join(lines)
