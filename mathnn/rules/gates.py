"""Array operations of gated cells (LSTM, GRU): the sigmoid gate, a block of columns, blocks side by side.

A gated cell computes all its gates with one product, a = x Wx + h Wh + b of shape (N, 4H), and reads
gate k from columns k·H … (k + 1)·H − 1; its backward puts the gates' gradients side by side again.
Each operation here says what it computes on matrices of symbols (``on_matrices``, for the proofs of
:mod:`mathnn.rules.arrays`), how numpy computes it (``_numpycode``) and how it reads in text and LaTeX.
"""

from __future__ import annotations

from typing import Any

import sympy as sp


class Sigmoid(sp.Function):
    """σ(a) = 1/(1 + e^{−a}), element-wise; its derivative σ(1 − σ) is written in σ itself.

    numpy computes it as (1 + tanh(a/2))/2, the same number without an overflowing e^{−a} for a ≪ 0,
    and usable at complex a for complex-step checks.
    """

    nargs = 1

    @classmethod
    def eval(cls, arg: sp.Expr) -> sp.Expr | None:
        if arg.is_zero:
            return sp.Rational(1, 2)
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return Sigmoid(self.args[0]) * (1 - Sigmoid(self.args[0]))

    def _eval_evalf(self, prec: int) -> sp.Expr:
        return (1 / (1 + sp.exp(-self.args[0])))._eval_evalf(prec)

    def _eval_rewrite_as_exp(self, arg: sp.Expr, **kwargs: Any) -> sp.Expr:
        return 1 / (1 + sp.exp(-arg))

    def _eval_rewrite_as_tanh(self, arg: sp.Expr, **kwargs: Any) -> sp.Expr:
        return (1 + sp.tanh(arg / 2)) / 2

    def _numpycode(self, printer: Any) -> str:
        tanh = printer._module_format("numpy.tanh")
        return f"(0.5 + 0.5*{tanh}(0.5*({printer._print(self.args[0])})))"

    def _mathnn_text(self, printer: Any) -> str:
        return f"σ({printer._print(self.args[0])})"

    def _latex(self, printer: Any, exp: Any = None) -> str:
        shown = rf"\sigma\left({printer._print(self.args[0])}\right)"
        return shown if exp is None else rf"{shown}^{{{exp}}}"


def _block(k: int, n: int) -> str:
    """Columns k·H … (k + 1)·H − 1 of n blocks of width H, as numpy slices read: ``H:2H``."""
    def at(i: int) -> str:
        return "0" if i == 0 else "H" if i == 1 else f"{i}H"

    return f"{at(k)}:{at(k + 1)}"


class Gate(sp.Function):
    """Block k of n equal blocks of columns: ``Gate(a, 1, 4)`` is a[:, H:2H] for a of shape (N, 4H)."""

    nargs = 3
    #: a selection of entries: the size of its terms is the selection of the terms' sizes
    linear = True

    @classmethod
    def eval(cls, value: sp.Expr, k: sp.Expr, n: sp.Expr) -> sp.Expr | None:
        # block k of n blocks put side by side is that block: [dnext_h | dnext_c][:, 0:H] = dnext_h
        if isinstance(value, Concat) and k.is_Integer and n.is_Integer and len(value.args) == int(n):
            return value.args[int(k)]
        return None

    def on_matrices(self, value: sp.Matrix, k: sp.Integer, n: sp.Integer) -> sp.Matrix:
        width, remainder = divmod(value.cols, int(n))
        if remainder:
            raise sp.ShapeError(f"{value.cols} columns do not split into {n} gates")
        return value[:, int(k) * width:(int(k) + 1) * width]

    def _numpycode(self, printer: Any) -> str:
        value, k, n = self.args
        shown = printer._print(value)
        width = f"{shown}.shape[-1] // {n}"
        start = "" if k == 0 else f"{k} * ({width})"
        return f"{shown}[..., {start}:{int(k) + 1} * ({width})]"

    def _mathnn_text(self, printer: Any) -> str:
        value, k, n = self.args
        return f"{printer.parenthesize(value, 1000)}[:, {_block(int(k), int(n))}]"

    def _latex(self, printer: Any, exp: Any = None) -> str:
        value, k, n = self.args
        return rf"{printer.parenthesize(value, 1000)}_{{[:,\,{_block(int(k), int(n))}]}}"


class Concat(sp.Function):
    """Blocks side by side along the columns: numpy's ``np.concatenate(…, axis=-1)``."""

    linear = True

    def on_matrices(self, *values: sp.Matrix) -> sp.Matrix:
        return sp.Matrix.hstack(*values)

    def _numpycode(self, printer: Any) -> str:
        concatenate = printer._module_format("numpy.concatenate")
        return f"{concatenate}([{', '.join(printer._print(v) for v in self.args)}], axis=-1)"

    def _mathnn_text(self, printer: Any) -> str:
        return "[" + " | ".join(printer._print(v) for v in self.args) + "]"

    def _latex(self, printer: Any, exp: Any = None) -> str:
        return r"\begin{bmatrix}" + " & ".join(printer._print(v) for v in self.args) + r"\end{bmatrix}"
