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
