"""The pieces of a layer rule's declaration, and the claims its proofs are made of.

:class:`~mathnn.rules.layer.LayerRule` is declared with these: how check inputs are drawn
(:class:`Draw`), the mistakes students make (:class:`Mistake`) and the CS231n functions
(:class:`CS231n`). The functions below turn a decision into a timed :class:`~mathnn.rules.core.Claim`,
bound the rounding of a closed form (:func:`magnitude_of`) and refute a mistake with an exact witness.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import sympy as sp

from .core import BatchSum, Claim, Dot, Kernel, RowSum, Transposed
from .decide import resolve_deltas
from .textprint import ENTRY, text

#: The entry a gradient is taken for, in indexed notation.
J = sp.Symbol("j", integer=True)


@dataclass(frozen=True)
class Draw:
    """How the random check inputs of one argument are drawn: ``loc + scale · N(0, 1)`` of ``shape``.

    ``shape`` names sizes of the rule (``("N", "D")``); ``away_from`` keeps every entry at least that
    far from 0 (for arguments with a kink there).
    """

    shape: tuple[str, ...]
    loc: float = 0.0
    scale: float = 1.0
    away_from: float | None = None


@dataclass(frozen=True)
class Mistake:
    """A mistake students make, as data: a dropped path (``drop``) or a wrong closed form (``closed``).

    ``wrt`` names the gradient it spoils; ``sentence`` is what the checker tells a student whose
    gradient matches it.
    """

    name: str
    wrt: sp.Symbol
    sentence: str
    drop: tuple[tuple[sp.Symbol, sp.Symbol], ...] = ()
    closed: sp.Expr | None = None


@dataclass(frozen=True)
class ForwardMistake:
    """A mistake in the forward pass, as data: nodes of the graph computed another way (``replace``).

    ``{inv_std: 1/(sqrt(var) + eps)}`` is ε outside the square root. The proof shows the output it
    gives differs; the checker names it when a student's forward output matches it.
    """

    name: str
    sentence: str
    replace: Mapping[sp.Symbol, sp.Expr]


@dataclass(frozen=True)
class SettingsMistake:
    """A mistake that the notebook's settings hide and other settings show, as data.

    The padding cropped with ``dx_pad[:, :, pad:-pad, pad:-pad]`` is right at pad 1 and empty at pad 0;
    windows whose gradients are assigned (``dx[…] = …``) instead of added are right while they do not
    overlap. ``wrt`` is what the mistake spoils: a differentiated argument's name (its gradient) or
    ``"out"``. Either ``gives`` names a numpy function ``"module:function"`` of (the inputs, dout) that
    returns what students with the mistake return there (a list: one array per way of writing it), or
    ``replace`` says which settings the mistake reads for which (``{"pool_width": "pool_height"}``): a
    student's out is then mathnn's at the settings so replaced, and after an error the same call runs
    there. The checker names it for a pair that is right at the notebook's settings and wrong at others.
    """

    name: str
    sentence: str
    wrt: str
    gives: str | None = None
    replace: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CS231n:
    """The layer's CS231n functions: ``<name>_forward(*arguments) -> (out, cache)`` and the backward.

    ``param_dict`` is the name of the settings dictionary argument (``ln_param``) and ``settings``
    its keys with defaults (``{"eps": 1e-5}``); ``cache`` lists what the forward keeps for the
    backward, by node or input name; ``gradients`` are the returned names, in order. ``fixed`` are
    settings a check passes as they are (``{"mode": "train"}``); ``wrapper`` names the module whose
    hand-kept functions wrap the kernels (batch norm's modes and running averages, the LSTM step's two
    outputs), in which case no function is built from the declaration. ``forward_check`` names a module
    of :mod:`mathnn.gradcheck` whose ``check_forward`` judges a student's forward pass in place of the
    comparison with mathnn's, and whose ``diagnosis`` names a wrong gradient: a forward that draws random
    numbers (dropout's mask) can be compared only by the structure of its output. ``suffix`` ends both
    names (CS231n's ``conv_forward_naive``); ``validate`` names a numpy function ``"module:function"`` that the public forward calls with the
    arrays and the settings dictionary instead of the generic check of the settings, returning the
    settings for the kernel (a conv_param's integers, and sizes its windows tile). ``also`` are other
    settings a check runs the functions at once they are right at the notebook's (``fixed``): values
    the docstring allows at which mistakes the notebook's hide come out (pad 0, overlapping windows),
    and ``settings_mistakes`` name those mistakes.
    """

    name: str
    arguments: tuple[str, ...]
    gradients: tuple[str, ...]
    cache: tuple[str, ...]
    param_dict: str | None = None
    settings: Mapping[str, float] = field(default_factory=dict)
    upstream: str = "dout"
    aliases: tuple[str, ...] = ()
    fixed: Mapping[str, object] = field(default_factory=dict)
    wrapper: str | None = None
    #: a layer with several outputs (the LSTM step's next_h, next_c): their names, in the order the
    #: forward returns them before the cache; the rule's output is them side by side, and the backward
    #: takes one upstream gradient per output
    outputs: tuple[str, ...] = ()
    forward_check: str | None = None
    suffix: str = ""
    validate: str | None = None
    also: tuple[Mapping[str, object], ...] = ()
    settings_mistakes: tuple[SettingsMistake, ...] = ()


@dataclass(frozen=True)
class Reshape:
    """How the public functions take an argument with more axes than the kernel's two.

    The axes of ``shape`` are first put in ``order`` (when given), then the leading ``rows`` of them
    become the kernel's rows and the rest one axis of columns: CS231n's affine x of shape
    (N, d₁, …, d_k) has ``rows=1``, temporal_affine's x of shape (N, T, D) ``rows=2``, spatial batch
    norm's x of shape (N, C, H, W) ``order=(0, 2, 3, 1)`` and ``rows=3`` (every pixel of every image
    a row, the channels the columns). The gradient gets the argument's layout back, and so does the
    output, with the columns' axis in its place. ``sizes`` are the documented sizes a homework check
    starts from.
    """

    argument: str
    shape: tuple[str, ...]
    rows: int
    sizes: Mapping[str, int]
    order: tuple[int, ...] | None = None
    #: the name of an integer argument G (group norm's): the first axis after the rows (the channels C)
    #: is split into G groups of C/G, and each group of each row is one kernel row of (C/G)·… columns
    groups: str | None = None
    #: arguments with one value per channel, of shape (1, C, 1, …) (group norm's γ and β): broadcast to
    #: the argument's shape before its reshape, so the kernel sees one value per entry; their gradient
    #: is the kernel's summed back over every other axis (the adjoint of the broadcast)
    per_channel: tuple[str, ...] = ()
    #: forward mistakes that take the statistics over other groups (the whole sample, each channel)
    regroupings: tuple[Regrouping, ...] = ()


@dataclass(frozen=True)
class Regrouping:
    """A forward mistake of a grouped layer: its statistics over ``groups`` groups instead of G.

    ``groups`` is ``"1"`` (the whole sample: layer norm) or the name of the channel axis (``"C"``:
    one group per channel, instance norm). The checker names it when a student's output equals the
    right layer's at that number of groups; the proof shows the output differs at ``proof_sizes``.
    """

    name: str
    sentence: str
    groups: str


@dataclass(frozen=True)
class Variant:
    """The same layer under other CS231n names (``temporal_affine``), with its own reshape."""

    name: str
    reshape: Reshape


@dataclass(frozen=True)
class Identity:
    """A fact of the lecture about the layer, ``lhs = rhs`` in array notation, proven for the symbolic size.

    Nodes and inputs are used by name; ``d<input>`` (``dx``) stands for that input's closed-form
    gradient. Batch norm's Σᵢ x̂ᵢ = 0 or Σⱼ dxⱼ = 0 are identities.
    """

    statement: str
    lhs: sp.Expr
    rhs: sp.Expr


@dataclass(frozen=True)
class Tuned:
    """Kernels written for speed (buffers, in-place updates, a shift that keeps a constant column exactly
    zero), used by the public functions once proven to compute what the declaration does.

    ``forward`` returns the output, the rule's cache, then ``extras`` (batch norm's μ and σ², for the
    running averages); ``backward`` takes the upstream gradient and the cache, as the generated one
    does. ``means`` says what a kernel's binding is in indexed notation (``first_row`` is x₀).
    """

    forward: Kernel
    backward: Kernel
    means: Mapping[sp.Expr, sp.Expr] = field(default_factory=dict)
    extras: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChainStep:
    """One step of the chain rule at a node: ∂out/∂target = Σ over its children ∂out/∂child · ∂child/∂target."""

    target: sp.Symbol
    terms: tuple[tuple[sp.Symbol, sp.Expr], ...]  # (child, local partial ∂child/∂target)
    total: sp.Expr  # the sum, in node symbols


@dataclass(frozen=True)
class Derivation:
    """What reverse accumulation gives: each edge's contribution (child, parent, Σ adjoint · local
    partial) and every adjoint.

    An element-wise layer's derivation, of one entry, also keeps what the docs show of it: every local
    partial ``(child, parent, ∂child/∂parent)``, the chain rule at each node from the output back
    (``chain``), and the derivative of the output in the inputs alone (``gradients``).
    """

    steps: tuple[tuple[sp.Symbol, sp.Symbol, sp.Expr], ...]
    adjoint: dict[sp.Symbol, sp.Expr]
    local_partials: tuple[tuple[sp.Symbol, sp.Symbol, sp.Expr], ...] = ()
    chain: tuple[ChainStep, ...] = ()
    gradients: dict[sp.Symbol, sp.Expr] = field(default_factory=dict)


def magnitude_of(expr: sp.Expr) -> sp.Expr:
    """``expr`` with every term and factor replaced by its absolute value: the size of what it sums.

    Evaluated, it bounds the rounding error of ``expr`` up to a factor of the machine epsilon, which a
    gradient that nearly cancels (batch norm's dx at two rows) needs as its error scale.
    """
    if isinstance(expr, (sp.Symbol, sp.Indexed)):
        return sp.Abs(expr)
    if expr.is_Number:
        return abs(expr)
    if isinstance(expr, (sp.Add, sp.Mul)):
        return expr.func(*(magnitude_of(arg) for arg in expr.args))
    if isinstance(expr, sp.Pow):
        return sp.Pow(magnitude_of(expr.base), expr.exp)
    if isinstance(expr, (RowSum, BatchSum, Transposed)):
        return expr.func(magnitude_of(expr.args[0]))
    if isinstance(expr, Dot):  # a matrix product sums products: |a| @ |b| bounds each of its terms
        return Dot(*(magnitude_of(arg) for arg in expr.args))
    if getattr(expr, "linear", False):  # a selection of entries (a gate's block, blocks side by side)
        return expr.func(*(magnitude_of(arg) for arg in expr.args))
    if getattr(expr, "moves_entries", False):  # only moves and adds its first argument's entries (windows)
        return expr.func(magnitude_of(expr.args[0]), *expr.args[1:])
    return sp.Abs(expr)


def _entry_latex(name: str, row: str, column: str, notation: Mapping[str, str]) -> str:
    """One entry of a matrix of symbols in LaTeX: its matrix as ``notation`` writes that name,
    subscripted by row and column (``{h_{t-1}}_{0,1}`` for ``prev_h_0_1``); a name it does not know
    as the code writes it, in typewriter type where it has an underscore (``\\mathtt{x\\_hat}``)."""
    matrix = notation.get(name) or (r"\mathtt{" + name.replace("_", r"\_") + "}" if "_" in name else name)
    return f"{{{matrix}}}_{{{row},{column}}}"


def latex(expr: sp.Expr, notation: Mapping[str, str] | None = None) -> str:
    """SymPy's LaTeX of ``expr``, each entry of a matrix of symbols (a proof at concrete sizes) written
    as :func:`_entry_latex` does, where SymPy would split its name at the underscores (``prev_{h 0 1}``).
    ``notation`` maps a rule's code names to its LaTeX (``{"prev_h": "h_{t-1}"}``)."""
    names = {}
    for symbol in sp.sympify(expr).free_symbols:
        entry = ENTRY.match(symbol.name)
        if entry:
            name, row, column = entry.groups()
            names[symbol] = _entry_latex(name, row, column, notation or {})
    return sp.latex(expr, symbol_names=names)


def shown(expr: sp.Expr, notation: Mapping[str, str] | None = None) -> tuple[str, str]:
    """``expr`` as (plain text, LaTeX); see :func:`latex` for ``notation``."""
    return text(expr), latex(expr, notation)


def timed_claim(statement: str, latex: str, decide) -> Claim:
    start = time.perf_counter()
    holds, how = decide()
    return Claim(statement, latex, f"{how} [{time.perf_counter() - start:.2f} s]", bool(holds))


# -- deciding ----------------------------------------------------------------------------------------


def witness_of_difference(wrong: sp.Expr, right: sp.Expr, size: sp.Symbol, length: int = 3,
                          tries: int = 5) -> tuple[bool, str]:
    """Show ``wrong ≠ right`` by exact evaluation at ``size = length`` and rational inputs.

    One point where the two differ is a proof that they differ; a few seeded points are tried, since
    one can happen to lie where the difference vanishes.
    """
    concrete = [sp.expand(resolve_deltas(e.subs(size, length))).doit().xreplace({J: 0}) for e in (wrong, right)]
    atoms = sorted(
        {a for e in concrete for a in e.atoms(sp.Indexed, sp.Symbol)
         if not (isinstance(a, sp.Symbol) and a.is_integer)} - {i for e in concrete for i in e.atoms(sp.Indexed)
                                                                for i in i.indices},
        key=sp.default_sort_key,
    )
    for seed in range(tries):
        rng = random.Random(seed)
        values = {atom: sp.Rational(rng.randint(-9, 9) or 1, rng.randint(1, 5)) for atom in atoms}
        gap = sp.N(concrete[0].xreplace(values) - concrete[1].xreplace(values), 30)
        if gap.free_symbols:
            return False, f"could not evaluate the difference: {text(gap)}"
        if abs(gap) > sp.Rational(1, 10**20):
            return True, (f"at {size} = {length}, entry 0, rational inputs (seed {seed}): difference "
                          f"{sp.N(gap, 6)}")
    return False, f"no difference found at {tries} rational points with {size} = {length}"
