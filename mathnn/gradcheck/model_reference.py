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
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["COURSES", "WIRINGS", "Course", "MissingParameter", "reference_loss"]


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


Arguments = Mapping[str, Any]
Params = Mapping[str, np.ndarray]


def _two_layer(arguments: Arguments, params: Params, X: np.ndarray, y: np.ndarray, wiring: str | None) -> float:
    return _classifier(params, X, y, 2, float(arguments.get("reg", 0.0)), None, wiring)


def _fully_connected(arguments: Arguments, params: Params, X: np.ndarray, y: np.ndarray,
                     wiring: str | None) -> float | None:
    if "dropout" in arguments:  # the mask is the student's own draw
        return None
    normalization = next(iter(arguments["normalization"]["one_of"].values())) if "normalization" in arguments else None
    return _classifier(params, X, y, len(arguments["hidden_dims"]) + 1, float(arguments.get("reg", 0.0)),
                       normalization, wiring)


def _three_layer_convnet(arguments: Arguments, params: Params, X: np.ndarray, y: np.ndarray,
                         wiring: str | None) -> float:
    return _convnet(params, X, y, float(arguments.get("reg", 0.0)), wiring)


def _captioning_rnn(arguments: Arguments, params: Params, features: np.ndarray, captions: np.ndarray,
                    wiring: str | None) -> float | None:
    if wiring is not None:  # no other wirings are known for it
        return None
    return _captioning(params, features, captions, str(arguments["cell_type"]), int(arguments["word_to_idx"]["<NULL>"]))


def _too_few_layers(arguments: Arguments, params: Params) -> str | None:
    """A FullyConnectedNet with fewer affine layers than ``hidden_dims`` makes (the last hidden size taken
    as the scores')."""
    layers = len(arguments.get("hidden_dims", ())) + 1
    weights = sorted(int(key[1:]) for key in params if key[:1] == "W" and key[1:].isdigit())
    if not weights or len(weights) >= layers:
        return None
    return (f"hidden_dims={list(arguments['hidden_dims'])} makes {layers} affine layers, one per hidden layer and "
            f"the scores' (W1 … W{layers}), where its params have {', '.join(f'W{number}' for number in weights)}")


def _unpooled(arguments: Arguments, params: Params) -> str | None:
    """What a ThreeLayerConvNet's W2 of another height says: the conv output taken whole into the affine
    layer (no 2×2 max pool), or a convolution without padding; None when it says neither."""
    channels, height, width = arguments["input_dim"]
    filters, size = arguments["num_filters"], arguments["filter_size"]
    rows = np.shape(params["W2"])[:1] if "W2" in params else ()
    pooled = filters * (height // 2) * (width // 2)
    if rows == (filters * height * width,):
        return (f"W2 has {rows[0]} rows, num_filters·H·W, where the course's has {pooled}, num_filters·H/2·W/2: "
                "the convolution's output goes into the affine layer without the 2×2 max pool "
                "(conv - relu - 2x2 max pool - affine - relu - affine - softmax)")
    unpadded = filters * ((height - size + 1) // 2) * ((width - size + 1) // 2)
    if rows == (unpadded,) and unpadded != pooled:
        return (f"W2 has {rows[0]} rows where the course's has {pooled}: the convolution has no padding, where "
                "the course's keeps the image's size (pad = (filter_size - 1) // 2, stride 1)")
    return None


def _nothing(arguments: Arguments, params: Params) -> str | None:
    return None


@dataclass(frozen=True)
class Course:
    """One of CS231n's model classes as the check holds a student's to it.

    ``loss(arguments, params, X, y, wiring)`` is the course's loss for a setup's constructor arguments
    (None where there is none: a dropout setup); ``missing`` and ``misfit`` say, from the arguments and the
    student's params, what a parameter the course's class has and the student's lacks, or one of another
    shape, points at (None: nothing more to say).
    """

    loss: Callable[[Arguments, Params, np.ndarray, np.ndarray, str | None], float | None]
    missing: Callable[[Arguments, Params], str | None] = _nothing
    misfit: Callable[[Arguments, Params], str | None] = _nothing


#: The classes of the assignment, by name.
COURSES: dict[str, Course] = {
    "TwoLayerNet": Course(_two_layer),
    "FullyConnectedNet": Course(_fully_connected, missing=_too_few_layers),
    "ThreeLayerConvNet": Course(_three_layer_convnet, misfit=_unpooled),
    "CaptioningRNN": Course(_captioning_rnn),
}


def reference_loss(name: str, arguments: Arguments, params: Params, X: np.ndarray, y: np.ndarray,
                   wiring: str | None = None) -> float | None:
    """CS231n's loss of class ``name`` built with ``arguments`` (a setup's), at ``params`` and (X, y).

    None when there is no reference for that setup (dropout: the mask is the student's own draw) or
    ``name`` is not a class of the assignment (:data:`COURSES`). Raises :class:`MissingParameter` for a
    parameter the course's class has and ``params`` lacks, ValueError (numpy's) for one of another shape.
    ``wiring`` (one of :data:`WIRINGS`) gives the loss of the classifiers wired that other way instead, to
    name a student's mistake.
    """
    course = COURSES.get(name)
    return None if course is None else course.loss(arguments, params, X, y, wiring)
