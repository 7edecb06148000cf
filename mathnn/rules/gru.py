"""The GRU over a sequence: the GRU step rule unrolled over T.

``gru_forward(x, h0, Wx, Wh, b) -> (h, cache)`` and ``gru_backward(dh, cache) -> (dx, dh0, dWx, dWh,
db)`` in CS231n's style (CS231n has no GRU; the names follow its RNN and LSTM). The kernels and the
proof of backpropagation through time come from the step's declaration
(:class:`~mathnn.rules.recurrence.Recurrence`).
"""

from __future__ import annotations

import sympy as sp

from . import gru_step as step
from .core import Step
from .core import Slip
from .recurrence import Recurrence

h, h0, dh = sp.symbols("h h0 dh")

gru = Recurrence(
    name="gru",
    title="GRU over a sequence",
    note=(
        "The GRU step unrolled over T. Backpropagation through time sends back to h_{t−1} the gradient "
        "z_t ⊙ dh_t directly and δa_h Whᵀ through the gates: with update gates near 1 the first part "
        "passes from step to step multiplied by gates only, as the LSTM's cell does. The kernels and "
        "the proof come from the step's declaration, at several concrete (N, D, H, T)."
    ),
    step=step.gru_step,
    carried=((step.prev_h, step.next_h),),
    initial=h0,
    sequences={step.next_h: h},
    upstream=dh,
    proof_sizes=({"N": 1, "D": 1, "H": 1, "T": 3}, {"N": 2, "D": 1, "H": 2, "T": 2}),
    slips=(
        Slip("no gradient through time", ("dx", "dh0", "dWx", "dWh", "db"),
             "your gradients match backpropagation through time without the path h_t → h_{t+1}: the "
             "gradient flowing back from later steps is not added to dh_t",
             {"dnext_h": Step(sp.Symbol("dh_steps"))}),
    ),
)

#: Where this topic comes in the lecture (mathnn.rules.TOPICS sorts by it): with the LSTM, a remedy.
LECTURE_ORDER = 2.5
RULES = (gru,)
