"""Check a whole model's gradients: every parameter of an object with ``params`` and ``loss(X, y)``.

CS231n's models (``TwoLayerNet``, ``FullyConnectedNet``, ``ThreeLayerConvNet``) keep their parameters
in a dict ``model.params`` and return ``(loss, grads)`` from ``model.loss(X, y)``, with one gradient per
parameter under the same key. :func:`check_model` checks each of those gradients against derivatives
of the loss itself, as a function of that parameter with everything else fixed, using
:func:`mathnn.gradcheck.check.check_gradients` in its sound randomized mode (centred Gaussian probe
directions; entry by entry only for a parameter whose probe fails, to say where). Regularisation is
part of the loss, so its gradient is checked with the rest; a wrong parameter whose error is a
multiple of the parameter itself is said to have a wrong regularisation term.

Before any derivative is taken the loss is computed twice: a model whose loss changes between two
identical calls (dropout without a seed, or state kept between calls) is reported as such, and its
gradients are not checked — a finite difference of a random function says nothing about the
gradient. Parameters are restored after every evaluation, and after the check, to the same array
objects with the same values. A float32 model is checked in float32 with the float32 pass mark of
:mod:`mathnn.gradcheck.tolerances`, never a looser one.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from ..validate import describe
from . import tolerances
from .report import Report

__all__ = ["ModelCheck", "check_model"]

#: A wrong parameter with at most this many entries is differentiated entry by entry to look for a
#: wrong regularisation term.
HINT_SIZE = 4096


@dataclass
class ModelCheck:
    """The result of :func:`check_model`: truthy only when every parameter's gradient passed.

    ``str()`` gives one line per parameter ("W2: max relative error 3.1e-01 (pass mark 1e-09)" or
    "b1 ok") after the problems found; ``report`` is the underlying gradient check (None when the
    gradients could not be checked, e.g. a loss that is not deterministic).
    """

    report: Report | None
    problems: list[str] = field(default_factory=list)
    hints: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems and self.report is not None and self.report.passed

    def __bool__(self) -> bool:
        return self.passed

    @property
    def wrong(self) -> list[str]:
        """The parameters whose gradient failed."""
        return [] if self.report is None else [g.name for g in self.report.gradients if not g.passed]

    def summary(self) -> str:
        """'W2: max relative error 3.1e-01 (pass mark 1e-09); b1 ok; …' — one clause per parameter."""
        if self.report is None:
            return "gradients not checked"
        return "; ".join(
            f"{g.name} ok" if g.passed else f"{g.name}: max relative error {g.max_error:.1e} (pass mark {g.tolerance:.0e})"
            for g in self.report.gradients
        )

    def __str__(self) -> str:
        lines = [f"model check {'passed' if self.passed else 'FAILED'}", *self.problems, self.summary()]
        lines += [f"  {name}: {hint}" for name, hint in self.hints.items()]
        if self.report is not None:
            lines.append(f"  precision: {self.report.precision}; seed {self.report.seed}; "
                         f"{self.report.evaluations} loss evaluations")
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "wrong": self.wrong, "summary": self.summary(), "problems": self.problems,
                "hints": self.hints, "notes": self.notes, "report": None if self.report is None else self.report.to_dict()}


class _Parameters:
    """Sets a model's parameters for one evaluation and puts the originals back afterwards."""

    def __init__(self, params: MutableMapping[str, Any]) -> None:
        self.params = params
        self.objects: dict[str, np.ndarray] = dict(params)
        self.saved = {name: array.copy() for name, array in self.objects.items()}

    def set(self, values: Mapping[str, np.ndarray]) -> None:
        for name, value in values.items():
            if np.iscomplexobj(value):  # the complex step: only a new array can hold it
                self.params[name] = value
            else:  # in place, so a model holding references to its arrays sees the change too
                self.objects[name][...] = value

    def changed(self) -> list[str]:
        """Parameters whose array was replaced or whose values changed since the last restore."""
        return [name for name, array in self.objects.items()
                if self.params.get(name) is not array or not np.array_equal(array, self.saved[name], equal_nan=True)]

    def restore(self) -> None:
        for name, array in self.objects.items():
            array[...] = self.saved[name]
            self.params[name] = array


def _loss_and_grads(model: Any, X: Any, y: Any) -> tuple[float, Mapping[str, Any]]:
    returned = model.loss(X, y)
    if not (isinstance(returned, (tuple, list)) and len(returned) == 2 and isinstance(returned[1], Mapping)):
        raise InputError(f"model: expected loss(X, y) to return (loss, grads) with grads a dict; it returned "
                         f"{describe(returned)}")
    loss = np.asarray(returned[0])
    if loss.size != 1 or loss.dtype.kind not in "fiu":
        raise InputError(f"model: expected loss(X, y) to return a real number as loss; it returned {describe(returned[0])}")
    return float(loss.reshape(())), returned[1]


