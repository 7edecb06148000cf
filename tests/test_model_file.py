"""`mathnn check fc_net.py`: a file's model classes built in the sandbox, every parameter checked, each wrong one named."""

from __future__ import annotations

import json
import textwrap
import types

import pytest

from mathnn.gradcheck.examples.models import model_package
from mathnn.gradcheck.filecheck import check_file
from mathnn.gradcheck.model_file import check_model_class, describe_model, list_classes
from mathnn.gradcheck.rendering import format_text
from mathnn.gradcheck.runner import main
from mathnn.gradcheck.student import in_process



def test_the_correct_package_passes_every_model_through_the_cli(capsys):
    assert main([str(model_package("correct")), "--seed", "3", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [(m["name"], m["passed"]) for m in document["models"]] == [("TwoLayerNet", True), ("FullyConnectedNet", True)]
    fc = document["models"][1]
    assert [s["label"] for s in fc["setups"]] == ["no normalization", "batchnorm", "layernorm", "dropout"]
    batchnorm = fc["setups"][1]
    assert {g["name"] for g in batchnorm["checked"]} >= {"gamma1", "beta2", "W3"} and all(
        g["passed"] for g in batchnorm["checked"])
    assert document["functions"] == [] and document["seed"] == 3  # its layers are imported from ..layers


@pytest.fixture(scope="module")
def buggy():
    """The shipped buggy package, checked once (one sandbox) for the tests below."""
    return check_file(model_package("buggy"), seed=3)


def test_a_missing_regularisation_gradient_names_w2_only(buggy):
    two_layer = buggy["models"][0]
    assert (two_layer["name"], two_layer["passed"], buggy["passed"]) == ("TwoLayerNet", False, False)
    (setup,) = two_layer["setups"]
    assert setup["wrong"] == ["W2"] and "reg·W2 is missing" in setup["hints"]["W2"]
    text = format_text(buggy)
    assert "W2: wrong (max rel. error" in text and "W1, b1, b2 pass" in text
    assert "0 of 2 model class(es) passed; failed: TwoLayerNet, FullyConnectedNet" in text


def test_a_dropout_mask_left_out_of_backward_fails_the_dropout_setup_only(buggy):
    fc = buggy["models"][1]
    assert [(s["label"], s["passed"]) for s in fc["setups"]] == [
        ("no normalization", True), ("batchnorm", True), ("layernorm", True), ("dropout", False)]
    assert set(fc["setups"][3]["wrong"]) >= {"W1", "W2"} and "W3" not in fc["setups"][3]["wrong"]


OTHER = '''
import numpy as np


class Tiny:
    """Not one of CS231n's: built with no arguments, data shaped from W1."""

    def __init__(self, scale=1.0):
        self.params = {"W1": np.arange(6.0).reshape(3, 2) / 10, "b1": np.zeros(2)}
        self.scale = scale

    def loss(self, X, y):
        scores = X @ self.params["W1"] + self.params["b1"]
        loss = 0.5 * np.sum(scores ** 2)
        dscores = scores * FACTOR
        return loss, {"W1": X.T @ dscores, "b1": dscores.sum(axis=0)}


class NeedsArguments:
    def __init__(self, sizes):
        self.params = {}

    def loss(self, X, y):
        return 0.0, {}


class NoWeights:
    def __init__(self):
        self.params = {"gamma": np.ones(3)}

    def loss(self, X, y):
        return 0.0, {"gamma": np.zeros(3)}
'''


def _transport(factor: str):
    module = types.ModuleType("other")
    exec(textwrap.dedent(OTHER.replace("FACTOR", factor)), module.__dict__)
    return in_process(module)


@pytest.mark.parametrize("factor, passed", [("1.0", True), ("2.0", False)])
def test_a_class_not_in_the_table_is_tried_with_no_arguments(factor, passed):
    transport = _transport(factor)
    assert list_classes(transport) == ["Tiny", "NeedsArguments", "NoWeights"]
    result = check_model_class(transport, "Tiny", seed=1)
    assert result["passed"] is passed
    (setup,) = result["setups"]
    assert setup["label"] == "Tiny()" and {g["name"] for g in setup["checked"]} == {"W1", "b1"}
    assert setup["wrong"] == ([] if passed else ["W1", "b1"])


def test_classes_that_cannot_be_built_or_fed_are_reported_not_checked():
    transport = _transport("1.0")
    needs = check_model_class(transport, "NeedsArguments", seed=1)
    assert (needs["checked"], needs["passed"]) == (False, False)
    assert "cannot be built with no arguments" in needs["diagnosis"] and "'sizes'" in needs["diagnosis"]
    weights = check_model_class(transport, "NoWeights", seed=1)
    assert (weights["checked"], weights["passed"]) == (False, False)
    assert describe_model(weights) == "NoWeights(): not checked: its data shape could not be told from its parameters (no 2-D W1)"


ASSIGNMENT_MODELS = '''
import numpy as np

from mathnn.layers import (
    affine_backward, affine_forward, conv_backward_naive, conv_forward_naive, lstm_backward, lstm_forward,
    max_pool_backward_naive, max_pool_forward_naive, relu_backward, relu_forward, rnn_backward, rnn_forward,
    softmax_loss, temporal_affine_backward, temporal_affine_forward, temporal_softmax_loss, word_embedding_backward,
    word_embedding_forward,
)


class ThreeLayerConvNet(object):
    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100, num_classes=10,
                 weight_scale=1e-3, reg=0.0, dtype=np.float32):
        C, H, W = input_dim
        self.reg, self.filter_size = reg, filter_size
        self.params = {
            "W1": weight_scale * np.random.randn(num_filters, C, filter_size, filter_size), "b1": np.zeros(num_filters),
            "W2": weight_scale * np.random.randn(num_filters * (H // 2) * (W // 2), hidden_dim),
            "b2": np.zeros(hidden_dim),
            "W3": weight_scale * np.random.randn(hidden_dim, num_classes), "b3": np.zeros(num_classes),
        }
        self.params = {k: v.astype(dtype) for k, v in self.params.items()}

    def loss(self, X, y=None):
        p = self.params
        conv_param = {"stride": 1, "pad": (self.filter_size - 1) // 2}
        a, conv_cache = conv_forward_naive(X, p["W1"], p["b1"], conv_param)
        r, relu1 = relu_forward(a)
        pooled, pool_cache = max_pool_forward_naive(r, {"pool_height": 2, "pool_width": 2, "stride": 2})
        h, affine1 = affine_forward(pooled, p["W2"], p["b2"])
        hr, relu2 = relu_forward(h)
        scores, affine2 = affine_forward(hr, p["W3"], p["b3"])
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        grads = {}
        dhr, grads["W3"], grads["b3"] = affine_backward(dscores, affine2)
        dpooled, grads["W2"], grads["b2"] = affine_backward(relu_backward(dhr, relu2), affine1)
        da = relu_backward(max_pool_backward_naive(dpooled, pool_cache), relu1)
        _, grads["W1"], grads["b1"] = conv_backward_naive(da, conv_cache)
        for name in ("W1", "W2", "W3"):
            loss += 0.5 * self.reg * np.sum(p[name] ** 2)
            grads[name] += self.reg * p[name]
        return loss, grads


class CaptioningRNN(object):
    def __init__(self, word_to_idx, input_dim=512, wordvec_dim=128, hidden_dim=128, cell_type="rnn",
                 dtype=np.float32):
        self.cell_type, self.null = cell_type, word_to_idx["<NULL>"]
        V, gates = len(word_to_idx), {"rnn": 1, "lstm": 4}[cell_type]
        self.params = {
            "W_embed": np.random.randn(V, wordvec_dim) / 10, "W_proj": np.random.randn(input_dim, hidden_dim) / 10,
            "b_proj": np.zeros(hidden_dim), "Wx": np.random.randn(wordvec_dim, gates * hidden_dim) / 10,
            "Wh": np.random.randn(hidden_dim, gates * hidden_dim) / 10, "b": np.zeros(gates * hidden_dim),
            "W_vocab": np.random.randn(hidden_dim, V) / 10, "b_vocab": np.zeros(V),
        }
        self.params = {k: v.astype(dtype) for k, v in self.params.items()}

    def loss(self, features, captions):
        p = self.params
        captions_in, captions_out = captions[:, :-1], captions[:, 1:]
        mask = captions_out != self.null
        h0, proj_cache = affine_forward(features, p["W_proj"], p["b_proj"])
        x, embed_cache = word_embedding_forward(captions_in, p["W_embed"])
        forward, backward = (rnn_forward, rnn_backward) if self.cell_type == "rnn" else (lstm_forward, lstm_backward)
        h, cell_cache = forward(x, h0, p["Wx"], p["Wh"], p["b"])
        scores, vocab_cache = temporal_affine_forward(h, p["W_vocab"], p["b_vocab"])
        loss, dscores = temporal_softmax_loss(scores, captions_out, mask)
        grads = {}
        dh, grads["W_vocab"], grads["b_vocab"] = temporal_affine_backward(dscores, vocab_cache)
        dx, dh0, grads["Wx"], grads["Wh"], grads["b"] = backward(dh, cell_cache)
        grads["W_embed"] = word_embedding_backward(dx, embed_cache)
        _, grads["W_proj"], grads["b_proj"] = affine_backward(dh0, proj_cache)
        return loss, grads
'''


@pytest.mark.parametrize("name, labels", [
    ("ThreeLayerConvNet", ["2×6×6 images, 2 filters 3×3, reg=0.1"]),
    ("CaptioningRNN", ["cell_type='rnn'", "cell_type='lstm'"]),
])
def test_the_table_builds_and_feeds_the_other_assignment_models(name, labels):
    """The declared setups fit CS231n's signatures: a correct model (on mathnn's layers) passes every one."""
    module = types.ModuleType("models")
    exec(ASSIGNMENT_MODELS, module.__dict__)
    result = check_model_class(in_process(module), name, seed=2)
    assert result["passed"], describe_model(result)
    assert [row["label"] for row in result["setups"]] == labels
    assert all(len(row["checked"]) >= 6 for row in result["setups"])


def test_a_class_that_cannot_be_built_is_listed_not_checked_and_fails_nothing(tmp_path):
    path = tmp_path / "models.py"
    path.write_text(textwrap.dedent(OTHER.replace("FACTOR", "1.0")))
    summary = check_file(path, seed=1)
    assert [m["name"] for m in summary["models"]] == ["Tiny"] and summary["passed"] is True
    assert any(entry.startswith("NeedsArguments (it cannot be built with no arguments") for entry in summary["not_checked"])
    assert any(entry.startswith("NoWeights (its data shape") for entry in summary["not_checked"])


@pytest.mark.parametrize("file, model, wrong, change", [
    ("cnn.py", "ThreeLayerConvNet", {"W3"},
     ('        for k in ("W1", "W2", "W3"):\n', '        for k in ("W1", "W2"):\n')),
    ("rnn.py", "CaptioningRNN", {"W_proj", "b_proj"},
     ('        _, grads["W_proj"], grads["b_proj"] = affine_backward(dh0, proj_cache)\n',
      '        _, grads["W_proj"], grads["b_proj"] = affine_backward(0 * dh0, proj_cache)\n')),
])
def test_the_shipped_cnn_and_rnn_classifiers_pass_and_a_bug_in_them_names_its_parameters(file, model, wrong, change):
    """cnn.py and rnn.py of the example package pass; with one bug, the check fails exactly the parameters it breaks."""
    path = model_package("correct", file)
    correct = check_file(path, seed=3)
    assert [(m["name"], m["passed"]) for m in correct["models"]] == [(model, True)] and correct["passed"]
    source = path.read_text(encoding="utf-8")
    assert source.count(change[0]) == 1
    buggy = path.with_name(f"buggy_{file}")
    buggy.write_text(source.replace(*change), encoding="utf-8")
    try:
        result = check_file(buggy, seed=3)
    finally:
        buggy.unlink()
    failing = {g["name"] for setup in result["models"][0]["setups"] for g in setup["checked"] if not g["passed"]}
    assert not result["passed"] and failing == wrong


def test_a_setup_whose_gradients_could_not_be_checked_shows_its_problems_under_the_verdict():
    row = {"label": "cell_type='rnn'", "not_checked": None, "error": None, "passed": False, "checked": [],
           "problems": ["model.loss returned no gradients (an empty grads dict): not implemented yet (still the "
                        "starter code?)"], "hints": {}}
    assert describe_model({"setups": [row]}).splitlines() == [
        "cell_type='rnn': FAILED", "  model.loss returned no gradients (an empty grads dict): not implemented yet "
        "(still the starter code?)"]


TUPLE_KEYS = '''
import numpy as np


class TwoLayerNet:
    """CS231n's two-layer net with its parameters keyed ('W', 1), ('b', 1)…: the Solver takes any keys."""

    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10, weight_scale=1e-3, reg=0.0):
        rng = np.random.default_rng(0)
        self.params = {("W", 1): weight_scale * rng.standard_normal((input_dim, hidden_dim)),
                       ("b", 1): np.zeros(hidden_dim),
                       ("W", 2): weight_scale * rng.standard_normal((hidden_dim, num_classes)),
                       ("b", 2): np.zeros(num_classes)}
        self.reg = reg

    def loss(self, X, y):
        p = self.params
        hidden = np.maximum(X @ p[("W", 1)] + p[("b", 1)], 0)
        scores = hidden @ p[("W", 2)] + p[("b", 2)]
        shifted = np.exp(scores - scores.max(axis=1, keepdims=True).real)
        probs = shifted / shifted.sum(axis=1, keepdims=True)
        n = X.shape[0]
        loss = -np.log(probs[np.arange(n), y]).sum() / n
        loss += 0.5 * self.reg * (np.sum(p[("W", 1)] ** 2) + np.sum(p[("W", 2)] ** 2))
        dscores = probs.copy()
        dscores[np.arange(n), y] -= 1
        dscores /= n
        dhidden = (dscores @ p[("W", 2)].T) * (hidden > 0)
        return loss, {("W", 2): hidden.T @ dscores + self.reg * p[("W", 2)] * FACTOR, ("b", 2): dscores.sum(axis=0),
                      ("W", 1): X.T @ dhidden + self.reg * p[("W", 1)], ("b", 1): dhidden.sum(axis=0)}
'''


@pytest.mark.parametrize("factor, wrong", [("1.0", []), ("2.0", ["('W', 2)"])])
def test_a_model_keying_its_parameters_by_tuples_is_checked_under_their_reprs(factor, wrong):
    module = types.ModuleType("tuple_keys")
    exec(TUPLE_KEYS.replace("FACTOR", factor), module.__dict__)
    result = check_model_class(in_process(module), "TwoLayerNet", seed=1)
    (setup,) = result["setups"]
    assert {g["name"] for g in setup["checked"]} == {"('W', 1)", "('b', 1)", "('W', 2)", "('b', 2)"}
    assert result["passed"] is not wrong and setup["wrong"] == wrong


# CS231n's 2016 starter code of TwoLayerNet: params = {} and a loss that returns 0, {} until written.
STARTER_TWO_LAYER_NET = '''
class TwoLayerNet(object):
    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10, weight_scale=1e-3, reg=0.0):
        self.params = {}
        self.reg = reg

    def loss(self, X, y=None):
        scores = None
        if y is None:
            return scores
        loss, grads = 0, {}
        return loss, grads
'''


def test_a_class_of_the_assignment_with_empty_params_is_unfinished_not_unchecked(tmp_path):
    path = tmp_path / "fc_net.py"
    path.write_text(STARTER_TWO_LAYER_NET)
    summary = check_file(path, seed=1)
    [model] = summary["models"]
    assert (model["name"], model["checked"], model["passed"], summary["passed"]) == ("TwoLayerNet", True, False, False)
    assert model["diagnosis"] == ("6 → 5 → 4 classes, reg=0.2: building TwoLayerNet left params empty: not "
                                  "implemented yet (still the starter code?)")
    assert not any(entry.startswith("TwoLayerNet") for entry in summary["not_checked"])


def test_a_class_of_the_assignment_with_params_of_lists_is_told_what_they_hold(tmp_path):
    path = tmp_path / "fc_net.py"
    path.write_text(STARTER_TWO_LAYER_NET.replace("self.params = {}", "self.params = {'W1': [[0.0] * hidden_dim]}"))
    [model] = check_file(path, seed=1)["models"]
    assert not model["passed"] and "building TwoLayerNet left params with no float arrays (W1 is " in model["diagnosis"]


def test_a_model_drawing_its_weights_from_numpys_global_generator_gets_the_same_report_per_seed():
    # CS231n's weight_scale * np.random.randn(...): the parameters checked are the ones the class draws
    source = TUPLE_KEYS.replace("rng = np.random.default_rng(0)", "rng = np.random").replace(
        "rng.standard_normal", "rng.randn").replace("((input_dim, hidden_dim))", "(input_dim, hidden_dim)").replace(
        "((hidden_dim, num_classes))", "(hidden_dim, num_classes)").replace("FACTOR", "2.0")
    module = types.ModuleType("global_generator")
    exec(source, module.__dict__)
    first, again = (check_model_class(in_process(module), "TwoLayerNet", seed=1) for _ in range(2))
    assert first["setups"][0]["wrong"] == ["('W', 2)"]
    assert first["setups"][0]["checked"] == again["setups"][0]["checked"]


@pytest.mark.parametrize("change, said", [
    # the conv output taken whole into the affine layer: W2 has num_filters·H·W rows
    ((("(H // 2) * (W // 2)", "H * W"),
      ('        pooled, pool_cache = max_pool_forward_naive(r, {"pool_height": 2, "pool_width": 2, "stride": 2})\n',
       "        pooled = r\n"),
      ("da = relu_backward(max_pool_backward_naive(dpooled, pool_cache), relu1)",
       "da = relu_backward(dpooled.reshape(r.shape), relu1)")),
     "W2 has 72 rows, num_filters·H·W, where the course's has 18, num_filters·H/2·W/2: the convolution's output "
     "goes into the affine layer without the 2×2 max pool (conv - relu - 2x2 max pool - affine - relu - affine - softmax)"),
    # a convolution without padding: 6×6 → 4×4, pooled 2×2
    ((("(H // 2) * (W // 2)", "((H - filter_size + 1) // 2) * ((W - filter_size + 1) // 2)"),
      ('"pad": (self.filter_size - 1) // 2', '"pad": 0')),
     "W2 has 8 rows where the course's has 18: the convolution has no padding, where the course's keeps the image's "
     "size (pad = (filter_size - 1) // 2, stride 1)"),
])
def test_a_conv_net_wired_without_the_pool_or_the_padding_is_told_which(change, said):
    source = ASSIGNMENT_MODELS
    for old, new in change:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    module = types.ModuleType("models")
    exec(source, module.__dict__)
    result = check_model_class(in_process(module), "ThreeLayerConvNet", seed=2)
    (setup,) = result["setups"]
    assert setup["checked"] and all(gradient["passed"] for gradient in setup["checked"])  # right for its own loss
    (problem,) = setup["problems"]
    assert problem.startswith("its parameters (W1 (2, 2, 3, 3), b1 (2,), W2 (") and problem.endswith(f"; {said}")
    assert result["passed"] is False


def test_a_fully_connected_net_without_layer_norm_is_told_its_constructor_makes_none():
    # FullyConnectedNet(normalization='layernorm') of a file that finished batch norm only: no gamma, no beta
    path = model_package("correct")
    source = path.read_text(encoding="utf-8")
    made = "            if normalization is not None and i < self.num_layers - 1:\n"
    used = '            elif self.normalization == "layernorm":\n'
    assert source.count(made) == 1 and source.count(used) == 2
    skipped = path.with_name("batchnorm_only_fc_net.py")
    skipped.write_text(source.replace(made, made.replace("is not None", '== "batchnorm"')).replace(
        used, used.replace('self.normalization == "layernorm"', "False")), encoding="utf-8")
    try:
        result = check_file(skipped, seed=3)
    finally:
        skipped.unlink()
    fc = [model for model in result["models"] if model["name"] == "FullyConnectedNet"][0]
    passed = {row["label"]: row["passed"] for row in fc["setups"]}
    assert passed == {"no normalization": True, "batchnorm": True, "layernorm": False, "dropout": True}
    (problem,) = fc["setups"][2]["problems"]
    assert problem == ("params has no 'gamma1', which CS231n's FullyConnectedNet has (the notebook reads "
                       "model.params['gamma1']): its loss could not be compared with the course's; built with "
                       "layernorm asked for, it has no gamma or beta at all: its constructor makes no layernorm "
                       "layers (not implemented yet?)")


def test_a_fully_connected_net_one_layer_short_is_told_how_many_layers_hidden_dims_makes():
    # the last hidden size taken as the scores' layer: W1 (D, H1), W2 (H1, C) for hidden_dims=[H1, H2]
    path = model_package("correct")
    source = path.read_text(encoding="utf-8")
    dims = "[input_dim] + list(hidden_dims) + [num_classes]"
    assert source.count(dims) == 1 and source.count("self.num_layers = 1 + len(hidden_dims)") == 1
    short = path.with_name("short_fc_net.py")
    short.write_text(source.replace(dims, "[input_dim] + list(hidden_dims)[:-1] + [num_classes]").replace(
        "self.num_layers = 1 + len(hidden_dims)", "self.num_layers = len(hidden_dims)"), encoding="utf-8")
    try:
        result = check_file(short, seed=3)
    finally:
        short.unlink()
    fc = [model for model in result["models"] if model["name"] == "FullyConnectedNet"][0]
    rows = {row["label"]: row for row in fc["setups"]}
    assert fc["passed"] is False and all(gradient["passed"] for gradient in rows["no normalization"]["checked"])
    layers = ("hidden_dims=[5, 4] makes 3 affine layers, one per hidden layer and the scores' (W1 … W3), where its "
              "params have W1, W2")
    assert rows["no normalization"]["problems"] == [
        "params has no 'W3', which CS231n's FullyConnectedNet has (the notebook reads model.params['W3']): its loss "
        f"could not be compared with the course's; {layers}"]
    (problem,) = rows["batchnorm"]["problems"]
    assert problem.startswith("params has no 'gamma2'") and problem.endswith(f"; {layers}")
