"""The losses of CS231n: softmax and SVM (assignment 2's layers.py) and the temporal softmax loss (assignment 3).

The math is the generated kernels' (:mod:`mathnn.kernels.softmax_ce`, :mod:`mathnn.kernels.svm`);
this module checks the inputs and turns the labels into one-hot rows and the average into row weights.
"""

from __future__ import annotations

from typing import cast

import numpy as np

from ..errors import InputError
from ..kernels import softmax_ce as _softmax
from ..kernels import svm as _svm
from ..validate import describe
from ._checks import shaped

__all__ = ["softmax_loss", "svm_loss", "temporal_softmax_loss"]


def _class_indices(y: object, shape: tuple[int, ...], classes: int, x_shape: tuple[int, ...],
                   layout: str = "(N, T)", size: str = "V") -> np.ndarray:
    expected = (f"an integer array of shape {layout} = {shape} with values in [0, {classes}) "
                f"({size} = {classes} from x with shape {x_shape})")
    array = np.asarray(y)
    if array.dtype.kind not in "iu" or array.shape != shape:
        raise InputError(f"y: expected {expected}; received {describe(array)}")
    if (outside := (array < 0) | (array >= classes)).any():
        index = tuple(int(i) for i in np.argwhere(outside)[0])
        raise InputError(f"y: expected {expected}; received {array[index]} at index {index}")
    return array


def _scores_and_labels(x: object, y: object) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x as (N, C) floats, y checked, and the kernels' one-hot rows and weights 1/N in x's real dtype."""
    scores = shaped(x, "x", "(N, C)", 2)
    n, classes = scores.shape
    labels = _class_indices(y, (n,), classes, scores.shape, "(N,)", "C")
    real = np.finfo(scores.dtype).dtype  # float32 stays float32; the real part's dtype for complex x
    onehot = np.zeros((n, classes), dtype=real)
    onehot[np.arange(n), labels] = 1
    return scores, labels, onehot, np.full((n, 1), 1 / n, dtype=real)


def softmax_loss(x: np.ndarray, y: np.ndarray) -> tuple[np.generic, np.ndarray]:
    """Softmax (cross-entropy) loss of a batch of scores, as in CS231n assignment 2.

    L = −(1/N) Σ_i log softmax(x[i])[y[i]], computed with each row's maximum subtracted first, so
    that large scores cannot overflow.

    Parameters
    ----------
    x : array_like of shape (N, C)
        Class scores of N examples.
    y : array_like of int, shape (N,)
        Correct class of every example, each in [0, C).

    Returns
    -------
    loss : numpy scalar
        L, in x's dtype (float32 stays float32).
    dx : ndarray of shape (N, C)
        ∂L/∂x = (softmax(x) − onehot(y)) / N.

    Examples
    --------
    >>> import numpy as np
    >>> loss, dx = softmax_loss(np.zeros((2, 4)), np.array([0, 3]))
    >>> round(float(loss), 6) == round(float(np.log(4)), 6)
    True
    """
    scores, _, onehot, weights = _scores_and_labels(x, y)
    loss, dx = _softmax.softmax_cross_entropy(scores, onehot, weights)
    # The kernel's annotation says ndarray for every result; its loss is a sum, a numpy scalar.
    return cast(np.generic, loss), dx


def svm_loss(x: np.ndarray, y: np.ndarray) -> tuple[np.generic, np.ndarray]:
    """Multiclass SVM (hinge) loss of a batch of scores, as in CS231n assignment 2.

    L = (1/N) Σ_i Σ_{j≠y[i]} max(0, x[i, j] − x[i, y[i]] + 1): margin 1, the correct class left
    out of the sum.

    Parameters
    ----------
    x : array_like of shape (N, C)
        Class scores, as for :func:`softmax_loss`.
    y : array_like of int, shape (N,)
        Correct classes, as for :func:`softmax_loss`.

    Returns
    -------
    loss : numpy scalar
        L, in x's dtype (float32 stays float32).
    dx : ndarray of shape (N, C)
        ∂L/∂x: 1/N at every wrong class with a positive margin, −(their count)/N at the correct
        class. At a margin exactly 0 (a kink of the loss) the gradient takes 0.

    Examples
    --------
    >>> import numpy as np
    >>> loss, dx = svm_loss(np.array([[2.0, 1.5, 0.0]]), np.array([0]))
    >>> float(loss), dx.tolist()
    (0.5, [[-1.0, 1.0, 0.0]])
    """
    scores, _, onehot, weights = _scores_and_labels(x, y)
    loss, dx = _svm.multiclass_svm(scores, onehot, weights)
    return cast(np.generic, loss), dx


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
