"""temporal_softmax_loss that adds up Python floats: the loss is right, but it is no tensor.

``.item()`` turns each step's loss into a Python number, so autograd cannot differentiate the sum.
``mathnn check`` names the broken graph and the line.
"""

import torch


def temporal_softmax_loss(x, y, mask):
    N, T, _ = x.shape
    loss = 0.0
    for t in range(T):
        log_probs = torch.log_softmax(x[:, t, :], dim=-1)
        picked = log_probs[torch.arange(N), y[:, t].long()]
        loss += -(picked * mask[:, t]).sum().item()  # BUG: a float, outside autograd's graph
    return loss / N
