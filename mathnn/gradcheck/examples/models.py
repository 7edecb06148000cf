"""Example CS231n model files in a ``cs231n/`` package, as students have them: correct, and with a classic bug.

:func:`model_package` writes ``cs231n/__init__.py``, ``cs231n/layers.py`` (``correct.py``, every layer),
``cs231n/classifiers/__init__.py`` and ``cs231n/classifiers/fc_net.py`` into a temporary folder and
returns the path of ``fc_net.py``, which imports its layers from ``..layers`` as the assignment's does.
``mathnn check`` on it checks ``TwoLayerNet`` and ``FullyConnectedNet`` (without normalization, with
batch norm, with layer norm and with dropout):

=========  ==========================================================================================
correct    every model passes
buggy      TwoLayerNet's grads['W2'] lacks reg·W2: it fails on W2 only; FullyConnectedNet's backward
           skips dropout_backward: its dropout setup fails, its other setups pass
=========  ==========================================================================================
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from pathlib import Path

from ...errors import InputError

__all__ = ["MODEL_EXAMPLES", "model_package"]

FC_NET = '''"""Two-layer and fully connected classifiers, written as CS231n's assignment 2 asks."""

import numpy as np

from ..layers import (
    affine_backward, affine_forward, batchnorm_backward, batchnorm_forward, dropout_backward, dropout_forward,
    layernorm_backward, layernorm_forward, relu_backward, relu_forward, softmax_loss,
)


class TwoLayerNet(object):
    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10, weight_scale=1e-3, reg=0.0):
        self.params = {}
        self.reg = reg
        self.params["W1"] = weight_scale * np.random.randn(input_dim, hidden_dim)
        self.params["b1"] = np.zeros(hidden_dim)
        self.params["W2"] = weight_scale * np.random.randn(hidden_dim, num_classes)
        self.params["b2"] = np.zeros(num_classes)

    def loss(self, X, y=None):
        W1, b1, W2, b2 = self.params["W1"], self.params["b1"], self.params["W2"], self.params["b2"]
        hidden, cache_hidden = affine_forward(X, W1, b1)
        hidden, cache_relu = relu_forward(hidden)
        scores, cache_scores = affine_forward(hidden, W2, b2)
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        loss += 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        grads = {}
        dhidden, grads["W2"], grads["b2"] = affine_backward(dscores, cache_scores)
        grads["W2"] += self.reg * W2
        dhidden = relu_backward(dhidden, cache_relu)
        _, grads["W1"], grads["b1"] = affine_backward(dhidden, cache_hidden)
        grads["W1"] += self.reg * W1
        return loss, grads


