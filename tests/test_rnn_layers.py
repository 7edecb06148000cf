"""mathnn.layers' recurrent functions: against an independent loop implementation, numerical gradients,
caller arrays, dtypes and every error message.

How errors are measured:

- Against the reference (``REFERENCE_TOL``): normwise relative error, max |actual − expected| /
  max |expected| over the whole array.
- Against numerical gradients (``COMPLEX_TOL``, ``RICHARDSON_TOL``): :func:`mathnn.verify.scaled_errors`,
  i.e. entry by entry |analytic − numeric| / max(|analytic|, |numeric|, term size), where the term size is
  the same gradient computed on absolute values (|dh|, |W|, |x|, 1 + h² for the 1 − h² of tanh′). A
  gradient entry such as dWh[i, j] = Σ_{n,t} h_{t−1}[n, i] δ_t[n, j] can nearly cancel; any evaluation of
  it, analytic or numerical, is only accurate relative to the size of the terms it adds up.
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
    RNNCache,
    RNNStepCache,
    rnn_backward,
    rnn_forward,
    rnn_step_backward,
    rnn_step_forward,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
)
from mathnn.verify import scaled_errors

REFERENCE_TOL = 1e-12
COMPLEX_TOL = 1e-13
RICHARDSON_TOL = 1e-8

SEQUENCE_SHAPES = [(1, 1, 1, 1), (2, 3, 4, 5), (3, 6, 2, 4)]  # (N, T, D, H)


@pytest.fixture(autouse=True)
def _warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# -- an independent implementation: the lecture's column form, one sequence and one step at a time --------

def reference_rnn_forward(x, h0, Wx, Wh, b):
    """h_t = tanh(W_hh h_{t−1} + W_xh x_t + b) for each sequence, with W_hh = Whᵀ and W_xh = Wxᵀ."""
    N, T, _ = x.shape
    W_xh, W_hh = Wx.T, Wh.T
    h = np.zeros((N, T, Wh.shape[0]), dtype=np.result_type(x, h0, Wx, Wh, b))
    for n in range(N):
        state = h0[n]
        for t in range(T):
            state = np.tanh(W_hh @ state + W_xh @ x[n, t] + b)
            h[n, t] = state
    return h


def reference_rnn_backward(dh, x, h0, Wx, Wh, h, tanh_slope=lambda h_t: 1 - h_t**2):
    """BPTT with one outer product per sequence and step; ``tanh_slope`` lets the test compute term sizes."""
    N, T, D = x.shape
    H = Wh.shape[0]
    dx, dh0 = np.zeros((N, T, D)), np.zeros((N, H))
    dWx, dWh, db = np.zeros((D, H)), np.zeros((H, H)), np.zeros(H)
    for n in range(N):
        from_later = np.zeros(H)
        for t in reversed(range(T)):
            delta = (dh[n, t] + from_later) * tanh_slope(h[n, t])
            previous = h0[n] if t == 0 else h[n, t - 1]
            dWx += np.outer(x[n, t], delta)
            dWh += np.outer(previous, delta)
            db += delta
            dx[n, t] = Wx @ delta
            from_later = Wh @ delta
        dh0[n] = from_later
    return dx, dh0, dWx, dWh, db


def term_sizes(dh, x, h0, Wx, Wh, h):
    """The size of the terms each BPTT gradient entry sums: the same recursion on absolute values."""
    absolute = [np.abs(a) for a in (dh, x, h0, Wx, Wh)]
    return reference_rnn_backward(*absolute[:4], absolute[4], h, tanh_slope=lambda h_t: 1 + h_t**2)


def reference_softmax_loss(x, y, mask):
    N, T, V = x.shape
    loss, dx = 0.0, np.zeros_like(x)
    for n in range(N):
        for t in range(T):
            if mask[n, t]:
                p = np.exp(x[n, t] - x[n, t].max())
                p /= p.sum()
                loss -= np.log(p[y[n, t]])
                dx[n, t] = p
                dx[n, t, y[n, t]] -= 1
    return loss / N, dx / N


def _error(actual, expected):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    return np.abs(actual - expected).max() / np.abs(expected).max()


def _sequence_inputs(shape, seed):
    N, T, D, H = shape
    rng = np.random.default_rng(seed)
    return {
        "x": rng.normal(size=(N, T, D)),
        "h0": rng.normal(size=(N, H)),
        "Wx": rng.normal(size=(D, H)) / np.sqrt(D),
        "Wh": rng.normal(size=(H, H)) / np.sqrt(H),
        "b": rng.normal(size=H),
    }, rng.normal(size=(N, T, H))


def _as_step(inputs):
    """The first step of a sequence's inputs, as rnn_step_forward's arguments."""
    return {"x": inputs["x"][:, 0], "prev_h": inputs["h0"], "Wx": inputs["Wx"], "Wh": inputs["Wh"], "b": inputs["b"]}


# -- values ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", SEQUENCE_SHAPES, ids=str)
def test_rnn_matches_the_reference(shape):
    inputs, dh = _sequence_inputs(shape, seed=sum(shape))
    h, cache = rnn_forward(**inputs)
    expected_h = reference_rnn_forward(**inputs)
    assert _error(h, expected_h) <= REFERENCE_TOL
    gradients = rnn_backward(dh, cache)
    expected = reference_rnn_backward(dh, inputs["x"], inputs["h0"], inputs["Wx"], inputs["Wh"], expected_h)
    for name, actual, reference in zip(("dx", "dh0", "dWx", "dWh", "db"), gradients, expected, strict=True):
        assert _error(actual, reference) <= REFERENCE_TOL, name


def test_rnn_step_matches_the_reference():
    inputs, dh = _sequence_inputs((4, 1, 3, 6), seed=3)
    step = _as_step(inputs)
    next_h, cache = rnn_step_forward(**step)
    expected_h = reference_rnn_forward(**inputs)
    assert _error(next_h, expected_h[:, 0]) <= REFERENCE_TOL
    dx, dprev_h, dWx, dWh, db = rnn_step_backward(dh[:, 0], cache)
    ref = reference_rnn_backward(dh, inputs["x"], inputs["h0"], inputs["Wx"], inputs["Wh"], expected_h)
    for actual, reference in zip((dx, dprev_h, dWx, dWh, db), (ref[0][:, 0], *ref[1:]), strict=True):
        assert _error(actual, reference) <= REFERENCE_TOL


def test_one_step_sequence_equals_one_step():
    inputs, dh = _sequence_inputs((2, 1, 3, 4), seed=5)
    h, cache = rnn_forward(**inputs)
    next_h, step_cache = rnn_step_forward(**_as_step(inputs))
    np.testing.assert_array_equal(h[:, 0], next_h)
    for whole, step in zip(rnn_backward(dh, cache), rnn_step_backward(dh[:, 0], step_cache), strict=True):
        np.testing.assert_array_equal(whole.reshape(step.shape), step)


def test_temporal_affine_matches_the_reference():
    rng = np.random.default_rng(8)
    x, w, b, dout = rng.normal(size=(3, 4, 5)), rng.normal(size=(5, 6)), rng.normal(size=6), rng.normal(size=(3, 4, 6))
    out, cache = temporal_affine_forward(x, w, b)
    expected = np.array([[w.T @ x[n, t] + b for t in range(4)] for n in range(3)])
    assert _error(out, expected) <= REFERENCE_TOL
    dx, dw, db = temporal_affine_backward(dout, cache)
    assert _error(dx, np.array([[w @ dout[n, t] for t in range(4)] for n in range(3)])) <= REFERENCE_TOL
    assert _error(dw, sum(np.outer(x[n, t], dout[n, t]) for n in range(3) for t in range(4))) <= REFERENCE_TOL
    assert _error(db, sum(dout[n, t] for n in range(3) for t in range(4))) <= REFERENCE_TOL


def _softmax_inputs(seed, shape=(3, 4, 7)):
    rng = np.random.default_rng(seed)
    N, T, V = shape
    x = rng.normal(scale=2.0, size=shape)
    y = rng.integers(V, size=(N, T))
    mask = rng.random((N, T)) < 0.7
    mask[0, 0] = True
    return x, y, mask


def test_temporal_softmax_loss_matches_the_reference():
    x, y, mask = _softmax_inputs(seed=4)
    loss, dx = temporal_softmax_loss(x, y, mask)
    expected_loss, expected_dx = reference_softmax_loss(x, y, mask)
    assert abs(loss - expected_loss) / expected_loss <= REFERENCE_TOL
    assert _error(dx, expected_dx) <= REFERENCE_TOL
    assert np.all(dx[~mask] == 0)


def test_temporal_softmax_loss_known_values():
    # uniform scores over V classes: every counted step costs log V; the loss is averaged over N only
    N, T, V = 2, 5, 8
    mask = np.ones((N, T), dtype=bool)
    mask[1, 3:] = False
    loss, dx = temporal_softmax_loss(np.zeros((N, T, V)), np.zeros((N, T), dtype=int), mask)
    assert loss == pytest.approx(8 * np.log(V) / N, rel=1e-15)
    assert dx[0, 0, 0] == pytest.approx((1 / V - 1) / N, rel=1e-15)
    assert dx[0, 0, 1] == pytest.approx(1 / V / N, rel=1e-15)
    # CS231n's sanity checks: about log V at N = 100 with small random scores
    rng = np.random.default_rng(0)
    x = 0.001 * rng.standard_normal((100, 1, 10))
    loss, _ = temporal_softmax_loss(x, rng.integers(10, size=(100, 1)), np.ones((100, 1), dtype=bool))
    assert abs(loss - np.log(10)) < 1e-3


def test_verbose_prints_the_flattened_shape(capsys):
    x, y, mask = _softmax_inputs(seed=1)
    temporal_softmax_loss(x, y, mask, verbose=True)
    assert capsys.readouterr().out == "dx_flat: (12, 7)\n"


# -- numerical gradients -------------------------------------------------------------------------------------

def _rnn_gradient_errors(shape, method):
    inputs, dh = _sequence_inputs(shape, seed=11 * sum(shape))
    h, cache = rnn_forward(**inputs)
    analytic = dict(zip(("x", "h0", "Wx", "Wh", "b"), rnn_backward(dh, cache), strict=True))
    sizes = dict(zip(("x", "h0", "Wx", "Wh", "b"), term_sizes(dh, inputs["x"], inputs["h0"], inputs["Wx"], inputs["Wh"], h),
                     strict=True))
    errors = {}
    for name, point in inputs.items():
        numeric = numerical_vjp(lambda v, name=name: rnn_forward(**{**inputs, name: v})[0], point, dh, method=method)
        errors[name] = scaled_errors(analytic[name], numeric, sizes[name])
    return errors


@pytest.mark.parametrize("shape", SEQUENCE_SHAPES, ids=str)
def test_rnn_gradients_match_the_complex_step(shape):
    errors = _rnn_gradient_errors(shape, "complex")
    assert max(errors.values()) <= COMPLEX_TOL, errors


@pytest.mark.parametrize("shape", SEQUENCE_SHAPES, ids=str)
def test_rnn_gradients_match_richardson_differences(shape):
    errors = _rnn_gradient_errors(shape, "richardson")
    assert max(errors.values()) <= RICHARDSON_TOL, errors


def test_rnn_step_gradients_match_the_complex_step():
    inputs, dh = _sequence_inputs((3, 1, 4, 5), seed=2)
    step = _as_step(inputs)
    next_h, cache = rnn_step_forward(**step)
    analytic = dict(zip(("x", "prev_h", "Wx", "Wh", "b"), rnn_step_backward(dh[:, 0], cache), strict=True))
    sizes = term_sizes(dh, inputs["x"], inputs["h0"], inputs["Wx"], inputs["Wh"], next_h[:, np.newaxis])
    sizes = dict(zip(("x", "prev_h", "Wx", "Wh", "b"), (sizes[0][:, 0], *sizes[1:]), strict=True))
    for name, point in step.items():
        for method, tolerance in (("complex", COMPLEX_TOL), ("richardson", RICHARDSON_TOL)):
            f = lambda v, name=name: rnn_step_forward(**{**step, name: v})[0]  # noqa: E731
            numeric = numerical_vjp(f, point, dh[:, 0], method=method)
            assert scaled_errors(analytic[name], numeric, sizes[name]) <= tolerance, (name, method)


def test_temporal_affine_gradients_match_the_complex_step_and_richardson():
    rng = np.random.default_rng(12)
    x, w, b, dout = rng.normal(size=(2, 3, 4)), rng.normal(size=(4, 5)), rng.normal(size=5), rng.normal(size=(2, 3, 5))
    _, cache = temporal_affine_forward(x, w, b)
    analytic = temporal_affine_backward(dout, cache)
    sizes = (np.abs(dout) @ np.abs(w).T, np.einsum("ntd,ntm->dm", np.abs(x), np.abs(dout)), np.abs(dout).sum(axis=(0, 1)))
    functions = (lambda v: temporal_affine_forward(v, w, b)[0], lambda v: temporal_affine_forward(x, v, b)[0],
                 lambda v: temporal_affine_forward(x, w, v)[0])
    for gradient, f, point, size in zip(analytic, functions, (x, w, b), sizes, strict=True):
        for method, tolerance in (("complex", COMPLEX_TOL), ("richardson", RICHARDSON_TOL)):
            assert scaled_errors(gradient, numerical_vjp(f, point, dout, method=method), size) <= tolerance


def test_temporal_softmax_gradient_matches_the_complex_step_and_richardson():
    x, y, mask = _softmax_inputs(seed=6, shape=(2, 3, 5))
    _, dx = temporal_softmax_loss(x, y, mask)
    # dx = mask/N · (p − onehot): its two terms have size mask/N · (p + onehot)
    p = np.exp(x - x.max(axis=2, keepdims=True))
    p /= p.sum(axis=2, keepdims=True)
    size = mask[..., np.newaxis] / 2 * (p + np.eye(5)[y])
    for method, tolerance in (("complex", COMPLEX_TOL), ("richardson", RICHARDSON_TOL)):
        numeric = numerical_vjp(lambda v: temporal_softmax_loss(v, y, mask)[0], x, method=method)
        assert scaled_errors(dx, numeric, size) <= tolerance


def test_the_gradient_check_catches_truncated_backpropagation():
    """Dropping the gradient that flows back through time is the classic bug; the check must see it."""
    inputs, dh = _sequence_inputs((2, 4, 3, 5), seed=9)
    h, cache = rnn_forward(**inputs)

    def one_step_only(dh, cache):  # every step treated alone: dprev_h never reaches the earlier steps
        grads = [rnn_step_backward(dh[:, t], RNNStepCache(cache.x[:, t], cache.h0 if t == 0 else cache.h[:, t - 1],
                                                           cache.Wx, cache.Wh, cache.h[:, t]))
                 for t in range(dh.shape[1])]
        return sum(g[2] for g in grads)

    numeric = numerical_vjp(lambda v: rnn_forward(**{**inputs, "Wx": v})[0], inputs["Wx"], dh, method="complex")
    size = term_sizes(dh, inputs["x"], inputs["h0"], inputs["Wx"], inputs["Wh"], h)[2]
    assert scaled_errors(rnn_backward(dh, cache)[2], numeric, size) <= COMPLEX_TOL
    # ten orders of magnitude above the pass mark (the term sizes grow through time, so the error is
    # measured against values ~100 times the gradient; entrywise, the truncated dWx is off by ~50 %)
    assert scaled_errors(one_step_only(dh, cache), numeric, size) > 1e-3


# -- caller arrays, caches and dtypes ---------------------------------------------------------------------------

def _accumulating_in_place(dh, cache):
    """The CS231n pitfall: adding the gradient from later steps into the caller's dh."""
    dprev_h = np.zeros_like(cache.h0)
    for t in reversed(range(dh.shape[1])):
        dh[:, t] += dprev_h
        step = RNNStepCache(cache.x[:, t], cache.h0 if t == 0 else cache.h[:, t - 1], cache.Wx, cache.Wh, cache.h[:, t])
        _, dprev_h, *_ = rnn_step_backward(dh[:, t], step)
    return dprev_h


