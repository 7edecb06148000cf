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

How ∂L/∂h_t is read off the kernels: :mod:`mathnn.experiments.cells`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..optim import clip_by_global_norm
from ..progress import progress
from ..validate import describe, positive_real
from .common import ExperimentResult, LastStepClassifier, as_integer, as_seed, call_settings, json_floats


from .cells import CELLS, Cell, _backward, _forward, cell_named, init_cell, lag_ratios


@dataclass(frozen=True)
class ClipRow:
    """One sequence length of the exploding RNN: the gradient and the update, with and without clipping."""

    length: int
    grad_norm: float
    update_unclipped: float
    update_clipped: float
    cosine: float


@dataclass(frozen=True)
class CellExperiment(ExperimentResult):
    """A measurement repeated per cell and per seed: what :class:`LagExperiment` and :class:`RememberExperiment` share.

    Attributes
    ----------
    settings, seconds
        As in :class:`ExperimentResult`: the arguments of the experiment function (``cells``: keys of
        :data:`CELLS`).
    names : list of str
        The cells' readable names.
    seeds : list of int
        The seeds used: seed, seed + 1, …
    """

    names: list[str]
    seeds: list[int]

    def per_seed(self, rows: np.ndarray) -> dict[str, list[float | None]]:
        """One cell's figures, a row per seed, keyed by the seed (for JSON)."""
        return {str(seed): json_floats(row) for seed, row in zip(self.seeds, rows)}


