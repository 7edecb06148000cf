"""Input checks shared by the layers: each error names the argument, the shape expected and the shape received."""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..validate import as_float_array, describe

MAX_LISTED = 10


def columns(mask: np.ndarray) -> str:
    """The indices where ``mask`` is true, as '[1, 4]' (the first few, with the count, when there are many)."""
    indices = np.flatnonzero(mask)
    listed = ", ".join(str(i) for i in indices[:MAX_LISTED])
    more = f", … ({indices.size} in all)" if indices.size > MAX_LISTED else ""
    return f"[{listed}{more}]"


def shaped(value: object, name: str, layout: str, ndim: int) -> np.ndarray:
    """``value`` as a float array with ``ndim`` dimensions, none of them empty; ``layout`` names them."""
    array = as_float_array(value, name)
    if array.ndim != ndim or 0 in array.shape:
        raise InputError(
            f"{name}: expected a {ndim}-D array of shape {layout} with every size ≥ 1; received shape {array.shape}"
        )
    return array


def expect_shape(array: np.ndarray, name: str, expected: tuple[int, ...], why: str) -> None:
    """Refuse ``array`` unless its shape is ``expected``; ``why`` says where that shape comes from."""
    if array.shape != expected:
        raise InputError(f"{name}: expected shape {expected} ({why}); received shape {array.shape}")


def upstream(value: object, name: str, expected: tuple[int, ...], what: str) -> np.ndarray:
    """An upstream gradient as a float array of the shape the forward pass produced."""
    array = as_float_array(value, name)
    expect_shape(array, name, expected, what)
    return array


def check_cache(cache: object, kind: type, producer: str, named: tuple[type, ...] = ()) -> None:
    """Refuse a cache that ``producer`` did not return.

    Caches of the types in ``named`` (another layer's) are named by their class: their repr would be a
    wall of arrays.
    """
    if not isinstance(cache, kind):
        received = f"an {type(cache).__name__}" if isinstance(cache, named) else describe(cache)
        raise InputError(f"cache: expected the cache returned by {producer}; received {received}")
