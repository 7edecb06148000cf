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


def test_a_missing_regularisation_gradient_names_w2_only():
    summary = check_file(model_package("reg_missing_w2"), seed=3)
    two_layer, fc = summary["models"]
    assert (two_layer["passed"], fc["passed"], summary["passed"]) == (False, True, False)
    (setup,) = two_layer["setups"]
    assert setup["wrong"] == ["W2"] and "reg·W2 is missing" in setup["hints"]["W2"]
    text = format_text(summary)
    assert "W2: wrong (max rel. error" in text and "W1, b1, b2 pass" in text
    assert "1 of 2 model class(es) passed; failed: TwoLayerNet" in text


def test_a_dropout_mask_left_out_of_backward_fails_the_dropout_setup_only():
    summary = check_file(model_package("dropout_mask_not_in_backward"), seed=3)
    fc = summary["models"][1]
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
    assert not needs["passed"] and "missing 1 required positional argument: 'sizes'" in needs["diagnosis"]
    weights = check_model_class(transport, "NoWeights", seed=1)
    assert not weights["passed"]
    assert describe_model(weights) == "NoWeights(): not checked: its data shape could not be told from its parameters (no 2-D W1)"
