"""The vanilla RNN, symbolically: one step, softmax cross-entropy and backpropagation through time.

The lecture's column form, with hidden size n, input size d and vocabulary size v::

    a_t = W_hh h_{t−1} + W_xh x_t + b          h_t = f(a_t)           h ∈ ℝⁿ, x ∈ ℝᵈ
    o_t = W_hy h_t + b_y                        p_t = softmax(o_t)     o, p ∈ ℝᵛ
    L   = −Σ_t log p_t[target_t]

Everything is worked at CONCRETE sizes with ``sympy.Matrix`` of plain real symbols and scalar
``sympy.diff`` (``MatrixSymbol.diff`` is never used: it is wrong for exactly these expressions, see
the design note). ``MatrixSymbol`` appears only in :func:`derivation_steps`, for display.

Claims
------
* :func:`step_claims` — one recurrence step with upstream gradient dh and L = dhᵀh_t: the derivative
  SymPy takes of L by every entry of W_hh, W_xh, b, h_{t−1}, x_t equals the matrix forms
  δ = dh ⊙ f′(a), δ h_{t−1}ᵀ, δ x_tᵀ, δ, W_hhᵀδ, W_xhᵀδ. The activation f and the derivative f′ are
  the rules of :mod:`mathnn.rules.activations` (``rule.forward`` and ``rule.derived_gradient``).
* :func:`softmax_ce_claim` — ∂(−log softmax(o)[k])/∂o = p − onehot(k) for every class k, and the
  loss is invariant to shifting o (the stable log-sum-exp form the kernels use).
* :func:`bptt_claim` — the gradient of the unrolled loss by every parameter, h_0 and every x_t
  equals the matrix-form backward recursion (:func:`backward`); a wrong recursion can be passed in.

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

Nothing here is imported on the numeric path; importing this module imports SymPy.
"""

from __future__ import annotations

import operator
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import Any, TypedDict

import mpmath
import sympy as sp

from ..errors import InputError
from . import activations
from .core import Claim
from .scalar import Rule
from .textprint import text

__all__ = [
    "ACTIVATIONS", "VARIANTS", "Atoms", "Decision", "Step", "Unrolled", "activation_derivative",
    "activation_forward", "backward", "bptt_claim", "decide", "derivation_steps", "derived_gradients",
    "prove", "softmax_ce_claim", "step_claims", "unroll",
]

#: The activations an RNN step can use, each a rule of :mod:`mathnn.rules.activations`.
ACTIVATIONS = ("tanh", "sigmoid", "relu", "leaky_relu")

class Sizes(TypedDict):
    """Sizes of an unrolled RNN, as keyword arguments of :func:`bptt_claim`."""

    n: int
    d: int
    v: int
    T: int


#: Default sizes of :func:`bptt_claim` and the small ones used with ``fast=True`` and in the tests.
DEFAULT_SIZES: Sizes = {"n": 3, "d": 2, "v": 2, "T": 4}
FAST_SIZES: Sizes = {"n": 2, "d": 1, "v": 2, "T": 3}

_x = activations.x  # the rules' input symbol

# -- activations: forward and derivative taken from the rules -------------------------------------


def _rule(name: str) -> Rule:
    for rule in activations.RULES:
        if rule.name == name:
            return rule
    raise InputError(f"activation: expected one of {', '.join(ACTIVATIONS)}; received {name!r}")


@cache
def _derived(name: str) -> sp.Expr:
    """The rule's f′(x) as SymPy derives it from the rule's graph (cached: derivation takes a moment)."""
    return _rule(name).derived_gradient(_x)


def activation_forward(name: str, a: sp.Expr, compact: bool = False) -> sp.Expr:
    """f(a) for the activation ``name``: the rule's forward expression with x := a.

    With ``compact``, tanh is written as ``sympy.tanh(a)`` instead of the rule's
    (e^a − e^{−a})/(e^a + e^{−a}), which names a four times and so grows as 4^T when unrolled;
    :func:`bptt_claim` shows the two are equal before using it.
    """
    if compact and name == "tanh":
        return sp.tanh(a)
    return _rule(name).forward.xreplace({_x: a})


def activation_derivative(name: str, a: sp.Expr, closed: bool = False) -> sp.Expr:
    """f′(a) for the activation ``name``, taken from the rule.

    By default the derivative SymPy derives from the rule's graph (``rule.derived_gradient``). With
    ``closed``, the rule's proven textbook closed form (1 − tanh², σ(1 − σ), the piecewise slopes)
    with its output node written as :func:`activation_forward` ``(compact=True)``.
    """
    rule = _rule(name)
    if not closed:
        return _derived(name).xreplace({_x: a})
    out = sp.Dummy("f")
    form = rule.expand(rule.closed_forms[_x].xreplace({rule.output: out}))
    return form.xreplace({_x: a, out: activation_forward(name, a, compact=True)})


