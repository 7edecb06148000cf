"""rnn_step_forward computed in numpy: the numbers are right, autograd has nothing to follow.

``.detach().numpy()`` takes the numbers out of autograd's graph and ``torch.from_numpy`` makes a new
tensor without one. ``mathnn check`` names the broken graph and the lines.
"""

import numpy as np
import torch


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    a = x.detach().numpy() @ Wx.detach().numpy() + prev_h.detach().numpy() @ Wh.detach().numpy()
    return torch.from_numpy(np.tanh(a + b.detach().numpy()))  # BUG: numpy is invisible to autograd
