"""Example CS231n model files in a ``cs231n/`` package, as students have them: correct, and with a classic bug.

:func:`model_package` writes ``cs231n/__init__.py``, ``cs231n/layers.py`` (``correct.py``, every layer),
``cs231n/layer_utils.py`` (affine–ReLU and conv–ReLU–pool, the layers the classifiers use together),
``cs231n/classifiers/__init__.py`` and the classifiers ``fc_net.py``, ``cnn.py`` and ``rnn.py`` into a
temporary folder and returns the path of one of them; each imports its layers from ``..layers`` and
``..layer_utils`` as the assignments' do. ``mathnn check`` on ``fc_net.py`` checks ``TwoLayerNet``
and ``FullyConnectedNet`` (without normalization, with batch norm, with layer norm and with dropout),
on ``cnn.py`` ``ThreeLayerConvNet``, on ``rnn.py`` ``CaptioningRNN`` (with an RNN and with an LSTM
cell):

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

__all__ = ["MODEL_EXAMPLES", "SOURCES", "model_package"]

FC_NET = '''"""Two-layer and fully connected classifiers, written as CS231n's assignment 2 asks."""

import numpy as np

from ..layer_utils import affine_relu_backward, affine_relu_forward
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
        hidden, cache_hidden = affine_relu_forward(X, W1, b1)
        scores, cache_scores = affine_forward(hidden, W2, b2)
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        loss += 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        grads = {}
        dhidden, grads["W2"], grads["b2"] = affine_backward(dscores, cache_scores)
        grads["W2"] += self.reg * W2
        _, grads["W1"], grads["b1"] = affine_relu_backward(dhidden, cache_hidden)
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

CNN = '''"""A three-layer convolutional network, written as CS231n's assignment 2 asks."""

import numpy as np

from ..layer_utils import affine_relu_backward, affine_relu_forward, conv_relu_pool_backward, conv_relu_pool_forward
from ..layers import affine_backward, affine_forward, softmax_loss


class ThreeLayerConvNet(object):
    """conv - relu - 2x2 max pool - affine - relu - affine - softmax."""

    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100, num_classes=10,
                 weight_scale=1e-3, reg=0.0, dtype=np.float32):
        C, H, W = input_dim
        self.reg = reg
        self.dtype = dtype
        self.params = {
            "W1": weight_scale * np.random.randn(num_filters, C, filter_size, filter_size),
            "b1": np.zeros(num_filters),
            "W2": weight_scale * np.random.randn(num_filters * (H // 2) * (W // 2), hidden_dim),
            "b2": np.zeros(hidden_dim),
            "W3": weight_scale * np.random.randn(hidden_dim, num_classes),
            "b3": np.zeros(num_classes),
        }
        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, X, y=None):
        W1, b1, W2, b2, W3, b3 = (self.params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
        conv_param = {"stride": 1, "pad": (W1.shape[2] - 1) // 2}
        pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
        p, pool_cache = conv_relu_pool_forward(X, W1, b1, conv_param, pool_param)
        h, hidden_cache = affine_relu_forward(p, W2, b2)
        scores, scores_cache = affine_forward(h, W3, b3)
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        loss += 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2) + np.sum(W3 * W3))
        grads = {}
        dh, grads["W3"], grads["b3"] = affine_backward(dscores, scores_cache)
        dp, grads["W2"], grads["b2"] = affine_relu_backward(dh, hidden_cache)
        _, grads["W1"], grads["b1"] = conv_relu_pool_backward(dp, pool_cache)
        for k in ("W1", "W2", "W3"):
            grads[k] += self.reg * self.params[k]
        return loss, grads
'''

