"""Batch normalization, symbolically: the backward pass derived and proven for a batch of any size m.

One feature over a mini-batch of symbolic size ``m`` (Ioffe & Szegedy 2015, Algorithm 1), indices
running over ``0, …, m − 1``::

    μ   = (1/m) Σᵢ xᵢ
    σ²  = (1/m) Σᵢ (xᵢ − μ)²
    x̂ᵢ  = (xᵢ − μ) / √(σ² + ε)
    yᵢ  = γ x̂ᵢ + β
    L   = Σᵢ dyᵢ yᵢ                      (dy is the upstream gradient ∂L/∂y)

The graph has the edges x → μ, x → σ², μ → σ², x → x̂, μ → x̂, σ² → x̂, x̂ → y, γ → y, β → y,
y → L. :func:`derivation_steps` derives every adjoint of the paper's backward pass from these edges:
the local partials come from ``sympy.diff`` of a ``Sum`` over an ``IndexedBase``, which yields
``KroneckerDelta`` terms that :func:`sympy.concrete.delta.deltasummation` resolves (with
``no_piecewise=True``, i.e. for an index ``0 ≤ j < m``). :func:`prove` shows the results equal to the
textbook closed forms:

* for symbolic ``m``, by writing every node in terms of ``x``, splitting each ``Sum`` linearly into
  sums of monomials (``Σ xᵢ``, ``Σ xᵢ²``, ``Σ dyᵢ``, ``Σ dyᵢ xᵢ``, …), replacing each such sum by a
  placeholder symbol and √(σ² + ε) by a symbol s, and reducing the numerator of the difference modulo
  s² − (σ² + ε). An identity that holds for independent placeholders holds in particular for the
  actual sums, so this is a proof, not a sample;
* element-wise with plain symbols at ``m = 1, …, 6``, differentiating the written-out forward pass.

Not everything the lecture says survives the proof. ``Σⱼ dxⱼ = 0`` holds exactly, but
``Σⱼ dxⱼ x̂ⱼ = γ ε (σ² + ε)^{−3/2} Σᵢ dyᵢ x̂ᵢ``, which is 0 only for ``ε = 0``: with ``ε > 0`` the
normalized batch is not exactly scale invariant. :func:`prove` proves the exact statement.

Nothing here is imported on the numeric path; importing this module imports SymPy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import sympy as sp
from .core import Claim
from .decide import CANONICAL, SumAtoms, decide_zero, resolve_deltas, vanishes
from .textprint import text

__all__ = [
    "EDGES", "PATHS", "PATH_EDGES", "Adjoints", "Step", "SumAtoms", "backprop", "batch_sum", "beta",
    "compact_closed_forms", "derivation_steps", "dx_without", "dy", "eps", "expand_nodes", "gamma", "i",
    "in_x_hat", "j", "loss", "m", "mu", "mu_sym", "prove", "prove_dx_elementwise", "prove_dx_equals",
    "prove_sum_identity", "resolve_deltas", "std_sym", "var", "var_sym", "x", "x_hat", "x_hat_sym", "y",
]

# -- symbols -----------------------------------------------------------------------------------

#: Batch size, symbolic.
m = sp.Symbol("m", integer=True, positive=True)
#: The feature's values over the batch, ``x[0], …, x[m − 1]``.
x = sp.IndexedBase("x", real=True)
#: Upstream gradient ``dy[i] = ∂L/∂y[i]``.
dy = sp.IndexedBase("dy", real=True)
#: Summation index over the batch.
i = sp.Symbol("i", integer=True)
#: Index of the batch element a gradient is taken for (0 ≤ j < m).
j = sp.Symbol("j", integer=True)
#: Summation index used inside μ, kept apart from ``i`` so nested sums never share a bound variable.
k = sp.Symbol("k", integer=True)
#: Scale γ and shift β of the output.
gamma = sp.Symbol("gamma", real=True)
beta = sp.Symbol("beta", real=True)
#: The ε added to the variance, positive.
eps = sp.Symbol("epsilon", positive=True)

# -- node symbols: how the graph and the docs name the intermediates ----------------------------

#: The batch mean μ as a node of the graph (a plain symbol).
mu_sym = sp.Symbol("mu", real=True)
#: The batch variance σ² as a node of the graph (prints as σ² in LaTeX).
var_sym = sp.Symbol("sigma^2", nonnegative=True)
#: The normalized values x̂ as a node of the graph.
x_hat_sym = sp.IndexedBase("xhat", real=True)
#: √(σ² + ε), the standard deviation used to normalize, in node symbols.
std_sym = sp.sqrt(var_sym + eps)


def batch_sum(summand: sp.Expr, index: sp.Symbol = i) -> sp.Sum:
    """``Σ_{index=0}^{m−1} summand``."""
    return sp.Sum(summand, (index, 0, m - 1))


# -- the graph: each node as an expression of its parents (node symbols) ------------------------

#: μ(x) = (1/m) Σₖ xₖ.
MU_OF_X = batch_sum(x[k], k) / m
#: σ²(x, μ) = (1/m) Σᵢ (xᵢ − μ)², with μ a parent node held fixed by ∂/∂x.
VAR_OF_X_MU = batch_sum((x[i] - mu_sym) ** 2) / m


def x_hat_of(n: sp.Expr) -> sp.Expr:
    """x̂ₙ(xₙ, μ, σ²) = (xₙ − μ)/√(σ² + ε), in node symbols."""
    return (x[n] - mu_sym) / std_sym


def y_of(n: sp.Expr) -> sp.Expr:
    """yₙ(x̂ₙ, γ, β) = γ x̂ₙ + β, in node symbols."""
    return gamma * x_hat_sym[n] + beta


#: L(y) = Σᵢ dyᵢ yᵢ written through x̂: L(x̂, γ, β) = Σᵢ dyᵢ (γ x̂ᵢ + β).
LOSS_OF_X_HAT = batch_sum(dy[i] * y_of(i))

#: Every edge (parent, child) of the graph, named as in :data:`PATHS`.
EDGES = (
    ("x", "mu"), ("x", "var"), ("mu", "var"), ("x", "x_hat"), ("mu", "x_hat"), ("var", "x_hat"),
    ("x_hat", "y"), ("gamma", "y"), ("beta", "y"), ("y", "L"),
)

# -- the forward pass in x alone ----------------------------------------------------------------


def expand_nodes(expr: sp.Expr) -> sp.Expr:
    """Replace x̂, σ² and μ in ``expr`` by their definitions, so only x, dy, γ, β, ε, m remain."""
    expr = expr.replace(
        lambda e: isinstance(e, sp.Indexed) and e.base == x_hat_sym,
        lambda e: x_hat_of(e.indices[0]),
    )
    return expr.subs(var_sym, VAR_OF_X_MU).subs(mu_sym, MU_OF_X)


#: μ in terms of x.
mu = MU_OF_X
#: σ² in terms of x.
var = expand_nodes(var_sym)


def x_hat(n: sp.Expr) -> sp.Expr:
    """x̂ₙ in terms of x."""
    return expand_nodes(x_hat_sym[n])


def y(n: sp.Expr) -> sp.Expr:
    """yₙ = γ x̂ₙ + β in terms of x."""
    return expand_nodes(y_of(n))


#: L = Σᵢ dyᵢ yᵢ in terms of x.
loss = expand_nodes(LOSS_OF_X_HAT)

# -- resolving Kronecker deltas and sums ----------------------------------------------------------


#: Stands for √(σ² + ε) while deciding and rewriting: positive, tied to σ² by s² = σ² + ε.
STD = sp.Symbol("s", positive=True)


def powers_to_std(expr: sp.Expr, base: sp.Expr = var_sym + eps, std: sp.Symbol = STD) -> sp.Expr:
    """Every power ``base**e`` of ``expr`` written as ``std**(2e)``, so square roots become a symbol."""
    return expr.replace(
        lambda e: e.is_Pow and e.base == base and (2 * e.exp).is_integer,
        lambda e: std ** (2 * e.exp),
    )


def _is_zero(difference: sp.Expr) -> tuple[bool, str]:
    """Decide ``difference == 0`` for symbolic m: nodes written in x, then :func:`decide_zero`."""
    in_nodes = resolve_deltas(difference).replace(
        lambda e: isinstance(e, sp.Indexed) and e.base == x_hat_sym,
        lambda e: x_hat_of(e.indices[0]),
    )
    holds, how = decide_zero(in_nodes.subs(var_sym, VAR_OF_X_MU).subs(mu_sym, MU_OF_X))
    return holds, "nodes expanded to x; " + how


def _timed_claim(statement: str, latex: str, decide: Callable[[], tuple[bool, str]]) -> Claim:
    start = time.perf_counter()
    holds, how = decide()
    return Claim(statement, latex, f"{how} [{time.perf_counter() - start:.2f} s]", bool(holds))


def prove_sum_identity(lhs: sp.Expr, rhs: sp.Expr, statement: str) -> Claim:
    """Prove ``lhs == rhs`` for symbolic m; both may use node symbols, batch sums and ``dy``."""
    latex = sp.latex(sp.Eq(lhs, rhs, evaluate=False))
    return _timed_claim(statement, latex, lambda: _is_zero(lhs - rhs))


# -- reverse accumulation over the graph ----------------------------------------------------------


def _through_x_hat(adjoint_x_hat: Callable[[sp.Expr], sp.Expr], parent: sp.Expr) -> sp.Expr:
    """Σᵢ ∂L/∂x̂ᵢ · ∂x̂ᵢ/∂parent, the local partial by ``sympy.diff``, Kronecker deltas summed out."""
    return resolve_deltas(batch_sum(adjoint_x_hat(i) * sp.diff(x_hat_of(i), parent)))


@dataclass(frozen=True)
class Adjoints:
    """The adjoints ∂L/∂node derived by the chain rule, in node symbols (μ, σ², x̂ stay symbols).

    ``x_hat`` and ``x`` are functions of the element index.
    """

    x_hat: Callable[[sp.Expr], sp.Expr]
    var: sp.Expr
    mu: sp.Expr
    x: Callable[[sp.Expr], sp.Expr]
    gamma: sp.Expr
    beta: sp.Expr
    terms: dict[tuple[str, str], sp.Expr]  # each edge's contribution to its parent's adjoint


def backprop(drop: Iterable[tuple[str, str]] = ()) -> Adjoints:
    """Derive every adjoint of the graph, leaving out the contributions of the edges in ``drop``.

    Each local partial is ``sympy.diff`` of the child's definition with respect to the parent (the
    other parents held fixed); each adjoint is the sum over the parent's children of the child's
    adjoint times the local partial, the paper's backward pass.
    """
    dropped = set(drop)
    unknown = dropped - set(EDGES)
    if unknown:
        raise ValueError(f"unknown edges {sorted(unknown)}; the graph has {EDGES}")

    def keep(edge: tuple[str, str], contribution: sp.Expr) -> sp.Expr:
        return sp.Integer(0) if edge in dropped else contribution

    # ∂L/∂x̂ⱼ: L = Σᵢ dyᵢ (γ x̂ᵢ + β) differentiated by x̂ⱼ gives a Kronecker delta in i, j.
    x_hat_adjoint_j = resolve_deltas(sp.diff(LOSS_OF_X_HAT, x_hat_sym[j]))

    def adjoint_x_hat(n: sp.Expr) -> sp.Expr:
        return x_hat_adjoint_j.xreplace({j: n})

    terms: dict[tuple[str, str], sp.Expr] = {}
    terms["var", "x_hat"] = keep(("var", "x_hat"), _through_x_hat(adjoint_x_hat, var_sym))
    adjoint_var = terms["var", "x_hat"]
    terms["mu", "x_hat"] = keep(("mu", "x_hat"), _through_x_hat(adjoint_x_hat, mu_sym))
    terms["mu", "var"] = keep(("mu", "var"), adjoint_var * sp.diff(VAR_OF_X_MU, mu_sym))
    adjoint_mu = terms["mu", "x_hat"] + terms["mu", "var"]
    terms["x", "x_hat"] = keep(("x", "x_hat"), _through_x_hat(adjoint_x_hat, x[j]))
    terms["x", "var"] = keep(("x", "var"), adjoint_var * resolve_deltas(sp.diff(VAR_OF_X_MU, x[j])))
    terms["x", "mu"] = keep(("x", "mu"), adjoint_mu * resolve_deltas(sp.diff(MU_OF_X, x[j])))
    adjoint_x_j = terms["x", "x_hat"] + terms["x", "var"] + terms["x", "mu"]
    adjoint_gamma = keep(("gamma", "y"), sp.diff(LOSS_OF_X_HAT, gamma))
    adjoint_beta = keep(("beta", "y"), sp.diff(LOSS_OF_X_HAT, beta))
    return Adjoints(
        x_hat=adjoint_x_hat,
        var=adjoint_var,
        mu=adjoint_mu,
        x=lambda n: adjoint_x_j.xreplace({j: n}),
        gamma=adjoint_gamma,
        beta=adjoint_beta,
        terms=terms,
    )


# -- readable forms: in x̂ and Σ ----------------------------------------------------------------

#: Lemma Σᵢ x̂ᵢ = 0 (proven in :func:`prove`), as the placeholder-free substitution used for display.
SUM_X_HAT = batch_sum(x_hat_sym[i])
SUM_X_HAT_SQUARED = batch_sum(x_hat_sym[i] ** 2)
SUM_X_HAT_SQUARED_VALUE = m * var_sym / (var_sym + eps)


def in_x_hat(expr: sp.Expr, use_lemmas: bool = False) -> sp.Expr:
    """Rewrite ``expr`` (in node symbols) with x̂ for the centred values: xₙ = μ + √(σ² + ε) x̂ₙ.

    Sums are split linearly and constants pulled out of them; with ``use_lemmas`` the proven lemma
    Σᵢ x̂ᵢ = 0 is applied.
    """
    return _in_x_hat_std(expr, use_lemmas).xreplace({STD: std_sym})


def _in_x_hat_std(expr: sp.Expr, use_lemmas: bool) -> sp.Expr:
    """:func:`in_x_hat` with √(σ² + ε) still written as the symbol :data:`STD`."""
    centred = powers_to_std(expr).replace(
        lambda e: isinstance(e, sp.Indexed) and e.base == x,
        lambda e: mu_sym + STD * x_hat_sym[e.indices[0]],
    )
    atoms = SumAtoms()
    flat = atoms.atomize(centred)
    if use_lemmas:
        flat = flat.xreplace({atoms.placeholder(x_hat_sym[CANONICAL], 0, m - 1): 0})
    return atoms.restore(sp.expand(flat))


def _compact_dx(derived: sp.Expr) -> sp.Expr:
    """A derived ∂L/∂xⱼ in the compact form γ/(m√(σ²+ε)) · (…), in x̂ and Σ."""
    factor = gamma / (m * STD)
    inner = sp.expand(_in_x_hat_std(derived, use_lemmas=True) / factor)
    if inner.has(STD, var_sym):
        raise ArithmeticError(f"∂L/∂xⱼ did not reduce to the compact form: {text(inner)}")
    return (factor * inner).xreplace({STD: std_sym})


# -- derivation steps for the docs ----------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One equation of the backward pass, derived by SymPy from the graph.

    Attributes
    ----------
    name : str
        Identifier (``dL_dvar``).
    latex_lhs : str
        The left-hand side in LaTeX (``\\frac{\\partial L}{\\partial \\sigma^2}``).
    expr : sympy.Expr
        The derived right-hand side in readable form: sums as Σ, centred values as x̂.
    note : str
        The chain rule that produced it, in words, and anything a reader should know.
    """

    name: str
    latex_lhs: str
    expr: sp.Expr
    note: str

    @property
    def latex(self) -> str:
        """The whole equation in LaTeX."""
        return f"{self.latex_lhs} = {sp.latex(self.expr)}"


