"""The RNN, symbolically: one step, softmax cross-entropy and BPTT proven; common mistakes refuted; numbers agree."""

import math

import numpy as np
import pytest
import sympy as sp

from mathnn.errors import InputError
from mathnn.rules.laurent import Atoms, decide
from mathnn.rules.rnn_bptt import VARIANTS, backward, bptt_claim, derived_gradients, prove, unroll
from mathnn.rules.rnn_math import (
    ACTIVATIONS, DEFAULT_SIZES, FAST_SIZES, derivation_steps, softmax_ce_claim, step_claims,
)

x, y = sp.symbols("x y", real=True)


def failures(claims):
    return [f"{c.statement}: {c.method}" for c in claims if not c.holds]


# -- the decision procedure ------------------------------------------------------------------------


def test_atoms_decide_true_identities():
    assert decide([("exp", sp.exp(2 * x) * sp.exp(-x), sp.exp(x))]).holds
    assert decide([("tanh′", sp.diff(sp.tanh(x * y), x), y * (1 - sp.tanh(x * y) ** 2))]).holds
    # A Piecewise and its indicator form: equal for every branch.
    relu = sp.Piecewise((x, x > 0), (0, True))
    assert decide([("relu", sp.diff(relu * y, x), y * sp.Piecewise((1, x > 0), (0, True)))]).holds


def test_atoms_refute_false_identities_with_a_witness():
    wrong = decide([("tanh′", sp.diff(sp.tanh(x), x), 1 + sp.tanh(x) ** 2)])
    assert not wrong.holds and wrong.failed == "tanh′"
    assert "refuted" in wrong.how
    # The kink convention matters: Piecewise with a different value at a = 0 is another function.
    left = sp.Piecewise((1, x > 0), (0, True))
    right = sp.Piecewise((1, x >= 0), (0, True))
    assert not decide([("kink", left, right)]).holds


def test_non_monomial_denominators_fall_back_to_cancel():
    sigma = 1 / (1 + sp.exp(-x))
    decision = decide([("σ′", sp.diff(sigma, x), sigma * (1 - sigma))])
    assert decision.holds and "sympy.cancel" in decision.how
    atoms = Atoms()
    s = sp.Symbol("s", positive=True)
    atoms.register_exp(-x, (1 - s) / s)  # the sigmoid change of variables keeps it a Laurent polynomial
    decision = decide([("σ′", sp.diff(sigma, x), sigma * (1 - sigma))], atoms)
    assert decision.holds and "Laurent" in decision.how


# -- 1. one step -----------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_step_claims_hold(activation):
    claims = step_claims(activation, 2, 2 if activation == "tanh" else 1)
    assert len(claims) == (6 if activation == "tanh" else 5)
    assert not failures(claims), failures(claims)
    assert all(c.method.endswith(" s]") for c in claims)
    statements = " | ".join(c.statement for c in claims)
    for gradient in ("∂L/∂W_hh = δ·h_{t−1}ᵀ", "∂L/∂W_xh = δ·x_tᵀ", "∂L/∂b = δ", "∂L/∂h_{t−1} = W_hhᵀ·δ",
                     "∂L/∂x_t = W_xhᵀ·δ"):
        assert gradient in statements


def test_tanh_step_states_the_output_form():
    claim = step_claims("tanh", 2, 1)[-1]
    assert claim.holds and "1 − h_t²" in claim.statement


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_piecewise_steps_say_how_the_kink_is_handled(activation):
    method = step_claims(activation, 1, 1)[0].method
    assert "indicator" in method and "every sign pattern" in method
    assert ("f′(0) = 0" if activation == "relu" else "f′(0) = α") in method


def test_step_claims_reject_bad_input():
    with pytest.raises(InputError):
        step_claims("softplus")
    with pytest.raises(InputError):
        step_claims("tanh", 0, 2)


# -- 2. softmax cross-entropy ------------------------------------------------------------------------


