"""CS231n-compatible layers built on the generated kernels: input checks, caches, running statistics.

Each layer is a pair ``<layer>_forward(...) -> (out, cache)`` and ``<layer>_backward(dout, cache)``
with the names, arguments and shapes of the CS231n assignments (batches are rows: x has shape (N, ...)):
batch norm, affine and ReLU from assignment 2; the RNN step and sequence, the temporal affine layer and
the temporal softmax loss from assignment 3 (sequences are (N, T, ...)).
The arithmetic is done by the kernels generated from the proven rules (:mod:`mathnn.kernels`); this
module checks the input, keeps what the backward pass needs and handles the edge cases the kernels
leave to the caller.

dtypes: integers and booleans become float64; float32 stays float32 and is computed in float32;
the result has numpy's promoted dtype of the inputs, so all-float32 input gives float32 output.
Complex input is accepted so that complex-step gradient checks can run through the layers.
Every error is a :class:`mathnn.InputError` naming the argument, what was expected and what was received.

Examples
--------
>>> import numpy as np
>>> from mathnn.layers import batchnorm_forward, batchnorm_backward
>>> x = np.array([[1.0, 2.0], [3.0, 2.0]])
>>> bn_param = {"mode": "train"}
>>> out, cache = batchnorm_forward(x, np.ones(2), np.zeros(2), bn_param)
>>> out.round(3).tolist()
[[-1.0, 0.0], [1.0, 0.0]]
>>> bn_param["running_mean"].round(6).tolist()
[0.2, 0.2]
>>> dx, dgamma, dbeta = batchnorm_backward(np.ones((2, 2)), cache)
>>> dbeta.tolist()
[2.0, 2.0]
"""

from __future__ import annotations

import math
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import InputError
from .kernels import batchnorm as _bn
from .kernels import relu as _relu
from .kernels import rnn as _rnn
from .kernels import softmax_ce as _softmax
from .validate import as_float_array, describe, real_scalar

__all__ = [
    "BatchNormCache",
    "RNNCache",
    "RNNStepCache",
    "affine_backward",
    "affine_forward",
    "batchnorm_backward",
    "batchnorm_forward",
    "relu_backward",
    "relu_forward",
    "rnn_backward",
    "rnn_forward",
    "rnn_step_backward",
    "rnn_step_forward",
    "temporal_affine_backward",
    "temporal_affine_forward",
    "temporal_softmax_loss",
]

_MODES = ("train", "test")
_MODE_TEXT = '"train" or "test"'
_MAX_LISTED = 10


@dataclass(frozen=True)
class BatchNormCache:
    """What :func:`batchnorm_backward` needs from :func:`batchnorm_forward`.

    Attributes
    ----------
    mode : {'train', 'test'}
        The mode of the forward pass; only a 'train' cache can be differentiated.
    shape : tuple (N, D)
        Shape of x (and of the dout the backward pass expects).
    x_hat : ndarray of shape (N, D) or None
        Normalized input x̂ (train mode only).
    gamma : ndarray of shape (D,) or None
        A copy of the scale γ used in the forward pass (train mode only).
    inv_std : ndarray of shape (D,) or None
        1/√(σ² + ε) from the batch (train mode only).
    """

    mode: str
    shape: tuple[int, ...]
    x_hat: np.ndarray | None = None
    gamma: np.ndarray | None = None
    inv_std: np.ndarray | None = None


# -- input checks -----------------------------------------------------------------------------------

def _columns(mask: np.ndarray) -> str:
    """The indices where ``mask`` is true, as '[1, 4]' (the first few, with the count, when there are many)."""
    indices = np.flatnonzero(mask)
    listed = ", ".join(str(i) for i in indices[:_MAX_LISTED])
    more = f", … ({indices.size} in all)" if indices.size > _MAX_LISTED else ""
    return f"[{listed}{more}]"


def _batch(x: object) -> np.ndarray:
    array = as_float_array(x, "x")
    if array.ndim != 2 or 0 in array.shape:
        raise InputError(
            f"x: expected a 2-D array of shape (N, D) with N ≥ 1 and D ≥ 1; received shape {array.shape}"
        )
    return array