def test_caller_arrays_are_never_modified():
    inputs, dh = _sequence_inputs((2, 4, 3, 5), seed=13)
    originals = {name: value.copy() for name, value in inputs.items()}
    dh_original = dh.copy()
    _, cache = rnn_forward(**inputs)
    rnn_backward(dh, cache)
    _, step_cache = rnn_step_forward(**_as_step(inputs))
    rnn_step_backward(dh[:, 0], step_cache)
    for name, value in inputs.items():
        np.testing.assert_array_equal(value, originals[name])
    np.testing.assert_array_equal(dh, dh_original)
    # the same comparison catches the pitfall
    _accumulating_in_place(dh, cache)
    assert not np.array_equal(dh, dh_original)


def test_softmax_and_affine_leave_their_inputs_alone():
    x, y, mask = _softmax_inputs(seed=2)
    copies = x.copy(), y.copy(), mask.copy()
    temporal_softmax_loss(x, y, mask)
    for value, copy in zip((x, y, mask), copies, strict=True):
        np.testing.assert_array_equal(value, copy)
    w, b, dout = np.ones((7, 2)), np.zeros(2), np.ones((3, 4, 2))
    _, cache = temporal_affine_forward(x, w, b)
    temporal_affine_backward(dout, cache)
    np.testing.assert_array_equal(x, copies[0])
    assert (w == 1).all() and (b == 0).all() and (dout == 1).all()


