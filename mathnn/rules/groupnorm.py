"""Group normalization (Wu & He 2018): layer norm's graph over groups of channels, a scale per channel.

CS231n's ``spatial_groupnorm_forward(x, gamma, beta, G, gn_param)`` splits the C channels of each
image of x (N, C, H, W) into G groups of C/G channels and normalizes each group's (C/G)·H·W values by
their own mean and variance, then scales and shifts each channel, γ and β of shape (1, C, 1, 1). Seen
as a matrix of N·G rows (one per group of one image) and D = (C/G)·H·W columns, it is layer norm's
graph row by row, with one difference: γ and β are not shared by the rows (a group has its own
channels), so the declaration takes them per entry, γ broadcast from (1, C, 1, 1) to every entry of
its channel. The gradient is derived and proven for one row of a *symbolic* group size D, which
covers every G, C, H and W; the broadcast is the public function's (``Reshape.per_channel``), and
its adjoint — dγ summed over N, H and W — too.
"""

from __future__ import annotations

import dataclasses

from . import normalization
from .layer_parts import Regrouping, Reshape
from .layernorm import DX, dx_hat, layernorm
from .normalization import beta, dout, gamma, x, x_hat

#: Layer norm's size, inputs, ε, graph and ∂L/∂x̂ over a row of D entries; γ and β per entry, not shared.
groupnorm = dataclasses.replace(
    layernorm,
    name="groupnorm",
    title="Group normalization",
    note=(
        "Group normalization (Wu & He 2018) normalizes each image's channels in G groups: the C channels "
        "of x (N, C, H, W) are split into G groups of C/G, and each group's (C/G)·H·W values are "
        "normalized by their own mean and variance, x̂ = (x − μ)/√(σ² + ε); then each channel is scaled "
        "and shifted, y = γx̂ + β with γ, β of shape (1, C, 1, 1). It needs no batch statistics (it "
        "behaves the same for a batch of one) and with G = 1 it is layer norm over the whole image, with "
        "G = C instance norm. Laid out as N·G rows of D = (C/G)·H·W entries, each row is layer norm's "
        "graph, so the three paths to xⱼ (direct, through μ, through σ²) are those of layer norm; γ and "
        "β enter per entry (a channel's value broadcast over its pixels), and their gradient is dout·x̂ "
        "and dout summed over every image and pixel of the channel. The derivation and proof below are "
        "for one row of a symbolic group size D, so they hold for every G, C, H and W; the broadcast of "
        "γ and β and the sum of their gradients are the public functions' layout."
    ),
    closed_forms={x: DX, gamma: dout * x_hat, beta: dout},
    shared=(),
    draws=normalization.draws(("N", "D")),
    check_sizes=({"N": 4, "D": 6}, {"N": 1, "D": 3}, {"N": 3, "D": 8}),
    # G ∈ {2, 3} and C ≥ 4, rounded up to a multiple of G: every group has 2 channels or more, so a
    # student's statistics over the whole image or over each channel differ from the group's
    homework_sizes={"G": (2, 3), "C": (4, 8)},
    reshape=Reshape(
        "x", ("N", "C", "H", "W"), rows=1, sizes={"N": 2, "C": 6, "H": 3, "W": 4, "G": 3},
        groups="G", per_channel=("gamma", "beta"),
        regroupings=(
            Regrouping(
                "statistics over the whole sample",
                "your forward normalizes each image over all its channels at once (layer norm, G = 1): group "
                "norm takes the mean and variance of each group of C/G channels, x.reshape(N, G, -1)",
                "1",
            ),
            Regrouping(
                "statistics per channel",
                "your forward normalizes each channel on its own (instance norm, G = C): group norm takes the "
                "mean and variance over a group of C/G channels together, x.reshape(N, G, -1)",
                "C",
            ),
        ),
    ),
    cs231n=normalization.cs231n("spatial_groupnorm", "gn_param", sizes=("G",)),
    mistakes=normalization.mistakes(
        "dx misses the path through the group mean μ: add the term −(1/D) Σₖ ∂L/∂x̂ₖ / √(σ²+ε), the sum "
        "over the D = (C/G)·H·W entries of the group",
        "dx misses the path through the group variance σ²: add the term −x̂ⱼ (1/D) Σₖ ∂L/∂x̂ₖ x̂ₖ / √(σ²+ε), "
        "the sum over the D = (C/G)·H·W entries of the group",
        "dx uses dout where it needs ∂L/∂x̂ = dout ⊙ γ: multiply by gamma (broadcast per channel) before "
        "the group sums",
        DX.xreplace({dx_hat: dout}),
    ),
)

#: Where this topic comes in the lecture (mathnn.rules.TOPICS sorts by it): after layer norm.
LECTURE_ORDER = 4
RULES = (groupnorm,)
