"""Diagnoses learned from real homework: starter code, a stray size-1 axis, a backward that ignores its
upstream gradient, and an RNN error located in time.

Each test checks a small student file in this process (:func:`check_pair` on a module), and a few go
through the sandboxed runner to see the ``--json`` and Gradescope documents say the same one line.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from mathnn.gradcheck.homework import check_pair
from mathnn.gradcheck.runner import check_file, to_gradescope, to_json

STARTER = "not implemented yet (still the starter code?)"

CORRECT_AFFINE = """
import numpy as np

def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)
"""
CORRECT_AFFINE_BACKWARD = """
def affine_backward(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)
"""


def _module(tmp_path: Path, *sources: str) -> ModuleType:
    path = tmp_path / "hw.py"
    path.write_text("".join(textwrap.dedent(source) for source in sources))
    module = ModuleType("hw")
    module.__file__ = str(path)
    exec(compile(path.read_text(), str(path), "exec"), module.__dict__)
    return module


def gradients(result: dict) -> dict[str, dict]:
    return {gradient["name"]: gradient for gradient in result["gradients"]}


# -- 1. starter code ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("forward", "backward", "function", "how"), [
    ("def affine_forward(x, w, b):\n    raise NotImplementedError\n", CORRECT_AFFINE_BACKWARD,
     "affine_forward", "it raises NotImplementedError at hw.py:2"),
    (CORRECT_AFFINE, "def affine_backward(dout, cache):\n    raise NotImplementedError('TODO')\n",
     "affine_backward", "it raises NotImplementedError at hw.py:7"),
    ("def affine_forward(x, w, b):\n    pass\n", CORRECT_AFFINE_BACKWARD, "affine_forward", "it returns None"),
    ("def affine_forward(x, w, b):\n    out = None\n    return out, (x, w, b)\n", CORRECT_AFFINE_BACKWARD,
     "affine_forward", "it returns None as out"),
    (CORRECT_AFFINE, "def affine_backward(dout, cache):\n    dx, dw, db = None, None, None\n    return dx, dw, db\n",
     "affine_backward", "it returns None"),
    (CORRECT_AFFINE, "def affine_backward(dout, cache):\n    x, w, b = cache\n    return dout @ w.T, None, None\n",
     "affine_backward", "it returns None as dw and db"),
])
def test_starter_code_is_said_once_as_not_implemented(forward, backward, function, how, tmp_path):
    result = check_pair(_module(tmp_path, forward, backward), "affine")
    assert result["passed"] is False
    assert result["error"]["kind"] == "starter code"
    assert result["diagnosis"] == f"{function} is {STARTER}: {how}"


def test_starter_code_is_one_line_in_json_and_gradescope(tmp_path):
    path = tmp_path / "layers.py"
    path.write_text(textwrap.dedent(CORRECT_AFFINE) + textwrap.dedent("""
        def affine_backward(dout, cache):
            raise NotImplementedError

        def relu_forward(x):
            out = None
            return out, x

        def relu_backward(dout, cache):
            return None
        """))
    summary = check_file(path, timeout=5, seed=0)
    document = json.loads(json.dumps(to_json(summary)))
    functions = {function["name"]: function for function in document["functions"]}
    assert functions["affine"]["diagnosis"] == f"affine_backward is {STARTER}: it raises NotImplementedError at layers.py:8"
    assert functions["relu"]["diagnosis"] == f"relu_forward is {STARTER}: it returns None as out"
    assert all(function["error"]["kind"] == "starter code" for function in functions.values())
    for test in to_gradescope(summary)["tests"]:
        header, *lines = test["output"].splitlines()
        assert test["score"] == 0.0 and header.endswith("FAILED")
        assert len(lines) == 1 and STARTER in lines[0]


# -- 2. shapes that differ only by size-1 axes ---------------------------------------------------------

IN_PLACE = ("the values are right, but an update in place (w -= learning_rate * dw, as CS231n's sgd does) raises "
            "on this shape")


@pytest.mark.parametrize(("pair", "source", "message"), [
    ("affine", CORRECT_AFFINE + """
def affine_backward(dout, cache):
    x, w, b = cache
    db = np.sum(dout, axis=0, keepdims=True)
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, db
""", "db has shape (1, 4) where (4,) is expected; " + IN_PLACE + ": drop keepdims=True or reshape"),
    ("rnn_step", """
from mathnn.gradcheck.examples.correct import rnn_step_forward, rnn_step_backward as right

