"""CS231n's naive max pooling as a layer rule: the maximum of each window, its gradient to that maximum.

With the window operations of :mod:`mathnn.rules.windows`, out = images(max(windows(x))) per channel
and dx = scatter(to_max(positions(dout), windows(x))): each output's gradient goes to the entry that
was its window's maximum, and windows that overlap add up.

max is not differentiable where two entries of a window tie, so the proof is at a *fixed order of
the entries*: at each proof size the maximum of each window (and channel) is a given entry, and
every entry of every window takes that role at one of the orders. On each such region max is that
entry, reverse accumulation through it is exact, and it is proven equal entry by entry to the closed
form routing dout to the same entry. What the kernels add is the choice of the entry: the forward
takes ``np.max`` and the backward routes to ``np.argmax``, the *first* maximum; at a tie the two
conventions of CS231n solutions (first maximum, or every tied entry through ``x == max``) differ,
and the checker, drawing continuous random inputs, meets no tie.
"""

from __future__ import annotations

import sympy as sp

from .core import Node, out
from .layer import CS231n, Draw, LayerRule, Mistake
from .layer_parts import SettingsMistake
from .windows import Averaged, Geometry, Images, ToMaximum, WindowMax

x, dout = sp.symbols("x dout")
C, H, W, HH, WW, Ho, Wo = sp.symbols("C H W HH WW Ho Wo")
pool_height, pool_width, stride = sp.symbols("pool_height pool_width stride")
#: The stride as an integer, and the fixed order of the entries a proof size works at.
s, order = sp.symbols("s order")

#: The geometry every window operation takes (no padding).
GEOMETRY = Geometry(C, H, W, HH, WW, Ho, Wo, s, sp.Integer(0))
#: dout with one row per output position, (N·H'·W', C).
DOUT_ROWS = GEOMETRY.positions(dout, C)
#: Where a kernel finds each size.
BOUND = {
    C: "x.shape[1]", H: "x.shape[2]", W: "x.shape[3]", HH: "int(pool_height)", WW: "int(pool_width)",
    s: "int(stride)", Ho: "(H - HH)//s + 1", Wo: "(W - WW)//s + 1",
    order: "",  # only the proof reads it: the kernels take the maximum itself
}