def _sigmoid_atoms(atoms: Atoms, a: sp.Matrix, label: str) -> None:
    """Register e^{−a_i} = (1 − σ_i)/σ_i, so σ(a_i) = 1/(1 + e^{−a_i}) becomes the symbol σ_i."""
    for i, entry in enumerate(a):
        s = sp.Dummy(f"sigma_{label}{i}", positive=True)
        atoms.register_exp(-entry, (1 - s) / s)


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


# -- concrete matrices of plain symbols ------------------------------------------------------------


def _matrix(name: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda r, c: sp.Symbol(f"{name}[{r},{c}]", real=True))


def _vector(name: str, rows: int) -> sp.Matrix:
    return sp.Matrix(rows, 1, lambda r, _: sp.Symbol(f"{name}[{r}]", real=True))


def _hadamard(left: sp.Matrix, right: sp.Matrix) -> sp.Matrix:
    return left.multiply_elementwise(right)


def _check_sizes(**sizes: int) -> None:
    for name, value in sizes.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InputError(f"{name}: expected a positive int; received {value!r}")


def _entries(label: str, derived: sp.Matrix, closed: sp.Matrix) -> list[tuple[str, sp.Expr, sp.Expr]]:
    if derived.shape != closed.shape:
        raise InputError(f"{label}: closed form has shape {closed.shape}, expected {derived.shape}")
    return [
        (f"∂L/∂{label}[{r},{c}]" if derived.cols > 1 else f"∂L/∂{label}[{r}]", derived[r, c], closed[r, c])
        for r in range(derived.rows) for c in range(derived.cols)
    ]


# -- 1. one recurrence step ------------------------------------------------------------------------


def step_claims(activation: str = "tanh", n: int = 2, d: int = 2) -> list[Claim]:
    """One step h_t = f(W_hh h_{t−1} + W_xh x_t + b) with L = dhᵀh_t: SymPy's gradients are the matrix forms.

    f is the rule's forward and f′ the derivative SymPy derives from the rule
    (:mod:`mathnn.rules.activations`), both at a = W_hh h_{t−1} + W_xh x_t + b.

    Returns
    -------
    list of Claim
        One claim per gradient: dW_hh = δh_{t−1}ᵀ, dW_xh = δx_tᵀ, db = δ, dh_{t−1} = W_hhᵀδ,
        dx_t = W_xhᵀδ, each with δ = dh ⊙ f′(a) and checked for every entry; for tanh one more
        claim that δ = dh ⊙ (1 − h_t ⊙ h_t), the derivative written with the output.
    """
    _check_sizes(n=n, d=d)
    _rule(activation)
    W_hh, W_xh = _matrix("W_hh", n, n), _matrix("W_xh", n, d)
    b, h_prev, x_t, dh = _vector("b", n), _vector("h_prev", n), _vector("x", d), _vector("dh", n)
    a = W_hh * h_prev + W_xh * x_t + b
    h = a.applyfunc(lambda entry: activation_forward(activation, entry))
    loss = (dh.T * h)[0, 0]
    delta = _hadamard(dh, a.applyfunc(lambda entry: activation_derivative(activation, entry)))
    wrt = {"W_hh": W_hh, "W_xh": W_xh, "b": b, "h_prev": h_prev, "x": x_t}
    closed = {
        "W_hh": delta * h_prev.T, "W_xh": delta * x_t.T, "b": delta,
        "h_prev": W_hh.T * delta, "x": W_xh.T * delta,
    }
    shown = {
        "W_hh": ("δ·h_{t−1}ᵀ", r"\delta\, h_{t-1}^{T}"), "W_xh": ("δ·x_tᵀ", r"\delta\, x_{t}^{T}"),
        "b": ("δ", r"\delta"), "h_prev": ("W_hhᵀ·δ", r"W_{hh}^{T} \delta"),
        "x": ("W_xhᵀ·δ", r"W_{xh}^{T} \delta"),
    }
    latex_wrt = {"W_hh": "W_{hh}", "W_xh": "W_{xh}", "b": "b", "h_prev": "h_{t-1}", "x": "x_{t}"}
    text_wrt = {"W_hh": "W_hh", "W_xh": "W_xh", "b": "b", "h_prev": "h_{t−1}", "x": "x_t"}

    def atoms_for_step() -> Atoms:
        atoms = Atoms()
        if activation == "sigmoid":
            _sigmoid_atoms(atoms, a, "a")
        return atoms

    how_pw = ""
    if activation in ("relu", "leaky_relu"):
        kink = _derived(activation).xreplace({_x: 0})
        how_pw = (
            f"; f′ is the rule's Piecewise (f′(0) = {text(kink)}, the rule's kink convention) and each "
            "Piecewise((X, a_i > 0), (Y, True)) became s_i·X + (1 − s_i)·Y: an identity in the indicator "
            "s_i holds for s_i ∈ {0, 1}, i.e. for every sign pattern of a, a_i = 0 included"
        )
    how_at = {
        "tanh": "; e^{±a_i} named E_i^{±1}",
        "sigmoid": "; e^{−a_i} = (1 − σ_i)/σ_i (a change of variables, σ_i ∈ (0, 1))",
    }.get(activation, "")
    size = f"n={n}, d={d}"
    claims = []
    for key, matrix in wrt.items():

        def run(matrix=matrix, key=key) -> tuple[bool, str]:
            derived = matrix.applyfunc(lambda s: sp.diff(loss, s))
            decision = decide(_entries(text_wrt[key], derived, closed[key]), atoms_for_step())
            return decision.holds, f"sympy.diff of L by each entry; {decision.how}{how_at}{how_pw}"

        claims.append(_timed(
            f"{activation} step ({size}), L = dhᵀh_t: ∂L/∂{text_wrt[key]} = {shown[key][0]} with "
            f"δ = dh ⊙ {activation}′(a), every entry",
            rf"\frac{{\partial L}}{{\partial {latex_wrt[key]}}} = {shown[key][1]},\quad "
            rf"\delta = dh \odot f'(a)",
            run,
        ))
    if activation == "tanh":
        delta_out = _hadamard(dh, h.applyfunc(lambda entry: 1 - entry**2))

        def run_output() -> tuple[bool, str]:
            pairs = [(f"f′(a[{i}]) vs 1 − h[{i}]²", activation_derivative("tanh", a[i]), 1 - h[i] ** 2)
                     for i in range(n)]
            for key, matrix in wrt.items():
                derived = matrix.applyfunc(lambda s: sp.diff(loss, s))
                expected = {
                    "W_hh": delta_out * h_prev.T, "W_xh": delta_out * x_t.T, "b": delta_out,
                    "h_prev": W_hh.T * delta_out, "x": W_xh.T * delta_out,
                }[key]
                pairs += _entries(text_wrt[key], derived, expected)
            decision = decide(pairs, Atoms())
            return decision.holds, (
                "the rule's derived f′ equals 1 − h² entry by entry, and sympy.diff of L by every entry "
                f"equals the five forms with δ = dh ⊙ (1 − h_t²); {decision.how}{how_at}"
            )

        claims.append(_timed(
            f"tanh step ({size}): f′(a) = 1 − h_t², so δ = dh ⊙ (1 − h_t ⊙ h_t) — the backward pass "
            "needs only the output h_t, not a",
            r"\tanh'(a) = 1 - h_{t}^{\circ 2},\quad \delta = dh \odot \left(1 - h_{t}^{\circ 2}\right)",
            run_output,
        ))
    return claims


