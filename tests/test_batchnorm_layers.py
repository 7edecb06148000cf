"""mathnn.layers: batch norm (and affine, ReLU) against an independent staged implementation,
numerical gradients, running averages, every edge case and every error message.

Error measure used throughout (``_error``): max |actual − expected| / scale, normwise. For
out, dgamma, dbeta and the running averages the scale is max |expected|. For dx it is the larger of
max |expected| and max |γ·dout|/√(σ² + ε), the size of the terms the dx formula adds up: dx is a
difference of such terms, so entries near zero carry absolute rounding error of that size (at N = 2,
x̂ = ±d/√(d² + ε) barely depends on x and all of dx is ~1e-4 of its terms). Entrywise relative error
would measure cancellation, not correctness.
"""

from __future__ import annotations

import re
import subprocess
import sys
import warnings

import numpy as np
import pytest

from mathnn.errors import InputError
from mathnn.gradcheck import numerical_vjp
from mathnn.layers import (
    BatchNormCache,
    affine_backward,
    affine_forward,
    batchnorm_backward,
    batchnorm_forward,
    relu_backward,
    relu_forward,
)

REFERENCE_TOL = 1e-12
COMPLEX_TOL = 1e-13
# Central differences: each VJP entry sums N·D differences (f(x+h) − f(x−h))/2h with h ≈ 6e-6, each
# with rounding error ≈ 2e-16·|y|/h ≈ 4e-11·|y| and truncation error ≈ h²·|f‴| ≈ 4e-11; the sums
# here (N·D ≤ 48) stay below ~1e-9 of the scale. 1e-8 leaves a margin of 10.
CENTRAL_TOL = 1e-8

SHAPES = [(1, 3), (2, 4), (3, 1), (5, 7), (16, 10), (64, 33)]
GRADCHECK_SHAPES = [(1, 3), (2, 4), (3, 5), (8, 6)]


# -- an independent implementation: the staged computational graph of CS231n ----------------------

def staged_forward(x, gamma, beta, eps):
    N = x.shape[0]
    mu = x.sum(axis=0) / N
    xmu = x - mu
    sq = xmu**2
    var = sq.sum(axis=0) / N
    sqrtvar = np.sqrt(var + eps)
    ivar = 1.0 / sqrtvar
    xhat = xmu * ivar
    out = gamma * xhat + beta
    return out, (xhat, gamma, xmu, ivar, sqrtvar, var, eps, mu)


def staged_backward(dout, cache):
    xhat, gamma, xmu, ivar, sqrtvar, var, eps, _ = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dxhat = dout * gamma
    divar = (dxhat * xmu).sum(axis=0)
    dxmu1 = dxhat * ivar
    dsqrtvar = -1.0 / sqrtvar**2 * divar
    dvar = 0.5 / np.sqrt(var + eps) * dsqrtvar
    dsq = np.ones_like(dout) / N * dvar
    dxmu2 = 2 * xmu * dsq
    dx1 = dxmu1 + dxmu2
    dmu = -dx1.sum(axis=0)
    dx2 = np.ones_like(dout) / N * dmu
    return dx1 + dx2, dgamma, dbeta


def _error(actual, expected, scale=None):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    scale = np.abs(expected).max() if scale is None else scale
    difference = np.abs(actual - expected).max()
    return difference / scale if scale > 0 else difference


def _dx_scale(expected_dx, gamma, dout, var, eps):
    return max(np.abs(expected_dx).max(), (np.abs(gamma * dout) / np.sqrt(var + eps)).max())


