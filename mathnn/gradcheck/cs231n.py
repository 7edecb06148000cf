"""The gradient-check helpers of the CS231n assignments, with the names and behaviour students know.

They use a fixed step h = 1e-5 and central differences, as the assignments do; the one change is that
an integer array is refused instead of being perturbed (``x[i] + 1e-5`` would truncate back to
``x[i]`` and report a zero gradient). For checks that cannot be fooled by rounding, kinks or lucky
directions, use :func:`mathnn.gradcheck.check_vjp`.
"""

from __future__ import annotations

from collections.abc import Callable
from random import randrange

import numpy as np

from ..errors import InputError


def _floating(x: np.ndarray, name: str = "x") -> np.ndarray:
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        kind = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
        raise InputError(
            f"{name}: expected a floating numpy array (it is perturbed in place by h = 1e-5); received {kind}"
            + (" — an integer array would truncate x + h back to x; pass x.astype(float)" if
               isinstance(x, np.ndarray) and x.dtype.kind in "biu" else "")
        )
    return x


def _perturbed(f: Callable[[np.ndarray], object], x: np.ndarray, index: tuple[int, ...], h: float) -> tuple:
    """f at x with x[index] moved by +h and by −h, as CS231n does: in place, then restored."""
    original = x[index]
    x[index] = original + h
    above = np.array(f(x), copy=True)
    x[index] = original - h
    below = np.array(f(x), copy=True)
    x[index] = original
    return above, below


def eval_numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, verbose: bool = True,
                            h: float = 1e-5) -> np.ndarray:
    """Central-difference gradient of a scalar function ``f`` at ``x`` (any shape).

    ``x`` is perturbed in place one entry at a time and restored, as in CS231n; prints each entry's
    index and value when ``verbose``.
    """
    _floating(x)
    gradient = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        above, below = _perturbed(f, x, index, h)
        gradient[index] = (above - below) / (2 * h)
        if verbose:
            print(index, gradient[index])
    return gradient


def eval_numerical_gradient_array(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, df: np.ndarray,
                                  h: float = 1e-5) -> np.ndarray:
    """Central-difference gradient of Σ df·f(x) for an array-valued ``f`` (x perturbed in place, restored)."""
    _floating(x)
    gradient = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        above, below = _perturbed(f, x, index, h)
        gradient[index] = np.sum((above - below) * df) / (2 * h)
    return gradient


def grad_check_sparse(f: Callable[[np.ndarray], float], x: np.ndarray, analytic_grad: np.ndarray,
                      num_checks: int = 10, h: float = 1e-5) -> None:
    """Compare ``analytic_grad`` with central differences at ``num_checks`` random entries; prints each."""
    _floating(x)
    for _ in range(num_checks):
        index = tuple(randrange(size) for size in x.shape)
        above, below = _perturbed(f, x, index, h)
        numeric = float(above - below) / (2 * h)
        analytic = analytic_grad[index]
        error = abs(numeric - analytic) / (abs(numeric) + abs(analytic))
        print(f"numerical: {numeric:f} analytic: {analytic:f}, relative error: {error:e}")


def rel_error(x: np.ndarray, y: np.ndarray) -> float:
    """max |x − y| / max(1e-8, |x| + |y|), the assignments' relative error."""
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))
