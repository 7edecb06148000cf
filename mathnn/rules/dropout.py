"""Inverted dropout as a layer rule: out = x ⊙ mask, with the mask drawn by the public function.

CS231n's ``dropout_forward`` (since 2017) keeps each entry with probability p and scales the kept ones
by 1/p at training time, so that test mode is the identity: the mask holds 0 or 1/p. Drawing it is
not calculus: the mask is an *input* of the kernels, not differentiated, and the public functions in
:mod:`mathnn.layers.dropout` draw it from ``dropout_param``'s seed. What is derived and proven is the
rest: ∂L/∂x = dout ⊙ mask, entry by entry at concrete sizes (nothing is reduced along an axis). The
named mistakes are those of a backward pass; the mistakes of the forward pass (p as the drop
probability, no 1/p, a test mode that still drops, the seed ignored) are about the random mask and
are recognised by :mod:`mathnn.gradcheck.dropout_check` from the output's structure.
"""

from __future__ import annotations

import sympy as sp

from .core import Node, out
from .layer import CS231n, Draw, LayerRule, Mistake

x, mask, dout = sp.symbols("x mask dout")

dropout = LayerRule(
    name="dropout",
    title="Dropout",
    note=(
        "Inverted dropout (CS231n since 2017): at training time each entry of x is kept with "
        "probability p and scaled by 1/p, y = x ⊙ mask with mask = (U < p)/p for U uniform on [0, 1), "
        "so that E[y] = x and test mode is simply y = x. The mask is drawn once by the forward pass "
        "and kept in the cache: it is an input of the layer's arithmetic, not something a gradient "
        "flows into. The backward pass multiplies by the same mask, ∂L/∂x = dout ⊙ mask, which "
        "already holds the 1/p. The proof works entry by entry at concrete sizes; the random part, "
        "the mask's structure and its keep fraction, is checked numerically by mathnn check."
    ),
    size=None,
    element_arrays=(x, mask),
    scalars={},
    nodes=(Node(out, x * mask, "out", "y = x ⊙ mask, the mask holding 0 or 1/p"),),
    differentiated=(x,),
    closed_forms={x: dout * mask},
    helpers=(),
    shared=(),
    # the kernels' arithmetic holds for any mask: a Gaussian one checks every entry of it
    draws={"x": Draw(("N", "D")), "mask": Draw(("N", "D"), loc=1.0)},
    check_sizes=({"N": 4, "D": 5}, {"N": 1, "D": 1}, {"N": 3, "D": 7}),
    proof_sizes=({"N": 1, "D": 2}, {"N": 2, "D": 3}),
    homework_sizes={"N": (3, 8), "D": (3, 8)},
    cs231n=CS231n(
        name="dropout",
        arguments=("x", "dropout_param"),
        gradients=("dx",),
        cache=("mask",),
        param_dict="dropout_param",
        # a check needs the same mask at every call: train mode, a seed, and a p whose 1 − p differs
        fixed={"mode": "train", "p": 0.3, "seed": 231},
        wrapper="mathnn.layers.dropout",
        # the mask is random: a student's output is judged by its structure, not against mathnn's draw
        forward_check="mathnn.gradcheck.dropout_check",
    ),
    mistakes=(
        Mistake("mask ignored", x,
                "your dropout_backward ignores the mask: dx = dout * mask, zero where the forward dropped an entry "
                "and dout / p where it kept one", closed=dout),
        Mistake("no 1/p in dx", x,
                "your dropout_backward multiplies dout by the keep mask without the 1/p scale: the forward "
                "scaled each kept entry by 1/p, so dx = dout * mask = dout / p there", closed=dout * sp.sign(mask)),
    ),
)

#: Where this topic comes in the lecture (mathnn.rules.TOPICS sorts by it): with batch norm, the
#: regularisation of the lecture's last part.
LECTURE_ORDER = 3
RULES = (dropout,)
