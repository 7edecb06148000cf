"""Patterns found in public CS231n homework (2016–2025) that a checker must judge right.

Each test rebuilds one pattern in a few lines of its own: a correct file the checker once failed on a
technicality, or a wrong one it must keep failing. The checks run in this process where they can.
"""

from __future__ import annotations

import ast
import textwrap
import threading
import types

import numpy as np
import pytest

from mathnn.gradcheck.dropout_check import drop_documented
from mathnn.gradcheck.hints import hint
from mathnn.gradcheck.homework import check_pair, error_sentence
from mathnn.gradcheck.runner import check_file, format_text
from mathnn.gradcheck.pairs import PAIRS
from mathnn.gradcheck.student import EVALUATE_BYTES, StudentCode, in_process
from mathnn.gradcheck.torch_check import Source, check_torch_pair, torch_pairs
from mathnn.gradcheck.torch_source import PARSE_LOCK, parse
from mathnn.gradcheck.updates import check_update


def module(source: str, name: str = "student") -> types.ModuleType:
    """A student's module made from ``source`` (run in this process, as the pytest plugin does)."""
    student = types.ModuleType(name)
    exec("import numpy as np\n" + textwrap.dedent(source), student.__dict__)
    return student


# CS231n's optim.py of spring 2017 set `config.setdefault('t', 1)` in adam's starter code; the
# notebook gives t explicitly, so a student who kept that line and wrote the course's update is right.
ADAM_FROM_ONE = """
    def adam(w, dw, config=None):
        if config is None:
            config = {}
        config.setdefault('learning_rate', 1e-3)
        config.setdefault('beta1', 0.9)
        config.setdefault('beta2', 0.999)
        config.setdefault('epsilon', 1e-8)
        config.setdefault('m', np.zeros_like(w))
        config.setdefault('v', np.zeros_like(w))
        config.setdefault('t', 1)
        step = config['t'] + 1
        first = config['beta1'] * config['m'] + (1 - config['beta1']) * dw
        second = config['beta2'] * config['v'] + (1 - config['beta2']) * dw * dw
        first_hat = first / (1 - config['beta1'] ** step)
        second_hat = second / (1 - config['beta2'] ** step)
        config.update(m=first, v=second, t=step)
        return w - config['learning_rate'] * first_hat / (np.sqrt(second_hat) + config['epsilon']), config
"""


def test_adam_counting_steps_from_one_is_accepted_with_a_note():
    result = check_update(module(ADAM_FROM_ONE), "adam")
    assert result["passed"], result["diagnosis"]
    assert any("counts steps from t = 1" in note for note in result["notes"])


def test_adam_from_one_that_never_counts_still_fails():
    frozen = ADAM_FROM_ONE.replace("config.update(m=first, v=second, t=step)", "config.update(m=first, v=second)") \
        .replace("step = config['t'] + 1", "step = config['t']")
    result = check_update(module(frozen), "adam")
    assert not result["passed"]
    assert not any("counts steps from t = 1" in note for note in result["notes"])


# Until early 2017 CS231n's dropout_forward said "We drop each neuron output with probability p"; the
# students of those years kept entries with probability 1 - p and scaled them by 1 / (1 - p).
OLD_DROPOUT = '''
    def dropout_forward(x, dropout_param):
        """Inverted dropout.

        - p: Dropout parameter. We drop each neuron output with probability p.
        """
        p, mode = dropout_param['p'], dropout_param['mode']
        if 'seed' in dropout_param:
            np.random.seed(dropout_param['seed'])
        mask = None
        if mode == 'train':
            mask = (np.random.rand(*x.shape) >= p) / (1 - p)
            out = x * mask
        else:
            out = x
        return out, (dropout_param, mask)

    def dropout_backward(dout, cache):
        dropout_param, mask = cache
        return dout * mask if dropout_param['mode'] == 'train' else dout
'''
NEW_DOC = "- p: Dropout parameter. We keep each neuron output with probability p."


def test_dropout_with_p_documented_as_the_drop_probability_passes():
    result = check_pair(module(OLD_DROPOUT), "dropout", seed=3)
    assert result["passed"], result["diagnosis"]
    assert "x / (1 - p)" in result["forward"]["reference"]


def test_the_same_dropout_under_the_later_docstring_fails_and_is_named():
    source = OLD_DROPOUT.replace("- p: Dropout parameter. We drop each neuron output with probability p.", NEW_DOC)
    result = check_pair(module(source), "dropout", seed=3)
    assert not result["passed"]
    assert "as the probability of dropping an entry" in result["diagnosis"]


