"""Every generated kernel against complex-step and central-difference derivatives of its forward kernel."""

import importlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mathnn.gradcheck import elementwise_central, elementwise_complex_step, relative_errors
from mathnn.rules import RULES, LayerRule
from mathnn.verify import CENTRAL_TOL, COMPLEX_TOL, check_kernels, kernel_pairs


ELEMENTWISE = [rule for rule in RULES.values() if isinstance(rule, LayerRule) and rule.elementwise]


def _cases():
    for rule in ELEMENTWISE:
        module = importlib.import_module(f"mathnn.kernels.{rule.name}")
        (wrt,) = rule.inputs
        for forward, gradient in kernel_pairs(rule):
            settings_ = [{}] if not rule.params else [
                {symbol.name: value} for symbol, values in rule.param_checks.items() for value in values
            ]
            for params in settings_:
                yield pytest.param(
                    getattr(module, forward), getattr(module, gradient), params, rule.domain[wrt],
                    id=f"{gradient}{params or ''}",
                )


@pytest.mark.parametrize(("forward", "gradient", "params", "domain"), list(_cases()))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_gradient_kernel_matches_numeric_derivatives(forward, gradient, params, domain, data):
    low, high = domain
    values = data.draw(st.lists(st.floats(low, high, allow_nan=False), min_size=1, max_size=50))
    x = np.array(values)
    # Points closer to a kink than the central step would straddle it; they are checked separately.
    x = x[np.abs(x) > 1e-4] if "relu" in gradient.__name__ else x
    if x.size == 0:
        return
    f = lambda z: forward(z, **params)  # noqa: E731
    analytic = gradient(x, **params)
    assert relative_errors(analytic, elementwise_complex_step(f, x)).max() <= COMPLEX_TOL
    assert relative_errors(analytic, elementwise_central(f, x)).max() <= CENTRAL_TOL


@pytest.mark.parametrize("name", [rule.name for rule in ELEMENTWISE])
def test_verify_checks_pass_including_points_next_to_kinks(name):
    checks = check_kernels(RULES[name], points=500, seed=1)
    for check in checks:
        assert check.max_complex <= COMPLEX_TOL
        assert check.max_central <= CENTRAL_TOL
        assert check.kinks_ok, check.kink_notes


def test_kink_check_catches_a_value_outside_the_one_sided_slopes(monkeypatch):
    """A ReLU′ that returned 2 at the kink must fail the numeric kink check."""
    from mathnn.kernels import relu as relu_kernels

    original = relu_kernels.relu_grad
    monkeypatch.setattr(relu_kernels, "relu_grad", lambda x: np.where(x == 0, 2.0, original(x)))
    (check,) = check_kernels(RULES["relu"], points=50)
    assert not check.kinks_ok
    assert "kernel uses 2" in check.kink_notes[0]


def test_numeric_check_catches_a_wrong_gradient_kernel(monkeypatch):
    """σ(1 − σ) with a dropped factor must fail both numeric methods by far."""
    from mathnn.kernels import sigmoid as sigmoid_kernels

    monkeypatch.setattr(sigmoid_kernels, "sigmoid_grad", lambda x: sigmoid_kernels.sigmoid(x))
    (check,) = check_kernels(RULES["sigmoid"], points=100)
    assert check.max_complex > 0.1 and check.max_central > 0.1
    assert not check.passed


def test_kernels_accept_complex_input_for_complex_step():
    from mathnn.kernels import leaky_relu, relu, sigmoid, tanh

    z = np.array([-1.5 + 1e-20j, 2.0 + 1e-20j])
    for function in (sigmoid.sigmoid, tanh.tanh, relu.relu, leaky_relu.leaky_relu):
        assert np.iscomplexobj(function(z))
