"""The loss functions and the word embedding of CS231n in the homework checker: inputs, named mistakes, the loss check.

A **loss pair** (``softmax_loss``, ``svm_loss``) is one function ``f(x, y) -> (loss, dx)``: y holds
integer labels and is never differentiated. At each point :func:`check_loss_point` compares the loss
with mathnn's reference (:mod:`mathnn.layers`), checks dx against finite differences of the student's
*own* loss in x (:func:`mathnn.gradcheck.check.check_gradients`, with the scalar loss as the output and
upstream gradient 1) and against the reference's gradient, so a loss and a dx that are wrong together
(both summed instead of averaged) are caught too. At the first point the function is also called at
the same scores plus 1000, which changes neither loss: a softmax that does not subtract each row's
maximum overflows there.

The **word embedding** is an ordinary forward/backward pair (:mod:`mathnn.gradcheck.homework`) whose
first argument x is integer word indices, drawn with repeated words on purpose and with words that
never occur, so that ``dW[x] += dout`` (repeated indices overwrite instead of accumulate) and a dW that
is not zero-initialised both show.

The named mistakes are computed here from the reference, numpy only: a wrong loss or dx that matches
one is told that mistake's sentence.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from . import tolerances

__all__ = [
    "SHIFT", "check_loss_point", "embedding_diagnosis", "embedding_inputs", "loss_mistake", "softmax_inputs",
    "svm_inputs",
]

#: The shift of every score in the overflow probe: e^1000 overflows float64 (and float32).
SHIFT = 1000.0
#: SVM test scores keep every margin at least this far from 0, so that no difference step crosses a kink.
CLEARANCE = 0.3
#: numpy before 2.0 casts by value (no NEP 50): a float32 scalar divided by a Python int is float64, so a loss
#: computed in float32 and averaged with ``/ N`` comes back as float64 that carries float32's digits only.
_VALUE_BASED_CASTING = np.lib.NumpyVersion(np.__version__) < "2.0.0"


def _sizes(rng: np.random.Generator, variant: int, documented: tuple[int, ...], low: int, high: int) -> tuple[int, ...]:
    from .pairs import _sizes as sizes

    return sizes(rng, variant, documented, low, high)


def _labels(rng: np.random.Generator, n: int, classes: int) -> np.ndarray:
    """N labels in [0, C), with a repeated class whenever N ≥ 2 (two examples of one class)."""
    y = rng.integers(classes, size=n)
    if n >= 2:
        y[1] = y[0]
    return y.astype(np.int64)


def softmax_inputs(rng: np.random.Generator, variant: int = 0) -> dict[str, Any]:
    n, classes = _sizes(rng, variant, (4, 5), 2, 7)
    return {"x": rng.standard_normal((n, classes)), "y": _labels(rng, n, classes)}


def svm_inputs(rng: np.random.Generator, variant: int = 0) -> dict[str, Any]:
    """Scores whose margins are all at least CLEARANCE from 0: the hinge's kinks are never straddled."""
    n, classes = _sizes(rng, variant, (4, 5), 2, 7)
    y = _labels(rng, n, classes)
    x = rng.standard_normal((n, classes))
    rows = np.arange(n)
    for _ in range(20):  # pushing one score off a kink may move another margin of its row onto one
        margins = x - x[rows, y][:, None] + 1
        near = np.abs(margins) < CLEARANCE
        near[rows, y] = False
        if not near.any():
            break
        x[near] += np.where(margins[near] >= 0, 1.0, -1.0) * CLEARANCE
    return {"x": x, "y": y}


def temporal_softmax_inputs(rng: np.random.Generator, variant: int = 0) -> dict[str, Any]:
    """Scores (N, T, V), targets with a repeated class, and a mask that drops some steps but never a whole sequence."""
    n, steps, classes = _sizes(rng, variant, (2, 3, 4), 2, 5)
    y = _labels(rng, n * steps, classes).reshape(n, steps)
    mask = rng.random((n, steps)) < 0.7
    mask[:, 0] = True
    if steps > 1:
        mask[0, -1] = False  # at least one step that must not count
    return {"x": rng.standard_normal((n, steps, classes)), "y": y, "mask": mask}


