"""Layer rules: one declaration gives the proof, the kernels, the CS231n functions and the checks."""

from __future__ import annotations

import dataclasses
import importlib

import numpy as np
import pytest

from mathnn.catalogue import LayerCache, draw_inputs, layers
from mathnn.errors import InputError
from mathnn.layers import layernorm_backward, layernorm_forward
from mathnn.rules import RULES
from mathnn.rules.core import RowSum
from mathnn.rules.layernorm import D, dx_hat, inv_std, layernorm, x_hat


@pytest.fixture(scope="module")
def layernorm_proof(proofs):
    return proofs["layernorm"]


def test_layernorm_is_proven_for_a_symbolic_number_of_features(layernorm_proof):
    assert layernorm_proof.holds, str(layernorm_proof)
    statements = " | ".join(claim.statement for claim in layernorm_proof.claims)
    assert "for symbolic D" in statements
    assert sum("mistake" in claim.statement for claim in layernorm_proof.claims) == len(layernorm.mistakes)


def test_a_wrong_closed_form_fails_the_proof():
    x = layernorm.element_arrays[0]
    # the variance term with the wrong sign: a plausible slip, and a proof that must not pass
    wrong = inv_std * (dx_hat - RowSum(dx_hat) / D + x_hat * RowSum(dx_hat * x_hat) / D)
    broken = dataclasses.replace(layernorm, closed_forms={**layernorm.closed_forms, x: wrong})
    proof = broken.prove()
    assert not proof.holds
    failing = [claim for claim in proof.claims if not claim.holds]
    assert len(failing) == 1 and failing[0].statement.startswith("∂L/∂x derived")


def test_a_mistake_equal_to_the_true_gradient_is_not_refuted():
    """The refutation must fail for a 'mistake' that is in fact the right answer."""
    x = layernorm.element_arrays[0]
    honest = layernorm.mistakes[0].__class__("not a mistake", x, "", closed=layernorm.closed_forms[x])
    proof = dataclasses.replace(layernorm, mistakes=(honest,)).prove()
    (claim,) = [c for c in proof.claims if "mistake" in c.statement]
    assert not claim.holds


def _numeric_vjp(f, x, dout, h=1e-6):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[index] += h
        minus[index] -= h
        grad[index] = np.sum((f(plus) - f(minus)) * dout) / (2 * h)
    return grad


@pytest.mark.parametrize("shape", [(4, 5), (1, 3), (3, 2)])
def test_layernorm_functions_match_central_differences(shape):
    rng = np.random.default_rng(1)
    x = 1.0 + 2.0 * rng.standard_normal(shape)
    gamma, beta = 1.0 + 0.5 * rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    out, cache = layernorm_forward(x, gamma, beta, {"eps": 1e-5})
    # each row is normalized over its features: mean β-shift and γ-scale aside, x̂ has mean 0, variance ≈ 1
    x_hat_rows = (out - beta) / gamma
    assert np.allclose(x_hat_rows.mean(axis=1), 0.0, atol=1e-12)
    dout = rng.standard_normal(shape)
    dx, dgamma, dbeta = layernorm_backward(dout, cache)
    assert dx.shape == x.shape and dgamma.shape == gamma.shape and dbeta.shape == beta.shape
    assert np.allclose(dx, _numeric_vjp(lambda v: layernorm_forward(v, gamma, beta, {})[0], x, dout), atol=1e-7)
    assert np.allclose(dgamma, _numeric_vjp(lambda v: layernorm_forward(x, v, beta, {})[0], gamma, dout), atol=1e-7)
    assert np.allclose(dbeta, _numeric_vjp(lambda v: layernorm_forward(x, gamma, v, {})[0], beta, dout), atol=1e-7)


def test_layernorm_keeps_float32_and_converts_integers():
    x = np.arange(12, dtype=np.int64).reshape(3, 4)
    out, _ = layernorm_forward(x, np.ones(4), np.zeros(4), None)
    assert out.dtype == np.float64 and np.allclose(out.mean(axis=1), 0)
    out32, cache32 = layernorm_forward(x.astype(np.float32), np.ones(4, np.float32), np.zeros(4, np.float32), {})
    assert out32.dtype == np.float32
    assert all(g.dtype == np.float32 for g in layernorm_backward(np.ones((3, 4), np.float32), cache32))