def test_the_cache_keeps_its_own_weights():
    """An optimizer that updates Wx and Wh in place before the backward pass must not change the gradient."""
    inputs, dh = _sequence_inputs((2, 3, 3, 4), seed=14)
    _, cache = rnn_forward(**inputs)
    expected = rnn_backward(dh, cache)
    inputs["Wx"] += 1.0
    inputs["Wh"] *= 2.0
    for before, after in zip(expected, rnn_backward(dh, cache), strict=True):
        np.testing.assert_array_equal(before, after)


def test_float32_in_gives_float32_out():
    inputs, dh = _sequence_inputs((2, 3, 4, 5), seed=15)
    inputs32 = {name: value.astype(np.float32) for name, value in inputs.items()}
    h, cache = rnn_forward(**inputs32)
    assert h.dtype == np.float32
    assert [g.dtype for g in rnn_backward(dh.astype(np.float32), cache)] == [np.float32] * 5
    assert _error(h, reference_rnn_forward(**inputs)) < 1e-5
    loss, dx = temporal_softmax_loss(h, np.zeros((2, 3), dtype=np.int64), np.ones((2, 3), dtype=bool))
    assert loss.dtype == dx.dtype == np.float32


def test_integers_become_float64():
    h, _ = rnn_forward(np.ones((1, 2, 3), dtype=int), np.zeros((1, 2), dtype=int), np.ones((3, 2), dtype=int),
                       np.zeros((2, 2), dtype=int), np.zeros(2, dtype=int))
    assert h.dtype == np.float64
    np.testing.assert_allclose(h, np.tanh(3.0), rtol=1e-15)


