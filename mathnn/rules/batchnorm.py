"""Batch normalization (Ioffe & Szegedy 2015, Algorithm 1) as a rule: derived, proven, generated.

The math is done for one feature over a mini-batch of symbolic size m in
:mod:`mathnn.rules.batchnorm_math`. This module declares the kernels in array notation — an (N, D)
batch, one column per feature, ``BatchSum`` for Σᵢ over the batch — written to keep at most one
(N, D) temporary alive and to fill caller-provided buffers, and proves that they compute the proven
closed forms by mapping the array notation back to indexed sums.
"""

from __future__ import annotations

import sympy as sp

from . import batchnorm_math as bn
from .core import BatchSum, Claim, ClaimRule, Equation, Kernel, Section, Statement, compose, equal
from .textprint import text

# -- array notation: an (N, D) batch, per-feature vectors of length D ----------------------------
N = sp.Symbol("N", positive=True, integer=True)
x, dout, out, x_hat, dx = sp.symbols("x dout out x_hat dx")
gamma, beta, mean, var, inv_std = sp.symbols("gamma beta mean var inv_std")
running_mean, running_var, scale, dgamma, dbeta = sp.symbols("running_mean running_var scale dgamma dbeta")
first_row, shift_mean = sp.symbols("first_row shift_mean")
eps = sp.Symbol("eps", positive=True)

BATCH_ARRAYS = frozenset({"x", "dout", "out", "x_hat", "dx"})
_ARRAY = "ndarray of shape (N, D), float32 or float64 (complex for complex-step checks)"
_VECTOR = "ndarray of shape (D,)"
_EPS = "float, default 1e-5; added to the variance so a constant column does not divide by zero"


def _buffer_doc(name: str) -> str:
    return f"ndarray of shape (N, D) or None; when given, {name} is written into it (no allocation)"


train_forward = Kernel(
    name="batchnorm_train_forward",
    args=(x, gamma, beta, eps, out, x_hat),
    statements=(
        Statement(
            "x_hat", x - first_row,
            "xᵢ − x₀, into the x̂ buffer: shifting by a batch element keeps a constant column exactly 0",
            into="x_hat",
        ),
        Statement("shift_mean", BatchSum(x_hat) / N, "(1/m) Σᵢ (xᵢ − x₀) = μ − x₀"),
        Statement("x_hat", x_hat - shift_mean, "xᵢ − μ, in place", into="x_hat"),
        Statement("mean", first_row + shift_mean, "μ = (1/m) Σᵢ xᵢ"),
        Statement("var", BatchSum(x_hat**2) / N, "σ² = (1/m) Σᵢ (xᵢ − μ)², without an (N, D) temporary"),
        Statement("inv_std", 1 / sp.sqrt(var + eps), "1/√(σ² + ε)"),
        Statement("x_hat", x_hat * inv_std, "x̂ᵢ = (xᵢ − μ)/√(σ² + ε), in place", into="x_hat"),
        Statement("out", x_hat * gamma, "γ x̂ᵢ", into="out"),
        Statement("out", out + beta, "yᵢ = γ x̂ᵢ + β, in place", into="out"),
    ),
    computes=(sp.Symbol("y"), sp.Symbol("x_hat"), sp.Symbol("mu"), sp.Symbol("sigma2"), sp.Symbol("inv_std")),
    summary="Batch-norm forward pass in training mode: normalize each column with the batch statistics.",
    returns=(
        "out : ndarray of shape (N, D)\n    y = γ x̂ + β\n"
        "x_hat : ndarray of shape (N, D)\n    x̂, needed by the backward pass\n"
        "mean, var : ndarray of shape (D,)\n    batch mean μ and (biased) variance σ²\n"
        "inv_std : ndarray of shape (D,)\n    1/√(σ² + ε), needed by the backward pass"
    ),
    outputs=("out", "x_hat", "mean", "var", "inv_std"),
    defaults={"eps": 1e-5, "out": None, "x_hat": None},
    bindings={"N": "x.shape[0]", "first_row": "x[0]"},
    arg_docs={
        "x": _ARRAY, "gamma": _VECTOR + ", scale γ", "beta": _VECTOR + ", shift β", "eps": _EPS,
        "out": _buffer_doc("out"), "x_hat": _buffer_doc("x̂"),
    },
    batch_arrays=BATCH_ARRAYS,
)

