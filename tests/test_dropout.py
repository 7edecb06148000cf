"""Inverted dropout: the rule and its proof, the generated kernels, CS231n's functions, and the homework check."""

from __future__ import annotations

import dataclasses
import textwrap
import types

import numpy as np
import pytest

from mathnn.errors import InputError
from mathnn.gradcheck.dropout_check import KEEP_SHAPE, SIGMAS, structure
from mathnn.gradcheck.homework import PAIRS, check_pair
from mathnn.layers import DropoutCache, dropout_backward, dropout_forward
from mathnn.rules import get
from mathnn.rules.dropout import dout, mask, x
from mathnn.verify import verify

# -- the rule ------------------------------------------------------------------------------------------


def test_the_rule_is_proven_entry_by_entry_and_its_mistakes_refuted(proofs):
    proof = proofs["dropout"]
    assert proof.holds, str(proof)
    statements = [claim.statement for claim in proof.claims]
    assert sum("equals the closed form dout*mask" in s for s in statements) == 2  # at both proof sizes
    assert any("'mask ignored' gives a different" in s for s in statements)
    assert any("'no 1/p in dx' gives a different" in s for s in statements)


@pytest.mark.parametrize("wrong", [dout, dout * mask * mask, dout * x])
def test_a_wrong_closed_form_fails_the_proof(wrong):
    rule = get("dropout")
    # the kernels are cached on the instance: a replaced rule builds its own from the wrong closed form
    proof = dataclasses.replace(rule, closed_forms={x: wrong}).prove()
    assert not proof.holds
    failing = [claim.statement for claim in proof.claims if not claim.holds]
    assert failing and all("closed form" in statement for statement in failing)


def test_a_mistake_equal_to_the_gradient_is_not_refuted():
    rule = get("dropout")
    mistake = dataclasses.replace(rule.mistakes[0], closed=dout * mask)
    proof = dataclasses.replace(rule, mistakes=(mistake,)).prove()
    assert not proof.holds


def test_the_kernels_pass_the_numeric_check():
    report = verify(get("dropout"), cache=False)
    assert report.passed
    assert report.max_complex <= 1e-13
    assert {tuple(check.params.items()) for check in report.checks} == {
        (("N", 4), ("D", 5)), (("N", 1), ("D", 1)), (("N", 3), ("D", 7))}


def test_a_wrong_backward_kernel_fails_the_numeric_check(monkeypatch):
    from mathnn.kernels import dropout as kernels

    monkeypatch.setattr(kernels, "dropout_backward_kernel", lambda dout, mask: dout * np.sign(mask))
    report = verify(get("dropout"))
    assert not report.passed


# -- CS231n's functions ---------------------------------------------------------------------------------

P = {"p": 0.4, "mode": "train", "seed": 7}


def test_the_seeded_mask_is_cs231ns_and_leaves_numpys_global_state_alone():
    x = np.random.default_rng(0).standard_normal((6, 9))
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    out, cache = dropout_forward(x, dict(P))
    assert np.array_equal(np.random.get_state()[1], before)

    np.random.seed(P["seed"])
    expected = (np.random.rand(*x.shape) < P["p"]) / P["p"]  # CS231n's own lines
    assert np.array_equal(out, x * expected)
    assert np.array_equal(cache.mask, expected)


def test_without_a_seed_the_mask_comes_from_numpys_global_state():
    x = np.ones((5, 5))
    np.random.seed(3)
    first, _ = dropout_forward(x, {"p": 0.5, "mode": "train"})
    second, _ = dropout_forward(x, {"p": 0.5, "mode": "train"})
    np.random.seed(3)
    again, _ = dropout_forward(x, {"p": 0.5, "mode": "train"})
    assert np.array_equal(first, again) and not np.array_equal(first, second)


def test_train_mode_keeps_about_p_of_the_entries_scaled_by_one_over_p():
    x = np.full(KEEP_SHAPE, 2.0)
    p = 0.3
    out, _ = dropout_forward(x, {"p": p, "mode": "train", "seed": 1})
    assert set(np.unique(out)) == {0.0, 2.0 / p}
    kept = np.count_nonzero(out)
    assert abs(kept - p * x.size) <= SIGMAS * np.sqrt(x.size * p * (1 - p))


def test_backward_uses_the_forwards_mask_and_test_mode_is_the_identity():
    rng = np.random.default_rng(1)
    x, up = rng.standard_normal((4, 6)), rng.standard_normal((4, 6))
    out, cache = dropout_forward(x, dict(P))
    assert np.array_equal(dropout_backward(up, cache), up * cache.mask)
    assert np.array_equal(out, x * cache.mask)

    out, cache = dropout_forward(x, {**P, "mode": "test"})
    assert np.array_equal(out, x) and out is not x
    assert cache.mask is None and np.array_equal(dropout_backward(up, cache), up)


