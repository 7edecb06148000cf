"""The lecture's RNN derivation in column form, for display: the step, its gradients, the output, BPTT.

The lecture writes, with hidden size n, input size d and vocabulary size v::

    a_t = W_hh h_{t−1} + W_xh x_t + b          h_t = f(a_t)           h ∈ ℝⁿ, x ∈ ℝᵈ
    o_t = W_hy h_t + b_y                        p_t = softmax(o_t)     o, p ∈ ℝᵛ
    L   = −Σ_t log p_t[target_t]

:func:`derivation_steps` writes these equations with ``MatrixSymbol`` for the docs and ``mathnn
derive rnn``; nothing here is a proof. Each equation is proven by a rule: the step (row form
x Wx + h Wh + b, Wx = W_xhᵀ, Wh = W_hhᵀ, and its column form) by ``rnn_step`` and ``rnn``; BPTT by
``rnn``, the step unrolled over T for any activation f; the output layer's gradients by
``temporal_affine`` (the affine rule on N·T rows) and ``softmax_ce``.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

__all__ = ["Step", "derivation_steps"]


# -- 4. derivation steps for the docs --------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One displayed equation of the RNN derivation.

    ``expr`` is a SymPy object (printed with ``sympy.latex``) or, where SymPy cannot print the
    notation, LaTeX text.
    """

    name: str
    latex_lhs: str
    expr: sp.Basic | str
    note: str
    #: the right-hand side in plain text, where ``expr`` is LaTeX text
    plain: str = ""

    @property
    def latex(self) -> str:
        """The whole equation in LaTeX."""
        rhs = self.expr if isinstance(self.expr, str) else sp.latex(self.expr, order="none")
        return f"{self.latex_lhs} = {rhs}"


def derivation_steps() -> list[Step]:
    """The RNN forward step, its local gradients, the softmax-CE gradient and the BPTT recursion.

    Matrix expressions use ``MatrixSymbol`` for display only; the rules named in the module
    docstring prove each equation.
    """
    n, d, v = sp.symbols("n d v", integer=True, positive=True)
    t, T = sp.symbols("t T", integer=True, positive=True)
    M = sp.MatrixSymbol
    W_hh, W_xh, W_hy = M("W_hh", n, n), M("W_xh", n, d), M("W_hy", v, n)
    b, b_y = M("b", n, 1), M("b_y", v, 1)
    h_prev, h_t, x_t = M("h_{t-1}", n, 1), M("h_t", n, 1), M("x_t", d, 1)
    dh_t, delta_t, delta_next = M("dh_t", n, 1), M(r"\delta_{t}", n, 1), M(r"\delta_{t+1}", n, 1)
    fprime = M(r"f'\left(a_{t}\right)", n, 1)
    p_t, y_t = M("p_t", v, 1), M("y_t", v, 1)
    ones = M(r"\mathbf{1}", n, 1)
    g_t = sp.MatAdd(p_t, -y_t, evaluate=False)
    return [
        Step("forward", "a_{t}", sp.MatAdd(W_hh * h_prev, W_xh * x_t, b, evaluate=False),
             "pre-activation; then h_t = f(a_t) element-wise, f from mathnn.rules.activations"),
        Step("output", "o_{t}", sp.MatAdd(W_hy * h_t, b_y, evaluate=False),
             "scores; p_t = softmax(o_t), L = −Σ_t log p_t[target_t]"),
        Step("delta", r"\delta_{t}", sp.HadamardProduct(dh_t, fprime),
             "∂L/∂a: the upstream gradient dh times f′ at the pre-activation, element by element "
             "(a is element-wise, so its Jacobian is diagonal)"),
        Step("delta_tanh", r"\delta_{t}", sp.HadamardProduct(dh_t, sp.MatAdd(ones, -sp.HadamardPower(h_t, 2),
                                                                         evaluate=False)),
             "for tanh, f′(a) = 1 − tanh²(a) = 1 − h_t²: the backward pass needs only the output"),
        Step("dW_hh", r"\frac{\partial L}{\partial W_{hh}}", delta_t * h_prev.T,
             "∂a_i/∂W_hh[i,j] = h_{t−1,j}: an outer product, δ on the left"),
        Step("dW_xh", r"\frac{\partial L}{\partial W_{xh}}", delta_t * x_t.T, "∂a_i/∂W_xh[i,j] = x_{t,j}"),
        Step("db", r"\frac{\partial L}{\partial b}", delta_t, "∂a/∂b is the identity"),
        Step("dh_prev", r"\frac{\partial L}{\partial h_{t-1}}", W_hh.T * delta_t,
             "Σ_i δ_i W_hh[i,j]: the transpose carries the gradient back"),
        Step("dx", r"\frac{\partial L}{\partial x_{t}}", W_xh.T * delta_t, "Σ_i δ_i W_xh[i,j]"),
        Step("softmax_ce", r"\frac{\partial L_{t}}{\partial o_{t}}", g_t,
             "∂(−log p_k)/∂o_j = p_j − [j = k]; y_t is the one-hot target. Shifting o_t by a constant "
             "changes neither p_t nor L_t"),
        Step("dh_bptt", "dh_{t}", sp.MatAdd(sp.MatMul(W_hy.T, g_t, evaluate=False), W_hh.T * delta_next,
                                            evaluate=False),
             "h_t reaches L through o_t (this step's output) and through a_{t+1} (every later step); the "
             "second term is absent at t = T"),
        Step("delta_bptt", r"\delta_{t}", sp.HadamardProduct(dh_t, fprime), "as in one step"),
        Step("dW_hh_bptt", r"\frac{\partial L}{\partial W_{hh}}", sp.Sum(delta_t * h_prev.T, (t, 1, T)),
             "the same W_hh is used at every step, so its gradient sums over time"),
        Step("dW_xh_bptt", r"\frac{\partial L}{\partial W_{xh}}", sp.Sum(delta_t * x_t.T, (t, 1, T)), ""),
        Step("db_bptt", r"\frac{\partial L}{\partial b}", sp.Sum(delta_t, (t, 1, T)), ""),
        # sympy.Sum re-sorts p_t − y_t into −y_t + p_t, so these two are written as text.
        Step("dW_hy_bptt", r"\frac{\partial L}{\partial W_{hy}}", r"\sum_{t=1}^{T} \left(p_{t} - y_{t}\right) h_{t}^{T}",
             "", "Σₜ (pₜ − yₜ)·hₜᵀ"),
        Step("db_y_bptt", r"\frac{\partial L}{\partial b_{y}}", r"\sum_{t=1}^{T} \left(p_{t} - y_{t}\right)", "",
             "Σₜ (pₜ − yₜ)"),
        Step("dh0_bptt", r"\frac{\partial L}{\partial h_{0}}", W_hh.T * M(r"\delta_{1}", n, 1), ""),
        Step("dx_bptt", r"\frac{\partial L}{\partial x_{t}}", W_xh.T * delta_t, ""),
    ]