test_forward = Kernel(
    name="batchnorm_test_forward",
    args=(x, gamma, beta, running_mean, running_var, eps, out),
    statements=(
        Statement("scale", gamma / sp.sqrt(running_var + eps), "γ/√(σ²_running + ε), per feature"),
        Statement("out", x - running_mean, "x − μ_running", into="out"),
        Statement("out", out * scale, "γ (x − μ_running)/√(σ²_running + ε), in place", into="out"),
        Statement("out", out + beta, "y = γ x̂ + β with the running statistics, in place", into="out"),
    ),
    computes=sp.Symbol("y_test"),
    summary="Batch-norm forward pass in test mode: normalize with the running mean and variance.",
    returns="out : ndarray of shape (N, D)\n    γ (x − μ_running)/√(σ²_running + ε) + β",
    outputs=("out",),
    defaults={"eps": 1e-5, "out": None},
    arg_docs={
        "x": _ARRAY, "gamma": _VECTOR, "beta": _VECTOR, "running_mean": _VECTOR, "running_var": _VECTOR,
        "eps": _EPS, "out": _buffer_doc("out"),
    },
    batch_arrays=BATCH_ARRAYS,
)

backward = Kernel(
    name="batchnorm_backward",
    args=(dout, x_hat, gamma, inv_std, dx),
    statements=(
        Statement("dbeta", BatchSum(dout), "∂L/∂β = Σᵢ dyᵢ"),
        Statement("dgamma", BatchSum(dout * x_hat), "∂L/∂γ = Σᵢ dyᵢ x̂ᵢ"),
        Statement("dx", x_hat * (dgamma / N), "x̂ⱼ (1/m) Σᵢ dyᵢx̂ᵢ, into the dx buffer", into="dx"),
        Statement("dx", dx + dbeta / N, "+ (1/m) Σᵢ dyᵢ, in place", into="dx"),
        Statement("dx", dout - dx, "dyⱼ − (1/m) Σᵢ dyᵢ − x̂ⱼ (1/m) Σᵢ dyᵢx̂ᵢ, in place", into="dx"),
        Statement(
            "dx", dx * (gamma * inv_std),
            "∂L/∂xⱼ = γ/(m√(σ²+ε)) (m dyⱼ − Σᵢ dyᵢ − x̂ⱼ Σᵢ dyᵢx̂ᵢ), with no (N, D) temporary", into="dx",
        ),
    ),
    computes=(sp.Symbol("dx"), sp.Symbol("dgamma"), sp.Symbol("dbeta")),
    summary="Batch-norm backward pass: the compact closed form, proven equal to Algorithm 1's chain rule.",
    returns=(
        "dx : ndarray of shape (N, D)\n    ∂L/∂x\n"
        "dgamma, dbeta : ndarray of shape (D,)\n    ∂L/∂γ = Σᵢ dyᵢx̂ᵢ and ∂L/∂β = Σᵢ dyᵢ"
    ),
    outputs=("dx", "dgamma", "dbeta"),
    defaults={"dx": None},
    bindings={"N": "dout.shape[0]"},
    arg_docs={
        "dout": "ndarray of shape (N, D), upstream gradient ∂L/∂y",
        "x_hat": "ndarray of shape (N, D), from the forward pass",
        "gamma": _VECTOR,
        "inv_std": _VECTOR + ", 1/√(σ² + ε) from the forward pass",
        "dx": _buffer_doc("dx"),
    },
    batch_arrays=BATCH_ARRAYS,
)


# -- from array notation to the indexed notation of the proofs ----------------------------------

#: Array-notation symbols that hold one entry per batch element, and their indexed counterparts.
_BATCH_ENTRY = {x: bn.x, dout: bn.dy, x_hat: bn.x_hat_sym}
#: Per-feature symbols of the kernels and what they are in the proofs' notation.
_PER_FEATURE = {
    N: bn.m, gamma: bn.gamma, beta: bn.beta, eps: bn.eps, inv_std: 1 / bn.std_sym, first_row: bn.x[0],
}


def to_indexed(expr: sp.Expr, element: sp.Expr = bn.j) -> sp.Expr:
    """A kernel expression in the proofs' notation: batch arrays at ``element``, BatchSum as Sum."""
    if isinstance(expr, BatchSum):
        index = sp.Dummy("i", integer=True)
        return sp.Sum(to_indexed(expr.args[0], index), (index, 0, bn.m - 1))
    if expr in _BATCH_ENTRY:
        return _BATCH_ENTRY[expr][element]
    if expr in _PER_FEATURE:
        return _PER_FEATURE[expr]
    if not expr.args:
        return expr
    return expr.func(*(to_indexed(arg, element) for arg in expr.args))


