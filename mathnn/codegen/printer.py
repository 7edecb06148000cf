"""A small NumPy printer for generated kernels: readable names, ``np.`` prefix, ``np.where`` branches.

Branch conditions compare the real part (``x.real > 0``) so a kernel evaluated at ``x + ih`` takes the
same branch as at ``x``: that keeps every kernel usable for complex-step derivative checks.
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.numpy import NumPyPrinter


class KernelPrinter(NumPyPrinter):
    """Prints SymPy expressions as numpy code that reads like the equation it computes."""

    def __init__(self) -> None:
        super().__init__({"fully_qualified_modules": True, "inline": True, "allow_unknown_functions": False})

    def _module_format(self, fqn: str, register: bool = True) -> str:
        name = super()._module_format(fqn, register)
        return "np." + name.removeprefix("numpy.") if name.startswith("numpy.") else name

    def _print_real_part(self, expr: sp.Expr) -> str:
        if expr.is_Number:
            return self._print(expr)
        if expr.is_Symbol:
            return f"{self._print(expr)}.real"
        return f"np.real({self._print(expr)})"

    def _print_Relational(self, expr: sp.core.relational.Relational) -> str:
        return f"{self._print_real_part(expr.lhs)} {expr.rel_op} {self._print_real_part(expr.rhs)}"

    def _print_Piecewise(self, expr: sp.Piecewise) -> str:
        *branches, (otherwise, last_condition) = expr.args
        if last_condition is not sp.true:
            raise ValueError(f"a kernel Piecewise needs a final 'True' branch; received {expr}")
        code = self._print(otherwise)
        for value, condition in reversed(branches):
            code = f"np.where({self._print(condition)}, {self._print(value)}, {code})"
        return code


def numpy_code(expr: sp.Expr) -> str:
    """The numpy source for ``expr``."""
    return KernelPrinter().doprint(expr)