@pytest.mark.parametrize("v", [2, 3])
def test_softmax_ce_claim_holds(v):
    claim = softmax_ce_claim(v)
    assert claim.holds, claim.method
    assert "every c" in claim.statement and claim.method.endswith(" s]")


def test_softmax_gradient_with_the_wrong_sign_fails():  # mistake (d), one step
    claim = softmax_ce_claim(3, gradient=lambda p, y: y - p)
    assert not claim.holds
    assert "refuted" in claim.method


# -- 3. BPTT -------------------------------------------------------------------------------------------


def test_bptt_holds_at_the_fast_sizes():
    claim = bptt_claim(**FAST_SIZES)
    assert claim.holds, claim.method
    entries = 2 * 2 + 2 * 1 + 2 + 2 * 2 + 2 + 2 + 3 * 1
    assert f"each of the {entries} entries" in claim.method
    assert "sympy.diff" in claim.method and claim.method.endswith(" s]")


@pytest.mark.parametrize("activation", ["sigmoid", "relu", "leaky_relu"])
def test_bptt_holds_for_the_other_activations(activation):
    claim = bptt_claim(2, 1, 2, 2, activation=activation)
    assert claim.holds, claim.method


@pytest.mark.parametrize(
    ("variant", "first_wrong"),
    [
        ("no_accumulation", "W_hh"),  # (a) dh_t not accumulated across time
        ("dW_hh_transposed", "W_hh"),  # (b) h_{t−1}·δᵀ
        ("dW_hh_uses_h_t", "W_hh"),  # (c) h_t instead of h_{t−1}
        ("softmax_sign", "W_hh"),  # (d) onehot − p
    ],
)
def test_each_common_mistake_makes_bptt_fail(variant, first_wrong):
    claim = bptt_claim(**FAST_SIZES, recursion=variant)
    assert not claim.holds, variant
    assert f"∂L/∂{first_wrong}[" in claim.method and "refuted" in claim.method
    assert VARIANTS[variant] in claim.statement


def test_mistakes_confined_to_one_gradient_are_caught_there():
    def forgot_h0(u):
        grads = backward(u)
        return {**grads, "h_0": sp.zeros(u.n, 1)}

    claim = bptt_claim(**FAST_SIZES, recursion=forgot_h0)
    assert not claim.holds and "∂L/∂h_0[" in claim.method
    assert bptt_claim(**FAST_SIZES, recursion=backward).holds


def test_bptt_rejects_bad_input():
    with pytest.raises(InputError):
        bptt_claim(**FAST_SIZES, recursion="forgot_everything")
    with pytest.raises(InputError):
        unroll(2, 1, 2, 3, targets=(0, 5, 1))
    with pytest.raises(InputError):
        bptt_claim(**FAST_SIZES, recursion=lambda u: {"W_hh": backward(u)["W_hh"]})


def test_bptt_at_the_default_sizes(proofs):
    """The RNN rule's proof decides BPTT at the default sizes: read it from the session's proof."""
    sizes = ", ".join(f"{key}={value}" for key, value in DEFAULT_SIZES.items())
    (claim,) = [c for c in proofs["rnn"].claims if c.statement.startswith(f"BPTT (tanh, {sizes},")]
    assert claim.holds, claim.method
    assert "each of the 37 entries" in claim.method
    assert float(claim.method.rsplit("[", 1)[1].split(" s]")[0]) < 40  # as timed when it was proven


# -- numbers: the symbolic gradients against central differences of a numpy forward pass --------------


def numpy_loss(params: dict, xs: list, targets, activation: str) -> float:
    f = {"tanh": np.tanh, "sigmoid": lambda a: 1 / (1 + np.exp(-a))}[activation]
    h, loss = params["h_0"], 0.0
    for x_t, k in zip(xs, targets):
        h = f(params["W_hh"] @ h + params["W_xh"] @ x_t + params["b"])
        o = params["W_hy"] @ h + params["b_y"]
        shift = o.max()
        loss += np.log(np.exp(o - shift).sum()) + shift - o[k, 0]
    return float(loss)