def test_layernorm_bad_input_names_the_argument():
    x = np.ones((2, 3))
    with pytest.raises(InputError, match=r"gamma: expected shape \(3,\) \(D = 3 from x with shape \(2, 3\)\); received shape \(4,\)"):
        layernorm_forward(x, np.ones(4), np.zeros(3), {})
    with pytest.raises(InputError, match=r'ln_param\["eps"\]: expected a finite real number > 0'):
        layernorm_forward(x, np.ones(3), np.zeros(3), {"eps": -1.0})
    with pytest.raises(InputError, match=r"x: expected a 2-D array"):
        layernorm_forward(np.ones(3), np.ones(3), np.zeros(3), {})
    _, cache = layernorm_forward(x, np.ones(3), np.zeros(3), {})
    with pytest.raises(InputError, match=r"dout: expected shape \(2, 3\)"):
        layernorm_backward(np.ones((3, 3)), cache)
    with pytest.raises(InputError, match="cache: expected the cache returned by layernorm_forward"):
        layernorm_backward(np.ones((2, 3)), (1, 2, 3))


def test_each_mistake_kernel_computes_a_wrong_gradient_the_proof_names():
    layer = layers()["layernorm"]
    rng = np.random.default_rng(3)
    inputs = draw_inputs(layer, {"N": 4, "D": 5}, rng)
    out, *cached = layer.kernel("layernorm_forward_kernel")(**inputs)
    dout = rng.standard_normal(out.shape)
    dx = layer.kernel("layernorm_backward_kernel")(dout, *cached)[0]
    for mistake in layer.spec["mistakes"]:
        wrong = layer.kernel(mistake["kernel"])(dout, **inputs)
        assert wrong.shape == dx.shape
        assert np.abs(wrong - dx).max() > 1e-3 * np.abs(dx).max(), mistake["name"]


def test_every_rule_has_all_six_artifacts():
    """Proof, kernel module, verify check, derivation text, docs page source and (for layers) CS231n functions,
    (for the element-wise layers) the public activation functions."""
    from mathnn import activations
    from mathnn import layers as public
    from mathnn.codegen.generate import expected_files
    from mathnn.codegen.render import derivation_text

    generated = {path.stem for path in expected_files()}
    for name, rule in RULES.items():
        assert callable(rule.prove)
        assert name in generated
        module = importlib.import_module(f"mathnn.kernels.{name}")
        assert all(callable(getattr(module, kernel.name)) for kernel in rule.kernels)
        assert rule.title in derivation_text(rule)
        spec = rule.spec() if hasattr(rule, "spec") else None
        if getattr(rule, "elementwise", False):
            assert spec is None and rule.public_module == "mathnn.activations"
            assert callable(getattr(activations, name)) and callable(getattr(activations, f"{name}_grad"))
        if getattr(rule, "loss", None) is not None:  # a loss: its slip kernels, as data for the checker
            assert spec is None
            # the fused kernel, one kernel per slip, and the magnitude kernel its check measures errors against
            assert module.SLIPS == rule.slip_spec() and len(module.SLIPS) == len(rule.kernels) - 2
            assert callable(getattr(module, f"{rule.loss.kernel.name}_magnitude"))
        if spec is not None:
            assert callable(getattr(public, spec["forward"])) and callable(getattr(public, spec["backward"]))
            assert isinstance(public.layernorm_forward(np.ones((1, 2)), np.ones(2), np.ones(2))[1], LayerCache)


def test_the_diagnosis_names_each_mistake_and_blames_the_forward_for_the_right_gradient():
    from mathnn.gradcheck.diagnosis import layer_diagnosis

    layer = layers()["layernorm"]
    diagnose = layer_diagnosis("layernorm")
    rng = np.random.default_rng(5)
    inputs = draw_inputs(layer, {"N": 3, "D": 4}, rng)
    dout = rng.standard_normal((3, 4))
    out, *cached = layer.kernel("layernorm_forward_kernel")(**inputs)
    right = layer.kernel("layernorm_backward_kernel")(dout, *cached)[0]
    # a dx that fails the check yet equals the true gradient: the student's forward is what differs
    assert diagnose("x", right, right, {**inputs, "ln_param": {}}, dout) == (
        "your dx is the true layernorm gradient, so your forward pass is what differs from layernorm_forward")
    assert diagnose("x", 1.5 * right, right, {**inputs, "ln_param": {}}, dout) is None
    for mistake in layer.spec["mistakes"]:
        wrong = layer.kernel(mistake["kernel"])(dout, **inputs)
        assert diagnose("x", wrong, right, {**inputs, "ln_param": {}}, dout) == mistake["sentence"]
        # the same slip in dgamma's place is not blamed on dx's paths
        assert diagnose("gamma", wrong, right, {**inputs, "ln_param": {}}, dout) is None


