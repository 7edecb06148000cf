"""The vanilla RNN, symbolically: one step, softmax cross-entropy and backpropagation through time.

The lecture's column form, with hidden size n, input size d and vocabulary size v::

    a_t = W_hh h_{t−1} + W_xh x_t + b          h_t = f(a_t)           h ∈ ℝⁿ, x ∈ ℝᵈ
    o_t = W_hy h_t + b_y                        p_t = softmax(o_t)     o, p ∈ ℝᵛ
    L   = −Σ_t log p_t[target_t]

Everything is worked at CONCRETE sizes with ``sympy.Matrix`` of plain real symbols and scalar
``sympy.diff`` (``MatrixSymbol.diff`` is never used: it is wrong for exactly these expressions, see
the design note). ``MatrixSymbol`` appears only in :func:`derivation_steps`, for display.

Claims
------
* :func:`step_claims` — one recurrence step with upstream gradient dh and L = dhᵀh_t: the derivative
  SymPy takes of L by every entry of W_hh, W_xh, b, h_{t−1}, x_t equals the matrix forms
  δ = dh ⊙ f′(a), δ h_{t−1}ᵀ, δ x_tᵀ, δ, W_hhᵀδ, W_xhᵀδ. The activation f and the derivative f′ are
  the rules of :mod:`mathnn.rules.activations` (``rule.forward`` and ``rule.derived_gradient``).
* :func:`softmax_ce_claim` — ∂(−log softmax(o)[k])/∂o = p − onehot(k) for every class k, and the
  loss is invariant to shifting o (the stable log-sum-exp form the kernels use).
* :func:`bptt_claim` — the gradient of the unrolled loss by every parameter, h_0 and every x_t
  equals the matrix-form backward recursion (:func:`backward`); a wrong recursion can be passed in.

How equality is decided: :mod:`mathnn.rules.laurent` (transcendental atoms as independent symbols,
an exact Laurent-polynomial expansion, a numeric witness for a difference that does not vanish).
The unrolled graph of backpropagation through time is in :mod:`mathnn.rules.rnn_bptt`.

Nothing here is imported on the numeric path; importing this module imports SymPy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TypedDict

import sympy as sp

from ..errors import InputError
from . import activations
from .core import Claim
from .laurent import Atoms, _timed, decide
from .scalar import Rule
from .textprint import text

__all__ = [
    "ACTIVATIONS", "DEFAULT_SIZES", "FAST_SIZES", "Sizes", "Step", "activation_derivative", "activation_forward",
    "derivation_steps", "softmax_ce_claim", "step_claims",
]

#: The activations an RNN step can use, each a rule of :mod:`mathnn.rules.activations`.
ACTIVATIONS = ("tanh", "sigmoid", "relu", "leaky_relu")

class Sizes(TypedDict):
    """Sizes of an unrolled RNN, as keyword arguments of :func:`bptt_claim`."""

    n: int
    d: int
    v: int
    T: int


#: Default sizes of :func:`bptt_claim` and the small ones used with ``fast=True`` and in the tests.
DEFAULT_SIZES: Sizes = {"n": 3, "d": 2, "v": 2, "T": 4}
FAST_SIZES: Sizes = {"n": 2, "d": 1, "v": 2, "T": 3}

_x = activations.x  # the rules' input symbol

# -- activations: forward and derivative taken from the rules -------------------------------------


def _rule(name: str) -> Rule:
    for rule in activations.RULES:
        if rule.name == name:
            return rule
    raise InputError(f"activation: expected one of {', '.join(ACTIVATIONS)}; received {name!r}")


@cache
def _derived(name: str) -> sp.Expr:
    """The rule's f′(x) as SymPy derives it from the rule's graph (cached: derivation takes a moment)."""
    return _rule(name).derived_gradient(_x)


def activation_forward(name: str, a: sp.Expr, compact: bool = False) -> sp.Expr:
    """f(a) for the activation ``name``: the rule's forward expression with x := a.

    With ``compact``, tanh is written as ``sympy.tanh(a)`` instead of the rule's
    (e^a − e^{−a})/(e^a + e^{−a}), which names a four times and so grows as 4^T when unrolled;
    :func:`bptt_claim` shows the two are equal before using it.
    """
    if compact and name == "tanh":
        return sp.tanh(a)
    return _rule(name).forward.xreplace({_x: a})


def activation_derivative(name: str, a: sp.Expr, closed: bool = False) -> sp.Expr:
    """f′(a) for the activation ``name``, taken from the rule.

    By default the derivative SymPy derives from the rule's graph (``rule.derived_gradient``). With
    ``closed``, the rule's proven textbook closed form (1 − tanh², σ(1 − σ), the piecewise slopes)
    with its output node written as :func:`activation_forward` ``(compact=True)``.
    """
    rule = _rule(name)
    if not closed:
        return _derived(name).xreplace({_x: a})
    out = sp.Dummy("f")
    form = rule.expand(rule.closed_forms[_x].xreplace({rule.output: out}))
    return form.xreplace({_x: a, out: activation_forward(name, a, compact=True)})


def _sigmoid_atoms(atoms: Atoms, a: sp.Matrix, label: str) -> None:
    """Register e^{−a_i} = (1 − σ_i)/σ_i, so σ(a_i) = 1/(1 + e^{−a_i}) becomes the symbol σ_i."""
    for i, entry in enumerate(a):
        s = sp.Dummy(f"sigma_{label}{i}", positive=True)
        atoms.register_exp(-entry, (1 - s) / s)


# -- concrete matrices of plain symbols ------------------------------------------------------------


def _matrix(name: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda r, c: sp.Symbol(f"{name}[{r},{c}]", real=True))


def _vector(name: str, rows: int) -> sp.Matrix:
    return sp.Matrix(rows, 1, lambda r, _: sp.Symbol(f"{name}[{r}]", real=True))


def _hadamard(left: sp.Matrix, right: sp.Matrix) -> sp.Matrix:
    return left.multiply_elementwise(right)


def _check_sizes(**sizes: int) -> None:
    for name, value in sizes.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InputError(f"{name}: expected a positive int; received {value!r}")


def _entries(label: str, derived: sp.Matrix, closed: sp.Matrix) -> list[tuple[str, sp.Expr, sp.Expr]]:
    if derived.shape != closed.shape:
        raise InputError(f"{label}: closed form has shape {closed.shape}, expected {derived.shape}")
    return [
        (f"∂L/∂{label}[{r},{c}]" if derived.cols > 1 else f"∂L/∂{label}[{r}]", derived[r, c], closed[r, c])
        for r in range(derived.rows) for c in range(derived.cols)
    ]


# -- 1. one recurrence step ------------------------------------------------------------------------


def step_claims(activation: str = "tanh", n: int = 2, d: int = 2) -> list[Claim]:
    """One step h_t = f(W_hh h_{t−1} + W_xh x_t + b) with L = dhᵀh_t: SymPy's gradients are the matrix forms.

    f is the rule's forward and f′ the derivative SymPy derives from the rule
    (:mod:`mathnn.rules.activations`), both at a = W_hh h_{t−1} + W_xh x_t + b.

    Returns
    -------
    list of Claim
        One claim per gradient: dW_hh = δh_{t−1}ᵀ, dW_xh = δx_tᵀ, db = δ, dh_{t−1} = W_hhᵀδ,
        dx_t = W_xhᵀδ, each with δ = dh ⊙ f′(a) and checked for every entry; for tanh one more
        claim that δ = dh ⊙ (1 − h_t ⊙ h_t), the derivative written with the output.
    """
    _check_sizes(n=n, d=d)
    _rule(activation)
    W_hh, W_xh = _matrix("W_hh", n, n), _matrix("W_xh", n, d)
    b, h_prev, x_t, dh = _vector("b", n), _vector("h_prev", n), _vector("x", d), _vector("dh", n)
    a = W_hh * h_prev + W_xh * x_t + b
    h = a.applyfunc(lambda entry: activation_forward(activation, entry))
    loss = (dh.T * h)[0, 0]
    delta = _hadamard(dh, a.applyfunc(lambda entry: activation_derivative(activation, entry)))
    wrt = {"W_hh": W_hh, "W_xh": W_xh, "b": b, "h_prev": h_prev, "x": x_t}
    closed = {
        "W_hh": delta * h_prev.T, "W_xh": delta * x_t.T, "b": delta,
        "h_prev": W_hh.T * delta, "x": W_xh.T * delta,
    }
    shown = {
        "W_hh": ("δ·h_{t−1}ᵀ", r"\delta\, h_{t-1}^{T}"), "W_xh": ("δ·x_tᵀ", r"\delta\, x_{t}^{T}"),
        "b": ("δ", r"\delta"), "h_prev": ("W_hhᵀ·δ", r"W_{hh}^{T} \delta"),
        "x": ("W_xhᵀ·δ", r"W_{xh}^{T} \delta"),
    }
    latex_wrt = {"W_hh": "W_{hh}", "W_xh": "W_{xh}", "b": "b", "h_prev": "h_{t-1}", "x": "x_{t}"}
    text_wrt = {"W_hh": "W_hh", "W_xh": "W_xh", "b": "b", "h_prev": "h_{t−1}", "x": "x_t"}

    def atoms_for_step() -> Atoms:
        atoms = Atoms()
        if activation == "sigmoid":
            _sigmoid_atoms(atoms, a, "a")
        return atoms

    how_pw = ""
    if activation in ("relu", "leaky_relu"):
        kink = _derived(activation).xreplace({_x: 0})
        how_pw = (
            f"; f′ is the rule's Piecewise (f′(0) = {text(kink)}, the rule's kink convention) and each "
            "Piecewise((X, a_i > 0), (Y, True)) became s_i·X + (1 − s_i)·Y: an identity in the indicator "
            "s_i holds for s_i ∈ {0, 1}, i.e. for every sign pattern of a, a_i = 0 included"
        )
    how_at = {
        "tanh": "; e^{±a_i} named E_i^{±1}",
        "sigmoid": "; e^{−a_i} = (1 − σ_i)/σ_i (a change of variables, σ_i ∈ (0, 1))",
    }.get(activation, "")
    size = f"n={n}, d={d}"
    claims = []
    for key, matrix in wrt.items():

        def run(matrix=matrix, key=key) -> tuple[bool, str]:
            derived = matrix.applyfunc(lambda s: sp.diff(loss, s))
            decision = decide(_entries(text_wrt[key], derived, closed[key]), atoms_for_step())
            return decision.holds, f"sympy.diff of L by each entry; {decision.how}{how_at}{how_pw}"

        claims.append(_timed(
            f"{activation} step ({size}), L = dhᵀh_t: ∂L/∂{text_wrt[key]} = {shown[key][0]} with "
            f"δ = dh ⊙ {activation}′(a), every entry",
            rf"\frac{{\partial L}}{{\partial {latex_wrt[key]}}} = {shown[key][1]},\quad "
            rf"\delta = dh \odot f'(a)",
            run,
        ))
    if activation == "tanh":
        delta_out = _hadamard(dh, h.applyfunc(lambda entry: 1 - entry**2))

        def run_output() -> tuple[bool, str]:
            pairs = [(f"f′(a[{i}]) vs 1 − h[{i}]²", activation_derivative("tanh", a[i]), 1 - h[i] ** 2)
                     for i in range(n)]
            for key, matrix in wrt.items():
                derived = matrix.applyfunc(lambda s: sp.diff(loss, s))
                expected = {
                    "W_hh": delta_out * h_prev.T, "W_xh": delta_out * x_t.T, "b": delta_out,
                    "h_prev": W_hh.T * delta_out, "x": W_xh.T * delta_out,
                }[key]
                pairs += _entries(text_wrt[key], derived, expected)
            decision = decide(pairs, Atoms())
            return decision.holds, (
                "the rule's derived f′ equals 1 − h² entry by entry, and sympy.diff of L by every entry "
                f"equals the five forms with δ = dh ⊙ (1 − h_t²); {decision.how}{how_at}"
            )

        claims.append(_timed(
            f"tanh step ({size}): f′(a) = 1 − h_t², so δ = dh ⊙ (1 − h_t ⊙ h_t) — the backward pass "
            "needs only the output h_t, not a",
            r"\tanh'(a) = 1 - h_{t}^{\circ 2},\quad \delta = dh \odot \left(1 - h_{t}^{\circ 2}\right)",
            run_output,
        ))
    return claims


# -- 2. softmax cross-entropy ----------------------------------------------------------------------


def _softmax_atoms(atoms: Atoms, o: sp.Matrix, target: int, label: str) -> None:
    """Register e^{o_k} = p_k·Z with Σ p = 1 by eliminating a class other than ``target``."""
    v = o.rows
    if v < 2:
        return
    eliminated = (target + 1) % v
    z = sp.Dummy(f"Z_{label}", positive=True)
    p = [sp.Dummy(f"p_{label}{k}", positive=True) for k in range(v)]
    rest = sp.Add(*[p[k] for k in range(v) if k != eliminated])
    for k in range(v):
        atoms.register_exp(o[k], ((1 - rest) if k == eliminated else p[k]) * z)


def _softmax(o: sp.Matrix) -> sp.Matrix:
    exps = o.applyfunc(sp.exp)
    return exps / sp.Add(*exps)


def _onehot(k: int, v: int) -> sp.Matrix:
    return sp.Matrix(v, 1, lambda r, _: 1 if r == k else 0)


def softmax_ce_claim(v: int = 3, gradient: Callable[[sp.Matrix, sp.Matrix], sp.Matrix] | None = None) -> Claim:
    """∂(−log softmax(o)[k])/∂o = p − onehot(k) for every class k, and shift invariance of the loss.

    Parameters
    ----------
    v : int
        Number of classes.
    gradient : callable (p, y) -> Matrix, optional
        The closed form to check instead of p − y (e.g. ``lambda p, y: y - p`` fails).

    Returns
    -------
    Claim
        Holds when the gradient matches for every k and L(o − c) written as the stable
        log Σ_j e^{o_j − c} − (o_k − c) equals −log p_k for every real c.
    """
    _check_sizes(v=v)
    closed_form = gradient or (lambda p, y: p - y)

    def run() -> tuple[bool, str]:
        o = _vector("o", v)
        p = _softmax(o)
        c = sp.Symbol("c", real=True)
        pairs_checked = 0
        for k in range(v):
            loss = -sp.log(p[k])
            derived = o.applyfunc(lambda s, loss=loss: sp.diff(loss, s))
            atoms = Atoms()
            _softmax_atoms(atoms, o, k, "o")
            decision = decide(_entries(f"o (target {k})", derived, closed_form(p, _onehot(k, v))), atoms)
            if not decision.holds:
                return False, f"sympy.diff of −log p_k by each o_j: {decision.how}"
            pairs_checked += v
        # Shift invariance: d/dc of the stable form is 0, and at c = 0 it is −log p_k.
        shift_how = []
        for k in range(v):
            stable = sp.log(sp.Add(*[sp.exp(o[j] - c) for j in range(v)])) - (o[k] - c)
            slope = decide([(f"∂/∂c (target {k})", sp.diff(stable, c), sp.Integer(0))])
            at_zero = sp.expand_log(stable.subs(c, 0) - (-sp.log(p[k])), force=True)
            if not slope.holds or sp.simplify(at_zero) != 0:
                return False, f"shift invariance fails for target {k}: {slope.how}; at c = 0: {text(at_zero)}"
            shift_how.append(slope.how)
        return True, (
            f"sympy.diff of −log softmax(o)[k] by each o_j, for all {v} targets ({pairs_checked} entries): "
            "e^{o_j} = p_j·Z with Z = Σ e^{o} and one non-target p eliminated by Σ p = 1, difference "
            "expanded exactly as a Laurent polynomial = 0; shift: d/dc[log Σ e^{o_j − c} − (o_k − c)] is 0 "
            "with each e^{o_j − c} an independent atom, and at c = 0 expand_log(force=True, all "
            "arguments positive) turns the stable form into −log p_k, so it equals −log p_k for every c"
        )

    name = "p − onehot(k)" if gradient is None else "the given closed form"
    return _timed(
        f"softmax cross-entropy (v={v}): ∂(−log softmax(o)[k])/∂o = {name} for every target k, and "
        "log Σ_j e^{o_j − c} − (o_k − c) = −log p_k for every c (the stable log-sum-exp)",
        r"\frac{\partial}{\partial o}\left(-\log \mathrm{softmax}(o)_{k}\right) = p - e_{k},\quad "
        r"\log\sum_{j} e^{o_{j}-c} - (o_{k}-c) = -\log p_{k}",
        run,
    )


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

    @property
    def latex(self) -> str:
        """The whole equation in LaTeX."""
        rhs = self.expr if isinstance(self.expr, str) else sp.latex(self.expr, order="none")
        return f"{self.latex_lhs} = {rhs}"


def derivation_steps() -> list[Step]:
    """The RNN forward step, its local gradients, the softmax-CE gradient and the BPTT recursion.

    Matrix expressions use ``MatrixSymbol`` for display only; every equation is proven by the
    claims of :func:`prove` at concrete sizes.
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
             ""),
        Step("db_y_bptt", r"\frac{\partial L}{\partial b_{y}}", r"\sum_{t=1}^{T} \left(p_{t} - y_{t}\right)", ""),
        Step("dh0_bptt", r"\frac{\partial L}{\partial h_{0}}", W_hh.T * M(r"\delta_{1}", n, 1), ""),
        Step("dx_bptt", r"\frac{\partial L}{\partial x_{t}}", W_xh.T * delta_t, ""),
    ]
