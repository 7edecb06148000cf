"""Hostile model files: classes whose gradients fit their own loss, which is not the model's.

The model check takes every gradient against the student's own loss; for CS231n's classes the loss
itself is compared with the course's (mathnn.gradcheck.model_reference), and another class, which has no
reference, is shown but never scored.
"""

from __future__ import annotations

import json
import tempfile
import textwrap
from pathlib import Path

from mathnn.gradcheck.model_file import describe_model
from mathnn.gradcheck.runner import check_file, main

#: CS231n's TwoLayerNet constructor; the loss methods below replace the model's.
TWO_LAYER_NET = """
import numpy as np


class TwoLayerNet(object):
    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10, weight_scale=1e-3, reg=0.0):
        self.reg = reg
        self.params = {"W1": weight_scale * np.random.randn(input_dim, hidden_dim), "b1": np.zeros(hidden_dim),
                       "W2": weight_scale * np.random.randn(hidden_dim, num_classes), "b2": np.zeros(num_classes)}
"""
#: No data term at all: the regularisation and its exact gradient, so every gradient fits the loss.
ONLY_REGULARISATION = """
    def loss(self, X, y=None):
        loss = 0.5 * self.reg * (np.sum(self.params["W1"] ** 2) + np.sum(self.params["W2"] ** 2))
        grads = {key: self.reg * value if key[0] == "W" else np.zeros_like(value) for key, value in self.params.items()}
        return loss, grads
"""
#: The data term right, the regularisation reg·Σ‖W‖² (its gradient 2·reg·W, so consistent with it).
FULL_REGULARISATION = """
    def loss(self, X, y=None):
        W1, b1, W2, b2 = (self.params[key] for key in ("W1", "b1", "W2", "b2"))
        hidden = np.maximum(0, X @ W1 + b1)
        scores = hidden @ W2 + b2
        shifted = scores - scores.max(axis=1, keepdims=True)
        probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        N = X.shape[0]
        loss = -np.log(probs[np.arange(N), y]).mean() + self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        dscores = probs.copy()
        dscores[np.arange(N), y] -= 1
        dscores /= N
        dhidden = dscores @ W2.T * (hidden > 0)
        grads = {"W1": X.T @ dhidden + 2 * self.reg * W1, "b1": dhidden.sum(axis=0),
                 "W2": hidden.T @ dscores + 2 * self.reg * W2, "b2": dscores.sum(axis=0)}
        return loss, grads
"""


def write(directory: Path, name: str, *sources: str) -> Path:
    path = directory / name
    path.write_text("".join(sources))  # the loss methods continue the class: written as they are
    return path


def test_a_two_layer_net_whose_loss_leaves_out_the_data_fails(tmp_path):
    path = write(tmp_path, "fc_net.py", TWO_LAYER_NET, ONLY_REGULARISATION)
    (model,) = check_file(path, seed=0, timeout=10)["models"]
    assert model["passed"] is False
    (setup,) = model["setups"]
    assert all(gradient["passed"] for gradient in setup["checked"])  # the gradients fit the loss they came with
    assert "where CS231n's TwoLayerNet gives" in model["diagnosis"]


def test_a_two_layer_net_with_the_regularisation_doubled_is_named(tmp_path):
    path = write(tmp_path, "fc_net.py", TWO_LAYER_NET, FULL_REGULARISATION)
    (model,) = check_file(path, seed=1, timeout=10)["models"]
    assert model["passed"] is False
    assert "it has reg·Σ‖W‖² where CS231n's is ½·reg·Σ‖W‖²" in model["diagnosis"]


COURSE_LOSS = FULL_REGULARISATION.replace("self.reg * (np.sum", "0.5 * self.reg * (np.sum").replace(
    "2 * self.reg", "self.reg")


def test_a_two_layer_net_wired_otherwise_is_named():
    # its gradients fit its own loss; the loss is the course's network without the hidden ReLU, or with
    # a ReLU on the scores
    wired = {
        "leaves out the ReLU after each hidden layer": COURSE_LOSS.replace(
            "np.maximum(0, X @ W1 + b1)", "X @ W1 + b1").replace(" * (hidden > 0)", ""),
        "puts a ReLU on the scores too (affine_relu_forward for the last layer?)": COURSE_LOSS.replace(
            "scores = hidden @ W2 + b2", "scores = np.maximum(0, hidden @ W2 + b2)").replace(
            "dscores /= N", "dscores /= N\n        dscores *= scores > 0"),
    }
    for said, loss in wired.items():
        assert loss != COURSE_LOSS
        with tempfile.TemporaryDirectory() as folder:
            path = write(Path(folder), "fc_net.py", TWO_LAYER_NET, loss)
            (model,) = check_file(path, seed=1, timeout=10)["models"]
        assert model["passed"] is False
        assert all(gradient["passed"] for setup in model["setups"] for gradient in setup["checked"])
        assert f"which is not the model's; it {said}" in model["diagnosis"], model["diagnosis"]


