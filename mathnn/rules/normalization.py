"""What the normalization layers share: one graph, x → μ → σ² → x̂ → y = γx̂ + β, along some axis.

Batch norm (:mod:`mathnn.rules.batchnorm`) takes μ and σ² over the rows of a column, layer norm
(:mod:`mathnn.rules.layernorm`) over the features of a row, group norm (:mod:`mathnn.rules.groupnorm`)
over a group of channels. The graph, its names, the random inputs, CS231n's cache and the three
classic mistakes of dx are the same for each; what differs — the reduction, the length it runs over,
the index each layer writes its equations with, the words of its mistakes — is given by the layer.
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy as sp

from .core import BatchSum, Named, Node, RowSum, out
from .layer import CS231n, Draw, Mistake

x, gamma, beta, dout = sp.symbols("x gamma beta dout")
mean, var = Named("mean", r"\mu", "μ"), Named("var", r"\sigma^2", "σ²")
x_centered = Named("x_centered", r"\tilde{x}", "x̃")
inv_std = Named("inv_std", r"\tfrac{1}{\sqrt{\sigma^2 + \epsilon}}", "1/√(σ²+ε)")
x_hat = Named("x_hat", r"\hat{x}", "x̂")
eps = Named("eps", r"\epsilon", "ε", positive=True)

#: ε's default, as CS231n's bn_param, ln_param and gn_param have it.
EPS = 1e-5


def nodes(reduction: type[BatchSum] | type[RowSum], length: sp.Symbol, *, summed: str, entry: str, lane: str,
          mean_is: str, variance_is: str, scale_index: str = "") -> tuple[Node, ...]:
    """The graph μ, x̃, σ², 1/√(σ² + ε), x̂, y, with μ and σ² the means of ``reduction`` over ``length``.

    The equations are written as the layer writes them: ``summed`` the index of its sums, ``entry``
    the index of one entry, ``lane`` what one derivation covers (a column, a row), ``mean_is`` and
    ``variance_is`` what μ and σ² are in words, ``scale_index`` the index of γ and β where they hold
    one value per entry.
    """
    n, k, j, p = length, summed, entry, scale_index
    return (
        Node(mean, reduction(x) / n, "mean", f"μ = (1/{n}) Σ{k} x{k}, {mean_is}"),
        Node(x_centered, x - mean, "x_centered", f"x̃{j} = x{j} − μ, the {lane} centred"),
        Node(var, reduction(x_centered**2) / n, "var", f"σ² = (1/{n}) Σ{k} (x{k} − μ)², {variance_is}"),
        Node(inv_std, 1 / sp.sqrt(var + eps), "inv_std", "1/√(σ² + ε)"),
        Node(x_hat, x_centered * inv_std, "x_hat", f"x̂{j} = (x{j} − μ)/√(σ² + ε)"),
        Node(out, gamma * x_hat + beta, "out", f"y{j} = γ{p} x̂{j} + β{p}"),
    )


def draws(scale_shape: tuple[str, ...]) -> dict[str, Draw]:
    """Random inputs: x of shape (N, D) spread around 1, γ near 1 and β of shape ``scale_shape``."""
    return {
        "x": Draw(("N", "D"), loc=1.0, scale=2.0),
        "gamma": Draw(scale_shape, loc=1.0, scale=0.5),
        "beta": Draw(scale_shape),
    }


def cs231n(name: str, param_dict: str, sizes: tuple[str, ...] = (), aliases: tuple[str, ...] = (),
           fixed: Mapping[str, object] | None = None, wrapper: str | None = None) -> CS231n:
    """CS231n's ``<name>_forward(x, gamma, beta, *sizes, param_dict)``, its backward's dx, dgamma, dbeta
    and the cache (x̂, γ, 1/√(σ² + ε)) the backward needs; the rest as :class:`CS231n` has it."""
    return CS231n(
        name=name,
        arguments=("x", "gamma", "beta", *sizes, param_dict),
        gradients=("dx", "dgamma", "dbeta"),
        cache=("x_hat", "gamma", "inv_std"),
        param_dict=param_dict,
        settings={"eps": EPS},
        aliases=aliases,
        fixed=fixed or {},
        wrapper=wrapper,
    )


def mistakes(no_mean: str, no_variance: str, no_gamma: str, without_gamma: sp.Expr) -> tuple[Mistake, ...]:
    """dx without the path through μ, without the path through σ², and with γ left out (``without_gamma``),
    each with the sentence the checker tells a student whose dx matches it."""
    return (
        Mistake("no mean path", x, no_mean, drop=((mean, x_centered),)),
        Mistake("no variance path", x, no_variance, drop=((x_centered, var),)),
        Mistake("gamma left out of dx", x, no_gamma, closed=without_gamma),
    )
