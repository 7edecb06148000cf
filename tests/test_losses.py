"""softmax_loss, svm_loss and the word embedding: the SVM rule's proof, the layers, and `mathnn check` on them.

Each named mistake is a small homework written here (the correct one with a line changed), checked in
this process; one correct file goes through the sandbox, float64 and float32.
"""

from __future__ import annotations

import dataclasses
import textwrap
from types import ModuleType

import numpy as np
import pytest

from mathnn.errors import InputError
from mathnn.gradcheck.homework import PAIRS, check_pair, resolve
from mathnn.gradcheck.runner import check_file, format_text, to_gradescope, to_json
from mathnn.layers import softmax_loss, svm_loss, word_embedding_backward, word_embedding_forward

CORRECT = textwrap.dedent("""
    import numpy as np

    def softmax_loss(x, y):
        n = x.shape[0]
        shifted = x - np.max(x, axis=1, keepdims=True)
        log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
        loss = -np.sum(log_probs[np.arange(n), y]) / n
        dx = np.exp(log_probs)
        dx[np.arange(n), y] -= 1
        dx = dx / n
        return loss, dx

    def svm_loss(x, y):
        n = x.shape[0]
        correct = x[np.arange(n), y]
        margins = np.maximum(0, x - correct[:, None] + 1.0)
        margins[np.arange(n), y] = 0
        loss = np.sum(margins) / n
        dx = (margins > 0).astype(x.dtype)
        dx[np.arange(n), y] -= np.sum(margins > 0, axis=1)
        dx = dx / n
        return loss, dx

    def word_embedding_forward(x, W):
        return W[x], (x, W)

    def word_embedding_backward(dout, cache):
        x, W = cache
        dW = np.zeros_like(W)
        np.add.at(dW, x, dout)
        return dW

    def temporal_softmax_loss(x, y, mask, verbose=False):
        N, T, V = x.shape
        flat, targets, counted = x.reshape(N * T, V), y.reshape(N * T), mask.reshape(N * T)
        shifted = flat - np.max(flat, axis=1, keepdims=True)
        log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
        loss = -np.sum(counted * log_probs[np.arange(N * T), targets]) / N
        dflat = np.exp(log_probs)
        dflat[np.arange(N * T), targets] -= 1
        dflat *= counted[:, None] / N
        return loss, dflat.reshape(N, T, V)
""")

