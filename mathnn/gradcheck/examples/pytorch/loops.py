"""Correct PyTorch functions that look suspicious and are not bugs.

Python loops where a broadcast would do are slower than ``x @ w + b`` on the whole batch, and just
as right: autograd follows the loop. A result filled into a tensor created with the inputs' dtype and
device is right too, and so is an in-place ``+=`` into a tensor the function made itself and nothing
saved for the backward pass.
"""

import torch


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    a = x @ Wx
    a += prev_h @ Wh  # in place into this function's own tensor: the product does not need it back
    a += b
    return torch.tanh(a)


def rnn_forward(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    H = h0.shape[1]
    h = torch.zeros(N, T, H, dtype=x.dtype, device=x.device)
    prev_h = h0
    for t in range(T):
        prev_h = torch.tanh(x[:, t, :] @ Wx + prev_h @ Wh + b)
        h[:, t, :] = prev_h
    return h


def temporal_affine_forward(x, w, b):
    steps = [x[:, t, :] @ w + b for t in range(x.shape[1])]
    return torch.stack(steps, dim=1)


def word_embedding_forward(x, W):
    N, T = x.shape
    out = torch.zeros(N, T, W.shape[1], dtype=W.dtype, device=W.device)
    for n in range(N):
        for t in range(T):
            out[n, t] = W[x[n, t]]
    return out