def rnn_step_backward(dnext_h, cache):
    dx, dprev_h, dWx, dWh, db = right(dnext_h, cache)
    return dx, dprev_h, dWx, dWh, db[:, None]
""", "db has shape (5, 1) where (5,) is expected; " + IN_PLACE + ": drop keepdims=True or reshape"),
])
def test_a_gradient_with_a_stray_size_one_axis_is_named_once(pair, source, message, tmp_path):
    result = check_pair(_module(tmp_path, source), pair)
    assert result["passed"] is False
    assert not gradients(result)["db"]["passed"]  # a shape bug is a bug: broadcasting breaks later
    assert result["diagnosis"].splitlines()[0] == message
    assert result["diagnosis"].count("db") == 1 and "inf" not in result["diagnosis"]


def test_a_stray_size_one_axis_with_wrong_values_says_both(tmp_path):
    result = check_pair(_module(tmp_path, CORRECT_AFFINE, """
        def affine_backward(dout, cache):
            x, w, b = cache
            db = 2 * np.sum(dout, axis=0, keepdims=True)
            return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, db
        """), "affine")
    lines = result["diagnosis"].splitlines()
    assert lines[0] == "db has shape (1, 4) where (4,) is expected, and its values are also wrong: max relative " \
        "error 5.00e-01 (pass mark 1e-09, complex step)"
    assert "db is off by a constant factor: yours = 2 × the true gradient" in lines[1]
    assert "inf" not in result["diagnosis"]


def test_a_shape_that_differs_in_size_is_still_a_shape_error(tmp_path):
    result = check_pair(_module(tmp_path, CORRECT_AFFINE, """
        def affine_backward(dout, cache):
            x, w, b = cache
            return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=1)
        """), "affine")
    assert "affine_backward returned db of shape (3,); expected (4,), the shape of b" in result["problems"]


def test_a_gradient_missing_its_size_one_axes_is_told_to_keep_them(tmp_path):
    """Group norm's dgamma summed without keepdims is (C,) for gamma (1, C, 1, 1): keepdims is missing, not extra."""
    result = check_pair(_module(tmp_path, """
        from mathnn.gradcheck.examples.correct import spatial_groupnorm_forward, spatial_groupnorm_backward as right

        def spatial_groupnorm_backward(dout, cache):
            dx, dgamma, dbeta = right(dout, cache)
            return dx, dgamma.ravel(), dbeta
        """), "spatial_groupnorm", seed=0)
    assert result["passed"] is False and not gradients(result)["dgamma"]["passed"]
    channels = result["points"][0]["shapes"]["gamma"][1]
    assert result["diagnosis"].splitlines()[0] == (
        f"dgamma has shape ({channels},) where (1, {channels}, 1, 1) is expected; {IN_PLACE}: "
        f"sum with keepdims=True or reshape to (1, {channels}, 1, 1)")
    assert "drop keepdims" not in result["diagnosis"] and "inf" not in result["diagnosis"]


@pytest.mark.parametrize(("shape", "expected", "advice"), [
    ((1, 4), (4,), "drop keepdims=True or reshape"),
    ((4,), (1, 4, 1, 1), "sum with keepdims=True or reshape to (1, 4, 1, 1)"),
    ((4, 1), (1, 4), "reshape to (1, 4)"),
])
def test_the_advice_for_a_stray_size_one_axis_follows_which_axes_are_stray(shape, expected, advice):
    from mathnn.gradcheck.probes import shape_sentence

    assert shape_sentence("dw", shape, expected, values_right=True) == (
        f"dw has shape {shape} where {expected} is expected; {IN_PLACE}: {advice}")


# -- 3. linearity in the upstream gradient -------------------------------------------------------------

@pytest.mark.parametrize(("pair", "source", "sentence"), [
    ("relu", """
import numpy as np

def relu_forward(x):
    return np.maximum(0, x), x

def relu_backward(dout, cache):
    return (cache > 0).astype(float)
""", "your backward ignores dout: relu_backward returns the same dx when dout is doubled or zero"),
    ("rnn_step", """
from mathnn.gradcheck.examples.correct import rnn_step_forward, rnn_step_backward as right
import numpy as np

def rnn_step_backward(dnext_h, cache):
    return right(np.ones_like(dnext_h), cache)
""", "your backward ignores dnext_h: rnn_step_backward returns the same dx, dprev_h, dWx, dWh, db when dnext_h is "
     "doubled or zero"),
    ("relu", """
import numpy as np

def relu_forward(x):
    return np.maximum(0, x), x

def relu_backward(dout, cache):
    return dout * (cache > 0) + 0.1
""", "relu_backward returns a nonzero dx when dout is zero"),
    ("relu", """
import numpy as np

def relu_forward(x):
    return np.maximum(0, x), x

def relu_backward(dout, cache):
    return dout ** 2 * (cache > 0)
""", "relu_backward is not linear in dout: doubling dout does not double dx"),
])
def test_a_backward_that_is_not_linear_in_its_upstream_gradient_is_named(pair, source, sentence, tmp_path):
    result = check_pair(_module(tmp_path, source), pair)
    assert result["passed"] is False
    assert sum(sentence in line for line in result["diagnosis"].splitlines()) == 1


