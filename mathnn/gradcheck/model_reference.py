"""The loss of CS231n's model classes, from mathnn's reference layers: what a student's ``loss`` must return.

The model check (:mod:`mathnn.gradcheck.model`) judges each gradient against the student's *own* loss,
so a class whose loss leaves out the data (only the regularisation term, or a constant) has gradients
that agree with it. For the classes of the assignment (:data:`mathnn.gradcheck.model_file.KNOWN`) the
loss itself is fixed by the course: the notebooks compare it with hard-coded values. :func:`reference_loss`
computes it from the parameters the student's constructor made and the check's data, with the setup's
own ``reg`` (never the model's attribute, which the student sets), in CS231n's architecture:

* ``TwoLayerNet``: affine - relu - affine - softmax, plus ½·reg·(‖W1‖² + ‖W2‖²) (assignment 1's
  neural_net.py form has reg·Σ‖W‖²: its setup gives ``reg`` doubled);
* ``FullyConnectedNet``: {affine - [batch/layer norm] - relu} × (L − 1) - affine - softmax, plus
  ½·reg·Σ‖Wi‖² (no reference with dropout: the mask is the student's draw);
* ``ThreeLayerConvNet``: conv (stride 1, same padding) - relu - 2×2 max pool - affine - relu - affine -
  softmax, plus ½·reg·Σ‖Wi‖²;
* ``CaptioningRNN``: h0 = features·W_proj + b_proj, word embedding of the captions but the last word,
  an RNN or LSTM, a temporal affine to the vocabulary and the temporal softmax loss on the captions
  but the first word, <NULL> masked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = ["WIRINGS", "MissingParameter", "reference_loss"]


class MissingParameter(KeyError):
    """The student's ``params`` has no entry by a name the course's class uses."""


def _layer(name: str) -> Callable[..., Any]:
    """mathnn's reference function ``name`` (the generated ones are set on mathnn.layers when it loads)."""
    from .. import layers

    return getattr(layers, name)


def _regularisation(params: Mapping[str, np.ndarray], names: list[str], reg: float) -> float:
    return 0.5 * reg * sum(float(np.sum(params[name] * params[name])) for name in names)


def _take(params: Mapping[str, np.ndarray], name: str) -> np.ndarray:
    if name not in params:
        raise MissingParameter(name)
    return np.asarray(params[name], dtype=np.float64)


def _bias(params: Mapping[str, np.ndarray], name: str) -> np.ndarray:
    """An affine layer's bias; one kept as a row (1, M), as np.zeros((1, hidden_size)) makes it, is the same
    bias (it broadcasts over the rows alike), taken as (M,)."""
    b = _take(params, name)
    return b.reshape(-1) if b.ndim == 2 and b.shape[0] == 1 else b


#: The ways a student's network may be wired other than the course's (:func:`reference_loss`'s ``wiring``):
#: its hidden ReLUs left out, or a ReLU put on the scores too.
WIRINGS = ("no hidden relu", "relu on scores")


def _relu(h: np.ndarray, wiring: str | None, last: bool) -> np.ndarray:
    """h after the ReLU the course's network has there (after a hidden layer), or the one ``wiring`` puts."""
    from .. import layers as L

    wanted = wiring == "relu on scores" if last else wiring != "no hidden relu"
    return L.relu_forward(h)[0] if wanted else h


def _classifier(params: Mapping[str, np.ndarray], X: np.ndarray, y: np.ndarray, layers: int, reg: float,
                normalization: str | None, wiring: str | None = None) -> float:
    from .. import layers as L

    h = X.reshape(X.shape[0], -1)
    weights = []
    for number in range(1, layers + 1):
        W, b = _take(params, f"W{number}"), _bias(params, f"b{number}")
        weights.append(f"W{number}")
        h, _ = L.affine_forward(h, W, b)
        if number == layers:
            h = _relu(h, wiring, last=True)
            break
        if normalization == "batchnorm":
            h, _ = L.batchnorm_forward(h, _take(params, f"gamma{number}"), _take(params, f"beta{number}"),
                                       {"mode": "train"})
        elif normalization == "layernorm":
            h, _ = _layer("layernorm_forward")(h, _take(params, f"gamma{number}"), _take(params, f"beta{number}"), {})
        h = _relu(h, wiring, last=False)
    loss, _ = L.softmax_loss(h, y)
    return float(loss) + _regularisation({name: _take(params, name) for name in weights}, weights, reg)


