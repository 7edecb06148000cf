"""The multiclass SVM (hinge) loss of CS231n assignment 1 and 2, as a rule with a generated kernel.

For a row of scores o and its correct class y the loss is Σ_{j≠y} max(0, o_j − o_y + 1): every wrong
class whose score comes within the margin 1 of the correct one costs the gap. The loss is piecewise
linear, so its gradient is a step: ∂/∂o_j = 1[m_j > 0] for j ≠ y and ∂/∂o_y = −(number of positive
margins). At a margin exactly 0 (the kink) the loss has no derivative; the kernel uses 0 there (the
right-hand derivative would be 1; any value in [0, 1] is a subgradient). The step is written
``Heaviside(m, 0)``: SymPy's step with its value at 0 declared, so the proof below is about that
convention and not SymPy's default H(0) = 1/2.

The proofs, at 2 rows × 3 classes for each of the 9 assignments of correct classes: the margins are
the textbook ones (0 at the correct class); max(0, m) = H(m)·m for every real m (one variable, by
``simplify`` of the piecewise forms); the kernel's loss is the textbook loss; its gradient is SymPy's
scalar ``diff`` of the textbook loss with the kink's value declared 0, entry by entry, every distinct
step H(m) an independent symbol (:func:`mathnn.rules.decide.matrices_equal`).
"""

from __future__ import annotations

import itertools

import sympy as sp

from .arrays import gradient, run, symbol_matrix
from .core import Claim, ClaimRule, Kernel, RowSum, Slip, Statement, TotalSum, loss_points
from .decide import decide_zero, matrices_equal

scores, onehot, weights = sp.symbols("scores onehot weights")
correct, margins, positive = sp.symbols("correct margins positive")

svm_kernel = Kernel(
    name="multiclass_svm",
    args=(scores, onehot, weights),
    statements=(
        Statement("correct", RowSum(onehot * scores), "o_y: the correct class's score in each row"),
        Statement(
            "margins", (1 - onehot) * (scores - correct + 1),
            "m_j = o_j − o_y + 1 for j ≠ y; 0 at the correct class, which the sum leaves out",
        ),
        Statement("positive", sp.Heaviside(margins, 0), "1[m_j > 0]; at a margin exactly 0 the convention is 0"),
        Statement("loss", TotalSum(weights * positive * margins), "L = Σ_rows w · Σ_{j≠y} max(0, m_j)"),
        Statement(
            "dscores", weights * (positive - onehot * RowSum(positive)),
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
    holds, how = decide_zero((sp.Max(0, m) - sp.Heaviside(m, 0) * m).rewrite(sp.Piecewise))
    return Claim("max(0, m) = H(m)·m with H(0) = 0, for every real m", r"\max(0, m) = H(m)\,m", how, holds)


def svm_kernel_claims(kernel: Kernel, rows: int = 2, classes: int = 3) -> list[Claim]:
    """The SVM kernel against the textbook loss and scalar ``diff`` of it, for every assignment of targets."""
    scores_m, weights_m = symbol_matrix("o", rows, classes), symbol_matrix("w", rows, 1)
    ok = {"margins": True, "loss": True, "gradient": True}
    hows: dict[str, str] = {}
    for targets in itertools.product(range(classes), repeat=rows):
        onehot_m = sp.Matrix(rows, classes, lambda r, c: int(targets[r] == c))
        values = run(kernel, {scores: scores_m, onehot: onehot_m, weights: weights_m})
        textbook_margins = sp.Matrix(
            rows, classes, lambda r, c: 0 if c == targets[r] else scores_m[r, c] - scores_m[r, targets[r]] + 1)
        holds, hows["margins"] = matrices_equal(values[margins], textbook_margins)
        ok["margins"] &= holds
        textbook = sum(weights_m[r] * sp.Max(0, textbook_margins[r, c])
                       for r in range(rows) for c in range(classes) if c != targets[r])
        # max(0, m) as H(m)·m (hinge_identity): then the loss is a polynomial in independent steps
        stepped = textbook.replace(lambda e: isinstance(e, sp.Max),
                                   lambda e: sp.Heaviside(e.args[1] if e.args[0] == 0 else e.args[0], 0)
                                   * (e.args[1] if e.args[0] == 0 else e.args[0]))
        holds, hows["loss"] = decide_zero(values[sp.Symbol("loss")] - stepped, try_simplify=False)
        ok["loss"] &= holds
        # diff of max(0, m) is SymPy's H(m); the declared kink convention fixes its value at 0 to 0
        truth = gradient(textbook, scores_m).applyfunc(
            lambda e: e.replace(lambda h: isinstance(h, sp.Heaviside), lambda h: sp.Heaviside(h.args[0], 0)))
        holds, hows["gradient"] = matrices_equal(values[sp.Symbol("dscores")], truth)
        ok["gradient"] &= holds
    size = f"{rows} rows × {classes} classes, all {classes ** rows} target assignments"
    return [
        hinge_identity(),
        Claim(f"multiclass_svm's margins are o_j − o_y + 1 off the correct class and 0 on it ({size})",
              r"m_j = o_j - o_y + 1,\ j \ne y", hows["margins"], ok["margins"]),
        Claim(f"multiclass_svm's loss is Σ_rows w Σ_{{j≠y}} max(0, o_j − o_y + 1) ({size})",
              r"L = \sum_i w_i \sum_{j \ne y_i} \max(0, o_j - o_{y_i} + 1)", hows["loss"], ok["loss"]),
        Claim(f"multiclass_svm gives ∂L/∂o of the textbook loss, with 0 at a margin exactly 0 ({size})",
              r"\frac{\partial L}{\partial o_j} = w\,1[m_j > 0],\ \frac{\partial L}{\partial o_y} = -w \sum_{j \ne y} 1[m_j > 0]",
              hows["gradient"], ok["gradient"]),
    ]


svm = ClaimRule(
    name="svm",
    title="Multiclass SVM (hinge) loss",
    note=(
        "The SVM loss asks the correct class's score to beat every other class's score by a margin of 1 and "
        "pays the shortfall: L = Σ_{j≠y} max(0, o_j − o_y + 1). Its gradient counts: each wrong class inside "
        "the margin gets +1, the correct class −1 for each of them. At a margin exactly 0 the loss has a kink; "
        "the kernel uses 0 there."
    ),
    declared=(svm_kernel,),
    claims_of=lambda kernels: svm_kernel_claims(kernels[0]),
    numeric_check="check_svm",
    slips=(
        Slip("correct class counted", ("loss",),
             "the correct class is counted in the margin sum: its margin x[i, y[i]] − x[i, y[i]] + 1 is always 1, "
             "which adds 1 to every example's loss (1 to the average); sum over j ≠ y[i] only",
             {"margins": scores - correct + 1}),
        Slip("no gradient at the correct class", ("dscores",),
             "dx of the correct class misses −(number of positive margins)/N: every wrong class inside the margin "
             "pushes x[i, y[i]] down by 1, so dx[i, y[i]] = −(count of j with margin > 0) / N",
             {"dscores": weights * positive * (1 - onehot)}),
    ),
    slip_points=lambda: loss_points(),
)
#: Where this topic comes in the lecture: the linear classifiers' losses, before the layers.
LECTURE_ORDER = 0
RULES = (svm,)
