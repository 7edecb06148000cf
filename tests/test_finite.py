"""Tests for mathnn.gradcheck.finite: numerical derivatives against exact ones."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mathnn.errors import InputError
from mathnn.gradcheck import (
    NotComplexSafeError,
    central_step,
    elementwise_central,
    elementwise_complex_step,
    numerical_vjp,
    max_relative_error,
    relative_errors,
)

EPS64 = np.finfo(np.float64).eps
EPS32 = np.finfo(np.float32).eps

# Central differences have relative error ~ eps**(2/3) * (|f'''/f'| h**2-ish + |f/f'|), so the
# domains keep f/f' and f'''/f' moderate:
#   sin on [-1.5, 1.5]: f/f' = tan x, which blows up at the zeros of cos (+-pi/2 ~ +-1.571);
#   exp on [-10, 10]: h grows with |x|, and the truncation error h**2/6 ~ 4e-12 x**2 stays < 1e-9;
#   x**3 on 0.1 <= |x| <= 100: f' = 3x**2 vanishes at 0 while the truncation error h**2 does not,
#   so the relative error near 0 measures nothing about the method.
# The complex step has no cancellation, so it gets the same functions on the same domains.
CASES = {
    "sin": (np.sin, np.cos, (0.0, 1.5)),
    "exp": (np.exp, np.exp, (0.0, 10.0)),
    "cube": (lambda v: v**3, lambda v: 3 * v**2, (0.1, 100.0)),
}


def points(low: float, high: float, count: int, seed: int) -> np.ndarray:
    """`count` points with low <= |x| <= high, half of them negative."""
    rng = np.random.default_rng(seed)
    return rng.uniform(low, high, count) * rng.choice([-1.0, 1.0], count)


def signed_floats(low: float, high: float) -> st.SearchStrategy[float]:
    magnitudes = st.floats(min_value=low, max_value=high)
    return st.tuples(magnitudes, st.sampled_from([-1.0, 1.0])).map(lambda pair: pair[0] * pair[1])


# --- central_step -------------------------------------------------------------------------------


# Largest |x| per dtype, well below the maximum where x + h would overflow; powers of two so that
# hypothesis can represent the bounds exactly in either width.
LARGEST = {np.float64: 2.0**1000, np.float32: 2.0**100}
FLOAT_ARRAYS = st.sampled_from(list(LARGEST)).flatmap(
    lambda dtype: hnp.arrays(dtype, st.integers(1, 20), elements=hnp.from_dtype(
        np.dtype(dtype), min_value=-LARGEST[dtype], max_value=LARGEST[dtype], allow_nan=False))
)


@given(FLOAT_ARRAYS)
def test_central_step_is_exactly_representable(x):
    step = central_step(x)
    assert step.dtype == x.dtype
    assert np.all(step > 0)
    assert np.array_equal((x + step) - x, step)
    large = np.abs(x) >= np.cbrt(np.finfo(x.dtype).eps)
    # Away from 0 both evaluation points are exact, so they are exactly 2h apart.
    assert np.array_equal(((x + step) - (x - step))[large], (2 * step)[large])


def test_central_step_scales_with_abs_x_above_one():
    x = np.array([-1e6, -3.0, 1.0, 2.5, 1e3, 1e12])
    expected = np.cbrt(EPS64) * np.abs(x)
    # Rounding moves h by at most half an ulp of x, i.e. relatively eps / cbrt(eps) / 2.
    np.testing.assert_allclose(central_step(x), expected, rtol=EPS64 ** (2 / 3), atol=0)


def test_central_step_is_cbrt_eps_below_one():
    x = np.array([0.0, 1e-12, -0.3, 0.999])
    np.testing.assert_allclose(central_step(x), np.cbrt(EPS64), rtol=1e-9, atol=0)


def test_central_step_float32_uses_float32_eps():
    x = np.array([0.5, -0.25, 4.0], dtype=np.float32)
    step = central_step(x)
    assert step.dtype == np.float32
    expected = np.cbrt(EPS32) * np.maximum(1.0, np.abs(x.astype(np.float64)))
    np.testing.assert_allclose(step, expected, rtol=EPS32 ** (2 / 3), atol=0)
    assert step[0] > 1e-3  # about 4.9e-3; float64's eps would give 6.1e-6


def test_central_step_rejects_integers_and_overflow():
    with pytest.raises(InputError, match=r"^x: expected a real floating array; received array of dtype int64"):
        central_step(np.array([1, 2], dtype=np.int64))
    with pytest.raises(InputError, match=r"^x: expected entries small enough"):
        central_step(np.array([np.finfo(np.float64).max]))
    with pytest.raises(InputError, match=r"^x: expected finite values; received 2 non-finite"):
        central_step(np.array([np.nan, 1.0, np.inf]))


# --- elementwise_central and elementwise_complex_step --------------------------------------------


@pytest.mark.parametrize("name", CASES)
def test_elementwise_central_matches_exact_derivative(name):
    f, derivative, (low, high) = CASES[name]
    x = points(low, high, 10_000, seed=1)
    assert max_relative_error(elementwise_central(f, x), derivative(x)) <= 1e-8


@pytest.mark.parametrize("name", CASES)
def test_elementwise_complex_step_matches_exact_derivative(name):
    f, derivative, (low, high) = CASES[name]
    x = points(low, high, 10_000, seed=2)
    assert max_relative_error(elementwise_complex_step(f, x), derivative(x)) <= 1e-13


@pytest.mark.parametrize("name", CASES)
@given(data=st.data())
def test_both_methods_at_hypothesis_points(name, data):
    f, derivative, (low, high) = CASES[name]
    x = np.array(data.draw(st.lists(signed_floats(low, high), min_size=1, max_size=8)))
    exact = derivative(x)
    assert max_relative_error(elementwise_central(f, x), exact) <= 1e-8
    assert max_relative_error(elementwise_complex_step(f, x), exact) <= 1e-13


def test_elementwise_central_float32_stays_float32():
    x = points(0.0, 1.5, 1000, seed=3).astype(np.float32)
    derivative = elementwise_central(np.sin, x)
    assert derivative.dtype == np.float32
    # float32's eps**(2/3) is 1.4e-5; with float64's tiny step this would be noise.
    assert max_relative_error(derivative, np.cos(x.astype(np.float64))) <= 1e-4


def test_elementwise_central_on_integers_converts_to_float64():
    derivative = elementwise_central(lambda v: v**2, [1, 2, 3])
    assert derivative.dtype == np.float64
    assert max_relative_error(derivative, [2.0, 4.0, 6.0]) <= 1e-8


def test_elementwise_central_rejects_shape_changing_function():
    with pytest.raises(InputError, match=r"^f: expected output of shape \(3,\); received shape \(\)"):
        elementwise_central(np.sum, np.ones(3))


@pytest.mark.parametrize("dropping", [lambda z: np.real(z) ** 2, np.abs], ids=["real-squared", "abs"])
def test_complex_step_rejects_function_dropping_imaginary_part(dropping):
    with pytest.raises(NotComplexSafeError, match="not complex-safe.*real array"):
        elementwise_complex_step(dropping, np.array([0.5, 1.5]))


def test_complex_step_rejects_function_raising_on_complex():
    def softplus(z):
        return np.logaddexp(z, 0.0)  # logaddexp has no complex loop: TypeError

    with pytest.raises(NotComplexSafeError, match="not complex-safe.*TypeError") as caught:
        elementwise_complex_step(softplus, np.array([0.5, 1.5]))
    assert isinstance(caught.value.__cause__, TypeError)


@pytest.mark.parametrize(
    "casting",
    [lambda z: z.astype(np.float64).astype(np.complex128), lambda z: np.array([math.sin(v) for v in z], dtype=complex)],
    ids=["astype", "math.sin"],
)
def test_complex_step_rejects_complex_warning_even_when_warnings_are_ignored(casting):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(NotComplexSafeError, match="cast complex values to real"):
            elementwise_complex_step(casting, np.ones(2))


@pytest.mark.parametrize("step", [-1e-20, 0.0, math.inf, True, "1e-20"])
def test_complex_step_rejects_bad_step(step):
    with pytest.raises(InputError, match=rf"^h: expected a positive finite real number; received {step!r}"):
        elementwise_complex_step(np.sin, np.ones(2), h=step)


# --- numerical_vjp -------------------------------------------------------------------------------


MATRIX = np.random.default_rng(4).standard_normal((2, 3))


def softmax(v):
    shifted = np.exp(v - np.max(v.real))
    return shifted / np.sum(shifted)


def softmax_vjp(v, dout):
    probabilities = softmax(v)
    return probabilities * (dout - np.dot(dout, probabilities))


@pytest.mark.parametrize("method, tolerance", [("central", 1e-8), ("complex", 1e-13)])
def test_vjp_of_matrix_product(method, tolerance):
    x = np.random.default_rng(5).standard_normal((3, 4))
    dout = np.random.default_rng(6).standard_normal((2, 4))
    saved = x.copy()
    gradient = numerical_vjp(lambda v: MATRIX @ v, x, dout, method=method)
    assert gradient.shape == (3, 4)
    assert max_relative_error(gradient, MATRIX.T @ dout) <= tolerance
    assert np.array_equal(x, saved)


@pytest.mark.parametrize("method, tolerance", [("central", 1e-8), ("complex", 1e-13)])
def test_vjp_of_softmax(method, tolerance):
    x = np.random.default_rng(7).standard_normal(6)
    dout = np.random.default_rng(8).standard_normal(6)
    saved = x.copy()
    gradient = numerical_vjp(softmax, x, dout, method=method)
    assert max_relative_error(gradient, softmax_vjp(x, dout)) <= tolerance
    assert np.array_equal(x, saved)


@pytest.mark.parametrize("method", ["central", "complex"])
def test_vjp_of_scalar_function_with_default_dout(method):
    x = np.array([[0.3, -1.2], [2.0, 0.7]])
    gradient = numerical_vjp(lambda v: np.sum(np.sin(v) * v), x, method=method)
    assert max_relative_error(gradient, np.cos(x) * x + np.sin(x)) <= 1e-8


@pytest.mark.parametrize("method", ["central", "complex"])
def test_vjp_at_a_scalar_point(method):
    gradient = numerical_vjp(lambda v: np.array([v, v**2]), 1.5, dout=[2.0, 1.0], method=method)
    assert gradient.shape == ()
    assert max_relative_error(gradient, 2.0 + 2 * 1.5) <= 1e-9


def test_vjp_survives_function_returning_its_argument():
    # The identity returns the very array being perturbed; outputs must be copied before the next step.
    dout = np.array([1.0, -2.0, 3.0])
    assert max_relative_error(numerical_vjp(lambda v: v, np.zeros(3), dout), dout) <= 1e-10


@pytest.mark.parametrize("method", ["central", "complex"])
def test_vjp_on_integers_gives_float64_gradient_and_never_touches_x(method):
    x = np.array([1, 2, 3])
    saved = x.copy()
    received = []

    def square(v):
        received.append(v)
        return v**2

    gradient = numerical_vjp(square, x, method=method)
    assert gradient.dtype == np.float64
    assert max_relative_error(gradient, [2.0, 4.0, 6.0]) <= 1e-8
    assert x.dtype == saved.dtype and np.array_equal(x, saved)
    assert all(argument is not x and argument.dtype != x.dtype for argument in received)


def test_vjp_float32_central_stays_float32():
    x = np.array([0.2, -0.9, 1.3], dtype=np.float32)
    gradient = numerical_vjp(np.sin, x)
    assert gradient.dtype == np.float32
    assert max_relative_error(gradient, np.cos(x.astype(np.float64))) <= 1e-4


@given(hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=3), elements=st.floats(-10, 10)))
def test_vjp_never_modifies_x(x):
    saved = x.copy()
    numerical_vjp(lambda v: np.tanh(v) * np.sum(v), x)
    assert np.array_equal(x, saved)


def test_vjp_rejects_dout_of_wrong_shape():
    with pytest.raises(InputError, match=r"^dout: expected shape \(2, 4\).*received shape \(3,\)"):
        numerical_vjp(lambda v: MATRIX @ v, np.ones((3, 4)), dout=np.ones(3))


@pytest.mark.parametrize("bad", [np.array(["a", "b", "c"]), ["1.0", "2.0"], np.array([object()]), [[1.0], [1.0, 2.0]]])
def test_vjp_rejects_non_numeric_x(bad):
    with pytest.raises(InputError, match=r"^x: expected a real floating or integer array; received"):
        numerical_vjp(np.sin, bad)


def test_vjp_message_names_dtype():
    with pytest.raises(InputError) as caught:
        numerical_vjp(np.sin, np.array(["abc"]))
    assert str(caught.value) == "x: expected a real floating or integer array; received array of dtype <U3"


def test_vjp_rejects_unknown_method():
    with pytest.raises(InputError, match=r"^method: expected one of 'central', 'complex', 'richardson'; received 'forward'"):
        numerical_vjp(np.sin, np.ones(2), method="forward")


def test_vjp_complex_method_rejects_unsafe_function():
    with pytest.raises(NotComplexSafeError):
        numerical_vjp(np.abs, np.ones(2), method="complex")


def test_vjp_does_not_catch_errors_from_f():
    def broken(v):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        numerical_vjp(broken, np.ones(2))


def test_vjp_rejects_non_callable():
    with pytest.raises(InputError, match=r"^f: expected a callable; received int"):
        numerical_vjp(3, np.ones(2))


# --- max_relative_error ----------------------------------------------------------------------------------


def test_rel_error_of_zeros_is_zero():
    assert max_relative_error(0, 0) == 0.0
    assert max_relative_error(np.zeros(3), np.zeros(3)) == 0.0


def test_rel_error_known_values():
    assert max_relative_error([1.0, 2.0], [1.0, 2.2]) == pytest.approx(0.2 / 2.2, rel=1e-15)
    assert max_relative_error(1.0, 0.0) == 1.0
    assert max_relative_error(-1.0, 1.0) == 2.0
    np.testing.assert_allclose(relative_errors([3.0, 0.0, -4.0], [4.0, 0.0, -4.0]), [0.25, 0.0, 0.0], rtol=1e-15)


def test_rel_error_near_float64_maximum_does_not_overflow():
    huge = np.finfo(np.float64).max
    assert max_relative_error(huge, -huge) == 2.0


def test_rel_error_rejects_mismatched_shapes():
    with pytest.raises(InputError, match=r"a\.shape=\(2,\) and b\.shape=\(3,\)"):
        max_relative_error(np.ones(2), np.ones(3))


def test_importing_gradcheck_does_not_import_sympy():
    code = "import sys, mathnn.gradcheck; print('sympy' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parents[1]
    )
    assert result.stdout.strip() == "False"


def _counting(f):
    calls = [0]

    def counted(v):
        calls[0] += 1
        return f(v)

    return counted, calls


def test_richardson_stops_reading_once_settled_and_keeps_its_accuracy():
    from mathnn.gradcheck.finite import RIDDERS_STEPS

    x = np.array([0.3, -1.2, 2.0])
    f, calls = _counting(np.sin)
    gradient = numerical_vjp(f, x, method="richardson")
    np.testing.assert_allclose(gradient, np.cos(x), rtol=1e-12, atol=0)
    # an easy entry settles in a few rows, so far fewer than the 2·RIDDERS_STEPS evaluations per entry
    assert calls[0] - 1 < x.size * 2 * RIDDERS_STEPS / 2


def test_richardson_reads_on_to_the_small_steps_a_short_length_scale_needs():
    from mathnn.gradcheck.finite import ridders_extrapolate, ridders_steps

    # tanh(x/s) with s = 0.003: the first steps (0.1) are 30 times the length scale, where the
    # differences are nonsense; stopping at the first growth of the error would return one of them
    scale, x0 = 0.003, 0.001
    truth = (1 - np.tanh(x0 / scale) ** 2) / scale
    steps = ridders_steps(x0)
    differences = [(np.tanh((x0 + h) / scale) - np.tanh((x0 - h) / scale)) / (2 * h) for h in steps]
    read = []

    def lazily():
        for d in differences:
            read.append(d)
            yield d

    best, error = ridders_extrapolate(lazily(), settled=1e-12)
    assert abs(best - truth) <= 1e-9 * abs(truth)
    assert len(read) > 10  # it had to get down to steps near the length scale
    assert ridders_extrapolate(differences) == ridders_extrapolate(iter(differences))  # no settled: every row
