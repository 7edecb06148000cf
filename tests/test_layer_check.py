"""`mathnn check` knows every layer declared as a rule, and batch norm's second backward, with no edit of its own."""

from __future__ import annotations

import textwrap

import pytest

from mathnn.gradcheck.runner import check_file

LAYERNORM = '''
import numpy as np


def layernorm_forward(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    mu = x.mean(axis=1, keepdims=True)
    std = np.sqrt(x.var(axis=1, keepdims=True) + eps)
    xhat = (x - mu) / std
    return gamma * xhat + beta, {{"xhat": xhat, "gamma": gamma, "std": std}}


def layernorm_backward(dout, cache):
    xhat, gamma, std = cache["xhat"], cache["gamma"], cache["std"]
    g = dout * gamma
    dx = {dx}
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)
'''

RIGHT = "(g - g.mean(axis=1, keepdims=True) - xhat * (g * xhat).mean(axis=1, keepdims=True)) / std"
NO_VARIANCE = "(g - g.mean(axis=1, keepdims=True)) / std"
NO_GAMMA = "(dout - dout.mean(axis=1, keepdims=True) - xhat * (dout * xhat).mean(axis=1, keepdims=True)) / std"

BATCHNORM_ALT = '''
import numpy as np


def batchnorm_forward(x, gamma, beta, bn_param):
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    running_mean = bn_param.get("running_mean", np.zeros(x.shape[1]))
    running_var = bn_param.get("running_var", np.zeros(x.shape[1]))
    if bn_param["mode"] == "test":
        return gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta, None
    mu, var = x.mean(axis=0), x.var(axis=0)
    xhat = (x - mu) / np.sqrt(var + eps)
    bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mu
    bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
    return gamma * xhat + beta, (xhat, gamma, np.sqrt(var + eps))


def batchnorm_backward_alt(dout, cache):
    xhat, gamma, std = cache
    n = dout.shape[0]
    dgamma, dbeta = (dout * xhat).sum(axis=0), dout.sum(axis=0)
    dx = gamma / (n * std) * ({scale}n * dout - dbeta - xhat * dgamma)
    return dx, dgamma, dbeta
'''


def _check(tmp_path, source: str) -> dict:
    path = tmp_path / "student.py"
    path.write_text(textwrap.dedent(source))
    return check_file(path, seed=3, timeout=20)


@pytest.mark.parametrize("dx, sentence", [
    (RIGHT, None),
    (NO_VARIANCE, "misses the path through the row variance"),
    (NO_GAMMA, "multiply by gamma before the row sums"),
])
def test_layernorm_homework_is_checked_and_each_mistake_named(tmp_path, dx, sentence):
    (result,) = _check(tmp_path, LAYERNORM.format(dx=dx))["functions"]
    assert result["name"] == "layernorm"
    assert result["passed"] is (sentence is None)
    diagnoses = [g.get("diagnosis") or "" for g in result["gradients"]]
    if sentence is None:
        assert not any(diagnoses)
    else:
        assert any(sentence in d for d in diagnoses), diagnoses


@pytest.mark.parametrize("scale, passes", [("", True), ("0.5 * ", False)])
def test_batchnorm_backward_alt_is_checked_as_batch_norm(tmp_path, scale, passes):
    (result,) = _check(tmp_path, BATCHNORM_ALT.format(scale=scale))["functions"]
    assert result["name"] == "batchnorm_alt"
    assert result["backward_function"] == "batchnorm_backward_alt"
    assert result["passed"] is passes


def test_a_correct_float32_layer_norm_passes_at_a_seed_whose_second_shape_was_degenerate(tmp_path):
    """Seed 5 drew D = 2 for the second shape, where every x̂ is ±1 and dx nearly vanishes: a correct
    float32 file then failed the comparison with the reference's derivatives. The rule's
    homework_sizes keep a homework's shapes away from that case."""
    import numpy as np

    from mathnn.gradcheck.examples import example_path
    from mathnn.gradcheck.homework import PAIRS

    for seed in range(40):
        inputs = PAIRS["layernorm"].make_inputs(np.random.default_rng(seed), 1)
        assert inputs["x"].shape[1] >= 3
        inputs = PAIRS["batchnorm"].make_inputs(np.random.default_rng(seed), 1)
        assert inputs["x"].shape[0] >= 4 and inputs["bn_param"] == {"mode": "train", "eps": 1e-5}
    summary = check_file(example_path("correct_float32"), seed=5, timeout=20, functions=["layernorm"])
    assert summary["passed"] is True, [r["diagnosis"] for r in summary["functions"]]


