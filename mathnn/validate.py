"""Input checks shared by the numeric API: one clear message naming the argument, expected and received."""

from __future__ import annotations

import math
import numbers

import numpy as np
from numpy.typing import ArrayLike

from .errors import InputError


def describe(value: object) -> str:
    """A short description of a received value for error messages."""
    if isinstance(value, np.ndarray):
        return f"array of dtype {value.dtype} and shape {value.shape}"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def as_float_array(value: object, name: str) -> np.ndarray:
    """``value`` as a floating (or complex) array; integers and booleans become float64.

    float16, float32, float64 and complex arrays are returned unchanged (no copy), so computation
    happens in the caller's precision; nothing is truncated.
    """
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as error:
        raise InputError(f"{name}: expected a number or an array of numbers; received {describe(value)} ({error})") from None
    if array.dtype.kind in "biu":
        return array.astype(np.float64)
    if array.dtype.kind in "fc":
        return array
    raise InputError(f"{name}: expected a number or an array of numbers; received {describe(value)}")


def real_scalar(value: object, name: str, meaning: str) -> float:
    """``value`` as a finite Python float; bools, strings, arrays and NaN are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise InputError(f"{name}: expected a finite real number ({meaning}); received {describe(value)}")
    return float(value)


def positive_real(value: object, name: str, meaning: str) -> float:
    """``value`` as a finite Python float > 0."""
    number = real_scalar(value, name, f"> 0, {meaning}")
    if number <= 0:
        raise InputError(f"{name}: expected a finite real number > 0 ({meaning}); received {number!r}")
    return number


def count(value: object, name: str, meaning: str, minimum: int = 1) -> int:
    """``value`` as a Python int ≥ ``minimum``; bools and floats are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise InputError(f"{name}: expected an integer ≥ {minimum} ({meaning}); received {describe(value)}")
    return int(value)


def like_input(result: np.ndarray, value: ArrayLike) -> np.ndarray | np.generic:
    """Return a numpy scalar when the caller passed a scalar, the array otherwise."""
    return result if isinstance(value, np.ndarray) or np.ndim(value) else result[()]
