"""The RNN as its step unrolled over T: kernels generated from the step rule, BPTT proven, slips refuted."""

from dataclasses import replace

import numpy as np
import pytest
import sympy as sp

from mathnn.rules import RULES
from mathnn.rules import rnn_step as step_rule
from mathnn.rules.core import Dot, Rows, Transposed
from mathnn.rules.recurrence import Recurrence, Slip
from mathnn.rules.rnn import rnn
from mathnn.rules.rnn_math import derivation_steps

RESULTS = ("dx", "dh0", "dWx", "dWh", "db")


def failing(proof):
    return [c.statement for c in proof.claims if not c.holds]


def test_rnn_is_the_step_rule_unrolled_and_proven(proofs):
    proof = proofs["rnn"]
    assert isinstance(RULES["rnn"], Recurrence) and RULES["rnn"].step is RULES["rnn_step"]
    assert proof.holds, str(proof)
    statements = [c.statement for c in proof.claims]
    for sizes in rnn.proof_sizes:
        at = ", ".join(f"{k}={v}" for k, v in sizes.items())
        for result in RESULTS:
            assert any(s.startswith(f"rnn_sequence_backward gives ∂L/∂{result[1:]} of L = Σ_t Σ dh_t ⊙ h_t")
                       and "for any activation f" in s and at in s for s in statements), (result, at)
        assert any(s.startswith("rnn_sequence_forward is the rnn_step graph") and at in s for s in statements)
    for slip in rnn.slips:
        assert any(s.startswith(f"the slip '{slip.name}'") for s in statements), slip.name
    assert any(s.startswith("with f = tanh, δ") for s in statements)
    # one decider: every claim is decided by mathnn.rules.decide and says how
    assert all("independent symbols" in c.method or "simplify" in c.method or "differ" in c.method
               for c in proof.claims), [c.method for c in proof.claims]


def test_forward_kernel_is_the_lecture_column_form(proofs):
    (claim,) = [c for c in proofs["rnn"].claims if c.statement.startswith("rnn_step's forward (row form")]
    assert claim.holds and "W_hh = Whᵀ, W_xh = Wxᵀ" in claim.statement


def _unrolled_with(**changes):
    """The RNN recurrence over a step rule with some of its declaration replaced, at one small size."""
    step = replace(step_rule.rnn_step, **changes)
    return replace(rnn, step=step, proof_sizes=({"N": 1, "D": 1, "H": 2, "T": 3},), extra_claims=None)


def test_a_wrong_closed_form_of_the_step_fails_the_unrolled_proof():
    # dprev_h = δ Wh (not Whᵀ): the gradient sent back in time is wrong, so everything before the
    # last step is wrong, h_0's gradient included
    closed = {**step_rule.rnn_step.closed_forms, step_rule.prev_h: Dot(step_rule.da, step_rule.Wh)}
    bad = failing(_unrolled_with(closed_forms=closed).prove())
    for result in RESULTS:
        assert any(f"∂L/∂{result[1:]} of L" in s for s in bad), (result, bad)


def test_a_wrong_weight_gradient_of_the_step_fails_only_there():
    closed = {**step_rule.rnn_step.closed_forms, step_rule.Wh: Dot(Transposed(step_rule.da), step_rule.prev_h)}
    bad = failing(_unrolled_with(closed_forms=closed).prove())
    assert [s.split(" of L")[0] for s in bad if "unrolled" in s] == ["rnn_sequence_backward gives ∂L/∂Wh"]


def test_a_wrong_delta_of_the_step_is_refuted():
    wrong = replace(step_rule.rnn_step.helpers[0], expr=step_rule.dnext_h * (1 - step_rule.next_h) ** 2)
    bad = failing(_unrolled_with(helpers=(wrong,)).prove())
    assert any(s.startswith("with f = tanh, δ") for s in bad), bad


def test_a_slip_that_is_the_true_gradient_is_not_refuted():
    prev_steps, da = sp.Symbol("prev_h_steps"), sp.Symbol("da")
    harmless = Slip("not a slip", ("dWh",), "", {"dWh": Dot(Transposed(Rows(prev_steps)), Rows(da))})
    proof = replace(rnn, slips=(harmless,), proof_sizes=rnn.proof_sizes[:1], extra_claims=None).prove()
    (claim,) = [c for c in proof.claims if c.statement.startswith("the slip")]
    assert not claim.holds and "dWh equal the true gradient" in claim.method


def test_a_slip_must_replace_a_statement_that_exists():
    bad = Slip("nowhere", ("dWh",), "", {"dW_nowhere": sp.Integer(0)})
    with pytest.raises(ValueError, match="no statement"):
        replace(rnn, slips=(bad,)).kernels


# -- numbers ------------------------------------------------------------------------------------------


def test_numeric_check_passes_for_every_activation_and_catches_a_transposed_dWh(monkeypatch):
    from mathnn.kernels import rnn as kernels
    from mathnn.verify import CENTRAL_TOL, COMPLEX_TOL, check_sequence

    checks = check_sequence("rnn", points=500)
    assert {check.forward for check in checks} == {
        f"rnn_sequence_forward (f = {name})" for name in ("its default", "sigmoid", "tanh", "relu", "leaky_relu")}
    for check in checks:
        assert check.max_complex <= COMPLEX_TOL and check.max_central <= CENTRAL_TOL, check
    monkeypatch.setattr(kernels, "rnn_sequence_backward", kernels.rnn_backward_dwh_transposed)
    wrong = [check for check in check_sequence("rnn", points=500) if check.params["H"] > 1]
    assert len(wrong) == 5 and all(check.max_complex > 1e-2 and not check.passed for check in wrong)


