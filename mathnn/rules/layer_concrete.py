"""Layer rules that reduce over no axis of their own (affine), proven entry by entry at concrete sizes.

Reverse accumulation on matrices of symbols: each node is evaluated with its parents as fresh
matrices of symbols, so every local partial is one scalar ``diff``; the result is compared with the
closed form evaluated at the same size, entry by entry (:func:`~mathnn.rules.decide.matrices_equal`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sympy as sp

from ..sizes import size_of
from .arrays import evaluate, symbol_matrix
from .backprop import reverse_accumulate
from .core import Claim, Equation, Kernel, Node, Proof, Section, compose, latex_text, proof_section
from .decide import matrices_equal
from .layer_parts import Draw, Mistake, shown, timed_claim
from .textprint import text


class ConcreteLayer:
    """What :class:`~mathnn.rules.layer.LayerRule` does when its ``size`` is None (and it is not element-wise)."""

    if TYPE_CHECKING:  # the declaration this mixin reads, defined by LayerRule
        name: str
        element_arrays: tuple[sp.Symbol, ...]
        scalars: dict[sp.Symbol, float]
        nodes: tuple[Node, ...]
        differentiated: tuple[sp.Symbol, ...]
        closed_forms: dict[sp.Symbol, sp.Expr]
        draws: dict[str, Draw]
        mistakes: tuple[Mistake, ...]
        proof_sizes: tuple[dict[str, int], ...]
        one_hot: tuple[sp.Symbol, ...]
        dout: sp.Symbol
        bound_sizes: dict[sp.Symbol, str]

        @property
        def output(self) -> sp.Symbol: ...
        @property
        def layer_kernels(self) -> tuple[Kernel, ...]: ...
        @property
        def diagnosable(self) -> tuple[Mistake, ...]: ...
        def parents(self, node: Node) -> list[sp.Symbol]: ...
        def mistake_array(self, mistake: Mistake) -> sp.Expr: ...

    def symbol_inputs(self, sizes: Mapping[str, int]) -> dict[sp.Symbol, sp.Matrix]:
        """Every array input as a matrix of its own symbols (a vector as one row, as numpy broadcasts it)."""
        env = {}
        for symbol in self.element_arrays:
            shape = [size_of(name, sizes) for name in self.draws[symbol.name].shape]
            rows, cols = (1, shape[0]) if len(shape) == 1 else shape if len(shape) == 2 else (
                shape[0], math.prod(shape[1:]))  # an image batch (N, C, H, W) as its N rows, flattened
            env[symbol] = symbol_matrix(symbol.name, rows, cols)
        return env

    def concrete_adjoints(self, sizes: Mapping[str, int], drop: Sequence[tuple[sp.Symbol, sp.Symbol]] = (),
                          fixed: Mapping[sp.Symbol, sp.Matrix] | None = None) -> tuple[dict, dict]:
        """Node values and adjoints at ``sizes`` by reverse accumulation over the graph.

        Each node is evaluated with its parents as fresh matrices of symbols, so every local partial
        ∂childₖ/∂parentₑ is ``sympy.diff`` of one entry by one symbol; the contributions
        Σₖ ādj(child)ₖ ∂childₖ/∂parentₑ are then written in the inputs. ``fixed`` gives inputs their values
        (a one-hot target's 0s and 1s) instead of symbols.
        """
        values: dict[sp.Symbol, Any] = {**self.symbol_inputs(sizes), **(fixed or {})}
        values.update({symbol: symbol for symbol in self.scalars})
        # the sizes the array operations read (a convolution's stride), as the integers of this size
        values.update({s: sp.Integer(sizes[s.name]) for s in self.bound_sizes if s.name in sizes})
        local: dict[sp.Symbol, tuple[Any, dict]] = {}
        for node in self.nodes:
            stand_ins = {p: symbol_matrix(f"{p.name}_in", *values[p].shape) for p in self.parents(node)}
            local[node.symbol] = (evaluate(node.expr, {**values, **stand_ins}), stand_ins)
            values[node.symbol] = evaluate(node.expr, values)
        out = values[self.output]

        actuals: dict[sp.Symbol, dict] = {}  # each stand-in entry's value, per node

        def vjp(child: sp.Symbol, parent: sp.Symbol, seed: sp.Matrix) -> sp.Matrix:
            local_child, stand_ins = local[child]
            if child not in actuals:
                actuals[child] = {entry: value for p, m in stand_ins.items() for entry, value in zip(m, values[p])}
            actual = actuals[child]
            return stand_ins[parent].applyfunc(
                lambda entry: sum(a * sp.diff(c, entry) for a, c in zip(seed, local_child))
            ).xreplace(actual)

        adjoint = reverse_accumulate(
            [node.symbol for node in self.nodes], lambda symbol: local[symbol][1], vjp,
            {self.output: symbol_matrix(self.dout.name, *out.shape)}, drop).adjoint
        values[self.dout] = adjoint[self.output]
        return values, adjoint

    def input_cases(self, sizes: Mapping[str, int]) -> list[tuple[str, dict[sp.Symbol, sp.Matrix]]]:
        """The values the proof fixes at ``sizes``: every assignment of a one-hot input's targets (none without one)."""
        if not self.one_hot:
            return [("", {})]
        from .loss import one_hot_cases

        rows, cols = self.symbol_inputs(sizes)[self.one_hot[0]].shape
        return [(f", {label}", fixed) for label, fixed in one_hot_cases(self.one_hot, rows, cols)]

    def concrete_claims(self) -> list[Claim]:
        """Every gradient equal to its closed form and every mistake refuted, entry by entry at each of
        ``proof_sizes``."""
        claims: list[Claim] = []
        backward = self.layer_kernels[1]
        evaluated = []
        for sizes in self.proof_sizes:
            at_size = ", ".join(f"{k}={v}" for k, v in sizes.items())
            runs = [(f"{at_size}{label}", sizes, *self.concrete_adjoints(sizes, fixed=fixed), fixed)
                    for label, fixed in self.input_cases(sizes)]
            every = f", each of the {len(runs)} one-hot targets" if self.one_hot else ""
            for wrt, closed in zip(self.differentiated, compose(backward)):
                claims.append(timed_claim(
                    f"∂L/∂{text(wrt)} derived by reverse accumulation equals the closed form "
                    f"{text(self.closed_forms[wrt])}, entry by entry at {at_size}{every}",
                    sp.latex(sp.Eq(sp.Symbol(f"\\frac{{\\partial L}}{{\\partial {sp.latex(wrt)}}}"),
                                   self.closed_forms[wrt], evaluate=False)),
                    lambda wrt=wrt, closed=closed, runs=runs: _each_equal(wrt, closed, runs),
                ))
            evaluated += runs
        for mistake in self.mistakes:
            claims.append(timed_claim(
                f"the mistake '{mistake.name}' gives a different ∂L/∂{text(mistake.wrt)}",
                f"{latex_text(mistake.name)} \\neq \\frac{{\\partial L}}{{\\partial {sp.latex(mistake.wrt)}}}",
                lambda mistake=mistake: self._differs_somewhere(mistake, evaluated),
            ))
        return claims

    def _differs_somewhere(self, mistake: Mistake, evaluated: list) -> tuple[bool, str]:
        """A mistake is refuted by one size where it differs (at N = 1 an unsummed db is right)."""
        notes = []
        for at_size, sizes, values, adjoint, fixed in evaluated:
            differs, how = _matrices_differ(self._concrete_mistake(mistake, sizes, values, fixed), adjoint[mistake.wrt])
            if differs:
                return True, f"at {at_size}: {how}"
            notes.append(f"equal at {at_size}")
        return False, "; ".join(notes)

    def _concrete_mistake(self, mistake: Mistake, sizes: Mapping[str, int], values: Mapping,
                          fixed: Mapping[sp.Symbol, sp.Matrix] | None = None) -> Any:
        if mistake.closed is not None:
            try:
                return evaluate(self.mistake_array(mistake), values)
            except sp.ShapeError:  # dout @ w where dout @ wᵀ is meant: a different shape, or none at all
                return None
        return self.concrete_adjoints(sizes, mistake.drop, fixed)[1].get(mistake.wrt, sp.zeros(*values[mistake.wrt].shape))

    def _concrete_sections(self, proof: Proof | None) -> list[Section]:
        sizes = self.proof_sizes[0]
        label, fixed = self.input_cases(sizes)[0]
        at_size = ", ".join(f"{k} = {v}" for k, v in sizes.items()) + label
        values, adjoint = self.concrete_adjoints(sizes, fixed=fixed)
        notation = {symbol.name: sp.latex(symbol)
                    for symbol in (*self.element_arrays, self.dout, *(node.symbol for node in self.nodes))}
        forward = tuple(
            Equation(((text(n.symbol), sp.latex(n.symbol)), (text(n.expr), sp.latex(n.expr))), n.equation or "")
            for n in self.nodes
        )
        derived = tuple(
            Equation(((f"∂L/∂{text(wrt)}[0,0]", rf"\frac{{\partial L}}{{\partial {{{sp.latex(wrt)}}}_{{0,0}}}}"),
                      shown(adjoint[wrt][0, 0], notation)),
                     f"the first of its {adjoint[wrt].rows}×{adjoint[wrt].cols} entries; every entry is proven")
            for wrt in self.differentiated
        )
        closed = tuple(
            Equation(((f"∂L/∂{text(wrt)}", rf"\frac{{\partial L}}{{\partial {sp.latex(wrt)}}}"),
                      shown(self.closed_forms[wrt])))
            for wrt in self.differentiated
        )
        mistakes = tuple(
            Equation(((mistake.name, latex_text(mistake.name)), shown(self.mistake_array(mistake))),
                     mistake.sentence)
            for mistake in self.diagnosable
        )
        sections = [
            Section("Forward graph, in array notation", forward),
            Section(f"Reverse accumulation entry by entry, at {at_size}: one entry of each gradient", derived),
            Section("Textbook closed form (declared, then proven equal at each size)", closed),
        ]
        if mistakes:
            sections.append(Section("Named mistakes: the gradient each one gives", mistakes))
        return sections + ([proof_section(proof)] if proof is not None else [])


def _each_equal(wrt: sp.Symbol, closed: Any, runs: list) -> tuple[bool, str]:
    """The derived gradient equals the closed form in every run (each one-hot target); the first that fails."""
    how = ""
    for at, _, values, adjoint, _ in runs:
        holds, how = _matrices_equal(adjoint[wrt], closed, values)
        if not holds:
            return False, f"at {at}: {how}" if len(runs) > 1 else how
    return True, how


def _matrices_equal(left: Any, closed: Any, values: Mapping) -> tuple[bool, str]:
    try:
        right = evaluate(closed, values)
    except sp.ShapeError as error:  # dout @ w where dout @ wᵀ was meant: no shape at all
        return False, f"the closed form {text(closed)} has no shape here: {error}"
    if not isinstance(right, sp.MatrixBase):  # a constant closed form (0) broadcast to the gradient
        right = sp.ones(*left.shape) * right
    holds, how = matrices_equal(left, right)
    return holds, how.rsplit(" [", 1)[0]  # _claim times it


def _matrices_differ(wrong: Any, right: sp.Matrix) -> tuple[bool, str]:
    """A mistake differs from the true gradient: by its shape, or by an entry that does not cancel."""
    if wrong is None:
        return True, "it has no shape here (its matrix product does not fit)"
    if not isinstance(wrong, sp.MatrixBase) or wrong.shape != right.shape:
        shape = wrong.shape if isinstance(wrong, sp.MatrixBase) else "a scalar"
        return True, f"its shape is {shape}, the gradient's is {right.shape}"
    holds, how = matrices_equal(wrong, right)
    how = how.rsplit(" [", 1)[0]
    return not holds, ("it equals the true gradient: " + how) if holds else how