def test_the_lectures_keep_probability_under_the_old_docstring_passes_too():
    # the 2016 lecture's code kept units with probability p while the assignment's docstring dropped them
    source = OLD_DROPOUT.replace("(np.random.rand(*x.shape) >= p) / (1 - p)", "(np.random.rand(*x.shape) < p) / p")
    result = check_pair(module(source), "dropout", seed=3)
    assert result["passed"], result["diagnosis"]


def test_a_mask_and_a_scale_of_different_meanings_fail_under_the_old_docstring():
    source = OLD_DROPOUT.replace("(np.random.rand(*x.shape) >= p) / (1 - p)", "(np.random.rand(*x.shape) < p) / (1 - p)")
    result = check_pair(module(source), "dropout", seed=3)
    assert not result["passed"]
    assert "the mask and the scale must take p in the same meaning" in result["diagnosis"]


def test_a_mask_kept_with_1_minus_p_but_scaled_by_1_over_p_is_told_under_the_old_docstring():
    # the mask follows the docstring's drop probability, the scale the later keep probability
    source = OLD_DROPOUT.replace("(np.random.rand(*x.shape) >= p) / (1 - p)", "(np.random.rand(*x.shape) >= p) / p")
    result = check_pair(module(source), "dropout", seed=3)
    assert not result["passed"]
    assert "as dropout_forward's docstring has p (the drop probability), but scales the kept ones by 1 / p: the " \
        "mask and the scale must take p in the same meaning" in result["diagnosis"]
    assert "since 2017" not in result["diagnosis"]


@pytest.mark.parametrize("doc, drop", [
    ("We drop each neuron output with probability p.", True),
    ("Units: we drop each unit with probability p; the rest are scaled.", True),
    (NEW_DOC, False),
    ("NOTE: p is the probability of **keep** a neuron output; some sources call it the probability of dropping "
     "one. We drop each neuron output with probability p.", False),
    ("", False),
])
def test_the_meaning_of_p_is_read_from_the_docstring(doc, drop):
    assert drop_documented(doc) is drop


# A numpy layers.py that imports torch for one helper (a transposed convolution, say): its numpy losses
# are numpy functions, and the dropout docstring is read from the file, never from running it.
NUMPY_FILE_WITH_TORCH = '''
import numpy as np
import torch


def conv_helper(dout, w):
    return torch.nn.functional.conv_transpose2d(torch.from_numpy(dout), torch.from_numpy(w)).numpy()


def softmax_loss(x, y):
    shifted = x - np.max(x, axis=1, keepdims=True)
    probs = np.exp(shifted) / np.sum(np.exp(shifted), axis=1, keepdims=True)
    n = x.shape[0]
    loss = -np.mean(np.log(probs[np.arange(n), y]))
    dx = probs.copy()
    dx[np.arange(n), y] -= 1
    return loss, dx / n


def gru_step_forward(x, prev_h, Wx, Wh, b, Wx_new, Wh_new, b_new):
    """A GRU of the student's own, with the candidate's weights apart: not mathnn's gru_step_forward."""
    gates = 1 / (1 + np.exp(-(x @ Wx + prev_h @ Wh + b)))
    update, reset = np.split(gates, 2, axis=1)
    candidate = np.tanh(x @ Wx_new + (reset * prev_h) @ Wh_new + b_new)
    return update * prev_h + (1 - update) * candidate, None


def gru_step_backward(dnext_h, cache):
    raise NotImplementedError
''' + textwrap.dedent(OLD_DROPOUT)


@pytest.fixture(scope="module")
def numpy_file_with_torch(tmp_path_factory) -> dict:
    """The file above checked as ``mathnn check`` does, in one sandbox."""
    path = tmp_path_factory.mktemp("layers") / "layers.py"
    path.write_text(NUMPY_FILE_WITH_TORCH)
    return check_file(path, seed=4, points=2)


def test_a_numpy_loss_in_a_file_that_imports_torch_is_checked_as_numpy(numpy_file_with_torch):
    [loss] = [result for result in numpy_file_with_torch["functions"] if result["name"] == "softmax_loss"]
    assert loss["passed"], loss["diagnosis"]
    assert "torch" not in loss


def test_the_sandboxed_check_reads_dropouts_docstring_from_the_file(numpy_file_with_torch):
    [dropout] = [result for result in numpy_file_with_torch["functions"] if result["name"] == "dropout"]
    assert dropout["passed"], dropout["diagnosis"]


