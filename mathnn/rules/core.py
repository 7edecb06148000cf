"""The rule declaration: one object per rule of the lecture, from which everything else follows.

A :class:`Rule` is a small computation graph written in the lecture's notation. Each :class:`Node` is a
symbol defined by a SymPy expression of earlier nodes and of the rule's inputs. From that one object

* :meth:`Rule.derivation` derives every local partial with SymPy and sums the chain rule over paths
  (reverse accumulation), keeping each step so the docs and ``mathnn derive`` can show it;
* :meth:`Rule.prove` shows the derived gradient equals the declared textbook closed form, that each
  generated kernel computes what it claims, that the value used at each kink is a one-sided derivative,
  and the rule's extra facts;
* :mod:`mathnn.codegen` prints the kernels' statements to plain numpy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import sympy as sp

from .textprint import text


class BatchSum(sp.Function):
    """Σᵢ over the mini-batch axis of an (N, D) array expression: ``np.sum(·, axis=0)`` in a kernel.

    Rules over a batch declare their kernels in array notation with this reduction; the proof maps it
    to ``Sum(·, (i, 0, m − 1))`` over indexed symbols.
    """

    nargs = 1

    def _latex(self, printer) -> str:
        return rf"\sum_{{i}} {printer.parenthesize(self.args[0], 50)}"


class RowSum(sp.Function):
    """Σ over the last axis, keeping it: ``np.sum(·, axis=-1, keepdims=True)`` (softmax denominators)."""

    nargs = 1

    def _latex(self, printer) -> str:
        return rf"\sum_{{k}} {printer.parenthesize(self.args[0], 50)}"


class RowMax(sp.Function):
    """Max over the last axis of the real part, kept: the shift of a stable log-sum-exp.

    A proof treats it as an arbitrary constant per row: the identities it is used in hold for any shift.
    """

    nargs = 1

    def _latex(self, printer) -> str:
        return rf"\max_{{k}} {printer.parenthesize(self.args[0], 50)}"


class TotalSum(sp.Function):
    """Σ over every entry: ``np.sum(·)``."""

    nargs = 1

    def _latex(self, printer) -> str:
        return rf"\sum {printer.parenthesize(self.args[0], 50)}"


class Dot(sp.Function):
    """Matrix product of two arrays, ``a @ b`` in a kernel (row-major, as CS231n writes ``x @ Wx``)."""

    nargs = 2

    def _latex(self, printer) -> str:
        left, right = (printer.parenthesize(arg, 50) for arg in self.args)
        return rf"{left} \, {right}"


class Transposed(sp.Function):
    """Transpose of a 2-D array, ``a.T`` in a kernel."""

    nargs = 1

    def _latex(self, printer) -> str:
        return rf"{printer.parenthesize(self.args[0], 1000, strict=True)}^{{\top}}"


class Step(sp.Function):
    """Step t of a time-major sequence, ``x[t]`` in a kernel: inside a :class:`Loop` only."""

    nargs = 1

    def _latex(self, printer) -> str:
        return f"{{{printer._print(self.args[0])}}}_{{t}}"


class Rows(sp.Function):
    """The steps of a time-major (T, N, K) sequence stacked into T·N rows: ``v.reshape(-1, v.shape[-1])``.

    One product over the stacked rows sums what each step contributes to a shared weight's gradient.
    """

    nargs = 1

    def _latex(self, printer) -> str:
        return printer._print(self.args[0])


class BatchMajor(sp.Function):
    """A time-major (T, N, …) sequence as CS231n's batch-major (N, T, …): ``x.swapaxes(0, 1)``, a view."""

    nargs = 1

    def _latex(self, printer) -> str:
        return printer._print(self.args[0])


