"""A numpy stand-in for CS231n's compiled ``im2col_cython``, given to a sandbox whose package has none built.

CS231n's ``fast_layers.py`` imports ``im2col_cython``, ``col2im_cython``, ``col2im_6d_cython`` (and since
2021 ``im2col_6d_cython``) from an extension each student builds with ``python setup.py build_ext --inplace``. A file checked anywhere
else (a grader, another Python) has none: fast_layers.py prints a warning and goes on, and the conv
net's backward pass then stops with a NameError although the student's code is right. The sandbox
copies this module as ``im2col_cython.py`` beside a module that imports it, unless one is built there
for this Python (an extension is imported before a .py of the same name).

The three functions gather the windows of a padded input into columns and add columns back into
windows (each the other's adjoint), with the extension's layouts: ``im2col_cython`` returns rows
(channel, window row, window column) by columns (output row, output column, example),
``im2col_6d_cython`` the same rows by columns (example, output row, output column) of an input padded
already; ``col2im_6d_cython`` takes the columns as an array (C, HH, WW, N, out_h, out_w). Only numpy is
imported: the sandbox has nothing else.

The extension declares its sizes ``int``, and the Cython of the course's years turned a float that
holds a whole number into one: the 2016 starter code's ``conv_param = {'pad': (filter_size - 1) / 2}``
(1.0 in Python 3) ran. The stand-in takes such a float as its whole number too.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

__all__ = ["col2im_6d_cython", "col2im_cython", "im2col_6d_cython", "im2col_cython"]


def _whole(*sizes: Any) -> list[int]:
    """The sizes as ints: a float that holds a whole number (pad = (3 - 1) / 2 = 1.0) is taken as that number,
    as the compiled extension's ``int`` arguments took it; anything else raises TypeError, as an int argument does."""
    whole = []
    for size in sizes:
        if isinstance(size, (float, np.floating)) and float(size).is_integer():
            whole.append(int(size))
        else:
            whole.append(operator.index(size))
    return whole


def _outputs(size: int, field: int, padding: int, stride: int) -> int:
    return (size + 2 * padding - field) // stride + 1


def _window(start: int, count: int, stride: int) -> slice:
    """The entries ``start``, ``start + stride``, … one window position takes along an axis."""
    return slice(start, start + stride * (count - 1) + 1, stride)


def im2col_cython(x: np.ndarray, field_height: int, field_width: int, padding: int, stride: int) -> np.ndarray:
    """Every window of ``x`` (N, C, H, W), zero-padded: an array (C·field_height·field_width, out_h·out_w·N)."""
    field_height, field_width, padding, stride = _whole(field_height, field_width, padding, stride)
    n, c, h, w = x.shape
    rows, columns = _outputs(h, field_height, padding, stride), _outputs(w, field_width, padding, stride)
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cols = np.empty((c, field_height, field_width, rows, columns, n), dtype=x.dtype)
    for i in range(field_height):
        for j in range(field_width):
            taken = padded[:, :, _window(i, rows, stride), _window(j, columns, stride)]  # (N, C, out_h, out_w)
            cols[:, i, j] = taken.transpose(1, 2, 3, 0)
    return cols.reshape(c * field_height * field_width, rows * columns * n)


def _add_windows(blocks: np.ndarray, n: int, c: int, h: int, w: int, padding: int, stride: int) -> np.ndarray:
    """Sum ``blocks`` (field_height, field_width, N, C, out_h, out_w) back into the windows they came from."""
    field_height, field_width, _, _, rows, columns = blocks.shape
    padded = np.zeros((n, c, h + 2 * padding, w + 2 * padding), dtype=blocks.dtype)
    for i in range(field_height):
        for j in range(field_width):
            padded[:, :, _window(i, rows, stride), _window(j, columns, stride)] += blocks[i, j]
    return padded[:, :, padding:padding + h, padding:padding + w]


def col2im_cython(cols: np.ndarray, N: int, C: int, H: int, W: int, field_height: int, field_width: int,
                  padding: int, stride: int) -> np.ndarray:
    """The adjoint of :func:`im2col_cython`: columns (C·fh·fw, out_h·out_w·N) summed into an (N, C, H, W) array."""
    N, C, H, W, field_height, field_width, padding, stride = _whole(N, C, H, W, field_height, field_width, padding,
                                                                    stride)
    rows, columns = _outputs(H, field_height, padding, stride), _outputs(W, field_width, padding, stride)
    blocks = cols.reshape(C, field_height, field_width, rows, columns, N).transpose(1, 2, 5, 0, 3, 4)
    return _add_windows(blocks, N, C, H, W, padding, stride)


def col2im_6d_cython(cols: np.ndarray, N: int, C: int, H: int, W: int, HH: int, WW: int, pad: int,
                     stride: int) -> np.ndarray:
    """Columns (C, HH, WW, N, out_h, out_w) summed into an (N, C, H, W) array, as conv_backward_strides needs."""
    N, C, H, W, pad, stride = _whole(N, C, H, W, pad, stride)
    return _add_windows(cols.transpose(1, 2, 3, 0, 4, 5), N, C, H, W, pad, stride)


def im2col_6d_cython(x_padded: np.ndarray, N: int, C: int, H: int, W: int, HH: int, WW: int, field_height: int,
                     field_width: int, padding: int, stride: int) -> np.ndarray:
    """Every window of ``x_padded`` (padded already; HH, WW the output's size): (C·fh·fw, N·HH·WW)."""
    N, C, H, W, HH, WW, field_height, field_width, padding, stride = _whole(
        N, C, H, W, HH, WW, field_height, field_width, padding, stride)
    cols = np.empty((C, field_height, field_width, N, HH, WW), dtype=x_padded.dtype)
    for i in range(field_height):
        for j in range(field_width):
            cols[:, i, j] = x_padded[:, :, _window(i, HH, stride), _window(j, WW, stride)].transpose(1, 0, 2, 3)
    return cols.reshape(C * field_height * field_width, N * HH * WW)
