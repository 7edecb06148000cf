"""Spatial group norm: one rule gives the proof, the CS231n functions and the checker's named mistakes."""

from __future__ import annotations

import dataclasses
import json
import textwrap
import types

import numpy as np
import pytest

from mathnn.errors import InputError
from mathnn.gradcheck.homework import check_pair
from mathnn.layers import spatial_groupnorm_backward, spatial_groupnorm_forward
from mathnn.rules.core import RowSum
from mathnn.rules.groupnorm import groupnorm
from mathnn.rules.layernorm import D, dx_hat, inv_std, x_hat


def reference_forward(x, gamma, beta, G, eps=1e-5):
    """Group norm as plainly as numpy says it: each image's channels in G groups, each group normalized."""
    N, C, H, W = x.shape
    out = np.empty_like(x)
    size = C // G
    for n in range(N):
        for g in range(G):
            group = x[n, g * size:(g + 1) * size]
            out[n, g * size:(g + 1) * size] = (group - group.mean()) / np.sqrt(group.var() + eps)
    return gamma * out + beta


def numeric_gradient(f, value, dout, h=1e-6):
    gradient = np.zeros_like(value)
    for index in np.ndindex(value.shape):
        plus, minus = value.copy(), value.copy()
        plus[index] += h
        minus[index] -= h
        gradient[index] = np.sum((f(plus) - f(minus)) * dout) / (2 * h)
    return gradient


@pytest.mark.parametrize("shape, G", [((2, 6, 3, 4), 3), ((1, 4, 2, 2), 1), ((3, 4, 1, 5), 4), ((2, 8, 2, 3), 2)])
def test_forward_matches_a_plain_numpy_group_norm(shape, G):
    rng = np.random.default_rng(0)
    x = 1.0 + 2.0 * rng.standard_normal(shape)
    gamma = rng.standard_normal((1, shape[1], 1, 1))
    beta = rng.standard_normal((1, shape[1], 1, 1))
    out, _ = spatial_groupnorm_forward(x, gamma, beta, G, {"eps": 1e-4})
    assert np.allclose(out, reference_forward(x, gamma, beta, G, eps=1e-4), rtol=0, atol=1e-12)
    # G = 1 is layer norm over the whole image, G = C instance norm: both are the same function
    out, _ = spatial_groupnorm_forward(x, gamma, beta, np.int64(G), None)
    assert np.allclose(out, reference_forward(x, gamma, beta, G), rtol=0, atol=1e-12)


def test_backward_matches_central_differences():
    rng = np.random.default_rng(1)
    x, G = rng.standard_normal((2, 6, 2, 3)), 3
    gamma, beta = 1 + 0.5 * rng.standard_normal((1, 6, 1, 1)), rng.standard_normal((1, 6, 1, 1))
    out, cache = spatial_groupnorm_forward(x, gamma, beta, G, {})
    dout = rng.standard_normal(out.shape)
    dx, dgamma, dbeta = spatial_groupnorm_backward(dout, cache)
    assert (dx.shape, dgamma.shape, dbeta.shape) == (x.shape, gamma.shape, beta.shape)
    assert np.allclose(dx, numeric_gradient(lambda v: spatial_groupnorm_forward(v, gamma, beta, G, {})[0], x, dout),
                       atol=1e-7)
    assert np.allclose(dgamma, numeric_gradient(lambda v: spatial_groupnorm_forward(x, v, beta, G, {})[0], gamma,
                                                dout), atol=1e-7)
    assert np.allclose(dbeta, numeric_gradient(lambda v: spatial_groupnorm_forward(x, gamma, v, G, {})[0], beta,
                                               dout), atol=1e-7)


def test_float32_stays_float32():
    x = np.arange(24, dtype=np.float32).reshape(1, 4, 2, 3)
    out, cache = spatial_groupnorm_forward(x, np.ones((1, 4, 1, 1), np.float32), np.zeros((1, 4, 1, 1), np.float32), 2, {})
    assert out.dtype == np.float32
    assert all(g.dtype == np.float32 for g in spatial_groupnorm_backward(np.ones_like(out), cache))


