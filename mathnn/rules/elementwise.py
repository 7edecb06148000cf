"""Element-wise layers (the activations): one entry is the whole derivation.

A :class:`~mathnn.rules.layer.LayerRule` declared with ``axis="entries"`` applies one function to
each entry of its input on its own: sigmoid, tanh, ReLU, Leaky ReLU. Its entries are independent,
so the derivation and the proof are for one symbolic entry x, and hold for every entry. The nodes
are plain SymPy expressions of x in the lecture's notation (u = e^{−x}, σ = 1/(1 + u)); from them

* :meth:`~mathnn.rules.layer.LayerRule.derivation` takes every local partial with ``sympy.diff`` and
  accumulates the chain rule from the output back, seeded with 1: the derivative f′ of the entry,
  which is what the layer's backward multiplies ``dout`` by and what the ``*_grad`` kernels compute.
  :class:`ElementwiseLayer` keeps each step so the docs and ``mathnn derive`` can show it;
* :meth:`~mathnn.rules.layer.LayerRule.prove` shows the derived f′ equal to the declared textbook
  closed form, that each declared kernel computes what it claims, that the value used at each kink
  is a one-sided derivative, and the rule's facts (max σ′ = 1/4);
* the declared kernels (``sigmoid``, ``sigmoid_grad``, ``sigmoid_grad_sup``) are printed by
  :mod:`mathnn.codegen`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sympy as sp

from .backprop import Accumulation
from .core import Claim, Equation, Kernel, Kink, Node, Proof, Section, compose, equal, proof_section
from .decide import decide_zero
from .layer_parts import CS231n, ChainStep, Derivation
from .proofprint import FOR_EVERY_ENTRY
from .textprint import text


class ElementwiseLayer:
    """What :class:`~mathnn.rules.layer.LayerRule` does when its ``axis`` is ``"entries"``."""

    if TYPE_CHECKING:  # the declaration this mixin reads, defined by LayerRule
        name: str
        axis: str
        size: sp.Symbol | None
        element_arrays: tuple[sp.Symbol, ...]
        cs231n: CS231n | None
        nodes: tuple[Node, ...]
        differentiated: tuple[sp.Symbol, ...]
        closed_forms: dict[sp.Symbol, sp.Expr]
        kinks: tuple[Kink, ...]

        @property
        def output(self) -> sp.Symbol: ...
        @property
        def kernels(self) -> tuple[Kernel, ...]: ...
        def parents(self, node: Node) -> list[sp.Symbol]: ...
        def edges(self) -> list[tuple[sp.Symbol, sp.Symbol]]: ...
        def expand(self, expr: sp.Expr) -> sp.Expr: ...
        def derivation(self, drop: tuple = ()) -> Derivation: ...

    @property
    def elementwise(self) -> bool:
        """Does the layer apply one function to each entry on its own (the activations)?"""
        return self.axis == "entries"

    def check_kind(self) -> None:
        """An element-wise layer has one input array and no size; any other layer has CS231n functions."""
        kind = "an element-wise layer (axis 'entries')"
        if self.elementwise and self.size is not None:
            raise ValueError(f"{self.name}: size: expected None for {kind}; received {self.size}")
        if self.elementwise and len(self.element_arrays) != 1:
            raise ValueError(f"{self.name}: element_arrays: expected the one input of {kind}; "
                             f"received {self.element_arrays}")
        if not self.elementwise and self.cs231n is None:
            raise ValueError(f"{self.name}: cs231n: expected the layer's CS231n functions, which its kernels are "
                             f"generated for (only {kind} declares its kernels alone); received None")

    # -- the graph of one entry ------------------------------------------------------------------

    @property
    def forward(self) -> sp.Expr:
        """The output entry as an expression of the input entry alone."""
        return self.expand(self.output)

    def contract(self, expr: sp.Expr) -> sp.Expr:
        """Write ``expr`` with node symbols where a node's definition appears (e^{−x} → u)."""
        # xreplace matches the definitions exactly; subs would also rewrite e^{x} as 1/e^{−x}.
        return expr.xreplace({node.expr: node.symbol for node in self.nodes})

    def local_partial(self, expr: sp.Expr, parent: sp.Symbol) -> sp.Expr:
        """∂node/∂parent of a node defined by ``expr``, by ``sympy.diff``, in node symbols."""
        return self.contract(sp.diff(expr, parent))

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

    def entry_derivation(self, walk: Accumulation[sp.Symbol]) -> Derivation:
        """The walk of reverse accumulation with what the docs show: local partials and chain-rule steps."""
        local = {(node.symbol, parent): self.local_partial(node.expr, parent)
                 for node in self.nodes for parent in self.parents(node)}
        position = {node.symbol: k for k, node in enumerate(self.nodes)}
        chain = []
        for target in [n.symbol for n in reversed(self.nodes[:-1])] + list(self.differentiated):
            children = sorted((child for child, parent, _ in walk.steps if parent == target), key=position.__getitem__)
            terms = tuple((child, local[(child, target)]) for child in children)
            chain.append(ChainStep(target, terms, walk.adjoint.get(target, sp.Integer(0))))
        gradients = {wrt: self.expand(walk.adjoint.get(wrt, sp.Integer(0))) for wrt in self.differentiated}
        partials = tuple((child, parent, partial) for (child, parent), partial in local.items())
        return Derivation(walk.steps, walk.adjoint, partials, tuple(chain), gradients)

    # -- proof -----------------------------------------------------------------------------------

    def entry_claims(self) -> list[Claim]:
        """The derived derivative, the declared kernels and the kink conventions, for one symbolic entry.

        Every claim is decided by SymPy; none is sampled numerically.
        """
        claims: list[Claim] = []
        derivation = self.derivation()
        for wrt in self.differentiated:
            claims.append(_for_every_entry(equal(
                derivation.gradients[wrt],
                self.expand(self.closed_forms[wrt]),
                f"∂{text(self.output)}/∂{text(wrt)} derived by the chain rule equals the closed form "
                f"{text(self.closed_forms[wrt])}",
                sp.latex(sp.Eq(sp.Symbol(f"\\frac{{\\partial {sp.latex(self.output)}}}"
                                         f"{{\\partial {sp.latex(wrt)}}}"),
                               self.closed_forms[wrt])),
            )))
        for kernel in self.kernels:
            claim = equal(compose(kernel)[0], self.expand(kernel.computes),
                          f"kernel {kernel.name} computes {text(kernel.computes)}", sp.latex(kernel.computes))
            # a kernel of the entries (not a constant such as γ) is proven for one entry, so for all
            claims.append(_for_every_entry(claim) if set(kernel.args) & set(self.differentiated) else claim)
        claims += [_for_every_entry(self._kink_claim(kink, derivation.gradients[kink.wrt])) for kink in self.kinks]
        return claims

    def _kink_claim(self, kink: Kink, derived: sp.Expr) -> Claim:
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

    # -- what the docs and ``mathnn derive`` show ------------------------------------------------

    def entry_sections(self, proof: Proof | None = None) -> list[Section]:
        """The derivation of one entry as titled sections: graph, local partials, chain rule, closed form."""
        derivation = self.derivation()
        out = self.output
        sections = [
            Section("Forward graph", tuple(Equation((_expr(node.symbol), _expr(node.expr))) for node in self.nodes)),
            Section(
                "Local partials (sympy.diff of each node by each parent)",
                tuple(Equation((_partial(child, parent), _expr(partial)))
                      for child, parent, partial in derivation.local_partials),
            ),
            Section("Chain rule, from the output back to the input",
                    tuple(self._chain_equation(step) for step in derivation.chain)),
            Section(
                "Gradient in the input alone",
                tuple(Equation((_partial(out, wrt), _expr(sp.simplify(gradient))))
                      for wrt, gradient in derivation.gradients.items()),
            ),
            Section(
                "Textbook closed form (declared, then proven equal)",
                tuple(Equation((_partial(out, wrt), _expr(closed))) for wrt, closed in self.closed_forms.items()),
            ),
        ]
        if self.kinks:
            sections.append(Section("Kinks", tuple(self._kink_equation(kink) for kink in self.kinks)))
        return sections + ([proof_section(proof)] if proof is not None else [])

    def _chain_equation(self, step: ChainStep) -> Equation:
        out = self.output
        # ∂out/∂child · ∂child/∂target for each child; the output's own factor 1 is left out.
        products = [
            [_partial(child, step.target)] if child == out else [_partial(out, child), _partial(child, step.target)]
            for child, _ in step.terms
        ]
        symbolic = (
            " + ".join("·".join(f[0] for f in factors) for factors in products),
            " + ".join("\\,".join(f[1] for f in factors) for factors in products),
        )
        total = self.contract(sp.simplify(step.total))
        comment = f"{len(step.terms)} paths meet here: their contributions add" if len(step.terms) > 1 else ""
        lhs = _partial(out, step.target)
        parts = (lhs, _expr(total)) if symbolic == lhs else (lhs, symbolic, _expr(total))
        return Equation(parts, comment)

    def _kink_equation(self, kink: Kink) -> Equation:
        text_form, latex_form = _partial(self.output, kink.wrt)
        return Equation(
            ((f"{text_form} at {text(kink.wrt)} = {text(kink.at)}",
              f"\\left.{latex_form}\\right|_{{{sp.latex(kink.wrt)}={sp.latex(kink.at)}}}"),
             _expr(kink.value)),
            kink.convention,
        )


def _for_every_entry(claim: Claim) -> Claim:
    return Claim(claim.statement, claim.latex, claim.method + FOR_EVERY_ENTRY, claim.holds)


def _expr(expr: sp.Expr) -> tuple[str, str]:
    return text(expr), sp.latex(expr)


def _partial(out: sp.Symbol, wrt: sp.Symbol) -> tuple[str, str]:
    return (
        f"∂{text(out)}/∂{text(wrt)}",
        f"\\frac{{\\partial {sp.latex(out)}}}{{\\partial {sp.latex(wrt)}}}",
    )


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