def geometry(N: int, C: int, H: int, W: int, HH: int, WW: int, stride: int, order: int) -> dict[str, int]:
    """A proof size: the input's sizes, the window, the stride and the fixed order of the entries."""
    assert (H - HH) % stride == 0 and (W - WW) % stride == 0, "the windows must tile"
    return {"N": N, "C": C, "H": H, "W": W, "HH": HH, "WW": WW, "s": stride, "order": order,
            "Ho": (H - HH) // stride + 1, "Wo": (W - WW) // stride + 1}


#: Every order of a 2×2 window at stride 2 (CS231n's pooling: windows side by side), then every order
#: of overlapping 2×3 windows at stride 1, then two orders of 3×2 windows at stride 2 over two images.
PROOF_SIZES = (
    *(geometry(N=1, C=2, H=4, W=4, HH=2, WW=2, stride=2, order=k) for k in range(4)),
    *(geometry(N=1, C=1, H=3, W=4, HH=2, WW=3, stride=1, order=k) for k in range(6)),
    *(geometry(N=2, C=1, H=5, W=4, HH=3, WW=2, stride=2, order=k) for k in range(2)),
)


max_pool = LayerRule(
    name="max_pool",
    title="Max pooling (naive)",
    note=(
        "CS231n's max_pool_forward_naive keeps the largest entry of each pool_height × pool_width window "
        "of each channel, the windows stride apart: out[n, c, i, j] = max of x[n, c, s·i : s·i + HH, "
        "s·j : s·j + WW]. Its gradient goes to that largest entry alone — dx = scatter(to_max(dout, "
        "windows(x))), overlapping windows adding up. max has a kink where two entries tie, so the proof "
        "is at concrete sizes and fixed orders of the entries: at each proof the maximum of every window "
        "(and channel) is a given entry, a different one for neighbouring windows, and on that region, "
        "where max is that entry, reverse accumulation entry by entry equals the closed form routing "
        "dout to the same entry. Sizes (N, C, H, W, HH, WW, stride): (1, 2, 4, 4, 2, 2, 2) at all 4 "
        "orders and (1, 1, 3, 4, 2, 3, 1) at all 6 (every entry of every window is the maximum at one of "
        "them), (2, 1, 5, 4, 3, 2, 2) at 2 of its 6. This proves the routing and the adding up of "
        "overlapping windows; that np.argmax finds the entry is checked numerically (mathnn verify "
        "max_pool), not proven. Ties: mathnn routes the gradient to the first "
        "maximum (np.argmax, row by row within the window). CS231n solutions do either that or route it "
        "to every tied entry (x == max); mathnn check draws continuous random inputs, where ties have "
        "probability 0, so it accepts both, and it does not test inputs with ties. The checker runs "
        "max_pool_forward_naive / max_pool_backward_naive with pool_param = {pool_height: 2, "
        "pool_width: 2, stride: 2}, then, once they are right there, with overlapping windows that are not "
        "square, {pool_height: 2, pool_width: 3, stride: 1}."
    ),
    size=None,
    element_arrays=(x,),
    scalars={pool_height: 2, pool_width: 2, stride: 2},
    nodes=(Node(out, Images(WindowMax(GEOMETRY.windows(x), C, HH, WW, order), C, Ho, Wo), "out",
                "y = the maximum of each channel of each window, as (N, C, H', W')"),),
    differentiated=(x,),
    closed_forms={x: GEOMETRY.scatter(ToMaximum(DOUT_ROWS, GEOMETRY.windows(x), C, HH, WW, order))},
    helpers=(),
    shared=(),
    draws={"x": Draw(("N", "C", "H", "W"))},
    # the first is the homework's documented size (CS231n's 2×2 windows at stride 2)
    check_sizes=(
        {"N": 2, "C": 3, "H": 4, "W": 6, "pool_height": 2, "pool_width": 2, "stride": 2},
        {"N": 2, "C": 2, "H": 5, "W": 4, "pool_height": 2, "pool_width": 3, "stride": 1},
        {"N": 1, "C": 2, "H": 7, "W": 5, "pool_height": 3, "pool_width": 1, "stride": 2},
    ),
    homework_sizes={"H": (4, 8), "W": (4, 8)},
    homework_multiples={"H": 2, "W": 2},
    proof_sizes=PROOF_SIZES,
    bound_sizes=BOUND,
    cs231n=CS231n(
        name="max_pool",
        arguments=("x", "pool_param"),
        gradients=("dx",),
        cache=("x", "pool_height", "pool_width", "stride"),
        param_dict="pool_param",
        settings={"pool_height": 2, "pool_width": 2, "stride": 2},
        fixed={"pool_height": 2, "pool_width": 2, "stride": 2},
        suffix="_naive",
        validate="mathnn.windowing:pool_settings",
        # once right at the notebook's 2×2 windows side by side: windows that overlap and are not square
        also=({"pool_height": 2, "pool_width": 3, "stride": 1},),
        settings_mistakes=(
            SettingsMistake(
                "overlapping windows assigned",
                "your dx assigns each window's gradient (dx[…] = …), so where windows overlap (a stride smaller "
                "than the window) a later window's overwrites an earlier one's: add it (dx[…] += …), as each "
                "entry's gradient is the sum over the windows it is the maximum of",
                "x", gives="mathnn.gradcheck.window_mistakes:overlaps_assigned"),
            SettingsMistake(
                "pool_height used for the width",
                "pool_height is used for the width (W' = 1 + (W - pool_height) // stride, or windows pool_height "
                "wide): the windows are pool_height × pool_width, which the notebook's square 2×2 windows hide",
                "out", replace={"pool_width": "pool_height"}),
            *(SettingsMistake(
                f"windows counted side by side in {wrt}",
                f"your {function} counts the windows as H // pool_height by W // pool_width, their number only "
                "when they sit side by side (stride = window, as the notebook's 2×2 at stride 2): there are "
                f"1 + (H - pool_height) // stride by 1 + (W - pool_width) // stride{where}",
                "out" if wrt == "out" else "x", gives=f"mathnn.gradcheck.window_mistakes:side_by_side_{wrt}")
              for wrt, function, where in (("out", "max_pool_forward_naive", ""),
                                           ("dx", "max_pool_backward_naive", " (dout.shape gives them)"))),
        ),
    ),
    mistakes=(
        Mistake("stride left out of dx", x,
                "your dx takes the window of output (i, j) at x[n, c, i:i+HH, j:j+WW]: it starts at "
                "(i·stride, j·stride), as in the forward pass",
                closed=GEOMETRY.scatter(ToMaximum(DOUT_ROWS, GEOMETRY.windows(x, sp.Integer(1)), C, HH, WW, order),
                                        sp.Integer(1))),
        Mistake("dout spread over the window", x,
                "your dx shares dout[n, c, i, j] equally among the window's entries, as average pooling does: "
                "the output is the window's maximum alone, so all of dout goes to that one entry",
                closed=GEOMETRY.scatter(Averaged(DOUT_ROWS, C, HH, WW))),
    ),
)

#: Where this topic comes in the lecture (mathnn.rules.TOPICS sorts by it): with the convolution.
LECTURE_ORDER = 4
RULES = (max_pool,)
