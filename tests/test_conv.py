"""CS231n's naive convolution: proven at concrete sizes, generated, gradient-checked, and checked in homework."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import types

import numpy as np
import pytest
import sympy as sp

from mathnn.codegen.printer import numpy_code
from mathnn.errors import InputError
from mathnn.gradcheck.examples import correct, load_example
from mathnn.gradcheck.homework import check_pair, resolve
from mathnn.layers import conv_backward_naive, conv_forward_naive
from mathnn.rules.conv import GEOMETRY, conv, x
from mathnn.rules.windows import Flipped, Images, Positions, Scatter, Windows


@pytest.fixture(scope="module")
def proof(proofs):
    return proofs["conv"]


def test_conv_is_proven_entry_by_entry_at_each_concrete_size(proof):
    assert proof.holds, str(proof)
    gradients = [c for c in proof.claims if c.statement.startswith("∂L/∂")]
    assert len(gradients) == 3 * len(conv.proof_sizes) == 12
    # stride 2 with pad 1, two channels, two filters and a non-square 3×2 kernel is one of them
    assert any("C=2, H=3, W=4, F=2, HH=3, WW=2, s=2, p=1" in c.statement for c in gradients)
    refuted = [c for c in proof.claims if "mistake" in c.statement]
    assert len(refuted) == len(conv.mistakes) == 3 and all(c.holds for c in refuted)
    assert "concrete sizes" in conv.note and "(2, 2, 3, 4, 2, 3, 2, 2, 1)" in conv.note


def test_a_wrong_closed_form_fails_the_proof_where_it_is_wrong():
    # dx with the windows placed one pixel apart: right at stride 1, wrong at each stride-2 size
    wrong = conv.mistakes[0].closed
    broken = dataclasses.replace(conv, closed_forms={**conv.closed_forms, x: wrong}, mistakes=())
    failing = [c.statement for c in broken.prove().claims if not c.holds]
    assert len(failing) == 2 and all(s.startswith("∂L/∂x derived") and "s=2" in s for s in failing)


def test_a_mistake_equal_to_the_true_gradient_is_not_refuted():
    honest = dataclasses.replace(conv.mistakes[2], name="not a mistake", closed=conv.closed_forms[x])
    (claim,) = [c for c in dataclasses.replace(conv, mistakes=(honest,)).prove().claims if "mistake" in c.statement]
    assert not claim.holds


# -- each window operation prints numpy that computes what it means on matrices ------------------

SIZES = {"N": 2, "C": 2, "H": 5, "W": 4, "F": 3, "HH": 3, "WW": 2, "s": 2, "p": 1, "Ho": 3, "Wo": 3}


def _numpy_value(expr: sp.Expr, arrays: dict[str, np.ndarray]) -> np.ndarray:
    return eval(numpy_code(expr), {"np": np, **SIZES, **arrays})  # noqa: S307 - our own generated code


def _matrix_value(expr: sp.Expr, matrices: dict[str, np.ndarray]) -> np.ndarray:
    values = {**{sp.Symbol(k): sp.Integer(v) for k, v in SIZES.items()},
              **{sp.Symbol(k): sp.Matrix(v) for k, v in matrices.items()}}
    return np.array(expr.on_matrices(*(values.get(a, a) for a in expr.args)), dtype=float)


@pytest.mark.parametrize("step", ["s", 1])
def test_windows_and_scatter_print_what_they_mean(step):
    rng = np.random.default_rng(0)
    n, c, h, w_, hh, ww, ho, wo = (SIZES[k] for k in ("N", "C", "H", "W", "HH", "WW", "Ho", "Wo"))
    step_symbol = sp.Symbol("s") if step == "s" else sp.Integer(step)
    image = rng.standard_normal((n, c, h, w_))
    windows = Windows(sp.Symbol("a"), *GEOMETRY, step_symbol)
    assert np.allclose(_numpy_value(windows, {"a": image}),
                       _matrix_value(windows, {"a": image.reshape(n, -1)}), rtol=0, atol=1e-12)
    cols = rng.standard_normal((n * ho * wo, c * hh * ww))
    scatter = Scatter(sp.Symbol("a"), *GEOMETRY, step_symbol)
    assert np.allclose(_numpy_value(scatter, {"a": cols}).reshape(n, -1),
                       _matrix_value(scatter, {"a": cols}), rtol=0, atol=1e-12)


def test_the_layout_operations_print_what_they_mean():
    rng = np.random.default_rng(1)
    F, Ho, Wo = (sp.Symbol(k) for k in ("F", "Ho", "Wo"))
    rows = rng.standard_normal((2 * 3 * 3, 3))
    images = Images(sp.Symbol("a"), F, Ho, Wo)
    assert np.array_equal(_numpy_value(images, {"a": rows}).reshape(2, -1), _matrix_value(images, {"a": rows}))
    grid = rng.standard_normal((2, 3, 3, 3))
    positions = Positions(sp.Symbol("a"), F, Ho, Wo)
    assert np.array_equal(_numpy_value(positions, {"a": grid}), _matrix_value(positions, {"a": grid.reshape(2, -1)}))
    bank = rng.standard_normal((3, 2, 3, 2))
    flipped = Flipped(sp.Symbol("a"), *(sp.Symbol(k) for k in ("C", "HH", "WW")))
    assert np.array_equal(_numpy_value(flipped, {"a": bank}).reshape(3, -1),
                          _matrix_value(flipped, {"a": bank.reshape(3, -1)}))


# -- the generated kernels and the public functions ----------------------------------------------

def test_the_generated_kernels_pass_the_gradient_check():
    from mathnn.verify import verify

    report = verify(conv)
    assert report.passed, report.to_dict()
    assert {(c.params["stride"], c.params["pad"]) for c in report.checks} == {(2, 1), (1, 1), (2, 0)}


def _loops(x, w, b, stride, pad, dout):
    """out and the gradients by CS231n's nested loops, the plainest reference there is."""
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho, Wo = 1 + (H + 2 * pad - HH) // stride, 1 + (W + 2 * pad - WW) // stride
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out, dx_pad, dw = np.zeros((N, F, Ho, Wo)), np.zeros_like(x_pad), np.zeros_like(w)
    for n, f, i, j in np.ndindex(N, F, Ho, Wo):
        rows, cols = slice(i * stride, i * stride + HH), slice(j * stride, j * stride + WW)
        out[n, f, i, j] = np.sum(x_pad[n, :, rows, cols] * w[f]) + b[f]
        dx_pad[n, :, rows, cols] += w[f] * dout[n, f, i, j]
        dw[f] += x_pad[n, :, rows, cols] * dout[n, f, i, j]
    return out, dx_pad[:, :, pad:pad + H, pad:pad + W], dw, dout.sum(axis=(0, 2, 3))


