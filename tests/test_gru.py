"""The GRU: step and sequence proven from one declaration, generated functions, checked homework."""

from __future__ import annotations

import textwrap
from dataclasses import replace

import numpy as np
import pytest

from mathnn.errors import InputError
from mathnn.gradcheck.runner import check_file
from mathnn.layers import gru_backward, gru_forward, gru_step_backward, gru_step_forward
from mathnn.rules import gru as sequence_rule
from mathnn.rules import gru_step as rule


def test_step_and_sequence_are_proven_and_their_mistakes_refuted(proofs):
    for name in ("gru_step", "gru"):
        assert proofs[name].holds, str(proofs[name])
    statements = [c.statement for c in proofs["gru_step"].claims]
    for mistake in rule.gru_step.mistakes:
        assert any(s.startswith(f"the mistake '{mistake.name}'") for s in statements), mistake.name


def test_a_wrong_closed_form_fails_step_and_sequence():
    closed = {**rule.gru_step.closed_forms, rule.prev_h: rule.gru_step.mistakes[0].closed}  # no direct path
    step = replace(rule.gru_step, closed_forms=closed, mistakes=(), proof_sizes=rule.gru_step.proof_sizes[:1])
    assert [c.statement[:10] for c in step.prove().claims if not c.holds] == ["∂L/∂hₜ₋₁ d"]
    wrong = replace(sequence_rule.gru, step=step, slips=(), proof_sizes=sequence_rule.gru.proof_sizes[:1])
    failing = [c.statement.split(" of L")[0] for c in wrong.prove().claims if not c.holds]
    assert "gru_sequence_backward gives ∂L/∂h0" in failing and "gru_sequence_backward gives ∂L/∂Wx" in failing


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def reference_step(x, h, Wx, Wh, b):
    """The GRU written gate by gate: z, r, n in blocks of H columns; the reset after the product by Wh."""
    H = h.shape[1]
    s = [slice(k * H, (k + 1) * H) for k in range(3)]
    z = sigmoid(x @ Wx[:, s[0]] + b[s[0]] + h @ Wh[:, s[0]])
    r = sigmoid(x @ Wx[:, s[1]] + b[s[1]] + h @ Wh[:, s[1]])
    n = np.tanh(x @ Wx[:, s[2]] + b[s[2]] + r * (h @ Wh[:, s[2]]))
    return (1 - z) * n + z * h


def draw(rng, n=3, d=4, h=5, t=None):
    x = rng.standard_normal((n, d) if t is None else (n, t, d))
    return (x, 0.5 * rng.standard_normal((n, h)), 0.4 * rng.standard_normal((d, 3 * h)),
            0.4 * rng.standard_normal((h, 3 * h)), 0.2 * rng.standard_normal(3 * h))


def numeric_gradients(loss, args):
    out = []
    for position in range(len(args)):
        numeric = np.zeros_like(args[position])
        for index in np.ndindex(numeric.shape):
            plus, minus = [a.copy() for a in args], [a.copy() for a in args]
            plus[position][index] += 1e-6
            minus[position][index] -= 1e-6
            numeric[index] = (loss(plus) - loss(minus)) / 2e-6
        out.append(numeric)
    return out


def test_step_and_sequence_functions_are_the_gru_and_its_gradient():
    rng = np.random.default_rng(0)
    args = list(draw(rng))
    out, cache = gru_step_forward(*args)
    np.testing.assert_allclose(out, reference_step(*args), rtol=0, atol=1e-14)
    dout = rng.standard_normal(out.shape)
    for got, want in zip(gru_step_backward(dout, cache),
                         numeric_gradients(lambda a: np.sum(reference_step(*a) * dout), args)):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-8)

    seq = list(draw(rng, 2, 3, 3, t=4))

    def run(a):
        h, states = a[1], []
        for t in range(a[0].shape[1]):
            h = reference_step(a[0][:, t], h, *a[2:])
            states.append(h)
        return np.stack(states, axis=1)

    hs, cache = gru_forward(*seq)
    np.testing.assert_allclose(hs, run(seq), rtol=0, atol=1e-14)
    dh = rng.standard_normal(hs.shape)
    for got, want in zip(gru_backward(dh, cache), numeric_gradients(lambda a: np.sum(run(a) * dh), seq)):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-8)
    with pytest.raises(InputError, match=r"Wh: expected shape \(3, 9\) \(H = 3 from h0"):
        gru_forward(seq[0], seq[1], seq[2], np.zeros((3, 6)), seq[4])
    with pytest.raises(InputError, match="cache: expected the cache returned by gru_forward"):
        gru_backward(dh, cache=(1, 2))


HOMEWORK = '''
import numpy as np


def gru_step_forward(x, prev_h, Wx, Wh, b):
    H = prev_h.shape[1]
    ax, ah = x @ Wx + b, prev_h @ Wh
    z = 1 / (1 + np.exp(-(ax[:, :H] + ah[:, :H])))
    r = 1 / (1 + np.exp(-(ax[:, H:2 * H] + ah[:, H:2 * H])))
    n = np.tanh(ax[:, 2 * H:] + r * ah[:, 2 * H:])
    return (1 - z) * n + z * prev_h, (x, prev_h, Wx, Wh, z, r, n, ah[:, 2 * H:])


def gru_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, z, r, n, ahn = cache
    dn, dz = dnext_h * (1 - z), dnext_h * (prev_h - n)
    dan = dn * (1 - n ** 2)
    daz, dar = dz * z * (1 - z), dan * ahn * r * (1 - r)
    dax = np.concatenate([daz, dar, dan], axis=1)
    dah = np.concatenate([daz, dar, {candidate}], axis=1)
    return dax @ Wx.T, dah @ Wh.T{direct}, x.T @ dax, prev_h.T @ dah, dax.sum(axis=0)
'''


@pytest.mark.parametrize("candidate, direct, sentence", [
    ("dan * r", " + dnext_h * z", None),
    ("dan * r", "", "misses the direct path"),
    ("dan", " + dnext_h * z", "uses δa_n for the candidate's recurrent part"),
])
def test_gru_step_homework_is_checked_and_its_mistakes_named(tmp_path, candidate, direct, sentence):
    path = tmp_path / "student.py"
    path.write_text(textwrap.dedent(HOMEWORK.format(candidate=candidate, direct=direct)))
    (result,) = check_file(path, seed=2, timeout=30)["functions"]
    assert result["name"] == "gru_step" and result["passed"] is (sentence is None), result
    if sentence:
        (gradient,) = [g for g in result["gradients"] if g["name"] == "dprev_h"]
        assert not gradient["passed"] and sentence in (gradient.get("diagnosis") or ""), gradient
