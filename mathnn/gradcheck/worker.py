"""The untrusted side of a homework check: import the student's file, run the calls asked for, answer with arrays.

This module is the only code that ever runs next to a student's code. It decides nothing: it
imports the file, calls ``<name>_forward`` / ``<name>_backward`` with the arrays the trusted side
sends, and answers with the arrays that came back. The verdict is computed in a process that never
imports student code (:mod:`mathnn.gradcheck.sandbox`, :mod:`mathnn.gradcheck.homework`).

It is standalone (standard library and numpy only, no relative imports outside the package) so the
sandbox can run it as ``python -I -S worker.py CONFIG`` with nothing of mathnn importable; there it
loads its two companions from beside it by path: :mod:`mathnn.gradcheck.wire` (the message format)
and :mod:`mathnn.gradcheck.isolation` (the limits it applies to itself). The trusted side imports it
too, to run the same calls in-process (:class:`Worker`) when a test or the pytest plugin checks a
module directly; the message format's names (:func:`encode`, :func:`read_message`, :func:`write_all`,
:class:`ProtocolError`, :class:`Timeout`) are reachable from here as well.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import copy
import itertools
import json
import os
import sys
import traceback
import warnings
from types import ModuleType


def _beside(name: str) -> ModuleType:
    """Load the companion ``name``.py from this file's folder, without putting that folder on ``sys.path``."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"_mathnn_{name}", path)
    assert spec is not None and spec.loader is not None  # a file location always has a loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if __package__:  # imported from mathnn (the trusted side, or python -m)
    from . import isolation, model_worker, wire
else:  # the sandbox: python -I -S worker.py, its companions copied beside it, no mathnn on the path
    wire = _beside("wire")
    isolation = _beside("isolation")
    model_worker = _beside("model_worker")

DTYPES = wire.DTYPES
ProtocolError, Timeout = wire.ProtocolError, wire.Timeout
encode, read_message, write_all = wire.encode, wire.read_message, wire.write_all

#: Longest exception message the worker reports.
MESSAGE_LIMIT = 500
#: A settings dict answered after a forward call (bn_param): at most this many entries, keys this long,
#: arrays this many entries; anything else in it is only described.
SETTINGS_ENTRIES, SETTINGS_KEY, SETTINGS_SIZE = 32, 100, 1 << 16
#: Other functions of the file reported after a load (found, not checked) at most.
FOUND_LIMIT = 200


# -- describing what the student's code did ----------------------------------------------------------

def describe(value: object) -> str:
    """'an array of shape (2, 5)', 'a tuple of 3 item(s)', 'a NoneType'…: what a function returned."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} item(s)"
    if isinstance(value, (int, float, np.number)) and not isinstance(value, (bool, np.bool_)):
        return f"the number {float(value):g}"  # `dx = 0` left from a draft
    return f"a {type(value).__name__}"


def error_details(error: BaseException, path: str | None, stage: str | None) -> dict:
    """A JSON-able description of an exception raised by the student's code (see homework.error_details)."""
    where = line = function = None
    real = os.path.realpath(path) if path else None

    def same(filename: str | None) -> bool:
        if not (real and filename):
            return False
        return os.path.realpath(filename) == real

    if isinstance(error, SyntaxError) and error.filename and same(error.filename):
        where, line = f"{os.path.basename(error.filename)}:{error.lineno}", (error.text or "").strip() or None
    else:
        for frame in reversed(traceback.extract_tb(error.__traceback__)):
            if same(frame.filename):
                where, function = f"{os.path.basename(frame.filename)}:{frame.lineno}", frame.name
                line = (frame.line or "").strip() or None
                break
    if isinstance(error, SystemExit):
        kind, message = "exit", f"sys.exit({'' if error.code is None else repr(error.code)})"
    elif isinstance(error, MemoryError):
        kind, message = "memory", str(error) or "out of memory"
    else:
        kind = "exception"
        try:
            message = str(error)
        except BaseException:  # noqa: BLE001 - a student exception whose __str__ raises
            message = "(its message could not be printed)"
    if len(message) > MESSAGE_LIMIT:
        message = message[: MESSAGE_LIMIT - 1] + "…"
    if stage is None:
        stage = function if function and function != "<module>" else "your code"
    name = "MemoryError" if isinstance(error, MemoryError) else type(error).__name__
    return {"kind": kind, "stage": stage, "type": name, "message": message, "where": where, "line": line}


