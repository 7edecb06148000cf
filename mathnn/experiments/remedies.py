"""Remedies for the vanishing gradient, measured: initialisations, the LSTM's forget gate, clipping.

Three measurements, all with the generated sequence kernels (:mod:`mathnn.kernels.rnn`,
:mod:`mathnn.kernels.lstm`):

1. :func:`lag_experiment` — the gradient ratio ‖∂L/∂h_{T−k}‖ / ‖∂L/∂h_T‖ against the lag k, with
   the loss at the last step only, for a tanh RNN (random Gaussian W_hh), the IRNN (ReLU, W_hh = I;
   Le, Jaitly and Hinton 2015), orthogonal W_hh, and the LSTM (Hochreiter and Schmidhuber 1997)
   with forget-gate bias 0, 1 and 3 (Gers, Schmidhuber and Cummins 2000; Jozefowicz, Zaremba and
   Sutskever 2015), and the GRU (Cho et al. 2014), over several seeds. It also measures the exploding case, a ReLU RNN with
   W_hh = 1.2·I (λ₁γ = 1.2 > 1), and what gradient-norm clipping (Pascanu, Mikolov and Bengio
   2013) does to the update.
2. :func:`remember_experiment` — a long-distance task: the sign of the first input, to be given
   after k further steps of noise. Test accuracy against k for a tanh RNN, the IRNN and the LSTM,
   several seeds, trained by plain gradient descent.

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
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..kernels.gru import gru_sequence_backward, gru_sequence_forward
from ..kernels.lstm import lstm_sequence_backward, lstm_sequence_forward
from ..kernels.rnn import rnn_sequence_backward, rnn_sequence_forward
from ..kernels.softmax_ce import softmax_cross_entropy
from ..layers import affine_backward, affine_forward
from ..optim import clip_by_global_norm, sgd
from ..progress import progress
from ..validate import describe, positive_real, real_scalar
from .common import activation_kernels, as_integer, as_seed, json_floats


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


@dataclass(frozen=True)
class ClipRow:
    """One sequence length of the exploding RNN: the gradient and the update, with and without clipping."""

    steps: int
    grad_norm: float
    update_unclipped: float
    update_clipped: float
    cosine: float


@dataclass(frozen=True)
class LagExperiment:
    """The gradient ratio against the lag, per cell and seed, and clipping on the exploding cell.

    Attributes
    ----------
    cells : list of str
        Keys of :data:`CELLS`.
    names : list of str
        The cells' readable names.
    lags : list of int
        k = 0 … K.
    seeds : list of int
    ratios : ndarray of shape (len(cells), len(seeds), K + 1)
        Per seed, the median over the sequences of ‖∂L/∂h_{T−k}‖ / ‖∂L/∂h_T‖.
    bounds : dict of str to list of float
        (λ₁γ)^k for the cells where λ₁ is known exactly (orthogonal or identity W_hh).
    clip : list of ClipRow
        The exploding cell (λ₁γ = 1.2): ‖g‖ of all parameters for a loss at the last step, the update
        η‖g‖ without clipping and after :func:`mathnn.optim.clip_by_global_norm` at θ, and the
        cosine between the two updates.
    hidden, inputs, sequences : int
    learning_rate, threshold : float
        η and θ of the clipping measurement.
    seconds : float
    """

    cells: list[str]
    names: list[str]
    lags: list[int]
    seeds: list[int]
    ratios: np.ndarray
    bounds: dict[str, list[float]]
    clip: list[ClipRow]
    hidden: int
    inputs: int
    sequences: int
    learning_rate: float
    threshold: float
    seconds: float

    def median(self) -> np.ndarray:
        """Median over the seeds: shape (len(cells), K + 1)."""
        return np.median(self.ratios, axis=1)

    def at(self, cell: str, lag: int) -> tuple[float, float, float]:
        """(median, min, max) over the seeds of the ratio of ``cell`` at ``lag``."""
        values = self.ratios[self.cells.index(cell), :, self.lags.index(lag)]
        return float(np.median(values)), float(values.min()), float(values.max())

    def to_dict(self) -> dict[str, Any]:
        """Every figure as plain Python."""
        return {
            "cells": self.cells,
            "names": dict(zip(self.cells, self.names)),
            "lags": self.lags,
            "seeds": self.seeds,
            "ratio": {
                cell: {
                    "per_seed": {str(seed): json_floats(row) for seed, row in zip(self.seeds, rows)},
                    "median": json_floats(np.median(rows, axis=0)),
                    "min": json_floats(rows.min(axis=0)),
                    "max": json_floats(rows.max(axis=0)),
                }
                for cell, rows in zip(self.cells, self.ratios)
            },
            "bounds": self.bounds,
            "clip": [row.__dict__ for row in self.clip],
            "hidden": self.hidden,
            "inputs": self.inputs,
            "sequences": self.sequences,
            "learning_rate": self.learning_rate,
            "threshold": self.threshold,
            "seconds": self.seconds,
        }


LAG_CELLS = ("tanh", "irnn", "tanh-orthogonal", "relu-orthogonal", "lstm-f0", "lstm-f1", "lstm-f3", "gru", "exploding")


def _cells(keys: object, name: str) -> list[str]:
    if isinstance(keys, str):
        keys = (keys,)
    if not isinstance(keys, Iterable) or not (keys := list(dict.fromkeys(keys))):
        raise InputError(f"{name}: expected a non-empty list of names from {', '.join(CELLS)}; received {describe(keys)}")
    for key in keys:
        cell_named(key)
    return [str(key) for key in keys]


def _seeds(seed: int, seeds: int) -> list[int]:
    seed = as_seed(seed)
    return list(range(seed, seed + as_integer(seeds, "seeds", "how many seeds", 1)))


def lag_experiment(
    cells: Sequence[str] = LAG_CELLS,
    max_lag: int = 50,
    hidden: int = 32,
    inputs: int = 8,
    sequences: int = 16,
    seeds: int = 5,
    seed: int = 0,
    clip_steps: Sequence[int] = (10, 20, 40, 80),
    learning_rate: float = 0.1,
    threshold: float = 1.0,
) -> LagExperiment:
    """‖∂L/∂h_{T−k}‖ / ‖∂L/∂h_T‖ for k = 0 … K, loss at the last step only, per cell and seed.

    For each seed: the cell's initialisation (:func:`init_cell`), ``sequences`` input sequences
    of length K with entries N(0, 1) (as in :func:`~mathnn.experiments.random_recurrence`), and
    ∂L/∂h_T with entries N(0, 1); the ratio of each sequence by :func:`state_gradients`, then the
    median over the sequences.

    Clipping: on the ``exploding`` cell (ReLU, W_hh = 1.2·I), for each length in ``clip_steps``, the
    gradient g of L = mean over sequences of upstream · h_T with respect to (W_x, W_h, b), the update
    η‖g‖, and the update after clipping to global norm θ.

    Parameters
    ----------
    cells : sequence of str, default all of :data:`LAG_CELLS`
    max_lag : int, default 50
        K, also the sequence length.
    hidden, inputs : int, default 32, 8
    sequences : int, default 16
    seeds : int, default 5
        Seeds seed, seed + 1, …
    seed : int, default 0
    clip_steps : sequence of int, default (10, 20, 40, 80)
    learning_rate, threshold : float, default 0.1, 1.0

    Returns
    -------
    LagExperiment
    """
    start = time.perf_counter()
    keys = _cells(cells, "cells")
    max_lag = as_integer(max_lag, "max_lag", "the largest lag K", 1)
    hidden = as_integer(hidden, "hidden", "the number of hidden units", 1)
    inputs = as_integer(inputs, "inputs", "the input size", 1)
    sequences = as_integer(sequences, "sequences", "sequences per seed", 1)
    seed_list = _seeds(seed, seeds)
    learning_rate = positive_real(learning_rate, "learning_rate", "the step size η")
    threshold = positive_real(threshold, "threshold", "the clipping threshold θ")
    ratios = np.empty((len(keys), len(seed_list), max_lag + 1))
    for j, s in enumerate(seed_list):
        data = np.random.default_rng([s, 10])
        x = data.standard_normal((sequences, max_lag, inputs))
        upstream = data.standard_normal((sequences, hidden))
        for i, key in enumerate(keys):
            params = init_cell(CELLS[key], inputs, hidden, np.random.default_rng([s, 11]))
            ratios[i, j] = np.median(lag_ratios(CELLS[key], params, x, upstream), axis=0)
    lags = list(range(max_lag + 1))
    bounds = {
        key: [float(value) ** k for k in lags]
        for key in keys if (value := CELLS[key].gamma_lambda) is not None
    }
    clip = []
    for steps in clip_steps:
        steps = as_integer(steps, "clip_steps", "sequence lengths", 1)
        cell = CELLS["exploding"]
        data = np.random.default_rng([seed, 12, steps])
        params = init_cell(cell, inputs, hidden, np.random.default_rng([seed, 11]))
        x = data.standard_normal((sequences, steps, inputs))
        h0 = np.zeros((sequences, hidden))
        h, saved = _forward(cell, x, h0, params["Wx"], params["Wh"], params["b"])
        dh = np.zeros_like(h)
        dh[:, -1] = data.standard_normal((sequences, hidden)) / sequences
        _, _, dWx, dWh, db = _backward(cell, dh, x, h0, h, saved, params["Wx"], params["Wh"])
        grads = {"Wx": dWx, "Wh": dWh, "b": db}
        clipped, norm = clip_by_global_norm(grads, threshold)
        flat = np.concatenate([g.ravel() for g in grads.values()])
        flat_clipped = np.concatenate([g.ravel() for g in clipped.values()])
        cosine = float(flat @ flat_clipped / (np.linalg.norm(flat) * np.linalg.norm(flat_clipped)))
        clip.append(ClipRow(steps, norm, learning_rate * norm, learning_rate * float(np.linalg.norm(flat_clipped)), cosine))
    return LagExperiment(
        keys, [CELLS[key].name for key in keys], lags, seed_list, ratios, bounds, clip, hidden, inputs, sequences,
        learning_rate, threshold, time.perf_counter() - start,
    )


# -- the long-distance task -----------------------------------------------------------------------------


def sign_batch(count: int, distance: int, rng: np.random.Generator, noise: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Sequences whose target is the sign of their first input, followed by ``distance`` steps of noise.

    Two input channels over k + 1 steps: channel 0 holds ±1 at step 1 and 0 after it, channel 1
    holds 0 at step 1 and N(0, noise²) after it. The target is 1 for +1 and 0 for −1; the loss is
    read at the last step, k steps after the sign.

    Returns
    -------
    x : ndarray of shape (N, k + 1, 2)
    targets : ndarray of int, shape (N,)
    """
    distance = as_integer(distance, "distance", "the number of noise steps after the sign", 0)
    x = np.zeros((count, distance + 1, 2))
    targets = rng.integers(0, 2, size=count)
    x[:, 0, 0] = 2.0 * targets - 1.0
    x[:, 1:, 1] = noise * rng.standard_normal((count, distance))
    return x, targets


