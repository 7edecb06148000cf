"""Check a forward-only PyTorch function (CS231n's ``rnn_layers_pytorch.py``) and name the PyTorch bugs in it.

A PyTorch homework function computes the forward pass only; autograd computes its gradients. Such a
function is checked here against mathnn's proven kernels, in this process, from plain arrays that
its sandbox (:mod:`mathnn.gradcheck.torch_worker`) sends back:

1. **probes** — the function is called once in float64 with torch's default dtype float32, once in
   float32 with the default float64, and once on a second device (CUDA where the sandbox has it,
   else PyTorch's ``meta`` device, which holds no numbers but keeps track of where a tensor lives);
   what comes back (output dtypes and devices, whether the output has a graph, autograd's errors,
   which inputs a gradient reaches) names the PyTorch bugs of :data:`BUGS`; the float64 and
   float32 outputs and gradients are compared with mathnn's reference forward and its proven
   backward kernel;
2. **the pair check** — when the probes named no bug, :func:`mathnn.gradcheck.homework.check_pair`
   checks it exactly as a numpy pair, the backward pass being autograd's: the forward against
   mathnn's at several points and two shapes, every gradient against finite differences of the
   function's own forward, entry by entry, with the same report and named mistakes.

A bug seen by behaviour is then pointed at in the source (:mod:`mathnn.gradcheck.torch_source`): the
``.detach()`` line, the ``torch.zeros`` without ``device=``. A Python loop over time steps is not a
bug: only behaviour fails a function.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from . import tolerances
from . import worker as wire
from .homework import POINTS, check_pair, describe_result, empty_result
from .pairs import PAIRS, Pair
from .student import StudentCode, StudentRaised, Transport, WrongOutputError, _clean
from .torch_source import Line, created_lines, graph_breaks, in_place_lines, libraries

__all__ = ["BUGS", "MISSING_TORCH", "TORCH_STREAM", "Source", "check_torch_pair", "torch_checkable", "torch_pairs"]

#: The probes' inputs come from default_rng([seed, TORCH_STREAM]), apart from the pair check's.
TORCH_STREAM = 7
#: The named PyTorch bugs (``result["torch"]["bugs"]`` holds these keys).
BUGS = {
    "graph": "the autograd graph is broken",
    "in-place": "an in-place operation autograd cannot differentiate",
    "fresh": "the result is a fresh tensor filled in place",
    "dtype": "a tensor's dtype does not follow the inputs",
    "device": "a tensor's device does not follow the inputs",
}
#: What ``mathnn check`` says, in one line, about a PyTorch file when this Python has no torch.
MISSING_TORCH = "it uses PyTorch, which is not installed with this mathnn: pip install 'mathnn[torch]'"

Result = dict[str, Any]


@dataclass(frozen=True)
class Source:
    """The student's file as text and syntax tree (never run here), to point at lines."""

    tree: Any
    text: str
    file: str

    def lines(self, finder: Any, function: str, *extra: str) -> list[Line]:
        if self.tree is None:
            return []
        return finder(self.tree, self.text, self.file, function, *extra)


@cache
def torch_checkable(name: str) -> bool:
    """Whether pair ``name`` can be checked as a PyTorch function: arrays in, no settings dict, no randomness."""
    pair = PAIRS[name]
    if pair.forward_check is not None:
        return False
    return not any(isinstance(value, Mapping) for value in pair.test_inputs(0).values())


def torch_pairs(functions: list[str], tree: Any = None) -> list[str]:
    """The pairs of a file that imports torch checked as PyTorch functions.

    A forward that computes with torch (``tree``, the file's syntax tree, says so, see
    :func:`mathnn.gradcheck.torch_source.libraries`) is one, even beside a backward of the student's
    own; one that computes with numpy only is not, even a loss (a numpy ``layers.py`` may import torch
    for one helper). Otherwise a forward defined without its backward, or a loss, is one.
    """
    chosen = []
    for name, pair in PAIRS.items():
        if not (torch_checkable(name) and pair.forward in functions):
            continue
        used = libraries(tree, pair.forward)
        if "torch" in used or (not used and (pair.kind == "loss" or pair.backward not in functions)):
            chosen.append(name)
    return chosen