def _per_feature(value: object, name: str, x_shape: tuple[int, ...]) -> np.ndarray:
    array = as_float_array(value, name)
    expected = (x_shape[1],)
    if array.shape != expected:
        raise InputError(
            f"{name}: expected shape {expected} (one per feature of x with shape {x_shape}); "
            f"received shape {array.shape}"
        )
    return array


def _settings(bn_param: object) -> tuple[str, float, float]:
    """(mode, eps, momentum) from bn_param, with CS231n's defaults."""
    if not isinstance(bn_param, MutableMapping):
        raise InputError(f'bn_param: expected a dict with key "mode" ({_MODE_TEXT}); received {describe(bn_param)}')
    if "mode" not in bn_param:
        raise InputError(f'bn_param: missing key "mode" (expected {_MODE_TEXT})')
    mode = bn_param["mode"]
    if not isinstance(mode, str) or mode not in _MODES:
        raise InputError(f'bn_param["mode"]: expected {_MODE_TEXT}; received {mode!r}')
    eps = real_scalar(bn_param.get("eps", 1e-5), 'bn_param["eps"]', "ε ≥ 0 added to the variance, default 1e-5")
    if eps < 0:
        raise InputError(f'bn_param["eps"]: expected a finite real number ≥ 0; received {eps!r}')
    momentum = real_scalar(
        bn_param.get("momentum", 0.9), 'bn_param["momentum"]', "in [0, 1], the weight of the old running value, default 0.9"
    )
    if not 0 <= momentum <= 1:
        raise InputError(f'bn_param["momentum"]: expected a finite real number in [0, 1]; received {momentum!r}')
    return mode, eps, momentum


def _running(bn_param: MutableMapping[str, Any], key: str, x: np.ndarray) -> np.ndarray:
    """bn_param[key], checked, or zeros of shape (D,) in x's dtype on first use."""
    if key not in bn_param:
        return np.zeros(x.shape[1], dtype=x.dtype)
    name = f'bn_param["{key}"]'
    array = _per_feature(bn_param[key], name, x.shape)
    if key == "running_var" and (negative := array.real < 0).any():
        raise InputError(f"{name}: expected variances ≥ 0; received negative values in column(s) {_columns(negative)}")
    return array


def _check_divisor(eps: float, zero_variance: np.ndarray, where: str) -> None:
    """1/√(σ² + ε) divides by zero only for ε = 0 and σ² = 0: refuse rather than return NaN."""
    if eps == 0 and zero_variance.any():
        raise InputError(
            f'bn_param["eps"]: expected a value > 0 because column(s) {_columns(zero_variance)} {where} '
            f"(1/√(σ² + ε) would divide by zero); received 0.0"
        )


# -- batch normalization ----------------------------------------------------------------------------

def _train_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> tuple[np.ndarray, ...]:
    """The train-mode kernel, with checks on the variance it found.

    ``out`` is allocated in the promoted dtype: the kernel adds β into out in place, which would
    otherwise cast a float64 or complex β down to x's dtype (or fail). The kernel centres each
    column on its first row before averaging, so a constant column gives σ² = 0 and x̂ = 0 exactly.
    """
    out = np.empty(x.shape, dtype=np.result_type(x, gamma, beta))
    out, x_hat, mean, var, inv_std = _bn.batchnorm_train_forward(x, gamma, beta, eps, out=out)
    _check_divisor(eps, var == 0, "of x have zero batch variance")
    # σ² = inf comes only from finite values whose squares overflow (NaN or inf in x give σ² = NaN);
    # the kernel would then return x̂ = 0, y = β without a sign of trouble.
    if (overflow := np.isinf(var)).any():
        raise InputError(
            f"x: expected values whose batch variance fits in {x.dtype}; the variance of column(s) "
            f"{_columns(overflow)} overflows (largest |x| there is {np.abs(x[:, overflow]).max():.3g}); rescale x"
        )
    return out, x_hat, mean, var, inv_std


