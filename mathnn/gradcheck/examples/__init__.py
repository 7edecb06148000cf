"""Example CS231n homework files shipped with mathnn: correct ones, and one classic bug per file.

The correct files are shipped as they are; each buggy one is *declared* in :data:`MISTAKES` as the
layers it is about, taken from ``correct.py``, with the lines the bug changes, and written out on
first use. ``mathnn check`` passes the correct ones and, for each buggy one, fails the function (and
names the gradient) that the bug breaks:

=========================  ===============================================================
correct                    every layer and loss, plainly in numpy, caches as tuples: passes
correct_float32            every layer and loss computed in float32: passes with float32's pass marks
correct_dict_cache         affine, batchnorm, rnn_step, rnn with dict caches: passes
relu_kink                  a correct ReLU checked at exact zeros (its kink): passes
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

The folder ``pytorch/`` (:data:`PYTORCH`) holds PyTorch homework, forward passes only, checked by
:mod:`mathnn.gradcheck.torch_check`: ``rnn_layers_pytorch.py`` (every function, correct: passes in
float32 and float64), ``loops.py`` (Python loops where a broadcast would do, ``+=`` into the
function's own tensor: passes), and one file
per PyTorch bug, each named by ``mathnn check``: ``graph_detach``, ``graph_numpy``, ``graph_item``,
``graph_no_grad``, ``graph_data`` (the graph broken), ``inplace_saved`` and ``inplace_input`` (an
in-place operation on a tensor autograd saved, or on an input), ``fresh_tensor`` (a result created with requires_grad=True and filled in
place), ``dtype_default`` and ``device_cpu`` (a created tensor that does not follow the inputs).

Examples
--------
>>> from mathnn.gradcheck.examples import example_path
>>> example_path("bn_missing_mean_path").name
'bn_missing_mean_path.py'
"""

from __future__ import annotations

import ast
import atexit
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from ...errors import InputError
from ..torch_source import PARSE_LOCK

__all__ = ["EXAMPLES", "MISTAKES", "PYTORCH", "Mistake", "example_path"]

_HERE = Path(__file__).resolve().parent
#: The PyTorch homework examples (shipped as they are).
PYTORCH = _HERE / "pytorch"

_BATCHNORM = ("batchnorm_forward", "batchnorm_backward")
_RNN = ("rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward")
_CONV = ("conv_forward_naive", "conv_backward_naive")


@dataclass(frozen=True)
class Mistake:
    """A classic bug as data: functions of a correct example with some of their lines changed.

    ``changes`` pairs a line of the base example (stripped of indentation; it must occur exactly once
    in the chosen functions) with the line(s) the bug puts in its place, at the same indentation.
    """

    summary: str
    functions: tuple[str, ...]
    changes: tuple[tuple[str, str], ...]
    base: str = "correct"


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
        (("dx_t, dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t, :] + dprev_h, cache[t])",
          "# BUG: the upstream gradient of step t is dh[:, t, :] + dprev_h from step t + 1\n"
          "dx_t, dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t, :], cache[t])"),),
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
}

#: The example names, without ".py": the shipped files and the declared mistakes.
EXAMPLES: tuple[str, ...] = tuple(sorted(
    [path.stem for path in _HERE.glob("*.py") if path.stem != "__init__"] + list(MISTAKES)
))

_written: list[Path] = []
# CPython 3.11's ast.parse is not safe to run in two threads at once (a SystemError about the AST
# constructor's recursion depth), and a graders' pool asks for examples from several threads.
_lock = threading.Lock()


def _source(name: str, mistake: Mistake) -> str:
    """The buggy file: the docstring, the imports and the chosen functions of the base, with the changes."""
    base = (_HERE / f"{mistake.base}.py").read_text(encoding="utf-8")
    with PARSE_LOCK:  # also taken by the checker's own parse of a student's file
        tree = ast.parse(base)
    chosen: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            segment = ast.get_source_segment(base, node)
            assert segment is not None  # parsed from this very source, so every node has its position
            chosen[node.name] = segment
    code = "\n\n\n".join(chosen[function] for function in mistake.functions)
    for old, new in mistake.changes:
        lines = code.split("\n")
        at = [i for i, line in enumerate(lines) if line.strip() == old]
        if len(at) != 1:
            raise RuntimeError(f"example {name}: the line {old!r} occurs {len(at)} times in {mistake.base}.py, not once")
        indent = lines[at[0]][: len(lines[at[0]]) - len(lines[at[0]].lstrip())]
        lines[at[0]: at[0] + 1] = [indent + line for line in new.split("\n")]
        code = "\n".join(lines)
    return f'"""{mistake.summary}\n\nWritten from {mistake.base}.py by mathnn.gradcheck.examples.MISTAKES."""\n\n' \
           f"import numpy as np\n\n\n{code}\n"


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
        path.write_text(_source(name, MISTAKES[name]), encoding="utf-8")
    return path


def example_path(name: str) -> Path:
    """The path of the example homework file ``name`` (with or without '.py').

    A declared mistake is written to a temporary folder on first use.

    Raises
    ------
    InputError
        For a name that is not one of :data:`EXAMPLES`; the message lists them.
    """
    stem = name.removesuffix(".py")
    if stem not in EXAMPLES:
        raise InputError(f"name: expected one of {', '.join(EXAMPLES)}; received {name!r}")
    return _write(stem) if stem in MISTAKES else _HERE / f"{stem}.py"
