"""One step of an LSTM (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000) as a layer rule.

CS231n's row form and gate order i, f, o, g: one product a = x Wx + h_{t−1} Wh + b of shape (N, 4H)
gives the input, forget and output gates i, f, o = σ(a_i), σ(a_f), σ(a_o) and the candidate
g = tanh(a_g); the cell is c_t = f ⊙ c_{t−1} + i ⊙ g and the state h_t = o ⊙ tanh(c_t). The step has
two outputs, h_t and c_t: the rule's output is the two side by side, [h_t | c_t], and its upstream
gradient [dnext_h | dnext_c], so the proof seeds both at once. The reason the LSTM keeps a gradient
over long distances is the closed form of dprev_c: f ⊙ dc, a product by the forget gate alone, with
no matrix in it.
"""

from __future__ import annotations

import sympy as sp

from .core import Dot, Named, Node, Statement, Transposed
from .gates import Concat, Gate, Sigmoid
from .layer import Mistake
from .recurrent_step import Wh, Wx, b, dnext_h, next_h, prev_h, step, weight_gradients, x

prev_c = Named("prev_c", "c_{t-1}", "cₜ₋₁")
a = Named("a", "a", "a")
i, f, o, g = (Named(name, name, name) for name in "ifog")
next_c = Named("next_c", "c_t", "cₜ")
hc = Named("hc", r"\left[h_t \mid c_t\right]", "[hₜ | cₜ]")
dout = sp.Symbol("dout")
#: the upstream gradient of the cell, the second half of dout (dnext_h is the first)
dnext_c = Named("dnext_c", r"\delta c_t", "dcₜ")
#: tanh(c_t), and the gradient reaching c_t from both outputs
tanh_c = Named("tanh_c", r"\tanh c_t", "tanh cₜ")
dc = Named("dc", r"\delta c", "δc")
da = Named("da", r"\delta", "δ")  # as in the RNN step: names share one notation

#: ∂L/∂a: each gate's gradient times its own derivative, the four side by side in the order i, f, o, g
DA = Concat(dc * g * i * (1 - i), dc * prev_c * f * (1 - f), dnext_h * tanh_c * o * (1 - o), dc * i * (1 - g**2))

lstm_step = step(
    "lstm_step", "LSTM step",
    (
        "One step of an LSTM with a forget gate, in CS231n's row form and gate order i, f, o, g: "
        "a = x Wx + h_{t−1} Wh + b, i, f, o = σ(aᵢ), σ(a_f), σ(a_o), g = tanh(a_g), "
        "c_t = f ⊙ c_{t−1} + i ⊙ g, h_t = o ⊙ tanh(c_t). Backward, the gradient reaching the cell, "
        "δc = dnext_c + dnext_h ⊙ o ⊙ (1 − tanh² c_t), goes back to c_{t−1} as f ⊙ δc: through the forget "
        "gate only, with no product by a weight matrix, which is why an LSTM with f near 1 keeps a "
        "gradient over many steps. Each gate's gradient is multiplied by its own derivative, σ(1 − σ) "
        "or 1 − g², and the four side by side, δa, give the input, state and weight gradients as in the "
        "RNN step. The step's two outputs are proven together as [h_t | c_t], entry by entry at several "
        "concrete sizes."
    ),
    inputs=(x, prev_h, prev_c),
    gates="4H",
    nodes=(
        Node(a, Dot(x, Wx) + Dot(prev_h, Wh) + b, "a", "a = x Wx + h_{t−1} Wh + b, the four gates' inputs side by side"),
        Node(i, Sigmoid(Gate(a, 0, 4)), "i", "i = σ(a[:, 0:H]), the input gate"),
        Node(f, Sigmoid(Gate(a, 1, 4)), "f", "f = σ(a[:, H:2H]), the forget gate"),
        Node(o, Sigmoid(Gate(a, 2, 4)), "o", "o = σ(a[:, 2H:3H]), the output gate"),
        Node(g, sp.tanh(Gate(a, 3, 4)), "g", "g = tanh(a[:, 3H:4H]), the candidate cell"),
        Node(next_c, f * prev_c + i * g, "next_c", "c_t = f ⊙ c_{t−1} + i ⊙ g"),
        Node(tanh_c, sp.tanh(next_c), "tanh_c", "tanh(c_t)"),
        Node(next_h, o * tanh_c, "next_h", "h_t = o ⊙ tanh(c_t)"),
        Node(hc, Concat(next_h, next_c), "hc", "the two outputs side by side, [h_t | c_t]"),
    ),
    closed_forms={
        x: Dot(da, Transposed(Wx)), prev_h: Dot(da, Transposed(Wh)), prev_c: f * dc, **weight_gradients(da),
    },
    helpers=(
        Statement("dnext_h", Gate(dout, 0, 2), "dnext_h, the first half of the upstream gradient"),
        Statement("dnext_c", Gate(dout, 1, 2), "dnext_c, the second half"),
        Statement("dc", dnext_c + dnext_h * o * (1 - tanh_c**2),
                  "δc = dnext_c + dnext_h ⊙ o ⊙ (1 − tanh² c_t): the cell gets both outputs' gradients"),
        Statement("da", DA, "δa = [δc⊙g⊙i(1−i) | δc⊙c_{t−1}⊙f(1−f) | dnext_h⊙tanh c_t⊙o(1−o) | δc⊙i⊙(1−g²)]"),
    ),
    cache=("x", "prev_h", "prev_c", "Wx", "Wh", "i", "f", "o", "g", "tanh_c"),
    dout=dout,
    upstream="dnext_h and dnext_c",
    wrapper="mathnn.layers.lstm",
    outputs=("next_h", "next_c"),
    mistakes=(
        Mistake("dprev_c without f", prev_c,
                "your dprev_c leaves out the forget gate: c_t = f ⊙ c_{t−1} + i ⊙ g, so dprev_c = f ⊙ δc",
                closed=dc),
        Mistake("cell gradient from dnext_c only", prev_c,
                "your cell gradient misses the path through h_t: δc = dnext_c + dnext_h ⊙ o ⊙ (1 − tanh² c_t)",
                closed=f * dnext_c),
        Mistake("gates in the wrong order", x,
                "your backward stacks the gates' gradients in another order than the forward slices them: "
                "δa = [δaᵢ | δa_f | δa_o | δa_g], CS231n's order i, f, o, g",
                closed=Dot(Concat(Gate(da, 1, 4), Gate(da, 0, 4), Gate(da, 2, 4), Gate(da, 3, 4)), Transposed(Wx))),
        Mistake("tanh′ of c_t missing", prev_c,
                "your δc uses dnext_h ⊙ o without tanh′(c_t) = 1 − tanh² c_t",
                closed=f * (dnext_c + dnext_h * o)),
    ),
)

#: Where this topic comes in the lecture (mathnn.rules.TOPICS sorts by it): after the RNN and its limit, as the remedy.
LECTURE_ORDER = 2.5
RULES = (lstm_step,)