def batchnorm_forward(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, bn_param: dict[str, Any]
) -> tuple[np.ndarray, BatchNormCache]:
    """Batch normalization forward pass, as in CS231n assignment 2.

    Train mode normalizes each column of x with the batch mean μ and (biased) variance σ²,
    y = γ (x − μ)/√(σ² + ε) + β, and updates the running averages in ``bn_param``::

        running_mean = momentum * running_mean + (1 - momentum) * μ
        running_var  = momentum * running_var  + (1 - momentum) * σ²

    Test mode uses the running averages instead of the batch statistics.

    PyTorch's ``BatchNorm1d(momentum=0.1)`` is the same average written from the other side:
    PyTorch updates ``running = (1 - momentum) * running + momentum * batch``, so its momentum=0.1
    is momentum=0.9 here. Two differences remain: PyTorch stores the *unbiased* batch variance
    N/(N − 1)·σ² in running_var (it normalizes the batch itself with the biased σ²), while this
    function, like CS231n, averages the biased σ²; and PyTorch starts running_var at ones, CS231n
    and this function at zeros.

    Parameters
    ----------
    x : array_like of shape (N, D), N ≥ 1, D ≥ 1
        Mini-batch, one row per example.
    gamma : array_like of shape (D,)
        Scale γ.
    beta : array_like of shape (D,)
        Shift β.
    bn_param : dict
        ``mode`` : 'train' or 'test', required.
        ``eps`` : finite real ≥ 0, default 1e-5.
        ``momentum`` : finite real in [0, 1], default 0.9.
        ``running_mean``, ``running_var`` : array_like of shape (D,); zeros in x's dtype when absent.
        Both are (re)assigned in ``bn_param`` on every call, as new arrays: arrays the caller
        put there are never modified in place.

    Returns
    -------
    out : ndarray of shape (N, D)
        y = γ x̂ + β.
    cache : BatchNormCache
        For :func:`batchnorm_backward` (train mode only).

    Raises
    ------
    InputError
        For a bad argument; for ``eps = 0`` with a column of zero variance (batch variance in
        train mode, running_var in test mode); for finite x whose variance overflows.

    Notes
    -----
    Edge cases: N = 1 gives σ² = 0, x̂ = 0, y = β and dx = 0. A constant column gives x̂ = 0
    exactly for that column and y = β there, with finite gradients. NaN or ±inf in x pass through
    without an error or warning: in train mode they make their whole column of the output (and of
    the running averages and gradients) NaN, in test mode only their own entry (NaN, or ±inf);
    other columns are unaffected.
    """
    x = _batch(x)
    gamma = _per_feature(gamma, "gamma", x.shape)
    beta = _per_feature(beta, "beta", x.shape)
    mode, eps, momentum = _settings(bn_param)
    running_mean = _running(bn_param, "running_mean", x)
    running_var = _running(bn_param, "running_var", x)

    # NaN and inf in x are passed through, so invalid/overflow/divide warnings are expected;
    # the one division that valid input could hit (ε = 0, σ² = 0) is checked explicitly.
    with np.errstate(all="ignore"):
        if mode == "train":
            out, x_hat, mean, var, inv_std = _train_forward(x, gamma, beta, eps)
            running_mean = momentum * running_mean + (1 - momentum) * mean
            running_var = momentum * running_var + (1 - momentum) * var
            cache = BatchNormCache("train", x.shape, x_hat, gamma.copy(), inv_std)
        else:
            _check_divisor(eps, running_var == 0, 'of bn_param["running_var"] are zero')
            dtype = np.result_type(x, gamma, beta, running_mean, running_var)
            out = _bn.batchnorm_test_forward(
                x, gamma, beta, running_mean, running_var, eps, out=np.empty(x.shape, dtype=dtype)
            )
            cache = BatchNormCache("test", x.shape)
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