def _checked_model(model: object) -> MutableMapping[str, np.ndarray]:
    params = getattr(model, "params", None)
    if not isinstance(params, MutableMapping) or not callable(getattr(model, "loss", None)):
        raise InputError(f"model: expected an object with a dict `params` and a method `loss(X, y) -> (loss, grads)`; "
                         f"received {describe(model)}")
    for name, value in params.items():
        if not isinstance(value, np.ndarray) or value.dtype.kind != "f" or not value.flags.writeable:
            raise InputError(f'model: expected params["{name}"] to be a writeable real float array; received '
                             f"{describe(value)}")
    if not params:
        raise InputError("model: expected at least one parameter in model.params; received an empty dict")
    return params


def _gap(first: float, second: float) -> float:
    return abs(first - second) / max(abs(first), np.finfo(np.float64).tiny)


def check_model(model: Any, X: Any, y: Any, *, seed: int = 0, probes: int = 4, mode: str = "random",
                rtol: float | None = None, along: Any = None) -> ModelCheck:
    """Check the gradient of every parameter a model's ``loss(X, y)`` returns, and name each wrong one.

    Parameters
    ----------
    model : object
        With ``params`` (a dict of real float arrays) and ``loss(X, y) -> (loss, grads)``, ``grads``
        holding one gradient per key of ``params``. Its parameters are the same array objects, with the
        same values, after the check.
    X, y : array_like
        The batch the loss is evaluated on (keep it small: every probe evaluates the loss).
    seed : int
        Seeds the probe directions.
    probes : int
        Random directions per parameter.
    mode : {'random', 'full', 'auto'}
        As for :func:`mathnn.gradcheck.check.check_gradients`; 'random' (the default) probes, and
        goes entry by entry only to locate an error.
    rtol : float, optional
        A pass mark instead of the tolerance table's (``"gradient"``, by the model's dtype).
    along : callable, optional
        ``along(params, name, values) -> losses``: the loss at many values of one parameter in one call
        (a model run in the sandbox, :mod:`mathnn.gradcheck.model_file`); by default one call of
        ``loss`` per value.

    Returns
    -------
    ModelCheck
        Truthy only if every gradient passed; ``wrong`` lists the failing parameters, ``str()`` names
        each ("W2: max relative error …; b1 ok").

    Raises
    ------
    InputError
        For an object without ``params`` and ``loss``, a parameter that is not a writeable float
        array, or a loss that does not return (a number, a dict).
    """
    from .check import check_gradients
    from .probes import only_size_one_axes

    params = _checked_model(model)
    kept = _Parameters(params)
    dtype = np.result_type(*kept.objects.values())
    result = ModelCheck(None)
    try:
        loss, grads = _loss_and_grads(model, X, y)
        changed = kept.changed()
        result.problems += [f'model.loss changed params["{name}"] when called: a loss must leave the parameters as '
                            "they are (restored for the check)" for name in changed]
        kept.restore()
        again, grads_again = _loss_and_grads(model, X, y)
        kept.restore()
        mark = tolerances.tolerance("determinism", dtype)
        differs = [name for name in params if name in grads and name in grads_again
                   and not np.allclose(np.asarray(grads[name], dtype=np.float64), grads_again[name], rtol=mark, atol=0)]
        if not _gap(loss, again) <= mark or differs:
            result.problems.append(
                f"model.loss is not deterministic: called twice with the same X, y it returned loss {loss!r} then "
                f"{again!r}" + (f" and other gradients for {', '.join(differs)}" if differs else "")
                + ". Dropout without a fixed seed, or state kept between calls, makes any finite difference "
                "meaningless, so the gradients were not checked: fix the seed (CS231n: dropout_param['seed']) or "
                "turn dropout off to check them")
            return result
        if not np.isfinite(loss):
            result.problems.append(f"model.loss returned {loss!r} at the check point")
        missing = [name for name in params if name not in grads]
        if not grads:  # CS231n's starter code: loss, grads = 0.0, {}
            result.problems.append("model.loss returned no gradients (an empty grads dict): not implemented yet "
                                   "(still the starter code?)")
            return result
        if missing:
            result.problems.append(f"model.loss returned no gradient for {', '.join(missing)}")
        if dtype == np.float32:
            result.notes.append("the model's parameters are float32: checked in float32, where about 7 digits are "
                                "meaningful, at the float32 pass mark")

        def f(**inputs: np.ndarray) -> np.ndarray:
            try:
                kept.set(inputs)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
                    value = np.asarray(model.loss(X, y)[0])
            finally:
                kept.restore()
            return value if np.iscomplexobj(value) else value.astype(np.float32 if dtype == np.float32 else np.float64)

        present = {name: np.asarray(grads[name], dtype=np.float64) for name in params if name in grads}
        for name, gradient in present.items():
            expected = kept.saved[name].shape
            if gradient.shape == expected:
                continue
            said = f'grads["{name}"] has shape {gradient.shape} where {expected}, the shape of params["{name}"], is expected'
            if only_size_one_axes(gradient.shape, expected) and _fits(gradient.shape, expected):
                # params['b1'] kept as a row (1, M), its gradient (M,) as affine_backward gives db: the update
                # w -= learning_rate * dw broadcasts it onto the row, so the Solver trains with it
                present[name] = gradient.reshape(expected)
                result.notes.append(f'grads["{name}"] has shape {gradient.shape} where params["{name}"] has '
                                    f"{expected}: the Solver's update broadcasts it onto the parameter, so its "
                                    "values were checked in the parameter's shape")
                continue
            if only_size_one_axes(gradient.shape, expected):  # a layer's keepdims=True: its values are checked
                present[name] = gradient.reshape(expected)
                said += " (the axes differ only in size-1 ones: keepdims=True or a reshape left out?)"
                if gradient.ndim > len(expected):  # the result of w - lr * dw has dw's axes: w cannot hold it
                    said += ("; whatever its values, the Solver's update in place (w -= learning_rate * dw, as "
                             "CS231n's sgd does) raises on this shape")
            result.problems.append(said)
        if not present:  # every gradient is missing (its keys are not params'): nothing to check
            return result
        result.report = check_gradients(f, present, {name: kept.saved[name] for name in present}, np.array(1.0),
                                        mode=mode, seed=seed, probes=probes, rtol=rtol, along=along)
        for name in result.wrong:
            hint = _regularisation_hint(model, f, name, present[name], kept.saved[name], along)
            if hint:
                result.hints[name] = hint
    finally:
        kept.restore()
    return result


