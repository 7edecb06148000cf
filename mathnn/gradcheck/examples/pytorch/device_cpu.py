"""rnn_forward whose result is created on the CPU: it fails as soon as its inputs live on a GPU.

``torch.zeros(N, T, H, dtype=x.dtype)`` without ``device=`` is a CPU tensor, and writing a GPU step
into it fails. On a machine without a GPU, ``mathnn check`` runs the function on PyTorch's meta
device, which catches the same mistake, and names the line.
"""

import torch


def rnn_forward(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    H = h0.shape[1]
    h = torch.zeros(N, T, H, dtype=x.dtype)  # BUG: device=x.device is missing
    prev_h = h0
    for t in range(T):
        prev_h = torch.tanh(x[:, t, :] @ Wx + prev_h @ Wh + b)
        h[:, t, :] = prev_h
    return h
