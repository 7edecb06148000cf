"""STAND-IN for the generated sequence kernels ``mathnn.kernels.rnn.rnn_sequence_forward/backward``.

The experiments need an RNN over whole sequences with any activation, and its pre-activations a_t
(the Jacobian measurements use f′(a_t)). Until code generation writes those kernels, this module is
the one place in the experiments where the recurrence and backpropagation through time are
written out, with the generated kernels' signatures; ``through_time`` and ``recall`` each import it
on one marked line. When ``mathnn.kernels.rnn`` has them, point those two lines there and delete
this file.

CS231n's row form: a_t = x_t Wx + h_{t−1} Wh + b and h_t = f(a_t), Wx = W_xhᵀ, Wh = W_hhᵀ.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..kernels.rnn import rnn_weight_gradients
from ..kernels.tanh import tanh, tanh_grad

Elementwise = Callable[[np.ndarray], np.ndarray]


def rnn_sequence_forward(
    x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray, f: Elementwise | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """h_t = f(x_t Wx + h_{t−1} Wh + b) for t = 1 … T.

    Parameters
    ----------
    x : ndarray of shape (N, T, D)
    h0 : ndarray of shape (N, H)
    Wx : ndarray of shape (D, H)
    Wh : ndarray of shape (H, H)
    b : ndarray of shape (H,)
    f : callable, optional
        The activation, element-wise; tanh when omitted.

    Returns
    -------
    h : ndarray of shape (N, T, H)
        h_1 … h_T.
    a : ndarray of shape (N, T, H)
        a_1 … a_T.
    """
    f = tanh if f is None else f
    n, steps, _ = x.shape
    # time-major buffers, so that every step reads and writes contiguous rows; step by step, the
    # products stay small enough for one OpenBLAS thread
    a = np.empty((steps, n, Wh.shape[0]))
    h = np.empty_like(a)
    prev_h = h0
    for x_t, a_t, h_t in zip(x.swapaxes(0, 1), a, h):
        np.add(x_t @ Wx + prev_h @ Wh, b, out=a_t)
        h_t[...] = prev_h = f(a_t)
    return h.swapaxes(0, 1), a.swapaxes(0, 1)


def rnn_sequence_backward(
    dh: np.ndarray,
    x: np.ndarray,
    h0: np.ndarray,
    h: np.ndarray,
    a: np.ndarray,
    Wx: np.ndarray,
    Wh: np.ndarray,
    f_grad: Elementwise | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backpropagation through time for :func:`rnn_sequence_forward`.

    Parameters
    ----------
    dh : ndarray of shape (N, T, H)
        Upstream ∂L/∂h_t of every step (not through time).
    x, h0, Wx, Wh
        As given to :func:`rnn_sequence_forward`.
    h, a : ndarray of shape (N, T, H)
        As returned by it.
    f_grad : callable, optional
        f′, element-wise; tanh′ when omitted.

    Returns
    -------
    dx : ndarray of shape (N, T, D)
    dh0 : ndarray of shape (N, H)
    dWx : ndarray of shape (D, H)
    dWh : ndarray of shape (H, H)
    db : ndarray of shape (H,)
    """
    f_grad = tanh_grad if f_grad is None else f_grad
    dx = np.empty((x.shape[1], x.shape[0], x.shape[2]), dtype=np.result_type(x, dh))  # time-major, as in the forward
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[0])
    dprev_h = np.zeros_like(h0)
    x_steps, dh_steps, a_steps = (list(array.swapaxes(0, 1)) for array in (x, dh, a))
    prev_h_steps = [h0, *h.swapaxes(0, 1)[:-1]]
    for t in reversed(range(len(x_steps))):
        da = (dh_steps[t] + dprev_h) * f_grad(a_steps[t])  # δ_t = ∂L/∂h_t ⊙ f′(a_t)
        dprev_h = da @ Wh.T
        dx[t], dWx_t, dWh_t, db_t = rnn_weight_gradients(da, x_steps[t], prev_h_steps[t], Wx)
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    dx = dx.swapaxes(0, 1)
    return dx, dprev_h, dWx, dWh, db