def _kernel_claims(kernels: tuple[Kernel, ...]) -> list[Claim]:
    """Each kernel output, mapped to indexed notation, equals its proven closed form."""
    train_forward, test_forward, backward = kernels
    closed = bn.compact_closed_forms()
    out_, x_hat_, mean_, var_, inv_std_ = compose(train_forward)
    dx_, dgamma_, dbeta_ = compose(backward)
    pairs = [
        (train_forward, "μ", mean_, closed["mu"]),
        (train_forward, "σ²", var_, closed["var"]),
        (train_forward, "1/√(σ²+ε)", inv_std_, 1 / bn.std_sym),
        (train_forward, "x̂ⱼ", x_hat_, closed["x_hat"]),
        (train_forward, "yⱼ", out_, closed["y"]),
        (backward, "∂L/∂xⱼ", dx_, closed["dx"]),
        (backward, "∂L/∂γ", dgamma_, closed["dgamma"]),
        (backward, "∂L/∂β", dbeta_, closed["dbeta"]),
    ]
    claims = [
        bn.prove_sum_identity(to_indexed(composed), target, f"kernel {kernel.name} computes {name}")
        for kernel, name, composed, target in pairs
    ]
    (out_test,) = compose(test_forward)
    expected = gamma * (x - running_mean) / sp.sqrt(running_var + eps) + beta
    claims.append(
        equal(out_test, expected, "kernel batchnorm_test_forward computes γ(x − μ_running)/√(σ²_running + ε) + β",
              sp.latex(expected))
    )
    return claims


#: How each backward step is written in text.
STEP_NAMES = {
    "dL_dxhat": "∂L/∂x̂ᵢ", "dL_dvar": "∂L/∂σ²", "dL_dmu": "∂L/∂μ", "dL_dx": "∂L/∂xⱼ",
    "dL_dgamma": "∂L/∂γ", "dL_dbeta": "∂L/∂β",
}


def _derivation() -> list[Section]:
    """Algorithm 1 forward, the paper's backward steps derived by SymPy, the forgettable paths."""
    closed = bn.compact_closed_forms()
    names = {"mu": bn.mu_sym, "var": bn.var_sym, "x_hat": bn.x_hat_sym[bn.j], "y": sp.IndexedBase("y")[bn.j]}
    forward = tuple(
        Equation(((text(names[key]), sp.latex(names[key])), (text(closed[key]), sp.latex(closed[key]))))
        for key in ("mu", "var", "x_hat", "y")
    )
    steps = tuple(
        Equation(((STEP_NAMES[step.name], step.latex_lhs), (text(step.expr), sp.latex(step.expr))), step.note)
        for step in bn.derivation_steps()
    )
    paths = tuple(
        Equation(
            ((f"dx without {path}", "\\text{without } " + path.replace("->", " \\to ")),
             (text(bn.dx_without(path)), sp.latex(bn.dx_without(path)))),
            bn.PATHS[path],
        )
        for path in bn.PATH_EDGES
    )
    return [
        Section("Forward pass (Algorithm 1), one feature over a batch of m", forward),
        Section("Backward pass, each adjoint derived by SymPy from the graph", steps),
        Section("The gradient a student gets when one path is forgotten", paths),
    ]


batchnorm = ClaimRule(
    name="batchnorm",
    title="Batch normalization",
    note=(
        "Batch normalization (Ioffe & Szegedy 2015, Algorithm 1) normalizes each feature over the "
        "mini-batch, x̂ = (x − μ)/√(σ² + ε), then scales and shifts it, y = γx̂ + β. Because μ and σ² "
        "depend on every xᵢ, the gradient of one xⱼ collects three paths: directly through x̂ⱼ, "
        "through the mean and through the variance. Forgetting one of them is the most common "
        "batch-norm homework bug. The derivation below is for one feature over a batch of symbolic "
        "size m; the kernels apply it to every column of an (N, D) batch at once."
    ),
    kernels=(train_forward, test_forward, backward),
    claims_of=lambda kernels: [*bn.prove(), *_kernel_claims(kernels)],
    numeric_check="check_batchnorm",
    derivation_of=_derivation,
)

#: Where this topic comes in the lecture (mathnn.rules.TOPICS sorts by it).
LECTURE_ORDER = 3
RULES = (batchnorm,)