def test_the_activation_reaches_both_sequence_kernels(monkeypatch):
    """A backward kernel that ignored f_grad (tanh′ for every f) fails the check of the other activations."""
    from mathnn.kernels import rnn as kernels
    from mathnn.verify import check_sequence

    right = kernels.rnn_sequence_backward
    monkeypatch.setattr(kernels, "rnn_sequence_backward",
                        lambda *args, f_grad=None: right(*args))  # always tanh′ from the states
    checks = {check.forward: check.passed for check in check_sequence("rnn", points=500) if check.params["H"] > 1}
    assert checks["rnn_sequence_forward (f = tanh)"] and checks["rnn_sequence_forward (f = its default)"]
    assert not checks["rnn_sequence_forward (f = relu)"] and not checks["rnn_sequence_forward (f = sigmoid)"]


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


def column_form_loss(params: dict, xs: np.ndarray, targets: list, f) -> float:
    """The lecture's next-character loss written directly in column form, one step at a time."""
    h, loss = params["h0"], 0.0
    for x_t, k in zip(xs, targets):
        h = f(params["W_hh"] @ h + params["W_xh"] @ x_t + params["b"])
        o = params["W_hy"] @ h + params["b_y"]
        loss += np.log(np.exp(o - o.max()).sum()) + o.max() - o[k]
    return float(loss)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_generated_kernels_give_the_lecture_gradients_of_the_whole_model(activation):
    """rnn_sequence_* with the output layer and softmax CE (CharRNN's composition) against central
    differences of the column-form loss, for every parameter of the lecture's model."""
    from mathnn.kernels.rnn import rnn_sequence_backward, rnn_sequence_forward
    from mathnn.kernels.sigmoid import sigmoid, sigmoid_grad
    from mathnn.kernels.softmax_ce import softmax_cross_entropy

    f, f_grad = {"tanh": (np.tanh, None), "sigmoid": (sigmoid, sigmoid_grad)}[activation]
    rng = np.random.default_rng(1986)
    n, d, v, steps = 3, 2, 4, 4
    targets = [1, 0, 3, 1]
    p = {"W_hh": rng.normal(scale=0.7, size=(n, n)), "W_xh": rng.normal(scale=0.7, size=(n, d)),
         "b": rng.normal(scale=0.7, size=n), "W_hy": rng.normal(scale=0.7, size=(v, n)),
         "b_y": rng.normal(scale=0.7, size=v), "h0": rng.normal(scale=0.7, size=n)}
    xs = rng.normal(size=(steps, d))
    # row form, one sequence: Wx = W_xhᵀ, Wh = W_hhᵀ
    h, a = rnn_sequence_forward(xs[None], p["h0"][None], p["W_xh"].T, p["W_hh"].T, p["b"], f=f)
    scores = h[0] @ p["W_hy"].T + p["b_y"]
    _, dscores = softmax_cross_entropy(scores, np.eye(v)[targets], np.ones((steps, 1)))
    dh = (dscores @ p["W_hy"])[None]
    dx, dh0, dWx, dWh, db = rnn_sequence_backward(dh, xs[None], p["h0"][None], h, a, p["W_xh"].T, p["W_hh"].T,
                                                  f_grad=f_grad)
    analytic = {"W_hh": dWh.T, "W_xh": dWx.T, "b": db, "h0": dh0[0], "W_hy": dscores.T @ h[0],
                "b_y": dscores.sum(axis=0), "x": dx[0]}
    for name, gradient in analytic.items():
        numeric = np.zeros_like(gradient)
        for index in np.ndindex(gradient.shape):
            plus, minus = {k: v.copy() for k, v in p.items()}, {k: v.copy() for k, v in p.items()}
            xp, xm = xs.copy(), xs.copy()
            (xp if name == "x" else plus[name])[index] += 1e-6
            (xm if name == "x" else minus[name])[index] -= 1e-6
            numeric[index] = (column_form_loss(plus, xp, targets, f) - column_form_loss(minus, xm, targets, f)) / 2e-6
        np.testing.assert_allclose(gradient, numeric, atol=1e-7, rtol=0, err_msg=name)
    assert np.abs(analytic["W_hh"]).max() > 1e-3  # not vacuous
    assert np.abs(analytic["W_hh"].T - analytic["W_hh"]).max() > 1e-3  # and a transposed dW_hh would be caught


def test_derivation_steps_render():
    steps = {step.name: step for step in derivation_steps()}
    for name in ("forward", "delta", "dW_hh", "dW_xh", "db", "dh_prev", "dx", "softmax_ce", "dh_bptt",
                 "dW_hh_bptt"):
        assert name in steps
    assert steps["forward"].latex == r"a_{t} = W_{hh} h_{t-1} + W_{xh} x_{t} + b"
    assert r"\circ" in steps["delta"].latex
    assert steps["dW_hh"].latex.endswith(r"\delta_{t} h_{t-1}^{T}")
    assert r"W_{hh}^{T} \delta_{t+1}" in steps["dh_bptt"].latex
    assert r"\sum_{t=1}^{T}" in steps["dW_hh_bptt"].latex