def test_a_known_name_called_otherwise_is_listed_not_failed(numpy_file_with_torch):
    assert [result["name"] for result in numpy_file_with_torch["functions"]] == ["softmax_loss", "dropout"]
    assert numpy_file_with_torch["passed"]
    assert numpy_file_with_torch["other_signatures"] == {
        "gru_step_forward(x, prev_h, Wx, Wh, b, Wx_new, Wh_new, b_new)": "gru_step_forward(x, prev_h, Wx, Wh, b)"}
    assert "called otherwise than mathnn's gru_step_forward" in format_text(numpy_file_with_torch)


def test_which_pairs_are_pytorch_follows_what_each_forward_computes_with():
    mixed = ast.parse(textwrap.dedent('''
        import numpy as np
        import torch.nn.functional as F
        def softmax_loss(x, y):
            return np.log(x), x
        def rnn_step_forward(x, h, Wx, Wh, b):
            return F.tanh(x @ Wx + h @ Wh + b)
        def rnn_step_backward(dnext_h, cache):
            return cache
        def temporal_affine_forward(x, w, b):
            return x @ w + b
        def temporal_affine_backward(dout, cache):
            return cache
    '''))
    functions = ["softmax_loss", "rnn_step_forward", "rnn_step_backward", "temporal_affine_forward",
                 "temporal_affine_backward"]
    # numpy's loss stays numpy; torch's step is PyTorch beside its backward; a pair naming neither library,
    # with its backward, stays numpy as before
    assert torch_pairs(functions, mixed) == ["rnn_step"]
    torch_only = ast.parse("import torch\ndef word_embedding_forward(x, W):\n    return W[x]\n"
                           "def word_embedding_backward(dout, cache):\n    return cache\n")
    assert torch_pairs(["word_embedding_forward", "word_embedding_backward"], torch_only) == ["word_embedding"]


def test_a_pytorch_step_still_returning_the_starter_codes_nones_is_called_unfinished():
    import torch  # the test command installs the [torch] extra
    student = types.ModuleType("unfinished_lstm")
    student.torch = torch

    def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
        next_h, next_c = None, None
        return next_h, next_c

    student.lstm_step_forward = lstm_step_forward
    result = check_torch_pair(in_process(student), "lstm_step", 2, points=1, source=Source(None, "", "rnn.py"))
    assert not result["passed"]
    assert result["error"]["kind"] == "starter code", result["diagnosis"]
    assert "not implemented yet" in result["diagnosis"]


@pytest.mark.parametrize("message, advice", [
    # max pooling's backward: row, col = np.where(window == window.max()); dx[..., int(row), int(col)] = ...
    ("only 0-dimensional arrays can be converted to Python scalars", "a[0] or a.item()"),
    # im2col-style indices built with float arithmetic, then np.take(x, indices)
    ("Cannot cast array data from dtype('float64') to dtype('int64') according to the rule 'same_kind'",
     ".astype(int)"),
])
def test_errors_of_files_written_for_an_older_numpy_get_a_hint(message, advice):
    said = hint({"type": "TypeError", "message": message})
    assert said is not None and advice in said
    assert hint({"type": "TypeError", "message": "unsupported operand type(s) for +: 'int' and 'str'"}) is None


def test_a_value_left_none_by_unfinished_code_gets_a_hint():
    # CS231n's 2016 dropout_forward ends with `out = out.astype(x.dtype, copy=False)` after the part to write
    said = hint({"type": "AttributeError", "message": "'NoneType' object has no attribute 'astype'"})
    assert said is not None and "not written yet" in said


def test_adam_without_bias_correction_or_step_count_is_named():
    # three of the surveyed optim.py files (2017, 2018, 2022): m and v kept, t never touched, no correction
    plain = ADAM_FROM_ONE.replace("config.setdefault('t', 1)", "config.setdefault('t', 0)") \
        .replace("first / (1 - config['beta1'] ** step)", "first").replace("second / (1 - config['beta2'] ** step)",
                                                                           "second") \
        .replace("config.update(m=first, v=second, t=step)", "config.update(m=first, v=second)")
    result = check_update(module(plain), "adam")
    assert not result["passed"]
    assert result["mistake"] == "no bias correction, t not counted", result["diagnosis"]


def test_the_checker_parses_one_file_at_a_time(tmp_path):
    # graders check files from several threads, and CPython 3.11's parser breaks when two parse at once
    path = tmp_path / "layers.py"
    path.write_text("def relu_forward(x):\n    return x, x\n")
    trees = []
    with PARSE_LOCK:
        worker = threading.Thread(target=lambda: trees.append(parse(path)))
        worker.start()
        worker.join(0.2)
        assert worker.is_alive() and not trees  # waits for the lock, however fast the machine
    worker.join()
    assert trees and trees[0] is not None