def test_bad_input_names_the_argument():
    x, ones = np.ones((2, 6, 2, 2)), np.ones((1, 6, 1, 1))
    with pytest.raises(InputError, match=r"G: expected a positive integer dividing C = 6 \(from x with shape "
                                         r"\(2, 6, 2, 2\)\); received int 4"):
        spatial_groupnorm_forward(x, ones, ones, 4, {})
    with pytest.raises(InputError, match=r"G: expected a positive integer"):
        spatial_groupnorm_forward(x, ones, ones, 1.5, {})
    with pytest.raises(InputError, match=r"gamma: expected shape \(1, 6, 1, 1\) \(one value per channel, C = 6 from x "
                                         r"with shape \(2, 6, 2, 2\)\); received shape \(6,\)"):
        spatial_groupnorm_forward(x, np.ones(6), ones, 3, {})
    with pytest.raises(InputError, match=r'gn_param\["eps"\]: expected a finite real number > 0'):
        spatial_groupnorm_forward(x, ones, ones, 3, {"eps": 0})
    _, cache = spatial_groupnorm_forward(x, ones, ones, 3, {})
    with pytest.raises(InputError, match=r"dout: expected shape \(2, 6, 2, 2\)"):
        spatial_groupnorm_backward(np.ones((2, 6, 2, 3)), cache)


# -- the proof -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def proof(proofs):
    return proofs["groupnorm"]


def test_the_rule_is_proven_for_a_symbolic_group_size_and_every_mistake_refuted(proof):
    assert proof.holds, str(proof)
    statements = [claim.statement for claim in proof.claims]
    assert sum("for symbolic D" in s and s.startswith("∂L/∂") for s in statements) == 3
    assert sum("the mistake" in s for s in statements) == len(groupnorm.mistakes)
    regrouped = [s for s in statements if "statistics over the whole sample" in s or "statistics per channel" in s]
    assert len(regrouped) == 2


def test_a_wrong_closed_form_fails_the_proof():
    x = groupnorm.element_arrays[0]
    wrong = inv_std * (dx_hat - RowSum(dx_hat) / D + x_hat * RowSum(dx_hat * x_hat) / D)  # the variance term's sign
    failing = [c.statement for c in dataclasses.replace(groupnorm, closed_forms={**groupnorm.closed_forms, x: wrong})
               .prove().claims if not c.holds]
    assert len(failing) == 1 and failing[0].startswith("∂L/∂x derived")


def test_a_regrouping_that_changes_nothing_is_not_refuted():
    """The claim must fail when the regrouped output is the right one: here both are the whole image's."""
    from mathnn.rules.layer_parts import Regrouping

    whole_image = groupnorm.expand(groupnorm.indexed(groupnorm.output)).subs(D, 8)
    claim = groupnorm._regrouping_claim(Regrouping("whole image", "-", "1"), whole_image)
    assert not claim.holds


# -- the checker ---------------------------------------------------------------------------------------

STUDENT = '''
import numpy as np


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    eps = gn_param.get("eps", 1e-5)
    N, C, H, W = x.shape
    groups = {groups}
    xg = x.reshape(N, groups, -1)
    mu = xg.mean(axis=2, keepdims=True)
    std = np.sqrt(xg.var(axis=2, keepdims=True) + eps)
    xhat = ((xg - mu) / std).reshape(N, C, H, W)
    return gamma * xhat + beta, (xhat, gamma, std, groups)


def spatial_groupnorm_backward(dout, cache):
    xhat, gamma, std, groups = cache
    N, C, H, W = dout.shape
    dgamma = (dout * xhat).sum(axis={axes}, keepdims=True)
    dbeta = dout.sum(axis=(0, 2, 3), keepdims=True)
    g = (dout * gamma).reshape(N, groups, -1)
    xh = xhat.reshape(N, groups, -1)
    dx = {dx} / std
    return dx.reshape(N, C, H, W), dgamma, dbeta
'''

