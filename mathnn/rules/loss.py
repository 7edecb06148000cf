"""Losses as layer rules: a per-row loss, weighted per row and summed, with one fused kernel.

A loss of CS231n (softmax cross-entropy, the multiclass SVM) is a :class:`~mathnn.rules.layer.LayerRule`
whose graph ends in a *per-row* value ℓ (reduced over the classes of the row with ``RowSum``); the
total is L = Σ_rows w · ℓ with a weight w per row (1/N for CS231n's average, mask/N for the temporal
loss). The weight is the upstream gradient of ℓ, so the rule's ``dout`` is ``weights``, one value per
row, and reverse accumulation from it gives ∂L/∂scores as for any layer.

What a loss adds, declared in :class:`Loss`:

* a **fused kernel** ``(inputs…, weights) -> (loss, gradient)``, written by hand where the graph would
  be unstable (softmax subtracts each row's maximum), proven to compute L = Σ w·ℓ and the declared
  closed form; a ``RowMax`` shift is an arbitrary constant c per row: the claim is that the difference
  does not depend on c and vanishes at c = 0;
* one **slip kernel** per named mistake: the fused kernel with the statement the mistake changes
  replaced (the gradient, or a node of the forward graph), proven to compute what that mistake gives,
  named ``<kernel>_slip_<name>`` and listed as plain data (``SLIPS``) for the numpy-only checker;
* **one-hot inputs** (the targets): each row holds a single 1. A proof for a symbolic number of
  classes uses Σₖ yₖ = 1; one at concrete sizes runs over every assignment of the targets.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

from .arrays import evaluate, run, symbol_matrix
from .core import Claim, Kernel, Named, RowMax, RowSum, Statement, TotalSum, compose, latex_text
from .decide import decide_zero, matrices_equal
from .layer_parts import J, ForwardMistake, Mistake, magnitude_of, timed_claim
from .textprint import text

if TYPE_CHECKING:
    from .layer import LayerRule


#: What every loss takes: scores o, one-hot targets y (one row per example) and a weight w per row.
scores = Named("scores", "o", "o")
onehot = Named("onehot", "y", "y")
weights = Named("weights", "w", "w")


@dataclass(frozen=True)
class Loss:
    """What makes a layer rule a loss: its fused kernel, extra facts, and where its check may not go.

    ``kernel`` takes the rule's inputs then ``weights`` (the rule's ``dout``) and returns the loss and
    the gradient of the one differentiated input; each of ``facts`` returns a claim the proof adds (the
    SVM's hinge written with its step). ``off_kinks`` (for a loss with kinks) takes the random inputs
    :func:`mathnn.verify.check_loss` drew, as a dict of arrays by name, and returns them moved far
    enough from every kink that no difference step of the check crosses one.
    """

    kernel: Kernel
    facts: tuple[Callable[[], Claim], ...] = ()
    off_kinks: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]] | None = None


# -- one-hot inputs -----------------------------------------------------------------------------------


def one_hot_sums(expr: sp.Expr, arrays: tuple[sp.Symbol, ...]) -> sp.Expr:
    """``expr`` with every Σₖ yₖ over a row of a one-hot input replaced by 1 (a row holds a single 1)."""
    bases = {sp.IndexedBase(array, real=True) for array in arrays} | {sp.IndexedBase(array) for array in arrays}

    def split(s: sp.Sum) -> sp.Expr:
        (index, lower, upper), = s.limits
        total = sp.Integer(0)
        for term in sp.Add.make_args(sp.expand(s.function)):
            constant, dependent = term.as_independent(index, as_Add=False)
            hot = isinstance(dependent, sp.Indexed) and dependent.base in bases and dependent.indices == (index,)
            total += constant if hot else sp.Sum(term, (index, lower, upper))
        return total

    return expr.replace(lambda e: isinstance(e, sp.Sum), split)


def one_hot_row(expr: sp.Expr, arrays: tuple[sp.Symbol, ...], size: sp.Symbol, length: int, hot: int) -> sp.Expr:
    """``expr`` for entry j = 0 of a row of ``length`` entries whose one-hot inputs have their 1 at ``hot``."""
    concrete = expr.subs(size, length).doit().xreplace({J: 0})
    values = {}
    for array in arrays:
        for base in (sp.IndexedBase(array, real=True), sp.IndexedBase(array)):
            values.update({base[k]: int(k == hot) for k in range(length)})
    return concrete.xreplace(values)


def one_hot_cases(arrays: tuple[sp.Symbol, ...], rows: int, cols: int) -> Iterator[tuple[str, dict[sp.Symbol, sp.Matrix]]]:
    """Every assignment of targets to the rows of the one-hot inputs: (its description, the matrices)."""
    for targets in itertools.product(range(cols), repeat=rows * len(arrays)):
        matrices = {
            array: sp.Matrix(rows, cols, lambda r, c, n=n: int(targets[n * rows + r] == c))
            for n, array in enumerate(arrays)
        }
        yield f"targets {targets}", matrices


# -- the kernels -------------------------------------------------------------------------------------


def slip_kernel_name(kernel: Kernel, name: str) -> str:
    """The generated function of ``kernel`` with the named mistake: ``multiclass_svm_slip_correct_class_counted``."""
    return f"{kernel.name}_slip_" + re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _slip_replacements(rule: LayerRule, mistake: Mistake | ForwardMistake) -> dict[str, sp.Expr]:
    """The statements of the fused kernel a mistake changes, by target, in the rule's array notation."""
    if isinstance(mistake, ForwardMistake):
        return {node.name: expr for node, expr in mistake.replace.items()}
    closed = mistake.closed if mistake.closed is not None else rule.mistake_array(mistake)
    return {f"d{mistake.wrt.name}": closed}


def _slip_kernel(rule: LayerRule, mistake: Mistake | ForwardMistake) -> Kernel:
    """The fused kernel with the statements the mistake changes replaced; graph nodes it reads that
    the kernel does not compute are computed before them."""
    assert rule.loss is not None
    kernel = rule.loss.kernel
    straight = [statement for statement in kernel.statements if isinstance(statement, Statement)]
    if len(straight) != len(kernel.statements):
        raise ValueError(f"{kernel.name}: a loss's fused kernel is straight-line code (no loops)")
    replacements = _slip_replacements(rule, mistake)
    defined = {statement.target for statement in straight} | {arg.name for arg in kernel.args}
    missing = set(replacements) - defined
    if missing:
        raise ValueError(f"mistake {mistake.name!r}: expected a statement of {kernel.name} named {sorted(missing)} to "
                         f"replace; received one of {sorted(s.target for s in straight)}")
    statements: list[Statement] = []
    for statement in straight:
        if statement.target not in replacements:
            statements.append(statement)
            continue
        expr = replacements[statement.target]
        statements += _missing_nodes(rule, expr, defined)
        statements.append(Statement(statement.target, expr, f"the slip '{mistake.name}'"))
    return replace(
        kernel, name=slip_kernel_name(kernel, mistake.name), statements=tuple(statements),
        summary=f"{kernel.summary.rstrip('.')}, with the slip '{mistake.name}': what a student's code with it returns.")


def _missing_nodes(rule: LayerRule, expr: sp.Expr, defined: set[str]) -> list[Statement]:
    """The graph nodes ``expr`` reads that the kernel does not compute, with those they read, in order."""
    by_name = {node.name: node for node in rule.nodes}
    pending, wanted = [s.name for s in expr.free_symbols], set()
    while pending:
        name = pending.pop()
        if name in by_name and name not in defined and name not in wanted:
            wanted.add(name)
            pending += [s.name for s in by_name[name].expr.free_symbols]
    return [Statement(node.name, node.expr, node.equation or node.name) for node in rule.nodes if node.name in wanted]


def slips(rule: LayerRule) -> tuple[Mistake | ForwardMistake, ...]:
    """The mistakes with a slip kernel: those of the forward graph, then those of the gradient."""
    return (*rule.forward_mistakes, *rule.diagnosable)


def loss_kernels(rule: LayerRule) -> tuple[Kernel, ...]:
    """The fused kernel, then one slip kernel per named mistake, then the gradient's magnitude kernel."""
    assert rule.loss is not None
    return (rule.loss.kernel, *(_slip_kernel(rule, mistake) for mistake in slips(rule)),
            magnitude_kernel(rule.loss.kernel))


def magnitude_kernel_name(kernel: Kernel) -> str:
    """``softmax_cross_entropy_magnitude``: the function :func:`magnitude_kernel` writes."""
    return f"{kernel.name}_magnitude"


def magnitude_kernel(kernel: Kernel) -> Kernel:
    """The size of the terms the fused kernel's gradient sums: its statements, the gradient's by
    :func:`~mathnn.rules.layer_parts.magnitude_of` (every term by its absolute value), and not the loss.

    A check measures the gradient's errors against it, entry by entry, as it does a layer's against
    its generated ``<layer>_backward_magnitude``.
    """
    loss, gradient = kernel.results
    statements = tuple(
        replace(statement, expr=magnitude_of(statement.expr),
                equation=f"{statement.equation}, every term by its absolute value")
        if statement.target == gradient else statement
        for statement in kernel.statements if isinstance(statement, Statement) and statement.target != loss
    )
    expression = next(statement.expr for statement in kernel.statements
                      if isinstance(statement, Statement) and statement.target == gradient)
    return Kernel(
        name=magnitude_kernel_name(kernel), args=kernel.args, statements=statements,
        computes=magnitude_of(expression),
        summary=f"The size of the terms each entry of {kernel.name}'s {gradient} sums: the same formula on "
                "absolute values, so a check can measure errors against it.",
        returns=f"{gradient} : ndarray\n    every term of {gradient} by its absolute value",
        outputs=(gradient,), defaults=kernel.defaults, bindings=kernel.bindings, arg_docs=kernel.arg_docs,
        batch_arrays=kernel.batch_arrays, arg_types=kernel.arg_types,
    )


def slip_spec(rule: LayerRule) -> list[dict[str, Any]]:
    """The slips as plain data for the numpy-only checker: name, results changed, sentence, kernel."""
    if rule.loss is None:
        return []
    loss_name, gradient = rule.loss.kernel.results
    return [{"name": mistake.name, "changes": [loss_name if isinstance(mistake, ForwardMistake) else gradient],
             "sentence": mistake.sentence, "kernel": slip_kernel_name(rule.loss.kernel, mistake.name)}
            for mistake in slips(rule)]


# -- the claims --------------------------------------------------------------------------------------


def _without_shift(expr: sp.Expr, shift: sp.Symbol) -> sp.Expr:
    return expr.replace(lambda e: isinstance(e, RowMax), lambda e: shift)


def _decide_any_shift(difference: sp.Expr, shift: sp.Symbol, assume: Callable[[sp.Expr], sp.Expr]
                      ) -> tuple[bool, str]:
    """``difference = 0`` for every shift c: it does not depend on c, and vanishes at c = 0."""
    if not difference.has(shift):
        return decide_zero(assume(difference))
    steady, how_steady = decide_zero(assume(sp.diff(difference, shift)))
    at_zero, how_zero = decide_zero(assume(difference.subs(shift, 0)))
    return steady and at_zero, f"∂/∂c: {how_steady}; at c = 0: {how_zero}"


def loss_claims(rule: LayerRule) -> list[Claim]:
    """The fused kernel and every slip kernel compute what the graph, the closed form or the mistake says;
    each forward mistake gives another loss; the loss's facts."""
    assert rule.loss is not None
    kernels = loss_kernels(rule)
    cases: list[tuple[Kernel, Mistake | ForwardMistake | None]] = [(kernels[0], None)]
    named = slips(rule)
    cases += list(zip(kernels[1:1 + len(named)], named))  # not the magnitude kernel, last: it bounds rounding
    claims = [_kernel_claim(rule, kernel, mistake) for kernel, mistake in cases]
    if rule.size is None:
        claims += [_forward_mistake_claim(rule, mistake) for mistake in rule.forward_mistakes]
    return claims + [fact() for fact in rule.loss.facts]


def _kernel_claim(rule: LayerRule, kernel: Kernel, mistake: Mistake | ForwardMistake | None) -> Claim:
    (wrt,) = rule.differentiated
    gradient = ("the closed form" if not isinstance(mistake, Mistake) else f"the gradient of the mistake '{mistake.name}'")
    forward = f" with the mistake '{mistake.name}'" if isinstance(mistake, ForwardMistake) else ""
    where = f"for symbolic {rule.size}" if rule.size is not None else "at " + "; ".join(
        ", ".join(f"{k}={v}" for k, v in sizes.items()) for sizes in rule.proof_sizes) + ", every one-hot target"
    decide = _symbolic_decision if rule.size is not None else _concrete_decision
    return timed_claim(
        f"{kernel.name} computes L = Σ_rows w·{text(rule.output)}{forward} and ∂L/∂{text(wrt)} as {gradient}, {where}",
        rf"{latex_text(kernel.name)}: L = \sum w\,{sp.latex(rule.output)},\ "
        rf"\frac{{\partial L}}{{\partial {sp.latex(wrt)}}}",
        lambda: decide(rule, kernel, mistake),
    )


def _symbolic_decision(rule: LayerRule, kernel: Kernel, mistake: Mistake | ForwardMistake | None) -> tuple[bool, str]:
    """One row, for a symbolic number of classes: the kernel's loss term and gradient entry j."""
    (wrt,) = rule.differentiated
    loss, gradient = (rule._by_name(value) for value in compose(kernel))
    shift = sp.Symbol("c", real=True)
    loss, gradient = _without_shift(loss, shift), _without_shift(gradient, shift)
    assert isinstance(loss, TotalSum), f"{kernel.name}: the loss is Σ over every row (TotalSum)"
    term = loss.args[0]
    row = rule.indexed(RowSum(term) if rule._expr_is_element(term) else term)
    graph = rule if not isinstance(mistake, ForwardMistake) else replace(rule, nodes=tuple(
        replace(node, expr=mistake.replace.get(node.symbol, node.expr)) for node in rule.nodes))
    truth = graph.expand(graph.indexed(rule.dout * rule.output))
    right = rule.mistake_gradient(mistake) if isinstance(mistake, Mistake) else rule.indexed(rule.backward_values()[wrt])

    def assume(expr: sp.Expr) -> sp.Expr:
        return one_hot_sums(sp.expand_log(sp.expand(expr), force=True), rule.one_hot)

    holds_loss, how_loss = _decide_any_shift(sp.expand(graph.expand(row) - truth), shift, assume)
    holds_gradient, how_gradient = _decide_any_shift(
        graph.expand(rule.indexed(gradient)) - graph.expand(right), shift, assume)
    return holds_loss and holds_gradient, f"loss: {how_loss}; gradient: {how_gradient}"


def concrete_environments(rule: LayerRule) -> Iterator[tuple[str, dict[sp.Symbol, Any]]]:
    """Every proof size and one-hot assignment: its description and the inputs (matrices of symbols)."""
    for sizes in rule.proof_sizes:
        symbols = rule.symbol_inputs(sizes)
        rows, cols = next(iter(symbols.values())).shape
        weights = {rule.dout: symbol_matrix(rule.dout.name, rows, 1)}
        at_size = ", ".join(f"{k}={v}" for k, v in sizes.items())
        for case, fixed in one_hot_cases(rule.one_hot, rows, cols):
            yield f"{at_size}, {case}", {**symbols, **fixed, **weights}


def _graph_values(rule: LayerRule, env: Mapping[sp.Symbol, Any], mistake: ForwardMistake | None = None
                  ) -> dict[sp.Symbol, Any]:
    values = dict(env)
    for node in rule.nodes:
        expr = mistake.replace.get(node.symbol, node.expr) if mistake is not None else node.expr
        values[node.symbol] = evaluate(expr, values)
    for helper in rule.helpers:
        values[sp.Symbol(helper.target)] = evaluate(rule._by_name(helper.expr), values)
    return values


def _weighted_loss(rule: LayerRule, values: Mapping[sp.Symbol, Any]) -> sp.Expr:
    return sum(w * out for w, out in zip(values[rule.dout], values[rule.output]))


def _concrete_decision(rule: LayerRule, kernel: Kernel, mistake: Mistake | ForwardMistake | None) -> tuple[bool, str]:
    """At every proof size and one-hot target: the kernel's loss and gradient, entry by entry."""
    (wrt,) = rule.differentiated
    loss_name, gradient_name = kernel.results
    how = ""
    for case, env in concrete_environments(rule):
        values = _graph_values(rule, env, mistake if isinstance(mistake, ForwardMistake) else None)
        result = run(kernel, env)
        # the graph's hinge max(0, m) as the kernel writes it, H(m)·m: the hinge fact proves them equal
        holds, how_loss = decide_zero(sp.expand((result[sp.Symbol(loss_name)] - _weighted_loss(rule, values))
                                                .rewrite(sp.Heaviside)), try_simplify=False)
        if not holds:
            return False, f"{case}: the loss differs ({how_loss})"
        closed = (mistake.closed if isinstance(mistake, Mistake) and mistake.closed is not None
                  else rule.closed_forms[wrt])
        right = evaluate(rule._by_name(closed), values)
        holds, how = matrices_equal(result[sp.Symbol(gradient_name)], right)
        if not holds:
            return False, f"{case}: the gradient differs ({how})"
    return True, f"loss and gradient, each target: {how.rsplit(' [', 1)[0]}"


def _forward_mistake_claim(rule: LayerRule, mistake: ForwardMistake) -> Claim:
    def decide() -> tuple[bool, str]:
        for case, env in concrete_environments(rule):
            gap = sp.expand((_weighted_loss(rule, _graph_values(rule, env, mistake))
                             - _weighted_loss(rule, _graph_values(rule, env))).rewrite(sp.Heaviside))
            if not decide_zero(gap, try_simplify=False)[0]:
                return True, f"at {case}: the loss changes by {text(gap)}"
        return False, "the same loss at every size and target tried"

    return timed_claim(f"the forward mistake '{mistake.name}' gives a different loss",
                       f"{latex_text(mistake.name)} \\neq L", decide)


__all__ = ["Loss", "onehot", "scores", "weights", "concrete_environments", "loss_claims", "loss_kernels", "one_hot_cases", "one_hot_row",
           "one_hot_sums", "slip_kernel_name", "slip_spec"]
