"""One step of a GRU (Cho et al. 2014) as a layer rule, with its update and reset gates.

Row form with the gates stacked in the order z, r, n, as the LSTM step stacks i, f, o, g:
a_x = x Wx + b and a_h = h_{t−1} Wh, both (N, 3H); the update gate z = σ(a_x,z + a_h,z), the reset
gate r = σ(a_x,r + a_h,r), the candidate n = tanh(a_x,n + r ⊙ a_h,n) (the reset applied after the
product by Wh, as cuDNN and PyTorch do; Cho et al. apply it before), and
h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}. The last term is the GRU's counterpart of the LSTM's cell path: the
gradient reaches h_{t−1} through z ⊙ dh_t, a product by a gate with no weight matrix in it.
"""

from __future__ import annotations

import sympy as sp

from .core import Dot, Named, Node, Statement, Transposed
from .gates import Concat, Gate, Sigmoid
from .layer import Mistake
from .recurrent_step import Wh, Wx, b, dnext_h, next_h, prev_h, step, weight_gradients, x

ax, ah = Named("ax", "a_x", "aₓ"), Named("ah", "a_h", "aₕ")
z, r, n = Named("z", "z", "z"), Named("r", "r", "r"), Named("n", "n", "n")
dn, dz, dan = Named("dn", r"\delta n", "δn"), Named("dz", r"\delta z", "δz"), Named("dan", r"\delta a_n", "δaₙ")
dax, dah = Named("dax", r"\delta a_x", "δaₓ"), Named("dah", r"\delta a_h", "δaₕ")

gru_step = step(
    "gru_step", "GRU step",
    (
        "One step of a gated recurrent unit (Cho et al. 2014) in row form, gates stacked as z, r, n: "
        "a_x = x Wx + b, a_h = h_{t−1} Wh, z = σ(a_x,z + a_h,z), r = σ(a_x,r + a_h,r), "
        "n = tanh(a_x,n + r ⊙ a_h,n) and h_t = (1 − z) ⊙ n + z ⊙ h_{t−1} (the reset applied after the "
        "product by Wh, as cuDNN and PyTorch do). Backward, the gradient reaching h_{t−1} has two parts: "
        "z ⊙ dh_t straight through the update gate, with no weight matrix, and δa_h Whᵀ through the "
        "gates. Proven entry by entry at several concrete sizes."
    ),
    inputs=(x, prev_h),
    gates="3H",
    nodes=(
        Node(ax, Dot(x, Wx) + b, "ax", "a_x = x Wx + b, the three gates' input parts side by side"),
        Node(ah, Dot(prev_h, Wh), "ah", "a_h = h_{t−1} Wh, their recurrent parts"),
        Node(z, Sigmoid(Gate(ax, 0, 3) + Gate(ah, 0, 3)), "z", "z = σ(a_x[:, 0:H] + a_h[:, 0:H]), the update gate"),
        Node(r, Sigmoid(Gate(ax, 1, 3) + Gate(ah, 1, 3)), "r", "r = σ(a_x[:, H:2H] + a_h[:, H:2H]), the reset gate"),
        Node(n, sp.tanh(Gate(ax, 2, 3) + r * Gate(ah, 2, 3)), "n", "n = tanh(a_x[:, 2H:3H] + r ⊙ a_h[:, 2H:3H])"),
        Node(next_h, (1 - z) * n + z * prev_h, "next_h", "h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}"),
    ),
    closed_forms={
        x: Dot(dax, Transposed(Wx)), prev_h: Dot(dah, Transposed(Wh)) + dnext_h * z, **weight_gradients(dax, dah),
    },
    helpers=(
        Statement("dn", dnext_h * (1 - z), "δn = dh_t ⊙ (1 − z)"),
        Statement("dz", dnext_h * (prev_h - n), "δz = dh_t ⊙ (h_{t−1} − n)"),
        Statement("dan", dn * (1 - n**2), "δa_n = δn ⊙ (1 − n²), through tanh"),
        Statement("dax", Concat(dz * z * (1 - z), dan * Gate(ah, 2, 3) * r * (1 - r), dan),
                  "δa_x = [δz⊙z(1−z) | δa_n⊙a_h,n⊙r(1−r) | δa_n]"),
        Statement("dah", Concat(dz * z * (1 - z), dan * Gate(ah, 2, 3) * r * (1 - r), dan * r),
                  "δa_h = δa_x with its candidate part times r"),
    ),
    cache=("x", "prev_h", "Wx", "Wh", "z", "r", "n", "ah"),
    mistakes=(
        Mistake("no direct path to h_{t−1}", prev_h,
                "your dprev_h misses the direct path h_t = … + z ⊙ h_{t−1}: add dnext_h ⊙ z",
                closed=Dot(dah, Transposed(Wh))),
        Mistake("reset gate left out of δa_h", prev_h,
                "your δa_h uses δa_n for the candidate's recurrent part: n = tanh(a_x,n + r ⊙ a_h,n), so it is δa_n ⊙ r",
                closed=Dot(dax, Transposed(Wh)) + dnext_h * z),
        Mistake("update gate the wrong way round", x,
                "your δz has the wrong sign: h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}, so δz = dh_t ⊙ (h_{t−1} − n)",
                closed=Dot(Concat(-dz * z * (1 - z), dan * Gate(ah, 2, 3) * r * (1 - r), dan), Transposed(Wx))),
    ),
)

#: Where this topic comes in the lecture (mathnn.rules.TOPICS sorts by it): with the LSTM, a remedy.
LECTURE_ORDER = 2.5
RULES = (gru_step,)
