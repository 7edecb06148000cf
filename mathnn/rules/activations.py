"""Activation functions of the lecture: sigmoid, tanh, ReLU and Leaky ReLU.

Each is an element-wise layer rule (``axis="entries"``, :mod:`mathnn.rules.elementwise`): it
declares the forward graph of one entry in the lecture's notation, the textbook derivative, and the
kernels generated from it. Where the textbook form is numerically poor (σ for x ≪ 0 overflows
``exp(-x)``; σ(1 − σ) cancels for x ≫ 0) the kernel uses an equivalent form that the proof shows
equal, so the numbers are right and the math is still the lecture's.
"""

from __future__ import annotations

from typing import NamedTuple

import sympy as sp

from .core import Claim, Fact, Kernel, Kink, Node, Statement, equal
from .decide import decide_zero
from .elementwise import sup_over_reals
from .layer import LayerRule

x = sp.Symbol("x", real=True)
alpha = sp.Symbol("alpha", positive=True)


def ref(name: str) -> sp.Symbol:
    """The symbol standing for an earlier kernel statement's result."""
    return sp.Symbol(name)


def max_derivative_fact(value: sp.Expr, at: sp.Expr | None) -> Fact:
    """The fact ``sup f′ = value`` (attained at ``x = at`` when given): the γ of the vanishing-gradient bound."""

    def check(rule: LayerRule) -> Claim:
        derivative = rule.derived_gradient(x)
        supremum = sup_over_reals(derivative, x)
        attained = at is None or decide_zero(derivative.subs(x, at) - value)[0]
        holds = decide_zero(supremum - value)[0] and attained
        where = "" if at is None else f", attained at x = {at}"
        return Claim(
            f"sup over real x of {rule.name}′(x) is {value}{where}",
            f"\\sup_{{x\\in\\mathbb{{R}}}} {rule.name}'(x) = {sp.latex(value)}",
            "sympy.maximum over the reals, branch by branch for a piecewise derivative",
            bool(holds),
        )

    return Fact("max_derivative", check)


def gamma_kernel(rule_name: str, value: sp.Expr, args: tuple[sp.Symbol, ...] = ()) -> Kernel:
    """A generated function returning γ = sup |f′|, the proven value of the rule's max-derivative fact.

    The vanishing-gradient bound ‖∂h_T/∂h_t‖ ≤ (γ λ₁)^{T−t} takes γ from here, so the number it uses
    is the one the proof established, not a constant typed in again.
    """
    return Kernel(
        name=f"{rule_name}_grad_sup",
        args=args,
        statements=(Statement("gamma", value, f"γ = sup |{rule_name}′|, proven by mathnn verify {rule_name}"),),
        computes=value,
        summary=f"γ = sup over x of |{rule_name}′(x)|, the factor in the vanishing-gradient bound.",
        returns="gamma : float",
        outputs=("gamma",),
        arg_docs={arg.name: "float, default 0.01" for arg in args},
    )


def sigmoid_peak_fact() -> Fact:
    """σ′ has one critical point, x = 0, where it is 1/4 (not 0.3), and tends to 0 at ±∞."""

    def check(rule: LayerRule) -> Claim:
        derivative = rule.derived_gradient(x)
        critical = sp.solve(sp.diff(derivative, x), x)
        peak = derivative.subs(x, 0)
        tails = (sp.limit(derivative, x, sp.oo), sp.limit(derivative, x, -sp.oo))
        holds = critical == [0] and peak == sp.Rational(1, 4) and tails == (0, 0)
        return Claim(
            "σ″ vanishes only at x = 0, σ′(0) = 1/4 and σ′ → 0 at ±∞, "
            "so max σ′ = 1/4 (a common misreading says 0.3)",
            "\\sigma''(x) = 0 \\iff x = 0,\\quad \\sigma'(0) = \\tfrac14,\\quad "
            "\\lim_{x\\to\\pm\\infty}\\sigma'(x) = 0",
            f"solve(σ″ = 0) = {critical}; σ′(0) = {peak}; limits at ±∞ = {tails}",
            bool(holds),
        )

    return Fact("sigmoid_peak", check)


class Written(NamedTuple):
    """A kernel as the declaration writes it: its statements, and its docstring's summary and returns."""

    statements: tuple[Statement, ...]
    summary: str
    returns: str