@pytest.mark.parametrize("x_shape, w_shape, stride, pad", [
    ((2, 3, 5, 7), (2, 3, 3, 3), 2, 1),
    ((2, 3, 4, 4), (3, 3, 4, 4), 2, 1),  # CS231n's notebook shapes
    ((1, 2, 6, 5), (4, 2, 3, 2), 1, 1),
    ((3, 1, 7, 7), (2, 1, 3, 1), 2, 0),
    ((1, 1, 2, 2), (1, 1, 2, 2), 1, 0),
])
def test_the_public_functions_equal_the_loops(x_shape, w_shape, stride, pad):
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])
    out, cache = conv_forward_naive(x, w, b, {"stride": stride, "pad": pad})
    dout = rng.standard_normal(out.shape)
    expected = _loops(x, w, b, stride, pad, dout)
    for got, want in zip((out, *conv_backward_naive(dout, cache)), expected):
        assert got.shape == want.shape
        assert np.allclose(got, want, rtol=1e-12, atol=1e-12)


def test_float32_stays_float32():
    x = np.ones((1, 2, 5, 5), dtype=np.float32)
    out, cache = conv_forward_naive(x, np.ones((2, 2, 3, 3), np.float32), np.zeros(2, np.float32),
                                    {"stride": 2, "pad": 1})
    assert out.dtype == np.float32 and all(g.dtype == np.float32 for g in conv_backward_naive(out, cache))


