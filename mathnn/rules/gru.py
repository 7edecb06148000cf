"""The GRU over a sequence: the GRU step rule unrolled over T.

``gru_forward(x, h0, Wx, Wh, b) -> (h, cache)`` and ``gru_backward(dh, cache) -> (dx, dh0, dWx, dWh,
db)`` in CS231n's style (CS231n has no GRU; the names follow its RNN and LSTM). The kernels and the
proof of backpropagation through time come from the step's declaration
(:class:`~mathnn.rules.recurrence.Recurrence`).
"""

from __future__ import annotations

from .gru_step import gru_step
from .recurrence import NO_GRADIENT_THROUGH_TIME
from .recurrent_step import unrolled

gru = unrolled(
    gru_step, "gru", "GRU over a sequence",
    (
        "The GRU step unrolled over T. Backpropagation through time sends back to h_{t−1} the gradient "
        "z_t ⊙ dh_t directly and δa_h Whᵀ through the gates: with update gates near 1 the first part "
        "passes from step to step multiplied by gates only, as the LSTM's cell does. The kernels and "
        "the proof come from the step's declaration, at several concrete (N, D, H, T)."
    ),
    proof_sizes=({"N": 1, "D": 1, "H": 1, "T": 3}, {"N": 2, "D": 1, "H": 2, "T": 2}),
    slips=(NO_GRADIENT_THROUGH_TIME,),
)

#: Where this topic comes in the lecture (mathnn.rules.TOPICS sorts by it): with the LSTM, a remedy.
LECTURE_ORDER = 2.5
RULES = (gru,)
