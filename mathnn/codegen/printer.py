"""A small NumPy printer for generated kernels: readable names, ``np.`` prefix, ``np.where`` branches.

Branch conditions compare the real part (``x.real > 0``) so a kernel evaluated at ``x + ih`` takes the
same branch as at ``x``: that keeps every kernel usable for complex-step derivative checks.
"""

from __future__ import annotations

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.precedence import PRECEDENCE

from ..rules.core import BatchMajor, BatchSum, Dot, RowMax, Rows, RowSum, Step, TotalSum, Transposed


class KernelPrinter(NumPyPrinter):
    """Prints SymPy expressions as numpy code that reads like the equation it computes.

    ``batch_arrays`` names the (N, D) arrays of a batch kernel: a batch sum of a product of two of
    them becomes one ``einsum`` (no (N, D) temporary), and a statement writing ``into`` a buffer puts
    the batch array in the ufunc's first operand and everything per-feature in the second.
    """

    def __init__(self, batch_arrays: frozenset[str] = frozenset()) -> None:
        super().__init__({"fully_qualified_modules": True, "inline": True, "allow_unknown_functions": False})
        self.batch_arrays = batch_arrays

    def _is_batch(self, expr: sp.Expr) -> bool:
        """Does ``expr`` have the batch shape (N, D)? A batch sum inside it is per-feature."""
        per_feature = expr.xreplace({total: sp.Dummy() for total in expr.atoms(BatchSum)})
        return any(symbol.name in self.batch_arrays for symbol in per_feature.free_symbols)

    def _print_Mul(self, expr: sp.Mul) -> str:
        # Per-feature factors first, then one multiplication by the batch array: one (N, D) temporary.
        batch = [f for f in expr.args if self._is_batch(f)]
        if len(batch) == 1 and len(expr.args) > 1:
            rest = sp.Mul(*[f for f in expr.args if f is not batch[0]])
            if rest == -1:
                return f"-{self.parenthesize(batch[0], 50)}"
            if isinstance(rest, sp.Pow) and rest.exp == -1:
                return f"{self.parenthesize(batch[0], 50)}/{self.parenthesize(rest.base, 50)}"
            # Left to right: the per-feature product first, then one pass over the batch array.
            return f"{self.parenthesize(rest, PRECEDENCE['Mul'], strict=True)}*{self.parenthesize(batch[0], 50)}"
        return super()._print_Mul(expr)

    def _print_BatchSum(self, expr: sp.Expr) -> str:
        (summand,) = expr.args
        if isinstance(summand, sp.Pow) and summand.exp == 2:
            summand = sp.Mul(summand.base, summand.base, evaluate=False)
        factors = summand.args if isinstance(summand, sp.Mul) else (summand,)
        arrays = [f for f in factors if self._is_batch(f)]
        if len(arrays) == 2 and all(a.is_Symbol for a in arrays):
            rest = sp.Mul(*[f for f in factors if not self._is_batch(f)])
            product = f"np.einsum('ij,ij->j', {self._print(arrays[0])}, {self._print(arrays[1])})"
            return product if rest == 1 else f"{self._print(rest)}*{product}"
        return f"np.sum({self._print(summand)}, axis=0)"

    def _print_Max(self, expr: sp.Max) -> str:
        first, *rest = expr.args
        code = self._print(first)
        for arg in rest:
            code = f"np.maximum({code}, {self._print(arg)})"
        return code

    def _print_Heaviside(self, expr: sp.Heaviside) -> str:
        # 1 where the argument is positive, else 0 (H(0) = 0: the rule's declared kink value), in the
        # argument's own dtype: float32 stays float32, and a complex step passes through
        argument, at_zero = expr.args
        if at_zero != 0 or not argument.is_Symbol:
            raise ValueError(f"a kernel step must be Heaviside(name, 0); received {expr}")
        name = self._print(argument)
        return f"(np.real({name}) > 0).astype({name}.dtype)"

    def _print_Dot(self, expr: Dot) -> str:
        left, right = (self.parenthesize(arg, 60) for arg in expr.args)
        return f"{left} @ {right}"

    def _print_Transposed(self, expr: Transposed) -> str:
        (arg,) = expr.args
        if isinstance(arg, Step):  # x[t].T needs no parentheses
            return f"{self._print(arg)}.T"
        return f"{self.parenthesize(arg, PRECEDENCE['Atom'], strict=True)}.T"

    def _print_Step(self, expr: Step) -> str:
        return f"{self.parenthesize(expr.args[0], PRECEDENCE['Atom'], strict=True)}[t]"

    def _print_Rows(self, expr: Rows) -> str:
        name = self.parenthesize(expr.args[0], PRECEDENCE['Atom'], strict=True)
        return f"{name}.reshape(-1, {name}.shape[-1])"

    def _print_BatchMajor(self, expr: BatchMajor) -> str:
        return f"{self.parenthesize(expr.args[0], PRECEDENCE['Atom'], strict=True)}.swapaxes(0, 1)"

    def _print_AppliedUndef(self, expr: AppliedUndef) -> str:
        # an activation passed in as an argument (f, f_grad): called by its name
        return f"{expr.func.__name__}({', '.join(self._print(arg) for arg in expr.args)})"

    def _print_RowSum(self, expr: RowSum) -> str:
        return f"np.sum({self._print(expr.args[0])}, axis=-1, keepdims=True)"

    def _print_RowMax(self, expr: RowMax) -> str:
        return f"np.max(np.real({self._print(expr.args[0])}), axis=-1, keepdims=True)"

    def _print_TotalSum(self, expr: TotalSum) -> str:
        return f"np.sum({self._print(expr.args[0])})"

    def into(self, expr: sp.Expr, buffer: str) -> str:
        """``expr`` computed by one ufunc call writing into ``buffer``.

        ``expr`` must be a sum or a product whose batch part is one term (or factor); the other
        operand is per-feature, or (for a sum) a further batch term, which then costs one temporary.
        """
        if isinstance(expr, sp.Function) and len(expr.args) == 1 and not isinstance(expr, (BatchSum, RowSum)):
            # An element-wise function (tanh, exp) of one argument, computed in place.
            call = self._print(expr)
            return f"{call[:-1]}, out={buffer})"
        if isinstance(expr, sp.Add):
            ufunc, parts, identity = "add", list(expr.args), sp.Integer(0)
        elif isinstance(expr, sp.Mul):
            ufunc, parts, identity = "multiply", list(expr.args), sp.Integer(1)
        else:
            raise ValueError(f"into={buffer!r} needs a sum, a product or a function; received {expr}")
        own = [p for p in parts if p == sp.Symbol(buffer)] or [p for p in parts if self._is_batch(p)][:1]
        if not own:
            raise ValueError(f"into={buffer!r}: no batch array in {expr}")
        first = own[0]
        parts.remove(first)
        rest = (sp.Add if ufunc == "add" else sp.Mul)(*parts) if parts else identity
        if ufunc == "add" and isinstance(rest, sp.Mul) and rest.could_extract_minus_sign():
            ufunc, rest = "subtract", -rest
        return f"np.{ufunc}({self._print(first)}, {self._print(rest)}, out={buffer})"

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


def numpy_code(expr: sp.Expr, batch_arrays: frozenset[str] = frozenset(), into: str | None = None) -> str:
    """The numpy source for ``expr``, written into the buffer ``into`` when given."""
    printer = KernelPrinter(batch_arrays)
    return printer.into(expr, into) if into else printer.doprint(expr)
