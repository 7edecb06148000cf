"""What every rule is made of: the array notation, nodes, kernel statements, claims, proofs, sections.

There is one rule kind for layers, :class:`~mathnn.rules.layer.LayerRule` (a layer over arrays; an
activation is its element-wise case, a loss its case with one value per row), and
:class:`~mathnn.rules.recurrence.Recurrence` declares a step layer unrolled over time. :func:`compose`
replays a kernel's statements into the expressions it returns, which is how every proof reads a kernel.
"""

from __future__ import annotations

import itertools
import re

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sympy as sp



def latex_text(words: str) -> str:
    """``\\text{words}`` with the characters LaTeX's text mode reserves escaped (a mistake's ``dprev_c``)."""
    return r"\text{" + re.sub(r"([_&%#$])", r"\\\1", words) + "}"


def _raised_to(shown: str, exp: object) -> str:
    """An operation's LaTeX, raised to a power when SymPy's printer asks for one (``Step(x)**2``)."""
    return shown if exp is None else rf"\left({shown}\right)^{{{exp}}}"


class _ArrayOperation(sp.Function):
    """An operation of the array notation, shown in LaTeX as ``_latex_form`` with its arguments put in.

    Each argument is parenthesized below ``_argument_precedence`` (strictly with ``_strict``), or
    printed as it is when that is None; the whole is raised to a power when SymPy's printer asks.
    """

    nargs = 1
    _latex_form = "{0}"
    _argument_precedence: int | None = 50
    _strict = False

    def _latex(self, printer, exp=None) -> str:
        if self._argument_precedence is None:
            shown = [printer._print(arg) for arg in self.args]
        else:
            shown = [printer.parenthesize(arg, self._argument_precedence, strict=self._strict) for arg in self.args]
        return _raised_to(self._latex_form.format(*shown), exp)


class BatchSum(_ArrayOperation):
    """Σᵢ over the mini-batch axis of an (N, D) array expression: ``np.sum(·, axis=0)`` in a kernel.

    Rules over a batch declare their kernels in array notation with this reduction; the proof maps it
    to ``Sum(·, (i, 0, m − 1))`` over indexed symbols.
    """

    _latex_form = r"\sum_{{i}} {0}"


class RowSum(_ArrayOperation):
    """Σ over the last axis, keeping it: ``np.sum(·, axis=-1, keepdims=True)`` (softmax denominators)."""

    _latex_form = r"\sum_{{k}} {0}"


class RowMax(_ArrayOperation):
    """Max over the last axis of the real part, kept: the shift of a stable log-sum-exp.

    A proof treats it as an arbitrary constant per row: the identities it is used in hold for any shift.
    """

    _latex_form = r"\max_{{k}} {0}"


class TotalSum(_ArrayOperation):
    """Σ over every entry: ``np.sum(·)``."""

    _latex_form = r"\sum {0}"


class Dot(_ArrayOperation):
    """Matrix product of two arrays, ``a @ b`` in a kernel (row-major, as CS231n writes ``x @ Wx``)."""

    nargs = 2
    _latex_form = r"{0} \, {1}"


class Transposed(_ArrayOperation):
    """Transpose of a 2-D array, ``a.T`` in a kernel."""

    _latex_form = r"{0}^{{\top}}"
    _argument_precedence, _strict = 1000, True


class Step(_ArrayOperation):
    """Step t of a time-major sequence, ``x[t]`` in a kernel: inside a :class:`Loop` only."""

    _latex_form = "{{{0}}}_{{t}}"
    _argument_precedence = None


class Rows(_ArrayOperation):
    """The steps of a time-major (T, N, K) sequence stacked into T·N rows: ``v.reshape(-1, v.shape[-1])``.

    One product over the stacked rows sums what each step contributes to a shared weight's gradient.
    Shown as the sequence itself.
    """

    _argument_precedence = None


class BatchMajor(_ArrayOperation):
    """A time-major (T, N, …) sequence as CS231n's batch-major (N, T, …): ``x.swapaxes(0, 1)``, a view.

    Shown as the sequence itself.
    """

    _argument_precedence = None


class Named(sp.Symbol):
    """A symbol with a code name (``x_hat``, what generated kernels call it) and the lecture's notation.

    SymPy's LaTeX printer shows ``latex`` (``\\hat{x}``) and :func:`~mathnn.rules.textprint.text` shows
    ``shown`` (``x̂``); the code printer and every comparison use the name alone.
    """

    _notation: dict[str, tuple[str, str]] = {}

    def __new__(cls, name: str, latex: str, shown: str | None = None, **assumptions: bool) -> "Named":
        symbol = super().__new__(cls, name, **assumptions)
        notation = (latex, shown or name)
        if cls._notation.setdefault(name, notation) != notation:  # one code name reads one way everywhere
            raise ValueError(f"Named {name!r}: already written {cls._notation[name]}, now {notation}")
        return symbol

    def __getnewargs_ex__(self) -> tuple[tuple, dict]:
        latex, shown = self._notation[self.name]
        return (self.name, latex, shown), self.assumptions0

    def _latex(self, printer: object) -> str:
        return self._notation[self.name][0]

    def _mathnn_text(self, printer: object) -> str:
        return self._notation[self.name][1]