# -- 2. softmax cross-entropy ----------------------------------------------------------------------


def _softmax_atoms(atoms: Atoms, o: sp.Matrix, target: int, label: str) -> None:
    """Register e^{o_k} = p_k·Z with Σ p = 1 by eliminating a class other than ``target``."""
    v = o.rows
    if v < 2:
        return
    eliminated = (target + 1) % v
    z = sp.Dummy(f"Z_{label}", positive=True)
    p = [sp.Dummy(f"p_{label}{k}", positive=True) for k in range(v)]
    rest = sp.Add(*[p[k] for k in range(v) if k != eliminated])
    for k in range(v):
        atoms.register_exp(o[k], ((1 - rest) if k == eliminated else p[k]) * z)


def _softmax(o: sp.Matrix) -> sp.Matrix:
    exps = o.applyfunc(sp.exp)
    return exps / sp.Add(*exps)


def _onehot(k: int, v: int) -> sp.Matrix:
    return sp.Matrix(v, 1, lambda r, _: 1 if r == k else 0)


def softmax_ce_claim(v: int = 3, gradient: Callable[[sp.Matrix, sp.Matrix], sp.Matrix] | None = None) -> Claim:
    """∂(−log softmax(o)[k])/∂o = p − onehot(k) for every class k, and shift invariance of the loss.

    Parameters
    ----------
    v : int
        Number of classes.
    gradient : callable (p, y) -> Matrix, optional
        The closed form to check instead of p − y (e.g. ``lambda p, y: y - p`` fails).

    Returns
    -------
    Claim
        Holds when the gradient matches for every k and L(o − c) written as the stable
        log Σ_j e^{o_j − c} − (o_k − c) equals −log p_k for every real c.
    """
    _check_sizes(v=v)
    closed_form = gradient or (lambda p, y: p - y)

    def run() -> tuple[bool, str]:
        o = _vector("o", v)
        p = _softmax(o)
        c = sp.Symbol("c", real=True)
        pairs_checked = 0
        for k in range(v):
            loss = -sp.log(p[k])
            derived = o.applyfunc(lambda s, loss=loss: sp.diff(loss, s))
            atoms = Atoms()
            _softmax_atoms(atoms, o, k, "o")
            decision = decide(_entries(f"o (target {k})", derived, closed_form(p, _onehot(k, v))), atoms)
            if not decision.holds:
                return False, f"sympy.diff of −log p_k by each o_j: {decision.how}"
            pairs_checked += v
        # Shift invariance: d/dc of the stable form is 0, and at c = 0 it is −log p_k.
        shift_how = []
        for k in range(v):
            stable = sp.log(sp.Add(*[sp.exp(o[j] - c) for j in range(v)])) - (o[k] - c)
            slope = decide([(f"∂/∂c (target {k})", sp.diff(stable, c), sp.Integer(0))])
            at_zero = sp.expand_log(stable.subs(c, 0) - (-sp.log(p[k])), force=True)
            if not slope.holds or sp.simplify(at_zero) != 0:
                return False, f"shift invariance fails for target {k}: {slope.how}; at c = 0: {text(at_zero)}"
            shift_how.append(slope.how)
        return True, (
            f"sympy.diff of −log softmax(o)[k] by each o_j, for all {v} targets ({pairs_checked} entries): "
            "e^{o_j} = p_j·Z with Z = Σ e^{o} and one non-target p eliminated by Σ p = 1, difference "
            "expanded exactly as a Laurent polynomial = 0; shift: d/dc[log Σ e^{o_j − c} − (o_k − c)] is 0 "
            "with each e^{o_j − c} an independent atom, and at c = 0 expand_log(force=True, all "
            "arguments positive) turns the stable form into −log p_k, so it equals −log p_k for every c"
        )

    name = "p − onehot(k)" if gradient is None else "the given closed form"
    return _timed(
        f"softmax cross-entropy (v={v}): ∂(−log softmax(o)[k])/∂o = {name} for every target k, and "
        "log Σ_j e^{o_j − c} − (o_k − c) = −log p_k for every c (the stable log-sum-exp)",
        r"\frac{\partial}{\partial o}\left(-\log \mathrm{softmax}(o)_{k}\right) = p - e_{k},\quad "
        r"\log\sum_{j} e^{o_{j}-c} - (o_{k}-c) = -\log p_{k}",
        run,
    )