def derivation_steps() -> list[Step]:
    """The backward-pass equations of Ioffe & Szegedy (2015), Algorithm 1, each derived from the graph.

    Returns
    -------
    list of Step
        ∂L/∂x̂ᵢ, ∂L/∂σ², ∂L/∂μ, ∂L/∂xⱼ, ∂L/∂γ, ∂L/∂β, in that order.
    """
    adjoints = backprop()
    return [
        Step(
            "dL_dxhat",
            r"\frac{\partial L}{\partial \hat{x}_{i}}",
            adjoints.x_hat(i),
            "∂/∂x̂ᵢ of L = Σₖ dyₖ(γ x̂ₖ + β): the Kronecker delta picks the term k = i.",
        ),
        Step(
            "dL_dvar",
            r"\frac{\partial L}{\partial \sigma^{2}}",
            in_x_hat(adjoints.var),
            "Σᵢ ∂L/∂x̂ᵢ · ∂x̂ᵢ/∂σ² with ∂x̂ᵢ/∂σ² = −(xᵢ − μ)(σ² + ε)^{−3/2}/2; the paper's "
            "−γ/2 (σ² + ε)^{−3/2} Σᵢ dyᵢ(xᵢ − μ), written with x̂ᵢ = (xᵢ − μ)/√(σ² + ε).",
        ),
        Step(
            "dL_dmu",
            r"\frac{\partial L}{\partial \mu}",
            in_x_hat(adjoints.mu),
            "Σᵢ ∂L/∂x̂ᵢ · (−1/√(σ² + ε)) + ∂L/∂σ² · (−2/m) Σᵢ (xᵢ − μ): the mean reaches L directly "
            "through x̂ and through σ². The second term vanishes because Σᵢ x̂ᵢ = 0 (a lemma proven "
            "in prove()), so forgetting the path μ → σ² does not change the gradient.",
        ),
        Step(
            "dL_dx",
            r"\frac{\partial L}{\partial x_{j}}",
            _compact_dx(adjoints.x(j)),
            "∂L/∂x̂ⱼ/√(σ² + ε) + ∂L/∂σ² · 2(xⱼ − μ)/m + ∂L/∂μ / m: three paths from xⱼ "
            "(direct, through σ², through μ), simplified with Σᵢ x̂ᵢ = 0.",
        ),
        Step(
            "dL_dgamma", r"\frac{\partial L}{\partial \gamma}", adjoints.gamma,
            "Σᵢ ∂L/∂yᵢ · ∂yᵢ/∂γ = Σᵢ dyᵢ x̂ᵢ.",
        ),
        Step(
            "dL_dbeta", r"\frac{\partial L}{\partial \beta}", adjoints.beta,
            "Σᵢ ∂L/∂yᵢ · ∂yᵢ/∂β = Σᵢ dyᵢ.",
        ),
    ]


