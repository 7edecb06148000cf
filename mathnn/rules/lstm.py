"""The LSTM over a sequence: the LSTM step rule unrolled over T, with its hidden state and its cell carried.

CS231n's ``lstm_forward(x, h0, Wx, Wh, b)`` starts the cell at c_0 = 0 and returns the hidden states
h_1 … h_T; ``lstm_backward(dh, cache)`` returns dx, dh0, dWx, dWh, db. Both kernels and the proof of
backpropagation through time come from the step's declaration (:class:`~mathnn.rules.recurrence.Recurrence`):
the gradient reaching c_t is what step t + 1 sent back, f_{t+1} ⊙ δc_{t+1}, a product by a gate and
by no weight matrix.
"""

from __future__ import annotations

import sympy as sp

from .core import Slip
from .lstm_step import lstm_step, next_c, prev_c
from .recurrence import NO_GRADIENT_THROUGH_TIME, SEQUENCE_GRADIENTS
from .recurrent_step import unrolled

#: The cell over a sequence, c_1 … c_T.
c = sp.Symbol("c")

lstm = unrolled(
    lstm_step, "lstm", "LSTM over a sequence",
    (
        "The LSTM step unrolled over T, as CS231n's lstm_forward and lstm_backward: the hidden state and "
        "the cell are both carried from step to step, the cell starting at c_0 = 0. Backpropagation "
        "through time sends two gradients back from each step: to h_{t−1} through the weights, "
        "δa Whᵀ, and to c_{t−1} through the forget gate alone, f ⊙ δc. Over k steps the cell's path "
        "multiplies by f_{t+1} ⊙ … ⊙ f_{t+k} and by no matrix, so with forget gates near 1 the "
        "gradient survives distances at which the RNN's product of W_hhᵀ diag(tanh′) has vanished. The "
        "kernels and the proof come from the step's declaration, at several concrete (N, D, H, T)."
    ),
    cell=(prev_c, next_c, c),
    proof_sizes=({"N": 1, "D": 1, "H": 1, "T": 3}, {"N": 2, "D": 1, "H": 2, "T": 2}),
    slips=(
        Slip("no gradient through the cell over time", SEQUENCE_GRADIENTS,
             "your gradients match backpropagation through time without the path c_t → c_{t+1}: the "
             "cell's gradient from later steps (dprev_c, f ⊙ δc) is not carried back",
             {"dnext_c": sp.Integer(0)}),
        NO_GRADIENT_THROUGH_TIME,
    ),
    length=3,
)

#: Where this topic comes in the lecture (mathnn.rules.TOPICS sorts by it): with the LSTM step.
LECTURE_ORDER = 2.5
RULES = (lstm,)