class Named(sp.Symbol):
    """A symbol with a code name (``x_hat``, what generated kernels call it) and the lecture's notation.

    SymPy's LaTeX printer shows ``latex`` (``\\hat{x}``) and :func:`~mathnn.rules.textprint.text` shows
    ``shown`` (``x̂``); the code printer and every comparison use the name alone.
    """

    _notation: dict[str, tuple[str, str]] = {}

    def __new__(cls, name: str, latex: str, shown: str | None = None, **assumptions: bool) -> "Named":
        symbol = super().__new__(cls, name, **assumptions)
        cls._notation[name] = (latex, shown or name)
        return symbol

    def __getnewargs_ex__(self) -> tuple[tuple, dict]:
        latex, shown = self._notation[self.name]
        return (self.name, latex, shown), self.assumptions0

    def _latex(self, printer: object) -> str:
        return self._notation[self.name][0]

    def _mathnn_text(self, printer: object) -> str:
        return self._notation[self.name][1]


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
    check: Callable[["Rule"], Claim]


@dataclass(frozen=True)
class ChainStep:
    """One step of reverse accumulation: ∂out/∂target = Σ over children ∂out/∂child · ∂child/∂target."""

    target: sp.Symbol
    terms: tuple[tuple[sp.Symbol, sp.Expr], ...]  # (child, local partial ∂child/∂target)
    total: sp.Expr  # the sum, in node symbols


@dataclass(frozen=True)
class Derivation:
    """Every local partial and every chain-rule step from the output back to the inputs."""

    local_partials: tuple[tuple[sp.Symbol, sp.Symbol, sp.Expr], ...]  # (child, parent, ∂child/∂parent)
    steps: tuple[ChainStep, ...]
    gradients: dict[sp.Symbol, sp.Expr]  # fully expanded in the inputs


