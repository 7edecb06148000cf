"""The recurrent cells of the remedies lab: their initialisations, and the exact gradient at every lag.

A :class:`Cell` is an RNN (tanh or ReLU; Gaussian, orthogonal or identity W_hh), an LSTM (a
forget-gate bias) or a GRU (an update-gate bias), run with the generated sequence kernels.

How ∂L/∂h_t is read off the kernels. The sequence kernels return ∂L/∂x_t = δ_t W_xᵀ at every step
(δ_t the gradient of the step's pre-activations) and ∂L/∂h_0, not ∂L/∂h_t. Appending n zero
columns to every input x_t and the n rows of W_h under W_x leaves the forward pass unchanged
(the extra inputs are 0), and makes the last n columns of ∂L/∂x_{t+1} equal δ_{t+1} W_hᵀ =
∂L/∂h_t, exactly: one backward pass gives the gradient at every lag. For the LSTM, h_t is the
output state and the gradient includes every path through the cell c; the cell starts at 0 as in
the kernels. The GRU's h_{t−1} also reaches h_t without W_h (z ⊙ h_{t−1}), so its ∂L/∂h_t is read
as ∂L/∂h_0 of the sequence from step t + 1 on, started at h_t: T backward passes, as exact.
"""


from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..kernels.gru import gru_sequence_backward, gru_sequence_forward
from ..kernels.lstm import lstm_sequence_backward, lstm_sequence_forward
from ..kernels.rnn import rnn_sequence_backward, rnn_sequence_forward
from ..validate import describe, positive_real, real_scalar
from .common import activation_kernels


# -- cells and their initialisations -----------------------------------------------------------------

RNN_INITS = ("gaussian", "orthogonal", "identity")
"""W_hh of an RNN: entries N(0, 1/n) (λ₁ ≈ 2), a random orthogonal matrix, or the identity (IRNN)."""

FORGET_BIASES = (0.0, 1.0, 3.0)
"""The LSTM forget-gate biases the lab compares (Jozefowicz et al. 2015 recommend 1)."""


@dataclass(frozen=True)
class Cell:
    """A recurrent cell and its initialisation.

    Attributes
    ----------
    name : str
        How tables, JSON and figures call it.
    kind : {'rnn', 'lstm', 'gru'}
    activation : str
        f of an RNN ('tanh' or 'relu'); the LSTM's gates are fixed (σ, tanh).
    init : {'gaussian', 'orthogonal', 'identity'}
        W_hh of an RNN; the LSTM's W_h is Gaussian, N(0, 1/n) per entry.
    gain : float
        W_hh is multiplied by it (RNN only).
    forget_bias : float
        The LSTM's forget-gate bias b_f; the other biases are 0. For the GRU, the update gate's bias
        (a positive one keeps h_{t−1}: h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}).
    """

    name: str
    kind: str
    activation: str = "tanh"
    init: str = "gaussian"
    gain: float = 1.0
    forget_bias: float = 0.0

    @property
    def gamma_lambda(self) -> float | None:
        """λ₁γ of an RNN with orthogonal or identity W_hh (λ₁ = gain, γ = 1 for tanh and ReLU); else None."""
        if self.kind == "rnn" and self.init in ("orthogonal", "identity"):
            return self.gain * activation_kernels(self.activation).gamma
        return None


def rnn_cell(activation: str = "tanh", init: str = "gaussian", gain: float = 1.0, name: str | None = None) -> Cell:
    """An RNN cell: ``activation`` in {'tanh', 'relu'}, W_hh ``init`` in :data:`RNN_INITS`, times ``gain``."""
    if activation not in ("tanh", "relu"):
        raise InputError(f"activation: expected 'tanh' or 'relu'; received {describe(activation)}")
    if init not in RNN_INITS:
        raise InputError(f"init: expected one of {', '.join(map(repr, RNN_INITS))}; received {describe(init)}")
    gain = positive_real(gain, "gain", "the factor W_hh is multiplied by")
    if name is None:
        name = "IRNN" if (activation, init) == ("relu", "identity") else f"{activation} RNN, {init}"
        if gain != 1.0:
            name += f" ×{gain:g}"
    return Cell(name, "rnn", activation, init, gain)


def lstm_cell(forget_bias: float = 1.0, name: str | None = None) -> Cell:
    """An LSTM cell whose forget-gate bias starts at ``forget_bias`` (0, 1 and 3 are compared here)."""
    forget_bias = real_scalar(forget_bias, "forget_bias", "the forget gate's initial bias")
    return Cell(f"LSTM, b_f = {forget_bias:g}" if name is None else name, "lstm", forget_bias=forget_bias)