@dataclass(frozen=True)
class LagExperiment(CellExperiment):
    """The gradient ratio against the lag, per cell and seed, and clipping on the exploding cell.

    Attributes
    ----------
    settings, seconds, names, seeds
        As in :class:`CellExperiment`, for :func:`lag_experiment`.
    lags : list of int
        k = 0 … K.
    ratios : ndarray of shape (len(cells), len(seeds), K + 1)
        Per seed, the median over the sequences of ‖∂L/∂h_{T−k}‖ / ‖∂L/∂h_T‖.
    bounds : dict of str to list of float
        (λ₁γ)^k for the cells where λ₁ is known exactly (orthogonal or identity W_hh).
    clip : list of ClipRow
        The exploding cell (λ₁γ = 1.2), one row per length in ``clip_lengths``: ‖g‖ of all parameters for a
        loss at the last step, the update η‖g‖ without clipping and after
        :func:`mathnn.optim.clip_by_global_norm` at θ = ``threshold``, and the cosine between the two updates.
    """

    lags: list[int]
    ratios: np.ndarray
    bounds: dict[str, list[float]]
    clip: list[ClipRow]

    def median(self) -> np.ndarray:
        """Median over the seeds: shape (len(cells), K + 1)."""
        return np.median(self.ratios, axis=1)

    def at(self, cell: str, lag: int) -> tuple[float, float, float]:
        """(median, min, max) over the seeds of the ratio of ``cell`` at ``lag``."""
        values = self.ratios[self.settings["cells"].index(cell), :, self.lags.index(lag)]
        return float(np.median(values)), float(values.min()), float(values.max())

    def figures_to_dict(self) -> dict[str, Any]:
        """Every figure as plain Python."""
        cells = self.settings["cells"]
        return {
            "names": dict(zip(cells, self.names)),
            "lags": self.lags,
            "seeds": self.seeds,
            "ratio": {
                cell: {
                    "per_seed": self.per_seed(rows),
                    "median": json_floats(np.median(rows, axis=0)),
                    "min": json_floats(rows.min(axis=0)),
                    "max": json_floats(rows.max(axis=0)),
                }
                for cell, rows in zip(cells, self.ratios)
            },
            "bounds": self.bounds,
            "clip": [row.__dict__ for row in self.clip],
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


def _seeds(seed: object, seeds: object) -> tuple[int, int, list[int]]:
    """``seed`` and ``seeds`` checked, and the seeds they give: seed, seed + 1, … (``seeds`` of them)."""
    first = as_seed(seed)
    count = as_integer(seeds, "seeds", "how many seeds", 1)
    return first, count, list(range(first, first + count))


def lag_experiment(
    cells: Sequence[str] = LAG_CELLS,
    max_lag: int = 50,
    hidden: int = 32,
    inputs: int = 8,
    sequences: int = 16,
    seeds: int = 5,
    seed: int = 0,
    clip_lengths: Sequence[int] = (10, 20, 40, 80),
    learning_rate: float = 0.1,
    threshold: float = 1.0,
) -> LagExperiment:
    """‖∂L/∂h_{T−k}‖ / ‖∂L/∂h_T‖ for k = 0 … K, loss at the last step only, per cell and seed.

    For each seed: the cell's initialisation (:func:`init_cell`), ``sequences`` input sequences
    of length K with entries N(0, 1) (as in :func:`~mathnn.experiments.random_recurrence`), and
    ∂L/∂h_T with entries N(0, 1); the ratio of each sequence by :func:`state_gradients`, then the
    median over the sequences.

    Clipping: on the ``exploding`` cell (ReLU, W_hh = 1.2·I), for each length in ``clip_lengths``, the
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
    clip_lengths : sequence of int, default (10, 20, 40, 80)
        Sequence lengths T of the clipping rows.
    learning_rate, threshold : float, default 0.1, 1.0

    Returns
    -------
    LagExperiment
    """
    start = time.perf_counter()
    cells = _cells(cells, "cells")
    max_lag = as_integer(max_lag, "max_lag", "the largest lag K", 1)
    hidden = as_integer(hidden, "hidden", "the number of hidden units", 1)
    inputs = as_integer(inputs, "inputs", "the input size", 1)
    sequences = as_integer(sequences, "sequences", "sequences per seed", 1)
    seed, seeds, seed_list = _seeds(seed, seeds)
    clip_lengths = [as_integer(length, "clip_lengths", "sequence lengths", 1) for length in clip_lengths]
    learning_rate = positive_real(learning_rate, "learning_rate", "the step size η")
    threshold = positive_real(threshold, "threshold", "the clipping threshold θ")
    settings = call_settings(lag_experiment, locals())
    ratios = np.empty((len(cells), len(seed_list), max_lag + 1))
    for j, s in enumerate(seed_list):
        data = np.random.default_rng([s, 10])
        x = data.standard_normal((sequences, max_lag, inputs))
        upstream = data.standard_normal((sequences, hidden))
        for i, key in enumerate(cells):
            params = init_cell(CELLS[key], inputs, hidden, np.random.default_rng([s, 11]))
            ratios[i, j] = np.median(lag_ratios(CELLS[key], params, x, upstream), axis=0)
    lags = list(range(max_lag + 1))
    bounds = {
        key: [float(value) ** k for k in lags]
        for key in cells if (value := CELLS[key].gamma_lambda) is not None
    }
    clip = []
    for length in clip_lengths:
        cell = CELLS["exploding"]
        data = np.random.default_rng([seed, 12, length])
        params = init_cell(cell, inputs, hidden, np.random.default_rng([seed, 11]))
        x = data.standard_normal((sequences, length, inputs))
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
        clip.append(ClipRow(length, norm, learning_rate * norm, learning_rate * float(np.linalg.norm(flat_clipped)), cosine))
    return LagExperiment(
        settings, time.perf_counter() - start, [CELLS[key].name for key in cells], seed_list, lags, ratios, bounds, clip
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
class _Classifier(LastStepClassifier):
    """A cell on the inputs, scores = h_T W_y + b_y, softmax cross-entropy: all generated kernels."""

    cell: Cell
    params: dict[str, np.ndarray]

    def hidden(self, x: np.ndarray) -> tuple[np.ndarray, Callable[[np.ndarray], tuple[np.ndarray, ...]]]:
        h0 = np.zeros((x.shape[0], self.params["Wh"].shape[0]))
        Wx, Wh = self.params["Wx"], self.params["Wh"]
        h, saved = _forward(self.cell, x, h0, Wx, Wh, self.params["b"])
        return h, lambda dh: _backward(self.cell, dh, x, h0, h, saved, Wx, Wh)


@dataclass(frozen=True)
class RememberExperiment(CellExperiment):
    """Accuracy against the distance on the sign task, per cell and seed.

    Attributes
    ----------
    settings, seconds, names, seeds
        As in :class:`CellExperiment`, for :func:`remember_experiment`.
    accuracy : ndarray of shape (len(cells), len(seeds), len(distances))
        On ``test_count`` fresh sequences after training.
    final_loss : ndarray of the same shape
        Mean training loss over the last tenth of the steps.
    chance : float
    """

    accuracy: np.ndarray
    final_loss: np.ndarray
    chance: float

    def median(self) -> np.ndarray:
        """Median accuracy over the seeds: shape (len(cells), len(distances))."""
        return np.median(self.accuracy, axis=1)

    def figures_to_dict(self) -> dict[str, Any]:
        """Every figure as plain Python."""
        cells = self.settings["cells"]
        return {
            "names": dict(zip(cells, self.names)),
            "seeds": self.seeds,
            "accuracy": {
                cell: self.per_seed(rows) for cell, rows in zip(cells, self.accuracy)
            },
            "median_accuracy": {cell: json_floats(row) for cell, row in zip(cells, self.median())},
            "final_loss": {
                cell: self.per_seed(rows) for cell, rows in zip(cells, self.final_loss)
            },
            "chance": self.chance,
        }


REMEMBER_CELLS = ("tanh", "irnn", "lstm-f1", "lstm-f3")


def remember_experiment(
    cells: Sequence[str] = REMEMBER_CELLS,
    distances: Sequence[int] = (8, 16, 24, 32),
    hidden: int = 16,
    steps: int = 100,
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
    W_y N(0, 1/n), b_y = 0) and trains for the same budget: ``steps`` steps of plain gradient
    descent (:func:`mathnn.optim.sgd`) on fresh batches of :func:`sign_batch`, the gradient clipped
    to global norm ``clip``. Plain gradient descent, as in
    :func:`~mathnn.experiments.recall_experiment`: an adaptive method rescales a vanished
    gradient and hides what is measured.

    Parameters
    ----------
    cells : sequence of str, default ('tanh', 'irnn', 'lstm-f1', 'lstm-f3')
    distances : sequence of int, default (8, 16, 24, 32)
    hidden : int, default 16
    steps : int, default 100
        Gradient-descent steps, each on a fresh batch.
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
    cells = _cells(cells, "cells")
    if isinstance(distances, (str, bytes)) or not isinstance(distances, Iterable) or not (distances := list(distances)):
        raise InputError(f"distances: expected a non-empty list of integers k ≥ 0; received {describe(distances)}")
    distances = [as_integer(k, "distances", "each k is a number of noise steps ≥ 0", 0) for k in distances]
    hidden = as_integer(hidden, "hidden", "the number of hidden units", 1)
    steps = as_integer(steps, "steps", "gradient-descent steps", 1)
    batch = as_integer(batch, "batch", "sequences per step", 1)
    learning_rate = positive_real(learning_rate, "learning_rate", "the step size η")
    clip = positive_real(clip, "clip", "the clipping threshold θ")
    noise = positive_real(noise, "noise", "the noise's standard deviation")
    test_count = as_integer(test_count, "test_count", "test sequences", 1)
    seed, seeds, seed_list = _seeds(seed, seeds)
    settings = call_settings(remember_experiment, locals())
    accuracy = np.empty((len(cells), len(seed_list), len(distances)))
    final_loss = np.empty_like(accuracy)
    jobs = [(i, j, m) for i in range(len(cells)) for j in range(len(seed_list)) for m in range(len(distances))]
    for i, j, m in progress(jobs, len(jobs), "remember", enabled=show_progress):
        cell, s, k = CELLS[cells[i]], seed_list[j], distances[m]
        init = np.random.default_rng([s, 20])
        params = init_cell(cell, 2, hidden, init)
        params["Wy"] = init.standard_normal((hidden, 2)) / math.sqrt(hidden)
        params["by"] = np.zeros(2)
        data = np.random.default_rng([s, 21, k])
        accuracy[i, j, m], final_loss[i, j, m] = _Classifier(cell, params).fit_and_test(
            lambda: sign_batch(batch, k, data, noise),
            lambda: sign_batch(test_count, k, np.random.default_rng([s, 22, k]), noise),
            steps, clip, learning_rate,
        )
    return RememberExperiment(
        settings, time.perf_counter() - start, [CELLS[key].name for key in cells], seed_list, accuracy, final_loss, 0.5
    )
