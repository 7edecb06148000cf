"""Cheap checks of a backward pass that name two mistakes students make, learned from real homework.

* **A stray size-1 axis** — ``db = np.sum(dout, axis=0, keepdims=True)`` returns shape (1, D) where
  (D,) is expected; group norm's ``dgamma`` summed without keepdims is (C,) where (1, C, 1, 1) is. The
  values can be checked all the same (the shapes differ only by axes of size 1), so the report says
  exactly that, whether the values are right, and which way to fix the shape, instead of an infinite error.
  It still fails the pair: a (1, D) bias gradient broadcasts into a wrong (N, D) update later.
* **Linearity in the upstream gradient** — a backward pass computes ``J(x)ᵀ dout``, which is linear
  in ``dout``: zero ``dout`` must give zero gradients and twice ``dout`` twice the gradients. Two extra
  backward calls (each with the cache of a fresh forward call, since the backward may consume or change
  its cache) tell a backward that ignores ``dout`` from one that merely gets the Jacobian wrong. Nothing
  is reported when they pass.
* **Against the reference** — gradients that agree with finite differences of the student's forward
  pass must also agree with the derivatives of mathnn's reference forward where the two forwards
  match: a forward that answers differently near the point it was called at is caught.

Only numpy is imported with this module (the reference and the check when used). The names (the
upstream gradient, the gradients) come from the :class:`~mathnn.gradcheck.homework.Pair`, so every
layer gets the same probes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import tolerances
from .student import WrongOutputError

__all__ = ["against_reference", "linearity_problems", "narrow_marks", "only_size_one_axes", "shape_sentence"]


def only_size_one_axes(shape: tuple[int, ...], expected: tuple[int, ...]) -> bool:
    """Do two different shapes differ only by axes of size 1 ((1, 5) and (5,), (5, 1) and (5,))?"""
    return tuple(shape) != tuple(expected) and [n for n in shape if n != 1] == [n for n in expected if n != 1]


def shape_sentence(name: str, shape: tuple[int, ...], expected: tuple[int, ...], values_right: bool) -> str:
    """The line for a gradient whose shape differs from its input's only by size-1 axes.

    Right values in such a shape still fail: an update in place, ``w -= learning_rate * dw`` (CS231n's
    ``sgd``), raises on every such pair of shapes, since broadcasting makes the result larger than w.
    """
    said = f"{name} has shape {tuple(shape)} where {tuple(expected)} is expected"
    if not values_right:
        return f"{said}, and its values are also wrong"
    said += ("; the values are right, but an update in place (w -= learning_rate * dw, as CS231n's sgd does) "
             "raises on this shape")
    if len(shape) > len(expected):  # db = np.sum(dout, axis=0, keepdims=True)
        return f"{said}: drop keepdims=True or reshape"
    if len(shape) < len(expected):  # group norm's dgamma summed without keepdims: (C,) for (1, C, 1, 1)
        return f"{said}: sum with keepdims=True or reshape to {tuple(expected)}"
    return f"{said}: reshape to {tuple(expected)}"


def narrow_marks(pair: Any, gradients: list[np.ndarray], dtype: np.dtype) -> dict[str, float]:
    """Pass marks for gradients returned in float32 (or narrower) by a layer that computes in float64.

    A float32 gradient carries float32's digits only: it is judged at float32's pass mark, as a layer
    computed in float32 is, never failed for its rounding. The other gradients keep float64's mark.
    """
    if np.dtype(dtype) != np.float64:
        return {}
    return {name: tolerances.tolerance("gradient", np.float32) for name, gradient in zip(pair.differentiated, gradients)
            if gradient.dtype.kind == "f" and gradient.dtype.itemsize < 8}


def _listed(names: list[str]) -> str:
    return ", ".join(names)


def linearity_problems(student: Any, pair: Any, values: dict[str, Any], dout: np.ndarray,
                       gradients: list[np.ndarray], arrays: list[str]) -> list[str]:
    """Sentences for a backward pass that is not linear in its upstream gradient; [] when it is.

    Parameters
    ----------
    student : StudentCode
        The pair's functions: each probe calls the forward pass again for a fresh cache.
    pair : Pair
        Names the backward function, its upstream gradient and its gradients.
    values : dict
        The inputs of the point.
    dout : ndarray
        The upstream gradient ``gradients`` were computed with.
    gradients : list of ndarray
        The backward's answer at ``dout``, in the pair's order (already reshaped to the inputs' shapes).
    arrays : list of str
        The array arguments of the forward pass (what the backward call reports back).
    """
    def backward(upstream: np.ndarray) -> list[np.ndarray]:
        out, _, slot = student.forward(values)  # a fresh cache: the backward may consume or change its cache
        if out.shape != dout.shape:
            raise WrongOutputError(f"{pair.forward} returned out of shape {out.shape} when called again with the "
                                   f"same inputs, and of shape {dout.shape} the first time")
        answer, _, _ = student.backward(slot, upstream, arrays)
        return [a.reshape(g.shape) if a.size == g.size else a for a, g in zip(answer, gradients)]

    at_zero = backward(np.zeros_like(dout))
    doubled = backward(2 * dout)
    ignored, nonzero, not_doubled = [], [], []
    for name, gradient, zero, twice in zip(pair.gradients, gradients, at_zero, doubled):
        if zero.shape != gradient.shape or twice.shape != gradient.shape or not np.all(np.isfinite(gradient)):
            continue  # a shape that changes, NaN or inf: the gradient check reports those
        mark = tolerances.tolerance("gradient", gradient.dtype)
        scale = max(float(np.max(np.abs(gradient), initial=0.0)), np.finfo(np.float64).tiny)

        def close(first: np.ndarray, second: np.ndarray, size: float = scale) -> bool:
            gap = np.abs(first.astype(np.float64) - second)
            return bool(np.max(gap, initial=0.0) <= mark * size)  # NaN is never close

        zero_right = close(zero, np.zeros_like(gradient))
        if not zero_right and close(zero, gradient) and close(twice, gradient):
            ignored.append(name)
        elif not zero_right:
            nonzero.append(name)
        elif not close(twice, 2.0 * gradient.astype(np.float64), 2 * scale):
            not_doubled.append(name)
    up, function = pair.upstream, pair.backward
    problems = []
    if ignored:
        problems.append(
            f"your backward ignores {up}: {function} returns the same {_listed(ignored)} when {up} is doubled or "
            f"zero; a gradient is {up} carried back through the layer, so it must be linear in {up} (zero {up} "
            f"gives zero gradients, twice {up} twice the gradients)"
        )
    if nonzero:
        problems.append(
            f"{function} returns a nonzero {_listed(nonzero)} when {up} is zero: part of your backward does not "
            f"depend on {up} (a term added rather than multiplied by {up}?); the gradients must be linear in {up}"
        )
    if not_doubled:
        problems.append(
            f"{function} is not linear in {up}: doubling {up} does not double {_listed(not_doubled)} ({up} "
            "squared, or passed through abs, max or a comparison?); the gradients must be linear in it"
        )
    return problems


def against_reference(pair: Any, values: dict[str, Any], fixed: dict[str, Any], gradients: list[np.ndarray],
                      dout: np.ndarray, dtype: np.dtype, seed: int, marks: dict[str, float] | None = None
                      ) -> list[str]:
    """The gradients against derivatives of mathnn's reference forward, computed in this process.

    The student's forward matched the reference at the point; its derivatives must match too. A
    forward pass that answers differently when it sees inputs near the last one (the finite
    differences) could otherwise make a wrong backward pass agree with it. Random probes suffice.
    """
    from .check import check_gradients

    reference = pair.reference()

    def f(**inputs: np.ndarray) -> np.ndarray:
        out = np.asarray(reference(*pair.call_arguments({**fixed, **inputs}))[0])
        return out if np.iscomplexobj(out) else out.astype(dtype)  # the student's precision sets the pass mark

    report = check_gradients(
        f, {name: gradient.astype(np.float64) for name, gradient in zip(pair.differentiated, gradients)},
        {name: values[name] for name in pair.differentiated}, dout.astype(np.float64), mode="random", seed=seed,
        names=dict(zip(pair.differentiated, pair.gradients)), rtol=marks or None,
    )
    wrong = [gradient.name for gradient in report.gradients if not gradient.passed]
    if not wrong:
        return []
    return [
        f"{', '.join(wrong)} disagree{'s' if len(wrong) == 1 else ''} with the derivatives of "
        f"mathnn.layers.{pair.forward}, which your forward pass matches at this point, although they agree with "
        f"finite differences of your forward pass: {pair.forward} answers differently near the point it was "
        "called at"
    ]