#: name -> (pair, the line changed, its replacement, text the diagnosis must contain)
MISTAKES = {
    "softmax summed, not averaged": (
        "softmax_loss", ("loss = -np.sum(log_probs[np.arange(n), y]) / n", "dx = dx / n\n    return loss, dx\n\ndef svm"),
        ("loss = -np.sum(log_probs[np.arange(n), y])", "return loss, dx\n\ndef svm"),
        ["the loss is summed over the N = 4 examples, not averaged", "dx is not divided by N = 4"],
    ),
    "softmax without the max": (
        "softmax_loss", ("shifted = x - np.max(x, axis=1, keepdims=True)",), ("shifted = x",),
        ["NaN or inf loss at the test scores plus 1000", "subtract each row's maximum score"],
    ),
    "softmax dx without the -1": (
        "softmax_loss", ("    dx[np.arange(n), y] -= 1\n",), ("",), ["dx misses the −1 at the correct class"],
    ),
    "svm counts the correct class": (
        "svm_loss", ("    margins[np.arange(n), y] = 0\n",), ("",), ["the correct class is counted in the margin sum"],
    ),
    "svm dx without the count": (
        "svm_loss", ("dx[np.arange(n), y] -= np.sum(margins > 0, axis=1)",), ("dx[np.arange(n), y] = 0",),
        ["dx of the correct class misses −(number of positive margins)/N"],
    ),
    "svm dx for every wrong class": (
        "svm_loss", ("dx = (margins > 0).astype(x.dtype)",), ("dx = np.ones_like(x); dx[np.arange(n), y] = 0",),
        ["dx gives +1/N to every wrong class, not only to those whose margin"],
    ),
    "svm dx for every wrong class, and a -1 where no margin is positive": (
        "svm_loss", ("dx = (margins > 0).astype(x.dtype)", "dx[np.arange(n), y] -= np.sum(margins > 0, axis=1)"),
        ("dx = np.ones_like(x); dx[np.arange(n), y] = 0",
         "dx[np.arange(n), y] -= np.maximum(np.sum(margins > 0, axis=1), 1)"),
        ["dx gives +1/N to every wrong class, not only to those whose margin", "; dx is also wrong at 1 other entry of"],
    ),
    "svm summed, not averaged": (
        "svm_loss", ("loss = np.sum(margins) / n", "dx = dx / n\n    return loss, dx\n\ndef word"),
        ("loss = np.sum(margins)", "return loss, dx\n\ndef word"),
        ["the loss is summed over the N = 4 examples", "dx is not divided by N = 4"],
    ),
    "temporal dx without the mask": (
        "temporal_softmax_loss", ("dflat *= counted[:, None] / N",), ("dflat /= N",), ["dx is wrong"],
    ),
    "temporal dx without the -1": (
        "temporal_softmax_loss", ("    dflat[np.arange(N * T), targets] -= 1\n",), ("",),
        ["dx misses the −1 at the correct class"],
    ),
    "temporal summed, not averaged": (
        "temporal_softmax_loss", ("log_probs[np.arange(N * T), targets]) / N", "dflat *= counted[:, None] / N"),
        ("log_probs[np.arange(N * T), targets])", "dflat *= counted[:, None]"),
        ["the loss is summed over the N = 2 examples, not averaged", "dx is not divided by N = 2"],
    ),
    "embedding overwrites repeats": (
        "word_embedding", ("np.add.at(dW, x, dout)",), ("dW[x] += dout",),
        ["dW[x] += dout: repeated indices overwrite instead of accumulate", "np.add.at"],
    ),
    "embedding dW not zeroed": (
        "word_embedding", ("dW = np.zeros_like(W)",), ("dW = np.full_like(W, 0.5)",),
        ["dW is not zero-initialised", "nonzero dW when dout is zero"],
    ),
}


def module(source: str) -> ModuleType:
    student = ModuleType("student_losses")
    exec(compile(source, "student_losses.py", "exec"), student.__dict__)
    return student


@pytest.mark.parametrize("pair", ["softmax_loss", "svm_loss", "temporal_softmax_loss", "word_embedding"])
def test_the_correct_homework_passes_in_process(pair):
    result = check_pair(module(CORRECT), pair)
    assert result["passed"], result["diagnosis"]
    assert result["forward"]["max_error"] <= 1e-12
    assert [g["name"] for g in result["gradients"]] == list(PAIRS[pair].gradients)


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_each_mistake_fails_and_is_named(name):
    pair, old, new, said = MISTAKES[name]
    source = CORRECT
    for before, after in zip(old, new):
        assert before in source
        source = source.replace(before, after)
    result = check_pair(module(source), pair)
    assert not result["passed"]
    for text in said:
        assert text in result["diagnosis"], result["diagnosis"]


@pytest.mark.parametrize("body, said", [
    ("pass", "softmax_loss is not implemented yet (still the starter code?): it returns None"),
    ("return 1.0", "softmax_loss must return (loss, dx); it returned"),
    ("return None, x", "softmax_loss is not implemented yet (still the starter code?): it returns None as loss"),
    ("return x, x", "softmax_loss must return the loss as one number; it returned an array of shape (4, 5)"),
    ("return 'a', x", "softmax_loss returned a str"),
])
def test_a_loss_of_the_wrong_form_is_said_once(body, said):
    result = check_pair(module(f"def softmax_loss(x, y):\n    {body}\n"), "softmax_loss")
    assert not result["passed"] and said in result["diagnosis"], result["diagnosis"]