#: A layer's output: y in the lecture, ``out`` in CS231n's code and in the generated kernels.
out = Named("out", "y", "y")


@dataclass(frozen=True)
class Node:
    """One named intermediate of a rule's graph: ``symbol := expr``.

    ``name`` is the identifier the node gets in generated code (``sigma`` for σ).
    """

    symbol: sp.Symbol
    expr: sp.Expr
    name: str
    equation: str = ""


@dataclass(frozen=True)
class Statement:
    """One line of a generated kernel: ``target = expr``, commented with the equation it computes.

    ``expr`` may use the kernel's arguments and the targets of earlier statements (as plain symbols
    named like the targets). With ``into`` set, the result is written into that existing buffer
    (``np.multiply(a, b, out=into)``) instead of a fresh array; the target may then reuse the name.
    """

    target: str
    expr: sp.Expr
    equation: str
    into: str | None = None


@dataclass(frozen=True)
class Loop:
    """Statements run once per step t of a sequence: t = 0 … T − 1, or T − 1 … 0 with ``reverse``.

    A body statement whose target is ``name[t]`` writes step t of a time-major buffer; ``Step(x)``
    reads step t of one.
    """

    body: tuple[Statement, ...]
    equation: str
    reverse: bool = False
    count: str = "T"


@dataclass(frozen=True)
class Kernel:
    """A generated numpy function: arguments, statements, and what it must equal.

    ``computes`` is written in the rule's own symbols (nodes allowed); the rule's proof checks that
    the statements, substituted into each other, equal it. A kernel with several ``outputs`` returns
    them as a tuple and ``computes`` holds one expression per output.

    ``defaults`` gives keyword defaults (``eps=1e-5``, ``out=None``); ``bindings`` defines names
    taken from the arguments as numpy code (``{"N": "x.shape[0]", "first_row": "x[0]"}``); ``arg_docs`` documents arguments in the docstring;
    ``batch_arrays`` names the (N, D) arrays, so the printer knows which operand a buffer holds;
    ``arg_types`` overrides an argument's annotation (a callable). A statement may be a :class:`Loop`.
    """

    name: str
    args: tuple[sp.Symbol, ...]
    statements: tuple[Statement | Loop, ...]
    computes: sp.Expr | tuple[sp.Expr, ...]
    summary: str
    returns: str
    outputs: tuple[str, ...] = ()
    defaults: dict[str, object] = field(default_factory=dict)
    bindings: dict[str, str] = field(default_factory=dict)
    arg_docs: dict[str, str] = field(default_factory=dict)
    batch_arrays: frozenset[str] = frozenset()
    arg_types: dict[str, str] = field(default_factory=dict)

    @property
    def results(self) -> tuple[str, ...]:
        """The names the kernel returns."""
        if self.outputs:
            return self.outputs
        last = self.statements[-1]
        assert isinstance(last, Statement), f"{self.name} ends in a loop: name its outputs"
        return (last.target,)

    @property
    def targets(self) -> tuple[sp.Expr, ...]:
        """What each result must equal, aligned with :attr:`results`."""
        return self.computes if isinstance(self.computes, tuple) else (self.computes,)


@dataclass(frozen=True)
class Kink:
    """A point where the derivative with respect to ``wrt`` jumps, and the value the kernels use there."""

    wrt: sp.Symbol
    at: sp.Expr
    value: sp.Expr
    convention: str


@dataclass(frozen=True)
class Claim:
    """One proven (or refuted) statement: what was claimed, how it was checked, and whether it holds."""

    statement: str
    latex: str
    method: str
    holds: bool


@dataclass(frozen=True)
class Fact:
    """An extra statement about a rule (e.g. max σ′ = 1/4), with the function that proves it."""

    name: str
    check: Callable[[Any], Claim]  # called with the rule it belongs to