RNN = '''"""An image-captioning RNN, written as CS231n's assignment 3 asks."""

import numpy as np

from ..layers import (
    affine_backward, affine_forward, lstm_backward, lstm_forward, rnn_backward, rnn_forward,
    temporal_affine_backward, temporal_affine_forward, temporal_softmax_loss, word_embedding_backward,
    word_embedding_forward,
)


class CaptioningRNN(object):
    """Image features set h0; the caption's words go in one step at a time; each step scores the next word."""

    def __init__(self, word_to_idx, input_dim=512, wordvec_dim=128, hidden_dim=128, cell_type="rnn",
                 dtype=np.float32):
        if cell_type not in ("rnn", "lstm"):
            raise ValueError("Invalid cell_type %s" % cell_type)
        self.cell_type = cell_type
        self.dtype = dtype
        self.word_to_idx = word_to_idx
        self._null = word_to_idx["<NULL>"]
        vocab_size = len(word_to_idx)
        gates = 4 if cell_type == "lstm" else 1
        self.params = {
            "W_embed": np.random.randn(vocab_size, wordvec_dim) / 100,
            "W_proj": np.random.randn(input_dim, hidden_dim) / np.sqrt(input_dim),
            "b_proj": np.zeros(hidden_dim),
            "Wx": np.random.randn(wordvec_dim, gates * hidden_dim) / np.sqrt(wordvec_dim),
            "Wh": np.random.randn(hidden_dim, gates * hidden_dim) / np.sqrt(hidden_dim),
            "b": np.zeros(gates * hidden_dim),
            "W_vocab": np.random.randn(hidden_dim, vocab_size) / np.sqrt(hidden_dim),
            "b_vocab": np.zeros(vocab_size),
        }
        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, features, captions):
        captions_in, captions_out = captions[:, :-1], captions[:, 1:]
        mask = captions_out != self._null
        p = self.params
        h0, proj_cache = affine_forward(features, p["W_proj"], p["b_proj"])
        x, embed_cache = word_embedding_forward(captions_in, p["W_embed"])
        if self.cell_type == "rnn":
            h, cell_cache = rnn_forward(x, h0, p["Wx"], p["Wh"], p["b"])
        else:
            h, cell_cache = lstm_forward(x, h0, p["Wx"], p["Wh"], p["b"])
        scores, vocab_cache = temporal_affine_forward(h, p["W_vocab"], p["b_vocab"])
        loss, dscores = temporal_softmax_loss(scores, captions_out, mask)
        grads = {}
        dh, grads["W_vocab"], grads["b_vocab"] = temporal_affine_backward(dscores, vocab_cache)
        if self.cell_type == "rnn":
            dx, dh0, grads["Wx"], grads["Wh"], grads["b"] = rnn_backward(dh, cell_cache)
        else:
            dx, dh0, grads["Wx"], grads["Wh"], grads["b"] = lstm_backward(dh, cell_cache)
        grads["W_embed"] = word_embedding_backward(dx, embed_cache)
        _, grads["W_proj"], grads["b_proj"] = affine_backward(dh0, proj_cache)
        return loss, grads
'''

LAYER_UTILS = '''"""Layers that the classifiers use together, as CS231n's layer_utils.py has them."""

from .layers import (
    affine_backward, affine_forward, conv_backward_naive, conv_forward_naive, max_pool_backward_naive,
    max_pool_forward_naive, relu_backward, relu_forward,
)


def affine_relu_forward(x, w, b):
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    fc_cache, relu_cache = cache
    return affine_backward(relu_backward(dout, relu_cache), fc_cache)


def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    a, conv_cache = conv_forward_naive(x, w, b, conv_param)
    r, relu_cache = relu_forward(a)
    out, pool_cache = max_pool_forward_naive(r, pool_param)
    return out, (conv_cache, relu_cache, pool_cache)


def conv_relu_pool_backward(dout, cache):
    conv_cache, relu_cache, pool_cache = cache
    return conv_backward_naive(relu_backward(max_pool_backward_naive(dout, pool_cache), relu_cache), conv_cache)
'''

#: The model files of the package, by file name: their source.
SOURCES = {"fc_net.py": FC_NET, "cnn.py": CNN, "rnn.py": RNN}

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


def model_package(name: str = "correct", file: str = "fc_net.py") -> Path:
    """Write the example ``name`` as a ``cs231n/`` package (once per process); the path of its ``file``.

    ``file`` is one of :data:`SOURCES`: ``fc_net.py`` (where the buggy example's bugs are), ``cnn.py``
    or ``rnn.py`` (correct in every example).

    Raises
    ------
    InputError
        For a name that is not one of :data:`MODEL_EXAMPLES`, or a file not in :data:`SOURCES`.
    """
    if name not in MODEL_EXAMPLES:
        raise InputError(f"name: expected one of {', '.join(MODEL_EXAMPLES)}; received {name!r}")
    if file not in SOURCES:
        raise InputError(f"file: expected one of {', '.join(SOURCES)}; received {file!r}")
    with _lock:
        if not _folders:
            folder = Path(tempfile.mkdtemp(prefix="mathnn-models-"))
            atexit.register(shutil.rmtree, folder, True)
            _folders.append(folder)
        package = _folders[0] / name / "cs231n"
        classifiers = package / "classifiers"
        if not (classifiers / "fc_net.py").exists():
            source = FC_NET
            for old, new in MODEL_EXAMPLES[name][1]:
                if source.count(old) != 1:
                    raise RuntimeError(f"model example {name}: the line {old!r} occurs {source.count(old)} times")
                source = source.replace(old, new)
            classifiers.mkdir(parents=True)
            (package / "__init__.py").write_text("")
            (classifiers / "__init__.py").write_text("")
            layers = Path(__file__).with_name("correct.py").read_text(encoding="utf-8")
            (package / "layers.py").write_text(layers, encoding="utf-8")
            (package / "layer_utils.py").write_text(LAYER_UTILS, encoding="utf-8")
            for other, text in SOURCES.items():
                (classifiers / other).write_text(source if other == "fc_net.py" else text, encoding="utf-8")
        return classifiers / file
