"""lstm_step_forward that updates the cell state in place: it writes into the caller's prev_c.

``next_c = prev_c`` names the same tensor, not a copy, so ``next_c *= f`` overwrites the input, which
autograd refuses for a tensor it differentiates. ``mathnn check`` names the in-place write into
prev_c and the lines.
"""

import torch


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i = torch.sigmoid(a[:, :H])
    f = torch.sigmoid(a[:, H:2 * H])
    o = torch.sigmoid(a[:, 2 * H:3 * H])
    g = torch.tanh(a[:, 3 * H:])
    next_c = prev_c  # BUG: the same tensor as prev_c; write next_c = f * prev_c + i * g
    next_c *= f
    next_c += i * g
    next_h = o * torch.tanh(next_c)
    return next_h, next_c
