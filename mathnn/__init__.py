"""mathnn: the math of RNNs, vanishing gradients and batch normalization, derived, proven and checked.

The numeric API imports numpy only; the SymPy rules live in :mod:`mathnn.rules` and are imported
only when asked for (``mathnn derive``, ``mathnn verify``, code generation).
"""

from .activations import (
    leaky_relu,
    leaky_relu_grad,
    relu,
    relu_grad,
    sigmoid,
    sigmoid_grad,
    tanh,
    tanh_grad,
)
from .errors import InputError

__version__ = "0.1.0"

__all__ = [
    "InputError",
    "leaky_relu",
    "leaky_relu_grad",
    "relu",
    "relu_grad",
    "sigmoid",
    "sigmoid_grad",
    "tanh",
    "tanh_grad",
]
