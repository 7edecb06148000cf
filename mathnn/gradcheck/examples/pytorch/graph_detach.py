"""rnn_forward that detaches the hidden state between steps: autograd stops at every step.

Each step's output is right, but ``prev_h = next_h.detach()`` cuts the path from h_t back to
h_{t-1}, so backpropagation through time sees only one step. ``mathnn check`` names the broken graph
and the line.
"""

import torch


def rnn_forward(x, h0, Wx, Wh, b):
    hidden = []
    prev_h = h0
    for t in range(x.shape[1]):
        next_h = torch.tanh(x[:, t, :] @ Wx + prev_h @ Wh + b)
        hidden.append(next_h)
        prev_h = next_h.detach()  # BUG: the gradient no longer flows from step t + 1 to step t
    return torch.stack(hidden, dim=1)