def test_linearity_is_not_reported_for_a_correct_backward_nor_for_a_plain_wrong_one(tmp_path):
    right = check_pair(_module(tmp_path, CORRECT_AFFINE, CORRECT_AFFINE_BACKWARD), "affine")
    assert right["passed"] is True
    wrong = check_pair(_module(tmp_path, CORRECT_AFFINE, """
        def affine_backward(dout, cache):
            x, w, b = cache
            return (dout @ w.T).reshape(x.shape), 2 * x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)
        """), "affine")
    assert wrong["passed"] is False and "linear" not in wrong["diagnosis"] and "ignores" not in wrong["diagnosis"]


def test_linearity_probes_give_the_backward_a_fresh_cache(tmp_path):
    # a backward that empties its cache works once per forward call; the probes must not trip it
    result = check_pair(_module(tmp_path, """
        import numpy as np

        def relu_forward(x):
            return np.maximum(0, x), [x]

        def relu_backward(dout, cache):
            x = cache.pop()
            return dout * (x > 0)
        """), "relu")
    assert result["passed"] is True, result["diagnosis"]


# -- 4. an RNN error located in time -------------------------------------------------------------------

@pytest.mark.parametrize(("change", "sentence"), [
    ("dx[:, 2] *= 1 + 1e-7", "dx over time: wrong only at the last step, t = 2"),
    ("dx[:, 2] *= 2", "dx over time: wrong only at the last step, t = 2"),
    ("dx[:, 1] *= 2", "dx over time: right for steps after t = 1, wrong at t = 1"),
])
def test_an_rnn_error_is_located_in_time_even_at_the_last_step(change, sentence, tmp_path):
    result = check_pair(_module(tmp_path, f"""
        from mathnn.gradcheck.examples.correct import rnn_forward, rnn_backward as right

        def rnn_backward(dh, cache):
            dx, dh0, dWx, dWh, db = right(dh, cache)
            {change}
            return dx, dh0, dWx, dWh, db
        """), "rnn")
    assert result["passed"] is False and result["points"][0]["shapes"]["x"][1] == 3  # T = 3
    assert [g["name"] for g in result["gradients"] if not g["passed"]] == ["dx"]
    assert sentence in result["diagnosis"]


# -- right values are never failed on a technicality ---------------------------------------------------

@pytest.mark.parametrize(("db", "passes"), [
    ("np.sum(dout, axis=0).astype(np.float32)", True),  # float32's rounding, nothing else
    ("np.sum(dout, axis=0).astype(np.float32)[::-1][::-1]", True),  # a float32 view
    ("(np.sum(dout, axis=0) * (1 + 1e-3)).astype(np.float32)", False),  # a real error, beyond float32's mark
])
def test_a_float32_gradient_of_a_float64_layer_is_judged_at_float32s_pass_mark(db, passes, tmp_path):
    result = check_pair(_module(tmp_path, CORRECT_AFFINE, f"""
        def affine_backward(dout, cache):
            x, w, b = cache
            return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, {db}
        """), "affine")
    assert result["passed"] is passes, result["diagnosis"]
    checks = gradients(result)
    assert checks["db"]["tolerance"] == 1e-4 and checks["dx"]["tolerance"] == 1e-9


@pytest.mark.parametrize("returned", ["(dout * (cache > 0)).tolist()", "[dout * (cache > 0)]"])
def test_the_one_gradient_returned_as_a_list_passes(returned, tmp_path):
    result = check_pair(_module(tmp_path, f"""
        import numpy as np

        def relu_forward(x):
            return np.maximum(0, x), x

        def relu_backward(dout, cache):
            return {returned}
        """), "relu")
    assert result["passed"] is True, result["diagnosis"]
