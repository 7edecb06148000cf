"""lstm_step_forward that scales tanh(next_c) in place: autograd needs the value it overwrote.

``torch.tanh`` keeps its output for the backward pass (its derivative is 1 - tanh²); ``*=``
overwrites that output, and autograd refuses to differentiate. ``mathnn check`` names the in-place
operation and the line.
"""

import torch


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i = torch.sigmoid(a[:, :H])
    f = torch.sigmoid(a[:, H:2 * H])
    o = torch.sigmoid(a[:, 2 * H:3 * H])
    g = torch.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    next_h = torch.tanh(next_c)
    next_h *= o  # BUG: overwrites the output tanh saved; write next_h = o * torch.tanh(next_c)
    return next_h, next_c