def test_importing_layers_does_not_import_sympy():
    code = "import sys, mathnn.layers; print('sympy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# -- errors ---------------------------------------------------------------------------------------------------

def _raises(message):
    return pytest.raises(InputError, match=f"^{re.escape(message)}$")


X = np.ones((2, 3, 4))
H0, WX, WH, B = np.zeros((2, 5)), np.ones((4, 5)), np.ones((5, 5)), np.zeros(5)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((np.ones((2, 4)), H0, WX, WH, B),
         "x: expected a 3-D array of shape (N, T, D) with every size ≥ 1; received shape (2, 4)"),
        ((np.ones((2, 0, 4)), H0, WX, WH, B),
         "x: expected a 3-D array of shape (N, T, D) with every size ≥ 1; received shape (2, 0, 4)"),
        (("text", H0, WX, WH, B), "x: expected a number or an array of numbers; received str 'text'"),
        ((X, H0, np.ones((5, 4)), WH, B),
         "Wx: expected shape (4, H) with H ≥ 1 (4 = D, the last dimension of x with shape (2, 3, 4)); "
         "received shape (5, 4)"),
        ((X, H0, WX, np.ones((4, 4)), B),
         "Wh: expected shape (5, 5) ((H, H) with H = 5 from Wx with shape (4, 5)); received shape (4, 4)"),
        ((X, H0, WX, WH, np.zeros((1, 5))),
         "b: expected shape (5,) (one per hidden unit, H = 5 from Wx with shape (4, 5)); received shape (1, 5)"),
        ((X, np.zeros((3, 5)), WX, WH, B),
         "h0: expected shape (2, 5) ((N, H): N = 2 from x with shape (2, 3, 4), H = 5 from Wx); received shape (3, 5)"),
    ],
)
def test_rnn_forward_error_messages(args, message):
    with _raises(message):
        rnn_forward(*args)