def test_a_correct_file_passes_through_the_sandbox_in_float64_and_float32(tmp_path):
    path = tmp_path / "losses_hw.py"
    float32 = CORRECT.replace("def softmax_loss(x, y):\n", "def softmax_loss(x, y):\n    x = x.astype(np.float32)\n")
    float32 = float32.replace("def svm_loss(x, y):\n", "def svm_loss(x, y):\n    x = x.astype(np.float32)\n")
    path.write_text(CORRECT + float32.replace("def softmax_loss", "def f32_softmax").replace("def svm_loss", "def f32_svm"))
    (tmp_path / "f32_hw.py").write_text(float32)
    summary = check_file(path, ["softmax_loss", "svm_loss", "word_embedding_backward"], seed=5)
    assert summary["passed"], format_text(summary)
    text = format_text(summary)
    assert "softmax_loss: passed" in text and "loss matches mathnn.layers.softmax_loss" in text
    assert "softmax_loss / softmax_loss" not in text
    names = [test["name"] for test in to_gradescope(summary)["tests"]]
    assert names == ["softmax_loss", "svm_loss", "word_embedding_forward / word_embedding_backward"]
    assert [f["name"] for f in to_json(summary)["functions"]] == ["softmax_loss", "svm_loss", "word_embedding"]
    f32 = check_file(tmp_path / "f32_hw.py", ["softmax_loss", "svm_loss"], seed=5)
    assert f32["passed"], format_text(f32)
    assert all("float32" in result["precision"] for result in f32["functions"])


@pytest.mark.parametrize("value_based", [False, True])
def test_a_float32_loss_widened_by_numpy_1_is_judged_in_float32(monkeypatch, value_based):
    # numpy < 2: np.float32(x) / 3 is float64. The loss is judged in float32 there, as numpy 2 returns it;
    # on numpy 2 a float64 loss stays float64 whatever dx's dtype.
    from mathnn.gradcheck import losses

    monkeypatch.setattr(losses, "_VALUE_BASED_CASTING", value_based)
    f32, f64 = np.zeros((2, 3), np.float32), np.zeros((2, 3))
    assert losses._loss_dtype(np.array(1.0), f32) == (np.float32 if value_based else np.float64)
    assert losses._loss_dtype(np.array(1.0), f64) == np.float64
    assert losses._loss_dtype(np.array(1.0, np.float32), f32) == np.float32
    assert losses._loss_dtype(np.array(1), f32) == np.float64  # an integer loss: checked as float64


def test_pairs_resolve_by_function_name_and_draw_repeated_indices():
    assert resolve("softmax_loss") is PAIRS["softmax_loss"] and PAIRS["softmax_loss"].title == "softmax_loss"
    assert resolve("word_embedding_backward") is PAIRS["word_embedding"]
    inputs = PAIRS["word_embedding"].test_inputs(seed=0)
    x = inputs["x"]
    assert x.dtype.kind == "i" and len(np.unique(x)) < x.size and len(np.unique(x)) < inputs["W"].shape[0]
    y = PAIRS["svm_loss"].test_inputs(seed=0)["y"]
    assert y.dtype.kind == "i" and len(np.unique(y)) < y.size
    svm = PAIRS["svm_loss"].make_inputs(np.random.default_rng(7), 1)
    x, y = svm["x"], svm["y"]
    margins = x - x[np.arange(len(y)), y][:, None] + 1
    margins[np.arange(len(y)), y] = 1
    assert np.abs(margins).min() >= 0.3  # no difference step crosses a kink


# -- the layers ---------------------------------------------------------------------------------------

def test_the_losses_match_the_textbook_formulas_and_keep_float32():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((6, 4)), np.array([0, 3, 3, 1, 2, 0])
    p = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    loss, dx = softmax_loss(x, y)
    np.testing.assert_allclose(loss, -np.log(p[np.arange(6), y]).mean(), rtol=1e-13)
    np.testing.assert_allclose(dx, (p - np.eye(4)[y]) / 6, rtol=1e-12, atol=1e-16)
    margins = np.maximum(0, x - x[np.arange(6), y][:, None] + 1)
    margins[np.arange(6), y] = 0
    np.testing.assert_allclose(svm_loss(x, y)[0], margins.sum() / 6, rtol=1e-13)
    for f in (softmax_loss, svm_loss):
        loss32, dx32 = f(x.astype(np.float32), y)
        assert loss32.dtype == dx32.dtype == np.float32
    big_loss, big_dx = softmax_loss(x + 1000, y)  # the reference stays finite where e^x overflows
    assert np.isfinite(big_loss) and np.all(np.isfinite(big_dx))
    np.testing.assert_allclose(big_loss, loss, rtol=1e-10)