def batchnorm_backward(dout: np.ndarray, cache: BatchNormCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batch normalization backward pass, as in CS231n assignment 2.

    dx = γ/(N √(σ² + ε)) · (N·dout − Σᵢ doutᵢ − x̂ · Σᵢ doutᵢ x̂ᵢ), the closed form proven equal
    to the chain rule through μ and σ² (``mathnn verify batchnorm``).

    Parameters
    ----------
    dout : array_like of shape (N, D)
        Upstream gradient ∂L/∂y, the shape of x in the forward pass.
    cache : BatchNormCache
        From :func:`batchnorm_forward` in train mode.

    Returns
    -------
    dx : ndarray of shape (N, D)
        ∂L/∂x.
    dgamma : ndarray of shape (D,)
        ∂L/∂γ = Σᵢ doutᵢ x̂ᵢ.
    dbeta : ndarray of shape (D,)
        ∂L/∂β = Σᵢ doutᵢ.

    Raises
    ------
    InputError
        For a cache that is not from train mode, or dout of the wrong shape.
    """
    if not isinstance(cache, BatchNormCache):
        raise InputError(f"cache: expected the cache returned by batchnorm_forward; received {describe(cache)}")
    if cache.mode != "train":
        raise InputError(
            f"cache: expected a cache from batchnorm_forward in train mode; received one from {cache.mode} mode "
            "(test mode normalizes with the running averages, which the batch-norm gradient does not assume)"
        )
    dout = as_float_array(dout, "dout")
    if dout.shape != cache.shape:
        raise InputError(
            f"dout: expected shape {cache.shape} (the shape of x in the forward pass); received shape {dout.shape}"
        )
    with np.errstate(all="ignore"):  # NaN or inf in dout (or cached from x) pass through
        return _bn.batchnorm_backward(dout, cache.x_hat, cache.gamma, cache.inv_std)


# -- affine and ReLU ----------------------------------------------------------------------------------

def affine_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Affine (fully connected) layer, as in CS231n: out = x.reshape(N, D) @ w + b.

    Parameters
    ----------
    x : array_like of shape (N, d_1, ..., d_k)
        Mini-batch; each example is flattened to D = d_1 ⋯ d_k values.
    w : array_like of shape (D, M)
        Weights.
    b : array_like of shape (M,)
        Biases.

    Returns
    -------
    out : ndarray of shape (N, M)
    cache : tuple (x, w, b)
        For :func:`affine_backward`.
    """
    x = as_float_array(x, "x")
    w = as_float_array(w, "w")
    b = as_float_array(b, "b")
    if x.ndim < 2:
        raise InputError(
            f"x: expected an array of shape (N, d_1, ..., d_k) with at least 2 dimensions; received shape {x.shape}"
        )
    features = math.prod(x.shape[1:])
    if w.ndim != 2 or w.shape[0] != features:
        raise InputError(
            f"w: expected shape ({features}, M) ({features} = the product of x's trailing dimensions {x.shape[1:]}); "
            f"received shape {w.shape}"
        )
    if b.shape != (w.shape[1],):
        raise InputError(
            f"b: expected shape ({w.shape[1]},) (one per column of w with shape {w.shape}); received shape {b.shape}"
        )
    out = x.reshape(x.shape[0], features) @ w + b
    return out, (x, w, b)


def affine_backward(dout: np.ndarray, cache: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of :func:`affine_forward`.

    Parameters
    ----------
    dout : array_like of shape (N, M)
        Upstream gradient.
    cache : tuple (x, w, b)
        From :func:`affine_forward`.

    Returns
    -------
    dx : ndarray of shape (N, d_1, ..., d_k)
        dout @ wᵀ, reshaped like x.
    dw : ndarray of shape (D, M)
        x.reshape(N, D)ᵀ @ dout.
    db : ndarray of shape (M,)
        Σᵢ doutᵢ.
    """
    x, w, _ = cache
    dout = as_float_array(dout, "dout")
    expected = (x.shape[0], w.shape[1])
    if dout.shape != expected:
        raise InputError(f"dout: expected shape {expected} (the shape of the forward output); received shape {dout.shape}")
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], w.shape[0]).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ReLU layer, as in CS231n: out = max(0, x) element-wise.

    Parameters
    ----------
    x : array_like, any shape

    Returns
    -------
    out : ndarray, same shape as x
    cache : ndarray
        x, for :func:`relu_backward`.
    """
    x = as_float_array(x, "x")
    return _relu.relu(x), x


def relu_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """Backward pass of :func:`relu_forward`: dx = dout where x > 0, 0 where x ≤ 0 (0 at the kink).

    Parameters
    ----------
    dout : array_like, the shape of x
        Upstream gradient.
    cache : ndarray
        x, from :func:`relu_forward`.

    Returns
    -------
    dx : ndarray, the shape of x
    """
    x = as_float_array(cache, "cache")
    dout = as_float_array(dout, "dout")
    if dout.shape != x.shape:
        raise InputError(f"dout: expected shape {x.shape} (the shape of x in the forward pass); received shape {dout.shape}")
    return dout * _relu.relu_grad(x)


# -- recurrent layers (CS231n assignment 3) -----------------------------------------------------------

@dataclass(frozen=True)
class RNNStepCache:
    """What :func:`rnn_step_backward` needs from :func:`rnn_step_forward`.

    Attributes
    ----------
    x : ndarray of shape (N, D)
        Input of the step.
    prev_h : ndarray of shape (N, H)
        h_{t−1}.
    Wx : ndarray of shape (D, H)
        A copy of the input-to-hidden weights used in the forward pass.
    Wh : ndarray of shape (H, H)
        A copy of the hidden-to-hidden weights used in the forward pass.
    next_h : ndarray of shape (N, H)
        h_t = tanh(a_t); tanh′(a_t) = 1 − h_t² is taken from it.
    """

    x: np.ndarray
    prev_h: np.ndarray
    Wx: np.ndarray
    Wh: np.ndarray
    next_h: np.ndarray


@dataclass(frozen=True)
class RNNCache:
    """What :func:`rnn_backward` needs from :func:`rnn_forward`.

    Attributes
    ----------
    x : ndarray of shape (N, T, D)
        The input sequences.
    h0 : ndarray of shape (N, H)
        The initial hidden state.
    Wx : ndarray of shape (D, H)
        A copy of the input-to-hidden weights used in the forward pass.
    Wh : ndarray of shape (H, H)
        A copy of the hidden-to-hidden weights used in the forward pass.
    h : ndarray of shape (N, T, H)
        Every hidden state h_1 … h_T.
    """

    x: np.ndarray
    h0: np.ndarray
    Wx: np.ndarray
    Wh: np.ndarray
    h: np.ndarray


def _shaped(value: object, name: str, layout: str, ndim: int) -> np.ndarray:
    """``value`` as a float array with ``ndim`` dimensions, none of them empty; ``layout`` names them."""
    array = as_float_array(value, name)
    if array.ndim != ndim or 0 in array.shape:
        raise InputError(
            f"{name}: expected a {ndim}-D array of shape {layout} with every size ≥ 1; received shape {array.shape}"
        )
    return array


def _expect_shape(array: np.ndarray, name: str, expected: tuple[int, ...], why: str) -> None:
    if array.shape != expected:
        raise InputError(f"{name}: expected shape {expected} ({why}); received shape {array.shape}")


def _rnn_arguments(
    x: object, h_name: str, prev_h: object, Wx: object, Wh: object, b: object, x_layout: str, x_ndim: int
) -> tuple[np.ndarray, ...]:
    """x, the initial hidden state, Wx, Wh and b, checked against each other.

    N and D come from x, H from Wx; every other shape is stated in terms of them.
    """
    x = _shaped(x, "x", x_layout, x_ndim)
    n, d = x.shape[0], x.shape[-1]
    Wx = as_float_array(Wx, "Wx")
    if Wx.ndim != 2 or Wx.shape[0] != d or Wx.shape[1] == 0:
        raise InputError(
            f"Wx: expected shape ({d}, H) with H ≥ 1 ({d} = D, the last dimension of x with shape {x.shape}); "
            f"received shape {Wx.shape}"
        )
    h = Wx.shape[1]
    Wh = as_float_array(Wh, "Wh")
    _expect_shape(Wh, "Wh", (h, h), f"(H, H) with H = {h} from Wx with shape {Wx.shape}")
    b = as_float_array(b, "b")
    _expect_shape(b, "b", (h,), f"one per hidden unit, H = {h} from Wx with shape {Wx.shape}")
    prev_h = as_float_array(prev_h, h_name)
    _expect_shape(prev_h, h_name, (n, h), f"(N, H): N = {n} from x with shape {x.shape}, H = {h} from Wx")
    return x, prev_h, Wx, Wh, b


def _upstream(value: object, name: str, expected: tuple[int, ...], what: str) -> np.ndarray:
    array = as_float_array(value, name)
    _expect_shape(array, name, expected, what)
    return array


def _cache_of(cache: object, kind: type, producer: str) -> None:
    if not isinstance(cache, kind):
        # another layer's cache is named by its class: its repr would be a wall of arrays
        received = f"an {type(cache).__name__}" if isinstance(cache, (RNNCache, RNNStepCache)) else describe(cache)
        raise InputError(f"cache: expected the cache returned by {producer}; received {received}")


def rnn_step_forward(
    x: np.ndarray, prev_h: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, RNNStepCache]:
    """One step of a tanh RNN, as in CS231n assignment 3: next_h = tanh(x @ Wx + prev_h @ Wh + b).

    This is the lecture's h_t = tanh(W_hh h_{t−1} + W_xh x_t + b) with one row per sequence,
    so Wx = W_xhᵀ and Wh = W_hhᵀ.

    Parameters
    ----------
    x : array_like of shape (N, D)
        Inputs x_t of N sequences.
    prev_h : array_like of shape (N, H)
        Hidden state h_{t−1}.
    Wx : array_like of shape (D, H)
        Input-to-hidden weights.
    Wh : array_like of shape (H, H)
        Hidden-to-hidden weights.
    b : array_like of shape (H,)
        Bias.

    Returns
    -------
    next_h : ndarray of shape (N, H)
        h_t.
    cache : RNNStepCache
        For :func:`rnn_step_backward` (it holds copies of Wx and Wh, so updating the weights in
        place before the backward pass does not change the gradient).
    """
    x, prev_h, Wx, Wh, b = _rnn_arguments(x, "prev_h", prev_h, Wx, Wh, b, "(N, D)", 2)
    next_h = _rnn.rnn_step_forward(x, prev_h, Wx, Wh, b)
    return next_h, RNNStepCache(x, prev_h, Wx.copy(), Wh.copy(), next_h)


def rnn_step_backward(
    dnext_h: np.ndarray, cache: RNNStepCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of :func:`rnn_step_forward`.

    With δ = dnext_h ⊙ (1 − next_h²): dx = δ Wxᵀ, dprev_h = δ Whᵀ, dWx = xᵀ δ, dWh = prev_hᵀ δ,
    db = Σ_rows δ.

    Parameters
    ----------
    dnext_h : array_like of shape (N, H)
        Upstream gradient ∂L/∂h_t.
    cache : RNNStepCache
        From :func:`rnn_step_forward`.

    Returns
    -------
    dx : ndarray of shape (N, D)
    dprev_h : ndarray of shape (N, H)
    dWx : ndarray of shape (D, H)
    dWh : ndarray of shape (H, H)
    db : ndarray of shape (H,)
    """
    _cache_of(cache, RNNStepCache, "rnn_step_forward")
    dnext_h = _upstream(dnext_h, "dnext_h", cache.next_h.shape, "the shape of next_h from the forward pass")
    da, dprev_h = _rnn.rnn_step_delta(dnext_h, cache.next_h, cache.Wh)
    dx, dWx, dWh, db = _rnn.rnn_weight_gradients(da, cache.x, cache.prev_h, cache.Wx)
    return dx, dprev_h, dWx, dWh, db


def rnn_forward(
    x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, RNNCache]:
    """A tanh RNN over whole sequences, as in CS231n assignment 3: :func:`rnn_step_forward` for t = 1 … T.

    Parameters
    ----------
    x : array_like of shape (N, T, D)
        N input sequences of length T.
    h0 : array_like of shape (N, H)
        Initial hidden state.
    Wx : array_like of shape (D, H)
        Input-to-hidden weights.
    Wh : array_like of shape (H, H)
        Hidden-to-hidden weights.
    b : array_like of shape (H,)
        Bias.

    Returns
    -------
    h : ndarray of shape (N, T, H)
        Hidden states h_1 … h_T (h0 is not included).
    cache : RNNCache
        For :func:`rnn_backward` (with copies of Wx and Wh).
    """
    x, h0, Wx, Wh, b = _rnn_arguments(x, "h0", h0, Wx, Wh, b, "(N, T, D)", 3)
    n, steps, _ = x.shape
    h = np.empty((n, steps, Wx.shape[1]), dtype=np.result_type(x, h0, Wx, Wh, b))
    prev_h = h0
    for t in range(steps):
        prev_h = _rnn.rnn_step_forward(x[:, t], prev_h, Wx, Wh, b)
        h[:, t] = prev_h
    return h, RNNCache(x, h0, Wx.copy(), Wh.copy(), h)


def rnn_backward(
    dh: np.ndarray, cache: RNNCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backpropagation through time for :func:`rnn_forward`.

    Going backwards over t, the gradient reaching h_t is the upstream dh[:, t] plus what flows back
    from step t + 1; the step's δ_t = (that sum) ⊙ (1 − h_t²) then sends δ_t Whᵀ on to h_{t−1}.
    Only this recursion runs in the loop: the weight gradients Σ_t x_tᵀ δ_t, Σ_t h_{t−1}ᵀ δ_t, Σ_t δ_t
    and every dx_t = δ_t Wxᵀ are one matrix product each over the N·T stacked steps.

    Parameters
    ----------
    dh : array_like of shape (N, T, H)
        Upstream gradients ∂L/∂h_t of every hidden state (from the layer above only, not through
        time). Never modified.
    cache : RNNCache
        From :func:`rnn_forward`.

    Returns
    -------
    dx : ndarray of shape (N, T, D)
    dh0 : ndarray of shape (N, H)
    dWx : ndarray of shape (D, H)
    dWh : ndarray of shape (H, H)
    db : ndarray of shape (H,)
    """
    _cache_of(cache, RNNCache, "rnn_forward")
    dh = _upstream(dh, "dh", cache.h.shape, "the shape of h from the forward pass, (N, T, H)")
    h = cache.h
    n, steps, hidden = h.shape
    da = np.empty(h.shape, dtype=np.result_type(dh, h, cache.Wh))
    dprev_h = np.zeros((n, hidden), dtype=da.dtype)
    for t in reversed(range(steps)):
        dnext_h = dh[:, t] + dprev_h  # a new array: the caller's dh is never written to
        da[:, t], dprev_h = _rnn.rnn_step_delta(dnext_h, h[:, t], cache.Wh)
    # h_{t−1} of every step: h0, then h_1 … h_{T−1}
    prev_h = np.concatenate((cache.h0[:, np.newaxis], h[:, :-1]), axis=1)
    rows = n * steps
    d = cache.x.shape[2]
    dx, dWx, dWh, db = _rnn.rnn_weight_gradients(
        da.reshape(rows, hidden), cache.x.reshape(rows, d), prev_h.reshape(rows, hidden), cache.Wx
    )
    return dx.reshape(n, steps, d), dprev_h, dWx, dWh, db


def temporal_affine_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The same affine map at every time step, as in CS231n: out[n, t] = x[n, t] @ w + b.

    Parameters
    ----------
    x : array_like of shape (N, T, D)
    w : array_like of shape (D, M)
    b : array_like of shape (M,)

    Returns
    -------
    out : ndarray of shape (N, T, M)
    cache : tuple (x, w, b)
        For :func:`temporal_affine_backward`.
    """
    x = _shaped(x, "x", "(N, T, D)", 3)
    n, steps, d = x.shape
    w = as_float_array(w, "w")
    if w.ndim != 2 or w.shape[0] != d:
        raise InputError(
            f"w: expected shape ({d}, M) ({d} = D, the last dimension of x with shape {x.shape}); "
            f"received shape {w.shape}"
        )
    b = as_float_array(b, "b")
    _expect_shape(b, "b", (w.shape[1],), f"one per column of w with shape {w.shape}")
    out = (x.reshape(n * steps, d) @ w + b).reshape(n, steps, w.shape[1])
    return out, (x, w, b)


def temporal_affine_backward(
    dout: np.ndarray, cache: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of :func:`temporal_affine_forward`.

    Parameters
    ----------
    dout : array_like of shape (N, T, M)
        Upstream gradient.
    cache : tuple (x, w, b)
        From :func:`temporal_affine_forward`.

    Returns
    -------
    dx : ndarray of shape (N, T, D)
        dout @ wᵀ at every step.
    dw : ndarray of shape (D, M)
        Σ_{n,t} x[n, t]ᵀ dout[n, t].
    db : ndarray of shape (M,)
        Σ_{n,t} dout[n, t].
    """
    if not (isinstance(cache, tuple) and len(cache) == 3 and all(isinstance(a, np.ndarray) for a in cache)):
        raise InputError(f"cache: expected the cache (x, w, b) returned by temporal_affine_forward; received {describe(cache)}")
    x, w, _ = cache
    n, steps, d = x.shape
    dout = _upstream(dout, "dout", (n, steps, w.shape[1]), "the shape of the forward output, (N, T, M)")
    dout_rows = dout.reshape(n * steps, w.shape[1])
    dx = (dout_rows @ w.T).reshape(x.shape)
    dw = x.reshape(n * steps, d).T @ dout_rows
    db = dout_rows.sum(axis=0)
    return dx, dw, db


def _class_indices(y: object, shape: tuple[int, int], classes: int, x_shape: tuple[int, ...]) -> np.ndarray:
    expected = f"an integer array of shape (N, T) = {shape} with values in [0, {classes}) (V = {classes} from x with shape {x_shape})"
    array = np.asarray(y)
    if array.dtype.kind not in "iu" or array.shape != shape:
        raise InputError(f"y: expected {expected}; received {describe(array)}")
    if (outside := (array < 0) | (array >= classes)).any():
        index = tuple(int(i) for i in np.argwhere(outside)[0])
        raise InputError(f"y: expected {expected}; received {array[index]} at index {index}")
    return array


def temporal_softmax_loss(
    x: np.ndarray, y: np.ndarray, mask: np.ndarray, verbose: bool = False
) -> tuple[np.generic, np.ndarray]:
    """Softmax cross-entropy at every time step, as in CS231n assignment 3.

    L = −(1/N) Σ_{n,t} mask[n, t] · log softmax(x[n, t])[y[n, t]]: summed over the time steps
    that count (mask true) and averaged over the N sequences, as CS231n does (not over the
    number of steps).

    Parameters
    ----------
    x : array_like of shape (N, T, V)
        Scores over V classes at every step.
    y : array_like of int, shape (N, T)
        Target class of every step, each in [0, V) (also where mask is false).
    mask : array_like of bool, shape (N, T)
        Which steps count in the loss (e.g. false on padding).
    verbose : bool, default False
        Print the shape of the flattened gradient, as CS231n's version does.

    Returns
    -------
    loss : numpy scalar
        L, in x's dtype (complex for complex x, so that a complex-step check can run through it).
    dx : ndarray of shape (N, T, V)
        ∂L/∂x = mask/N · (softmax(x) − onehot(y)).
    """
    x = _shaped(x, "x", "(N, T, V)", 3)
    n, steps, classes = x.shape
    targets = _class_indices(y, (n, steps), classes, x.shape)
    flags = np.asarray(mask)
    if flags.dtype != bool or flags.shape != (n, steps):
        raise InputError(
            f"mask: expected a boolean array of shape (N, T) = {(n, steps)} (from x with shape {x.shape}); "
            f"received {describe(flags)}"
        )
    rows = n * steps
    real = np.finfo(x.dtype).dtype  # float32 stays float32; the real part's dtype for complex x
    onehot = np.zeros((rows, classes), dtype=real)
    onehot[np.arange(rows), targets.reshape(rows)] = 1
    weights = (flags.reshape(rows, 1) / n).astype(real)
    loss, dx_flat = _softmax.softmax_cross_entropy(x.reshape(rows, classes), onehot, weights)
    if verbose:
        print("dx_flat:", dx_flat.shape)
    return loss, dx_flat.reshape(n, steps, classes)


# -- layers declared as rules: their CS231n functions are built from the generated SPEC -------------

from .catalogue import public_functions as _generated_functions  # noqa: E402

globals().update(_generated_functions())
__all__ += list(_generated_functions())
