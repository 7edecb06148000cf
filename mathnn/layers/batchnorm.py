"""Batch normalization, as in CS231n assignment 2: train and test mode, running averages, the proven backward.

The arithmetic is the generated kernel :mod:`mathnn.kernels.batchnorm`; this module checks the input,
keeps the running statistics and refuses the one division valid input could hit (ε = 0 with a column of
zero variance).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..catalogue import from_kernel, to_kernel
from ..errors import InputError
from ..kernels import batchnorm as _bn
from ..validate import as_float_array, describe, real_scalar
from ._checks import columns

__all__ = [
    "BatchNormCache", "SpatialBatchNormCache", "batchnorm_backward", "batchnorm_forward", "spatial_batchnorm_backward",
    "spatial_batchnorm_forward",
]

_MODES = ("train", "test")
_MODE_TEXT = '"train" or "test"'


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
        raise InputError(f"{name}: expected variances ≥ 0; received negative values in column(s) {columns(negative)}")
    return array


def _check_divisor(eps: float, zero_variance: np.ndarray, where: str) -> None:
    """1/√(σ² + ε) divides by zero only for ε = 0 and σ² = 0: refuse rather than return NaN."""
    if eps == 0 and zero_variance.any():
        raise InputError(
            f'bn_param["eps"]: expected a value > 0 because column(s) {columns(zero_variance)} {where} '
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
    out, x_hat, _, inv_std, mean, var = _bn.batchnorm_train_forward(x, gamma, beta, eps, out=out)
    _check_divisor(eps, var == 0, "of x have zero batch variance")
    # σ² = inf comes only from finite values whose squares overflow (NaN or inf in x give σ² = NaN);
    # the kernel would then return x̂ = 0, y = β without a sign of trouble.
    if (overflow := np.isinf(var)).any():
        raise InputError(
            f"x: expected values whose batch variance fits in {x.dtype}; the variance of column(s) "
            f"{columns(overflow)} overflows (largest |x| there is {np.abs(x[:, overflow]).max():.3g}); rescale x"
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
            out = _bn.batchnorm_inference_kernel(x, gamma, beta, running_mean, running_var, eps)
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
    # a train-mode cache keeps all three
    assert cache.x_hat is not None and cache.gamma is not None and cache.inv_std is not None
    with np.errstate(all="ignore"):  # NaN or inf in dout (or cached from x) pass through
        return _bn.batchnorm_backward(dout, cache.x_hat, cache.gamma, cache.inv_std)


# -- spatial batch normalization ---------------------------------------------------------------------

#: How x of shape (N, C, H, W) becomes batch norm's (N·H·W, C): declared by the rule's variant.
_SPEC: dict[str, Any] = _bn.SPEC
_SPATIAL: dict[str, Any] = next(v["reshape"] for v in _SPEC["variants"] if v["name"] == "spatial_batchnorm")


@dataclass(frozen=True)
class SpatialBatchNormCache:
    """What :func:`spatial_batchnorm_backward` needs: batch norm's cache and the shape of x."""

    batchnorm: BatchNormCache
    shape: tuple[int, ...]


def spatial_batchnorm_forward(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, bn_param: dict[str, Any]
) -> tuple[np.ndarray, SpatialBatchNormCache]:
    """Spatial batch normalization, as in CS231n assignment 2: batch norm of each channel over N, H and W.

    Every pixel of every image is one example of batch norm and each channel one feature: x of shape
    (N, C, H, W) is normalized as the (N·H·W, C) batch :func:`batchnorm_forward` takes, with the same
    ``bn_param`` (modes, running averages of shape (C,)).

    Parameters
    ----------
    x : array_like of shape (N, C, H, W)
    gamma, beta : array_like of shape (C,)
    bn_param : dict
        As for :func:`batchnorm_forward`.

    Returns
    -------
    out : ndarray of shape (N, C, H, W)
    cache : SpatialBatchNormCache
        For :func:`spatial_batchnorm_backward`.
    """
    array = as_float_array(x, "x")
    if array.ndim != 4 or 0 in array.shape:
        raise InputError(f"x: expected a 4-D array of shape (N, C, H, W) with every size ≥ 1; received shape {array.shape}")
    out, cache = batchnorm_forward(to_kernel(_SPATIAL, array), gamma, beta, bn_param)
    return from_kernel(_SPATIAL, out, array.shape, columns=out.shape[-1]), SpatialBatchNormCache(cache, array.shape)


def spatial_batchnorm_backward(
    dout: np.ndarray, cache: SpatialBatchNormCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of :func:`spatial_batchnorm_forward`: batch norm's proven backward on the (N·H·W, C) batch.

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
    dgamma, dbeta : ndarray of shape (C,)
    """
    if not isinstance(cache, SpatialBatchNormCache):
        raise InputError(f"cache: expected the cache returned by spatial_batchnorm_forward; received {describe(cache)}")
    upstream = as_float_array(dout, "dout")
    if upstream.shape != cache.shape:
        raise InputError(f"dout: expected shape {cache.shape} (the shape of x in the forward pass); "
                         f"received shape {upstream.shape}")
    dx, dgamma, dbeta = batchnorm_backward(to_kernel(_SPATIAL, upstream), cache.batchnorm)
    return from_kernel(_SPATIAL, dx, cache.shape), dgamma, dbeta
