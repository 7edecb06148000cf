"""What the recurrent steps (RNN, LSTM, GRU) declare alike, in CS231n's row form.

Each step reads one input row per sequence, x (N, D), and the previous state, h_{t−1} (N, H); its
pre-activations are products by the weights Wx (D, kH) and Wh (H, kH) plus a bias b (kH,), k the
number of gates (1 for the RNN, 4 for the LSTM, 3 for the GRU). So the weights' gradients follow from
the gradient at the pre-activations alone, the random inputs and the check sizes are the same, and
CS231n's ``<name>_step_forward(x, prev_h, …, Wx, Wh, b)`` and its backward name their arguments and
gradients the same way. What sets a step apart — its graph, the gradients of its inputs, its cache
and its mistakes — is declared in its own module. Each sequence is its step unrolled over T
(:func:`unrolled`), carrying the hidden state h, and the LSTM its cell too.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from .core import BatchSum, Dot, Named, Node, Statement, Transposed
from .core import Slip
from .layer import CS231n, Draw, LayerRule, Mistake
from .recurrence import Recurrence

Wx, Wh, b = sp.symbols("Wx Wh b")
x, prev_h = Named("x", "x_t", "xₜ"), Named("prev_h", "h_{t-1}", "hₜ₋₁")
next_h = Named("next_h", "h_t", "hₜ")
#: the upstream gradient ∂L/∂h_t, written δh_t as in the lecture
dnext_h = Named("dnext_h", r"\delta h_t", "dhₜ")
#: The hidden state over a sequence: h_1 … h_T, the first state h_0, and the upstream gradient dh.
h, h0, dh = sp.symbols("h h0 dh")

#: How each input a step may take is drawn; the weights (in :func:`step`) are drawn small.
_INPUT_DRAWS = {"x": Draw(("N", "D")), "prev_h": Draw(("N", "H"), scale=0.5), "prev_c": Draw(("N", "H"))}

#: The sizes a gated step (LSTM, GRU) is checked and proven at.
GATED_CHECK_SIZES = ({"N": 2, "D": 3, "H": 4}, {"N": 1, "D": 1, "H": 1}, {"N": 3, "D": 2, "H": 2})
GATED_PROOF_SIZES = ({"N": 1, "D": 1, "H": 1}, {"N": 2, "D": 2, "H": 2})


def weight_gradients(dax: sp.Expr, dah: sp.Expr | None = None) -> dict[sp.Symbol, sp.Expr]:
    """∂L/∂Wx = xᵀ δa_x, ∂L/∂Wh = h_{t−1}ᵀ δa_h and ∂L/∂b = Σ_rows δa_x, from the gradients at the
    input's and the state's pre-activations (one δa for both where the step adds them, as the RNN)."""
    return {Wx: Dot(Transposed(x), dax), Wh: Dot(Transposed(prev_h), dax if dah is None else dah), b: BatchSum(dax)}


def step(name: str, title: str, note: str, *, inputs: tuple[sp.Symbol, ...], gates: str, nodes: tuple[Node, ...],
         closed_forms: dict[sp.Symbol, sp.Expr], helpers: tuple[Statement, ...], cache: tuple[str, ...],
         mistakes: tuple[Mistake, ...], dout: sp.Symbol = dnext_h,
         check_sizes: tuple[dict[str, int], ...] = GATED_CHECK_SIZES,
         proof_sizes: tuple[dict[str, int], ...] = GATED_PROOF_SIZES,
         upstream: str = "dnext_h", wrapper: str | None = None, outputs: tuple[str, ...] = ()) -> LayerRule:
    """A recurrent step as a layer rule over ``inputs`` (x, the previous states) and the weights.

    ``gates`` is the width of the pre-activations ("H", "3H", "4H"); every input and weight is
    differentiated, the weights are shared by the rows, and the step is proven entry by entry at
    ``proof_sizes``. ``cache``, ``upstream``, ``wrapper`` and ``outputs`` are CS231n's (:class:`CS231n`).
    """
    arrays = (*inputs, Wx, Wh, b)
    return LayerRule(
        name=name, title=title, note=note,
        # the graph: every input and weight differentiated, the weights shared by the rows
        size=None, element_arrays=arrays, differentiated=arrays, shared=(Wx, Wh, b),
        nodes=nodes, closed_forms=closed_forms, helpers=helpers,
        draws={
            **{array.name: _INPUT_DRAWS[array.name] for array in inputs},
            # small weights keep the gates away from saturation, where every gradient would be nearly zero
            "Wx": Draw(("D", gates), scale=0.4),
            "Wh": Draw(("H", gates), scale=0.4),
            "b": Draw((gates,), scale=0.2),
        },
        check_sizes=check_sizes, proof_sizes=proof_sizes, homework_sizes={"N": (2, 5), "D": (2, 5), "H": (2, 5)},
        cs231n=CS231n(
            name=name, arguments=tuple(array.name for array in arrays),
            gradients=tuple(f"d{array.name}" for array in arrays),
            cache=cache, upstream=upstream, wrapper=wrapper, outputs=outputs,
        ),
        dout=dout, mistakes=mistakes,
    )


def unrolled(step: LayerRule, name: str, title: str, note: str, *, proof_sizes: tuple[dict[str, int], ...],
             slips: tuple[Slip, ...], cell: tuple[sp.Symbol, sp.Symbol, sp.Symbol] | None = None,
             **more: Any) -> Recurrence:
    """``step`` unrolled over T as CS231n's ``<name>_forward(x, h0, Wx, Wh, b)``: h_{t−1} → h_t carried
    from step to step, starting at h0, the states over time called h, their upstream gradient dh.

    ``cell`` (prev_c, next_c, c) is a second carried state starting at 0 (the LSTM's); ``more`` are
    the other fields of :class:`Recurrence`.
    """
    carried = ((prev_h, next_h),) + (() if cell is None else ((cell[0], cell[1]),))
    sequences = {next_h: h} | ({} if cell is None else {cell[1]: cell[2]})
    return Recurrence(name=name, title=title, note=note, step=step, carried=carried, initial=h0,
                      sequences=sequences, upstream=dh, proof_sizes=proof_sizes, slips=slips, **more)
