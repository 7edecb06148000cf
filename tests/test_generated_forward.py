"""The printed numpy computes what the rule's graph says: every generated forward kernel, at numbers.

The proofs compare the closed forms with derivatives of the graph, and the numeric checks compare the
generated backward with differences of the generated forward; neither would notice the code printer
writing the forward itself wrong (σ(a + b) printed as σ(a) shifted by b). Here each forward kernel
runs on random inputs and its output is compared with the graph evaluated by SymPy at the same numbers.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import sympy as sp

from mathnn.catalogue import draw_inputs, layers, sequences
from mathnn.rules import RULES
from mathnn.rules.arrays import evaluate
from mathnn.rules.layer import LayerRule
from mathnn.rules.recurrence import Recurrence
from mathnn.rules.layer_parts import magnitude_of

CONCRETE = [name for name, rule in RULES.items() if isinstance(rule, LayerRule) and rule.size is None
            and not rule.elementwise and rule.loss is None and all(len(d.shape) <= 2 for d in rule.draws.values())]
ELEMENTWISE = [name for name, rule in RULES.items() if isinstance(rule, LayerRule) and rule.elementwise]
LOSSES = [name for name, rule in RULES.items() if isinstance(rule, LayerRule) and rule.loss is not None]


def _matrix(value: np.ndarray) -> sp.Matrix:
    value = np.atleast_2d(value)
    return sp.Matrix(value.shape[0], value.shape[1], lambda r, c: sp.Float(value[r, c], 30))


@pytest.mark.parametrize("name", CONCRETE)
def test_a_layers_forward_kernel_computes_its_graph(name):
    rule = RULES[name]
    layer = layers()[name]
    sizes = rule.check_sizes[0]
    inputs = draw_inputs(layer, sizes, np.random.default_rng(7))
    out = np.asarray(layer.kernel(layer.spec["forward_kernel"])(**inputs)[0], dtype=float)
    env = {s: _matrix(inputs[s.name]) for s in rule.element_arrays}
    env.update({s: sp.Float(v) for s, v in rule.scalars.items()})
    for node in rule.nodes:
        env[node.symbol] = evaluate(node.expr, env)
    want = np.array(sp.N(env[rule.output], 20).tolist(), dtype=float)
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_an_elementwise_layers_forward_kernel_computes_its_graph(name):
    """The kernel computing the output (sigmoid's, printed in its stable form) against the graph of one entry."""
    rule = RULES[name]
    (x,) = rule.differentiated
    kernel = next(k for k in rule.kernels if k.computes == rule.output)
    low, high = rule.domain[x]
    points = np.concatenate([np.random.default_rng(9).uniform(low, high, 40), [0.0, -1e-3, 1e-3]])
    for params in [{}] if not rule.params else [{s: v} for s, values in rule.param_checks.items() for v in values]:
        out = getattr(importlib.import_module(f"mathnn.kernels.{name}"), kernel.name)(
            points, **{s.name: v for s, v in params.items()})
        graph = rule.forward.subs(params)
        want = np.array([float(sp.N(graph.subs(x, sp.Float(point, 30)), 20)) for point in points])
        np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("name", LOSSES)
def test_a_losss_kernels_compute_its_graph(name):
    """The fused kernel and each slip kernel: the loss Σ w·ℓ of the graph (with a forward mistake's nodes) and
    the declared gradient (or the mistake's), at random scores, one-hot targets and row weights."""
    rule = RULES[name]
    module = importlib.import_module(f"mathnn.kernels.{name}")
    rng = np.random.default_rng(9)
    rows, classes = 3, 4
    arguments = {"scores": rng.standard_normal((rows, classes)),
                 "onehot": np.eye(classes)[rng.integers(classes, size=rows)],
                 "weights": rng.uniform(0.1, 1.0, (rows, 1))}
    names = {spec["kernel"]: spec["name"] for spec in module.SLIPS}
    mistakes = {m.name: m for m in (*rule.mistakes, *rule.forward_mistakes)}
    (wrt,) = rule.differentiated
    *computing, magnitude = rule.kernels
    assert magnitude.name == f"{rule.loss.kernel.name}_magnitude"
    for kernel in computing:
        mistake = mistakes.get(names.get(kernel.name, ""))
        replaced = getattr(mistake, "replace", {})
        env = {s: _matrix(arguments[s.name]) for s in (*rule.element_arrays, rule.dout)}
        for node in rule.nodes:
            env[node.symbol] = evaluate(replaced.get(node.symbol, node.expr), env)
        for helper in rule.helpers:
            env[sp.Symbol(helper.target)] = evaluate(rule._by_name(helper.expr), env)
        want_loss = float(sp.N(sum(w * out for w, out in zip(env[rule.dout], env[rule.output])), 20))
        closed = getattr(mistake, "closed", None)
        gradient = evaluate(rule._by_name(closed if closed is not None else rule.closed_forms[wrt]), env)
        loss, dscores = getattr(module, kernel.name)(**arguments)
        np.testing.assert_allclose(loss, want_loss, rtol=1e-12)
        np.testing.assert_allclose(dscores, np.array(sp.N(gradient, 20).tolist(), dtype=float), rtol=1e-12, atol=1e-14)
    # the magnitude kernel: the closed form with every term by its absolute value, so never below the gradient
    env = {s: _matrix(arguments[s.name]) for s in (*rule.element_arrays, rule.dout)}
    for node in rule.nodes:
        env[node.symbol] = evaluate(node.expr, env)
    for helper in rule.helpers:
        env[sp.Symbol(helper.target)] = evaluate(rule._by_name(helper.expr), env)
    want = evaluate(rule._by_name(magnitude_of(rule.closed_forms[wrt])), env)
    sizes = getattr(module, magnitude.name)(**arguments)
    np.testing.assert_allclose(sizes, np.array(sp.N(want, 20).tolist(), dtype=float), rtol=1e-12, atol=1e-14)
    _, dscores = getattr(module, rule.loss.kernel.name)(**arguments)
    assert np.all(sizes >= np.abs(dscores) * (1 - 1e-12))


@pytest.mark.parametrize("name", [name for name, rule in RULES.items() if isinstance(rule, Recurrence)])
def test_a_recurrences_forward_kernel_computes_the_unrolled_graph(name):
    rule = RULES[name]
    sequence = sequences()[name]
    sizes = {**sequence.spec["sizes"], "N": 2, "T": 3}
    inputs = draw_inputs(sequence, sizes, np.random.default_rng(8))
    kernels = importlib.import_module(sequence.module.__name__)
    states = dict(zip(sequence.spec["states"], getattr(kernels, sequence.spec["forward_kernel"])(**inputs)))
    step = rule.step
    weights = {s: _matrix(inputs[s.name]) for s in step.shared}
    carried = [_matrix(inputs[rule.initial.name])] + [None] * (len(rule.carried) - 1)
    for t in range(sizes["T"]):
        env = {**weights, **{x: _matrix(inputs[x.name][:, t]) for x in rule.over_time}}
        for (prev, _), value in zip(rule.carried, carried):
            env[prev] = value if value is not None else sp.zeros(*carried[0].shape)
        for node in rule.stored:
            env[node.symbol] = evaluate(node.expr, env)
        carried = [env[nxt] for _, nxt in rule.carried]
        want = np.array(sp.N(carried[0], 20).tolist(), dtype=float)
        np.testing.assert_allclose(states[sequence.spec["states"][0]][:, t], want, rtol=1e-12, atol=1e-12)