def test_many_points_are_asked_for_in_requests_of_bounded_size():
    # a dx of the wrong shape at the second, larger point is described from the entry-by-entry numeric
    # gradient: tens of thousands of points, which in one message overran the pipe and killed the sandbox
    student = module("def relu_forward(x):\n    return np.maximum(x, 0), x\n\ndef relu_backward(dout, x):\n"
                     "    return dout * (x > 0)\n")
    sizes = []
    local = in_process(student)

    def recording(header, arrays, stage):
        sizes.append(sum(array.nbytes for array in arrays))
        return local(header, arrays, stage)

    code = StudentCode(recording, PAIRS["relu"])
    x = np.random.default_rng(0).standard_normal((100, 100))
    _, _, _ = code.forward({"x": x})
    points = [x + step for step in np.linspace(-1e-3, 1e-3, 600)]
    outputs = code.along({})({"x": x}, "x", points)
    assert len(outputs) == 600 and np.array_equal(outputs[-1], np.maximum(points[-1], 0))
    assert len(sizes) > 2 and max(sizes) <= EVALUATE_BYTES + x.nbytes


# CS231n's starter code reads ε as bn_param.get('eps', 1e-5) above the part to write; some students'
# copies say 1e-8 or 1e-3 there. The course never passes eps, so their layers were right for them, and
# right for mathnn, which gives every documented setting.
EDITED_EPS_DEFAULT = """
    def normalize(x, gamma, beta, eps):
        centred = x - x.mean(axis=0)
        inv_std = 1 / np.sqrt((centred ** 2).mean(axis=0) + eps)
        x_hat = centred * inv_std
        return gamma * x_hat + beta, (x_hat, gamma, inv_std)

    def batchnorm_forward(x, gamma, beta, bn_param):
        eps = bn_param.get('eps', 1e-8)
        if bn_param['mode'] == 'test':
            return gamma * (x - bn_param['running_mean']) / np.sqrt(bn_param['running_var'] + eps) + beta, None
        momentum = bn_param.get('momentum', 0.9)
        for key, batch in (('running_mean', x.mean(axis=0)), ('running_var', x.var(axis=0))):
            bn_param[key] = momentum * bn_param.get(key, np.zeros(x.shape[1])) + (1 - momentum) * batch
        return normalize(x, gamma, beta, eps)

    def batchnorm_backward(dout, cache):
        x_hat, gamma, inv_std = cache
        n = dout.shape[0]
        dgamma = np.sum(dout * x_hat, axis=0)
        dbeta = np.sum(dout, axis=0)
        dx = gamma * inv_std / n * (n * dout - dbeta - x_hat * dgamma)
        return dx, dgamma, dbeta

    def channels_last(x):  # (N, C, H, W) to (N·H·W, C), and back
        return np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])

    def channels_first(rows, like):
        return np.moveaxis(rows.reshape(like.shape[0], *like.shape[2:], like.shape[1]), -1, 1)

    def spatial_batchnorm_forward(x, gamma, beta, bn_param):
        out, cache = batchnorm_forward(channels_last(x), gamma, beta, bn_param)
        return channels_first(out, x), cache

    def spatial_batchnorm_backward(dout, cache):
        dx, dgamma, dbeta = batchnorm_backward(channels_last(dout), cache)
        return channels_first(dx, dout), dgamma, dbeta

    def layernorm_forward(x, gamma, beta, ln_param):
        out, (x_hat, _, inv_std) = normalize(x.T, 1.0, 0.0, ln_param.get('eps', 1e-8))
        return gamma * out.T + beta, (x_hat, gamma, inv_std)

    def layernorm_backward(dout, cache):
        x_hat, gamma, inv_std = cache
        dx, _, _ = batchnorm_backward((dout * gamma).T, (x_hat, 1.0, inv_std))
        return dx.T, np.sum(dout * x_hat.T, axis=0), np.sum(dout, axis=0)
"""


@pytest.mark.parametrize("name", ["batchnorm", "spatial_batchnorm", "layernorm"])
def test_a_normalization_whose_copy_of_the_starter_code_has_another_eps_default_passes(name):
    result = check_pair(module(EDITED_EPS_DEFAULT), name, seed=5)
    assert result["passed"], result["diagnosis"]


@pytest.mark.parametrize("name, argument, eps", [("batchnorm", "bn_param", "0.001"),
                                                  ("layernorm", "ln_param", "1e-08")])
