"""Deciding the RNN's claims: transcendental atoms as symbols, and an exact Laurent-polynomial algebra.

How equality is decided
-----------------------
``simplify`` is far too slow for an unrolled RNN. After differentiation, each transcendental atom is
replaced by a symbol (:class:`Atoms`): tanh(a_t,i) by T, e^{c·u} by E_u^c, a two-branch
``Piecewise((X, a > 0), (Y, True))`` by s·X + (1 − s)·Y with an indicator symbol s per condition.
An identity that holds for independent symbols holds for the actual values, so "difference = 0" is a
proof, and for the indicator it covers every sign pattern at once — the kink a = 0 included, where
s = 0 and both sides take the ``otherwise`` branch, the rules' convention.

Two exact changes of variables keep the result a Laurent polynomial (only monomials in
denominators), which :class:`_Laurent` expands exactly in a few seconds, memoized over the shared
subexpressions of the unrolled graph:

* softmax: e^{o_k} = p_k·Z with Z = Σ_j e^{o_j} and one class (never the target) eliminated by
  p_e = 1 − Σ_{k≠e} p_k. (E_1, …, E_v) ↦ (Z, p without p_e) is a bijection of (0, ∞)ᵛ onto
  Z > 0 × open simplex, so an identity in (Z, p) is an identity in the exponentials;
* sigmoid: e^{−a} = (1 − σ)/σ, a bijection of (0, ∞) onto σ ∈ (0, 1).

Where a denominator is not a monomial (the exp form of tanh in :func:`step_claims`), the atomized
difference is decided by ``sympy.cancel`` instead. A difference that does not vanish is reported
with a numeric witness: both sides evaluated at random numbers with 30 digits.

Used by :mod:`mathnn.rules.rnn_math` and :mod:`mathnn.rules.rnn_bptt`; importing it imports SymPy.
"""

from __future__ import annotations

import operator
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import mpmath
import sympy as sp

from .core import Claim


# -- atoms: transcendental subexpressions replaced by symbols -------------------------------------


class _Unsupported(Exception):
    """An expression the chosen algebra cannot represent (e.g. a non-monomial denominator)."""


class _Laurent:
    """Exact Laurent polynomials over ℚ: dicts from monomial keys to coefficients.

    A monomial ∏ vᵢ^{eᵢ} is the integer Σ eᵢ·Bⁱ with B = 2²⁴ (unique while |eᵢ| < B/2), so a product
    of monomials is the sum of their keys and an inverse is the negated key. Only a single term can
    be inverted; anything else raises :class:`_Unsupported`.
    """

    BASE = 1 << 24

    def __init__(self) -> None:
        self.weights: dict[sp.Symbol, int] = {}

    def symbol(self, s: sp.Symbol) -> dict[int, int]:
        weight = self.weights.get(s)
        if weight is None:
            weight = self.weights[s] = self.BASE ** len(self.weights)
        return {weight: 1}

    @staticmethod
    def const(q: sp.Rational) -> dict[int, int | Fraction]:
        if q == 0:
            return {}
        return {0: int(q.p) if q.q == 1 else Fraction(int(q.p), int(q.q))}

    @staticmethod
    def add(terms: Sequence[dict]) -> dict:
        total: dict = dict(terms[0])
        for poly in terms[1:]:
            for key, coeff in poly.items():
                value = total.get(key, 0) + coeff
                if value:
                    total[key] = value
                else:
                    total.pop(key, None)
        return total

    @staticmethod
    def _mul2(left: dict, right: dict) -> dict:
        if len(left) > len(right):
            left, right = right, left
        product: dict = {}
        get = product.get
        for k1, c1 in left.items():
            for k2, c2 in right.items():
                product[k1 + k2] = get(k1 + k2, 0) + c1 * c2
        return {key: coeff for key, coeff in product.items() if coeff}

    def mul(self, factors: Sequence[dict]) -> dict:
        ordered = sorted(factors, key=len)
        result = ordered[0]
        for poly in ordered[1:]:
            if not result:
                return {}
            result = self._mul2(result, poly)
        return result

    def pow(self, base: dict, exponent: int) -> dict:
        if exponent < 0:
            if len(base) != 1:
                raise _Unsupported("a denominator that is not a monomial")
            (key, coeff), = base.items()
            inverse = Fraction(1, coeff) if isinstance(coeff, int) else 1 / coeff
            return {key * exponent: inverse ** -exponent}
        result: dict = {0: 1}
        square = base
        while exponent:
            if exponent & 1:
                result = self._mul2(result, square)
            exponent >>= 1
            if exponent:
                square = self._mul2(square, square)
        return result

    def subtract(self, left: dict, right: dict) -> dict:
        return self.add([left, {key: -coeff for key, coeff in right.items()}])


