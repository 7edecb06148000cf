"""Batch normalization (Ioffe & Szegedy 2015, Algorithm 1) as a layer rule: derived, proven, generated.

The layer is declared once, as a graph over an (N, D) batch that reduces over the batch axis: the
derivation is for one column (one feature) over a batch of *symbolic* size N, by the same reverse
accumulation as every layer rule (:mod:`mathnn.rules.layer`). The kernels the public functions call
are written for speed — they fill caller-provided buffers, keep at most one (N, D) temporary alive
and centre each column on its first row, so that a constant column gives exactly 0 — and are proven
to compute what the graph and the closed forms compute. Test mode is the same graph with μ and σ²
read from the running averages (the generated inference kernel).
"""

from __future__ import annotations

import sympy as sp

from . import normalization
from .core import BatchSum, Kernel, Statement
from .layer import Identity, LayerRule, Tuned
from .layer_parts import ForwardMistake, Reshape, Variant
from .normalization import beta, dout, eps, gamma, inv_std, mean, out, var, x, x_centered, x_hat

# -- the graph: one column of an (N, D) batch, N symbolic -----------------------------------------
N = sp.Symbol("N", positive=True, integer=True)
dx = sp.Symbol("dx")

#: ∂L/∂x as the textbook writes it: γ/√(σ²+ε) · (dy − (1/N) Σᵢ dyᵢ − x̂ (1/N) Σᵢ dyᵢ x̂ᵢ).
DX = gamma * inv_std * (dout - BatchSum(dout) / N - x_hat * BatchSum(dout * x_hat) / N)

# -- the tuned kernels: buffers, in-place updates, the first-row shift -----------------------------
_x, _dout, _out, _x_hat, _dx = sp.symbols("x dout out x_hat dx")
_gamma, _beta, _mean, _var, _inv_std = sp.symbols("gamma beta mean var inv_std")
first_row, shift_mean, dgamma, dbeta = sp.symbols("first_row shift_mean dgamma dbeta")
_eps = sp.Symbol("eps", positive=True)

BATCH_ARRAYS = frozenset({"x", "dout", "out", "x_hat", "dx"})
_ARRAY = "ndarray of shape (N, D), float32 or float64 (complex for complex-step checks)"
_VECTOR = "ndarray of shape (D,)"
_EPS = "float, default 1e-5; added to the variance so a constant column does not divide by zero"


def _buffer_doc(name: str) -> str:
    return f"ndarray of shape (N, D) or None; when given, {name} is written into it (no allocation)"


train_forward = Kernel(
    name="batchnorm_train_forward",
    args=(_x, _gamma, _beta, _eps, _out, _x_hat),
    statements=(
        Statement(
            "x_hat", _x - first_row,
            "xᵢ − x₀, into the x̂ buffer: shifting by a batch element keeps a constant column exactly 0",
            into="x_hat",
        ),
        Statement("shift_mean", BatchSum(_x_hat) / N, "(1/N) Σᵢ (xᵢ − x₀) = μ − x₀"),
        Statement("x_hat", _x_hat - shift_mean, "xᵢ − μ, in place", into="x_hat"),
        Statement("mean", first_row + shift_mean, "μ = (1/N) Σᵢ xᵢ"),
        Statement("var", BatchSum(_x_hat**2) / N, "σ² = (1/N) Σᵢ (xᵢ − μ)², without an (N, D) temporary"),
        Statement("inv_std", 1 / sp.sqrt(_var + _eps), "1/√(σ² + ε)"),
        Statement("x_hat", _x_hat * _inv_std, "x̂ᵢ = (xᵢ − μ)/√(σ² + ε), in place", into="x_hat"),
        Statement("out", _x_hat * _gamma, "γ x̂ᵢ", into="out"),
        Statement("out", _out + _beta, "yᵢ = γ x̂ᵢ + β, in place", into="out"),
    ),
    computes=(out, x_hat, gamma, inv_std, mean, var),
    summary="Batch-norm forward pass in training mode: normalize each column with the batch statistics.",
    returns=(
        "out : ndarray of shape (N, D)\n    y = γ x̂ + β\n"
        "x_hat : ndarray of shape (N, D)\n    x̂, needed by the backward pass\n"
        "gamma : ndarray of shape (D,)\n    γ as given, needed by the backward pass\n"
        "inv_std : ndarray of shape (D,)\n    1/√(σ² + ε), needed by the backward pass\n"
        "mean, var : ndarray of shape (D,)\n    batch mean μ and (biased) variance σ², for the running averages"
    ),
    outputs=("out", "x_hat", "gamma", "inv_std", "mean", "var"),
    defaults={"eps": 1e-5, "out": None, "x_hat": None},
    bindings={"N": "x.shape[0]", "first_row": "x[0]"},
    arg_docs={
        "x": _ARRAY, "gamma": _VECTOR + ", scale γ", "beta": _VECTOR + ", shift β", "eps": _EPS,
        "out": _buffer_doc("out"), "x_hat": _buffer_doc("x̂"),
    },
    batch_arrays=BATCH_ARRAYS,
)

