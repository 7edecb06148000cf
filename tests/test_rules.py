"""The rule declaration: derivation by the chain rule, proof, and proofs that fail when they should."""

from dataclasses import replace

import pytest
import sympy as sp

from mathnn.errors import InputError
from mathnn.rules import RULES, Statement, get
from mathnn.rules.activations import alpha, sigma, t, x


@pytest.mark.parametrize("name", list(RULES))
def test_every_rule_is_proven(name, proofs):
    proof = proofs[name]
    assert proof.holds, str(proof)
    assert all(claim.holds for claim in proof.claims)


def test_sigmoid_derivative_is_sigma_times_one_minus_sigma():
    rule = get("sigmoid")
    derived = rule.derived_gradient(x)
    closed = rule.expand(sigma * (1 - sigma))
    assert sp.simplify(derived - closed) == 0
    # A numeric spot value of the derived expression, independent of the closed form.
    assert derived.subs(x, 0) == sp.Rational(1, 4)


def test_sigmoid_max_derivative_is_a_quarter_not_point_three(proofs):
    claims = {claim.statement: claim for claim in proofs["sigmoid"].claims}
    peak = next(c for s, c in claims.items() if "max σ′ = 1/4" in s)
    assert peak.holds
    assert "solve(σ″ = 0) = [0]" in peak.method


def test_wrong_closed_form_fails_the_proof():
    rule = get("sigmoid")
    wrong = replace(rule, closed_forms={x: sigma * (1 + sigma)})
    proof = wrong.prove()
    assert not proof.holds
    failing = [claim for claim in proof.claims if not claim.holds]
    assert any("closed form" in claim.statement for claim in failing)
    assert "not 0" in failing[0].method


def test_wrong_tanh_closed_form_fails():
    wrong = replace(get("tanh"), closed_forms={x: 1 - t})
    assert not wrong.prove()


def test_kernel_that_does_not_compute_its_claim_fails_the_proof():
    rule = get("sigmoid")
    grad_kernel = rule.kernels[1]
    # The textbook mistake of writing σ′ = e^{−|x|}/(1 + e^{−|x|}) (forgetting the square).
    broken = replace(
        grad_kernel,
        statements=(*grad_kernel.statements[:-1], Statement("dsigma_dx", sp.Symbol("z") / (1 + sp.Symbol("z")), "")),
    )
    proof = replace(rule, declared=(rule.kernels[0], broken)).prove()
    assert not proof.holds
    assert [c.statement for c in proof.claims if not c.holds] == ["kernel sigmoid_grad computes σ*(1 - σ)"]


def test_relu_value_at_kink_is_zero_and_a_one_sided_derivative(proofs):
    rule = get("relu")
    derived = rule.derived_gradient(x)
    assert derived.subs(x, 0) == 0
    assert sp.diff(sp.Max(0, x), x).subs(x, 0) == sp.Rational(1, 2)  # what SymPy would say by default
    kink_claim = next(c for c in proofs["relu"].claims if "kink" in c.statement)
    assert kink_claim.holds
    assert "left derivative 0, right derivative 1" in kink_claim.statement


def test_a_kink_value_outside_the_one_sided_derivatives_fails():
    rule = get("relu")
    wrong = replace(rule, kinks=(replace(rule.kinks[0], value=sp.Rational(1, 2)),))
    assert not wrong.prove()


def test_leaky_relu_derivative_and_kink():
    rule = get("leaky_relu")
    derived = rule.derived_gradient(x)
    assert derived.subs({x: -3, alpha: sp.Rational(1, 5)}) == sp.Rational(1, 5)
    assert derived.subs(x, 2) == 1
    assert derived.subs(x, 0) == alpha


def test_tanh_graph_has_two_paths_that_add():
    rule = get("tanh")
    assert len(rule.paths(x)) == 2
    derivation = rule.derivation()
    step = next(s for s in derivation.chain if s.target == x)
    assert len(step.terms) == 2