def interned(value: object) -> object:
    """``value`` (a request's JSON) with every string interned, as a string literal in the student's
    caller is: ``mode is 'train'`` and ``self.cell_type is 'rnn'`` hold in the course's notebooks, where
    the string is written as a literal, and must hold here too."""
    if type(value) is str:
        return sys.intern(value)
    if type(value) is dict:
        return {interned(key): interned(item) for key, item in value.items()}
    if type(value) is list:
        return [interned(item) for item in value]
    return value


def settings_answer(value: object, sent: list) -> dict:
    """A settings dict after a call (bn_param), for the wire: ``{key: spec}``, arrays appended to ``sent``.

    Only string keys of a dict, the first :data:`SETTINGS_ENTRIES`; a spec is ``{"array": i}`` for a
    float array (of a wire dtype, at most :data:`SETTINGS_SIZE` entries, at least one axis),
    ``{"value": x}`` for a finite real number and ``{"describe": text}`` for anything else. A value
    that is not a dict is answered as ``{"": {"describe": text}}``, which no settings key can be.
    """
    import numpy as np

    if not isinstance(value, dict):
        return {"": {"describe": describe(value)}}
    answer: dict[str, dict] = {}
    for key, item in itertools.islice(value.items(), SETTINGS_ENTRIES):  # never a copy of a huge dict
        if not isinstance(key, str) or not key or len(key) > SETTINGS_KEY:
            continue
        if isinstance(item, np.ndarray) and item.ndim == 0 and item.dtype.kind in "fiu":
            item = item[()]
        if isinstance(item, np.ndarray) and item.dtype.kind == "f" and item.dtype.str in DTYPES \
                and item.size <= SETTINGS_SIZE:
            answer[key] = {"array": len(sent)}
            sent.append(np.array(item, copy=True, subok=False))
        elif isinstance(item, (int, float, np.integer, np.floating)) and not isinstance(item, (bool, np.bool_)):
            try:
                number = float(item)
            except (OverflowError, ValueError, TypeError):
                number = float("inf")
            finite = number - number == 0
            answer[key] = {"value": number} if finite else {"describe": f"the number {number!r}"}
        else:
            answer[key] = {"describe": describe(item)[:MESSAGE_LIMIT]}
    return answer


# -- the calls --------------------------------------------------------------------------------------

