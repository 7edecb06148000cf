"""The untrusted side of checking PyTorch homework: call a forward-only function on tensors, let autograd differentiate.

Since CS231n's RNN captioning moved to PyTorch, a student writes forward functions only
(``rnn_step_forward(x, prev_h, Wx, Wh, b) -> next_h``) and autograd computes the backward. This
module runs next to such a file, in the sandbox, and decides nothing: it turns the arrays the
trusted side sends into tensors, calls the student's function, runs autograd with the upstream
gradient it was given, and answers with plain arrays and plain facts (a dtype, whether the output
has a graph, autograd's error message). :mod:`mathnn.gradcheck.torch_check` decides.

Requests are the worker's own (``forward``, ``backward``, ``evaluate``, ``loss``) with a ``torch``
entry in the header (``differentiated``: the positions of the arguments autograd differentiates), so
that :func:`mathnn.gradcheck.homework.check_pair` checks a PyTorch function exactly as it checks a
numpy pair: ``forward`` keeps the output tensors and the inputs in a slot, ``backward`` answers
``torch.autograd.grad`` of them. ``probe`` calls the function once under given conditions (a default
dtype, a device) and answers what happened.

Standalone like the worker (standard library, numpy, and torch imported only when a request needs it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def prepare() -> None:
    """Import torch and run autograd once, before the sandbox's limits and before it drops privileges."""
    import torch

    torch.set_num_threads(1)  # the sandbox's process budget; BLAS threads are set to 1 in its environment too
    probe = torch.ones(2, dtype=torch.float64, requires_grad=True)
    (probe * probe).sum().backward()
    torch.zeros(2, device="meta") + torch.zeros(2, device="meta")


def _tensor(torch: Any, array: Any, grad: bool, device: str | None = None) -> Any:
    if array.dtype.kind == "c":  # autograd and the student's code are real: refused, the checker uses real differences
        raise TypeError("a PyTorch function is checked at real points only")
    value = torch.from_numpy(array.copy())
    if device is not None:
        value = value.to(device)
    if grad and value.is_floating_point():
        value.requires_grad_(True)
    return value


def _to_tensors(torch: Any, arguments: list, differentiated: list, device: str | None = None) -> list:
    import numpy as np

    return [_tensor(torch, value, index in differentiated, device) if isinstance(value, np.ndarray) else value
            for index, value in enumerate(arguments)]


def _array(value: Any) -> Any:
    """A tensor's numbers as a numpy array (detached, on the CPU); anything else through np.asarray."""
    import numpy as np
    import torch

    if isinstance(value, torch.Tensor):
        return value.detach().cpu().resolve_conj().numpy().copy()
    return np.asarray(value)


def _outputs(returned: Any, count: int) -> list | None:
    """The output tensors of a call: one tensor, or a tuple or list of ``count``; None for anything else."""
    import torch

    values = [returned] if count == 1 and not isinstance(returned, (tuple, list)) else returned
    if not isinstance(values, (tuple, list)) or len(values) != count:
        return None
    if not all(isinstance(value, torch.Tensor) for value in values):
        return None
    return list(values)


def _after(arguments: list) -> list:
    """The array arguments after a call (a tensor changed in place shows here)."""
    import torch

    return [_array(value) for value in arguments if isinstance(value, torch.Tensor)]


def _side(outputs: list) -> Any:
    import numpy as np

    arrays = [_array(value) for value in outputs]
    if len(arrays) == 1:
        return arrays[0]
    if len({array.shape[:-1] for array in arrays}) != 1 or any(array.ndim == 0 for array in arrays):
        raise ValueError(f"outputs of shapes {[array.shape for array in arrays]} cannot be compared side by side")
    return np.concatenate(arrays, axis=-1)


def _gradients(torch: Any, outputs: list, inputs: list, upstream: list) -> list:
    """autograd's gradient of Σ upstream·outputs for each input; zeros where the graph does not reach it."""
    connected = [(output, up) for output, up in zip(outputs, upstream) if output.requires_grad]
    found: list = [None] * len(inputs)
    if connected:
        found = list(torch.autograd.grad([pair[0] for pair in connected], inputs,
                                         grad_outputs=[pair[1] for pair in connected], allow_unused=True))
    return [torch.zeros_like(value) if grad is None else grad for value, grad in zip(inputs, found)]


def handle(worker: Any, header: dict, arrays: list, details: Callable[[BaseException], dict]) -> tuple[dict, list]:
    """Answer one request for a PyTorch function (the worker passes it here when the header has ``torch``).

    ``details(error)`` describes an exception of the student's code as the worker does.
    """
    import numpy as np
    import torch

    op, settings = header.get("op"), header["torch"]
    differentiated = list(settings.get("differentiated", []))
    function: Any = getattr(worker.module, header.get("function", ""), None)
    count = header.get("outputs", 1)
    if op == "forward":
        arguments = _to_tensors(torch, worker._arguments(header["arguments"], arrays), differentiated)
        returned = function(*arguments)
        outputs = _outputs(returned, count)
        if outputs is None:
            return {"wrong": worker.describe(returned)}, []
        worker.slots[header["slot"]] = (outputs, arguments)
        return {}, [_side(outputs), *_after(arguments)]
    if op == "backward":
        outputs, arguments = worker.slots.pop(header["slot"])
        dout = arrays[0].copy()
        pieces = [dout] if len(outputs) == 1 else np.split(dout, len(outputs), axis=-1)
        upstream = [torch.from_numpy(piece.copy()).to(output.dtype) for piece, output in zip(pieces, outputs)]
        inputs = [arguments[index] for index in differentiated]
        grads = _gradients(torch, outputs, inputs, upstream)
        sent = [_array(grad) for grad in grads]
        return ({"gradients": [{"array": index} for index in range(len(sent))], "after": len(sent)},
                [*sent, dout, *_after(arguments)])
    if op == "evaluate":
        return _evaluate(worker, torch, function, header, arrays, details)
    if op == "loss":
        arguments = _to_tensors(torch, worker._arguments(header["arguments"], arrays), differentiated)
        returned = function(*arguments)
        if not isinstance(returned, torch.Tensor):
            return {"wrong": worker.describe(returned)}, []
        (gradient,) = _gradients(torch, [returned], [arguments[differentiated[0]]], [torch.ones_like(returned)])
        return {"loss": {"array": 0}, "gradient": {"array": 1}, "after": 2}, [
            _array(returned), _array(gradient), *_after(arguments)]
    if op == "probe":
        return probe(worker, torch, function, header, arrays, details)
    raise ValueError(f"unknown request {op!r} for a PyTorch function")


