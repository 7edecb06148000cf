"""The LSTM step: one declaration proven with its two outputs together, CS231n's functions, checked homework."""

from __future__ import annotations

import textwrap
from dataclasses import replace

import numpy as np
import pytest

from mathnn.errors import InputError
from mathnn.gradcheck.runner import check_file
from mathnn.layers import lstm_step_backward, lstm_step_forward
from mathnn.rules import lstm_step as rule
from mathnn.verify import verify


def test_the_step_is_proven_with_both_outputs_and_its_mistakes_refuted(proofs):
    proof = proofs["lstm_step"]
    assert proof.holds, str(proof)
    statements = [c.statement for c in proof.claims]
    for name in ("xₜ", "hₜ₋₁", "cₜ₋₁", "Wx", "Wh", "b"):
        assert sum(s.startswith(f"∂L/∂{name} derived by reverse accumulation") for s in statements) == 2, name
    for mistake in rule.lstm_step.mistakes:
        assert any(s.startswith(f"the mistake '{mistake.name}'") for s in statements), mistake.name


def test_a_dprev_c_without_the_forget_gate_fails_the_proof():
    wrong = replace(rule.lstm_step, closed_forms={**rule.lstm_step.closed_forms, rule.prev_c: rule.dc},
                    mistakes=(), proof_sizes=rule.lstm_step.proof_sizes[:1])
    failing = [c.statement for c in wrong.prove().claims if not c.holds]
    assert len(failing) == 1 and failing[0].startswith("∂L/∂cₜ₋₁"), failing


def test_the_kernels_pass_the_numeric_check():
    report = verify(rule.lstm_step, points=500)
    assert report.passed and report.max_complex <= 1e-13 and report.max_central <= 1e-8, report.checks


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def reference_step(x, prev_h, prev_c, Wx, Wh, b):
    """The LSTM step written gate by gate with separate weight blocks (column k·H … of Wx is gate k)."""
    H = prev_h.shape[1]
    block = [slice(k * H, (k + 1) * H) for k in range(4)]
    i, f, o = (sigmoid(x @ Wx[:, s] + prev_h @ Wh[:, s] + b[s]) for s in block[:3])
    g = np.tanh(x @ Wx[:, block[3]] + prev_h @ Wh[:, block[3]] + b[block[3]])
    c = f * prev_c + i * g
    return o * np.tanh(c), c


def draw(rng, n=3, d=4, h=5):
    return (rng.standard_normal((n, d)), rng.standard_normal((n, h)), rng.standard_normal((n, h)),
            0.4 * rng.standard_normal((d, 4 * h)), 0.4 * rng.standard_normal((h, 4 * h)), 0.2 * rng.standard_normal(4 * h))


def test_public_step_is_cs231ns_lstm_and_its_backward_the_gradient():
    rng = np.random.default_rng(0)
    args = draw(rng)
    next_h, next_c, cache = lstm_step_forward(*args)
    want_h, want_c = reference_step(*args)
    assert np.allclose(next_h, want_h, rtol=0, atol=1e-14) and np.allclose(next_c, want_c, rtol=0, atol=1e-14)
    dnext_h, dnext_c = rng.standard_normal(next_h.shape), rng.standard_normal(next_c.shape)
    gradients = lstm_step_backward(dnext_h, dnext_c, cache)

    def loss(values):
        h, c = reference_step(*values)
        return np.sum(h * dnext_h) + np.sum(c * dnext_c)

    for position, gradient in enumerate(gradients):
        numeric = np.zeros_like(args[position])
        for index in np.ndindex(numeric.shape):
            plus, minus = [a.copy() for a in args], [a.copy() for a in args]
            plus[position][index] += 1e-6
            minus[position][index] -= 1e-6
            numeric[index] = (loss(plus) - loss(minus)) / 2e-6
        np.testing.assert_allclose(gradient, numeric, rtol=0, atol=1e-8, err_msg=str(position))


