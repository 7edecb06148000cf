"""A student's functions seen from the trusted side: ask for calls, validate every answer.

:class:`StudentCode` turns "call ``batchnorm_forward`` at these inputs" into a request to a
:class:`~mathnn.gradcheck.worker.Worker` — in a sandbox process (:mod:`mathnn.gradcheck.sandbox`) when
grading, or in this process when a test checks a module directly — and turns the answer back into
plain float arrays of the expected shapes, or into a clear error. Nothing the student's code returns
is used here except numbers in fresh ``np.ndarray``s.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from types import ModuleType
from typing import Any, Union

import numpy as np

from . import worker as wire
from .finite import NotComplexSafeError

#: transport(header, arrays, stage) -> (header, arrays): one request answered.
Transport = Callable[[dict, list, str], tuple[dict, list]]


class StudentRaised(Exception):
    """The student's code raised (or exited); ``details`` as :func:`worker.error_details` makes them."""

    def __init__(self, details: dict) -> None:
        super().__init__(details.get("message"))
        self.details = details


class WrongOutputError(Exception):
    """A student's function returned something of the wrong form (not (out, cache), too few gradients…)."""


#: Bytes of points (or of their outputs) in one evaluate request: an entry-by-entry check of a large input
#: asks for tens of thousands of points, which in one message would overrun the pipe's limits.
EVALUATE_BYTES = 8 * 2**20

#: How a function that is still the assignment's starter code is reported (once, instead of what follows from it).
NOT_IMPLEMENTED = "not implemented yet (still the starter code?)"


class StarterCodeError(WrongOutputError):
    """A function that still returns None or raises NotImplementedError: the starter code, not yet written.

    ``where`` is the student's line ('hw.py:12') for a NotImplementedError, else None.
    """

    def __init__(self, function: str, how: str, where: str | None = None) -> None:
        super().__init__(f"{function} is {NOT_IMPLEMENTED}: it {how}")
        self.where = where


class Described(str):
    """A settings entry that is neither a float array nor a number: what it is ('a list of 5 item(s)')."""


#: One entry of a settings dict after a call (bn_param's running_mean…).
Settled = Union[np.ndarray, float, Described]


def _raised(details: dict, function: str) -> Exception:
    """What the student's error means for the check: starter code for a NotImplementedError, else itself."""
    if details.get("kind") == "exception" and details.get("type") == "NotImplementedError":
        return StarterCodeError(function, "raises NotImplementedError", details.get("where"))
    return StudentRaised(details)


def _plain(array: object) -> np.ndarray:
    """A fresh base-class ndarray with the same numbers (never a student subclass, never a view)."""
    return np.array(array, copy=True, subok=False)


