"""rnn_forward that fills a tensor created with requires_grad=True: autograd refuses the first write.

The result is created fresh as a leaf of the graph that requires grad, then filled step by step in
place. ``mathnn check`` names the fresh tensor and the line that creates it.
"""

import torch


def rnn_forward(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    H = h0.shape[1]
    h = torch.zeros(N, T, H, dtype=x.dtype, device=x.device, requires_grad=True)  # BUG: a leaf that requires grad
    prev_h = h0
    for t in range(T):
        prev_h = torch.tanh(x[:, t, :] @ Wx + prev_h @ Wh + b)
        h[:, t, :] = prev_h
    return h