# -- 3. backpropagation through time ---------------------------------------------------------------


@dataclass(frozen=True)
class Unrolled:
    """The RNN unrolled over T steps at concrete sizes, every quantity a Matrix of expressions.

    Lists indexed by time hold steps 1…T at positions 0…T−1, except ``h`` which holds h_0…h_T.
    ``fprime[t]`` is f′(a_{t+1}) from the rule's closed form; ``loss`` is −Σ_t log p_t[target_t] as
    written, ``loss_expanded`` the same after ``expand_log(force=True)`` of each log:
    Σ_t (log Σ_k e^{o_t,k} − o_t,target) (every argument is positive, so the rewriting is exact).
    With ``sign_pattern`` (relu, leaky_relu), each unit's Piecewise is written for the open region
    where its indicator s_t,i = [a_t,i > 0] is fixed: h = s·a + (1 − s)·(value for a ≤ 0), f′ likewise.
    """

    activation: str
    n: int
    d: int
    v: int
    T: int
    targets: tuple[int, ...]
    W_hh: sp.Matrix
    W_xh: sp.Matrix
    b: sp.Matrix
    W_hy: sp.Matrix
    b_y: sp.Matrix
    h0: sp.Matrix
    x: tuple[sp.Matrix, ...]
    a: tuple[sp.Matrix, ...]
    h: tuple[sp.Matrix, ...]
    o: tuple[sp.Matrix, ...]
    p: tuple[sp.Matrix, ...]
    y: tuple[sp.Matrix, ...]
    fprime: tuple[sp.Matrix, ...]
    loss: sp.Expr
    loss_expanded: sp.Expr
    sign_pattern: bool = False
    s: tuple[sp.Matrix, ...] = ()

    @property
    def indicators(self) -> frozenset[sp.Symbol]:
        """The sign-pattern indicator symbols s_t,i (empty unless ``sign_pattern``)."""
        return frozenset(symbol for matrix in self.s for symbol in matrix)

    def parameters(self) -> dict[str, sp.Matrix]:
        """Everything the gradient is taken with respect to, by name: W_hh … h_0, x_1 … x_T."""
        named = {"W_hh": self.W_hh, "W_xh": self.W_xh, "b": self.b, "W_hy": self.W_hy, "b_y": self.b_y,
                 "h_0": self.h0}
        named.update({f"x_{t + 1}": x_t for t, x_t in enumerate(self.x)})
        return named

    def atoms(self) -> Atoms:
        """Atoms with the changes of variables of this unrolling registered (softmax, sigmoid)."""
        atoms = Atoms()
        for t in range(self.T):
            _softmax_atoms(atoms, self.o[t], self.targets[t], str(t + 1))
            if self.activation == "sigmoid":
                _sigmoid_atoms(atoms, self.a[t], str(t + 1))
        return atoms


def _on_region(expr: sp.Expr, s: sp.Symbol) -> sp.Expr:
    """``Piecewise((X, a > 0), (Y, True))`` as s·X + (1 − s)·Y: its value where the indicator s is fixed."""
    return expr.replace(
        lambda e: isinstance(e, sp.Piecewise),
        lambda e: s * e.args[0].expr + (1 - s) * e.args[1].expr,
    )