class Worker:
    """Runs the calls the trusted side asks for on the student's module; one :meth:`handle` per request.

    Requests (``op``): ``load`` (import the file; answer which of ``names`` it defines, which it
    imports from another file, and its other functions), ``forward``
    (call ``function`` with ``arguments``, keep the cache in ``slot``; answer out and the arguments
    after the call, and when ``settings`` is the position of a dict argument, its entries after the
    call as :func:`settings_answer` makes them), ``backward`` (call ``function`` with ``dout`` and a slot's cache; answer the
    gradients, dout and the forward's arguments after the call; when ``count`` is 1, a list of plain
    numbers is the one gradient's values), ``evaluate`` (call ``function`` at many points, each
    replacing argument ``position`` by one array; answer the outputs), ``update`` (call an update rule
    ``function(w, dw, config)``; answer next_w, the returned config and w, dw after the call), ``loss``
    (a loss ``function(x, y) -> (loss, dx)``; answer both and the arguments after the call), ``drop``
    (forget the slots). Arguments are ``{"array": i}`` (the i-th array of the request) or
    ``{"value": v}`` (JSON, e.g. bn_param) or ``{"dict": {key: argument}}`` (a dict with arrays). Any exception of the student's code is answered as
    ``{"error": details}``.
    """

    #: What a function returned, in the words every answer uses (the PyTorch companion's too).
    describe = staticmethod(describe)

    def __init__(self, module: object = None, path: str | None = None) -> None:
        self.module = module
        self.path = path
        self.slots: dict[int, tuple[object, list]] = {}

    def handle(self, header: dict, arrays: list) -> tuple[dict, list]:
        op = header.get("op")
        try:
            if isinstance(header.get("torch"), dict):  # a forward-only PyTorch function: autograd differentiates
                return _torch_worker().handle(self, header, arrays, lambda error: error_details(error, self.path, None))
            if op == "load":
                return self._load(header), []
            if op == "drop":
                self.slots.clear()
                return {}, []
            if op == "forward":
                return self._forward(header, arrays)
            if op == "backward":
                return self._backward(header, arrays)
            if op == "evaluate":
                return self._evaluate(header, arrays)
            if op == "update":
                return self._update(header, arrays)
            if op == "loss":
                return self._loss(header, arrays)
            if op == "model":  # a model class's params and loss: mathnn.gradcheck.model_worker
                return model_worker.handle(self, header, arrays)
        except BaseException as error:  # noqa: BLE001 - KeyboardInterrupt and SystemExit from student code too
            return {"error": error_details(error, self.path, header.get("stage"))}, []
        return {"error": {"kind": "protocol", "stage": None, "type": None, "message": f"unknown request {op!r}",
                          "where": None, "line": None}}, []

    def _load(self, header: dict) -> dict:
        import importlib
        import importlib.machinery
        import importlib.util

        sys.path.insert(0, header["root"])
        self.path = header["file"]
        if header.get("module"):
            self.module = importlib.import_module(header["module"])
        else:
            name = header["name"] if header["name"] not in sys.modules else "_mathnn_student"  # numpy.py, json.py…
            loader = importlib.machinery.SourceFileLoader(name, self.path)
            spec = importlib.util.spec_from_loader(name, loader)
            assert spec is not None  # always made when a loader is given
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            loader.exec_module(module)
            self.module = module
        return self._found(header["names"])

    def _found(self, names: list) -> dict:
        """The known ``names`` defined here (``functions``), imported from elsewhere (``imported``: name ->
        module), and the other functions this file defines (``defined``, at most :data:`FOUND_LIMIT`)."""
        import types

        real = os.path.realpath(self.path or "")
        imported: dict[str, str] = {}
        defined: list[str] = []
        try:
            items = list(vars(self.module).items())
        except TypeError:  # a module that replaced itself in sys.modules by an object without a __dict__
            items = []
        for name, value in items:
            if type(value) is types.FunctionType and type(name) is str:
                here = os.path.realpath(value.__code__.co_filename) == real
                if name in names and not here:
                    origin = value.__module__
                    imported[name] = origin[:SETTINGS_KEY] if type(origin) is str else "another file"
                elif here and name not in names and len(defined) < FOUND_LIMIT and len(name) <= SETTINGS_KEY:
                    defined.append(name)
        functions = [name for name in names if name not in imported and callable(getattr(self.module, name, None))]
        return {"functions": functions, "imported": imported, "defined": defined}

    def _arguments(self, specs: list, arrays: list) -> list:
        return [self._argument(spec, arrays) for spec in specs]

    def _argument(self, spec: dict, arrays: list) -> object:
        if "array" in spec:
            return arrays[spec["array"]].copy()
        if "dict" in spec:  # a settings dict holding arrays (bn_param's running averages)
            return {key: self._argument(item, arrays) for key, item in spec["dict"].items()}
        return copy.deepcopy(spec["value"])

    def _forward(self, header: dict, arrays: list) -> tuple[dict, list]:
        import numpy as np

        function = getattr(self.module, header["function"])
        arguments = self._arguments(header["arguments"], arrays)
        returned = function(*arguments)
        after = [value for value in arguments if isinstance(value, np.ndarray)]
        count = header.get("outputs", 1)
        if not (isinstance(returned, (tuple, list)) and len(returned) == count + 1):
            return {"wrong": describe(returned)}, []
        if any(value is None for value in returned[:count]):
            return {"out_none": True}, []
        outputs = [np.asarray(value) for value in returned[:count]]
        if any(value.dtype.kind not in "fciub" for value in outputs):
            return {"out_dtype": str(next(v.dtype for v in outputs if v.dtype.kind not in "fciub"))}, []
        # several outputs (an LSTM step's next_h, next_c) are checked side by side as one
        try:
            out = outputs[0] if count == 1 else _side_by_side(outputs)
        except ValueError:
            return {"wrong": describe(returned)}, []
        self.slots[header["slot"]] = (returned[count], arguments)
        position = header.get("settings")
        if type(position) is not int or not 0 <= position < len(arguments):
            return {}, [out, *after]
        sent: list = []
        return {"settings": settings_answer(arguments[position], sent)}, [out, *after, *sent]

    def _backward(self, header: dict, arrays: list) -> tuple[dict, list]:
        import numpy as np

        cache, arguments = self.slots.pop(header["slot"])
        dout = arrays[0].copy()
        split = header.get("split", 1)
        # one upstream gradient per output, each a view of dout: a write into one shows in dout
        upstream = [dout] if split == 1 else np.split(dout, split, axis=-1)
        returned = getattr(self.module, header["function"])(*upstream, cache)
        values = list(returned) if isinstance(returned, (tuple, list)) else [returned]
        if header.get("count") == 1 and isinstance(returned, list) and returned and not any(
            isinstance(value, np.ndarray) for value in returned
        ):  # relu's dx as dx.tolist(): the values of the one gradient, not a list of gradients
            values = [returned]
        gradients: list[dict[str, object]] = []
        sent: list[np.ndarray] = []
        for value in values:
            array = None if value is None else np.asarray(value)
            if array is None or array.dtype.kind not in "fciub":
                gradients.append({"describe": describe(value)})
            else:
                gradients.append({"array": len(sent)})
                sent.append(array)
        after = [value for value in arguments if isinstance(value, np.ndarray)]
        return {"gradients": gradients, "after": len(sent)}, [*sent, dout, *after]

    def _evaluate(self, header: dict, arrays: list) -> tuple[dict, list]:
        import numpy as np

        function = getattr(self.module, header["function"])
        count = header.get("outputs", 1)

        def output(arguments: list) -> Any:
            with warnings.catch_warnings():
                warnings.simplefilter("error", np.exceptions.ComplexWarning)
                returned = function(*arguments)
            if count > 1:
                out = _side_by_side([np.asarray(value) for value in returned[:count]])
            else:
                out = np.asarray(returned[0] if isinstance(returned, (tuple, list)) else returned)
            if out.dtype.kind not in "fciub":
                raise TypeError(f"{header['function']} returned out of dtype {out.dtype}")
            return out

        return self.evaluate_points(header, arrays, output, lambda error: error_details(error, self.path, None))

    def evaluate_points(self, header: dict, arrays: list, output: Callable[[list], Any],
                        details: Callable[[BaseException], dict]) -> tuple[dict, list]:
        """Answer ``evaluate``: ``output(arguments)`` at each point, with argument ``position`` replaced
        by the point and the arguments at ``cast`` in its dtype; the first error ends the answer."""
        position, cast = header["position"], header["cast"]
        results: list[dict] = []
        outputs: list = []
        for point in header["points"]:
            value = arrays[point]
            arguments = self._arguments(header["arguments"], arrays)
            for index in cast:
                arguments[index] = arguments[index].astype(value.dtype)
            arguments[position] = value.copy()
            try:
                out = output(arguments)
            except BaseException as error:  # noqa: BLE001 - reported for this point, the rest are not run
                results.append({"error": details(error)})
                break
            results.append({"array": len(outputs)})
            outputs.append(out)
        return {"results": results}, outputs

    def _loss(self, header: dict, arrays: list) -> tuple[dict, list]:
        """A loss ``function(x, y) -> (loss, dx)``: answer both (as arrays, or described) and the arguments after it."""
        import numpy as np

        function = getattr(self.module, header["function"])
        arguments = self._arguments(header["arguments"], arrays)
        with np.errstate(all="ignore"):  # an overflow is judged by its result, NaN or inf
            returned = function(*arguments)
        after = [value for value in arguments if isinstance(value, np.ndarray)]
        if not (isinstance(returned, (tuple, list)) and len(returned) == 2):
            return {"wrong": describe(returned)}, []
        answer: dict = {}
        sent: list = []
        for key, value in zip(("loss", "gradient"), returned):
            array = None if value is None else np.asarray(value)
            if array is None or array.dtype.kind not in "fiu":
                answer[key] = {"describe": describe(value)}
            else:
                answer[key] = {"array": len(sent)}
                sent.append(array)
        answer["after"] = len(sent)
        return answer, [*sent, *after]

    def _update(self, header: dict, arrays: list) -> tuple[dict, list]:
        """An update rule: ``config`` is None or {key: {"array": i} | {"value": v}}; arrays and numbers come back."""
        import numpy as np

        w, dw = arrays[0].copy(), arrays[1].copy()
        given = header.get("config")
        config = None if given is None else {key: self._arguments([spec], arrays)[0] for key, spec in given.items()}
        with np.errstate(all="ignore"):  # a division by zero is judged by its result, NaN or inf
            returned = getattr(self.module, header["function"])(w, dw, config)
        if not (isinstance(returned, (tuple, list)) and len(returned) == 2):
            return {"wrong": describe(returned)}, []
        next_w, returned_config = returned
        sent: list = []

        def spec(value: object) -> dict:
            if isinstance(value, (bool, np.bool_)):
                return {"value": bool(value)}
            if isinstance(value, (int, np.integer)):
                return {"value": int(value)}
            if isinstance(value, (float, np.floating)) and np.isfinite(value):
                return {"value": float(value)}
            if isinstance(value, str) or value is None:
                return {"value": None if value is None else str(value)[:MESSAGE_LIMIT]}
            if isinstance(value, (np.ndarray, float, np.floating, list, tuple)):
                try:
                    array = np.asarray(value)
                except (ValueError, TypeError):
                    return {"describe": describe(value)}
                if array.dtype.kind in "fciub":
                    sent.append(array)
                    return {"array": len(sent) - 1}
            return {"describe": describe(value)}

        answer: dict = {"next_w": {"describe": describe(next_w)} if next_w is None else spec(next_w)}
        if isinstance(returned_config, dict):
            answer["config"] = {str(key): spec(value) for key, value in returned_config.items()}
        else:
            answer["config_describe"] = describe(returned_config)
        answer["after"] = len(sent)
        return answer, [*sent, w, dw]


