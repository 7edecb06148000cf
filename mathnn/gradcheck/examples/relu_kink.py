"""A correct ReLU, checked at inputs that include exact zeros: the kink.

At x = 0 the ReLU has no derivative: the slope is 0 from the left and 1 from the right, and any value
between them is a valid subgradient. This backward pass takes 1 there (``x >= 0``; CS231n and
mathnn.layers take 0). A central difference across the kink gives 1/2, which matches neither; the
checker sees the one-sided slopes disagree and accepts the kink. ``mathnn check`` passes relu.
"""



def relu_forward(x):
    out = x * (x >= 0)
    cache = x
    return out, cache


def relu_backward(dout, cache):
    x = cache
    dx = dout.copy()
    dx[x < 0] = 0
    return dx
