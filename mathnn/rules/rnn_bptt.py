"""Backpropagation through time for the vanilla RNN, at concrete sizes: the unrolled graph and its claim.

The loss of :func:`unroll` is the sequence's softmax cross-entropy written out step by step with
matrices of plain symbols; :func:`derived_gradients` differentiates it entry by entry with scalar
``diff``; :func:`backward` is the matrix-form recursion (and the classic wrong ones); :func:`bptt_claim`
decides their equality with :mod:`mathnn.rules.laurent`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sympy as sp

from ..errors import InputError
from .core import Claim
from .laurent import Atoms, _Clock, decide
from .rnn_math import (
    DEFAULT_SIZES, FAST_SIZES, _check_sizes, _entries, _hadamard, _matrix, _onehot, _rule, _sigmoid_atoms, _softmax,
    _softmax_atoms, _vector, _x, activation_derivative, activation_forward, softmax_ce_claim, step_claims,
)

__all__ = ["VARIANTS", "Unrolled", "backward", "bptt_claim", "derived_gradients", "prove", "unroll"]

# -- 3. backpropagation through time ---------------------------------------------------------------


@dataclass(frozen=True)
class Unrolled:
    """The RNN unrolled over T steps at concrete sizes, every quantity a Matrix of expressions.

    Lists indexed by time hold steps 1…T at positions 0…T−1, except ``h`` which holds h_0…h_T.
    ``fprime[t]`` is f′(a_{t+1}) from the rule's closed form; ``loss`` is −Σ_t log p_t[target_t] as
    written, ``loss_expanded`` the same after ``expand_log(force=True)`` of each log:
    Σ_t (log Σ_k e^{o_t,k} − o_t,target) (every argument is positive, so the rewriting is exact).
    With ``sign_pattern`` (relu, leaky_relu), each unit's Piecewise is written for the open region
    where its indicator s_t,i = [a_t,i > 0] is fixed: h = s·a + (1 − s)·(value for a ≤ 0), f′ likewise.
    """

    activation: str
    n: int
    d: int
    v: int
    T: int
    targets: tuple[int, ...]
    W_hh: sp.Matrix
    W_xh: sp.Matrix
    b: sp.Matrix
    W_hy: sp.Matrix
    b_y: sp.Matrix
    h0: sp.Matrix
    x: tuple[sp.Matrix, ...]
    a: tuple[sp.Matrix, ...]
    h: tuple[sp.Matrix, ...]
    o: tuple[sp.Matrix, ...]
    p: tuple[sp.Matrix, ...]
    y: tuple[sp.Matrix, ...]
    fprime: tuple[sp.Matrix, ...]
    loss: sp.Expr
    loss_expanded: sp.Expr
    sign_pattern: bool = False
    s: tuple[sp.Matrix, ...] = ()

    @property
    def indicators(self) -> frozenset[sp.Symbol]:
        """The sign-pattern indicator symbols s_t,i (empty unless ``sign_pattern``)."""
        return frozenset(symbol for matrix in self.s for symbol in matrix)

    def parameters(self) -> dict[str, sp.Matrix]:
        """Everything the gradient is taken with respect to, by name: W_hh … h_0, x_1 … x_T."""
        named = {"W_hh": self.W_hh, "W_xh": self.W_xh, "b": self.b, "W_hy": self.W_hy, "b_y": self.b_y,
                 "h_0": self.h0}
        named.update({f"x_{t + 1}": x_t for t, x_t in enumerate(self.x)})
        return named

    def atoms(self) -> Atoms:
        """Atoms with the changes of variables of this unrolling registered (softmax, sigmoid)."""
        atoms = Atoms()
        for t in range(self.T):
            _softmax_atoms(atoms, self.o[t], self.targets[t], str(t + 1))
            if self.activation == "sigmoid":
                _sigmoid_atoms(atoms, self.a[t], str(t + 1))
        return atoms


def _on_region(expr: sp.Expr, s: sp.Symbol) -> sp.Expr:
    """``Piecewise((X, a > 0), (Y, True))`` as s·X + (1 − s)·Y: its value where the indicator s is fixed."""
    return expr.replace(
        lambda e: isinstance(e, sp.Piecewise),
        lambda e: s * e.args[0].expr + (1 - s) * e.args[1].expr,
    )


def unroll(n: int = 3, d: int = 2, v: int = 2, T: int = 4, activation: str = "tanh",
           targets: Sequence[int] | None = None, sign_pattern: bool = True) -> Unrolled:
    """Build the unrolled forward pass from symbols h_0, x_1…x_T and the parameters.

    ``targets`` are fixed class indices, one per step (default t mod v). ``sign_pattern`` only
    matters for relu and leaky_relu: see :class:`Unrolled`; without it the rule's Piecewise is kept
    (SymPy then differentiates the Piecewise itself, which is far slower: see :func:`bptt_claim`).
    """
    _check_sizes(n=n, d=d, v=v, T=T)
    _rule(activation)
    piecewise = activation in ("relu", "leaky_relu")
    sign_pattern = bool(sign_pattern and piecewise)
    targets = tuple(t % v for t in range(T)) if targets is None else tuple(targets)
    if len(targets) != T or not all(isinstance(k, int) and 0 <= k < v for k in targets):
        raise InputError(f"targets: expected {T} class indices in 0…{v - 1}; received {targets!r}")
    W_hh, W_xh, b = _matrix("W_hh", n, n), _matrix("W_xh", n, d), _vector("b", n)
    W_hy, b_y, h0 = _matrix("W_hy", v, n), _vector("b_y", v), _vector("h0", n)
    xs = tuple(_vector(f"x{t + 1}", d) for t in range(T))
    a_s, hs, os, ps, ys, fps, indicators = [], [h0], [], [], [], [], []
    loss = sp.Integer(0)
    expanded = sp.Integer(0)
    if sign_pattern:
        # Written once in the rules' x, then x := a_t,i: factor_terms turns s·x + (1 − s)·αx into
        # x·(s + α(1 − s)), so a_t,i appears once and the unrolled tree does not double per step.
        indicator = sp.Dummy("s", real=True)
        region_forward = sp.factor_terms(_on_region(activation_forward(activation, _x), indicator))
        region_derivative = sp.factor_terms(_on_region(activation_derivative(activation, _x, closed=True),
                                                       indicator))
    for t in range(T):
        a = W_hh * hs[-1] + W_xh * xs[t] + b
        h = a.applyfunc(lambda entry: activation_forward(activation, entry, compact=True))
        fp = a.applyfunc(lambda entry: activation_derivative(activation, entry, closed=True))
        if sign_pattern:
            s = _vector(f"s{t + 1}", n)
            indicators.append(s)
            h = sp.Matrix(n, 1, [region_forward.xreplace({_x: a[i], indicator: s[i]}) for i in range(n)])
            fp = sp.Matrix(n, 1, [region_derivative.xreplace({_x: a[i], indicator: s[i]}) for i in range(n)])
        o = W_hy * h + b_y
        p = _softmax(o)
        log_p = sp.log(p[targets[t]])
        loss += -log_p
        expanded += -sp.expand_log(log_p, force=True, deep=False)
        a_s.append(a)
        hs.append(h)
        os.append(o)
        ps.append(p)
        ys.append(_onehot(targets[t], v))
        fps.append(fp)
    return Unrolled(activation, n, d, v, T, targets, W_hh, W_xh, b, W_hy, b_y, h0, xs, tuple(a_s),
                    tuple(hs), tuple(os), tuple(ps), tuple(ys), tuple(fps), loss, expanded, sign_pattern,
                    tuple(indicators))


def derived_gradients(u: Unrolled, literal: bool = False) -> dict[str, sp.Matrix]:
    """∂L/∂(every entry) of the unrolled loss by scalar ``sympy.diff``, named as :meth:`Unrolled.parameters`.

    Differentiates ``u.loss_expanded`` (log Σ e^{o} − o_target per step), or with ``literal`` the loss as
    written, −Σ log(e^{o_k}/Σ e^{o}), which SymPy differentiates about 2.5× slower.
    """
    loss = u.loss if literal else u.loss_expanded
    return {name: m.applyfunc(lambda s: sp.diff(loss, s)) for name, m in u.parameters().items()}


#: Common BPTT mistakes :func:`backward` can make on purpose, and what each one does.
VARIANTS: dict[str | None, str] = {
    None: "the textbook recursion",
    "no_accumulation": "dh_t = W_hyᵀ(p_t − y_t) only: the gradient arriving from step t+1 through W_hh is dropped",
    "dW_hh_transposed": "dW_hh = Σ_t h_{t−1} δ_tᵀ: the outer product taken the wrong way round",
    "dW_hh_uses_h_t": "dW_hh = Σ_t δ_t h_tᵀ: the current state used instead of the previous one",
    "softmax_sign": "the output gradient taken as onehot − p instead of p − onehot",
}


def backward(u: Unrolled, variant: str | None = None) -> dict[str, sp.Matrix]:
    """The matrix-form backward recursion (or one of the :data:`VARIANTS` mistakes).

    dh_T = W_hyᵀ(p_T − y_T); dh_t = W_hyᵀ(p_t − y_t) + W_hhᵀ δ_{t+1}; δ_t = dh_t ⊙ f′(a_t);
    dW_hh = Σ δ_t h_{t−1}ᵀ, dW_xh = Σ δ_t x_tᵀ, db = Σ δ_t, dW_hy = Σ (p_t − y_t) h_tᵀ,
    db_y = Σ (p_t − y_t), dh_0 = W_hhᵀ δ_1, dx_t = W_xhᵀ δ_t.
    """
    if variant not in VARIANTS:
        raise InputError(f"variant: expected one of {list(VARIANTS)}; received {variant!r}")
    n, d, v, T = u.n, u.d, u.v, u.T
    dW_hh, dW_xh, db = sp.zeros(n, n), sp.zeros(n, d), sp.zeros(n, 1)
    dW_hy, db_y = sp.zeros(v, n), sp.zeros(v, 1)
    deltas: list[sp.Matrix] = [sp.zeros(n, 1)] * T
    from_next = sp.zeros(n, 1)
    for t in reversed(range(T)):
        g = (u.y[t] - u.p[t]) if variant == "softmax_sign" else (u.p[t] - u.y[t])
        dh = u.W_hy.T * g
        if variant != "no_accumulation":
            dh = dh + u.W_hh.T * from_next
        delta = _hadamard(dh, u.fprime[t])
        deltas[t] = from_next = delta
        h_prev, h_t = u.h[t], u.h[t + 1]
        if variant == "dW_hh_transposed":
            dW_hh += h_prev * delta.T
        elif variant == "dW_hh_uses_h_t":
            dW_hh += delta * h_t.T
        else:
            dW_hh += delta * h_prev.T
        dW_xh += delta * u.x[t].T
        db += delta
        dW_hy += g * h_t.T
        db_y += g
    grads = {"W_hh": dW_hh, "W_xh": dW_xh, "b": db, "W_hy": dW_hy, "b_y": db_y, "h_0": u.W_hh.T * deltas[0]}
    grads.update({f"x_{t + 1}": u.W_xh.T * deltas[t] for t in range(T)})
    return grads


def _tanh_is_the_rule() -> tuple[bool, str]:
    difference = (activation_forward("tanh", _x) - sp.tanh(_x)).rewrite(sp.exp)
    holds = sp.simplify(difference) == 0
    return holds, "sympy.tanh(a) = the tanh rule's (e^a − e^{−a})/(e^a + e^{−a}) (simplify after rewrite(exp) = 0)"


#: Unrolled graphs and their sympy.diff gradients, by (n, d, v, T, activation, targets): differentiating
#: dominates the time of :func:`bptt_claim`, and checking several recursions needs it only once.
_DIFFERENTIATED: dict[tuple, tuple[Unrolled, dict[str, sp.Matrix], float, float]] = {}


def bptt_claim(n: int = 3, d: int = 2, v: int = 2, T: int = 4, activation: str = "tanh",
               recursion: str | Callable[[Unrolled], dict[str, sp.Matrix]] | None = None,
               targets: Sequence[int] | None = None, literal_loss: bool = False,
               sign_pattern: bool = True) -> Claim:
    """The gradient of the unrolled loss by every entry equals the matrix-form BPTT recursion.

    Parameters
    ----------
    n, d, v, T : int
        Hidden size, input size, vocabulary size, number of steps.
    activation : {'tanh', 'sigmoid', 'relu', 'leaky_relu'}
        The hidden activation, from :mod:`mathnn.rules.activations`.
    recursion : str or callable, optional
        ``None`` for :func:`backward`; a name in :data:`VARIANTS` for one of the common mistakes; or a
        function ``Unrolled -> dict`` giving a gradient for every name of :meth:`Unrolled.parameters`.
    targets : sequence of int, optional
        The class index at each step (default t mod v).
    literal_loss : bool
        Differentiate −Σ log(e^{o_k}/Σ e^{o}) as written instead of its ``expand_log`` form
        Σ (log Σ e^{o} − o_k) (same function; about 2.5× slower to differentiate).
    sign_pattern : bool
        relu, leaky_relu only: differentiate the forward written for a fixed sign pattern (indicator
        symbols, every pattern at once) instead of the rule's Piecewise. SymPy's diff of the nested
        Piecewise works but takes over a minute already at n=2, d=1, v=2, T=3.

    Returns
    -------
    Claim
        Its method gives the time to build, to differentiate, to decide, and in total. The
        differentiated graph is kept for the process, so checking another recursion at the same
        sizes reuses it (the method says so).
    """
    clock = _Clock()
    start = clock.wall
    key = (n, d, v, T, activation, None if targets is None else tuple(targets), literal_loss,
           sign_pattern and activation in ("relu", "leaky_relu"))
    reused = key in _DIFFERENTIATED
    if not reused:
        u = unroll(n, d, v, T, activation, targets, sign_pattern)
        built = time.perf_counter()
        _DIFFERENTIATED[key] = (u, derived_gradients(u, literal_loss), built - start,
                                time.perf_counter() - built)
    u, derived, build_seconds, diff_seconds = _DIFFERENTIATED[key]
    differentiated = time.perf_counter()
    if recursion is None or isinstance(recursion, str):
        closed = backward(u, recursion)
        which = VARIANTS[recursion]
    else:
        closed = recursion(u)
        which = getattr(recursion, "__name__", "the given recursion")
    missing = set(derived) - set(closed)
    if missing:
        raise InputError(f"recursion: no gradient for {sorted(missing)}")
    pairs = [pair for name in derived for pair in _entries(name, derived[name], closed[name])]
    notes = []
    holds_extra = True
    if activation == "tanh":
        holds_extra, note = _tanh_is_the_rule()
        notes.append(note)
    if activation == "sigmoid":
        notes.append("e^{−a_t,i} = (1 − σ)/σ (a change of variables)")
    if u.sign_pattern:
        notes.append(
            "per sign pattern: on the open region where s_t,i = [a_t,i > 0] is fixed, the rule's Piecewise "
            "forward and derivative are s·(a > 0 branch) + (1 − s)·(otherwise branch), differentiated with "
            "s constant; an identity in the symbols s covers every pattern (at a kink a_t,i = 0 the "
            "derivative does not exist and the rule's convention is what f′ states)")
    elif activation in ("relu", "leaky_relu"):
        notes.append("SymPy differentiated the rule's Piecewise; each Piecewise on a_t,i > 0 → s·X + (1 − s)·Y "
                     "with an indicator symbol s (all sign patterns at once, a = 0 in the otherwise branch)")
    decision = decide(pairs, u.atoms(), binary=u.indicators)
    decided = time.perf_counter()
    loss_how = ("L as written, −Σ_t log(e^{o_t,k}/Σ_j e^{o_t,j})" if literal_loss else
                "L = −Σ_t log p_t[target_t] after expand_log(force=True; all arguments positive), "
                "i.e. Σ_t (log Σ_j e^{o_t,j} − o_t,target)")
    how = (
        f"unrolled forward built in {build_seconds:.2f} s; sympy.diff of {loss_how} by each of the "
        f"{len(pairs)} entries in {diff_seconds:.2f} s{' (done earlier in this process, reused)' if reused else ''}; "
        f"f′ = the {activation} rule's closed form; "
        + ("; ".join(notes) + "; " if notes else "")
        + "softmax: e^{o_t,k} = p_t,k·Z_t with one non-target class eliminated by Σ_k p_t,k = 1; "
        f"{decision.how} in {decided - differentiated:.2f} s"
    )
    size = f"n={n}, d={d}, v={v}, T={T}"
    return Claim(
        f"BPTT ({activation}, {size}, targets {u.targets}): ∂L/∂θ of the unrolled L = −Σ_t log p_t[target_t] "
        f"by sympy.diff equals {which}, for every entry of W_hh, W_xh, b, W_hy, b_y, h_0, x_1…x_{T}",
        r"dh_{t} = W_{hy}^{T}(p_{t}-y_{t}) + W_{hh}^{T}\delta_{t+1},\quad \delta_{t} = dh_{t}\odot f'(a_{t}),"
        r"\quad \frac{\partial L}{\partial W_{hh}} = \sum_{t} \delta_{t} h_{t-1}^{T}",
        f"{how}; total {clock}",
        bool(decision.holds and holds_extra),
    )


# -- 5. everything -----------------------------------------------------------------------------------


def prove(fast: bool = False) -> list[Claim]:
    """Prove the RNN math: every claim decided by SymPy, none sampled numerically.

    Returns
    -------
    list of Claim
        tanh step claims (n = d = 2, six claims), sigmoid, relu and leaky_relu step claims (n = 2,
        d = 1, five each), softmax cross-entropy (v = 3), BPTT for tanh at the default sizes
        (n=3, d=2, v=2, T=4) or, with ``fast``, at n=2, d=1, v=2, T=3. Each method ends with its time.
    """
    claims = step_claims("tanh", 2, 2)
    for name in ("sigmoid", "relu", "leaky_relu"):
        claims += step_claims(name, 2, 1)
    claims.append(softmax_ce_claim(3))
    claims.append(bptt_claim(**(FAST_SIZES if fast else DEFAULT_SIZES)))
    return claims
