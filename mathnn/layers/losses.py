"""The temporal softmax loss, as in CS231n assignment 3, on the generated kernel :mod:`mathnn.kernels.softmax_ce`."""

from __future__ import annotations

from typing import cast

import numpy as np

from ..errors import InputError
from ..kernels import softmax_ce as _softmax
from ..validate import describe
from ._checks import shaped

__all__ = ["temporal_softmax_loss"]


def _class_indices(y: object, shape: tuple[int, int], classes: int, x_shape: tuple[int, ...]) -> np.ndarray:
    expected = f"an integer array of shape (N, T) = {shape} with values in [0, {classes}) (V = {classes} from x with shape {x_shape})"
    array = np.asarray(y)
    if array.dtype.kind not in "iu" or array.shape != shape:
        raise InputError(f"y: expected {expected}; received {describe(array)}")
    if (outside := (array < 0) | (array >= classes)).any():
        index = tuple(int(i) for i in np.argwhere(outside)[0])
        raise InputError(f"y: expected {expected}; received {array[index]} at index {index}")
    return array


def temporal_softmax_loss(
    x: np.ndarray, y: np.ndarray, mask: np.ndarray, verbose: bool = False
) -> tuple[np.generic, np.ndarray]:
    """Softmax cross-entropy at every time step, as in CS231n assignment 3.

    L = −(1/N) Σ_{n,t} mask[n, t] · log softmax(x[n, t])[y[n, t]]: summed over the time steps
    that count (mask true) and averaged over the N sequences, as CS231n does (not over the
    number of steps).

    Parameters
    ----------
    x : array_like of shape (N, T, V)
        Scores over V classes at every step.
    y : array_like of int, shape (N, T)
        Target class of every step, each in [0, V) (also where mask is false).
    mask : array_like of bool, shape (N, T)
        Which steps count in the loss (e.g. false on padding).
    verbose : bool, default False
        Print the shape of the flattened gradient, as CS231n's version does.

    Returns
    -------
    loss : numpy scalar
        L, in x's dtype (complex for complex x, so that a complex-step check can run through it).
    dx : ndarray of shape (N, T, V)
        ∂L/∂x = mask/N · (softmax(x) − onehot(y)).
    """
    x = shaped(x, "x", "(N, T, V)", 3)
    n, steps, classes = x.shape
    targets = _class_indices(y, (n, steps), classes, x.shape)
    flags = np.asarray(mask)
    if flags.dtype != bool or flags.shape != (n, steps):
        raise InputError(
            f"mask: expected a boolean array of shape (N, T) = {(n, steps)} (from x with shape {x.shape}); "
            f"received {describe(flags)}"
        )
    rows = n * steps
    real = np.finfo(x.dtype).dtype  # float32 stays float32; the real part's dtype for complex x
    onehot = np.zeros((rows, classes), dtype=real)
    onehot[np.arange(rows), targets.reshape(rows)] = 1
    weights = (flags.reshape(rows, 1) / n).astype(real)
    loss, dx_flat = _softmax.softmax_cross_entropy(x.reshape(rows, classes), onehot, weights)
    if verbose:
        print("dx_flat:", dx_flat.shape)
    # The kernel's annotation says ndarray for every result; its loss is a sum, a numpy scalar.
    return cast(np.generic, loss), dx_flat.reshape(n, steps, classes)
