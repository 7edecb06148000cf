"""Batch norm's running averages and test mode are checked, and their classic mistakes named."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

from mathnn.gradcheck import worker as wire
from mathnn.gradcheck.homework import PAIRS
from mathnn.gradcheck.runner import check_file, format_text, to_gradescope
from mathnn.gradcheck.student import Described, StudentCode, in_process

#: A complete CS231n batch norm; each mistake below replaces one of its marked lines.
HOMEWORK = '''
import numpy as np


def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    running_mean = bn_param.get("running_mean", np.zeros(x.shape[1], dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(x.shape[1], dtype=x.dtype))
    if mode == "train":
        mu, var = x.mean(axis=0), x.var(axis=0)
        std = np.sqrt(var + eps)
        xhat = (x - mu) / std
        out, cache = gamma * xhat + beta, (xhat, gamma, std)
        running_mean = momentum * running_mean + (1 - momentum) * mu  # MEAN
        running_var = momentum * running_var + (1 - momentum) * var  # VAR
    else:
        out, cache = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta, None  # TEST
    bn_param["running_mean"] = running_mean  # STORE
    bn_param["running_var"] = running_var
    return out, cache


def batchnorm_backward(dout, cache):
    xhat, gamma, std = cache
    n = dout.shape[0]
    dgamma, dbeta = (dout * xhat).sum(axis=0), dout.sum(axis=0)
    return gamma / (n * std) * (n * dout - dbeta - xhat * dgamma), dgamma, dbeta
'''

RIGHT_MEAN = "running_mean = momentum * running_mean + (1 - momentum) * mu  # MEAN"
RIGHT_VAR = "running_var = momentum * running_var + (1 - momentum) * var  # VAR"
RIGHT_TEST = "out, cache = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta, None  # TEST"
RIGHT_STORE = 'bn_param["running_mean"] = running_mean  # STORE\n    bn_param["running_var"] = running_var'

MISTAKES = {
    "momentum the wrong way round": (
        {RIGHT_MEAN: "running_mean = (1 - momentum) * running_mean + momentum * mu",
         RIGHT_VAR: "running_var = (1 - momentum) * running_var + momentum * var"},
        "bn_param['running_mean'] and bn_param['running_var'] differ from mathnn.layers.batchnorm_forward's after "
        "a train-mode call (running averages given, momentum 0.8): max relative error",
        "the momentum is applied the wrong way round"),
    "never updated": (
        {RIGHT_MEAN: "pass", RIGHT_VAR: "pass"}, "bn_param['running_mean'] and bn_param['running_var']",
        "the running averages are not updated"),
    "not written back": (
        {RIGHT_STORE: "pass"}, "bn_param has no 'running_mean' and no 'running_var' after a train-mode call",
        "must write the updated running averages back"),
    "unbiased variance": (
        {RIGHT_VAR: "running_var = momentum * running_var + (1 - momentum) * x.var(axis=0, ddof=1)"},
        "bn_param['running_var'] differs from", "updated with the unbiased variance"),
    "momentum hard-coded": (
        {RIGHT_MEAN: "running_mean = 0.9 * running_mean + 0.1 * mu",
         RIGHT_VAR: "running_var = 0.9 * running_var + 0.1 * var"},
        "bn_param['running_mean'] and bn_param['running_var']", "bn_param['momentum'] (0.8 here) is ignored"),
    "running_var starting at ones": (
        {'running_var = bn_param.get("running_var", np.zeros(x.shape[1], dtype=x.dtype))':
         'running_var = bn_param.get("running_var", np.ones(x.shape[1]))'},
        "bn_param['running_var'] differs from mathnn.layers.batchnorm_forward's after a train-mode call (no running "
        "averages given)", "with none given they start at zeros of shape (D,), and momentum defaults to 0.9"),
    "test mode with batch statistics": (
        {RIGHT_TEST: "out, cache = gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + beta, None"},
        "batchnorm_forward's output in test mode (bn_param['mode'] = 'test') differs from "
        "mathnn.layers.batchnorm_forward's", "test mode normalizes with the batch's own statistics"),
    "test mode without eps": (
        {RIGHT_TEST: "out, cache = gamma * (x - running_mean) / np.sqrt(running_var) + beta, None"},
        "output in test mode", "test mode leaves out ε"),
    "test mode without gamma and beta": (
        {RIGHT_TEST: "out, cache = (x - running_mean) / np.sqrt(running_var + eps), None"},
        "output in test mode", "test mode leaves out gamma and beta"),
    "test mode not written": (
        {RIGHT_TEST: "raise NotImplementedError"},
        "batchnorm_forward in test mode (bn_param['mode'] = 'test') is not implemented yet (still the starter code?)",
        "it raises NotImplementedError at student.py:19"),
    "test mode raises": (
        {RIGHT_TEST: 'raise ValueError("mode")'}, "batchnorm_forward in test mode (bn_param['mode'] = 'test') raised",
        "ValueError: mode at student.py:19: raise ValueError(\"mode\")"),
    "running averages with keepdims": (
        {RIGHT_MEAN: "running_mean = momentum * running_mean + (1 - momentum) * x.mean(axis=0, keepdims=True)"},
        "bn_param['running_mean'] has shape (1, 5) after a train-mode call", "expected (5,)"),
}


def _homework(changes: dict[str, str], float32: bool = False) -> str:
    source = HOMEWORK
    for right, wrong in changes.items():
        assert right in source
        source = source.replace(right, wrong)
    if float32:  # computes in float32 throughout, running averages included
        source = source.replace('    mode = bn_param["mode"]\n', '    mode = bn_param["mode"]\n'
                                '    x, gamma, beta = (np.asarray(a, dtype=np.float32) for a in (x, gamma, beta))\n')
        source = source.replace("eps = bn_param.get(\"eps\", 1e-5)", "eps = np.float32(bn_param.get(\"eps\", 1e-5))")
        source = source.replace('momentum = bn_param.get("momentum", 0.9)',
                                'momentum = np.float32(bn_param.get("momentum", 0.9))')
        source = source.replace("    if mode == \"train\":", "    running_mean, running_var = (np.asarray(a, dtype=np.float32) "
                                "for a in (running_mean, running_var))\n    if mode == \"train\":")
    return source


def _check(tmp_path, source: str, points: int = 3) -> dict:
    path = tmp_path / "student.py"
    path.write_text(textwrap.dedent(source))
    return check_file(path, functions=["batchnorm"], seed=3, timeout=20, points=points)


@pytest.mark.parametrize("float32", [False, True])
def test_a_correct_batch_norm_passes_with_its_running_averages_and_test_mode(tmp_path, float32):
    summary = _check(tmp_path, _homework({}, float32))
    (result,) = summary["functions"]
    assert result["passed"] is True, result["diagnosis"]
    if float32:
        assert result["forward"]["tolerance"] == 1e-4


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_each_classic_mistake_fails_and_is_named_in_one_line(tmp_path, mistake):
    changes, start, named = MISTAKES[mistake]
    summary = _check(tmp_path, _homework(changes), points=1)  # the first point has these checks
    (result,) = summary["functions"]
    assert result["passed"] is False and result["error"] is None
    lines = [line for line in result["problems"] if start in line]
    assert len(lines) == 1 and named in lines[0], result["problems"]
    assert len(result["problems"]) == 1 and "\n" not in lines[0]  # one finding, one line
    assert f"  {lines[0]}" in format_text(summary).splitlines()
    assert lines[0] in json.loads(json.dumps(summary))["functions"][0]["problems"]
    assert lines[0] in to_gradescope(summary)["tests"][0]["output"]


def test_the_settings_dict_comes_back_only_as_float_arrays_numbers_and_descriptions():
    def batchnorm_forward(x, gamma, beta, bn_param):
        bn_param.update(running_mean=np.ones(x.shape[1], dtype=np.float32), running_var=[1.0, 2.0],
                        big=np.zeros(wire.SETTINGS_SIZE + 1), nan=float("nan"), huge=10**400, flag=True,
                        ints=np.arange(3), scalar=np.float64(0.5))
        bn_param[("not", "a", "string")] = np.ones(2)
        return x, None

    module = type(textwrap)("homework")
    module.batchnorm_forward = batchnorm_forward  # type: ignore[attr-defined]
    pair = PAIRS["batchnorm"]
    values = pair.test_inputs(0)
    values["bn_param"] = {"mode": "train", "running_mean": np.zeros(5)}  # a dict with arrays travels too
    _, settled = StudentCode(in_process(module), pair).forward_settings(values, "bn_param")
    assert settled["running_mean"].dtype == np.float32 and settled["scalar"] == 0.5 and settled["mode"] == "a str"
    assert {key: value for key, value in settled.items() if isinstance(value, Described)} == {
        "mode": "a str", "running_var": "a list of 2 item(s)", "big": f"an array of shape ({wire.SETTINGS_SIZE + 1},)",
        "nan": "the number nan", "huge": "the number inf", "flag": "a bool", "ints": "an array of shape (3,)"}
    assert set(settled) == {"mode", "running_mean", "running_var", "big", "nan", "huge", "flag", "ints", "scalar"}


@pytest.mark.parametrize("settings, arrays", [
    ({"running_mean": {"array": 0}, "running_var": {"array": 0}}, [np.zeros(3)]),  # one array used twice
    ({"running_mean": {"array": 0}}, [np.zeros(3, dtype=np.int64)]),
    ({"running_mean": {"value": 10**400}}, []),
    ({"running_mean": {"value": "1"}}, []),
    ({"x" * (wire.SETTINGS_KEY + 1): {"value": 1.0}}, []),
    ({f"k{i}": {"value": 1.0} for i in range(wire.SETTINGS_ENTRIES + 1)}, []),
])
def test_a_forged_settings_answer_is_a_protocol_error(settings, arrays):
    pair = PAIRS["batchnorm"]
    values = pair.test_inputs(0)

    def transport(header: dict, sent: list, stage: str) -> tuple[dict, list]:
        return {"settings": settings}, [np.zeros(values["x"].shape), *sent[:3], *arrays]

    with pytest.raises(wire.ProtocolError):
        StudentCode(transport, pair).forward_settings(values, "bn_param")
