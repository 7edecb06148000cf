"""Say which piece of the math a wrong gradient is missing, for the layers mathnn has rules for.

A layer declared as a rule (batch norm, layer norm): each named mistake of the rule — a dropped path
of its graph, or a wrong closed form — is a generated kernel, numpy only; a student's gradient that
matches one is told that mistake's sentence (:func:`layer_diagnosis`).

RNN: the named slips of backpropagation through time declared with the RNN rule (the gradient not
carried back from h_{t+1}, dWh transposed, h_t used instead of h_{t−1}), each a generated kernel.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .tolerances import tolerance

#: Two gradients agree when their difference is this small relative to the larger one.
MATCH = tolerance("mistake")

Diagnose = Callable[[str, np.ndarray, np.ndarray, dict, np.ndarray], "str | None"]


def _matches(candidate: np.ndarray, gradient: np.ndarray) -> bool:
    scale = max(float(np.abs(candidate).max(initial=0)), float(np.abs(gradient).max(initial=0)), 1e-300)
    return candidate.shape == gradient.shape and float(np.abs(candidate - gradient).max()) <= MATCH * scale


def _broadcasts(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    """Does an array of ``shape`` broadcast to ``target`` (a gradient of another shape may not)?"""
    try:
        return np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        return False


def sequence_diagnosis(name: str) -> Diagnose:
    """A ``diagnose`` callback for a recurrence's sequence functions (rnn_forward/rnn_backward).

    Each named slip of backpropagation through time is a generated kernel of the recurrence; a wrong
    gradient that matches one (where the slip changes that gradient) is told the slip's sentence.
    """
    from ..catalogue import sequences

    sequence = sequences()[name]
    spec = sequence.spec
    forward, backward = sequence.kernel(spec["forward_kernel"]), sequence.kernel(spec["backward_kernel"])

    def diagnose(wrt: str, analytic: np.ndarray, numeric: np.ndarray, inputs: dict, dout: np.ndarray) -> str | None:
        values = {key: np.asarray(inputs[key]) for key in spec["arguments"]}
        values.update(zip(spec["states"], forward(*values.values())))
        arguments = (dout, *(values[key] for key in spec["backward_arguments"]))
        index = spec["gradients"].index(f"d{wrt}")
        correct = backward(*arguments)[index]
        for slip in spec["slips"]:
            if f"d{wrt}" not in slip["gradients"]:
                continue
            candidate = sequence.kernel(slip["kernel"])(*arguments)[index]
            if not _matches(correct, candidate) and _matches(candidate, analytic):
                return str(slip["sentence"])
        return None

    return diagnose


def _kernel_inputs(spec: Mapping[str, Any], inputs: dict) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """A layer's public inputs as its kernels take them: the arrays (a reshaped argument in the kernels'
    two axes) and the settings from its parameter dict, with the rule's defaults."""
    from ..catalogue import to_kernel

    arrays = {key: np.asarray(inputs[key]) for key in spec["shapes"]}
    reshape = spec["reshape"]
    if reshape:
        arrays[reshape["argument"]] = to_kernel(reshape, arrays[reshape["argument"]])
    given = inputs.get(spec["param_dict"]) or {} if spec["param_dict"] else {}
    return arrays, {key: float(given.get(key, default)) for key, default in spec["settings"].items()}


def layer_diagnosis(name: str) -> Diagnose:
    """A ``diagnose`` callback for a layer declared as a rule: its named mistakes, as generated kernels.

    Each mistake of the rule (a dropped path of its graph, or a wrong closed form) is a generated
    kernel computing the gradient a student with that mistake gets; a wrong gradient that matches one
    is told that mistake's sentence.
    """
    from ..catalogue import backward_arguments, layers, to_kernel

    layer = layers()[name]
    spec = layer.spec
    if spec.get("forward_check"):  # a random mask, known only from the student's own derivatives
        return importlib.import_module(spec["forward_check"]).diagnosis(name)
    forward, backward = layer.kernel(spec["forward_kernel"]), layer.kernel(spec["backward_kernel"])

    reshape = spec["reshape"]

    def diagnose(wrt: str, analytic: np.ndarray, numeric: np.ndarray, inputs: dict, dout: np.ndarray) -> str | None:
        arrays, settings = _kernel_inputs(spec, inputs)
        if reshape:  # the kernels' two axes; a gradient of that argument is compared in them too
            public_dout, dout = dout, to_kernel(reshape, dout)
            if wrt == reshape["argument"]:
                if analytic.shape != np.shape(inputs[wrt]):
                    return None
                analytic = to_kernel(reshape, analytic)
            elif analytic.shape == public_dout.shape != np.shape(inputs[wrt]):  # db = dout, in those axes too
                analytic = to_kernel(reshape, analytic)
        for mistake in spec["mistakes"]:
            if mistake["wrt"] == wrt and _matches(layer.kernel(mistake["kernel"])(dout, **arrays, **settings), analytic):
                return mistake["sentence"]
        if wrt in spec["differentiated"]:
            out, *cache = forward(**arrays, **settings)
            returned = backward(dout, *backward_arguments(spec, out, cache))
            # a kernel with one gradient (max pooling's dx) returns it alone
            true = returned if len(spec["differentiated"]) == 1 else returned[spec["differentiated"].index(wrt)]
            if _broadcasts(np.shape(true), analytic.shape) and _matches(np.broadcast_to(true, analytic.shape), analytic):
                gradient = spec["gradients"][spec["differentiated"].index(wrt)]
                return (f"your {gradient} is the true {name} gradient, so your forward pass is what differs "
                        f"from {spec['forward']}")
        return None

    return diagnose


def layer_forward_diagnosis(name: str) -> Callable[[dict, np.ndarray], "str | None"]:
    """Name the forward mistake a wrong output matches, for a layer declared as a rule.

    Each forward mistake of the rule (ε outside the square root, the unbiased variance, …) is a
    generated kernel computing the output a student with that mistake gets; the callback takes the
    inputs (CS231n's arguments) and the student's output.
    """
    from ..catalogue import layers, to_kernel

    layer = layers()[name]
    spec = layer.spec

    reshape = spec["reshape"]

    def diagnose(inputs: dict, out: np.ndarray) -> str | None:
        arrays, settings = _kernel_inputs(spec, inputs)
        if reshape:
            out = to_kernel(reshape, out)  # the output has the reference's layout: it was compared first
        with np.errstate(all="ignore"):
            for mistake in spec["forward_mistakes"]:
                if _matches(np.asarray(layer.kernel(mistake["kernel"])(**arrays, **settings)), out):
                    return str(mistake["sentence"])
        return None

    return diagnose