def embedding_inputs(rng: np.random.Generator, variant: int = 0) -> dict[str, Any]:
    """Word indices with repeats (a word twice in a sentence, and across sentences) and unused words."""
    n, steps, vocabulary, size = _sizes(rng, variant, (2, 4, 10, 3), 2, 12)
    vocabulary = max(vocabulary, 4)
    used = rng.choice(vocabulary, size=max(2, vocabulary // 2), replace=False)
    x = rng.choice(used, size=(n, steps))
    x[0, :2] = used[0]  # a word twice in one sentence
    x[-1, -1] = used[0]  # and again in another
    return {"x": x.astype(np.int64), "W": rng.standard_normal((vocabulary, size))}


# -- named mistakes -----------------------------------------------------------------------------------

def _close(candidate: np.ndarray | float, value: np.ndarray | float, dtype: np.dtype) -> bool:
    candidate, value = np.asarray(candidate, dtype=np.float64), np.asarray(value, dtype=np.float64)
    scale = max(float(np.max(np.abs(candidate), initial=0)), float(np.max(np.abs(value), initial=0)), 1e-300)
    mark = tolerances.tolerance("mistake", dtype)
    return candidate.shape == value.shape and bool(np.max(np.abs(candidate - value), initial=0) <= mark * scale)


def _slips(pair: Any, values: dict[str, Any]) -> list[tuple[dict[str, Any], float, np.ndarray]]:
    """Each named slip of the pair's rule (``SLIPS`` of its generated kernels): (slip, its loss, its dx).

    The kernels take rows of scores, one-hot targets and a weight per row: 1/N, times the mask for a
    temporal loss (a masked step counts for nothing).
    """
    if pair.rule is None:
        return []
    module = importlib.import_module(f"mathnn.kernels.{pair.rule}")
    x = np.asarray(values["x"], dtype=np.float64)
    classes, n = x.shape[-1], x.shape[0]
    scores = x.reshape(-1, classes)
    onehot = np.eye(classes)[np.asarray(values["y"]).reshape(-1)]
    counted = np.asarray(values["mask"], dtype=np.float64).reshape(-1, 1) if "mask" in values else 1.0
    weights = np.ones((scores.shape[0], 1)) * counted / n
    found = []
    for slip in getattr(module, "SLIPS", []):
        slip_loss, slip_dscores = getattr(module, slip["kernel"])(scores, onehot, weights)
        found.append((slip, float(slip_loss), np.asarray(slip_dscores).reshape(x.shape)))
    return found


#: Constants students add inside a softmax loss's log, np.log(p + 1e-7), to keep it finite.
LOG_CONSTANTS = (1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8)


def _softmax_loss_of_p_plus(values: dict[str, Any], constant: float) -> float:
    """The softmax loss with ``constant`` added to each probability inside the log (a temporal loss's
    masked steps left out, the sum divided by N as the course's)."""
    x = np.asarray(values["x"], dtype=np.float64)
    scores = x.reshape(-1, x.shape[-1])
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    probabilities = shifted / shifted.sum(axis=1, keepdims=True)
    picked = probabilities[np.arange(scores.shape[0]), np.asarray(values["y"]).reshape(-1)]
    counted = np.asarray(values["mask"], dtype=np.float64).reshape(-1) if "mask" in values else 1.0
    return float(-np.sum(counted * np.log(picked + constant)) / x.shape[0])


def loss_mistake(pair: Any, values: dict[str, Any], loss: float, dx: np.ndarray | None, dtype: np.dtype
                 ) -> dict[str, str]:
    """The named mistake a wrong ``loss`` or ``dx`` matches: {'loss': sentence, 'dx': sentence}, each if any.

    ``values`` are the loss's arguments (x, y, and a temporal loss's mask). Forgetting the average
    over N is checked for every loss; the rest are the slips the loss's rule declares and refutes.
    """
    reference_loss, reference_dx = pair.reference()(*pair.call_arguments(values))
    reference_loss, reference_dx = float(reference_loss), np.asarray(reference_dx, dtype=np.float64)
    n = values["x"].shape[0]
    slips = _slips(pair, values)
    said: dict[str, str] = {}
    if not _close(loss, reference_loss, dtype) and _close(loss, n * reference_loss, dtype):
        said["loss"] = f"the loss is summed over the N = {n} examples, not averaged: divide it by N"
    for slip, slip_loss, _ in slips:
        if "loss" in slip["changes"] and not _close(loss, reference_loss, dtype) and _close(loss, slip_loss, dtype):
            said["loss"] = slip["sentence"]
    if "loss" not in said and "softmax" in pair.forward and not _close(loss, reference_loss, dtype):
        for constant in LOG_CONSTANTS:
            if _close(loss, _softmax_loss_of_p_plus(values, constant), dtype):
                said["loss"] = (f"the loss is the log of p + {constant:g}, not of p: a constant added inside "
                                f"the log changes the loss (subtracting each row's maximum score is what keeps "
                                f"it finite)")
                break
    if dx is None or dx.shape != reference_dx.shape or _close(dx, reference_dx, dtype):
        return said
    if _close(dx, n * reference_dx, dtype):
        said["dx"] = f"dx is not divided by N = {n}: the loss is an average over the examples, so is its gradient"
        return said
    gradient_slips = [(slip, slip_dx) for slip, _, slip_dx in slips if "dscores" in slip["changes"]]
    for slip, slip_dx in gradient_slips:
        if _close(dx, slip_dx, dtype):
            said["dx"] = slip["sentence"]
            return said
    for slip, slip_dx in gradient_slips:
        if (sentence := _slip_in_part(dx, slip_dx, reference_dx, slip["sentence"], dtype)) is not None:
            said["dx"] = sentence
            break
    return said


def _slip_in_part(dx: np.ndarray, slip_dx: np.ndarray, reference_dx: np.ndarray, sentence: str, dtype: np.dtype
                  ) -> str | None:
    """The slip's sentence if ``dx`` has the slip at every entry the slip changes but is also wrong elsewhere.

    A student can make a declared slip and another mistake besides; the slip is still worth naming, with
    how many other entries are wrong. None where the slip changes nothing here, or ``dx`` lacks it.
    """
    dx, slip_dx, reference_dx = (np.asarray(a, dtype=np.float64) for a in (dx, slip_dx, reference_dx))
    scale = max(float(np.max(np.abs(reference_dx), initial=0)), 1e-300)
    mark = tolerances.tolerance("mistake", dtype) * scale
    changed = np.abs(slip_dx - reference_dx) > mark
    if not changed.any() or not bool(np.all(np.abs(dx - slip_dx)[changed] <= mark)):
        return None
    others = int(np.count_nonzero(np.abs(dx - reference_dx)[~changed] > mark))
    return sentence + (f"; dx is also wrong at {others} other entr{'y' if others == 1 else 'ies'} of {dx.size}"
                       if others else "")


def embedding_diagnosis() -> Any:
    """A ``diagnose`` callback for word_embedding_backward: overwritten repeats, a dW not started at zero."""

    def diagnose(name: str, analytic: np.ndarray, numeric: np.ndarray, inputs: dict, dout: np.ndarray) -> str | None:
        x, W = inputs.get("x"), inputs.get("W")
        if name != "W" or x is None or W is None or analytic.shape != np.shape(W):
            return None
        correct = np.zeros(np.shape(W))
        np.add.at(correct, x, dout)
        overwritten = np.zeros(np.shape(W))
        overwritten[x] += dout  # numpy writes each repeated row once: the last gradient wins
        dtype = analytic.dtype
        if not _close(overwritten, correct, dtype) and _close(analytic, overwritten, dtype):
            return ("dW[x] += dout: repeated indices overwrite instead of accumulate (numpy's += writes a row that x "
                    "names twice only once, keeping one of its gradients); use np.add.at(dW, x, dout), which adds "
                    "every one")
        unused = np.setdiff1d(np.arange(np.shape(W)[0]), x)
        if unused.size and np.any(analytic[unused] != 0):
            return (f"dW is nonzero at the rows of words that x never uses (rows {unused[:5].tolist()}): dW is not "
                    "zero-initialised; start from np.zeros_like(W) (np.empty_like keeps whatever was in memory)")
        return None

    return diagnose


# -- the check of one point -----------------------------------------------------------------------------

def _loss_dtype(loss: np.ndarray, dx: np.ndarray) -> np.dtype:
    """The dtype the loss was computed in: its own, or dx's float32 when numpy < 2 widened a float32 loss.

    On numpy 2 this is always the loss's dtype (float64 for an integer loss), so results there do not
    depend on dx; on numpy 1.26 the loss is judged in the dtype numpy 2 would have returned it in.
    """
    if loss.dtype.kind != "f":
        return np.dtype(np.float64)
    if (_VALUE_BASED_CASTING and loss.dtype == np.float64 and dx.dtype.kind == "f"
            and dx.dtype.itemsize < loss.dtype.itemsize):
        return dx.dtype
    return loss.dtype


def _apart(value: float, other: float) -> str:
    """``value`` with 6 significant digits, or as many more as it takes to tell it from ``other``."""
    for digits in range(6, 18):
        if f"{value:.{digits}g}" != f"{other:.{digits}g}":
            break
    return f"{value:.{digits}g}"


def _loss_value(name: str, loss: np.ndarray) -> float:
    return float(np.asarray(loss, dtype=np.float64).reshape(()))


def check_loss_point(student: Any, pair: Any, values: dict[str, Any], rng: np.random.Generator, seed: int,
                     first_point: bool, result: dict[str, Any]) -> dict[str, Any]:
    """One point of :func:`mathnn.gradcheck.homework.check_pair` for a loss pair: fills ``result``."""
    from .check import check_gradients
    from .homework import _changed, _differs
    from .probes import narrow_marks

    name = pair.forward
    x = values["x"]
    fixed = {key: value for key, value in values.items() if key != "x"}  # the labels, and a mask
    loss, dx, after = student.loss(values)
    dtype = _loss_dtype(loss, dx)
    narrowed = loss.dtype.kind == "f" and dtype != loss.dtype
    if narrowed:
        loss = loss.astype(dtype)
    result["in_place"] += [{"function": name, "argument": argument} for argument in _changed(values, after)]
    value = _loss_value(name, loss)
    reference_loss, _ = pair.reference()(*pair.call_arguments(values))
    reference = float(reference_loss)
    tolerance = tolerances.tolerance("forward", dtype)
    error = abs(value - reference) / max(abs(reference), np.finfo(np.float64).tiny)
    dx_shaped = dx if dx.shape == x.shape else None
    mistakes = loss_mistake(pair, values, value, dx_shaped, dtype) if np.isfinite(value) else {}
    result["forward"] = {"status": "ok", "max_error": error, "tolerance": tolerance, "reference": f"mathnn.layers.{name}",
                         "message": None}
    if not np.isfinite(value):
        result["problems"].append(f"{name} returned a NaN or inf loss at finite scores")
    if not error <= tolerance:
        result["forward"]["status"] = "mismatch"
        result["forward"]["message"] = (
            f"{name}'s loss is {_apart(value, reference)}; mathnn.layers.{name} gives {_apart(reference, value)} "
            f"(relative error {error:.2e}, "
            f"pass mark {tolerance:.0e})" + (f": {mistakes['loss']}" if "loss" in mistakes else "")
        )
    if dx_shaped is None:
        result["problems"].append(f"{name} returned dx of shape {dx.shape}; expected {x.shape}, the shape of x")
        return result
    if not np.all(np.isfinite(dx)):
        result["problems"].append(f"{name} returned dx with NaN or inf entries at finite scores")
    if first_point:
        result["problems"] += _repeat_and_overflow_problems(student, pair, values, loss, dx, dtype)
    evaluate = student.along(fixed)

    def along(inputs: dict, name: str, points: list) -> list:
        outputs = evaluate(inputs, name, points)
        if not narrowed:
            return outputs
        return [output.astype(dtype) if output.dtype == np.float64 else output for output in outputs]

    def diagnose(gradient: str, analytic: np.ndarray, numeric: np.ndarray, inputs: dict, dout: np.ndarray) -> str | None:
        return loss_mistake(pair, values, value, analytic, dtype).get("dx")

    marks = narrow_marks(pair, [dx], dtype)
    report = check_gradients(
        lambda **inputs: along(inputs, "x", [inputs["x"]])[0], {"x": dx.astype(np.float64)}, {"x": x},
        np.ones(loss.shape), along=along, mode="full" if first_point else "random", seed=seed, diagnose=diagnose,
        names={"x": "dx"}, rtol=marks or None,
    )
    checked = report.to_dict()
    result["gradients"] = [{**gradient, "input": "x"} for gradient in checked["gradients"]]
    result["problems"] += [problem.replace("f_vjp", name) for problem in checked["problems"]]
    result["precision"] = checked["precision"]
    result["evaluations"] += checked["evaluations"]
    # dx against the reference's gradient: where dx passed, it is the gradient of the student's loss, which
    # may not be the course's; where it failed against a wrong loss, those finite differences measure nothing
    wrong_loss = result["forward"]["status"] == "mismatch" and bool(np.all(np.isfinite(dx)))
    if report or wrong_loss:
        _, reference_dx = pair.reference()(*pair.call_arguments(values))
        gap = _differs(np.asarray(reference_dx, dtype=np.float64), dx.astype(np.float64), np.dtype(np.float64))
        mark = tolerances.tolerance("forward", dtype)
        if report and gap is not None and gap > mark:
            said = mistakes.get("dx") or ("it agrees with finite differences of your loss, so your loss is what "
                                          "differs" if result["forward"]["status"] == "mismatch" else None)
            result["problems"].append(
                f"dx differs from the gradient of mathnn.layers.{name} (max relative error {gap:.2e}, pass mark "
                f"{mark:.0e})" + (f": {said}" if said else "")
            )
        elif not report and (gap is None or gap <= mark):
            result["gradients"] = [{**gradient, "passed": True, "max_error": gap or 0.0, "method": "against mathnn's dx",
                                    "tolerance": mark, "worst": [], "patterns": [], "diagnosis": None}
                                   for gradient in result["gradients"]]
            result["forward"]["message"] += (f"\ndx is right (mathnn.layers.{name}'s gradient), so only the loss is "
                                             f"wrong: finite differences of that loss disagree with dx")
    return result


def _repeat_and_overflow_problems(student: Any, pair: Any, values: dict[str, Any], loss: np.ndarray,
                                  dx: np.ndarray, dtype: np.dtype) -> list[str]:
    """The same call twice must agree; and the scores plus SHIFT (the same loss) must not overflow."""
    from .homework import _differs

    name, problems = pair.forward, []
    again, dx_again, _ = student.loss(values)
    for what, first, second in (("loss", loss, again), ("dx", dx, dx_again)):
        gap = _differs(np.asarray(first), np.asarray(second), np.dtype(dtype))
        if gap is not None:
            problems.append(f"{name} returned a different {what} when called again with the same inputs (relative "
                            f"difference {gap:.1e}): it keeps state between calls or draws random numbers")
    shifted = {**values, "x": values["x"] + SHIFT}
    big_loss, big_dx, _ = student.loss(shifted)
    if not (np.all(np.isfinite(big_loss)) and np.all(np.isfinite(big_dx))):
        what = " and ".join(part for part, array in (("loss", big_loss), ("dx", big_dx)) if not np.all(np.isfinite(array)))
        hint = ("e^x overflows (e^710 is inf in float64, e^89 in float32): subtract each row's maximum score before "
                "exponentiating, which changes nothing mathematically" if "softmax" in name else
                "large scores must give the same loss as small ones")
        problems.append(f"{name} returned a NaN or inf {what} at the test scores plus {SHIFT:g} (the same loss and dx: "
                        f"adding a constant to every score changes neither): {hint}")
    return problems