# -- declared closed forms -----------------------------------------------------------------------

SUM_DY = batch_sum(dy[i])
SUM_DY_X_HAT = batch_sum(dy[i] * x_hat_sym[i])


def compact_closed_forms() -> dict[str, sp.Expr]:
    """The textbook closed forms that :func:`prove` proves and codegen generates numpy from.

    Returns
    -------
    dict of str to sympy.Expr
        In evaluation order: ``mu``, ``var``, ``x_hat``, ``y`` (the forward pass) and ``dgamma``,
        ``dbeta``, ``dx`` (the backward pass). Each uses the earlier entries as node symbols
        (``mu_sym``, ``var_sym``, ``x_hat_sym[·]``), ``x[·]``, ``dy[·]``, ``gamma``, ``beta``, ``eps``,
        ``m`` and sums over the batch index ``i``; per-element entries are written for element ``j``.
    """
    return {
        "mu": batch_sum(x[i]) / m,
        "var": batch_sum((x[i] - mu_sym) ** 2) / m,
        "x_hat": (x[j] - mu_sym) / std_sym,
        "y": gamma * x_hat_sym[j] + beta,
        "dgamma": SUM_DY_X_HAT,
        "dbeta": SUM_DY,
        "dx": gamma / (m * std_sym) * (m * dy[j] - SUM_DY - x_hat_sym[j] * SUM_DY_X_HAT),
    }


