"""The gradient checker: passes correct backward passes, fails each classic bug and names it."""

import html
import json
import re

import numpy as np
import pytest

from mathnn import InputError
from mathnn.gradcheck import (
    check_vjp, eval_numerical_gradient, eval_numerical_gradient_array, grad_check_sparse, numerical_gradient,
    rel_error,
)
from mathnn.gradcheck.diagnosis import layer_diagnosis, sequence_diagnosis
from mathnn.gradcheck.check import check_gradients
from mathnn.gradcheck.patterns import describe_patterns


# -- student-style implementations -------------------------------------------------------------------

def bn_forward(x, gamma, beta, eps=1e-5, use_np_var=False):
    mu = x.mean(axis=0)
    var = np.var(x, axis=0) if use_np_var else ((x - mu) ** 2).mean(axis=0)
    x_hat = (x - mu) / np.sqrt(var + eps)
    return gamma * x_hat + beta, (x_hat, gamma, 1 / np.sqrt(var + eps))


def bn_backward(dout, cache, bug=None):
    x_hat, gamma, inv_std = cache
    n = dout.shape[0]
    dbeta, dgamma = dout.sum(axis=0), (dout * x_hat).sum(axis=0)
    terms = {
        None: n * dout - dbeta - x_hat * dgamma,
        "missing mean path": n * dout - x_hat * dgamma,
        "missing variance path": n * dout - dbeta,
    }
    dx = gamma * inv_std / n * terms[bug if bug in terms else None]
    if bug == "missing 1/N":
        dx = dx * n
    if bug == "wrong axis":
        dbeta = dout.sum(axis=1)
    if bug == "sign flip":
        dgamma = -dgamma
    return dx, dgamma, dbeta


def bn_pair(bug=None, use_np_var=False):
    def f(x, gamma, beta):
        return bn_forward(x, gamma, beta, use_np_var=use_np_var)[0]

    def f_vjp(dout, x, gamma, beta):
        return bn_backward(dout, bn_forward(x, gamma, beta, use_np_var=use_np_var)[1], bug)

    return f, f_vjp


def bn_inputs(n=8, d=5, seed=1, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return {"x": (rng.standard_normal((n, d)) * 2 + 1).astype(dtype), "gamma": rng.standard_normal(d).astype(dtype),
            "beta": rng.standard_normal(d).astype(dtype)}


def rnn_forward(x, h0, Wx, Wh, b):
    h, states = h0, []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ Wx + h @ Wh + b)
        states.append(h)
    return np.stack(states, axis=1)


def rnn_backward(dh, x, h0, Wx, Wh, b, bug=None):
    h = rnn_forward(x, h0, Wx, Wh, b)
    previous = np.concatenate([h0[:, None], h[:, :-1]], axis=1)
    dx, dWx, dWh, db = np.zeros_like(x), np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    carried = np.zeros_like(h0)
    for t in reversed(range(x.shape[1])):
        da = (dh[:, t] + (0 if bug == "no accumulation" else carried)) * (1 - h[:, t] ** 2)
        dx[:, t] = da @ Wx.T
        dWx += x[:, t].T @ da
        used = h[:, t] if bug == "uses h_t" else previous[:, t]
        dWh += (da.T @ used) if bug == "transposed" else (used.T @ da)
        db += da.sum(axis=0)
        carried = da @ Wh.T
    return dx, carried, dWx, dWh, db


def rnn_inputs(seed=2):
    rng = np.random.default_rng(seed)
    n, t, d, h = 2, 4, 3, 3
    return {"x": rng.standard_normal((n, t, d)), "h0": rng.standard_normal((n, h)),
            "Wx": rng.standard_normal((d, h)) / 2, "Wh": rng.standard_normal((h, h)) / 2, "b": rng.standard_normal(h)}


def check_rnn(bug=None):
    return check_vjp(rnn_forward, lambda dout, **inputs: rnn_backward(dout, **inputs, bug=bug), rnn_inputs(),
                     diagnose=sequence_diagnosis("rnn"))


# -- correct implementations pass ------------------------------------------------------------------------

def test_correct_batchnorm_passes_with_the_complex_step():
    report = check_vjp(*bn_pair(), bn_inputs())
    assert report, str(report)
    assert all(g.method == "complex step" for g in report.gradients)
    assert all(g.max_error < 1e-12 for g in report.gradients)


