"""Recurrent layers, as in CS231n assignment 3: one tanh RNN step and the RNN over whole sequences.

The arithmetic is generated: :mod:`mathnn.kernels.rnn_step` (the step rule's kernels) for one step,
:mod:`mathnn.kernels.rnn` (that step unrolled: the recurrence and backpropagation through time) for
whole sequences. This module
checks the input and keeps what the backward pass needs (with copies of the weights, so that
updating them in place before the backward pass does not change the gradient). The sequence layer
also runs with the other activations of the lecture (``activation=``), for the vanishing-gradient
experiments; tanh, CS231n's, is the default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..activations import ACTIVATIONS, generated
from ..errors import InputError
from ..kernels import rnn as _rnn
from ..kernels import rnn_step as _step
from ..validate import as_float_array, describe, real_scalar
from ._checks import check_cache, expect_shape, shaped, upstream

__all__ = ["RNNCache", "RNNStepCache", "rnn_backward", "rnn_forward", "rnn_step_backward", "rnn_step_forward"]

#: The element-wise activations :func:`rnn_forward` accepts, each with its generated kernel
#: ``mathnn.kernels.<name>`` (``<name>`` and ``<name>_grad``); tanh is CS231n's and the default.
DEFAULT_ACTIVATION = "tanh"
LEAKY_ALPHA = 0.01

Elementwise = Callable[[np.ndarray], np.ndarray]


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
    a : ndarray of shape (N, T, H) or None
        The pre-activations a_t = x_t Wx + h_{t−1} Wh + b (f′ is evaluated there for every
        activation but tanh, whose f′ = 1 − h² comes from h).
    activation : str
        One of ``mathnn.layers.rnn.ACTIVATIONS``.
    alpha : float
        Leaky ReLU's slope for a ≤ 0 (unused by the other activations).
    """

    x: np.ndarray
    h0: np.ndarray
    Wx: np.ndarray
    Wh: np.ndarray
    h: np.ndarray
    a: np.ndarray | None = None
    activation: str = DEFAULT_ACTIVATION
    alpha: float = LEAKY_ALPHA


def _activation(activation: object, alpha: object) -> tuple[Elementwise | None, Elementwise | None]:
    """f and f′ for the sequence kernels, from :mod:`mathnn.kernels.<activation>`; (None, None) for tanh.

    For tanh the kernels' own default is used (f′ = 1 − h², from the output), which is CS231n's
    arithmetic. A kernel with a slope parameter (Leaky ReLU's) gets ``alpha``.
    """
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise InputError(
            f"activation: expected one of {', '.join(map(repr, ACTIVATIONS))}; received {describe(activation)}"
        )
    slope = real_scalar(alpha, "alpha", f"Leaky ReLU's slope for a ≤ 0, default {LEAKY_ALPHA}")
    if activation == DEFAULT_ACTIVATION:
        return None, None
    f, f_grad, _ = generated(activation, slope)
    return f, f_grad


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
    next_h = _step.rnn_step_forward_kernel(x, prev_h, Wx, Wh, b)[0]
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
    return _step.rnn_step_backward_kernel(dnext_h, cache.x, cache.prev_h, cache.Wx, cache.Wh, cache.next_h)


def rnn_forward(
    x: np.ndarray,
    h0: np.ndarray,
    Wx: np.ndarray,
    Wh: np.ndarray,
    b: np.ndarray,
    activation: str = DEFAULT_ACTIVATION,
    alpha: float = LEAKY_ALPHA,
) -> tuple[np.ndarray, RNNCache]:
    """An RNN over whole sequences, as in CS231n assignment 3: h_t = f(x_t Wx + h_{t−1} Wh + b) for t = 1 … T.

    With the default f = tanh this is :func:`rnn_step_forward` for every step, CS231n's layer.

    Parameters
    ----------
    x : array_like of shape (N, T, D)
        N input sequences of length T.
    h0 : array_like of shape (N, H)
        Initial hidden state.
    Wx : array_like of shape (D, H)
        Input-to-hidden weights, shared by every step as in :func:`rnn_step_forward`.
    Wh : array_like of shape (H, H)
        Hidden-to-hidden weights, likewise shared.
    b : array_like of shape (H,)
        Bias, likewise shared.
    activation : {'tanh', 'sigmoid', 'relu', 'leaky_relu'}, default 'tanh'
        The element-wise f, from its generated kernel (``mathnn.layers.rnn.ACTIVATIONS``).
    alpha : float, default 0.01
        Leaky ReLU's slope for a ≤ 0 (ignored by the other activations).

    Returns
    -------
    h : ndarray of shape (N, T, H)
        Hidden states h_1 … h_T (h0 is not included).
    cache : RNNCache
        For :func:`rnn_backward` (with copies of Wx and Wh).
    """
    x, h0, Wx, Wh, b = _rnn_arguments(x, "h0", h0, Wx, Wh, b, "(N, T, D)", 3)
    f, _ = _activation(activation, alpha)
    h, a = _rnn.rnn_sequence_forward(x, h0, Wx, Wh, b, f=f)
    return h, RNNCache(x, h0, Wx.copy(), Wh.copy(), h, a, activation, float(alpha))


def rnn_backward(
    dh: np.ndarray, cache: RNNCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backpropagation through time for :func:`rnn_forward`.

    Going backwards over t, the gradient reaching h_t is the upstream dh[:, t] plus what flows back
    from step t + 1; the step's δ_t = (that sum) ⊙ f′(a_t) then sends δ_t Whᵀ on to h_{t−1}. The
    weight gradients are the sums Σ_t x_tᵀ δ_t, Σ_t h_{t−1}ᵀ δ_t, Σ_t δ_t and dx_t = δ_t Wxᵀ.

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
        δ_t Wxᵀ at every step t.
    dh0 : ndarray of shape (N, H)
        δ_1 Whᵀ, what reaches h0 through time.
    dWx : ndarray of shape (D, H)
        Σ_t x_tᵀ δ_t.
    dWh : ndarray of shape (H, H)
        Σ_t h_{t−1}ᵀ δ_t.
    db : ndarray of shape (H,)
        Σ_t δ_t.
    """
    check_cache(cache, RNNCache, "rnn_forward", named=(RNNStepCache,))
    dh = upstream(dh, "dh", cache.h.shape, "the shape of h from the forward pass, (N, T, H)")
    _, f_grad = _activation(cache.activation, cache.alpha)
    assert cache.a is not None, "rnn_forward keeps the pre-activations"
    return _rnn.rnn_sequence_backward(dh, cache.x, cache.h0, cache.h, cache.a, cache.Wx, cache.Wh, f_grad=f_grad)
