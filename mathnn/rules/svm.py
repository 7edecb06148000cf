"""The multiclass SVM (hinge) loss of CS231n assignment 1 and 2, as a layer rule with a generated kernel.

For a row of scores o and its correct class y the loss is ℓ = Σ_{j≠y} max(0, o_j − o_y + 1): every wrong
class whose score comes within the margin 1 of the correct one costs the gap. The graph writes the
margins m_j = (1 − y_j)(o_j − o_y + 1), 0 at the correct class, and ℓ = Σ_j max(0, m_j). The loss is
piecewise linear, so its gradient is a step: ∂/∂o_j = 1[m_j > 0] for j ≠ y and ∂/∂o_y = −(number of
positive margins). At a margin exactly 0 (the kink) the loss has no derivative; the kernel uses 0 there
(the right-hand derivative would be 1; any value in [0, 1] is a subgradient). The hinge is
:class:`Hinge`, whose derivative is ``Heaviside(m, 0)``: SymPy's step with its value at 0 declared, so
the derivation and the proof are about that convention and not SymPy's default H(0) = 1/2.

The gradient is derived by reverse accumulation at 1 × 2 and 2 × 3 (rows × classes) for every
assignment of the correct classes (the targets are one-hot: :mod:`mathnn.rules.loss`) and proven
equal to the closed form entry by entry, every distinct step H(m) an independent symbol
(:func:`mathnn.rules.decide.matrices_equal`); max(0, m) = H(m)·m for every real m is proven once, by
``simplify`` of the piecewise forms, and lets the kernel compute the loss from the same steps.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .core import Claim, Kernel, Kink, Named, Node, RowSum, Statement, TotalSum
from .decide import decide_zero
from .layer import CS231n, Draw, ForwardMistake, LayerRule, Mistake
from .loss import Loss, onehot, scores, weights


class Hinge(sp.Function):
    """max(0, m), differentiated as the step H(m) with the declared value 0 at the kink m = 0."""

    nargs = 1

    @classmethod
    def eval(cls, m: sp.Expr) -> sp.Expr | None:
        if m.is_extended_nonpositive:
            return sp.Integer(0)
        if m.is_extended_positive:
            return m
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.Heaviside(self.args[0], 0)

    def _eval_rewrite_as_Heaviside(self, m: sp.Expr, **kwargs: object) -> sp.Expr:
        return sp.Heaviside(m, 0) * m

    def _numpycode(self, printer) -> str:
        return f"np.maximum({printer._print(self.args[0])}, 0)"

    def _latex(self, printer, exp=None) -> str:
        shown = rf"\max\left(0, {printer._print(self.args[0])}\right)"
        return shown if exp is None else rf"{shown}^{{{exp}}}"

    def _mathnn_text(self, printer) -> str:
        return f"max(0, {printer._print(self.args[0])})"


C = sp.Symbol("C", integer=True, positive=True)
correct, positive = sp.symbols("correct positive")
margins = Named("margins", "m", "m")
row_loss = Named("row_loss", r"\ell", "ℓ")

#: The kernel's name for the margins: its statements are replayed by name, as plain symbols
margins_array = sp.Symbol("margins")

#: The textbook gradient: w at every wrong class with a positive margin, −w·(their count) at the correct one.
DSCORES = weights * (positive - onehot * RowSum(positive))

svm_kernel = Kernel(
    name="multiclass_svm",
    args=(scores, onehot, weights),
    statements=(
        Statement("correct", RowSum(onehot * scores), "o_y: the correct class's score in each row"),
        Statement(
            "margins", (1 - onehot) * (scores - correct + 1),
            "m_j = o_j − o_y + 1 for j ≠ y; 0 at the correct class, which the sum leaves out",
        ),
        Statement("positive", sp.Heaviside(margins_array, 0), "1[m_j > 0]; at a margin exactly 0 the convention is 0"),
        Statement("loss", TotalSum(weights * positive * margins_array), "L = Σ_rows w · Σ_{j≠y} max(0, m_j)"),
        Statement(
            "dscores", DSCORES,
            "∂L/∂o_j = w·1[m_j > 0] for j ≠ y; ∂L/∂o_y = −w · (number of positive margins)",
        ),
    ),
    computes=(sp.Symbol("L"), sp.Symbol("dL_do")),
    summary="Multiclass SVM (hinge) loss of rows of scores against one-hot targets, margin 1, and its gradient.",
    returns=(
        "loss : float\n    Σ_rows w Σ_{j≠y} max(0, o_j − o_y + 1)\n"
        "dscores : ndarray of shape (M, C)\n    ∂L/∂o, with 0 taken at a margin exactly 0"
    ),
    outputs=("loss", "dscores"),
    arg_docs={
        "scores": "ndarray of shape (M, C), class scores o",
        "onehot": "ndarray of shape (M, C), one-hot correct classes",
        "weights": "ndarray of shape (M, 1), weight of each row (1/N for CS231n's average over the batch)",
    },
    batch_arrays=frozenset({"scores", "onehot", "margins", "positive"}),
)


def hinge_identity() -> Claim:
    """max(0, m) = H(m)·m with H(0) = 0, for every real m: the kernel's hinge is the textbook one."""
    m = sp.Symbol("m", real=True)
    holds, how = decide_zero((sp.Max(0, m) - Hinge(m).rewrite(sp.Heaviside)).rewrite(sp.Piecewise))
    return Claim("max(0, m) = H(m)·m with H(0) = 0, for every real m", r"\max(0, m) = H(m)\,m", how, holds)


