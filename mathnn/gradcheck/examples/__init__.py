"""Example CS231n homework files shipped with mathnn: correct ones, and one classic bug per file.

The correct files are shipped as they are, but for ``correct_float32``: :data:`FLOAT32` declares it
as ``correct.py`` with every function casting its float arrays to float32 first
(:func:`float32_source`). Each buggy one is *declared* in :data:`MISTAKES` as the functions it is
about, taken from a correct file, with the lines the bug changes. Declared files are written out on
first use (:func:`example_path`). ``mathnn check`` passes the correct ones and, for each buggy one,
fails the function (and names the gradient) that the bug breaks:

=========================  ===============================================================
correct                    every layer and loss, plainly in numpy, caches as tuples: passes
correct_float32            correct.py computed in float32: passes with float32's pass marks
correct_dict_cache         affine, batchnorm, rnn_step, rnn with dict caches: passes
relu_kink                  a correct ReLU checked at exact zeros (its kink): passes
optim                      the four update rules of optim.py (sgd, sgd_momentum, rmsprop, adam): pass
bn_missing_mean_path       batchnorm dx without the path through μ: fails on dx
bn_missing_var_path        batchnorm dx without the path through σ²: fails on dx
bn_missing_inv_n           batchnorm dx with a 1/N missing: fails on dx
bn_wrong_axis              batchnorm normalizing over axis 1: forward differs, fails on dx
bn_in_place                batchnorm_forward changes x in place (x -= mu): reported in place
rnn_no_accumulation        BPTT without the gradient from h_{t+1}: rnn fails on every gradient
rnn_dwh_transposed         dWh transposed: rnn_step and rnn fail on dWh
rnn_uses_h_t               dWh from h_t instead of h_{t−1}: rnn_step and rnn fail on dWh
conv_no_stride_backward    conv backward windows at (i, j), not (i·stride, j·stride): fails dx and dw
=========================  ===============================================================

The PyTorch homework (:data:`PYTORCH_EXAMPLES`), forward passes only, is checked by
:mod:`mathnn.gradcheck.torch_check`. The folder ``pytorch/`` (:data:`PYTORCH`) holds
``rnn_layers_pytorch.py`` (every function, correct: passes in float32 and float64), ``loops.py``
(Python loops where a broadcast would do, ``+=`` into the function's own tensor, a result filled
into a tensor made with the inputs' dtype and device: passes) and the files of the bugs that break
the graph: ``graph_detach``, ``graph_numpy``, ``graph_item``, ``graph_no_grad``, ``graph_data``.
The other PyTorch bugs are declared in :data:`MISTAKES` from those two correct files, each named by
``mathnn check``: ``inplace_saved`` and ``inplace_input`` (an in-place operation on a tensor autograd
saved, or on an input), ``fresh_tensor`` (a result created with requires_grad=True and filled in
place), ``dtype_default`` and ``device_cpu`` (a created tensor that does not follow the inputs).

The model classes of ``fc_net.py``, inside a ``cs231n/`` package, are in :mod:`.models`.

Examples
--------
>>> from mathnn.gradcheck.examples import example_path, load_example
>>> example_path("bn_missing_mean_path").name
'bn_missing_mean_path.py'
>>> import numpy as np
>>> load_example("correct_float32").affine_forward(np.ones((2, 3)), np.ones((3, 4)), np.zeros(4))[0].dtype
dtype('float32')
"""

from __future__ import annotations

import ast
import atexit
import importlib.util
import shutil
import tempfile
import threading
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from ...errors import InputError
from ..syntax import parse_source

__all__ = ["EXAMPLES", "FLOAT32", "MISTAKES", "PYTORCH", "PYTORCH_EXAMPLES", "Mistake", "example_path",
           "float32_source", "load_example"]

_HERE = Path(__file__).resolve().parent
#: The folder of the PyTorch homework shipped as it is.
PYTORCH = _HERE / "pytorch"

_BATCHNORM = ("batchnorm_forward", "batchnorm_backward")
_RNN = ("rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward")
_CONV = ("conv_forward_naive", "conv_backward_naive")