def test_rnn_step_and_backward_error_messages():
    with _raises("x: expected a 2-D array of shape (N, D) with every size ≥ 1; received shape (2, 3, 4)"):
        rnn_step_forward(X, H0, WX, WH, B)
    with _raises("prev_h: expected shape (2, 5) ((N, H): N = 2 from x with shape (2, 4), H = 5 from Wx); "
                 "received shape (5,)"):
        rnn_step_forward(X[:, 0], np.zeros(5), WX, WH, B)
    h, cache = rnn_forward(X, H0, WX, WH, B)
    with _raises("dh: expected shape (2, 3, 5) (the shape of h from the forward pass, (N, T, H)); received shape (2, 5)"):
        rnn_backward(np.ones((2, 5)), cache)
    with _raises("cache: expected the cache returned by rnn_forward; received tuple (1, 2)"):
        rnn_backward(np.ones_like(h), (1, 2))
    _, step_cache = rnn_step_forward(X[:, 0], H0, WX, WH, B)
    with _raises("cache: expected the cache returned by rnn_forward; received an RNNStepCache"):
        rnn_backward(np.ones_like(h), step_cache)
    with _raises("dnext_h: expected shape (2, 5) (the shape of next_h from the forward pass); received shape (2, 3, 5)"):
        rnn_step_backward(np.ones_like(h), step_cache)
    with _raises("cache: expected the cache returned by rnn_step_forward; received an RNNCache"):
        rnn_step_backward(np.ones((2, 5)), cache)
    assert isinstance(cache, RNNCache)


