"""Plain-text math for terminals: SymPy's str printer with Greek letters and readable branches."""

from __future__ import annotations

import re

import sympy as sp
from sympy.printing.pretty.pretty_symbology import pretty_symbol
from sympy.printing.str import StrPrinter


_SUPERSCRIPTS = {"2": "²", "3": "³"}
SUBSCRIPTS = {"i": "ᵢ", "j": "ⱼ", "k": "ₖ", "m": "ₘ", "n": "ₙ", "t": "ₜ", "0": "₀", "1": "₁"}


class TextPrinter(StrPrinter):
    """Prints ``sigma`` as σ, ``x[i]`` as xᵢ, a batch sum as Σᵢ(…) and a Piecewise as ``{1 if x > 0; 0 otherwise}``."""

    # Indexed brings its own _sympystr, which would win over _print_Indexed below.
    printmethod = "_mathnn_text"

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        entry = ENTRY.match(expr.name)
        if entry:  # one entry of a matrix of symbols (a proof at concrete sizes): x[0,1]
            return f"{entry.group(1)}[{entry.group(2)},{entry.group(3)}]"
        return _from_latex(expr.name) if "\\" in expr.name or "{" in expr.name else pretty_symbol(expr.name)

    # array notation: numpy's @ and ᵀ, and the sums over the batch (index i) and along a row (index k),
    # as their LaTeX forms write them
    def _print_Dot(self, expr: sp.Expr) -> str:
        return " @ ".join(self.parenthesize(arg, 60) for arg in expr.args)

    def _print_Transposed(self, expr: sp.Expr) -> str:
        return f"{self.parenthesize(expr.args[0], 1000, strict=True)}ᵀ"

    def _print_BatchSum(self, expr: sp.Expr) -> str:
        return f"Σᵢ({self._print(expr.args[0])})"

    def _print_RowSum(self, expr: sp.Expr) -> str:
        return f"Σₖ({self._print(expr.args[0])})"

    def _print_TotalSum(self, expr: sp.Expr) -> str:
        return f"Σ({self._print(expr.args[0])})"

    def _print_RowMax(self, expr: sp.Expr) -> str:
        return f"maxₖ({self._print(expr.args[0])})"

    _print_MatrixSymbol = _print_Symbol

    def _print_HadamardProduct(self, expr: sp.Expr) -> str:
        return " ⊙ ".join(self.parenthesize(arg, 50) for arg in expr.args)

    def _print_HadamardPower(self, expr: sp.Expr) -> str:
        power = _SUPERSCRIPTS.get(str(expr.exp), f"^∘{self._print(expr.exp)}")
        return f"{self.parenthesize(expr.base, 60)}{power}"

    def _print_MatMul(self, expr: sp.Expr) -> str:
        return "·".join(self.parenthesize(arg, 50) for arg in expr.args)

    def _print_MatAdd(self, expr: sp.Expr) -> str:
        # in the order written (the derivations build it with evaluate=False), a −1 coefficient as −
        parts: list[str] = []
        for arg in expr.args:
            negative = isinstance(arg, sp.MatMul) and arg.args[0] == -1
            term = sp.MatMul(*arg.args[1:]) if negative and len(arg.args) > 2 else arg.args[-1] if negative else arg
            shown = self.parenthesize(term, 40)
            parts.append(("− " if negative else "+ ") + shown if parts else ("−" if negative else "") + shown)
        return " ".join(parts)

    def _print_Transpose(self, expr: sp.Expr) -> str:
        return f"{self.parenthesize(expr.arg, 1000, strict=True)}ᵀ"

    def _print_Identity(self, expr: sp.Expr) -> str:
        return "I"

    def _print_OneMatrix(self, expr: sp.Expr) -> str:
        return "1"

    def _subscript(self, index: sp.Expr) -> str:
        name = self._print(index)
        return SUBSCRIPTS.get(name, f"_{name}")

    def _print_Indexed(self, expr: sp.Indexed) -> str:
        label = expr.base.label
        shown = self._print(label) if hasattr(label, "_mathnn_text") else pretty_symbol(label.name)
        return shown + "".join(self._subscript(i) for i in expr.indices)

    def _print_Sum(self, expr: sp.Sum) -> str:
        # Every sum in the lecture runs over the whole batch, so only its index is named.
        body = self._print(expr.function)
        for index, *_ in expr.limits:
            body = f"Σ{self._subscript(index)}({body})"
        return body

    def _print_Piecewise(self, expr: sp.Piecewise) -> str:
        branches = [
            f"{self._print(value)} otherwise" if condition is sp.true
            else f"{self._print(value)} if {self._print(condition)}"
            for value, condition in expr.args
        ]
        return "{" + "; ".join(branches) + "}"


#: The name of one entry of a matrix of symbols (``symbol_matrix``): name_row_column.
ENTRY = re.compile(r"^(\w+?)_(\d+)_(\d+)$")

#: LaTeX found in display-only symbol names, and its plain-text reading.
_LATEX_WORDS = {"\\delta": "δ", "\\left(": "(", "\\right)": ")", "\\mathbf{1}": "1", "'": "′"}
#: The time subscripts of the RNN derivation's display names: δ_{t+1} → δₜ₊₁.
_LATEX_SUBSCRIPTS = {"_{t-1}": "ₜ₋₁", "_{t+1}": "ₜ₊₁", "_{t}": "ₜ", "_{1}": "₁", "_{0}": "₀"}


def _from_latex(name: str) -> str:
    for latex, plain in _LATEX_WORDS.items():
        name = name.replace(latex, plain)
    for index, plain in _LATEX_SUBSCRIPTS.items():
        name = name.replace(index, plain)
    return re.sub(r"_\{(\w)\}", r"_\1", name)


def text(expr: sp.Expr) -> str:
    """``expr`` as one line of plain text."""
    return TextPrinter().doprint(expr)
