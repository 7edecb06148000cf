"""The scalar rules of the lecture (the activations): a small graph, derived node by node.

A :class:`Rule` is a small computation graph written in the lecture's notation. Each
:class:`~mathnn.rules.core.Node` is a symbol defined by a SymPy expression of earlier nodes and of the
rule's inputs. From that one object

* :meth:`Rule.derivation` derives every local partial with SymPy and sums the chain rule over paths
  (reverse accumulation), keeping each step so the docs and ``mathnn derive`` can show it;
* :meth:`Rule.prove` shows the derived gradient equals the declared textbook closed form, that each
  generated kernel computes what it claims, that the value used at each kink is a one-sided derivative,
  and the rule's extra facts;
* :mod:`mathnn.codegen` prints the kernels' statements to plain numpy.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import sympy as sp

from .backprop import reverse_accumulate
from .core import Claim, Equation, Fact, Kernel, Kink, Node, Proof, Section, compose, equal, proof_section
from .decide import decide_zero
from .textprint import text


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
        local = {}
        for node in self.nodes:
            for parent in self._parents(node):
                local[(node.symbol, parent)] = self.contract(sp.diff(node.expr, parent))
        order = [node.symbol for node in self.nodes]
        by_symbol = {node.symbol: node for node in self.nodes}
        walk = reverse_accumulate(
            order, lambda symbol: self._parents(by_symbol[symbol]),
            lambda child, parent, seed: seed * local[(child, parent)],
            {self.output: sp.Integer(1)}, drop)
        position = {symbol: k for k, symbol in enumerate(order)}
        steps = []
        for target in [n.symbol for n in reversed(self.nodes[:-1])] + list(self.inputs):
            children = sorted((child for child, parent, _ in walk.steps if parent == target), key=position.__getitem__)
            terms = tuple((child, local[(child, target)]) for child in children)
            steps.append(ChainStep(target, terms, walk.adjoint.get(target, sp.Integer(0))))
        gradients = {wrt: self.expand(walk.adjoint.get(wrt, sp.Integer(0))) for wrt in self.inputs}
        partials = tuple((child, parent, partial) for (child, parent), partial in local.items())
        return Derivation(partials, tuple(steps), gradients)

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
        between = decide_zero(used - kink.value)[0] and (decide_zero(used - left)[0] or decide_zero(used - right)[0])
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
