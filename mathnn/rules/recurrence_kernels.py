"""What a recurrence generates: the sequence kernels, built from its step rule's graph and closed forms.

:class:`RecurrenceKernels` is the part of :class:`~mathnn.rules.recurrence.Recurrence` that writes
code. The forward loop is the step's graph, node by node, once per step, every node kept as a sequence
for the backward (a term that needs only the step's input and the weights, ``x Wx``, is computed
for all steps in one product before the loop). The backward loop runs t = T … 1: the gradient reaching
each carried state (its own upstream plus what step t + 1 sent back), the step's helper statements,
and the carried inputs' closed forms for what goes back to step t − 1. After the loop the per-step
inputs' gradients come from their closed forms at every step at once, and the weights' from theirs
over all N·T rows, because a gradient summed over the rows of a batch is summed over time when the
steps are stacked as rows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

import sympy as sp

from .arrays import evaluate, symbol_matrix
from .core import BatchMajor, Kernel, Loop, Named, Node, Rows, Statement, Step
from .gates import Concat
from .textprint import text

if TYPE_CHECKING:
    from .layer import LayerRule
    from .core import Slip

#: Any element-wise activation and its derivative: a recurrence declared with ``activation`` is
#: generated and proven for every f.
f, f_grad = sp.Function("f"), sp.Function("f_grad")
T = sp.Symbol("T")
_CALLABLE = "Callable[[np.ndarray], np.ndarray] | None"


def _plain(expr: Any) -> Any:
    """``expr`` with every :class:`~mathnn.rules.core.Named` symbol as the plain symbol of its code name,
    the names a kernel's statements and :func:`~mathnn.rules.arrays.run` use."""
    return expr.xreplace({s: sp.Symbol(s.name) for s in expr.free_symbols if isinstance(s, Named)})


def _numpy(expr: sp.Expr) -> str:
    """``expr`` as numpy code with ``np.`` (the generated modules' import name)."""
    from sympy.printing.numpy import NumPyPrinter

    return NumPyPrinter({"fully_qualified_modules": True}).doprint(expr).replace("numpy.", "np.")


def _used(bindings: Mapping[str, str], statements: tuple[Statement | Loop, ...]) -> dict[str, str]:
    """The bindings some statement (or another used binding) reads, in their order."""
    names: set[str] = set()
    for statement in statements:
        for inner in statement.body if isinstance(statement, Loop) else (statement,):
            names |= {s.name for s in inner.expr.free_symbols} | {inner.target.removesuffix("[t]")}
    used = {}
    for key in reversed(list(bindings)):
        if key in names or key in ("f", "f_grad", "T"):
            used[key] = bindings[key]
            names |= set(re.findall(r"[A-Za-z_]\w*", bindings[key]))
    return dict(reversed(list(used.items())))


