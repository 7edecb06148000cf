"""mathnn.experiments.depth: per-layer gradient norms of a deep stack, and its backpropagation."""

from __future__ import annotations

import numpy as np
import pytest

from mathnn.experiments import ACTIVATIONS, Stack, depth_experiment, init_stack
from mathnn.gradcheck import numerical_vjp


def test_first_to_last_layer_ratio_sigmoid_vanishes_remedies_do_not():
    experiment = depth_experiment(("sigmoid", "relu", "leaky_relu"), batchnorm=(False, True), steps=20)
    ratios = {run.variant: run.ratio_init for run in experiment.runs}
    assert ratios["sigmoid"] < 1e-11  # 19 factors of σ′ ≤ 1/4
    for remedy in ("relu", "leaky_relu", "sigmoid+bn"):
        assert ratios[remedy] > 0.1
        assert ratios["sigmoid"] < 1e-9 * ratios[remedy]
    plain, normalized = experiment.run("sigmoid"), experiment.run("sigmoid+bn")
    # the plain sigmoid stack's first layer does not move; with batch norm it learns and the loss falls
    assert plain.first_layer_change < 1e-10
    assert normalized.first_layer_change > 1e-2
    assert normalized.losses[-1] < 0.5 * plain.losses[-1]
    assert np.all(np.diff(np.log(plain.grad_norms_init)) > 0)  # growing layer by layer towards the output


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("normalized", [False, True])
def test_stack_backpropagation_matches_finite_differences(name, normalized):
    stack = init_stack(name, normalized, depth=3, width=5, inputs=3, outputs=2, seed=3)
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    noise = [(rng.uniform(0.5, 1.5, 5), rng.uniform(-1, 1, 5)) for _ in range(2)] if normalized else None
    for key in stack.params:  # move off the symmetric start (γ = 1, β = 0, b = 0)
        stack.params[key] = stack.params[key] + 0.3 * rng.standard_normal(stack.params[key].shape)
    grads = stack.loss_and_gradients(x, y, noise).grads
    assert set(grads) == set(stack.params)
    for key, value in stack.params.items():
        def loss(p: np.ndarray, key: str = key) -> np.ndarray:
            return np.asarray(Stack(name, normalized, {**stack.params, key: p}).loss_and_gradients(x, y, noise).loss)

        numeric = numerical_vjp(loss, value)
        assert np.linalg.norm(grads[key] - numeric) <= 1e-7 * max(np.linalg.norm(numeric), 1e-3), key


def test_xavier_and_he_are_named_initializations():
    from mathnn.errors import InputError
    from mathnn.experiments.depth import init_stack

    usual, xavier, he = (init_stack("tanh", depth=3, width=8, seed=1, init=name) for name in ("usual", "xavier", "he"))
    fan_in, fan_out = 8, 8
    assert np.allclose(usual.params["W2"], xavier.params["W2"])  # tanh's usual one is Xavier's
    ratio = he.params["W2"] / xavier.params["W2"]  # the same draws, scaled
    assert np.allclose(ratio, np.sqrt(2.0 / (2.0 * fan_in / (fan_in + fan_out))))
    relu = init_stack("relu", depth=3, width=8, seed=1, init="usual")
    assert np.allclose(relu.params["W2"], init_stack("relu", depth=3, width=8, seed=1, init="he").params["W2"])
    with pytest.raises(InputError, match="init: expected one of 'usual', 'xavier', 'he'"):
        init_stack("tanh", init="lecun")
