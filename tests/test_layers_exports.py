"""mathnn.layers is a package with one module per topic; every CS231n name it had as one module stays importable."""

from __future__ import annotations

import importlib

import pytest

import mathnn.layers

#: Every public name mathnn.layers exported when it was a single module, and those added since by hand.
CS231N_NAMES = (
    "BatchNormCache",
    "RNNCache",
    "RNNStepCache",
    "SpatialBatchNormCache",
    "spatial_batchnorm_backward",
    "spatial_batchnorm_forward",
    "affine_backward",
    "affine_forward",
    "batchnorm_backward",
    "batchnorm_forward",
    "relu_backward",
    "relu_forward",
    "rnn_backward",
    "rnn_forward",
    "rnn_step_backward",
    "rnn_step_forward",
    "temporal_affine_backward",
    "temporal_affine_forward",
    "temporal_softmax_loss",
    # the losses of assignment 2 and the word embedding of assignment 3
    "WordEmbeddingCache",
    "softmax_loss",
    "svm_loss",
    "word_embedding_backward",
    "word_embedding_forward",
    # inverted dropout of assignment 2
    "DropoutCache",
    "dropout_backward",
    "dropout_forward",
    # the LSTM of assignment 3
    "LSTMStepCache",
    "lstm_step_backward",
    "lstm_step_forward",
)

#: The module of each topic and the names it defines.
TOPICS = {
    "relu": ("relu_forward", "relu_backward"),
    "batchnorm": ("BatchNormCache", "batchnorm_forward", "batchnorm_backward", "SpatialBatchNormCache",
                  "spatial_batchnorm_forward", "spatial_batchnorm_backward"),
    "rnn": ("RNNCache", "RNNStepCache", "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward"),
    "losses": ("softmax_loss", "svm_loss", "temporal_softmax_loss"),
    "embedding": ("WordEmbeddingCache", "word_embedding_forward", "word_embedding_backward"),
    "dropout": ("DropoutCache", "dropout_forward", "dropout_backward"),
    "lstm": ("LSTMStepCache", "lstm_step_forward", "lstm_step_backward"),
    "lstm": ("LSTMStepCache", "lstm_step_forward", "lstm_step_backward"),
}


@pytest.mark.parametrize("name", CS231N_NAMES)
def test_every_name_is_importable_from_mathnn_layers(name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from mathnn.layers import {name}", namespace)
    assert callable(namespace[name])
    assert name in mathnn.layers.__all__


def test_all_lists_those_names_and_the_generated_layers() -> None:
    generated = [name for name in mathnn.layers.__all__ if name not in CS231N_NAMES]
    assert len(mathnn.layers.__all__) == len(set(mathnn.layers.__all__)) == len(CS231N_NAMES) + len(generated)
    for name in generated:  # layers declared as rules (LayerNorm, …) come as forward/backward pairs
        # (CS231n's convolution and pooling keep their _naive suffix: conv_forward_naive)
        assert name.removesuffix("_naive").endswith(("_forward", "_backward")), name
    namespace: dict[str, object] = {}
    exec("from mathnn.layers import *", namespace)
    assert set(CS231N_NAMES) <= set(namespace)


@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_each_name_is_defined_in_its_topic_module(topic: str) -> None:
    module = importlib.import_module(f"mathnn.layers.{topic}")
    assert sorted(module.__all__) == sorted(TOPICS[topic])
    for name in TOPICS[topic]:
        assert getattr(mathnn.layers, name) is getattr(module, name)
        assert getattr(module, name).__module__ == f"mathnn.layers.{topic}"


#: The names built from a rule's generated SPEC rather than written in a topic module.
GENERATED = ("affine_forward", "affine_backward", "temporal_affine_forward", "temporal_affine_backward")


def test_the_topics_and_the_generated_layers_cover_every_name_once() -> None:
    names = [name for topic in TOPICS.values() for name in topic] + list(GENERATED)
    assert sorted(names) == sorted(CS231N_NAMES)
    from mathnn.catalogue import public_functions

    for name in GENERATED:  # generated from the catalogue, not written by hand
        assert getattr(mathnn.layers, name) is public_functions()[name]


def test_generated_functions_show_the_signature_they_bind() -> None:
    """help() and the API reference see each generated function's real arguments, not (*args, **kwargs)."""
    import inspect
    import re

    from mathnn.catalogue import public_functions

    for name, function in public_functions().items():
        signature = inspect.signature(function)
        documented = re.findall(r"(?m)^(\w+) :", function.__doc__.split("Returns\n-------")[0])
        assert list(signature.parameters) == documented, name
        assert function.__module__ == "mathnn.layers" and getattr(mathnn.layers, name) is function
    assert str(inspect.signature(mathnn.layers.layernorm_forward)) == "(x, gamma, beta, ln_param=None)"
    assert str(inspect.signature(mathnn.layers.affine_backward)) == "(dout, cache)"
