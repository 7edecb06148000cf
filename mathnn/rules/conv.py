"""CS231n's naive convolution as a layer rule: out = windows(x) @ flat(w)ᵀ + b, proven at concrete sizes.

The layer engine's arrays are 2-D, so the convolution is declared with the window operations of
:mod:`mathnn.rules.windows`: ``windows(x)`` is the (N·H'·W', C·HH·WW) matrix of every receptive
field of the zero-padded input (im2col), and ``scatter`` its adjoint, which adds each row back where
its window came from and crops the padding. Then

    out = images(windows(x) @ flat(w)ᵀ + b)        (CS231n's (N, F, H', W'))
    dx = scatter(positions(dout) @ flat(w)),  dw = filters(positions(dout)ᵀ @ windows(x)),  db = Σ positions(dout)

where ``positions`` lays dout (N, F, H', W') out as one row per output position. The geometry is
fixed per proof size, so the proof is reverse accumulation entry by entry at the concrete sizes of
:data:`PROOF_SIZES` (:mod:`mathnn.rules.layer_concrete`); the generated kernels print the same
operations as vectorised numpy on the 4-D arrays.
"""

from __future__ import annotations

import sympy as sp

from .core import BatchSum, Dot, Node, Transposed, out
from .layer import CS231n, Draw, LayerRule, Mistake
from .layer_parts import SettingsMistake
from .windows import Filters, Flat, Flipped, Geometry, Images

x, w, b, dout = sp.symbols("x w b dout")
C, H, W, F, HH, WW, Ho, Wo = sp.symbols("C H W F HH WW Ho Wo")
stride, pad = sp.symbols("stride pad")
#: The settings as integers, bound in every kernel from the (float-typed) settings.
s, p = sp.symbols("s p")

#: The geometry every window operation takes.
GEOMETRY = Geometry(C, H, W, HH, WW, Ho, Wo, s, p)
#: dout with one row per output position, (N·H'·W', F).
DOUT_ROWS = GEOMETRY.positions(dout, F)
#: Where a kernel finds each size.
BOUND = {
    C: "x.shape[1]", H: "x.shape[2]", W: "x.shape[3]", F: "w.shape[0]", HH: "w.shape[2]", WW: "w.shape[3]",
    s: "int(stride)", p: "int(pad)", Ho: "(H + 2*p - HH)//s + 1", Wo: "(W + 2*p - WW)//s + 1",
}