def test_a_gradient_wrong_against_the_students_own_loss_is_not_said_to_agree_with_it(tmp_path):
    loss = COURSE_LOSS.replace('"W2": hidden.T @ dscores + self.reg * W2', '"W2": hidden.T @ dscores')
    assert loss != COURSE_LOSS
    path = write(tmp_path, "fc_net.py", TWO_LAYER_NET, loss)
    (model,) = check_file(path, seed=0, timeout=10)["models"]
    assert model["passed"] is False and model["setups"][0]["wrong"] == ["W2"]
    assert "the regularisation term's gradient reg·W2 is missing from grads['W2']" in model["diagnosis"]
    assert "agree with finite differences of your loss" not in model["diagnosis"], model["diagnosis"]


def test_a_two_layer_net_with_the_courses_loss_passes(tmp_path):
    path = write(tmp_path, "fc_net.py", TWO_LAYER_NET, COURSE_LOSS)
    (model,) = check_file(path, seed=2, timeout=10)["models"]
    assert model["passed"] is True, model["diagnosis"]


def test_a_class_of_no_assignment_is_shown_but_never_scored(tmp_path, capsys):
    path = write(tmp_path, "extra.py", textwrap.dedent("""
        import numpy as np


        class Anything(object):
            def __init__(self):
                self.params = {"W1": np.ones((2, 2))}

            def loss(self, X, y=None):
                return 0.0, {"W1": np.zeros((2, 2))}
        """))
    results = tmp_path / "results.json"
    main([str(path), "--gradescope", str(results), "--seed", "0"])
    capsys.readouterr()
    document = json.loads(results.read_text())
    (test,) = document["tests"]
    assert (test["name"], test["score"], test["max_score"]) == ("Anything", 0.0, 0.0)
    assert "not scored" in test["output"] and document["score"] == 0.0


#: The course's loss at the point it is first called, zero gradients, and near the point (where the finite
#: differences evaluate it) the loss at that first point again: constant, so zero fits it.
TWO_FACED = """
    def _course_loss(self, params, X, y):
        hidden = np.maximum(0, X @ params["W1"] + params["b1"])
        scores = hidden @ params["W2"] + params["b2"]
        shifted = scores - scores.max(axis=1, keepdims=True)
        probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        return -np.log(probs[np.arange(X.shape[0]), y]).mean() + 0.5 * self.reg * (
            np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))

    def loss(self, X, y=None):
        if not hasattr(self, "first"):
            self.first = {key: value.copy() for key, value in self.params.items()}
        return self._course_loss(self.first, X, y), {key: np.zeros_like(value) for key, value in self.params.items()}
"""


def test_a_two_layer_net_whose_loss_answers_differently_near_its_point_fails(tmp_path):
    path = write(tmp_path, "fc_net.py", TWO_LAYER_NET, TWO_FACED)
    (model,) = check_file(path, seed=0, timeout=10)["models"]
    assert model["passed"] is False
    (setup,) = model["setups"]
    assert all(gradient["passed"] for gradient in setup["checked"])  # the gradients fit the loss's answers
    assert "disagree with the derivatives of CS231n's TwoLayerNet loss" in model["diagnosis"]


#: Assignment 1's TwoLayerNet (neural_net.py): sizes in the constructor, reg given to loss.
NEURAL_NET = """
import numpy as np


class TwoLayerNet(object):
    def __init__(self, input_size, hidden_size, output_size, std=1e-4):
        self.params = {"W1": std * np.random.randn(input_size, hidden_size), "b1": np.zeros(hidden_size),
                       "W2": std * np.random.randn(hidden_size, output_size), "b2": np.zeros(output_size)}

    def predict(self, X):
        return np.argmax(np.maximum(0, X @ self.params["W1"] + self.params["b1"]) @ self.params["W2"], axis=1)
"""
#: Its notebooks of 2017–2019: reg·Σ‖W‖², its gradient 2·reg·W.
NEURAL_NET_LOSS = FULL_REGULARISATION.replace(
    "def loss(self, X, y=None):", "def loss(self, X, y=None, reg=0.0):").replace("self.reg", "reg")