# -- homework diagnosis: the gradient without one path ---------------------------------------------

#: The edge each forgettable path drops.
PATH_EDGES: dict[str, tuple[str, str]] = {
    "x->mu->x_hat": ("mu", "x_hat"),
    "x->var": ("x", "var"),
    "x->mu->var": ("mu", "var"),
}

#: What a student's dx means when it matches :func:`dx_without` of each path.
PATHS: dict[str | None, str] = {
    None: "your dx matches the full gradient: every path from x to L is accounted for",
    "x->mu->x_hat": "your dx matches the gradient without the path x → μ → x̂: the mean also moves "
    "every x̂ᵢ, which adds −γ/(m√(σ²+ε)) · Σᵢ dyᵢ to each dxⱼ",
    "x->var": "your dx matches the gradient without the path x → σ²: the variance also depends on "
    "xⱼ, which adds −γ/(m√(σ²+ε)) · x̂ⱼ Σᵢ dyᵢ x̂ᵢ to dxⱼ",
    "x->mu->var": "your dx matches the gradient without the path x → μ → σ², which is the full "
    "gradient: that path contributes ∂L/∂σ² · (−2/m) Σᵢ (xᵢ − μ) = 0, so forgetting it is harmless",
}


def dx_without(path: str | None) -> sp.Expr:
    """The ∂L/∂xⱼ a student gets who forgets ``path``, in compact closed form.

    Parameters
    ----------
    path : {'x->mu->x_hat', 'x->var', 'x->mu->var'} or None
        The path left out (see :data:`PATHS`); ``None`` for the full gradient.

    Returns
    -------
    sympy.Expr
        ``γ/(m√(σ²+ε)) · (…)`` in ``dy[j]``, ``x_hat_sym[j]``, sums over ``i``, ``var_sym``, ``eps``,
        ``m``, derived from the graph with that edge dropped.
    """
    if path is not None and path not in PATH_EDGES:
        raise ValueError(f"path: expected one of {[None, *PATH_EDGES]}; received {path!r}")
    drop = () if path is None else (PATH_EDGES[path],)
    return _compact_dx(backprop(drop).x(j))