RIGHT = {"groups": "G", "axes": "(0, 2, 3)",
         "dx": "(g - g.mean(axis=2, keepdims=True) - xh * (g * xh).mean(axis=2, keepdims=True))"}


def _student(**changes: str) -> types.ModuleType:
    module = types.ModuleType("student")
    exec(textwrap.dedent(STUDENT.format(**{**RIGHT, **changes})), module.__dict__)
    return module


def test_a_correct_group_norm_passes():
    result = check_pair(_student(), "spatial_groupnorm", seed=2)
    assert result["passed"], result["diagnosis"]
    assert [p["shapes"]["gamma"] for p in result["points"]][:1] == [[1, 6, 1, 1]]


@pytest.mark.parametrize("changes, gradient, sentence", [
    ({"dx": "(g - xh * (g * xh).mean(axis=2, keepdims=True))"}, "dx", "path through the group mean μ"),
    ({"dx": "(g - g.mean(axis=2, keepdims=True))"}, "dx", "path through the group variance σ²"),
])
def test_a_dropped_path_is_named(changes, gradient, sentence):
    result = check_pair(_student(**changes), "spatial_groupnorm", seed=2)
    assert not result["passed"]
    wrong = {g["name"]: g["diagnosis"] for g in result["gradients"] if not g["passed"]}
    assert list(wrong) == [gradient] and sentence in wrong[gradient]


@pytest.mark.parametrize("groups, sentence", [
    ("1", "over all its channels at once (layer norm, G = 1)"),
    ("C", "each channel on its own (instance norm, G = C)"),
])
def test_statistics_over_the_wrong_axes_are_named_from_the_output(groups, sentence):
    result = check_pair(_student(groups=groups), "spatial_groupnorm", seed=2)
    assert result["forward"]["status"] == "mismatch" and sentence in result["forward"]["message"]
    right = check_pair(_student(), "spatial_groupnorm", seed=2)
    assert right["forward"]["message"] is None


@pytest.mark.parametrize("axes, said", [("(2, 3)", "summed over H, W but not over N"),
                                        ("0", "summed over N but not over H, W")])
def test_dgamma_not_summed_over_every_axis_is_named(axes, said):
    result = check_pair(_student(axes=axes), "spatial_groupnorm", seed=2)
    assert not result["passed"]
    (problem,) = [p for p in result["problems"] if "dgamma of shape" in p]
    assert said in problem and "axis=(0, 2, 3), keepdims=True" in problem


def test_dgamma_summed_over_the_wrong_axes_is_not_called_a_partial_sum():
    """A dgamma of shape (N, C, 1, 1) that is not the sum over H and W of anything right is not named."""
    module = _student(axes="(2, 3)")
    source_backward = module.spatial_groupnorm_backward

    def backward(dout, cache):
        dx, dgamma, dbeta = source_backward(dout, cache)
        return dx, 2 * dgamma, dbeta

    module.spatial_groupnorm_backward = backward
    result = check_pair(module, "spatial_groupnorm", seed=2)
    (problem,) = [p for p in result["problems"] if "dgamma of shape" in p]
    assert "summed over" not in problem


def test_mathnn_check_names_the_mistake_in_a_sandbox(tmp_path, capsys):
    from mathnn.gradcheck.runner import main

    path = tmp_path / "layers.py"
    path.write_text(textwrap.dedent(STUDENT.format(**{**RIGHT, "dx": "(g - g.mean(axis=2, keepdims=True))"})))
    assert main([str(path), "--seed", "4", "--json"]) == 1
    (result,) = json.loads(capsys.readouterr().out)["functions"]
    assert result["name"] == "spatial_groupnorm"
    assert [g["name"] for g in result["gradients"] if not g["passed"]] == ["dx"]
    assert "dx misses the path through the group variance σ²" in result["diagnosis"]
