"""The recurrent network of the lecture: the tanh step and the softmax cross-entropy output, as rules.

The lecture writes one step in column form, h_t = tanh(W_hh·h_{t−1} + W_xh·x_t + b). The kernels use
CS231n's row form for a batch of N sequences, next_h = tanh(x @ Wx + prev_h @ Wh + b), with
Wx = W_xhᵀ and Wh = W_hhᵀ; a claim below proves the two say the same. The backward kernels are split
the way backpropagation through time needs them: inside the time loop only δ_t and the gradient
flowing to h_{t−1}; after the loop the weight gradients of all steps at once, as one matrix product
over the stacked steps. The symbolic derivation of the step and of BPTT is in
:mod:`mathnn.rules.rnn_math` and :mod:`mathnn.rules.rnn_bptt`; here each kernel is proven, entry by entry at concrete sizes, to be
the gradient SymPy's scalar ``diff`` gives.
"""

from __future__ import annotations

import itertools
import sympy as sp

from .arrays import evaluate, gradient, run, symbol_matrix
from . import rnn_bptt, rnn_math
from .decide import matrices_equal
from .core import (
    BatchMajor, BatchSum, Claim, ClaimRule, Dot, Equation, Kernel, Loop, RowMax, Rows, RowSum, Section, Statement, Step,
    TotalSum, Transposed, compose, kernel_section,
)
from .textprint import text

# -- array notation -------------------------------------------------------------------------------
x, prev_h, Wx, Wh, b, a = sp.symbols("x prev_h Wx Wh b a")
next_h, dnext_h, da, dprev_h = sp.symbols("next_h dnext_h da dprev_h")
scores, onehot, weights, shifted, exp_shifted, total = sp.symbols("scores onehot weights shifted exp_shifted total")

RNN_ARRAYS = frozenset({"x", "prev_h", "a", "next_h", "dnext_h", "da", "dprev_h"})
_N_BY = "ndarray of shape (N, {})"

step_forward = Kernel(
    name="rnn_step_forward",
    args=(x, prev_h, Wx, Wh, b),
    statements=(
        Statement(
            "a", Dot(x, Wx) + Dot(prev_h, Wh) + b,
            "a_t = W_hh·h_{t−1} + W_xh·x_t + b, in row form x_t Wx + h_{t−1} Wh + b (one row per sequence)",
        ),
        Statement("next_h", sp.tanh(a), "h_t = tanh(a_t), in place", into="a"),
    ),
    computes=sp.Symbol("h_t"),
    summary="One RNN step, CS231n row form: next_h = tanh(x @ Wx + prev_h @ Wh + b).",
    returns="next_h : ndarray of shape (N, H)\n    h_t",
    outputs=("next_h",),
    arg_docs={
        "x": _N_BY.format("D") + ", inputs x_t", "prev_h": _N_BY.format("H") + ", hidden state h_{t−1}",
        "Wx": "ndarray of shape (D, H), W_xhᵀ", "Wh": "ndarray of shape (H, H), W_hhᵀ",
        "b": "ndarray of shape (H,), bias",
    },
    batch_arrays=RNN_ARRAYS,
)

step_delta = Kernel(
    name="rnn_step_delta",
    args=(dnext_h, next_h, Wh),
    statements=(
        Statement("da", dnext_h * (1 - next_h**2), "δ_t = dh_t ⊙ tanh′(a_t) = dh_t ⊙ (1 − h_t²)"),
        Statement("dprev_h", Dot(da, Transposed(Wh)), "∂L/∂h_{t−1} = W_hhᵀ δ_t, in row form δ_t Wh ᵀ"),
    ),
    computes=(sp.Symbol("delta_t"), sp.Symbol("dh_prev")),
    summary="Backward through one tanh step inside the time loop: δ_t and the gradient reaching h_{t−1}.",
    returns=(
        "da : ndarray of shape (N, H)\n    δ_t = ∂L/∂a_t\n"
        "dprev_h : ndarray of shape (N, H)\n    ∂L/∂h_{t−1} through this step"
    ),
    outputs=("da", "dprev_h"),
    arg_docs={
        "dnext_h": _N_BY.format("H") + ", total gradient reaching h_t",
        "next_h": _N_BY.format("H") + ", h_t from the forward pass", "Wh": "ndarray of shape (H, H)",
    },
    batch_arrays=RNN_ARRAYS,
)