# -- proofs -----------------------------------------------------------------------------------


def _eq_latex(lhs: str, rhs: sp.Expr) -> str:
    return f"{lhs} = {sp.latex(rhs)}"


def prove_dx_equals(closed: sp.Expr) -> Claim:
    """Prove, for symbolic m, that the derived ∂L/∂xⱼ equals ``closed``.

    ``closed`` may use ``x[·]``, ``dy[·]``, the node symbols ``mu_sym``, ``var_sym``, ``x_hat_sym[·]``,
    batch sums, ``gamma``, ``eps``, ``m`` and the element index ``j``.
    """
    derived = backprop().x(j)
    return _timed_claim(
        f"∂L/∂xⱼ derived by the chain rule equals {text(closed)} for every batch size m",
        _eq_latex(r"\frac{\partial L}{\partial x_{j}}", closed),
        lambda: _is_zero(derived - closed),
    )


def _elementwise(size: int, closed: sp.Expr) -> tuple[bool, str]:
    """∂L/∂x_t of the written-out forward pass equals ``closed`` at m = size, for every t."""
    xs = sp.symbols(f"x_0:{size}", real=True)
    dys = sp.symbols(f"dy_0:{size}", real=True)
    mean = sp.Add(*xs) / size
    variance = sp.Add(*[(xt - mean) ** 2 for xt in xs]) / size
    base = variance + eps
    forward = sp.Add(*[d * (gamma * (xt - mean) / sp.sqrt(base) + beta) for xt, d in zip(xs, dys)])

    plain = {x[t]: xs[t] for t in range(size)} | {dy[t]: dys[t] for t in range(size)}
    closed_at_size = expand_nodes(closed).subs(m, size)
    for t in range(size):
        derived = sp.diff(forward, xs[t])
        expected = powers_to_std(closed_at_size.subs(j, t).doit().xreplace(plain), base)
        holds, remainder = vanishes(powers_to_std(derived, base) - expected, STD, base)
        if not holds:
            return False, f"at m = {size}, element {t}: remainder {text(remainder)}, not 0"
    return True, "remainder 0"