def unroll(n: int = 3, d: int = 2, v: int = 2, T: int = 4, activation: str = "tanh",
           targets: Sequence[int] | None = None, sign_pattern: bool = True) -> Unrolled:
    """Build the unrolled forward pass from symbols h_0, x_1…x_T and the parameters.

    ``targets`` are fixed class indices, one per step (default t mod v). ``sign_pattern`` only
    matters for relu and leaky_relu: see :class:`Unrolled`; without it the rule's Piecewise is kept
    (SymPy then differentiates the Piecewise itself, which is far slower: see :func:`bptt_claim`).
    """
    _check_sizes(n=n, d=d, v=v, T=T)
    _rule(activation)
    piecewise = activation in ("relu", "leaky_relu")
    sign_pattern = bool(sign_pattern and piecewise)
    targets = tuple(t % v for t in range(T)) if targets is None else tuple(targets)
    if len(targets) != T or not all(isinstance(k, int) and 0 <= k < v for k in targets):
        raise InputError(f"targets: expected {T} class indices in 0…{v - 1}; received {targets!r}")
    W_hh, W_xh, b = _matrix("W_hh", n, n), _matrix("W_xh", n, d), _vector("b", n)
    W_hy, b_y, h0 = _matrix("W_hy", v, n), _vector("b_y", v), _vector("h0", n)
    xs = tuple(_vector(f"x{t + 1}", d) for t in range(T))
    a_s, hs, os, ps, ys, fps, indicators = [], [h0], [], [], [], [], []
    loss = sp.Integer(0)
    expanded = sp.Integer(0)
    if sign_pattern:
        # Written once in the rules' x, then x := a_t,i: factor_terms turns s·x + (1 − s)·αx into
        # x·(s + α(1 − s)), so a_t,i appears once and the unrolled tree does not double per step.
        indicator = sp.Dummy("s", real=True)
        region_forward = sp.factor_terms(_on_region(activation_forward(activation, _x), indicator))
        region_derivative = sp.factor_terms(_on_region(activation_derivative(activation, _x, closed=True),
                                                       indicator))
    for t in range(T):
        a = W_hh * hs[-1] + W_xh * xs[t] + b
        h = a.applyfunc(lambda entry: activation_forward(activation, entry, compact=True))
        fp = a.applyfunc(lambda entry: activation_derivative(activation, entry, closed=True))
        if sign_pattern:
            s = _vector(f"s{t + 1}", n)
            indicators.append(s)
            h = sp.Matrix(n, 1, [region_forward.xreplace({_x: a[i], indicator: s[i]}) for i in range(n)])
            fp = sp.Matrix(n, 1, [region_derivative.xreplace({_x: a[i], indicator: s[i]}) for i in range(n)])
        o = W_hy * h + b_y
        p = _softmax(o)
        log_p = sp.log(p[targets[t]])
        loss += -log_p
        expanded += -sp.expand_log(log_p, force=True, deep=False)
        a_s.append(a)
        hs.append(h)
        os.append(o)
        ps.append(p)
        ys.append(_onehot(targets[t], v))
        fps.append(fp)
    return Unrolled(activation, n, d, v, T, targets, W_hh, W_xh, b, W_hy, b_y, h0, xs, tuple(a_s),
                    tuple(hs), tuple(os), tuple(ps), tuple(ys), tuple(fps), loss, expanded, sign_pattern,
                    tuple(indicators))


def derived_gradients(u: Unrolled, literal: bool = False) -> dict[str, sp.Matrix]:
    """∂L/∂(every entry) of the unrolled loss by scalar ``sympy.diff``, named as :meth:`Unrolled.parameters`.

    Differentiates ``u.loss_expanded`` (log Σ e^{o} − o_target per step), or with ``literal`` the loss as
    written, −Σ log(e^{o_k}/Σ e^{o}), which SymPy differentiates about 2.5× slower.
    """
    loss = u.loss if literal else u.loss_expanded
    return {name: m.applyfunc(lambda s: sp.diff(loss, s)) for name, m in u.parameters().items()}


#: Common BPTT mistakes :func:`backward` can make on purpose, and what each one does.
VARIANTS: dict[str | None, str] = {
    None: "the textbook recursion",
    "no_accumulation": "dh_t = W_hyᵀ(p_t − y_t) only: the gradient arriving from step t+1 through W_hh is dropped",
    "dW_hh_transposed": "dW_hh = Σ_t h_{t−1} δ_tᵀ: the outer product taken the wrong way round",
    "dW_hh_uses_h_t": "dW_hh = Σ_t δ_t h_tᵀ: the current state used instead of the previous one",
    "softmax_sign": "the output gradient taken as onehot − p instead of p − onehot",
}


