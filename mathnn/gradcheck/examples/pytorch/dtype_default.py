"""rnn_forward whose result takes torch's default dtype: float64 inputs give a float32 output.

``torch.zeros(N, T, H)`` without ``dtype=`` is float32 whatever the inputs are; each step written
into it is rounded to float32. ``mathnn check`` names the dtype and the line.
"""

import torch


def rnn_forward(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    H = h0.shape[1]
    h = torch.zeros(N, T, H, device=x.device)  # BUG: dtype=x.dtype is missing
    prev_h = h0
    for t in range(T):
        prev_h = torch.tanh(x[:, t, :] @ Wx + prev_h @ Wh + b)
        h[:, t, :] = prev_h
    return h
