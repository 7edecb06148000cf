"""Deciding that an expression is zero: the one place every proof of :mod:`mathnn.rules` asks.

Every claim a rule makes ("the derived gradient equals the closed form") ends in one question, is
``derived − closed`` zero? :func:`decide_zero` answers it exactly, never by sampling, and says how:

1. **Sums over a symbolic size** (batch norm over m, layer norm over D): every ``KroneckerDelta`` is
   summed out, every sum is split into sums of monomials, each an independent placeholder symbol;
   a half-integer power of a radicand r becomes a symbol s with s² = r, and the numerator of the
   cancelled difference is reduced modulo s² − r. An identity of independent placeholders holds for
   the actual sums, so a zero remainder is a proof.
2. **Transcendental atoms** (tanh, a gate's σ, exp, log, a step H(m) with its value at 0 declared, an
   activation f given as an argument): each distinct atom becomes an independent symbol; an
   identity that holds for independent symbols holds for their values, so ``cancel`` to 0 is a proof
   (the derivative of each atom is written in the same atom: tanh′ = 1 − tanh², σ′ = σ(1 − σ),
   exp′ = exp).
3. **Otherwise** (a Piecewise branch, a root of a single variable): ``simplify`` of the folded
   difference, then of its exp rewrite, for expressions small enough for ``simplify`` to finish.

A "no" from strategies 1 and 2 is final only when the expression is fully reduced; the caller gets
the remainder in the message. :func:`matrices_equal` applies the decision entry by entry.
"""

from __future__ import annotations

import time

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.concrete.delta import deltasummation

from .gates import Sigmoid
from .textprint import text

#: The summation index a placeholder's monomial is written with.
CANONICAL = sp.Symbol("n", integer=True)
_I = sp.Symbol("i", integer=True)


def resolve_deltas(expr: sp.Expr) -> sp.Expr:
    """Sum out every ``KroneckerDelta`` in the sums of ``expr``, for an index inside the summation range.

    ``Sum(...).doit()`` would wrap the result in a ``Piecewise`` range guard (or fail); the index a
    gradient is taken for always lies in the range, so ``no_piecewise=True`` is exact here.
    """

    def sum_out(s: sp.Sum) -> sp.Expr:
        if not s.function.has(sp.KroneckerDelta):
            return s
        return deltasummation(sp.expand(s.function), s.limits[0], no_piecewise=True)

    return expr.replace(lambda e: isinstance(e, sp.Sum), sum_out)


class SumAtoms:
    """Splits sums linearly into sums of monomials and names each such sum by a placeholder.

    ``Σᵢ (xᵢ − μ)²`` becomes ``S[x²] − 2μ S[x] + m μ²`` with placeholder symbols ``S[…]``. The same
    monomial summed over any index gets the same placeholder, so ``Σⱼ dyⱼ`` and ``Σᵢ dyᵢ`` agree.
    """

    def __init__(self) -> None:
        self.sums: dict[sp.Symbol, sp.Sum] = {}
        self._by_key: dict[tuple[sp.Expr, sp.Expr, sp.Expr], sp.Symbol] = {}

    def placeholder(self, monomial: sp.Expr, lower: sp.Expr, upper: sp.Expr) -> sp.Symbol:
        key = (monomial, lower, upper)
        if key not in self._by_key:
            symbol = sp.Symbol(f"S[{monomial}]", real=True)
            self._by_key[key] = symbol
            self.sums[symbol] = sp.Sum(monomial.xreplace({CANONICAL: _I}), (_I, lower, upper))
        return self._by_key[key]

    def split(self, s: sp.Sum) -> sp.Expr:
        """One ``Sum`` (whose summand holds no other ``Sum``) as constants times placeholders."""
        if len(s.limits) != 1:
            raise ValueError(f"expected a single summation index, got {s}")
        index, lower, upper = s.limits[0]
        total = sp.Integer(0)
        for term in sp.Add.make_args(sp.expand(s.function)):
            constant, dependent = term.as_independent(index, as_Add=False)
            if dependent == 1:
                total += constant * (upper - lower + 1)
            else:
                total += constant * self.placeholder(dependent.xreplace({index: CANONICAL}), lower, upper)
        return total

    def atomize(self, expr: sp.Expr) -> sp.Expr:
        """``expr`` with every ``Sum`` split, innermost first, into placeholders."""
        return expr.replace(lambda e: isinstance(e, sp.Sum), self.split)

    def restore(self, expr: sp.Expr) -> sp.Expr:
        """Placeholders back to the sums they stand for (with summation index ``i``)."""
        return expr.xreplace(self.sums)


def vanishes(expr: sp.Expr, root: sp.Symbol, square: sp.Expr) -> tuple[bool, sp.Expr]:
    """Decide ``expr == 0`` for a rational ``expr`` in ``root`` where ``root² = square``.

    The numerator of ``cancel(expr)`` is reduced modulo ``root² − square``; a zero remainder shows the
    numerator vanishes wherever the relation holds. Returns (holds, remainder).
    """
    numerator, _ = sp.fraction(sp.cancel(sp.together(expr)))
    remainder = sp.expand(sp.rem(sp.expand(numerator), root**2 - square, root))
    return remainder == 0, remainder