def geometry(N: int, C: int, H: int, W: int, F: int, HH: int, WW: int, stride: int, pad: int) -> dict[str, int]:
    """A proof size: the arrays' sizes, the settings and the output's H', W' (which must be whole)."""
    assert (H + 2 * pad - HH) % stride == 0 and (W + 2 * pad - WW) % stride == 0, "the windows must tile"
    return {"N": N, "C": C, "H": H, "W": W, "F": F, "HH": HH, "WW": WW, "s": stride, "p": pad,
            "Ho": (H + 2 * pad - HH) // stride + 1, "Wo": (W + 2 * pad - WW) // stride + 1}


#: The sizes the proof works at, entry by entry: one channel and one filter, then stride 2 with pad 1,
#: two channels, two filters, two images and a non-square 3×2 kernel, then heavily overlapping windows
#: (3×3 at stride 1 with pad 1), then stride 2 without padding.
PROOF_SIZES = (
    geometry(N=1, C=1, H=3, W=3, F=1, HH=2, WW=2, stride=1, pad=0),
    geometry(N=2, C=2, H=3, W=4, F=2, HH=3, WW=2, stride=2, pad=1),
    geometry(N=1, C=2, H=3, W=3, F=2, HH=3, WW=3, stride=1, pad=1),
    geometry(N=1, C=1, H=5, W=4, F=1, HH=3, WW=2, stride=2, pad=0),
)


conv = LayerRule(
    name="conv",
    title="Convolution (naive)",
    note=(
        "CS231n's conv_forward_naive slides each of F filters of shape (C, HH, WW) over the zero-padded "
        "input with a stride and adds a bias: out[n, f, i, j] = Σ_c,a,b x_pad[n, c, s·i + a, s·j + b] "
        "w[f, c, a, b] + b[f] (a cross-correlation: the filter is not flipped). Written with the matrix "
        "windows(x) of every receptive field (one row per output position), it is an affine layer: "
        "out = windows(x) @ flat(w)ᵀ + b, so dw = positions(dout)ᵀ @ windows(x), db sums dout over the "
        "images and the positions, and dx = scatter(positions(dout) @ flat(w)) adds each window's "
        "gradient back where the window came from — overlapping windows add up, and the padding's "
        "share is cropped away. The proof is at concrete sizes only, entry by entry: reverse "
        "accumulation on matrices of symbols equals the closed forms at (N, C, H, W, F, HH, WW, "
        "stride, pad) = (1, 1, 3, 3, 1, 2, 2, 1, 0), (2, 2, 3, 4, 2, 3, 2, 2, 1), "
        "(1, 2, 3, 3, 2, 3, 3, 1, 1) and (1, 1, 5, 4, 1, 3, 2, 2, 0); other sizes are checked numerically (mathnn verify conv), and mathnn check runs a student's "
        "conv_forward_naive / conv_backward_naive with CS231n's conv_param = {stride: 2, pad: 1}, then, once "
        "they are right there, with {stride: 1, pad: 0} and a filter that is not square."
    ),
    size=None,
    element_arrays=(x, w, b),
    scalars={stride: 1, pad: 0},
    nodes=(Node(out, Images(Dot(GEOMETRY.windows(x), Transposed(Flat(w))) + b, F, Ho, Wo), "out",
                "y = windows(x) @ flat(w)ᵀ + b, one row per output position, as (N, F, H', W')"),),
    differentiated=(x, w, b),
    closed_forms={
        x: GEOMETRY.scatter(Dot(DOUT_ROWS, Flat(w))),
        w: Filters(Dot(Transposed(DOUT_ROWS), GEOMETRY.windows(x)), C, HH, WW),
        b: BatchSum(DOUT_ROWS),
    },
    helpers=(),
    shared=(b,),
    draws={"x": Draw(("N", "C", "H", "W")), "w": Draw(("F", "C", "HH", "WW")), "b": Draw(("F",))},
    # the first is the homework's documented size (stride 2, pad 1: CS231n's conv_param); its second
    # shape is drawn from homework_sizes, chosen so that every draw tiles at that stride and pad
    check_sizes=(
        {"N": 2, "C": 3, "H": 5, "W": 5, "F": 2, "HH": 3, "WW": 3, "stride": 2, "pad": 1},
        {"N": 2, "C": 2, "H": 4, "W": 5, "F": 3, "HH": 3, "WW": 2, "stride": 1, "pad": 1},
        {"N": 1, "C": 1, "H": 6, "W": 6, "F": 1, "HH": 2, "WW": 2, "stride": 2, "pad": 0},
    ),
    homework_sizes={"H": (5, 6), "W": (5, 6), "HH": (3, 4), "WW": (2, 3)},
    proof_sizes=PROOF_SIZES,
    bound_sizes=BOUND,
    cs231n=CS231n(
        name="conv",
        arguments=("x", "w", "b", "conv_param"),
        gradients=("dx", "dw", "db"),
        cache=("x", "w", "stride", "pad"),
        param_dict="conv_param",
        settings={"stride": 1, "pad": 0},
        fixed={"stride": 2, "pad": 1},
        suffix="_naive",
        validate="mathnn.windowing:conv_settings",
        # once right at the notebook's stride 2, pad 1: without padding, at a point of the second shapes,
        # whose filter is never square (homework_sizes: HH 4, WW 2 where the notebook's is 3×3)
        also=({"stride": 1, "pad": 0},),
        settings_mistakes=(
            SettingsMistake(
                "padding cropped with pad:-pad",
                "your dx crops the padding with dx_pad[:, :, pad:-pad, pad:-pad], which is empty at pad = 0 (-0 "
                "is 0, so the slice is 0:0): crop with dx_pad[:, :, pad:pad + H, pad:pad + W]",
                "x", gives="mathnn.gradcheck.window_mistakes:padding_cropped"),
        ),
    ),
    mistakes=(
        Mistake("stride left out of dx", x,
                "your dx adds each window's gradient at x_pad[n, :, i:i+HH, j:j+WW]: the window of output (i, j) "
                "starts at (i·stride, j·stride), as in the forward pass",
                closed=GEOMETRY.scatter(Dot(DOUT_ROWS, Flat(w)), sp.Integer(1))),
        Mistake("stride left out of dw", w,
                "your dw takes the window of output (i, j) at x_pad[n, :, i:i+HH, j:j+WW]: it starts at "
                "(i·stride, j·stride), as in the forward pass",
                closed=Filters(Dot(Transposed(DOUT_ROWS), GEOMETRY.windows(x, sp.Integer(1))), C, HH, WW)),
        Mistake("filters flipped in dx", x,
                "your dx uses each filter turned by 180° (w[:, :, ::-1, ::-1]): CS231n's forward is a "
                "cross-correlation, so dx adds dout[n, f, i, j] · w[f] (not flipped) over each window",
                closed=GEOMETRY.scatter(Dot(DOUT_ROWS, Flat(Flipped(w, C, HH, WW))))),
    ),
)

#: Where this topic comes in the lecture (mathnn.rules.TOPICS sorts by it): after batch norm.
LECTURE_ORDER = 4
RULES = (conv,)