weight_gradients = Kernel(
    name="rnn_weight_gradients",
    args=(da, x, prev_h, Wx),
    statements=(
        Statement("dx", Dot(da, Transposed(Wx)), "∂L/∂x_t = W_xhᵀ δ_t, in row form δ_t Wxᵀ"),
        Statement("dWx", Dot(Transposed(x), da), "∂L/∂W_xh = Σ δ_t x_tᵀ: one product over every row"),
        Statement("dWh", Dot(Transposed(prev_h), da), "∂L/∂W_hh = Σ δ_t h_{t−1}ᵀ: one product over every row"),
        Statement("db", BatchSum(da), "∂L/∂b = Σ δ_t"),
    ),
    computes=(sp.Symbol("dx"), sp.Symbol("dWx"), sp.Symbol("dWh"), sp.Symbol("db")),
    summary=(
        "Input and weight gradients of RNN steps from their δ. Rows may stack many steps (N·T rows), "
        "so the weight gradients of a whole sequence are one matrix product each."
    ),
    returns=(
        "dx : ndarray of shape (M, D)\n    ∂L/∂x for each row\n"
        "dWx : ndarray of shape (D, H)\ndWh : ndarray of shape (H, H)\ndb : ndarray of shape (H,)\n"
        "    weight gradients summed over the rows"
    ),
    outputs=("dx", "dWx", "dWh", "db"),
    arg_docs={
        "da": "ndarray of shape (M, H), δ of M stacked steps", "x": "ndarray of shape (M, D), their inputs",
        "prev_h": "ndarray of shape (M, H), their h_{t−1}", "Wx": "ndarray of shape (D, H)",
    },
    batch_arrays=RNN_ARRAYS,
)

