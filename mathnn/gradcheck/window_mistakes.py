"""What students with a mistake that only some settings show return, for the window layers.

The notebook checks convolution at pad 1 and max pooling with 2×2 windows side by side; common
mistakes are right there and wrong at other settings the docstrings allow, which the checker also runs
(``also`` of :class:`~mathnn.rules.layer_parts.CS231n`). Each function here is named by a rule's
:class:`~mathnn.rules.layer_parts.SettingsMistake`: it takes the pair's inputs (CS231n's arguments,
the settings dictionary among them) and dout, and returns one array per way of writing the mistake.
Only numpy and :mod:`mathnn.layers` are used.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["overlaps_assigned", "padding_cropped", "side_by_side_dx", "side_by_side_out"]


def padding_cropped(inputs: Mapping[str, Any], dout: np.ndarray) -> list[np.ndarray]:
    """Convolution's dx with the padding cropped as ``dx_pad[:, :, pad:-pad, pad:-pad]``.

    At pad ≥ 1 that is the right dx; at pad 0 the slice is ``0:0``, and dx is empty: (N, C, 0, 0).
    """
    from .. import layers

    conv_param = inputs["conv_param"]
    pad = int(conv_param["pad"])
    forward, backward = (getattr(layers, f"conv_{kind}_naive") for kind in ("forward", "backward"))
    _, cache = forward(inputs["x"], inputs["w"], inputs["b"], dict(conv_param))
    dx = backward(dout, cache)[0]
    padded = np.pad(dx, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    return [padded[:, :, pad:-pad, pad:-pad]]


def overlaps_assigned(inputs: Mapping[str, Any], dout: np.ndarray) -> list[np.ndarray]:
    """Max pooling's dx with each window's gradient assigned (``=``) where it must be added (``+=``).

    Windows are visited row by row (then, for code whose loops run the other way, column by column),
    a later one's writes replacing an earlier one's: either only at the window's maximum
    (``dx[…][argmax] = dout[…]``) or over the whole window (``dx[…] = mask * dout[…]``, which also
    writes zeros). Windows that do not overlap give the right dx.
    """
    x = np.asarray(inputs["x"], dtype=np.float64)
    pool_param = inputs["pool_param"]
    height, width, stride = (int(pool_param[key]) for key in ("pool_height", "pool_width", "stride"))
    rows, columns = (x.shape[2] - height) // stride + 1, (x.shape[3] - width) // stride + 1
    upstream = np.asarray(dout, dtype=np.float64)
    if upstream.shape != (*x.shape[:2], rows, columns):
        return []
    candidates = []
    for order in ([(i, j) for i in range(rows) for j in range(columns)],
                  [(i, j) for j in range(columns) for i in range(rows)]):
        at_maximum, whole_window = np.zeros_like(x), np.zeros_like(x)
        for i, j in order:
            top, left = i * stride, j * stride
            window = x[:, :, top:top + height, left:left + width]
            mask = window == window.max(axis=(2, 3), keepdims=True)
            share = np.broadcast_to(upstream[:, :, i, j, None, None], mask.shape)
            entries = at_maximum[:, :, top:top + height, left:left + width]  # a view: written in place
            entries[mask] = share[mask]
            whole_window[:, :, top:top + height, left:left + width] = mask * share
        candidates += [at_maximum, whole_window]
    return candidates


def _side_by_side(inputs: Mapping[str, Any]) -> tuple[np.ndarray, dict[str, int], int, int] | None:
    """Max pooling's x and settings, and how many windows fit side by side down and across (H // pool_height,
    W // pool_width); None when that is more than fit at the stride (code counting so would index past them)."""
    x = np.asarray(inputs["x"], dtype=np.float64)
    settings = {key: int(inputs["pool_param"][key]) for key in ("pool_height", "pool_width", "stride")}
    down, across = x.shape[2] // settings["pool_height"], x.shape[3] // settings["pool_width"]
    rows = (x.shape[2] - settings["pool_height"]) // settings["stride"] + 1
    columns = (x.shape[3] - settings["pool_width"]) // settings["stride"] + 1
    return None if down > rows or across > columns else (x, settings, down, across)


def side_by_side_out(inputs: Mapping[str, Any], dout: np.ndarray) -> list[np.ndarray]:
    """Max pooling's out with the windows counted as if side by side: the first H // pool_height rows and
    W // pool_width columns of the right out (right when the stride is the window's size)."""
    from .. import layers

    counted = _side_by_side(inputs)
    if counted is None:
        return []
    x, settings, down, across = counted
    out = getattr(layers, "max_pool_forward_naive")(x, settings)[0]
    return [out[:, :, :down, :across]]


def side_by_side_dx(inputs: Mapping[str, Any], dout: np.ndarray) -> list[np.ndarray]:
    """Max pooling's dx with the windows counted as if side by side: the gradient of the first
    H // pool_height rows and W // pool_width columns of windows only."""
    from .. import layers

    counted = _side_by_side(inputs)
    if counted is None:
        return []
    x, settings, down, across = counted
    cache = getattr(layers, "max_pool_forward_naive")(x, settings)[1]
    counted_dout = np.zeros(np.shape(dout))
    counted_dout[:, :, :down, :across] = np.asarray(dout)[:, :, :down, :across]
    return [getattr(layers, "max_pool_backward_naive")(counted_dout, cache)]