def activation(name: str, title: str, note: str, nodes: tuple[Node, ...], derivative: sp.Expr, *,
               domain: tuple[float, float], forward: Written, grad: Written, gamma: sp.Expr,
               attained_at: sp.Expr | None, facts: tuple[Fact, ...] = (), kinks: tuple[Kink, ...] = (),
               params: dict[sp.Symbol, float] | None = None,
               param_checks: dict[sp.Symbol, tuple[float, ...]] | None = None) -> LayerRule:
    """An activation f as an element-wise layer rule of one entry x.

    ``nodes`` is the graph of f(x), ``derivative`` the textbook f′ (what ``grad`` computes);
    ``domain`` the interval the random check points are drawn from. The kernels are f, f′ and
    γ = sup |f′|, taking x and the settings ``params``; the facts end with sup f′ = ``gamma``
    (attained at ``attained_at`` when given), the number the γ kernel returns.
    """
    settings = tuple(params or ())
    return LayerRule(
        name=name,
        title=title,
        element_arrays=(x,),
        axis="entries",
        differentiated=(x,),
        params=dict(params or {}),
        param_checks=dict(param_checks or {}),
        nodes=nodes,
        closed_forms={x: derivative},
        domain={x: domain},
        kinks=kinks,
        declared=(
            Kernel(name, (x, *settings), forward.statements, nodes[-1].symbol, forward.summary, forward.returns),
            Kernel(f"{name}_grad", (x, *settings), grad.statements, derivative, grad.summary, grad.returns),
            gamma_kernel(name, gamma, settings),
        ),
        facts=(*facts, max_derivative_fact(gamma, attained_at)),
        public_module="mathnn.activations",
        note=note,
    )


# -- sigmoid ---------------------------------------------------------------------------------

#: sup |f′| of each activation: declared once, proven by its rule's fact, generated as a function.
SIGMOID_GAMMA, TANH_GAMMA, RELU_GAMMA, LEAKY_RELU_GAMMA = sp.Rational(1, 4), sp.Integer(1), sp.Integer(1), sp.Max(1, alpha)

u = sp.Symbol("u", positive=True)
sigma = sp.Symbol("sigma", positive=True)

# −|x| and z = e^{−|x|} ∈ (0, 1]: neither overflows for any float x.
_stable_exp = (
    Statement("neg_abs_x", sp.Piecewise((-x, x >= 0), (x, True)), "−|x| ≤ 0, so the next line cannot overflow"),
    Statement("z", sp.exp(ref("neg_abs_x")), "z = e^{−|x|} ∈ (0, 1]"),
)

sigmoid = activation(
    "sigmoid", "Sigmoid",
    "The sigmoid squashes any real number into (0, 1). Its derivative σ(1 − σ) is at most 1/4, "
    "reached at x = 0: every sigmoid layer or time step a gradient passes through scales it by "
    "at most 1/4, which is why deep sigmoid stacks and sigmoid RNNs lose their gradient.",
    nodes=(Node(u, sp.exp(-x), "u"), Node(sigma, 1 / (1 + u), "sigma")),
    derivative=sigma * (1 - sigma),
    domain=(-6.0, 6.0),
    forward=Written(
        (*_stable_exp, Statement("sigma", sp.Piecewise((1, x >= 0), (ref("z"), True)) / (1 + ref("z")),
                                 "σ = 1/(1 + e^{−x}) for x ≥ 0 and e^{x}/(1 + e^{x}) for x < 0")),
        "Logistic sigmoid σ(x) = 1/(1 + e^{−x}), element-wise, without overflow.", "σ(x), in (0, 1)"),
    grad=Written(
        (*_stable_exp, Statement("dsigma_dx", ref("z") / (1 + ref("z")) ** 2,
                                 "σ′ = σ(1 − σ) = e^{−|x|}/(1 + e^{−|x|})², even in x, no cancellation")),
        "Derivative of the sigmoid σ′(x) = σ(x)(1 − σ(x)), element-wise.", "σ′(x), in (0, 1/4]"),
    gamma=SIGMOID_GAMMA,
    attained_at=0,
    facts=(sigmoid_peak_fact(),),
)

# -- tanh ------------------------------------------------------------------------------------

p = sp.Symbol("p", positive=True)
q = sp.Symbol("q", positive=True)
t = sp.Symbol("t", real=True)