def _fits(shape: tuple[int, ...], expected: tuple[int, ...]) -> bool:
    """Does a gradient of ``shape`` broadcast onto a parameter of shape ``expected`` (w -= lr * dw works)?"""
    try:
        return np.broadcast_shapes(tuple(shape), tuple(expected)) == tuple(expected)
    except ValueError:
        return False


def _regularisation_hint(model: Any, f: Any, name: str, analytic: np.ndarray, value: np.ndarray,
                         along: Any = None) -> str | None:
    """When analytic − numeric is a multiple c of the parameter itself: the regularisation term is wrong."""
    from .check import numerical_gradient

    if value.size > HINT_SIZE or analytic.shape != value.shape or not np.any(value):
        return None
    batch = None if along is None else (lambda inputs, _, values: along({name: inputs["x"]}, name, values))
    numeric = numerical_gradient(lambda v: f(**{name: v}), value.astype(np.float64), along=batch)
    difference = analytic - numeric
    weights = value.astype(np.float64)
    c = float(np.sum(difference * weights) / np.sum(weights * weights))
    residual = float(np.linalg.norm(difference - c * weights))
    reg = getattr(model, "reg", None)
    if not residual <= 1e-3 * float(np.linalg.norm(difference)):
        return _summed_regularisation(reg, name, difference, weights)
    if isinstance(reg, (int, float)) and reg:
        ratio = c / reg
        if abs(ratio - 1) < 1e-3:
            return (f"the error is exactly reg·{name}: grads['{name}'] includes reg·{name}, but the loss has no "
                    f"regularisation term for {name}")
        if abs(ratio + 1) < 1e-3:
            return (f"the error is exactly −reg·{name}: the regularisation term's gradient reg·{name} is missing "
                    f"from grads['{name}']")
        return (f"the error is {ratio:.3g}·reg·{name}: the regularisation term's gradient has the wrong factor "
                f"(½·reg·‖{name}‖² in the loss has the gradient reg·{name})")
    return f"the error is {c:.3g}·{name}, a multiple of {name} itself: the regularisation term's gradient looks wrong"


def _summed_regularisation(reg: object, name: str, difference: np.ndarray, weights: np.ndarray) -> str | None:
    """``grads['W1'] += reg * np.sum(W1)``: the error is reg·ΣW1 in every entry less reg·W1 (None if it is not)."""
    if not isinstance(reg, (int, float)) or not reg or weights.size < 3:
        return None
    basis = np.stack([weights.ravel(), np.ones(weights.size)], axis=1)
    (factor, constant), *_ = np.linalg.lstsq(basis, difference.ravel(), rcond=None)
    total = reg * float(weights.sum())
    residual = float(np.linalg.norm(difference.ravel() - basis @ np.array([factor, constant])))
    if residual <= 1e-3 * float(np.linalg.norm(difference)) and abs(factor / reg + 1) < 1e-3 \
            and abs(constant - total) <= 1e-3 * abs(total):
        return (f"the error is reg·np.sum({name}) − reg·{name}: grads['{name}'] adds reg·np.sum({name}), one number, "
                f"to every entry, where the gradient of ½·reg·‖{name}‖² is reg·{name}, the array itself")
    return None