def test_svm_takes_0_at_a_margin_exactly_0():
    # margin of class 1 is 1.0 - 2.0 + 1 = 0: the kink; class 2's is positive
    loss, dx = svm_loss(np.array([[2.0, 1.0, 1.5]]), np.array([0]))
    assert float(loss) == 0.5 and dx.tolist() == [[-1.0, 0.0, 1.0]]


def test_loss_inputs_are_refused_with_the_argument_named():
    with pytest.raises(InputError, match=r"y: expected an integer array of shape \(N,\) = \(2,\) with values in \[0, 3\)"):
        svm_loss(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(InputError, match="y: expected an integer array.*received array of dtype float64"):
        softmax_loss(np.zeros((2, 3)), np.zeros(2))
    with pytest.raises(InputError, match=r"x: expected a 2-D array of shape \(N, C\)"):
        softmax_loss(np.zeros(3), np.array([0]))
    with pytest.raises(InputError, match=r"x: expected an integer array of shape \(N, T\).*received 4 at index \(0, 1\)"):
        word_embedding_forward(np.array([[0, 4]]), np.zeros((4, 2)))
    _, cache = word_embedding_forward(np.array([[0, 1]]), np.zeros((4, 2)))
    with pytest.raises(InputError, match=r"dout: expected shape \(1, 2, 2\)"):
        word_embedding_backward(np.zeros((1, 2, 3)), cache)


def test_the_embedding_accumulates_repeated_words():
    W = np.arange(8.0).reshape(4, 2).astype(np.float32)
    x = np.array([[1, 1], [3, 1]])
    out, cache = word_embedding_forward(x, W)
    assert out.dtype == np.float32 and out.tolist() == [[[2, 3], [2, 3]], [[6, 7], [2, 3]]]
    dW = word_embedding_backward(np.ones((2, 2, 2), dtype=np.float32), cache)
    assert dW.dtype == np.float32 and dW.tolist() == [[0, 0], [3, 3], [0, 0], [1, 1]]


# -- the rule -----------------------------------------------------------------------------------------

def test_the_svm_rule_is_proven_and_a_kernel_without_the_correct_class_term_is_not(proofs):
    from mathnn.rules.core import Statement
    from mathnn.rules.svm import positive, svm, weights

    proof = proofs["svm"]
    assert proof.holds, str(proof)
    assert any(claim.statement.startswith("max(0, m) = H(m)·m") and claim.holds for claim in proof.claims)
    kernel = svm.loss.kernel
    wrong = dataclasses.replace(kernel, statements=(
        *kernel.statements[:4], Statement("dscores", weights * positive, "no −count at the correct class")))
    claims = dataclasses.replace(svm, loss=dataclasses.replace(svm.loss, kernel=wrong)).prove().claims
    failing = [claim for claim in claims if not claim.holds]
    # the kernel, and the slip kernel made from it whose margins are replaced (it keeps the wrong dscores)
    assert [claim.statement.split(" computes")[0] for claim in failing] == [
        "multiclass_svm", "multiclass_svm_slip_correct_class_counted"]
    assert all("the gradient differs" in claim.method for claim in failing)


def test_the_svm_derivation_keeps_the_declared_kink_value():
    """With SymPy's own step (H(0) = 1/2) in the closed form the proof fails: the kink's value is proven."""
    import sympy as sp

    from mathnn.rules.core import RowSum
    from mathnn.rules.svm import margins, onehot, svm, weights

    half = sp.Heaviside(margins, sp.Rational(1, 2))
    wrong = dataclasses.replace(svm, closed_forms={svm.differentiated[0]: weights * (half - onehot * RowSum(half))})
    derived = [claim for claim in wrong.prove().claims if "derived by reverse accumulation" in claim.statement]
    assert len(derived) == len(svm.proof_sizes) and not any(claim.holds for claim in derived)


def test_the_generated_svm_kernel_agrees_with_complex_step_derivatives():
    from mathnn.rules.svm import svm
    from mathnn.verify import check_loss

    assert all(check.passed for check in check_loss(svm, points=500))


@pytest.mark.parametrize("rule", ["svm", "softmax_ce"])
def test_the_loss_check_fails_a_fused_kernel_whose_gradient_has_a_slip(monkeypatch, rule):
    """The check runs the kernel the rule names: its slip kernel (a gradient off by a declared mistake) fails."""
    import importlib

    from mathnn.rules import RULES
    from mathnn.verify import check_loss

    module = importlib.import_module(f"mathnn.kernels.{rule}")
    name = RULES[rule].loss.kernel.name
    right = getattr(module, name)
    slip = getattr(module, module.SLIPS[-1]["kernel"])
    monkeypatch.setattr(module, name, lambda *args, **kwargs: (right(*args, **kwargs)[0], slip(*args, **kwargs)[1]))
    checks = check_loss(RULES[rule], points=500)
    assert not any(check.passed for check in checks[1:])  # every size with more than one class per row
    assert all(check.max_complex > 1e-3 for check in checks[1:])


def test_the_svm_check_moves_its_inputs_off_the_hinges_it_would_straddle():
    from mathnn.kernels.svm import multiclass_svm, multiclass_svm_magnitude
    from mathnn.rules.svm import HINGE_CLEARANCE, off_the_hinges
    from mathnn.verify import _vjp_check

    onehot = np.array([[1.0, 0.0, 0.0, 0.0]])
    scores = np.array([[0.5, -0.5, -0.49999, -0.53]])  # margins 0, 1e-5 and −0.03: on and next to the kink
    inputs = {"scores": scores, "onehot": onehot, "weights": np.ones((1, 1))}

    def check(inputs):
        def loss(v):
            return multiclass_svm(v, onehot.astype(v.dtype), inputs["weights"].astype(v.dtype))[0]

        gradient = multiclass_svm(**inputs)[1]
        return _vjp_check("multiclass_svm", "multiclass_svm", {},
                          [(loss, inputs["scores"], None, gradient, multiclass_svm_magnitude(**inputs))])

    assert not check(inputs).passed  # a difference step across a kink measures neither slope
    moved = off_the_hinges(inputs)
    margins = moved["scores"] - moved["scores"][:, :1] + 1
    assert np.all(np.abs(margins[:, 1:]) >= HINGE_CLEARANCE)
    assert np.array_equal(np.sign(margins[:, 2:]), np.sign(scores[:, 2:] - scores[:, :1] + 1))  # each on its own side
    assert check(moved).passed
    assert np.array_equal(inputs["scores"], scores)  # the drawn inputs are not modified


def test_each_declared_slip_is_refuted_and_one_that_changes_nothing_is_not(proofs):
    from mathnn.rules import svm as topic
    from mathnn.rules.layer import ForwardMistake, Mistake

    rule = topic.svm
    proof = proofs["svm"]
    slips = [claim for claim in proof.claims if claim.statement.startswith(("the mistake", "the forward mistake"))]
    assert len(slips) == len(rule.mistakes) + len(rule.forward_mistakes) == 3 and all(c.holds for c in slips)
    same = Mistake("the true gradient", topic.scores, "nothing", closed=topic.DSCORES)
    claim = next(c for c in dataclasses.replace(rule, mistakes=(same,)).prove().claims
                 if c.statement.startswith("the mistake"))
    assert not claim.holds and "equal at N=2, C=3, targets (2, 2)" in claim.method
    harmless = ForwardMistake("the true margins", "nothing", {topic.margins: (1 - topic.onehot) * (
        topic.scores - topic.correct + 1)})
    claim = next(c for c in dataclasses.replace(rule, forward_mistakes=(harmless,)).prove().claims
                 if c.statement.startswith("the forward mistake"))
    assert not claim.holds and "the same loss" in claim.method
