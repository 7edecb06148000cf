"""CS231n's naive max pooling: proven at fixed orders of the entries, generated, gradient-checked, checked."""

from __future__ import annotations

import dataclasses
import inspect
import types

import numpy as np
import pytest
import sympy as sp

from mathnn.codegen.printer import numpy_code
from mathnn.errors import InputError
from mathnn.gradcheck.examples import correct, load_example
from mathnn.gradcheck.homework import check_pair, resolve
from mathnn.layers import max_pool_backward_naive, max_pool_forward_naive
from mathnn.rules.pool import DOUT_ROWS, GEOMETRY, C, HH, WW, max_pool, order, s, x
from mathnn.rules.windows import Averaged, Scatter, ToMaximum, WindowMax, Windows, _maximum_at


@pytest.fixture(scope="module")
def proof(proofs):
    return proofs["max_pool"]


def test_max_pool_is_proven_at_every_order_of_the_entries(proof):
    assert proof.holds, str(proof)
    gradients = [c for c in proof.claims if c.statement.startswith("∂L/∂x")]
    assert len(gradients) == len(max_pool.proof_sizes) == 12
    # a 2×2 window at stride 2 has its maximum at each of its 4 entries at one of the orders
    assert {c.statement.split("order=")[1][0] for c in gradients if "HH=2, WW=2, s=2" in c.statement} == set("0123")
    refuted = [c for c in proof.claims if "mistake" in c.statement]
    assert len(refuted) == len(max_pool.mistakes) == 2 and all(c.holds for c in refuted)
    assert "concrete sizes and fixed orders of the entries" in max_pool.note and "first maximum" in max_pool.note


def test_routing_to_another_entry_fails_the_proof_at_every_size():
    wrong = Scatter(ToMaximum(DOUT_ROWS, Windows(x, *GEOMETRY, s), C, HH, WW, order + 1), *GEOMETRY, s)
    broken = dataclasses.replace(max_pool, closed_forms={x: wrong}, mistakes=())
    assert [c.holds for c in broken.prove().claims] == [False] * 12


SIZES = {"C": 2, "H": 4, "W": 5, "HH": 2, "WW": 3, "s": 2, "Ho": 2, "Wo": 2, "order": 3}


@pytest.mark.parametrize("at", [0, 3, 5])
def test_max_and_its_routing_print_what_they_mean_where_the_maximum_is_where_the_proof_puts_it(at):
    """The proof's fixed order is what the kernel finds when the data has its maximum there."""
    rng = np.random.default_rng(at)
    sizes = {**SIZES, "order": at}
    cols = rng.standard_normal((3 * 2 * 2, 2 * 6))
    for k in range(cols.shape[0]):  # make the entry the proof takes for the maximum the largest
        for c in range(2):
            cols[k, c * 6 + _maximum_at(k, c, 6, at)] = 5 + rng.random()
    g = rng.standard_normal((12, 2))
    symbols = {name: sp.Symbol(name) for name in sizes}
    maximum = WindowMax(sp.Symbol("a"), symbols["C"], symbols["HH"], symbols["WW"], symbols["order"])
    routed = ToMaximum(sp.Symbol("g"), sp.Symbol("a"), symbols["C"], symbols["HH"], symbols["WW"], symbols["order"])
    namespace = {"np": np, **sizes, "a": cols, "g": g}
    values = {**{symbols[k]: sp.Integer(v) for k, v in sizes.items()}, sp.Symbol("a"): sp.Matrix(cols),
              sp.Symbol("g"): sp.Matrix(g)}
    averaged = Averaged(sp.Symbol("g"), symbols["C"], symbols["HH"], symbols["WW"])
    for expr in (maximum, routed, averaged):
        printed = eval(numpy_code(expr), namespace)  # noqa: S307 - our own generated code
        meant = np.array(expr.on_matrices(*(values[a] for a in expr.args)), dtype=float)
        assert np.allclose(printed, meant, rtol=0, atol=1e-15)


def test_the_generated_kernels_pass_the_gradient_check():
    from mathnn.verify import verify

    report = verify(max_pool)
    assert report.passed, report.to_dict()
    assert len(report.checks) == 3