@dataclass
class Proof:
    """The outcome of :meth:`Rule.prove`: a list of claims and the time it took."""

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
class Rule:
    """A rule of the lecture: graph, inputs, declared closed forms, check domain, kinks, kernels.

    Parameters
    ----------
    name : str
        Identifier used by the CLI, the kernels module and the docs page (``sigmoid``).
    title : str
        Human title (``Sigmoid``).
    inputs : tuple of Symbol
        The variables the gradient is taken with respect to.
    nodes : tuple of Node
        The graph in topological order; the last node is the output.
    closed_forms : dict
        The declared textbook gradient for each input, in node and input symbols.
    domain : dict
        For each input, the interval random check points are drawn from.
    params : dict
        Non-differentiated parameters (α of Leaky ReLU) with their default values.
    param_checks : dict
        For each parameter, the values the numeric checks use.
    kinks : tuple of Kink
        Points where the derivative jumps and the convention used there.
    kernels : tuple of Kernel
        What :mod:`mathnn.codegen` generates into ``mathnn/kernels/<name>.py``.
    facts : tuple of Fact
        Extra statements proven alongside the gradient.
    note : str
        A short paragraph for the docs and ``mathnn derive``.
    """

    name: str
    title: str
    inputs: tuple[sp.Symbol, ...]
    nodes: tuple[Node, ...]
    closed_forms: dict[sp.Symbol, sp.Expr]
    domain: dict[sp.Symbol, tuple[float, float]]
    kernels: tuple[Kernel, ...]
    note: str
    params: dict[sp.Symbol, float] = field(default_factory=dict)
    public_module: str = "mathnn.activations"
    param_checks: dict[sp.Symbol, tuple[float, ...]] = field(default_factory=dict)
    kinks: tuple[Kink, ...] = ()
    facts: tuple[Fact, ...] = ()

    # -- the graph ---------------------------------------------------------------------------

    @property
    def output(self) -> sp.Symbol:
        return self.nodes[-1].symbol

    @property
    def forward(self) -> sp.Expr:
        """The output as an expression of the inputs alone."""
        return self.expand(self.output)

    def expand(self, expr: sp.Expr) -> sp.Expr:
        """Replace every node symbol in ``expr`` by its definition, latest node first."""
        for node in reversed(self.nodes):
            expr = expr.subs(node.symbol, node.expr)
        return expr

    def contract(self, expr: sp.Expr) -> sp.Expr:
        """Write ``expr`` with node symbols where a node's definition appears (e^{−x} → u), latest first."""
        # xreplace matches the definitions exactly; subs would also rewrite e^{x} as 1/e^{−x}.
        return expr.xreplace({node.expr: node.symbol for node in self.nodes})

    def _parents(self, node: Node) -> list[sp.Symbol]:
        known = set(self.inputs) | {n.symbol for n in self.nodes}
        return sorted(node.expr.free_symbols & known, key=sp.default_sort_key)

    def edges(self) -> list[tuple[sp.Symbol, sp.Symbol]]:
        """Every (parent, child) edge of the graph, in node order."""
        return [(parent, node.symbol) for node in self.nodes for parent in self._parents(node)]

    def paths(self, wrt: sp.Symbol) -> list[tuple[sp.Symbol, ...]]:
        """Every path from input ``wrt`` to the output, as a tuple of symbols."""
        children: dict[sp.Symbol, list[sp.Symbol]] = {}
        for parent, child in self.edges():
            children.setdefault(parent, []).append(child)

        def walk(symbol: sp.Symbol) -> list[tuple[sp.Symbol, ...]]:
            if symbol == self.output:
                return [(symbol,)]
            return [(symbol, *rest) for child in children.get(symbol, []) for rest in walk(child)]

        return walk(wrt)

    # -- derivation --------------------------------------------------------------------------

    def derivation(self, drop: Sequence[tuple[sp.Symbol, sp.Symbol]] = ()) -> Derivation:
        """Derive every local partial and accumulate the chain rule from the output back.

        ``drop`` removes (parent, child) edges: the gradient a student gets who forgets that path.
        """
        dropped = set(drop)
        local = []
        adjoint: dict[sp.Symbol, list[tuple[sp.Symbol, sp.Expr]]] = {}
        for node in self.nodes:
            for parent in self._parents(node):
                partial = self.contract(sp.diff(node.expr, parent))
                local.append((node.symbol, parent, partial))
                if (parent, node.symbol) not in dropped:
                    adjoint.setdefault(parent, []).append((node.symbol, partial))

        totals: dict[sp.Symbol, sp.Expr] = {self.output: sp.Integer(1)}
        steps = []
        for symbol in [n.symbol for n in reversed(self.nodes[:-1])] + list(self.inputs):
            terms = tuple(adjoint.get(symbol, ()))
            total = sp.Add(*(totals[child] * partial for child, partial in terms))
            totals[symbol] = total
            steps.append(ChainStep(symbol, terms, total))
        gradients = {wrt: self.expand(totals[wrt]) for wrt in self.inputs}
        return Derivation(tuple(local), tuple(steps), gradients)

    def derived_gradient(self, wrt: sp.Symbol) -> sp.Expr:
        """The gradient of the output with respect to ``wrt`` that SymPy derives, in the inputs alone."""
        return self.derivation().gradients[wrt]

    # -- proof -------------------------------------------------------------------------------

    def prove(self) -> Proof:
        """Prove the derived gradients, the kernels, the kink conventions and the facts.

        Every claim is decided by SymPy; none is sampled numerically.
        """
        start = time.perf_counter()
        claims: list[Claim] = []
        derivation = self.derivation()
        for wrt in self.inputs:
            derived = derivation.gradients[wrt]
            closed = self.expand(self.closed_forms[wrt])
            claims.append(
                equal(
                    derived,
                    closed,
                    f"∂{text(self.output)}/∂{text(wrt)} derived by the chain rule equals the closed form "
                    f"{text(self.closed_forms[wrt])}",
                    sp.latex(sp.Eq(sp.Symbol(f"\\frac{{\\partial {sp.latex(self.output)}}}"
                                             f"{{\\partial {sp.latex(wrt)}}}"),
                                   self.closed_forms[wrt])),
                )
            )
        for kernel in self.kernels:
            composed = compose(kernel)
            claims.append(
                equal(
                    composed[0],
                    self.expand(kernel.computes),
                    f"kernel {kernel.name} computes {text(kernel.computes)}",
                    sp.latex(kernel.computes),
                )
            )
        for kink in self.kinks:
            claims.append(self._check_kink(kink, derivation.gradients[kink.wrt]))
        for fact in self.facts:
            claims.append(fact.check(self))
        return Proof(self.name, claims, time.perf_counter() - start)

    def sections(self, proof: Proof | None = None) -> list[Section]:
        """The derivation step by step, for ``mathnn derive`` and the docs."""
        return graph_sections(self, proof)

    def _check_kink(self, kink: Kink, derived: sp.Expr) -> Claim:
        # Approach along at ± ε with ε > 0 so a Piecewise resolves its branch before the limit;
        # sympy.limit applied to the Piecewise directly returns the value at the point instead.
        epsilon = sp.Symbol("epsilon", positive=True)
        left = sp.limit(derived.subs(kink.wrt, kink.at - epsilon), epsilon, 0, "+")
        right = sp.limit(derived.subs(kink.wrt, kink.at + epsilon), epsilon, 0, "+")
        used = derived.subs(kink.wrt, kink.at)
        between = sp.simplify(used - kink.value) == 0 and (
            sp.simplify(used - left) == 0 or sp.simplify(used - right) == 0
        )
        return Claim(
            f"at the kink {text(kink.wrt)} = {text(kink.at)}: left derivative {text(left)}, right derivative "
            f"{text(right)}; the kernel uses {text(used)} ({kink.convention})",
            f"\\lim_{{{sp.latex(kink.wrt)}\\to {sp.latex(kink.at)}^-}} = {sp.latex(left)},\\quad "
            f"\\lim_{{{sp.latex(kink.wrt)}\\to {sp.latex(kink.at)}^+}} = {sp.latex(right)},\\quad "
            f"\\text{{used}} = {sp.latex(used)}",
            "one-sided limits by sympy.limit; the value used must be one of them",
            bool(between),
        )