def _inputs(shape, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    N, D = shape
    x = rng.normal(rng.uniform(-5, 5, D), rng.uniform(0.1, 4, D), size=shape)
    gamma, beta = rng.normal(size=D), rng.normal(size=D)
    dout = rng.normal(size=shape)
    return tuple(a.astype(dtype) for a in (x, gamma, beta, dout))


@pytest.fixture(autouse=True)
def _warnings_are_errors():
    """No numpy RuntimeWarning may escape, whatever pytest's own configuration."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# -- values ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("shape", "eps"),
    # N = 1 has zero variance, so eps = 0 is refused there (tested below)
    [(shape, eps) for shape in SHAPES for eps in (1e-5, 1e-2, 0.0) if shape[0] > 1 or eps > 0],
    ids=str,
)
def test_matches_the_staged_implementation(shape, eps):
    x, gamma, beta, dout = _inputs(shape, seed=sum(shape))
    bn_param = {"mode": "train", "eps": eps}
    out, cache = batchnorm_forward(x, gamma, beta, bn_param)
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)

    ref_out, ref_cache = staged_forward(x, gamma, beta, eps)
    ref_dx, ref_dgamma, ref_dbeta = staged_backward(dout, ref_cache)
    var, mu = ref_cache[5], ref_cache[7]
    assert _error(out, ref_out) <= REFERENCE_TOL
    assert _error(dx, ref_dx, _dx_scale(ref_dx, gamma, dout, var, eps)) <= REFERENCE_TOL
    assert _error(dgamma, ref_dgamma) <= REFERENCE_TOL
    assert _error(dbeta, ref_dbeta) <= REFERENCE_TOL
    assert _error(bn_param["running_mean"], 0.1 * mu) <= REFERENCE_TOL
    assert _error(bn_param["running_var"], 0.1 * var) <= REFERENCE_TOL


def _bn_vjps(shape, seed, method):
    x, gamma, beta, dout = _inputs(shape, seed)
    train = {"mode": "train"}
    _, cache = batchnorm_forward(x, gamma, beta, dict(train))
    analytic = batchnorm_backward(dout, cache)
    numeric = (
        numerical_vjp(lambda z: batchnorm_forward(z, gamma, beta, dict(train))[0], x, dout, method=method),
        numerical_vjp(lambda z: batchnorm_forward(x, z, beta, dict(train))[0], gamma, dout, method=method),
        numerical_vjp(lambda z: batchnorm_forward(x, gamma, z, dict(train))[0], beta, dout, method=method),
    )
    var = x.var(axis=0)
    scales = (_dx_scale(numeric[0], gamma, dout, var, 1e-5), None, None)
    return [_error(a, n, s) for a, n, s in zip(analytic, numeric, scales, strict=True)]


@pytest.mark.parametrize("shape", GRADCHECK_SHAPES, ids=str)
def test_gradients_match_the_complex_step(shape):
    assert max(_bn_vjps(shape, seed=7, method="complex")) <= COMPLEX_TOL


@pytest.mark.parametrize("shape", GRADCHECK_SHAPES, ids=str)
def test_gradients_match_central_differences(shape):
    assert max(_bn_vjps(shape, seed=8, method="central")) <= CENTRAL_TOL


def test_the_gradient_check_catches_a_wrong_backward():
    """The staged backward without the path through μ (dx2) must fail the same complex-step check."""
    x, gamma, beta, dout = _inputs((5, 4), seed=3)
    ref_cache = staged_forward(x, gamma, beta, 1e-5)[1]
    xhat, _, xmu, ivar, sqrtvar, var, eps, _ = ref_cache
    dxhat = dout * gamma
    dvar = -0.5 * (dxhat * xmu).sum(axis=0) / sqrtvar**3
    missing_mean_path = dxhat * ivar + 2 * xmu * dvar / x.shape[0]
    numeric = numerical_vjp(lambda z: batchnorm_forward(z, gamma, beta, {"mode": "train"})[0], x, dout, "complex")
    assert _error(missing_mean_path, numeric) > 1e-3


def test_running_averages_follow_momentum_and_test_mode_uses_them():
    rng = np.random.default_rng(11)
    gamma, beta = rng.normal(size=6), rng.normal(size=6)
    bn_param = {"mode": "train"}
    running_mean, running_var = np.zeros(6), np.zeros(6)
    for _ in range(3):
        x = rng.normal(3, 2, size=(10, 6))
        batchnorm_forward(x, gamma, beta, bn_param)
        running_mean = 0.9 * running_mean + 0.1 * x.mean(axis=0)
        running_var = 0.9 * running_var + 0.1 * x.var(axis=0)  # biased, as CS231n
    assert _error(bn_param["running_mean"], running_mean) <= REFERENCE_TOL
    assert _error(bn_param["running_var"], running_var) <= REFERENCE_TOL

    bn_param["mode"] = "test"
    x = rng.normal(size=(4, 6))
    out, _ = batchnorm_forward(x, gamma, beta, bn_param)
    expected = gamma * (x - running_mean) / np.sqrt(running_var + 1e-5) + beta
    assert _error(out, expected) <= REFERENCE_TOL
    assert _error(bn_param["running_mean"], running_mean) <= REFERENCE_TOL  # test mode leaves them


def test_momentum_and_eps_from_bn_param():
    x, gamma, beta, _ = _inputs((6, 3), seed=12)
    start_mean, start_var = np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])
    bn_param = {"mode": "train", "momentum": 0.25, "eps": 0.5, "running_mean": start_mean, "running_var": start_var}
    out, _ = batchnorm_forward(x, gamma, beta, bn_param)
    assert _error(out, staged_forward(x, gamma, beta, 0.5)[0]) <= REFERENCE_TOL
    assert _error(bn_param["running_mean"], 0.25 * start_mean + 0.75 * x.mean(axis=0)) <= REFERENCE_TOL
    assert _error(bn_param["running_var"], 0.25 * start_var + 0.75 * x.var(axis=0)) <= REFERENCE_TOL


def test_caller_arrays_are_never_modified():
    x, gamma, beta, dout = _inputs((5, 4), seed=13)
    running_mean, running_var = np.ones(4), np.full(4, 2.0)
    originals = [a.copy() for a in (x, gamma, beta, dout, running_mean, running_var)]
    bn_param = {"mode": "train", "running_mean": running_mean, "running_var": running_var}
    _, cache = batchnorm_forward(x, gamma, beta, bn_param)
    assert bn_param["running_mean"] is not running_mean and bn_param["running_var"] is not running_var
    batchnorm_backward(dout, cache)
    batchnorm_forward(x, gamma, beta, {**bn_param, "mode": "test"})
    for array, original in zip((x, gamma, beta, dout, running_mean, running_var), originals, strict=True):
        np.testing.assert_array_equal(array, original)


def test_the_cache_does_not_share_arrays_the_caller_may_change():
    x, gamma, beta, dout = _inputs((5, 4), seed=13)
    ref_dx, ref_dgamma, _ = staged_backward(dout, staged_forward(x, gamma, beta, 1e-5)[1])
    out, cache = batchnorm_forward(x, gamma, beta, {"mode": "train"})
    gamma += 1.0  # an in-place optimizer step between forward and backward
    out[...] = 0.0
    x[...] = 0.0
    dx, dgamma, _ = batchnorm_backward(dout, cache)
    assert _error(dx, ref_dx) <= REFERENCE_TOL and _error(dgamma, ref_dgamma) <= REFERENCE_TOL


def test_running_statistics_are_created_as_zeros_in_x_dtype():
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    bn_param = {"mode": "test"}
    out, _ = batchnorm_forward(x, np.ones(2, np.float32), np.zeros(2, np.float32), bn_param)
    for key in ("running_mean", "running_var"):
        assert bn_param[key].dtype == np.float32
        np.testing.assert_array_equal(bn_param[key], 0.0)
    np.testing.assert_allclose(out, x / np.sqrt(np.float32(1e-5)), rtol=1e-6)


# -- edge cases ----------------------------------------------------------------------------------------

def test_a_batch_of_one_gives_beta_and_zero_dx():
    x, gamma, beta, dout = _inputs((1, 5), seed=14)
    bn_param = {"mode": "train"}
    out, cache = batchnorm_forward(x, gamma, beta, bn_param)
    np.testing.assert_array_equal(out, beta[None, :])
    np.testing.assert_array_equal(cache.x_hat, 0.0)
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)
    np.testing.assert_array_equal(dx, 0.0)
    np.testing.assert_array_equal(dgamma, 0.0)
    np.testing.assert_array_equal(dbeta, dout[0])
    np.testing.assert_array_equal(bn_param["running_mean"], (1 - 0.9) * x[0])
    np.testing.assert_array_equal(bn_param["running_var"], 0.0)


@pytest.mark.parametrize("N", [3, 10, 100, 1000])
@pytest.mark.parametrize("value", [0.1, 1 / 3, 1e8 + 0.1, -7.3])
def test_a_constant_column_gives_exactly_zero_x_hat(value, N):
    """The sum of N copies of 0.1 divided by N is not 0.1: without care x̂ would be ±1e-15 (±1 for ε = 0)."""
    x, gamma, beta, dout = _inputs((N, 3), seed=N)
    x[:, 1] = value
    bn_param = {"mode": "train"}
    out, cache = batchnorm_forward(x, gamma, beta, bn_param)
    np.testing.assert_array_equal(cache.x_hat[:, 1], 0.0)
    np.testing.assert_array_equal(out[:, 1], beta[1])
    assert bn_param["running_mean"][1] == (1 - 0.9) * value and bn_param["running_var"][1] == 0.0
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)
    assert np.isfinite(dx).all() and dgamma[1] == 0.0
    # with σ² = 0: dx = γ/√ε · (dout − mean(dout)) in that column
    expected = gamma[1] / np.sqrt(1e-5) * (dout[:, 1] - dout[:, 1].mean())
    assert _error(dx[:, 1], expected) <= REFERENCE_TOL
    # the other columns are untouched by the treatment of the constant one
    ref_out, ref_cache = staged_forward(x[:, [0, 2]], gamma[[0, 2]], beta[[0, 2]], 1e-5)
    assert _error(out[:, [0, 2]], ref_out) <= REFERENCE_TOL
    assert _error(dx[:, [0, 2]], staged_backward(dout[:, [0, 2]], ref_cache)[0]) <= REFERENCE_TOL


def test_a_constant_column_has_the_right_gradient_by_complex_step():
    x, gamma, beta, dout = _inputs((6, 3), seed=15)
    x[:, 0] = 0.1
    _, cache = batchnorm_forward(x, gamma, beta, {"mode": "train"})
    numeric = numerical_vjp(lambda z: batchnorm_forward(z, gamma, beta, {"mode": "train"})[0], x, dout, "complex")
    assert _error(batchnorm_backward(dout, cache)[0], numeric) <= COMPLEX_TOL


def test_eps_zero_with_a_zero_variance_column_is_refused():
    x, gamma, beta, _ = _inputs((4, 5), seed=16)
    x[:, 1], x[:, 3] = 0.1, -2.0
    message = (
        'bn_param["eps"]: expected a value > 0 because column(s) [1, 3] of x have zero batch variance '
        "(1/√(σ² + ε) would divide by zero); received 0.0"
    )
    with pytest.raises(InputError, match=f"^{re.escape(message)}$"):
        batchnorm_forward(x, gamma, beta, {"mode": "train", "eps": 0.0})
    with pytest.raises(InputError, match=re.escape("column(s) [0, 1, 2, 3, 4] of x have zero batch variance")):
        batchnorm_forward(x[:1], gamma, beta, {"mode": "train", "eps": 0})


def test_eps_zero_with_a_zero_running_variance_is_refused_in_test_mode():
    x, gamma, beta, _ = _inputs((4, 3), seed=17)
    bn_param = {"mode": "test", "eps": 0.0, "running_var": np.array([1.0, 0.0, 2.0])}
    message = (
        'bn_param["eps"]: expected a value > 0 because column(s) [1] of bn_param["running_var"] are zero '
        "(1/√(σ² + ε) would divide by zero); received 0.0"
    )
    with pytest.raises(InputError, match=f"^{re.escape(message)}$"):
        batchnorm_forward(x, gamma, beta, bn_param)
    bn_param["running_var"] = np.array([1.0, 3.0, 2.0])
    out, _ = batchnorm_forward(x, gamma, beta, bn_param)
    assert _error(out, gamma * x / np.sqrt(bn_param["running_var"]) + beta) <= REFERENCE_TOL


def test_many_columns_are_listed_with_a_count():
    x = np.ones((3, 12))
    with pytest.raises(InputError, match=re.escape("column(s) [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, … (12 in all)] of x")):
        batchnorm_forward(x, np.ones(12), np.zeros(12), {"mode": "train", "eps": 0})


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_x_propagates_without_warnings(bad):
    x, gamma, beta, dout = _inputs((5, 4), seed=18)
    x[2, 1] = bad
    bn_param = {"mode": "train"}
    out, cache = batchnorm_forward(x, gamma, beta, bn_param)
    assert np.isnan(out[:, 1]).all() and np.isnan(bn_param["running_mean"][1] + bn_param["running_var"][1])
    clean = [0, 2, 3]
    assert _error(out[:, clean], staged_forward(x[:, clean], gamma[clean], beta[clean], 1e-5)[0]) <= REFERENCE_TOL
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)
    assert np.isnan(dx[:, 1]).all() and np.isnan(dgamma[1]) and np.isfinite(dx[:, clean]).all()

    test_out, _ = batchnorm_forward(x, gamma, beta, {"mode": "test", "running_var": np.ones(4)})
    expected_entry = np.nan if np.isnan(bad) else np.sign(gamma[1]) * bad
    np.testing.assert_array_equal(test_out[2, 1], expected_entry)
    assert np.isfinite(np.delete(test_out.ravel(), 2 * 4 + 1)).all()


def test_non_finite_dout_propagates_without_warnings():
    x, gamma, beta, dout = _inputs((1, 3), seed=19)
    _, cache = batchnorm_forward(x, gamma, beta, {"mode": "train"})  # x̂ = 0, so inf·x̂ is NaN
    dout[0, 0], dout[0, 1] = np.inf, np.nan
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)
    assert np.isnan(dx[0, :2]).all() and np.isnan(dgamma[:2]).all()
    assert dbeta[0] == np.inf and dx[0, 2] == 0.0


def test_finite_x_whose_variance_overflows_is_refused():
    x = np.array([[1e200, 1.0], [-1e200, 2.0]])
    message = (
        "x: expected values whose batch variance fits in float64; the variance of column(s) [0] overflows "
        "(largest |x| there is 1e+200); rescale x"
    )
    with pytest.raises(InputError, match=f"^{re.escape(message)}$"):
        batchnorm_forward(x, np.ones(2), np.zeros(2), {"mode": "train"})


# -- dtypes --------------------------------------------------------------------------------------------

def test_float32_in_gives_float32_out_everywhere():
    x, gamma, beta, dout = _inputs((8, 5), seed=20, dtype=np.float32)
    bn_param = {"mode": "train"}
    out, cache = batchnorm_forward(x, gamma, beta, bn_param)
    grads = batchnorm_backward(dout, cache)
    test_out, _ = batchnorm_forward(x, gamma, beta, {**bn_param, "mode": "test"})
    arrays = (out, cache.x_hat, cache.gamma, cache.inv_std, *grads, test_out, bn_param["running_mean"], bn_param["running_var"])
    assert [a.dtype for a in arrays] == [np.float32] * len(arrays)
    # computed in float32: close to the float64 result, not equal to it
    as64 = [a.astype(np.float64) for a in (x, gamma, beta, dout)]
    out64, cache64 = staged_forward(*as64[:3], 1e-5)
    dx64 = staged_backward(as64[3], cache64)[0]
    assert 0 < _error(out, out64) <= 1e-5
    assert 0 < _error(grads[0], dx64) <= 1e-5


def test_integers_become_float64_and_mixed_dtypes_promote():
    out, cache = batchnorm_forward([[1, 2], [3, 5]], [1, 1], [0, 0], {"mode": "train"})
    assert out.dtype == np.float64 and cache.x_hat.dtype == np.float64
    x32, ones32, zeros32 = np.array([[1.0, 2.0], [3.0, 5.0]], np.float32), np.ones(2, np.float32), np.zeros(2, np.float32)
    for mode in ("train", "test"):
        for gamma, beta in ((np.ones(2), zeros32), (ones32, np.zeros(2))):
            out, _ = batchnorm_forward(x32, gamma, beta, {"mode": mode, "running_var": ones32})
            assert out.dtype == np.float64, mode
    _, cache = batchnorm_forward(x32, np.ones(2, np.float32), np.zeros(2, np.float32), {"mode": "train"})
    assert batchnorm_backward(np.ones((2, 2)), cache)[0].dtype == np.float64


def test_importing_layers_does_not_import_sympy():
    code = "import sys, mathnn.layers; print('sympy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# -- errors --------------------------------------------------------------------------------------------

def _raises(message):
    return pytest.raises(InputError, match=f"^{re.escape(message)}$")


G3, B3 = np.ones(3), np.zeros(3)
X43 = np.arange(12.0).reshape(4, 3) ** 2


@pytest.mark.parametrize(
    ("x", "gamma", "beta", "bn_param", "message"),
    [
        (np.ones(3), G3, B3, {"mode": "train"},
         "x: expected a 2-D array of shape (N, D) with N ≥ 1 and D ≥ 1; received shape (3,)"),
        (np.ones((0, 3)), G3, B3, {"mode": "train"},
         "x: expected a 2-D array of shape (N, D) with N ≥ 1 and D ≥ 1; received shape (0, 3)"),
        (np.ones((2, 0)), G3, B3, {"mode": "train"},
         "x: expected a 2-D array of shape (N, D) with N ≥ 1 and D ≥ 1; received shape (2, 0)"),
        (np.ones((2, 3, 1)), G3, B3, {"mode": "train"},
         "x: expected a 2-D array of shape (N, D) with N ≥ 1 and D ≥ 1; received shape (2, 3, 1)"),
        ("abc", G3, B3, {"mode": "train"}, "x: expected a number or an array of numbers; received str 'abc'"),
        (X43, np.ones(4), B3, {"mode": "train"},
         "gamma: expected shape (3,) (one per feature of x with shape (4, 3)); received shape (4,)"),
        (X43, G3, np.zeros((1, 3)), {"mode": "train"},
         "beta: expected shape (3,) (one per feature of x with shape (4, 3)); received shape (1, 3)"),
        (X43, G3, B3, ["train"], 'bn_param: expected a dict with key "mode" ("train" or "test"); received list [\'train\']'),
        (X43, G3, B3, {}, 'bn_param: missing key "mode" (expected "train" or "test")'),
        (X43, G3, B3, {"mode": "eval"}, 'bn_param["mode"]: expected "train" or "test"; received \'eval\''),
        (X43, G3, B3, {"mode": None}, 'bn_param["mode"]: expected "train" or "test"; received None'),
        (X43, G3, B3, {"mode": "train", "eps": -1e-5},
         'bn_param["eps"]: expected a finite real number ≥ 0; received -1e-05'),
        (X43, G3, B3, {"mode": "train", "eps": np.nan},
         'bn_param["eps"]: expected a finite real number (ε ≥ 0 added to the variance, default 1e-5); received float nan'),
        (X43, G3, B3, {"mode": "train", "eps": "1e-5"},
         'bn_param["eps"]: expected a finite real number (ε ≥ 0 added to the variance, default 1e-5); received str \'1e-5\''),
        (X43, G3, B3, {"mode": "train", "momentum": 1.5},
         'bn_param["momentum"]: expected a finite real number in [0, 1]; received 1.5'),
        (X43, G3, B3, {"mode": "train", "momentum": -0.1},
         'bn_param["momentum"]: expected a finite real number in [0, 1]; received -0.1'),
        (X43, G3, B3, {"mode": "train", "momentum": np.inf},
         'bn_param["momentum"]: expected a finite real number (in [0, 1], the weight of the old running value, '
         "default 0.9); received float inf"),
        (X43, G3, B3, {"mode": "test", "running_mean": np.zeros(4)},
         'bn_param["running_mean"]: expected shape (3,) (one per feature of x with shape (4, 3)); received shape (4,)'),
        (X43, G3, B3, {"mode": "train", "running_var": np.zeros((3, 1))},
         'bn_param["running_var"]: expected shape (3,) (one per feature of x with shape (4, 3)); received shape (3, 1)'),
        (X43, G3, B3, {"mode": "test", "running_var": np.array([1.0, -1.0, -2.0])},
         'bn_param["running_var"]: expected variances ≥ 0; received negative values in column(s) [1, 2]'),
    ],
)
def test_forward_error_messages(x, gamma, beta, bn_param, message):
    with _raises(message):
        batchnorm_forward(x, gamma, beta, bn_param)


def test_backward_error_messages():
    _, cache = batchnorm_forward(X43, G3, B3, {"mode": "train"})
    with _raises("dout: expected shape (4, 3) (the shape of x in the forward pass); received shape (3, 4)"):
        batchnorm_backward(np.ones((3, 4)), cache)
    with _raises("cache: expected the cache returned by batchnorm_forward; received tuple (1, 2)"):
        batchnorm_backward(np.ones((4, 3)), (1, 2))
    _, test_cache = batchnorm_forward(X43, G3, B3, {"mode": "test"})
    assert isinstance(test_cache, BatchNormCache) and test_cache.mode == "test"
    with _raises(
        "cache: expected a cache from batchnorm_forward in train mode; received one from test mode "
        "(test mode normalizes with the running averages, which the batch-norm gradient does not assume)"
    ):
        batchnorm_backward(np.ones((4, 3)), test_cache)


def test_invalid_input_errors_are_value_and_type_errors():
    with pytest.raises(ValueError):
        batchnorm_forward(X43, G3, B3, {})
    with pytest.raises(TypeError):
        batchnorm_forward(X43, G3, B3, {"mode": "train", "eps": "x"})


# -- affine and ReLU -------------------------------------------------------------------------------

def test_affine_matches_explicit_sums_and_the_complex_step():
    rng = np.random.default_rng(21)
    x, w, b = rng.normal(size=(3, 2, 4)), rng.normal(size=(8, 5)), rng.normal(size=5)
    dout = rng.normal(size=(3, 5))
    out, cache = affine_forward(x, w, b)
    flat = x.reshape(3, 8)
    expected = np.array([[sum(flat[n, d] * w[d, m] for d in range(8)) + b[m] for m in range(5)] for n in range(3)])
    assert _error(out, expected) <= REFERENCE_TOL
    dx, dw, db = affine_backward(dout, cache)
    assert dx.shape == x.shape and dw.shape == w.shape and db.shape == b.shape
    for analytic, f, point in (
        (dx, lambda z: affine_forward(z, w, b)[0], x),
        (dw, lambda z: affine_forward(x, z, b)[0], w),
        (db, lambda z: affine_forward(x, w, z)[0], b),
    ):
        assert _error(analytic, numerical_vjp(f, point, dout, method="complex")) <= COMPLEX_TOL


def test_affine_keeps_float32_and_error_messages():
    x32, w32, b32 = np.ones((2, 3), np.float32), np.ones((3, 4), np.float32), np.ones(4, np.float32)
    out, cache = affine_forward(x32, w32, b32)
    assert out.dtype == np.float32
    assert [g.dtype for g in affine_backward(np.ones((2, 4), np.float32), cache)] == [np.float32] * 3
    with _raises("x: expected an array of shape (N, d_1, ..., d_k) with at least 2 dimensions, every size ≥ 1; "
                 "received shape (3,)"):
        affine_forward(np.ones(3), w32, b32)
    with _raises("w: expected shape (6, M) (D = 6 from x with shape (2, 2, 3), its trailing dimensions (2, 3) "
                 "flattened); received shape (3, 4)"):
        affine_forward(np.ones((2, 2, 3)), w32, b32)
    with _raises("b: expected shape (4,) (M = 4 from w with shape (3, 4)); received shape (3,)"):
        affine_forward(x32, w32, np.ones(3))
    with _raises("dout: expected shape (2, 4) (the shape of the forward's output); received shape (4, 2)"):
        affine_backward(np.ones((4, 2)), cache)
    with _raises("cache: expected the cache returned by affine_forward; received tuple (1, 2)"):
        affine_backward(np.ones((2, 4)), (1, 2))


def test_relu_layer_values_gradient_and_errors():
    x = np.array([[-2.0, 0.0, 3.0], [1.5, -0.5, 0.25]])
    dout = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    out, cache = relu_forward(x)
    np.testing.assert_array_equal(out, [[0.0, 0.0, 3.0], [1.5, 0.0, 0.25]])
    np.testing.assert_array_equal(relu_backward(dout, cache), [[0.0, 0.0, 3.0], [4.0, 0.0, 6.0]])  # 0 at the kink
    away_from_kink = x[:, [0, 2]]
    numeric = numerical_vjp(lambda z: relu_forward(z)[0], away_from_kink, dout[:, [0, 2]], method="complex")
    np.testing.assert_array_equal(relu_backward(dout[:, [0, 2]], relu_forward(away_from_kink)[1]), numeric)
    out32, cache32 = relu_forward(x.astype(np.float32))
    assert out32.dtype == relu_backward(dout.astype(np.float32), cache32).dtype == np.float32
    with _raises("dout: expected shape (2, 3) (the shape of x in the forward pass); received shape (3, 2)"):
        relu_backward(dout.T, cache)
