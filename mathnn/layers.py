"""CS231n-compatible layers built on the generated kernels: input checks, caches, running statistics.

Each layer is a pair ``<layer>_forward(...) -> (out, cache)`` and ``<layer>_backward(dout, cache)``
with the names, arguments and shapes of the CS231n assignments (batches are rows: x has shape (N, ...)).
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
from .validate import as_float_array, describe, real_scalar

__all__ = [
    "BatchNormCache",
    "affine_backward",
    "affine_forward",
    "batchnorm_backward",
    "batchnorm_forward",
    "relu_backward",
    "relu_forward",
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
