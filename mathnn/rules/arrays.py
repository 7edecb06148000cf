"""Kernel expressions in array notation, evaluated on SymPy matrices of symbols at concrete sizes.

Kernels over matrices (the RNN step, softmax cross-entropy) are declared in numpy's array notation:
``Dot`` for ``@``, ``Transposed`` for ``.T``, reductions, broadcasting of a row or a column, and
element-wise functions. An operation declared elsewhere (a SymPy ``Function`` subclass) joins by
defining ``on_matrices(*values)``, what it computes on the evaluated matrices of its arguments, and
``_numpycode(printer)`` / ``_mathnn_text(printer)`` / ``_latex(printer)`` for the printers. To prove what a kernel computes, :func:`evaluate` replays it on matrices of
plain symbols (every entry its own symbol), where SymPy's scalar ``diff`` gives the true gradient
entry by entry. DESIGN.md explains why matrix calculus is never left to ``MatrixSymbol.diff``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import reduce
from typing import Any, TypeAlias

import sympy as sp

from .core import BatchMajor, BatchSum, Dot, Kernel, Loop, RowMax, Rows, RowSum, Step, TotalSum, Transposed

Value: TypeAlias = sp.Matrix | sp.Expr


def symbol_matrix(name: str, rows: int, cols: int) -> sp.Matrix:
    """A rows × cols matrix whose entries are the real symbols ``name_r_c``."""
    return sp.Matrix(rows, cols, lambda r, c: sp.Symbol(f"{name}_{r}_{c}", real=True))


def _broadcast(left: Value, right: Value, combine) -> Value:
    """Combine two values entry by entry, broadcasting scalars, a (1, k) row or an (m, 1) column."""
    if not isinstance(left, sp.MatrixBase) and not isinstance(right, sp.MatrixBase):
        return combine(left, right)
    if not isinstance(left, sp.MatrixBase):
        return right.applyfunc(lambda entry: combine(left, entry))
    if not isinstance(right, sp.MatrixBase):
        return left.applyfunc(lambda entry: combine(entry, right))
    rows, cols = max(left.rows, right.rows), max(left.cols, right.cols)
    for value in (left, right):
        if value.rows not in (1, rows) or value.cols not in (1, cols):
            raise ValueError(f"cannot broadcast shapes {left.shape} and {right.shape}")
    return sp.Matrix(
        rows, cols,
        lambda r, c: combine(left[r % left.rows, c % left.cols], right[r % right.rows, c % right.cols]),
    )


def evaluate(expr: sp.Expr, env: Mapping[sp.Symbol, Value], shifts: dict | None = None, step: int | None = None) -> Value:
    """``expr`` with its array symbols replaced by the matrices in ``env``, computed as numpy would.

    ``RowMax`` (the shift of a stable log-sum-exp) becomes a column of fresh symbols, recorded in
    ``shifts``: a claim proven with them holds for every shift, the maximum included.
    """
    shifts = {} if shifts is None else shifts

    memo: dict[sp.Expr, Value] = {}

    def walk(node: sp.Expr) -> Value:
        if node not in memo:
            memo[node] = visit(node)
        return memo[node]

    def visit(node: sp.Expr) -> Value:
        if node in env:
            return env[node]
        if isinstance(node, Rows):  # a sequence (a list, one matrix per step) stacked into rows
            return sp.Matrix.vstack(*walk(node.args[0]))
        if not isinstance(node, (Step, BatchMajor)) and node.args:
            parts = [walk(arg) for arg in node.args]
            steps = [len(part) for part in parts if isinstance(part, list)]
            if steps:  # an operation on whole sequences: the same operation at every step
                return [
                    evaluate(node.func(*(sp.Symbol(f"_arg{i}") for i in range(len(parts)))),
                             {sp.Symbol(f"_arg{i}"): part[t] if isinstance(part, list) else part
                              for i, part in enumerate(parts)}, shifts)
                    for t in range(steps[0])
                ]
        if node.is_Number or not node.args and not isinstance(node, sp.Symbol):
            return node
        if isinstance(node, sp.Symbol):
            return node
        if hasattr(node, "on_matrices"):  # an operation declared in its own module (gates, windows)
            return node.on_matrices(*(walk(arg) for arg in node.args))
        if isinstance(node, Step):  # a time-major sequence is a list of matrices, one per step
            return env[node.args[0]][step]
        if isinstance(node, BatchMajor):
            return walk(node.args[0])
        if isinstance(node, Dot):
            left, right = (walk(arg) for arg in node.args)
            return left * right
        if isinstance(node, Transposed):
            return walk(node.args[0]).T
        if isinstance(node, BatchSum):
            value = walk(node.args[0])
            return sp.Matrix(1, value.cols, lambda _, c: sum(value[:, c]))
        if isinstance(node, RowSum):
            value = walk(node.args[0])
            return sp.Matrix(value.rows, 1, lambda r, _: sum(value[r, :]))
        if isinstance(node, TotalSum):
            return sum(walk(node.args[0]))
        if isinstance(node, RowMax):
            if node in shifts:  # the same shift wherever the statement's result is reused
                return shifts[node]
            value = walk(node.args[0])
            column = sp.Matrix(value.rows, 1, lambda r, _: sp.Symbol(f"c_{len(shifts)}_{r}", real=True))
            shifts[node] = column
            return column
        if isinstance(node, sp.Add):
            return reduce(lambda a, b: _broadcast(a, b, sp.Add), (walk(arg) for arg in node.args))
        if isinstance(node, sp.Mul):
            return reduce(lambda a, b: _broadcast(a, b, sp.Mul), (walk(arg) for arg in node.args))
        if isinstance(node, sp.Pow):
            base, exponent = walk(node.args[0]), walk(node.args[1])
            return _broadcast(base, exponent, sp.Pow)
        if isinstance(node, sp.Function) and len(node.args) == 1:
            value = walk(node.args[0])
            return value.applyfunc(node.func) if isinstance(value, sp.MatrixBase) else node.func(value)
        if isinstance(node, sp.Heaviside):  # the step with its declared value at 0 (the SVM's margins)
            value, at_zero = walk(node.args[0]), node.args[1]
            return (value.applyfunc(lambda entry: sp.Heaviside(entry, at_zero)) if isinstance(value, sp.MatrixBase)
                    else sp.Heaviside(value, at_zero))
        raise TypeError(f"cannot evaluate {type(node).__name__} in array notation: {node}")

    return walk(expr)


def gradient(loss: sp.Expr, matrix: sp.Matrix) -> sp.Matrix:
    """∂loss/∂(each entry of ``matrix``) by scalar ``diff``: the ground truth a kernel is proven against."""
    return matrix.applyfunc(lambda entry: sp.diff(loss, entry))


def run(kernel: Kernel, env: Mapping[sp.Symbol, object]) -> dict[sp.Symbol, Any]:
    """Replay a kernel's statements on matrices of symbols, loops included.

    ``env`` gives the arguments and what the kernel's bindings mean (sizes, time-major views as
    lists of matrices, zeroed buffers and accumulators); a sequence is a list with one matrix per
    step, and a target ``name[t]`` writes its step t. Returns every value by symbol (a matrix, an
    expression, or a list of them, one per step).
    """
    values: dict[sp.Symbol, object] = dict(env)

    def assign(target: str, value: object, t: int | None) -> None:
        if target.endswith("[t]"):
            values[sp.Symbol(target[:-3])][t] = value  # type: ignore[index]
        else:
            values[sp.Symbol(target)] = value

    for statement in kernel.statements:
        if isinstance(statement, Loop):
            count = int(values[sp.Symbol(statement.count)])  # type: ignore[call-overload]
            for t in reversed(range(count)) if statement.reverse else range(count):
                for inner in statement.body:
                    assign(inner.target, evaluate(inner.expr, values, step=t), t)
        else:
            assign(statement.target, evaluate(statement.expr, values), None)
    return values
