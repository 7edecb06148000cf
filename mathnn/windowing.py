"""The settings of CS231n's window layers, checked before the generated kernels run (numpy only).

``conv_param = {"stride": s, "pad": p}`` and ``pool_param = {"pool_height", "pool_width", "stride"}``
must be integers, and the windows must tile the (padded) input exactly: CS231n's H' = 1 + (H + 2p −
HH)/s is an integer. Each error names the setting or the sizes that do not fit.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from .errors import InputError
from .validate import describe


def _integer(param: str, settings: Mapping[str, Any], key: str, default: int | None, least: int) -> int:
    if key not in settings and default is None:
        raise InputError(f'{param}["{key}"]: expected an integer ≥ {least}; received no such key')
    value = settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not float(value).is_integer():
        raise InputError(f'{param}["{key}"]: expected an integer ≥ {least}; received {describe(value)}')
    number = int(float(value))  # 2.0 is the integer 2
    if number < least:
        raise InputError(f'{param}["{key}"]: expected an integer ≥ {least}; received {number}')
    return number


def _settings_dict(param: str, value: object) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InputError(f"{param}: expected a dict; received {describe(value)}")
    return value


def _tiles(param: str, axis: str, size: int, window: str, extent: int, stride: int, pad: int | None) -> int:
    """The number of window positions along one axis; an error when the windows do not tile it.

    ``pad`` None: the layer has no padding (pooling), and the message does not mention it.
    """
    span = size + 2 * (pad or 0) - extent
    padded, value = (f"{axis} + 2·pad", f"{size} + 2·{pad}") if pad is not None else (axis, f"{size}")
    if span < 0:
        raise InputError(f"{param}: the window does not fit: {window} = {extent} > {padded} = "
                         f"{value}{f' = {size + 2 * pad}' if pad is not None else ''}")
    if span % stride:
        raise InputError(f"{param}: stride {stride} does not tile the input: {padded} − {window} = "
                         f"{value} − {extent} = {span} is not a multiple of {stride}")
    return span // stride + 1


def conv_settings(arrays: Mapping[str, np.ndarray], conv_param: object) -> dict[str, int]:
    """``conv_param``'s stride (default 1) and pad (default 0), checked against x (N, C, H, W) and w."""
    given = _settings_dict("conv_param", conv_param)
    stride = _integer("conv_param", given, "stride", 1, 1)
    pad = _integer("conv_param", given, "pad", 0, 0)
    (_, _, H, W), (_, _, HH, WW) = arrays["x"].shape, arrays["w"].shape
    _tiles("conv_param", "H", H, "HH", HH, stride, pad)
    _tiles("conv_param", "W", W, "WW", WW, stride, pad)
    return {"stride": stride, "pad": pad}


def pool_settings(arrays: Mapping[str, np.ndarray], pool_param: object) -> dict[str, int]:
    """``pool_param``'s pool_height, pool_width and stride (each default 2), checked against x (N, C, H, W)."""
    given = _settings_dict("pool_param", pool_param)
    height, width, stride = (_integer("pool_param", given, key, 2, 1) for key in ("pool_height", "pool_width", "stride"))
    _, _, H, W = arrays["x"].shape
    _tiles("pool_param", "H", H, "pool_height", height, stride, None)
    _tiles("pool_param", "W", W, "pool_width", width, stride, None)
    return {"pool_height": height, "pool_width": width, "stride": stride}


__all__ = ["conv_settings", "pool_settings"]
