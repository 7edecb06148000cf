"""Layer normalization (Ba, Kiros & Hinton 2016): batch norm's math along the other axis.

Each row of an (N, D) batch is normalized over its own D features, so a row needs no other row and
training and test mode are the same computation. γ and β still have one entry per feature and are
shared by every row. The gradient is derived here for one row of a *symbolic* number of features D.
"""

from __future__ import annotations

import sympy as sp

from . import normalization
from .core import BatchSum, Named, RowSum, Statement
from .layer import LayerRule
from .normalization import beta, dout, eps, gamma, inv_std, x, x_hat

D = sp.Symbol("D", integer=True, positive=True)
dx_hat = Named("dx_hat", r"\tfrac{\partial L}{\partial \hat{x}}", "∂L/∂x̂")

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
    scalars={eps: normalization.EPS},
    nodes=normalization.nodes(RowSum, D, summed="ₖ", entry="ⱼ", lane="row", scale_index="ⱼ",
                              mean_is="the mean of each row", variance_is="the variance of each row"),
    differentiated=(x, gamma, beta),
    closed_forms={x: DX, gamma: BatchSum(dout * x_hat), beta: BatchSum(dout)},
    helpers=(Statement("dx_hat", dout * gamma, "∂L/∂x̂ = dout ⊙ γ"),),
    shared=(gamma, beta),
    draws=normalization.draws(("D",)),
    check_sizes=({"N": 4, "D": 5}, {"N": 1, "D": 3}, {"N": 3, "D": 2}),
    # at D = 2 every x̂ is ±1 and dx nearly vanishes: a homework's second shape has D ≥ 3
    homework_sizes={"D": (3, 8)},
    cs231n=normalization.cs231n("layernorm", "ln_param"),
    mistakes=normalization.mistakes(
        "dx misses the path through the row mean μ: add the term −(1/D) Σₖ ∂L/∂x̂ₖ / √(σ²+ε)",
        "dx misses the path through the row variance σ²: add the term −x̂ⱼ (1/D) Σₖ ∂L/∂x̂ₖ x̂ₖ / √(σ²+ε)",
        "dx uses dout where it needs ∂L/∂x̂ = dout ⊙ γ: multiply by gamma before the row sums",
        inv_std * (dout - RowSum(dout) / D - x_hat * RowSum(dout * x_hat) / D),
    ),
)

#: Where this topic comes in the lecture (mathnn.rules.TOPICS sorts by it).
LECTURE_ORDER = 4
RULES = (layernorm,)
