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
from .check import Diagnose

#: Two gradients agree when their difference is this small relative to the larger one.
MATCH = tolerance("mistake")



def _matches(candidate: np.ndarray, gradient: np.ndarray) -> bool:
    scale = max(float(np.abs(candidate).max(initial=0)), float(np.abs(gradient).max(initial=0)), 1e-300)
    return candidate.shape == gradient.shape and float(np.abs(candidate - gradient).max()) <= MATCH * scale


def candidate_matches(candidate: np.ndarray, answer: np.ndarray, right: np.ndarray) -> bool:
    """Is a student's ``answer`` the array a mistake gives (``candidate``), which the right one is not? Arrays
    of any shape, empty ones too (the padding cropped to nothing)."""
    def same(a: np.ndarray, b: np.ndarray) -> bool:
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        if a.shape != b.shape:
            return False
        scale = max(float(np.abs(a).max(initial=0)), float(np.abs(b).max(initial=0)), 1e-300)
        return float(np.abs(a - b).max(initial=0)) <= MATCH * scale

    return same(candidate, answer) and not same(candidate, right)


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


def _kernel_inputs(spec: Mapping[str, Any], inputs: dict, groups: int | None = None
                   ) -> tuple[dict[str, np.ndarray], dict[str, float], int | None]:
    """A layer's public inputs as its kernels take them: the arrays (a reshaped argument in the kernels'
    two axes, per-channel ones per entry), the settings from its parameter dict with the rule's
    defaults, and a grouped layer's number of groups (``groups`` in place of the student's G)."""
    from ..catalogue import kernel_inputs

    arrays, used = kernel_inputs(spec, inputs, groups)
    given = inputs.get(spec["param_dict"]) or {} if spec["param_dict"] else {}
    return arrays, {key: float(given.get(key, default)) for key, default in spec["settings"].items()}, used


def layer_diagnosis(name: str) -> Diagnose:
    """A ``diagnose`` callback for a layer declared as a rule: its named mistakes, as generated kernels.

    Each mistake of the rule (a dropped path of its graph, or a wrong closed form) is a generated
    kernel computing the gradient a student with that mistake gets; a wrong gradient that matches one
    is told that mistake's sentence. Gradients are compared in the public layout (a reshaped
    argument's, a per-channel argument's summed back).
    """
    from ..catalogue import backward_arguments, layers, public_gradient, to_kernel

    layer = layers()[name]
    spec = layer.spec
    if spec.get("forward_check"):  # a random mask, known only from the student's own derivatives
        return importlib.import_module(spec["forward_check"]).diagnosis(name)
    forward, backward = layer.kernel(spec["forward_kernel"]), layer.kernel(spec["backward_kernel"])

    reshape = spec["reshape"]

    def diagnose(wrt: str, analytic: np.ndarray, numeric: np.ndarray, inputs: dict, dout: np.ndarray) -> str | None:
        arrays, settings, groups = _kernel_inputs(spec, inputs)
        out, *cache = forward(**arrays, **settings)
        if np.size(out) != np.size(dout) or (not reshape and np.shape(out) != np.shape(dout)):
            return None  # the student's out, so dout, is not of mathnn's shape: every kernel here takes that
        shape = np.shape(inputs[reshape["argument"]]) if reshape else None
        in_kernel_axes = False
        if reshape:  # the kernels' two axes for dout; each kernel gradient is put back in the public layout
            public_dout, dout = dout, to_kernel(reshape, dout, groups)
            if analytic.shape != np.shape(inputs[wrt]):
                if wrt == reshape["argument"] or analytic.shape != public_dout.shape:
                    return None
                # db = dout (not summed over the rows): compared in the kernels' axes, as dout is
                analytic, in_kernel_axes = to_kernel(reshape, analytic, groups), True

        def public(gradient: np.ndarray) -> np.ndarray:
            if shape is None or in_kernel_axes:
                return gradient
            return public_gradient(spec, wrt, gradient, shape)

        for mistake in spec["mistakes"]:
            if mistake["wrt"] == wrt and _matches(public(layer.kernel(mistake["kernel"])(dout, **arrays, **settings)),
                                                  analytic):
                return mistake["sentence"]
        if wrt in spec["differentiated"]:
            returned = backward(dout, *backward_arguments(spec, out, cache))
            # a kernel with one gradient (max pooling's dx) returns it alone
            true = public(returned if len(spec["differentiated"]) == 1 else returned[spec["differentiated"].index(wrt)])
            if _broadcasts(np.shape(true), analytic.shape) and _matches(np.broadcast_to(true, analytic.shape), analytic):
                gradient = spec["gradients"][spec["differentiated"].index(wrt)]
                return (f"your {gradient} is the true {name} gradient, so your forward pass is what differs "
                        f"from {spec['forward']}")
        return None

    return diagnose