softmax_ce_kernel = Kernel(
    name="softmax_cross_entropy",
    args=(scores, onehot, weights),
    statements=(
        Statement("shifted", scores - RowMax(scores), "o − max o: the exponentials below cannot overflow"),
        Statement("exp_shifted", sp.exp(shifted), "e^{o_k − c}"),
        Statement("total", RowSum(exp_shifted), "Σ_k e^{o_k − c}"),
        Statement(
            "loss", TotalSum(weights * (sp.log(total) - RowSum(onehot * shifted))),
            "L = Σ_rows w · (log Σ_k e^{o_k − c} − (o_y − c)) = −Σ_rows w · log p_y",
        ),
        Statement("dscores", (exp_shifted / total - onehot) * weights, "∂L/∂o = w · (p − onehot(y))"),
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
    batch_arrays=frozenset({"scores", "onehot", "shifted", "exp_shifted"}),
)


# -- the step unrolled over a sequence: forward and backpropagation through time ---------------------

h0, h, dh, x_steps, dh_steps, a_steps, prev_steps = sp.symbols("h0 h dh x_steps dh_steps a_steps prev_steps")
dWx, dWh, db, dx, dh0, x_Wx = sp.symbols("dWx dWh db dx dh0 x_Wx")
f_arg, f_grad_arg, T = sp.symbols("f f_grad T")
#: Any element-wise activation and its derivative: the sequence kernels are proven for every f.
f, f_grad = sp.Function("f"), sp.Function("f_grad")
_CALLABLE = "Callable[[np.ndarray], np.ndarray] | None"

sequence_forward = Kernel(
    name="rnn_sequence_forward",
    args=(x, h0, Wx, Wh, b, f_arg),
    statements=(
        Statement("x_Wx", Dot(x_steps, Wx), "x_t Wx for every step in one call, outside the loop"),
        Statement("prev_h", h0, "h_0 starts the recurrence"),
        Loop(
            (
                Statement("a[t]", Step(x_Wx) + Dot(prev_h, Wh) + b,
                          "a_t = x_t Wx + h_{t−1} Wh + b: the step's pre-activation, in rnn_step_forward's order"),
                Statement("h[t]", f(Step(a)), "h_t = f(a_t)"),
                Statement("prev_h", Step(h), "the state step t + 1 reads"),
            ),
            "the step, once per time step t = 1 … T",
        ),
        Statement("h", BatchMajor(h), "h_1 … h_T as (N, T, H), a view"),
        Statement("a", BatchMajor(a), "a_1 … a_T as (N, T, H), a view"),
    ),
    computes=(sp.Symbol("h_seq"), sp.Symbol("a_seq")),
    summary="The RNN step unrolled over a sequence, for any element-wise activation f (tanh by default).",
    returns="h : ndarray of shape (N, T, H)\n    h_1 … h_T\na : ndarray of shape (N, T, H)\n    a_1 … a_T, for f′",
    outputs=("h", "a"),
    defaults={"f": None},
    bindings={
        "f": "np.tanh if f is None else f",
        "T": "x.shape[1]",
        "x_steps": "x.swapaxes(0, 1)  # time-major views: every step reads contiguous rows",
        "a": "np.empty((T, x.shape[0], Wh.shape[0]), dtype=np.result_type(x, h0, Wx, Wh, b))",
        "h": "np.empty_like(a)",
    },
    arg_docs={
        "x": "ndarray of shape (N, T, D)", "h0": "ndarray of shape (N, H)", "Wx": "ndarray of shape (D, H)",
        "Wh": "ndarray of shape (H, H)", "b": "ndarray of shape (H,)",
        "f": "callable, element-wise activation; np.tanh when None",
    },
    arg_types={"f": _CALLABLE},
)

fprime = sp.Symbol("fprime")

sequence_backward = Kernel(
    name="rnn_sequence_backward",
    args=(dh, x, h0, h, a, Wx, Wh, f_grad_arg),
    statements=(
        Statement("fprime", f_grad(a_steps), "f′(a_t) for every step at once"),
        Loop(
            (
                Statement("da[t]", (Step(dh_steps) + dprev_h) * Step(fprime),
                          "δ_t = (∂L/∂h_t + what step t + 1 sent back) ⊙ f′(a_t)"),
                Statement("dprev_h", Dot(Step(da), Transposed(Wh)), "what step t sends back to h_{t−1}: δ_t Whᵀ"),
            ),
            "backpropagation through time, t = T … 1: only the recursion is step by step",
            reverse=True,
        ),
        Statement("dx", BatchMajor(Dot(da, Transposed(Wx))), "∂L/∂x_t = δ_t Wxᵀ for every step, as (N, T, D)"),
        Statement("dWx", Dot(Transposed(Rows(x_steps)), Rows(da)),
                  "∂L/∂Wx = Σ_t x_tᵀ δ_t: the weights are shared, one product over the N·T rows"),
        Statement("dWh", Dot(Transposed(Rows(prev_steps)), Rows(da)), "∂L/∂Wh = Σ_t h_{t−1}ᵀ δ_t, likewise"),
        Statement("db", BatchSum(Rows(da)), "∂L/∂b = Σ_t Σ_rows δ_t"),
        Statement("dh0", dprev_h, "∂L/∂h_0: what step 1 sent back"),
    ),
    computes=(dx, dh0, dWx, dWh, db),
    summary="Backpropagation through time for rnn_sequence_forward, for any activation (tanh′ by default).",
    returns=(
        "dx : ndarray of shape (N, T, D)\ndh0 : ndarray of shape (N, H)\ndWx : ndarray of shape (D, H)\n"
        "dWh : ndarray of shape (H, H)\ndb : ndarray of shape (H,)"
    ),
    outputs=("dx", "dh0", "dWx", "dWh", "db"),
    defaults={"f_grad": None},
    bindings={
        "f_grad": "(lambda a: 1 - np.tanh(a) ** 2) if f_grad is None else f_grad  # tanh′, the tanh rule's",
        "dh_steps": "dh.swapaxes(0, 1)",
        "x_steps": "x.swapaxes(0, 1)",
        "a_steps": "a.swapaxes(0, 1)",
        "prev_steps": "np.concatenate([h0[None], h.swapaxes(0, 1)[:-1]])  # h_{t−1} of every step",
        "T": "x.shape[1]",
        "da": "np.empty(dh_steps.shape, dtype=np.result_type(dh, a, Wh))",
        "dprev_h": "np.zeros(h0.shape, dtype=da.dtype)",
    },
    arg_docs={
        "dh": "ndarray of shape (N, T, H), upstream ∂L/∂h_t of every step (not through time)",
        "x": "ndarray of shape (N, T, D)", "h0": "ndarray of shape (N, H)",
        "h": "ndarray of shape (N, T, H), from rnn_sequence_forward", "a": "ndarray of shape (N, T, H), likewise",
        "Wx": "ndarray of shape (D, H)", "Wh": "ndarray of shape (H, H)",
        "f_grad": "callable, f′ element-wise at the pre-activation; tanh′ when None",
    },
    arg_types={"f_grad": _CALLABLE},
)


def _fprime(expr: sp.Expr) -> sp.Expr:
    """SymPy's derivative of the undefined f at a point, written as f_grad at that point."""
    expr = expr.replace(
        lambda e: isinstance(e, sp.Subs) and isinstance(e.expr, sp.Derivative) and e.expr.expr.func == f,
        lambda e: f_grad(*e.point),
    )
    return expr.replace(lambda e: isinstance(e, sp.Derivative) and e.expr.func == f, lambda e: f_grad(e.expr.args[0]))


def sequence_kernel_claims(forward_kernel: Kernel = sequence_forward, backward_kernel: Kernel = sequence_backward,
                           n: int = 1, d: int = 1, hidden: int = 2, steps: int = 3) -> list[Claim]:
    """The sequence kernels: the step unrolled, and BPTT = scalar diff of the unrolled loss, for any f."""
    zero = lambda rows, cols: sp.zeros(rows, cols)  # noqa: E731
    xs = [symbol_matrix(f"x{t}", n, d) for t in range(steps)]
    dhs = [symbol_matrix(f"dh{t}", n, hidden) for t in range(steps)]
    weights = {Wx: symbol_matrix("Wx", d, hidden), Wh: symbol_matrix("Wh", hidden, hidden), b: symbol_matrix("b", 1, hidden)}
    start = symbol_matrix("h0", n, hidden)
    forward = run(forward_kernel, {x_steps: xs, h0: start, T: steps, a: [None] * steps, h: [None] * steps, **weights})
    hs, pre = forward[h], forward[a]
    size = f"N={n}, D={d}, H={hidden}, T={steps}"
    # the loop is the step kernel applied T times (with f = tanh, the step kernel's activation)
    stepped, previous = [], start
    for t in range(steps):
        (previous,) = (evaluate(e, {x: xs[t], prev_h: previous, **weights}) for e in compose(step_forward))
        stepped.append(previous)
    claims = [_claim(
        f"rnn_sequence_forward is rnn_step_forward applied at t = 1 … T ({size})", r"h_t = f(a_t),\ t = 1 \dots T",
        sp.Matrix.vstack(*[m.replace(f, sp.tanh) for m in hs]), sp.Matrix.vstack(*stepped),
    )]
    loss = sum(sum(dht.multiply_elementwise(ht)) for dht, ht in zip(dhs, hs))
    backward = run(backward_kernel, {
        dh_steps: dhs, x_steps: xs, a_steps: pre, prev_steps: [start, *hs[:-1]], T: steps, da: [None] * steps,
        dprev_h: zero(n, hidden), **weights,
    })
    truth = {name: gradient(loss, matrix).applyfunc(_fprime) for name, matrix in (
        ("dx", sp.Matrix.vstack(*xs)), ("dh0", start), ("dWx", weights[Wx]), ("dWh", weights[Wh]), ("db", weights[b]),
    )}
    kernel = {"dx": sp.Matrix.vstack(*backward[dx]), "dh0": backward[dh0], "dWx": backward[dWx],
              "dWh": backward[dWh], "db": backward[db]}
    claims += [
        _claim(f"rnn_sequence_backward gives ∂L/∂{name[1:]} of the unrolled loss, for any activation f ({size})",
               rf"\frac{{\partial L}}{{\partial {name[1:]}}}", kernel[name], truth[name])
        for name in ("dx", "dh0", "dWx", "dWh", "db")
    ]
    return claims


# -- proofs at concrete sizes -------------------------------------------------------------------------


def _claim(statement: str, latex: str, left: sp.Matrix, right: sp.Matrix) -> Claim:
    holds, how = matrices_equal(left, right)
    return Claim(statement, latex, how, holds)


def step_kernel_claims(kernels: dict[str, Kernel], n: int = 2, d: int = 2, h: int = 2) -> list[Claim]:
    """The three step kernels against scalar ``diff`` of L = Σ dnext_h ⊙ next_h, at N = n, D = d, H = h."""
    env = {
        x: symbol_matrix("x", n, d), prev_h: symbol_matrix("h", n, h), Wx: symbol_matrix("Wx", d, h),
        Wh: symbol_matrix("Wh", h, h), b: symbol_matrix("b", 1, h), dnext_h: symbol_matrix("dh", n, h),
    }
    (forward,) = (evaluate(expr, env) for expr in compose(kernels["rnn_step_forward"]))
    column_form = [
        (env[Wh].T * env[prev_h][row, :].T + env[Wx].T * env[x][row, :].T + env[b].T).applyfunc(sp.tanh).T
        for row in range(n)
    ]
    loss = sum(env[dnext_h].multiply_elementwise(forward))
    delta, to_prev = (evaluate(e, {**env, next_h: forward}) for e in compose(kernels["rnn_step_delta"]))
    dx_, dWx_, dWh_, db_ = (evaluate(e, {**env, da: delta}) for e in compose(kernels["rnn_weight_gradients"]))
    size = f"N={n}, D={d}, H={h}"
    return [
        _claim(
            f"rnn_step_forward (row form, x @ Wx + prev_h @ Wh + b) is the lecture's "
            f"tanh(W_hh·h + W_xh·x + b) with W_hh = Whᵀ, W_xh = Wxᵀ ({size})",
            r"h_t = \tanh(W_{hh} h_{t-1} + W_{xh} x_t + b)", forward, sp.Matrix.vstack(*column_form),
        ),
        _claim(f"rnn_step_delta gives ∂L/∂h_{{t−1}} ({size})", r"\frac{\partial L}{\partial h_{t-1}} = W_{hh}^\top \delta_t",
               to_prev, gradient(loss, env[prev_h])),
        _claim(f"rnn_weight_gradients gives ∂L/∂x ({size})", r"\frac{\partial L}{\partial x_t} = W_{xh}^\top \delta_t",
               dx_, gradient(loss, env[x])),
        _claim(f"rnn_weight_gradients gives ∂L/∂Wx ({size})", r"\frac{\partial L}{\partial W_{xh}} = \delta_t x_t^\top",
               dWx_, gradient(loss, env[Wx])),
        _claim(f"rnn_weight_gradients gives ∂L/∂Wh ({size})", r"\frac{\partial L}{\partial W_{hh}} = \delta_t h_{t-1}^\top",
               dWh_, gradient(loss, env[Wh])),
        _claim(f"rnn_weight_gradients gives ∂L/∂b ({size})", r"\frac{\partial L}{\partial b} = \delta_t",
               db_, gradient(loss, env[b])),
    ]


def softmax_kernel_claims(kernel: Kernel, rows: int = 2, classes: int = 3) -> list[Claim]:
    """The softmax cross-entropy kernel against scalar ``diff`` for every assignment of targets."""
    scores_m, weights_m = symbol_matrix("o", rows, classes), symbol_matrix("w", rows, 1)
    claims = []
    gradient_ok, loss_ok, hows = True, True, []
    for targets in itertools.product(range(classes), repeat=rows):
        onehot_m = sp.Matrix(rows, classes, lambda r, c: int(targets[r] == c))
        shifts: dict = {}
        loss_, dscores_ = (evaluate(e, {scores: scores_m, onehot: onehot_m, weights: weights_m}, shifts)
                           for e in compose(kernel))
        holds, how = matrices_equal(dscores_, gradient(loss_, scores_m))
        gradient_ok &= holds
        hows.append(how)
        # The shift c is arbitrary: with c = 0 the loss is the textbook −Σ w log softmax(o)_y.
        unshifted = loss_.xreplace({s: 0 for column in shifts.values() for s in column})
        textbook = -sum(
            weights_m[r] * sp.log(sp.exp(scores_m[r, targets[r]]) / sum(sp.exp(v) for v in scores_m[r, :]))
            for r in range(rows)
        )
        loss_ok &= sp.simplify(sp.expand_log(unshifted - textbook, force=True)) == 0
        shift_free = all(
            sp.simplify(sp.diff(loss_, s)) == 0 for column in shifts.values() for s in column
        )
        loss_ok &= shift_free
    size = f"{rows} rows × {classes} classes, all {classes ** rows} target assignments"
    claims.append(Claim(
        f"softmax_cross_entropy gives ∂L/∂o = w(p − onehot) ({size})",
        r"\frac{\partial L}{\partial o} = p - \mathrm{onehot}(y)", hows[-1], gradient_ok,
    ))
    claims.append(Claim(
        f"softmax_cross_entropy's loss does not depend on the shift c and equals −Σ w log softmax(o)_y ({size})",
        r"\log\sum_k e^{o_k - c} - (o_y - c) = -\log \mathrm{softmax}(o)_y",
        "∂L/∂c simplifies to 0; at c = 0, simplify(expand_log(L − textbook)) = 0", loss_ok,
    ))
    return claims


def _derivation() -> list[Section]:
    """The lecture's column-form derivation (step, local gradients, BPTT), then the row-form kernels."""
    steps = tuple(
        Equation(
            ((step.name, step.latex_lhs),
             (step.expr if isinstance(step.expr, str) else text(step.expr),
              step.expr if isinstance(step.expr, str) else sp.latex(step.expr, order="none"))),
            step.note,
        )
        for step in rnn_math.derivation_steps()
    )
    return [
        Section("The step and backpropagation through time, in the lecture's column form", steps),
        kernel_section(RNN_KERNELS),
    ]


RNN_KERNELS = (step_forward, step_delta, weight_gradients, sequence_forward, sequence_backward)

rnn = ClaimRule(
    name="rnn",
    title="Recurrent step and backpropagation through time",
    note=(
        "An RNN carries a hidden state from step to step: h_t = tanh(W_hh·h_{t−1} + W_xh·x_t + b). "
        "The same weights act at every step, so their gradient is a sum over time, and the gradient "
        "reaching h_t arrives from two places: the output at t and the step t + 1 "
        "(backpropagation through time)."
    ),
    kernels=RNN_KERNELS,
    # The column-form math for every activation and BPTT at (n, d, v, T) = (3, 2, 2, 4), then each
    # row-form kernel entry by entry.
    claims_of=lambda kernels: [
        *rnn_bptt.prove(), *step_kernel_claims({kernel.name: kernel for kernel in kernels}), *sequence_kernel_claims(kernels[3], kernels[4]),
    ],
    numeric_check="check_rnn",
    derivation_of=_derivation,
)

softmax_ce = ClaimRule(
    name="softmax_ce",
    title="Softmax cross-entropy",
    note=(
        "The next-character model scores every character, turns the scores into probabilities with "
        "softmax, p_k = e^{o_k}/Σ_j e^{o_j}, and pays −log p_y for the true next character y. Its "
        "gradient is simply p − onehot(y). The kernel subtracts each row's maximum first, which "
        "changes nothing mathematically but keeps e^{o} from overflowing."
    ),
    kernels=(softmax_ce_kernel,),
    claims_of=lambda kernels: softmax_kernel_claims(kernels[0]),
    numeric_check="check_softmax_ce",
)
#: Where this topic comes in the lecture (mathnn.rules.TOPICS sorts by it).
LECTURE_ORDER = 2
RULES = (rnn, softmax_ce)