def test_p_equal_to_one_keeps_everything():
    x = np.arange(6.0).reshape(2, 3)
    out, cache = dropout_forward(x, {"p": 1, "mode": "train", "seed": 0})
    assert np.array_equal(out, x)
    assert np.array_equal(dropout_backward(np.ones_like(x), cache), np.ones_like(x))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_dtype_of_x_is_kept(dtype):
    x = np.ones((3, 4), dtype=dtype)
    out, cache = dropout_forward(x, dict(P))
    assert out.dtype == dtype and cache.mask.dtype == dtype
    assert dropout_backward(np.ones((3, 4), dtype=dtype), cache).dtype == dtype


@pytest.mark.parametrize("param, words", [
    ({"p": 0.0, "mode": "train"}, 'dropout_param["p"]: expected a keep probability in (0, 1]'),
    ({"p": 1.5, "mode": "train"}, "received 1.5"),
    ({"p": "0.5", "mode": "train"}, 'dropout_param["p"]: expected a finite real number'),
    ({"p": float("nan"), "mode": "train"}, 'dropout_param["p"]'),
    ({"p": 0.5, "mode": "eval"}, 'dropout_param["mode"]: expected "train" or "test"; received str \'eval\''),
    ({"mode": "train"}, 'dropout_param: missing key "p"'),
    ({"p": 0.5}, 'dropout_param: missing key "mode"'),
    ({"p": 0.5, "mode": "train", "seed": -1}, 'dropout_param["seed"]: expected None or an integer in [0, 2**32 - 1]'),
    ({"p": 0.5, "mode": "train", "seed": 1.5}, "received float 1.5"),
    ({"p": 0.5, "mode": "train", "seed": True}, "received bool True"),
    ([0.5, "train"], 'dropout_param: expected a dict with keys "p"'),
])
def test_bad_dropout_param_is_refused_in_one_line(param, words):
    with pytest.raises(InputError) as raised:
        dropout_forward(np.ones((2, 2)), param)
    assert words in str(raised.value) and "\n" not in str(raised.value)


def test_bad_backward_arguments_are_refused():
    _, cache = dropout_forward(np.ones((2, 3)), dict(P))
    with pytest.raises(InputError, match=r"dout: expected shape \(2, 3\)"):
        dropout_backward(np.ones((3, 2)), cache)
    with pytest.raises(InputError, match="cache: expected the cache returned by dropout_forward"):
        dropout_backward(np.ones((2, 3)), (P, cache.mask))
    with pytest.raises(InputError, match="x: expected a number or an array of numbers"):
        dropout_forward("x", dict(P))
    assert isinstance(cache, DropoutCache)


# -- the homework check ----------------------------------------------------------------------------------

STUDENT = '''
import numpy as np


def dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    {seed}
    mask = None
    if mode == "train":
        mask = {mask}
        out = {train}
    else:
        out = {test}
    return out, (dropout_param, mask)


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    p = dropout_param["p"]
    if dropout_param["mode"] == "test":
        return dout
    return {backward}
'''
RIGHT = {"seed": 'if "seed" in dropout_param: np.random.seed(dropout_param["seed"])',
         "mask": "(np.random.rand(*x.shape) < p) / p", "train": "x * mask", "test": "x", "backward": "dout * mask"}

#: Correct files written the ways students write them: none may fail on a technicality.
CORRECT = {
    "cs231n": {},
    "binomial and a bool mask": {"mask": "np.random.binomial(1, p, size=x.shape).astype(bool)",
                                 "train": "x * mask / p", "backward": "dout * mask / p"},
    "a RandomState of its own": {"seed": "rng = np.random.RandomState(dropout_param.get('seed'))",
                                 "mask": "(rng.uniform(size=x.shape) < p).astype(x.dtype) / p"},
    "float32": {"train": "(x * mask).astype(np.float32)", "backward": "(dout * mask).astype(np.float32)"},
    "the division in the product": {"mask": "np.random.rand(*x.shape) < p", "train": "x * mask / p",
                                    "backward": "dout * mask / p"},
}