def _half_power(e: sp.Expr) -> bool:
    return e.is_Pow and not e.exp.is_integer and (2 * e.exp).is_integer


def _by_placeholders(expr: sp.Expr) -> tuple[bool, str]:
    atoms = SumAtoms()
    flat = atoms.atomize(resolve_deltas(expr))
    # one canonical form per radicand: (S[x²] − S[x]²/D)/D + ε and ε + S[x²]/D − S[x]²/D² are one
    flat = flat.replace(_half_power, lambda e: sp.Pow(sp.expand(e.base), e.exp))
    if flat.has(sp.Sum, sp.KroneckerDelta, sp.Piecewise):
        return False, f"could not reduce to placeholders: {text(flat)}"
    radicands = {p.base for p in flat.atoms(sp.Pow) if _half_power(p)}
    if len(radicands) > 1:
        return False, f"more than one square root: {', '.join(text(r) for r in radicands)}"
    how = f"sums as {len(atoms.sums)} placeholder symbols"
    if not radicands:
        holds = sp.expand(sp.cancel(sp.together(flat))) == 0
        return holds, f"{how}; cancel(derived − closed) {'= 0' if holds else '≠ 0'}"
    (radicand,) = radicands
    root = sp.Symbol("s", positive=True)
    replaced = flat.replace(lambda e: e.is_Pow and e.base == radicand and (2 * e.exp).is_integer,
                            lambda e: root ** (2 * e.exp))
    holds, remainder = vanishes(replaced, root, radicand)
    how += f", √({text(atoms.restore(radicand))}) as s; numerator reduced modulo s² − radicand"
    return holds, how + (": remainder 0" if holds else f": remainder {text(atoms.restore(remainder))}, not 0")


def _by_atoms(expr: sp.Expr) -> tuple[bool, str, int]:
    # an undefined function (an activation f and its f′ taken as arguments) is an atom too
    # so is a step H(m) of a piecewise-linear loss (the SVM's hinge), once its value at 0 is declared
    atoms = expr.atoms(sp.tanh, sp.exp, sp.log, sp.Heaviside, AppliedUndef, Sigmoid)
    replaced = expr.xreplace({atom: sp.Dummy(positive=isinstance(atom, sp.exp)) for atom in atoms})
    return sp.cancel(replaced) == 0, "cancel", len(atoms)


#: Above this many operations ``simplify`` is not tried: on an unrolled graph it runs for minutes, and
#: an expression that size which does not cancel with independent atoms is reported as not zero.
SIMPLIFY_OPS = 400


def decide_zero(expr: sp.Expr, try_simplify: bool = True) -> tuple[bool, str]:
    """Decide ``expr == 0`` exactly; returns (holds, how it was shown, or what is left).

    With ``try_simplify`` False an expression that does not cancel with independent atoms is not
    zero, without the ``simplify`` fallback (entries of matrices at concrete sizes, where a wrong
    kernel would otherwise send every entry through ``simplify``).
    """
    if expr.has(sp.Sum, sp.Indexed, sp.KroneckerDelta):
        return _by_placeholders(expr)
    if not expr.has(sp.Piecewise):
        holds, _, count = _by_atoms(expr)
        if holds:
            return True, f"{count} atoms (tanh, σ, exp, log, H, f) as independent symbols; cancel(derived − closed) = 0"
        if not try_simplify or sp.count_ops(expr) > SIMPLIFY_OPS:
            return False, f"{count} atoms (tanh, σ, exp, log, H, f) as independent symbols; cancel(derived − closed) ≠ 0"
    folded = sp.piecewise_fold(expr)
    if sp.simplify(folded) == 0:
        return True, "simplify(derived − closed) = 0"
    if sp.simplify(folded.rewrite(sp.exp)) == 0:
        return True, "simplify(rewrite(derived − closed, exp)) = 0"
    return False, f"simplify left {text(sp.simplify(folded))}, not 0"


def matrices_equal(left: sp.Matrix, right: sp.Matrix) -> tuple[bool, str]:
    """Decide entry-wise equality of two matrices of expressions (:func:`decide_zero` on each entry)."""
    start = time.perf_counter()
    if left.shape != right.shape:
        return False, f"shapes differ: {left.shape} and {right.shape}"
    nonzero = []
    how = ""
    for r in range(left.rows):
        for c in range(left.cols):
            holds, how_entry = decide_zero(left[r, c] - right[r, c], try_simplify=False)
            how = how or how_entry
            if not holds:
                nonzero.append((r, c))
    seconds = time.perf_counter() - start
    if nonzero:
        return False, f"entries {nonzero[:4]} differ at {left.rows}×{left.cols} [{seconds:.2f} s]"
    return True, f"entry by entry at {left.rows}×{left.cols}, each: {how or 'no entries'} [{seconds:.2f} s]"


__all__ = ["CANONICAL", "SumAtoms", "decide_zero", "matrices_equal", "resolve_deltas", "vanishes"]