def _convnet(params: Mapping[str, np.ndarray], X: np.ndarray, y: np.ndarray, reg: float,
             wiring: str | None = None) -> float:
    from .. import layers as L

    W1 = _take(params, "W1")
    h, _ = _layer("conv_forward_naive")(X, W1, _take(params, "b1"), {"stride": 1, "pad": (W1.shape[2] - 1) // 2})
    h = _relu(h, wiring, last=False)
    h, _ = _layer("max_pool_forward_naive")(h, {"pool_height": 2, "pool_width": 2, "stride": 2})
    h, _ = L.affine_forward(h.reshape(h.shape[0], -1), _take(params, "W2"), _take(params, "b2"))
    h = _relu(h, wiring, last=False)
    scores, _ = L.affine_forward(h, _take(params, "W3"), _take(params, "b3"))
    scores = _relu(scores, wiring, last=True)
    loss, _ = L.softmax_loss(scores, y)
    names = ["W1", "W2", "W3"]
    return float(loss) + _regularisation({name: _take(params, name) for name in names}, names, reg)


def _captioning(params: Mapping[str, np.ndarray], features: np.ndarray, captions: np.ndarray, cell: str,
                null: int) -> float:
    from .. import layers as L

    captions_in, captions_out = captions[:, :-1], captions[:, 1:]
    h0 = features @ _take(params, "W_proj") + _take(params, "b_proj")
    x = _take(params, "W_embed")[captions_in]
    step = _layer("lstm_forward") if cell == "lstm" else L.rnn_forward
    h, _ = step(x, h0, _take(params, "Wx"), _take(params, "Wh"), _take(params, "b"))
    scores, _ = L.temporal_affine_forward(h, _take(params, "W_vocab"), _take(params, "b_vocab"))
    loss, _ = L.temporal_softmax_loss(scores, captions_out, captions_out != null)
    return float(loss)


def reference_loss(name: str, arguments: Mapping[str, Any], params: Mapping[str, np.ndarray], X: np.ndarray,
                   y: np.ndarray, wiring: str | None = None) -> float | None:
    """CS231n's loss of class ``name`` built with ``arguments`` (a setup's), at ``params`` and (X, y).

    None when there is no reference for that setup (dropout: the mask is the student's own draw) or
    ``name`` is not a class of the assignment. Raises :class:`MissingParameter` for a parameter the
    course's class has and ``params`` lacks, ValueError (numpy's) for one of another shape. ``wiring``
    (one of :data:`WIRINGS`) gives the loss of the classifiers wired that other way instead, to name a
    student's mistake.
    """
    reg = float(arguments.get("reg", 0.0))
    if name == "TwoLayerNet":
        return _classifier(params, X, y, 2, reg, None, wiring)
    if name == "FullyConnectedNet":
        if "dropout" in arguments:
            return None
        normalization = next(iter(arguments["normalization"]["one_of"].values())) \
            if "normalization" in arguments else None
        return _classifier(params, X, y, len(arguments["hidden_dims"]) + 1, reg, normalization, wiring)
    if name == "ThreeLayerConvNet":
        return _convnet(params, X, y, reg, wiring)
    if wiring is not None:
        return None
    if name == "CaptioningRNN":
        return _captioning(params, X, y, str(arguments["cell_type"]), int(arguments["word_to_idx"]["<NULL>"]))
    return None