#: The ε students write into a normalization layer instead of reading it from its parameter dict.
OWN_EPS = (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.0)


def layer_forward_diagnosis(name: str) -> Callable[[dict, np.ndarray], "str | None"]:
    """Name the forward mistake a wrong output matches, for a layer declared as a rule.

    Each forward mistake of the rule (ε outside the square root, the unbiased variance, …) is a
    generated kernel computing the output a student with that mistake gets; a grouped layer's
    regroupings (statistics over the whole sample, or per channel) are its forward kernel at another
    number of groups. The callback takes the inputs (CS231n's arguments) and the student's output.
    """
    from ..catalogue import from_kernel, layers

    layer = layers()[name]
    spec = layer.spec

    reshape = spec["reshape"]

    def public(array: np.ndarray, inputs: dict) -> np.ndarray:
        if not reshape:
            return array
        shape = np.shape(inputs[reshape["argument"]])
        return from_kernel(reshape, array, shape, columns=array.shape[-1])

    def diagnose(inputs: dict, out: np.ndarray) -> str | None:
        arrays, settings, _ = _kernel_inputs(spec, inputs)
        with np.errstate(all="ignore"):
            for mistake in spec["forward_mistakes"]:
                if _matches(public(np.asarray(layer.kernel(mistake["kernel"])(**arrays, **settings)), inputs), out):
                    return str(mistake["sentence"])
            for regrouping in (reshape or {}).get("regroupings", ()):
                channels = np.shape(inputs[reshape["argument"]])[reshape["rows"]]
                regrouped, _, _ = _kernel_inputs(spec, inputs, 1 if regrouping["groups"] == "1" else channels)
                wrong = layer.kernel(spec["forward_kernel"])(**regrouped, **settings)[0]
                if _matches(public(wrong, inputs), out):
                    return str(regrouping["sentence"])
            if "eps" in settings:  # ε written into the code: the dict's ε is ignored
                for eps in OWN_EPS:
                    if eps != settings["eps"] and _matches(public(layer.kernel(spec["forward_kernel"])(
                            **arrays, **{**settings, "eps": eps})[0], inputs), out):
                        given = spec["param_dict"]
                        return (f"{spec['forward']} normalizes with ε = {eps:g}, not the {given}['eps'] it was "
                                f"given ({settings['eps']:g}): read it with {given}.get('eps', {settings['eps']:g})")
        return None

    return diagnose


def unsummed_diagnosis(name: str) -> Callable[[str, np.ndarray, dict, np.ndarray], "str | None"]:
    """Name a per-channel gradient (group norm's dgamma, shape (1, C, 1, 1)) of a wrong shape that sums
    only some of the axes it should: "dgamma is summed over H, W but not over N".

    The callback takes the argument's name, the student's gradient, the inputs and dout; it compares the
    gradient with the true one per entry summed over the axes where the student's has size 1.
    """
    from ..catalogue import backward_arguments, from_kernel, layers, to_kernel

    layer = layers()[name]
    spec = layer.spec
    reshape = spec["reshape"]
    forward, backward = layer.kernel(spec["forward_kernel"]), layer.kernel(spec["backward_kernel"])

    def diagnose(wrt: str, gradient: np.ndarray, inputs: dict, dout: np.ndarray) -> str | None:
        if wrt not in reshape.get("per_channel", ()):
            return None
        shape = np.shape(inputs[reshape["argument"]])
        if gradient.ndim != len(shape) or any(g not in (1, s) for g, s in zip(gradient.shape, shape)):
            return None
        arrays, settings, groups = _kernel_inputs(spec, inputs)
        out, *cache = forward(**arrays, **settings)
        returned = backward(to_kernel(reshape, dout, groups), *backward_arguments(spec, out, cache))
        full = from_kernel(reshape, returned[spec["differentiated"].index(wrt)], shape)
        summed = tuple(axis for axis, (g, s) in enumerate(zip(gradient.shape, shape)) if g == 1 and s != 1)
        if not _matches(full.sum(axis=summed, keepdims=True), gradient):
            return None
        names = reshape["shape"]
        channel = reshape["rows"]
        missing = [names[axis] for axis in range(len(shape)) if axis != channel and axis not in summed]
        every = tuple(axis for axis in range(len(shape)) if axis != channel)
        gradient_name = spec["gradients"][spec["differentiated"].index(wrt)]
        said = ", ".join(names[axis] for axis in summed) or "no axis"
        return (f"{gradient_name} is summed over {said} but not over {', '.join(missing)}: {wrt} has one value per "
                f"{names[channel]}, shared over {', '.join(names[a] for a in every)}, so its gradient sums over all "
                f"of those axes (axis={every}, keepdims=True)")

    return diagnose