def _evaluate(worker: Any, torch: Any, function: Any, header: dict, arrays: list,
              details: Callable[[BaseException], dict]) -> tuple[dict, list]:
    """Many forward outputs, each with argument ``position`` replaced by one point (no autograd needed)."""
    count = header.get("outputs", 1)

    def output(arguments: list) -> Any:
        returned = function(*_to_tensors(torch, arguments, []))
        found = _outputs(returned, count) if count > 1 else [returned[0] if isinstance(
            returned, (tuple, list)) else returned]
        if found is None:
            raise TypeError(f"{header['function']} returned {worker.describe(returned)}")
        out = _side(found)
        if out.dtype.kind not in "fiu":
            raise TypeError(f"{header['function']} returned out of dtype {out.dtype}")
        return out

    return worker.evaluate_points(header, arrays, output, details)


def _facts_of_error(details: Callable[[BaseException], dict], error: BaseException) -> dict:
    facts = details(error)
    facts["runtime"] = isinstance(error, RuntimeError)
    return facts


def probe(worker: Any, torch: Any, function: Any, header: dict, arrays: list,
          details: Callable[[BaseException], dict]) -> tuple[dict, list]:
    """Call the function once under the header's conditions and say what happened, without judging it.

    Header: ``arguments``, ``outputs`` (count), ``torch``: ``differentiated``, ``default_dtype``
    ('float32' or 'float64', set while the function runs), ``device`` (None, 'meta' or 'cuda': the
    inputs are moved there), ``upstream`` (indices of one array per output, or None for a loss:
    the gradient of the loss itself). Answer: ``returned`` ('tensors' or a description), ``dtypes``,
    ``devices``, ``graph`` (per output: requires grad), ``changed`` (positions of inputs changed in
    place), ``error`` (the call raised; ``retry`` then says whether it runs with inputs that do
    not require grad), ``backward_error``; arrays: the outputs, then one gradient per differentiated
    input (zeros where the graph does not reach it), on the CPU.
    """
    settings = header["torch"]
    differentiated = list(settings.get("differentiated", []))
    device = settings.get("device")
    if device == "second":  # another device than the CPU: a GPU where there is one, else the meta device
        device = "cuda" if torch.cuda.is_available() else "meta"
    count = header.get("outputs", 1)
    plain = worker._arguments(header["arguments"], arrays)
    arguments = _to_tensors(torch, plain, differentiated, device)
    versions = [value._version if isinstance(value, torch.Tensor) else None for value in arguments]
    previous = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, settings.get("default_dtype", "float32")))
    try:
        try:
            returned = function(*arguments)
        except Exception as error:  # noqa: BLE001 - described; a retry without grad tells what autograd refused
            failed: dict[str, Any] = {"error": _facts_of_error(details, error), "device": device}
            again = _to_tensors(torch, plain, [], device)
            before = [value._version if isinstance(value, torch.Tensor) else None for value in again]
            try:
                function(*again)
            except Exception:  # noqa: BLE001 - fails without autograd too
                failed["retry"] = False
            else:
                failed["retry"] = True
                failed["changed"] = [index for index, value in enumerate(again)
                                     if isinstance(value, torch.Tensor) and value._version != before[index]]
            return failed, []
        changed = [index for index, value in enumerate(arguments)
                   if isinstance(value, torch.Tensor) and value._version != versions[index]]
        outputs = _outputs(returned, count)
        if outputs is None:  # (None, None) is the starter code's `return next_h, next_c`: said as None
            unfinished = isinstance(returned, (tuple, list)) and bool(returned) and all(item is None for item in returned)
            return {"returned": worker.describe(None if unfinished else returned), "changed": changed, "device": device}, []
        answer: dict[str, Any] = {
            "returned": "tensors", "changed": changed, "device": device, "dtypes": [str(value.dtype).removeprefix("torch.")
                                                                for value in outputs],
            "devices": [value.device.type for value in outputs], "graph": [bool(value.requires_grad) for value in outputs],
        }
        if device == "meta":
            return answer, []
        upstream_indices = settings.get("upstream")
        if upstream_indices is None:
            upstream = [torch.ones_like(value) for value in outputs]
        else:
            upstream = [torch.from_numpy(arrays[index].copy()).to(value.dtype).to(value.device)
                        for index, value in zip(upstream_indices, outputs)]
        inputs = [arguments[index] for index in differentiated]
        try:
            grads = _gradients(torch, outputs, inputs, upstream)
        except RuntimeError as error:
            answer["backward_error"] = _facts_of_error(details, error)
            return answer, [_array(value) for value in outputs]
        answer["reached"] = [bool(torch.count_nonzero(grad)) for grad in grads]
        return answer, [*(_array(value) for value in outputs), *(_array(grad) for grad in grads)]
    finally:
        torch.set_default_dtype(previous)