@pytest.mark.parametrize("conv_param, message", [
    ({"stride": 2, "pad": 0}, "conv_param: stride 2 does not tile the input: H + 2·pad − HH = 4 + 2·0 − 3 = 1 "
                              "is not a multiple of 2"),
    ({"stride": 1, "pad": 0, }, None),
    ({"stride": 0}, 'conv_param["stride"]: expected an integer ≥ 1; received 0'),
    ({"stride": 1.5}, 'conv_param["stride"]: expected an integer ≥ 1; received float 1.5'),
    ({"pad": -1}, 'conv_param["pad"]: expected an integer ≥ 0; received -1'),
])
def test_a_conv_param_that_does_not_fit_says_which_sizes(conv_param, message):
    x, w, b = np.ones((1, 1, 4, 5)), np.ones((1, 1, 3, 3)), np.zeros(1)
    if message is None:
        assert conv_forward_naive(x, w, b, conv_param)[0].shape == (1, 1, 2, 3)
        return
    with pytest.raises(InputError) as raised:
        conv_forward_naive(x, w, b, conv_param)
    assert str(raised.value) == message


def test_a_window_larger_than_the_input_and_a_channel_mismatch_are_named():
    with pytest.raises(InputError, match=r"the window does not fit: WW = 4 > W \+ 2·pad = 2 \+ 2·0 = 2"):
        conv_forward_naive(np.ones((1, 1, 4, 2)), np.ones((1, 1, 1, 4)), np.zeros(1), {"stride": 1, "pad": 0})
    with pytest.raises(InputError, match=r"C = 2 from x"):
        conv_forward_naive(np.ones((1, 2, 4, 4)), np.ones((1, 3, 3, 3)), np.zeros(1), {"stride": 1, "pad": 1})


# -- the homework checker ------------------------------------------------------------------------

def test_the_pair_has_cs231n_naive_names():
    pair = resolve("conv_backward_naive")
    assert (pair.name, pair.forward, pair.backward) == ("conv", "conv_forward_naive", "conv_backward_naive")


@pytest.mark.parametrize("module", [correct, load_example("correct_float32")])
def test_the_checker_passes_a_correct_loop_implementation(module):
    result = check_pair(module, "conv")
    assert result["passed"], result["diagnosis"]
    # CS231n's stride 2, pad 1 at two shapes, the second with a non-square kernel
    assert [p["shapes"]["w"][2:] for p in result["points"]][:2] == [[3, 3], [4, 2]]
    assert [p["shapes"]["x"][2:] for p in result["points"]][:2] == [[5, 5], [6, 6]]


def _student(*changes: tuple[str, str]) -> types.ModuleType:
    """correct.py's conv functions with some lines changed, as a module."""
    source = inspect.getsource(correct.conv_forward_naive) + "\n\n" + inspect.getsource(correct.conv_backward_naive)
    for old, new in changes:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    module = types.ModuleType("student")
    module.np = np  # type: ignore[attr-defined]
    exec(compile(source, "student.py", "exec"), module.__dict__)  # noqa: S102 - the test's own code
    return module


@pytest.mark.parametrize("mistake, changes", [
    ("stride left out of dx", [("dx_pad[n, :, top:top + HH, left:left + WW] +=", "dx_pad[n, :, i:i + HH, j:j + WW] +=")]),
    ("stride left out of dw", [("dw[f] += x_pad[n, :, top:top + HH, left:left + WW]", "dw[f] += x_pad[n, :, i:i + HH, j:j + WW]")]),
    ("filters flipped in dx", [("+= w[f] * dout[n, f, i, j]", "+= w[f, :, ::-1, ::-1] * dout[n, f, i, j]")]),
])
def test_the_checker_names_each_mistake(mistake, changes):
    (declared,) = [m for m in conv.mistakes if m.name == mistake]
    result = check_pair(_student(*changes), "conv")
    assert not result["passed"]
    wrong = [g["name"] for g in result["gradients"] if not g["passed"]]
    assert wrong == [f"d{declared.wrt.name}"]
    assert declared.sentence in result["diagnosis"]


def test_the_checker_fails_a_dx_left_padded():
    result = check_pair(_student(("dx = dx_pad[:, :, pad:pad + H, pad:pad + W]", "dx = dx_pad")), "conv")
    assert not result["passed"]
    assert "returned dx of shape (2, 3, 7, 7); expected (2, 3, 5, 5), the shape of x" in result["diagnosis"]


def test_the_checker_fails_a_forward_without_the_bias():
    result = check_pair(_student(("np.sum(window * w[f]) + b[f]", "np.sum(window * w[f])")), "conv")
    assert not result["passed"] and result["forward"]["status"] == "mismatch"
    assert "conv_forward_naive" in result["diagnosis"]


# -- other settings than the notebook's -----------------------------------------------------------------

