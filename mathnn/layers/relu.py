"""The ReLU layer, as in CS231n assignment 2, on the generated kernel :mod:`mathnn.kernels.relu`."""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..kernels import relu as _relu
from ..validate import as_float_array

__all__ = ["relu_backward", "relu_forward"]


def relu_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ReLU layer, as in CS231n: out = max(0, x) element-wise.

    Parameters
    ----------
    x : array_like, any shape

    Returns
    -------
    out : ndarray, same shape as x
    cache : ndarray
        x, for :func:`relu_backward`.
    """
    x = as_float_array(x, "x")
    return _relu.relu(x), x


def relu_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """Backward pass of :func:`relu_forward`: dx = dout where x > 0, 0 where x ≤ 0 (0 at the kink).

    Parameters
    ----------
    dout : array_like, the shape of x
        Upstream gradient.
    cache : ndarray
        x, from :func:`relu_forward`.

    Returns
    -------
    dx : ndarray, the shape of x
    """
    x = as_float_array(cache, "cache")
    dout = as_float_array(dout, "dout")
    if dout.shape != x.shape:
        raise InputError(f"dout: expected shape {x.shape} (the shape of x in the forward pass); received shape {dout.shape}")
    return dout * _relu.relu_grad(x)