def test_float32_stays_float32_and_weights_are_copied():
    rng = np.random.default_rng(1)
    args = [a.astype(np.float32) for a in draw(rng, 2, 3, 2)]
    next_h, next_c, cache = lstm_step_forward(*args)
    assert next_h.dtype == next_c.dtype == np.float32
    before = lstm_step_backward(np.ones_like(next_h), np.ones_like(next_c), cache)
    args[4][...] = 0  # updating Wh in place after the forward pass changes nothing
    after = lstm_step_backward(np.ones_like(next_h), np.ones_like(next_c), cache)
    assert all(np.array_equal(a, b) for a, b in zip(before, after))


@pytest.mark.parametrize("position, value, message", [
    (4, np.zeros((5, 15)), r"Wh: expected shape \(H, 4H\)"),
    (3, np.zeros((3, 20)), r"Wx: expected shape \(4, 20\) \(\(D, 4H\): D = 4 from x"),
    (2, np.zeros((3, 4)), r"prev_c: expected shape \(3, 5\)"),
    (5, np.zeros(5), r"b: expected shape \(20,\)"),
])
def test_bad_input_is_named(position, value, message):
    args = list(draw(np.random.default_rng(2)))
    args[position] = value
    with pytest.raises(InputError, match=message):
        lstm_step_forward(*args)


def test_a_wrong_upstream_shape_or_cache_is_named():
    next_h, next_c, cache = lstm_step_forward(*draw(np.random.default_rng(3)))
    with pytest.raises(InputError, match=r"dnext_c: expected shape \(3, 5\)"):
        lstm_step_backward(next_h, next_c[:, :2], cache)
    with pytest.raises(InputError, match="cache"):
        lstm_step_backward(next_h, next_c, (1, 2))


# -- homework -------------------------------------------------------------------------------------

HOMEWORK = '''
import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    a = x.dot(Wx) + prev_h.dot(Wh) + b
    ai, af, ao, ag = np.split(a, 4, axis=1)
    i, f, o, g = sigmoid(ai), sigmoid(af), sigmoid(ao), np.tanh(ag)
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c)


def lstm_step_backward(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
    t = np.tanh(next_c)
    dc = {dc}
    dai, daf, dao, dag = dc * g * i * (1 - i), dc * prev_c * f * (1 - f), dnext_h * t * o * (1 - o), dc * i * (1 - g * g)
    da = np.concatenate([{order}], axis=1)
    return da.dot(Wx.T), da.dot(Wh.T), {dprev_c}, x.T.dot(da), prev_h.T.dot(da), da.sum(axis=0)
'''

RIGHT = {"dc": "dnext_c + dnext_h * o * (1 - t ** 2)", "order": "dai, daf, dao, dag", "dprev_c": "dc * f"}


def _check(tmp_path, **changes):
    path = tmp_path / "student.py"
    path.write_text(textwrap.dedent(HOMEWORK.format(**{**RIGHT, **changes})))
    summary = check_file(path, seed=3, timeout=30)
    (result,) = summary["functions"]
    assert result["name"] == "lstm_step"
    return result


def test_a_correct_lstm_step_homework_passes(tmp_path):
    result = _check(tmp_path)
    assert result["passed"], result


@pytest.mark.parametrize("changes, wrong, sentence", [
    ({"dprev_c": "dc"}, "dprev_c", "leaves out the forget gate"),
    ({"dc": "dnext_c", "dprev_c": "f * dnext_c"}, "dprev_c", "misses the path through h_t"),
    ({"order": "daf, dai, dao, dag"}, "dx", "in another order than the forward slices them"),
    ({"dc": "dnext_c + dnext_h * o"}, "dprev_c", "without tanh′(c_t)"),
])
def test_each_named_lstm_mistake_fails_and_is_named(tmp_path, changes, wrong, sentence):
    result = _check(tmp_path, **changes)
    assert not result["passed"]
    (gradient,) = [g for g in result["gradients"] if g["name"] == wrong]
    assert not gradient["passed"] and sentence in (gradient.get("diagnosis") or ""), gradient


def test_a_forward_returning_two_values_is_told_the_lstm_signature(tmp_path):
    path = tmp_path / "student.py"
    source = textwrap.dedent(HOMEWORK.format(**RIGHT)).replace(
        "return next_h, next_c, (x,", "return next_h, (x,")
    path.write_text(source)
    (result,) = check_file(path, seed=3, timeout=30)["functions"]
    assert not result["passed"] and "must return (next_h, next_c, cache)" in str(result), result