NOTEBOOK = "right at the notebook's conv_param = {'stride': 2, 'pad': 1}, wrong at conv_param = {'stride': 1, 'pad': 0}"


def test_the_checker_also_checks_without_padding_and_with_a_filter_that_is_not_square():
    (cropped,) = conv.cs231n.settings_mistakes
    assert conv.cs231n.also == ({"stride": 1, "pad": 0},) and resolve("conv").also == conv.cs231n.also
    assert resolve("conv").settings_mistakes[0]["sentence"] == cropped.sentence
    result = check_pair(correct, "conv")
    assert result["passed"], result["diagnosis"]
    last = result["points"][-1]
    assert last["settings"] == {"stride": 1, "pad": 0} and "settings" not in result["points"][0]
    height, width = last["shapes"]["w"][2:]
    assert height != width and result["settings"] is None


@pytest.mark.parametrize("name", ["conv", "max_pool"])
def test_every_mistake_of_other_settings_names_a_function_that_exists(name):
    pair = resolve(name)
    assert pair.also and pair.settings_mistakes
    for mistake in pair.settings_mistakes:
        assert mistake["wrt"] in (*pair.differentiated, "out") and bool(mistake["gives"]) != bool(mistake["replace"])
        if mistake["gives"]:
            module, _, function = mistake["gives"].partition(":")
            assert callable(getattr(importlib.import_module(module), function))
        assert set(mistake["replace"]) | set(mistake["replace"].values()) <= set(pair.also[0])


@pytest.mark.parametrize("seed", range(6))
def test_the_other_settings_fit_every_draw_of_the_second_shapes(seed):
    pair = resolve("conv")
    values = pair.inputs_at(np.random.default_rng(seed), {"stride": 1, "pad": 0})
    assert values["conv_param"] == {"stride": 1, "pad": 0}
    assert values["w"].shape[2] != values["w"].shape[3]
    conv_forward_naive(values["x"], values["w"], values["b"], values["conv_param"])  # the windows tile


def test_the_padding_cropped_with_minus_pad_is_right_at_the_notebook_s_pad_and_fails_at_pad_0():
    # the slice pad:-pad is 0:0 at pad 0: an empty dx, which the notebook's pad 1 never shows
    (cropped,) = conv.cs231n.settings_mistakes
    result = check_pair(_student(("dx = dx_pad[:, :, pad:pad + H, pad:pad + W]", "dx = dx_pad[:, :, pad:-pad, pad:-pad]")),
                        "conv")
    assert not result["passed"]
    assert [point["passed"] for point in result["points"]] == [True, True, True, False]
    lines = result["diagnosis"].splitlines()
    assert lines[0].startswith(NOTEBOOK) and "the docstring allows these settings too" in lines[0]
    assert cropped.sentence in lines and "crop with dx_pad[:, :, pad:pad + H, pad:pad + W]" in cropped.sentence
    assert [g["name"] for g in result["gradients"] if not g["passed"]] == ["dx"]


def test_code_that_returns_none_without_padding_is_told_it_is_right_only_at_the_notebook_s_settings():
    result = check_pair(_student(("dx = dx_pad[:, :, pad:pad + H, pad:pad + W]",
                                  "dx = dx_pad[:, :, pad:pad + H, pad:pad + W]\n    if pad == 0:\n        return None")),
                        "conv")
    assert not result["passed"] and result["error"]["kind"] == "starter code"
    assert result["diagnosis"].splitlines()[0].startswith(NOTEBOOK)


def test_a_dx_wrong_at_the_notebook_s_settings_says_nothing_of_other_settings():
    result = check_pair(_student(("+= w[f] * dout[n, f, i, j]", "+= w[f, :, ::-1, ::-1] * dout[n, f, i, j]")), "conv")
    assert not result["passed"] and result["settings"] is None and len(result["points"]) == 1
    assert "notebook" not in result["diagnosis"]


# -- the stand-in for CS231n's compiled im2col_cython --------------------------------------------------

GATHERS = [(2, 3, 5, 5, 3, 3, 1, 1), (2, 2, 6, 6, 2, 2, 0, 2), (3, 2, 7, 7, 3, 3, 1, 2), (2, 2, 5, 7, 3, 2, 1, 1)]