def backward(u: Unrolled, variant: str | None = None) -> dict[str, sp.Matrix]:
    """The matrix-form backward recursion (or one of the :data:`VARIANTS` mistakes).

    dh_T = W_hyᵀ(p_T − y_T); dh_t = W_hyᵀ(p_t − y_t) + W_hhᵀ δ_{t+1}; δ_t = dh_t ⊙ f′(a_t);
    dW_hh = Σ δ_t h_{t−1}ᵀ, dW_xh = Σ δ_t x_tᵀ, db = Σ δ_t, dW_hy = Σ (p_t − y_t) h_tᵀ,
    db_y = Σ (p_t − y_t), dh_0 = W_hhᵀ δ_1, dx_t = W_xhᵀ δ_t.
    """
    if variant not in VARIANTS:
        raise InputError(f"variant: expected one of {list(VARIANTS)}; received {variant!r}")
    n, d, v, T = u.n, u.d, u.v, u.T
    dW_hh, dW_xh, db = sp.zeros(n, n), sp.zeros(n, d), sp.zeros(n, 1)
    dW_hy, db_y = sp.zeros(v, n), sp.zeros(v, 1)
    deltas: list[sp.Matrix] = [sp.zeros(n, 1)] * T
    from_next = sp.zeros(n, 1)
    for t in reversed(range(T)):
        g = (u.y[t] - u.p[t]) if variant == "softmax_sign" else (u.p[t] - u.y[t])
        dh = u.W_hy.T * g
        if variant != "no_accumulation":
            dh = dh + u.W_hh.T * from_next
        delta = _hadamard(dh, u.fprime[t])
        deltas[t] = from_next = delta
        h_prev, h_t = u.h[t], u.h[t + 1]
        if variant == "dW_hh_transposed":
            dW_hh += h_prev * delta.T
        elif variant == "dW_hh_uses_h_t":
            dW_hh += delta * h_t.T
        else:
            dW_hh += delta * h_prev.T
        dW_xh += delta * u.x[t].T
        db += delta
        dW_hy += g * h_t.T
        db_y += g
    grads = {"W_hh": dW_hh, "W_xh": dW_xh, "b": db, "W_hy": dW_hy, "b_y": db_y, "h_0": u.W_hh.T * deltas[0]}
    grads.update({f"x_{t + 1}": u.W_xh.T * deltas[t] for t in range(T)})
    return grads


def _tanh_is_the_rule() -> tuple[bool, str]:
    difference = (activation_forward("tanh", _x) - sp.tanh(_x)).rewrite(sp.exp)
    holds = sp.simplify(difference) == 0
    return holds, "sympy.tanh(a) = the tanh rule's (e^a − e^{−a})/(e^a + e^{−a}) (simplify after rewrite(exp) = 0)"


#: Unrolled graphs and their sympy.diff gradients, by (n, d, v, T, activation, targets): differentiating
#: dominates the time of :func:`bptt_claim`, and checking several recursions needs it only once.
_DIFFERENTIATED: dict[tuple, tuple[Unrolled, dict[str, sp.Matrix], float, float]] = {}