tanh = activation(
    "tanh", "Hyperbolic tangent",
    "tanh is a sigmoid rescaled to (−1, 1): tanh x = 2σ(2x) − 1. The graph writes it with the two "
    "exponentials, so x reaches t along two paths and the chain rule adds them. Its derivative "
    "1 − tanh² peaks at 1, four times the sigmoid's, and is the default RNN activation.",
    nodes=(Node(p, sp.exp(x), "p"), Node(q, sp.exp(-x), "q"), Node(t, (p - q) / (p + q), "t")),
    derivative=1 - t**2,
    domain=(-3.0, 3.0),
    forward=Written((Statement("t", sp.tanh(x), "t = tanh x = (e^{x} − e^{−x})/(e^{x} + e^{−x})"),),
                    "Hyperbolic tangent tanh(x), element-wise.", "tanh(x), in (−1, 1)"),
    grad=Written((Statement("t", sp.tanh(x), "t = tanh x"), Statement("dt_dx", 1 - ref("t") ** 2, "tanh′ = 1 − tanh²")),
                 "Derivative of tanh, 1 − tanh²(x), element-wise.", "tanh′(x), in (0, 1]"),
    gamma=TANH_GAMMA,
    attained_at=0,
)

# -- ReLU ------------------------------------------------------------------------------------

y = sp.Symbol("y", real=True)

relu = activation(
    "relu", "ReLU",
    "ReLU passes positive inputs unchanged and zeroes the rest. Where it is active its derivative "
    "is exactly 1, so it does not shrink gradients the way a sigmoid does; where it is inactive the "
    "gradient is 0 (a \"dead\" unit). At x = 0 the derivative does not exist: any value in [0, 1] "
    "is a subgradient, and mathnn uses 0, as PyTorch and CS231n do. SymPy would say "
    "d/dx max(0, x) = Heaviside(x) with Heaviside(0) = 1/2, so the rule is written piecewise.",
    nodes=(Node(y, sp.Piecewise((x, x > 0), (0, True)), "y"),),
    derivative=sp.Piecewise((1, x > 0), (0, True)),
    domain=(-3.0, 3.0),
    kinks=(Kink(x, sp.Integer(0), sp.Integer(0), "the value at 0 is 0, not SymPy's Heaviside(0) = 1/2"),),
    forward=Written((Statement("y", sp.Piecewise((0, x <= 0), (x, True)), "ReLU(x) = max(0, x); NaN passes through"),),
                    "Rectified linear unit max(0, x), element-wise.", "max(0, x)"),
    grad=Written((Statement("dy_dx", sp.Piecewise((1, x > 0), (0, True)), "ReLU′ = 1 for x > 0, 0 for x ≤ 0"),),
                 "Derivative of ReLU: 1 where x > 0, 0 where x ≤ 0 (0 at the kink), element-wise.", "1.0 or 0.0"),
    gamma=RELU_GAMMA,
    attained_at=1,
    facts=(
        Fact(
            "relu_is_max",
            lambda rule: equal(
                rule.forward,
                sp.Max(0, x).rewrite(sp.Piecewise),
                "ReLU(x) as declared equals max(0, x)",
                "\\mathrm{ReLU}(x) = \\max(0, x)",
            ),
        ),
    ),
)

# -- Leaky ReLU ------------------------------------------------------------------------------

leaky_relu = activation(
    "leaky_relu", "Leaky ReLU",
    "Leaky ReLU keeps a small slope α (0.01 by default) for negative inputs, so a unit that is "
    "switched off still passes a little gradient and can recover. At x = 0 mathnn uses α, the "
    "left slope, as PyTorch does.",
    params={alpha: 0.01},
    param_checks={alpha: (0.01, 0.2)},
    nodes=(Node(y, sp.Piecewise((x, x > 0), (alpha * x, True)), "y"),),
    derivative=sp.Piecewise((1, x > 0), (alpha, True)),
    domain=(-3.0, 3.0),
    kinks=(Kink(x, sp.Integer(0), alpha, "the value at 0 is α, the slope on the left"),),
    forward=Written((Statement("y", sp.Piecewise((x, x > 0), (alpha * x, True)), "LeakyReLU(x) = x for x > 0, αx for x ≤ 0"),),
                    "Leaky ReLU: x where x > 0, αx elsewhere, element-wise.", "x or αx"),
    grad=Written((Statement("dy_dx", sp.Piecewise((1, x > 0), (alpha, True)), "LeakyReLU′ = 1 for x > 0, α for x ≤ 0"),),
                 "Derivative of Leaky ReLU: 1 where x > 0, α where x ≤ 0 (α at the kink), element-wise.", "1.0 or α"),
    gamma=LEAKY_RELU_GAMMA,
    attained_at=None,
)

#: Where this topic comes in the lecture (mathnn.rules.TOPICS sorts by it).
LECTURE_ORDER = 1
RULES = (sigmoid, tanh, relu, leaky_relu)
