"""A next-character model: the lecture's tanh RNN (or an LSTM, a GRU) trained on text, as min-char-rnn does.

Each character of the text is a one-hot vector x_t over the V characters of the vocabulary. The
model reads them one at a time and predicts the next::

    h_t = tanh(x_t Wx + h_{t−1} Wh + b)        hidden state, H numbers
    o_t = h_t Wy + by                          scores over the V characters
    p_t = softmax(o_t)                         the predicted distribution of x_{t+1}

(row form, as in :mod:`mathnn.layers`: Wx = W_xhᵀ, Wh = W_hhᵀ, Wy = W_hyᵀ in the lecture's column
notation). Training reads the text in chunks of ``seq_length`` characters, backpropagates the
cross-entropy −Σ_t log p_t[x_{t+1}] through the chunk (truncated BPTT), clips every gradient entry
to [−5, 5] and takes an Adagrad step; the hidden state is carried from one chunk to the next and
reset to zero whenever the text starts over.

A chunk is one sequence (N = 1) through the CS231n layers of :mod:`mathnn.layers`, which run the
generated, proven kernels: :func:`~mathnn.layers.rnn_forward` and :func:`~mathnn.layers.rnn_backward`
(or the LSTM's or the GRU's) for the recurrence and backpropagation through time, :func:`~mathnn.layers.temporal_affine_forward`
and its backward for the output layer, :func:`~mathnn.layers.temporal_softmax_loss` for the loss and
its gradient. Sampling goes one character at a time with the cell's step kernel
(:func:`mathnn.kernels.rnn_step.rnn_step_forward_kernel` for the RNN), and the softmax of the scores is the generated
:func:`~mathnn.kernels.softmax_ce.softmax_cross_entropy` kernel's gradient against no target. This
module has no arithmetic of its own; it imports numpy only.

Examples
--------
>>> from mathnn.models import CharRNN
>>> model = CharRNN(hidden_size=16, seq_length=10, seed=0)
>>> losses = model.fit("hello " * 40, steps=150, progress=False)
>>> model.sample("h", 11, temperature=0.1)
'ello hello '
"""

from __future__ import annotations

import os
from collections import Counter, deque
from collections.abc import Callable

from typing import Any

import numpy as np

from ..errors import InputError
from . import charrnn_file
from .charrnn_file import _HYPER
from ..kernels.gru_step import gru_step_forward_kernel
from ..kernels.lstm_step import lstm_step_forward_kernel
from ..kernels.rnn_step import rnn_step_forward_kernel
from ..kernels.softmax_ce import softmax_cross_entropy
from ..layers import (
    affine_forward,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
)
from ..optim import adagrad, clip_by_value, sgd
from ..progress import progress as progress_bar
from ..validate import count, describe, positive_real

__all__ = ["CharRNN", "unigram_loss"]

OPTIMIZERS = ("adagrad", "sgd")
INIT_SCALE = 0.01  # min-char-rnn's: small enough that tanh starts in its linear range
SMOOTHING_WINDOW = 100  # steps averaged in the loss shown while training





def _text(value: object, name: str, minimum: int, why: str) -> str:
    if not isinstance(value, str) or len(value) < minimum:
        received = f"a str of {len(value)} characters" if isinstance(value, str) else describe(value)
        raise InputError(f"{name}: expected a str of at least {minimum} characters ({why}); received {received}")
    return value


def _shown(characters: list[str]) -> str:
    listed = ", ".join(repr(c) for c in characters[:10])
    return listed + (f", … ({len(characters)} in all)" if len(characters) > 10 else "")


def unigram_loss(text: str) -> float:
    """Entropy of the character frequencies of ``text``, in nats per character.

    H = −Σ_c p(c) log p(c) with p(c) the fraction of the text that is character c: the loss of the
    best model that ignores context, measured on the same text. A next-character model that has
    learned anything from the preceding characters does better.

    Parameters
    ----------
    text : str
        At least one character.

    Returns
    -------
    float
        Nats per character (divide by log 2 for bits).
    """
    text = _text(text, "text", 1, "the text whose character frequencies are measured")
    counts = np.array(list(Counter(text).values()), dtype=np.float64)
    frequencies = counts / len(text)
    return float(-np.sum(frequencies * np.log(frequencies)))