def test_temporal_affine_error_messages():
    with _raises("w: expected shape (4, M) (D = 4 from x with shape (2, 3, 4), its last dimension); received shape (3, 4)"):
        temporal_affine_forward(X, np.ones((3, 4)), np.zeros(4))
    with _raises("b: expected shape (6,) (M = 6 from w with shape (4, 6)); received shape (4,)"):
        temporal_affine_forward(X, np.ones((4, 6)), np.zeros(4))
    with _raises("x: expected an array of shape (N, T, D) with 3 dimensions, every size ≥ 1; received shape (2, 3)"):
        temporal_affine_forward(np.ones((2, 3)), np.ones((3, 6)), np.zeros(6))
    _, cache = temporal_affine_forward(X, np.ones((4, 6)), np.zeros(6))
    with _raises("dout: expected shape (2, 3, 6) (the shape of the forward's output); received shape (2, 6)"):
        temporal_affine_backward(np.ones((2, 6)), cache)
    with _raises("cache: expected the cache returned by temporal_affine_forward; received list [1, 2, 3]"):
        temporal_affine_backward(np.ones((2, 3, 6)), [1, 2, 3])


MASK = np.ones((2, 3), dtype=bool)
Y_EXPECTED = "y: expected an integer array of shape (N, T) = (2, 3) with values in [0, 4) (V = 4 from x with shape (2, 3, 4))"