@dataclass(frozen=True)
class Mistake:
    """A classic bug as data: functions of a correct example with some of their lines changed.

    ``changes`` pairs a line of the base example (stripped of indentation; it must occur exactly once
    in the chosen functions) with the line(s) the bug puts in its place, at the same indentation.
    ``base`` names the correct file, relative to this folder and without ".py".
    """

    summary: str
    functions: tuple[str, ...]
    changes: tuple[tuple[str, str], ...]
    base: str = "correct"


#: The correct line of ``pytorch/loops.py`` that the dtype and device bugs change.
_FILLED = "h = torch.zeros(N, T, H, dtype=x.dtype, device=x.device)"

#: The buggy examples: what each gets wrong and how ``mathnn check`` must report it.
MISTAKES: dict[str, Mistake] = {
    "bn_missing_mean_path": Mistake(
        "Batch norm whose dx forgets the path through the mean μ: dx keeps the direct path x → x̂ and the\n"
        "path through the variance, but drops the term dμ/N that every x_i gets because it moved the batch\n"
        "mean. ``mathnn check`` fails batchnorm on dx; dgamma and dbeta are right.",
        _BATCHNORM,
        (("dx = dx_hat * inv_std + dvar * 2.0 * x_mu / N + dmu / N",
          "dx = dx_hat * inv_std + dvar * 2.0 * x_mu / N  # BUG: + dmu / N is missing"),),
    ),
    "bn_missing_var_path": Mistake(
        "Batch norm whose dx forgets the path through the variance σ²: x_i also moves σ², which rescales\n"
        "every x̂_j, and that term is dropped. ``mathnn check`` fails batchnorm on dx; dgamma and dbeta\n"
        "are right.",
        _BATCHNORM,
        (("dx = dx_hat * inv_std + dvar * 2.0 * x_mu / N + dmu / N",
          "dx = dx_hat * inv_std + dmu / N  # BUG: the path through the variance, dvar * 2 * x_mu / N"),),
    ),
    "bn_missing_inv_n": Mistake(
        "Batch norm whose dx forgets a 1/N: σ² = (1/N) Σ (x_i − μ)², so ∂σ²/∂x_i = 2(x_i − μ)/N, and the\n"
        "/N is lost. ``mathnn check`` fails batchnorm on dx; dgamma and dbeta are right.",
        _BATCHNORM,
        (("dx = dx_hat * inv_std + dvar * 2.0 * x_mu / N + dmu / N",
          "dx = dx_hat * inv_std + dvar * 2.0 * x_mu + dmu / N  # BUG: dvar * 2 * x_mu / N"),),
    ),
    "bn_wrong_axis": Mistake(
        "Batch norm that normalizes over axis 1 (each example across its features: that is layer norm)\n"
        "instead of axis 0; the backward pass is the batch-norm formula. ``mathnn check`` reports that the\n"
        "forward output differs from batch norm and fails dx; dgamma and dbeta are right for this forward.",
        _BATCHNORM,
        (("sample_mean = np.mean(x, axis=0)", "sample_mean = np.mean(x, axis=1, keepdims=True)  # BUG: axis=0"),
         ("sample_var = np.var(x, axis=0)  # what students write; the checker must not be fooled by it",
          "sample_var = np.var(x, axis=1, keepdims=True)  # BUG: axis=0")),
    ),
    "bn_in_place": Mistake(
        "Batch norm whose forward pass changes its input x in place: ``x -= mu`` centres the caller's own\n"
        "array. The gradients are right, but the caller's x is no longer the batch it passed. ``mathnn\n"
        "check`` fails batchnorm and reports x as modified in place.",
        _BATCHNORM,
        (("x_mu = x - sample_mean", "x -= sample_mean  # BUG: in place; write x_mu = x - sample_mean\nx_mu = x"),),
    ),
    "rnn_no_accumulation": Mistake(
        "Backpropagation through time that forgets the gradient flowing back from h_{t+1}: h_t feeds both\n"
        "the loss at step t and the next step, but each step here only sees dh[:, t]. ``mathnn check``\n"
        "passes rnn_step and fails rnn on dx, dh0, dWx, dWh and db.",
        _RNN,
        (("dx_t, dprev_h, dWx_t, dWh_t, db_t = step_backward(dh[:, t, :] + dprev_h, cache[t])",
          "# BUG: the upstream gradient of step t is dh[:, t, :] + dprev_h from step t + 1\n"
          "dx_t, dprev_h, dWx_t, dWh_t, db_t = step_backward(dh[:, t, :], cache[t])"),),
    ),
    "rnn_dwh_transposed": Mistake(
        "An RNN step whose dWh is transposed: δᵀ prev_h has the shape of prev_hᵀ δ (H, H) and so raises no\n"
        "error. ``mathnn check`` fails rnn_step and rnn on dWh only.",
        _RNN,
        (("dWh = prev_h.T.dot(dtanh)", "dWh = dtanh.T.dot(prev_h)  # BUG: prev_h.T.dot(dtanh)"),),
    ),
    "rnn_uses_h_t": Mistake(
        "An RNN step whose dWh uses h_t instead of h_{t−1}: the step multiplies the previous hidden state\n"
        "by Wh. ``mathnn check`` fails rnn_step and rnn on dWh only.",
        _RNN,
        (("dWh = prev_h.T.dot(dtanh)", "dWh = next_h.T.dot(dtanh)  # BUG: h_{t-1} is prev_h, not next_h"),),
    ),
    "conv_no_stride_backward": Mistake(
        "A naive convolution whose backward pass forgets the stride: the forward pass reads the window of\n"
        "output (i, j) at (i·stride, j·stride), the backward at (i, j). ``mathnn check`` fails conv on dx\n"
        "and dw, naming the stride in each; db is right.",
        _CONV,
        (("dw[f] += x_pad[n, :, top:top + HH, left:left + WW] * dout[n, f, i, j]",
          "dw[f] += x_pad[n, :, i:i + HH, j:j + WW] * dout[n, f, i, j]  # BUG: at (top, left)"),
         ("dx_pad[n, :, top:top + HH, left:left + WW] += w[f] * dout[n, f, i, j]",
          "dx_pad[n, :, i:i + HH, j:j + WW] += w[f] * dout[n, f, i, j]  # BUG: at (top, left)")),
    ),
    "inplace_saved": Mistake(
        "lstm_step_forward that scales tanh(next_c) in place: autograd needs the value it overwrote.\n\n"
        "``torch.tanh`` keeps its output for the backward pass (its derivative is 1 - tanh²); ``*=``\n"
        "overwrites that output, and autograd refuses to differentiate. ``mathnn check`` names the in-place\n"
        "operation and the line.",
        ("lstm_step_forward",),
        (("next_h = o * torch.tanh(next_c)",
          "next_h = torch.tanh(next_c)\n"
          "next_h *= o  # BUG: overwrites the output tanh saved; write next_h = o * torch.tanh(next_c)"),),
        "pytorch/rnn_layers_pytorch",
    ),
    "inplace_input": Mistake(
        "lstm_step_forward that updates the cell state in place: it writes into the caller's prev_c.\n\n"
        "``next_c = prev_c`` names the same tensor, not a copy, so ``next_c *= f`` overwrites the input, which\n"
        "autograd refuses for a tensor it differentiates. ``mathnn check`` names the in-place write into\n"
        "prev_c and the lines.",
        ("lstm_step_forward",),
        (("next_c = f * prev_c + i * g",
          "next_c = prev_c  # BUG: the same tensor as prev_c; write next_c = f * prev_c + i * g\n"
          "next_c *= f\n"
          "next_c += i * g"),),
        "pytorch/rnn_layers_pytorch",
    ),
    "fresh_tensor": Mistake(
        "rnn_forward that fills a tensor created with requires_grad=True: autograd refuses the first write.\n\n"
        "The result is created fresh as a leaf of the graph that requires grad, then filled step by step in\n"
        "place. ``mathnn check`` names the fresh tensor and the line that creates it.",
        ("rnn_forward",),
        ((_FILLED, "h = torch.zeros(N, T, H, dtype=x.dtype, device=x.device, requires_grad=True)"
                   "  # BUG: a leaf that requires grad"),),
        "pytorch/loops",
    ),
    "dtype_default": Mistake(
        "rnn_forward whose result takes torch's default dtype: float64 inputs give a float32 output.\n\n"
        "``torch.zeros(N, T, H)`` without ``dtype=`` is float32 whatever the inputs are; each step written\n"
        "into it is rounded to float32. ``mathnn check`` names the dtype and the line.",
        ("rnn_forward",),
        ((_FILLED, "h = torch.zeros(N, T, H, device=x.device)  # BUG: dtype=x.dtype is missing"),),
        "pytorch/loops",
    ),
    "device_cpu": Mistake(
        "rnn_forward whose result is created on the CPU: it fails as soon as its inputs live on a GPU.\n\n"
        "``torch.zeros(N, T, H, dtype=x.dtype)`` without ``device=`` is a CPU tensor, and writing a GPU step\n"
        "into it fails. On a machine without a GPU, ``mathnn check`` runs the function on PyTorch's meta\n"
        "device, which catches the same mistake, and names the line.",
        ("rnn_forward",),
        ((_FILLED, "h = torch.zeros(N, T, H, dtype=x.dtype)  # BUG: device=x.device is missing"),),
        "pytorch/loops",
    ),
}