def test_correct_batchnorm_with_np_var_is_not_complex_safe_and_still_passes():
    report = check_vjp(*bn_pair(use_np_var=True), bn_inputs())
    assert report, str(report)
    assert report["x"].method == "central differences, Richardson-extrapolated"
    assert "loses part of the imaginary part" in report["x"].notes[0]


def test_float32_student_is_checked_on_float64_copies():
    report = check_vjp(*bn_pair(), bn_inputs(dtype=np.float32))
    assert report and report.precision.startswith("float32 inputs checked on float64 copies")


def test_float32_only_student_is_checked_in_float32_with_an_explained_pass_mark():
    f, f_vjp = bn_pair()
    as32 = lambda **inputs: {k: v.astype(np.float32) for k, v in inputs.items()}  # noqa: E731
    report = check_vjp(lambda **i: f(**as32(**i)), lambda dout, **i: f_vjp(dout.astype(np.float32), **as32(**i)),
                       bn_inputs())
    assert report, str(report)
    assert "checked in float32" in report.precision and report.gradients[0].tolerance == 1e-4
    wrong = check_vjp(lambda **i: f(**as32(**i)),
                      lambda dout, **i: bn_backward(dout.astype(np.float32), bn_forward(**as32(**i))[1], "missing mean path"),
                      bn_inputs())
    assert not wrong and not wrong["x"].passed


def test_relu_on_its_kink_passes_and_says_kink():
    x = np.array([[-1.0, 0.0, 2.0], [0.0, 3.0, -0.5]])
    for convention in (lambda x: x > 0, lambda x: x >= 0):
        report = check_vjp(lambda x: np.maximum(0, x), lambda dout, x, c=convention: (dout * c(x),), {"x": x})
        assert report, str(report)
        assert sorted(report["x"].kinks) == [(0, 1), (1, 0)]
        assert "kink at index (0, 1)" in str(report)


def test_a_wrong_relu_gradient_is_not_excused_as_a_kink():
    x = np.array([[-1.0, 0.0, 2.0]])
    report = check_vjp(lambda x: np.maximum(0, x), lambda dout, x: (dout * (x < 0),), {"x": x})
    assert not report and report["x"].kinks == [(0, 1)] and not report["x"].passed


def test_correct_rnn_passes():
    report = check_rnn()
    assert report, str(report)


# -- each bug is caught, on the right gradient, with the right explanation -------------------------------

def test_missing_mean_path_is_caught_and_diagnosed():
    report = check_vjp(*bn_pair("missing mean path"), bn_inputs(), diagnose=layer_diagnosis("batchnorm"))
    assert not report
    assert [g.name for g in report.gradients if not g.passed] == ["x"]
    assert any("same in every row" in p for p in report["x"].patterns)
    assert report["x"].diagnosis.startswith("your dx matches the gradient without the path x → μ → x̂")


def test_missing_variance_path_is_caught_and_diagnosed():
    report = check_vjp(*bn_pair("missing variance path"), bn_inputs(), diagnose=layer_diagnosis("batchnorm"))
    assert [g.name for g in report.gradients if not g.passed] == ["x"]
    assert report["x"].diagnosis.startswith("your dx matches the gradient without the path x → σ²")


def test_missing_one_over_n_is_named_as_a_constant_factor():
    report = check_vjp(*bn_pair("missing 1/N"), bn_inputs(n=8))
    assert report["x"].patterns == [
        "x is off by a constant factor: yours = 8 × the true gradient (a missing or extra factor 8)"
    ]


def test_wrong_axis_is_a_wrong_shape():
    report = check_vjp(*bn_pair("wrong axis"), bn_inputs(n=8, d=5))
    assert not report["beta"].passed
    assert report["beta"].patterns[0] == "beta has shape (8,); expected (5,) (the shape of beta)"


def test_sign_flip_is_named():
    report = check_vjp(*bn_pair("sign flip"), bn_inputs())
    assert report["gamma"].patterns == ["gamma has the wrong sign: yours = −1 × the true gradient"]


def test_bptt_without_accumulation_is_caught_with_the_time_step():
    report = check_rnn("no accumulation")
    failing = {g.name for g in report.gradients if not g.passed}
    assert {"x", "h0", "Wh"} <= failing
    assert any("goes wrong first at step 2" in p for p in report["x"].patterns)
    assert report["x"].diagnosis.startswith("your gradients match backpropagation through time without the path")


