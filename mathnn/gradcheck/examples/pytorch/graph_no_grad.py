"""word_embedding_forward under torch.no_grad(): the lookup is right, W gets no gradient.

``torch.no_grad()`` turns autograd off for what it encloses, a habit from evaluation code.
``mathnn check`` names the broken graph and the line.
"""

import torch


def word_embedding_forward(x, W):
    with torch.no_grad():  # BUG: autograd records nothing in here
        out = W[x]
    return out