#: Correct examples written as another with every function computing in float32
#: (:func:`float32_source`): name -> (the other, what the file says of itself).
FLOAT32: dict[str, tuple[str, str]] = {
    "correct_float32": ("correct", "A correct homework that computes in float32, as GPU code does.\n\n"
                                   "Every function converts its float arrays to float32 first, so outputs and gradients carry\n"
                                   "about 7 significant digits. The checker sees that the forward pass returns float32 even for\n"
                                   "float64 input and judges it with float32's pass marks. ``mathnn check`` passes every pair in\n"
                                   "this file."),
}


def _torch(name: str) -> bool:
    return name in MISTAKES and MISTAKES[name].base.startswith("pytorch/")


#: The numpy example names, without ".py": the shipped files and the declared ones.
EXAMPLES: tuple[str, ...] = tuple(sorted(
    [path.stem for path in _HERE.glob("*.py") if path.stem not in ("__init__", "models")]
    + [name for name in MISTAKES if not _torch(name)] + list(FLOAT32)
))
#: The PyTorch example names, without ".py": the files of :data:`PYTORCH` and the declared ones.
PYTORCH_EXAMPLES: tuple[str, ...] = tuple(sorted(
    [path.stem for path in PYTORCH.glob("*.py")] + [name for name in MISTAKES if _torch(name)]
))

