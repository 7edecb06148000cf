"""Vanishing gradients, measured: Jacobian products through time and depth, the bound, remedies.

The lecture's claim: when the information an RNN needs is far from where it is used, the RNN
learns poorly, because the gradient that would connect them vanishes. Backpropagation through
time multiplies one Jacobian per step,

    ∂h_T/∂h_t = Π_{k=t+1..T} diag(f′(a_k)) W_hh,      a_k = W_hh h_{k−1} + W_xh x_k + b,

so with γ = sup|f′| and λ₁ the largest singular value of W_hh (Pascanu, Mikolov and Bengio 2013)

    ‖∂h_T/∂h_t‖₂ ≤ Π ‖diag(f′(a_k))‖ ‖W_hh‖ ≤ (γ λ₁)^{T−t}.

For the sigmoid γ = 1/4, proven by ``mathnn verify sigmoid``; ReLU and Leaky ReLU have γ = 1 and
batch normalization rescales each layer's input. This package measures all of it with numpy, one
module per experiment:

1. :mod:`~mathnn.experiments.through_time` — :func:`gradient_flow`, the exact Jacobian product
   (not finite differences) and its spectral norm at every distance T − t, next to the bound;
   :func:`time_experiment` runs it for each activation on one random recurrence.
2. :mod:`~mathnn.experiments.depth` — :func:`depth_experiment`, the same effect across the layers
   of a deep feed-forward stack (:class:`Stack`), with and without batch norm, at initialization
   and after gradient descent.
3. :mod:`~mathnn.experiments.recall` — :func:`recall_experiment`, an RNN trained to recall a
   token seen k steps earlier: accuracy against k.
4. :mod:`~mathnn.experiments.shift` — :func:`shift_experiment`, internal covariate shift: how the
   per-layer mean and spread of the pre-activations drift during training, with and without
   batch norm (and with noise injected after batch norm, after Santurkar et al. 2018).
5. :mod:`~mathnn.experiments.remedies` — the remedies: :func:`lag_experiment`, the gradient ratio
   ‖∂L/∂h_{T−k}‖ / ‖∂L/∂h_T‖ against the lag for a tanh RNN, the IRNN, orthogonal W_hh and the
   LSTM with forget-gate bias 0, 1 and 3, with an exploding RNN and gradient clipping; and
   :func:`remember_experiment`, accuracy against the distance on a long-distance task.

:func:`run_experiments` runs them all, :func:`report` prints their tables,
:func:`results_to_dict` gives every figure for JSON and :func:`plot_results` draws the figures
(matplotlib is imported only then); :mod:`~mathnn.experiments.cli` is ``mathnn vanishing``. Every
result is an :class:`ExperimentResult`: it records every argument its function ran with
(``settings``), which its ``to_dict()`` gives with the figures, so a result in JSON can be run again.

γ comes from the generated ``<activation>_grad_sup`` kernels and f, f′ from the generated
activation kernels, so every number here uses the proven math. Each experiment takes a ``seed``
and gives the same numbers for the same arguments. Column form (the lecture's ``W_hh h + W_xh x``)
is used for the exact Jacobians; the trained models use CS231n's row form (batches are rows).

Examples
--------
>>> import numpy as np
>>> from mathnn.experiments import gradient_flow, hidden_states
>>> rng = np.random.default_rng(0)
>>> W_hh = rng.standard_normal((8, 8)) / np.sqrt(8)
>>> x = rng.standard_normal((30, 3))
>>> a, h = hidden_states(W_hh, x, W_xh=rng.standard_normal((8, 3)), b=np.zeros(8), activation="sigmoid")
>>> flow = gradient_flow(W_hh, a, activation="sigmoid")
>>> flow.gamma
0.25
>>> bool(np.all(flow.norms <= flow.bounds))
True
"""

from .cli import add_cli, run_cli
from .common import ACTIVATIONS, Activation, ExperimentResult, activation_kernels
from .depth import DepthExperiment, DepthRun, Stack, StackPass, depth_experiment, init_stack, regression_task
from .plots import plot_results
from .recall import RecallExperiment, recall_batch, recall_experiment
from .cells import CELLS, Cell, gru_cell, init_cell, lag_ratios, lstm_cell, rnn_cell, state_gradients
from .remedies import CellExperiment, LagExperiment, RememberExperiment, lag_experiment, remember_experiment, sign_batch
from .report import report, results_to_dict, tour_table
from .run import EXPERIMENTS, run_experiments
from .shift import CURRENT_UNDERSTANDING, ShiftExperiment, ShiftRun, shift_experiment
from .through_time import (
    BOUND_GENERAL,
    GradientFlow,
    TimeExperiment,
    bound_verdict,
    gradient_flow,
    hidden_states,
    jacobian,
    random_recurrence,
    time_experiment,
)

__all__ = [
    "ACTIVATIONS",
    "BOUND_GENERAL",
    "CELLS",
    "CURRENT_UNDERSTANDING",
    "EXPERIMENTS",
    "Activation",
    "Cell",
    "CellExperiment",
    "DepthExperiment",
    "DepthRun",
    "ExperimentResult",
    "GradientFlow",
    "LagExperiment",
    "RecallExperiment",
    "RememberExperiment",
    "ShiftExperiment",
    "ShiftRun",
    "Stack",
    "StackPass",
    "TimeExperiment",
    "activation_kernels",
    "add_cli",
    "bound_verdict",
    "depth_experiment",
    "gradient_flow",
    "hidden_states",
    "init_cell",
    "init_stack",
    "jacobian",
    "lag_experiment",
    "lag_ratios",
    "gru_cell",
    "lstm_cell",
    "plot_results",
    "random_recurrence",
    "recall_batch",
    "recall_experiment",
    "remember_experiment",
    "regression_task",
    "report",
    "results_to_dict",
    "rnn_cell",
    "run_cli",
    "run_experiments",
    "shift_experiment",
    "sign_batch",
    "state_gradients",
    "time_experiment",
    "tour_table",
]