def _loops(x, height, width, stride, dout):
    """CS231n's loops, the gradient to the first maximum (np.argmax) of each window."""
    N, C, H, W = x.shape
    Ho, Wo = 1 + (H - height) // stride, 1 + (W - width) // stride
    out, dx = np.zeros((N, C, Ho, Wo)), np.zeros_like(x)
    for n, c, i, j in np.ndindex(N, C, Ho, Wo):
        window = x[n, c, i * stride:i * stride + height, j * stride:j * stride + width]
        out[n, c, i, j] = window.max()
        a, b = np.unravel_index(np.argmax(window), window.shape)
        dx[n, c, i * stride + a, j * stride + b] += dout[n, c, i, j]
    return out, dx


@pytest.mark.parametrize("shape, height, width, stride", [
    ((2, 3, 4, 6), 2, 2, 2), ((3, 2, 8, 8), 2, 2, 2), ((2, 2, 5, 4), 2, 3, 1), ((1, 2, 7, 5), 3, 1, 2),
    ((1, 1, 3, 3), 3, 3, 1),
])
def test_the_public_functions_equal_the_loops(shape, height, width, stride):
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape)
    out, cache = max_pool_forward_naive(x, {"pool_height": height, "pool_width": width, "stride": stride})
    dout = rng.standard_normal(out.shape)
    dx = max_pool_backward_naive(dout, cache)
    want_out, want_dx = _loops(x, height, width, stride, dout)
    assert isinstance(dx, np.ndarray) and dx.shape == x.shape
    assert np.array_equal(out, want_out) and np.allclose(dx, want_dx, rtol=0, atol=1e-15)