def test_a_layer_without_a_reduction_is_proven_entry_by_entry_and_its_mistakes_refuted():
    """The affine layer declared as a layer rule: proven at concrete sizes, a wrong dx refuted."""
    import sympy as sp

    from mathnn.rules.core import BatchSum, Dot, Node, Transposed
    from mathnn.rules.layer import CS231n, Draw, LayerRule, Mistake

    x, w, b, dout, out = sp.symbols("x w b dout out")
    affine = LayerRule(
        name="affine_example", title="Affine", note="out = x w + b", size=None,
        element_arrays=(x, w, b), scalars={}, nodes=(Node(out, Dot(x, w) + b, "out"),),
        differentiated=(x, w, b),
        closed_forms={x: Dot(dout, Transposed(w)), w: Dot(Transposed(x), dout), b: BatchSum(dout)},
        helpers=(), shared=(b,), draws={"x": Draw(("N", "D")), "w": Draw(("D", "M")), "b": Draw(("M",))},
        check_sizes=({"N": 3, "D": 2, "M": 2},), proof_sizes=({"N": 1, "D": 2, "M": 3}, {"N": 2, "D": 3, "M": 2}),
        cs231n=CS231n("affine_example", ("x", "w", "b"), ("dx", "dw", "db"), ("x", "w", "b")),
        mistakes=(Mistake("db not summed over the batch", b, "sum dout over the rows", closed=dout),),
    )
    proof = affine.prove()
    assert proof.holds, str(proof)
    # an unsummed db equals the true one when N = 1: the refutation must come from the N = 2 size
    (refuted,) = [c for c in proof.claims if "mistake" in c.statement]
    assert "N=2" in refuted.method and "N=1" not in refuted.method
    wrong = dataclasses.replace(affine, closed_forms={**affine.closed_forms, x: Dot(dout, w)})
    failing = [c.method for c in wrong.prove().claims if not c.holds]  # dout (N, M) @ w (D, M) has no shape
    assert failing and all("has no shape here" in method for method in failing)
    transposed = dataclasses.replace(affine, closed_forms={**affine.closed_forms, w: Transposed(Dot(Transposed(dout), x))})
    assert transposed.prove().holds  # (doutᵀ x)ᵀ is xᵀ dout: the same matrix, proven so
    swapped = dataclasses.replace(affine, closed_forms={**affine.closed_forms, x: Dot(dout, Transposed(w)) * 2})
    failing = [c.statement for c in swapped.prove().claims if not c.holds]
    assert len(failing) == 2 and all(s.startswith("∂L/∂x derived") for s in failing)


def test_a_sequence_kernels_statements_read_against_the_code_with_what_each_computes():
    # the docs print each statement of the unrolled kernels: its variables as the generated code names
    # them, and under the math the words the terminal shows in its place; the views, one line for all
    from mathnn.codegen.render import derivation_latex, derivation_text

    rule = RULES["rnn"]
    markdown = derivation_latex(rule)
    kernels = markdown[markdown.index("### Kernels, statement by statement"):]
    assert "$$\n\\mathtt{prev\\_h} = \\mathtt{h0}\n$$\n\nh₀ starts the recurrence\n" in kernels
    assert "$$\n\\mathtt{h},\\ \\mathtt{a}\n$$\n\nh, a at every step as (N, T, ·): views of the loop's (T, N, ·)\n" in kernels
    assert "\\mathtt{h} = \\mathtt{h}" not in kernels  # a view is no equation
    terminal = derivation_text(rule)
    assert terminal.count("h₀ starts the recurrence") == 1  # said once, as the statement's text form


def test_the_entries_of_a_concrete_size_derivation_are_written_in_their_rules_notation():
    # SymPy splits prev_h_0_1 at its underscores (prev_{h 0 1}); an entry reads as its matrix, subscripted
    from mathnn.codegen.render import derivation_latex

    step = derivation_latex(RULES["rnn_step"])
    assert "{h_{t-1}}_{0,0}" in step and "{\\delta h_t}_{0,0}" in step and "{Wx}_{0,0}" in step
    assert "prev_{h" not in step and "dnext_{h" not in step
    affine = derivation_latex(RULES["affine"])  # its x is no RNN input x_t, though the name is the same
    assert "{x}_{0,0}" in affine and "{x_t}" not in affine and "dout_{0 0}" not in affine
