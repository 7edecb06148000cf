"""A step rule unrolled over T: the sequence kernels and backpropagation through time, from the step.

A :class:`Recurrence` declares which inputs of a step :class:`~mathnn.rules.layer.LayerRule` carry a
state from step to step (the RNN's ``prev_h``; the LSTM's ``prev_h`` and ``prev_c``) and which node
gives each next value; every other non-shared input is read once per time step (``x``), and the
shared inputs (the weights) act at every step. From that declaration alone:

* **the kernels** (:mod:`mathnn.rules.recurrence_kernels`) — the forward loop is the step's graph,
  once per step; the backward loop is the step's declared helpers and closed forms: the gradient
  reaching each state (its own upstream plus what step t + 1 sent back), then what goes back to
  step t − 1, and after the loop the weights' closed forms once over all N·T rows;
* **any activation f**, where declared (the RNN): the step's element-wise function (tanh) becomes an
  undefined f and its derivative f_grad, so one proof covers tanh, sigmoid, ReLU and Leaky ReLU,
  and the kernels take f and f_grad as arguments (the step's function by default);
* **the proof**, at several concrete (N, D, H, T): the step's graph unrolled T times on matrices of
  symbols, L = Σ_t Σ dh_t ⊙ h_t with every upstream dh_t its own symbol (any loss on top, softmax
  cross-entropy included, reaches the sequence only through these), scalar ``diff`` of L by every
  entry is the truth; the kernels replayed on the same symbols must equal it entry by entry, decided
  by :func:`~mathnn.rules.decide.matrices_equal` (each f(a), σ(a), tanh(a) an independent atom);
* **named slips** (BPTT without the carried gradient, a weight gradient transposed or taken at the
  wrong step, the cell's gradient not carried): each a replaced statement of the backward kernel,
  refuted by the proof, generated as a kernel of its own, and named by the homework checker when a
  student's gradient matches it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from .arrays import evaluate, run, symbol_matrix
from .backprop import reverse_accumulate
from .core import Claim, Kernel, Kink, Proof, Section, Slip, Step, kernel_section, latex_text, proof_section
from .decide import decide_zero, matrices_equal
from .layer import LayerRule
from .layer_parts import timed_claim
from .recurrence_kernels import RecurrenceKernels, T, _plain, f, f_grad
from .textprint import text

#: What a sequence's backward returns, in CS231n's order.
SEQUENCE_GRADIENTS = ("dx", "dh0", "dWx", "dWh", "db")

#: Backpropagation through time without the path h_t → h_{t+1}: a slip of every recurrence over a state h.
NO_GRADIENT_THROUGH_TIME = Slip(
    "no gradient through time", SEQUENCE_GRADIENTS,
    "your gradients match backpropagation through time without the path h_t → h_{t+1}: the "
    "gradient flowing back from later steps is not added to dh_t",
    {"dnext_h": Step(sp.Symbol("dh_steps"))},
)


@dataclass(frozen=True)
class Recurrence(RecurrenceKernels):
    """A step layer rule unrolled over a sequence (see the module docstring)."""

    name: str
    title: str
    note: str
    step: LayerRule
    #: (the step's input that carries a state, the node that computes its next value), the output's
    #: first: ((prev_h, next_h),) for the RNN, ((prev_h, next_h), (prev_c, next_c)) for the LSTM
    carried: tuple[tuple[sp.Symbol, sp.Symbol], ...]
    #: the first state h_0, an argument of both kernels (every other carried state starts at 0)
    initial: sp.Symbol
    #: the name of a node's values over the sequence where it is not the node's own, e.g. {next_h: h}
    sequences: Mapping[sp.Symbol, sp.Symbol]
    #: the upstream gradient of the whole output sequence, dh (N, T, H)
    upstream: sp.Symbol
    proof_sizes: tuple[dict[str, int], ...]
    #: the node applying the step's element-wise function (next_h = tanh(a)), for a recurrence proven
    #: and generated for any activation f; ``delta`` is then the step's helper it makes dout ⊙ f′(a)
    activation: sp.Symbol | None = None
    delta: sp.Symbol | None = None
    slips: tuple[Slip, ...] = ()
    derivation_of: Callable[[], list[Section]] | None = None
    #: claims about the step the lecture states besides the recurrence (its column form)
    extra_claims: Callable[[], list[Claim]] | None = None
    #: the documented sequence length of the checker's first shape, and the range of its other shapes
    length: int = 3
    length_range: tuple[int, int] = (2, 4)
    #: the module whose hand-kept functions wrap the kernels (the RNN's choice of activation); without
    #: one, ``<name>_forward`` and ``<name>_backward`` are built from the generated SEQUENCE
    wrapper: str | None = None
    public_module: str = "mathnn.layers"
    params: dict[sp.Symbol, float] = field(default_factory=dict)
    kinks: tuple[Kink, ...] = ()

    # -- the proof ----------------------------------------------------------------------------

    def unrolled(self, sizes: Mapping[str, int]) -> dict[str, Any]:
        """The step's graph unrolled at ``sizes`` (with T) on matrices of symbols, twice.

        ``full``: every node at every step as an expression in the inputs (what the forward kernel
        must compute). ``symbols``: every node at every step as a matrix of its own symbols, with
        ``records`` of how each is computed from its parents' symbols, for reverse accumulation.
        """
        steps = sizes["T"]
        step_inputs = self.step.symbol_inputs(sizes)

        def matrix(name: str, symbol: sp.Symbol) -> sp.Matrix:
            return symbol_matrix(name, *step_inputs[symbol].shape)

        weights = {_plain(w): matrix(w.name, w) for w in self.step.shared}
        inputs = {x: [matrix(f"{x.name}{t}", x) for t in range(steps)] for x in self.over_time}
        starts = [matrix(self.initial.name, prev) if k == 0 else sp.zeros(*step_inputs[prev].shape)
                  for k, (prev, _) in enumerate(self.carried)]
        full: dict[sp.Symbol, list] = {n.symbol: [] for n in self.stored}
        symbols: dict[sp.Symbol, list] = {n.symbol: [] for n in self.stored}
        records = []
        states_full, states_symbols = list(starts), list(starts)
        for t in range(steps):
            given = {**weights, **{_plain(x): inputs[x][t] for x in self.over_time}}
            env_full = {**given, **{_plain(prev): v for (prev, _), v in zip(self.carried, states_full)}}
            env_symbols = {**given, **{_plain(prev): v for (prev, _), v in zip(self.carried, states_symbols)}}
            for node in self.stored:
                expr = self.generic(node.expr)
                env_full[_plain(node.symbol)] = evaluate(expr, env_full)
                full[node.symbol].append(env_full[_plain(node.symbol)])
                value = evaluate(expr, env_symbols)
                named = symbol_matrix(f"{node.symbol.name}{t}", *value.shape)
                parents = {p: env_symbols[_plain(p)] for p in self.step.parents(node)}
                records.append((named, value, parents))
                env_symbols[_plain(node.symbol)] = named
                symbols[node.symbol].append(named)
            states_full = [env_full[_plain(nxt)] for _, nxt in self.carried]
            states_symbols = [env_symbols[_plain(nxt)] for _, nxt in self.carried]
        upstream = [matrix(f"{self.upstream.name}{t}", self.carried[0][0]) for t in range(steps)]
        graph = {"weights": weights, "inputs": inputs, "starts": starts, "full": full, "symbols": symbols,
                 "records": records, "upstream": upstream, "steps": steps}
        return {**graph, "point": _point(graph)}

    def _truth(self, u: Mapping[str, Any]) -> dict[str, sp.Matrix]:
        """∂L/∂(every entry) of L = Σ_t Σ dh_t ⊙ h_t by reverse accumulation over the unrolled graph.

        Each local partial is ``sympy.diff`` of one entry of a node by one entry of a parent, written
        back in the nodes' symbols (σ(a₀) is the gate i, tanh(c) is tanh_c); the adjoints of the
        inputs, h_0 and the weights are the gradients.
        """
        node_of = {value: named for named, value_matrix, _ in u["records"]
                   for value, named in zip(value_matrix, named)}
        records = u["records"]
        seeds = {entry: d for seed, outputs in zip(u["upstream"], u["symbols"][self.carried[0][1]])
                 for d, entry in zip(seed, outputs)}

        def seed_of(k: int, adjoint: Mapping[sp.Expr, sp.Expr]) -> list | None:
            found = [adjoint.get(entry, 0) for entry in records[k][0]]
            return found if any(found) else None

        def parents(k: int) -> list[sp.Symbol]:  # the LSTM's c_0 = 0 is a constant, not a parent
            return [entry for parent in records[k][2].values() for entry in parent if isinstance(entry, sp.Symbol)]

        def vjp(k: int, entry: sp.Symbol, found: list) -> sp.Expr | None:
            local = sum((d * sp.diff(v, entry) for d, v in zip(found, records[k][1]) if d != 0), sp.Integer(0))
            return _fprime(local).xreplace(node_of) if local != 0 else None

        adjoint = reverse_accumulate(range(len(records)), parents, vjp, seeds, seed_of=seed_of).adjoint
        wrt = {**{f"d{x.name}": sp.Matrix.vstack(*u["inputs"][x]) for x in self.over_time},
               f"d{self.initial.name}": u["starts"][0], **{f"d{w.name}": m for w, m in u["weights"].items()}}
        return {name: m.applyfunc(lambda entry: adjoint.get(entry, sp.Integer(0))) for name, m in wrt.items()}

    def _replay(self, kernel: Kernel, u: Mapping[str, Any]) -> dict[str, sp.Matrix]:
        """The backward kernel run on the unrolled graph's symbols: every node of every step a symbol."""
        steps = u["steps"]
        env: dict[sp.Symbol, object] = {
            self.steps_of(self.upstream): u["upstream"], T: steps, **u["weights"],
            **{self.steps_of(x): u["inputs"][x] for x in self.over_time},
            **{self.steps_of(self.seq(n.symbol)): u["symbols"][n.symbol] for n in self.stored},
            **{sp.Symbol(h): [None] * steps for h in self._stored_helpers()},
        }
        for k, (prev, nxt) in enumerate(self.carried):
            env[self.prev_steps(k)] = [u["starts"][k], *u["symbols"][nxt][:-1]]
            env[self.carried_gradient(k)] = sp.zeros(*u["starts"][k].shape)
        values = run(kernel, env)
        return {r: (sp.Matrix.vstack(*values[sp.Symbol(r)]) if isinstance(values[sp.Symbol(r)], list)
                    else values[sp.Symbol(r)]) for r in kernel.results}

    def prove(self) -> Proof:
        start = time.perf_counter()
        claims = [*([self._delta_claim()] if self.activation is not None else []),
                  *(self.extra_claims() if self.extra_claims else [])]
        forward, backward, *slips = self.kernels
        any_f = ", for any activation f" if self.activation is not None else ""
        cases = []
        for sizes in self.proof_sizes:
            at = ", ".join(f"{k}={v}" for k, v in sizes.items())
            u = self.unrolled(sizes)
            claims.append(timed_claim(
                f"{forward.name} is the {self.step.name} graph applied at t = 1 … T{any_f} ({at})",
                r"h_t = f(a_t),\ t = 1 \dots T", lambda u=u: self._forward_holds(forward, u)))
            truth = self._truth(u)
            replayed = self._replay(backward, u)
            cases.append((at, u, truth))
            for result in backward.results:
                claims.append(timed_claim(
                    f"{backward.name} gives ∂L/∂{result[1:]} of L = Σ_t Σ dh_t ⊙ h_t, derived by reverse "
                    f"accumulation over the unrolled graph{any_f} ({at})",
                    rf"\frac{{\partial L}}{{\partial {result[1:]}}}",
                    lambda r=result, replayed=replayed, truth=truth, u=u: _equal(replayed[r], truth[r], u)))
        for slip, slip_kernel in zip(self.slips, slips):
            claims.append(timed_claim(
                f"the slip '{slip.name}' gives a different {', '.join(slip.gradients)}",
                latex_text(slip.name) + rf" \neq \frac{{\partial L}}{{\partial {slip.gradients[0][1:]}}}",
                lambda slip=slip, slip_kernel=slip_kernel: self._refuted(slip, slip_kernel, cases)))
        return Proof(self.name, claims, time.perf_counter() - start)

    def _forward_holds(self, forward: Kernel, u: Mapping[str, Any]) -> tuple[bool, str]:
        env: dict[sp.Symbol, object] = {
            **{self.steps_of(x): u["inputs"][x] for x in self.over_time}, self.initial: u["starts"][0], T: u["steps"],
            **{s: [None] * u["steps"] for s in self.sequence_names()}, **u["weights"],
        }
        values = run(forward, env)
        how = ""
        for node in self.stored:
            got = sp.Matrix.vstack(*values[self.seq(node.symbol)])
            holds, how = _equal(got, sp.Matrix.vstack(*u["full"][node.symbol]))
            if not holds:
                return False, f"{self.seq(node.symbol)}: {how}"
        return True, how

    def _delta_claim(self) -> Claim:
        """With f the step's own function, δ = dout ⊙ f′(a) is the step rule's declared δ."""
        assert self.delta is not None
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
        """Every gradient the slip names differs from the truth at a point of one of the proof sizes.

        One point where the two differ refutes the slip: the inputs are drawn at random, every node of
        the unrolled graph is computed from them to 30 digits, and both gradients are evaluated there.
        """
        notes: list[str] = []
        for at, u, truth in cases:
            wrong = self._replay(kernel, u)
            point = u["point"]
            for name in slip.gradients:
                if name in {n.split(" ")[0] for n in notes}:
                    continue
                if wrong[name].shape != truth[name].shape:
                    notes.append(f"{name} at {at}: its shape is {wrong[name].shape}, the gradient's is {truth[name].shape}")
                    continue
                gaps = [abs(sp.N(_numeric(w - r).xreplace(point), 30)) for w, r in zip(wrong[name], truth[name])]
                worst = max(gaps, default=sp.Integer(0))
                if worst > sp.Float("1e-20", 30):
                    notes.append(f"{name} at {at}: differs by {sp.N(worst, 3)} at a random point (30 digits)")
        missing = [name for name in slip.gradients if name not in {n.split(" ")[0] for n in notes}]
        if missing:
            return False, f"{', '.join(missing)} equal the true gradient at the points tried"
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
            if symbol in {prev for prev, _ in self.carried[1:]}:
                continue  # a state that starts at 0 (the LSTM's cell) is no argument
            name = self.initial.name if symbol == self.carried[0][0] else symbol.name
            draws[name] = {"shape": shape, "loc": draw.loc, "scale": draw.scale, "away_from": draw.away_from}
        return {
            "name": self.name, "forward": f"{self.name}_forward", "backward": f"{self.name}_backward",
            "arguments": arguments, "differentiated": [r[1:] for r in backward.results],
            "gradients": list(backward.results), "upstream": self.upstream.name,
            "forward_kernel": self.kernels[0].name, "backward_kernel": backward.name,
            "states": list(self.kernels[0].results),
            "wrapper": self.wrapper,
            "backward_arguments": [a.name for a in backward.args[1:] if a.name != "f_grad"],
            "draws": {name: draws[name] for name in arguments},
            "sizes": {**self.step.check_sizes[0], "T": self.length},
            "homework_sizes": {**self.step.homework_sizes, "T": self.length_range},
            "slips": [{"name": s.name, "gradients": list(s.gradients), "sentence": s.sentence,
                       "kernel": self.slip_kernel_name(s)} for s in self.slips],
        }


