"""Element-wise activations and their derivatives, checked wrappers around the generated kernels.

Every function accepts a number, a list or an array of any shape. float32 stays float32 (computed in
float32), float64 stays float64, integers and booleans are converted to float64, complex input is
allowed (for complex-step checks). A scalar in gives a numpy scalar out.

Examples
--------
>>> import mathnn
>>> float(mathnn.sigmoid_grad(0.0))
0.25
>>> float(mathnn.leaky_relu_grad(-3.0, alpha=0.2))
0.2
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from .kernels import leaky_relu as _leaky_relu
from .kernels import relu as _relu
from .kernels import sigmoid as _sigmoid
from .kernels import tanh as _tanh
from .validate import as_float_array, like_input, real_scalar

#: What every function returns: an array of x's shape, or a numpy scalar (np.float64, np.float32, …) for a scalar x.
Output = np.ndarray | np.generic
_ALPHA = "the slope for x ≤ 0, default 0.01"


def sigmoid(x: ArrayLike) -> Output:
    """σ(x) = 1/(1 + e^{−x}); no overflow or warning for any finite x.

    x : array_like, any shape → ndarray, same shape, values in [0, 1].
    """
    return like_input(_sigmoid.sigmoid(as_float_array(x, "x")), x)


def sigmoid_grad(x: ArrayLike) -> Output:
    """σ′(x) = σ(x)(1 − σ(x)), at most 1/4 (at x = 0).

    x : array_like, any shape → ndarray, same shape.
    """
    return like_input(_sigmoid.sigmoid_grad(as_float_array(x, "x")), x)


def tanh(x: ArrayLike) -> Output:
    """tanh(x). x : array_like, any shape → ndarray, same shape, values in [−1, 1]."""
    return like_input(_tanh.tanh(as_float_array(x, "x")), x)


def tanh_grad(x: ArrayLike) -> Output:
    """tanh′(x) = 1 − tanh²(x). x : array_like, any shape → ndarray, same shape."""
    return like_input(_tanh.tanh_grad(as_float_array(x, "x")), x)


def relu(x: ArrayLike) -> Output:
    """max(0, x). x : array_like, any shape → ndarray, same shape."""
    return like_input(_relu.relu(as_float_array(x, "x")), x)


def relu_grad(x: ArrayLike) -> Output:
    """ReLU′(x): 1 for x > 0, 0 for x < 0, and 0 at the kink x = 0.

    x : array_like, any shape → ndarray, same shape.
    """
    return like_input(_relu.relu_grad(as_float_array(x, "x")), x)


def leaky_relu(x: ArrayLike, alpha: float = 0.01) -> Output:
    """x for x > 0, αx for x ≤ 0.

    x : array_like, any shape → ndarray, same shape. alpha : finite real number.
    """
    return like_input(_leaky_relu.leaky_relu(as_float_array(x, "x"), real_scalar(alpha, "alpha", _ALPHA)), x)


def leaky_relu_grad(x: ArrayLike, alpha: float = 0.01) -> Output:
    """Leaky ReLU′(x): 1 for x > 0, α for x < 0, and α at the kink x = 0.

    x : array_like, any shape → ndarray, same shape. alpha : finite real number.
    """
    return like_input(
        _leaky_relu.leaky_relu_grad(as_float_array(x, "x"), real_scalar(alpha, "alpha", _ALPHA)), x
    )


#: The element-wise activations with generated kernels ``mathnn.kernels.<name>``: f, f′ and sup |f′|.
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu")

Elementwise = Callable[[np.ndarray], np.ndarray]


def generated(name: str, alpha: float = 0.01) -> tuple[Elementwise, Elementwise, float]:
    """f, f′ and γ = sup |f′| of one activation, straight from its generated kernels (no checks).

    ``name`` must be one of :data:`ACTIVATIONS` (callers check it, with their own argument's name). A
    kernel with a slope parameter (Leaky ReLU's) gets ``alpha``; the others take none.
    """
    module = importlib.import_module(f"mathnn.kernels.{name}")
    f, f_grad, sup = getattr(module, name), getattr(module, f"{name}_grad"), getattr(module, f"{name}_grad_sup")
    if "alpha" in inspect.signature(f).parameters:
        return functools.partial(f, alpha=alpha), functools.partial(f_grad, alpha=alpha), float(sup(alpha))
    return f, f_grad, float(sup())


__all__ = ["ACTIVATIONS", "generated", "leaky_relu", "leaky_relu_grad", "relu", "relu_grad", "sigmoid", "sigmoid_grad", "tanh", "tanh_grad"]