def test_an_eps_written_into_the_code_is_named(name, argument, eps):
    written = EDITED_EPS_DEFAULT.replace(f"{argument}.get('eps', 1e-8)", eps.replace("0.001", "1e-3"))
    result = check_pair(module(written), name, seed=5)
    assert not result["passed"]
    assert f"{name}_forward normalizes with ε = {eps}, not the {argument}['eps'] it was given (1e-05): read it " \
        f"with {argument}.get('eps', 1e-05)" in result["diagnosis"]


def test_a_normalization_that_ignores_the_eps_it_is_given_still_fails():
    ignored = EDITED_EPS_DEFAULT.replace("bn_param.get('eps', 1e-8)", "1e-3")
    result = check_pair(module(ignored), "batchnorm", seed=5)
    assert not result["passed"]
    assert "batchnorm_forward's output differs" in result["diagnosis"]


# Students who rewrote optim.py's starter code read config.get('learning_rate', 1e-3): right whenever the
# Solver passes a learning rate, but the first step from config None is a tenth of the course's.
OWN_DEFAULT_RATE = """
    def sgd(w, dw, config=None):
        config = config or {}
        return w - config.get('learning_rate', 1e-3) * dw, config
"""


def test_an_update_with_a_default_learning_rate_of_its_own_passes_with_a_note_naming_it():
    result = check_update(module(OWN_DEFAULT_RATE), "sgd")
    assert result["passed"] and result["problems"] == []
    assert result["notes"] == ["sgd's default learning rate is 0.001, not CS231n's 0.01 (config.setdefault("
                               "'learning_rate', 0.01)), so its steps from config None are 0.1 times the course's; "
                               "accepted: every step with a learning rate given is the course's, and the Solver "
                               "always passes one"]


def test_an_own_default_learning_rate_does_not_cover_a_rule_that_goes_wrong_later():
    # its own default at the first step, then the course's: no one default learning rate explains its steps
    drifting = """
        def sgd(w, dw, config=None):
            config = config or {}
            rate = config.get('learning_rate', 1e-3 if 'called' not in config else 1e-2)
            config['called'] = True
            return w - rate * dw, config
    """
    result = check_update(module(drifting), "sgd")
    assert not result["passed"] and result["notes"] == []
    assert result["diagnosis"].startswith("sgd's first step from config None is 0.1 times the course's, as with a "
                                          "default learning rate of 0.001 (CS231n's is 0.01), but its later steps")


def test_a_step_of_another_shape_than_the_courses_gets_no_learning_rate_sentence():
    squared = OWN_DEFAULT_RATE.replace("config.get('learning_rate', 1e-3) * dw",
                                       "config.get('learning_rate', 1e-2) * dw ** 3")
    result = check_update(module(squared), "sgd")
    assert not result["passed"] and "default learning rate" not in result["diagnosis"]


# `mode is 'train'` (and `self.cell_type is 'rnn'`) compares identities: true in the course's notebooks,
# where the string is a literal and so interned, and it must be true in the sandbox, whose strings come
# from a request.
MODE_BY_IDENTITY = '''
import numpy as np


def dropout_forward(x, dropout_param):
    p, mode = dropout_param['p'], dropout_param['mode']
    if 'seed' in dropout_param:
        np.random.seed(dropout_param['seed'])
    mask = None
    if mode is 'train':
        mask = (np.random.rand(*x.shape) < p) / p
        out = x * mask
    elif mode is 'test':
        out = x
    return out, (mode, mask)


def dropout_backward(dout, cache):
    mode, mask = cache
    if mode is 'train':
        return dout * mask
    elif mode is 'test':
        return dout
'''


def test_a_mode_compared_with_is_sees_the_strings_a_notebook_would_pass(tmp_path):
    path = tmp_path / "layers.py"
    path.write_text(MODE_BY_IDENTITY)
    result = check_file(path, seed=2, points=2)
    [dropout] = result["functions"]
    assert dropout["passed"], dropout["diagnosis"]
    assert "SyntaxWarning: \"is\" with a literal" in result["output"]  # the student still sees Python's warning


# A softmax loss that takes np.log(p + 1e-5) "to be safe" is off by about 1e-5 / p, while its dx, the
# textbook p - onehot, is right; finite differences of that loss are then no measure of dx.
LOG_OF_P_PLUS = """
    def softmax_loss(x, y):
        p = np.exp(x - x.max(axis=1, keepdims=True))
        p = p / p.sum(axis=1, keepdims=True)
        n = len(y)
        loss = -np.log(p[np.arange(n), y] + 1e-5).mean()
        dx = p.copy()
        dx[np.arange(n), y] -= 1
        return loss, dx / n
"""


