"""One step of the lecture's RNN as a layer rule: h_t = tanh(x_t W_x + h_{t−1} W_h + b), CS231n's row form.

The lecture writes the recurrence W_hh·h + W_xh·x + b for one column vector; CS231n's
``rnn_step_forward`` keeps one row per sequence, so Wx = W_xhᵀ and Wh = W_hhᵀ (the RNN rule in
:mod:`mathnn.rules.rnn` proves the two say the same). The step reduces over no axis of its own, so
it is proven entry by entry at concrete sizes, and its named mistakes — the classic slips in
``rnn_step_backward`` — are refuted there and recognised by the checker. The public functions stay
in :mod:`mathnn.layers.rnn`, with the sequence they are a step of.
"""

from __future__ import annotations

import sympy as sp

from .core import Dot, Named, Node, Statement, Transposed
from .layer import Mistake
from .recurrent_step import Wh, Wx, b, dnext_h, next_h, prev_h, step, weight_gradients, x

a = Named("a", "a", "a")
#: δ = ∂L/∂a = dnext_h ⊙ tanh′(a), with tanh′(a) = 1 − tanh²(a) = 1 − hₜ².
da = Named("da", r"\delta", "δ")

rnn_step = step(
    "rnn_step", "RNN step",
    (
        "One step of the vanilla RNN, h_t = tanh(x_t Wx + h_{t−1} Wh + b), with one row per sequence "
        "as in CS231n's rnn_step_forward (Wx = W_xhᵀ, Wh = W_hhᵀ against the lecture's column form). "
        "Everything flows back through δ = dnext_h ⊙ (1 − h_t²), the derivative of tanh written with "
        "the output it already has: the input and the previous state get δ times the transposed "
        "weights, the weights get the transposed inputs times δ, and b the sum of δ over the rows. "
        "The proof works entry by entry at several concrete sizes."
    ),
    inputs=(x, prev_h),
    gates="H",
    nodes=(
        Node(a, Dot(x, Wx) + Dot(prev_h, Wh) + b, "a", "a = x Wx + h_{t−1} Wh + b"),
        Node(next_h, sp.tanh(a), "next_h", "h_t = tanh(a)"),
    ),
    closed_forms={x: Dot(da, Transposed(Wx)), prev_h: Dot(da, Transposed(Wh)), **weight_gradients(da)},
    helpers=(Statement("da", dnext_h * (1 - next_h**2), "δ = dnext_h ⊙ (1 − h_t²), tanh′ from the output"),),
    check_sizes=({"N": 2, "D": 4, "H": 5}, {"N": 1, "D": 1, "H": 1}, {"N": 3, "D": 2, "H": 4}),
    proof_sizes=({"N": 1, "D": 2, "H": 2}, {"N": 2, "D": 1, "H": 2}),
    cache=("x", "prev_h", "Wx", "Wh", "next_h"),
    wrapper="mathnn.layers.rnn",
    mistakes=(
        Mistake("dWh transposed", Wh,
                "your dWh is the transpose of the true gradient: dWh = prev_hᵀ δ (rows are sequences), not δᵀ prev_h",
                closed=Dot(Transposed(da), prev_h)),
        Mistake("tanh′ as (1 − h)²", x,
                "your backward uses (1 − h_t)² for tanh′: the derivative is 1 − h_t², the square of h_t only",
                closed=Dot(dnext_h * (1 - next_h)**2, Transposed(Wx))),
        Mistake("no tanh′", x,
                "your backward leaves out tanh′: δ = dnext_h ⊙ (1 − h_t²) before multiplying by the weights",
                closed=Dot(dnext_h, Transposed(Wx))),
        Mistake("tanh′ from a", x,
                "your backward computes tanh′ as 1 − a² from the pre-activation a; it is 1 − tanh(a)² = 1 − h_t²",
                closed=Dot(dnext_h * (1 - a**2), Transposed(Wx))),
    ),
)

#: Where this topic comes in the lecture (mathnn.rules.TOPICS sorts by it): with the RNN.
LECTURE_ORDER = 2
RULES = (rnn_step,)