def central_differences(u, values: dict, activation: str) -> dict:
    """∂L/∂(each entry) by central differences of :func:`numpy_loss`, step 1e-6."""
    names = list(u.parameters())

    def loss_at(vals):
        params = {name: vals[name] for name in names if not name.startswith("x_")}
        xs = [vals[f"x_{t + 1}"] for t in range(u.T)]
        return numpy_loss(params, xs, u.targets, activation)

    grads = {}
    for name in names:
        grad = np.zeros_like(values[name])
        for index in np.ndindex(grad.shape):
            plus = {k: v.copy() for k, v in values.items()}
            minus = {k: v.copy() for k, v in values.items()}
            plus[name][index] += 1e-6
            minus[name][index] -= 1e-6
            grad[index] = (loss_at(plus) - loss_at(minus)) / 2e-6
        grads[name] = grad
    return grads


FUNCTIONS = {sp.tanh: math.tanh, sp.exp: math.exp, sp.log: math.log}


def number(expr: sp.Expr, values: dict, memo: dict) -> float:
    """``expr`` at the given numbers, each distinct subexpression evaluated once (lambdify would print
    the unrolled graph as one tree, which takes seconds even at the small sizes)."""
    if expr in memo:
        return memo[expr]
    if expr.is_Symbol:
        result = values[expr]
    elif expr.is_Number:
        result = float(expr)
    elif expr.is_Add:
        result = math.fsum(number(arg, values, memo) for arg in expr.args)
    elif expr.is_Mul:
        result = math.prod(number(arg, values, memo) for arg in expr.args)
    elif expr.is_Pow:
        result = number(expr.base, values, memo) ** number(expr.exp, values, memo)
    else:
        result = FUNCTIONS[expr.func](number(expr.args[0], values, memo))
    memo[expr] = result
    return result


def evaluate(u, grads: dict, values: dict) -> dict:
    numbers = {s: float(v) for name, m in u.parameters().items() for s, v in zip(m, values[name].ravel(), strict=True)}
    memo: dict = {}
    return {name: np.array([number(e, numbers, memo) for e in matrix]).reshape(matrix.shape)
            for name, matrix in grads.items()}


@pytest.mark.parametrize(("sizes", "activation", "with_derived"), [
    (FAST_SIZES, "tanh", True),
    (FAST_SIZES, "sigmoid", True),
    (DEFAULT_SIZES, "tanh", False),
])
def test_symbolic_gradients_match_central_differences(sizes, activation, with_derived):
    u = unroll(**sizes, activation=activation, targets=[1, 0, 1, 1][: sizes["T"]])
    rng = np.random.default_rng(1986)
    values = {name: rng.normal(scale=0.7, size=m.shape) for name, m in u.parameters().items()}
    numeric = central_differences(u, values, activation)
    checked = [evaluate(u, backward(u), values)]
    if with_derived:
        checked.append(evaluate(u, derived_gradients(u), values))
    for symbolic in checked:
        for name in numeric:
            np.testing.assert_allclose(symbolic[name], numeric[name], atol=1e-6, rtol=0, err_msg=name)
    assert np.abs(numeric["W_hh"]).max() > 1e-3  # the check is not vacuous
    wrong = evaluate(u, {"W_hh": backward(u, "dW_hh_transposed")["W_hh"]}, values)["W_hh"]
    assert np.abs(wrong - numeric["W_hh"]).max() > 1e-3  # and would catch a transposed dW_hh


# -- 4. derivation steps and 5. prove ----------------------------------------------------------------------


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
    assert all(step.note is not None for step in steps.values())


def test_prove_fast():
    claims = prove(fast=True)
    assert len(claims) == 6 + 3 * 5 + 1 + 1
    assert not failures(claims), failures(claims)
    assert all(c.method.endswith(" s]") for c in claims)
    assert "BPTT (tanh, n=2, d=1, v=2, T=3" in claims[-1].statement