@dataclass
class _Classifier:
    """A cell on the inputs, scores = h_T W_y + b_y, softmax cross-entropy: all generated kernels."""

    cell: Cell
    params: dict[str, np.ndarray]

    def _run(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple]:
        h0 = np.zeros((x.shape[0], self.params["Wh"].shape[0]))
        h, saved = _forward(self.cell, x, h0, self.params["Wx"], self.params["Wh"], self.params["b"])
        return h0, h, saved

    def loss_and_gradients(self, x: np.ndarray, targets: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        h0, h, saved = self._run(x)
        scores, scores_cache = affine_forward(h[:, -1], self.params["Wy"], self.params["by"])
        count, classes = scores.shape
        loss, dscores = softmax_cross_entropy(scores, np.eye(classes)[targets], np.full((count, 1), 1.0 / count))
        grads: dict[str, np.ndarray] = {}
        dh = np.zeros_like(h)  # the loss reads h_T only
        dh[:, -1], grads["Wy"], grads["by"] = affine_backward(dscores, scores_cache)
        _, _, grads["Wx"], grads["Wh"], grads["b"] = _backward(
            self.cell, dh, x, h0, h, saved, self.params["Wx"], self.params["Wh"])
        return float(loss), grads

    def predict(self, x: np.ndarray) -> np.ndarray:
        _, h, _ = self._run(x)
        scores, _ = affine_forward(h[:, -1], self.params["Wy"], self.params["by"])
        return np.argmax(scores, axis=1)


@dataclass(frozen=True)
class RememberExperiment:
    """Accuracy against the distance on the sign task, per cell and seed.

    Attributes
    ----------
    cells, names : list of str
    distances : list of int
    seeds : list of int
    accuracy : ndarray of shape (len(cells), len(seeds), len(distances))
        On ``test_count`` fresh sequences after training.
    final_loss : ndarray of the same shape
        Mean training loss over the last tenth of the iterations.
    chance : float
    hidden, iterations, batch, test_count : int
    learning_rate, clip, noise, seconds : float
    """

    cells: list[str]
    names: list[str]
    distances: list[int]
    seeds: list[int]
    accuracy: np.ndarray
    final_loss: np.ndarray
    chance: float
    hidden: int
    iterations: int
    batch: int
    test_count: int
    learning_rate: float
    clip: float
    noise: float
    seconds: float

    def median(self) -> np.ndarray:
        """Median accuracy over the seeds: shape (len(cells), len(distances))."""
        return np.median(self.accuracy, axis=1)

    def to_dict(self) -> dict[str, Any]:
        """Every figure as plain Python."""
        return {
            "cells": self.cells,
            "names": dict(zip(self.cells, self.names)),
            "distances": self.distances,
            "seeds": self.seeds,
            "accuracy": {
                cell: {str(seed): json_floats(row) for seed, row in zip(self.seeds, rows)}
                for cell, rows in zip(self.cells, self.accuracy)
            },
            "median_accuracy": {cell: json_floats(row) for cell, row in zip(self.cells, self.median())},
            "final_loss": {
                cell: {str(seed): json_floats(row) for seed, row in zip(self.seeds, rows)}
                for cell, rows in zip(self.cells, self.final_loss)
            },
            "chance": self.chance,
            "hidden": self.hidden,
            "iterations": self.iterations,
            "batch": self.batch,
            "test_count": self.test_count,
            "learning_rate": self.learning_rate,
            "clip": self.clip,
            "noise": self.noise,
            "seconds": self.seconds,
        }


REMEMBER_CELLS = ("tanh", "irnn", "lstm-f1", "lstm-f3")


def remember_experiment(
    cells: Sequence[str] = REMEMBER_CELLS,
    distances: Sequence[int] = (8, 16, 24, 32),
    hidden: int = 16,
    iterations: int = 100,
    batch: int = 16,
    learning_rate: float = 0.5,
    clip: float = 1.0,
    noise: float = 1.0,
    test_count: int = 500,
    seeds: int = 3,
    seed: int = 0,
    show_progress: bool = False,
) -> RememberExperiment:
    """Train each cell to give the sign of the first input after k noise steps; test accuracy against k.

    Every (cell, seed, k) starts from the cell's initialisation for that seed (:func:`init_cell`,
    W_y N(0, 1/n), b_y = 0) and trains for the same budget: ``iterations`` steps of plain gradient
    descent (:func:`mathnn.optim.sgd`) on fresh batches of :func:`sign_batch`, the gradient clipped
    to global norm ``clip``. Plain gradient descent, as in
    :func:`~mathnn.experiments.recall_experiment`: an adaptive method rescales a vanished
    gradient and hides what is measured.

    Parameters
    ----------
    cells : sequence of str, default ('tanh', 'irnn', 'lstm-f1', 'lstm-f3')
    distances : sequence of int, default (8, 16, 24, 32)
    hidden : int, default 16
    iterations : int, default 100
    batch : int, default 16
        Small batches keep the per-step matrix products below the size at which a multithreaded
        BLAS spreads them over threads, which on a busy machine is several times slower.
    learning_rate, clip, noise : float, default 0.5, 1.0, 1.0
    test_count : int, default 500
    seeds : int, default 3
    seed : int, default 0
    show_progress : bool, default False

    Returns
    -------
    RememberExperiment
    """
    start = time.perf_counter()
    keys = _cells(cells, "cells")
    if isinstance(distances, (str, bytes)) or not isinstance(distances, Iterable) or not (distances := list(distances)):
        raise InputError(f"distances: expected a non-empty list of integers k ≥ 0; received {describe(distances)}")
    distances = [as_integer(k, "distances", "each k is a number of noise steps ≥ 0", 0) for k in distances]
    hidden = as_integer(hidden, "hidden", "the number of hidden units", 1)
    iterations = as_integer(iterations, "iterations", "training steps", 1)
    batch = as_integer(batch, "batch", "sequences per step", 1)
    learning_rate = positive_real(learning_rate, "learning_rate", "the step size η")
    clip = positive_real(clip, "clip", "the clipping threshold θ")
    noise = positive_real(noise, "noise", "the noise's standard deviation")
    test_count = as_integer(test_count, "test_count", "test sequences", 1)
    seed_list = _seeds(seed, seeds)
    accuracy = np.empty((len(keys), len(seed_list), len(distances)))
    final_loss = np.empty_like(accuracy)
    jobs = [(i, j, m) for i in range(len(keys)) for j in range(len(seed_list)) for m in range(len(distances))]
    for i, j, m in progress(jobs, len(jobs), "remember", enabled=show_progress):
        cell, s, k = CELLS[keys[i]], seed_list[j], distances[m]
        init = np.random.default_rng([s, 20])
        params = init_cell(cell, 2, hidden, init)
        params["Wy"] = init.standard_normal((hidden, 2)) / math.sqrt(hidden)
        params["by"] = np.zeros(2)
        model = _Classifier(cell, params)
        data = np.random.default_rng([s, 21, k])
        losses = []
        for _ in range(iterations):
            x, targets = sign_batch(batch, k, data, noise)
            loss, grads = model.loss_and_gradients(x, targets)
            grads, _ = clip_by_global_norm(grads, clip)
            sgd(params, grads, learning_rate)
            losses.append(loss)
        x, targets = sign_batch(test_count, k, np.random.default_rng([s, 22, k]), noise)
        accuracy[i, j, m] = float(np.mean(model.predict(x) == targets))
        final_loss[i, j, m] = float(np.mean(losses[-max(1, iterations // 10):]))
    return RememberExperiment(
        keys, [CELLS[key].name for key in keys], distances, seed_list, accuracy, final_loss, 0.5, hidden, iterations,
        batch, test_count, learning_rate, clip, noise, time.perf_counter() - start,
    )