@pytest.mark.parametrize(
    ("y", "mask", "message"),
    [
        (np.array([[0, 1, 2], [3, 4, 0]]), MASK, f"{Y_EXPECTED}; received 4 at index (1, 1)"),
        (np.array([[0, -1, 2], [3, 0, 0]]), MASK, f"{Y_EXPECTED}; received -1 at index (0, 1)"),
        (np.zeros((2, 3)), MASK, f"{Y_EXPECTED}; received array of dtype float64 and shape (2, 3)"),
        (np.zeros((2, 3), dtype=bool), MASK, f"{Y_EXPECTED}; received array of dtype bool and shape (2, 3)"),
        (np.zeros((3, 2), dtype=int), MASK, f"{Y_EXPECTED}; received array of dtype int64 and shape (3, 2)"),
        (np.zeros((2, 3), dtype=int), np.ones((2, 3)),
         "mask: expected a boolean array of shape (N, T) = (2, 3) (from x with shape (2, 3, 4)); "
         "received array of dtype float64 and shape (2, 3)"),
        (np.zeros((2, 3), dtype=int), np.ones(3, dtype=bool),
         "mask: expected a boolean array of shape (N, T) = (2, 3) (from x with shape (2, 3, 4)); "
         "received array of dtype bool and shape (3,)"),
    ],
)
def test_temporal_softmax_loss_error_messages(y, mask, message):
    with _raises(message):
        temporal_softmax_loss(X, y, mask)


# -- other activations (for the vanishing-gradient experiments) -------------------------------------------------

@pytest.mark.parametrize("activation", ["sigmoid", "relu", "leaky_relu"])
def test_rnn_with_another_activation_is_its_recurrence_and_its_gradient(activation):
    import importlib

    kernels = importlib.import_module(f"mathnn.kernels.{activation}")
    f = getattr(kernels, activation)
    inputs, dh = _sequence_inputs((2, 4, 3, 5), seed=21)
    h, cache = rnn_forward(**inputs, activation=activation)
    state = inputs["h0"]
    for t in range(4):  # h_t = f(x_t Wx + h_{t−1} Wh + b), written out
        state = f(inputs["x"][:, t] @ inputs["Wx"] + state @ inputs["Wh"] + inputs["b"])
        np.testing.assert_allclose(h[:, t], state, rtol=1e-13, atol=1e-15)
    analytic = dict(zip(("x", "h0", "Wx", "Wh", "b"), rnn_backward(dh, cache), strict=True))
    for name, point in inputs.items():
        numeric = numerical_vjp(
            lambda v, name=name: rnn_forward(**{**inputs, name: v}, activation=activation)[0], point, dh, method="complex"
        )
        np.testing.assert_allclose(analytic[name], numeric, rtol=1e-10, atol=1e-12, err_msg=name)


def test_tanh_is_the_default_activation_and_cs231n_arithmetic():
    inputs, dh = _sequence_inputs((2, 3, 4, 5), seed=22)
    h, cache = rnn_forward(**inputs)
    h_tanh, cache_tanh = rnn_forward(**inputs, activation="tanh")
    assert np.array_equal(h, h_tanh)
    for default, explicit in zip(rnn_backward(dh, cache), rnn_backward(dh, cache_tanh), strict=True):
        assert np.array_equal(default, explicit)
    np.testing.assert_allclose(h, reference_rnn_forward(**inputs), rtol=1e-13, atol=0)


def test_leaky_relu_slope_is_used():
    inputs, _ = _sequence_inputs((1, 2, 3, 4), seed=23)
    steep, _ = rnn_forward(**inputs, activation="leaky_relu", alpha=0.5)
    shallow, _ = rnn_forward(**inputs, activation="leaky_relu")
    assert not np.array_equal(steep, shallow)


@pytest.mark.parametrize(
    ("activation", "message"),
    [
        ("softplus", "activation: expected one of 'sigmoid', 'tanh', 'relu', 'leaky_relu'; received str 'softplus'"),
        (None, "activation: expected one of 'sigmoid', 'tanh', 'relu', 'leaky_relu'; received NoneType None"),
    ],
)
def test_rnn_forward_activation_errors(activation, message):
    with _raises(message):
        rnn_forward(X, H0, WX, WH, B, activation=activation)