class RecurrenceKernels:
    """The kernels of a :class:`~mathnn.rules.recurrence.Recurrence` (see the module docstring)."""

    if TYPE_CHECKING:  # the declaration this mixin reads, defined by Recurrence
        name: str
        step: LayerRule
        carried: tuple[tuple[sp.Symbol, sp.Symbol], ...]
        initial: sp.Symbol
        sequences: Mapping[sp.Symbol, sp.Symbol]
        activation: sp.Symbol | None
        delta: sp.Symbol | None
        upstream: sp.Symbol
        slips: tuple[Slip, ...]

    # -- names -------------------------------------------------------------------------------------

    @property
    def over_time(self) -> tuple[sp.Symbol, ...]:
        """The step's inputs read once per step: neither a carried state nor a shared weight."""
        carried = {prev for prev, _ in self.carried}
        return tuple(s for s in self.step.element_arrays if s not in carried and s not in self.step.shared)

    @property
    def stored(self) -> tuple[Node, ...]:
        """The step's nodes the forward keeps over time: all but an output that only puts the carried
        states side by side (the LSTM step's [h_t | c_t])."""
        carried = {nxt for _, nxt in self.carried}
        return tuple(n for n in self.step.nodes if n.symbol in carried or n.symbol != self.step.output)

    def seq(self, node: sp.Symbol) -> sp.Symbol:
        """The name of a node's values over the sequence: declared (next_h → h), else the node's name."""
        return sp.Symbol(self.sequences[node].name) if node in self.sequences else sp.Symbol(node.name)

    @property
    def output_seq(self) -> sp.Symbol:
        return self.seq(self.carried[0][1])

    @staticmethod
    def steps_of(symbol: sp.Symbol) -> sp.Symbol:
        """The time-major view of a sequence: ``x_steps`` for x of shape (N, T, D)."""
        return sp.Symbol(f"{symbol.name}_steps")

    @property
    def function(self) -> Any:
        """The step's element-wise function (tanh) when the recurrence is declared for any f."""
        assert self.activation is not None
        return self._activation_node.expr.func

    @property
    def argument(self) -> sp.Symbol:
        """The node the activation is applied to (a)."""
        (arg,) = self._activation_node.expr.args
        return arg

    @property
    def _activation_node(self) -> Node:
        return next(node for node in self.step.nodes if node.symbol == self.activation)

    def generic(self, expr: sp.Expr) -> sp.Expr:
        """``expr`` in plain names, with the step's function as the undefined f when declared for any f."""
        expr = _plain(expr)
        if self.activation is None:
            return expr
        return expr.replace(lambda e: isinstance(e, sp.Function) and e.func == self.function, lambda e: f(*e.args))

    def helpers(self) -> list[Statement]:
        """The step's helper statements; declared for any f, δ = dout ⊙ f′(a) replaces the step's own δ."""
        helpers = list(self.step.helpers)
        if self.activation is not None:
            assert self.delta is not None
            helpers = [Statement(h.target, self.step.dout * f_grad(self.argument), "δ = dout ⊙ f′(a)")
                       if h.target == self.delta.name else h for h in helpers]
        return helpers

    def _hoisted(self, expr: sp.Expr) -> list[sp.Expr]:
        """The terms of a node that need only a per-step input and the weights: one product for all steps."""
        allowed = set(self.over_time) | set(self.step.shared)
        terms = expr.args if isinstance(expr, sp.Add) else (expr,)
        return [term for term in terms
                if term.free_symbols & set(self.over_time) and term.free_symbols <= allowed and term.args]

    # -- shapes in numpy ------------------------------------------------------------------------------

    @cached_property
    def _probe(self) -> tuple[dict[str, int], dict[str, sp.Matrix]]:
        """Every node's and helper's value at sizes that are distinct primes: their widths name a size."""
        names = sorted({size for draw in self.step.draws.values() for size in draw.shape if size.isidentifier()})
        # one row (widths are what is asked); the other sizes distinct primes, so a width names its size
        sizes = dict(zip(names, (5, 7, 11, 13, 17, 19, 23, 29))) | {"N": 1}
        values: dict[sp.Symbol, Any] = dict(self.step.symbol_inputs(sizes))
        for node in self.step.nodes:
            values[node.symbol] = evaluate(node.expr, values)
        values[self.step.dout] = symbol_matrix("dout", *values[self.step.output].shape)
        widths = {node.symbol.name: values[node.symbol].cols for node in self.step.nodes}
        plain = {_plain(k): v for k, v in values.items()}
        for helper in self.helpers():
            plain[sp.Symbol(helper.target)] = evaluate(_plain(helper.expr), plain)
            widths[helper.target] = plain[sp.Symbol(helper.target)].cols
        return sizes, widths

    def _size_code(self) -> dict[str, str]:
        """Each size name as numpy code reading it from a public argument (N from x, H from h0)."""
        arrays = [*((x, 1) for x in self.over_time), (self.carried[0][0], 0), *((w, 0) for w in self.step.shared)]
        code: dict[str, str] = {}
        for symbol, time_axis in arrays:
            public = self.initial.name if symbol == self.carried[0][0] else symbol.name
            for axis, size in enumerate(self.step.draws[symbol.name].shape):
                if size.isidentifier():
                    code.setdefault(size, f"{public}.shape[{axis + (1 if time_axis and axis > 0 else 0)}]")
        return code

    def width_code(self, name: str) -> str:
        """The number of columns of a node or helper as numpy code: ``h0.shape[1]``, ``4 * h0.shape[1]``."""
        sizes, widths = self._probe
        code = self._size_code()
        width = widths[name]
        for size, value in sizes.items():
            if width % value == 0 and width // value in (1, 2, 3, 4) and size in code and size != "N":
                multiple = width // value
                return code[size] if multiple == 1 else f"{multiple} * {code[size]}"
        raise ValueError(f"{self.name}: cannot tell the width of {name} ({width} columns at sizes {sizes})")

    # -- the kernels ---------------------------------------------------------------------------------

    @cached_property
    def kernels(self) -> tuple[Kernel, ...]:
        """The sequence forward, the backward (BPTT), then one backward per named slip."""
        backward = self._backward()
        return (self._forward(), backward, *(self._slip_kernel(backward, slip) for slip in self.slips))

    def sequence_names(self) -> list[sp.Symbol]:
        """The sequences the forward returns: the output first, then the other nodes in graph order."""
        return [self.output_seq, *(self.seq(n.symbol) for n in self.stored if self.seq(n.symbol) != self.output_seq)]

    def _forward(self) -> Kernel:
        hoisted = {term: sp.Symbol("_".join(s.name for s in sorted(term.free_symbols, key=self._order)))
                   for node in self.stored for term in self._hoisted(node.expr)}
        before = [Statement(name.name, _plain(term).xreplace({_plain(x): self.steps_of(x) for x in self.over_time}),
                            f"{text(term)} for every step in one product, outside the loop")
                  for term, name in hoisted.items()]
        inside = {**{_plain(term): Step(name) for term, name in hoisted.items()},
                  **{_plain(x): Step(self.steps_of(x)) for x in self.over_time}}
        body = []
        for node in self.stored:
            body.append(Statement(f"{self.seq(node.symbol).name}[t]", self.generic(node.expr).xreplace(inside),
                                  f"{node.equation or node.name}, at step t"))
            inside[_plain(node.symbol)] = Step(self.seq(node.symbol))
        body += [Statement(prev.name, Step(self.seq(nxt)), f"the state {text(prev)} step t + 1 reads")
                 for prev, nxt in self.carried]
        starts = [Statement(prev.name, self.initial if k == 0 else sp.Integer(0),
                            f"{text(self.initial)} starts the recurrence" if k == 0 else f"{text(prev)} starts at 0")
                  for k, (prev, _) in enumerate(self.carried)]
        sequences = self.sequence_names()
        rows = self._size_code()["N"]
        dtype = ", ".join(s.name for s in (*self.over_time, self.initial, *self.step.shared))
        by_seq = {self.seq(n.symbol): n.symbol.name for n in self.stored}
        bindings = {
            **({"f": f"{_numpy(self.function(sp.Symbol('z')))[:-3]} if f is None else f"} if self.activation else {}),
            "T": f"{self.over_time[0].name}.shape[1]",
            **{self.steps_of(x).name: f"{x.name}.swapaxes(0, 1)  # time-major views" for x in self.over_time},
            **{s.name: f"np.empty((T, {rows}, {self.width_code(by_seq[s])}), dtype=np.result_type({dtype}))"
               for s in sequences},
        }
        function = self.function.__name__ if self.activation else None
        return Kernel(
            name=f"{self.name}_sequence_forward",
            args=(*self.over_time, self.initial, *self.step.shared, *((sp.Symbol("f"),) if self.activation else ())),
            statements=(
                *before, *starts,
                Loop(tuple(body), "the step's graph, once per time step t = 1 … T"),
                *(Statement(s.name, BatchMajor(s), f"{s.name} at every step as (N, T, ·), a view") for s in sequences),
            ),
            computes=tuple(sp.Symbol(f"{s.name}_seq") for s in sequences),
            summary=(f"{self.step.title} unrolled over a sequence"
                     + (f", for any element-wise activation f ({function} by default)." if function else ".")),
            returns="\n".join(f"{s.name} : ndarray of shape (N, T, ·)\n    {s.name} at every step" for s in sequences),
            outputs=tuple(s.name for s in sequences),
            defaults={"f": None} if self.activation else {},
            bindings=bindings,
            arg_docs={
                **{x.name: "ndarray of shape (N, T, ·), one step per t" for x in self.over_time},
                self.initial.name: "ndarray of shape (N, ·), the state before step 1",
                **{s.name: f"ndarray, shared by every step ({s.name} of {self.step.name})" for s in self.step.shared},
                **({"f": f"callable, element-wise activation; np.{function} when None"} if function else {}),
            },
            arg_types={"f": _CALLABLE} if self.activation else {},
        )

    def _order(self, symbol: sp.Basic) -> int:
        arrays = list(self.step.element_arrays)
        return arrays.index(symbol) if symbol in arrays else len(arrays)

    def carried_gradient(self, k: int) -> sp.Symbol:
        """What step t sends back to carried state k: ``dprev_h``, ``dprev_c``."""
        return sp.Symbol(f"d{self.carried[k][0].name}")

    def reaching(self, k: int) -> sp.Symbol:
        """The gradient reaching carried state k at step t: ``dnext_h``, ``dnext_c``."""
        return sp.Symbol(f"d{self.carried[k][1].name}")

    def prev_steps(self, k: int) -> sp.Symbol:
        """Carried state k before every step (h_0 … h_{T−1}): ``prev_h_steps``."""
        return self.steps_of(self.carried[k][0])

    def _stored_helpers(self) -> set[str]:
        """The helpers the gradients after the loop read (δ of every step): kept over time."""
        after = [self.step.closed_forms[x] for x in (*self.over_time, *self.step.shared)]
        return {h.target for h in self.helpers() if any(sp.Symbol(h.target) in _plain(e).free_symbols for e in after)}

    def _backward(self) -> Kernel:
        closed = {_plain(k): _plain(v) for k, v in self.step.closed_forms.items()}
        shown = self.step.closed_forms
        kept = self._stored_helpers()
        reaching = [self.reaching(k) for k in range(len(self.carried))]
        dout = reaching[0] if len(self.carried) == 1 else Concat(*reaching)
        inside: dict[sp.Expr, sp.Expr] = {
            **{_plain(n.symbol): Step(self.steps_of(self.seq(n.symbol))) for n in self.stored},
            **{_plain(prev): Step(self.prev_steps(k)) for k, (prev, _) in enumerate(self.carried)},
            **{_plain(x): Step(self.steps_of(x)) for x in self.over_time},
            _plain(self.step.dout): dout,
        }
        before: list[Statement] = []
        if self.activation is not None:  # f′ of every step at once, outside the loop
            argument = self.steps_of(self.seq(self.argument))
            before.append(Statement("fprime", f_grad(argument), "f′(a_t) for every step at once"))
            inside[f_grad(Step(argument))] = Step(sp.Symbol("fprime"))
        body = [Statement(reaching[k].name, (Step(self.steps_of(self.upstream)) if k == 0 else 0) + self.carried_gradient(k),
                          "the gradient reaching h_t: its own upstream plus what step t + 1 sent back" if k == 0
                          else f"the gradient reaching {text(self.carried[k][1])}: what step t + 1 sent back")
                for k in range(len(self.carried))]
        for helper in self.helpers():
            expr = _plain(helper.expr).xreplace(inside).xreplace(inside)
            if expr == sp.Symbol(helper.target):  # dnext_h = dout's first half: already named
                continue
            target = f"{helper.target}[t]" if helper.target in kept else helper.target
            body.append(Statement(target, expr, helper.equation))
            if helper.target in kept:
                inside[sp.Symbol(helper.target)] = Step(sp.Symbol(helper.target))
        body += [Statement(self.carried_gradient(k).name, closed[_plain(prev)].xreplace(inside),
                           f"what step t sends back to {text(prev)}: {text(shown[prev])}")
                 for k, (prev, _) in enumerate(self.carried)]
        over_rows = {
            **{sp.Symbol(h): Rows(sp.Symbol(h)) for h in kept},
            **{_plain(prev): Rows(self.prev_steps(k)) for k, (prev, _) in enumerate(self.carried)},
            **{_plain(x): Rows(self.steps_of(x)) for x in self.over_time},
            **{_plain(n.symbol): Rows(self.steps_of(self.seq(n.symbol))) for n in self.stored},
        }
        at_every_step = {_plain(n.symbol): self.steps_of(self.seq(n.symbol)) for n in self.stored}
        after = [
            Statement(f"d{x.name}", BatchMajor(closed[_plain(x)].xreplace(at_every_step)),
                      f"∂L/∂{text(x)} = {text(shown[x])} at every step, as (N, T, ·)")
            for x in self.over_time
        ] + [
            Statement(f"d{w.name}", closed[_plain(w)].xreplace(over_rows),
                      f"∂L/∂{text(w)} = {text(shown[w])}, summed over time: one product over the N·T rows")
            for w in self.step.shared
        ] + [Statement(f"d{self.initial.name}", self.carried_gradient(0),
                       f"∂L/∂{text(self.initial)}: what step 1 sent back")]
        statements: tuple[Statement | Loop, ...] = (
            *before,
            Loop(tuple(body), "backpropagation through time, t = T … 1: only the recursion is step by step",
                 reverse=True),
            *after,
        )
        return self._backward_kernel(statements)

    def _backward_kernel(self, statements: tuple[Statement | Loop, ...]) -> Kernel:
        """The backward kernel around ``statements``: its arguments and bindings are the names they read."""
        read = {s.name for st in statements for inner in (st.body if isinstance(st, Loop) else (st,))
                for s in inner.expr.free_symbols}
        results = (*(f"d{x.name}" for x in self.over_time), f"d{self.initial.name}",
                   *(f"d{w.name}" for w in self.step.shared))
        sequences = [s for s in self.sequence_names()
                     if self.steps_of(s).name in read or any(s == self.seq(nxt) for _, nxt in self.carried)]
        weights = [sp.Symbol(w.name) for w in self.step.shared if w.name in read]
        rows = self._size_code()["N"]
        dtype = ", ".join(s.name for s in (self.upstream, *sequences, *weights))
        kept = self._stored_helpers()
        bindings = {
            **({"f_grad": (f"(lambda z: {_numpy(sp.diff(self.function(sp.Symbol('z')), sp.Symbol('z')))}) "
                           f"if f_grad is None else f_grad  # the step function's derivative")}
               if self.activation else {}),
            self.steps_of(self.upstream).name: f"{self.upstream.name}.swapaxes(0, 1)",
            **{self.steps_of(x).name: f"{x.name}.swapaxes(0, 1)" for x in self.over_time},
            **{self.steps_of(s).name: f"{s.name}.swapaxes(0, 1)" for s in sequences},
            **{self.prev_steps(k).name: (
                f"np.concatenate([{self.initial.name}[None], {self.steps_of(self.seq(nxt)).name}[:-1]])"
                if k == 0 else
                f"np.concatenate([np.zeros_like({self.steps_of(self.seq(nxt)).name}[:1]), "
                f"{self.steps_of(self.seq(nxt)).name}[:-1]])") + f"  # {text(prev)} of every step"
               for k, (prev, nxt) in enumerate(self.carried)},
            "T": f"{self.over_time[0].name}.shape[1]",
            **{h: f"np.empty((T, {rows}, {self.width_code(h)}), dtype=np.result_type({dtype}))" for h in sorted(kept)},
            **{self.carried_gradient(k).name: (f"np.zeros({self.steps_of(self.seq(nxt)).name}[0].shape, "
                                               f"dtype=np.result_type({dtype}))")
               for k, (_, nxt) in enumerate(self.carried)},
        }
        function = self.function.__name__ if self.activation else None
        args = (self.upstream, *self.over_time, self.initial, *sequences, *weights,
                *((sp.Symbol("f_grad"),) if self.activation else ()))
        return Kernel(
            name=f"{self.name}_sequence_backward",
            args=tuple(sp.Symbol(a.name) for a in args),
            statements=statements,
            computes=tuple(sp.Symbol(r) for r in results),
            summary=(f"Backpropagation through time for {self.name}_sequence_forward"
                     + (f", for any activation ({function}′ by default)." if function else ".")),
            returns="\n".join(f"{r} : ndarray\n    ∂L/∂{r[1:]}" for r in results),
            outputs=results,
            defaults={"f_grad": None} if self.activation else {},
            bindings=_used(bindings, statements),
            arg_docs={
                self.upstream.name: "ndarray of shape (N, T, ·), upstream ∂L/∂h_t of every step (not through time)",
                **{x.name: "ndarray of shape (N, T, ·)" for x in self.over_time},
                self.initial.name: "ndarray of shape (N, ·)",
                **{s.name: f"ndarray of shape (N, T, ·), from {self.name}_sequence_forward" for s in sequences},
                **{w.name: "ndarray, a shared weight" for w in weights},
                **({"f_grad": f"callable, f′ element-wise at the pre-activation; {function}′ when None"}
                   if function else {}),
            },
            arg_types={"f_grad": _CALLABLE} if self.activation else {},
        )

    def _slip_kernel(self, backward: Kernel, slip: Slip) -> Kernel:
        def swap(statement: Statement) -> Statement:
            if statement.target in slip.replace:
                return Statement(statement.target, slip.replace[statement.target], f"the slip '{slip.name}'")
            return statement

        statements = tuple(
            Loop(tuple(swap(s) for s in st.body), st.equation, st.reverse, st.count) if isinstance(st, Loop) else swap(st)
            for st in backward.statements
        )
        missing = set(slip.replace) - {s.target for st in backward.statements
                                      for s in (st.body if isinstance(st, Loop) else (st,))}
        if missing:
            raise ValueError(f"slip {slip.name!r}: no statement {sorted(missing)} in {backward.name}")
        kernel = self._backward_kernel(statements)
        return Kernel(
            name=self.slip_kernel_name(slip), args=backward.args, statements=statements, computes=backward.computes,
            summary=f"BPTT with the slip '{slip.name}': what a student's backward with it returns.",
            returns=backward.returns, outputs=backward.outputs, defaults=backward.defaults,
            bindings=_used({**backward.bindings, **kernel.bindings}, statements),
            arg_docs=backward.arg_docs, arg_types=backward.arg_types,
        )

    def slip_kernel_name(self, slip: Slip) -> str:
        return f"{self.name}_backward_" + re.sub(r"[^a-z0-9]+", "_", slip.name.lower()).strip("_")