_written: list[Path] = []
# a graders' pool asks for examples from several threads: each is written once
_lock = threading.Lock()


def float32_source(source: str, keep: Collection[str] = ()) -> str:
    """``source`` with each function casting its float arrays to float32 first, as GPU-minded code does.

    The cast is a line at the top of every public function but those named in ``keep`` (after its
    docstring): its float array arguments become float32; integer labels and word indices, caches,
    settings dicts and anything else are passed through. A helper ``_float32`` doing the cast is
    appended to the source.
    """
    lines = source.split("\n")
    functions = [node for node in parse_source(source).body if isinstance(node, ast.FunctionDef)]
    for node in sorted(functions, key=lambda node: -node.lineno):
        arguments = [argument.arg for argument in node.args.args if argument.arg != "cache"]
        if node.name.startswith("_") or node.name in keep or not arguments:
            continue
        body = node.body[1:] if ast.get_docstring(node) is not None and len(node.body) > 1 else node.body
        first = body[0].lineno - 1
        indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
        names = ", ".join(arguments) if len(arguments) > 1 else f"({arguments[0]},)"
        lines.insert(first, f"{indent}{names} = _float32({', '.join(arguments)})")
    cast = ("\n\ndef _float32(*values):\n"
            '    """Float arrays as float32; labels, word indices, caches and settings as they are."""\n'
            "    return [value.astype(np.float32) if isinstance(value, np.ndarray) and value.dtype.kind == 'f'\n"
            "            else value for value in values]\n")
    return "\n".join(lines).rstrip("\n") + "\n" + cast