def gru_cell(update_bias: float = 1.0, name: str | None = None) -> Cell:
    """A GRU cell (Cho et al. 2014) whose update-gate bias starts at ``update_bias``."""
    update_bias = real_scalar(update_bias, "update_bias", "the update gate's initial bias")
    return Cell(f"GRU, b_z = {update_bias:g}" if name is None else name, "gru", forget_bias=update_bias)


CELLS: dict[str, Cell] = {
    "tanh": rnn_cell("tanh", "gaussian", name="tanh RNN"),
    "irnn": rnn_cell("relu", "identity"),
    "tanh-orthogonal": rnn_cell("tanh", "orthogonal", name="tanh RNN, orthogonal"),
    "relu-orthogonal": rnn_cell("relu", "orthogonal", name="ReLU RNN, orthogonal"),
    "lstm-f0": lstm_cell(0.0),
    "lstm-f1": lstm_cell(1.0),
    "lstm-f3": lstm_cell(3.0),
    "gru": gru_cell(1.0),
    "exploding": rnn_cell("relu", "identity", 1.2, name="ReLU RNN, 1.2·I"),
}
"""The named cells of the lab; ``exploding`` has λ₁γ = 1.2 > 1."""


def cell_named(key: object) -> Cell:
    """The cell of :data:`CELLS` called ``key``."""
    if not isinstance(key, str) or key not in CELLS:
        raise InputError(f"cell: expected one of {', '.join(map(repr, CELLS))}; received {describe(key)}")
    return CELLS[key]


