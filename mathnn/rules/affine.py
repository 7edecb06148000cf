"""The affine (fully connected) layer, out = x w + b: CS231n's affine and temporal-affine functions.

Nothing is reduced along an axis of its own, so the derivation is entry by entry at concrete sizes
(:mod:`mathnn.rules.layer_concrete`): every entry of dx, dw and db that reverse accumulation gives is
shown equal to the matrix closed forms dout wᵀ, xᵀ dout and Σ_rows dout. The temporal layer of the
RNN assignment is the same map on the N·T rows of a sequence, so it is a variant of this one rule.
"""

from __future__ import annotations

import sympy as sp

from .core import BatchSum, Dot, Node, Transposed, out
from .layer import CS231n, Draw, LayerRule, Mistake
from .layer_parts import Reshape, Variant

x, w, b, dout = sp.symbols("x w b dout")

affine = LayerRule(
    name="affine",
    title="Affine layer",
    note=(
        "The affine (fully connected) layer maps each row of a batch to y = x W + b. It is the "
        "linear part of every layer of the lecture: the RNN's W_hh h + W_xh x + b is two of them "
        "added, and the next-character model's scores are one. Its gradients are matrix products: "
        "∂L/∂x = dout Wᵀ, ∂L/∂W = xᵀ dout, and ∂L/∂b sums dout over the rows, because b is added to "
        "every row. CS231n's affine_forward takes x of any shape (N, d₁, …, d_k) and flattens each "
        "example; temporal_affine_forward takes a sequence (N, T, D) and applies the same map at "
        "every step. The proof works entry by entry at several concrete sizes."
    ),
    size=None,
    element_arrays=(x, w, b),
    scalars={},
    nodes=(Node(out, Dot(x, w) + b, "out", "y = x W + b, the same b added to every row"),),
    differentiated=(x, w, b),
    closed_forms={x: Dot(dout, Transposed(w)), w: Dot(Transposed(x), dout), b: BatchSum(dout)},
    helpers=(),
    shared=(b,),
    draws={"x": Draw(("N", "D")), "w": Draw(("D", "M")), "b": Draw(("M",))},
    check_sizes=({"N": 3, "D": 6, "M": 4}, {"N": 1, "D": 2, "M": 3}, {"N": 5, "D": 3, "M": 2}),
    proof_sizes=({"N": 1, "D": 2, "M": 3}, {"N": 2, "D": 3, "M": 2}),
    reshape=Reshape("x", ("N", "d_1", "d_2"), rows=1, sizes={"N": 3, "d_1": 2, "d_2": 3, "M": 4}),
    variants=(Variant("temporal_affine", Reshape("x", ("N", "T", "D"), rows=2,
                                                 sizes={"N": 2, "T": 3, "D": 4, "M": 5})),),
    cs231n=CS231n(
        name="affine",
        arguments=("x", "w", "b"),
        gradients=("dx", "dw", "db"),
        cache=("x", "w"),
    ),
    mistakes=(
        Mistake("db not summed over the rows", b,
                "db must add dout over every row (and step): b is added to each of them", closed=dout),
    ),
)

#: Where this topic comes in the lecture (mathnn.rules.TOPICS sorts by it).
LECTURE_ORDER = 0
RULES = (affine,)