def prove_dx_elementwise(closed: sp.Expr | None = None, sizes: Sequence[int] = range(1, 7)) -> Claim:
    """Prove ∂L/∂xₜ = ``closed`` element-wise with plain symbols for each batch size in ``sizes``.

    ``closed`` defaults to the declared compact form; at each size the forward pass is written out
    with symbols ``x_0, …``, differentiated by ``sympy.diff`` and compared for every element.
    """
    closed = compact_closed_forms()["dx"] if closed is None else closed

    def decide() -> tuple[bool, str]:
        methods = []
        for size in sizes:
            holds, how = _elementwise(size, closed)
            if not holds:
                return False, how
            methods.append(f"m={size}: {how}")
        return True, (
            "forward pass written out with plain symbols, diff by each x_t; √(σ²+ε) as a symbol s, "
            "numerator of cancel(derived − closed) reduced modulo s² − (σ² + ε) — "
            + ", ".join(methods)
        )

    sizes_text = ", ".join(str(size) for size in sizes)
    return _timed_claim(
        f"element-wise at m = {sizes_text}: ∂L/∂x_t of the written-out forward pass equals {text(closed)}",
        _eq_latex(r"\frac{\partial L}{\partial x_{t}}", closed),
        decide,
    )


def prove() -> list[Claim]:
    """Prove the batch-norm backward pass: every claim decided by SymPy, none sampled numerically.

    Returns
    -------
    list of Claim
        Lemmas Σ x̂ = 0 and Σ x̂² = mσ²/(σ²+ε); dx for symbolic m; dγ and dβ; dx element-wise at
        m = 1…6; Σⱼ dxⱼ = 0; Σⱼ dxⱼ x̂ⱼ = γε(σ²+ε)^{−3/2} Σᵢ dyᵢ x̂ᵢ. Each method string ends with
        the time it took.
    """
    closed = compact_closed_forms()
    adjoints = backprop()
    dx_closed = closed["dx"]
    claims = [
        prove_sum_identity(SUM_X_HAT, sp.Integer(0), "lemma: Σᵢ x̂ᵢ = 0"),
        prove_sum_identity(
            SUM_X_HAT_SQUARED, SUM_X_HAT_SQUARED_VALUE, "lemma: Σᵢ x̂ᵢ² = mσ²/(σ² + ε)"
        ),
        prove_dx_equals(dx_closed),
        prove_sum_identity(
            adjoints.gamma, closed["dgamma"], "∂L/∂γ derived by the chain rule equals Σᵢ dyᵢ x̂ᵢ"
        ),
        prove_sum_identity(
            adjoints.beta, closed["dbeta"], "∂L/∂β derived by the chain rule equals Σᵢ dyᵢ"
        ),
        prove_dx_elementwise(dx_closed, range(1, 7)),
        prove_sum_identity(
            batch_sum(dx_closed, j), sp.Integer(0),
            "Σⱼ dxⱼ = 0: shifting every xᵢ by the same amount does not change L",
        ),
        prove_sum_identity(
            batch_sum(dx_closed * x_hat_sym[j], j),
            gamma * eps / (var_sym + eps) ** sp.Rational(3, 2) * SUM_DY_X_HAT,
            "Σⱼ dxⱼ x̂ⱼ = γ ε (σ² + ε)^{−3/2} Σᵢ dyᵢ x̂ᵢ: zero only for ε = 0 "
            "(then L is invariant to scaling x)",
        ),
    ]
    return claims