# -- the sandboxed process ----------------------------------------------------------------------------


def _torch_worker() -> ModuleType:
    """The companion for PyTorch files (:mod:`mathnn.gradcheck.torch_worker`); torch itself loads on first use."""
    if __package__:
        from . import torch_worker

        return torch_worker
    if "_mathnn_torch_worker" not in sys.modules:
        sys.modules["_mathnn_torch_worker"] = _beside("torch_worker")
    return sys.modules["_mathnn_torch_worker"]


def _side_by_side(outputs: list) -> Any:
    """Several outputs of one forward as one array, side by side along the last axis (refused if their
    shapes do not allow it: the verdict is then a shape error, as for one wrong output)."""
    import numpy as np

    if len({value.shape[:-1] for value in outputs}) != 1 or any(value.ndim == 0 for value in outputs):
        raise ValueError(f"outputs of shapes {[value.shape for value in outputs]} cannot be compared side by side")
    return np.concatenate(outputs, axis=-1)


def main(argv: list[str]) -> None:
    """The sandbox: isolate, then answer requests on stdin with messages on fd ``reply`` until EOF."""
    import faulthandler
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a full output file makes print raise, not kill the process
    config = json.loads(argv[0])
    sys.path.append(config["numpy"])
    log = os.fdopen(config["fault"], "w")
    faulthandler.enable(file=log)
    isolation.preload()  # before the limits, which count their libraries' address space, and setuid
    if config.get("torch"):  # a PyTorch file: torch's folder only, imported before the limits as numpy is
        sys.path.append(config["torch"])
        _torch_worker().prepare()

    reply = config["reply"]
    try:
        used = int(open("/proc/self/statm").read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        used = 0
    if used >= config["memory"]:
        write_all(reply, encode({"too_small": -(-used // 2**20)}, []), None)
        os._exit(0)
    isolation.no_debugger()
    applied = isolation.isolate(config)
    write_all(reply, encode({"ready": True, "protections": applied}, []), None)
    worker = Worker()
    while True:
        try:
            header, arrays = read_message(0)
        except EOFError:
            os._exit(0)
        left = header.get("seconds")
        if isinstance(left, (int, float)) and left > 0:
            # say where the code is stuck just before the grader kills the process
            faulthandler.dump_traceback_later(max(left - min(0.5, 0.2 * left), 0.05), file=log)
        answer, outputs = worker.handle(interned(header), arrays)  # type: ignore[arg-type]
        faulthandler.cancel_dump_traceback_later()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:  # noqa: BLE001 - a stream the student replaced or filled
                pass
        try:
            message = encode(answer, outputs)
        except BaseException as error:  # noqa: BLE001 - e.g. MemoryError copying a huge output
            message = encode({"error": error_details(error, None, header.get("function"))}, [])
        write_all(reply, message, None)


if __name__ == "__main__":
    main(sys.argv[1:])
