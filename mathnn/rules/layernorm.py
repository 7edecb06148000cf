"""Layer normalization (Ba, Kiros & Hinton 2016): batch norm's math along the other axis.

Each row of an (N, D) batch is normalized over its own D features, so a row needs no other row and
training and test mode are the same computation. γ and β still have one entry per feature and are
shared by every row. The gradient is derived here for one row of a *symbolic* number of features D.
"""

from __future__ import annotations

import sympy as sp

from .core import BatchSum, Named, Node, RowSum, Statement
from .layer import CS231n, Draw, LayerRule, Mistake

D = sp.Symbol("D", integer=True, positive=True)
x, gamma, beta, dout = sp.symbols("x gamma beta dout")
mean, var = Named("mean", r"\mu", "μ"), Named("var", r"\sigma^2", "σ²")
x_centered = Named("x_centered", r"\tilde{x}", "x̃")
inv_std = Named("inv_std", r"\tfrac{1}{\sqrt{\sigma^2 + \epsilon}}", "1/√(σ²+ε)")
x_hat, out = Named("x_hat", r"\hat{x}", "x̂"), Named("out", "y", "y")
dx_hat = Named("dx_hat", r"\tfrac{\partial L}{\partial \hat{x}}", "∂L/∂x̂")
eps = Named("eps", r"\epsilon", "ε", positive=True)

#: ∂L/∂x in the textbook's compact form: (1/σ)(g − mean(g) − x̂ · mean(g x̂)), g = ∂L/∂x̂ = dout ⊙ γ.
DX = inv_std * (dx_hat - RowSum(dx_hat) / D - x_hat * RowSum(dx_hat * x_hat) / D)

layernorm = LayerRule(
    name="layernorm",
    title="Layer normalization",
    note=(
        "Layer normalization (Ba, Kiros & Hinton 2016) normalizes each example over its own features, "
        "x̂ = (x − μ)/√(σ² + ε) with μ and σ² taken along the row, then scales and shifts, y = γx̂ + β. "
        "It is batch normalization along the other axis: the same three paths reach each xⱼ (directly, "
        "through μ and through σ²), but every sum runs over the D features of one example, so it "
        "behaves the same for a batch of one and needs no running averages. The derivation below is "
        "for one row of a symbolic number D of features; γ and β are shared by the rows, so their "
        "gradients add up each row's contribution."
    ),
    size=D,
    element_arrays=(x, gamma, beta),
    scalars={eps: 1e-5},
    nodes=(
        Node(mean, RowSum(x) / D, "mean", "μ = (1/D) Σₖ xₖ, the mean of each row"),
        Node(x_centered, x - mean, "x_centered", "x̃ⱼ = xⱼ − μ, the row centred"),
        Node(var, RowSum(x_centered**2) / D, "var", "σ² = (1/D) Σₖ (xₖ − μ)², the variance of each row"),
        Node(inv_std, 1 / sp.sqrt(var + eps), "inv_std", "1/√(σ² + ε)"),
        Node(x_hat, x_centered * inv_std, "x_hat", "x̂ⱼ = (xⱼ − μ)/√(σ² + ε)"),
        Node(out, gamma * x_hat + beta, "out", "yⱼ = γⱼ x̂ⱼ + βⱼ"),
    ),
    differentiated=(x, gamma, beta),
    closed_forms={x: DX, gamma: BatchSum(dout * x_hat), beta: BatchSum(dout)},
    helpers=(Statement("dx_hat", dout * gamma, "∂L/∂x̂ = dout ⊙ γ"),),
    shared=(gamma, beta),
    draws={
        "x": Draw(("N", "D"), loc=1.0, scale=2.0),
        "gamma": Draw(("D",), loc=1.0, scale=0.5),
        "beta": Draw(("D",)),
    },
    check_sizes=({"N": 4, "D": 5}, {"N": 1, "D": 3}, {"N": 3, "D": 2}),
    # at D = 2 every x̂ is ±1 and dx nearly vanishes: a homework's second shape has D ≥ 3
    homework_sizes={"D": (3, 8)},
    cs231n=CS231n(
        name="layernorm",
        arguments=("x", "gamma", "beta", "ln_param"),
        gradients=("dx", "dgamma", "dbeta"),
        cache=("x_hat", "gamma", "inv_std"),
        param_dict="ln_param",
        settings={"eps": 1e-5},
    ),
    mistakes=(
        Mistake(
            "no mean path", x,
            "dx misses the path through the row mean μ: add the term −(1/D) Σₖ ∂L/∂x̂ₖ / √(σ²+ε)",
            drop=((mean, x_centered),),
        ),
        Mistake(
            "no variance path", x,
            "dx misses the path through the row variance σ²: add the term −x̂ⱼ (1/D) Σₖ ∂L/∂x̂ₖ x̂ₖ / √(σ²+ε)",
            drop=((x_centered, var),),
        ),
        Mistake(
            "gamma left out of dx", x,
            "dx uses dout where it needs ∂L/∂x̂ = dout ⊙ γ: multiply by gamma before the row sums",
            closed=inv_std * (dout - RowSum(dout) / D - x_hat * RowSum(dout * x_hat) / D),
        ),
    ),
)

#: Where this topic comes in the lecture (mathnn.rules.TOPICS sorts by it).
LECTURE_ORDER = 4
RULES = (layernorm,)