#: How far a wrong class's margin is kept from its kink at 0 by :func:`off_the_hinges`.
HINGE_CLEARANCE = 0.05


def off_the_hinges(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Random check inputs with every wrong class's margin at least 0.05 from 0, on its own side.

    The loss is piecewise linear: a difference step that crosses a margin of 0 measures neither
    side's slope. 0.05 is far more than any step of the check.
    """
    scores, onehot = inputs["scores"].copy(), inputs["onehot"]
    gaps = scores - np.sum(onehot * scores, axis=1, keepdims=True) + 1
    near = (np.abs(gaps) < HINGE_CLEARANCE) & (onehot == 0)
    scores[near] += np.where(gaps[near] >= 0, 2 * HINGE_CLEARANCE, -2 * HINGE_CLEARANCE)
    return {**inputs, "scores": scores}


svm = LayerRule(
    name="svm",
    title="Multiclass SVM (hinge) loss",
    note=(
        "The SVM loss asks the correct class's score to beat every other class's score by a margin of 1 and "
        "pays the shortfall: ℓ = Σ_{j≠y} max(0, o_j − o_y + 1). Its gradient counts: each wrong class inside "
        "the margin gets +1, the correct class −1 for each of them; over a batch each row's loss is weighted "
        "(1/N) and the weight multiplies the row's gradient. At a margin exactly 0 the loss has a kink; the "
        "kernel uses 0 there. The derivation is entry by entry at small sizes, for every assignment of the "
        "correct classes."
    ),
    size=None,
    element_arrays=(scores, onehot),
    scalars={},
    nodes=(
        Node(correct, RowSum(onehot * scores), "correct", "o_y: the correct class's score in each row"),
        Node(margins, (1 - onehot) * (scores - correct + 1), "margins",
             "m_j = o_j − o_y + 1 for j ≠ y; 0 at the correct class, which the sum leaves out"),
        Node(row_loss, RowSum(Hinge(margins)), "row_loss", "ℓ = Σ_j max(0, m_j)"),
    ),
    differentiated=(scores,),
    closed_forms={scores: DSCORES},
    helpers=(Statement("positive", sp.Heaviside(margins, 0), "1[m_j > 0]; at a margin exactly 0 the convention is 0"),),
    shared=(),
    draws={"scores": Draw(("N", "C")), "onehot": Draw(("N", "C"))},
    check_sizes=({"N": 1, "C": 2}, {"N": 4, "C": 5}, {"N": 3, "C": 10}),
    proof_sizes=({"N": 1, "C": 2}, {"N": 2, "C": 3}),
    cs231n=CS231n(name="svm", arguments=("x", "y"), gradients=("dx",), cache=("margins",)),
    mistakes=(
        Mistake("no gradient at the correct class", scores,
                "dx of the correct class misses −(number of positive margins)/N: every wrong class inside the margin "
                "pushes x[i, y[i]] down by 1, so dx[i, y[i]] = −(count of j with margin > 0) / N",
                closed=weights * positive * (1 - onehot)),
        Mistake("every wrong class counted", scores,
                "dx gives +1/N to every wrong class, not only to those whose margin x[i, j] − x[i, y[i]] + 1 is "
                "positive: max(0, m) has slope 0 where m < 0, so dx[i, j] = 1[margin > 0] / N for j ≠ y[i]",
                closed=weights * ((1 - onehot) - onehot * RowSum(positive))),
    ),
    forward_mistakes=(
        ForwardMistake("correct class counted",
                       "the correct class is counted in the margin sum: its margin x[i, y[i]] − x[i, y[i]] + 1 is "
                       "always 1, which adds 1 to every example's loss (1 to the average); sum over j ≠ y[i] only",
                       {margins: scores - correct + 1}),
    ),
    kinks=(Kink(margins, sp.Integer(0), sp.Integer(0),
                "H(0) = 0: a margin exactly 0 adds nothing to the gradient (any value in [0, 1] is a subgradient)"),),
    dout=weights,
    one_hot=(onehot,),
    loss=Loss(svm_kernel, facts=(hinge_identity,), off_kinks=off_the_hinges),
)
#: Where this topic comes in the lecture: the linear classifiers' losses, before the layers.
LECTURE_ORDER = 0
RULES = (svm,)