def test_a_constant_inside_the_log_is_named_and_a_right_dx_called_right():
    result = check_pair(module(LOG_OF_P_PLUS), "softmax_loss", seed=3)
    assert not result["passed"]
    assert "the loss is the log of p + 1e-05, not of p" in result["diagnosis"]
    assert "dx is right (mathnn.layers.softmax_loss's gradient), so only the loss is wrong" in result["diagnosis"]
    assert "dx is wrong" not in result["diagnosis"]
    assert all(gradient["passed"] for gradient in result["gradients"])


def test_a_dx_of_the_wrong_loss_is_still_wrong_when_the_loss_is_too():
    both = LOG_OF_P_PLUS.replace("dx[np.arange(n), y] -= 1", "dx[np.arange(n), y] -= 0.9")
    result = check_pair(module(both), "softmax_loss", seed=3)
    assert not result["passed"]
    assert "dx is wrong" in result["diagnosis"] and "dx is right" not in result["diagnosis"]


def test_a_loss_off_in_the_seventh_digit_is_printed_with_the_digits_that_differ():
    temporal = """
        def temporal_softmax_loss(x, y, mask, verbose=False):
            n, t, v = x.shape
            flat, labels, counted = x.reshape(n * t, v), y.reshape(n * t), mask.reshape(n * t)
            p = np.exp(flat - flat.max(axis=1, keepdims=True))
            p = p / p.sum(axis=1, keepdims=True)
            loss = -np.sum(counted * np.log(p[np.arange(n * t), labels] + 1e-7)) / n
            dx = p.copy()
            dx[np.arange(n * t), labels] -= 1
            return loss, (dx * counted[:, None] / n).reshape(n, t, v)
    """
    result = check_pair(module(temporal), "temporal_softmax_loss", seed=0)
    assert not result["passed"]
    [said] = [line for line in result["diagnosis"].splitlines() if "'s loss is " in line]
    mine, theirs = said.split("'s loss is ")[1].split(" (relative error")[0].split("; mathnn.layers.temporal_softmax_loss gives ")
    assert mine != theirs and len(mine) > len("5.91875")
    assert "the loss is the log of p + 1e-07, not of p" in said


# A mask drawn once per feature, np.random.rand(1, D) < p, drops whole columns: right in expectation,
# but not dropout; its kept count is binomial in the columns, not in the entries.
COLUMN_MASK = """
    def dropout_forward(x, dropout_param):
        p, mode = dropout_param['p'], dropout_param['mode']
        if 'seed' in dropout_param:
            np.random.seed(dropout_param['seed'])
        mask = None
        if mode == 'train':
            mask = (np.random.rand(1, x.shape[1]) < p) / p
            out = x * mask
        else:
            out = x
        return out, (dropout_param, mask)

    def dropout_backward(dout, cache):
        dropout_param, mask = cache
        return dout * mask if dropout_param['mode'] == 'train' else dout
"""


def test_a_mask_shared_by_every_row_is_named():
    result = check_pair(module(COLUMN_MASK), "dropout", seed=1)
    assert not result["passed"]
    assert "dropout_forward drops whole columns of x" in result["diagnosis"]
    assert "(a mask of shape (1, 200)?)" in result["diagnosis"]
    assert " kept " not in result["diagnosis"]  # with p in the course's meaning its count of columns is fine


def test_a_shared_mask_that_keeps_with_1_minus_p_is_counted_in_columns():
    flipped = COLUMN_MASK.replace("np.random.rand(1, x.shape[1]) < p", "np.random.rand(1, x.shape[1]) > p")
    result = check_pair(module(flipped), "dropout", seed=1)
    assert not result["passed"]
    assert "dropout_forward drops whole columns of x" in result["diagnosis"]
    assert "of 200 columns" in result["diagnosis"] and "it keeps each entry with probability 1 - p" in result["diagnosis"]


def test_a_python_2_dict_method_gets_a_hint():
    # 2016's starter code cast the parameters with `for k, v in self.params.iteritems()` in __init__
    said = hint({"type": "AttributeError", "message": "'dict' object has no attribute 'iteritems'"})
    assert said == "dict.iteritems is Python 2: use .items() (Python 3 is required)"
    assert hint({"type": "AttributeError", "message": "'dict' object has no attribute 'shape'"}) is None