def test_dwh_transposed_and_h_t_instead_of_h_t_minus_1_are_caught_on_dwh_only():
    for bug, start in (("transposed", "your dWh is the transpose"), ("uses h_t", "your dWh uses h_t")):
        report = check_rnn(bug)
        assert [g.name for g in report.gradients if not g.passed] == ["Wh"], bug
        assert report["Wh"].diagnosis.startswith(start)
    assert any("transposed" in p for p in check_rnn("transposed")["Wh"].patterns)


def test_in_place_changes_to_dout_are_reported():
    f, f_vjp = bn_pair()

    def mutating(dout, **inputs):
        result = f_vjp(dout, **inputs)
        dout *= 2
        return result

    report = check_vjp(f, mutating, bn_inputs())
    assert not report and report.problems == ["f_vjp modified dout in place"]


def test_wrong_number_of_gradients_is_named():
    f, f_vjp = bn_pair()
    report = check_vjp(f, lambda dout, **inputs: f_vjp(dout, **inputs)[:2], bn_inputs())
    assert report.problems == ["f_vjp returned 2 gradient(s); expected 3 (x, gamma, beta)"]


# -- random mode: sound, cheap ---------------------------------------------------------------------------

def test_random_mode_uses_few_evaluations_and_catches_the_term_ones_probes_miss():
    inputs = bn_inputs(n=64, d=32, seed=5)
    assert check_vjp(*bn_pair(), inputs).evaluations <= 64
    # Forgetting x̂·Σ dy x̂ leaves an error that sums to zero down each column: invisible along the
    # all-ones direction, caught by centred Gaussian probes on every seed.
    for seed in range(20):
        report = check_vjp(*bn_pair("missing variance path"), inputs, seed=seed, mode="random")
        assert not report["x"].passed and "random" in report["x"].mode
    ones_error = bn_backward(np.ones((64, 32)), bn_forward(**inputs)[1], "missing variance path")[0] - \
        bn_backward(np.ones((64, 32)), bn_forward(**inputs)[1])[0]
    assert np.abs(ones_error.sum(axis=0)).max() < 1e-12  # why an all-ones probe cannot see it


# -- API details --------------------------------------------------------------------------------------------

def test_report_renders_and_serialises():
    report = check_vjp(*bn_pair("missing mean path"), bn_inputs(), diagnose=layer_diagnosis("batchnorm"))
    data = json.loads(json.dumps(report.to_dict()))
    assert data["passed"] is False and data["gradients"][0]["name"] == "x"
    assert data["gradients"][0]["worst"][0]["error"] > 1e-3
    assert "| x | **FAIL** |" in report._repr_markdown_()
    assert "<td>FAIL</td>" in report._repr_html_()
    assert "diagnosis: your dx matches the gradient without the path x → μ → x̂" in str(report)


def test_the_notebook_display_says_everything_print_says():
    report = check_vjp(*bn_pair("missing mean path"), bn_inputs(), diagnose=layer_diagnosis("batchnorm"))
    page = html.unescape(re.sub(r"<[^>]+>", "\n", report._repr_html_()))
    markdown = report._repr_markdown_()
    printed = str(report).splitlines()
    summaries = {line.strip() for line in printed if line.startswith("  [")}
    assert len(summaries) == 3
    details = [line.strip() for line in printed if line.strip() not in summaries]
    assert any(line.startswith("pattern: ") for line in details) and any(line.startswith("at (") for line in details)
    for line in details:  # the head, the pattern, the diagnosis, the worst entries
        assert line in page.splitlines(), line
        assert line in markdown, line
    for gradient in report.gradients:
        for shown in (gradient.name, f"{gradient.max_error:.2e}", gradient.method, gradient.mode):
            assert f"<td>{html.escape(shown)}</td>" in report._repr_html_() and f" {shown} |" in markdown


def test_repr_is_one_short_line_with_the_verdict_and_the_worst_gradient():
    failed = check_vjp(*bn_pair("missing mean path"), bn_inputs())
    text = repr(failed)
    assert "\n" not in text and len(text) < 160
    assert text.startswith("<Report FAILED: worst x: ") and f"{failed['x'].max_error:.1e}" in text
    assert "failed: x;" in text and "seed 0" in text
    passed = check_vjp(*bn_pair(), bn_inputs())
    assert repr(passed).startswith("<Report passed: worst ") and "3 gradients ok" in repr(passed)


def test_inputs_are_never_modified():
    inputs = bn_inputs()
    saved = {k: v.copy() for k, v in inputs.items()}
    check_vjp(*bn_pair("missing mean path"), inputs)
    for name in saved:
        np.testing.assert_array_equal(inputs[name], saved[name])


