"""Say which piece of the math a wrong gradient is missing, for the layers mathnn has rules for.

A layer declared as a rule (batch norm, layer norm): each named mistake of the rule — a dropped path
of its graph, or a wrong closed form — is a generated kernel, numpy only; a student's gradient that
matches one is told that mistake's sentence (:func:`layer_diagnosis`).

RNN: backpropagation through time without the gradient carried back from h_{t+1}, and the two
classic weight-gradient slips (dWh transposed, h_t used instead of h_{t−1}), computed with the
generated kernels.
"""

from __future__ import annotations

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


def _rnn_variants(x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray,
                  dh: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """rnn_backward's gradients, correct and with each classic slip, from the generated kernels."""
    from ..kernels.rnn import rnn_step_delta, rnn_step_forward, rnn_weight_gradients

    n, steps, _ = x.shape
    states = [h0]
    for t in range(steps):
        states.append(rnn_step_forward(x[:, t], states[-1], Wx, Wh, b))
    h = np.stack(states[1:], axis=1)
    previous = np.stack(states[:-1], axis=1)

    def backward(carry: bool) -> tuple[np.ndarray, np.ndarray]:
        da = np.empty_like(h)
        flowing = np.zeros_like(h0)
        for t in reversed(range(steps)):
            da[:, t], back = rnn_step_delta(dh[:, t] + (flowing if carry else 0), h[:, t], Wh)
            flowing = back
        return da, flowing

    def gradients(da: np.ndarray, dh0: np.ndarray, rows_prev: np.ndarray) -> dict[str, np.ndarray]:
        dx, dWx, dWh, db = rnn_weight_gradients(da.reshape(-1, da.shape[2]), x.reshape(-1, x.shape[2]),
                                                rows_prev.reshape(-1, h.shape[2]), Wx)
        return {"x": dx.reshape(x.shape), "h0": dh0, "Wx": dWx, "Wh": dWh, "b": db}

    da, dh0 = backward(carry=True)
    correct = gradients(da, dh0, previous)
    no_carry_da, no_carry_dh0 = backward(carry=False)
    return {
        "correct": correct,
        "no_accumulation": gradients(no_carry_da, no_carry_dh0, previous),
        "transposed": {**correct, "Wh": correct["Wh"].T},
        "uses_h_t": {**correct, "Wh": gradients(da, dh0, h)["Wh"]},
    }


RNN_SENTENCES = {
    "no_accumulation": "your gradients match backpropagation through time without the path h_t → h_{t+1}: "
    "the gradient flowing back from later steps is not added to dh_t",
    "transposed": "your dWh is the transpose of the true gradient: dWh = h_{t−1}ᵀ δ_t (row form), not δ_tᵀ h_{t−1}",
    "uses_h_t": "your dWh uses h_t where the step multiplies h_{t−1}: dWh = Σ_t h_{t−1}ᵀ δ_t",
}


def rnn_diagnosis() -> Diagnose:
    """A ``diagnose`` callback for rnn_forward/rnn_backward (inputs x, h0, Wx, Wh, b)."""

    def diagnose(name: str, analytic: np.ndarray, numeric: np.ndarray, inputs: dict, dout: np.ndarray) -> str | None:
        variants = _rnn_variants(inputs["x"], inputs["h0"], inputs["Wx"], inputs["Wh"], inputs["b"], dout)
        for slip in ("no_accumulation", "transposed", "uses_h_t"):
            candidate = variants[slip].get(name)
            if candidate is not None and not _matches(variants["correct"][name], candidate) and _matches(candidate, analytic):
                return RNN_SENTENCES[slip]
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
    forward, backward = layer.kernel(spec["forward_kernel"]), layer.kernel(spec["backward_kernel"])

    reshape = spec["reshape"]

    def diagnose(wrt: str, analytic: np.ndarray, numeric: np.ndarray, inputs: dict, dout: np.ndarray) -> str | None:
        arrays, settings = _kernel_inputs(spec, inputs)
        if reshape:  # the kernels' two axes; a gradient of that argument is compared in them too
            dout = to_kernel(reshape, dout)
            if wrt == reshape["argument"]:
                if analytic.shape != np.shape(inputs[wrt]):
                    return None
                analytic = to_kernel(reshape, analytic)
        for mistake in spec["mistakes"]:
            if mistake["wrt"] == wrt and _matches(layer.kernel(mistake["kernel"])(dout, **arrays, **settings), analytic):
                return mistake["sentence"]
        if wrt in spec["differentiated"]:
            out, *cache = forward(**arrays, **settings)
            true = backward(dout, *backward_arguments(spec, out, cache))[spec["differentiated"].index(wrt)]
            if _matches(np.broadcast_to(true, analytic.shape), analytic):
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
