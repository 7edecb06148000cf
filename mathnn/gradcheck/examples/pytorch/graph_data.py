"""temporal_affine_forward that multiplies by ``w.data``: dx and db are right, dw is zero.

``.data`` is the tensor's numbers without its place in the graph, so no gradient reaches w.
``mathnn check`` names the input the gradient does not reach and the line.
"""

import torch


def temporal_affine_forward(x, w, b):
    return torch.matmul(x, w.data) + b  # BUG: w.data is outside autograd's graph