def test_a_file_that_imports_pdb_and_left_a_set_trace_is_checked(tmp_path):
    path = tmp_path / "layers.py"
    path.write_text(textwrap.dedent("""
        import pdb

        import numpy as np


        def relu_forward(x):
            pdb.set_trace()
            breakpoint()
            return np.maximum(x, 0), x


        def relu_backward(dout, cache):
            return dout * (cache > 0)
    """))
    result = check_file(path, seed=1, points=1)
    assert result["error"] is None, result["error"]
    [relu] = result["functions"]
    assert relu["passed"], relu["diagnosis"]


def test_a_standard_library_module_the_sandbox_could_not_read_is_said_to_be_the_graders_setup():
    said = hint({"type": "ModuleNotFoundError", "message": "No module named 'fractions'"})
    assert said is not None and said.startswith("fractions is in Python's standard library")
    assert "scipy cannot be imported" in hint({"type": "ModuleNotFoundError", "message": "No module named 'scipy'"})


def test_a_file_that_imports_and_plots_with_matplotlib_is_checked(tmp_path):
    # CS231n's classifiers/neural_net.py imports pyplot at the top; a notebook's export plots at module level
    path = tmp_path / "layers.py"
    path.write_text(textwrap.dedent("""
        import numpy as np
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib import cm

        plt.rcParams["figure.figsize"] = (10.0, 8.0)
        plt.rcParams["image.cmap"] = "gray"
        fig, ax = plt.subplots(1, 2)
        ax.plot(np.arange(3), label="loss")
        plt.title("not drawn"); plt.show(); plt.close("all")
        colours = cm.viridis(np.linspace(0, 1, 3))

        def relu_forward(x):
            return np.maximum(0, x), x

        def relu_backward(dout, cache):
            plt.hist(dout.ravel())  # a debugging plot inside the checked function: nothing is drawn
            return dout * (cache > 0)
    """))
    result = check_file(path, seed=1, points=1)
    assert result["error"] is None, result["error"]
    [relu] = result["functions"]
    assert relu["passed"], relu["diagnosis"]


def test_nothing_from_the_matplotlib_stand_in_is_a_number(tmp_path):
    path = tmp_path / "layers.py"
    path.write_text(textwrap.dedent("""
        import numpy as np
        import matplotlib.pyplot as plt

        def relu_forward(x):
            return np.maximum(0, x), x

        def relu_backward(dout, cache):
            return dout * plt.gca().get_ylim()[0]
    """))
    [relu] = check_file(path, seed=1, points=1)["functions"]
    assert relu["passed"] is False and "relu_backward raised TypeError" in relu["diagnosis"]


def test_numpys_paragraphs_on_a_removed_alias_give_way_to_the_hint():
    said = error_sentence({
        "kind": "exception", "stage": "conv_forward_naive", "type": "AttributeError",
        "message": "module 'numpy' has no attribute 'int'.\n`np.int` was a deprecated alias for the builtin `int`. "
                   "To avoid this error in existing code, use `int` by itself.",
        "where": "layers.py:9", "line": "H_out = np.int(1 + (H - HH) / stride)"})
    assert said == ("conv_forward_naive raised AttributeError: module 'numpy' has no attribute 'int' at layers.py:9: "
                    "H_out = np.int(1 + (H - HH) / stride)\nhint: np.int was removed from numpy: use int (or np.int64) "
                    "(the file was written for an older numpy)")


def test_a_forward_out_of_a_wrong_shape_is_said_before_the_backward_error_it_causes():
    # out gets a stray leading axis; the backward then unpacks dout, of that shape, into two sizes
    student = module("""
        def affine_forward(x, w, b):
            out = (x.reshape(x.shape[0], -1) @ w + b)[np.newaxis]
            return out, (x, w, b)

        def affine_backward(dout, cache):
            x, w, b = cache
            N, M = dout.shape
            flat = x.reshape(N, -1)
            return (dout @ w.T).reshape(x.shape), flat.T @ dout, dout.sum(axis=0)
    """)
    result = check_pair(student, "affine", seed=0, points=1)
    assert not result["passed"]
    first, second = result["diagnosis"].splitlines()[:2]
    assert first.startswith("affine_forward returned out of shape (1, "), first
    assert "raised ValueError: too many values to unpack (expected 2)" in second, second


