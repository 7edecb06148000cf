"""mathnn.experiments.through_time: exact Jacobian products against finite differences and the bound."""

from __future__ import annotations

import numpy as np
import pytest

from mathnn.experiments import (
    ACTIVATIONS,
    BOUND_GENERAL,
    activation_kernels,
    gradient_flow,
    hidden_states,
    jacobian,
    random_recurrence,
    time_experiment,
)
from mathnn.gradcheck import numerical_vjp
from mathnn.kernels import leaky_relu as leaky_relu_kernels
from mathnn.kernels import relu as relu_kernels
from mathnn.kernels import sigmoid as sigmoid_kernels
from mathnn.kernels import tanh as tanh_kernels
from mathnn.kernels.rnn_step import rnn_step_forward_kernel


GRAD_SUP = {
    "sigmoid": sigmoid_kernels.sigmoid_grad_sup,
    "tanh": tanh_kernels.tanh_grad_sup,
    "relu": relu_kernels.relu_grad_sup,
    "leaky_relu": leaky_relu_kernels.leaky_relu_grad_sup,
}


def test_gamma_is_the_proven_value_from_the_generated_kernels():
    for name in ACTIVATIONS:
        assert activation_kernels(name).gamma == GRAD_SUP[name]()
    assert [activation_kernels(name).gamma for name in ACTIVATIONS] == [0.25, 1.0, 1.0, 1.0]
    assert activation_kernels("leaky_relu", alpha=3.0).gamma == leaky_relu_kernels.leaky_relu_grad_sup(3.0) == 3.0
    experiment = time_experiment(length=5)
    assert {flow.activation: flow.gamma for flow in experiment.flows} == {n: GRAD_SUP[n]() for n in ACTIVATIONS}


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(("init", "spectral_norm"), [("gaussian", None), ("orthogonal", 1.5), ("gaussian", 0.8), ("identity", None)])
def test_measured_norm_never_exceeds_the_bound(seed, init, spectral_norm):
    experiment = time_experiment(length=40, hidden=16, seed=seed, init=init, spectral_norm=spectral_norm)
    for flow in experiment.flows:
        assert np.all(np.isfinite(flow.norms))
        # ‖J‖ ≤ Π‖D_k W‖ ≤ (γλ₁)^d, each up to rounding
        assert np.all(flow.norms <= flow.step_bounds * (1 + 1e-10)), flow.activation
        assert np.all(flow.step_bounds <= flow.bounds * (1 + 1e-10)), flow.activation
        assert flow.bounds[0] == pytest.approx(flow.gamma * flow.lambda1, rel=1e-12)


def test_sigmoid_gradient_vanishes_by_orders_of_magnitude():
    for spectral_norm in (1.0, 1.5, 2.0):
        (flow,) = time_experiment(["sigmoid"], hidden=32, length=20, spectral_norm=spectral_norm).flows
        assert flow.lambda1 == pytest.approx(spectral_norm)
        assert flow.norm_at(20) <= 1e-3 * flow.norm_at(1)
        assert flow.rate < 1 and "provably vanishes" in flow.meaning
    # the default recurrence (λ₁ ≈ 1.8): ten orders of magnitude by distance 20
    (flow,) = time_experiment(["sigmoid"]).flows
    assert 1.5 < flow.lambda1 < 2 and flow.norm_at(20) < 1e-10 * flow.norm_at(1)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_jacobian_product_equals_finite_differences_of_the_recurrence(name):
    W_hh, x, W_xh, b = random_recurrence(hidden=5, length=7, inputs=3, seed=1, spectral_norm=1.3)
    b = b + 0.1
    t = 2
    pre_activations, states = hidden_states(W_hh, x, W_xh, b, name)
    exact = jacobian(W_hh, pre_activations, t, name)

    def last_state(h_t: np.ndarray) -> np.ndarray:
        return hidden_states(W_hh, x[t:], W_xh, b, name, h0=h_t)[1][-1]

    assert np.allclose(last_state(states[t]), states[-1], rtol=0, atol=1e-14)
    numeric = np.array([numerical_vjp(last_state, states[t], dout=np.eye(5)[i]) for i in range(5)])
    assert np.max(np.abs(exact - numeric)) <= 1e-6 * max(1.0, np.max(np.abs(exact)))
    # gradient_flow's renormalized running product gives the same norms as the plain product
    flow = gradient_flow(W_hh, pre_activations, name)
    for earlier in range(7):
        expected = np.linalg.norm(jacobian(W_hh, pre_activations, earlier, name), 2)
        assert flow.norm_at(7 - earlier) == pytest.approx(expected, rel=1e-10, abs=1e-300)


def test_tanh_recurrence_is_the_generated_rnn_step():
    W_hh, x, W_xh, b = random_recurrence(hidden=6, length=4, inputs=3, seed=2)
    pre_activations, states = hidden_states(W_hh, x, W_xh, b, "tanh")
    for k in range(4):
        row = rnn_step_forward_kernel(x[k][None], states[k][None], W_xh.T, W_hh.T, b)[0]  # CS231n row form
        assert np.allclose(row[0], states[k + 1], rtol=0, atol=1e-15)
    assert np.allclose(np.tanh(pre_activations), states[1:])


def test_long_products_neither_underflow_nor_lose_the_logarithm():
    (flow,) = time_experiment(["sigmoid"], length=1000, hidden=8).flows
    assert flow.norms[-1] == 0.0  # below float64's range …
    assert np.all(np.isfinite(flow.log10_norms))  # … but the logarithm is exact
    slope = (flow.log10_norms[-1] - flow.log10_norms[499]) / 500
    assert -2.0 < slope < np.log10(flow.rate)
    assert flow.to_dict()["norms"][-1] == 0.0 and flow.to_dict()["log10_norms"][-1] < -500


def test_bound_meaning_says_sufficient_for_vanishing_and_only_necessary_for_exploding():
    assert "λ₁ < 1/γ is sufficient for vanishing" in BOUND_GENERAL
    assert "λ₁ > 1/γ is only necessary for exploding" in BOUND_GENERAL
    flows = {flow.activation: flow for flow in time_experiment(length=10).flows}
    assert "1/γ = 4" in flows["sigmoid"].meaning and "provably vanishes" in flows["sigmoid"].meaning
    assert flows["tanh"].rate > 1 and "proves nothing" in flows["tanh"].meaning
    # relu with the identity (IRNN): all units stay on, the gradient neither vanishes nor grows
    (flow,) = time_experiment(["relu"], init="identity", length=30).flows
    assert np.allclose(flow.norms, 1.0)