def init_cell(cell: Cell, inputs: int, hidden: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """W_x, W_h and b of ``cell`` in CS231n's row form (h_t = f(x_t W_x + h_{t−1} W_h + b)).

    RNN: W_x (d, n) with entries N(0, 1/d), W_h (n, n) as ``cell.init`` times ``cell.gain``, b = 0.
    LSTM: W_x (d, 4n) N(0, 1/d), W_h (n, 4n) N(0, 1/n), gates in CS231n's order i, f, o, g; b = 0
    except the forget gate's n entries, which are ``cell.forget_bias``.

    Parameters
    ----------
    cell : Cell
    inputs, hidden : int
        d and n.
    rng : numpy.random.Generator

    Returns
    -------
    dict with 'Wx', 'Wh', 'b'
    """
    width = {"lstm": 4, "gru": 3}.get(cell.kind, 1) * hidden
    Wx = rng.standard_normal((inputs, width)) / math.sqrt(inputs)
    gaussian = rng.standard_normal((hidden, width))
    b = np.zeros(width)
    if cell.kind in ("lstm", "gru"):  # the forget gate is the LSTM's second block, the update gate the GRU's first
        Wh = gaussian / math.sqrt(hidden)
        gate = slice(hidden, 2 * hidden) if cell.kind == "lstm" else slice(0, hidden)
        b[gate] = cell.forget_bias
    elif cell.init == "gaussian":
        Wh = cell.gain * gaussian / math.sqrt(hidden)
    elif cell.init == "orthogonal":
        q, r = np.linalg.qr(gaussian)
        Wh = cell.gain * q * np.sign(np.diag(r))  # signs fixed so the matrix is uniformly distributed
    else:
        Wh = cell.gain * np.eye(hidden)
    return {"Wx": Wx, "Wh": Wh, "b": b}


def _forward(cell: Cell, x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray) -> tuple:
    """The generated sequence forward: h (N, T, n) first, then what the backward needs."""
    if cell.kind == "lstm":
        h, _, i, f, o, g, c, tanh_c = lstm_sequence_forward(x, h0, Wx, Wh, b)
        return h, (i, f, o, g, c, tanh_c)
    if cell.kind == "gru":
        h, *states = gru_sequence_forward(x, h0, Wx, Wh, b)
        return h, tuple(states)
    f_ = activation_kernels(cell.activation)
    h, a = rnn_sequence_forward(x, h0, Wx, Wh, b, f=f_.forward)
    return h, (a,)


def _backward(cell: Cell, dh: np.ndarray, x: np.ndarray, h0: np.ndarray, h: np.ndarray, saved: tuple,
              Wx: np.ndarray, Wh: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The generated backpropagation through time: dx, dh0, dWx, dWh, db."""
    if cell.kind == "lstm":
        i, f, o, g, c, tanh_c = saved
        return lstm_sequence_backward(dh, x, h0, h, i, f, o, g, c, tanh_c, Wx, Wh)
    if cell.kind == "gru":
        ah, z, r, n = _gru_needed(saved)
        return gru_sequence_backward(dh, x, h0, h, ah, z, r, n, Wx, Wh)
    f_ = activation_kernels(cell.activation)
    return rnn_sequence_backward(dh, x, h0, h, saved[0], Wx, Wh, f_grad=f_.grad)


def _gru_needed(states: tuple) -> tuple:
    """The GRU forward's states that its backward kernel takes, in its order."""
    from ..kernels.gru import SEQUENCE

    spec: dict[str, Any] = SEQUENCE
    named = dict(zip(spec["states"][1:], states))
    return tuple(named[name] for name in spec["backward_arguments"][3:-2])  # after x, h0, h; before Wx, Wh


# -- the gradient at every lag ------------------------------------------------------------------------


def state_gradients(
    cell: Cell, params: dict[str, np.ndarray], x: np.ndarray, upstream: np.ndarray, h0: np.ndarray | None = None
) -> np.ndarray:
    """∂L/∂h_t for t = 0 … T, with L = Σ_rows upstream · h_T (a loss at the last step only).

    Exact, by one pass of the generated backward kernel on inputs padded with n zero columns and
    W_x stacked on W_h (see the module's docstring).

    Parameters
    ----------
    cell : Cell
    params : dict with 'Wx', 'Wh', 'b'
    x : ndarray of shape (N, T, d)
    upstream : ndarray of shape (N, n)
        ∂L/∂h_T.
    h0 : ndarray of shape (N, n), optional
        Default zeros.

    Returns
    -------
    ndarray of shape (N, T + 1, n)
        Index t holds ∂L/∂h_t; index T is ``upstream``.
    """
    count, steps, inputs = x.shape
    hidden = params["Wh"].shape[0]
    h0 = np.zeros((count, hidden)) if h0 is None else h0
    if cell.kind == "gru":  # h_{t−1} also reaches h_t directly (z ⊙ h_{t−1}): the padding trick misses it
        return _suffix_gradients(cell, params, x, upstream, h0)
    padded = np.concatenate([x, np.zeros((count, steps, hidden))], axis=-1)
    stacked = np.concatenate([params["Wx"], params["Wh"]], axis=0)
    h, saved = _forward(cell, padded, h0, stacked, params["Wh"], params["b"])
    dh = np.zeros_like(h)
    dh[:, -1] = upstream
    dx, dh0, *_ = _backward(cell, dh, padded, h0, h, saved, stacked, params["Wh"])
    gradients = np.concatenate([dx[:, :, inputs:], upstream[:, None, :]], axis=1)
    gradients[:, 0] = dh0  # the same numbers (δ_1 W_hᵀ), taken from the kernel's own output
    return gradients


def _suffix_gradients(cell: Cell, params: dict[str, np.ndarray], x: np.ndarray, upstream: np.ndarray,
                      h0: np.ndarray) -> np.ndarray:
    """∂L/∂h_t as ∂L/∂h_0 of the sequence from step t + 1 on, started at h_t: exact for any cell, T backward passes."""
    h, _ = _forward(cell, x, h0, params["Wx"], params["Wh"], params["b"])
    states = np.concatenate([h0[:, None], h], axis=1)
    gradients = np.empty_like(states)
    gradients[:, -1] = upstream
    for t in range(x.shape[1]):
        suffix = x[:, t:]
        hs, saved = _forward(cell, suffix, states[:, t], params["Wx"], params["Wh"], params["b"])
        dh = np.zeros_like(hs)
        dh[:, -1] = upstream
        gradients[:, t] = _backward(cell, dh, suffix, states[:, t], hs, saved, params["Wx"], params["Wh"])[1]
    return gradients


def lag_ratios(cell: Cell, params: dict[str, np.ndarray], x: np.ndarray, upstream: np.ndarray) -> np.ndarray:
    """‖∂L/∂h_{T−k}‖ / ‖∂L/∂h_T‖ for k = 0 … T, one row per sequence: shape (N, T + 1)."""
    norms = np.linalg.norm(state_gradients(cell, params, x, upstream), axis=-1)
    return norms[:, ::-1] / norms[:, -1:]  # column T holds ‖∂L/∂h_T‖