def test_bad_arguments():
    f, f_vjp = bn_pair()
    with pytest.raises(InputError, match=r"^method: expected one of auto, complex, central, richardson; received 'fast'"):
        check_vjp(f, f_vjp, bn_inputs(), method="fast")
    with pytest.raises(InputError, match=r"^inputs\['x'\]: expected an array of real numbers; received dtype <U1"):
        check_vjp(f, f_vjp, {"x": np.array(["a"])})
    with pytest.raises(InputError, match=r"^dout: expected shape \(8, 5\) \(the shape of f's output\); received \(5,\)"):
        check_vjp(f, f_vjp, bn_inputs(), dout=np.ones(5))


@pytest.mark.parametrize("check", ["check_vjp", "check_gradients"])
def test_both_checks_refuse_the_same_bad_options(check):
    f, f_vjp = bn_pair()
    inputs = bn_inputs()
    dout = np.ones((8, 5))
    if check == "check_vjp":
        def run(**options):
            return check_vjp(f, f_vjp, inputs, dout, **options)
    else:
        gradients = dict(zip(inputs, f_vjp(dout, **inputs)))

        def run(**options):
            return check_gradients(f, gradients, inputs, dout, **options)
    assert run()  # the correct pair passes with the defaults
    with pytest.raises(InputError, match=r"^method: expected one of auto, complex, central, richardson; received 'fast'"):
        run(method="fast")
    with pytest.raises(InputError, match=rf"^metod: not an option of {check}; expected one of method, mode, seed, "):
        run(metod="central")
    with pytest.raises(InputError, match=r"^probes: expected an integer ≥ 1 \(random directions per input\); received int 0"):
        run(probes=0)
    with pytest.raises(InputError, match=r"^seed: expected an integer ≥ 0 .*; received float 1.5"):
        run(seed=1.5)
    with pytest.raises(InputError, match=r"^diagnose: expected a callable or None; received str"):
        run(diagnose="bn")


def test_a_pass_mark_per_input_applies_to_that_input_only():
    def f(x, w):
        return x * w

    def f_vjp(dout, x, w):
        return dout * w, dout * x * (1 + 1e-6)  # dw off by one part in a million

    inputs = {"x": np.array([0.5, -1.5, 2.0]), "w": np.array([1.25, 0.75, -0.5])}
    assert not check_vjp(f, f_vjp, inputs)  # float64's mark is 1e-9 of the scale
    assert not check_vjp(f, f_vjp, inputs, rtol={"x": 1e-4})
    report = check_vjp(f, f_vjp, inputs, rtol={"w": 1e-4})
    assert report and [check.tolerance for check in report.gradients] == [1e-9, 1e-4]


def test_numerical_gradient_methods_agree_and_leave_x_alone():
    x = np.array([[0.3, -1.2], [2.0, 0.5]])
    saved = x.copy()
    exact = np.cos(x) * np.array([[1.0, 2.0], [3.0, 4.0]])
    for method in ("auto", "complex", "central", "richardson"):
        gradient = numerical_gradient(np.sin, x, df=np.array([[1.0, 2.0], [3.0, 4.0]]), method=method)
        assert np.abs(gradient - exact).max() < (1e-14 if method in ("auto", "complex") else 1e-8), method
    np.testing.assert_array_equal(x, saved)


def test_cs231n_helpers_behave_as_students_know(capsys):
    x = np.array([1.0, 2.0, 3.0])
    gradient = eval_numerical_gradient(lambda v: float(np.sum(v**2)), x, verbose=False)
    assert np.allclose(gradient, 2 * x, rtol=1e-9) and x.tolist() == [1.0, 2.0, 3.0]
    gradient = eval_numerical_gradient_array(lambda v: v**2, x, np.array([1.0, 0.0, 2.0]))
    assert np.allclose(gradient, [2.0, 0.0, 12.0], rtol=1e-9)
    grad_check_sparse(lambda v: float(np.sum(v**2)), x, 2 * x, num_checks=3)
    assert capsys.readouterr().out.count("relative error") == 3
    assert rel_error(np.array([1.0]), np.array([1.1])) == pytest.approx(0.1 / 2.1)
    with pytest.raises(InputError, match="an integer array would truncate x \\+ h back to x"):
        eval_numerical_gradient(lambda v: float(np.sum(v)), np.array([1, 2, 3]))


