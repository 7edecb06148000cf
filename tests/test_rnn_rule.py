"""The RNN step and softmax cross-entropy kernels: proven entry by entry, and refuted when wrong."""

from dataclasses import replace

import numpy as np

from mathnn.rules import RULES
from mathnn.rules import rnn as rnn_rules
from mathnn.rules.core import Dot, Transposed
from mathnn.verify import CENTRAL_TOL, COMPLEX_TOL, check_rnn, check_softmax_ce


def _kernels_with(kernel, target, expr):
    """The step kernels by name, one statement of ``kernel`` replaced."""
    statements = tuple(replace(s, expr=expr) if s.target == target else s for s in kernel.statements)
    changed = replace(kernel, statements=statements)
    return {k.name: (changed if k.name == kernel.name else k) for k in RULES["rnn"].kernels}


def test_rnn_and_softmax_rules_are_proven(proofs):
    for name in ("rnn", "softmax_ce"):
        proof = proofs[name]
        assert proof.holds, str(proof)
    statements = [claim.statement for claim in proofs["rnn"].claims]
    # BPTT at the sizes the lecture asks for, and the step for every activation.
    assert any(s.startswith("BPTT") and "n=3, d=2" in s and "T=4" in s for s in statements), statements
    for activation in ("tanh", "sigmoid", "relu", "leaky_relu"):
        assert any(s.startswith(f"{activation} step") for s in statements), activation


def test_transposed_weight_gradient_is_refuted():
    kernels = _kernels_with(rnn_rules.weight_gradients, "dWh", Transposed(Dot(Transposed(rnn_rules.prev_h), rnn_rules.da)))
    failing = [c.statement for c in rnn_rules.step_kernel_claims(kernels, 2, 2, 3) if not c.holds]
    assert failing == ["rnn_weight_gradients gives ∂L/∂Wh (N=2, D=2, H=3)"]


def test_using_h_t_instead_of_h_t_minus_1_is_refuted():
    kernels = _kernels_with(rnn_rules.weight_gradients, "dWh", Dot(Transposed(rnn_rules.x), rnn_rules.da))
    failing = [c.statement for c in rnn_rules.step_kernel_claims(kernels, 2, 2, 2) if not c.holds]
    assert failing == ["rnn_weight_gradients gives ∂L/∂Wh (N=2, D=2, H=2)"]


def test_a_delta_without_the_tanh_derivative_is_refuted():
    kernels = _kernels_with(rnn_rules.step_delta, "da", rnn_rules.dnext_h)
    failing = {c.statement for c in rnn_rules.step_kernel_claims(kernels) if not c.holds}
    assert "rnn_step_delta gives ∂L/∂h_{t−1} (N=2, D=2, H=2)" in failing
    assert "rnn_weight_gradients gives ∂L/∂b (N=2, D=2, H=2)" in failing


def test_softmax_gradient_with_the_wrong_sign_is_refuted():
    kernel = rnn_rules.softmax_ce_kernel
    wrong = replace(kernel, statements=tuple(
        replace(s, expr=(rnn_rules.onehot - rnn_rules.exp_shifted / rnn_rules.total) * rnn_rules.weights)
        if s.target == "dscores" else s for s in kernel.statements
    ))
    claims = rnn_rules.softmax_kernel_claims(wrong)
    assert [c.holds for c in claims] == [False, True]


def test_forward_kernel_is_the_lecture_column_form(proofs):
    (claim,) = [c for c in proofs["rnn"].claims if c.statement.startswith("rnn_step_forward (row form")]
    assert claim.holds and "W_hh = Whᵀ, W_xh = Wxᵀ" in claim.statement


def test_numeric_checks_pass_and_catch_a_wrong_kernel(monkeypatch):
    for check in (*check_rnn(points=500), *check_softmax_ce(points=500)):
        assert check.max_complex <= COMPLEX_TOL and check.max_central <= CENTRAL_TOL, check

    from mathnn.kernels import rnn as kernels

    correct = kernels.rnn_weight_gradients
    monkeypatch.setattr(
        kernels, "rnn_weight_gradients",
        lambda da, x, prev_h, Wx: (*correct(da, x, prev_h, Wx)[:2], correct(da, x, prev_h, Wx)[2].T,
                                   correct(da, x, prev_h, Wx)[3]),
    )
    worst = max(c.max_complex for c in check_rnn(points=500) if c.params["H"] > 1)
    assert worst > 1e-2


def test_softmax_kernel_is_stable_for_huge_scores():
    from mathnn.kernels.softmax_ce import softmax_cross_entropy

    scores = np.array([[1000.0, -1000.0, 0.0]])
    loss, dscores = softmax_cross_entropy(scores, np.array([[1.0, 0.0, 0.0]]), np.ones((1, 1)))
    assert loss == 0.0 and np.all(np.isfinite(dscores))
    loss, _ = softmax_cross_entropy(scores, np.array([[0.0, 1.0, 0.0]]), np.ones((1, 1)))
    assert loss == 2000.0


def test_sequence_kernels_are_proven_for_any_activation():
    claims = rnn_rules.sequence_kernel_claims()
    assert all(c.holds for c in claims), [c.method for c in claims if not c.holds]
    assert any("for any activation f" in c.statement for c in claims)


def test_bptt_without_accumulation_through_time_is_refuted():
    """The sequence backward that forgets what step t + 1 sends back must fail its proof."""
    loop = rnn_rules.sequence_backward.statements[0]
    forgetful = replace(loop, body=tuple(
        replace(s, expr=rnn_rules.Step(rnn_rules.dh_steps) * rnn_rules.f_grad(rnn_rules.Step(rnn_rules.a_steps)))
        if s.target == "da" else s for s in loop.body
    ))
    broken = replace(rnn_rules.sequence_backward, statements=(forgetful, *rnn_rules.sequence_backward.statements[1:]))
    claims = rnn_rules.sequence_kernel_claims(rnn_rules.sequence_forward, broken)
    failing = {c.statement.split(" of the")[0] for c in claims if not c.holds}
    assert failing == {f"rnn_sequence_backward gives ∂L/∂{name}" for name in ("x", "h0", "Wx", "Wh", "b")}


def test_sequence_kernels_match_complex_step_for_relu():
    from mathnn.kernels.relu import relu, relu_grad
    from mathnn.kernels.rnn import rnn_sequence_backward, rnn_sequence_forward

    rng = np.random.default_rng(2)
    x, h0 = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 5))
    Wx, Wh, b = 0.5 * rng.standard_normal((3, 5)), 0.5 * rng.standard_normal((5, 5)), rng.standard_normal(5)
    dh = rng.standard_normal((2, 4, 5))
    h, a = rnn_sequence_forward(x, h0, Wx, Wh, b, f=relu)
    dWh = rnn_sequence_backward(dh, x, h0, h, a, Wx, Wh, f_grad=relu_grad)[3]
    numeric = np.zeros_like(Wh)
    for index in np.ndindex(Wh.shape):
        stepped = Wh.astype(complex)
        stepped[index] += 1e-20j
        numeric[index] = np.sum(rnn_sequence_forward(x.astype(complex), h0, Wx, stepped, b, f=relu)[0] * dh).imag / 1e-20
    assert np.allclose(dWh, numeric, rtol=1e-12, atol=1e-12)
