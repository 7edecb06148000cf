"""The public activation functions: values, stability, dtypes and input errors."""

import warnings

import mpmath
import numpy as np
import pytest

import mathnn
from mathnn import InputError

FUNCTIONS = [
    mathnn.sigmoid, mathnn.sigmoid_grad, mathnn.tanh, mathnn.tanh_grad,
    mathnn.relu, mathnn.relu_grad, mathnn.leaky_relu, mathnn.leaky_relu_grad,
]


def test_values_from_the_lecture():
    assert mathnn.sigmoid_grad(0.0) == 0.25
    assert mathnn.sigmoid(0.0) == 0.5
    assert mathnn.tanh_grad(0.0) == 1.0
    assert mathnn.relu_grad(0.0) == 0.0
    assert mathnn.relu_grad(-2.0) == 0.0 and mathnn.relu_grad(2.0) == 1.0
    assert mathnn.relu(-2.0) == 0.0 and mathnn.relu(2.5) == 2.5
    assert mathnn.leaky_relu_grad(-3, alpha=0.2) == pytest.approx(0.2, abs=0)
    assert mathnn.leaky_relu_grad(0.0, alpha=0.2) == pytest.approx(0.2, abs=0)
    assert mathnn.leaky_relu_grad(1.5) == 1.0
    assert mathnn.leaky_relu(-3.0) == pytest.approx(-0.03, rel=1e-15)


def test_sigmoid_grad_never_exceeds_a_quarter():
    x = np.linspace(-20, 20, 100001)
    grad = mathnn.sigmoid_grad(x)
    assert grad.max() == 0.25
    assert x[grad.argmax()] == 0.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_stable_on_huge_inputs(dtype):
    x = np.linspace(-1e4, 1e4, 20001, dtype=dtype)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        sigma = mathnn.sigmoid(x)
        dsigma = mathnn.sigmoid_grad(x)
    assert np.all(np.isfinite(sigma)) and np.all(np.isfinite(dsigma))
    assert sigma[0] == 0.0 and sigma[-1] == 1.0
    assert dsigma[0] == 0.0 and dsigma[-1] == 0.0
    assert np.all(np.diff(sigma) >= 0)


def test_sigmoid_matches_high_precision_reference_to_a_few_ulp():
    """Relative accuracy everywhere, including the tails where σ(1 − σ) would cancel."""
    x = np.concatenate([np.linspace(-700, 700, 1401), np.linspace(-40, 40, 801)])
    mpmath.mp.dps = 50
    exact = np.array([float(1 / (1 + mpmath.exp(-mpmath.mpf(v)))) for v in x])
    exact_grad = np.array([float(mpmath.exp(-mpmath.mpf(v)) / (1 + mpmath.exp(-mpmath.mpf(v))) ** 2) for v in x])
    eps = np.finfo(np.float64).eps
    assert np.max(np.abs(mathnn.sigmoid(x) - exact) / exact) < 4 * eps
    assert np.max(np.abs(mathnn.sigmoid_grad(x) - exact_grad) / exact_grad) < 8 * eps


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_and_shape_are_kept(function, dtype):
    x = np.linspace(-3, 3, 24, dtype=dtype).reshape(2, 3, 4)
    result = function(x)
    assert result.dtype == dtype
    assert result.shape == x.shape


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.__name__)
def test_integers_are_converted_to_float64_not_truncated(function):
    ints = np.array([-2, -1, 0, 1, 2])
    result = function(ints)
    assert result.dtype == np.float64
    np.testing.assert_array_equal(result, function(ints.astype(np.float64)))


def test_float32_is_computed_in_float32():
    x = np.float32(0.1)
    assert mathnn.sigmoid(np.array(x)).dtype == np.float32
    assert mathnn.sigmoid(np.array(x)) == np.float32(mathnn.sigmoid(np.float64(x)))


def test_scalar_in_gives_numpy_scalar_out_and_lists_work():
    assert isinstance(mathnn.tanh(0.5), np.floating)
    assert mathnn.relu([-1.0, 2.0]).tolist() == [0.0, 2.0]
    assert mathnn.relu(np.array(3.0)).shape == ()


def test_input_arrays_are_not_modified():
    x = np.array([-1.0, 0.0, 2.0])
    before = x.copy()
    for function in FUNCTIONS:
        function(x)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("bad", ["a", [1, "b"], {"a": 1}, None, [[1.0], [2.0, 3.0]]], ids=repr)
def test_non_numeric_input_names_x(bad):
    with pytest.raises(InputError, match=r"^x: expected a number or an array of numbers; received "):
        mathnn.sigmoid(bad)


@pytest.mark.parametrize("bad", ["0.1", True, np.array([0.1]), float("nan"), None], ids=repr)
def test_bad_alpha_names_alpha(bad):
    with pytest.raises(InputError, match=r"^alpha: expected a finite real number \(the slope for x ≤ 0"):
        mathnn.leaky_relu_grad(1.0, alpha=bad)
    with pytest.raises(InputError, match=r"^alpha: "):
        mathnn.leaky_relu(1.0, alpha=bad)


def test_input_error_is_a_value_error_and_a_type_error():
    with pytest.raises(ValueError):
        mathnn.relu("x")
    with pytest.raises(TypeError):
        mathnn.relu("x")


def test_the_activation_list_is_every_elementwise_rule():
    """Experiments and the RNN's f choose from ACTIVATIONS: a new activation rule must be in it."""
    from mathnn.activations import ACTIVATIONS, generated
    from mathnn.rules import RULES, LayerRule

    assert set(ACTIVATIONS) == {rule.name for rule in RULES.values() if isinstance(rule, LayerRule) and rule.elementwise}
    f, f_grad, gamma = generated("leaky_relu", 0.2)
    assert float(f(np.array(-1.0))) == -0.2 and float(f_grad(np.array(-1.0))) == 0.2 and gamma == 1.0