# -- the derivation as displayable sections ---------------------------------------------------


@dataclass(frozen=True)
class Equation:
    """One displayed line: a chain of equal expressions, each given as (text, latex)."""

    parts: tuple[tuple[str, str], ...]
    comment: str = ""


@dataclass(frozen=True)
class Section:
    title: str
    equations: tuple[Equation, ...]


def _expr(expr: sp.Expr) -> tuple[str, str]:
    return text(expr), sp.latex(expr)


def _partial(out: sp.Symbol, wrt: sp.Symbol) -> tuple[str, str]:
    return (
        f"∂{text(out)}/∂{text(wrt)}",
        f"\\frac{{\\partial {sp.latex(out)}}}{{\\partial {sp.latex(wrt)}}}",
    )


def graph_sections(rule: Rule, proof: Proof | None = None) -> list[Section]:
    """The derivation of a graph rule as titled sections of equations."""
    derivation = rule.derivation()
    out = rule.output
    sections = [
        Section(
            "Forward graph",
            tuple(Equation((_expr(node.symbol), _expr(node.expr))) for node in rule.nodes),
        ),
        Section(
            "Local partials (sympy.diff of each node by each parent)",
            tuple(
                Equation((_partial(child, parent), _expr(partial)))
                for child, parent, partial in derivation.local_partials
            ),
        ),
    ]
    chain = []
    for step in derivation.steps:
        # ∂out/∂child · ∂child/∂target for each child; the output's own factor 1 is left out.
        products = [
            [_partial(child, step.target)] if child == out else [_partial(out, child), _partial(child, step.target)]
            for child, _ in step.terms
        ]
        symbolic = (
            " + ".join("·".join(f[0] for f in factors) for factors in products),
            " + ".join("\\,".join(f[1] for f in factors) for factors in products),
        )
        total = rule.contract(sp.simplify(step.total))
        comment = f"{len(step.terms)} paths meet here: their contributions add" if len(step.terms) > 1 else ""
        lhs = _partial(out, step.target)
        parts = (lhs, _expr(total)) if symbolic == lhs else (lhs, symbolic, _expr(total))
        chain.append(Equation(parts, comment))
    sections.append(Section("Chain rule, from the output back to the input", tuple(chain)))
    sections.append(
        Section(
            "Gradient in the input alone",
            tuple(
                Equation((_partial(out, wrt), _expr(sp.simplify(gradient))))
                for wrt, gradient in derivation.gradients.items()
            ),
        )
    )
    sections.append(
        Section(
            "Textbook closed form (declared, then proven equal)",
            tuple(Equation((_partial(out, wrt), _expr(closed))) for wrt, closed in rule.closed_forms.items()),
        )
    )
    if rule.kinks:
        sections.append(
            Section(
                "Kinks",
                tuple(
                    Equation(
                        (
                            (f"{_partial(out, kink.wrt)[0]} at {text(kink.wrt)} = {text(kink.at)}",
                             f"\\left.{_partial(out, kink.wrt)[1]}\\right|_{{{sp.latex(kink.wrt)}={sp.latex(kink.at)}}}"),
                            _expr(kink.value),
                        ),
                        kink.convention,
                    )
                    for kink in rule.kinks
                ),
            )
        )
    if proof is not None:
        sections.append(proof_section(proof))
    return sections