def _bug(result: Result, kind: str, sentence: str, lines: list[Line] = ()) -> None:  # type: ignore[assignment]
    if kind not in result["torch"]["bugs"]:
        result["torch"]["bugs"].append(kind)
    said = "".join(f"\n  {line}" for line in lines[:4])
    text = f"{BUGS[kind]}: {sentence}{said}"
    if text not in result["problems"]:  # the float64 and float32 probes see the same bug
        result["problems"].append(text)


def _differentiated(pair: Pair) -> list[int]:
    return [pair.arguments.index(name) for name in pair.differentiated]


def _as(values: Mapping[str, Any], dtype: type) -> dict[str, Any]:
    return {name: value.astype(dtype) if isinstance(value, np.ndarray) and value.dtype.kind == "f" else value
            for name, value in values.items()}


def _reference(pair: Pair, values: Mapping[str, Any], upstream: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """mathnn's output and its proven backward kernel's gradients, in float64, at ``values``."""
    from .. import layers

    arguments = pair.call_arguments(_as(values, np.float64))
    if pair.kind == "loss":
        loss, dx = getattr(layers, pair.forward)(*arguments)
        return np.asarray(loss, dtype=np.float64), [dx]
    returned = getattr(layers, pair.forward)(*arguments)
    outputs, cache_ = returned[:-1], returned[-1]
    gradients = getattr(layers, pair.backward)(*upstream, cache_)
    gradients = list(gradients) if isinstance(gradients, tuple) else [gradients]
    out = outputs[0] if len(outputs) == 1 else np.concatenate(outputs, axis=-1)
    return out, gradients


def _relative(value: np.ndarray, reference: np.ndarray) -> float:
    if value.shape != reference.shape and value.size != reference.size:
        return float("inf")
    value = value.reshape(reference.shape)  # a 0-d loss crosses the pipe as shape (1,)
    scale = max(float(np.max(np.abs(reference), initial=0.0)), np.finfo(np.float64).tiny)
    return float(np.max(np.abs(value.astype(np.float64) - reference), initial=0.0)) / scale


class _Prober:
    """The probes of one pair: requests to the sandbox, answers read back as facts and arrays."""

    def __init__(self, transport: Transport, pair: Pair) -> None:
        self.transport, self.pair = transport, pair
        self.code = StudentCode(transport, pair)

    def __call__(self, values: Mapping[str, Any], default_dtype: str, device: str | None,
                 upstream: list[np.ndarray] | None) -> tuple[dict, list[np.ndarray]]:
        pair = self.pair
        specs, arrays = self.code._arguments(values)
        indices = None if upstream is None else list(range(len(arrays), len(arrays) + len(upstream)))
        header = {"op": "probe", "function": pair.forward, "arguments": specs, "outputs": max(1, len(pair.outputs)),
                  "torch": {"differentiated": _differentiated(pair), "default_dtype": default_dtype,
                            "device": device, "upstream": indices}}
        answer, outputs = self.transport(header, [*arrays, *(upstream or [])], pair.forward)
        if not isinstance(answer, dict):
            raise wire.ProtocolError("the answer is not an object")
        if "error" in answer and "returned" not in answer and "retry" not in answer:
            raise StudentRaised(_clean(answer["error"]))
        return answer, outputs


def _upstream(pair: Pair, rng: np.random.Generator, values: Mapping[str, Any]) -> list[np.ndarray] | None:
    """One upstream gradient per output (None for a loss: its own gradient), shaped as mathnn's outputs."""
    if pair.kind == "loss":
        return None
    from .. import layers

    returned = getattr(layers, pair.forward)(*pair.call_arguments(values))
    return [rng.standard_normal(np.shape(output)) for output in returned[:-1]]


def _call_bugs(result: Result, pair: Pair, answer: dict, source: Source) -> bool:
    """Name what a probe's call says; True when nothing more can be checked (no output, or no graph)."""
    name = pair.forward
    error = answer.get("error")
    if error is not None:
        message = str(error.get("message"))
        if "numpy()" in message and "requires grad" in message:  # x.numpy() on a tensor autograd tracks
            _bug(result, "graph", f"{name} calls .numpy() on a tensor autograd differentiates, which PyTorch refuses "
                 f"({message[:120]}): compute with torch functions, so that autograd can follow",
                 source.lines(graph_breaks, name))
        elif "leaf Variable" in message or "in-place operation" in message or "inplace operation" in message:
            if answer.get("changed"):
                arguments = ", ".join(pair.arguments[index] for index in answer["changed"])
                _bug(result, "in-place", f"{name} writes into its input {arguments} in place, which autograd refuses "
                     f"for a tensor it differentiates ({message}); compute a new tensor (`h = h + …`, not `h += …`)",
                     source.lines(in_place_lines, name))
            else:
                _bug(result, "fresh", f"{name} creates a tensor with requires_grad=True and fills it in place, which "
                     f"autograd refuses ({message}); create it without requires_grad (autograd follows what is "
                     "written into it), or collect the steps in a list and torch.stack them",
                     source.lines(created_lines, name, "requires_grad") or source.lines(in_place_lines, name))
        else:
            result["error"] = _clean(error) | {"stage": name}
        return True
    returned = str(answer.get("returned"))
    if returned != "tensors":
        if returned == wire.describe(None):
            result["error"] = {"kind": "starter code", "stage": None, "type": None, "where": None, "line": None,
                               "message": f"{name} is not implemented yet (still the starter code?): it returns None"}
        elif returned.startswith(("an array", "the number")) or returned == "a list":
            _bug(result, "graph", f"{name} returned {returned}, not a tensor: its numbers left autograd's graph, so "
                 "autograd cannot differentiate it", source.lines(graph_breaks, name))
        else:
            outputs = " and ".join(pair.outputs) or ("the loss" if pair.kind == "loss" else "out")
            result["error"] = {"kind": "wrong output", "stage": None, "type": None, "where": None, "line": None,
                               "message": f"{name} must return {outputs} as tensor(s); it returned {returned[:80]}"}
        return True
    if not any(answer.get("graph", [])):
        breaks = source.lines(graph_breaks, name)
        created = source.lines(created_lines, name)
        filled = [line for line in source.lines(in_place_lines, name) if "item assignment" in line.what]
        if created and filled:
            _bug(result, "fresh", f"{name} returns a tensor it created and filled in place with numbers that carry no "
                 "graph: no gradient reaches its inputs", [*created, *filled, *breaks])
        else:
            _bug(result, "graph", f"{name}'s output has no autograd graph although its inputs require grad: no "
                 "gradient reaches them", breaks)
        return True
    backward = answer.get("backward_error")
    if backward is not None:
        message = str(backward.get("message"))
        if "inplace operation" in message or "in-place operation" in message:
            _bug(result, "in-place", f"autograd cannot differentiate {name}: a tensor it saved for the backward pass "
                 f"was changed in place afterwards ({message.split(' Hint')[0][:240]}); write `y = y * o`, not `y *= o`",
                 source.lines(in_place_lines, name))
        else:
            result["error"] = {**_clean(backward), "stage": f"autograd through {name}"}
        return True
    return False


def _dtype_bug(result: Result, pair: Pair, answer: dict, expected: str, default: str, source: Source) -> None:
    dtypes = answer.get("dtypes") or []
    if "dtype" in result["torch"]["bugs"] or all(dtype == expected for dtype in dtypes):
        return
    _bug(result, "dtype", f"with {expected} inputs and torch's default dtype {default}, {pair.forward} returned "
         f"{', '.join(dtypes)}: a tensor it creates takes the default dtype, not the inputs' (create it with "
         "dtype=x.dtype, or x.new_zeros / torch.zeros_like)", source.lines(created_lines, pair.forward, "dtype"))


def _compare(result: Result, pair: Pair, values: Mapping[str, Any], upstream: list[np.ndarray] | None,
             outputs: list[np.ndarray], dtype: np.dtype, label: str, source: Source) -> None:
    """A probe's output and autograd's gradients against mathnn's forward and proven backward kernel."""
    reference, gradients = _reference(pair, values, upstream or [])
    count = max(1, len(pair.outputs))
    out = outputs[0] if count == 1 else np.concatenate(outputs[:count], axis=-1)
    forward_error = _relative(out, reference)
    report: dict[str, Any] = {"forward": forward_error, "gradients": {}}
    result["torch"]["reference"][label] = report
    if not forward_error <= tolerances.tolerance("forward", dtype):
        if label == "float32":  # the float64 forward is judged by the pair check, point by point
            result["problems"].append(f"in float32, {pair.forward}'s output differs from mathnn.layers.{pair.forward}"
                                      f": max relative error {forward_error:.2e}")
        return
    wrong = []
    for name, found, expected in zip(pair.gradients, outputs[count:], gradients):
        expected = np.asarray(expected, dtype=np.float64)
        if not np.any(found) and np.any(expected):  # autograd's graph does not reach this input at all
            argument = pair.differentiated[pair.gradients.index(name)]
            _bug(result, "graph", f"no gradient reaches {argument}: autograd gives {name} = 0 where mathnn's is not "
                 f"zero, so {pair.forward} uses {argument} outside the graph", source.lines(graph_breaks, pair.forward))
            continue
        error = _relative(found, expected)
        report["gradients"][name] = error
        if not error <= tolerances.tolerance("gradient", dtype) * 10:  # autograd rounds as the forward does
            wrong.append(f"{name} ({error:.1e})")
    if wrong and not (label == "float32" and result["torch"]["reference"].get("float64", {}).get("wrong")):
        report["wrong"] = True
        kernel = pair.forward if pair.kind == "loss" else pair.backward
        result["problems"].append(f"in {label}, autograd's {', '.join(wrong)} differ{'s' if len(wrong) == 1 else ''} "
                                  f"from mathnn.layers.{kernel}, the proven backward kernel, although "
                                  f"{pair.forward}'s output matches mathnn's")


def _probe_all(result: Result, prober: _Prober, pair: Pair, seed: int, source: Source) -> bool:
    """The three probes; True when the pair check can follow (the function ran and has a graph)."""
    rng = np.random.default_rng([seed, TORCH_STREAM])
    values = pair.make_inputs(rng, 0)
    upstream = _upstream(pair, rng, values)
    probes = result["torch"]["probes"]
    # float64 inputs under a float32 default dtype, then float32 inputs under a float64 one: a tensor the
    # function creates with the default dtype then differs from its inputs in one of the two
    for inputs, default in (("float64", "float32"), ("float32", "float64")):
        dtype = np.dtype(inputs)
        at = _as(values, dtype.type)
        answer, arrays = prober(at, default, None, None if upstream is None else [v.astype(dtype) for v in upstream])
        probes.append(f"{inputs} inputs, torch's default dtype {default}")
        if _call_bugs(result, pair, answer, source):
            return False
        _dtype_bug(result, pair, answer, inputs, default, source)
        if "dtype" not in result["torch"]["bugs"]:
            _compare(result, pair, at, upstream, arrays, dtype, inputs, source)
    answer, _ = prober(values, "float64", "second", upstream)
    device = str(answer.get("device", "meta"))
    what = "CUDA" if device == "cuda" else "PyTorch's meta device (this machine has no second device)"
    probes.append(f"inputs on {what}")
    error = answer.get("error")
    message = str((error or {}).get("message"))
    # "Cannot copy out of meta tensor": a meta result written into a CPU tensor; .item() on meta is not conclusive
    if error is not None and ("device" in message or "copy out of meta" in message):
        _bug(result, "device", f"with its inputs on {what}, {pair.forward} raised {error.get('type')}: "
             f"{message[:160]}: a tensor it creates stays on the CPU (create it with device=x.device, or "
             "x.new_zeros / torch.zeros_like)", source.lines(created_lines, pair.forward, "device"))
    elif error is None and any(place != device for place in answer.get("devices", [])):
        _bug(result, "device", f"with its inputs on {what}, {pair.forward} returned a tensor on "
             f"{', '.join(answer['devices'])}", source.lines(created_lines, pair.forward, "device"))
    elif error is not None:
        probes[-1] += f": not conclusive ({error.get('type')}: {message[:100]})"
    return True


def check_torch_pair(transport: Transport, name: str, seed: int = 0, *, points: int = POINTS,
                     source: Source | None = None) -> Result:
    """Check a student's forward-only PyTorch function of pair ``name``, autograd giving its gradients.

    Parameters
    ----------
    transport : callable
        Reaches the student's module (a sandbox's, or :func:`mathnn.gradcheck.student.in_process`).
    name : str
        A pair of :data:`mathnn.gradcheck.pairs.PAIRS` for which :func:`torch_checkable` holds.
    seed : int
        Seeds the probes' inputs and the pair check.
    points : int
        Points of the pair check (two shapes at least when ≥ 2).
    source : Source, optional
        The student's file, to point at the lines of a bug the check saw.

    Returns
    -------
    dict
        A :func:`mathnn.gradcheck.homework.check_pair` result whose backward function is 'autograd',
        with ``torch``: ``bugs`` (keys of :data:`BUGS` seen), ``probes`` (what was run, said plainly)
        and ``reference`` (the probes' errors against mathnn's forward and backward kernel).
    """
    pair = PAIRS[name]
    source = source or Source(None, "", "")
    result = empty_result(name, seed)
    result.update(backward_function="autograd", torch={"bugs": [], "probes": [], "reference": {}})
    positions = _differentiated(pair)

    def tagged(header: dict, arrays: list, stage: str) -> tuple[dict, list]:
        return transport({**header, "torch": header.get("torch", {"differentiated": positions})}, arrays, stage)

    try:
        ready = _probe_all(result, _Prober(tagged, pair), pair, seed, source)
    except (WrongOutputError, wire.ProtocolError) as error:
        result["error"], ready = {"kind": "wrong output", "stage": None, "type": None, "where": None, "line": None,
                                  "message": str(error)}, False
    except StudentRaised as error:
        result["error"], ready = error.details, False
    if ready and result["error"] is None and not result["torch"]["bugs"]:  # a named bug is the diagnosis
        found = {key: result[key] for key in ("problems", "torch")}
        result = check_pair(StudentCode(tagged, pair), name, seed, points=points)
        result.update(backward_function="autograd", torch=found["torch"])
        result["problems"] = [*found["problems"], *result["problems"]]
        _own_derivatives(result, pair, source)
    result["passed"] = bool(result["error"] is None and not result["problems"] and result["gradients"]
                            and result["forward"]["status"] == "ok" and not result["in_place"]
                            and all(gradient["passed"] for gradient in result["gradients"]))
    result["diagnosis"] = None if result["passed"] else describe_result(result)
    return result


def _own_derivatives(result: Result, pair: Pair, source: Source) -> None:
    """Gradients that disagree with the function's own finite differences: part of the graph is cut."""
    wrong = [gradient["name"] for gradient in result["gradients"] if not gradient["passed"]]
    if not wrong or result["error"] is not None or result["torch"]["bugs"]:
        return
    lines = source.lines(graph_breaks, pair.forward) or [
        line for line in source.lines(in_place_lines, pair.forward) if "item assignment" not in line.what]
    _bug(result, "graph", f"autograd's {', '.join(wrong)} disagree{'s' if len(wrong) == 1 else ''} with finite "
         f"differences of {pair.forward} itself: the graph autograd followed is not the whole computation of the "
         "output (a value taken out of it, or changed behind its back)", lines)