class _ExprAlgebra:
    """The same operations on SymPy expressions: the atomized expression itself."""

    @staticmethod
    def symbol(s: sp.Symbol) -> sp.Expr:
        return s

    @staticmethod
    def const(q: sp.Rational) -> sp.Expr:
        return q

    @staticmethod
    def add(terms: Sequence[sp.Expr]) -> sp.Expr:
        return sp.Add(*terms)

    @staticmethod
    def mul(factors: Sequence[sp.Expr]) -> sp.Expr:
        return sp.Mul(*factors)

    @staticmethod
    def pow(base: sp.Expr, exponent: int) -> sp.Expr:
        return sp.Pow(base, exponent)


_EXPR = _ExprAlgebra()


def _canonical_exp(arg: sp.Expr) -> tuple[sp.Rational, sp.Expr]:
    """``arg = c·u`` with u primitive and sign-normalized, so e^{arg} = (e^u)^c names the atom e^u.

    Shallow on purpose: the arguments in an unrolled RNN are large, and a deterministic function of
    the argument is all that is needed (equal arguments give the same atom).
    """
    if arg.is_Add:
        c, u = arg.primitive()
    elif arg.is_Mul:
        c, u = arg.as_coeff_Mul()
    else:
        c, u = sp.Integer(1), arg
    if u.could_extract_minus_sign():
        c, u = -c, -u
    return c, u


