"""Array layers as rules: one declaration gives the derivation, the proof, the kernels and the checks.

A :class:`LayerRule` declares a layer the way the lecture writes it, in numpy's row-major array
notation: named nodes over array operations (element-wise functions, broadcasting of a per-feature
vector or a per-row scalar, ``RowSum`` over the feature axis, ``BatchSum`` over the batch axis), the
inputs that are differentiated, and the textbook's compact backward as declared closed forms. From
that declaration alone:

* :meth:`LayerRule.derivation` derives every vector-Jacobian product by **reverse accumulation**
  over the graph, in indexed notation along the reduced axis, whose length is a *symbol*: a node
  holding one entry per feature is ``IndexedBase``-valued, a reduction is a ``Sum`` over
  ``0 … D − 1``, ``sympy.diff`` of a sum by one entry gives ``KroneckerDelta`` terms, and
  :func:`~mathnn.rules.decide.resolve_deltas` sums them out. The rows of a batch are
  independent, so one row of symbolic length is the whole layer; a parameter shared by the rows
  (γ, β) collects one such contribution per row, which the array notation writes as ``BatchSum``;
* :meth:`LayerRule.prove` shows each derived gradient equal to its declared closed form for the
  symbolic size, with :func:`~mathnn.rules.decide.decide_zero` (sums split into placeholder symbols, square roots as a
  symbol s with s² = its radicand); the generated kernels are the closed forms themselves, printed
  statement by statement;
* each named :class:`Mistake` — a dropped path of the graph, or a wrong closed form — is shown to
  *differ* from the true gradient, by an exact witness at a concrete size;
* :attr:`LayerRule.kernels` are printed by :mod:`mathnn.codegen` together with :meth:`LayerRule.spec`,
  the numpy-only description (CS231n names, cache, random inputs, mistakes) that
  :mod:`mathnn.layers`, ``mathnn verify`` and ``mathnn check`` use.

Two cases reduce over no axis of their own. A layer such as affine (``size`` None) is proven entry by
entry at concrete sizes (:mod:`mathnn.rules.layer_concrete`). An element-wise layer (``axis="entries"``:
the activations) applies one function to each entry, so one symbolic entry is the whole derivation
(:mod:`mathnn.rules.elementwise`); its kernels are the ones it declares.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import sympy as sp

from .backprop import reverse_accumulate
from .core import (
    BatchSum, Claim, Equation, Fact, Kernel, Kink, Node, Proof, RowSum, Section, Statement, compose, latex_text,
    proof_section,
)
from .decide import decide_zero, resolve_deltas
from .elementwise import ElementwiseLayer
from .layer_concrete import ConcreteLayer
from .layer_kernels import LayerKernels
from .loss import Loss, loss_claims, one_hot_row, one_hot_sums, slip_spec
from .layer_parts import (
    CS231n, Derivation, Draw, ForwardMistake, Identity, J, Mistake, Regrouping, Reshape, Tuned, Variant, shown,
    timed_claim,
    witness_of_difference,
)
from .textprint import text

#: The summation index shown for reductions over the feature axis.
_I = sp.Symbol("i", integer=True)


@dataclass(frozen=True)
class LayerRule(LayerKernels, ConcreteLayer, ElementwiseLayer):
    """A layer declared once, in the lecture's notation (see the module docstring).

    Parameters
    ----------
    name, title, note : str
        Identifier (CLI, kernels module, docs page), human title, a paragraph for the docs.
    size : Symbol or None
        The length of the reduced axis, symbolic in the proof (D for layer norm); None for a layer that
        reduces over no axis of its own: affine, proven entry by entry at ``proof_sizes``, or an
        element-wise layer (``axis="entries"``).
    element_arrays : tuple of Symbol
        Inputs with one entry per position of the reduced axis (x, γ, β); ``dout`` is added. For an
        element-wise layer, its input, whose one symbolic entry the derivation is for.
    scalars : dict
        Non-differentiated scalar settings and their defaults (ε).
    nodes : tuple of Node
        The forward graph in array notation, topological order; the last node is the output.
    differentiated : tuple of Symbol
        The inputs the backward returns gradients for, in CS231n's order.
    closed_forms : dict
        The textbook's compact gradient of each differentiated input, in array notation; for an
        element-wise layer, its derivative f′ (the backward is ``dout`` times it), in node symbols.
    helpers : tuple of Statement
        Backward statements computed before the gradients (shared sums), used by the closed forms.
    shared : tuple of Symbol
        Inputs shared by every row (γ, β): their gradient sums the rows (``BatchSum`` in the arrays).
    draws : dict
        How random check inputs are drawn, by argument name.
    check_sizes : tuple of dict
        Concrete sizes the numeric checks use, e.g. ``({"N": 4, "D": 5}, {"N": 1, "D": 3})``.
    proof_sizes : tuple of dict
        With ``size`` None: the concrete sizes the proof works at, entry by entry.
    reshape : Reshape, optional
        An argument the public functions take with more axes than the kernel's two (CS231n's affine
        layer takes x of shape (N, d₁, …, d_k)); its gradient gets the original shape back.
    variants : tuple of Variant
        The same layer under other CS231n names with a reshape of their own (temporal_affine).
    axis : {"features", "batch", "entries"}
        The axis the layer reduces over: the features of one row (layer norm: ``RowSum``), or the rows
        of one column (batch norm: ``BatchSum``). The derivation is for one row, or one column.
        ``"entries"``: an element-wise layer, which reduces over nothing; the derivation is for one entry.
    lane_arrays : tuple of Symbol
        Inputs with one value per lane, where a lane is the row or column the derivation is for
        (batch norm's γ and β hold one value per column): constants within the lane.
    tuned : Tuned, optional
        Kernels written by hand for speed, proven to compute what the graph and the closed forms
        compute; the public functions then use them.
    running : dict, optional
        Per-lane nodes that test mode replaces by running averages kept by the caller (batch norm's
        μ and σ²), by the name of the input holding each: gives the inference kernel.
    identities : tuple of Identity
        Facts of the lecture about the layer (Σᵢ x̂ᵢ = 0), proven for the symbolic size.
    forward_mistakes : tuple of ForwardMistake
        Named mistakes of the forward pass (ε outside the square root), refuted by the proof and
        recognised by the checker from the output alone.
    homework_sizes : dict, optional
        The range a homework check draws each size from at its second shape, where the default 2 … 6
        would make a weak check (batch norm at N = 2 has x̂ = ±1 and a dx that nearly vanishes).
    bound_sizes : dict, optional
        Sizes the array operations read (a convolution's H, W, HH, WW, stride, pad), by symbol: each
        kernel binds it from numpy source (``"x.shape[2]"``, ``"int(stride)"``), and a proof at concrete
        sizes takes the size of that name from each of its ``proof_sizes``. An empty source: a size only
        the proof reads (where max pooling's windows have their maximum, at a fixed order of the entries).
    homework_multiples : dict, optional
        Sizes a homework check rounds up to a multiple of this, at its second shape (a pooling window
        of 2 at stride 2 tiles only an even height).
    cs231n : CS231n, optional
        The public functions; a layer with them gets its forward, backward, magnitude and mistake
        kernels and its ``SPEC`` generated. None for a layer with kernels of its own only (an activation).
    mistakes : tuple of Mistake
        Named mistakes, refuted by the proof and recognised by the checker.
    declared : tuple of Kernel
        Kernels written in the declaration (an activation's f, f′ and γ = sup |f′|), each proven to
        compute what it claims; generated after the layer's own.
    public_module : str
        The module of the checked public functions (``mathnn.layers``, ``mathnn.activations``).
    params : dict
        Settings of the declared kernels, with their defaults (α of Leaky ReLU).
    param_checks : dict
        For each of ``params``, the values the numeric checks use.
    domain : dict
        For the input of an element-wise layer, the interval its random check points are drawn from.
    kinks : tuple of Kink
        Points where the derivative jumps, and the value the kernels use there (a one-sided limit).
    facts : tuple of Fact
        Statements of the lecture about the rule (max σ′ = 1/4), each with the function proving it.
    one_hot : tuple of Symbol
        Inputs each row of which holds a single 1 (a loss's targets): a proof for a symbolic size uses
        Σₖ yₖ = 1, one at concrete sizes runs over every assignment of the targets.
    loss : Loss, optional
        The layer is a loss (:mod:`mathnn.rules.loss`): its output is one value per row, ``dout`` is
        the weight of each row, and its kernels are the declared fused kernel and one per mistake.
    """

    name: str
    title: str
    note: str
    nodes: tuple[Node, ...]
    differentiated: tuple[sp.Symbol, ...]
    closed_forms: dict[sp.Symbol, sp.Expr]
    size: sp.Symbol | None = None
    element_arrays: tuple[sp.Symbol, ...] = ()
    scalars: dict[sp.Symbol, float] = field(default_factory=dict)
    helpers: tuple[Statement, ...] = ()
    shared: tuple[sp.Symbol, ...] = ()
    draws: dict[str, Draw] = field(default_factory=dict)
    check_sizes: tuple[dict[str, int], ...] = ()
    cs231n: CS231n | None = None
    mistakes: tuple[Mistake, ...] = ()
    proof_sizes: tuple[dict[str, int], ...] = ()
    reshape: Reshape | None = None
    variants: tuple[Variant, ...] = ()
    axis: str = "features"
    lane_arrays: tuple[sp.Symbol, ...] = ()
    tuned: Tuned | None = None
    running: dict[sp.Symbol, str] = field(default_factory=dict)
    identities: tuple[Identity, ...] = ()
    forward_mistakes: tuple[ForwardMistake, ...] = ()
    homework_sizes: dict[str, tuple[int, int]] = field(default_factory=dict)
    public_module: str = "mathnn.layers"
    params: dict[sp.Symbol, float] = field(default_factory=dict)
    kinks: tuple[Kink, ...] = ()
    dout: sp.Symbol = sp.Symbol("dout")
    bound_sizes: dict[sp.Symbol, str] = field(default_factory=dict)
    homework_multiples: dict[str, int] = field(default_factory=dict)
    declared: tuple[Kernel, ...] = ()
    param_checks: dict[sp.Symbol, tuple[float, ...]] = field(default_factory=dict)
    domain: dict[sp.Symbol, tuple[float, float]] = field(default_factory=dict)
    facts: tuple[Fact, ...] = ()
    one_hot: tuple[sp.Symbol, ...] = ()
    loss: Loss | None = None

    # -- the graph -------------------------------------------------------------------------------

    @property
    def output(self) -> sp.Symbol:
        return self.nodes[-1].symbol

    def __post_init__(self) -> None:
        if self.axis not in ("features", "batch", "entries"):
            raise ValueError(f"axis: expected 'features', 'batch' or 'entries'; received {self.axis!r}")
        self.check_kind()

    @property
    def inputs(self) -> tuple[sp.Symbol, ...]:
        """Every input of the forward graph: the arrays, then the scalars."""
        return (*self.element_arrays, *self.lane_arrays, *self.scalars)

    @property
    def reduction(self) -> type[RowSum] | type[BatchSum]:
        """The array-notation sum over the reduced axis: ``RowSum`` (features) or ``BatchSum`` (batch)."""
        return RowSum if self.axis == "features" else BatchSum

    @property
    def lane(self) -> str:
        """What one derivation covers, in words: a row of features, or a column over the batch."""
        if self.elementwise:
            return "one entry"
        items = "classes" if self.loss is not None else "features"
        return f"one row of {self.size} {items}" if self.axis == "features" else f"one column over a batch of {self.size}"

    def _node(self, symbol: sp.Symbol) -> Node | None:
        return next((node for node in self.nodes if node.symbol == symbol), None)

    def is_element(self, symbol: sp.Symbol) -> bool:
        """Does ``symbol`` hold one entry per position of the reduced axis (else one per row)?

        An element-wise layer reduces over nothing: one entry is its whole lane, so nothing varies along it.
        """
        if self.elementwise:
            return False
        if symbol == self.dout:  # the upstream gradient has the output's shape (a loss's: one weight per row)
            return self.is_element(self.output)
        if symbol in self.element_arrays:
            return True
        node = self._node(symbol)
        return node is not None and self._expr_is_element(node.expr)

    def _expr_is_element(self, expr: sp.Expr) -> bool:
        if isinstance(expr, (RowSum, BatchSum)):
            return False
        if isinstance(expr, sp.Symbol):
            return self.is_element(expr)
        return any(self._expr_is_element(arg) for arg in expr.args)

    def parents(self, node: Node) -> list[sp.Symbol]:
        """The arrays and nodes ``node`` is computed from (scalar settings such as ε are constants)."""
        known = set(self.element_arrays) | set(self.lane_arrays) | {n.symbol for n in self.nodes}
        return sorted(node.expr.free_symbols & known, key=sp.default_sort_key)

    def edges(self) -> list[tuple[sp.Symbol, sp.Symbol]]:
        """Every (parent, child) edge, in node order."""
        return [(parent, node.symbol) for node in self.nodes for parent in self.parents(node)]

    # -- indexed notation ------------------------------------------------------------------------

    def indexed(self, expr: sp.Expr, at: sp.Expr = J) -> sp.Expr:
        """``expr`` for one row, at position ``at`` of the reduced axis: arrays indexed, RowSum a Sum.

        ``BatchSum`` (the sum over rows of a shared parameter's gradient) is one row's contribution.
        """
        if isinstance(expr, self.reduction):
            assert self.size is not None, "a reduction over the layer's axis needs a symbolic size"
            index = sp.Dummy("i", integer=True)
            return sp.Sum(self.indexed(expr.args[0], index), (index, 0, self.size - 1))
        if isinstance(expr, BatchSum):  # a shared parameter's gradient: one row's contribution
            return self.indexed(expr.args[0], at)
        if isinstance(expr, RowSum):
            raise ValueError(f"{self.name} reduces over the batch axis: RowSum has no meaning in {expr}")
        if isinstance(expr, sp.Symbol):
            return sp.IndexedBase(expr, real=True)[at] if self.is_element(expr) else expr
        if not expr.args:
            return expr
        return expr.func(*(self.indexed(arg, at) for arg in expr.args))

    def expand(self, expr: sp.Expr) -> sp.Expr:
        """Every node in ``expr`` (indexed or per-row) replaced by its definition, down to the inputs."""
        names = {node.symbol.name: node for node in self.nodes}

        def walk(e: sp.Expr) -> sp.Expr:
            if isinstance(e, sp.Indexed) and e.base.name in names:
                return walk(self.indexed(names[e.base.name].expr, e.indices[0]))
            if isinstance(e, sp.Symbol) and e.name in names and not self.is_element(e):
                return walk(self.indexed(names[e.name].expr))
            if not e.args or isinstance(e, sp.Indexed):
                return e
            return e.func(*(walk(arg) for arg in e.args))

        return walk(expr)

    # -- derivation: reverse accumulation in indexed notation ----------------------------------

    def derivation(self, drop: Sequence[tuple[sp.Symbol, sp.Symbol]] = ()) -> Derivation:
        """Adjoints of every node and input, from L = Σⱼ doutⱼ outⱼ back to the inputs.

        A per-position adjoint is a function of the entry ``j``; a per-row one is a plain expression.
        An element-wise layer's ∂L/∂x is dout · f′(x) entry by entry: its walk is seeded with 1 and gives
        f′ of one entry, with each step kept for display.
        ``drop`` removes (parent, child) edges: the gradient of a student who forgets that path.
        """
        by_symbol = {node.symbol: node for node in self.nodes}
        walk = reverse_accumulate(
            [node.symbol for node in self.nodes], lambda symbol: self.parents(by_symbol[symbol]),
            lambda child, parent, seed: self._vjp(child, by_symbol[child].expr, parent, seed),
            {self.output: sp.Integer(1) if self.elementwise else self.indexed(self.dout)}, drop)
        return self.entry_derivation(walk) if self.elementwise else Derivation(walk.steps, walk.adjoint)

    def _vjp(self, child: sp.Symbol, expr: sp.Expr, parent: sp.Symbol, seed: sp.Expr) -> sp.Expr:
        """What the adjoint ``seed`` of ``child`` contributes to ``parent``'s: Σ seed · ∂child/∂parent."""
        if self.elementwise:  # one entry: a plain derivative, in node symbols as the docs show it
            return seed * self.local_partial(expr, parent)
        index = sp.Dummy("i", integer=True)
        wrt = self.indexed(parent, J)
        if self.is_element(child):
            # Σᵢ ādjᵢ ∂childᵢ/∂parent(ⱼ): the sum runs over the child's entries
            local = sp.diff(self.indexed(expr, index), wrt)
            assert self.size is not None, "an element-wise child is summed over a symbolic size"
            total = sp.Sum(seed.xreplace({J: index}) * local, (index, 0, self.size - 1))
        else:
            total = seed * sp.diff(self.indexed(expr), wrt)
        return sp.expand(resolve_deltas(total)) if self.is_element(parent) else total

    def derived_gradient(self, wrt: sp.Symbol, drop: Sequence[tuple[sp.Symbol, sp.Symbol]] = ()) -> sp.Expr:
        """∂L/∂wrt(ⱼ) for one row, in node symbols, as reverse accumulation gives it; for an element-wise
        layer f′ of one entry, in the input alone (the function the facts are about)."""
        derivation = self.derivation(drop)
        if self.elementwise:
            return derivation.gradients.get(wrt, sp.Integer(0))
        return derivation.adjoint.get(wrt, sp.Integer(0))

    # -- proof -----------------------------------------------------------------------------------

    def prove(self) -> Proof:
        """Derived = closed form for every gradient, the kernels, every mistake refuted, and the facts.

        For one entry (element-wise), entry by entry at concrete sizes (``size`` None), or for the
        symbolic size.
        """
        start = time.perf_counter()
        if self.elementwise:
            claims = self.entry_claims()
        elif self.size is None:
            claims = self.concrete_claims()
        else:
            claims = self._symbolic_claims()
        claims += loss_claims(self) if self.loss is not None else []
        claims += [fact.check(self) for fact in self.facts]
        return Proof(self.name, claims, time.perf_counter() - start)

    def _symbolic_claims(self) -> list[Claim]:
        claims: list[Claim] = []
        derivation = self.derivation()
        kernel_values = self.backward_values()
        for wrt in self.differentiated:
            derived = derivation.adjoint[wrt]
            closed = self.indexed(kernel_values[wrt])
            shared = " per row (the kernel sums the rows)" if wrt in self.shared else ""
            claims.append(timed_claim(
                f"∂L/∂{text(wrt)} derived by reverse accumulation equals the closed form "
                f"{text(self.closed_forms[wrt])}{shared}, for symbolic {self.size}",
                sp.latex(sp.Eq(sp.Symbol(f"\\frac{{\\partial L}}{{\\partial {sp.latex(wrt)}}}"),
                               self.closed_forms[wrt], evaluate=False)),
                lambda derived=derived, closed=closed: decide_zero(self._assumed(self.expand(derived - closed))),
            ))
        for mistake in self.mistakes:
            claims.append(self._refute(mistake, kernel_values))
        claims += [self._identity_claim(identity, kernel_values) for identity in self.identities]
        right = self.expand(self.indexed(self.output))
        claims += [timed_claim(
            f"the forward mistake '{mistake.name}' gives a different output",
            f"{latex_text(mistake.name)} \\neq {sp.latex(self.output)}",
            lambda mistake=mistake: witness_of_difference(self.forward_mistake_output(mistake), right, self.size),
        ) for mistake in self.forward_mistakes]
        claims += [self._regrouping_claim(regrouping, right) for regrouping in (self.reshape.regroupings
                                                                               if self.reshape else ())]
        claims += self._tuned_claims()
        return claims

    def _assumed(self, expr: sp.Expr) -> sp.Expr:
        """``expr`` with what the declaration says of the inputs applied: each row of a one-hot input sums to 1."""
        return one_hot_sums(expr, self.one_hot) if self.one_hot else expr

    def slip_spec(self) -> list[dict]:
        """A loss's slip kernels as plain data for the checker (``SLIPS``); none for a layer."""
        return slip_spec(self)

    def _regrouping_claim(self, regrouping: Regrouping, right: sp.Expr) -> Claim:
        """A grouped layer's statistics over other groups give another output: shown at C = 4 channels in
        G = 2 groups of H·W = 2 pixels (a group of D = 4 entries), against the whole image (D = 8) or one
        channel (D = 2)."""
        channels, groups, pixels = 4, 2, 2
        other = 1 if regrouping.groups == "1" else channels
        assert self.size is not None, "a grouped layer is proven for a symbolic group size"
        wrong = right.subs(self.size, channels // other * pixels)
        return timed_claim(
            f"the forward mistake '{regrouping.name}' gives a different output (C = {channels}, G = {groups}, "
            f"H·W = {pixels}: groups of {channels // groups * pixels} entries, against {channels // other * pixels})",
            f"{latex_text(regrouping.name)} \\neq {sp.latex(self.output)}",
            lambda: witness_of_difference(wrong, right, self.size, channels // groups * pixels),
        )

    def forward_mistake_output(self, mistake: ForwardMistake) -> sp.Expr:
        """The output entry j a forward mistake gives, in the inputs (indexed notation)."""
        replaced = dataclasses.replace(self, nodes=tuple(
            dataclasses.replace(node, expr=mistake.replace.get(node.symbol, node.expr)) for node in self.nodes))
        return replaced.expand(replaced.indexed(self.output))

    def _identity_claim(self, identity: Identity, kernel_values: Mapping[sp.Symbol, sp.Expr]) -> Claim:
        gradients = {f"d{wrt.name}": value for wrt, value in kernel_values.items()}
        difference = self._by_name(identity.lhs - identity.rhs)
        difference = difference.xreplace({s: gradients[s.name] for s in difference.free_symbols if s.name in gradients})
        return timed_claim(
            f"{identity.statement}, for symbolic {self.size}",
            sp.latex(sp.Eq(identity.lhs, identity.rhs, evaluate=False)),
            lambda: decide_zero(self.expand(self.indexed(difference))),
        )

    def _by_name(self, expr: sp.Expr) -> sp.Expr:
        """A kernel expression with its symbols replaced by the rule's own, by name (Named nodes included)."""
        own = {s.name: s for s in (*self.inputs, self.dout, *(n.symbol for n in self.nodes))}
        return expr.xreplace({s: own[s.name] for s in expr.free_symbols if s.name in own})

    def _tuned_claims(self) -> list[Claim]:
        """Each output of the tuned kernels equals what the graph (forward) or the closed form (backward) gives."""
        if self.tuned is None:
            return []
        forward, backward = self.tuned.forward, self.tuned.backward
        means = dict(self.tuned.means)
        closed = self.backward_values()
        given = {s.name for s in self.inputs}  # an input handed back for the cache needs no proof
        pairs = [(forward, name, value, self.indexed(self._by_name(sp.Symbol(name))))
                 for name, value in zip(forward.results, compose(forward)) if name not in given]
        pairs += [(backward, name, value, self.indexed(closed[wrt]))
                  for name, value, wrt in zip(backward.results, compose(backward), self.differentiated)]
        claims = []
        for kernel, name, value, target in pairs:
            tuned_value = self.indexed(self._by_name(value)).xreplace(means)
            claims.append(timed_claim(
                f"the tuned kernel {kernel.name} computes {name} as the {'graph' if kernel is forward else 'closed form'} "
                f"does, for symbolic {self.size}",
                rf"{latex_text(kernel.name)}: {sp.latex(sp.Symbol(name))}",
                lambda a=tuned_value, b=target: decide_zero(self.expand(a - b)),
            ))
        return claims

    def mistake_gradient(self, mistake: Mistake) -> sp.Expr:
        """The gradient a student with this mistake computes, for one row, in node symbols."""
        if mistake.closed is not None:
            return self.indexed(self.mistake_array(mistake))
        return self.derived_gradient(mistake.wrt, mistake.drop)

    def _refute(self, mistake: Mistake, kernel_values: Mapping[sp.Symbol, sp.Expr]) -> Claim:
        wrong = self.expand(self.mistake_gradient(mistake))
        right = self.expand(self.indexed(kernel_values[mistake.wrt]))
        return timed_claim(
            f"the mistake '{mistake.name}' gives a different ∂L/∂{text(mistake.wrt)}",
            f"{latex_text(mistake.name)} \\neq \\frac{{\\partial L}}{{\\partial {sp.latex(mistake.wrt)}}}",
            lambda: self._witness(wrong, right),
        )

    def _witness(self, wrong: sp.Expr, right: sp.Expr) -> tuple[bool, str]:
        """A point where ``wrong`` and ``right`` differ; on a one-hot input, one whose rows are one-hot, with
        the target at the entry compared or beside it."""
        assert self.size is not None
        if not self.one_hot:
            return witness_of_difference(wrong, right, self.size)
        how = ""
        for hot in (0, 1):
            differs, how = witness_of_difference(one_hot_row(wrong, self.one_hot, self.size, 3, hot),
                                                 one_hot_row(right, self.one_hot, self.size, 3, hot), self.size)
            if differs:
                return True, f"{how}, the one-hot target at entry {hot}"
        return False, how

    # -- what the docs and ``mathnn derive`` show ------------------------------------------------

    def sections(self, proof: Proof | None = None) -> list[Section]:
        """The derivation step by step, then the proof when given, for ``mathnn derive`` and the docs."""
        if self.elementwise:
            return self.entry_sections(proof)
        if self.size is None:
            return self._concrete_sections(proof)
        derivation = self.derivation()
        forward = tuple(
            Equation(((text(n.symbol), sp.latex(n.symbol)), (text(n.expr), sp.latex(n.expr))), n.equation or "")
            for n in self.nodes
        )
        # an edge into an input that is not differentiated (a loss's targets, dropout's mask) leads nowhere
        shown_steps = [step for step in derivation.steps if step[1] in self.differentiated or step[1] not in self.inputs]
        reached = [parent for _, parent, _ in shown_steps]
        steps = tuple(
            Equation(
                ((f"∂L/∂{text(parent)} (from {text(child)})",
                  rf"\frac{{\partial L}}{{\partial {sp.latex(parent)}}}\;\text{{from }}{sp.latex(child)}"),
                 shown(self.compact(contribution))),
                "one of several edges into this node: their contributions add up" if reached.count(parent) > 1 else "",
            )
            for child, parent, contribution in shown_steps
        )
        closed = tuple(
            Equation(((f"∂L/∂{text(wrt)}", rf"\frac{{\partial L}}{{\partial {sp.latex(wrt)}}}"),
                      shown(self.closed_forms[wrt])))
            for wrt in self.differentiated
        )
        mistakes = tuple(
            Equation(((mistake.name, latex_text(mistake.name)), shown(self.compact(self.mistake_gradient(mistake)))),
                     mistake.sentence)
            for mistake in self.mistakes
        )
        sections = [
            Section(f"Forward graph, {self.lane}, in array notation", forward),
            Section("Reverse accumulation: what each edge adds to ∂L/∂(its parent), at entry j", steps),
            Section("Textbook closed form (declared, then proven equal)", closed),
            Section("Named mistakes: the gradient each one gives", mistakes),
        ]
        if self.identities:
            facts = tuple(Equation(((text(i.lhs), sp.latex(i.lhs)), shown(i.rhs)), i.statement) for i in self.identities)
            sections.append(Section(f"Facts, proven for symbolic {self.size}", facts))
        return sections + ([proof_section(proof)] if proof is not None else [])

    def compact(self, expr: sp.Expr) -> sp.Expr:
        """A derived expression tidied for display: dummies named i, sums kept."""
        return expr.xreplace({d: _I for d in expr.atoms(sp.Dummy)})