def test_dropping_a_path_changes_the_gradient_to_the_forgotten_path_result():
    rule = get("tanh")
    p = rule.nodes[0].symbol
    t_node = rule.nodes[2].symbol
    partial = rule.derivation(drop=[(p, t_node)]).gradients[x]
    # Only the path through q = e^{−x} remains: ∂t/∂q · ∂q/∂x = 2p/(p+q)² · q.
    expected = 2 * sp.exp(x) * sp.exp(-x) / (sp.exp(x) + sp.exp(-x)) ** 2
    assert sp.simplify(partial - expected) == 0


@pytest.mark.parametrize(("name", "gamma"), [("sigmoid", sp.Rational(1, 4)), ("tanh", 1), ("relu", 1)])
def test_sup_of_derivative_is_proven(name, gamma, proofs):
    claims = [c for c in proofs[name].claims if c.statement.startswith("sup over real x")]
    assert len(claims) == 1 and claims[0].holds
    assert f"is {gamma}" in claims[0].statement


def test_unknown_rule_names_the_known_ones():
    known = ", ".join(RULES)
    assert known.startswith("affine, svm, sigmoid, tanh, relu, leaky_relu, rnn, softmax_ce, rnn_step, gru, gru_step, lstm, lstm_step, batchnorm")
    with pytest.raises(InputError, match=f"rule: expected one of {known}; received 'sigmod'"):
        get("sigmod")


def test_generated_gamma_is_the_proven_supremum():
    """The γ the vanishing-gradient bound uses comes from the proven fact, not a second constant."""
    from mathnn.kernels import leaky_relu as leaky_kernels
    from mathnn.kernels import relu as relu_kernels
    from mathnn.kernels import sigmoid as sigmoid_kernels
    from mathnn.kernels import tanh as tanh_kernels
    from mathnn.rules.elementwise import sup_over_reals

    generated = {
        "sigmoid": sigmoid_kernels.sigmoid_grad_sup(), "tanh": tanh_kernels.tanh_grad_sup(),
        "relu": relu_kernels.relu_grad_sup(), "leaky_relu": leaky_kernels.leaky_relu_grad_sup(0.2),
    }
    for name, gamma in generated.items():
        rule = get(name)
        supremum = sup_over_reals(rule.derived_gradient(x), x).subs(alpha, sp.Rational(1, 5))
        assert gamma == float(supremum)
    assert generated["sigmoid"] == 0.25 and leaky_kernels.leaky_relu_grad_sup(2.0) == 2.0


def test_an_elementwise_declaration_with_a_size_or_two_inputs_or_a_layer_without_functions_is_refused():
    """An element-wise layer is one function of one entry; any other layer generates its kernels from its
    CS231n functions: a declaration that is neither says which argument is wrong."""
    sigmoid = get("sigmoid")
    with pytest.raises(ValueError, match=r"sigmoid: size: expected None for an element-wise layer .*; received D"):
        replace(sigmoid, size=sp.Symbol("D"))
    with pytest.raises(ValueError, match=r"sigmoid: element_arrays: expected the one input .*; received \(x, alpha\)"):
        replace(sigmoid, element_arrays=(x, alpha))
    with pytest.raises(ValueError, match=r"affine: cs231n: expected the layer's CS231n functions.*; received None"):
        replace(get("affine"), cs231n=None)
    assert replace(sigmoid).elementwise and not get("affine").elementwise


def test_an_elementwise_proof_says_once_that_one_entry_stands_for_every_entry(proofs):
    """The claims about the entries (the derivative, the kernels of x) carry it in their method; the constant
    γ kernel and the facts about f′ do not; the reading form states it once, and a layer's proof not at all."""
    from mathnn.rules.core import proof_section
    from mathnn.rules.proofprint import FOR_EVERY_ENTRY, ONE_ENTRY

    claims = proofs["sigmoid"].claims
    assert [c.statement for c in claims if c.method.endswith(FOR_EVERY_ENTRY)] == [
        "∂σ/∂x derived by the chain rule equals the closed form σ*(1 - σ)",
        "kernel sigmoid computes σ", "kernel sigmoid_grad computes σ*(1 - σ)"]
    notes = proof_section(proofs["sigmoid"]).notes
    assert notes.count(ONE_ENTRY) == 1 and not any(FOR_EVERY_ENTRY in note for note in notes)
    assert ONE_ENTRY not in proof_section(proofs["affine"]).notes
