"""The recurrent network of the lecture: the sequence as the RNN step unrolled, and the softmax output.

The lecture writes one step in column form, h_t = tanh(W_hh·h_{t−1} + W_xh·x_t + b). The step rule
(:mod:`mathnn.rules.rnn_step`) uses CS231n's row form for a batch of N sequences,
next_h = tanh(x @ Wx + prev_h @ Wh + b), with Wx = W_xhᵀ and Wh = W_hhᵀ; a claim below proves the two
say the same. The sequence, ``rnn``, is that step declared "unrolled over T"
(:class:`~mathnn.rules.recurrence.Recurrence`): its kernels and the proof of backpropagation through
time come from the step's declaration. The column-form derivation the docs show is in
:mod:`mathnn.rules.rnn_math`.

The output's loss, ``softmax_ce``, is a loss layer rule (:mod:`mathnn.rules.loss`): the textbook graph
o → eᵒ → Σₖ e^{oₖ} → p → ℓ = −Σₖ yₖ log pₖ for one row of a symbolic number V of classes, derived by
reverse accumulation, and the kernel that subtracts each row's maximum, proven for any shift.
"""

from __future__ import annotations

import re

import sympy as sp

from . import rnn_math, rnn_step
from .arrays import evaluate, symbol_matrix
from .core import (
    Claim, Dot, Equation, Kernel, Named, Node, RowMax, Rows, RowSum, Section, Slip, Statement, TotalSum,
    Transposed, compose,
)
from .decide import matrices_equal
from .layer import CS231n, Draw, LayerRule, Mistake
from .loss import Loss, onehot, scores, weights
from .recurrence import NO_GRADIENT_THROUGH_TIME
from .recurrent_step import unrolled
from .textprint import text

# -- softmax cross-entropy: the graph, one row of V classes ------------------------------------------
V = sp.Symbol("V", integer=True, positive=True)
exp_scores = Named("exp_scores", r"e^{o}", "eᵒ")
sum_exp = Named("sum_exp", r"\textstyle\sum_k e^{o_k}", "Σₖ e^{oₖ}")
probs = Named("probs", "p", "p")
row_loss = Named("row_loss", r"\ell", "ℓ")
shifted, exp_shifted, total = sp.symbols("shifted exp_shifted total")

#: The textbook gradient, w · (p − onehot(y)): the weight of the row is its upstream gradient.
DSCORES = weights * (probs - onehot)

softmax_ce_kernel = Kernel(
    name="softmax_cross_entropy",
    args=(scores, onehot, weights),
    statements=(
        Statement("shifted", scores - RowMax(scores), "o − max o: the exponentials below cannot overflow"),
        Statement("exp_shifted", sp.exp(shifted), "e^{o_k − c}"),
        Statement("total", RowSum(exp_shifted), "Σ_k e^{o_k − c}"),
        Statement("probs", exp_shifted / total, "p = e^{o − c} / Σ_k e^{o_k − c} = softmax(o): the shift cancels"),
        Statement(
            "loss", TotalSum(weights * (sp.log(total) - RowSum(onehot * shifted))),
            "L = Σ_rows w · (log Σ_k e^{o_k − c} − (o_y − c)) = −Σ_rows w · log p_y",
        ),
        Statement("dscores", DSCORES, "∂L/∂o = w · (p − onehot(y))"),
    ),
    computes=(sp.Symbol("L"), sp.Symbol("dL_do")),
    summary="Softmax cross-entropy of rows of scores against one-hot targets, and its gradient.",
    returns="loss : float\n    −Σ w log p_y\ndscores : ndarray of shape (M, V)\n    w (p − onehot)",
    outputs=("loss", "dscores"),
    arg_docs={
        "scores": "ndarray of shape (M, V), unnormalized log-probabilities o",
        "onehot": "ndarray of shape (M, V), one-hot targets",
        "weights": "ndarray of shape (M, 1), weight of each row (mask / N in CS231n's temporal loss)",
    },
    batch_arrays=frozenset({"scores", "onehot", "shifted", "exp_shifted", "probs"}),
)


# -- proofs at concrete sizes -------------------------------------------------------------------------


def column_form_claims(n: int = 2, d: int = 2, h: int = 2) -> list[Claim]:
    """The step kernel's row form x @ Wx + prev_h @ Wh + b is the lecture's column form, row by row."""
    s = rnn_step
    env = {
        s.x: symbol_matrix("x", n, d), s.prev_h: symbol_matrix("h", n, h), s.Wx: symbol_matrix("Wx", d, h),
        s.Wh: symbol_matrix("Wh", h, h), s.b: symbol_matrix("b", 1, h),
    }
    forward = evaluate(compose(s.rnn_step.kernels[0])[0], env)
    column_form = [
        (env[s.Wh].T * env[s.prev_h][row, :].T + env[s.Wx].T * env[s.x][row, :].T + env[s.b].T).applyfunc(sp.tanh).T
        for row in range(n)
    ]
    holds, how = matrices_equal(forward, sp.Matrix.vstack(*column_form))
    return [Claim(
        f"rnn_step's forward (row form, x @ Wx + prev_h @ Wh + b) is the lecture's "
        f"tanh(W_hh·h + W_xh·x + b) with W_hh = Whᵀ, W_xh = Wxᵀ (N={n}, D={d}, H={h})",
        r"h_t = \tanh(W_{hh} h_{t-1} + W_{xh} x_t + b)", how, holds,
    )]