def _windows_by_loops(x, field_height, field_width, padding, stride):
    """Entry (c, i, j, row, column, n): x padded, at row·stride + i, column·stride + j, one loop per axis."""
    n, c, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    rows, columns = (h + 2 * padding - field_height) // stride + 1, (w + 2 * padding - field_width) // stride + 1
    out = np.zeros((c, field_height, field_width, rows, columns, n))
    for index in np.ndindex(out.shape):
        channel, i, j, row, column, example = index
        out[index] = padded[example, channel, row * stride + i, column * stride + j]
    return out


@pytest.mark.parametrize("n, c, h, w, field_height, field_width, padding, stride", GATHERS)
def test_the_im2col_stand_in_gathers_windows_in_the_extensions_layouts(n, c, h, w, field_height, field_width,
                                                                        padding, stride):
    from mathnn.gradcheck.im2col_standin import im2col_6d_cython, im2col_cython

    x = np.random.default_rng(n * h + w).standard_normal((n, c, h, w))
    windows = _windows_by_loops(x, field_height, field_width, padding, stride)
    rows, columns = windows.shape[3:5]
    assert np.array_equal(im2col_cython(x, field_height, field_width, padding, stride),
                          windows.reshape(c * field_height * field_width, -1))
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    assert np.array_equal(im2col_6d_cython(padded, n, c, h, w, rows, columns, field_height, field_width, padding,
                                           stride),
                          windows.transpose(0, 1, 2, 5, 3, 4).reshape(c * field_height * field_width, -1))


@pytest.mark.parametrize("n, c, h, w, field_height, field_width, padding, stride", GATHERS)
def test_the_im2col_stand_ins_col2im_are_the_adjoints_of_the_gathers(n, c, h, w, field_height, field_width,
                                                                     padding, stride):
    from mathnn.gradcheck.im2col_standin import col2im_6d_cython, col2im_cython

    rng = np.random.default_rng(n * h + w)
    x = rng.standard_normal((n, c, h, w))
    windows = _windows_by_loops(x, field_height, field_width, padding, stride)
    cols = rng.standard_normal(windows.shape)
    flat = cols.reshape(c * field_height * field_width, -1)
    # ⟨gather(x), cols⟩ = ⟨x, scatter(cols)⟩ for every x and cols: the scatter is the gather's adjoint
    assert np.isclose(np.sum(windows * cols),
                      np.sum(x * col2im_cython(flat, n, c, h, w, field_height, field_width, padding, stride)))
    six = cols.transpose(0, 1, 2, 5, 3, 4)  # (C, HH, WW, N, out_h, out_w), as conv_backward_strides has it
    assert np.isclose(np.sum(windows * cols),
                      np.sum(x * col2im_6d_cython(six, n, c, h, w, field_height, field_width, padding, stride)))


def test_the_im2col_stand_in_takes_a_whole_number_float_as_its_int_as_the_compiled_extension_did():
    # the 2016 starter code's conv_param = {'pad': (filter_size - 1) / 2} is 1.0 in Python 3; the compiled
    # extension's int arguments took it, so a conv net built on fast_layers.py ran
    from mathnn.gradcheck.im2col_standin import col2im_6d_cython, col2im_cython, im2col_6d_cython, im2col_cython

    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 5, 5))
    assert np.array_equal(im2col_cython(x, 3.0, 3, 1.0, 1.0), im2col_cython(x, 3, 3, 1, 1))
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    assert np.array_equal(im2col_6d_cython(padded, 2, 3, 5.0, 5, 5, 5, 3, 3, 1.0, 1),
                          im2col_6d_cython(padded, 2, 3, 5, 5, 5, 5, 3, 3, 1, 1))
    cols = rng.standard_normal((3 * 3 * 3, 5 * 5 * 2))
    assert np.array_equal(col2im_cython(cols, 2, 3, 5, 5, 3, 3, 1.0, 1), col2im_cython(cols, 2, 3, 5, 5, 3, 3, 1, 1))
    six = rng.standard_normal((3, 3, 3, 2, 5, 5))
    assert np.array_equal(col2im_6d_cython(six, 2, 3, 5, 5, 3, 3, 1.0, 1.0),
                          col2im_6d_cython(six, 2, 3, 5, 5, 3, 3, 1, 1))
    with pytest.raises(TypeError):  # a size that is not a whole number is no int, as it was not for the extension
        im2col_cython(x, 3, 3, 0.5, 1)