def test_at_a_tie_the_gradient_goes_to_the_first_maximum():
    x = np.array([[[[1.0, 3.0], [3.0, 0.0]]]])
    out, cache = max_pool_forward_naive(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    assert out.item() == 3.0
    assert max_pool_backward_naive(np.ones((1, 1, 1, 1)), cache).tolist() == [[[[0.0, 1.0], [0.0, 0.0]]]]


@pytest.mark.parametrize("pool_param, message", [
    ({"pool_height": 2, "pool_width": 2, "stride": 2},
     "pool_param: stride 2 does not tile the input: H − pool_height = 5 − 2 = 3 is not a multiple of 2"),
    ({"pool_height": 2, "pool_width": 7, "stride": 1}, "pool_param: the window does not fit: pool_width = 7 > W = 6"),
    ({"pool_height": 2, "pool_width": 2, "stride": 0}, 'pool_param["stride"]: expected an integer ≥ 1; received 0'),
    ({"pool_height": "2"}, "pool_param[\"pool_height\"]: expected an integer ≥ 1; received str '2'"),
])
def test_a_pool_param_that_does_not_fit_says_which_sizes(pool_param, message):
    with pytest.raises(InputError) as raised:
        max_pool_forward_naive(np.ones((1, 1, 5, 6)), pool_param)
    assert str(raised.value) == message


def test_the_pair_has_cs231n_naive_names():
    pair = resolve("max_pool_forward_naive")
    assert (pair.name, pair.forward, pair.backward) == ("max_pool", "max_pool_forward_naive", "max_pool_backward_naive")


def _student(*changes: tuple[str, str]) -> types.ModuleType:
    """correct.py's max pooling with some lines changed, as a module."""
    source = "\n\n".join(inspect.getsource(f) for f in (correct.max_pool_forward_naive, correct.max_pool_backward_naive))
    for old, new in changes:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    module = types.ModuleType("student")
    module.np = np  # type: ignore[attr-defined]
    exec(compile(source, "student.py", "exec"), module.__dict__)  # noqa: S102 - the test's own code
    return module


ARGMAX = ("mask = window == np.max(window)  # every tied maximum: no ties at random inputs",
          "mask = np.zeros_like(window)\n"
          "                    mask.flat[np.argmax(window)] = 1  # the first maximum")


@pytest.mark.parametrize("module", [correct, load_example("correct_float32"), _student(ARGMAX)])
def test_the_checker_passes_either_tie_convention(module):
    result = check_pair(module, "max_pool")
    assert result["passed"], result["diagnosis"]
    assert [p["shapes"]["x"][2:] for p in result["points"]][:2] == [[4, 6], [8, 8]]  # even: the stride tiles


def test_the_checker_names_the_stride_left_out_of_dx():
    (mistake,) = [m for m in max_pool.mistakes if m.name == "stride left out of dx"]
    result = check_pair(_student(
        ("window = x[n, c, i * stride:i * stride + HH, j * stride:j * stride + WW]", "window = x[n, c, i:i + HH, j:j + WW]"),
        ("dx[n, c, i * stride:i * stride + HH, j * stride:j * stride + WW] +=", "dx[n, c, i:i + HH, j:j + WW] +="),
    ), "max_pool")
    assert not result["passed"] and [g["name"] for g in result["gradients"] if not g["passed"]] == ["dx"]
    assert mistake.sentence in result["diagnosis"]


def test_the_checker_names_dout_spread_over_the_window():
    (mistake,) = [m for m in max_pool.mistakes if m.name == "dout spread over the window"]
    result = check_pair(_student(("+= mask * dout[n, c, i, j]", "+= dout[n, c, i, j] / (HH * WW)")), "max_pool")
    assert not result["passed"] and "dx is wrong" in result["diagnosis"]
    assert mistake.sentence in result["diagnosis"]


def test_an_error_only_on_images_that_are_not_square_says_that_square_ones_run():
    # out's axes in the wrong order: right on the notebook's square images, an IndexError at height 4, width 6
    result = check_pair(_student(("out = np.zeros((N, C, H_out, W_out)", "out = np.zeros((N, C, W_out, H_out)")),
                        "max_pool")
    assert not result["passed"] and result["error"]["type"] == "IndexError"
    assert ("the same call runs when height = width (cropped to (2, 3, 4, 4)), and this error came at x of shape "
            "(2, 3, 4, 6): a height and a width used for each other somewhere (H for W, out_h for out_w, HH for "
            "WW?), which square inputs hide") in result["diagnosis"].splitlines()


def test_an_out_wrong_only_on_images_that_are_not_square_says_that_square_ones_are_right():
    # W_out computed from H: out of shape (2, 3, 2, 2) where (2, 3, 2, 3) is due
    result = check_pair(_student(("1 + (W - WW) // stride", "1 + (H - HH) // stride")), "max_pool")
    assert not result["passed"] and result["forward"]["status"] == "mismatch"
    assert ("max_pool_forward_naive's out is right when height = width (cropped to (2, 3, 4, 4)), and wrong at x of "
            "shape (2, 3, 4, 6): a height and a width used for each other somewhere (H for W, out_h for out_w, HH "
            "for WW?), which square inputs hide") in result["diagnosis"].splitlines()


def test_an_error_at_square_images_too_says_nothing_of_the_shape():
    result = check_pair(_student(("window = x[n, c, i * stride", "window = x[n, c, i * stride, 7]\n"
                                  "                    window = x[n, c, i * stride")), "max_pool")
    assert not result["passed"] and result["error"]["type"] == "IndexError"
    assert "height = width" not in result["diagnosis"]


# -- other settings than the notebook's -----------------------------------------------------------------

NOTEBOOK = ("right at the notebook's pool_param = {'pool_height': 2, 'pool_width': 2, 'stride': 2}, wrong at "
            "pool_param = {'pool_height': 2, 'pool_width': 3, 'stride': 1}")
WINDOW = "dx[n, c, i * stride:i * stride + HH, j * stride:j * stride + WW]"


def _settings_mistake(name):
    (mistake,) = [m for m in max_pool.cs231n.settings_mistakes if m.name == name]
    return mistake


def test_the_checker_also_checks_overlapping_windows_that_are_not_square():
    assert max_pool.cs231n.also == ({"pool_height": 2, "pool_width": 3, "stride": 1},)
    result = check_pair(correct, "max_pool")
    assert result["passed"], result["diagnosis"]
    assert result["points"][-1]["settings"] == {"pool_height": 2, "pool_width": 3, "stride": 1}


@pytest.mark.parametrize("assigned", [
    f"{WINDOW} = mask * dout[n, c, i, j]",  # the whole window, zeros too
    f"{WINDOW}[mask] = dout[n, c, i, j]",  # the maximum's entry only
])
def test_overlapping_windows_assigned_are_right_side_by_side_and_fail_where_they_overlap(assigned):
    result = check_pair(_student((f"{WINDOW} += mask * dout[n, c, i, j]", assigned)), "max_pool")
    assert not result["passed"]
    assert [point["passed"] for point in result["points"]] == [True, True, True, False]
    lines = result["diagnosis"].splitlines()
    assert lines[0].startswith(NOTEBOOK)
    assert _settings_mistake("overlapping windows assigned").sentence in lines
    assert "dx is wrong" in result["diagnosis"]


def test_pool_height_used_for_the_width_in_the_forward_is_named():
    result = check_pair(_student(
        ("1 + (W - WW) // stride", "1 + (W - HH) // stride"),
        ("np.max(x[n, c, i * stride:i * stride + HH, j * stride:j * stride + WW])",
         "np.max(x[n, c, i * stride:i * stride + HH, j * stride:j * stride + HH])"),
    ), "max_pool")
    assert not result["passed"] and result["forward"]["status"] == "mismatch"
    assert [point["passed"] for point in result["points"]] == [True, True, True, False]
    lines = result["diagnosis"].splitlines()
    assert lines[0].startswith(NOTEBOOK)
    assert _settings_mistake("pool_height used for the width").sentence in lines


def test_pool_height_used_for_the_width_in_the_backward_says_the_square_window_runs():
    # the backward's W_out from pool_height: one window too many at 2×3, an IndexError in dout
    result = check_pair(_student(("N, C, H_out, W_out = dout.shape",
                                  "N, C, H_out, _ = dout.shape\n    W_out = 1 + (x.shape[3] - HH) // stride")),
                        "max_pool")
    assert not result["passed"] and result["error"]["type"] == "IndexError"
    lines = result["diagnosis"].splitlines()
    assert lines[0].startswith(NOTEBOOK)
    assert ("the same call runs at pool_param = {'pool_height': 2, 'pool_width': 2, 'stride': 1} (pool_width = "
            f"pool_height): {_settings_mistake('pool_height used for the width').sentence}?") in lines
    assert "the documented sizes passed" not in result["diagnosis"]


def test_the_mistakes_of_other_settings_give_the_right_dx_where_they_do_not_show():
    from mathnn.gradcheck.window_mistakes import overlaps_assigned, padding_cropped
    from mathnn.layers import conv_backward_naive, conv_forward_naive

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4, 6))
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}  # side by side: nothing overwritten
    out, cache = max_pool_forward_naive(x, pool_param)
    dout = rng.standard_normal(out.shape)
    for candidate in overlaps_assigned({"x": x, "pool_param": pool_param}, dout):
        np.testing.assert_allclose(candidate, max_pool_backward_naive(dout, cache))
    overlapping = {"pool_height": 2, "pool_width": 3, "stride": 1}
    out, cache = max_pool_forward_naive(x, overlapping)
    dout = rng.standard_normal(out.shape)
    right = max_pool_backward_naive(dout, cache)
    assert all(not np.allclose(c, right) for c in overlaps_assigned({"x": x, "pool_param": overlapping}, dout))
    w, b = rng.standard_normal((2, 3, 3, 2)), rng.standard_normal(2)
    for pad, empty in ((1, False), (0, True)):
        inputs = {"x": x, "w": w, "b": b, "conv_param": {"stride": 1, "pad": pad}}
        out, cache = conv_forward_naive(x, w, b, inputs["conv_param"])
        dout = rng.standard_normal(out.shape)
        (candidate,) = padding_cropped(inputs, dout)
        assert candidate.shape == ((2, 3, 0, 0) if empty else x.shape)
        if not empty:
            np.testing.assert_allclose(candidate, conv_backward_naive(dout, cache)[0])


@pytest.mark.parametrize("function, change", [
    ("max_pool_forward_naive", ("H_out, W_out = 1 + (H - HH) // stride, 1 + (W - WW) // stride",
                                "H_out, W_out = H // HH, W // WW")),
    ("max_pool_backward_naive", ("N, C, H_out, W_out = dout.shape",
                                 "N, C, H_out, W_out = dout.shape[:2] + (x.shape[2] // HH, x.shape[3] // WW)")),
])
def test_windows_counted_as_if_side_by_side_are_named(function, change):
    # H // pool_height windows down: their number at the notebook's 2×2 windows at stride 2, not at stride 1
    wrt = "out" if function.startswith("max_pool_forward") else "dx"
    result = check_pair(_student(change), "max_pool")
    assert not result["passed"]
    assert [point["passed"] for point in result["points"]] == [True, True, True, False]
    lines = result["diagnosis"].splitlines()
    assert lines[0].startswith(NOTEBOOK)
    sentence = _settings_mistake(f"windows counted side by side in {wrt}").sentence
    assert sentence in lines and sentence.startswith(f"your {function} counts the windows")