BATCHNORM_FORWARD = '''
import numpy as np


def batchnorm_forward(x, gamma, beta, bn_param):
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    N = x.shape[0]
    running_mean = bn_param.get("running_mean", np.zeros(x.shape[1]))
    running_var = bn_param.get("running_var", np.zeros(x.shape[1]))
    if bn_param["mode"] == "test":
        return gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta, None
    mu, var = {statistics}
    std = {std}
    xhat = (x - mu) / std
    bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mu
    bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
    return gamma * xhat + beta, (xhat, gamma, std)


def batchnorm_backward(dout, cache):
    xhat, gamma, std = cache
    n = dout.shape[0]
    dgamma, dbeta = (dout * xhat).sum(axis=0), dout.sum(axis=0)
    return gamma / (n * std) * (n * dout - dbeta - xhat * dgamma), dgamma, dbeta
'''
BATCH = "x.mean(axis=0), x.var(axis=0)"
INSIDE = "np.sqrt(var + eps)"


@pytest.mark.parametrize("statistics, std, sentence", [
    (BATCH, INSIDE, None),
    (BATCH, "np.sqrt(var) + eps", "adds ε after the square root"),
    ("x.mean(axis=0), x.var(axis=0, ddof=1)", INSIDE, "uses the unbiased variance"),
    ("running_mean, running_var", INSIDE, "normalizes with bn_param's running averages"),
])
def test_a_wrong_batchnorm_forward_is_named_from_its_output(tmp_path, statistics, std, sentence):
    summary = _check(tmp_path, BATCHNORM_FORWARD.format(statistics=statistics, std=std))
    (result,) = [r for r in summary["functions"] if r["name"] == "batchnorm"]
    assert result["passed"] is (sentence is None)
    message = result["forward"].get("message") or ""
    if sentence is None:
        assert result["forward"]["status"] == "ok"
    else:
        assert result["forward"]["status"] == "mismatch" and sentence in message, message


def test_a_forward_mistake_that_changes_nothing_is_not_refuted():
    import dataclasses

    from mathnn.rules import RULES
    from mathnn.rules.batchnorm import inv_std
    from mathnn.rules.layer_parts import ForwardMistake

    rule = RULES["batchnorm"]
    same = ForwardMistake("no change", "-", {inv_std: rule.nodes[3].expr})
    changed = dataclasses.replace(rule, forward_mistakes=(same,), mistakes=(), identities=(), tuned=None)
    failing = [c.statement for c in changed.prove().claims if not c.holds]
    assert failing == ["the forward mistake 'no change' gives a different output"]


SPATIAL = '''

def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    out, cache = batchnorm_forward({rows}, gamma, beta, bn_param)
    return out.reshape(N, H, W, C).transpose(0, 3, 1, 2), cache


def spatial_batchnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    dx, dgamma, dbeta = batchnorm_backward(dout.transpose(0, 2, 3, 1).reshape(-1, C), cache)
    return dx.reshape(N, H, W, C).transpose(0, 3, 1, 2), dgamma, dbeta
'''


@pytest.mark.parametrize("rows, passes", [
    ("x.transpose(0, 2, 3, 1).reshape(-1, C)", True),
    ("x.reshape(-1, C)", False),  # the classic slip: channels mixed with pixels, no transpose first
])
def test_spatial_batchnorm_is_checked_as_batch_norms_variant(tmp_path, rows, passes):
    source = BATCHNORM_FORWARD.format(statistics=BATCH, std=INSIDE) + SPATIAL.format(rows=rows)
    summary = _check(tmp_path, source)
    (result,) = [r for r in summary["functions"] if r["name"] == "spatial_batchnorm"]
    assert [p["shapes"]["x"] for p in result["points"]][:1] == [[2, 3, 4, 5]]
    assert result["passed"] is passes, result["diagnosis"]
    if not passes:
        assert result["forward"]["status"] == "mismatch"


def test_a_spatial_batchnorm_backward_without_the_mean_path_is_named_through_the_transpose(tmp_path):
    source = (BATCHNORM_FORWARD.format(statistics=BATCH, std=INSIDE).replace("(n * dout - dbeta - xhat * dgamma)",
                                                                              "(n * dout - xhat * dgamma)")
              + SPATIAL.format(rows="x.transpose(0, 2, 3, 1).reshape(-1, C)"))
    summary = _check(tmp_path, source)
    (result,) = [r for r in summary["functions"] if r["name"] == "spatial_batchnorm"]
    (dx,) = [g for g in result["gradients"] if g["name"] == "dx"]
    assert dx["diagnosis"].startswith("your dx matches the gradient without the path x → μ → x̂")


