"""CS231n-compatible layers built on the generated kernels: input checks, caches, running statistics.

Each layer is a pair ``<layer>_forward(...) -> (out, cache)`` and ``<layer>_backward(dout, cache)``
with the names, arguments and shapes of the CS231n assignments (batches are rows: x has shape (N, ...)):
batch norm (and spatial batch norm), dropout, affine, ReLU and the softmax and SVM losses from assignment 2; the RNN step
and sequence, the LSTM step and sequence, the GRU step and sequence, the word embedding, the temporal affine layer and the temporal softmax loss from assignment 3
(sequences are (N, T, ...)).
The arithmetic is done by the kernels generated from the proven rules (:mod:`mathnn.kernels`); the
layers check the input, keep what the backward pass needs and handle the edge cases the kernels
leave to the caller. One module per topic: :mod:`~mathnn.layers.relu`, :mod:`~mathnn.layers.batchnorm`, :mod:`~mathnn.layers.dropout`, :mod:`~mathnn.layers.rnn`, :mod:`~mathnn.layers.lstm` (the LSTM step and sequence) and
:mod:`~mathnn.layers.embedding` (word embedding, the one layer without a kernel: it is indexing) and
:mod:`~mathnn.layers.losses` (softmax, SVM and temporal softmax losses); every name is importable from
:mod:`mathnn.layers` itself. The layers declared as rules (affine and temporal affine, layer norm, the
GRU step) and the recurrences without a module of their own (LSTM and GRU sequences)
have their functions built from the generated ``SPEC`` or ``SEQUENCE`` by :mod:`mathnn.catalogue`.

dtypes: integers and booleans become float64; float32 stays float32 and is computed in float32;
the result has numpy's promoted dtype of the inputs, so all-float32 input gives float32 output.
Complex input is accepted so that complex-step gradient checks can run through the layers.
Every error is a :class:`mathnn.InputError` naming the argument, what was expected and what was received.

Examples
--------
>>> import numpy as np
>>> from mathnn.layers import batchnorm_forward, batchnorm_backward
>>> x = np.array([[1.0, 2.0], [3.0, 2.0]])
>>> bn_param = {"mode": "train"}
>>> out, cache = batchnorm_forward(x, np.ones(2), np.zeros(2), bn_param)
>>> out.round(3).tolist()
[[-1.0, 0.0], [1.0, 0.0]]
>>> bn_param["running_mean"].round(6).tolist()
[0.2, 0.2]
>>> dx, dgamma, dbeta = batchnorm_backward(np.ones((2, 2)), cache)
>>> dbeta.tolist()
[2.0, 2.0]
"""

from .batchnorm import (
    BatchNormCache, SpatialBatchNormCache, batchnorm_backward, batchnorm_forward, spatial_batchnorm_backward,
    spatial_batchnorm_forward,
)
from .dropout import DropoutCache, dropout_backward, dropout_forward
from .embedding import WordEmbeddingCache, word_embedding_backward, word_embedding_forward
from .losses import softmax_loss, svm_loss, temporal_softmax_loss
from .lstm import LSTMStepCache, lstm_step_backward, lstm_step_forward
from .relu import relu_backward, relu_forward
from .rnn import RNNCache, RNNStepCache, rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward

__all__ = [
    "BatchNormCache",
    "DropoutCache",
    "LSTMStepCache",
    "RNNCache",
    "RNNStepCache",
    "affine_backward",
    "affine_forward",
    "batchnorm_backward",
    "batchnorm_forward",
    "dropout_backward",
    "dropout_forward",
    "lstm_step_backward",
    "lstm_step_forward",
    "relu_backward",
    "relu_forward",
    "rnn_backward",
    "rnn_forward",
    "rnn_step_backward",
    "rnn_step_forward",
    "SpatialBatchNormCache",
    "softmax_loss",
    "spatial_batchnorm_backward",
    "spatial_batchnorm_forward",
    "svm_loss",
    "temporal_affine_backward",
    "temporal_affine_forward",
    "temporal_softmax_loss",
    "WordEmbeddingCache",
    "word_embedding_backward",
    "word_embedding_forward",
]


# -- layers declared as rules: their CS231n functions are built from the generated SPEC -------------

from collections.abc import Callable as _Callable  # noqa: E402
from typing import Any as _Any  # noqa: E402

from ..catalogue import public_functions as _generated_functions  # noqa: E402

globals().update(_generated_functions())
__all__ += [name for name in _generated_functions() if name not in __all__]

# the generated functions the package itself calls, named for the type checker
affine_forward: _Callable[..., _Any] = _generated_functions()["affine_forward"]
affine_backward: _Callable[..., _Any] = _generated_functions()["affine_backward"]
temporal_affine_forward: _Callable[..., _Any] = _generated_functions()["temporal_affine_forward"]
temporal_affine_backward: _Callable[..., _Any] = _generated_functions()["temporal_affine_backward"]