def _point(u: Mapping[str, Any], seed: int = 1) -> dict[sp.Symbol, sp.Expr]:
    """Random rational inputs of the unrolled graph, and every node's value there to 30 digits."""
    import random

    rng = random.Random(seed)
    point: dict[sp.Symbol, sp.Expr] = {}
    for matrix in (*u["weights"].values(), *(m for ms in u["inputs"].values() for m in ms), *u["starts"],
                   *u["upstream"]):
        for entry in matrix:
            if isinstance(entry, sp.Symbol):
                point[entry] = sp.Rational(rng.randint(-9, 9), 10) or sp.Rational(1, 7)
    for named, value, _ in u["records"]:
        for entry, expr in zip(named, value):
            point[entry] = sp.N(_numeric(expr).xreplace(point), 30)
    return point


def _numeric(expr: sp.Expr) -> sp.Expr:
    """An unrolled node's expression with any activation f as tanh, so it has a value at a point."""
    return expr.replace(lambda e: isinstance(e, sp.Function) and e.func == f, lambda e: sp.tanh(*e.args)).replace(
        lambda e: isinstance(e, sp.Function) and e.func == f_grad, lambda e: 1 - sp.tanh(*e.args) ** 2)


def _fprime(expr: sp.Expr) -> sp.Expr:
    """SymPy's derivative of the undefined f at a point, written as f_grad at that point."""
    expr = expr.replace(
        lambda e: isinstance(e, sp.Subs) and isinstance(e.expr, sp.Derivative) and e.expr.expr.func == f,
        lambda e: f_grad(*e.point),
    )
    return expr.replace(lambda e: isinstance(e, sp.Derivative) and e.expr.func == f, lambda e: f_grad(e.expr.args[0]))


def _equal(left: sp.Matrix, right: sp.Matrix, u: Mapping[str, Any] | None = None) -> tuple[bool, str]:
    """Exact equality, entry by entry; a difference visible at a random point is reported at once."""
    if u is not None and left.shape == right.shape:
        point = u["point"]
        gaps = [abs(sp.N(_numeric(a - b).xreplace(point), 30)) for a, b in zip(left, right)]
        worst = max(gaps, default=sp.Integer(0))
        if worst > sp.Float("1e-20", 30):
            return False, f"differs by {sp.N(worst, 3)} at a random point (30 digits)"
    holds, how = matrices_equal(left, right)
    return holds, how.rsplit(" [", 1)[0]
