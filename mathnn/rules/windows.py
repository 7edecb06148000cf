"""Window operations: convolution and pooling written with 2-D arrays, as the layer engine needs them.

The layer engine (:mod:`mathnn.rules.layer_concrete`) proves a layer on 2-D matrices of symbols; an
image batch x of shape (N, C, H, W) is the (N, C·H·W) matrix of its rows flattened in numpy's (C)
order, and a filter bank w of shape (F, C, HH, WW) the (F, C·HH·WW) matrix ``w.reshape(F, -1)``.
Each operation below is a SymPy function with two meanings that must agree:

* ``on_matrices``: what it computes on those matrices, entry by entry (the proof's meaning, read by
  :func:`mathnn.rules.arrays.evaluate`);
* ``_numpycode``: the vectorised numpy the code generator prints, on the 4-D arrays the public
  functions take (``sliding_window_view`` of the zero-padded image, ``einsum``), so the generated kernels never
  loop in Python.

The geometry (C, H, W, HH, WW, the output's Ho, Wo, stride and pad) is part of each call as sizes:
in a proof at concrete sizes they are the integers of that size, in a kernel they are bound from the
arrays' shapes and the layer's settings (``LayerRule.bound_sizes``). ``step`` is where consecutive
windows start: the stride itself, or 1 for a student who forgets the stride in the backward pass.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import sympy as sp
from sympy.printing.precedence import PRECEDENCE


def _ints(values: tuple[Any, ...]) -> list[int]:
    if any(not isinstance(v, (int, sp.Integer)) for v in values):
        raise TypeError(f"window sizes must be integers in a proof at concrete sizes; received {values}")
    return [int(v) for v in values]


def _atom(printer: Any, expr: sp.Expr) -> str:
    return printer.parenthesize(expr, PRECEDENCE["Atom"], strict=True)


class _Shown(sp.Function):
    """An operation shown as a function named ``_name`` of its first argument: ``flat(w)`` in text,
    ``\\operatorname{flat}(w)`` in LaTeX (``_latex_name`` where the two differ)."""

    _name = ""
    _latex_name = ""

    def _step(self, printer: Any) -> str | None:
        """Where consecutive windows start when that is not the stride (a student's mistake), else None."""
        return None

    def _mathnn_text(self, printer: Any) -> str:
        step = self._step(printer)
        name = self._name if step is None else f"{self._name}_step{step}"
        return f"{name}({printer._print(self.args[0])})"

    def _latex(self, printer: Any) -> str:
        step = self._step(printer)
        below = "" if step is None else rf"_{{\text{{step }}{step}}}"
        return rf"\operatorname{{{self._latex_name or self._name}}}{below}\left({printer._print(self.args[0])}\right)"


class _Moving(_Shown):
    """An operation linear in its first argument with coefficients ≥ 0, which moves, adds or shares out
    its entries: the size of its terms is the operation itself on |argument| (``magnitude_of``).
    Most take the array and three sizes."""

    nargs = 4
    moves_entries = True


class _Stepped(_Moving):
    """An operation over every window, ``(x, C, H, W, HH, WW, Ho, Wo, stride, pad, step)``: every
    coefficient 0 or 1."""

    nargs = 11

    def _step(self, printer: Any) -> str | None:
        return None if self.args[10] == self.args[8] else printer._print(self.args[10])


class Windows(_Stepped):
    """Windows(x, C, H, W, HH, WW, Ho, Wo, stride, pad, step): every receptive field of x as a row.

    x (N, C·H·W) zero-padded by ``pad`` → (N·Ho·Wo, C·HH·WW): row n·Ho·Wo + i·Wo + j holds the
    window whose top-left corner is at (step·i, step·j) of the padded image, channel by channel,
    in the layout of ``w.reshape(F, -1)``.
    """

    _name = "windows"

    def on_matrices(self, x: sp.Matrix, *sizes: Any) -> sp.Matrix:
        C, H, W, HH, WW, Ho, Wo, _stride, pad, step = _ints(sizes)
        N = x.rows
        rows = []
        for n in range(N):
            for i in range(Ho):
                for j in range(Wo):
                    row = []
                    for c in range(C):
                        for a in range(HH):
                            for b in range(WW):
                                y, z = step * i + a - pad, step * j + b - pad
                                inside = 0 <= y < H and 0 <= z < W
                                row.append(x[n, c * H * W + y * W + z] if inside else sp.Integer(0))
                    rows.append(row)
        return sp.Matrix(rows)

    def _numpycode(self, printer: Any) -> str:
        x, C, H, W, HH, WW, Ho, Wo, stride, pad, step = (printer._print(a) for a in self.args)
        # zero padding as products with shifted identities, exact for finite entries (1·x + 0·…) and
        # several times faster than np.pad on the small images of a check
        padded = x if self.args[9] == 0 else (
            f"np.eye({H} + 2*{pad}, {H}, -{pad}, dtype=({x}).dtype) @ {x} @ np.eye({W}, {W} + 2*{pad}, {pad}, dtype=({x}).dtype)")
        view = f"np.lib.stride_tricks.sliding_window_view({padded}, ({HH}, {WW}), axis=(2, 3))"
        every = (f"[:, :, ::{stride}, ::{stride}]" if self.args[10] == self.args[8]
                 else f"[:, :, :{step}*({Ho} - 1) + 1:{step}, :{step}*({Wo} - 1) + 1:{step}]")
        return f"{view}{every}.transpose(0, 2, 3, 1, 4, 5).reshape(-1, {C}*{HH}*{WW})"


class Scatter(_Stepped):
    """Scatter(cols, C, H, W, HH, WW, Ho, Wo, stride, pad, step): the adjoint of :class:`Windows`.

    cols (N·Ho·Wo, C·HH·WW) → (N, C·H·W): each row is added back where its window came from
    (overlapping windows add up), then the padding is cropped away.
    """

    _name = "scatter"

    def on_matrices(self, cols: sp.Matrix, *sizes: Any) -> sp.Matrix:
        C, H, W, HH, WW, Ho, Wo, _stride, pad, step = _ints(sizes)
        N = cols.rows // (Ho * Wo)
        out = sp.zeros(N, C * H * W)
        for n in range(N):
            for i in range(Ho):
                for j in range(Wo):
                    for c in range(C):
                        for a in range(HH):
                            for b in range(WW):
                                y, z = step * i + a - pad, step * j + b - pad
                                if 0 <= y < H and 0 <= z < W:
                                    out[n, c * H * W + y * W + z] += cols[n * Ho * Wo + i * Wo + j,
                                                                          c * HH * WW + a * WW + b]
        return out

    def _numpycode(self, printer: Any) -> str:
        cols, C, H, W, HH, WW, Ho, Wo, _stride, pad, step = (printer._print(a) for a in self.args)
        # band[i, a, y] = 1 where window i's row a lands on padded row y: dx_pad = Σ cols · band_y · band_x
        unpadded = self.args[9] == 0  # no padding (pooling): nothing to add or to crop
        height, width = (H, W) if unpadded else (f"{H} + 2*{pad}", f"{W} + 2*{pad}")
        band_y = f"(np.arange({height}) == {step}*np.arange({Ho})[:, None, None] + np.arange({HH})[:, None])"
        band_x = f"(np.arange({width}) == {step}*np.arange({Wo})[:, None, None] + np.arange({WW})[:, None])"
        blocks = f"{_atom(printer, self.args[0])}.reshape(-1, {Ho}, {Wo}, {C}, {HH}, {WW})"
        summed = f"np.einsum('nijcab,iay,jbx->ncyx', {blocks}, {band_y}, {band_x}, optimize=True)"
        return summed if unpadded else f"{summed}[:, :, {pad}:{pad} + {H}, {pad}:{pad} + {W}]"


class Images(_Moving):
    """Images(m, F, Ho, Wo): one row per output position (N·Ho·Wo, F) → CS231n's (N, F, Ho, Wo).

    On matrices the result is (N, F·Ho·Wo), the 4-D array's rows flattened.
    """

    _name = "images"

    def on_matrices(self, m: sp.Matrix, *sizes: Any) -> sp.Matrix:
        F, Ho, Wo = _ints(sizes)
        N = m.rows // (Ho * Wo)
        return sp.Matrix(N, F * Ho * Wo,
                         lambda n, k: m[n * Ho * Wo + (k % (Ho * Wo)), k // (Ho * Wo)])

    def _numpycode(self, printer: Any) -> str:
        m, F, Ho, Wo = self.args
        return (f"{_atom(printer, m)}.reshape(-1, {printer._print(Ho)}, {printer._print(Wo)}, "
                f"{printer._print(F)}).transpose(0, 3, 1, 2)")


class Positions(_Moving):
    """Positions(g, F, Ho, Wo): the inverse of :class:`Images`, (N, F, Ho, Wo) → (N·Ho·Wo, F)."""

    _name = "positions"

    def on_matrices(self, g: sp.Matrix, *sizes: Any) -> sp.Matrix:
        F, Ho, Wo = _ints(sizes)
        return sp.Matrix(g.rows * Ho * Wo, F,
                         lambda r, f: g[r // (Ho * Wo), f * Ho * Wo + r % (Ho * Wo)])

    def _numpycode(self, printer: Any) -> str:
        return f"{_atom(printer, self.args[0])}.transpose(0, 2, 3, 1).reshape(-1, {printer._print(self.args[1])})"


class Flat(_Moving):
    """Flat(w): a filter bank (F, C, HH, WW) as the (F, C·HH·WW) matrix it already is on matrices."""

    nargs = 1
    _name = "flat"

    def on_matrices(self, w: sp.Matrix) -> sp.Matrix:
        return w

    def _numpycode(self, printer: Any) -> str:
        name = _atom(printer, self.args[0])
        return f"{name}.reshape({name}.shape[0], -1)"


class Filters(_Moving):
    """Filters(m, C, HH, WW): an (F, C·HH·WW) matrix back in the filter bank's shape (F, C, HH, WW)."""

    _name = "filters"

    def on_matrices(self, m: sp.Matrix, *sizes: Any) -> sp.Matrix:
        return m

    def _numpycode(self, printer: Any) -> str:
        m, C, HH, WW = self.args
        return f"{_atom(printer, m)}.reshape(-1, {printer._print(C)}, {printer._print(HH)}, {printer._print(WW)})"


class Flipped(_Moving):
    """Flipped(w, C, HH, WW): each filter turned by 180°, ``w[:, :, ::-1, ::-1]`` (a student's mistake)."""

    _name = "flipped"

    def on_matrices(self, w: sp.Matrix, *sizes: Any) -> sp.Matrix:
        C, HH, WW = _ints(sizes)
        return sp.Matrix(w.rows, w.cols, lambda f, k: w[f, (k // (HH * WW)) * HH * WW
                                                        + (HH - 1 - (k // WW) % HH) * WW + (WW - 1 - k % WW)])

    def _numpycode(self, printer: Any) -> str:
        return f"{_atom(printer, self.args[0])}[:, :, ::-1, ::-1]"


class Geometry(NamedTuple):
    """A layer's window geometry as its symbols: channels C, image H × W, window HH × WW, output
    Ho × Wo, stride s and padding p, in the order every window operation takes them."""

    C: sp.Expr
    H: sp.Expr
    W: sp.Expr
    HH: sp.Expr
    WW: sp.Expr
    Ho: sp.Expr
    Wo: sp.Expr
    s: sp.Expr
    p: sp.Expr

    def windows(self, x: sp.Expr, step: sp.Expr | None = None) -> Windows:
        """Every receptive field of ``x`` as a row, consecutive windows ``step`` apart (the stride)."""
        return Windows(x, *self, self.s if step is None else step)

    def scatter(self, cols: sp.Expr, step: sp.Expr | None = None) -> Scatter:
        """Each row of ``cols`` added back where its window (``step`` apart, the stride) came from."""
        return Scatter(cols, *self, self.s if step is None else step)

    def positions(self, g: sp.Expr, channels: sp.Expr) -> Positions:
        """An output-shaped ``g`` (N, channels, Ho, Wo) with one row per output position, (N·Ho·Wo, channels)."""
        return Positions(g, channels, self.Ho, self.Wo)


def _maximum_at(row: int, channel: int, window: int, order: int) -> int:
    """Where window ``row``'s channel ``channel`` has its maximum, at the fixed order ``order`` of a proof.

    The orders 0 … window − 1 of a proof put every window's maximum at every one of its positions, a
    different one for neighbouring windows and channels.
    """
    return (row + channel + order) % window


class WindowMax(_Shown):
    """WindowMax(cols, C, HH, WW, order): the maximum of each channel of each window, (P, C·HH·WW) → (P, C).

    max has a kink wherever two entries tie, so the proof works at a fixed order of the entries: on
    matrices the maximum is the entry at :func:`_maximum_at` (the region where that entry is the
    largest, where max is that entry). The kernel takes the maximum itself.
    """

    nargs = 5
    _name = "window_max"
    _latex_name = "max"

    def on_matrices(self, cols: sp.Matrix, *sizes: Any) -> sp.Matrix:
        C, HH, WW, order = _ints(sizes)
        window = HH * WW
        return sp.Matrix(cols.rows, C, lambda k, c: cols[k, c * window + _maximum_at(k, c, window, order)])

    def _numpycode(self, printer: Any) -> str:
        cols, C, HH, WW, _order = (printer._print(a) for a in self.args)
        return f"np.max({_atom(printer, self.args[0])}.reshape(-1, {C}, {HH}*{WW}), axis=-1)"


class ToMaximum(_Moving):
    """ToMaximum(g, cols, C, HH, WW, order): g (P, C) routed to each window's maximum, (P, C·HH·WW).

    The first maximum (``np.argmax``, row by row within the window) gets g; every other entry 0. On
    matrices the maximum is where :class:`WindowMax` has it at the same fixed order.
    """

    nargs = 6  # linear in g, every coefficient 0 or 1

    def on_matrices(self, g: sp.Matrix, cols: sp.Matrix, *sizes: Any) -> sp.Matrix:
        C, HH, WW, order = _ints(sizes)
        window = HH * WW
        routed = sp.zeros(g.rows, C * window)
        for k in range(g.rows):
            for c in range(C):
                routed[k, c * window + _maximum_at(k, c, window, order)] = g[k, c]
        return routed

    def _numpycode(self, printer: Any) -> str:
        g, cols, C, HH, WW, _order = (printer._print(a) for a in self.args)
        first = f"np.argmax(np.real({_atom(printer, self.args[1])}.reshape(-1, {C}, {HH}*{WW})), axis=-1)"
        mask = f"(np.arange({HH}*{WW}) == {first}[..., None])"
        return f"({_atom(printer, self.args[0])}[..., None]*{mask}).reshape(-1, {C}*{HH}*{WW})"

    def _mathnn_text(self, printer: Any) -> str:
        return f"to_max({printer._print(self.args[0])}, {printer._print(self.args[1])})"

    def _latex(self, printer: Any) -> str:
        return (rf"\operatorname{{to\_max}}\left({printer._print(self.args[0])}, "
                rf"{printer._print(self.args[1])}\right)")


class Averaged(_Moving):
    """Averaged(g, C, HH, WW): g (P, C) shared equally by the entries of each window, (P, C·HH·WW).

    Average pooling's gradient: in a max pooling layer, the mistake of spreading dout over the window.
    """

    _name = "averaged"  # linear in g, every coefficient 1/(HH·WW) ≥ 0

    def on_matrices(self, g: sp.Matrix, *sizes: Any) -> sp.Matrix:
        C, HH, WW = _ints(sizes)
        window = HH * WW
        return sp.Matrix(g.rows, C * window, lambda k, e: g[k, e // window] / window)

    def _numpycode(self, printer: Any) -> str:
        g, C, HH, WW = (printer._print(a) for a in self.args)
        return f"np.repeat({_atom(printer, self.args[0])}, {HH}*{WW}, axis=-1)/({HH}*{WW})"


__all__ = ["Averaged", "Filters", "Flat", "Flipped", "Geometry", "Images", "Positions", "Scatter", "ToMaximum", "WindowMax", "Windows"]