@dataclass
class Proof:
    """The outcome of a rule's ``prove()``: a list of claims and the time it took."""

    rule: str
    claims: list[Claim]
    seconds: float

    @property
    def holds(self) -> bool:
        return all(claim.holds for claim in self.claims)

    def __bool__(self) -> bool:
        return self.holds

    def __str__(self) -> str:
        lines = [f"{self.rule}: {'proven' if self.holds else 'NOT PROVEN'} ({self.seconds:.2f} s)"]
        for claim in self.claims:
            mark = "ok  " if claim.holds else "FAIL"
            lines.append(f"  [{mark}] {claim.statement}  — {claim.method}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Equation:
    """One displayed line: a chain of equal expressions, each given as (text, latex).

    A line of a proof section is one claim: ``mark`` is its verdict (✓ or ✗), ``parts`` the claim
    as shown, ``detail`` only what sets it apart from the other claims (sizes, a difference, time),
    ``comment`` the full method of the decision and ``statement`` the full claim, as proven; the
    renderers show those two for a claim that fails, or when asked for everything. ``caption`` is
    what the line means in words where its text form already says it and its LaTeX does not (a
    kernel statement): the docs show it under the math, the terminal leaves it out.
    """

    parts: tuple[tuple[str, str], ...]
    comment: str = ""
    mark: str = ""
    detail: str = ""
    statement: str = ""
    caption: str = ""


@dataclass(frozen=True)
class Section:
    """A titled list of lines; a proof section adds a one-line ``summary`` and the ``notes`` that say,
    once for all its claims, how they were decided."""

    title: str
    equations: tuple[Equation, ...]
    summary: str = ""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Slip:
    """A named mistake as one or more statements of a kernel replaced by what the mistaken code computes.

    ``replace`` maps a statement's target (``"dWh"``, ``"da[t]"``) to the mistaken
    expression, in the kernel's own names; ``gradients`` are the results it changes (``("dWh",)``);
    ``sentence`` is what the checker tells a student whose result matches it.
    """

    name: str
    gradients: tuple[str, ...]
    sentence: str
    replace: Mapping[str, sp.Expr]


def _code_latex(name: str) -> str:
    """A kernel's variable in LaTeX as the code names it, in typewriter type: ``\\mathtt{prev\\_h}``."""
    return r"\mathtt{" + name.replace("_", r"\_") + "}"


def kernel_section(kernels: tuple[Kernel, ...]) -> Section:
    """Each kernel statement with the equation it computes (a loop's body statement by statement).

    In LaTeX the variables a kernel assigns and reads are printed as the code names them
    (``prev_h``, ``x_steps``), so the lines read against the generated source; a symbol with the
    lecture's notation (:class:`Named`) keeps it. Each line's caption says what it computes.
    """
    statements = [
        inner
        for kernel in kernels
        for statement in kernel.statements
        for inner in (statement.body if isinstance(statement, Loop) else (statement,))
    ]

    def latex(expr: sp.Expr) -> str:
        return sp.latex(expr, symbol_names={s: _code_latex(s.name) for s in expr.free_symbols})

    def is_view(statement: Statement) -> bool:  # h = h.swapaxes(0, 1): the same values, batch-major
        return isinstance(statement.expr, BatchMajor) and statement.expr.args[0] == sp.Symbol(statement.target)

    lines: list[Equation] = []
    for view, group in itertools.groupby(statements, key=is_view):
        if not view:
            lines += [Equation(((s.target, _code_latex(s.target)), (s.equation, latex(s.expr))), caption=s.equation)
                      for s in group]
            continue
        names = [s.target for s in group]
        said = f"{', '.join(names)} at every step as (N, T, ·): {'a view' if len(names) == 1 else 'views'} of the loop's (T, N, ·)"
        lines.append(Equation(((said, r",\ ".join(_code_latex(name) for name in names)),), caption=said))
    return Section("Kernels, statement by statement", tuple(lines))


# -- helpers shared by rules -----------------------------------------------------------------


def compose(kernel: Kernel) -> tuple[sp.Expr, ...]:
    """What the kernel returns, each result with every earlier statement substituted in.

    Statements are replayed in order, so a name reassigned in place (``x_hat = x_hat·inv_std``)
    takes its new value from that line on, as in the generated code.
    """
    values: dict[str, sp.Expr] = {}  # by name: a target may be a plain or a Named symbol in expressions
    for statement in kernel.statements:
        assert isinstance(statement, Statement), f"{kernel.name} has a loop: compose replays straight-line kernels"
        earlier = {s: values[s.name] for s in statement.expr.free_symbols if s.name in values}
        values[statement.target] = statement.expr.xreplace(earlier)
    return tuple(values.get(name, sp.Symbol(name)) for name in kernel.results)  # an argument returned as is


def equal(lhs: sp.Expr, rhs: sp.Expr, statement: str, latex: str) -> Claim:
    """A claim that two expressions are equal, decided by :func:`~mathnn.rules.decide.decide_zero`."""
    from .decide import decide_zero

    holds, method = decide_zero(lhs - rhs)
    return Claim(statement, latex, method, holds)


# the proof's reading form lives in its own module; it is part of this module's interface
from .proofprint import ENTRY_WISE, method_parts, proof_section, statement_parts  # noqa: E402

__all__ = [
    "ENTRY_WISE", "BatchMajor", "BatchSum", "Claim", "Dot", "Equation", "Fact", "Kernel", "Kink", "Loop", "Named",
    "Node", "Proof", "RowMax", "RowSum", "Rows", "Section", "Slip", "Statement", "Step", "TotalSum", "Transposed",
    "compose", "equal", "kernel_section", "latex_text", "method_parts", "out", "proof_section", "statement_parts",
]