backward = Kernel(
    name="batchnorm_backward",
    args=(_dout, _x_hat, _gamma, _inv_std, _dx),
    statements=(
        Statement("dbeta", BatchSum(_dout), "∂L/∂β = Σᵢ dyᵢ"),
        Statement("dgamma", BatchSum(_dout * _x_hat), "∂L/∂γ = Σᵢ dyᵢ x̂ᵢ"),
        Statement("dx", _x_hat * (dgamma / N), "x̂ⱼ (1/N) Σᵢ dyᵢx̂ᵢ, into the dx buffer", into="dx"),
        Statement("dx", _dx + dbeta / N, "+ (1/N) Σᵢ dyᵢ, in place", into="dx"),
        Statement("dx", _dout - _dx, "dyⱼ − (1/N) Σᵢ dyᵢ − x̂ⱼ (1/N) Σᵢ dyᵢx̂ᵢ, in place", into="dx"),
        Statement(
            "dx", _dx * (_gamma * _inv_std),
            "∂L/∂xⱼ = γ/(N√(σ²+ε)) (N dyⱼ − Σᵢ dyᵢ − x̂ⱼ Σᵢ dyᵢx̂ᵢ), with no (N, D) temporary", into="dx",
        ),
    ),
    computes=(_dx, dgamma, dbeta),
    summary="Batch-norm backward pass: the compact closed form, proven equal to the chain rule through μ and σ².",
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

batchnorm = LayerRule(
    name="batchnorm",
    title="Batch normalization",
    note=(
        "Batch normalization (Ioffe & Szegedy 2015, Algorithm 1) normalizes each feature over the "
        "mini-batch, x̂ = (x − μ)/√(σ² + ε), then scales and shifts it, y = γx̂ + β. Because μ and σ² "
        "depend on every xᵢ, the gradient of one xⱼ collects three paths: directly through x̂ⱼ, "
        "through the mean and through the variance. Forgetting one of them is the most common "
        "batch-norm homework bug. The derivation below is for one feature (one column) over a batch "
        "of symbolic size N; the kernels apply it to every column of an (N, D) batch at once."
    ),
    size=N,
    axis="batch",
    element_arrays=(x,),
    lane_arrays=(gamma, beta),
    scalars={eps: normalization.EPS},
    nodes=normalization.nodes(BatchSum, N, summed="ᵢ", entry="ᵢ", lane="column",
                              mean_is="the batch mean of the column", variance_is="the (biased) batch variance"),
    differentiated=(x, gamma, beta),
    closed_forms={x: DX, gamma: BatchSum(dout * x_hat), beta: BatchSum(dout)},
    draws=normalization.draws(("D",)),
    # the first is the documented homework size; N = 1 and 2 are the edge cases (x̂ = 0, x̂ = ±1)
    check_sizes=({"N": 8, "D": 5}, {"N": 1, "D": 3}, {"N": 2, "D": 4}, {"N": 3, "D": 3}, {"N": 32, "D": 6}),
    homework_sizes={"N": (4, 10)},
    # CS231n's spatial batch norm: every pixel of every image is a row, each channel a column
    variants=(Variant("spatial_batchnorm", Reshape("x", ("N", "C", "H", "W"), rows=3, order=(0, 2, 3, 1),
                                                   sizes={"N": 2, "C": 3, "H": 4, "W": 5})),),
    cs231n=normalization.cs231n(
        "batchnorm", "bn_param",
        # the lecture's exercise: the same layer, its backward simplified on paper first
        aliases=("batchnorm_backward_alt",),
        fixed={"mode": "train"},
        wrapper="mathnn.layers.batchnorm",
    ),
    tuned=Tuned(forward=train_forward, backward=backward, means={first_row: sp.IndexedBase(x, real=True)[0]},
                extras=("mean", "var")),
    running={mean: "running_mean", var: "running_var"},
    identities=(
        Identity("Σᵢ x̂ᵢ = 0: each normalized column has mean 0", BatchSum(x_hat), 0),
        Identity("Σᵢ x̂ᵢ² = Nσ²/(σ² + ε): its variance is just under 1", BatchSum(x_hat**2), N * var * inv_std**2),
        Identity("Σⱼ dxⱼ = 0: moving a whole column by a constant changes nothing", BatchSum(dx), 0),
        Identity("Σⱼ dxⱼ x̂ⱼ = γ ε (σ² + ε)^(−3/2) Σᵢ dyᵢ x̂ᵢ: zero only for ε = 0, where scaling a column "
                 "changes nothing", BatchSum(dx * x_hat), gamma * eps * inv_std**3 * BatchSum(dout * x_hat)),
    ),
    forward_mistakes=(
        ForwardMistake(
            "eps outside the square root",
            "your forward adds ε after the square root, (x − μ)/(√σ² + ε): ε belongs inside it, x̂ = (x − μ)/√(σ² + ε)",
            {inv_std: 1 / (sp.sqrt(var) + eps)},
        ),
        ForwardMistake(
            "unbiased variance",
            "your forward uses the unbiased variance (dividing by N − 1, as np.var(ddof=1) or torch.var do): "
            "batch norm normalizes with the biased one, σ² = (1/N) Σᵢ (xᵢ − μ)²",
            {var: BatchSum(x_centered**2) / (N - 1)},
        ),
        ForwardMistake(
            "running averages in train mode",
            "your train-mode forward normalizes with bn_param's running averages (zeros at the first call): "
            "train mode uses the batch's own mean and variance, and only updates the running averages",
            {mean: sp.Integer(0), var: sp.Integer(0)},
        ),
    ),
    mistakes=normalization.mistakes(
        "your dx matches the gradient without the path x → μ → x̂: the mean also moves every x̂ᵢ, "
        "which adds −γ/(N√(σ²+ε)) · Σᵢ dyᵢ to each dxⱼ",
        "your dx matches the gradient without the path x → σ²: the variance also depends on xⱼ, "
        "which adds −γ/(N√(σ²+ε)) · x̂ⱼ Σᵢ dyᵢ x̂ᵢ to dxⱼ",
        "your dx leaves out γ: ∂L/∂x̂ = dout ⊙ γ, so every term of dx is multiplied by gamma",
        inv_std * (dout - BatchSum(dout) / N - x_hat * BatchSum(dout * x_hat) / N),
    ),
)

#: Where this topic comes in the lecture (mathnn.rules.TOPICS sorts by it).
LECTURE_ORDER = 3
RULES = (batchnorm,)
