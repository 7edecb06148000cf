"""mathnn.models.tagger: the lecture's "I work at google" tagged by a many-to-many RNN, unknown words, errors."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest

from mathnn.errors import InputError
from mathnn.models import SENTENCES, TAGS, UNKNOWN, RNNTagger, train_tagger


@pytest.fixture(autouse=True)
def _warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.fixture(scope="module")
def tagger() -> RNNTagger:
    return train_tagger(seed=0)


def _raises(message):
    return pytest.raises(InputError, match=f"^{re.escape(message)}$")


def test_the_lecture_example(tagger):
    assert "i work at google" not in {sentence.lower() for sentence, _ in SENTENCES}  # not learned by heart
    assert tagger.tag("I work at google") == ["pronoun", "verb", "preposition", "noun"]
    assert tagger.tag("i WORK at Google.") == ["pronoun", "verb", "preposition", "noun"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_lecture_example_with_other_seeds(seed):
    assert train_tagger(seed=seed).tag("I work at google") == ["pronoun", "verb", "preposition", "noun"]


def test_every_training_sentence_is_tagged_right(tagger):
    for sentence, tags in SENTENCES:
        assert tagger.tag(sentence) == tags.split(), sentence


def test_training_reduces_the_loss(tagger):
    assert len(tagger.losses) == 300
    assert abs(tagger.losses[0] - math.log(len(TAGS))) < 0.05  # small initial weights: uniform over the tags
    assert np.mean(tagger.losses[-20:]) < 0.15


def test_unknown_words_are_read_as_unk_and_tagged_from_context(tagger):
    assert tagger.words[0] == UNKNOWN
    assert tagger.encode("I work at Amazon") == ["i", "work", "at", UNKNOWN]
    assert tagger.tag("I work at Amazon") == ["pronoun", "verb", "preposition", "noun"]
    assert tagger.tag("she sleeps in the garden") == ["pronoun", "verb", "preposition", "determiner", "noun"]


def test_training_is_reproducible():
    first, second = train_tagger(steps=20, seed=5), train_tagger(steps=20, seed=5)
    for name, value in first.params.items():
        np.testing.assert_array_equal(value, second.params[name])
    assert first.losses == second.losses
    assert not np.array_equal(first.params["Wx"], train_tagger(steps=20, seed=6).params["Wx"])


def test_errors(tagger):
    with _raises("sentence: expected at least one word; received ' ?! '"):
        tagger.tag(" ?! ")
    with _raises("sentence: expected a str of words; received list ['I', 'work']"):
        tagger.tag(["I", "work"])
    with _raises("steps: expected an integer ≥ 1 (the number of training steps); received int 0"):
        train_tagger(steps=0)
    with _raises("seed: expected an integer ≥ 0 (the random seed); received int -1"):
        train_tagger(seed=-1)
    with _raises("unknown_rate: expected a finite real number in [0, 1); received 1.0"):
        train_tagger(unknown_rate=1.0)
    with _raises("learning_rate: expected a finite real number > 0 (Adagrad's step size η); received -0.1"):
        train_tagger(learning_rate=-0.1)
