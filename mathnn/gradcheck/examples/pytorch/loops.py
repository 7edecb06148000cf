"""Correct PyTorch functions written with Python loops where a broadcast would do: not a bug.

Slower than ``x @ w + b`` on the whole batch, and just as right: autograd follows the loop. The
result is filled into a tensor created with the inputs' dtype and device, which is right too.
"""

import torch


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
