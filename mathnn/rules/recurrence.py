"""A step rule unrolled over T: the sequence kernels and backpropagation through time, from the step.

A :class:`Recurrence` declares which input of a step :class:`~mathnn.rules.layer.LayerRule` carries
the state (``prev_h``) and which node gives the next one (``next_h``); every other non-shared input
is read once per time step (``x``), and the shared inputs (the weights) act at every step. From that
declaration alone:

* **the kernels** — the forward loop is the step's graph, node by node, once per step (a term that
  needs only the step's input and the weights, ``x Wx``, is computed for all steps in one product
  before the loop); the backward loop is the step's declared closed forms: δ_t from the gradient
  reaching h_t (its own plus what step t + 1 sent back), the carried input's closed form for what
  goes back to h_{t−1}, and the weights' closed forms once over all N·T rows, because a gradient
  summed over the rows of a batch is summed over time when the steps are stacked as rows;
* **the activation is any f**: the step's element-wise function (tanh) becomes an undefined f and
  its derivative f_grad, so one proof covers tanh, sigmoid, ReLU and Leaky ReLU at once, and the
  kernels take f and f_grad as arguments (the step's function by default);
* **the proof**, at several concrete (N, D, H, T): the step's graph unrolled T times on matrices of
  symbols, L = Σ_t Σ dh_t ⊙ h_t with every upstream dh_t its own symbol (any loss on top, softmax
  cross-entropy included, reaches the RNN only through these), scalar ``diff`` of L by every entry
  is the truth; the kernels replayed on the same symbols must equal it entry by entry, decided by
  :func:`~mathnn.rules.decide.matrices_equal` (each f(a) and f_grad(a) an independent atom). With f
  the step's own function, δ is shown to be the step's declared δ;
* **named mistakes** (BPTT without the carried gradient, a weight gradient transposed or taken at
  the wrong step): each a replaced statement of the backward kernel, refuted by the proof, generated
  as a kernel of its own, and named by the homework checker when a student's gradient matches it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import sympy as sp

from .arrays import evaluate, gradient, run, symbol_matrix
from .core import (
    BatchMajor, Claim, Kernel, Kink, Loop, Named, Node, Proof, Rows, Section, Statement, Step, kernel_section, proof_section,
)
from .decide import decide_zero, matrices_equal
from .layer import LayerRule
from .layer_parts import timed_claim
from .textprint import text

#: Any element-wise activation and its derivative: the sequence kernels are proven for every f.
f, f_grad = sp.Function("f"), sp.Function("f_grad")
T = sp.Symbol("T")
_CALLABLE = "Callable[[np.ndarray], np.ndarray] | None"


@dataclass(frozen=True)
class Slip:
    """A named mistake of backpropagation through time: one statement of the backward kernel replaced.

    ``replace`` maps a statement's target (``"dWh"``, ``"da[t]"``) to what the mistaken code computes
    there, in the backward kernel's own names; ``gradients`` are the results it changes (``("dWh",)``),
    ``sentence`` what the checker tells a student whose gradient matches it.
    """

    name: str
    gradients: tuple[str, ...]
    sentence: str
    replace: Mapping[str, sp.Expr]


@dataclass(frozen=True)
class Recurrence:
    """A step layer rule unrolled over a sequence (see the module docstring)."""

    name: str
    title: str
    note: str
    step: LayerRule
    #: (the step's input that carries the state, the node that computes the next state)
    carried: tuple[sp.Symbol, sp.Symbol]
    #: the sequence's first state h_0, an argument of both kernels
    initial: sp.Symbol
    #: the name of each node's values over the sequence, e.g. {next_h: h, a: a}
    sequences: Mapping[sp.Symbol, sp.Symbol]
    #: the node that applies the step's element-wise function (next_h = tanh(a))
    activation: sp.Symbol
    #: δ, the gradient at the activation's argument: a helper of the step rule
    delta: sp.Symbol
    #: the upstream gradient of the whole sequence output, dh (N, T, H)
    upstream: sp.Symbol
    proof_sizes: tuple[dict[str, int], ...]
    slips: tuple[Slip, ...] = ()
    derivation_of: Callable[[], list[Section]] | None = None
    #: claims about the step the lecture states besides the recurrence (its column form)
    extra_claims: Callable[[], list[Claim]] | None = None
    #: the documented sequence length of the checker's first shape, and the range of its other shapes
    length: int = 3
    length_range: tuple[int, int] = (2, 4)
    #: the function of :mod:`mathnn.verify` that gradient-checks the generated kernels numerically
    numeric_check: str = ""
    public_module: str = "mathnn.layers"
    params: dict[sp.Symbol, float] = field(default_factory=dict)
    kinks: tuple[Kink, ...] = ()

    # -- what the declaration implies ---------------------------------------------------------

    @property
    def over_time(self) -> tuple[sp.Symbol, ...]:
        """The step's inputs read once per step: neither the carried state nor a shared weight."""
        return tuple(s for s in self.step.element_arrays if s != self.carried[0] and s not in self.step.shared)

    @property
    def function(self) -> sp.FunctionClass:
        """The step's element-wise function (tanh), the one the kernels use when f is not given."""
        return self._activation_node.expr.func

    @property
    def argument(self) -> sp.Symbol:
        """The node the activation is applied to (a)."""
        (arg,) = self._activation_node.expr.args
        return arg

    @property
    def _activation_node(self) -> Node:
        return next(node for node in self.step.nodes if node.symbol == self.activation)

    def _steps(self, symbol: sp.Symbol) -> sp.Symbol:
        """The time-major view of a sequence: ``x_steps`` for x of shape (N, T, D)."""
        return sp.Symbol(f"{symbol.name}_steps")

    def _generic(self, expr: sp.Expr) -> sp.Expr:
        """``expr`` with the step's function replaced by the undefined f."""
        return _plain(expr).replace(lambda e: isinstance(e, sp.Function) and e.func == self.function, lambda e: f(*e.args))

    def _hoisted(self, expr: sp.Expr) -> list[sp.Expr]:
        """The terms of a node that need only a per-step input and the weights: one product for all steps."""
        allowed = set(self.over_time) | set(self.step.shared)
        terms = expr.args if isinstance(expr, sp.Add) else (expr,)
        return [term for term in terms
                if term.free_symbols & set(self.over_time) and term.free_symbols <= allowed and term.args]

    # -- the kernels --------------------------------------------------------------------------

    @cached_property
    def kernels(self) -> tuple[Kernel, ...]:
        """The sequence forward, the backward (BPTT), then one backward per named slip."""
        backward = self._backward()
        return (self._forward(), backward, *(self._slip_kernel(backward, slip) for slip in self.slips))

    @property
    def _output(self) -> sp.Symbol:
        return self.sequences[self.carried[1]]

    def _sequence_names(self) -> list[sp.Symbol]:
        """The sequences the forward returns: the output first, then the other nodes in graph order."""
        others = [self.sequences[n.symbol] for n in self.step.nodes if n.symbol != self.carried[1]]
        return [self._output, *others]

    def _forward(self) -> Kernel:
        prev, nxt = self.carried
        hoisted = {term: sp.Symbol("_".join(s.name for s in sorted(term.free_symbols, key=self._order)))
                   for node in self.step.nodes for term in self._hoisted(node.expr)}
        before = [Statement(name.name, _plain(term).xreplace({_plain(x): self._steps(x) for x in self.over_time}),
                            f"{text(term)} for every step in one product, outside the loop")
                  for term, name in hoisted.items()]
        inside = {**{_plain(term): Step(name) for term, name in hoisted.items()},
                  **{_plain(x): Step(self._steps(x)) for x in self.over_time}}
        body = []
        for node in self.step.nodes:
            expr = self._generic(node.expr).xreplace(inside)
            body.append(Statement(f"{self.sequences[node.symbol].name}[t]", expr,
                                  f"{node.equation or node.name}, at step t"))
            inside[_plain(node.symbol)] = Step(self.sequences[node.symbol])
        body.append(Statement(prev.name, Step(self._output), "the state step t + 1 reads"))
        sequences = self._sequence_names()
        first = self.over_time[0].name
        dtype = ", ".join(s.name for s in (*self.over_time, self.initial, *self.step.shared))
        bindings = {
            "f": f"{_numpy(self.function(sp.Symbol('z')))[:-3]} if f is None else f",
            "T": f"{first}.shape[1]",
            **{self._steps(x).name: f"{x.name}.swapaxes(0, 1)  # time-major views" for x in self.over_time},
            sequences[0].name: f"np.empty((T, *{self.initial.name}.shape), dtype=np.result_type({dtype}))",
            **{s.name: f"np.empty_like({sequences[0].name})" for s in sequences[1:]},
        }
        return Kernel(
            name=f"{self.name}_sequence_forward",
            args=(*self.over_time, self.initial, *self.step.shared, sp.Symbol("f")),
            statements=(
                *before,
                Statement(prev.name, self.initial, f"{text(self.initial)} starts the recurrence"),
                Loop(tuple(body), "the step's graph, once per time step t = 1 … T"),
                *(Statement(s.name, BatchMajor(s), f"{s.name} at every step as (N, T, ·), a view") for s in sequences),
            ),
            computes=tuple(sp.Symbol(f"{s.name}_seq") for s in sequences),
            summary=(f"{self.step.title} unrolled over a sequence, for any element-wise activation f "
                     f"({self.function.__name__} by default)."),
            returns="\n".join(f"{s.name} : ndarray of shape (N, T, ·)\n    {s.name} at every step" for s in sequences),
            outputs=tuple(s.name for s in sequences),
            defaults={"f": None},
            bindings=bindings,
            arg_docs={
                **{x.name: "ndarray of shape (N, T, ·), one step per t" for x in self.over_time},
                self.initial.name: f"ndarray of shape (N, ·), the state before step 1",
                **{s.name: f"ndarray, shared by every step ({s.name} of {self.step.name})" for s in self.step.shared},
                "f": f"callable, element-wise activation; np.{self.function.__name__} when None",
            },
            arg_types={"f": _CALLABLE},
        )

    def _order(self, symbol: sp.Basic) -> int:
        arrays = list(self.step.element_arrays)
        return arrays.index(symbol) if symbol in arrays else len(arrays)

    def _backward_names(self) -> dict[str, sp.Symbol]:
        prev, _ = self.carried
        return {
            "fprime": sp.Symbol("fprime"), "dprev": sp.Symbol(f"d{prev.name}"),
            "prev_steps": sp.Symbol("prev_steps"), "d_initial": sp.Symbol(f"d{self.initial.name}"),
        }

    def _backward(self) -> Kernel:
        prev, nxt = self.carried
        names = self._backward_names()
        da, a = _plain(self.delta), self.sequences[self.argument]
        shown = self.step.closed_forms
        closed = {_plain(k): _plain(v) for k, v in shown.items()}
        prev = _plain(prev)
        per_step = {_plain(x): self._steps(x) for x in self.over_time}
        body = (
            Statement(f"{da.name}[t]", (Step(self._steps(self.upstream)) + names["dprev"]) * Step(names["fprime"]),
                      "δ_t = (∂L/∂h_t + what step t + 1 sent back) ⊙ f′(a_t)"),
            Statement(names["dprev"].name, closed[prev].xreplace({da: Step(da)}),
                      f"what step t sends back to {text(self.carried[0])}: {text(shown[self.carried[0]])}"),
        )
        stacked = {da: Rows(da), prev: Rows(names["prev_steps"]), **{x: Rows(s) for x, s in per_step.items()}}
        after = [
            Statement(f"d{x.name}", BatchMajor(closed[_plain(x)]),
                      f"∂L/∂{text(x)} = {text(shown[x])} at every step, as (N, T, ·)")
            for x in self.over_time
        ] + [
            Statement(f"d{w.name}", closed[_plain(w)].xreplace(stacked),
                      f"∂L/∂{text(w)} = {text(shown[w])}, summed over time: one product over the N·T rows")
            for w in self.step.shared
        ] + [Statement(names["d_initial"].name, names["dprev"], f"∂L/∂{text(self.initial)}: what step 1 sent back")]
        results = (*(f"d{x.name}" for x in self.over_time), names["d_initial"].name, *(f"d{w.name}" for w in self.step.shared))
        first = self.over_time[0].name
        bindings = {
            "f_grad": (f"(lambda z: {_numpy(sp.diff(self.function(sp.Symbol('z')), sp.Symbol('z')))}) "
                       f"if f_grad is None else f_grad  # the step function's derivative"),
            self._steps(self.upstream).name: f"{self.upstream.name}.swapaxes(0, 1)",
            **{s.name: f"{x.name}.swapaxes(0, 1)" for x, s in per_step.items()},
            self._steps(a).name: f"{a.name}.swapaxes(0, 1)",
            self._steps(self._output).name: f"{self._output.name}.swapaxes(0, 1)",
            names["prev_steps"].name: (f"np.concatenate([{self.initial.name}[None], {self._output.name}.swapaxes(0, 1)[:-1]])"
                                       f"  # {text(self.carried[0])} of every step"),
            "T": f"{first}.shape[1]",
            da.name: f"np.empty({self._steps(self.upstream).name}.shape, dtype=np.result_type({self.upstream.name}, {a.name}, "
                     f"{', '.join(w.name for w in self.step.shared if w.name in str(closed[prev]))}))",
            names["dprev"].name: f"np.zeros({self.initial.name}.shape, dtype={da.name}.dtype)",
        }
        statements: tuple[Statement | Loop, ...] = (
            Statement(names["fprime"].name, f_grad(self._steps(a)), "f′(a_t) for every step at once"),
            Loop(body, "backpropagation through time, t = T … 1: only the recursion is step by step", reverse=True),
            *after,
        )
        weights = tuple(w for w in map(_plain, self.step.shared)
                        if any(w in e.free_symbols for e in (closed[prev], *(closed[x] for x in per_step))))
        args = (self.upstream, *self.over_time, self.initial, self._output, a, *weights, sp.Symbol("f_grad"))
        return Kernel(
            name=f"{self.name}_sequence_backward",
            args=args,
            statements=statements,
            computes=tuple(sp.Symbol(r) for r in results),
            summary=(f"Backpropagation through time for {self.name}_sequence_forward, for any activation "
                     f"({self.function.__name__}′ by default)."),
            returns="\n".join(f"{r} : ndarray\n    ∂L/∂{r[1:]}" for r in results),
            outputs=results,
            defaults={"f_grad": None},
            bindings=_used(bindings, statements),
            arg_docs={
                self.upstream.name: "ndarray of shape (N, T, ·), upstream ∂L/∂h_t of every step (not through time)",
                **{x.name: "ndarray of shape (N, T, ·)" for x in self.over_time},
                self.initial.name: "ndarray of shape (N, ·)",
                self._output.name: f"ndarray of shape (N, T, ·), from {self.name}_sequence_forward",
                a.name: "ndarray of shape (N, T, ·), likewise",
                **{w.name: "ndarray, a shared weight" for w in weights},
                "f_grad": f"callable, f′ element-wise at the pre-activation; {self.function.__name__}′ when None",
            },
            arg_types={"f_grad": _CALLABLE},
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
        full = {**backward.bindings, **self._backward().bindings}
        return Kernel(
            name=self.slip_kernel_name(slip), args=backward.args, statements=statements, computes=backward.computes,
            summary=f"BPTT with the slip '{slip.name}': what a student's backward with it returns.",
            returns=backward.returns, outputs=backward.outputs, defaults=backward.defaults,
            bindings=_used({**full, self._steps(self._output).name: f"{self._output.name}.swapaxes(0, 1)"}, statements),
            arg_docs=backward.arg_docs, arg_types=backward.arg_types,
        )

    def slip_kernel_name(self, slip: Slip) -> str:
        return f"{self.name}_backward_" + re.sub(r"[^a-z0-9]+", "_", slip.name.lower()).strip("_")

    # -- the proof ----------------------------------------------------------------------------

    def unrolled(self, sizes: Mapping[str, int]) -> dict[str, Any]:
        """The step's graph unrolled at ``sizes`` (with T) on matrices of symbols, and the kernels' inputs."""
        steps = sizes["T"]
        shapes = {s: [sizes[d] for d in self.step.draws[s.name].shape] for s in self.step.element_arrays}

        def matrix(name: str, shape: list[int]) -> sp.Matrix:
            return symbol_matrix(name, *((1, shape[0]) if len(shape) == 1 else shape))

        weights = {w: matrix(w.name, shapes[w]) for w in self.step.shared}
        inputs = {x: [matrix(f"{x.name}{t}", shapes[x]) for t in range(steps)] for x in self.over_time}
        start = matrix(self.initial.name, shapes[self.carried[0]])
        values: dict[sp.Symbol, list] = {n.symbol: [] for n in self.step.nodes}
        state = start
        for t in range(steps):
            env: dict[sp.Symbol, Any] = {_plain(w): m for w, m in weights.items()}
            env.update({_plain(self.carried[0]): state, **{_plain(x): inputs[x][t] for x in self.over_time}})
            for node in self.step.nodes:
                env[_plain(node.symbol)] = evaluate(self._generic(node.expr), env)
                values[node.symbol].append(env[_plain(node.symbol)])
            state = env[_plain(self.carried[1])]
        upstream = [matrix(f"{self.upstream.name}{t}", list(state.shape)) for t in range(steps)]
        outputs = values[self.carried[1]]
        loss = sum(sum(u.multiply_elementwise(h)) for u, h in zip(upstream, outputs))
        return {"weights": weights, "inputs": inputs, "start": start, "values": values, "upstream": upstream,
                "loss": loss, "steps": steps}

    def _truth(self, u: Mapping[str, Any]) -> dict[str, sp.Matrix]:
        """∂L/∂(every entry) by scalar diff of the unrolled loss, in the backward kernel's result names."""
        wrt = {**{f"d{x.name}": sp.Matrix.vstack(*u["inputs"][x]) for x in self.over_time},
               f"d{self.initial.name}": u["start"], **{f"d{w.name}": m for w, m in u["weights"].items()}}
        return {name: gradient(u["loss"], m).applyfunc(_fprime) for name, m in wrt.items()}

    def _replay(self, kernel: Kernel, u: Mapping[str, Any]) -> dict[str, sp.Matrix]:
        names = self._backward_names()
        a = self.sequences[self.argument]
        outputs = u["values"][self.carried[1]]
        env: dict[sp.Symbol, object] = {
            self._steps(self.upstream): u["upstream"], **{self._steps(x): u["inputs"][x] for x in self.over_time},
            self._steps(a): u["values"][self.argument], self._steps(self._output): outputs,
            names["prev_steps"]: [u["start"], *outputs[:-1]], T: u["steps"], _plain(self.delta): [None] * u["steps"],
            names["dprev"]: sp.zeros(*u["start"].shape), **{_plain(w): m for w, m in u["weights"].items()},
        }
        values = run(kernel, env)
        return {r: (sp.Matrix.vstack(*values[sp.Symbol(r)]) if isinstance(values[sp.Symbol(r)], list)
                    else values[sp.Symbol(r)]) for r in kernel.results}

    def prove(self) -> Proof:
        start = time.perf_counter()
        claims = [self._delta_claim(), *(self.extra_claims() if self.extra_claims else [])]
        forward, backward, *slips = self.kernels
        cases = []
        for sizes in self.proof_sizes:
            at = ", ".join(f"{k}={v}" for k, v in sizes.items())
            u = self.unrolled(sizes)
            claims.append(timed_claim(
                f"{forward.name} is the {self.step.name} graph applied at t = 1 … T, for any f ({at})",
                r"h_t = f(a_t),\ t = 1 \dots T", lambda u=u: self._forward_holds(forward, u)))
            truth = self._truth(u)
            replayed = self._replay(backward, u)
            cases.append((at, u, truth))
            for result in backward.results:
                claims.append(timed_claim(
                    f"{backward.name} gives ∂L/∂{result[1:]} of the unrolled L = Σ_t Σ dh_t ⊙ h_t, for any activation "
                    f"f ({at})",
                    rf"\frac{{\partial L}}{{\partial {result[1:]}}}",
                    lambda r=result, replayed=replayed, truth=truth: _equal(replayed[r], truth[r])))
        for slip, slip_kernel in zip(self.slips, slips):
            claims.append(timed_claim(
                f"the slip '{slip.name}' gives a different {', '.join(slip.gradients)}",
                rf"\text{{{slip.name}}} \neq \frac{{\partial L}}{{\partial {slip.gradients[0][1:]}}}",
                lambda slip=slip, slip_kernel=slip_kernel: self._refuted(slip, slip_kernel, cases)))
        return Proof(self.name, claims, time.perf_counter() - start)

    def _forward_holds(self, forward: Kernel, u: Mapping[str, Any]) -> tuple[bool, str]:
        env: dict[sp.Symbol, object] = {
            **{self._steps(x): u["inputs"][x] for x in self.over_time}, self.initial: u["start"], T: u["steps"],
            **{s: [None] * u["steps"] for s in self._sequence_names()}, **{_plain(w): m for w, m in u["weights"].items()},
        }
        values = run(forward, env)
        notes = []
        for node in self.step.nodes:
            got = sp.Matrix.vstack(*values[self.sequences[node.symbol]])
            holds, how = _equal(got, sp.Matrix.vstack(*u["values"][node.symbol]))
            if not holds:
                return False, f"{self.sequences[node.symbol]}: {how}"
            notes.append(how)
        return True, notes[-1]

    def _delta_claim(self) -> Claim:
        """With f the step's own function, δ = dh ⊙ f′(a) is the step rule's declared δ."""
        helper = next(h for h in self.step.helpers if h.target == self.delta.name)
        node = self._activation_node
        z = sp.Symbol("z", real=True)
        generic = self.step.dout * sp.diff(self.function(z), z)
        declared = helper.expr.xreplace({node.symbol: node.expr}).xreplace({self.argument: z})
        begin = time.perf_counter()
        holds, how = decide_zero(sp.expand(generic - declared))
        return Claim(
            f"with f = {self.function.__name__}, δ = {text(self.step.dout)} ⊙ f′(a) is the step's declared "
            f"{helper.equation}",
            rf"\delta = {sp.latex(self.step.dout)} \odot f'(a) = {sp.latex(helper.expr)}",
            f"{how} [{time.perf_counter() - begin:.2f} s]", holds)

    def _refuted(self, slip: Slip, kernel: Kernel, cases: list) -> tuple[bool, str]:
        """Every gradient the slip names differs from the truth at one of the proof sizes at least."""
        notes = []
        for name in slip.gradients:
            for at, u, truth in cases:
                wrong = self._replay(kernel, u)[name]
                if wrong.shape != truth[name].shape:
                    notes.append(f"{name} at {at}: its shape is {wrong.shape}, the gradient's is {truth[name].shape}")
                    break
                holds, how = matrices_equal(wrong, truth[name])
                if not holds:
                    notes.append(f"{name} at {at}: {how.rsplit(' [', 1)[0]}")
                    break
            else:
                return False, f"{name} equals the true gradient at every size"
        return True, "; ".join(notes)

    # -- what the docs and the CLI show ---------------------------------------------------------

    def sections(self, proof: Proof | None = None) -> list[Section]:
        sections = self.derivation_of() if self.derivation_of else []
        sections = [*sections, kernel_section(self.kernels[:2])]
        return sections + ([proof_section(proof)] if proof is not None else [])

    def sequence_spec(self) -> dict[str, Any]:
        """The sequence's public functions, check inputs and named slips, as plain data for the checker.

        The inputs are the step's: a per-step input (x) gets a time axis T after its first, the
        carried state's draw gives the first state h_0.
        """
        backward = self.kernels[1]
        arguments = [*(x.name for x in self.over_time), self.initial.name, *(w.name for w in self.step.shared)]
        draws = {}
        for symbol in self.step.element_arrays:
            draw = self.step.draws[symbol.name]
            shape = list(draw.shape)
            if symbol in self.over_time:
                shape.insert(1, "T")
            name = self.initial.name if symbol == self.carried[0] else symbol.name
            draws[name] = {"shape": shape, "loc": draw.loc, "scale": draw.scale, "away_from": draw.away_from}
        return {
            "name": self.name, "forward": f"{self.name}_forward", "backward": f"{self.name}_backward",
            "arguments": arguments, "differentiated": [r[1:] for r in backward.results],
            "gradients": list(backward.results), "upstream": self.upstream.name,
            "forward_kernel": self.kernels[0].name, "backward_kernel": backward.name,
            "states": list(self.kernels[0].results),
            "backward_arguments": [a.name for a in backward.args[1:] if a.name != "f_grad"],
            "draws": {name: draws[name] for name in arguments},
            "sizes": {**self.step.check_sizes[0], "T": self.length},
            "homework_sizes": {**self.step.homework_sizes, "T": self.length_range},
            "slips": [{"name": s.name, "gradients": list(s.gradients), "sentence": s.sentence,
                       "kernel": self.slip_kernel_name(s)} for s in self.slips],
        }


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


def _fprime(expr: sp.Expr) -> sp.Expr:
    """SymPy's derivative of the undefined f at a point, written as f_grad at that point."""
    expr = expr.replace(
        lambda e: isinstance(e, sp.Subs) and isinstance(e.expr, sp.Derivative) and e.expr.expr.func == f,
        lambda e: f_grad(*e.point),
    )
    return expr.replace(lambda e: isinstance(e, sp.Derivative) and e.expr.func == f, lambda e: f_grad(e.expr.args[0]))


def _equal(left: sp.Matrix, right: sp.Matrix) -> tuple[bool, str]:
    holds, how = matrices_equal(left, right)
    return holds, how.rsplit(" [", 1)[0]