class FullyConnectedNet(object):
    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout_keep_ratio=1,
                 normalization=None, reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None):
        self.normalization = normalization
        self.use_dropout = dropout_keep_ratio != 1
        self.reg = reg
        self.num_layers = 1 + len(hidden_dims)
        self.dtype = dtype
        self.params = {}
        dims = [input_dim] + list(hidden_dims) + [num_classes]
        for i in range(self.num_layers):
            self.params["W%d" % (i + 1)] = weight_scale * np.random.randn(dims[i], dims[i + 1])
            self.params["b%d" % (i + 1)] = np.zeros(dims[i + 1])
            if normalization is not None and i < self.num_layers - 1:
                self.params["gamma%d" % (i + 1)] = np.ones(dims[i + 1])
                self.params["beta%d" % (i + 1)] = np.zeros(dims[i + 1])
        self.dropout_param = {}
        if self.use_dropout:
            self.dropout_param = {"mode": "train", "p": dropout_keep_ratio}
            if seed is not None:
                self.dropout_param["seed"] = seed
        self.bn_params = [{"mode": "train"} for _ in range(self.num_layers - 1)]
        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, X, y=None):
        X = X.astype(self.dtype)
        mode = "test" if y is None else "train"
        self.dropout_param["mode"] = mode
        for bn_param in self.bn_params:
            bn_param["mode"] = mode
        out = X.reshape(X.shape[0], -1)
        caches = []
        for i in range(1, self.num_layers):
            out, cache_affine = affine_forward(out, self.params["W%d" % i], self.params["b%d" % i])
            cache_norm = None
            if self.normalization == "batchnorm":
                out, cache_norm = batchnorm_forward(out, self.params["gamma%d" % i], self.params["beta%d" % i],
                                                    self.bn_params[i - 1])
            elif self.normalization == "layernorm":
                out, cache_norm = layernorm_forward(out, self.params["gamma%d" % i], self.params["beta%d" % i], {})
            out, cache_relu = relu_forward(out)
            cache_dropout = None
            if self.use_dropout:
                out, cache_dropout = dropout_forward(out, self.dropout_param)
            caches.append((cache_affine, cache_norm, cache_relu, cache_dropout))
        last = self.num_layers
        scores, cache_scores = affine_forward(out, self.params["W%d" % last], self.params["b%d" % last])
        if mode == "test":
            return scores
        loss, dscores = softmax_loss(scores, y)
        grads = {}
        dout, grads["W%d" % last], grads["b%d" % last] = affine_backward(dscores, cache_scores)
        for i in range(self.num_layers - 1, 0, -1):
            cache_affine, cache_norm, cache_relu, cache_dropout = caches[i - 1]
            if self.use_dropout:
                dout = dropout_backward(dout, cache_dropout)
            dout = relu_backward(dout, cache_relu)
            if self.normalization == "batchnorm":
                dout, grads["gamma%d" % i], grads["beta%d" % i] = batchnorm_backward(dout, cache_norm)
            elif self.normalization == "layernorm":
                dout, grads["gamma%d" % i], grads["beta%d" % i] = layernorm_backward(dout, cache_norm)
            dout, grads["W%d" % i], grads["b%d" % i] = affine_backward(dout, cache_affine)
        for i in range(1, self.num_layers + 1):
            W = self.params["W%d" % i]
            loss += 0.5 * self.reg * np.sum(W * W)
            grads["W%d" % i] += self.reg * W
        return loss, grads
'''

#: The example model files: name -> (what it is, the lines the bug changes in the correct fc_net.py).
MODEL_EXAMPLES: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "correct": ("every model correct", ()),
    "buggy": ("TwoLayerNet without the regularisation gradient of W2; FullyConnectedNet whose backward pass "
              "skips the dropout mask",
              (('        grads["W2"] += self.reg * W2\n', ""),
               ("                dout = dropout_backward(dout, cache_dropout)\n",
                "                pass  # BUG: dout = dropout_backward(dout, cache_dropout)\n"))),
}

_folders: list[Path] = []
_lock = threading.Lock()


def model_package(name: str = "correct") -> Path:
    """Write the example ``name`` as a ``cs231n/`` package (once per process); the path of its ``fc_net.py``.

    Raises
    ------
    InputError
        For a name that is not one of :data:`MODEL_EXAMPLES`.
    """
    if name not in MODEL_EXAMPLES:
        raise InputError(f"name: expected one of {', '.join(MODEL_EXAMPLES)}; received {name!r}")
    with _lock:
        if not _folders:
            folder = Path(tempfile.mkdtemp(prefix="mathnn-models-"))
            atexit.register(shutil.rmtree, folder, True)
            _folders.append(folder)
        package = _folders[0] / name / "cs231n"
        fc_net = package / "classifiers" / "fc_net.py"
        if not fc_net.exists():
            source = FC_NET
            for old, new in MODEL_EXAMPLES[name][1]:
                if source.count(old) != 1:
                    raise RuntimeError(f"model example {name}: the line {old!r} occurs {source.count(old)} times")
                source = source.replace(old, new)
            fc_net.parent.mkdir(parents=True)
            (package / "__init__.py").write_text("")
            (package / "classifiers" / "__init__.py").write_text("")
            layers = Path(__file__).with_name("correct.py").read_text(encoding="utf-8")
            (package / "layers.py").write_text(layers, encoding="utf-8")
            fc_net.write_text(source, encoding="utf-8")
        return fc_net