# CS231n's 2018–2019 docstring of spatial_groupnorm_forward gives gamma and beta the shape (C,), where its
# notebook (and every later year) passes (1, C, 1, 1); indexing gamma[None, :, None, None] follows the docstring.
GROUPNORM_FLAT = """
    def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
        N, C, H, W = x.shape
        rows = x.reshape(N * G, -1)
        centred = rows - rows.mean(axis=1, keepdims=True)
        scale = 1.0 / np.sqrt((centred ** 2).mean(axis=1, keepdims=True) + gn_param.get('eps', 1e-5))
        normed = (centred * scale).reshape(N, C, H, W)
        out = gamma[None, :, None, None] * normed + beta[None, :, None, None]
        return out, (normed, scale, gamma, G)

    def spatial_groupnorm_backward(dout, cache):
        normed, scale, gamma, G = cache
        N, C, H, W = dout.shape
        dgamma = (dout * normed).sum(axis=(0, 2, 3))
        dbeta = dout.sum(axis=(0, 2, 3))
        dnormed = (dout * gamma[None, :, None, None]).reshape(N * G, -1)
        flat = normed.reshape(N * G, -1)
        dx = scale * (dnormed - dnormed.mean(axis=1, keepdims=True)
                      - flat * (dnormed * flat).mean(axis=1, keepdims=True))
        return dx.reshape(N, C, H, W), DGAMMA, DBETA
"""


def test_group_norm_written_for_the_flat_gamma_of_the_2019_docstring_passes_with_a_note():
    student = module(GROUPNORM_FLAT.replace("DGAMMA", "dgamma").replace("DBETA", "dbeta"))
    result = check_pair(student, "spatial_groupnorm", seed=0)
    assert result["passed"], result["diagnosis"]
    [note] = result["warnings"]
    assert "takes gamma and beta of shape (C,)" in note["message"]


def test_group_norm_given_a_flat_gamma_but_returning_dgamma_with_keepdims_fails_on_the_shape():
    # the forward indexes gamma[None, :, None, None] (the docstring's (C,)); the backward keeps dims
    student = module(GROUPNORM_FLAT.replace("DGAMMA", "dgamma[None, :, None, None]")
                     .replace("DBETA", "dbeta[None, :, None, None]"))
    result = check_pair(student, "spatial_groupnorm", seed=0)
    assert not result["passed"]
    lines = result["diagnosis"].splitlines()
    assert "takes gamma and beta of shape (C,)" in lines[0]
    assert any(line.startswith("dgamma has shape (1, ") and "the values are right" in line for line in lines)
    assert "dx is right" in lines


def test_group_norm_with_a_flat_gamma_and_statistics_per_channel_still_fails():
    # each channel normalized on its own (instance norm): the flat layout is tried, the values stay wrong
    student = module(GROUPNORM_FLAT.replace("DGAMMA", "dgamma").replace("DBETA", "dbeta")
                     .replace("x.reshape(N * G, -1)", "x.reshape(N * C, -1)")
                     .replace("dnormed = (dout * gamma[None, :, None, None]).reshape(N * G, -1)",
                              "dnormed = (dout * gamma[None, :, None, None]).reshape(N * C, -1)")
                     .replace("flat = normed.reshape(N * G, -1)", "flat = normed.reshape(N * C, -1)"))
    result = check_pair(student, "spatial_groupnorm", seed=0)
    assert not result["passed"]
    assert "takes gamma and beta of shape (C,)" in result["diagnosis"]
    assert "spatial_groupnorm_forward's output differs" in result["diagnosis"]


def test_an_error_only_at_other_sizes_than_the_documented_ones_names_them():
    # a size written into the code: right at the documented shape (4, 5), an error at any other
    student = module("""
        def relu_forward(x):
            rows, columns = x.shape
            return np.maximum(x, 0).reshape(rows, 5), x

        def relu_backward(dout, cache):
            return dout * (cache > 0)
    """)
    result = check_pair(student, "relu", seed=0)
    assert not result["passed"]
    assert [point["passed"] for point in result["points"]] == [True]
    lines = result["diagnosis"].splitlines()
    assert "raised ValueError: cannot reshape" in lines[0]
    assert lines[1].startswith("the documented sizes passed; this error came at other sizes, x of shape ("), lines[1]


def test_a_relu_mask_made_by_dividing_by_x_is_said_to_fail_where_x_is_zero():
    # np.maximum(x, 0) / x is 1 or 0 everywhere but at x = 0, where it is 0/0
    student = module("""
        def relu_forward(x):
            return np.maximum(x, 0), x

        def relu_backward(dout, cache):
            with np.errstate(invalid='ignore'):
                return dout * (np.maximum(cache, 0) / cache)
    """)
    result = check_pair(student, "relu", seed=0)
    assert not result["passed"]
    assert "entries of 20, all where x is exactly 0 (a division by x?): a gradient must be finite" in \
        result["diagnosis"], result["diagnosis"]
