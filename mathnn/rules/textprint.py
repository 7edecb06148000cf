"""Plain-text math for terminals: SymPy's str printer with Greek letters and readable branches."""

from __future__ import annotations

import sympy as sp
from sympy.printing.pretty.pretty_symbology import pretty_symbol
from sympy.printing.str import StrPrinter


class TextPrinter(StrPrinter):
    """Prints ``sigma`` as σ and a Piecewise as ``{1 if x > 0; 0 otherwise}``."""

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return pretty_symbol(expr.name)

    def _print_Piecewise(self, expr: sp.Piecewise) -> str:
        branches = [
            f"{self._print(value)} otherwise" if condition is sp.true
            else f"{self._print(value)} if {self._print(condition)}"
            for value, condition in expr.args
        ]
        return "{" + "; ".join(branches) + "}"


def text(expr: sp.Expr) -> str:
    """``expr`` as one line of plain text."""
    return TextPrinter().doprint(expr)