def _field(header: object, key: str, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(header, dict) or not isinstance(header.get(key), kind):
        raise wire.ProtocolError(f"the answer lacks a valid {key!r}")
    return header[key]


def in_process(module: ModuleType) -> Transport:
    """A transport that runs the calls on ``module`` in this process (tests, the pytest plugin; not grading)."""
    worker = wire.Worker(module, getattr(module, "__file__", None))

    def transport(header: dict, arrays: list, stage: str) -> tuple[dict, list]:
        answer, outputs = worker.handle(header, arrays)
        return answer, [_plain(output) for output in outputs]

    return transport


class StudentCode:
    """The functions of one pair in a student's module, called through ``transport``.

    Every call gets fresh copies of the inputs; answers are validated (count, dtype, shape) and
    rebuilt as plain arrays. ``docs`` holds the docstrings of the student's functions by name, read
    from the file without running it: they carry the assignment's year (what dropout's p means).
    """

    def __init__(self, transport: Transport, pair: Any, docs: Mapping[str, str] | None = None) -> None:
        self.transport = transport
        self.pair = pair
        self.docs = dict(docs or {})
        self.slot = 0
        self.out_shape: tuple[int, ...] | None = None  # of the last forward call: every nearby point must match
        self.shapes: dict[str, tuple[int, ...]] = {}  # the array arguments' shapes in the last forward call
        #: Per-channel arguments sent flat, (C,) for the check's (1, C, 1, 1) (:meth:`flat_layout`).
        self.flat: frozenset[str] = frozenset()

    def flat_layout(self, names: Iterable[str]) -> "StudentCode":
        """The same functions, given the per-channel arguments ``names`` (group norm's γ and β, (1, C, 1, 1)
        in the check) as one axis, (C,): the layout CS231n's 2018–2019 docstring gave them. What comes
        back in their place is put back in the check's layout; the gradients are the caller's to judge
        (:meth:`sent_shape`)."""
        other = StudentCode(self.transport, self.pair, self.docs)
        other.flat, other.slot = frozenset(names), self.slot  # the worker's caches: numbered on, never reused
        return other

    def sent_shape(self, name: str, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape the student's function receives argument ``name`` of the check's ``shape`` in."""
        return (math.prod(shape),) if name in self.flat else tuple(shape)

    def _send(self, name: str, value: np.ndarray) -> np.ndarray:
        return value.reshape(-1) if name in self.flat else value

    def _back(self, shapes: Mapping[str, tuple[int, ...]], after: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The array arguments after a call, a flat one in the check's layout (``shapes``) again."""
        return {name: array.reshape(shapes[name]) if name in self.flat and array.size == math.prod(shapes[name])
                else array for name, array in after.items()}

    def _ask(self, header: dict, arrays: list, stage: str) -> tuple[dict, list]:
        answer, outputs = self.transport(header, arrays, stage)
        if not isinstance(answer, dict):
            raise wire.ProtocolError("the answer is not an object")
        if "error" in answer:
            raise _raised(_clean(answer["error"]), stage)
        return answer, outputs

    def _arguments(self, values: Mapping[str, Any]) -> tuple[list[dict], list[np.ndarray]]:
        specs: list[dict] = []
        arrays: list[np.ndarray] = []
        for name in self.pair.arguments:
            value = values[name]
            if isinstance(value, np.ndarray):
                specs.append({"array": len(arrays)})
                arrays.append(self._send(name, value))
            elif isinstance(value, dict) and any(isinstance(item, np.ndarray) for item in value.values()):
                entries: dict[str, dict] = {}
                for key, item in value.items():  # bn_param with running averages: its arrays travel as arrays
                    if isinstance(item, np.ndarray):
                        entries[key] = {"array": len(arrays)}
                        arrays.append(item)
                    else:
                        entries[key] = {"value": item}
                specs.append({"dict": entries})
            else:
                specs.append({"value": value})
        return specs, arrays

    def forward(self, values: Mapping[str, Any]) -> tuple[np.ndarray, dict[str, np.ndarray], int]:
        """(out, the array arguments after the call, the slot holding the cache) of ``<name>_forward``."""
        out, after, slot, _ = self._forward(values, None)
        return out, after, slot

    def forward_settings(self, values: Mapping[str, Any], name: str) -> tuple[np.ndarray, dict[str, Settled]]:
        """(out, the dict argument ``name`` after the call) of ``<name>_forward``, e.g. bn_param's running averages.

        The dict comes back as its string keys' values: a float array (checked here only for being real
        floats), a float for a finite number, or a :class:`Described` for anything else.
        """
        out, _, _, settings = self._forward(values, self.pair.arguments.index(name))
        assert settings is not None  # asked for
        return out, settings

    def _forward(self, values: Mapping[str, Any], settings: int | None
                 ) -> tuple[np.ndarray, dict[str, np.ndarray], int, dict[str, Settled] | None]:
        pair = self.pair
        specs, arrays = self._arguments(values)
        self.slot += 1
        header = {"op": "forward", "function": pair.forward, "arguments": specs, "slot": self.slot,
                  "outputs": max(1, len(pair.outputs))}
        if settings is not None:
            header["settings"] = settings
        answer, outputs = self._ask(header, arrays, pair.forward)
        if answer.get("wrong") == wire.describe(None):
            raise StarterCodeError(pair.forward, "returns None")
        if "wrong" in answer:
            raise WrongOutputError(f"{pair.forward} must return {pair.returns}; it returned {str(answer['wrong'])[:80]}")
        if answer.get("out_none"):
            raise StarterCodeError(pair.forward, "returns None as out")
        if "out_dtype" in answer:
            raise WrongOutputError(f"{pair.forward} must return a floating array as out; it returned dtype "
                                   f"{str(answer['out_dtype'])[:40]}")
        names = [name for name in pair.arguments if isinstance(values[name], np.ndarray)]
        settled = None if settings is None else _settled(_field(answer, "settings", dict), outputs[1 + len(names):])
        if len(outputs) != 1 + len(names) + sum(isinstance(item, np.ndarray) for item in (settled or {}).values()):
            raise wire.ProtocolError("the forward answer has the wrong number of arrays")
        out = outputs[0]
        if out.dtype.kind != "f":
            raise WrongOutputError(f"{pair.forward} must return a real floating array as out; it returned dtype "
                                   f"{out.dtype}")
        self.out_shape = out.shape
        self.shapes = {name: np.shape(values[name]) for name in names}
        after = self._back(self.shapes, dict(zip(names, outputs[1:])))
        for name in names:
            if after[name].shape != values[name].shape:
                raise wire.ProtocolError("an argument came back with another shape")
        return out, after, self.slot, settled

    def backward(
        self, slot: int, dout: np.ndarray, names: list[str]
    ) -> tuple[list[np.ndarray], np.ndarray, dict[str, np.ndarray]]:
        """(gradients, dout after the call, the forward's array arguments ``names`` after it) of ``<name>_backward``."""
        pair = self.pair
        header = {"op": "backward", "function": pair.backward, "slot": slot, "count": len(pair.gradients),
                  "split": max(1, len(pair.outputs))}
        answer, outputs = self._ask(header, [dout], pair.backward)
        gradients = _field(answer, "gradients", list)
        count = _field(answer, "after", int)
        if not 0 <= count <= len(outputs) - 1:
            raise wire.ProtocolError("the backward answer has the wrong number of arrays")
        none = [isinstance(g, dict) and g.get("describe") == wire.describe(None) for g in gradients]
        if all(none):
            raise StarterCodeError(pair.backward, "returns None")
        if len(gradients) != len(pair.gradients):
            expected = f"{len(pair.gradients)} ({', '.join(pair.gradients)})"
            raise WrongOutputError(f"{pair.backward} returned {len(gradients)} gradient(s); expected {expected}")
        if any(none):  # dx written, dw and db still None: the rest of the function is the starter code
            names = [name for name, is_none in zip(pair.gradients, none) if is_none]
            listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
            raise StarterCodeError(pair.backward, f"returns None as {listed}")
        arrays = []
        for name, spec in zip(pair.gradients, gradients):
            if isinstance(spec, dict) and type(spec.get("array")) is int and 0 <= spec["array"] < count:
                gradient = outputs[spec["array"]]
                if gradient.dtype.kind not in "fiu":
                    raise WrongOutputError(f"{pair.backward} returned {name} of dtype {gradient.dtype}; expected "
                                           "real floats")
                arrays.append(gradient)
            elif isinstance(spec, dict) and "describe" in spec:
                raise WrongOutputError(f"{pair.backward} returned {str(spec['describe'])[:80]} as {name}; "
                                       "expected an array")
            else:
                raise wire.ProtocolError("a gradient's description is malformed")
        dout_after = outputs[count]
        after = self._back(self.shapes, dict(zip(names, outputs[count + 1:])))
        if dout_after.shape != dout.shape:
            raise wire.ProtocolError("dout came back with another shape")
        return arrays, dout_after, after

    def loss(self, values: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """(loss, gradient, the array arguments after the call) of a loss function ``f(x, y) -> (loss, dx)``.

        The loss must be one real number (any shape of size 1), the gradient a real array; the shape of
        the loss is what the finite differences (:meth:`along`) must return near the point.
        """
        pair = self.pair
        gradient_name = pair.gradients[0]
        specs, arrays = self._arguments(values)
        answer, outputs = self._ask({"op": "loss", "function": pair.forward, "arguments": specs}, arrays, pair.forward)
        if answer.get("wrong") == wire.describe(None):
            raise StarterCodeError(pair.forward, "returns None")
        if "wrong" in answer:
            raise WrongOutputError(f"{pair.forward} must return (loss, {gradient_name}); it returned "
                                   f"{str(answer['wrong'])[:80]}")
        count = _field(answer, "after", int)
        names = [name for name in pair.arguments if isinstance(values[name], np.ndarray)]
        if not 0 <= count <= 2 or len(outputs) != count + len(names):
            raise wire.ProtocolError("the loss answer has the wrong number of arrays")
        found = []
        for key, what in (("loss", "loss"), ("gradient", gradient_name)):
            spec = answer.get(key)
            if isinstance(spec, dict) and spec.get("describe") == wire.describe(None):
                raise StarterCodeError(pair.forward, f"returns None as {what}")
            if isinstance(spec, dict) and isinstance(spec.get("describe"), str):
                raise WrongOutputError(f"{pair.forward} returned {spec['describe'][:80]} as {what}; expected "
                                       f"{'a number' if key == 'loss' else 'an array'}")
            if not (isinstance(spec, dict) and type(spec.get("array")) is int and 0 <= spec["array"] < count):
                raise wire.ProtocolError(f"the description of {what} is malformed")
            found.append(outputs[spec["array"]])
        loss, gradient = found
        for array, what in ((loss, "loss"), (gradient, gradient_name)):
            if array.dtype.kind not in "fiu":  # the worker sends only these: anything else is not its answer
                raise wire.ProtocolError(f"{what} came back as dtype {array.dtype}")
        if loss.size != 1:
            raise WrongOutputError(f"{pair.forward} must return the loss as one number; it returned an array of shape "
                                   f"{loss.shape}")
        if loss.dtype.kind != "f":
            loss = loss.astype(np.float64)
        self.out_shape = loss.shape
        after = dict(zip(names, outputs[count:]))
        for name in names:
            if after[name].shape != values[name].shape:
                raise wire.ProtocolError("an argument came back with another shape")
        return loss, gradient, after

    def along(self, fixed: Mapping[str, Any]) -> Callable[[dict, str, list], list]:
        """The ``along`` of :func:`mathnn.gradcheck.check.check_gradients`: many forward outputs per request."""
        pair = self.pair

        def evaluate(inputs: dict[str, np.ndarray], name: str, values: list[np.ndarray]) -> list[np.ndarray]:
            size = max([values[0].nbytes if values else 1, 8 * int(np.prod(self.out_shape or (1,))), 1])
            step = max(1, EVALUATE_BYTES // size)
            return [output for start in range(0, len(values), step)
                    for output in batch(inputs, name, values[start:start + step])]

        def batch(inputs: dict[str, np.ndarray], name: str, values: list[np.ndarray]) -> list[np.ndarray]:
            specs, arrays = self._arguments({**fixed, **inputs})
            position = pair.arguments.index(name)
            cast = [pair.arguments.index(other) for other in inputs if other != name]
            points = list(range(len(arrays), len(arrays) + len(values)))
            header = {"op": "evaluate", "function": pair.forward, "arguments": specs, "position": position,
                      "cast": cast, "points": points, "outputs": max(1, len(pair.outputs))}
            answer, outputs = self._ask(header, [*arrays, *(self._send(name, value) for value in values)], pair.forward)
            results = _field(answer, "results", list)
            complex_points = bool(values) and np.iscomplexobj(values[0])
            found = []
            for result in results:
                if isinstance(result, dict) and "error" in result:
                    if complex_points:
                        raise NotComplexSafeError(f"{pair.forward} fails at complex points")
                    raise _raised(_clean(result["error"]), pair.forward)
                if not (isinstance(result, dict) and type(result.get("array")) is int
                        and 0 <= result["array"] < len(outputs)):
                    raise wire.ProtocolError("an evaluation's description is malformed")
                output = outputs[result["array"]]
                if output.shape != self.out_shape:
                    raise WrongOutputError(f"{pair.forward} returned out of shape {output.shape} at an input near "
                                           f"the point, and of shape {self.out_shape} at the point itself")
                if not complex_points and output.dtype.kind not in "fiu":
                    raise WrongOutputError(f"{pair.forward} returned out of dtype {output.dtype} at a real input")
                found.append(output)
            if len(found) != len(values):
                raise wire.ProtocolError("the evaluation answer has the wrong number of outputs")
            return found

        return evaluate

    def update(self, function: str, w: np.ndarray, dw: np.ndarray, config: Mapping[str, Any] | None
               ) -> tuple[np.ndarray, dict[str, Any] | None, np.ndarray, np.ndarray]:
        """(next_w, config, w after the call, dw after the call) of an update rule ``function(w, dw, config)``.

        A returned config of None comes back as None (the Solver would pass it back as it is).

        ``config`` holds numbers, strings, booleans, None and arrays (sent as arrays); so does the
        returned config, whose other values become :class:`WrongOutputError`.
        """
        specs: dict[str, dict] | None = None
        arrays = [w, dw]
        if config is not None:
            specs = {}
            for key, item in config.items():
                if isinstance(item, np.ndarray):
                    specs[key] = {"array": len(arrays)}
                    arrays.append(item)
                else:
                    specs[key] = {"value": item}
        answer, outputs = self._ask({"op": "update", "function": function, "config": specs, "stage": function},
                                     arrays, function)
        if "wrong" in answer:
            raise WrongOutputError(f"{function} must return (next_w, config); it returned {str(answer['wrong'])[:80]}")
        count = _field(answer, "after", int)
        if count != len(outputs) - 2 or count < 0:
            raise wire.ProtocolError("the update answer has the wrong number of arrays")

        def read(spec: object, what: str) -> Any:
            if isinstance(spec, dict) and type(spec.get("array")) is int and 0 <= spec["array"] < count:
                return outputs[spec["array"]]
            if isinstance(spec, dict) and "value" in spec and (spec["value"] is None or isinstance(
                    spec["value"], (bool, int, float, str))):
                return spec["value"]
            if isinstance(spec, dict) and "describe" in spec:
                raise WrongOutputError(f"{function} returned {str(spec['describe'])[:80]} as {what}; expected an array "
                                       "or a number")
            raise wire.ProtocolError(f"the description of {what} is malformed")

        spec = answer.get("next_w")
        if isinstance(spec, dict) and "NoneType" in str(spec.get("describe")):
            raise StarterCodeError(function, "returns None as next_w")
        next_w = read(spec, "next_w")
        if "config_describe" in answer and answer["config_describe"] != "a NoneType":
            raise WrongOutputError(f"{function} must return (next_w, config) with config a dict; it returned "
                                   f"{str(answer['config_describe'])[:80]} as config")
        if not isinstance(next_w, np.ndarray) or next_w.dtype.kind not in "fiu":
            raise WrongOutputError(f"{function} must return next_w as a real array; it returned "
                                   f"{type(next_w).__name__ if not isinstance(next_w, np.ndarray) else next_w.dtype}")
        if "config_describe" in answer:
            return next_w, None, outputs[count], outputs[count + 1]
        returned = _field(answer, "config", dict)
        config_after = {str(key): read(spec, f'config["{key}"]') for key, spec in returned.items()}
        return next_w, config_after, outputs[count], outputs[count + 1]


def _settled(answer: dict, arrays: list[np.ndarray]) -> dict[str, Settled]:
    """The settings a worker answered (:func:`worker.settings_answer`), each array used once, as real floats."""
    settled: dict[str, Settled] = {}
    used: set[int] = set()
    if len(answer) > wire.SETTINGS_ENTRIES:
        raise wire.ProtocolError("the settings answer has too many entries")
    for key, spec in answer.items():
        if not (isinstance(key, str) and len(key) <= wire.SETTINGS_KEY and isinstance(spec, dict) and len(spec) == 1):
            raise wire.ProtocolError("a settings entry is malformed")
        index, value, text = spec.get("array"), spec.get("value"), spec.get("describe")
        if type(index) is int and 0 <= index < len(arrays) and index not in used:
            used.add(index)
            array = arrays[index]
            if array.dtype.kind != "f" or array.size > wire.SETTINGS_SIZE:
                raise wire.ProtocolError("a settings array is not a float array within the size limit")
            settled[key] = array
        elif type(value) is float and np.isfinite(value):  # the worker sends every number as a float
            settled[key] = value
        elif isinstance(text, str):
            settled[key] = Described(text[: wire.MESSAGE_LIMIT])
        else:
            raise wire.ProtocolError("a settings entry is malformed")
    return settled


def _clean(details: object) -> dict:
    """The error details a worker sent, reduced to short strings under the known keys."""
    keys = ("kind", "stage", "type", "message", "where", "line")
    if not isinstance(details, dict):
        details = {}
    clean = {key: (str(details[key])[: wire.MESSAGE_LIMIT] if details.get(key) is not None else None) for key in keys}
    clean["kind"] = clean["kind"] if clean["kind"] in ("exception", "exit", "memory") else "exception"
    return clean
