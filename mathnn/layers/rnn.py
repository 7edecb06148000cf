"""Recurrent layers, as in CS231n assignment 3: one tanh RNN step and the RNN over whole sequences.

The arithmetic is the generated kernel :mod:`mathnn.kernels.rnn`; this module checks the input and
keeps what the backward pass needs (with copies of the weights, so that updating them in place before
the backward pass does not change the gradient).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..kernels import rnn as _rnn
from ..validate import as_float_array
from ._checks import check_cache, expect_shape, shaped, upstream

__all__ = ["RNNCache", "RNNStepCache", "rnn_backward", "rnn_forward", "rnn_step_backward", "rnn_step_forward"]


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


def _rnn_arguments(
    x: object, h_name: str, prev_h: object, Wx: object, Wh: object, b: object, x_layout: str, x_ndim: int
) -> tuple[np.ndarray, ...]:
    """x, the initial hidden state, Wx, Wh and b, checked against each other.

    N and D come from x, H from Wx; every other shape is stated in terms of them.
    """
    x = shaped(x, "x", x_layout, x_ndim)
    n, d = x.shape[0], x.shape[-1]
    Wx = as_float_array(Wx, "Wx")
    if Wx.ndim != 2 or Wx.shape[0] != d or Wx.shape[1] == 0:
        raise InputError(
            f"Wx: expected shape ({d}, H) with H ≥ 1 ({d} = D, the last dimension of x with shape {x.shape}); "
            f"received shape {Wx.shape}"
        )
    h = Wx.shape[1]
    Wh = as_float_array(Wh, "Wh")
    expect_shape(Wh, "Wh", (h, h), f"(H, H) with H = {h} from Wx with shape {Wx.shape}")
    b = as_float_array(b, "b")
    expect_shape(b, "b", (h,), f"one per hidden unit, H = {h} from Wx with shape {Wx.shape}")
    prev_h = as_float_array(prev_h, h_name)
    expect_shape(prev_h, h_name, (n, h), f"(N, H): N = {n} from x with shape {x.shape}, H = {h} from Wx")
    return x, prev_h, Wx, Wh, b


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
    check_cache(cache, RNNStepCache, "rnn_step_forward", named=(RNNCache,))
    dnext_h = upstream(dnext_h, "dnext_h", cache.next_h.shape, "the shape of next_h from the forward pass")
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
    # per-step views made once: indexing inside the loop would cost as much as the arithmetic
    x_steps, h_steps = list(x.swapaxes(0, 1)), list(h.swapaxes(0, 1))
    prev_h = h0
    for x_t, h_t in zip(x_steps, h_steps):
        h_t[...] = prev_h = _rnn.rnn_step_forward(x_t, prev_h, Wx, Wh, b)
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
    check_cache(cache, RNNCache, "rnn_forward", named=(RNNStepCache,))
    dh = upstream(dh, "dh", cache.h.shape, "the shape of h from the forward pass, (N, T, H)")
    h = cache.h
    n, steps, hidden = h.shape
    da = np.empty(h.shape, dtype=np.result_type(dh, h, cache.Wh))
    dprev_h = np.zeros((n, hidden), dtype=da.dtype)
    # per-step views made once, as in rnn_forward
    steps_back = zip(*(reversed(list(array.swapaxes(0, 1))) for array in (dh, h, da)))
    for dh_t, h_t, da_t in steps_back:
        dnext_h = dh_t + dprev_h  # a new array: the caller's dh is never written to
        da_t[...], dprev_h = _rnn.rnn_step_delta(dnext_h, h_t, cache.Wh)
    # h_{t−1} of every step: h0, then h_1 … h_{T−1}
    prev_h = np.concatenate((cache.h0[:, np.newaxis], h[:, :-1]), axis=1)
    rows = n * steps
    d = cache.x.shape[2]
    dx, dWx, dWh, db = _rnn.rnn_weight_gradients(
        da.reshape(rows, hidden), cache.x.reshape(rows, d), prev_h.reshape(rows, hidden), cache.Wx
    )
    return dx.reshape(n, steps, d), dprev_h, dWx, dWh, db