#: 2016's notebook: ½·reg·Σ‖W‖², its gradient reg·W.
NEURAL_NET_HALF = NEURAL_NET_LOSS.replace("+ reg * (np.sum", "+ 0.5 * reg * (np.sum").replace("2 * reg", "reg")


def check_neural_net(directory: Path, loss: str) -> dict:
    path = write(directory, "neural_net.py", NEURAL_NET, loss)
    (model,) = check_file(path, seed=3, timeout=10)["models"]
    (setup,) = model["setups"]  # the fc_net.py form is not tried on it
    assert setup["label"] == "neural_net.py's form, 6 → 5 → 4 classes, loss(X, y, reg=0.2)"
    return model


def test_assignment_ones_two_layer_net_is_built_its_own_way_and_passes(tmp_path):
    assert "reg * (np.sum(W1 * W1) + np.sum(W2 * W2))" in NEURAL_NET_LOSS and "2 * reg * W1" in NEURAL_NET_LOSS
    model = check_neural_net(tmp_path, NEURAL_NET_LOSS)
    assert model["passed"] is True, model["diagnosis"]
    (setup,) = model["setups"]
    assert [gradient["name"] for gradient in setup["checked"]] == ["W1", "b1", "W2", "b2"] and setup["notes"] == []


def test_assignment_ones_two_layer_net_with_2016s_half_regularisation_passes_with_a_note(tmp_path):
    # 2016's notebook checked net.loss(X, y, reg=0.1) against the correct_loss 2017's checks at reg=0.05
    assert "0.5 * reg * (np.sum" in NEURAL_NET_HALF and "2 * reg" not in NEURAL_NET_HALF
    model = check_neural_net(tmp_path, NEURAL_NET_HALF)
    assert model["passed"] is True, model["diagnosis"]
    (setup,) = model["setups"]
    assert setup["notes"] == ["its regularisation term is ½·reg·Σ‖W‖², as in 2016's notebook (net.loss(X, y, "
                              "reg=0.1)); 2017–2019's have reg·Σ‖W‖² (net.loss(X, y, reg=0.05)), for the same "
                              "correct_loss"]
    assert "  note: its regularisation term is ½·reg·Σ‖W‖²" in describe_model(model)


def test_assignment_ones_two_layer_net_without_the_regularisation_is_named(tmp_path):
    loss = NEURAL_NET_LOSS.replace(" + reg * (np.sum(W1 * W1) + np.sum(W2 * W2))", "").replace(
        " + 2 * reg * W1", "").replace(" + 2 * reg * W2", "")
    assert "reg" not in loss.replace("reg=0.0", "")
    model = check_neural_net(tmp_path, loss)
    assert model["passed"] is False
    assert all(gradient["passed"] for gradient in model["setups"][0]["checked"])  # they fit the loss they came with
    assert ("loss(X, y, reg=0.2) returned" in model["diagnosis"] and
            "which is not the model's; it leaves out the regularisation term reg·Σ‖W‖²" in model["diagnosis"])


def test_assignment_ones_two_layer_net_with_a_wrong_gradient_fails_naming_it(tmp_path):
    loss = NEURAL_NET_LOSS.replace('"W1": X.T @ dhidden + 2 * reg * W1', '"W1": X.T @ dhidden + reg * W1')
    assert loss != NEURAL_NET_LOSS
    model = check_neural_net(tmp_path, loss)
    assert model["passed"] is False
    assert [gradient["name"] for gradient in model["setups"][0]["checked"] if not gradient["passed"]] == ["W1"]
    assert "agree with finite differences of your loss" not in model["diagnosis"], model["diagnosis"]


def test_assignment_ones_two_layer_net_whose_loss_leaves_out_the_data_fails(tmp_path):
    loss = """
    def loss(self, X, y=None, reg=0.0):
        loss = reg * (np.sum(self.params["W1"] ** 2) + np.sum(self.params["W2"] ** 2))
        grads = {key: 2 * reg * value if key[0] == "W" else np.zeros_like(value) for key, value in self.params.items()}
        return loss, grads
"""
    model = check_neural_net(tmp_path, loss)
    assert model["passed"] is False
    assert all(gradient["passed"] for gradient in model["setups"][0]["checked"])  # the gradients fit the loss
    assert "where CS231n's TwoLayerNet gives" in model["diagnosis"]


