"""Affine layers, as in CS231n: the fully connected layer (assignment 2) and its temporal form (assignment 3).

Both are the same map on rows, out = x w + b: the fully connected layer flattens each example into one
row, the temporal layer stacks the N·T time steps as rows. :func:`_affine_gradients` is the one
backward of that map, so the two layers cannot drift apart.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError
from ..validate import as_float_array, describe
from ._checks import expect_shape, shaped, upstream

__all__ = ["affine_backward", "affine_forward", "temporal_affine_backward", "temporal_affine_forward"]


def _affine_gradients(
    dout_rows: np.ndarray, x_rows: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward of out = x w + b on rows: (dx, dw, db) = (dout wᵀ, xᵀ dout, Σ_rows dout).

    Parameters
    ----------
    dout_rows : ndarray of shape (R, M)
    x_rows : ndarray of shape (R, D)
    w : ndarray of shape (D, M)

    Returns
    -------
    dx : ndarray of shape (R, D)
    dw : ndarray of shape (D, M)
    db : ndarray of shape (M,)
    """
    return dout_rows @ w.T, x_rows.T @ dout_rows, dout_rows.sum(axis=0)


def _affine_cache(cache: object, producer: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not (isinstance(cache, tuple) and len(cache) == 3 and all(isinstance(a, np.ndarray) for a in cache)):
        raise InputError(f"cache: expected the cache (x, w, b) returned by {producer}; received {describe(cache)}")
    return cache


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
    x, w, _ = _affine_cache(cache, "affine_forward")
    dout = as_float_array(dout, "dout")
    expected = (x.shape[0], w.shape[1])
    if dout.shape != expected:
        raise InputError(f"dout: expected shape {expected} (the shape of the forward output); received shape {dout.shape}")
    dx, dw, db = _affine_gradients(dout, x.reshape(x.shape[0], w.shape[0]), w)
    return dx.reshape(x.shape), dw, db


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
    x = shaped(x, "x", "(N, T, D)", 3)
    n, steps, d = x.shape
    w = as_float_array(w, "w")
    if w.ndim != 2 or w.shape[0] != d:
        raise InputError(
            f"w: expected shape ({d}, M) ({d} = D, the last dimension of x with shape {x.shape}); "
            f"received shape {w.shape}"
        )
    b = as_float_array(b, "b")
    expect_shape(b, "b", (w.shape[1],), f"one per column of w with shape {w.shape}")
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
    x, w, _ = _affine_cache(cache, "temporal_affine_forward")
    n, steps, d = x.shape
    dout = upstream(dout, "dout", (n, steps, w.shape[1]), "the shape of the forward output, (N, T, M)")
    dx, dw, db = _affine_gradients(dout.reshape(n * steps, w.shape[1]), x.reshape(n * steps, d), w)
    return dx.reshape(x.shape), dw, db