def _plain_lhs(latex: str) -> str:
    """A derivation step's left-hand side in plain text: ∂L/∂W_hh, δₜ, aₜ."""
    shown = re.sub(r"\\frac\{\\partial (\S+?)\}\{\\partial (\S+?)\}", r"∂\1/∂\2", latex)
    for latex_word, plain in (("\\delta", "δ"), ("_{t-1}", "ₜ₋₁"), ("_{t+1}", "ₜ₊₁"), ("_{t}", "ₜ"), ("_{0}", "₀")):
        shown = shown.replace(latex_word, plain)
    return re.sub(r"_\{(\w+)\}", r"_\1", shown)


def _derivation() -> list[Section]:
    """The lecture's column-form derivation: the step, its local gradients, the output layer and BPTT."""
    steps = tuple(
        Equation(
            ((_plain_lhs(step.latex_lhs), step.latex_lhs),
             (step.plain if isinstance(step.expr, str) else text(step.expr),
              step.expr if isinstance(step.expr, str) else sp.latex(step.expr, order="none"))),
            step.note,
        )
        for step in rnn_math.derivation_steps()
    )
    return [Section("The step and backpropagation through time, in the lecture's column form", steps)]


#: h_0 … h_{T−1}, the state before every step, as the backward kernel names it
prev_h_steps = sp.Symbol("prev_h_steps")
_d = rnn_step.da  # δ, the step's declared gradient at its pre-activation

rnn = unrolled(
    rnn_step.rnn_step, "rnn", "Recurrent step and backpropagation through time",
    (
        "An RNN carries a hidden state from step to step: h_t = tanh(W_hh·h_{t−1} + W_xh·x_t + b). "
        "The same weights act at every step, so their gradient is a sum over time, and the gradient "
        "reaching h_t arrives from two places: the output at t and the step t + 1 "
        "(backpropagation through time). The sequence is the RNN step rule unrolled over T: its kernels "
        "are the step's graph and closed forms in a loop, proven for any element-wise activation f "
        "against SymPy's derivative of the unrolled graph at several concrete sizes."
    ),
    activation=rnn_step.next_h,
    delta=_d,
    proof_sizes=({"N": 1, "D": 1, "H": 2, "T": 3}, {"N": 2, "D": 2, "H": 1, "T": 2}),
    slips=(
        NO_GRADIENT_THROUGH_TIME,
        Slip("dWh transposed", ("dWh",),
             "your dWh is the transpose of the true gradient: dWh = Σ_t h_{t−1}ᵀ δ_t (row form), not δ_tᵀ h_{t−1}",
             {"dWh": Dot(Transposed(Rows(sp.Symbol("da"))), Rows(prev_h_steps))}),
        Slip("dWh from h_t", ("dWh",),
             "your dWh uses h_t where the step multiplies h_{t−1}: dWh = Σ_t h_{t−1}ᵀ δ_t",
             {"dWh": Dot(Transposed(Rows(sp.Symbol("h_steps"))), Rows(sp.Symbol("da")))}),
    ),
    derivation_of=_derivation,
    extra_claims=column_form_claims,
    wrapper="mathnn.layers.rnn",
)

softmax_ce = LayerRule(
    name="softmax_ce",
    title="Softmax cross-entropy",
    note=(
        "The next-character model scores every character, turns the scores into probabilities with "
        "softmax, p_k = e^{o_k}/Σ_j e^{o_j}, and pays −log p_y for the true next character y: with y one-hot, "
        "ℓ = −Σ_k y_k log p_k. Its gradient is simply p − onehot(y), derived below for one row of a symbolic "
        "number V of classes; over a batch each row's loss is weighted (1/N, or mask/N over time) and the "
        "weight multiplies the row's gradient. The kernel subtracts each row's maximum first, which "
        "changes nothing mathematically but keeps e^{o} from overflowing: it is proven for any shift."
    ),
    size=V,
    element_arrays=(scores, onehot),
    scalars={},
    nodes=(
        Node(exp_scores, sp.exp(scores), "exp_scores", "e^{o_j}"),
        Node(sum_exp, RowSum(exp_scores), "sum_exp", "Σ_k e^{o_k}, one per row"),
        Node(probs, exp_scores / sum_exp, "probs", "p_j = e^{o_j} / Σ_k e^{o_k}: softmax"),
        Node(row_loss, -RowSum(onehot * sp.log(probs)), "row_loss", "ℓ = −Σ_k y_k log p_k = −log p_y"),
    ),
    differentiated=(scores,),
    closed_forms={scores: DSCORES},
    helpers=(),
    shared=(),
    # Unit-scale scores over ten classes keep every p above ~1e-3: a difference quotient of the loss has a
    # rounding floor of about ε·|L|/h ≈ 1e-12, so it could not resolve a much smaller p to 1e-8 relative.
    draws={"scores": Draw(("N", "V")), "onehot": Draw(("N", "V"))},
    check_sizes=({"N": 1, "V": 2}, {"N": 4, "V": 5}, {"N": 3, "V": 10}),
    cs231n=CS231n(name="softmax", arguments=("x", "y"), gradients=("dx",), cache=("probs",)),
    mistakes=(
        Mistake("no −1 at the correct class", scores,
                "dx misses the −1 at the correct class: dx = (softmax(x) − onehot(y)) / N, so subtract 1 at "
                "x[i, y[i]] before dividing by N",
                closed=weights * probs),
    ),
    dout=weights,
    one_hot=(onehot,),
    loss=Loss(softmax_ce_kernel),
)
#: Where this topic comes in the lecture (mathnn.rules.TOPICS sorts by it).
LECTURE_ORDER = 2
RULES = (rnn, softmax_ce)
