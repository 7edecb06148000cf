"""Where a layer's arrays go between CS231n's layout and its kernels' two axes, and back.

A layer rule's kernels take (rows, columns) arrays; its public functions take CS231n's shapes. A
:class:`~mathnn.rules.layer_parts.Reshape` in the generated ``SPEC`` says how: axes put in an order,
the leading ones as rows (spatial batch norm's pixels), a channel axis split into groups (group norm's
G), per-channel arguments broadcast to every entry and their gradients summed back. numpy only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["channel_shape", "from_kernel", "in_order", "per_channel", "public_gradient", "to_kernel"]


def in_order(reshape: Mapping[str, Any], shape: Sequence[Any]) -> list[Any]:
    """A reshaped argument's axes (sizes or names) in the order the kernel takes them."""
    order = reshape.get("order")
    return [shape[i] for i in order] if order else list(shape)


def to_kernel(reshape: Mapping[str, Any], array: np.ndarray, groups: int | None = None) -> np.ndarray:
    """An argument in its public layout as the kernel's two axes: its axes put in ``order`` (if any), the
    leading ``rows`` of them as rows, the rest as columns; with ``groups`` (a grouped layer's G), each of
    the G groups of the next axis makes a row of its own."""
    if reshape.get("order"):
        array = np.transpose(array, reshape["order"])
    return array.reshape(math.prod(array.shape[:reshape["rows"]]) * (groups or 1), -1)


def from_kernel(reshape: Mapping[str, Any], array: np.ndarray, public_shape: Sequence[int],
                columns: int | None = None) -> np.ndarray:
    """A kernel array back in the public layout of an argument of ``public_shape``: the argument's own
    gradient, or (with ``columns``, the size of the output's last axis) the layer's output. A grouped
    layer's output has the argument's shape."""
    if reshape.get("groups"):
        return array.reshape(public_shape)
    order = reshape.get("order")
    permuted = in_order(reshape, public_shape)
    target = permuted if columns is None else [*permuted[:reshape["rows"]], columns]
    shaped = array.reshape(target)
    return np.transpose(shaped, np.argsort(order)) if order else shaped


def per_channel(reshape: Mapping[str, Any], array: np.ndarray, public_shape: Sequence[int]) -> np.ndarray:
    """A per-channel argument's (group norm's γ, shape (1, C, 1, 1)) kernel gradient summed back to its
    shape: the adjoint of its broadcast over every other axis of the argument of ``public_shape``."""
    full = from_kernel(reshape, array, public_shape)
    channel = reshape["rows"]
    return full.sum(axis=tuple(axis for axis in range(full.ndim) if axis != channel), keepdims=True)


def channel_shape(reshape: Mapping[str, Any], public_shape: Sequence[int]) -> tuple[int, ...]:
    """The shape of a per-channel argument, (1, C, 1, 1) for an argument of shape (N, C, H, W)."""
    return tuple(size if axis == reshape["rows"] else 1 for axis, size in enumerate(public_shape))


def public_gradient(spec: Mapping[str, Any], wrt: str, gradient: np.ndarray, public_shape: Sequence[int]
                    ) -> np.ndarray:
    """A kernel's gradient of ``wrt`` in the layout of the public functions, for a layer whose reshaped
    argument has ``public_shape``: the argument's own, a per-channel argument's summed back, others as they are."""
    reshape = spec["reshape"]
    if not reshape:
        return gradient
    if wrt == reshape["argument"]:
        return from_kernel(reshape, gradient, public_shape)
    if wrt in reshape.get("per_channel", ()):
        return per_channel(reshape, gradient, public_shape)
    return gradient