def proof_section(proof: Proof) -> Section:
    """The proof's claims as a section: each statement with how it was shown."""
    return Section(
        f"Proof ({'all claims hold' if proof.holds else 'NOT PROVEN'}, {proof.seconds:.2f} s)",
        tuple(
            Equation(((claim.statement, claim.latex),), ("ok: " if claim.holds else "FAILED: ") + claim.method)
            for claim in proof.claims
        ),
    )


@dataclass(frozen=True)
class ClaimRule:
    """A rule proven by claims written for it (a batch, a matrix recurrence) instead of a scalar graph.

    It has the interface codegen, the CLI and the docs use (``name``, ``title``, ``note``,
    ``kernels``, ``public_module``, ``params``, ``kinks``, :meth:`prove`, :meth:`sections`).
    ``claims_of(kernels)`` returns every claim about the rule and those kernels, each decided by
    SymPy; ``derivation_of()`` returns the sections the docs show before the proof (by default, the
    kernels statement by statement). ``numeric_check`` names the numpy-only function of
    :mod:`mathnn.verify` that gradient-checks the generated kernels (``check_rnn``).
    """

    name: str
    title: str
    note: str
    kernels: tuple[Kernel, ...]
    claims_of: Callable[[tuple[Kernel, ...]], list[Claim]]
    numeric_check: str
    derivation_of: Callable[[], list[Section]] | None = None
    public_module: str = "mathnn.layers"
    params: dict[sp.Symbol, float] = field(default_factory=dict)
    kinks: tuple[Kink, ...] = ()

    def prove(self) -> Proof:
        """Every claim, decided by SymPy, and the time it took."""
        start = time.perf_counter()
        claims = self.claims_of(self.kernels)
        return Proof(self.name, claims, time.perf_counter() - start)

    def sections(self, proof: Proof | None = None) -> list[Section]:
        """The derivation, then the proof when given."""
        sections = self.derivation_of() if self.derivation_of else [kernel_section(self.kernels)]
        return sections + ([proof_section(proof)] if proof is not None else [])


def kernel_section(kernels: tuple[Kernel, ...]) -> Section:
    """Each kernel statement with the equation it computes (a loop's body statement by statement)."""
    statements = [
        inner
        for kernel in kernels
        for statement in kernel.statements
        for inner in (statement.body if isinstance(statement, Loop) else (statement,))
    ]
    return Section(
        "Kernels, statement by statement",
        tuple(
            Equation(((statement.target, sp.latex(sp.Symbol(statement.target))),
                      (statement.equation, sp.latex(statement.expr))))
            for statement in statements
        ),
    )


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


def sup_over_reals(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """The supremum of ``expr`` over real ``x``, branch by branch for a Piecewise."""
    if not isinstance(expr, sp.Piecewise):
        if x not in expr.free_symbols:
            return expr
        return sp.maximum(expr, x, sp.S.Reals)
    remaining = sp.S.Reals
    sups = []
    for branch, condition in expr.args:
        where = condition.as_set() & remaining
        remaining = remaining - where
        if where is sp.S.EmptySet:
            continue
        sups.append(branch if x not in branch.free_symbols else sp.maximum(branch, x, where))
    return sp.Max(*sups)
