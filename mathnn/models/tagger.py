"""The lecture's many-to-many example: tag every word of "I work at google" with its part of speech.

A tiny tanh RNN reads the words one at a time and emits a tag at every step::

    h_t = tanh(x_t Wx + h_{t−1} Wh + b)      x_t: the one-hot vector of word t (Wx acts as its embedding)
    o_t = h_t Wy + by                        scores over the tags; the tag is argmax o_t

It is trained on the dozen and a half short sentences in :data:`SENTENCES`, all at once as one padded
batch, with :func:`mathnn.layers.rnn_forward`, :func:`~mathnn.layers.temporal_affine_forward`,
:func:`~mathnn.layers.temporal_softmax_loss` (the mask hides the padding) and their backward passes,
and Adagrad. The network reads left to right only, so a word's tag can depend on the words before it,
never on the words after it.

Words it has not seen become the token ``<unk>``. During training each word is replaced by ``<unk>``
with probability ``unknown_rate``, so the model learns to tag an unknown word from its position and
the words before it ("I work at amazon": a word after a preposition is most likely a noun).

Examples
--------
>>> from mathnn.models import train_tagger
>>> tagger = train_tagger(seed=0)
>>> tagger.tag("I work at google")
['pronoun', 'verb', 'preposition', 'noun']
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..layers import (
    rnn_backward,
    rnn_forward,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
)
from ..optim import adagrad
from ..validate import count, describe, positive_real, real_scalar

__all__ = ["SENTENCES", "TAGS", "UNKNOWN", "RNNTagger", "split_words", "train_tagger"]

UNKNOWN = "<unk>"
TAGS = ("pronoun", "verb", "preposition", "determiner", "noun")

#: The training set: (sentence, one tag per word). "I work at google" itself is not among them; its
#: words are, in other sentences.
SENTENCES: tuple[tuple[str, str], ...] = (
    ("I live in Paris", "pronoun verb preposition noun"),
    ("she works at Google", "pronoun verb preposition noun"),
    ("we work in London", "pronoun verb preposition noun"),
    ("they sleep at home", "pronoun verb preposition noun"),
    ("you walk to school", "pronoun verb preposition noun"),
    ("he swims in the lake", "pronoun verb preposition determiner noun"),
    ("I read the book", "pronoun verb determiner noun"),
    ("he eats an apple", "pronoun verb determiner noun"),
    ("we like the park", "pronoun verb determiner noun"),
    ("the cat sleeps on the mat", "determiner noun verb preposition determiner noun"),
    ("a dog runs in the park", "determiner noun verb preposition determiner noun"),
    ("the girl reads a book", "determiner noun verb determiner noun"),
    ("Anna lives near London", "noun verb preposition noun"),
    ("Google hires engineers", "noun verb noun"),
    ("students work with Google", "noun verb preposition noun"),
    ("engineers work at home", "noun verb preposition noun"),
    ("I meet them at noon", "pronoun verb pronoun preposition noun"),
    ("they play with a ball", "pronoun verb preposition determiner noun"),
)

_PUNCTUATION = ".,;:!?\"'()"


def split_words(sentence: str) -> list[str]:
    """The words of ``sentence`` as the tagger reads them: split on white space, punctuation around them removed.

    Parameters
    ----------
    sentence : str

    Returns
    -------
    list of str
        At least one word, as written (case kept).

    Raises
    ------
    InputError
        For a non-str, or a sentence without words.
    """
    if not isinstance(sentence, str):
        raise InputError(f"sentence: expected a str of words; received {describe(sentence)}")
    words = [word.strip(_PUNCTUATION) for word in sentence.split()]
    words = [word for word in words if word]
    if not words:
        raise InputError(f"sentence: expected at least one word; received {sentence!r}")
    return words


def _key(word: str) -> str:
    return word.lower()


@dataclass
class RNNTagger:
    """A trained many-to-many RNN tagger; make one with :func:`train_tagger`.

    Attributes
    ----------
    words : tuple of str
        The vocabulary, lower case; ``words[0]`` is ``<unk>``.
    tags : tuple of str
        The tags it can emit.
    params : dict of str to ndarray
        Wx (W, H), Wh (H, H), b (H,), Wy (H, K), by (K,) for W words and K tags.
    losses : list of float
        The training loss at every step (mean nats per tagged word).
    """

    words: tuple[str, ...]
    tags: tuple[str, ...]
    params: dict[str, np.ndarray]
    losses: list[float] = field(default_factory=list)

    def encode(self, sentence: str) -> list[str]:
        """The tokens the model reads: each word in lower case, or ``<unk>`` if it was not in training.

        Parameters
        ----------
        sentence : str

        Returns
        -------
        list of str, one per word
        """
        known = set(self.words)
        return [_key(word) if _key(word) in known else UNKNOWN for word in split_words(sentence)]

    def tag(self, sentence: str) -> list[str]:
        """One tag per word of ``sentence`` (white-space separated; punctuation around words is ignored).

        Parameters
        ----------
        sentence : str
            At least one word; words not seen in training are read as ``<unk>``.

        Returns
        -------
        list of str
            The most likely tag of each word, in order.
        """
        index = {word: i for i, word in enumerate(self.words)}
        tokens = [index[token] for token in self.encode(sentence)]
        x = np.eye(len(self.words))[tokens][np.newaxis]
        scores = _scores(x, self.params)
        return [self.tags[k] for k in scores[0].argmax(axis=1)]


def _scores(x: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
    h, _ = rnn_forward(x, np.zeros((x.shape[0], params["Wh"].shape[0])), params["Wx"], params["Wh"], params["b"])
    return temporal_affine_forward(h, params["Wy"], params["by"])[0]


def train_tagger(
    steps: int = 300,
    seed: int = 0,
    hidden_size: int = 16,
    learning_rate: float = 0.1,
    unknown_rate: float = 0.1,
) -> RNNTagger:
    """Train the tagger on :data:`SENTENCES` with full-batch Adagrad.

    Parameters
    ----------
    steps : int, default 300
        Parameter updates (each on all sentences), ≥ 1.
    seed : int, default 0
        Seeds the initial weights and the choice of words replaced by ``<unk>``.
    hidden_size : int, default 16
        H, ≥ 1.
    learning_rate : float, default 0.1
        Adagrad's η, > 0.
    unknown_rate : float, default 0.1
        Probability that a training word is read as ``<unk>`` in a step, in [0, 1).

    Returns
    -------
    RNNTagger
    """
    steps = count(steps, "steps", "the number of training steps")
    seed = count(seed, "seed", "the random seed", minimum=0)
    hidden = count(hidden_size, "hidden_size", "the number of hidden units H")
    learning_rate = positive_real(learning_rate, "learning_rate", "Adagrad's step size η")
    unknown_rate = real_scalar(unknown_rate, "unknown_rate", "in [0, 1), the probability a word is read as <unk>")
    if not 0 <= unknown_rate < 1:
        raise InputError(f"unknown_rate: expected a finite real number in [0, 1); received {unknown_rate!r}")

    sentences = [(split_words(sentence), tags.split()) for sentence, tags in SENTENCES]
    words = (UNKNOWN, *sorted({_key(word) for sentence, _ in sentences for word in sentence}))
    word_index = {word: i for i, word in enumerate(words)}
    tag_index = {tag: i for i, tag in enumerate(TAGS)}
    sentence_count, longest = len(sentences), max(len(sentence) for sentence, _ in sentences)
    tokens = np.zeros((sentence_count, longest), dtype=np.intp)  # padding reads <unk>; the mask drops its tags
    targets = np.zeros((sentence_count, longest), dtype=np.intp)
    mask = np.zeros((sentence_count, longest), dtype=bool)
    for n, (sentence, tags) in enumerate(sentences):
        tokens[n, : len(sentence)] = [word_index[_key(word)] for word in sentence]
        targets[n, : len(tags)] = [tag_index[tag] for tag in tags]
        mask[n, : len(sentence)] = True

    rng = np.random.default_rng(seed)
    vocabulary, classes = len(words), len(TAGS)
    params = {
        "Wx": rng.standard_normal((vocabulary, hidden)) * 0.1,
        "Wh": rng.standard_normal((hidden, hidden)) * 0.1,
        "b": np.zeros(hidden),
        "Wy": rng.standard_normal((hidden, classes)) * 0.1,
        "by": np.zeros(classes),
    }
    memory: dict[str, np.ndarray] = {}
    onehot = np.eye(vocabulary)
    h0 = np.zeros((sentence_count, hidden))
    losses = []
    for _ in range(steps):
        read = np.where(rng.random(tokens.shape) < unknown_rate, 0, tokens)
        h, rnn_cache = rnn_forward(onehot[read], h0, params["Wx"], params["Wh"], params["b"])
        scores, affine_cache = temporal_affine_forward(h, params["Wy"], params["by"])
        loss, dscores = temporal_softmax_loss(scores, targets, mask)
        dh, dWy, dby = temporal_affine_backward(dscores, affine_cache)
        _, _, dWx, dWh, db = rnn_backward(dh, rnn_cache)
        adagrad(params, {"Wx": dWx, "Wh": dWh, "b": db, "Wy": dWy, "by": dby}, memory, learning_rate)
        losses.append(float(loss) * sentence_count / mask.sum())
    return RNNTagger(words, TAGS, params, losses)