class Atoms:
    """Replaces transcendental atoms by symbols, consistently across all expressions it walks.

    * ``tanh(u)`` → a symbol T per distinct u;
    * ``exp(c·u)`` → E_u^c, E_u a symbol per distinct u, unless e^u was given a value with
      :meth:`register_exp` (a change of variables);
    * ``Piecewise((X, cond), (Y, True))`` → s·X + (1 − s)·Y, s a symbol per distinct condition (the
      indicator of cond; an identity in s holds for s ∈ {0, 1}, i.e. for every branch pattern).

    Walks are memoized per algebra over structurally equal subexpressions, so the shared pieces of
    an unrolled graph are visited once. Every symbol introduced is a ``Dummy``, so none can coincide
    with a symbol of the expressions walked.
    """

    def __init__(self) -> None:
        self._exp: dict[sp.Expr, sp.Expr] = {}
        self._tanh: dict[sp.Expr, sp.Symbol] = {}
        self._cond: dict[sp.Expr, sp.Symbol] = {}
        self.laurent = _Laurent()
        self._memo: dict[object, dict[sp.Expr, object]] = {}

    def register_exp(self, arg: sp.Expr, value: sp.Expr) -> None:
        """Declare e^{arg} = ``value`` (an expression in fresh symbols: a change of variables)."""
        c, u = _canonical_exp(arg)
        if abs(c) != 1:
            raise ValueError(f"register e^u for a primitive u, not for {c}·u")
        self._exp[u] = sp.Pow(value, c)

    @property
    def counts(self) -> dict[str, int]:
        """How many atoms of each kind have been named so far."""
        return {"tanh": len(self._tanh), "exp": len(self._exp), "Piecewise": len(self._cond)}

    def _exp_atom(self, u: sp.Expr) -> sp.Expr:
        value = self._exp.get(u)
        if value is None:
            value = self._exp[u] = sp.Dummy(f"E{len(self._exp)}", positive=True)
        return value

    def walk(self, expr: sp.Expr, algebra) -> Any:
        """``expr`` with every atom replaced, built in ``algebra`` (:class:`_Laurent` or Expr).

        The result is the algebra's element: a dict of terms for ``_Laurent``, an Expr otherwise.
        """
        memo = self._memo.setdefault(algebra, {})
        return self._walk(sp.sympify(expr), algebra, memo)

    def _walk(self, e: sp.Expr, algebra, memo: dict) -> object:
        hit = memo.get(e)
        if hit is not None:
            return hit
        if e.is_Symbol:
            result = algebra.symbol(e)
        elif e.is_Rational:
            result = algebra.const(e)
        elif e.is_Add:
            result = algebra.add([self._walk(arg, algebra, memo) for arg in e.args])
        elif e.is_Mul:
            result = algebra.mul([self._walk(arg, algebra, memo) for arg in e.args])
        elif isinstance(e, sp.exp):
            c, u = _canonical_exp(e.args[0])
            if not c.is_Integer:
                raise _Unsupported(f"exp with a fractional multiple of its atom: {e}")
            # The power is taken on the expression first, so (s/(1 − s))^{−1} becomes (1 − s)/s.
            result = self._walk(sp.Pow(self._exp_atom(u), c), algebra, memo)
        elif e.is_Pow and e.exp.is_Integer:
            result = algebra.pow(self._walk(e.base, algebra, memo), int(e.exp))
        elif isinstance(e, sp.tanh):
            symbol = self._tanh.get(e.args[0])
            if symbol is None:
                symbol = self._tanh[e.args[0]] = sp.Dummy(f"T{len(self._tanh)}", real=True)
            result = algebra.symbol(symbol)
        elif isinstance(e, sp.Piecewise) and len(e.args) == 2 and e.args[1].cond is sp.true:
            (then, cond), (otherwise, _) = e.args
            s = self._cond.get(cond)
            if s is None:
                s = self._cond[cond] = sp.Dummy(f"s{len(self._cond)}", real=True)
            one_minus_s = algebra.add([algebra.const(sp.Integer(1)),
                                       algebra.mul([algebra.const(sp.Integer(-1)), algebra.symbol(s)])])
            result = algebra.add([
                algebra.mul([algebra.symbol(s), self._walk(then, algebra, memo)]),
                algebra.mul([one_minus_s, self._walk(otherwise, algebra, memo)]),
            ])
        else:
            raise _Unsupported(f"no rule to atomize {type(e).__name__}: {e}")
        memo[e] = result
        return result


# -- deciding derived == closed, entry by entry ----------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """The outcome of :func:`decide`: whether every pair is equal, how it was shown, where not."""

    holds: bool
    how: str
    failed: str | None = None


_COMPARE = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
_MPMATH = {sp.exp: mpmath.exp, sp.tanh: mpmath.tanh, sp.log: mpmath.log}


def _number(e: sp.Expr, values: dict, memo: dict) -> mpmath.mpf:
    """``e`` at the given mpmath numbers, each distinct subexpression evaluated once."""
    hit = memo.get(e)
    if hit is not None:
        return hit
    if e.is_Symbol:
        result = values[e]
    elif e.is_Number:
        result = e._to_mpmath(mpmath.mp.prec)
    elif e.is_Add:
        result = mpmath.fsum(_number(arg, values, memo) for arg in e.args)
    elif e.is_Mul:
        result = mpmath.fprod(_number(arg, values, memo) for arg in e.args)
    elif e.is_Pow:
        result = _number(e.base, values, memo) ** _number(e.exp, values, memo)
    elif e.func in _MPMATH:
        result = _MPMATH[e.func](_number(e.args[0], values, memo))
    elif isinstance(e, sp.Piecewise):
        for value, cond in e.args:
            if cond is sp.true or _COMPARE[cond.rel_op](_number(cond.lhs, values, memo),
                                                        _number(cond.rhs, values, memo)):
                result = _number(value, values, memo)
                break
    else:
        raise _Unsupported(f"no numeric rule for {type(e).__name__}")
    memo[e] = result
    return result