def _distribution(scores: np.ndarray) -> np.ndarray:
    """softmax(scores), from the generated softmax cross-entropy kernel.

    The kernel's gradient is w (p − onehot); with weight 1 and no target (onehot = 0) it is p itself.

    Parameters
    ----------
    scores : ndarray of shape (V,)

    Returns
    -------
    p : ndarray of shape (V,)
    """
    row = scores[np.newaxis]
    _, p = softmax_cross_entropy(row, np.zeros_like(row), np.ones((1, 1)))
    return p[0]


#: The recurrent cells a CharRNN can use, and the gates each stacks in Wx, Wh and b.
CELLS = {"rnn": 1, "lstm": 4, "gru": 3}


def _sequence_functions(cell: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """``<cell>_forward`` and ``<cell>_backward`` of :mod:`mathnn.layers` (CS231n's signatures)."""
    from .. import layers

    forward: Callable[..., Any] = getattr(layers, f"{cell}_forward")
    backward: Callable[..., Any] = getattr(layers, f"{cell}_backward")
    return forward, backward


class CharRNN:
    """A character-level recurrent language model: the lecture's tanh RNN, or an LSTM or a GRU.

    Parameters
    ----------
    cell : {'rnn', 'lstm', 'gru'}, default 'rnn'
        The recurrent layer: the tanh RNN, the LSTM (forget-gate bias 1 at the start) or the GRU, each
        from its generated, proven kernels. The hidden state h is carried from one training chunk to
        the next; the LSTM's cell c starts at 0 in every chunk, as CS231n's lstm_forward has no c_0,
        and does so every seq_length characters when the model scores or samples text too.
    hidden_size : int, default 100
        H, the number of hidden units.
    seq_length : int, default 25
        T, the characters per training chunk (how far back the gradient flows).
    learning_rate : float, default 0.1
        The step size η of the optimizer.
    optimizer : {'adagrad', 'sgd'}, default 'adagrad'
        :func:`mathnn.optim.adagrad` or plain gradient descent :func:`mathnn.optim.sgd`.
    seed : int, default 0
        Seeds the initial weights and, unless :meth:`sample` is given its own, the sampling.
    clip : float or None, default 5.0
        Every gradient entry is clipped to [−clip, clip] before the step (None: no clipping).

    Attributes
    ----------
    vocabulary : str
        The characters the model knows, sorted; "" until the first :meth:`fit`.
    params : dict of str to ndarray
        Wx (V, kH), Wh (H, kH), b (kH,), Wy (H, V), by (V,) with k = 1, 4, 3 gates for the RNN, LSTM,
        GRU; empty until the first :meth:`fit`.

    Notes
    -----
    Gradients are those of the chunk's summed loss −Σ_t log p_t (as in min-char-rnn, so the
    learning rate and the clipping threshold mean the same as there); the losses reported are means
    per character. The Adagrad memory is kept between calls of :meth:`fit` and saved with the model.
    """

    def __init__(
        self,
        hidden_size: int = 100,
        seq_length: int = 25,
        learning_rate: float = 0.1,
        optimizer: str = "adagrad",
        seed: int = 0,
        clip: float | None = 5.0,
        cell: str = "rnn",
    ) -> None:
        self.hidden_size = count(hidden_size, "hidden_size", "the number of hidden units H")
        self.seq_length = count(seq_length, "seq_length", "characters per training chunk T")
        self.learning_rate = positive_real(learning_rate, "learning_rate", "the step size η")
        if not isinstance(optimizer, str) or optimizer not in OPTIMIZERS:
            raise InputError(f"optimizer: expected 'adagrad' or 'sgd'; received {describe(optimizer)}")
        self.optimizer = optimizer
        self.seed = count(seed, "seed", "the random seed", minimum=0)
        self.clip = None if clip is None else positive_real(clip, "clip", "gradient entries are clipped to [−clip, clip]")
        if not isinstance(cell, str) or cell not in CELLS:
            raise InputError(f"cell: expected one of {', '.join(map(repr, CELLS))}; received {describe(cell)}")
        self.cell = cell
        self.vocabulary = ""
        self.params: dict[str, np.ndarray] = {}
        self._memory: dict[str, np.ndarray] = {}
        self._index: dict[str, int] = {}

    def __repr__(self) -> str:
        settings = ", ".join(f"{name}={getattr(self, name)!r}" for name in _HYPER)
        return f"CharRNN({settings}; {len(self.vocabulary)} characters)"

    # -- vocabulary and weights --------------------------------------------------------------------

    def _set_vocabulary(self, vocabulary: str) -> None:
        self.vocabulary = vocabulary
        self._index = {character: i for i, character in enumerate(vocabulary)}

    def initialize(self, text: str) -> None:
        """Take the vocabulary from ``text`` and draw fresh initial weights; the first :meth:`fit` calls it.

        The weights are min-char-rnn's: Wx, Wh and Wy normal with standard deviation 0.01 (drawn in
        that order from ``seed``), b and by zero. The Adagrad memory is cleared.

        Parameters
        ----------
        text : str
            At least one character; its distinct characters, sorted, become the vocabulary.
        """
        text = _text(text, "text", 1, "its characters become the vocabulary")
        self._set_vocabulary("".join(sorted(set(text))))
        rng = np.random.default_rng(self.seed)
        vocabulary_size, hidden = len(self.vocabulary), self.hidden_size
        width = CELLS[self.cell] * hidden
        self.params = {
            "Wx": rng.standard_normal((vocabulary_size, width)) * INIT_SCALE,
            "Wh": rng.standard_normal((hidden, width)) * INIT_SCALE,
            "b": np.zeros(width),
            "Wy": rng.standard_normal((hidden, vocabulary_size)) * INIT_SCALE,
            "by": np.zeros(vocabulary_size),
        }
        if self.cell == "lstm":  # the forget gate (CS231n's second block) starts open (Jozefowicz et al. 2015)
            self.params["b"][hidden:2 * hidden] = 1.0
        self._memory = {}

    def _trained(self) -> None:
        if not self.params:
            raise InputError("model: expected a trained model (call fit first, or CharRNN.load); received one without weights")

    def _encode(self, text: str, name: str) -> np.ndarray:
        """The vocabulary index of every character; unknown characters are refused, all listed."""
        unknown = sorted(set(text) - set(self._index))
        if unknown:
            raise InputError(
                f"{name}: expected characters of the model's vocabulary ({len(self.vocabulary)} characters "
                f"seen in training); received unknown character(s) {_shown(unknown)}"
            )
        return np.fromiter((self._index[c] for c in text), dtype=np.intp, count=len(text))

    # -- training ------------------------------------------------------------------------------------

    def fit(self, text: str, steps: int, progress: bool = True) -> list[float]:
        """Train for ``steps`` chunks of ``seq_length`` characters of ``text``.

        Chunk k predicts text[p + 1 : p + T + 1] from text[p : p + T], p = kT; when fewer than T + 1
        characters remain, reading starts over at p = 0 with a zero hidden state. Each call starts at
        the beginning of the text with a zero hidden state; the first call also fixes the vocabulary
        (the sorted characters of ``text``) and draws the initial weights.

        Parameters
        ----------
        text : str
            At least seq_length + 1 characters; after the first call, only characters of the
            vocabulary.
        steps : int
            Number of chunks (parameter updates), ≥ 1.
        progress : bool, default True
            Show a progress bar with the step and the mean loss of the last 100 steps on stderr,
            when stderr is a terminal.

        Returns
        -------
        losses : list of float, length steps
            The loss of each chunk before its update, in nats per character (mean −log p).
        """
        text = _text(text, "text", self.seq_length + 1, f"seq_length + 1 = {self.seq_length + 1}: one chunk and its targets")
        steps = count(steps, "steps", "the number of training chunks")
        if not self.params:
            self.initialize(text)
        encoded = self._encode(text, "text")
        chunk = self.seq_length
        onehot = np.eye(len(self.vocabulary))
        recent: deque[float] = deque(maxlen=SMOOTHING_WINDOW)
        losses: list[float] = []
        hidden = np.zeros((1, self.hidden_size))
        position = 0
        status = lambda: f"loss {sum(recent) / len(recent):.3f} nats/char"  # noqa: E731
        for _ in progress_bar(range(steps), steps, "training", enabled=progress, status=status):
            if position + chunk + 1 > len(encoded):
                position, hidden = 0, np.zeros((1, self.hidden_size))
            loss, hidden = self._step(encoded[position : position + chunk + 1], hidden, onehot)
            losses.append(loss / chunk)
            recent.append(losses[-1])
            position += chunk
        return losses

    def _step(self, characters: np.ndarray, hidden: np.ndarray, onehot: np.ndarray) -> tuple[float, np.ndarray]:
        """One chunk: forward, backward through time, clip, update. Returns (summed loss, last hidden state).

        ``characters`` holds T + 1 indices: the inputs and, shifted by one, the targets; ``hidden``
        (shape (1, H)) is h_0 of the chunk.
        """
        p = self.params
        x, targets = onehot[characters[np.newaxis, :-1]], characters[np.newaxis, 1:]
        forward, backward = _sequence_functions(self.cell)
        h, rnn_cache = forward(x, hidden, p["Wx"], p["Wh"], p["b"])
        scores, affine_cache = temporal_affine_forward(h, p["Wy"], p["by"])
        loss, dscores = temporal_softmax_loss(scores, targets, np.ones(targets.shape, dtype=bool))
        dh, dWy, dby = temporal_affine_backward(dscores, affine_cache)
        _, _, dWx, dWh, db = backward(dh, rnn_cache)
        self._update({"Wx": dWx, "Wh": dWh, "b": db, "Wy": dWy, "by": dby})
        return float(loss), h[:, -1]

    def _update(self, grads: dict[str, np.ndarray]) -> None:
        if self.clip is not None:
            grads = clip_by_value(grads, self.clip)
        if self.optimizer == "adagrad":
            adagrad(self.params, grads, self._memory, self.learning_rate)
        else:
            sgd(self.params, grads, self.learning_rate)

    # -- using the model --------------------------------------------------------------------------------

    def _read(self, encoded: np.ndarray) -> np.ndarray:
        """Hidden states h_1 … h_L, shape (L, H), after reading the characters ``encoded`` (L ≥ 1 of them) from h_0 = 0."""
        p = self.params
        x = np.eye(len(self.vocabulary))[encoded[np.newaxis]]
        forward = _sequence_functions(self.cell)[0]
        if self.cell != "lstm":
            return forward(x, np.zeros((1, self.hidden_size)), p["Wx"], p["Wh"], p["b"])[0][0]
        # the LSTM reads in chunks of seq_length, its cell restarting at 0, exactly as it was trained
        hidden, states = np.zeros((1, self.hidden_size)), []
        for start in range(0, x.shape[1], self.seq_length):
            h = forward(x[:, start:start + self.seq_length], hidden, p["Wx"], p["Wh"], p["b"])[0]
            states.append(h[0])
            hidden = h[:, -1]
        return np.concatenate(states)

    def _state(self, encoded: np.ndarray) -> list[np.ndarray]:
        """The recurrent state ([h] or the LSTM's [h, c], each (1, H)) after reading ``encoded`` from zeros."""
        state = [np.zeros((1, self.hidden_size)) for _ in range(2 if self.cell == "lstm" else 1)]
        onehot = np.eye(len(self.vocabulary))
        for t, index in enumerate(encoded):
            state = self._advance(state, onehot[[index]], t)
        return state

    def _advance(self, state: list[np.ndarray], x: np.ndarray, t: int) -> list[np.ndarray]:
        """Step t (from 0) of the cell's generated step kernel from ``state`` with input ``x`` (1, V).

        The LSTM's cell restarts at 0 every seq_length characters, as in training.
        """
        p = self.params
        if self.cell == "lstm":
            cell = np.zeros_like(state[1]) if t % self.seq_length == 0 else state[1]
            out = lstm_step_forward_kernel(x, state[0], cell, p["Wx"], p["Wh"], p["b"])[0]
            return [out[:, :self.hidden_size], out[:, self.hidden_size:]]
        step = rnn_step_forward_kernel if self.cell == "rnn" else gru_step_forward_kernel
        return [step(x, state[0], p["Wx"], p["Wh"], p["b"])[0]]

    def loss(self, text: str) -> float:
        """Mean cross-entropy of the model's next-character predictions over ``text``, in nats per character.

        The model reads ``text`` from a zero hidden state, carrying it through the whole text, and
        predicts each of text[1:] from the characters before it.

        Parameters
        ----------
        text : str
            At least 2 characters, all in the vocabulary.

        Returns
        -------
        float
            −(1/L) Σ_t log p_t[text[t + 1]], L = len(text) − 1.
        """
        self._trained()
        text = _text(text, "text", 2, "at least one character to predict from the one before it")
        encoded = self._encode(text, "text")
        h = self._read(encoded[:-1])[np.newaxis]
        scores, _ = temporal_affine_forward(h, self.params["Wy"], self.params["by"])
        targets = encoded[np.newaxis, 1:]
        loss, _ = temporal_softmax_loss(scores, targets, np.ones(targets.shape, dtype=bool))
        return float(loss) / targets.size

    def probabilities(self, prefix: str) -> np.ndarray:
        """The model's distribution of the character that follows ``prefix``.

        Parameters
        ----------
        prefix : str
            Characters of the vocabulary, read from a zero hidden state; "" gives softmax(by),
            the prediction of the zero state.

        Returns
        -------
        p : ndarray of shape (V,)
            p[i] is the probability of ``vocabulary[i]``.
        """
        self._trained()
        if not isinstance(prefix, str):
            raise InputError(f"prefix: expected a str; received {describe(prefix)}")
        scores, _ = affine_forward(self._state(self._encode(prefix, "prefix"))[0], self.params["Wy"], self.params["by"])
        return _distribution(scores[0])

    def sample(self, prefix: str, n: int, temperature: float = 1.0, seed: int | None = None) -> str:
        """Generate ``n`` characters after ``prefix``, each drawn from the model's prediction.

        Parameters
        ----------
        prefix : str
            Characters of the vocabulary to read first ("" starts from the zero hidden state).
        n : int
            Number of characters to generate, ≥ 0.
        temperature : float, default 1.0
            The scores are divided by it before the softmax: below 1 sharpens the distribution
            (towards always the most likely character), above 1 flattens it. Finite, > 0.
        seed : int, optional
            Seed of the draws; the model's ``seed`` when omitted, so the same call gives the same text.

        Returns
        -------
        str
            The ``n`` generated characters (without the prefix).
        """
        self._trained()
        if not isinstance(prefix, str):
            raise InputError(f"prefix: expected a str; received {describe(prefix)}")
        encoded = self._encode(prefix, "prefix")
        n = count(n, "n", "the number of characters to generate", minimum=0)
        temperature = positive_real(temperature, "temperature", "scores are divided by it before the softmax")
        rng = np.random.default_rng(self.seed if seed is None else count(seed, "seed", "the random seed", minimum=0))
        p = self.params
        onehot = np.eye(len(self.vocabulary))
        state = self._state(encoded)
        generated = []
        for t in range(len(encoded), len(encoded) + n):
            scores, _ = affine_forward(state[0], p["Wy"], p["by"])
            index = int(rng.choice(len(self.vocabulary), p=_distribution(scores[0] / temperature)))
            generated.append(self.vocabulary[index])
            state = self._advance(state, onehot[[index]], t)
        return "".join(generated)

    # -- files ---------------------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model to ``path`` as an ``.npz`` archive (no pickles; the name is used as given).

        It holds the weights, the Adagrad memory, the vocabulary, the hyper-parameters and a format
        name and version, so that :meth:`load` gives a model that samples, scores and trains on
        exactly as this one.

        Parameters
        ----------
        path : str or path-like
        """
        self._trained()
        charrnn_file.write(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> CharRNN:
        """Read a model written by :meth:`save`.

        Parameters
        ----------
        path : str or path-like

        Returns
        -------
        CharRNN

        Raises
        ------
        InputError
            One message naming the path and what is wrong: missing or unreadable, not an ``.npz``
            archive (or truncated), not a CharRNN file, another format version, or inconsistent
            contents (shapes, hyper-parameters, non-finite weights).
        """
        return charrnn_file.read(cls, path)