#: Each bug and the words the check names it with.
BUGS = {
    "p as the drop probability": ({"mask": "(np.random.rand(*x.shape) >= p) / (1 - p)"},
                                  "as the probability of dropping an entry", "since 2017"),
    "no 1/p in train mode": ({"mask": "np.random.rand(*x.shape) < p"}, "without the 1/p scale", "equal x"),
    "test mode scaled by p": ({"test": "x * p"}, "test mode", "scales x by p"),
    "test mode still drops": ({"test": "x * (np.random.rand(*x.shape) < p) / p"}, "test mode", "still drops"),
    "the seed ignored": ({"seed": "pass"}, "the seed is ignored", "np.random.seed"),
    "rand > p": ({"mask": "(np.random.rand(*x.shape) > p) / p"}, "probability 1 - p", "binomial standard deviations"),
    "a seed fixed in the code": ({"seed": "np.random.seed(0)"}, "does not depend on the seed given", "new mask"),
    "a mask drawn again in the backward": ({"backward": "dout * (np.random.rand(*dout.shape) < p) / p"},
                                           "a mask other than the one dropout_forward used", "keep the forward's mask"),
    "the mask ignored in the backward": ({"backward": "dout"}, "ignores the mask", "dx = dout * mask"),
    "no 1/p in the backward": ({"backward": "dout * (mask > 0)"}, "without the 1/p scale", "dout / p"),
}


def _student(change: dict) -> types.ModuleType:
    module = types.ModuleType("student_dropout")
    exec(STUDENT.format(**{**RIGHT, **change}), module.__dict__)
    return module


def _said(result: dict) -> str:
    return "\n".join([result["diagnosis"] or "", *(g.get("diagnosis") or "" for g in result["gradients"])])


def test_the_check_passes_p_and_a_seed_in_train_mode():
    inputs = PAIRS["dropout"].test_inputs()
    assert inputs["dropout_param"] == {"mode": "train", "p": 0.3, "seed": 231}
    assert 1 - inputs["dropout_param"]["p"] != inputs["dropout_param"]["p"]  # else p and 1 − p look alike


@pytest.mark.parametrize("style", sorted(CORRECT))
def test_a_correct_dropout_passes(style):
    result = check_pair(_student(CORRECT[style]), "dropout", seed=0)
    assert result["passed"], result["diagnosis"]


def test_a_correct_random_mask_passes_at_every_seed():
    """The keep fraction is judged at 5 binomial standard deviations: a right mask from another stream
    than mathnn's (np.random.binomial) must pass whatever the seed."""
    module = _student(CORRECT["binomial and a bool mask"])
    failed = [seed for seed in range(25) if not check_pair(module, "dropout", seed=seed, points=1)["passed"]]
    assert failed == []


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_each_bug_fails_and_is_named(bug):
    change, *words = BUGS[bug]
    result = check_pair(_student(change), "dropout", seed=0)
    assert not result["passed"]
    said = _said(result)
    for word in words:
        assert word in said, said


def test_structure_tells_the_kinds_of_output_apart():
    x = np.random.default_rng(2).standard_normal((20, 30))
    keep = np.random.default_rng(3).random(x.shape) < 0.3
    assert structure(x, x * keep / 0.3, 0.3, np.dtype(np.float64))[0] == "inverted"
    assert structure(x, (x * keep / 0.3).astype(np.float32), 0.3, np.dtype(np.float32))[0] == "inverted"
    assert structure(x, x * keep, 0.3, np.dtype(np.float64))[0] == "unscaled"
    assert structure(x, x * keep / 0.7, 0.3, np.dtype(np.float64))[0] == "drop probability"
    assert structure(x, x * keep / 0.3 + 1e-3, 0.3, np.dtype(np.float64))[0] == "other"
    assert structure(x, x * keep / 0.3, 0.3, np.dtype(np.float64))[2] == np.count_nonzero(keep)


def test_the_check_runs_the_student_in_the_sandbox(tmp_path):
    from mathnn.gradcheck.runner import check_file

    path = tmp_path / "student.py"
    path.write_text(textwrap.dedent(STUDENT.format(**{**RIGHT, "mask": "np.random.rand(*x.shape) < p"})))
    (wrong,) = check_file(path, seed=1, timeout=20)["functions"]
    assert not wrong["passed"] and "without the 1/p scale" in wrong["diagnosis"]
    path.write_text(textwrap.dedent(STUDENT.format(**RIGHT)))
    (right,) = check_file(path, seed=1, timeout=20)["functions"]
    assert right["name"] == "dropout" and right["passed"], right["diagnosis"]


@pytest.mark.parametrize("example", ["correct", "correct_float32"])
def test_the_correct_examples_pass_dropout(example):
    from mathnn.gradcheck.examples import example_path
    from mathnn.gradcheck.runner import check_file

    summary = check_file(example_path(example), seed=0, timeout=20, functions=["dropout"])
    assert summary["passed"], [r["diagnosis"] for r in summary["functions"]]


def test_a_float32_backward_mistake_is_named_too():
    """The mask is read from a float32 forward's finite differences, with float32's rounding."""
    change = {"train": "(x * mask).astype(np.float32)",
              "backward": "(dout * (np.random.rand(*dout.shape) < p) / p).astype(np.float32)"}
    result = check_pair(_student(change), "dropout", seed=2)
    assert not result["passed"]
    assert "a mask other than the one dropout_forward used" in _said(result)