def bptt_claim(n: int = 3, d: int = 2, v: int = 2, T: int = 4, activation: str = "tanh",
               recursion: str | Callable[[Unrolled], dict[str, sp.Matrix]] | None = None,
               targets: Sequence[int] | None = None, literal_loss: bool = False,
               sign_pattern: bool = True) -> Claim:
    """The gradient of the unrolled loss by every entry equals the matrix-form BPTT recursion.

    Parameters
    ----------
    n, d, v, T : int
        Hidden size, input size, vocabulary size, number of steps.
    activation : {'tanh', 'sigmoid', 'relu', 'leaky_relu'}
        The hidden activation, from :mod:`mathnn.rules.activations`.
    recursion : str or callable, optional
        ``None`` for :func:`backward`; a name in :data:`VARIANTS` for one of the common mistakes; or a
        function ``Unrolled -> dict`` giving a gradient for every name of :meth:`Unrolled.parameters`.
    targets : sequence of int, optional
        The class index at each step (default t mod v).
    literal_loss : bool
        Differentiate −Σ log(e^{o_k}/Σ e^{o}) as written instead of its ``expand_log`` form
        Σ (log Σ e^{o} − o_k) (same function; about 2.5× slower to differentiate).
    sign_pattern : bool
        relu, leaky_relu only: differentiate the forward written for a fixed sign pattern (indicator
        symbols, every pattern at once) instead of the rule's Piecewise. SymPy's diff of the nested
        Piecewise works but takes over a minute already at n=2, d=1, v=2, T=3.

    Returns
    -------
    Claim
        Its method gives the time to build, to differentiate, to decide, and in total. The
        differentiated graph is kept for the process, so checking another recursion at the same
        sizes reuses it (the method says so).
    """
    clock = _Clock()
    start = clock.wall
    key = (n, d, v, T, activation, None if targets is None else tuple(targets), literal_loss,
           sign_pattern and activation in ("relu", "leaky_relu"))
    reused = key in _DIFFERENTIATED
    if not reused:
        u = unroll(n, d, v, T, activation, targets, sign_pattern)
        built = time.perf_counter()
        _DIFFERENTIATED[key] = (u, derived_gradients(u, literal_loss), built - start,
                                time.perf_counter() - built)
    u, derived, build_seconds, diff_seconds = _DIFFERENTIATED[key]
    differentiated = time.perf_counter()
    if recursion is None or isinstance(recursion, str):
        closed = backward(u, recursion)
        which = VARIANTS[recursion]
    else:
        closed = recursion(u)
        which = getattr(recursion, "__name__", "the given recursion")
    missing = set(derived) - set(closed)
    if missing:
        raise InputError(f"recursion: no gradient for {sorted(missing)}")
    pairs = [pair for name in derived for pair in _entries(name, derived[name], closed[name])]
    notes = []
    holds_extra = True
    if activation == "tanh":
        holds_extra, note = _tanh_is_the_rule()
        notes.append(note)
    if activation == "sigmoid":
        notes.append("e^{−a_t,i} = (1 − σ)/σ (a change of variables)")
    if u.sign_pattern:
        notes.append(
            "per sign pattern: on the open region where s_t,i = [a_t,i > 0] is fixed, the rule's Piecewise "
            "forward and derivative are s·(a > 0 branch) + (1 − s)·(otherwise branch), differentiated with "
            "s constant; an identity in the symbols s covers every pattern (at a kink a_t,i = 0 the "
            "derivative does not exist and the rule's convention is what f′ states)")
    elif activation in ("relu", "leaky_relu"):
        notes.append("SymPy differentiated the rule's Piecewise; each Piecewise on a_t,i > 0 → s·X + (1 − s)·Y "
                     "with an indicator symbol s (all sign patterns at once, a = 0 in the otherwise branch)")
    decision = decide(pairs, u.atoms(), binary=u.indicators)
    decided = time.perf_counter()
    loss_how = ("L as written, −Σ_t log(e^{o_t,k}/Σ_j e^{o_t,j})" if literal_loss else
                "L = −Σ_t log p_t[target_t] after expand_log(force=True; all arguments positive), "
                "i.e. Σ_t (log Σ_j e^{o_t,j} − o_t,target)")
    how = (
        f"unrolled forward built in {build_seconds:.2f} s; sympy.diff of {loss_how} by each of the "
        f"{len(pairs)} entries in {diff_seconds:.2f} s{' (done earlier in this process, reused)' if reused else ''}; "
        f"f′ = the {activation} rule's closed form; "
        + ("; ".join(notes) + "; " if notes else "")
        + "softmax: e^{o_t,k} = p_t,k·Z_t with one non-target class eliminated by Σ_k p_t,k = 1; "
        f"{decision.how} in {decided - differentiated:.2f} s"
    )
    size = f"n={n}, d={d}, v={v}, T={T}"
    return Claim(
        f"BPTT ({activation}, {size}, targets {u.targets}): ∂L/∂θ of the unrolled L = −Σ_t log p_t[target_t] "
        f"by sympy.diff equals {which}, for every entry of W_hh, W_xh, b, W_hy, b_y, h_0, x_1…x_{T}",
        r"dh_{t} = W_{hy}^{T}(p_{t}-y_{t}) + W_{hh}^{T}\delta_{t+1},\quad \delta_{t} = dh_{t}\odot f'(a_{t}),"
        r"\quad \frac{\partial L}{\partial W_{hh}} = \sum_{t} \delta_{t} h_{t-1}^{T}",
        f"{how}; total {clock}",
        bool(decision.holds and holds_extra),
    )