def test_a_near_zero_true_gradient_is_not_mistaken_for_kinks():
    """dout affine in x makes batch norm's true dx almost 0; a dx 1% too large must still fail."""
    inputs = bn_inputs()
    dout = 2 * inputs["x"] + 1
    f, f_vjp = bn_pair()
    scaled = lambda d, **i: (f_vjp(d, **i)[0] * 1.01, *f_vjp(d, **i)[1:])  # noqa: E731
    report = check_vjp(f, scaled, inputs, dout=dout)
    assert not report["x"].passed and report["x"].kinks == []
    assert check_vjp(f, f_vjp, inputs, dout=dout)


def test_a_function_that_gives_nan_at_complex_points_is_checked_by_real_differences():
    # np.where keeps the imaginary part, so f looks complex-safe, but its value at complex points is NaN
    def f(x):
        return np.where(np.iscomplexobj(x), np.nan, 1.0) * np.tanh(x)

    x = np.random.default_rng(0).standard_normal((3, 4))
    report = check_vjp(f, lambda dout, x: (dout * (1 - np.tanh(x) ** 2),), {"x": x})
    assert report, str(report)
    assert "complex" not in report.gradients[0].method


def test_one_tolerance_table_and_a_per_call_override():
    """A gradient off by 1e-7 of its scale fails the float64 mark, and passes when rtol widens it for that call."""
    from mathnn.gradcheck.tolerances import TOLERANCES, tolerance

    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))

    def f(x):
        return np.sin(x)

    def f_vjp(dout, x):
        return (dout * np.cos(x) * (1 + 1e-7),)

    assert not check_vjp(f, f_vjp, {"x": x}, mode="full").passed
    assert check_vjp(f, f_vjp, {"x": x}, mode="full", rtol=1e-5).passed
    from mathnn.gradcheck.check import check_gradients

    dout = np.ones_like(x)
    (given,) = f_vjp(dout, x)
    assert not check_gradients(f, {"x": given}, {"x": x}, dout, mode="full").passed
    assert check_gradients(f, {"x": given}, {"x": x}, dout, mode="full", rtol=1e-5).passed
    assert tolerance("gradient", np.float32) == TOLERANCES["gradient"][np.dtype(np.float32)]
    assert tolerance("forward", np.float16) == TOLERANCES["forward"][np.dtype(np.float64)]


def test_entry_by_entry_ridders_stops_each_entry_where_it_settles_and_still_catches_a_short_length_scale():
    """The checker evaluates Ridders' steps in rounds; an easy entry stops early, a sharp one reads on."""
    from mathnn.gradcheck.finite import RIDDERS_STEPS, ridders_extrapolate, ridders_steps

    scale = np.array([1.0, 1.0, 1.0, 0.003])  # the last entry changes over 0.003: the first steps overshoot it
    x = np.array([0.3, -0.7, 1.1, 0.001])
    dout = np.array([0.5, -1.5, 2.0, 1.0])

    def f(x):
        return np.tanh(x / scale)

    def right(dout, x):
        return (dout * (1 - np.tanh(x / scale) ** 2) / scale,)

    report = check_vjp(f, right, {"x": x}, dout=dout, method="richardson", mode="full")
    assert report.passed, report
    full = x.size * 2 * RIDDERS_STEPS
    assert report.evaluations < 0.6 * full  # the easy entries settle in a round or two; all read every step: > full
    # the sharp entry, read lazily one step at a time, needs more than half the steps: the rounds gave it those
    truth = (1 - np.tanh(x[3] / scale[3]) ** 2) / scale[3]
    lazy = []

    def differences():
        for h in ridders_steps(float(x[3])):
            lazy.append(h)
            yield (np.tanh((x[3] + h) / scale[3]) - np.tanh((x[3] - h) / scale[3])) / (2 * h)

    assert abs(ridders_extrapolate(differences(), settled=1e-12)[0] - truth) <= 1e-9 * truth and len(lazy) > 10
    # an error of one part in 10⁶ in that entry alone is still found, at that entry
    def off(dout, x):
        (dx,) = right(dout, x)
        return (dx + np.array([0, 0, 0, 1e-6 * dx[3]]),)

    report = check_vjp(f, off, {"x": x}, dout=dout, method="richardson", mode="full")
    assert not report.passed
    assert report.gradients[0].worst[0].index == (3,)


def test_a_gradient_left_at_zeros_is_called_all_zeros_not_a_constant_factor():
    numeric = np.arange(1.0, 7.0).reshape(2, 3)
    assert describe_patterns("dw", np.zeros_like(numeric), numeric, {2, 3}) == [
        "dw is all zeros, where the true gradient is not: is it computed at all?"]