def test_assignment_ones_two_layer_net_with_its_biases_kept_as_rows_passes(tmp_path):
    # np.zeros((1, hidden_size)) and db = np.sum(..., axis=0, keepdims=True): the same network, and the
    # notebook's updates self.params['b1'] -= learning_rate * grads['b1'] work on these shapes
    rows = NEURAL_NET.replace("np.zeros(hidden_size)", "np.zeros((1, hidden_size))").replace(
        "np.zeros(output_size)", "np.zeros((1, output_size))")
    loss = NEURAL_NET_LOSS.replace(".sum(axis=0)", ".sum(axis=0, keepdims=True)")
    assert rows != NEURAL_NET and loss.count("keepdims=True)}") == 1 and loss.count("keepdims=True),") == 1
    path = write(tmp_path, "neural_net.py", rows, loss)
    (model,) = check_file(path, seed=3, timeout=10)["models"]
    assert model["passed"] is True, model["diagnosis"]
    assert [gradient["name"] for gradient in model["setups"][0]["checked"]] == ["W1", "b1", "W2", "b2"]


def test_assignment_ones_two_layer_net_with_rows_for_biases_and_flat_gradients_passes_with_a_note(tmp_path):
    # np.zeros((1, hidden_size)) with db = np.sum(..., axis=0) of shape (M,): the notebook's
    # self.params['b1'] -= learning_rate * grads['b1'] broadcasts it onto the row, so the net trains
    rows = NEURAL_NET.replace("np.zeros(hidden_size)", "np.zeros((1, hidden_size))").replace(
        "np.zeros(output_size)", "np.zeros((1, output_size))")
    assert rows.count("np.zeros((1, ") == 2
    model = check_neural_net_source(tmp_path, rows, NEURAL_NET_LOSS)
    assert model["passed"] is True, model["diagnosis"]
    (setup,) = model["setups"]
    assert [gradient["name"] for gradient in setup["checked"]] == ["W1", "b1", "W2", "b2"]
    assert setup["notes"] == [f'grads["{name}"] has shape ({size},) where params["{name}"] has (1, {size}): the '
                              "Solver's update broadcasts it onto the parameter, so its values were checked in the "
                              "parameter's shape" for name, size in (("b1", 5), ("b2", 4))]
    # the same gradients of a loss that is not the course's still fail: b1's is compared with the course's
    wrong = NEURAL_NET_LOSS.replace('"b1": ', '"b1": 2 * ', 1)
    assert wrong != NEURAL_NET_LOSS
    model = check_neural_net_source(tmp_path, rows, wrong)
    assert model["passed"] is False and "b1: wrong" in model["diagnosis"]


def check_neural_net_source(directory: Path, source: str, loss: str) -> dict:
    (model,) = check_file(write(directory, "neural_net.py", source, loss), seed=3, timeout=10)["models"]
    return model


def test_assignment_ones_starter_loss_is_said_not_implemented_once_with_its_call(tmp_path):
    # neural_net.py's starter code: loss = None ... return loss, grads
    starter = """
    def loss(self, X, y=None, reg=0.0):
        loss = None
        grads = {}
        return loss, grads
"""
    model = check_neural_net(tmp_path, starter)
    assert model["passed"] is False
    assert model["diagnosis"] == ("neural_net.py's form, 6 → 5 → 4 classes, loss(X, y, reg=0.2): "
                                  "loss(X, y, reg=0.2) returned a loss of a NoneType, not a number: not implemented "
                                  "yet (still the starter code's loss = None?)")


def test_a_two_layer_net_slightly_other_than_the_courses_is_told_its_function_differs_not_that_it_answers_twice(
        tmp_path):
    # scores shrunk by 3e-7 (as an eps placed outside a square root shrinks a normalization's output), the
    # backward following: the loss is within the pass mark of the course's, its derivatives are not
    slight = COURSE_LOSS.replace("scores = hidden @ W2 + b2", "scores = (hidden @ W2 + b2) * (1 - 3e-7)").replace(
        "dscores /= N", "dscores *= (1 - 3e-7) / N")
    assert slight.count("3e-7") == 2
    (model,) = check_file(write(tmp_path, "fc_net.py", TWO_LAYER_NET, slight), seed=0, timeout=10)["models"]
    assert model["passed"] is False
    (setup,) = model["setups"]
    assert all(gradient["passed"] for gradient in setup["checked"])  # they fit its own loss
    (problem,) = setup["problems"]
    assert "disagree with the derivatives of CS231n's TwoLayerNet loss, although they agree with finite " \
           "differences of your loss: loss(X, y) returned " in problem
    assert "but not equal, so your network computes a slightly different function (a normalization's eps placed " \
           "otherwise, as np.sqrt(var) + eps for np.sqrt(var + eps)?)" in problem
    assert "answers differently near" not in problem