def _witness(derived: sp.Expr, closed: sp.Expr, binary: frozenset = frozenset(), tries: int = 4) -> str:
    """Both sides at random numbers (30 digits): a nonzero gap refutes the claim outright.

    Symbols in ``binary`` (sign-pattern indicators) are drawn from {0, 1}. Up to ``tries`` points
    are drawn (seeds 0, 1, …) until the sides differ.
    """
    symbols = sorted(derived.free_symbols | closed.free_symbols, key=sp.default_sort_key)
    for seed in range(tries):
        rng = random.Random(seed)

        def draw(s: sp.Symbol, rng: random.Random = rng) -> float:
            if s in binary:
                return float(rng.randint(0, 1))
            return rng.uniform(0.1, 0.9) if s.is_positive else rng.uniform(-0.9, 0.9)

        with mpmath.workdps(30):
            values = {s: mpmath.mpf(draw(s)) for s in symbols}
            memo: dict = {}
            try:
                left, right = _number(derived, values, memo), _number(closed, values, memo)
            except _Unsupported as error:
                return f"no numeric witness ({error})"
            differs = abs(left - right) > 1e-20 * (1 + abs(left))
        if differs:
            return (f"at random numbers (seed {seed}) derived = {float(left):.10g}, closed form = "
                    f"{float(right):.10g}: refuted")
    return f"numerically equal at {tries} random points (undecided)"


def decide(pairs: Iterable[tuple[str, sp.Expr, sp.Expr]], atoms: Atoms | None = None,
           binary: Iterable[sp.Symbol] = ()) -> Decision:
    """Decide ``derived == closed`` for every (label, derived, closed), atoms replaced by symbols.

    Each difference is expanded exactly as a Laurent polynomial in the atom symbols and the plain
    symbols; where a denominator is not a monomial, the atomized difference goes to
    ``sympy.cancel``. Stops at the first pair that differs, names it and evaluates both sides at
    random numbers (``binary`` symbols, e.g. sign-pattern indicators, drawn from {0, 1}).
    """
    binary = frozenset(binary)
    atoms = atoms or Atoms()
    laurent = atoms.laurent
    expr_algebra = _EXPR
    used = {"Laurent": 0, "cancel": 0}
    count = 0
    for label, derived, closed in pairs:
        count += 1
        try:
            zero = not laurent.subtract(atoms.walk(derived, laurent), atoms.walk(closed, laurent))
            used["Laurent"] += 1
        except _Unsupported:
            try:
                difference = atoms.walk(derived, expr_algebra) - atoms.walk(closed, expr_algebra)
            except _Unsupported as error:
                return Decision(False, f"{label}: undecided, {error}", label)
            zero = sp.cancel(difference) == 0
            used["cancel"] += 1
        if not zero:
            witness = _witness(derived, closed, binary)
            return Decision(False, f"{label}: the atomized difference is not 0; {witness}", label)
    counts = ", ".join(f"{k} {v}" for k, v in atoms.counts.items() if v) or "none"
    ways = " and ".join(
        f"{v} by {'exact Laurent-polynomial expansion' if k == 'Laurent' else 'sympy.cancel'}"
        for k, v in used.items() if v
    )
    return Decision(True, f"all {count} entries equal; atoms named: {counts}; {ways}")


class _Clock:
    """Wall-clock and CPU seconds since creation (the CPU figure is what other load cannot inflate)."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def __str__(self) -> str:
        return f"(CPU {time.process_time() - self.cpu:.2f} s) [{time.perf_counter() - self.wall:.2f} s]"


def _timed(statement: str, latex: str, decide_it: Callable[[], tuple[bool, str]]) -> Claim:
    clock = _Clock()
    holds, how = decide_it()
    return Claim(statement, latex, f"{how} {clock}", bool(holds))