# -- 4. derivation steps for the docs --------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One displayed equation of the RNN derivation.

    ``expr`` is a SymPy object (printed with ``sympy.latex``) or, where SymPy cannot print the
    notation, LaTeX text.
    """

    name: str
    latex_lhs: str
    expr: sp.Basic | str
    note: str

    @property
    def latex(self) -> str:
        """The whole equation in LaTeX."""
        rhs = self.expr if isinstance(self.expr, str) else sp.latex(self.expr, order="none")
        return f"{self.latex_lhs} = {rhs}"


def derivation_steps() -> list[Step]:
    """The RNN forward step, its local gradients, the softmax-CE gradient and the BPTT recursion.

    Matrix expressions use ``MatrixSymbol`` for display only; every equation is proven by the
    claims of :func:`prove` at concrete sizes.
    """
    n, d, v = sp.symbols("n d v", integer=True, positive=True)
    t, T = sp.symbols("t T", integer=True, positive=True)
    M = sp.MatrixSymbol
    W_hh, W_xh, W_hy = M("W_hh", n, n), M("W_xh", n, d), M("W_hy", v, n)
    b, b_y = M("b", n, 1), M("b_y", v, 1)
    h_prev, h_t, x_t = M("h_{t-1}", n, 1), M("h_t", n, 1), M("x_t", d, 1)
    dh_t, delta_t, delta_next = M("dh_t", n, 1), M(r"\delta_{t}", n, 1), M(r"\delta_{t+1}", n, 1)
    fprime = M(r"f'\left(a_{t}\right)", n, 1)
    p_t, y_t = M("p_t", v, 1), M("y_t", v, 1)
    ones = M(r"\mathbf{1}", n, 1)
    g_t = sp.MatAdd(p_t, -y_t, evaluate=False)
    return [
        Step("forward", "a_{t}", sp.MatAdd(W_hh * h_prev, W_xh * x_t, b, evaluate=False),
             "pre-activation; then h_t = f(a_t) element-wise, f from mathnn.rules.activations"),
        Step("output", "o_{t}", sp.MatAdd(W_hy * h_t, b_y, evaluate=False),
             "scores; p_t = softmax(o_t), L = −Σ_t log p_t[target_t]"),
        Step("delta", r"\delta_{t}", sp.HadamardProduct(dh_t, fprime),
             "∂L/∂a: the upstream gradient dh times f′ at the pre-activation, element by element "
             "(a is element-wise, so its Jacobian is diagonal)"),
        Step("delta_tanh", r"\delta_{t}", sp.HadamardProduct(dh_t, sp.MatAdd(ones, -sp.HadamardPower(h_t, 2),
                                                                         evaluate=False)),
             "for tanh, f′(a) = 1 − tanh²(a) = 1 − h_t²: the backward pass needs only the output"),
        Step("dW_hh", r"\frac{\partial L}{\partial W_{hh}}", delta_t * h_prev.T,
             "∂a_i/∂W_hh[i,j] = h_{t−1,j}: an outer product, δ on the left"),
        Step("dW_xh", r"\frac{\partial L}{\partial W_{xh}}", delta_t * x_t.T, "∂a_i/∂W_xh[i,j] = x_{t,j}"),
        Step("db", r"\frac{\partial L}{\partial b}", delta_t, "∂a/∂b is the identity"),
        Step("dh_prev", r"\frac{\partial L}{\partial h_{t-1}}", W_hh.T * delta_t,
             "Σ_i δ_i W_hh[i,j]: the transpose carries the gradient back"),
        Step("dx", r"\frac{\partial L}{\partial x_{t}}", W_xh.T * delta_t, "Σ_i δ_i W_xh[i,j]"),
        Step("softmax_ce", r"\frac{\partial L_{t}}{\partial o_{t}}", g_t,
             "∂(−log p_k)/∂o_j = p_j − [j = k]; y_t is the one-hot target. Shifting o_t by a constant "
             "changes neither p_t nor L_t"),
        Step("dh_bptt", "dh_{t}", sp.MatAdd(sp.MatMul(W_hy.T, g_t, evaluate=False), W_hh.T * delta_next,
                                            evaluate=False),
             "h_t reaches L through o_t (this step's output) and through a_{t+1} (every later step); the "
             "second term is absent at t = T"),
        Step("delta_bptt", r"\delta_{t}", sp.HadamardProduct(dh_t, fprime), "as in one step"),
        Step("dW_hh_bptt", r"\frac{\partial L}{\partial W_{hh}}", sp.Sum(delta_t * h_prev.T, (t, 1, T)),
             "the same W_hh is used at every step, so its gradient sums over time"),
        Step("dW_xh_bptt", r"\frac{\partial L}{\partial W_{xh}}", sp.Sum(delta_t * x_t.T, (t, 1, T)), ""),
        Step("db_bptt", r"\frac{\partial L}{\partial b}", sp.Sum(delta_t, (t, 1, T)), ""),
        # sympy.Sum re-sorts p_t − y_t into −y_t + p_t, so these two are written as text.
        Step("dW_hy_bptt", r"\frac{\partial L}{\partial W_{hy}}", r"\sum_{t=1}^{T} \left(p_{t} - y_{t}\right) h_{t}^{T}",
             ""),
        Step("db_y_bptt", r"\frac{\partial L}{\partial b_{y}}", r"\sum_{t=1}^{T} \left(p_{t} - y_{t}\right)", ""),
        Step("dh0_bptt", r"\frac{\partial L}{\partial h_{0}}", W_hh.T * M(r"\delta_{1}", n, 1), ""),
        Step("dx_bptt", r"\frac{\partial L}{\partial x_{t}}", W_xh.T * delta_t, ""),
    ]


# -- 5. everything -----------------------------------------------------------------------------------


def prove(fast: bool = False) -> list[Claim]:
    """Prove the RNN math: every claim decided by SymPy, none sampled numerically.

    Returns
    -------
    list of Claim
        tanh step claims (n = d = 2, six claims), sigmoid, relu and leaky_relu step claims (n = 2,
        d = 1, five each), softmax cross-entropy (v = 3), BPTT for tanh at the default sizes
        (n=3, d=2, v=2, T=4) or, with ``fast``, at n=2, d=1, v=2, T=3. Each method ends with its time.
    """
    claims = step_claims("tanh", 2, 2)
    for name in ("sigmoid", "relu", "leaky_relu"):
        claims += step_claims(name, 2, 1)
    claims.append(softmax_ce_claim(3))
    claims.append(bptt_claim(**(FAST_SIZES if fast else DEFAULT_SIZES)))
    return claims