RNN_STEP = '''
import numpy as np


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    a = x @ Wx + prev_h @ Wh + b
    next_h = np.tanh(a)
    return next_h, (x, prev_h, Wx, Wh, a, next_h)


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, a, next_h = cache
    da = {da}
    return da @ Wx.T, da @ Wh.T, x.T @ da, {dWh}, da.sum(axis=0)
'''


@pytest.mark.parametrize("da, dWh, wrong, sentence", [
    ("dnext_h * (1 - next_h ** 2)", "prev_h.T @ da", None, None),
    ("dnext_h * (1 - next_h ** 2)", "da.T @ prev_h", "dWh", "your dWh is the transpose of the true gradient"),
    ("dnext_h * (1 - next_h) ** 2", "prev_h.T @ da", "dx", "uses (1 − h_t)² for tanh′"),
    ("dnext_h", "prev_h.T @ da", "dx", "leaves out tanh′"),
    ("dnext_h * (1 - a ** 2)", "prev_h.T @ da", "dx", "computes tanh′ as 1 − a²"),
])
def test_rnn_step_homework_mistakes_are_named(tmp_path, da, dWh, wrong, sentence):
    summary = _check(tmp_path, RNN_STEP.format(da=da, dWh=dWh))
    (result,) = summary["functions"]
    assert result["name"] == "rnn_step" and result["passed"] is (wrong is None)
    if wrong is not None:
        (gradient,) = [g for g in result["gradients"] if g["name"] == wrong]
        assert not gradient["passed"] and sentence in (gradient.get("diagnosis") or ""), gradient


def test_eps_kept_in_running_var_and_left_out_of_test_mode_is_caught(tmp_path):
    """Two slips seen together in real homework: running_var stores σ² + ε, and test mode divides by
    √running_var. At ε = 1e-5 they nearly cancel; the test-mode check's ε = 0.01 shows them."""
    source = (BATCHNORM_FORWARD.format(statistics=BATCH, std=INSIDE)
              .replace("/ np.sqrt(running_var + eps) + beta, None", "/ np.sqrt(running_var) + beta, None")
              .replace("(1 - momentum) * var\n", "(1 - momentum) * (var + eps)\n"))
    assert "(var + eps)" in source and "np.sqrt(running_var) +" in source
    (result,) = [r for r in _check(tmp_path, source)["functions"] if r["name"] == "batchnorm"]
    assert not result["passed"] and "test mode leaves out ε" in result["diagnosis"]
    assert "running_var is updated with σ² + ε" in result["diagnosis"]


AFFINE = '''
import numpy as np


def affine_forward(x, w, b):
    return x.reshape(len(x), -1) @ w + b, (x, w)


def affine_backward(dout, cache):
    x, w = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(len(x), -1).T @ dout, {db}
'''


@pytest.mark.parametrize("db, failing, sentence", [
    ("dout", {"db"}, "db must add dout over every row"),  # a named mistake that also changes the shape
    ("(dout @ w.T).reshape(x.shape)", {"db"}, None),  # a gradient of another shape, and no named mistake
])
def test_a_named_mistake_of_another_shape_is_named(tmp_path, db, failing, sentence):
    (result,) = _check(tmp_path, AFFINE.format(db=db))["functions"]
    assert {g["name"] for g in result["gradients"] if not g["passed"]} == failing
    assert "affine_backward returned db of shape" in result["diagnosis"]
    assert (sentence is not None and sentence in result["diagnosis"]) or (
        sentence is None and not any(g["diagnosis"] for g in result["gradients"]))


TEMPORAL_AFFINE = """
import numpy as np


def temporal_affine_forward(x, w, b):
    return x @ w + b, (x, w)


def temporal_affine_backward(dout, cache):
    x, w = cache
    return dout @ w.T, np.einsum("ntd,ntm->dm", x, dout), dout
"""


def test_a_named_mistake_of_another_shape_is_named_in_a_layer_checked_in_two_axes(tmp_path):
    # the temporal affine layer's kernels see (N·T, D): db = dout (N, T, M) is compared in those axes too
    (result,) = _check(tmp_path, TEMPORAL_AFFINE)["functions"]
    assert {g["name"] for g in result["gradients"] if not g["passed"]} == {"db"}
    assert "db must add dout over every row (and step)" in result["diagnosis"]