def _written_from(summary: str, base: str, table: str, code: str) -> str:
    return f'"""{summary}\n\nWritten from {base}.py by mathnn.gradcheck.examples.{table}."""\n\n{code}\n'


def _float32_source(name: str) -> str:
    """The file ``name`` of :data:`FLOAT32`: its base, less the docstring, through :func:`float32_source`."""
    base, summary = FLOAT32[name]
    source = (_HERE / f"{base}.py").read_text(encoding="utf-8")
    first = parse_source(source).body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        assert first.end_lineno is not None  # parsed from source, so the node has its position
        source = "\n".join(source.split("\n")[first.end_lineno:])
    return _written_from(summary, base, "FLOAT32", float32_source(source.strip("\n")).rstrip("\n"))


def _mistake_source(name: str) -> str:
    """The buggy file ``name``: the imports and the chosen functions of its base, with the changes."""
    mistake = MISTAKES[name]
    base = (_HERE / f"{mistake.base}.py").read_text(encoding="utf-8")
    chosen: dict[str, str] = {}
    imports: list[str] = []
    for node in parse_source(base).body:
        segment = ast.get_source_segment(base, node)
        assert segment is not None  # parsed from this very source, so every node has its position
        if isinstance(node, ast.FunctionDef):
            chosen[node.name] = segment
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(segment)
    code = "\n\n\n".join(chosen[function] for function in mistake.functions)
    for old, new in mistake.changes:
        lines = code.split("\n")
        at = [i for i, line in enumerate(lines) if line.strip() == old]
        if len(at) != 1:
            raise RuntimeError(f"example {name}: the line {old!r} occurs {len(at)} times in {mistake.base}.py, not once")
        indent = lines[at[0]][: len(lines[at[0]]) - len(lines[at[0]].lstrip())]
        lines[at[0]: at[0] + 1] = [indent + line for line in new.split("\n")]
        code = "\n".join(lines)
    return _written_from(mistake.summary, mistake.base, "MISTAKES", "\n".join(imports) + "\n\n\n" + code)


def _write(name: str) -> Path:
    """Write the declared example ``name`` once per process into a temporary folder."""
    with _lock:
        return _write_locked(name)


def _write_locked(name: str) -> Path:
    if not _written:
        folder = Path(tempfile.mkdtemp(prefix="mathnn-examples-"))
        atexit.register(shutil.rmtree, folder, True)
        _written.append(folder)
    path = _written[0] / f"{name}.py"
    if not path.exists():
        path.write_text(_float32_source(name) if name in FLOAT32 else _mistake_source(name), encoding="utf-8")
    return path


def example_path(name: str) -> Path:
    """The path of the example homework file ``name`` (with or without '.py').

    A declared example (:data:`MISTAKES`, :data:`FLOAT32`) is written to a temporary folder on first
    use; copy it from there to keep it.

    Raises
    ------
    InputError
        For a name that is not one of :data:`EXAMPLES` or :data:`PYTORCH_EXAMPLES`; the message lists them.
    """
    stem = name.removesuffix(".py")
    if stem in MISTAKES or stem in FLOAT32:
        return _write(stem)
    if stem in EXAMPLES:
        return _HERE / f"{stem}.py"
    if stem in PYTORCH_EXAMPLES:
        return PYTORCH / f"{stem}.py"
    raise InputError(f"name: expected one of {', '.join(sorted(EXAMPLES + PYTORCH_EXAMPLES))}; received {name!r}")


def load_example(name: str) -> ModuleType:
    """The example homework file ``name`` imported as a module of its own (not in ``sys.modules``).

    Raises
    ------
    InputError
        As :func:`example_path`.
    """
    path = example_path(name)
    spec = importlib.util.spec_from_file_location(f"mathnn_example_{path.stem}", path)
    assert spec is not None and spec.loader is not None  # a .py file that exists
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
